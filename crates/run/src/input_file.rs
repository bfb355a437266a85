//! Reading `--input-file FILE.csv`: one input per row, comma-separated numbers. Blank lines and
//! lines starting with `#` are skipped; anything else that is not a number is an error.

use anyhow::{bail, Context, Result};
use std::path::Path;

pub fn read_csv(path: &Path) -> Result<Vec<Vec<f64>>> {
    // Only regular files: a FIFO (or a terminal, a socket) that nobody writes blocks the read
    // where Ctrl-C cannot reach it.
    let meta = std::fs::metadata(path)
        .with_context(|| format!("cannot read input file {}", path.display()))?;
    if !meta.is_file() {
        bail!(
            "cannot read input file {}: not a regular file (a FIFO, device or directory); copy the inputs to a file",
            path.display()
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read input file {}", path.display()))?;
    // Spreadsheet exports start with a UTF-8 byte order mark: not part of the first number.
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut row = Vec::new();
        for (j, tok) in line.split(',').map(str::trim).enumerate() {
            let v: f64 = tok.parse().map_err(|_| {
                anyhow::anyhow!(
                    "{}: line {}, column {}: '{}' is not a number",
                    path.display(),
                    i + 1,
                    j + 1,
                    tok
                )
            })?;
            if !v.is_finite() {
                bail!(
                    "{}: line {}, column {}: '{}' is not a finite number",
                    path.display(),
                    i + 1,
                    j + 1,
                    tok
                );
            }
            row.push(v);
        }
        if let Some(first) = rows.first() {
            if first.len() != row.len() {
                bail!(
                    "{}: line {} has {} values but the first row has {} (ragged rows)",
                    path.display(),
                    i + 1,
                    row.len(),
                    first.len()
                );
            }
        }
        rows.push(row);
    }
    if rows.is_empty() {
        bail!("{}: the input file has no rows", path.display());
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_mark_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bom.csv");
        std::fs::write(&p, "\u{feff}1,2\n3,4\n").unwrap();
        assert_eq!(read_csv(&p).unwrap(), vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
    }

    #[test]
    fn fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("fifo.csv");
        let ok = std::process::Command::new("mkfifo").arg(&p).status();
        if !ok.map(|s| s.success()).unwrap_or(false) {
            eprintln!("SKIP: no mkfifo");
            return;
        }
        let e = read_csv(&p).unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }
}

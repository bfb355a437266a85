//! Reading `--input-file FILE.csv`: one input per row, comma-separated numbers. Blank lines and
//! lines starting with `#` are skipped; anything else that is not a number is an error.

use anyhow::{bail, Context, Result};
use std::path::Path;

pub fn read_csv(path: &Path) -> Result<Vec<Vec<f64>>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read input file {}", path.display()))?;
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

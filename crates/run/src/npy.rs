//! `--save-samples FILE.npy`: every network's values as a structured numpy array with one
//! float64 field per observable (`np.load(f)["ntk[0,0]"]`). Rows are written as batches finish
//! into a temporary file that is renamed into place only when the run completes.
//!
//! Format: NPY version 1.0/2.0 (numpy's `numpy.lib.format` documentation): magic, version,
//! little-endian header length, a Python-literal header dict padded with spaces to a multiple of
//! 64 bytes and ended by '\n', then the raw little-endian rows.

use crate::output::TempFile;
use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct NpyWriter {
    file: BufWriter<File>,
    /// Removed on drop unless the run completed (any failure, a panic, an abandoned run).
    tmp: TempFile,
    path: PathBuf,
}

impl NpyWriter {
    pub fn create(path: &Path, fields: &[String], rows: u64) -> Result<Self> {
        let (tmp, file) =
            TempFile::create(path).with_context(|| format!("cannot create {}", path.display()))?;
        Self::with_file(path, tmp, file, fields, rows)
    }

    fn with_file<W: Into<File>>(
        path: &Path,
        tmp: TempFile,
        file: W,
        fields: &[String],
        rows: u64,
    ) -> Result<Self> {
        let mut file = BufWriter::new(file.into());
        let descr: Vec<String> = fields
            .iter()
            .map(|f| {
                format!(
                    "('{}', '<f8')",
                    f.replace('\\', "\\\\").replace('\'', "\\'")
                )
            })
            .collect();
        let dict = format!(
            "{{'descr': [{}], 'fortran_order': False, 'shape': ({},), }}",
            descr.join(", "),
            rows
        );
        let v1 = dict.len() + 1 + 10 <= u16::MAX as usize;
        let prefix = if v1 { 10 } else { 12 };
        let total = (prefix + dict.len() + 1).div_ceil(64) * 64;
        let header = format!("{dict}{}\n", " ".repeat(total - prefix - dict.len() - 1));
        let mut w = |bytes: &[u8]| file.write_all(bytes);
        let written = (|| -> std::io::Result<()> {
            w(b"\x93NUMPY")?;
            if v1 {
                w(&[1, 0])?;
                w(&(header.len() as u16).to_le_bytes())?;
            } else {
                w(&[2, 0])?;
                w(&(header.len() as u32).to_le_bytes())?;
            }
            w(header.as_bytes())
        })();
        // On failure `tmp` is dropped here, removing the temporary file.
        written.with_context(|| format!("cannot write {}", path.display()))?;
        Ok(NpyWriter {
            file,
            tmp,
            path: path.to_path_buf(),
        })
    }

    pub fn write_rows(&mut self, values: &[f64]) -> Result<()> {
        for v in values {
            self.file.write_all(&v.to_le_bytes())?;
        }
        Ok(())
    }

    pub fn finish(self) -> Result<()> {
        let NpyWriter { file, tmp, path } = self;
        let done = (|| -> std::io::Result<()> {
            let f = file.into_inner().map_err(|e| e.into_error())?;
            f.sync_all()?;
            drop(f);
            tmp.commit(&path)
        })();
        // On failure `tmp` was dropped inside, removing the temporary file.
        done.with_context(|| format!("cannot write {}", path.display()))
    }

    /// Removes the temporary file of an unfinished run.
    pub fn abandon(self) {
        drop(self);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    /// The final flush fails (as on a full disk): /dev/full stands in for the temporary file's
    /// data, and the temporary file itself must be gone afterwards.
    #[test]
    fn npy_writer_leaves_no_temporary_file_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("s.npy");
        let (tmp, _) = TempFile::create(&target).unwrap();
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        // The header is buffered, so creation succeeds; the rows fill the buffer; finish fails.
        let mut w = NpyWriter::with_file(&target, tmp, full, &["a".to_string()], 10).unwrap();
        w.write_rows(&[1.0; 10]).unwrap();
        assert!(w.finish().is_err());
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
        // A header larger than the buffer fails at once.
        let (tmp, _) = TempFile::create(&target).unwrap();
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let many: Vec<String> = (0..2000).map(|i| format!("field{i}")).collect();
        assert!(NpyWriter::with_file(&target, tmp, full, &many, 10).is_err());
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
        // A write error mid-run, then dropped without finish or abandon.
        let w = NpyWriter::create(&target, &["a".to_string()], 1).unwrap();
        drop(w);
        assert!(names(dir.path()).is_empty(), "{:?}", names(dir.path()));
    }
}

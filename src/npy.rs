//! `--save-samples FILE.npy`: every network's values as a structured numpy array with one
//! float64 field per observable (`np.load(f)["ntk[0,0]"]`). Rows are written as batches finish
//! into a temporary file that is renamed into place only when the run completes.
//!
//! Format: NPY version 1.0/2.0 (numpy's `numpy.lib.format` documentation): magic, version,
//! little-endian header length, a Python-literal header dict padded with spaces to a multiple of
//! 64 bytes and ended by '\n', then the raw little-endian rows.

use anyhow::{Context, Result};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub struct NpyWriter {
    file: BufWriter<File>,
    tmp: PathBuf,
    path: PathBuf,
}

impl NpyWriter {
    pub fn create(path: &Path, fields: &[String], rows: u64) -> Result<Self> {
        let tmp = crate::output::temp_path(path);
        let file =
            File::create(&tmp).with_context(|| format!("cannot create {}", path.display()))?;
        let mut file = BufWriter::new(file);
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
        w(b"\x93NUMPY")?;
        if v1 {
            w(&[1, 0])?;
            w(&(header.len() as u16).to_le_bytes())?;
        } else {
            w(&[2, 0])?;
            w(&(header.len() as u32).to_le_bytes())?;
        }
        w(header.as_bytes())?;
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
        let f = file.into_inner().map_err(|e| e.into_error())?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path).with_context(|| format!("cannot write {}", path.display()))?;
        Ok(())
    }

    /// Removes the temporary file of an unfinished run.
    pub fn abandon(self) {
        let _ = std::fs::remove_file(&self.tmp);
    }
}

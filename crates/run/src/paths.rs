//! Output paths, checked before any work starts (docs/cluster.md, "Files"): every file a command
//! will write must be creatable where it is asked for, must not replace anything but a regular
//! file, and must not be one of the command's inputs or another of its outputs. A mistake in a
//! path then fails in a fraction of a second instead of after hours of sampling, and never
//! destroys an input or a finished result.
//!
//! Temporary files (output.rs, npy.rs) are named `.randnet-<pid>-<counter>.tmp` in the
//! target's directory: short and bounded, so any name that fits the file system fits its
//! temporary name too.

use anyhow::{bail, Result};
use std::ffi::OsString;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The longest file name (in bytes) that common file systems accept (NAME_MAX on Linux).
pub const NAME_MAX: usize = 255;

/// A fresh temporary path in the directory of `path`: `.randnet-<pid>-<counter>.tmp`.
pub fn temp_path(path: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    path.with_file_name(format!(".randnet-{}-{n}.tmp", std::process::id()))
}

/// A file a command reads (`flag` names it in messages).
#[derive(Debug, Clone)]
pub struct Input {
    pub flag: String,
    pub path: PathBuf,
}

/// A file a command writes.
#[derive(Debug, Clone)]
pub struct Output {
    pub flag: String,
    pub path: PathBuf,
}

impl Input {
    pub fn new(flag: impl Into<String>, path: &Path) -> Self {
        Input {
            flag: flag.into(),
            path: path.to_path_buf(),
        }
    }
}

impl Output {
    pub fn new(flag: impl Into<String>, path: &Path) -> Self {
        Output {
            flag: flag.into(),
            path: path.to_path_buf(),
        }
    }
}

/// What identifies a file: its canonical path and, when it exists, (device, inode).
#[derive(Debug, Clone, PartialEq)]
struct Identity {
    canonical: PathBuf,
    inode: Option<(u64, u64)>,
}

impl Identity {
    fn same(&self, other: &Identity) -> bool {
        self.canonical == other.canonical
            || matches!((self.inode, other.inode), (Some(a), Some(b)) if a == b)
    }
}

/// The directory `path` would be created in ("." for a bare name).
fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

fn identity(path: &Path) -> Identity {
    // Follow symbolic links for inputs; an output's symlink is refused before this is used.
    let inode = std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()));
    let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| {
        let dir = std::fs::canonicalize(parent_of(path)).unwrap_or_else(|_| parent_of(path).into());
        match path.file_name() {
            Some(name) => dir.join(name),
            None => dir,
        }
    });
    Identity { canonical, inode }
}

/// Checks one output path on its own: a file name that fits, an existing parent directory, and
/// no existing non-regular file (symlink, directory, FIFO, device, socket) at the target.
pub fn check_output(out: &Output) -> Result<()> {
    let (flag, path) = (&out.flag, &out.path);
    let Some(name) = path.file_name() else {
        bail!("{flag} {}: not a file name", path.display());
    };
    if name.len() > NAME_MAX {
        bail!(
            "{flag} {}: the file name is {} bytes, longer than the file system's limit of {NAME_MAX}",
            path.display(),
            name.len()
        );
    }
    let dir = parent_of(path);
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => bail!(
            "{flag} {}: {} is not a directory",
            path.display(),
            dir.display()
        ),
        Err(_) => bail!(
            "{flag} {}: the directory {} does not exist",
            path.display(),
            dir.display()
        ),
    }
    if let Ok(m) = std::fs::symlink_metadata(path) {
        let t = m.file_type();
        let what = if t.is_symlink() {
            "a symbolic link"
        } else if t.is_dir() {
            "a directory"
        } else if t.is_fifo() {
            "a FIFO"
        } else if t.is_block_device() || t.is_char_device() {
            "a device"
        } else if t.is_socket() {
            "a socket"
        } else {
            ""
        };
        if !what.is_empty() {
            bail!(
                "{flag} {}: is {what}; refusing to replace it with a regular file",
                path.display()
            );
        }
    }
    Ok(())
}

/// Checks every output (see [`check_output`]) and that no output is an input or another output.
pub fn check(outputs: &[Output], inputs: &[Input]) -> Result<()> {
    for o in outputs {
        check_output(o)?;
    }
    let outs: Vec<Identity> = outputs.iter().map(|o| identity(&o.path)).collect();
    for (i, o) in outputs.iter().enumerate() {
        for (j, p) in outputs.iter().enumerate().skip(i + 1) {
            if outs[i].same(&outs[j]) {
                bail!(
                    "{} and {} name the same file {}; give them different files",
                    o.flag,
                    p.flag,
                    o.path.display()
                );
            }
        }
        for inp in inputs {
            if outs[i].same(&identity(&inp.path)) {
                bail!(
                    "{} {} is the same file as {} {}; refusing to overwrite an input",
                    o.flag,
                    o.path.display(),
                    inp.flag,
                    inp.path.display()
                );
            }
        }
    }
    Ok(())
}

/// The outputs and inputs of `randnet sample`.
pub fn sample_files(args: &crate::args::SampleArgs) -> (Vec<Output>, Vec<Input>) {
    let mut outs = Vec::new();
    if let Some(p) = &args.run.output {
        outs.push(Output::new("--output", p));
    }
    if let Some(p) = &args.save_samples {
        outs.push(Output::new("--save-samples", p));
    }
    if let Some(p) = &args.histogram {
        outs.push(Output::new("--histogram", p));
    }
    let ins = args
        .inputs
        .input_file
        .iter()
        .map(|p| Input::new("--input-file", p))
        .collect();
    (outs, ins)
}

/// Called first by `randnet sample`: every path checked before any network is drawn.
pub fn check_sample(args: &crate::args::SampleArgs) -> Result<()> {
    let (outs, ins) = sample_files(args);
    check(&outs, &ins)
}

/// `name` with `suffix` appended (for derived names).
pub fn with_suffix(name: &std::ffi::OsStr, prefix: &str, suffix: &str) -> OsString {
    let mut s = OsString::from(prefix);
    s.push(name);
    s.push(suffix);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn temp_names_are_short_and_distinct() {
        let long = "x".repeat(255);
        let a = temp_path(Path::new(&long));
        let b = temp_path(Path::new(&long));
        assert_ne!(a, b);
        assert!(a.file_name().unwrap().len() < 64);
    }

    #[test]
    fn refuses_aliases_and_odd_targets() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.json");
        std::fs::write(&f, b"x").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&f, &link).unwrap();
        assert!(check(&[Output::new("--output", &link)], &[]).is_err());
        assert!(check(&[Output::new("--output", dir.path())], &[]).is_err());
        let via_dot = dir.path().join(".").join("a.json");
        let e = check(
            &[Output::new("--output", &via_dot)],
            &[Input::new("--input-file", &f)],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("--output") && e.contains("--input-file"), "{e}");
        assert!(check(
            &[Output::new("--output", &dir.path().join("nope/a.json"))],
            &[]
        )
        .is_err());
        assert!(check(&[Output::new("--output", &f)], &[]).is_ok());
    }
}

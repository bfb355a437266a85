//! Process-wide set-up shared by the front ends (the `randnet` binary and the Python package):
//! the worker pool, Mesa's runtime directory, and errors as one line.

/// An error and its causes as one line, as the binary prints it after `error: ` and the Python
/// package raises it: one line whatever a library's message looks like (some draw multi-line
/// excerpts).
pub fn one_line(e: &anyhow::Error) -> String {
    let chain: Vec<String> = e
        .chain()
        .map(|c| {
            let text = c.to_string();
            let parts: Vec<&str> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .collect();
            parts.join(" ")
        })
        .collect();
    chain.join(": ")
}

/// Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" on every instance when
/// the variable is missing (containers, CI) or names a directory that is not private (mode
/// 0700, owned by us: the shared temp dir is not); a private directory silences it. Call it
/// first, before any thread exists.
pub fn quiet_mesa() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        if let Some(dir) = private_runtime_dir() {
            std::env::set_var("XDG_RUNTIME_DIR", dir);
        }
    }
}

/// A directory only this user can use (mode 0700) for XDG_RUNTIME_DIR, or `None`.
fn private_runtime_dir() -> Option<std::path::PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let dir = std::env::temp_dir().join(format!("randnet-runtime-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    let meta = std::fs::symlink_metadata(&dir).ok()?;
    (meta.is_dir() && meta.uid() == uid && meta.permissions().mode() & 0o777 == 0o700)
        .then_some(dir)
}

/// More worker threads than this are refused up front: no machine randnet runs on has that many
/// cores, and spawning them would take the process's thread limit.
const MAX_THREADS: usize = 4096;

/// Builds rayon's global pool: `RAYON_NUM_THREADS` when set, else `SLURM_CPUS_PER_TASK` when set
/// (a Slurm job gets the CPUs it asked for, not the node's), else one thread per core. A count
/// that cannot be spawned is a one-line error, not a panic on first use.
pub fn init_threads() -> anyhow::Result<()> {
    let parse = |name: &str| -> anyhow::Result<Option<usize>> {
        let Some(v) = std::env::var_os(name) else {
            return Ok(None);
        };
        let v = v.to_string_lossy();
        match v.trim().parse::<usize>() {
            Ok(0) if name == "RAYON_NUM_THREADS" => Ok(None), // rayon's "one per core"
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => anyhow::bail!("{name}={v} is not a positive number of threads"),
        }
    };
    let (name, threads) = match parse("RAYON_NUM_THREADS")? {
        Some(n) => ("RAYON_NUM_THREADS", Some(n)),
        None if std::env::var_os("RAYON_NUM_THREADS").is_some() => ("RAYON_NUM_THREADS", None),
        None => ("SLURM_CPUS_PER_TASK", parse("SLURM_CPUS_PER_TASK")?),
    };
    let mut builder = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        if n > MAX_THREADS {
            anyhow::bail!("{name}={n} is more threads than randnet runs (at most {MAX_THREADS})");
        }
        builder = builder.num_threads(n);
    }
    builder.build_global().map_err(|e| {
        anyhow::anyhow!(
            "cannot start {} worker threads ({e}); set RAYON_NUM_THREADS to fewer",
            threads.map_or_else(|| "the".to_string(), |n| n.to_string())
        )
    })
}

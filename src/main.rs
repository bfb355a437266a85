//! The `randnet` binary: parse, dispatch, print. All the work lives in the library crates
//! (problem → sampler → stats → theory → run; docs/architecture.md); this crate only wires
//! them to the command line.

mod cli;

use randnet_run::{batch, bench, compare, merge, sample, sweep, theory_cmd, verify};

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" on every instance when
    // the variable is missing (containers, CI) or names a directory that is not private (mode
    // 0700, owned by us: the shared temp dir is not); a private directory silences it. Done
    // first, before any thread exists.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        if let Some(dir) = private_runtime_dir() {
            std::env::set_var("XDG_RUNTIME_DIR", dir);
        }
    }
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || matches!(
                    e.kind(),
                    ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                )
            {
                let _ = e.print();
                return if e.use_stderr() {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // clap's own report of a parse error: the message, "did you mean", the possible
            // values and the usage line (exit status 2).
            e.exit();
        }
    };
    if let Err(e) = init_threads() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    // Only commands with a run loop that saves finished work catch the signals; the others
    // (theory, verify, bench, merge) keep the default: a signal ends them.
    if matches!(
        cli.command,
        cli::Command::Sample(_)
            | cli::Command::Sweep(_)
            | cli::Command::Run(_)
            | cli::Command::Compare(_)
    ) {
        sample::install_interrupt_handler();
    }
    let result = match &cli.command {
        cli::Command::Sample(args) => sample::run(args),
        cli::Command::Bench(args) => bench::run(args),
        cli::Command::Sweep(args) => sweep::run(args),
        cli::Command::Compare(args) => compare::run(args),
        cli::Command::Merge(args) => merge::run(args),
        cli::Command::Run(args) => batch::run(args),
        cli::Command::Theory(args) => theory_cmd::run(args),
        cli::Command::Verify(args) => verify::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, whatever a library's message looks like (some draw multi-line excerpts).
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
            eprintln!("error: {}", chain.join(": "));
            ExitCode::FAILURE
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
fn init_threads() -> anyhow::Result<()> {
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

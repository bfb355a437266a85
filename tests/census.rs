//! The bad-input census: one table of distinct bad inputs and faults, one row each, for every
//! subcommand. docs/bad_inputs.md is the same table for readers (keep the two in sync).
//! Run: `cargo test --release --test census -- --nocapture`.
//!
//! Every row runs the binary in a fresh temporary directory (its working directory), after the
//! row's setup wrote its files there, and must:
//! - exit 1 or 2 (never 0 for a bad input, never 101 = panic or 134 = abort);
//! - on exit 1 (randnet's own error) print exactly one non-empty line on stderr (exit 2 is clap's
//!   usage report, which may take several lines);
//! - name something recognisable from the input on stderr (the row's needle, case-insensitive);
//! - print no panic text;
//! - leave the directory exactly as the setup made it: no new file, and every setup file's bytes
//!   (or link target, or kind) unchanged.

use std::collections::{BTreeMap, HashSet};
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

type Setup = fn(&Path);

struct Row {
    desc: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
    setup: Option<Setup>,
    needle: &'static str,
}

fn row(desc: &'static str, args: &[&str], needle: &'static str) -> Row {
    Row {
        desc,
        args: args.iter().map(|s| s.to_string()).collect(),
        env: Vec::new(),
        setup: None,
        needle,
    }
}

impl Row {
    fn setup(mut self, f: Setup) -> Row {
        self.setup = Some(f);
        self
    }
    /// Replaces the argument `from` by `to` (a changed flag value).
    fn swap(mut self, from: &str, to: &str) -> Row {
        let i = self.args.iter().position(|a| a == from).unwrap();
        self.args[i] = to.to_string();
        self
    }
    fn env(mut self, k: &'static str, v: &'static str) -> Row {
        self.env.push((k, v));
        self
    }
}

/// A tiny sample run, with `extra` after it.
/// `cmd`, then the flag/value pairs of `base` that `extra` does not give, then `extra`.
fn with_base(cmd: &str, base: &[(&'static str, &'static str)], extra: &[&str]) -> Vec<String> {
    let mut a = vec![cmd.to_string()];
    for (flag, value) in base {
        if !extra.contains(flag) {
            a.push(flag.to_string());
            a.push(value.to_string());
        }
    }
    a.extend(extra.iter().map(|s| s.to_string()));
    a
}

fn sample(desc: &'static str, extra: &[&str], needle: &'static str) -> Row {
    let base = [
        ("--input-dim", "4"),
        ("--width", "8"),
        ("--depth", "2"),
        ("--networks", "50"),
        ("--backend", "cpu"),
    ];
    let a = with_base("sample", &base, extra);
    row(
        desc,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        needle,
    )
}

/// A tiny sweep (widths 8, depths 1,2 unless `extra` gives its own).
fn sweep(desc: &'static str, extra: &[&str], needle: &'static str) -> Row {
    let base = [
        ("--input-dim", "4"),
        ("--networks", "50"),
        ("--backend", "cpu"),
        ("--widths", "8"),
    ];
    let mut a = with_base("sweep", &base, extra);
    if !extra.iter().any(|x| *x == "--depths" || *x == "--ratios") {
        a.insert(a.len() - extra.len(), "--depths".into());
        a.insert(a.len() - extra.len(), "1,2".into());
    }
    row(
        desc,
        &a.iter().map(String::as_str).collect::<Vec<_>>(),
        needle,
    )
}

// ---- setup helpers ----

fn w(dir: &Path, name: &str, bytes: &[u8]) {
    std::fs::write(dir.join(name), bytes).unwrap();
}

fn fifo(dir: &Path, name: &str) {
    let ok = Command::new("mkfifo")
        .arg(dir.join(name))
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "mkfifo failed");
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_randnet"))
}

/// Two good shards a.json (0/2) and b.json (1/2) of a tiny sample run.
fn shards(dir: &Path) {
    for (name, i) in [("a.json", "0/2"), ("b.json", "1/2")] {
        let o = bin()
            .args(["sample", "--input-dim", "4", "--width", "8", "--depth", "2"])
            .args(["--networks", "60", "--backend", "cpu", "--method", "dense"])
            .args([
                "--format", "json", "--seed", "4", "--shard", i, "--output", name,
            ])
            .current_dir(dir)
            .env("RAYON_NUM_THREADS", "1")
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
}

fn edit_b(dir: &Path, f: impl FnOnce(&mut serde_json::Value)) {
    let p = dir.join("b.json");
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(&p, serde_json::to_vec(&v).unwrap()).unwrap();
}

/// The arguments of the sweep whose checkpoint `killed_sweep` leaves (before --networks).
const KILLED: &[&str] = &[
    "sweep",
    "--input-dim",
    "4",
    "--widths",
    "8",
    "--depths",
    "1,2",
    "--backend",
    "cpu",
    "--method",
    "dense",
    "--format",
    "json",
    "--seed",
    "3",
    "--output",
    "r.json",
];

/// A sweep killed after its first checkpoint: leaves `.r.json.randnet-checkpoint` (renamed to
/// `cp` so that rows name it with --checkpoint).
fn killed_sweep(dir: &Path) {
    let mut child = bin()
        .args(KILLED)
        .args(["--networks", "1000000000", "--checkpoint-seconds", "0.05"])
        .args(["--checkpoint", "cp"])
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !dir.join("cp").exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "no checkpoint");
        assert!(child.try_wait().unwrap().is_none(), "the sweep exited");
        std::thread::sleep(Duration::from_millis(20));
    }
    // Let the (atomic) write finish before the kill.
    std::thread::sleep(Duration::from_millis(30));
    child.kill().unwrap();
    child.wait().unwrap();
    // Anything else it left (a temp file mid-write) is not part of the setup.
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        if e.file_name() != "cp" {
            std::fs::remove_file(e.path()).unwrap();
        }
    }
}

/// The killed sweep's own arguments plus `extra`, resuming from `cp`.
fn resume(desc: &'static str, extra: &[&str], needle: &'static str) -> Row {
    let mut a: Vec<&str> = KILLED.to_vec();
    a.extend_from_slice(&["--networks", "1000000000", "--checkpoint", "cp"]);
    a.extend_from_slice(extra);
    row(desc, &a, needle).setup(killed_sweep)
}

fn job1() -> &'static str {
    "[[job]]\ncommand = \"sample\"\n[job.args]\ninput-dim = 4\nwidth = 8\ndepth = 2\nnetworks = 50\nformat = \"json\"\noutput = \"first.json\"\n\n"
}

fn batch(dir: &Path, tail: &str) {
    w(dir, "b.toml", format!("{}{}", job1(), tail).as_bytes());
}

// ---- the census ----

fn rows() -> Vec<Row> {
    let long_name = format!("{}.json", "x".repeat(251));
    let long: &'static str = Box::leak(long_name.into_boxed_str());
    vec![
        // -- top level --
        row("no subcommand", &[], "Usage"),
        row("unknown subcommand", &["simulate"], "simulate"),
        // -- sample: sizes --
        sample("width zero", &["--width", "0"], "--width"),
        row("negative width", &["sample", "--width", "-3"], "--width"),
        sample("input-dim zero", &["--input-dim", "0"], "--input-dim"),
        sample("output-dim zero", &["--output-dim", "0"], "--output-dim"),
        sample("zero in --widths", &["--widths", "8,0,8"], "--widths"),
        sample("non-number in --widths", &["--widths", "8,x"], "--widths"),
        sample("empty --widths", &["--widths", ""], "--widths"),
        sample("networks zero", &["--networks", "0"], "--networks"),
        sample("networks fractional", &["--networks", "1.5"], "--networks"),
        sample("inputs zero", &["--inputs", "0"], "--inputs"),
        sample("batch zero", &["--batch", "0"], "--batch"),
        row("huge width", &["sample", "--width", "4000000000"], "width"),
        row(
            "width x depth past memory",
            &["sample", "--width", "2000000000", "--depth", "4"],
            "memory",
        ),
        row(
            "huge depth",
            &["sample", "--depth", "1000000000000"],
            "--depth",
        ),
        row(
            "huge inputs",
            &["sample", "--inputs", "1000000"],
            "--inputs",
        ),
        row(
            "huge input-dim",
            &["sample", "--input-dim", "100000000000000"],
            "--input-dim",
        ),
        row(
            "huge batch",
            &["sample", "--batch", "100000000000000"],
            "--batch",
        ),
        // -- sample: numbers --
        sample("negative --cw", &["--cw", "-1"], "--cw"),
        sample("NaN --cw", &["--cw", "nan"], "--cw"),
        sample("infinite --cw", &["--cw", "inf"], "--cw"),
        sample("negative --cb", &["--cb", "-0.5"], "--cb"),
        sample("NaN --cb", &["--cb", "NaN"], "--cb"),
        sample("NaN --angle", &["--angle", "nan"], "--angle"),
        sample("infinite --angle", &["--angle", "inf"], "--angle"),
        sample("NaN --residual", &["--residual", "nan"], "residual"),
        sample("negative --seed", &["--seed", "-1"], "'-1'"),
        sample(
            "--seed past u64",
            &["--seed", "18446744073709551616"],
            "--seed",
        ),
        // -- sample: enums and names --
        sample(
            "unknown activation",
            &["--activation", "softplus"],
            "softplus",
        ),
        sample(
            "leaky-relu without slope",
            &["--activation", "leaky-relu"],
            "leaky-relu",
        ),
        sample(
            "leaky-relu with a non-number slope",
            &["--activation", "leaky-relu:x"],
            "leaky-relu",
        ),
        sample(
            "shaped-relu with NaN",
            &["--activation", "shaped-relu:nan"],
            "activation parameter",
        ),
        sample(
            "cubic with a non-number",
            &["--activation", "cubic:abc"],
            "cubic",
        ),
        sample(
            "unknown observable",
            &["--observe", "output,hessian"],
            "hessian",
        ),
        sample("no observable", &["--observe", ","], "--observe"),
        sample(
            "lyapunov without its count",
            &["--observe", "lyapunov"],
            "needs its count",
        ),
        sample(
            "lyapunov with a bad count",
            &["--observe", "lyapunov:0"],
            "1..=4096",
        ),
        sample(
            "a count on a family without one",
            &["--observe", "output:3"],
            "takes no count",
        ),
        sample(
            "lyapunov frame wider than a layer",
            &["--observe", "lyapunov:9"],
            "narrowest",
        ),
        sample(
            "lyapunov on a residual net",
            &["--observe", "lyapunov:2", "--residual", "0.5"],
            "residual",
        ),
        sample(
            "a training observable without --step-lr",
            &["--observe", "delta_ntk"],
            "needs --step-lr",
        ),
        sample(
            "a negative learning rate",
            &["--step-lr", "-0.1", "--observe", "delta_output"],
            "--step-lr must be a positive number",
        ),
        sample(
            "a learning rate that is not a number",
            &["--step-lr", "nan", "--observe", "delta_output"],
            "--step-lr must be a positive number",
        ),
        sample(
            "zero steps",
            &["--step-lr", "0.1", "--steps", "0"],
            "--steps",
        ),
        sample(
            "--steps without --step-lr",
            &["--steps", "3"],
            "needs --step-lr",
        ),
        sample(
            "a step on several readout units",
            &[
                "--step-lr",
                "0.1",
                "--output-dim",
                "2",
                "--observe",
                "delta_output",
            ],
            "--output-dim 1",
        ),
        sample(
            "targets file that does not exist",
            &["--step-lr", "0.1", "--targets", "/nonexistent/y.csv"],
            "y.csv",
        ),
        sample(
            "more singular values than J has",
            &["--observe", "singular_values:2"],
            "at most 1",
        ),
        sample(
            "histogram bins without a histogram",
            &["--histogram-bins", "9"],
            "--histogram-bins",
        ),
        sample("unknown format", &["--format", "xml"], "--format"),
        sample("unknown backend", &["--backend", "tpu"], "--backend"),
        sample("unknown method", &["--method", "sparse"], "--method"),
        sample(
            "unknown parameterization",
            &["--parameterization", "completep"],
            "parameterization",
        ),
        sample("unknown weight law", &["--weights", "cauchy"], "cauchy"),
        sample("unknown residual", &["--residual", "sometimes"], "residual"),
        sample("unknown curve", &["--curve", "spiral"], "spiral"),
        sample(
            "--angle with --inputs",
            &["--angle", "1", "--inputs", "3"],
            "--angle",
        ),
        sample("misspelt flag", &["--widht", "8"], "--width"),
        sample(
            "--adapter with --backend cpu",
            &["--adapter", "nvidia"],
            "--adapter",
        ),
        // -- sample: --shard --
        sample("--shard index past count", &["--shard", "2/2"], "--shard"),
        sample("--shard count zero", &["--shard", "0/0"], "--shard"),
        sample("--shard not numbers", &["--shard", "a/b"], "--shard"),
        sample("--shard without a slash", &["--shard", "1"], "--shard"),
        sample("--shard negative", &["--shard", "-1/2"], "'-1'"),
        // -- sample: input files --
        sample(
            "input file missing",
            &["--input-file", "missing.csv"],
            "missing.csv",
        ),
        sample("input file ragged", &["--input-file", "in.csv"], "ragged")
            .setup(|d| w(d, "in.csv", b"1,2,3\n4,5\n")),
        sample(
            "input file with no rows",
            &["--input-file", "in.csv"],
            "no rows",
        )
        .setup(|d| w(d, "in.csv", b"\n# nothing\n")),
        sample("input file with NaN", &["--input-file", "in.csv"], "finite")
            .setup(|d| w(d, "in.csv", b"1,2\nnan,3\n")),
        sample("input file with inf", &["--input-file", "in.csv"], "finite")
            .setup(|d| w(d, "in.csv", b"1,2\ninf,3\n")),
        sample(
            "input file with text",
            &["--input-file", "in.csv"],
            "not a number",
        )
        .setup(|d| w(d, "in.csv", b"1,2\nx,3\n")),
        sample(
            "input file not UTF-8",
            &["--input-file", "in.csv"],
            "in.csv",
        )
        .setup(|d| w(d, "in.csv", b"1,2\n\xff\xfe,3\n")),
        sample(
            "input file of zero bytes",
            &["--input-file", "in.csv"],
            "in.csv",
        )
        .setup(|d| w(d, "in.csv", b"")),
        sample(
            "input file vs --input-dim",
            &["--input-file", "in.csv", "--input-dim", "5"],
            "--input-dim",
        )
        .setup(|d| w(d, "in.csv", b"1,2,3\n4,5,6\n")),
        sample("input file is a directory", &["--input-file", "sub"], "sub")
            .setup(|d| std::fs::create_dir(d.join("sub")).unwrap()),
        sample(
            "input file is a FIFO",
            &["--input-file", "in.csv"],
            "not a regular file",
        )
        .setup(|d| fifo(d, "in.csv")),
        sample(
            "input file is a dangling symlink",
            &["--input-file", "in.csv"],
            "in.csv",
        )
        .setup(|d| symlink(d.join("nowhere.csv"), d.join("in.csv")).unwrap()),
        // -- sample: outputs --
        sample(
            "output into a missing directory",
            &["--output", "nodir/out.json"],
            "does not exist",
        ),
        sample(
            "output under a regular file",
            &["--output", "in.csv/out.json"],
            "--output",
        )
        .setup(|d| w(d, "in.csv", b"1,2\n")),
        sample("output is a directory", &["--output", "sub"], "directory")
            .setup(|d| std::fs::create_dir(d.join("sub")).unwrap()),
        sample(
            "output is a symlink",
            &["--output", "link.json"],
            "symbolic link",
        )
        .setup(|d| symlink(d.join("target.json"), d.join("link.json")).unwrap()),
        sample("output is a FIFO", &["--output", "out.json"], "FIFO")
            .setup(|d| fifo(d, "out.json")),
        sample("output name of 256 bytes", &["--output", long], "255"),
        sample(
            "output same as input file",
            &["--input-file", "in.csv", "--output", "in.csv"],
            "--input-file",
        )
        .setup(|d| w(d, "in.csv", b"1,2,3,4\n4,5,6,7\n")),
        sample(
            "output same as save-samples",
            &["--output", "x.npy", "--save-samples", "x.npy"],
            "--save-samples",
        ),
        sample(
            "save-samples into a missing directory",
            &["--save-samples", "nodir/s.npy"],
            "does not exist",
        ),
        // -- sample: environment and numerics --
        sample("RAYON_NUM_THREADS not a number", &[], "RAYON_NUM_THREADS")
            .env("RAYON_NUM_THREADS", "abc"),
        sample("RAYON_NUM_THREADS negative", &[], "RAYON_NUM_THREADS")
            .env("RAYON_NUM_THREADS", "-1"),
        sample("RAYON_NUM_THREADS too many", &[], "RAYON_NUM_THREADS")
            .env("RAYON_NUM_THREADS", "100000"),
        sample("SLURM_CPUS_PER_TASK zero", &[], "SLURM_CPUS_PER_TASK")
            .env("SLURM_CPUS_PER_TASK", "0"),
        sample(
            "SLURM_CPUS_PER_TASK not a number",
            &[],
            "SLURM_CPUS_PER_TASK",
        )
        .env("SLURM_CPUS_PER_TASK", "abc"),
        row(
            "every network diverges",
            &[
                "sample",
                "--activation",
                "linear",
                "--cw",
                "1e4",
                "--depth",
                "29",
                "--width",
                "8",
                "--networks",
                "40",
                "--method",
                "dense",
            ],
            "diverged",
        ),
        row(
            "every output underflows",
            &[
                "sample",
                "--activation",
                "linear",
                "--cw",
                "0.5",
                "--depth",
                "3000",
                "--width",
                "4",
                "--input-dim",
                "4",
                "--networks",
                "20",
            ],
            "underflow",
        ),
        // -- sweep --
        sweep(
            "--depths with a non-number",
            &["--depths", "1,x"],
            "--depths",
        ),
        sweep("--depths empty", &["--depths", ""], "--depths"),
        sweep("huge --depths", &["--depths", "100000000000"], "--depths"),
        sweep("negative --ratios", &["--ratios", "-1"], "'-1'"),
        sweep("NaN --ratios", &["--ratios", "nan"], "--ratios"),
        sweep("--ratios not numbers", &["--ratios", "0.5,abc"], "--ratios"),
        sweep(
            "--ratios giving depth 0",
            &["--widths", "8,64", "--ratios", "0.01"],
            "ratio 0.01",
        ),
        sweep(
            "huge --ratios",
            &["--widths", "100000", "--ratios", "1e9"],
            "--ratios",
        ),
        sweep(
            "--ratios with --depths",
            &["--ratios", "0.5", "--depths", "2"],
            "--ratios",
        ),
        sweep(
            "NaN --checkpoint-seconds",
            &["--checkpoint-seconds", "nan"],
            "--checkpoint-seconds",
        ),
        sweep(
            "negative --checkpoint-seconds",
            &["--checkpoint-seconds", "-1"],
            "--checkpoint-seconds",
        ),
        sweep("--plot of an unknown kind", &["--plot", "x.txt"], "x.txt"),
        sweep(
            "--plot into a missing directory",
            &["--plot", "nodir/p.svg"],
            "does not exist",
        ),
        sweep(
            "--plot-stat without --plot",
            &["--plot-stat", "output[0]:mean"],
            "--plot-stat",
        ),
        sweep(
            "--plot-stat unknown statistic",
            &["--plot", "p.svg", "--plot-stat", "output[0]:median"],
            "median",
        ),
        sweep(
            "--plot-stat unknown observable",
            &["--plot", "p.svg", "--plot-stat", "hessian:mean"],
            "hessian",
        ),
        sweep(
            "--plot-stat without a colon",
            &["--plot", "p.svg", "--plot-stat", "nope"],
            "nope",
        ),
        sweep(
            "unknown --plot-x",
            &["--plot", "p.svg", "--plot-x", "diagonal"],
            "--plot-x",
        ),
        sweep(
            "unknown --plot-y-scale",
            &["--plot", "p.svg", "--plot-y-scale", "cubic"],
            "--plot-y-scale",
        ),
        sweep(
            "--plot same as --output",
            &["--plot", "p.svg", "--output", "p.svg"],
            "--plot",
        ),
        sweep(
            "--extrapolate with one width",
            &["--extrapolate"],
            "--extrapolate",
        ),
        sweep(
            "--save-samples on a sweep",
            &["--save-samples", "s.npy"],
            "--save-samples",
        ),
        sweep(
            "--checkpoint same as --output",
            &["--output", "o.json", "--checkpoint", "o.json"],
            "--checkpoint",
        ),
        sweep(
            "--checkpoint same as --input-file",
            &[
                "--input-file",
                "in.csv",
                "--checkpoint",
                "in.csv",
                "--output",
                "o.json",
            ],
            "--input-file",
        )
        .setup(|d| w(d, "in.csv", b"1,2,3,4\n4,5,6,7\n")),
        sweep(
            "--checkpoint into a missing directory",
            &["--checkpoint", "nodir/cp", "--output", "o.json"],
            "does not exist",
        ),
        sweep(
            "--output a symlink",
            &["--output", "link.csv"],
            "symbolic link",
        )
        .setup(|d| symlink(d.join("target.csv"), d.join("link.csv")).unwrap()),
        resume("existing checkpoint without --resume", &[], "--resume"),
        resume("--resume with another --method", &["--resume"], "method")
            .swap("dense", "matrix-free"),
        resume("--resume with another --seed", &["--resume"], "seed").swap("3", "9"),
        row(
            "--resume from a truncated checkpoint",
            &[
                "sweep",
                "--widths",
                "8",
                "--depths",
                "1",
                "--networks",
                "50",
                "--checkpoint",
                "cp",
                "--resume",
            ],
            "cp",
        )
        .setup(|d| {
            killed_sweep(d);
            let b = std::fs::read(d.join("cp")).unwrap();
            std::fs::write(d.join("cp"), &b[..b.len() / 2]).unwrap();
        }),
        row(
            "--resume from a hostile checkpoint",
            &[
                "sweep",
                "--widths",
                "8",
                "--depths",
                "1",
                "--networks",
                "50",
                "--checkpoint",
                "cp",
                "--resume",
            ],
            "cp",
        )
        .setup(|d| {
            w(
                d,
                "cp",
                b"{\"format\": 2, \"points\": [{\"networks\": -1e999}]}",
            )
        }),
        row(
            "--resume from a checkpoint that is binary junk",
            &[
                "sweep",
                "--widths",
                "8",
                "--depths",
                "1",
                "--networks",
                "50",
                "--checkpoint",
                "cp",
                "--resume",
            ],
            "cp",
        )
        .setup(|d| w(d, "cp", b"\x00\x01\x02\xff\xfe garbage")),
        // -- merge --
        row("merge with no files", &["merge"], "FILES"),
        row("merge a missing file", &["merge", "nope.json"], "nope.json"),
        row("merge an empty file", &["merge", "e.json"], "e.json").setup(|d| w(d, "e.json", b"")),
        row(
            "merge a file that is not JSON",
            &["merge", "t.json"],
            "t.json",
        )
        .setup(|d| w(d, "t.json", b"hello, world\n")),
        row("merge a JSON array", &["merge", "t.json"], "t.json").setup(|d| w(d, "t.json", b"[]")),
        row("merge a directory", &["merge", "sub"], "sub")
            .setup(|d| std::fs::create_dir(d.join("sub")).unwrap()),
        row("merge a FIFO", &["merge", "f.json"], "f.json").setup(|d| fifo(d, "f.json")),
        row(
            "merge a truncated shard",
            &["merge", "a.json", "b.json"],
            "b.json",
        )
        .setup(|d| {
            shards(d);
            let b = std::fs::read(d.join("b.json")).unwrap();
            std::fs::write(d.join("b.json"), &b[..b.len() / 2]).unwrap();
        }),
        row(
            "merge a shard without format",
            &["merge", "a.json", "b.json"],
            "older randnet",
        )
        .setup(|d| {
            shards(d);
            edit_b(d, |v| {
                v.as_object_mut().unwrap().remove("format");
            });
        }),
        row(
            "merge a shard with an unknown field",
            &["merge", "a.json", "b.json"],
            "surprise",
        )
        .setup(|d| {
            shards(d);
            edit_b(d, |v| v["surprise"] = 1.into());
        }),
        row(
            "merge a shard with too few counts",
            &["merge", "a.json", "b.json"],
            "b.json",
        )
        .setup(|d| {
            shards(d);
            edit_b(d, |v| {
                v["accumulator"]["counts"].as_array_mut().unwrap().pop();
            });
        }),
        row(
            "merge a shard with NaN-like sums",
            &["merge", "a.json", "b.json"],
            "b.json",
        )
        .setup(|d| {
            shards(d);
            edit_b(d, |v| {
                v["accumulator"]["obs_sums"] = serde_json::json!(["NaN"])
            });
        }),
        row(
            "merge a shard whose diverged count lies",
            &["merge", "a.json", "b.json"],
            "b.json",
        )
        .setup(|d| {
            shards(d);
            edit_b(d, |v| v["diverged"] = 7.into());
        }),
        row(
            "merge a shard of another backend",
            &["merge", "a.json", "b.json"],
            "backend",
        )
        .setup(|d| {
            shards(d);
            edit_b(d, |v| v["backend"] = "gpu".into());
        }),
        row(
            "merge the same shard twice",
            &["merge", "a.json", "a.json"],
            "a.json",
        )
        .setup(shards),
        row(
            "merge a shard whose range runs past its total",
            &["merge", "a.json"],
            "a.json",
        )
        .setup(|d| {
            shards(d);
            std::fs::remove_file(d.join("b.json")).unwrap();
            let mut v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(d.join("a.json")).unwrap()).unwrap();
            v["shard"]["end"] = 1000.into();
            std::fs::write(d.join("a.json"), serde_json::to_vec(&v).unwrap()).unwrap();
        }),
        row(
            "merge output same as a shard",
            &["merge", "a.json", "b.json", "--output", "b.json"],
            "b.json",
        )
        .setup(shards),
        row(
            "merge output into a missing directory",
            &["merge", "a.json", "b.json", "--output", "nodir/m.json"],
            "does not exist",
        )
        .setup(shards),
        row(
            "merge unknown format",
            &["merge", "a.json", "--format", "yaml"],
            "--format",
        ),
        // -- run (batch files) --
        row(
            "run a missing batch file",
            &["run", "nope.toml"],
            "nope.toml",
        ),
        row(
            "run a batch file that is not TOML",
            &["run", "b.toml"],
            "b.toml",
        )
        .setup(|d| w(d, "b.toml", b"[[job\ncommand = ")),
        row("run an empty batch file", &["run", "b.toml"], "job").setup(|d| w(d, "b.toml", b"")),
        row(
            "run a batch file that is a directory",
            &["run", "sub"],
            "sub",
        )
        .setup(|d| std::fs::create_dir(d.join("sub")).unwrap()),
        row(
            "run a batch file that is a FIFO",
            &["run", "b.toml"],
            "b.toml",
        )
        .setup(|d| fifo(d, "b.toml")),
        row("run args as a string", &["run", "b.toml"], "args").setup(|d| {
            batch(
                d,
                "[[job]]\ncommand = \"sample\"\nargs = \"--networks 5\"\n",
            )
        }),
        row("run args with a number", &["run", "b.toml"], "args").setup(|d| {
            batch(
                d,
                "[[job]]\ncommand = \"sample\"\nargs = [\"--networks\", 5]\n",
            )
        }),
        row("run an unknown job key", &["run", "b.toml"], "arg")
            .setup(|d| batch(d, "[[job]]\ncommand = \"sample\"\narg = 1\n")),
        row("run an unknown top-level key", &["run", "b.toml"], "jobs")
            .setup(|d| w(d, "b.toml", format!("jobs = 1\n{}", job1()).as_bytes())),
        row("run an unknown batch format", &["run", "b.toml"], "format")
            .setup(|d| w(d, "b.toml", format!("format = 9\n{}", job1()).as_bytes())),
        row(
            "run a job of an unknown command",
            &["run", "b.toml"],
            "verify",
        )
        .setup(|d| batch(d, "[[job]]\ncommand = \"verify\"\n")),
        row("run a job with a bad value", &["run", "b.toml"], "--width")
            .setup(|d| batch(d, "[[job]]\ncommand = \"sample\"\n[job.args]\nwidth = 0\n")),
        row(
            "run a job with an unknown flag",
            &["run", "b.toml"],
            "widht",
        )
        .setup(|d| batch(d, "[[job]]\ncommand = \"sample\"\n[job.args]\nwidht = 8\n")),
        row(
            "run a job writing into a missing directory",
            &["run", "b.toml"],
            "does not exist",
        )
        .setup(|d| {
            batch(
                d,
                "[[job]]\ncommand = \"sample\"\n[job.args]\noutput = \"nodir/o.json\"\n",
            )
        }),
        row(
            "run two jobs writing the same file",
            &["run", "b.toml"],
            "first.json",
        )
        .setup(|d| w(d, "b.toml", format!("{}{}", job1(), job1()).as_bytes())),
        // -- theory --
        row(
            "theory unknown observable",
            &["theory", "--observe", "output,hessian"],
            "hessian",
        ),
        row(
            "theory overflowing kernels",
            &["theory", "--cw", "1e300"],
            "overflow",
        ),
        row(
            "theory underflowing kernels",
            &[
                "theory",
                "--activation",
                "linear",
                "--cw",
                "0.5",
                "--depth",
                "3000",
            ],
            "underflow",
        ),
        row(
            "theory --networks zero",
            &["theory", "--networks", "0"],
            "--networks",
        ),
        row(
            "theory huge --inputs",
            &["theory", "--inputs", "100000000000"],
            "--inputs",
        ),
        row(
            "theory huge --depth",
            &["theory", "--depth", "1000000000000"],
            "--depth",
        ),
        row(
            "theory ragged input file",
            &["theory", "--input-file", "in.csv"],
            "ragged",
        )
        .setup(|d| w(d, "in.csv", b"1,2,3\n4,5\n")),
        row(
            "theory unknown format",
            &["theory", "--format", "yaml"],
            "--format",
        ),
        row("theory NaN --cb", &["theory", "--cb", "nan"], "--cb"),
        // -- bench --
        row(
            "bench zero seconds",
            &["bench", "--seconds", "0"],
            "--seconds",
        ),
        row(
            "bench NaN seconds",
            &["bench", "--seconds", "nan"],
            "--seconds",
        ),
        row(
            "bench unknown config",
            &["bench", "--config", "Z", "--seconds", "0.01"],
            "'Z'",
        ),
        row(
            "bench zero peer networks",
            &["bench", "--peer-networks", "0", "--seconds", "0.01"],
            "--peer-networks",
        ),
        // -- verify --
        row(
            "verify filter matching nothing",
            &["verify", "--filter", "zzzz-no-such-check"],
            "filter",
        ),
        row(
            "verify --quick with --full",
            &["verify", "--quick", "--full"],
            "--full",
        ),
        row(
            "verify unknown format",
            &["verify", "--format", "xml"],
            "--format",
        ),
    ]
}

/// Rows known to fail (none at present): printed, and excluded from the assertions.
const KNOWN_FAILURES: &[&str] = &[];

#[derive(Debug, PartialEq)]
enum Entry {
    File(Vec<u8>),
    Link(std::path::PathBuf),
    Dir,
    Other,
}

fn snapshot(dir: &Path, prefix: &str, out: &mut BTreeMap<String, Entry>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let name = format!("{prefix}{}", e.file_name().to_string_lossy());
        let t = std::fs::symlink_metadata(e.path()).unwrap().file_type();
        if t.is_symlink() {
            out.insert(name, Entry::Link(std::fs::read_link(e.path()).unwrap()));
        } else if t.is_dir() {
            out.insert(name.clone(), Entry::Dir);
            snapshot(&e.path(), &format!("{name}/"), out);
        } else if t.is_file() {
            out.insert(name, Entry::File(std::fs::read(e.path()).unwrap()));
        } else {
            out.insert(name, Entry::Other);
        }
    }
}

fn run_row(dir: &Path, r: &Row) -> Result<(Output, Duration), String> {
    let mut c = bin();
    c.args(&r.args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Rows may set the thread variables themselves; others run on 2 threads.
    if !r.env.iter().any(|(k, _)| *k == "RAYON_NUM_THREADS") {
        if r.env.is_empty() {
            c.env("RAYON_NUM_THREADS", "2");
        } else {
            c.env_remove("RAYON_NUM_THREADS");
        }
    }
    for (k, v) in &r.env {
        c.env(k, v);
    }
    let start = Instant::now();
    let mut child = c.spawn().map_err(|e| e.to_string())?;
    // Read both pipes in threads so a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let ho = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut so, &mut b).ok();
        b
    });
    let he = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut se, &mut b).ok();
        b
    });
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            return Err("ran over 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let status = child.wait().unwrap();
    let took = start.elapsed();
    Ok((
        Output {
            status,
            stdout: ho.join().unwrap(),
            stderr: he.join().unwrap(),
        },
        took,
    ))
}

/// The failures of one row (empty: it passed).
fn check(r: &Row) -> (Vec<String>, String, Duration) {
    let dir = tempfile::tempdir().unwrap();
    if let Some(f) = r.setup {
        f(dir.path());
    }
    let mut before = BTreeMap::new();
    snapshot(dir.path(), "", &mut before);
    let mut bad = Vec::new();
    let (o, took) = match run_row(dir.path(), r) {
        Ok(x) => x,
        Err(e) => return (vec![e], String::new(), Duration::ZERO),
    };
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    let code = o.status.code();
    match code {
        Some(1) => {
            let lines = err.lines().filter(|l| !l.trim().is_empty()).count();
            if lines != 1 || err.trim().is_empty() {
                bad.push(format!("exit 1 with {lines} lines on stderr"));
            }
        }
        Some(2) => {
            if err.trim().is_empty() {
                bad.push("exit 2 with nothing on stderr".into());
            }
        }
        other => bad.push(format!("exit {other:?}")),
    }
    if err.contains("cannot be used multiple times") {
        bad.push(
            "the row gives a flag twice (a mistake in the row, not the input it means)".into(),
        );
    }
    for panic_text in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        if err.contains(panic_text) {
            bad.push(format!("panic text '{panic_text}'"));
        }
    }
    if !err.to_lowercase().contains(&r.needle.to_lowercase()) {
        bad.push(format!("stderr does not mention '{}'", r.needle));
    }
    let mut after = BTreeMap::new();
    snapshot(dir.path(), "", &mut after);
    for (name, e) in &after {
        match before.get(name) {
            None => bad.push(format!("left {name:?} behind")),
            Some(b) if b != e => bad.push(format!("changed {name:?}")),
            _ => {}
        }
    }
    for name in before.keys() {
        if !after.contains_key(name) {
            bad.push(format!("removed {name:?}"));
        }
    }
    (bad, err, took)
}

#[test]
fn census_of_bad_inputs() {
    let rows = rows();
    let mut seen = HashSet::new();
    for r in &rows {
        assert!(seen.insert(r.desc), "duplicate description '{}'", r.desc);
    }
    let mut failures = Vec::new();
    let mut slowest = (Duration::ZERO, "");
    for r in &rows {
        let (bad, err, took) = check(r);
        if took > slowest.0 {
            slowest = (took, r.desc);
        }
        let first = err.lines().next().unwrap_or("").to_string();
        if std::env::var_os("CENSUS_MARKDOWN").is_some() {
            // The table of docs/bad_inputs.md (pasted there by hand).
            let env: Vec<String> = r.env.iter().map(|(k, v)| format!("{k}={v} ")).collect();
            let args: Vec<String> = r
                .args
                .iter()
                .map(|a| {
                    if a.len() > 40 {
                        format!("{}…({} bytes)", &a[..8], a.len())
                    } else {
                        a.clone()
                    }
                })
                .collect();
            println!(
                "| {} | `{}randnet {}` | `{}` |",
                r.desc,
                env.concat(),
                args.join(" "),
                r.needle
            );
        }
        if std::env::var_os("CENSUS_VERBOSE").is_some() {
            println!("{:<45} {:>6.0?}  {}", r.desc, took, first);
        }
        if KNOWN_FAILURES.contains(&r.desc) {
            println!("KNOWN FAILURE: {}: {}", r.desc, bad.join("; "));
            continue;
        }
        if !bad.is_empty() {
            failures.push(format!(
                "{} (randnet {}): {}\n    stderr: {}",
                r.desc,
                r.args.join(" "),
                bad.join("; "),
                err.trim_end().replace('\n', "\n            ")
            ));
        }
    }
    println!(
        "census: {} bad inputs, {} failing, {} known failures; slowest {:?} ({})",
        rows.len(),
        failures.len(),
        KNOWN_FAILURES.len(),
        slowest.0,
        slowest.1
    );
    assert!(
        failures.is_empty(),
        "{} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(rows.len() >= 70, "only {} rows", rows.len());
}

//! Safe long runs: output paths checked before any work, no aliasing of inputs and outputs,
//! checkpoint names and `--resume` semantics, versioned and validated files for merge and
//! resume, batch files checked before the first job (docs/cluster.md "Files", docs/batch.md).

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_randnet"));
    c.env("XDG_RUNTIME_DIR", std::env::temp_dir());
    c
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

const SAMPLE: &[&str] = &[
    "sample",
    "--width",
    "8",
    "--depth",
    "2",
    "--networks",
    "200",
    "--backend",
    "cpu",
    "--format",
    "json",
];
const SWEEP: &[&str] = &[
    "sweep",
    "--widths",
    "8",
    "--depths",
    "1,2",
    "--networks",
    "300",
    "--backend",
    "cpu",
    "--method",
    "dense",
    "--format",
    "json",
    "--seed",
    "3",
];

/// Runs to completion, killing the command (and failing) after `secs` seconds.
fn run_within(mut cmd: Command, secs: u64) -> Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output().unwrap());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(o) => o,
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            let o = rx.recv().unwrap();
            panic!(
                "still running after {secs} s (the check came after the work): {}",
                String::from_utf8_lossy(&o.stderr)
            );
        }
    }
}

/// Fails with a one-line error containing every one of `needles`.
fn assert_one_line_error(o: &Output, needles: &[&str]) {
    assert!(!o.status.success(), "succeeded");
    assert_eq!(o.status.code(), Some(1), "not an ordinary error exit");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "'{n}' missing from: {err}");
    }
}

fn listing(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let data = std::fs::read(e.path()).unwrap_or_default();
            (e.file_name().to_string_lossy().into_owned(), data)
        })
        .collect();
    v.sort();
    v
}

fn checkpoints(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .contains("checkpoint")
        })
        .collect()
}

/// Starts a sweep that cannot finish soon, waits for its first checkpoint, and kills it.
fn killed_sweep(dir: &Path, extra: &[&str]) -> PathBuf {
    let mut args = s(SWEEP);
    let i = args.iter().position(|a| a == "300").unwrap();
    args[i] = "1000000000".into();
    args.extend(s(&["--checkpoint-seconds", "0.05"]));
    args.extend(s(extra));
    let mut child: Child = bin()
        .args(&args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let cp = loop {
        if let Some(cp) = checkpoints(dir).into_iter().next() {
            break cp;
        }
        assert!(start.elapsed() < Duration::from_secs(60), "no checkpoint");
        assert!(child.try_wait().unwrap().is_none(), "the sweep exited");
        std::thread::sleep(Duration::from_millis(20));
    };
    child.kill().unwrap();
    child.wait().unwrap();
    cp
}

// ---- 1. paths checked before any work ----

#[test]
fn output_into_missing_directory_fails_before_sampling() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("missing/x.json");
    let mut args = s(SAMPLE);
    args[6] = "1000000000000".into();
    let o = run_within(
        {
            let mut c = bin();
            c.args(&args).arg("--output").arg(&out);
            c
        },
        20,
    );
    assert_one_line_error(&o, &["--output", "does not exist"]);
    // The same for a sweep and for merge.
    let o = run_within(
        {
            let mut c = bin();
            c.args([
                "sweep",
                "--widths",
                "8",
                "--depths",
                "1",
                "--networks",
                "1000000000000",
            ])
            .arg("--output")
            .arg(&out);
            c
        },
        20,
    );
    assert_one_line_error(&o, &["--output", "does not exist"]);
}

#[test]
fn a_255_byte_name_is_written_and_a_256_byte_name_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let name = format!("{}.json", "a".repeat(250));
    assert_eq!(name.len(), 255);
    let out = dir.path().join(&name);
    let o = bin()
        .args(SAMPLE)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.exists());
    assert_eq!(
        listing(dir.path()).len(),
        1,
        "a temporary file was left behind"
    );
    let long = dir.path().join(format!("{}.json", "b".repeat(251)));
    let mut args = s(SAMPLE);
    args[6] = "1000000000000".into();
    let o = run_within(
        {
            let mut c = bin();
            c.args(&args).arg("--output").arg(&long);
            c
        },
        20,
    );
    assert_one_line_error(&o, &["--output", "255"]);
}

#[test]
fn symlink_fifo_and_directory_targets_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.json");
    std::fs::write(&real, b"keep").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let o = bin()
        .args(SAMPLE)
        .arg("--output")
        .arg(&link)
        .output()
        .unwrap();
    assert_one_line_error(&o, &["--output", "symbolic link"]);
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(std::fs::read(&real).unwrap(), b"keep");

    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let o = bin()
        .args(SAMPLE)
        .arg("--output")
        .arg(&fifo)
        .output()
        .unwrap();
    assert_one_line_error(&o, &["--output", "FIFO"]);

    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    let o = bin()
        .args(SWEEP)
        .arg("--output")
        .arg(&sub)
        .output()
        .unwrap();
    assert_one_line_error(&o, &["--output", "directory"]);
    assert!(sub.is_dir());
}

#[test]
fn sweep_checkpoint_equal_to_output_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let o = bin()
        .args(SWEEP)
        .arg("--output")
        .arg(&out)
        .arg("--checkpoint")
        .arg(dir.path().join(".").join("r.json"))
        .output()
        .unwrap();
    assert_one_line_error(&o, &["--output", "--checkpoint"]);
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn checkpoint_equal_to_input_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "1,0,0,0\n0,1,0,0\n").unwrap();
    // A hard link: another name, the same file.
    let hard = dir.path().join("in-link.csv");
    std::fs::hard_link(&input, &hard).unwrap();
    let before = listing(dir.path());
    let o = bin()
        .args(SWEEP)
        .arg("--input-file")
        .arg(&input)
        .arg("--checkpoint")
        .arg(&hard)
        .arg("--output")
        .arg(dir.path().join("r.json"))
        .output()
        .unwrap();
    assert_one_line_error(&o, &["--checkpoint", "--input-file"]);
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn sample_output_equal_to_input_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.csv");
    std::fs::write(&input, "1,0,0,0\n0,1,0,0\n").unwrap();
    let before = listing(dir.path());
    let o = bin()
        .args(SAMPLE)
        .arg("--input-file")
        .arg(&input)
        .arg("--output")
        .arg(&input)
        .output()
        .unwrap();
    assert_one_line_error(&o, &["--output", "--input-file"]);
    assert_eq!(listing(dir.path()), before);
}

#[test]
fn output_equal_to_save_samples_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let x = dir.path().join("x");
    let o = bin()
        .args(SAMPLE)
        .arg("--output")
        .arg(&x)
        .arg("--save-samples")
        .arg(&x)
        .output()
        .unwrap();
    assert_one_line_error(&o, &["--output", "--save-samples"]);
    assert!(listing(dir.path()).is_empty());
}

fn shard(dir: &Path, name: &str, i: u32, n: u32, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let o = bin()
        .args([
            "sample",
            "--width",
            "8",
            "--depth",
            "2",
            "--networks",
            "300",
            "--backend",
            "cpu",
        ])
        .args([
            "--format",
            "json",
            "--seed",
            "4",
            "--shard",
            &format!("{i}/{n}"),
        ])
        .args(extra)
        .arg("--output")
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

#[test]
fn merge_output_equal_to_a_shard_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let a = shard(dir.path(), "a.json", 0, 2, &[]);
    let b = shard(dir.path(), "b.json", 1, 2, &[]);
    let before = listing(dir.path());
    let o = bin()
        .arg("merge")
        .arg(&a)
        .arg(&b)
        .arg("--output")
        .arg(&b)
        .output()
        .unwrap();
    assert_one_line_error(&o, &["--output", "b.json"]);
    assert_eq!(listing(dir.path()), before);
}

// ---- 3. checkpoints ----

#[test]
fn two_sweeps_without_output_keep_their_own_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let cp = killed_sweep(dir.path(), &[]);
    let saved = std::fs::read(&cp).unwrap();
    // Another sweep (another seed) in the same directory, run to completion.
    let mut other = s(SWEEP);
    let i = other.iter().position(|a| a == "3").unwrap();
    other[i] = "4".into();
    let o = bin().args(&other).current_dir(dir.path()).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(
        std::fs::read(&cp).unwrap(),
        saved,
        "the first sweep's checkpoint was touched"
    );
    assert_eq!(checkpoints(dir.path()), vec![cp]);
}

#[test]
fn checkpoint_names_do_not_match_shard_globs() {
    let dir = tempfile::tempdir().unwrap();
    let cp = killed_sweep(dir.path(), &["--output", "shard-1.json"]);
    let name = cp.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        !(name.starts_with("shard-") && name.ends_with(".json")),
        "{name} matches shard-*.json"
    );
    assert_eq!(name, ".shard-1.json.randnet-checkpoint");
}

#[test]
fn merge_names_the_file_of_the_other_kind() {
    let dir = tempfile::tempdir().unwrap();
    let a = shard(dir.path(), "a.json", 0, 1, &[]);
    let sw = dir.path().join("sw.json");
    let o = bin().args(SWEEP).arg("--output").arg(&sw).output().unwrap();
    assert!(o.status.success());
    let o = bin().arg("merge").arg(&a).arg(&sw).output().unwrap();
    assert_one_line_error(&o, &["sw.json", "a.json"]);
}

#[test]
fn resume_with_another_method_or_backend_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cp = killed_sweep(dir.path(), &["--output", "r.json"]);
    let saved = std::fs::read(&cp).unwrap();
    let mut args = s(SWEEP);
    let i = args.iter().position(|a| a == "300").unwrap();
    args[i] = "1000000000".into();
    let i = args.iter().position(|a| a == "dense").unwrap();
    args[i] = "matrix-free".into();
    let o = run_within(
        {
            let mut c = bin();
            c.args(&args)
                .args(["--output", "r.json", "--resume"])
                .current_dir(dir.path());
            c
        },
        30,
    );
    assert_one_line_error(&o, &["method"]);
    assert_eq!(std::fs::read(&cp).unwrap(), saved);
}

#[test]
fn resume_without_a_checkpoint_starts_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    let o = bin()
        .args(SWEEP)
        .arg("--output")
        .arg(&a)
        .arg("--resume")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let o = bin().args(SWEEP).arg("--output").arg(&b).output().unwrap();
    assert!(o.status.success());
    let est = |p: &Path| {
        let v: Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        v["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["observables"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(est(&a), est(&b));
    assert!(checkpoints(dir.path()).is_empty());
}

#[test]
fn rerun_without_resume_keeps_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let cp = killed_sweep(dir.path(), &["--output", "r.json"]);
    let saved = std::fs::read(&cp).unwrap();
    let mut args = s(SWEEP);
    let i = args.iter().position(|a| a == "300").unwrap();
    args[i] = "1000000000".into();
    let o = run_within(
        {
            let mut c = bin();
            c.args(&args)
                .args(["--output", "r.json"])
                .current_dir(dir.path());
            c
        },
        30,
    );
    assert_one_line_error(&o, &["--resume", "checkpoint"]);
    assert_eq!(std::fs::read(&cp).unwrap(), saved);
}

// ---- 4. versioned, validated files ----

fn edit(path: &Path, f: impl FnOnce(&mut Value)) {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    f(&mut v);
    std::fs::write(path, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn results_carry_format_2_and_merge_refuses_files_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let a = shard(dir.path(), "a.json", 0, 2, &[]);
    let b = shard(dir.path(), "b.json", 1, 2, &[]);
    let v: Value = serde_json::from_slice(&std::fs::read(&a).unwrap()).unwrap();
    assert_eq!(v["format"], 2);
    edit(&b, |v| {
        v.as_object_mut().unwrap().remove("format");
    });
    let o = bin().arg("merge").arg(&a).arg(&b).output().unwrap();
    assert_one_line_error(&o, &["b.json", "older randnet"]);
    let sw = dir.path().join("sw.json");
    assert!(bin()
        .args(SWEEP)
        .arg("--output")
        .arg(&sw)
        .status()
        .unwrap()
        .success());
    let v: Value = serde_json::from_slice(&std::fs::read(&sw).unwrap()).unwrap();
    assert_eq!(v["format"], 2);
    // An unknown field is refused too (typed reading).
    edit(&b, |v| {
        v["format"] = 2.into();
        v["surprise"] = 1.into();
    });
    let o = bin().arg("merge").arg(&a).arg(&b).output().unwrap();
    assert_one_line_error(&o, &["b.json", "surprise"]);
}

#[test]
fn merge_validates_accumulators_and_names_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let a = shard(dir.path(), "a.json", 0, 2, &[]);
    let b = shard(dir.path(), "b.json", 1, 2, &[]);
    let saved = std::fs::read(&b).unwrap();
    let cases: Vec<(&str, Box<dyn Fn(&mut Value)>)> = vec![
        (
            "counts",
            Box::new(|v| {
                v["accumulator"]["counts"].as_array_mut().unwrap().pop();
            }),
        ),
        (
            "sums",
            Box::new(|v| {
                v["accumulator"]["obs_sums"]
                    .as_array_mut()
                    .unwrap()
                    .truncate(3);
            }),
        ),
        (
            "groups",
            Box::new(|v| v["accumulator"]["groups"] = 0.into()),
        ),
        (
            "pair",
            Box::new(|v| v["accumulator"]["pairs"] = serde_json::json!([[0, 99]])),
        ),
        ("networks", Box::new(|v| v["diverged"] = 7.into())),
    ];
    for (what, f) in cases {
        std::fs::write(&b, &saved).unwrap();
        edit(&b, |v| f(v));
        let o = bin().arg("merge").arg(&a).arg(&b).output().unwrap();
        assert_one_line_error(&o, &["b.json"]);
        let _ = what;
    }
}

#[test]
fn merge_refuses_shards_of_different_methods_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let a = shard(dir.path(), "a.json", 0, 2, &["--method", "dense"]);
    let b = shard(dir.path(), "b.json", 1, 2, &["--method", "matrix-free"]);
    let o = bin().arg("merge").arg(&a).arg(&b).output().unwrap();
    assert_one_line_error(&o, &["method", "a.json", "b.json"]);
    let c = shard(dir.path(), "c.json", 1, 2, &["--method", "dense"]);
    edit(&c, |v| v["backend"] = "gpu".into());
    let o = bin().arg("merge").arg(&a).arg(&c).output().unwrap();
    assert_one_line_error(&o, &["backend", "c.json"]);
}

#[test]
fn merged_incomplete_shards_report_their_range() {
    let dir = tempfile::tempdir().unwrap();
    let s0 = shard(dir.path(), "s0.json", 0, 3, &[]);
    let s1 = shard(dir.path(), "s1.json", 1, 3, &[]);
    let s2 = shard(dir.path(), "s2.json", 2, 3, &[]);
    // A gap: the result could not say which networks it holds.
    let o = bin().arg("merge").arg(&s0).arg(&s2).output().unwrap();
    assert_one_line_error(&o, &["100..200", "s0.json", "s2.json"]);
    let m12 = dir.path().join("m12.json");
    let o = bin()
        .arg("merge")
        .arg(&s1)
        .arg(&s2)
        .arg("--output")
        .arg(&m12)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&m12).unwrap()).unwrap();
    assert_eq!(
        v["shard"],
        serde_json::json!({"index": 1, "count": 3, "first": 100, "end": 300, "total": 300})
    );
    assert_eq!(v["networks"], 200);
    let all = dir.path().join("all.json");
    let o = bin()
        .arg("merge")
        .arg(&s0)
        .arg(&m12)
        .arg("--output")
        .arg(&all)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&std::fs::read(&all).unwrap()).unwrap();
    assert_eq!(
        v["shard"],
        serde_json::json!({"index": 0, "count": 1, "first": 0, "end": 300, "total": 300})
    );
}

#[test]
fn resume_refuses_a_checkpoint_without_format() {
    let dir = tempfile::tempdir().unwrap();
    let cp = killed_sweep(dir.path(), &["--output", "r.json"]);
    edit(&cp, |v| {
        v.as_object_mut().unwrap().remove("format");
    });
    let o = bin()
        .args(SWEEP)
        .args(["--output", "r.json", "--resume"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_one_line_error(&o, &["older randnet", "checkpoint"]);
}

// ---- 5. batch files ----

fn batch(dir: &Path, text: &str) -> Output {
    let toml = dir.join("batch.toml");
    std::fs::write(&toml, text).unwrap();
    run_within(
        {
            let mut c = bin();
            c.arg("run").arg(&toml);
            c
        },
        60,
    )
}

const JOB1: &str = "[[job]]\ncommand = \"sample\"\n[job.args]\nwidth = 8\ndepth = 2\nnetworks = 100\nformat = \"json\"\noutput = \"first.json\"\n\n";

#[test]
fn batch_refuses_malformed_args() {
    let dir = tempfile::tempdir().unwrap();
    let o = batch(
        dir.path(),
        &format!("{JOB1}[[job]]\ncommand = \"sample\"\nargs = \"--networks 5\"\n"),
    );
    assert_one_line_error(&o, &["args"]);
    let o = batch(
        dir.path(),
        &format!("{JOB1}[[job]]\ncommand = \"sample\"\nargs = [\"--networks\", 5]\n"),
    );
    assert_one_line_error(&o, &["args"]);
    assert!(!dir.path().join("first.json").exists());
    // An array of strings is the command line's own words.
    let o = batch(
        dir.path(),
        "[[job]]\ncommand = \"sample\"\nargs = [\"--width\", \"8\", \"--depth\", \"2\", \"--networks\", \"50\", \"--format\", \"json\"]\n",
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["networks"], 50);
}

#[test]
fn batch_refuses_unknown_keys() {
    let dir = tempfile::tempdir().unwrap();
    let o = batch(
        dir.path(),
        &format!("{JOB1}[[job]]\ncommand = \"sample\"\narg = 1\n"),
    );
    assert_one_line_error(&o, &["arg"]);
    let o = batch(dir.path(), &format!("jobs = 1\n{JOB1}"));
    assert_one_line_error(&o, &["jobs"]);
    let o = batch(dir.path(), &format!("format = 9\n{JOB1}"));
    assert_one_line_error(&o, &["format"]);
    assert!(!dir.path().join("first.json").exists());
    let o = batch(dir.path(), &format!("format = 1\n{JOB1}"));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn batch_checks_every_jobs_paths_before_the_first_runs() {
    let dir = tempfile::tempdir().unwrap();
    let o = batch(
        dir.path(),
        &format!("{JOB1}[[job]]\ncommand = \"sample\"\n[job.args]\noutput = \"nowhere/x.json\"\n"),
    );
    assert_one_line_error(&o, &["job 2", "--output", "does not exist"]);
    assert!(!dir.path().join("first.json").exists());
    // Two jobs writing one file.
    let o = batch(
        dir.path(),
        &format!("{JOB1}[[job]]\ncommand = \"sweep\"\n[job.args]\nwidths = \"8\"\ndepths = \"1\"\nnetworks = 50\noutput = \"first.json\"\n"),
    );
    assert_one_line_error(&o, &["job 1 --output", "job 2 --output"]);
    assert!(!dir.path().join("first.json").exists());
}

// ---- 6. sweep flags ----

#[test]
fn sweep_refuses_save_samples() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .args(SWEEP)
        .arg("--save-samples")
        .arg(dir.path().join("s.npy"))
        .output()
        .unwrap();
    assert_one_line_error(&o, &["--save-samples"]);
    assert!(listing(dir.path()).is_empty());
}

#[test]
fn sweep_table_is_a_table() {
    let mut args = s(SWEEP);
    let i = args.iter().position(|a| a == "json").unwrap();
    args[i] = "table".into();
    let o = bin().args(&args).output().unwrap();
    assert!(o.status.success());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!out.starts_with("width,depth,"), "CSV: {out}");
    assert!(out.contains("== width 8, depth 1"), "{out}");
    assert!(out.contains("== width 8, depth 2"), "{out}");
    assert!(
        out.contains("observable") && out.contains("estimate"),
        "{out}"
    );
}

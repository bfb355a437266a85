//! End-to-end tests of the "Safe long runs" issue: every bad flag, environment or input gives a
//! one-line error naming the problem, exit status 1 or 2, no panic or abort and no file written;
//! overflowing and underflowing networks are counted or refused instead of giving NaN or 0.

use std::path::Path;
use std::process::{Command, Output};

fn randnet_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_randnet"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run randnet")
}

fn randnet(args: &[&str]) -> Output {
    randnet_env(args, &[])
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "randnet failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

/// Runs `args --output DIR/out.json` and checks: exit 1 or 2, one line on stderr mentioning
/// `needle`, nothing written.
fn assert_clean_error_env(args: &[&str], env: &[(&str, &str)], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let of = dir.path().join("out.json").to_str().unwrap().to_string();
    let mut a: Vec<&str> = args.to_vec();
    if args[0] != "theory" && args[0] != "bench" {
        a.extend_from_slice(&["--output", &of]);
    }
    let o = randnet_env(&a, env);
    let err = String::from_utf8_lossy(&o.stderr);
    let code = o.status.code();
    assert!(
        matches!(code, Some(1) | Some(2)),
        "{args:?}: exit {code:?}: {err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: not one line: {err}"
    );
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "{args:?}: error '{err}' does not mention '{needle}'"
    );
    assert!(!Path::new(&of).exists(), "{args:?} wrote a file");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

fn assert_clean_error(args: &[&str], needle: &str) {
    assert_clean_error_env(args, &[], needle)
}

/// A clap parse error: exit 2, clap's whole report (message, usage), no panic, no file.
fn assert_clap_error(args: &[&str], needles: &[&str]) {
    let o = randnet(args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: '{err}' lacks '{n}'");
    }
}

const TINY: &[&str] = &[
    "--input-dim",
    "4",
    "--width",
    "8",
    "--depth",
    "3",
    "--networks",
    "50",
];

fn sample(extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = vec!["sample".into()];
    v.extend(TINY.iter().map(|s| s.to_string()));
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn nonfinite_or_negative_seconds_are_refused() {
    for bad in ["nan", "inf", "-1", "-0.5"] {
        assert_clap_error(
            &[
                "sweep",
                "--widths",
                "8",
                "--depths",
                "2",
                "--checkpoint-seconds",
                bad,
            ],
            &["--checkpoint-seconds", "seconds"],
        );
        assert_clap_error(&["bench", "--seconds", bad], &["--seconds"]);
    }
    assert_clap_error(&["bench", "--seconds", "0"], &["--seconds", "> 0"]);
}

#[test]
fn huge_sizes_are_refused_before_allocation() {
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["sample", "--depth", "1000000000000"], "--depth"),
        (
            vec!["sample", "--depth", "16000000", "--width", "100000"],
            "--width",
        ),
        (vec!["sample", "--inputs", "100000000000"], "--inputs"),
        (vec!["sample", "--inputs", "1000000"], "--inputs"),
        (
            vec!["sample", "--input-dim", "100000000000000"],
            "--input-dim",
        ),
        (vec!["sample", "--batch", "100000000000000"], "--batch"),
        (vec!["theory", "--inputs", "100000000000"], "--inputs"),
        (vec!["theory", "--depth", "1000000000000"], "--depth"),
        (
            vec!["sweep", "--widths", "100000", "--ratios", "1e9"],
            "--ratios",
        ),
        (
            vec!["sweep", "--widths", "8", "--depths", "100000000000"],
            "--depths",
        ),
    ];
    for (args, needle) in cases {
        assert_clean_error(&args, needle);
    }
}

#[test]
fn thread_counts_that_cannot_start_are_refused() {
    let owned = sample(&[]);
    let args = refs(&owned);
    assert_clean_error_env(
        &args,
        &[("RAYON_NUM_THREADS", "100000")],
        "RAYON_NUM_THREADS",
    );
    assert_clean_error_env(
        &args,
        &[("SLURM_CPUS_PER_TASK", "100000")],
        "SLURM_CPUS_PER_TASK",
    );
    assert_clean_error_env(&args, &[("RAYON_NUM_THREADS", "many")], "RAYON_NUM_THREADS");
}

/// SLURM_CPUS_PER_TASK sets the thread count when RAYON_NUM_THREADS is unset; estimates do not
/// depend on it.
#[test]
fn slurm_cpus_per_task_is_respected() {
    let owned = sample(&["--format", "json", "--backend", "cpu"]);
    let args = refs(&owned);
    let a = json(&randnet_env(&args, &[("SLURM_CPUS_PER_TASK", "3")]));
    let b = json(&randnet_env(&args, &[("RAYON_NUM_THREADS", "1")]));
    assert_eq!(a["observables"], b["observables"]);
    // The pool really has SLURM_CPUS_PER_TASK workers: a task with 3 CPUs runs 2 threads more
    // than one with 1 (whatever this machine's core count; before, both used every core).
    let t1 = running_threads(&[("SLURM_CPUS_PER_TASK", "1")]);
    let t3 = running_threads(&[("SLURM_CPUS_PER_TASK", "3")]);
    assert_eq!(t3, t1 + 2, "threads with 1 CPU: {t1}, with 3: {t3}");
}

/// Threads of a long `sample` run under `env`, read from /proc once the pool is busy.
fn running_threads(env: &[(&str, &str)]) -> usize {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_randnet"));
    c.args([
        "sample",
        "--width",
        "64",
        "--depth",
        "8",
        "--networks",
        "1000000000",
        "--backend",
        "cpu",
    ])
    .env_remove("RAYON_NUM_THREADS")
    .stdout(std::process::Stdio::null())
    .stderr(std::process::Stdio::null());
    for (k, v) in env {
        c.env(k, v);
    }
    let mut child = c.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("Threads in /proc status")
}

#[test]
fn silently_ignored_flags_are_errors() {
    assert_clean_error(
        &refs(&sample(&["--backend", "cpu", "--adapter", "nvidia"])),
        "--adapter",
    );
    assert_clean_error(
        &["sweep", "--widths", "8,64", "--ratios", "0.01"],
        "ratio 0.01 at width 8",
    );
}

/// clap's own report: "did you mean" and the possible values are not cut off.
#[test]
fn clap_errors_are_reported_in_full() {
    assert_clap_error(&["sample", "--widht", "8"], &["--width", "Usage"]);
    assert_clap_error(
        &["sample", "--backend", "tpu"],
        &["possible values", "cpu", "gpu"],
    );
}

#[test]
fn input_files_fifo_and_bom() {
    let dir = tempfile::tempdir().unwrap();
    let bom = dir.path().join("bom.csv");
    std::fs::write(&bom, "\u{feff}1,2,3\n4,5,6\n").unwrap();
    let out = randnet(&[
        "theory",
        "--input-file",
        bom.to_str().unwrap(),
        "--depth",
        "2",
        "--format",
        "json",
    ]);
    let v = json(&out);
    assert_eq!(v["spec"]["input_dim"], 3);
    let fifo = dir.path().join("fifo.csv");
    if Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
    {
        // Before the fix this blocked forever (Ctrl-C ignored): run it with a deadline.
        let mut child = Command::new(env!("CARGO_BIN_EXE_randnet"))
            .args(["sample", "--input-file", fifo.to_str().unwrap()])
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let t = std::time::Instant::now();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if t.elapsed().as_secs() > 20 {
                let _ = child.kill();
                panic!("randnet blocked on a FIFO input file");
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(1), "{err}");
        assert!(err.contains("not a regular file"), "{err}");
    }
}

/// Outputs around 1e60: finite, but their sixth powers overflow. Every network counts as
/// diverged, and a run where all diverge is an error with nothing written.
#[test]
fn sixth_power_overflow_counts_as_diverged() {
    // Linear, C_W = 1e4, L = 29: |output| ~ 1e60 in every network.
    let args = [
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
    ];
    assert_clean_error(&args, "diverged");
}

/// Outputs around 1e40: sixth powers finite (estimates kept), sums of order 7..12 overflow: the
/// JSON has no null, the diagnostics only make estimates unreliable, and merging works.
#[test]
fn high_order_overflow_keeps_estimates_and_merges() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for shard in ["0/2", "1/2"] {
        let f = dir.path().join(format!("s{}.json", &shard[..1]));
        let o = randnet(&[
            "sample",
            "--activation",
            "linear",
            "--cw",
            "1e4",
            "--depth",
            "19",
            "--width",
            "8",
            "--networks",
            "40",
            "--method",
            "dense",
            "--observe",
            "output",
            "--format",
            "json",
            "--shard",
            shard,
            "--output",
            f.to_str().unwrap(),
        ]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let text = std::fs::read_to_string(&f).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["diverged"], 0, "{text}");
        for stat in ["mean", "variance", "kappa4", "kappa6"] {
            assert!(
                v["observables"]["output[0]"][stat]["estimate"].is_number(),
                "{stat}"
            );
        }
        files.push(f.to_str().unwrap().to_string());
    }
    let mut args = vec!["merge"];
    args.extend(files.iter().map(String::as_str));
    let v = json(&randnet(&args));
    assert_eq!(v["networks"], 40);
}

/// Linear C_W = 1/2, L = 3000: every output underflows to exactly 0. Refused (and theory too),
/// not printed as 0 ± 0 with a kappa4 of "0 exact".
#[test]
fn underflow_to_zero_is_refused() {
    let args = [
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
    ];
    assert_clean_error(&args, "underflow");
    assert_clean_error(
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
    );
}

#[test]
fn theory_refuses_nonfinite_kernels() {
    assert_clean_error(&["theory", "--cw", "1e300"], "overflow");
}

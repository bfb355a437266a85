//! Sweeps, checkpoints, resume, shards and merge, end to end through the binary.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_randnet"))
}

const SWEEP: &[&str] = &[
    "sweep",
    "--widths",
    "48,64",
    "--depths",
    "6,12",
    "--networks",
    "4000",
    "--observe",
    "output,ntk,jacobian",
    "--method",
    "dense",
    "--format",
    "json",
    "--seed",
    "5",
    "--batch",
    "64",
];

fn sweep_args(out: &Path, extra: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = SWEEP.iter().map(|s| s.to_string()).collect();
    v.push("--output".into());
    v.push(out.display().to_string());
    v.extend(extra.iter().map(|s| s.to_string()));
    v
}

/// The estimates of every point (everything but timings).
fn estimates(path: &Path) -> Vec<Value> {
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v["points"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            serde_json::json!({
                "width": p["width"], "depth": p["depth"], "networks": p["networks"],
                "diverged": p["diverged"], "observables": p["observables"],
            })
        })
        .collect()
}

/// Starts a sweep, waits until it has checkpointed part of its work, stops it with `signal`,
/// then resumes it and checks the result equals an uninterrupted run exactly.
fn interrupt_and_resume(signal: &str) {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.json");
    let st = bin().args(sweep_args(&full, &[])).status().unwrap();
    assert!(st.success());

    let out = dir.path().join("cut.json");
    let cp = dir.path().join(".cut.json.randnet-checkpoint");
    let args = sweep_args(&out, &["--checkpoint-seconds", "0.05"]);
    let mut child = bin().args(&args).stderr(Stdio::piped()).spawn().unwrap();
    let start = Instant::now();
    while !cp.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(150));
    let killed = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(
        !status.success(),
        "the sweep finished before it could be stopped"
    );
    assert!(
        !out.exists(),
        "an interrupted sweep must not write its result"
    );
    assert!(cp.exists(), "no checkpoint after {signal}");
    if signal != "-KILL" {
        let mut err = String::new();
        use std::io::Read;
        child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut err)
            .unwrap();
        assert!(err.contains("--resume"), "Ctrl-C message: {err}");
    }
    let mut resume = args.clone();
    resume.push("--resume".into());
    let st = bin().args(&resume).status().unwrap();
    assert!(st.success());
    assert_eq!(
        estimates(&full),
        estimates(&out),
        "resumed sweep differs ({signal})"
    );
    assert!(
        !cp.exists(),
        "the checkpoint is removed once the result is written"
    );
}

#[test]
fn sweep_killed_with_sigkill_resumes_exactly() {
    interrupt_and_resume("-KILL");
}

#[test]
fn sweep_interrupted_with_sigint_resumes_exactly() {
    interrupt_and_resume("-INT");
}

/// Slurm's scancel and time limit, `timeout` and `kill` send SIGTERM; a closed terminal sends
/// SIGHUP: both save the checkpoint like Ctrl-C.
#[test]
fn sweep_terminated_with_sigterm_resumes_exactly() {
    interrupt_and_resume("-TERM");
}

#[test]
fn sweep_hung_up_with_sighup_resumes_exactly() {
    interrupt_and_resume("-HUP");
}

#[test]
fn resume_refuses_a_different_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.json");
    let cp = dir.path().join(".a.json.randnet-checkpoint");
    std::fs::write(&cp, b"{\"key\": 1}").unwrap();
    let o = bin()
        .args(sweep_args(&out, &["--resume"]))
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("checkpoint"), "{err}");
}

/// Three shards merged equal one run of all networks: the accumulators are exact power sums, so
/// only the order of additions differs (tolerances in the loop below; docs/cluster.md).
#[test]
fn merged_shards_equal_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "sample",
        "--width",
        "16",
        "--depth",
        "4",
        "--networks",
        "3001",
        "--inputs",
        "3",
        "--observe",
        "output,ntk,sqnorm",
        "--format",
        "json",
        "--seed",
        "9",
    ];
    let run = |extra: &[&str], out: &Path| {
        let st = bin()
            .args(base)
            .args(extra)
            .arg("--output")
            .arg(out)
            .status()
            .unwrap();
        assert!(st.success());
    };
    let whole = dir.path().join("whole.json");
    run(&[], &whole);
    let mut shards = Vec::new();
    for i in 0..3 {
        let p = dir.path().join(format!("s{i}.json"));
        run(&["--shard", &format!("{i}/3")], &p);
        shards.push(p);
    }
    let merged = dir.path().join("merged.json");
    let st = bin()
        .arg("merge")
        .args(&shards)
        .arg("--output")
        .arg(&merged)
        .status()
        .unwrap();
    assert!(st.success());
    let a: Value = serde_json::from_slice(&std::fs::read(&whole).unwrap()).unwrap();
    let b: Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    assert_eq!(a["networks"], b["networks"]);
    let mut compared = 0;
    for (name, stats) in a["observables"].as_object().unwrap() {
        for (stat, e) in stats.as_object().unwrap() {
            // Rounding scale: an estimate near 0 (a mean of a symmetric output) is a sum of
            // terms of size stderr·√N that cancel, so its rounding is relative to that; a
            // jackknife stderr is a spread of nearly equal replicates, hence 1e-11.
            let n = a["networks"].as_f64().unwrap();
            let se = e["stderr"].as_f64().unwrap();
            for (field, tol) in [("estimate", 1e-12), ("stderr", 1e-11)] {
                let x = e[field].as_f64().unwrap();
                let y = b["observables"][name][stat][field].as_f64().unwrap();
                let scale = if field == "estimate" {
                    x.abs().max(y.abs()).max(se * n.sqrt())
                } else {
                    x.abs().max(y.abs())
                };
                assert!(
                    (x - y).abs() <= tol * scale + 1e-300,
                    "{name} {stat} {field}: {x} vs {y}"
                );
                compared += 1;
            }
        }
    }
    assert!(compared > 100);

    // A shard of another spec is refused.
    let other = dir.path().join("other.json");
    let st = bin()
        .args(base)
        .args(["--shard", "1/3", "--cb", "0.1", "--output"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(st.success());
    let o = bin()
        .arg("merge")
        .arg(&shards[0])
        .arg(&other)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("different specs"));
}

#[test]
fn sweep_csv_is_tidy_and_plots() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("s.csv");
    let png = dir.path().join("s.png");
    let st = bin()
        .args([
            "sweep",
            "--widths",
            "8,16",
            "--ratios",
            "0.25,0.5",
            "--networks",
            "500",
            "--format",
            "csv",
            "--output",
        ])
        .arg(&csv)
        .arg("--plot")
        .arg(&png)
        .status()
        .unwrap();
    assert!(st.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    let header = text.lines().next().unwrap();
    for col in [
        "width",
        "depth",
        "depth_over_width",
        "observable",
        "statistic",
        "estimate",
        "stderr",
        "theory",
        "z",
    ] {
        assert!(header.split(',').any(|c| c == col), "missing column {col}");
    }
    // widths 8, 16 at ratios 1/4, 1/2 -> depths 2, 4 and 4, 8.
    for (w, l) in [(8, 2), (8, 4), (16, 4), (16, 8)] {
        assert!(text.contains(&format!("\n{w},{l},")), "no point {w},{l}");
    }
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..4], b"\x89PNG");
}

/// `randnet run FILE.toml`: every job runs with its flags, paths relative to the batch file; a
/// bad job is reported (one line, non-zero exit) before any job runs.
#[test]
fn batch_file_runs_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("batch.toml");
    std::fs::write(
        &toml,
        r#"
[[job]]
name = "small sample"
command = "sample"
[job.args]
width = 8
depth = 2
networks = 200
format = "json"
output = "sample.json"

[[job]]
command = "sweep"
[job.args]
widths = "8"
depths = "1,2"
networks = 200
format = "csv"
output = "sweep.csv"
plot = "sweep.svg"
plot-stat = ["output[0]:variance", "output[0]:mean"]
"#,
    )
    .unwrap();
    let st = bin().arg("run").arg(&toml).status().unwrap();
    assert!(st.success());
    let v: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("sample.json")).unwrap()).unwrap();
    assert_eq!(v["networks"], 200);
    assert!(std::fs::read_to_string(dir.path().join("sweep.csv"))
        .unwrap()
        .contains("\n8,2,"));
    assert!(std::fs::read_to_string(dir.path().join("sweep.svg"))
        .unwrap()
        .contains("<svg"));

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[job]]\ncommand = \"sample\"\n[job.args]\nnetworks = 10\noutput = \"first.json\"\n\n[[job]]\ncommand = \"sample\"\n[job.args]\nactivation = 3\nbogus-flag = 1\n",
    )
    .unwrap();
    let o = bin().arg("run").arg(&bad).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        !dir.path().join("first.json").exists(),
        "a job ran before the bad one was reported"
    );
}

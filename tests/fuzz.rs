//! Property-based fault injection (proptest): random flag values, random bytes as input files,
//! checkpoints, shards and batch files, and mutated valid shards, thrown at the binary. Whatever
//! it is given, randnet must exit 0, 1 (its own one-line error) or 2 (a usage error from the
//! argument parser), never panic (101) or abort (134); on failure its own error is one line; and
//! it leaves no file behind but a requested, finished output.

use proptest::prelude::*;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn run_in(dir: &Path, args: &[String]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args(args)
        .current_dir(dir)
        .env("RAYON_NUM_THREADS", "1")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn randnet");
    // A generous wall-clock guard: every case here is tiny, so a run this long is a hang.
    let start = std::time::Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("randnet {args:?} ran over 60 s");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

/// The contract every run must keep. `allowed` are the files that may exist afterwards
/// (inputs the test wrote, and outputs the run was asked for — only if it succeeded).
fn check(dir: &Path, args: &[String], out: &Output, inputs: &[&str], outputs: &[&str]) {
    let code = out.status.code();
    assert!(
        matches!(code, Some(0) | Some(1) | Some(2)),
        "randnet {args:?} exited {code:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    if code == Some(1) {
        let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "randnet {args:?}: not one line:\n{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let ok = inputs.contains(&name.as_str())
            || (code == Some(0) && outputs.contains(&name.as_str()));
        assert!(ok, "randnet {args:?} (exit {code:?}) left {name:?} behind");
    }
}

/// Values a user might type, valid and not.
fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("0".to_string()),
        Just("-1".to_string()),
        Just("1".to_string()),
        Just("2".to_string()),
        Just("3".to_string()),
        Just("NaN".to_string()),
        Just("inf".to_string()),
        Just("-inf".to_string()),
        Just("1e308".to_string()),
        Just("1e-320".to_string()),
        Just("".to_string()),
        Just("18446744073709551616".to_string()),
        Just("4294967296".to_string()),
        Just("0.5".to_string()),
        Just("abc".to_string()),
        Just("relu".to_string()),
        Just("tanh".to_string()),
        Just("leaky-relu:x".to_string()),
        Just("1,2".to_string()),
        Just("0/0".to_string()),
        Just("3/2".to_string()),
        Just("٣".to_string()),
        "[ -~]{0,6}",
    ]
}

const FLAGS: &[&str] = &[
    "--input-dim",
    "--width",
    "--depth",
    "--widths",
    "--output-dim",
    "--activation",
    "--cw",
    "--cb",
    "--parameterization",
    "--residual",
    "--weights",
    "--inputs",
    "--angle",
    "--seed",
    "--backend",
    "--method",
    "--format",
    "--shard",
    "--batch",
    "--observe",
    "--curve",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random values for random flags of `sample` (a small run: at most 20 networks).
    #[test]
    fn random_flags(picks in proptest::collection::vec((0..FLAGS.len(), value()), 1..5)) {
        let dir = tempfile::tempdir().unwrap();
        let mut args: Vec<String> = vec!["sample".into(), "--networks".into(), "20".into(), "--width".into(), "4".into(), "--depth".into(), "2".into(), "--output".into(), "out.json".into(), "--backend".into(), "cpu".into()];
        for (f, v) in &picks {
            args.push(FLAGS[*f].to_string());
            args.push(v.clone());
        }
        let out = run_in(dir.path(), &args);
        check(dir.path(), &args, &out, &[], &["out.json"]);
    }

    /// Random bytes (and near-CSV text) as an input file.
    #[test]
    fn random_input_files(bytes in prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..300),
        "[0-9eE+\\-., \\n\\r\\t;a-z]{0,200}".prop_map(|s| s.into_bytes()),
    ]) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.csv"), &bytes).unwrap();
        let args: Vec<String> = ["sample", "--input-file", "x.csv", "--networks", "10", "--width", "4", "--depth", "2", "--backend", "cpu", "--output", "out.json"].iter().map(|s| s.to_string()).collect();
        let out = run_in(dir.path(), &args);
        check(dir.path(), &args, &out, &["x.csv"], &["out.json"]);
    }

    /// Random bytes as shards for `merge`, and as a batch file for `run`.
    #[test]
    fn random_shards_and_batch_files(a in proptest::collection::vec(any::<u8>(), 0..400), b in "[ -~\\n]{0,300}") {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.json"), &a).unwrap();
        std::fs::write(dir.path().join("b.json"), b.as_bytes()).unwrap();
        std::fs::write(dir.path().join("job.toml"), b.as_bytes()).unwrap();
        let args: Vec<String> = ["merge", "a.json", "b.json", "--output", "m.json"].iter().map(|s| s.to_string()).collect();
        let out = run_in(dir.path(), &args);
        check(dir.path(), &args, &out, &["a.json", "b.json", "job.toml"], &["m.json"]);
        let args: Vec<String> = ["run", "job.toml"].iter().map(|s| s.to_string()).collect();
        let out = run_in(dir.path(), &args);
        // A random batch file that happens to parse may name outputs; none is allowed to stay
        // unless the run succeeded, and then we do not know their names: accept success only
        // with no new files (such a file has no jobs).
        check(dir.path(), &args, &out, &["a.json", "b.json", "job.toml"], &[]);
    }
}

/// A valid shard, then every number in it changed in turn to a hostile value: merge must refuse
/// or succeed cleanly, never panic on an inconsistent accumulator.
#[test]
fn mutated_shards_are_validated() {
    let dir = tempfile::tempdir().unwrap();
    let base: Vec<String> = [
        "sample",
        "--networks",
        "40",
        "--width",
        "4",
        "--depth",
        "2",
        "--inputs",
        "2",
        "--backend",
        "cpu",
        "--format",
        "json",
        "--shard",
        "0/2",
        "--output",
        "s0.json",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let out = run_in(dir.path(), &base);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(dir.path().join("s0.json")).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mut paths = Vec::new();
    collect_paths(&v, &mut Vec::new(), &mut paths);
    // Every accumulator field and a sample of the rest (the report's estimates are rewritten).
    let hostile = [
        serde_json::json!(-1),
        serde_json::json!(1e308),
        serde_json::json!(0),
        serde_json::json!("x"),
        serde_json::json!(null),
        serde_json::json!([]),
        serde_json::json!(18446744073709551615u64),
    ];
    let mut cases = 0;
    for (i, p) in paths.iter().enumerate() {
        let in_acc = p.first().map(|s| s == "accumulator").unwrap_or(false);
        if !in_acc && i % 7 != 0 {
            continue;
        }
        let h = &hostile[i % hostile.len()];
        let mut m = v.clone();
        set_path(&mut m, p, h.clone());
        std::fs::write(dir.path().join("bad.json"), serde_json::to_vec(&m).unwrap()).unwrap();
        let args: Vec<String> = ["merge", "s0.json", "bad.json", "--output", "m.json"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = run_in(dir.path(), &args);
        check(
            dir.path(),
            &args,
            &out,
            &["s0.json", "bad.json"],
            &["m.json"],
        );
        let _ = std::fs::remove_file(dir.path().join("m.json"));
        cases += 1;
        if cases > 150 {
            break;
        }
    }
    assert!(cases > 20);
}

fn collect_paths(v: &serde_json::Value, here: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match v {
        serde_json::Value::Object(o) => {
            for (k, x) in o {
                here.push(k.clone());
                collect_paths(x, here, out);
                here.pop();
            }
        }
        serde_json::Value::Array(a) => {
            // Arrays: their first and last element, and the array itself (its length).
            out.push(here.clone());
            for i in [0, a.len().saturating_sub(1)] {
                if i < a.len() {
                    here.push(i.to_string());
                    collect_paths(&a[i], here, out);
                    here.pop();
                }
            }
        }
        _ => out.push(here.clone()),
    }
}

fn set_path(v: &mut serde_json::Value, path: &[String], x: serde_json::Value) {
    let mut cur = v;
    for k in path {
        cur = match cur {
            serde_json::Value::Object(o) => o.get_mut(k).unwrap(),
            serde_json::Value::Array(a) => &mut a[k.parse::<usize>().unwrap()],
            _ => unreachable!(),
        };
    }
    *cur = x;
}

//! End-to-end tests of the `randnet` binary: output shapes, determinism across threads and
//! batches, and bad input — a one-line error, a non-zero exit, no panic, no file.

use std::path::Path;
use std::process::{Command, Output};

fn randnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args(args)
        .output()
        .expect("run randnet")
}

fn randnet_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(env!("CARGO_BIN_EXE_randnet"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run randnet")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "randnet failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

const SMALL: &[&str] = &[
    "sample",
    "--input-dim",
    "4",
    "--width",
    "8",
    "--depth",
    "3",
    "--networks",
    "500",
    "--seed",
    "7",
];

fn with<'a>(extra: &[&'a str]) -> Vec<&'a str> {
    let mut v: Vec<&str> = SMALL.to_vec();
    v.extend_from_slice(extra);
    v
}

#[test]
fn json_has_the_design_shape() {
    let v = json(&randnet(&with(&[
        "--format",
        "json",
        "--observe",
        "output,ntk,sqnorm,jacobian",
    ])));
    assert_eq!(v["networks"], 500);
    assert_eq!(v["diverged"], 0);
    assert_eq!(v["backend"], "cpu");
    assert_eq!(v["method"], "dense");
    assert!(v["seconds"].as_f64().unwrap() >= 0.0);
    let obs = v["observables"].as_object().unwrap();
    for name in [
        "output[0]",
        "output[1]",
        "ntk[0,0]",
        "ntk[0,1]",
        "ntk[1,1]",
        "sqnorm[1,0]",
        "sqnorm[4,1]",
        "jacobian_norm[0]",
    ] {
        let o = &obs[name];
        for stat in [
            "mean",
            "variance",
            "kappa3",
            "kappa4",
            "kappa6",
            "excess_kurtosis",
        ] {
            assert!(o[stat]["estimate"].is_number(), "{name} {stat}");
            assert!(o[stat]["stderr"].is_number(), "{name} {stat}");
        }
    }
    assert!(obs["output[0,1]"]["joint_kappa4"]["estimate"].is_number());
    // The mean output is exactly 0 for any net (symmetric readout weights): theory is shown.
    assert_eq!(obs["output[0]"]["mean"]["theory"], 0.0);
    assert!(obs["output[0]"]["mean"]["z"].is_number());
}

#[test]
fn csv_and_table_formats() {
    let out = randnet(&with(&["--format", "csv"]));
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(header.starts_with(
        "observable,statistic,estimate,stderr,reliable,effective_networks,theory,theory_kind,z,gap,relative_gap,law_stderr,n0,width,depth,depth_over_width"
    ));
    let cols = header.split(',').count();
    let rows: Vec<&str> = lines.collect();
    assert!(rows.len() >= 6 * 5);
    for r in &rows {
        // ntk[0,1] contains a comma and is quoted.
        let unquoted = if r.starts_with('"') {
            r.splitn(2, "\",").nth(1).unwrap().to_string()
        } else {
            r.splitn(2, ',').nth(1).unwrap().to_string()
        };
        assert_eq!(unquoted.split(',').count() + 1, cols, "{r}");
    }
    let out = randnet(&with(&[]));
    assert!(out.status.success());
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("ntk[0,1]") && table.contains("excess_kurtosis"));
}

/// Same seed: identical estimates with 1 or 2 threads and any batch size (values compared as
/// JSON text, i.e. bitwise up to float printing, which is exact for f64 round-trips).
#[test]
fn estimates_do_not_depend_on_threads_or_batches() {
    let args = with(&["--format", "json", "--observe", "output,ntk,jacobian"]);
    let obs = |o: &Output| json(o)["observables"].clone();
    let one = obs(&randnet_env(&args, &[("RAYON_NUM_THREADS", "1")]));
    let two = obs(&randnet_env(&args, &[("RAYON_NUM_THREADS", "2")]));
    assert_eq!(one, two);
    let mut b7 = args.clone();
    b7.extend_from_slice(&["--batch", "7"]);
    assert_eq!(one, obs(&randnet(&b7)));
    let mut b1 = args.clone();
    b1.extend_from_slice(&["--batch", "1"]);
    assert_eq!(one, obs(&randnet_env(&b1, &[("RAYON_NUM_THREADS", "2")])));
}

#[test]
fn output_file_and_samples_are_written() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let npy = dir.path().join("s.npy");
    let o = randnet(&with(&[
        "--format",
        "json",
        "--output",
        out.to_str().unwrap(),
        "--save-samples",
        npy.to_str().unwrap(),
    ]));
    assert!(o.status.success());
    assert!(o.stdout.is_empty());
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    assert_eq!(v["networks"], 500);
    let bytes = std::fs::read(&npy).unwrap();
    assert_eq!(&bytes[..6], b"\x93NUMPY");
    let hlen = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    assert_eq!((10 + hlen) % 64, 0);
    let header = std::str::from_utf8(&bytes[10..10 + hlen]).unwrap();
    assert!(header.contains("('output[0]', '<f8')") && header.contains("'shape': (500,)"));
    // output[0], output[1], ntk[0,0], ntk[0,1], ntk[1,1]: 5 fields of 8 bytes per network.
    assert_eq!(bytes.len() - 10 - hlen, 500 * 5 * 8);
    // The mean of the saved output[0] column equals the reported mean.
    let vals: Vec<f64> = bytes[10 + hlen..]
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect();
    let mean: f64 = vals.chunks_exact(5).map(|r| r[0]).sum::<f64>() / 500.0;
    let reported = v["observables"]["output[0]"]["mean"]["estimate"]
        .as_f64()
        .unwrap();
    assert!((mean - reported).abs() <= 1e-12 * (1.0 + mean.abs()));
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 2, "temporary files left: {leftovers:?}");
}

#[test]
fn angle_and_input_file() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("x.csv");
    std::fs::write(&csv, "# two inputs\n1,0,0\n0,1,0\n0,0,1\n").unwrap();
    let v = json(&randnet(&[
        "sample",
        "--input-file",
        csv.to_str().unwrap(),
        "--width",
        "8",
        "--depth",
        "2",
        "--networks",
        "200",
        "--format",
        "json",
    ]));
    assert_eq!(v["spec"]["input_dim"], 3);
    assert!(v["observables"]["ntk[2,2]"].is_object());
    let v = json(&randnet(&with(&["--angle", "0.5", "--format", "json"])));
    let x = v["inputs"].as_array().unwrap();
    assert_eq!(x.len(), 2);
}

fn assert_clean_error(args: &[&str], needle: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out.json");
    let mut a: Vec<&str> = args.to_vec();
    let of = out_file.to_str().unwrap().to_string();
    a.push("--output");
    a.push(&of);
    let o = randnet(&a);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{args:?} succeeded");
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    // Parse errors are clap's full report (exit 2: message, hints, usage); randnet's own errors
    // are one line.
    let clap_report = o.status.code() == Some(2);
    if !clap_report {
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "{args:?}: not one line: {err}"
        );
    }
    assert!(
        err.to_lowercase().contains(&needle.to_lowercase()),
        "{args:?}: error '{err}' does not mention '{needle}'"
    );
    assert!(!Path::new(&out_file).exists(), "{args:?} wrote a file");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn bad_input_gives_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let ragged = write("ragged.csv", "1,2,3\n4,5\n");
    let empty = write("empty.csv", "\n# nothing\n");
    let nan = write("nan.csv", "1,2\nnan,3\n");
    let text = write("text.csv", "1,2\nx,3\n");
    let good = write("good.csv", "1,2,3\n4,5,6\n");
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["sample", "--width", "0"], "--width"),
        (vec!["sample", "--width", "-3"], "--width"),
        (vec!["sample", "--input-dim", "0"], "--input-dim"),
        (vec!["sample", "--output-dim", "0"], "--output-dim"),
        (vec!["sample", "--widths", "8,0,8"], "--widths"),
        (vec!["sample", "--networks", "0"], "--networks"),
        (vec!["sample", "--inputs", "0"], "--inputs"),
        (vec!["sample", "--cw", "-1"], "--cw"),
        (vec!["sample", "--cw", "nan"], "--cw"),
        (vec!["sample", "--cb", "-0.5"], "--cb"),
        (vec!["sample", "--cb", "NaN"], "--cb"),
        (vec!["sample", "--activation", "softplus"], "activation"),
        (vec!["sample", "--activation", "leaky-relu"], "leaky-relu"),
        (vec!["sample", "--observe", "output,hessian"], "observable"),
        (vec!["sample", "--format", "xml"], "--format"),
        (vec!["sample", "--backend", "tpu"], "--backend"),
        (
            vec!["sample", "--parameterization", "completep"],
            "parameterization",
        ),
        (vec!["sample", "--weights", "cauchy"], "weight law"),
        (vec!["sample", "--residual", "sometimes"], "residual"),
        (vec!["sample", "--angle", "nan"], "--angle"),
        (
            vec!["sample", "--input-file", "/nonexistent/x.csv"],
            "cannot read",
        ),
        (vec!["sample", "--input-file", &ragged], "ragged"),
        (vec!["sample", "--input-file", &empty], "no rows"),
        (vec!["sample", "--input-file", &nan], "finite"),
        (vec!["sample", "--input-file", &text], "not a number"),
        (
            vec!["sample", "--input-file", &good, "--input-dim", "5"],
            "--input-dim",
        ),
        (
            vec!["sample", "--width", "2000000000", "--depth", "4"],
            "memory",
        ),
        (vec!["sample", "--width", "4000000000"], "width"),
    ];
    for (args, needle) in cases {
        assert_clean_error(&args, needle);
    }
}

/// `--backend gpu` (lavapipe in CI) draws the same networks as the CPU: estimates agree to f32
/// rounding (1e-4 relative of each statistic's scale: per-network values agree to ~1e-5, see
/// docs/gpu.md, and the estimators are smooth functions of them).
#[test]
fn gpu_backend_matches_cpu() {
    let args = with(&[
        "--format",
        "json",
        "--observe",
        "output,ntk,jacobian",
        "--inputs",
        "3",
    ]);
    let mut gpu_args = args.clone();
    gpu_args.extend_from_slice(&["--backend", "gpu"]);
    let g = randnet(&gpu_args);
    if !g.status.success() {
        let err = String::from_utf8_lossy(&g.stderr);
        assert!(err.contains("no GPU adapter"), "unexpected failure: {err}");
        eprintln!("SKIP: no GPU adapter on this machine");
        return;
    }
    let g = json(&g);
    let mut cpu_args = args.clone();
    cpu_args.extend_from_slice(&["--backend", "cpu"]);
    let c = json(&randnet(&cpu_args));
    assert_eq!(g["backend"], "gpu");
    assert!(g["adapter"].is_string());
    assert_eq!(c["backend"], "cpu");
    let (go, co) = (g["observables"].as_object().unwrap(), &c["observables"]);
    for (name, stats) in go {
        for (stat, e) in stats.as_object().unwrap() {
            let a = e["estimate"].as_f64().unwrap();
            let b = co[name][stat]["estimate"].as_f64().unwrap();
            let scale = co[name]["variance"]["estimate"]
                .as_f64()
                .map(|v| v.sqrt())
                .unwrap_or(1.0)
                .max(b.abs());
            let tol = if stat == "mean" || stat == "variance" {
                1e-4
            } else {
                1e-3
            };
            assert!(
                (a - b).abs() <= tol * scale.max(1e-12) + 1e-9,
                "{name} {stat}: gpu {a} cpu {b}"
            );
        }
    }
}

#[test]
fn unknown_adapter_is_a_clean_error() {
    assert_clean_error(
        &[
            "sample",
            "--backend",
            "gpu",
            "--adapter",
            "no-such-gpu-xyz",
            "--networks",
            "5",
        ],
        "no-such-gpu-xyz",
    );
}

/// `--backend gpu --method matrix-free` draws the same networks as the CPU matrix-free engine
/// (same stream, f32 vs f64): estimates agree to 1e-4 of each statistic's scale on a tanh net
/// (no exact-zero derivatives, so both engines see the same ranks and live rows; docs/gpu.md).
/// Plain, and residual with Jacobian norms (the planner offers the GPU engine for both), both
/// with sqnorm.
#[test]
fn gpu_matrix_free_matches_cpu_matrix_free() {
    gpu_matrix_free_case(&["--observe", "output,ntk,sqnorm"]);
    gpu_matrix_free_case(&[
        "--observe",
        "output,ntk,sqnorm,jacobian",
        "--residual",
        "invsqrt-depth",
    ]);
}

fn gpu_matrix_free_case(extra: &[&str]) {
    let base = [
        "sample",
        "--input-dim",
        "6",
        "--width",
        "37",
        "--depth",
        "4",
        "--activation",
        "tanh",
        "--cb",
        "0.1",
        "--inputs",
        "3",
        "--networks",
        "1500",
        "--method",
        "matrix-free",
        "--format",
        "json",
        "--seed",
        "4",
    ];
    let g = randnet(&[&base[..], extra, &["--backend", "gpu"]].concat());
    if !g.status.success() {
        let err = String::from_utf8_lossy(&g.stderr);
        assert!(err.contains("no GPU adapter"), "unexpected failure: {err}");
        eprintln!("SKIP: no GPU adapter on this machine");
        return;
    }
    let g = json(&g);
    let c = json(&randnet(
        &[&base[..], extra, &["--backend", "cpu"]].concat(),
    ));
    assert_eq!(
        (g["backend"].as_str(), g["method"].as_str()),
        (Some("gpu"), Some("matrix-free"))
    );
    for (name, stats) in g["observables"].as_object().unwrap() {
        for stat in ["mean", "variance"] {
            let Some(e) = stats.get(stat) else { continue };
            let a = e["estimate"].as_f64().unwrap();
            let b = c["observables"][name][stat]["estimate"].as_f64().unwrap();
            let sd = c["observables"][name]["variance"]["estimate"]
                .as_f64()
                .unwrap()
                .sqrt();
            assert!(
                (a - b).abs() <= 1e-4 * sd.max(b.abs()),
                "{name} {stat}: gpu {a} cpu {b}"
            );
        }
    }
}

/// Networks whose values overflow are counted in `diverged` and kept out of the estimates.
#[test]
fn overflowing_networks_are_counted_as_diverged() {
    // Linear, C_W = 1e4, L = 120: |output|^2 ~ 1e4^121 overflows f64 in every network.
    // Nothing left to estimate: a one-line error naming the divergence, nothing written.
    assert_clean_error(
        &[
            "sample",
            "--activation",
            "linear",
            "--cw",
            "1e4",
            "--depth",
            "120",
            "--width",
            "8",
            "--networks",
            "40",
            "--format",
            "json",
            "--method",
            "dense",
        ],
        "every one of the 40 networks diverged",
    );
    // ReLU at the same scale: dead layers give exact zeros (finite), the rest overflow.
    let v = json(&randnet(&[
        "sample",
        "--cw",
        "1e4",
        "--depth",
        "120",
        "--width",
        "8",
        "--networks",
        "40",
        "--format",
        "json",
        "--method",
        "dense",
    ]));
    let d = v["diverged"].as_u64().unwrap();
    assert!(d > 0 && d < 40, "diverged {d}");
}

/// The README's first command, as a verdict: no |z| > 4 on an estimate marked reliable, no z
/// against a prediction that is not exact (a gap instead), a `reliable` flag and a `why` on every
/// unreliable statistic, and a table whose every row has the same columns.
#[test]
fn readme_command_gives_honest_verdicts() {
    let args = [
        "sample",
        "--width",
        "256",
        "--depth",
        "32",
        "--networks",
        "2000",
        "--observe",
        "output,ntk",
    ];
    let mut j = args.to_vec();
    j.extend(["--format", "json"]);
    let v = json(&randnet(&j));
    let mut unreliable = 0;
    let mut gaps = 0;
    for (name, stats) in v["observables"].as_object().unwrap() {
        for (stat, e) in stats.as_object().unwrap() {
            let reliable = e["reliable"].as_bool().expect("reliable flag");
            if !reliable {
                unreliable += 1;
                assert!(e["why"].is_string(), "{name} {stat}: no why");
            }
            let kind = e["theory_kind"].as_str();
            if kind.is_some() && kind != Some("exact") {
                assert!(e.get("z").is_none(), "{name} {stat}: z against {kind:?}");
                assert!(e["gap"].is_number(), "{name} {stat}: no gap");
                gaps += 1;
            }
            if let Some(z) = e.get("z").and_then(|z| z.as_f64()) {
                assert_eq!(kind, Some("exact"));
                if reliable {
                    assert!(z.abs() <= 4.0, "{name} {stat}: reliable with z = {z}");
                }
            }
        }
    }
    // At M = 2000 the kurtosis and kappa6 of these heavy-tailed outputs cannot be judged.
    assert!(unreliable > 0 && gaps > 0);
    assert_eq!(v["observables"]["output[0]"]["kappa6"]["reliable"], false);
    // The table: one header, rows of equal shape; unreliable z is withheld, not printed.
    let out = randnet(&args);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("z withheld"));
    let header = text.lines().find(|l| l.starts_with("observable")).unwrap();
    let kind_col = header.find("kind").unwrap();
    for line in text
        .lines()
        .filter(|l| l.starts_with("output[") || l.starts_with("ntk["))
    {
        // Columns stay aligned: the kind column starts at the same offset on every row.
        let kinds = ["exact", "infinite-width", "leading-order", "bound"];
        if kinds.iter().any(|k| line.contains(k)) {
            assert!(
                kinds.iter().any(|k| line[kind_col..].starts_with(k)),
                "misaligned row: {line}"
            );
        }
    }
}

/// Values far outside any fixed-point range print in scientific notation with a fixed number
/// of digits: a deep narrow net (|z| of order 1e39 before) keeps the table's columns.
#[test]
fn huge_values_keep_the_table_columns() {
    let out = randnet(&[
        "sample",
        "--width",
        "8",
        "--depth",
        "64",
        "--networks",
        "2000",
        "--observe",
        "output",
        "--inputs",
        "1",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for line in text.lines().filter(|l| l.starts_with("output[")) {
        for cell in line.split_whitespace().filter(|c| c.parse::<f64>().is_ok()) {
            assert!(cell.len() <= 11, "number {cell:?} too wide in {line}");
        }
    }
}

/// SIGTERM (scancel, a Slurm time limit, `timeout`, `kill`) saves the finished networks like
/// Ctrl-C: the output file holds the estimates of what was drawn, the exit is non-zero, and no
/// temporary file is left behind.
#[test]
fn sigterm_writes_the_finished_networks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cut.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args([
            "sample",
            "--width",
            "64",
            "--depth",
            "8",
            "--networks",
            "1000000000",
            "--format",
            "json",
            "--output",
        ])
        .arg(&out)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(!status.success(), "an interrupted run must fail");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let n = v["networks"].as_u64().unwrap();
    assert!(n > 0 && n < 1_000_000_000, "networks {n}");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "cut.json")
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// A reader that closes the pipe early (`randnet sample ... | head -1`) ends randnet quietly:
/// no panic message, no backtrace, even with RUST_BACKTRACE set.
#[test]
fn a_closed_pipe_ends_quietly() {
    use std::process::{Command, Stdio};
    let mut child = Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args([
            "sample",
            "--width",
            "8",
            "--depth",
            "2",
            "--networks",
            "200",
            "--format",
            "json",
        ])
        .env("RUST_BACKTRACE", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run randnet");
    // Close the read end before randnet prints anything.
    drop(child.stdout.take());
    let out = child.wait_with_output().expect("wait for randnet");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    assert!(!out.status.success());
}

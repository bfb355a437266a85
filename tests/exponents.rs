//! `randnet sweep --fit-exponents`: the coordinate check's exponents and verdicts on cases whose
//! scaling is known.

mod common;

fn sweep_json(extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "sweep",
        "--widths",
        "32,64,128,256",
        "--depths",
        "2",
        "--inputs",
        "1",
        "--step-lr",
        "0.01",
        "--networks",
        "3000",
        "--seed",
        "2",
        "--fit-exponents",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    common::json(&args)
}

fn exponent<'a>(j: &'a serde_json::Value, against: &str, obs: &str) -> &'a serde_json::Value {
    j["exponents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["against"] == against && e["observable"] == obs)
        .unwrap_or_else(|| panic!("no {against} exponent of {obs}"))
}

/// In the `ntk` parameterization a net is lazy: one step moves each feature coordinate by
/// O(1/√n) (the per-parameter change is O(1/n) and n of them add up incoherently), so
/// feature_change's width exponent is −1/2; its 95 % interval (±0.02 at 3000 networks per width)
/// must hold −1/2 up to the finite-width curvature seen between n = 32 and 256 (±0.05), and the
/// verdict must say "shrinks". feature_alignment[1] with one input is exactly 1 (the first layer's
/// update is −η s² ‖x‖² b): width-independent. In `standard` the second layer's features grow with
/// the width (the NTK grows like n): "grows".
#[test]
fn coordinate_check_verdicts() {
    let j = sweep_json(&["--observe", "feature_change,feature_alignment"]);
    for obs in ["feature_change[1]", "feature_change[2]"] {
        let e = exponent(&j, "width", obs);
        let p = e["exponent"].as_f64().unwrap();
        assert!((p + 0.5).abs() < 0.05, "{e}");
        assert!(e["low"].as_f64().unwrap() < e["high"].as_f64().unwrap());
        assert!(e["verdict"].as_str().unwrap().starts_with("shrinks"), "{e}");
    }
    let e = exponent(&j, "width", "feature_alignment[1]");
    assert_eq!(e["verdict"], "width-independent", "{e}");
    let s = sweep_json(&[
        "--observe",
        "feature_change",
        "--parameterization",
        "standard",
    ]);
    let e = exponent(&s, "width", "feature_change[2]");
    assert!(e["verdict"].as_str().unwrap().starts_with("grows"), "{e}");
}

/// A mean indistinguishable from 0 has no exponent: the verdict says so instead of fitting noise
/// (delta_output with zero targets has mean 0 by the f → −f symmetry).
#[test]
fn no_verdict_without_a_signal() {
    let j = sweep_json(&["--observe", "delta_output"]);
    let e = exponent(&j, "width", "delta_output[0]");
    assert!(
        e["verdict"].as_str().unwrap().starts_with("no verdict"),
        "{e}"
    );
    assert!(e["exponent"].is_null(), "{e}");
}

/// The depth rules of docs/training.md ("The depth rules"): with branches α = L^{−a} and rates
/// ∝ L^{2a−1}, a residual block's weights move by ‖ΔW^l‖/‖W^l‖ = η λ_W α |r| ‖δ^l‖ ‖a^{l−1}‖ /
/// ‖W^l‖ ∝ L^{a−1} — Θ(1/√L) under depth-μP (a = ½) and Θ(1) under CompleteP (a = 1) — times the
/// growth of ‖δ^2‖ through the L − 2 blocks above layer 2, (1 + α² C_W E σ'²)^{(L−2)/2} =
/// (1 + α²)^{(L−2)/2} for ReLU at C_W = 2. weight_change[2] (the first residual block) over
/// depths 4..32 at width 64, 2000 networks per point: the fitted depth exponent must match the
/// least-squares slope of that law (−0.023, −0.387) within 0.03 (6 of its standard errors of
/// ±0.005, for what the law leaves out: |r| and the readout at finite depth; measured −0.022,
/// −0.383), and the verdicts must read "depth-independent" for CompleteP and "shrinks" for
/// depth-μP. A depth factor of 1 or L² in CompleteP's rate moves its exponent by ∓1 and fails.
#[test]
fn depth_rules_of_depth_mup_and_completep() {
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("y.csv");
    std::fs::write(&targets, "1\n").unwrap();
    let depths = [4.0f64, 8.0, 16.0, 32.0];
    let run = |param: &str, residual: &str| {
        common::json(&[
            "sweep",
            "--widths",
            "64",
            "--depths",
            "4,8,16,32",
            "--inputs",
            "1",
            "--step-lr",
            "0.01",
            "--targets",
            targets.to_str().unwrap(),
            "--parameterization",
            param,
            "--residual",
            residual,
            "--observe",
            "weight_change",
            "--networks",
            "2000",
            "--seed",
            "5",
            "--fit-exponents",
            "--format",
            "json",
        ])
    };
    // Branches α = L^{−a}, rates ∝ L^{2a−1}: the least-squares slope of
    // ln(L^{a−1} (1 + α²)^{(L−2)/2}) against ln L.
    let law = |a: f64| {
        let pts: Vec<(f64, f64)> = depths
            .iter()
            .map(|&l: &f64| {
                let alpha = l.powf(-a);
                let y = (a - 1.0) * l.ln() + 0.5 * (l - 2.0) * (1.0 + alpha * alpha).ln();
                (l.ln(), y)
            })
            .collect();
        let n = pts.len() as f64;
        let (mx, my) = (
            pts.iter().map(|p| p.0).sum::<f64>() / n,
            pts.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
        sxy / sxx
    };
    for (param, residual, a, verdict) in [
        ("completep", "inv-depth", 1.0, "depth-independent"),
        ("depth-mup", "invsqrt-depth", 0.5, "shrinks"),
    ] {
        let j = run(param, residual);
        let e = exponent(&j, "depth", "weight_change[2]");
        let p = e["exponent"].as_f64().unwrap();
        let want = law(a);
        assert!((p - want).abs() < 0.03, "{param}: law {want:.3}, {e}");
        assert!(
            e["verdict"].as_str().unwrap().starts_with(verdict),
            "{param}: {e}"
        );
    }
}

/// The arguments of a small coordinate check (after `--parameterization`), with `--targets` y.
fn check_args<'a>(targets: &'a str, format: &'a str) -> Vec<&'a str> {
    vec![
        "--widths",
        "16,32,64",
        "--depths",
        "2,3",
        "--inputs",
        "1",
        "--step-lr",
        "0.01",
        "--targets",
        targets,
        "--observe",
        "feature_change",
        "--networks",
        "400",
        "--seed",
        "3",
        "--fit-exponents",
        "--extrapolate",
        "--format",
        format,
    ]
}

/// `--parameterization ntk,mup,depth-mup`: one sweep per name on the same networks and seed, so
/// each parameterization's points, exponents and CSV rows are bitwise those of its own sweep
/// (depth-mup's taking `--residual invsqrt-depth`, implied in a list); the JSON names them, the
/// CSV has a parameterization column and the table puts the exponents side by side.
#[test]
fn parameterizations_side_by_side() {
    let dir = tempfile::tempdir().unwrap();
    let targets = dir.path().join("y.csv");
    std::fs::write(&targets, "1\n").unwrap();
    let y = targets.to_str().unwrap();
    let run = |params: &[&str], format: &str| {
        let mut args = vec!["sweep"];
        args.extend_from_slice(params);
        args.extend(check_args(y, format));
        let out = common::randnet(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let singles = [
        ("ntk", vec!["--parameterization", "ntk"]),
        ("mup", vec!["--parameterization", "mup"]),
        (
            "depth-mup",
            vec![
                "--parameterization",
                "depth-mup",
                "--residual",
                "invsqrt-depth",
            ],
        ),
    ];
    let list = ["--parameterization", "ntk,mup,depth-mup"];
    let all: serde_json::Value = serde_json::from_str(&run(&list, "json")).unwrap();
    assert_eq!(
        all["parameterizations"],
        serde_json::json!(["ntk", "mup", "depth-mup"])
    );
    let all_csv = run(&list, "csv");
    let mut csv_lines = all_csv.lines();
    let header = csv_lines.next().unwrap();
    assert!(
        header.starts_with("parameterization,width,depth,"),
        "{header}"
    );
    // Everything but the timings and the parameterization tag.
    let strip = |v: &serde_json::Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("parameterization");
            m.remove("seconds");
        }
        v
    };
    let mine = |key: &str, name: &str| -> Vec<serde_json::Value> {
        all[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["parameterization"] == name)
            .map(strip)
            .collect()
    };
    for (name, flags) in &singles {
        let one: serde_json::Value = serde_json::from_str(&run(flags, "json")).unwrap();
        assert!(one.get("parameterizations").is_none());
        for key in ["points", "exponents", "extrapolations"] {
            let theirs: Vec<serde_json::Value> =
                one[key].as_array().unwrap().iter().map(strip).collect();
            assert!(!theirs.is_empty(), "{name}: no {key}");
            assert!(
                one[key].as_array().unwrap()[0]
                    .get("parameterization")
                    .is_none(),
                "a single sweep's {key} keep today's fields"
            );
            assert_eq!(mine(key, name), theirs, "{name}: {key} differ");
        }
        let one_csv = run(flags, "csv");
        let mut one_lines = one_csv.lines();
        assert_eq!(
            format!("parameterization,{}", one_lines.next().unwrap()),
            header
        );
        let prefix = format!("{name},");
        let tagged: Vec<&str> = all_csv
            .lines()
            .filter_map(|l| l.strip_prefix(prefix.as_str()))
            .collect();
        assert_eq!(
            tagged,
            one_lines.collect::<Vec<_>>(),
            "{name}: CSV rows differ"
        );
    }
    let table = run(&list, "table");
    let side = table
        .split("== exponents side by side")
        .nth(1)
        .expect("a side-by-side exponents table");
    let head = side.lines().nth(1).unwrap();
    for name in ["ntk", "mup", "depth-mup"] {
        assert!(
            table.contains(&format!("=== --parameterization {name}")),
            "{table}"
        );
        assert!(head.contains(name), "{head}");
    }
    // A row per (x, held fixed, observable): width exponents at L = 2, 3 and depth exponents
    // at n = 16, 32, 64, one cell per parameterization.
    let row = side
        .lines()
        .find(|l| l.starts_with("width  L=2          feature_change[1]"))
        .unwrap_or_else(|| panic!("{side}"));
    assert_eq!(row.matches(" ± ").count(), 3, "{row}");
}

/// Every name of a list is checked before any work, with one line naming the culprit; so is a
/// `--residual` that contradicts a listed parameterization's rule, and `--plot` with a list.
#[test]
fn parameterization_list_errors() {
    for (params, extra, want) in [
        (
            "ntk,bogus",
            None,
            "unknown parameterization 'bogus' (expected ntk, standard, mup, depth-mup, completep)",
        ),
        ("mup,mup", None, "mup is listed twice"),
        (
            "mup,completep",
            Some(["--residual", "invsqrt-depth"]),
            "contradicts completep",
        ),
        ("ntk,mup", Some(["--plot", "sweep.png"]), "--plot"),
    ] {
        let mut args = vec![
            "sweep",
            "--parameterization",
            params,
            "--widths",
            "8,16",
            "--depths",
            "2",
            "--networks",
            "10",
        ];
        args.extend(extra.iter().flatten());
        let out = common::randnet(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{params}: succeeded");
        assert!(err.contains(want), "{params}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{params}: {err}");
        assert!(out.stdout.is_empty(), "{params}: work before the error");
    }
}

/// A comparison killed during its second parameterization resumes (each parameterization with
/// its own checkpoint beside `--output`) to bitwise the uninterrupted result, and removes every
/// checkpoint once the result is written.
#[test]
fn parameterization_list_resumes() {
    use std::process::Command;
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let args = |out: &std::path::Path| -> Vec<String> {
        [
            "sweep",
            "--parameterization",
            "ntk,mup",
            "--widths",
            "48,64",
            "--depths",
            "4,8",
            "--networks",
            "3000",
            "--inputs",
            "1",
            "--step-lr",
            "0.01",
            "--observe",
            "feature_change",
            "--fit-exponents",
            "--format",
            "json",
            "--checkpoint-seconds",
            "0.05",
            "--output",
        ]
        .iter()
        .map(|s| s.to_string())
        .chain([out.display().to_string()])
        .collect()
    };
    let full = dir.path().join("full.json");
    let out = common::randnet(&args(&full).iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cut = dir.path().join("cut.json");
    let first = dir.path().join(".cut.json.ntk.randnet-checkpoint");
    let second = dir.path().join(".cut.json.mup.randnet-checkpoint");
    let mut child = Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args(args(&cut))
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = Instant::now();
    while !second.exists() && start.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    assert!(
        !child.wait().unwrap().success(),
        "finished before it was killed"
    );
    assert!(first.exists() && second.exists());
    let mut resume = args(&cut);
    resume.push("--resume".into());
    let out = common::randnet(&resume.iter().map(String::as_str).collect::<Vec<_>>());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let estimates = |p: &std::path::Path| {
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        let points: Vec<serde_json::Value> = v["points"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                serde_json::json!([
                    p["parameterization"],
                    p["width"],
                    p["depth"],
                    p["observables"]
                ])
            })
            .collect();
        (points, v["exponents"].clone())
    };
    assert_eq!(estimates(&full), estimates(&cut));
    assert!(
        !first.exists() && !second.exists(),
        "checkpoints left behind"
    );
}

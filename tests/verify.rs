//! Verification against outside references and of the `theory` and `verify` subcommands:
//! - randnet_theory::infinite_width equals neural-tangents' analytic kernels (fixture made by
//!   benches/peers/nt_kernels.py) to 1e-6 relative;
//! - `randnet theory --format json` has the documented shape;
//! - `randnet verify --quick --format json` passes (exit 0, >= 20 checks, all pass).

use randnet_problem::{Activation, NetworkSpec, Parameterization, WeightLaw};
use std::process::{Command, Output};

fn randnet(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args(args)
        .output()
        .expect("run randnet")
}

fn matrix(v: &serde_json::Value) -> Vec<Vec<f64>> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect()
}

#[test]
fn infinite_width_kernels_match_neural_tangents() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/nt_kernels.json"
    ))
    .expect("fixture tests/fixtures/nt_kernels.json (benches/peers/nt_kernels.py)");
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 18);
    let mut worst: f64 = 0.0;
    let mut seen = std::collections::BTreeSet::new();
    for case in cases {
        let act: Activation = case["activation"].as_str().unwrap().parse().unwrap();
        let hidden: Vec<usize> = case["hidden"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let param: Parameterization = case["parameterization"].as_str().unwrap().parse().unwrap();
        let xs = matrix(&case["inputs"]);
        let cb = case["cb"].as_f64().unwrap();
        assert!(cb > 0.0, "the reference cases have biases");
        let spec = NetworkSpec::new(
            xs[0].len(),
            hidden,
            1,
            act,
            Some(case["cw"].as_f64().unwrap()),
            cb,
            param,
            None,
            WeightLaw::Gaussian,
        )
        .unwrap();
        seen.insert(case["activation"].as_str().unwrap().to_string());
        let kern = randnet_theory::infinite_width(&spec, &xs);
        for (what, ours, theirs) in [
            ("nngp", kern.readout_nngp(), matrix(&case["nngp"])),
            ("ntk", kern.readout_ntk(), matrix(&case["ntk"])),
        ] {
            for a in 0..xs.len() {
                for b in 0..xs.len() {
                    let (o, t) = (ours[a][b], theirs[a][b]);
                    // Relative to the diagonal scale, so near-zero off-diagonal entries are fair.
                    let scale = (theirs[a][a] * theirs[b][b]).sqrt().max(t.abs());
                    let rel = (o - t).abs() / scale;
                    worst = worst.max(rel);
                    assert!(
                        rel <= 1e-6,
                        "{what}[{a},{b}] {act} L={} {param:?} cw={} cb={cb}: randnet {o} vs neural-tangents {t} (rel {rel:e})",
                        spec.depth(),
                        spec.cw
                    );
                }
            }
        }
    }
    for needed in ["relu", "erf", "gelu"] {
        assert!(seen.contains(needed), "fixture lacks {needed}");
    }
    eprintln!("worst relative difference to neural-tangents: {worst:e}");
}

#[test]
fn theory_json_has_the_documented_shape() {
    let out = randnet(&[
        "theory",
        "--input-dim",
        "4",
        "--width",
        "8",
        "--depth",
        "3",
        "--inputs",
        "3",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "randnet theory failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("valid JSON");
    assert_eq!(v["spec"]["input_dim"], 4);
    assert_eq!(v["inputs"].as_array().unwrap().len(), 3);
    let iw = v["infinite_width"].as_object().unwrap();
    for a in 0..3 {
        for b in a..3 {
            for k in ["nngp", "ntk"] {
                let key = format!("{k}[{a},{b}]");
                assert!(iw[&key].as_f64().unwrap().is_finite(), "{key}");
            }
        }
    }
    assert_eq!(iw.len(), 12);
    let fw = v["finite_width"].as_object().unwrap();
    // Zero-bias ReLU: exact laws for output, sqnorm and jacobian_norm; the exact NTK mean.
    for name in [
        "output[0]",
        "ntk[0,1]",
        "sqnorm[1,0]",
        "sqnorm[4,2]",
        "jacobian_norm[0]",
    ] {
        assert!(fw.contains_key(name), "finite_width lacks {name}");
    }
    let ek = &fw["output[0]"]["excess_kurtosis"];
    assert_eq!(ek["kind"], "exact");
    // 3[(1 + 5/8)^3 − 1]
    let want = 3.0 * ((1.0f64 + 5.0 / 8.0).powi(3) - 1.0);
    assert!((ek["value"].as_f64().unwrap() - want).abs() < 1e-9);
    assert_eq!(fw["ntk[0,0]"]["mean"]["kind"], "exact");
    for (_, stats) in fw {
        for (_, p) in stats.as_object().unwrap() {
            assert!(p["value"].as_f64().unwrap().is_finite());
            let kind = p["kind"].as_str().unwrap();
            assert!(["exact", "leading-order", "bound", "infinite-width"].contains(&kind));
        }
    }
    // Hanin & Nica's order of magnitude, labelled a bound: exp(5β), β = 3/8.
    let hn = &v["bounds"]["ntk[0,0]"]["second_moment_ratio"];
    assert_eq!(hn["kind"], "bound");
    assert!((hn["value"].as_f64().unwrap() - (5.0f64 * 3.0 / 8.0).exp()).abs() < 1e-12);
    // The NTK diagonal equals the NTK mean prediction.
    let ntk00 = iw["ntk[0,0]"].as_f64().unwrap();
    assert!((fw["ntk[0,0]"]["mean"]["value"].as_f64().unwrap() - ntk00).abs() < 1e-12);
}

#[test]
fn theory_table_and_bad_input() {
    let out = randnet(&["theory", "--activation", "tanh", "--width", "32"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("nngp[0,0]") && text.contains("leading-order"),
        "{text}"
    );
    let bad = randnet(&["theory", "--activation", "nope"]);
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn verify_quick_passes() {
    let start = std::time::Instant::now();
    let out = randnet(&["verify", "--quick", "--format", "json"]);
    let secs = start.elapsed().as_secs_f64();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invalid JSON ({e}); stderr: {}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let checks = v["checks"].as_array().unwrap();
    let failed: Vec<_> = checks.iter().filter(|c| c["pass"] != true).collect();
    assert!(failed.is_empty(), "failed checks: {failed:#?}");
    assert!(
        out.status.success(),
        "verify exited non-zero with all checks passing"
    );
    assert!(checks.len() >= 20, "only {} checks", checks.len());
    for c in checks {
        for key in ["name", "estimate", "stderr", "theory", "z", "pass"] {
            assert!(c.get(key).is_some(), "check lacks {key}: {c}");
        }
    }
    eprintln!("verify --quick: {} checks in {secs:.1} s", checks.len());
}

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

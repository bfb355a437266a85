//! log_jacobian_norm end to end: the engines' values against the exact law of ln‖Ju‖ conditional
//! on no dead layer, and the count of networks with a dead layer against its probability.

mod common;

/// Width 4, depth 5 ReLU: a layer is dead with probability 2^-4, so a network has no logarithm
/// with probability 1 − (15/16)^5 ≈ 0.276. Both CPU engines and the GPU matrix-free engine (when
/// a Vulkan adapter exists: lavapipe in CI); 40 000 networks each: the count's
/// standard error is ~90, and the law's mean and variance are tested by z (|z| ≤ 4, where a
/// wrong factor ½ in the logarithm or an unconditioned mixture moves them by tens of standard
/// errors).
#[test]
fn dead_layers_are_counted_and_the_rest_follow_the_exact_law() {
    let m = 40_000.0;
    let p_dead = 1.0 - (15.0f64 / 16.0).powi(5);
    // With biases the law is the same (docs/theory.md §2.3); the matrix-free engine needs none.
    for (backend, method, cb) in [
        ("cpu", "dense", "0"),
        ("cpu", "matrix-free", "0"),
        ("cpu", "dense", "0.5"),
        ("gpu", "matrix-free", "0"),
    ] {
        let args = [
            "sample",
            "--format",
            "json",
            "--backend",
            backend,
            "--cb",
            cb,
            "--method",
            method,
            "--width",
            "4",
            "--depth",
            "5",
            "--input-dim",
            "4",
            "--inputs",
            "1",
            "--observe",
            "jacobian,log_jacobian",
            "--networks",
            "40000",
            "--seed",
            "3",
        ];
        let out = common::randnet(&args);
        if backend == "gpu" && !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("no GPU adapter"), "unexpected failure: {err}");
            eprintln!("SKIP: no GPU adapter on this machine");
            continue;
        }
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let method = format!("{backend} {method}");
        let dead = j["undefined"]["log_jacobian_norm[0]"].as_f64().unwrap();
        let z = (dead - m * p_dead) / (m * p_dead * (1.0 - p_dead)).sqrt();
        assert!(z.abs() < 4.0, "{method}: {dead} dead networks, z = {z}");
        // jacobian_norm itself keeps every network (its zeros included).
        let jn = &j["observables"]["jacobian_norm[0]"]["mean"];
        assert!(jn["z"].as_f64().unwrap().abs() < 4.0, "{method}: {jn}");
        let lj = &j["observables"]["log_jacobian_norm[0]"];
        for stat in ["mean", "variance", "kappa3"] {
            let e = &lj[stat];
            assert_eq!(e["theory_kind"], "exact", "{method} {stat}: {e}");
            let z = e["z"]
                .as_f64()
                .unwrap_or_else(|| panic!("{method} {stat}: no z: {e}"));
            assert!(
                z.abs() < 4.0,
                "{method}: log_jacobian_norm {stat} z = {z}: {e}"
            );
        }
    }
}

//! `--observe singular_values:K` end to end: the exact law of ‖∇f‖ (n_out = 1) for linear
//! Gaussian nets with biases and for L = 0, and clear refusals.

use std::process::Command;

fn randnet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args(args)
        .output()
        .expect("run randnet")
}

/// 100 000 networks each: mean and variance of singular_value[0,1] within 4 standard errors of
/// the product law (docs/theory.md §2.6). The nearest wrong law, that of ‖J u‖ (χ²_{n_out} in
/// place of χ²_{n_0}), has mean 0.344 against 0.810 here: hundreds of standard errors.
#[test]
fn gradient_norm_follows_the_exact_law() {
    for extra in [
        vec![
            "--activation",
            "linear",
            "--cb",
            "0.3",
            "--width",
            "5",
            "--depth",
            "3",
        ],
        vec!["--activation", "relu", "--depth", "0"],
    ] {
        let mut args = vec![
            "sample",
            "--backend",
            "cpu",
            "--input-dim",
            "4",
            "--inputs",
            "1",
            "--observe",
            "singular_values:1",
            "--networks",
            "100000",
            "--seed",
            "2",
            "--format",
            "json",
        ];
        args.extend(extra.iter());
        let out = randnet(&args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        for stat in ["mean", "variance"] {
            let e = &j["observables"]["singular_value[0,1]"][stat];
            assert_eq!(e["theory_kind"], "exact", "{extra:?} {stat}: {e}");
            let z = e["z"].as_f64().unwrap();
            assert!(z.abs() < 4.0, "{extra:?} {stat}: z = {z}: {e}");
        }
    }
}

#[test]
fn too_many_singular_values_is_a_one_line_error() {
    let out = randnet(&[
        "sample",
        "--backend",
        "cpu",
        "--observe",
        "singular_values:2",
        "--networks",
        "10",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("at most 1 singular values"), "{err}");
}

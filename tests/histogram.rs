//! `sample --histogram`: pooled spectra to CSV (every finite value counted once) or a figure,
//! and refused where it has no meaning.

use std::process::Command;

fn randnet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args(args)
        .output()
        .expect("run randnet")
}

#[test]
fn csv_counts_every_value_and_png_is_drawn() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("h.csv");
    let out = randnet(&[
        "sample",
        "--backend",
        "cpu",
        "--width",
        "8",
        "--depth",
        "3",
        "--input-dim",
        "4",
        "--output-dim",
        "3",
        "--inputs",
        "2",
        "--observe",
        "output,singular_values:3",
        "--networks",
        "700",
        "--histogram",
        csv.to_str().unwrap(),
        "--histogram-bins",
        "20",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&csv).unwrap();
    let mut totals = std::collections::BTreeMap::new();
    let mut integral = std::collections::BTreeMap::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let (lo, hi): (f64, f64) = (f[2].parse().unwrap(), f[3].parse().unwrap());
        *totals.entry(f[0].to_string()).or_insert(0u64) += f[4].parse::<u64>().unwrap();
        *integral.entry(f[0].to_string()).or_insert(0.0) +=
            f[5].parse::<f64>().unwrap() * (hi - lo);
    }
    // 700 networks x 2 inputs x (1 output | 3 singular values).
    assert_eq!(totals["output"], 1400);
    assert_eq!(totals["singular_value"], 4200);
    for (name, v) in integral {
        assert!((v - 1.0).abs() < 1e-9, "{name}: density integrates to {v}");
    }
    let png = dir.path().join("h.png");
    let out = randnet(&[
        "sample",
        "--backend",
        "cpu",
        "--width",
        "8",
        "--depth",
        "3",
        "--observe",
        "lyapunov:2",
        "--networks",
        "300",
        "--histogram",
        png.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
}

#[test]
fn bins_without_a_histogram_are_refused() {
    let out = randnet(&[
        "sample",
        "--backend",
        "cpu",
        "--networks",
        "10",
        "--histogram-bins",
        "9",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--histogram-bins needs --histogram"), "{err}");
}

#[test]
fn sweep_and_compare_refuse_it() {
    for args in [
        vec![
            "sweep",
            "--widths",
            "4",
            "--depths",
            "1",
            "--histogram",
            "h.csv",
        ],
        vec![
            "compare",
            "--weights",
            "gaussian,uniform",
            "--histogram",
            "h.csv",
        ],
    ] {
        let out = randnet(&args);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("--histogram"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
}

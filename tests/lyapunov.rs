//! `--observe lyapunov:K`: the QR iteration's finite-depth Lyapunov exponents against their exact
//! law (docs/theory.md §2.5), rank drops counted against their probability, and clear refusals.

mod common;
use common::randnet;

fn sample(args: &[&str]) -> serde_json::Value {
    let mut all = vec!["--backend", "cpu"];
    all.extend(args);
    common::sample(&all)
}

/// Linear and ReLU (with biases: the law does not change) nets, n = 6, L = 4, a 3-frame, 60 000
/// networks: mean, variance and κ3 of λ_1..λ_3 within 4 standard errors of the exact law (a
/// wrong ½ or an unconditioned binomial moves the means by tens of standard errors), and the
/// rank drops of ReLU nets against P(some K_l < i), K_l ~ Bin(6, 1/2).
#[test]
fn exponents_follow_the_exact_law_and_rank_drops_are_counted() {
    for (act, method) in [
        ("linear", "dense"),
        ("relu", "dense"),
        ("relu", "matrix-free"),
    ] {
        let j = sample(&[
            "--method",
            method,
            "--activation",
            act,
            "--cb",
            "0.2",
            "--width",
            "6",
            "--depth",
            "4",
            "--input-dim",
            "6",
            "--inputs",
            "1",
            "--observe",
            "lyapunov:3",
            "--networks",
            "60000",
            "--seed",
            "3",
        ]);
        for i in 1..=3 {
            let name = format!("lyapunov[{i}]");
            for stat in ["mean", "variance"] {
                let e = &j["observables"][&name][stat];
                assert_eq!(e["theory_kind"], "exact", "{act} {name} {stat}: {e}");
                let z = e["z"]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{act} {name} {stat}: {e}"));
                assert!(z.abs() < 4.0, "{act} {name} {stat}: z = {z}: {e}");
            }
            let dropped = j["undefined"][&name].as_f64().unwrap_or(0.0);
            if act == "linear" {
                assert_eq!(dropped, 0.0, "linear nets never lose rank");
            } else {
                // P(K < i) for K ~ Bin(6, 1/2), and a drop in any of 4 layers.
                let below: f64 = (0..i).map(|k| binomial(6, k)).sum::<f64>() / 64.0;
                let p = 1.0 - (1.0 - below).powi(4);
                let m = 60_000.0;
                let z = (dropped - m * p) / (m * p * (1.0 - p)).sqrt();
                assert!(z.abs() < 4.0, "{name}: {dropped} drops, z = {z}");
            }
        }
        // λ_1 > λ_2 > λ_3 on average.
        let mean = |i: usize| {
            j["observables"][format!("lyapunov[{i}]")]["mean"]["estimate"]
                .as_f64()
                .unwrap()
        };
        assert!(mean(1) > mean(2) && mean(2) > mean(3), "{act}");
    }
}

fn binomial(n: u64, k: u64) -> f64 {
    (0..k).fold(1.0, |a, i| a * (n - i) as f64 / (i + 1) as f64)
}

#[test]
fn bad_requests_are_one_line_errors() {
    for (args, want) in [
        (vec!["--observe", "lyapunov"], "needs its count"),
        (vec!["--observe", "lyapunov:0"], "1..=4096"),
        (vec!["--observe", "output:2"], "takes no count"),
        (vec!["--observe", "lyapunov:9", "--width", "8"], "narrowest"),
        (
            vec!["--observe", "lyapunov:2", "--residual", "0.5"],
            "residual",
        ),
        (
            vec!["--observe", "lyapunov:1", "--depth", "0"],
            "no hidden layer",
        ),
    ] {
        let mut all = vec!["sample", "--backend", "cpu", "--networks", "10"];
        all.extend(args);
        let out = randnet(&all);
        assert!(!out.status.success(), "{all:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{all:?}: {err}");
    }
}

/// With other observables, the count travels into result files and back (merge of shards).
#[test]
fn shards_with_lyapunov_merge() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = Vec::new();
    for i in 0..2 {
        let f = dir.path().join(format!("s{i}.json"));
        let out = randnet(&[
            "sample",
            "--backend",
            "cpu",
            "--width",
            "6",
            "--depth",
            "3",
            "--observe",
            "output,lyapunov:2",
            "--networks",
            "400",
            "--shard",
            &format!("{i}/2"),
            "--format",
            "json",
            "--output",
            f.to_str().unwrap(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        files.push(f);
    }
    let merged = randnet(&[
        "merge",
        files[0].to_str().unwrap(),
        files[1].to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(
        merged.status.success(),
        "{}",
        String::from_utf8_lossy(&merged.stderr)
    );
    let m: serde_json::Value = serde_json::from_slice(&merged.stdout).unwrap();
    assert_eq!(m["observe"]["lyapunov"], 2);
    assert!(m["observables"]["lyapunov[2]"]["mean"]["estimate"].is_number());
}

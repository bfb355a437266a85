//! `randnet compare`: differences between weight laws on the same networks, with errors that
//! hold where theory says the laws agree and find the effect where they do not.

use std::process::Command;

fn randnet(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args(args)
        .output()
        .expect("run randnet")
}

/// Zero-bias critical ReLU: the output variance is exactly 2‖x‖²/n0 = 2 under every symmetric
/// weight law (docs/derivations/weight_laws.md), and the mean 0: their differences must be 0
/// within the coupled jackknife errors (|z| < 4). The mean of ln‖Ju‖ moves at order 1/n
/// (about 1.5/n at n = 8: tens of standard errors here), and the KS test sees it.
#[test]
fn equal_where_theory_says_equal_different_where_not() {
    let out = randnet(&[
        "compare",
        "--weights",
        "gaussian,uniform,rademacher",
        "--backend",
        "cpu",
        "--width",
        "8",
        "--depth",
        "3",
        "--inputs",
        "1",
        "--observe",
        "output,log_jacobian",
        "--networks",
        "40000",
        "--seed",
        "2",
        "--format",
        "json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        j["laws"],
        serde_json::json!(["gaussian", "uniform", "rademacher"])
    );
    for k in 1..=2 {
        for stat in ["mean", "variance"] {
            let e = &j["observables"]["output[0]"][stat][k];
            let z = e["difference"].as_f64().unwrap() / e["difference_stderr"].as_f64().unwrap();
            assert!(z.abs() < 4.0, "output {stat} law {k}: z = {z}: {e}");
        }
        let e = &j["observables"]["log_jacobian_norm[0]"]["mean"][k];
        let z = e["difference"].as_f64().unwrap() / e["difference_stderr"].as_f64().unwrap();
        assert!(z > 6.0, "log_jacobian mean law {k}: z = {z}: {e}");
        let ks = &j["ks"]["log_jacobian_norm[0]"][k - 1];
        assert!(
            ks["p_value_if_independent"].as_f64().unwrap() < 1e-6,
            "{ks}"
        );
    }
    // The first law carries no difference.
    assert!(j["observables"]["output[0]"]["mean"][0]
        .get("difference")
        .is_none());
}

#[test]
fn bad_requests_are_one_line_errors() {
    for (args, want) in [
        (vec!["--weights", "gaussian"], "at least two weight laws"),
        (vec!["--weights", "gaussian,gaussian"], "twice"),
        (vec!["--weights", "gaussian,cauchy"], "cauchy"),
        (
            vec!["--weights", "gaussian,uniform", "--shard", "0/2"],
            "--shard",
        ),
    ] {
        let mut all = vec!["compare", "--networks", "10"];
        all.extend(args);
        let out = randnet(&all);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(want), "{err}");
    }
}

/// The table names every law and each difference column.
#[test]
fn table_lists_laws_and_differences() {
    let out = randnet(&[
        "compare",
        "--weights",
        "gaussian,rademacher",
        "--backend",
        "cpu",
        "--width",
        "4",
        "--depth",
        "2",
        "--networks",
        "500",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.contains("rademacher - gaussian"), "{t}");
    assert!(t.contains("Kolmogorov"), "{t}");
}

/// SIGTERM mid-run: every law is rolled back to the last chunk all of them finished, and the
/// comparison of those networks is written (a multiple of the chunk, 2^14), then the run fails.
#[test]
fn sigterm_writes_the_comparison_of_the_finished_networks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cut.json");
    let total: u64 = 20_000_000;
    let mut child = Command::new(env!("CARGO_BIN_EXE_randnet"))
        .args([
            "compare",
            "--weights",
            "gaussian,rademacher",
            "--backend",
            "cpu",
            "--width",
            "4",
            "--depth",
            "1",
            "--inputs",
            "1",
            "--observe",
            "output",
            "--networks",
            &total.to_string(),
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
    assert!(!status.success(), "an interrupted comparison must fail");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
    let n = v["networks"].as_u64().unwrap();
    assert!(n > 0 && n < total && n % (1 << 14) == 0, "networks {n}");
    // Both laws over exactly those networks: the KS test saw n values each.
    let e = &v["observables"]["output[0]"]["variance"][1];
    assert!(e["difference_stderr"].as_f64().unwrap() > 0.0, "{e}");
}

//! `randnet sweep --extrapolate`, end to end through the binary: the fit a + b/n at a fixed depth
//! recovers the infinite-width variance of a tanh net with biases that every finite width misses;
//! the CSV rows with width `inf`; fixed ratios; shards merged; the refusal of a single width.

use serde_json::Value;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_randnet"))
}

fn run_json(args: &[&str], out: &Path) -> Value {
    let o = bin()
        .args(args)
        .args(["--format", "json", "--backend", "cpu", "--output"])
        .arg(out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap()
}

fn extrapolation<'a>(v: &'a Value, obs: &str, stat: &str) -> &'a Value {
    v["extrapolations"]
        .as_array()
        .expect("extrapolations")
        .iter()
        .find(|x| x["observable"] == obs && x["statistic"] == stat)
        .unwrap_or_else(|| panic!("no extrapolation of {obs} {stat}"))
}

/// The done-when of the feature: tanh, C_W = 2, C_b = 0.1, depth 8, widths 8..64, 200 000
/// networks per width. The infinite-width variance (the readout's NNGP kernel, the exact limit at
/// fixed depth) is missed by more than 4 standard errors at width 8; the fit a + b/n lands within
/// 4 joint-jackknife standard errors of it.
#[test]
fn tanh_with_biases_extrapolates_to_the_infinite_width_variance() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tanh.json");
    let start = Instant::now();
    let args = [
        "sweep",
        "--activation",
        "tanh",
        "--cw",
        "2",
        "--cb",
        "0.1",
        "--input-dim",
        "4",
        "--inputs",
        "1",
        "--observe",
        "output",
        "--widths",
        "8,16,32,64",
        "--depths",
        "8",
        "--networks",
        "200000",
        "--seed",
        "1",
        "--extrapolate",
    ];
    let v = run_json(&args, &out);
    eprintln!(
        "randnet {} ({:.1} s)",
        args.join(" "),
        start.elapsed().as_secs_f64()
    );
    let mut worst: f64 = 0.0;
    let mut theory = f64::NAN;
    for p in v["points"].as_array().unwrap() {
        let e = &p["observables"]["output[0]"]["variance"];
        let (est, se) = (
            e["estimate"].as_f64().unwrap(),
            e["stderr"].as_f64().unwrap(),
        );
        theory = e["theory"].as_f64().unwrap();
        assert_eq!(e["theory_kind"], "infinite-width");
        assert_eq!(e["reliable"], true);
        let miss = (est - theory) / se;
        eprintln!(
            "width {:>3}: variance {est:.5} ± {se:.5}, infinite-width {theory:.5}, gap {:.5} = {miss:.2} stderr",
            p["width"],
            est - theory
        );
        worst = worst.max(miss.abs());
    }
    assert!(
        worst > 4.0,
        "no finite width misses the limit by 4 stderr ({worst:.2})"
    );
    let x = extrapolation(&v, "output[0]", "variance");
    let (a, se) = (
        x["estimate"].as_f64().unwrap(),
        x["stderr"].as_f64().unwrap(),
    );
    let z = x["z"].as_f64().unwrap();
    eprintln!(
        "extrapolated: a = {a:.5} ± {se:.5}, theory {theory:.5}, z = {z:.2}; slope b = {:.4} ± {:.4}",
        x["slope"].as_f64().unwrap(),
        x["slope_stderr"].as_f64().unwrap()
    );
    assert_eq!(x["depth"], 8);
    assert_eq!(x["theory"].as_f64().unwrap(), theory);
    assert_eq!(x["reliable"], true);
    assert!((z - (a - theory) / se).abs() < 1e-9);
    assert!(z.abs() < 4.0, "extrapolated variance z = {z:.2}");
    // The fourth cumulant: the fitted 1/n coefficient beside PDLT's leading order.
    let k4 = extrapolation(&v, "output[0]", "kappa4");
    eprintln!(
        "kappa4: a = {:.5} ± {:.5} (z {:.2}), slope {:.3} ± {:.3}, leading order {:.3}",
        k4["estimate"].as_f64().unwrap(),
        k4["stderr"].as_f64().unwrap(),
        k4["z"].as_f64().unwrap(),
        k4["slope"].as_f64().unwrap(),
        k4["slope_stderr"].as_f64().unwrap(),
        k4["slope_theory"].as_f64().unwrap()
    );
    assert!(k4["slope_theory"].as_f64().unwrap() > 0.0);
}

/// CSV: rows with width `inf` after the points, three slope columns at the end of the header, one
/// row per depth, observable and statistic; the points' rows keep their columns.
#[test]
fn csv_has_inf_rows_with_slopes() {
    let o = bin()
        .args([
            "sweep",
            "--widths",
            "8,16,32",
            "--depths",
            "2,3",
            "--networks",
            "2000",
            "--observe",
            "output,ntk",
            "--inputs",
            "2",
            "--input-dim",
            "4",
            "--backend",
            "cpu",
            "--format",
            "csv",
            "--extrapolate",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        &header[..5],
        [
            "width",
            "depth",
            "depth_over_width",
            "observable",
            "statistic"
        ]
    );
    assert_eq!(
        &header[header.len() - 4..],
        ["seed", "slope", "slope_stderr", "slope_theory"]
    );
    let rows: Vec<&str> = lines.collect();
    let points = rows.iter().filter(|r| !r.starts_with("inf,")).count();
    let inf: Vec<&&str> = rows.iter().filter(|r| r.starts_with("inf,")).collect();
    // Two depths: as many inf rows as the points of one width.
    assert_eq!(inf.len() * 3, points);
    assert!(inf
        .iter()
        .any(|r| r.starts_with("inf,2,0,\"output[0]\",variance,")));
    assert!(inf
        .iter()
        .any(|r| r.starts_with("inf,3,0,\"output[0,1]\",joint_kappa4,")));
    // ReLU, zero bias: the exact law gives the excess kurtosis's 1/n coefficient, 15 L.
    let ek = inf
        .iter()
        .find(|r| r.starts_with("inf,3,0,\"output[0]\",excess_kurtosis,"))
        .unwrap();
    let slope_theory: f64 = ek.rsplit(',').next().unwrap().parse().unwrap();
    assert!((slope_theory - 45.0).abs() < 1e-4, "{ek}");
    // Every row has the header's number of cells (observable names are quoted).
    for r in &rows {
        let mut quoted = false;
        let cells = 1 + r
            .chars()
            .filter(|&c| {
                if c == '"' {
                    quoted = !quoted;
                }
                c == ',' && !quoted
            })
            .count();
        assert_eq!(cells, header.len(), "{r}");
    }
}

/// --ratios: the fit holds L/n fixed; its rows carry the ratio, and theory only where the exact
/// law is the same at every point (the ReLU output's variance and mean here).
#[test]
fn fixed_ratios() {
    let dir = tempfile::tempdir().unwrap();
    let v = run_json(
        &[
            "sweep",
            "--widths",
            "8,16,32",
            "--ratios",
            "0.125,0.25",
            "--networks",
            "3000",
            "--observe",
            "output",
            "--inputs",
            "1",
            "--input-dim",
            "4",
            "--extrapolate",
        ],
        &dir.path().join("r.json"),
    );
    let xs = v["extrapolations"].as_array().unwrap();
    assert!(xs.iter().all(|x| x.get("depth").is_none()));
    assert!(xs.iter().any(|x| x["ratio"] == 0.125) && xs.iter().any(|x| x["ratio"] == 0.25));
    let var = xs
        .iter()
        .find(|x| x["ratio"] == 0.25 && x["statistic"] == "variance")
        .unwrap();
    assert_eq!(var["theory_kind"], "exact");
    assert_eq!(var["slope_theory"], 0.0);
    assert!(var["z"].as_f64().unwrap().abs() < 5.0);
    let ek = xs
        .iter()
        .find(|x| x["ratio"] == 0.25 && x["statistic"] == "excess_kurtosis")
        .unwrap();
    assert!(ek.get("theory").is_none(), "{ek}");
    assert_eq!(v["points"][0]["ratio"], 0.125);
}

/// Shards written with --extrapolate merge into the fits of one run over all the networks.
#[test]
fn merged_shards_extrapolate_like_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let base = [
        "sweep",
        "--widths",
        "8,16",
        "--depths",
        "2",
        "--networks",
        "3000",
        "--observe",
        "output",
        "--inputs",
        "2",
        "--input-dim",
        "4",
        "--activation",
        "tanh",
        "--cb",
        "0.2",
        "--extrapolate",
    ];
    let one = run_json(&base, &dir.path().join("one.json"));
    let mut files = Vec::new();
    for i in 0..2 {
        let f = dir.path().join(format!("s{i}.json"));
        let mut args = base.to_vec();
        let shard = format!("{i}/2");
        args.extend(["--shard", &shard]);
        run_json(&args, &f);
        files.push(f);
    }
    let merged = dir.path().join("merged.json");
    let st = bin()
        .arg("merge")
        .args(&files)
        .arg("--output")
        .arg(&merged)
        .status()
        .unwrap();
    assert!(st.success());
    let m: Value = serde_json::from_slice(&std::fs::read(&merged).unwrap()).unwrap();
    let (a, b) = (
        one["extrapolations"].as_array().unwrap(),
        m["extrapolations"].as_array().unwrap(),
    );
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert_eq!(x["statistic"], y["statistic"]);
        for key in ["estimate", "stderr", "slope", "slope_stderr"] {
            let (u, v) = (x[key].as_f64().unwrap(), y[key].as_f64().unwrap());
            assert!(
                (u - v).abs() <= 1e-9 * u.abs().max(1e-300),
                "{key}: {u} vs {v}"
            );
        }
    }
}

/// One width per depth: nothing to fit, refused at once (before a single network is drawn: the
/// sweep asked for 10^12).
#[test]
fn one_width_is_refused_before_sampling() {
    for extra in [
        ["--widths", "16", "--depths", "2,4"],
        ["--widths", "16,16", "--depths", "3,4"],
    ] {
        let start = Instant::now();
        let o = bin()
            .args([
                "sweep",
                "--networks",
                "1000000000000",
                "--extrapolate",
                "--backend",
                "cpu",
            ])
            .args(extra)
            .output()
            .unwrap();
        assert!(!o.status.success());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(
            err.contains("--extrapolate needs at least 2 distinct widths"),
            "{err}"
        );
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert!(start.elapsed().as_secs() < 10);
    }
}

//! Sweep plots end to end through the binary: the plot flags are checked before any network is
//! drawn, the statistics a plot can take are the ones `--help`, docs/plots.md and the tidy CSV
//! list, and the NTK's relative variance plots on a log axis with the fitted Hanin–Nica curve.

use randnet_stats::Statistic;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_randnet"))
}

/// Every statistic a plot can take (crate::plot::plot_statistics).
fn statistics() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Statistic::EVERY.iter().map(|s| s.name()).collect();
    v.push("joint_kappa4");
    v
}

/// A sweep of a billion networks per point with `extra` flags, in `dir`: it must fail at once,
/// with one line naming `want`, and leave nothing behind (no output, no checkpoint).
fn fails_fast(extra: &[&str], want: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    let start = Instant::now();
    let o = bin()
        .current_dir(dir.path())
        .args([
            "sweep",
            "--widths",
            "16,32",
            "--depths",
            "2,4",
            "--networks",
            "1000000000",
            "--format",
            "csv",
            "--output",
        ])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    let took = start.elapsed();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{extra:?} succeeded");
    assert!(
        took < Duration::from_secs(1),
        "{extra:?}: took {took:?} (sampled before failing?)"
    );
    // randnet's own errors are one line (exit 1); clap's usage errors (exit 2) are printed in
    // full, with the possible values.
    if o.status.code() == Some(1) {
        assert_eq!(err.trim_end().lines().count(), 1, "{extra:?}: {err}");
    } else {
        assert_eq!(o.status.code(), Some(2), "{extra:?}: {err}");
    }
    assert!(err.contains(want), "{extra:?}: '{err}' lacks '{want}'");
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "{extra:?} left {left:?}");
}

#[test]
fn unknown_statistic_fails_before_sampling() {
    fails_fast(
        &[
            "--observe",
            "ntk",
            "--plot",
            "p.png",
            "--plot-stat",
            "ntk[0,0]:kurtosis",
        ],
        "unknown statistic 'kurtosis'",
    );
    fails_fast(
        &[
            "--observe",
            "ntk",
            "--plot",
            "p.png",
            "--plot-stat",
            "ntk[0,0]",
        ],
        "expected OBSERVABLE:STATISTIC",
    );
}

#[test]
fn observable_the_sweep_does_not_produce_fails_before_sampling() {
    fails_fast(
        &[
            "--observe",
            "ntk",
            "--plot",
            "p.png",
            "--plot-stat",
            "output[0]:mean",
        ],
        "no observable 'output[0]'",
    );
    // Two inputs: ntk[0,0], ntk[0,1], ntk[1,1]; no third input.
    fails_fast(
        &[
            "--observe",
            "ntk",
            "--plot",
            "p.png",
            "--plot-stat",
            "ntk[0,2]:mean",
        ],
        "no observable 'ntk[0,2]'",
    );
    // Depths 2 and 4: sqnorm[l,·] for l <= 5 only.
    fails_fast(
        &[
            "--observe",
            "sqnorm",
            "--plot",
            "p.png",
            "--plot-stat",
            "sqnorm[6,0]:mean",
        ],
        "no observable 'sqnorm[6,0]'",
    );
    // --plot alone plots output[0]:excess_kurtosis, which an NTK-only sweep lacks.
    fails_fast(
        &["--observe", "ntk", "--plot", "p.png"],
        "no observable 'output[0]'",
    );
    // One input: no output pairs.
    fails_fast(
        &[
            "--inputs",
            "1",
            "--plot",
            "p.png",
            "--plot-stat",
            "output[0,1]:joint_kappa4",
        ],
        "no observable 'output[0,1]'",
    );
}

#[test]
fn statistic_the_observable_does_not_report_fails_before_sampling() {
    fails_fast(
        &[
            "--observe",
            "output,ntk",
            "--plot",
            "p.png",
            "--plot-stat",
            "output[0]:relative_variance",
        ],
        "output[0] does not report relative_variance",
    );
    fails_fast(
        &[
            "--observe",
            "ntk",
            "--plot",
            "p.png",
            "--plot-stat",
            "ntk[0,1]:relative_variance",
        ],
        "ntk[0,1] does not report relative_variance",
    );
    fails_fast(
        &[
            "--observe",
            "ntk",
            "--plot",
            "p.svg",
            "--plot-stat",
            "ntk[0,0]:joint_kappa4",
        ],
        "ntk[0,0] does not report joint_kappa4",
    );
}

#[test]
fn plot_flags_without_a_plot_fail_before_sampling() {
    fails_fast(
        &[
            "--observe",
            "ntk",
            "--plot-stat",
            "ntk[0,0]:relative_variance",
        ],
        "needs --plot",
    );
    fails_fast(&["--plot-y-scale", "log"], "needs --plot");
    fails_fast(&["--plot", "p.pdf"], "expected a .png or .svg file");
    fails_fast(&["--plot", "p.png", "--plot-x", "beta"], "--plot-x");
    fails_fast(
        &["--plot", "p.png", "--plot-y-scale", "symlog"],
        "--plot-y-scale",
    );
}

/// `sweep --help` lists every statistic under --plot-stat (generated from the one list),
/// docs/plots.md lists them, and each is a `statistic` of the tidy CSV; relative_variance rows
/// are there for exactly the observables with a positive mean.
#[test]
fn plot_statistics_are_in_help_docs_and_csv() {
    let o = bin().args(["sweep", "--help"]).output().unwrap();
    assert!(o.status.success());
    let help = String::from_utf8_lossy(&o.stdout);
    let para = help
        .split("--plot-stat <OBS:STAT>")
        .nth(1)
        .and_then(|t| t.split("--plot-x").next())
        .expect("--plot-stat in --help");
    let docs = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/plots.md"))
        .unwrap();
    for s in statistics() {
        assert!(para.contains(s), "--help of --plot-stat lacks {s}: {para}");
        assert!(
            docs.contains(&format!("`{s}`")),
            "docs/plots.md lacks `{s}`"
        );
    }
    for v in ["ratio", "depth", "neurons", "auto", "linear", "log"] {
        assert!(help.contains(&format!("- {v}")), "--help lacks value {v}");
    }

    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("s.csv");
    let st = bin()
        .args([
            "sweep",
            "--widths",
            "8",
            "--depths",
            "2",
            "--inputs",
            "2",
            "--observe",
            "output,ntk,sqnorm,jacobian",
            "--networks",
            "300",
            "--format",
            "csv",
            "--output",
        ])
        .arg(&csv)
        .status()
        .unwrap();
    assert!(st.success());
    let text = std::fs::read_to_string(&csv).unwrap();
    let rows: Vec<(String, String)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            // "observable" is quoted and may hold a comma: ntk[0,1] -> two cells.
            let quoted = l.split('"').nth(1).unwrap().to_string();
            let stat = l.split('"').nth(2).unwrap().split(',').nth(1).unwrap();
            assert!(c.len() > 5);
            (quoted, stat.to_string())
        })
        .collect();
    for s in statistics() {
        assert!(rows.iter().any(|(_, t)| t == s), "no CSV row of {s}");
    }
    let relvar = |o: &str| rows.contains(&(o.to_string(), "relative_variance".to_string()));
    for o in [
        "ntk[0,0]",
        "ntk[1,1]",
        "sqnorm[1,0]",
        "sqnorm[3,1]",
        "jacobian_norm[0]",
    ] {
        assert!(relvar(o), "no relative_variance row for {o}");
    }
    for o in ["output[0]", "ntk[0,1]", "output[0,1]"] {
        assert!(!relvar(o), "a relative_variance row for {o}");
    }
    assert!(rows.contains(&("output[0,1]".into(), "joint_kappa4".into())));
}

/// The relative_variance rows of ntk[0,0] in a tidy CSV: (β = L/n, estimate, stderr).
fn relvar_rows(csv: &str) -> Vec<(f64, f64, f64)> {
    csv.lines()
        .filter(|l| l.contains("\"ntk[0,0]\",relative_variance,"))
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            // width, depth, depth_over_width, "ntk[0, 0]" (two cells), statistic, estimate, stderr
            let f = |i: usize| c[i].parse::<f64>().unwrap();
            (f(2), f(6), f(7))
        })
        .collect()
}

fn sweep_ntk(dir: &Path, plot: &str, extra: &[&str]) -> (String, Vec<u8>) {
    let csv = dir.join("ntk.csv");
    let plot = dir.join(plot);
    let o = bin()
        .args([
            "sweep",
            "--widths",
            "16,32",
            "--ratios",
            "0.125,0.25,0.5",
            "--inputs",
            "1",
            "--observe",
            "ntk",
            "--networks",
            "3000",
            "--seed",
            "7",
            "--format",
            "csv",
            "--output",
        ])
        .arg(&csv)
        .arg("--plot")
        .arg(&plot)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    (
        std::fs::read_to_string(&csv).unwrap(),
        std::fs::read(&plot).unwrap(),
    )
}

/// The NTK's relative variance on a log axis with the Hanin–Nica overlay, PNG and SVG; the C in
/// the legend is the weighted least-squares fit in log space of the CSV's estimates to
/// exp(5β) − 1.
#[test]
fn ntk_relative_variance_plots_on_log_axis_with_hanin_nica_overlay() {
    let dir = tempfile::tempdir().unwrap();
    let stats = [
        "--plot-stat",
        "ntk[0,0]:relative_variance",
        "--plot-stat",
        "ntk[0,0]:mean",
        "--plot-y-scale",
        "log",
    ];
    let (_, png) = sweep_ntk(dir.path(), "ntk.png", &stats);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let (csv, svg) = sweep_ntk(dir.path(), "ntk.svg", &stats);
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.starts_with("<svg"), "not an SVG");
    assert!(
        svg.contains("∝ exp(5β)−1 (Hanin–Nica), C fitted = "),
        "no overlay legend"
    );
    assert!(svg.contains("relative_variance (log scale)"), "no log axis");
    assert!(
        svg.contains("mean (log scale)"),
        "--plot-y-scale log applies to every panel"
    );

    let rows = relvar_rows(&csv);
    assert_eq!(rows.len(), 6);
    let (sw, swl) = rows.iter().fold((0.0, 0.0), |(a, b), &(beta, y, s)| {
        let w = (y / s).powi(2);
        (a + w, b + w * (y / (5.0 * beta).exp_m1()).ln())
    });
    let c = (swl / sw).exp();
    let shown: f64 = svg
        .split("C fitted = ")
        .nth(1)
        .unwrap()
        .split(|ch: char| !(ch.is_ascii_digit() || ch == '.'))
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((shown / c - 1.0).abs() < 5e-3, "legend C {shown}, fit {c}");
    // Hanin & Nica fix the growth up to constants: C is of order one.
    assert!(shown > 0.1 && shown < 10.0, "C = {shown}");
}

/// `auto` puts relative_variance on a log axis and the mean on a linear one; `linear` keeps the
/// overlay; a net Hanin & Nica do not cover (biases) gets no overlay.
#[test]
fn y_scale_auto_and_overlay_scope() {
    let dir = tempfile::tempdir().unwrap();
    let stats = [
        "--plot-stat",
        "ntk[0,0]:relative_variance",
        "--plot-stat",
        "ntk[0,0]:mean",
    ];
    let (_, svg) = sweep_ntk(dir.path(), "auto.svg", &stats);
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.contains("relative_variance (log scale)"));
    assert!(!svg.contains("mean (log scale)"));
    assert!(svg.contains("Hanin–Nica"));

    let linear: Vec<&str> = stats
        .iter()
        .copied()
        .chain(["--plot-y-scale", "linear"])
        .collect();
    let (_, svg) = sweep_ntk(dir.path(), "linear.svg", &linear);
    let svg = String::from_utf8(svg).unwrap();
    assert!(!svg.contains("(log scale)"));
    assert!(svg.contains("Hanin–Nica"));

    let biased: Vec<&str> = stats.iter().copied().chain(["--cb", "0.1"]).collect();
    let (_, svg) = sweep_ntk(dir.path(), "biased.svg", &biased);
    let svg = String::from_utf8(svg).unwrap();
    assert!(svg.contains("relative_variance (log scale)"));
    assert!(!svg.contains("Hanin–Nica"), "overlay on a net with biases");
}

/// The observables are those of every point: sqnorm[5,·] exists at depth 4 only, and plots.
#[test]
fn observables_of_any_point_plot() {
    let dir = tempfile::tempdir().unwrap();
    let svg = dir.path().join("sq.svg");
    let o = bin()
        .args([
            "sweep",
            "--widths",
            "16,32",
            "--depths",
            "2,4",
            "--observe",
            "sqnorm",
            "--networks",
            "500",
            "--format",
            "csv",
            "--output",
        ])
        .arg(dir.path().join("sq.csv"))
        .arg("--plot")
        .arg(&svg)
        .args(["--plot-stat", "sqnorm[5,0]:relative_variance"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let svg = std::fs::read_to_string(&svg).unwrap();
    assert!(svg.contains("relative_variance (log scale)"));
    assert!(
        !svg.contains("Hanin–Nica"),
        "the overlay is for the diagonal NTK only"
    );
}

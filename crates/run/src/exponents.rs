//! `randnet sweep --fit-exponents`: coordinate checks with verdicts (docs/training.md,
//! "Coordinate checks"). For every observable's mean, the log-log slope against the width at each
//! swept depth (or ratio), and against the depth at each swept width: ln|mean| = c + p ln x by
//! least squares weighted with the points' relative errors, its standard error by the joint
//! delete-one-group jackknife (the points share network indices, so their errors are correlated:
//! the same replicates as `--extrapolate`), a 95 % interval and a verdict.

use crate::output::{fmt_sig, Entry};
use crate::sweep::PointReport;
use randnet_stats::Statistic;
use serde::Serialize;
use std::fmt::Write as _;

/// An exponent is called 0 ("independent") when its 95 % interval lies within ±this.
pub const FLAT: f64 = 0.1;

/// The two-sided 95 % normal quantile.
const Z95: f64 = 1.959_963_984_540_054;

/// One fitted exponent.
#[derive(Debug, Clone, Serialize)]
pub struct Exponent {
    /// In a comparison, the parameterization of the fitted points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameterization: Option<String>,
    /// "width" (over the widths at a fixed depth or ratio) or "depth" (over the depths at a fixed
    /// width).
    pub against: &'static str,
    /// The depth, ratio or width held fixed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    pub observable: String,
    /// The x values fitted.
    pub at: Vec<usize>,
    pub exponent: f64,
    pub stderr: f64,
    /// The 95 % interval exponent ± 1.96 stderr.
    pub low: f64,
    pub high: f64,
    /// One line: "width-independent", "grows as width^0.52", "shrinks as depth^-1.0", or why
    /// there is no verdict.
    pub verdict: String,
}

/// Every observable's mean: width exponents at each depth/ratio, depth exponents at each width
/// (each over at least two distinct x).
pub fn fit(points: &[PointReport]) -> Vec<Exponent> {
    let mut out = Vec::new();
    // Width exponents: points sharing a depth (or ratio).
    let mut keys: Vec<(Option<usize>, Option<f64>)> = Vec::new();
    for p in points {
        let key = match p.ratio {
            Some(r) => (None, Some(r)),
            None => (Some(p.depth), None),
        };
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    for (depth, ratio) in keys {
        let group: Vec<&PointReport> = points
            .iter()
            .filter(|p| match ratio {
                Some(r) => p.ratio == Some(r),
                None => p.ratio.is_none() && Some(p.depth) == depth,
            })
            .collect();
        let xs: Vec<usize> = group.iter().map(|p| p.width).collect();
        for e in fit_group(&group, &xs, "width") {
            out.push(Exponent { depth, ratio, ..e });
        }
    }
    // Depth exponents: points sharing a width (with --depths: with --ratios the depth moves with
    // the width, and at a fixed width the ratios are the depths).
    let mut widths: Vec<usize> = points.iter().map(|p| p.width).collect();
    widths.dedup();
    widths.sort_unstable();
    widths.dedup();
    for w in widths {
        let group: Vec<&PointReport> = points.iter().filter(|p| p.width == w).collect();
        let xs: Vec<usize> = group.iter().map(|p| p.depth).collect();
        if xs.contains(&0) {
            continue;
        }
        for e in fit_group(&group, &xs, "depth") {
            out.push(Exponent {
                width: Some(w),
                ..e
            });
        }
    }
    out
}

fn fit_group(group: &[&PointReport], xs: &[usize], against: &'static str) -> Vec<Exponent> {
    let mut distinct = xs.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 2 || distinct[0] == 0 {
        return Vec::new();
    }
    let Some(accs) = group
        .iter()
        .map(|p| p.report.accumulator.as_ref())
        .collect::<Option<Vec<_>>>()
    else {
        return Vec::new();
    };
    let first = &group[0].report;
    let mut out = Vec::new();
    for (pos, (obs, _)) in first.order.iter().enumerate() {
        if accs.iter().any(|a| pos >= a.dim()) {
            continue;
        }
        let entries: Vec<&Entry> = group
            .iter()
            .filter_map(|p| p.report.observables.get(obs)?.get("mean"))
            .collect();
        if entries.len() != group.len() {
            continue;
        }
        let reps: Vec<(f64, Vec<Option<f64>>)> = accs
            .iter()
            .map(|a| a.replicates(pos, Statistic::Mean))
            .collect();
        let lx: Vec<f64> = xs.iter().map(|&x| (x as f64).ln()).collect();
        let means: Vec<f64> = entries.iter().map(|e| e.estimate).collect();
        let verdict_without_fit = if means.iter().any(|m| !m.is_finite()) {
            Some("no verdict: a mean is not finite".to_string())
        } else if entries.iter().any(|e| !(e.estimate.abs() > 2.0 * e.stderr)) {
            Some("no verdict: a mean is within 2 standard errors of 0 (no power law to fit)".into())
        } else if means.iter().any(|m| m.signum() != means[0].signum()) {
            Some("no verdict: the mean changes sign".to_string())
        } else {
            None
        };
        let (exponent, stderr, verdict) = match verdict_without_fit {
            Some(v) => (f64::NAN, f64::NAN, v),
            None => {
                // Weights: 1/var(ln|m|) ≈ (m/se)².
                let w: Vec<f64> = entries
                    .iter()
                    .map(|e| (e.estimate / e.stderr).powi(2))
                    .collect();
                let slope = |y: &[f64]| -> f64 {
                    let sw: f64 = w.iter().sum();
                    let mx = w.iter().zip(&lx).map(|(w, x)| w * x).sum::<f64>() / sw;
                    let my = w.iter().zip(y).map(|(w, y)| w * y).sum::<f64>() / sw;
                    let sxy: f64 = (0..y.len())
                        .map(|i| w[i] * (lx[i] - mx) * (y[i] - my))
                        .sum();
                    let sxx: f64 = (0..y.len()).map(|i| w[i] * (lx[i] - mx).powi(2)).sum();
                    sxy / sxx
                };
                let y: Vec<f64> = means.iter().map(|m| m.abs().ln()).collect();
                let p = slope(&y);
                let groups = reps[0].1.len();
                let mut rep_slopes = Vec::new();
                for g in 0..groups {
                    let yg: Option<Vec<f64>> = reps
                        .iter()
                        .map(|(_, r)| r.get(g).copied().flatten().map(|v| v.abs().ln()))
                        .collect();
                    if let Some(yg) = yg {
                        rep_slopes.push(slope(&yg));
                    }
                }
                let se = randnet_stats::jackknife_stderr(&rep_slopes);
                (p, se, verdict(against, p, se, &entries))
            }
        };
        out.push(Exponent {
            parameterization: None,
            against,
            depth: None,
            ratio: None,
            width: None,
            observable: obs.clone(),
            at: xs.to_vec(),
            exponent,
            stderr,
            low: exponent - Z95 * stderr,
            high: exponent + Z95 * stderr,
            verdict,
        });
    }
    out
}

/// The verdict on an exponent p with standard error se: independent when the 95 % interval lies
/// within ±[`FLAT`], grows/shrinks when it excludes 0, undetermined otherwise.
pub fn verdict(against: &str, p: f64, se: f64, entries: &[&Entry]) -> String {
    if !(p.is_finite() && se.is_finite()) {
        return "no verdict: no finite fit and jackknife error".into();
    }
    if let Some(e) = entries.iter().find(|e| !e.reliable) {
        return format!(
            "no verdict: a mean is not reliable ({})",
            e.why.as_deref().unwrap_or("too few effective networks")
        );
    }
    let (low, high) = (p - Z95 * se, p + Z95 * se);
    if low >= -FLAT && high <= FLAT {
        format!("{against}-independent")
    } else if low > 0.0 {
        format!("grows as {against}^{}", fmt_sig(p, 2))
    } else if high < 0.0 {
        format!("shrinks as {against}^{}", fmt_sig(p, 2))
    } else {
        format!(
            "undetermined: the 95 % interval [{}, {}] holds 0 but is wider than ±{FLAT}",
            fmt_sig(low, 2),
            fmt_sig(high, 2)
        )
    }
}

/// The table section.
pub fn table(rows: &[Exponent]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "== exponents of the means: ln|mean| = c + p ln(x), joint-jackknife errors, 95 % intervals"
    );
    let _ = writeln!(
        out,
        "{:<6} {:<12} {:<22} {:>9} {:>8}  verdict",
        "x", "at", "observable", "p", "stderr"
    );
    for r in rows {
        let at = at_label(r);
        let _ = writeln!(
            out,
            "{:<6} {:<12} {:<22} {:>9} {:>8}  {}",
            r.against,
            at,
            r.observable,
            if r.exponent.is_finite() {
                fmt_sig(r.exponent, 3)
            } else {
                String::new()
            },
            if r.stderr.is_finite() {
                fmt_sig(r.stderr, 2)
            } else {
                String::new()
            },
            r.verdict
        );
    }
    out
}

/// What an exponent holds fixed, as the tables print it: `L=4`, `L/n=0.5` or `n=64`.
fn at_label(r: &Exponent) -> String {
    match (r.depth, r.ratio, r.width) {
        (_, Some(q), _) => format!("L/n={q}"),
        (Some(d), None, _) => format!("L={d}"),
        (None, None, Some(w)) => format!("n={w}"),
        _ => String::new(),
    }
}

/// The comparison's table: a row per (x, what is held fixed, observable), a column per
/// parameterization in `names` (each row's `parameterization`) with "p ± stderr verdict". The
/// reasons of "no verdict" and "undetermined" would make the columns unreadably wide, so the
/// cells keep the head and the reasons follow the table, one line each.
pub fn side_by_side(rows: &[Exponent], names: &[String]) -> String {
    type Key = (&'static str, String, String);
    let key = |r: &Exponent| -> Key { (r.against, at_label(r), r.observable.clone()) };
    let mut keys: Vec<Key> = Vec::new();
    for r in rows {
        let k = key(r);
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut notes = Vec::new();
    let mut cells: Vec<Vec<String>> = Vec::new();
    for k in &keys {
        let mut line = Vec::new();
        for name in names {
            let found = rows
                .iter()
                .find(|r| r.parameterization.as_deref() == Some(name.as_str()) && &key(r) == k);
            let Some(r) = found else {
                line.push("-".to_string());
                continue;
            };
            let head = match r.verdict.split_once(": ") {
                Some((head, _))
                    if r.verdict.starts_with("no verdict")
                        || r.verdict.starts_with("undetermined") =>
                {
                    notes.push(format!("{name}, {} {} {}: {}", k.0, k.1, k.2, r.verdict));
                    head.to_string()
                }
                _ => r.verdict.clone(),
            };
            line.push(if r.exponent.is_finite() && r.stderr.is_finite() {
                format!(
                    "{} ± {} {head}",
                    fmt_sig(r.exponent, 3),
                    fmt_sig(r.stderr, 2)
                )
            } else {
                head
            });
        }
        cells.push(line);
    }
    let width_of = |i: usize| -> usize {
        cells
            .iter()
            .map(|l| l[i].chars().count())
            .chain([names[i].chars().count()])
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..names.len()).map(width_of).collect();
    let obs_width = keys
        .iter()
        .map(|k| k.2.chars().count())
        .chain([22])
        .max()
        .unwrap_or(22);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "== exponents side by side: ln|mean| = c + p ln(x), p ± joint-jackknife stderr, verdicts on 95 % intervals"
    );
    let mut header = format!("{:<6} {:<12} {:<obs_width$}", "x", "at", "observable");
    for (name, w) in names.iter().zip(&widths) {
        let _ = write!(header, "  {name:<w$}");
    }
    let _ = writeln!(out, "{}", header.trim_end());
    for (k, line) in keys.iter().zip(&cells) {
        let mut row = format!("{:<6} {:<12} {:<obs_width$}", k.0, k.1, k.2);
        for (cell, w) in line.iter().zip(&widths) {
            let _ = write!(row, "  {cell:<w$}");
        }
        let _ = writeln!(out, "{}", row.trim_end());
    }
    if !notes.is_empty() {
        out.push('\n');
        for n in notes {
            let _ = writeln!(out, "{n}");
        }
    }
    out
}

//! `randnet sweep --extrapolate`: at each depth (with `--depths`) or each depth-to-width ratio
//! (with `--ratios`), the weighted fit `a + b/n` over the swept widths of every observable and
//! statistic, with joint-jackknife errors (randnet_stats::fit), the infinite-width value beside
//! `a` (randnet_theory::limit) and the 1/n coefficient beside `b` where theory has one
//! (docs/statistics.md, "Extrapolation to infinite width").

use crate::args::SweepArgs;
use crate::output::Entry;
use crate::sweep::{Point, PointReport, SweepResult};
use anyhow::{bail, Result};
use randnet_stats::fit::fit_inverse_width_jackknife;
use randnet_stats::Statistic;
use serde::Serialize;
use std::fmt::Write as _;

/// One extrapolated row: the intercept `a` (as an [`Entry`]: estimate, stderr, reliable, theory,
/// z) and the slope `b` of the fit over the widths of one depth or ratio.
#[derive(Debug, Clone, Serialize)]
pub struct Extrapolation {
    /// In a comparison, the parameterization of the fitted points.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameterization: Option<String>,
    /// The depth the fit holds fixed (`--depths`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth: Option<usize>,
    /// The depth-to-width ratio the fit holds fixed (`--ratios`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    pub observable: String,
    pub statistic: String,
    /// The widths fitted (one point each).
    pub widths: Vec<usize>,
    /// `estimate` = a, its joint-jackknife `stderr`, `reliable` (every point reliable), the
    /// infinite-width `theory` and `z` = (a − theory)/stderr.
    #[serde(flatten)]
    pub entry: Entry,
    /// b, the coefficient of 1/n.
    pub slope: f64,
    pub slope_stderr: f64,
    /// The theory's 1/n coefficient, where it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slope_theory: Option<f64>,
}

/// What a fit holds fixed.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Key {
    Depth(usize),
    Ratio(f64),
}

impl Key {
    fn of(p: &PointReport) -> Key {
        match p.ratio {
            Some(r) => Key::Ratio(r),
            None => Key::Depth(p.depth),
        }
    }

    fn describe(&self) -> String {
        match self {
            Key::Depth(d) => format!("depth {d}"),
            Key::Ratio(r) => format!("ratio {r}"),
        }
    }
}

/// The nominal `--ratios` value of every point (None with `--depths`), in the order
/// [`crate::sweep::points`] makes them: widths outer, ratios inner.
pub fn point_ratios(args: &SweepArgs, pts: &[Point]) -> Vec<Option<f64>> {
    let ratios: Vec<f64> = match &args.ratios {
        Some(text) if args.depths.is_none() => text
            .split(',')
            .filter_map(|t| t.trim().parse::<f64>().ok())
            .collect(),
        _ => Vec::new(),
    };
    if ratios.is_empty() {
        return vec![None; pts.len()];
    }
    pts.iter()
        .enumerate()
        .map(|(i, p)| {
            let r = ratios[i % ratios.len()];
            debug_assert_eq!((r * p.width as f64).round() as usize, p.depth);
            Some(r)
        })
        .collect()
}

/// Refuses (before any sampling) a sweep with fewer than two distinct widths at some depth or
/// ratio: there is nothing to fit.
pub fn check(pts: &[Point], ratios: &[Option<f64>]) -> Result<()> {
    let keys: Vec<Key> = pts
        .iter()
        .zip(ratios)
        .map(|(p, r)| match r {
            Some(r) => Key::Ratio(*r),
            None => Key::Depth(p.depth),
        })
        .collect();
    for (i, key) in keys.iter().enumerate() {
        let mut widths: Vec<usize> = keys
            .iter()
            .zip(pts)
            .filter(|(k, _)| *k == key)
            .map(|(_, p)| p.width)
            .collect();
        widths.sort_unstable();
        widths.dedup();
        if widths.len() < 2 && keys[..i].iter().all(|k| k != key) {
            bail!(
                "--extrapolate needs at least 2 distinct widths at every depth or ratio; {} has only width {}",
                key.describe(),
                widths[0]
            );
        }
    }
    Ok(())
}

/// The groups of points (indices into `points`) that share a depth or ratio, in order of first
/// appearance.
fn groups(points: &[PointReport]) -> Vec<(Key, Vec<usize>)> {
    let mut out: Vec<(Key, Vec<usize>)> = Vec::new();
    for (i, p) in points.iter().enumerate() {
        let key = Key::of(p);
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(i),
            None => out.push((key, vec![i])),
        }
    }
    out
}

/// Every observable and statistic of every group of at least two distinct widths, fitted.
pub fn extrapolate(points: &[PointReport]) -> Vec<Extrapolation> {
    let mut out = Vec::new();
    for (key, idx) in groups(points) {
        let group: Vec<&PointReport> = idx.iter().map(|&i| &points[i]).collect();
        let widths: Vec<usize> = group.iter().map(|p| p.width).collect();
        let wf: Vec<f64> = widths.iter().map(|&w| w as f64).collect();
        let first = &group[0].report;
        let accs: Option<Vec<&randnet_stats::Accumulator>> = group
            .iter()
            .map(|p| p.report.accumulator.as_ref())
            .collect();
        let Some(accs) = accs else { continue };
        for (pos, (obs, stats)) in first.order.iter().enumerate() {
            for stat in stats {
                let entries: Vec<&Entry> = group
                    .iter()
                    .map(|p| &p.report.observables[obs][stat])
                    .collect();
                let reps: Option<Vec<(f64, Vec<Option<f64>>)>> = if stat == "joint_kappa4" {
                    accs.iter()
                        .map(|acc| {
                            let pair = pair_index(acc, obs)?;
                            Some(acc.joint_replicates(pair))
                        })
                        .collect()
                } else {
                    let s = Statistic::from_name(stat);
                    accs.iter()
                        .map(|acc| match s {
                            Some(s) if pos < acc.dim() => Some(acc.replicates(pos, s)),
                            _ => None,
                        })
                        .collect()
                };
                let Some(reps) = reps else { continue };
                let stderrs: Vec<f64> = entries.iter().map(|e| e.stderr).collect();
                let weights: Vec<f64> = if stderrs.iter().all(|s| s.is_finite() && *s > 0.0) {
                    stderrs.iter().map(|s| 1.0 / (s * s)).collect()
                } else {
                    vec![1.0; stderrs.len()]
                };
                let Some(fit) = fit_inverse_width_jackknife(&wf, &reps, &weights) else {
                    continue;
                };
                let Ok(typed) = obs.parse::<randnet_problem::Observable>() else {
                    continue;
                };
                let limit = match key {
                    Key::Depth(_) => randnet_theory::limit::infinite_width_limit(
                        &first.spec,
                        &first.inputs,
                        &typed,
                        stat,
                    ),
                    Key::Ratio(_) => {
                        let specs: Vec<_> = group.iter().map(|p| p.report.spec.clone()).collect();
                        randnet_theory::limit::fixed_ratio_limit(
                            &specs,
                            &first.inputs,
                            &typed,
                            stat,
                        )
                    }
                };
                let unreliable =
                    entries
                        .iter()
                        .zip(&widths)
                        .find(|(e, _)| !e.reliable)
                        .map(|(e, w)| {
                            format!("width {w}: {}", e.why.as_deref().unwrap_or("not reliable"))
                        });
                let why = unreliable.or_else(|| {
                    (!(fit.a.is_finite() && fit.a_stderr.is_finite()))
                        .then(|| "no finite fit and joint-jackknife error".to_string())
                });
                let n_eff: Option<Vec<f64>> =
                    entries.iter().map(|e| e.effective_networks).collect();
                let z = limit
                    .map(|l| (fit.a - l.value) / fit.a_stderr)
                    .filter(|z| z.is_finite());
                let entry = Entry {
                    estimate: fit.a,
                    stderr: fit.a_stderr,
                    reliable: why.is_none(),
                    why,
                    effective_networks: n_eff
                        .map(|v| v.into_iter().fold(f64::INFINITY, f64::min))
                        .filter(|v| v.is_finite()),
                    theory: limit.map(|l| l.value),
                    theory_kind: limit.map(|l| l.kind.name().to_string()),
                    z,
                    gap: None,
                    gap_stderr: None,
                    relative_gap: None,
                    law_stderr: None,
                };
                out.push(Extrapolation {
                    parameterization: None,
                    depth: match key {
                        Key::Depth(d) => Some(d),
                        Key::Ratio(_) => None,
                    },
                    ratio: match key {
                        Key::Ratio(r) => Some(r),
                        Key::Depth(_) => None,
                    },
                    observable: obs.clone(),
                    statistic: stat.clone(),
                    widths: widths.clone(),
                    entry,
                    slope: fit.b,
                    slope_stderr: fit.b_stderr,
                    slope_theory: limit.and_then(|l| l.slope),
                });
            }
        }
    }
    out
}

/// The pair index of "output[a,b]" in the accumulator's tracked pairs.
fn pair_index(acc: &randnet_stats::Accumulator, name: &str) -> Option<usize> {
    let inner = name.strip_prefix("output[")?.strip_suffix(']')?;
    let (a, b) = inner.split_once(',')?;
    let ab = (a.trim().parse().ok()?, b.trim().parse().ok()?);
    acc.pairs().iter().position(|&p| p == ab)
}

/// The tidy-CSV rows of the extrapolations (width `inf`; depth empty and depth_over_width the
/// ratio for `--ratios`, depth_over_width 0 for `--depths`), in the columns of
/// `crate::sweep::tidy_csv` followed by slope, slope_stderr, slope_theory. `networks` is the
/// networks per point, `diverged` the sum over the fitted points.
pub fn csv_rows(result: &SweepResult) -> String {
    let mut out = String::new();
    let Some(rows) = &result.extrapolations else {
        return out;
    };
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    for x in rows {
        let key = match (x.depth, x.ratio) {
            (_, Some(r)) => Key::Ratio(r),
            (Some(d), None) => Key::Depth(d),
            (None, None) => continue,
        };
        let group: Vec<&PointReport> = result.points.iter().filter(|p| Key::of(p) == key).collect();
        let Some(first) = group.first() else { continue };
        let r = &first.report;
        let diverged: u64 = group.iter().map(|p| p.report.diverged).sum();
        let (depth, dow) = match key {
            Key::Depth(d) => (d.to_string(), "0".to_string()),
            Key::Ratio(q) => (String::new(), q.to_string()),
        };
        let _ = writeln!(
            out,
            "inf,{depth},{dow},\"{}\",{},{},{},{},{},{},{},{},{},{},{},{}",
            x.observable,
            x.statistic,
            x.entry.csv_cells(),
            r.spec.input_dim,
            r.spec.activation,
            r.spec.cw,
            r.spec.cb,
            r.networks,
            diverged,
            r.seed,
            x.slope,
            x.slope_stderr,
            opt(x.slope_theory),
        );
    }
    out
}

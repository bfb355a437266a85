//! `randnet compare --weights gaussian,uniform,rademacher [sample flags]`: the same spec under
//! each weight law, on the same network indices of the same stream, and every estimate's
//! difference from the first law with a jackknife standard error, beside a two-sample
//! Kolmogorov–Smirnov statistic on the per-network values (docs/statistics.md, "Comparing
//! weight laws").
//!
//! The laws are read from the same Philox words (docs/rng.md), so the draws under two laws are
//! coupled: the differences' standard errors come from the jackknife applied group by group to
//! both accumulators at once (networks fall in the same groups under every law), which accounts
//! for the coupling.

use crate::args::{Format, SampleArgs};
use crate::output::{fmt_sig, write_atomic};
use crate::sample::{
    advance, make_sampler, problem_from, progress_bar, reported_statistics, Control, Progress,
    RowSink,
};
use anyhow::{bail, Context, Result};
use randnet_problem::WeightLaw;
use randnet_stats::{jackknife_stderr, Accumulator};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// One law's estimate of one statistic.
#[derive(Debug, Clone, Serialize)]
pub struct LawEstimate {
    pub estimate: f64,
    pub stderr: f64,
    pub reliable: bool,
    /// estimate − the first law's, with its coupled jackknife standard error (absent for the
    /// first law).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference_stderr: Option<f64>,
}

/// The two-sample Kolmogorov–Smirnov statistic between a law's per-network values and the first
/// law's.
#[derive(Debug, Clone, Serialize)]
pub struct Ks {
    pub statistic: f64,
    /// The asymptotic p-value for independent samples (Numerical Recipes §14.3). The samples
    /// share the stream's words, which pulls the empirical laws together: under equal laws the
    /// statistic is smaller than for independent samples, so this p-value is conservative.
    pub p_value_if_independent: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    pub format: u32,
    pub version: &'static str,
    pub kind: &'static str,
    pub laws: Vec<String>,
    pub networks: u64,
    pub seed: u64,
    /// Networks excluded (diverged) under each law.
    pub diverged: Vec<u64>,
    /// observable → statistic → one entry per law.
    pub observables: BTreeMap<String, BTreeMap<String, Vec<LawEstimate>>>,
    /// observable → one entry per law after the first.
    pub ks: BTreeMap<String, Vec<Ks>>,
    #[serde(skip)]
    order: Vec<(String, Vec<String>)>,
}

pub fn run(args: &SampleArgs) -> Result<()> {
    let laws: Vec<WeightLaw> = args
        .spec
        .weights
        .split(',')
        .map(|w| w.trim().parse())
        .collect::<Result<_, _>>()
        .context("--weights")?;
    if laws.len() < 2 {
        bail!("compare needs at least two weight laws, e.g. --weights gaussian,uniform,rademacher");
    }
    for (i, a) in laws.iter().enumerate() {
        if laws[..i].contains(a) {
            bail!("--weights names {a} twice");
        }
    }
    if args.save_samples.is_some() || args.histogram.is_some() || args.histogram_bins.is_some() {
        bail!("--save-samples and --histogram are for sample, not compare");
    }
    if args.run.shard.is_some() {
        bail!("compare draws every network itself; --shard is for sample and sweep");
    }
    if args.run.networks == 0 {
        bail!("--networks must be a positive integer, got 0");
    }
    let with_law = |law: WeightLaw| {
        let mut a = args.clone();
        a.spec.weights = law.to_string();
        a
    };
    crate::paths::check_sample(&with_law(laws[0]))?;
    let problems = laws
        .iter()
        .map(|&l| problem_from(&with_law(l)))
        .collect::<Result<Vec<_>>>()?;
    let m = args.run.networks;
    let d = problems[0].layout().len();
    crate::sample::check_memory_for(
        m as f64 * d as f64 * 8.0 * laws.len() as f64,
        &format!(
            "keeping {m} networks' {d} values under {} laws (--networks) needs",
            laws.len()
        ),
        "use fewer networks",
    )?;
    // The laws advance together, chunk by chunk, so that an interruption (Ctrl-C, SIGTERM) or a
    // lost device leaves every law at the same last finished chunk: the comparison of those
    // networks is written, as `sample` writes the estimates of the networks it finished.
    let mut states = Vec::new();
    for problem in &problems {
        let mut chosen = make_sampler(
            problem,
            args.run.backend,
            args.run.method,
            args.run.adapter.as_deref(),
        )?;
        let progress = Progress::new(problem, &mut chosen.sampler, 0..0)?;
        states.push((chosen.sampler, progress, Vec::<f64>::new()));
    }
    let bar = progress_bar(m * laws.len() as u64);
    let mut done = 0u64;
    let mut stopped: Option<anyhow::Error> = None;
    while done < m {
        let end = (done + COMPARE_CHUNK).min(m);
        let saved: Vec<Progress> = states.iter().map(|(_, p, _)| p.clone()).collect();
        let mut failure = None;
        for ((sampler, progress, rows), problem) in states.iter_mut().zip(&problems) {
            progress.end = end;
            match advance(
                problem,
                sampler,
                progress,
                args.run.batch,
                Some(rows as &mut dyn RowSink),
                &mut Control::new(&bar),
            ) {
                Ok(true) => {}
                Ok(false) => {
                    failure = Some(anyhow::anyhow!("interrupted"));
                    break;
                }
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failure {
            // Back to the last chunk every law finished.
            for ((_, progress, rows), old) in states.iter_mut().zip(saved) {
                *progress = old;
                rows.truncate(done as usize * d);
            }
            stopped = Some(e);
            break;
        }
        done = end;
    }
    bar.finish_and_clear();
    if done > 0 {
        let accs: Vec<Accumulator> = states.iter().map(|(_, p, _)| p.acc.clone()).collect();
        let values: Vec<Vec<f64>> = states.iter().map(|(_, _, r)| r.clone()).collect();
        let diverged = states.iter().map(|(_, p, _)| p.diverged).collect();
        let report = build(
            &laws,
            &problems[0],
            &accs,
            &values,
            diverged,
            args.run.seed,
            done,
        );
        let text = match args.run.format {
            Format::Json => serde_json::to_string_pretty(&report)? + "\n",
            Format::Csv => csv(&report),
            Format::Table => table(&report),
        };
        match &args.run.output {
            Some(path) => write_atomic(path, text.as_bytes())?,
            None => print!("{text}"),
        }
    }
    match stopped {
        None => Ok(()),
        Some(e) if done > 0 => Err(e.context(format!(
            "stopped after {done} of {m} networks under every law (the comparison of those was written)"
        ))),
        Some(e) => Err(e),
    }
}

/// Networks every law draws before the next (the granularity at which an interrupted comparison
/// keeps its work).
const COMPARE_CHUNK: u64 = 1 << 14;

fn build(
    laws: &[WeightLaw],
    problem: &randnet_sampler::Problem,
    accs: &[Accumulator],
    values: &[Vec<f64>],
    diverged: Vec<u64>,
    seed: u64,
    m: u64,
) -> CompareReport {
    let layout = problem.layout();
    let d = layout.len();
    let mut observables = BTreeMap::new();
    let mut ks = BTreeMap::new();
    let mut order = Vec::new();
    for (i, obs) in layout.observables().iter().enumerate() {
        let name = obs.to_string();
        let mut stats = BTreeMap::new();
        let mut names = Vec::new();
        for stat in reported_statistics(obs) {
            let (first, first_reps) = accs[0].replicates(i, stat);
            let entries = accs
                .iter()
                .enumerate()
                .map(|(k, acc)| {
                    let e = acc.estimate(i, stat);
                    let reliable = acc.reliability(i, stat).reliable;
                    let (difference, difference_stderr) = if k == 0 {
                        (None, None)
                    } else {
                        let (own, reps) = acc.replicates(i, stat);
                        // Groups empty under either law are left out of the jackknife.
                        let diffs: Vec<f64> = reps
                            .iter()
                            .zip(&first_reps)
                            .filter_map(|(a, b)| Some((*a)? - (*b)?))
                            .collect();
                        (Some(own - first), Some(jackknife_stderr(&diffs)))
                    };
                    LawEstimate {
                        estimate: e.estimate,
                        stderr: e.stderr,
                        reliable,
                        difference,
                        difference_stderr,
                    }
                })
                .collect();
            stats.insert(stat.name().to_string(), entries);
            names.push(stat.name().to_string());
        }
        observables.insert(name.clone(), stats);
        order.push((name.clone(), names));
        let column = |rows: &[f64]| -> Vec<f64> {
            rows.chunks_exact(d)
                .map(|r| r[i])
                .filter(|v| v.is_finite())
                .collect()
        };
        let base = column(&values[0]);
        ks.insert(
            name,
            values[1..]
                .iter()
                .map(|rows| two_sample_ks(&base, &column(rows)))
                .collect(),
        );
    }
    CompareReport {
        format: crate::output::FORMAT,
        version: env!("CARGO_PKG_VERSION"),
        kind: "compare",
        laws: laws.iter().map(|l| l.to_string()).collect(),
        networks: m,
        seed,
        diverged,
        observables,
        ks,
        order,
    }
}

/// The two-sample Kolmogorov–Smirnov statistic D = sup |F_a − F_b| and its asymptotic p-value
/// Q_KS((√n_e + 0.12 + 0.11/√n_e) D), n_e = n_a n_b/(n_a + n_b), Q_KS(λ) = 2 Σ_{k≥1}
/// (−1)^{k−1} exp(−2k²λ²) (Numerical Recipes, 3rd ed., §14.3.3).
pub fn two_sample_ks(a: &[f64], b: &[f64]) -> Ks {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (na, nb) = (a.len(), b.len());
    if na == 0 || nb == 0 {
        return Ks {
            statistic: f64::NAN,
            p_value_if_independent: f64::NAN,
        };
    }
    let (mut i, mut j, mut dmax) = (0, 0, 0.0f64);
    while i < na && j < nb {
        let x = a[i].min(b[j]);
        while i < na && a[i] <= x {
            i += 1;
        }
        while j < nb && b[j] <= x {
            j += 1;
        }
        dmax = dmax.max((i as f64 / na as f64 - j as f64 / nb as f64).abs());
    }
    let ne = (na * nb) as f64 / (na + nb) as f64;
    let lambda = (ne.sqrt() + 0.12 + 0.11 / ne.sqrt()) * dmax;
    Ks {
        statistic: dmax,
        p_value_if_independent: q_ks(lambda),
    }
}

/// Q_KS(λ) = 2 Σ_{k≥1} (−1)^{k−1} exp(−2k²λ²), 1 for small λ (the series converges slowly
/// there and the value is 1 to double precision below λ ≈ 0.2).
fn q_ks(lambda: f64) -> f64 {
    if lambda < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    for k in 1..=100 {
        let term = (-2.0 * (k * k) as f64 * lambda * lambda).exp();
        sum += if k % 2 == 1 { term } else { -term };
        if term < 1e-17 {
            break;
        }
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

fn table(r: &CompareReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "randnet {}: compare {} on the same {} networks (seed {}); diverged: {}",
        r.version,
        r.laws.join(", "),
        r.networks,
        r.seed,
        r.diverged
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let w = r
        .order
        .iter()
        .map(|(o, _)| o.len())
        .max()
        .unwrap_or(0)
        .max(18);
    let mut head = format!("{:<w$} {:<17}", "observable", "statistic");
    for (k, law) in r.laws.iter().enumerate() {
        let _ = write!(head, " {:>22}", format!("{law}"));
        if k > 0 {
            let _ = write!(head, " {:>24}", format!("{law} - {}", r.laws[0]));
        }
    }
    let _ = writeln!(out, "{head}");
    for (obs, stats) in &r.order {
        for stat in stats {
            let entries = &r.observables[obs][stat];
            let first_reliable = entries[0].reliable;
            let mut line = format!("{obs:<w$} {stat:<17}");
            for e in entries {
                let flag = if e.reliable { "" } else { "*" };
                let _ = write!(
                    line,
                    " {:>22}",
                    format!(
                        "{} ± {}{flag}",
                        fmt_sig(e.estimate, 5),
                        fmt_sig(e.stderr, 2)
                    )
                );
                if let (Some(dv), Some(ds)) = (e.difference, e.difference_stderr) {
                    // A difference is as reliable as the less reliable of its two estimates.
                    let flag = if e.reliable && first_reliable {
                        ""
                    } else {
                        "*"
                    };
                    let _ = write!(
                        line,
                        " {:>24}",
                        format!("{} ± {}{flag}", fmt_sig(dv, 3), fmt_sig(ds, 2))
                    );
                }
            }
            let _ = writeln!(out, "{line}");
        }
    }
    let _ = writeln!(
        out,
        "* not reliable at this sample size (docs/statistics.md, \"Reliability\"); differences: jackknife over the shared groups, which accounts for the laws sharing the stream's words."
    );
    let _ = writeln!(
        out,
        "Kolmogorov–Smirnov against {} (p for independent samples; conservative here):",
        r.laws[0]
    );
    for (obs, _) in &r.order {
        let cells: Vec<String> = r.ks[obs]
            .iter()
            .zip(&r.laws[1..])
            .map(|(k, law)| {
                format!(
                    "{law}: D = {}, p = {}",
                    fmt_sig(k.statistic, 3),
                    fmt_sig(k.p_value_if_independent, 2)
                )
            })
            .collect();
        let _ = writeln!(out, "  {obs:<w$} {}", cells.join("; "));
    }
    out
}

fn csv(r: &CompareReport) -> String {
    let mut out = String::from(
        "observable,statistic,law,estimate,stderr,reliable,difference,difference_stderr\n",
    );
    for (obs, stats) in &r.order {
        for stat in stats {
            for (law, e) in r.laws.iter().zip(&r.observables[obs][stat]) {
                let opt = |v: Option<f64>| v.map(|v| format!("{v:e}")).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{obs},{stat},{law},{:e},{:e},{},{},{}",
                    e.estimate,
                    e.stderr,
                    e.reliable,
                    opt(e.difference),
                    opt(e.difference_stderr)
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// D of two samples against a direct evaluation of the empirical CDFs at every point, and
    /// Q_KS at a tabulated value (Q_KS(1.36) ≈ 0.0494, the 5 % point).
    #[test]
    fn ks_statistic_and_p_value() {
        let a = [0.1, 0.4, 0.45, 0.9, 1.3];
        let b = [0.2, 0.3, 0.5, 0.7, 1.1, 1.2, 2.0];
        let cdf = |s: &[f64], x: f64| s.iter().filter(|&&v| v <= x).count() as f64 / s.len() as f64;
        let direct = a
            .iter()
            .chain(&b)
            .map(|&x| (cdf(&a, x) - cdf(&b, x)).abs())
            .fold(0.0, f64::max);
        let ks = two_sample_ks(&a, &b);
        assert_eq!(ks.statistic, direct);
        assert!((q_ks(1.36) - 0.0494).abs() < 5e-4, "{}", q_ks(1.36));
        assert_eq!(q_ks(0.1), 1.0);
        let same = two_sample_ks(&a, &a);
        assert_eq!(same.statistic, 0.0);
    }
}

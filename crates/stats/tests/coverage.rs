//! Statistical checks of the standard errors: coverage of the jackknife 95% interval over many
//! independent runs, and a large-sample check of every estimate against the exact value.

mod common;
use common::{chi2_cumulant, Rng};
use randnet_stats::{Accumulator, Statistic};

const G: usize = 64;
/// Degrees of freedom of the chi-square observable: excess kurtosis 12/K = 1.5.
const K: u32 = 8;

/// Observables: 0: N(1, 2^2); 1: chi2(K); 2: a = U + W; 3: b = V - W, with U, V ~ N(0,1) and
/// W = chi2(1) - 1 independent, so kappa(a,a,b,b) = (+1)(+1)(-1)(-1) kappa4(W) = 48.
fn draw(rng: &mut Rng) -> [f64; 4] {
    let g = 1.0 + 2.0 * rng.normal();
    let c = rng.chi2(K);
    let w = rng.chi2(1) - 1.0;
    let a = rng.normal() + w;
    let b = rng.normal() - w;
    [g, c, a, b]
}

/// Exact value of `stat` for observable 0 or 1.
fn truth(obs: usize, stat: Statistic) -> f64 {
    match obs {
        0 => match stat {
            Statistic::Mean => 1.0,
            Statistic::Variance => 4.0,
            _ => 0.0,
        },
        1 => match stat {
            Statistic::Mean => K as f64,
            Statistic::Variance => chi2_cumulant(K, 2),
            Statistic::Kappa3 => chi2_cumulant(K, 3),
            Statistic::Kappa4 => chi2_cumulant(K, 4),
            Statistic::Kappa6 => chi2_cumulant(K, 6),
            Statistic::ExcessKurtosis => 12.0 / K as f64,
            Statistic::RelativeVariance => 2.0 / K as f64,
        },
        _ => unreachable!(),
    }
}

fn run(m: usize, seed: u64) -> Accumulator {
    let mut rng = Rng::new(seed);
    let first = draw(&mut rng);
    // Shifts: network 0's values, as the caller is meant to choose them.
    let mut acc = Accumulator::new(4, vec![(0, 1), (2, 3)], first.to_vec(), G);
    acc.push(0, &first);
    for i in 1..m as u64 {
        acc.push(i, &draw(&mut rng));
    }
    acc
}

/// Per estimator: (fraction of runs whose estimate +- 1.96 stderr covers the truth,
/// RMS stderr / empirical sd of the estimates over the runs).
fn coverage(m: usize, runs: u64, seed0: u64) -> std::collections::BTreeMap<String, (f64, f64)> {
    let mut rec = std::collections::BTreeMap::<String, Vec<(f64, f64, f64)>>::new();
    for r in 0..runs {
        let acc = run(m, seed0 + r);
        for obs in 0..2 {
            for s in Statistic::ALL {
                rec.entry(format!("obs{obs}.{}", s.name()))
                    .or_default()
                    .push((
                        acc.estimate(obs, s).estimate,
                        acc.estimate(obs, s).stderr,
                        truth(obs, s),
                    ));
            }
        }
        for (p, t) in [(0, 0.0), (1, 48.0)] {
            let e = acc.joint_kappa4(p);
            rec.entry(format!("joint_kappa4[pair {p}]"))
                .or_default()
                .push((e.estimate, e.stderr, t));
        }
    }
    println!("estimate +- 1.96 stderr, {runs} runs of M = {m}, G = {G}:");
    rec.into_iter()
        .map(|(name, v)| {
            let n = v.len() as f64;
            let cov = v
                .iter()
                .filter(|(e, se, t)| (e - t).abs() <= 1.96 * se)
                .count() as f64
                / n;
            let mean = v.iter().map(|x| x.0).sum::<f64>() / n;
            let sd = (v.iter().map(|x| (x.0 - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
            let rms = (v.iter().map(|x| x.1 * x.1).sum::<f64>() / n).sqrt();
            println!(
                "  {name:>28}: coverage {cov:.3}   rms stderr / sd of estimates {:.3}",
                rms / sd
            );
            (name, (cov, rms / sd))
        })
        .collect()
}

// Coverage tolerance [0.88, 0.99]: with 200 runs the binomial sd of a 95% coverage is 0.015, so
// this admits -4.6 / +2.6 sd of noise around 0.95 while failing a stderr that is off by ~25%
// (coverage 0.86 at 0.8x, 0.995 at 1.25x). The jackknife with G = 64 groups has G - 1 = 63
// degrees of freedom, so its nominal coverage at 1.96 is ~0.945, not 0.95.
const COVERAGE: std::ops::RangeInclusive<f64> = 0.88..=0.99;

/// Every estimator's standard error has the right size on average, even where the symmetric
/// interval undercovers: RMS stderr / sd of the 200 estimates within [0.8, 1.25]. (The sd of a
/// sample sd over 200 runs is ~5% for light tails and up to ~15% for the heavy-tailed kappa6 and
/// joint_kappa4 estimators of chi-square variables; a stderr formula off by a constant factor,
/// e.g. a missing (G-1)/G or a sqrt(G), is far outside.)
fn assert_scale(cov: &std::collections::BTreeMap<String, (f64, f64)>) {
    for (name, &(_, ratio)) in cov {
        assert!(
            (0.8..=1.25).contains(&ratio),
            "{name}: rms stderr / sd = {ratio}"
        );
    }
}

#[test]
fn jackknife_intervals_cover() {
    let cov = coverage(2000, 200, 1000);
    assert_scale(&cov);
    for name in [
        "obs0.mean",
        "obs0.variance",
        "obs0.excess_kurtosis",
        "obs0.kappa3",
        "obs0.kappa4",
        "obs0.kappa6",
        "obs1.mean",
        "obs1.variance",
    ] {
        let c = cov[name].0;
        assert!(COVERAGE.contains(&c), "{name}: coverage {c}");
    }
    // The excess kurtosis (and kappa4, kappa6) of the skewed chi2(8) law is NOT asserted at
    // M = 2000: its estimator is strongly right-skewed there and its stderr is correlated with
    // it, so the symmetric interval undercovers (~0.86 over 1000 runs) although the stderr has
    // the right size on average (rms stderr / sd ~ 1). See docs/statistics.md. At M = 20000 the
    // normal approximation holds; that is asserted in the next test.
}

#[test]
fn jackknife_intervals_cover_skewed_law_at_larger_m() {
    let cov = coverage(20_000, 200, 5000);
    assert_scale(&cov);
    for name in [
        "obs1.mean",
        "obs1.variance",
        "obs1.excess_kurtosis",
        "obs1.kappa3",
    ] {
        let c = cov[name].0;
        assert!(COVERAGE.contains(&c), "{name}: coverage {c}");
    }
}

#[test]
fn large_sample_estimates_within_4_stderr() {
    let m = 1_000_000;
    let acc = run(m, 42);
    let mut checks = Vec::new();
    for obs in 0..2 {
        for s in Statistic::ALL {
            checks.push((
                format!("obs{obs}.{}", s.name()),
                acc.estimate(obs, s),
                truth(obs, s),
            ));
        }
    }
    checks.push(("joint_kappa4[0,1]".into(), acc.joint_kappa4(0), 0.0));
    checks.push(("joint_kappa4[2,3]".into(), acc.joint_kappa4(1), 48.0));
    // The a, b marginals: a = U + W has kappa4 = 48, kappa3 = kappa3(W) = 8, variance 3.
    checks.push((
        "obs2.variance".into(),
        acc.estimate(2, Statistic::Variance),
        3.0,
    ));
    checks.push((
        "obs2.kappa3".into(),
        acc.estimate(2, Statistic::Kappa3),
        8.0,
    ));
    checks.push((
        "obs3.kappa3".into(),
        acc.estimate(3, Statistic::Kappa3),
        -8.0,
    ));
    checks.push((
        "obs3.kappa4".into(),
        acc.estimate(3, Statistic::Kappa4),
        48.0,
    ));
    checks.push((
        "obs3.kappa6".into(),
        acc.estimate(3, Statistic::Kappa6),
        chi2_cumulant(1, 6),
    ));
    for (name, e, t) in checks {
        let z = (e.estimate - t) / e.stderr;
        println!(
            "{name:>24}: {:>14.6} +- {:<12.6} truth {t:>12.6}  z = {z:+.2}",
            e.estimate, e.stderr
        );
        // Tolerance 4 stderr: a fixed seed, ~20 checks; a wrong constant
        // (e.g. a biased k-statistic, or a stderr off by a factor) shows up far beyond that.
        assert!(
            z.abs() <= 4.0,
            "{name}: {} +- {} vs truth {t} (z = {z})",
            e.estimate,
            e.stderr
        );
        assert!(e.stderr > 0.0 && e.stderr.is_finite());
    }
}

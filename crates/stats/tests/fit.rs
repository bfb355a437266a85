//! The infinite-width extrapolation `y = a + b/n` (randnet_stats::fit): exactness on noiseless
//! data, and coverage of the joint-jackknife interval of `a` on synthetic data correlated across
//! widths the way the points of one sweep are (every point draws network `i` from the same
//! random numbers), against the error that treats the points as independent.

mod common;
use common::Rng;
use randnet_stats::fit::{fit_inverse_width, fit_inverse_width_jackknife, independent_stderr};
use randnet_stats::{Accumulator, Statistic};

const G: usize = 64;
const WIDTHS: [f64; 5] = [8.0, 16.0, 32.0, 64.0, 128.0];

#[test]
fn noiseless_data_are_recovered_exactly() {
    let mut rng = Rng::new(3);
    for &(a, b) in &[(1.0, -3.0), (0.3104, 0.7), (-2.5e3, 4.0e4), (0.0, 1.0)] {
        let y: Vec<f64> = WIDTHS.iter().map(|n| a + b / n).collect();
        let w: Vec<f64> = WIDTHS.iter().map(|_| 0.1 + rng.uniform() * 10.0).collect();
        let (ah, bh) = fit_inverse_width(&WIDTHS, &y, &w).unwrap();
        let scale = a.abs().max(b.abs() / 8.0).max(1.0);
        assert!((ah - a).abs() <= 1e-12 * scale, "a {ah} vs {a}");
        assert!((bh - b).abs() <= 1e-12 * scale * 8.0, "b {bh} vs {b}");
    }
    // Through accumulators: every network at point p has the value a + b/n_p, so each point's
    // estimate and every replicate is exact, the fit is exact and its errors vanish.
    let (a, b) = (0.75, -2.0);
    let points: Vec<_> = WIDTHS
        .iter()
        .map(|n| {
            let v = a + b / n;
            let mut acc = Accumulator::new(1, vec![], vec![v], G);
            for i in 0..500u64 {
                acc.push(i, &[v]);
            }
            acc.replicates(0, Statistic::Mean)
        })
        .collect();
    let fit = fit_inverse_width_jackknife(&WIDTHS, &points, &[1.0; 5]).unwrap();
    assert!(
        (fit.a - a).abs() < 1e-12 && (fit.b - b).abs() < 1e-11,
        "{fit:?}"
    );
    assert!(fit.a_stderr < 1e-12 && fit.b_stderr < 1e-11, "{fit:?}");
    assert_eq!(fit.groups, G);
}

/// One synthetic sweep: per point one accumulator over the same network indices. Network `i`
/// carries a shared draw `s_i` (the same at every width) and an own draw per width.
/// `stat = Mean`: y = a + b/n + s_i + e_{p,i}, s ~ N(0, 1), e ~ N(0, 0.3²).
/// `stat = Variance`: y = sqrt(a + b/n) (ρ s_i + sqrt(1 − ρ²) e_{p,i}), ρ = 0.9, e ~ N(0, 1),
/// so the variance at width n is exactly a + b/n.
fn sweep(seed: u64, m: u64, stat: Statistic, a: f64, b: f64) -> Vec<Accumulator> {
    let mut rng = Rng::new(seed);
    let mut accs: Vec<Option<Accumulator>> = vec![None; WIDTHS.len()];
    let rho: f64 = 0.9;
    for i in 0..m {
        let s = rng.normal();
        for (p, n) in WIDTHS.iter().enumerate() {
            let e = rng.normal();
            let y = match stat {
                Statistic::Mean => a + b / n + s + 0.3 * e,
                _ => (a + b / n).sqrt() * (rho * s + (1.0 - rho * rho).sqrt() * e),
            };
            let acc = accs[p].get_or_insert_with(|| Accumulator::new(1, vec![], vec![y], G));
            acc.push(i, &[y]);
        }
    }
    accs.into_iter().map(Option::unwrap).collect()
}

struct Study {
    joint_cover_a: f64,
    indep_cover_a: f64,
    /// RMS stderr / empirical sd of the estimates, for a and b.
    joint_scale: (f64, f64),
    indep_scale: (f64, f64),
    mean_a: f64,
    sd_a: f64,
}

fn study(stat: Statistic, a: f64, b: f64, runs: u64, m: u64) -> Study {
    let mut ah = Vec::new();
    let mut bh = Vec::new();
    let (mut ja, mut jb, mut ia, mut ib) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let (mut joint_in, mut indep_in) = (0u64, 0u64);
    for run in 0..runs {
        let accs = sweep(1000 + run, m, stat, a, b);
        let points: Vec<_> = accs.iter().map(|acc| acc.replicates(0, stat)).collect();
        let stderrs: Vec<f64> = accs
            .iter()
            .map(|acc| acc.estimate(0, stat).stderr)
            .collect();
        let weights: Vec<f64> = stderrs.iter().map(|s| 1.0 / (s * s)).collect();
        let fit = fit_inverse_width_jackknife(&WIDTHS, &points, &weights).unwrap();
        assert_eq!(fit.groups, G);
        let (sa, sb) = independent_stderr(&WIDTHS, &weights, &stderrs).unwrap();
        if (fit.a - a).abs() <= 1.96 * fit.a_stderr {
            joint_in += 1;
        }
        if (fit.a - a).abs() <= 1.96 * sa {
            indep_in += 1;
        }
        ah.push(fit.a);
        bh.push(fit.b);
        ja.push(fit.a_stderr);
        jb.push(fit.b_stderr);
        ia.push(sa);
        ib.push(sb);
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let sd = |v: &[f64]| {
        let m = mean(v);
        (v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (v.len() as f64 - 1.0)).sqrt()
    };
    let rms = |v: &[f64]| (v.iter().map(|x| x * x).sum::<f64>() / v.len() as f64).sqrt();
    let (sda, sdb) = (sd(&ah), sd(&bh));
    Study {
        joint_cover_a: joint_in as f64 / runs as f64,
        indep_cover_a: indep_in as f64 / runs as f64,
        joint_scale: (rms(&ja) / sda, rms(&jb) / sdb),
        indep_scale: (rms(&ia) / sda, rms(&ib) / sdb),
        mean_a: mean(&ah),
        sd_a: sda,
    }
}

fn report(name: &str, s: &Study) {
    eprintln!(
        "{name}: coverage of a (|a_hat - a| <= 1.96 stderr): joint jackknife {:.3}, independent points {:.3}; \
         RMS stderr / empirical sd: joint a {:.3} b {:.3}, independent a {:.3} b {:.3}; mean a_hat {:.5} (sd {:.5})",
        s.joint_cover_a,
        s.indep_cover_a,
        s.joint_scale.0,
        s.joint_scale.1,
        s.indep_scale.0,
        s.indep_scale.1,
        s.mean_a,
        s.sd_a
    );
}

/// 1000 synthetic sweeps of 2000 networks at 5 widths. The joint jackknife covers a at the
/// nominal rate and sizes the errors of a and b right; the error that ignores the shared seed is
/// too small for a (the shared part of the noise passes to a in full, Σ c_p = 1, while the
/// independent formula shrinks it by Σ c_p² < 1) and far too large for b (the shared part
/// cancels in the slope, Σ d_p = 0).
#[test]
fn joint_jackknife_covers_the_intercept_of_the_mean() {
    let s = study(Statistic::Mean, 1.0, -3.0, 1000, 2000);
    report("mean", &s);
    assert!(
        (0.90..=0.99).contains(&s.joint_cover_a),
        "joint coverage {}",
        s.joint_cover_a
    );
    assert!(
        (0.9..=1.1).contains(&s.joint_scale.0),
        "joint scale a {:?}",
        s.joint_scale
    );
    assert!(
        (0.9..=1.1).contains(&s.joint_scale.1),
        "joint scale b {:?}",
        s.joint_scale
    );
    // Ignoring the correlation: a's error ~0.7 of the truth, and b's ~3.5 times it.
    assert!(
        s.indep_scale.0 < 0.8,
        "independent scale a {:?}",
        s.indep_scale
    );
    assert!(
        s.indep_scale.1 > 2.0,
        "independent scale b {:?}",
        s.indep_scale
    );
    assert!(s.indep_cover_a < s.joint_cover_a - 0.04);
}

/// The same for a nonlinear statistic (the variance, a ratio of power sums) whose value at width
/// n is a + b/n exactly.
#[test]
fn joint_jackknife_covers_the_intercept_of_the_variance() {
    let s = study(Statistic::Variance, 1.0, 2.0, 1000, 2000);
    report("variance", &s);
    assert!(
        (0.90..=0.99).contains(&s.joint_cover_a),
        "joint coverage {}",
        s.joint_cover_a
    );
    assert!(
        (0.9..=1.1).contains(&s.joint_scale.0),
        "joint scale a {:?}",
        s.joint_scale
    );
    assert!(
        (0.9..=1.1).contains(&s.joint_scale.1),
        "joint scale b {:?}",
        s.joint_scale
    );
    assert!(
        (s.indep_scale.0 - 1.0).abs() > 0.15 || (s.indep_scale.1 - 1.0).abs() > 0.15,
        "independent scale {:?}",
        s.indep_scale
    );
}

/// Weighted least squares recovers exact coefficients from noiseless rows, and its covariance is
/// (XᵀWX)⁻¹: for y = a + b x with equal se s at x = 0, 1, 2 that is s²/6 · [[5, −3], [−3, 3]].
#[test]
fn weighted_least_squares_is_exact_on_a_line() {
    use randnet_stats::fit::weighted_least_squares;
    let s = 0.5;
    let rows: Vec<(Vec<f64>, f64, f64)> = (0..3)
        .map(|x| (vec![1.0, x as f64], 2.0 - 3.0 * x as f64, s))
        .collect();
    let (beta, cov) = weighted_least_squares(&rows).unwrap();
    // Gauss–Jordan on a 2×2 system of small integers: exact to rounding.
    assert!(
        (beta[0] - 2.0).abs() < 1e-12 && (beta[1] + 3.0).abs() < 1e-12,
        "{beta:?}"
    );
    let want = [[5.0, -3.0], [-3.0, 3.0]];
    for i in 0..2 {
        for j in 0..2 {
            assert!(
                (cov[i][j] - s * s / 6.0 * want[i][j]).abs() < 1e-12,
                "{cov:?}"
            );
        }
    }
    // Collinear regressors: no fit.
    let collinear: Vec<(Vec<f64>, f64, f64)> = (0..3)
        .map(|x| (vec![x as f64, 2.0 * x as f64], 1.0, 1.0))
        .collect();
    assert!(weighted_least_squares(&collinear).is_none());
    assert!(weighted_least_squares(&[]).is_none());
}

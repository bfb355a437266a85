//! Exact unbiasedness of the k-statistics: for a discrete law with a few support points and a
//! small sample size n, enumerate EVERY ordered n-tuple (with replacement), weight it by its
//! probability, and compare the exact expectation of each estimator with the exact cumulant of
//! the law. The cumulants are computed independently of the crate: univariate ones from raw
//! moments by the moment-cumulant recursion, the joint kappa(a,a,b,b) from population central
//! moments as mu22 - mu20 mu02 - 2 mu11^2.

use randnet_stats::{Accumulator, Statistic};

/// kappa_1..kappa_rmax from raw moments m[r] = E[X^r] (m[0] = 1) by the recursion
/// kappa_r = m_r - sum_{j=1}^{r-1} C(r-1, j-1) kappa_j m_{r-j}.
fn cumulants_from_raw(m: &[f64]) -> Vec<f64> {
    let rmax = m.len() - 1;
    let mut k = vec![0.0; rmax + 1];
    for r in 1..=rmax {
        let mut acc = m[r];
        for j in 1..r {
            acc -= binom(r - 1, j - 1) * k[j] * m[r - j];
        }
        k[r] = acc;
    }
    k
}

fn binom(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// Calls `f(tuple_indices, probability)` for every ordered n-tuple of support indices.
fn for_each_tuple(probs: &[f64], n: usize, mut f: impl FnMut(&[usize], f64)) {
    let s = probs.len();
    let mut idx = vec![0usize; n];
    loop {
        let w: f64 = idx.iter().map(|&i| probs[i]).product();
        f(&idx, w);
        // odometer increment
        let mut pos = 0;
        loop {
            if pos == n {
                return;
            }
            idx[pos] += 1;
            if idx[pos] < s {
                break;
            }
            idx[pos] = 0;
            pos += 1;
        }
    }
}

fn check_univariate(values: &[f64], probs: &[f64], shift: f64, n: usize) {
    let raw: Vec<f64> = (0..=6)
        .map(|r| values.iter().zip(probs).map(|(v, p)| p * v.powi(r)).sum())
        .collect();
    let kappa = cumulants_from_raw(&raw);
    let stats = [
        (Statistic::Mean, 1usize),
        (Statistic::Variance, 2),
        (Statistic::Kappa3, 3),
        (Statistic::Kappa4, 4),
        (Statistic::Kappa6, 6),
    ];
    let mut expect = [0.0f64; 5];
    for_each_tuple(probs, n, |idx, w| {
        // G = 2 so the jackknife path (prefix/suffix sums) is exercised as well.
        let mut acc = Accumulator::new(1, vec![], vec![shift], 2);
        for (i, &k) in idx.iter().enumerate() {
            acc.push(i as u64, &[values[k]]);
        }
        for (e, (s, _)) in expect.iter_mut().zip(stats) {
            *e += w * acc.estimate(0, s).estimate;
        }
    });
    for (e, (s, r)) in expect.iter().zip(stats) {
        // Relative to the larger of |kappa_r| and the natural scale kappa2^(r/2).
        let scale = kappa[r].abs().max(kappa[2].powf(r as f64 / 2.0));
        let rel = (e - kappa[r]).abs() / scale;
        println!(
            "n={n} {}: E[k] = {e:.15e}, kappa = {:.15e}, rel err {rel:.1e}",
            s.name(),
            kappa[r]
        );
        // Tolerance 1e-10 relative: the expectation is a probability-weighted sum of at most
        // 3^8 = 6561 f64 estimates, each accurate to ~1e-14 relative to the data's scale; the
        // cumulants here are O(1) relative to that scale, so the sum is good to ~1e-12. A wrong
        // coefficient in any k-statistic gives an O(1/n) relative error, far above this.
        assert!(
            rel < 1e-10,
            "{} not unbiased at n={n}: {e} vs {}",
            s.name(),
            kappa[r]
        );
    }
}

#[test]
fn k_statistics_are_exactly_unbiased_three_point() {
    // An asymmetric three-point law, so kappa3..kappa6 are all non-zero.
    let values = [1.0, 2.5, 6.0];
    let probs = [0.5, 0.3, 0.2];
    for n in [6, 7, 8] {
        check_univariate(&values, &probs, 2.0, n);
    }
}

#[test]
fn k_statistics_are_exactly_unbiased_two_point() {
    // Bernoulli(0.3) moved to {-1.5, 4}: a law whose kappa6 is far from kappa4^(3/2) etc.
    let values = [-1.5, 4.0];
    let probs = [0.7, 0.3];
    for n in [6, 7, 9] {
        // Shift far from the mean too: k-statistics of order >= 2 are shift invariant.
        check_univariate(&values, &probs, -3.0, n);
    }
}

#[test]
fn sanity_cumulants_of_bernoulli() {
    // Independent check of the recursion: Bernoulli(p) has kappa2 = pq, kappa3 = pq(q - p),
    // kappa4 = pq(1 - 6pq). Tolerance 1e-14: a few f64 operations on O(1) numbers.
    let p: f64 = 0.3;
    let q = 1.0 - p;
    let raw = vec![1.0, p, p, p, p, p, p];
    let k = cumulants_from_raw(&raw);
    assert!((k[2] - p * q).abs() < 1e-14);
    assert!((k[3] - p * q * (q - p)).abs() < 1e-14);
    assert!((k[4] - p * q * (1.0 - 6.0 * p * q)).abs() < 1e-14);
    // kappa6 = pq(1 - 30pq + 120 p^2 q^2) (e.g. Kendall & Stuart, binomial cumulants).
    assert!((k[6] - p * q * (1.0 - 30.0 * p * q + 120.0 * p * p * q * q)).abs() < 1e-14);
}

#[test]
fn joint_kappa4_is_exactly_unbiased() {
    // A four-point bivariate law with correlated, skewed coordinates.
    let pts = [(0.0, 0.0), (1.0, 2.0), (2.0, -1.0), (3.5, 1.5)];
    let probs = [0.1, 0.2, 0.3, 0.4];
    let ea: f64 = pts.iter().zip(&probs).map(|(p, w)| w * p.0).sum();
    let eb: f64 = pts.iter().zip(&probs).map(|(p, w)| w * p.1).sum();
    let mu = |i: i32, j: i32| -> f64 {
        pts.iter()
            .zip(&probs)
            .map(|(p, w)| w * (p.0 - ea).powi(i) * (p.1 - eb).powi(j))
            .sum()
    };
    let kappa = mu(2, 2) - mu(2, 0) * mu(0, 2) - 2.0 * mu(1, 1) * mu(1, 1);
    assert!(
        kappa.abs() > 0.1,
        "test law should have a non-trivial kappa(a,a,b,b)"
    );
    for n in [4, 5, 6] {
        let mut expect = 0.0;
        for_each_tuple(&probs, n, |idx, w| {
            let mut acc = Accumulator::new(2, vec![(0, 1)], vec![1.0, 0.5], 3);
            for (i, &k) in idx.iter().enumerate() {
                acc.push(i as u64, &[pts[k].0, pts[k].1]);
            }
            expect += w * acc.joint_kappa4(0).estimate;
        });
        let rel = (expect - kappa).abs() / kappa.abs();
        println!("n={n} joint_kappa4: E = {expect:.15e}, kappa = {kappa:.15e}, rel err {rel:.1e}");
        // Tolerance 1e-10 relative: same reasoning as for the univariate k-statistics
        // (at most 4^6 = 4096 weighted terms of f64 accuracy).
        assert!(
            rel < 1e-10,
            "joint_kappa4 not unbiased at n={n}: {expect} vs {kappa}"
        );
    }
    // The test can tell an unbiased estimator from the plug-in m22 - m20 m02 - 2 m11^2 (sample
    // central moments), whose expectation is off by O(1/n).
    let n = 5;
    let mut plug = 0.0;
    for_each_tuple(&probs, n, |idx, w| {
        let a: Vec<f64> = idx.iter().map(|&k| pts[k].0).collect();
        let b: Vec<f64> = idx.iter().map(|&k| pts[k].1).collect();
        let (ma, mb) = (
            a.iter().sum::<f64>() / n as f64,
            b.iter().sum::<f64>() / n as f64,
        );
        let m = |i: i32, j: i32| -> f64 {
            a.iter()
                .zip(&b)
                .map(|(x, y)| (x - ma).powi(i) * (y - mb).powi(j))
                .sum::<f64>()
                / n as f64
        };
        plug += w * (m(2, 2) - m(2, 0) * m(0, 2) - 2.0 * m(1, 1) * m(1, 1));
    });
    println!("n={n} plug-in: E = {plug:.6e} vs kappa {kappa:.6e}");
    assert!((plug - kappa).abs() > 1e-3 * kappa.abs());
}

//! Precision of the exact Jacobian-norm law (`exact::jacobian_cumulants`, `exact::jacobian_law`)
//! at large widths, against an independent 50-digit reference.
//!
//! The fixture tests/reference/jacobian_mpmath.txt was produced by
//! `python3 crates/theory/tests/reference/jacobian_mpmath.py > crates/theory/tests/reference/jacobian_mpmath.txt`
//! (mpmath 1.3.0, 50 significant digits; about a minute): raw moments E‖Ju‖^j from exact Γ-ratios
//! and binomial sums, cumulants by the moment–cumulant recursion in 50-digit arithmetic, which
//! loses at most ~16 digits (κ6 at N = 100 000) and keeps ~34.
//!
//! Tolerance: the standardized cumulants κ_j/κ_2^{j/2} must agree to 1e-6 absolute — the unit in
//! which randnet's z-scores live. The sampling error of a standardized κ_j from M networks is of
//! order √(j!/M) (κ4: 0.005, κ6: 0.027 at M = 10⁶; still 1e-3 at M = 10⁹), so an error of 1e-6
//! moves no z-score by more than 1e-3 at any sample size randnet reaches. The mean and variance
//! are held to 1e-12 relative. The new implementation is in fact good to ~1e-13 absolute in the
//! standardized cumulants (asserted below at 1e-11, with the worst errors printed).
//!
//! Before/after (single χ_N factor, standardized κ6 error against the reference; measured with
//! `old_jacobian_cumulants` below, the pre-fix implementation kept verbatim in this file):
//! N = 50: old 1.5e-6, new < 1e-13; N = 2000: old 0.7, new < 1e-13; N = 100 000: old ~1e10
//! (garbage), new < 1e-13. See `old_raw_moment_route_fails_at_2000` for the asserted version.

#![allow(clippy::needless_range_loop)] // κ_j indexed alongside its reference

use randnet_theory::exact;

struct Case {
    relu: bool,
    cw: f64,
    widths: Vec<usize>,
    kap: [f64; 7],
}

fn fixture() -> Vec<Case> {
    let text = include_str!("reference/jacobian_mpmath.txt");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 9, "{l}");
            let mut kap = [0.0; 7];
            for j in 1..=6 {
                kap[j] = f[2 + j].parse().unwrap();
            }
            Case {
                relu: f[0] == "1",
                cw: f[1].parse().unwrap(),
                widths: f[2].split(',').map(|w| w.parse().unwrap()).collect(),
                kap,
            }
        })
        .collect()
}

/// Standardized cumulants κ_j/κ_2^{j/2}, j = 3..=6.
fn standardized(k: &[f64]) -> [f64; 7] {
    let sd = k[2].sqrt();
    let mut s = [0.0; 7];
    for j in 3..=6 {
        s[j] = k[j] / sd.powi(j as i32);
    }
    s
}

/// The pre-fix implementation (raw moments E J^m/(E J)^m from ln Γ, then the moment–cumulant
/// recursion), kept only to document how it fails.
fn old_jacobian_cumulants(cw: f64, widths: &[usize], relu: bool) -> Vec<f64> {
    let depth = widths.len() - 2;
    let mut log_scale = (depth as f64 + 1.0) * cw.ln();
    for &n in &widths[..=depth] {
        log_scale -= (n as f64).ln();
    }
    let mut mu = vec![1.0; 7];
    let mut mean = (0.5 * log_scale).exp();
    let mut factor = |pm: &dyn Fn(f64) -> f64| {
        let m1 = pm(0.5);
        mean *= m1;
        for (m, v) in mu.iter_mut().enumerate().skip(1) {
            *v *= pm(m as f64 / 2.0) / m1.powi(m as i32);
        }
    };
    for &n in &widths[1..=depth] {
        if relu {
            factor(&|p| exact::binomial_chi2_power_mean(n, p));
        } else {
            factor(&|p| exact::chi2_power_mean(n, p));
        }
    }
    let nout = widths[depth + 1];
    factor(&|p| exact::chi2_power_mean(nout, p));
    let kap = exact::cumulants_from_moments(&mu);
    kap.iter()
        .enumerate()
        .map(|(k, v)| if k == 0 { 0.0 } else { v * mean.powi(k as i32) })
        .collect()
}

/// (a) Every fixture case: mean and variance to 1e-12 relative, standardized κ3..κ6 to 1e-6
/// absolute (the required tolerance) and to 1e-11 (what the implementation achieves).
#[test]
fn jacobian_cumulants_match_50_digit_reference() {
    let mut worst = 0.0f64;
    for c in fixture() {
        let got = exact::jacobian_cumulants(c.cw, &c.widths, c.relu);
        let name = format!("relu={} cw={} widths={:?}", c.relu, c.cw, c.widths);
        for j in 1..=2 {
            let rel = (got[j] / c.kap[j] - 1.0).abs();
            println!("{name}: κ{j} relative error {rel:.1e}");
            assert!(
                rel <= 1e-12,
                "{name}: κ{j} {} vs {} ({rel:e})",
                got[j],
                c.kap[j]
            );
        }
        let (s, w) = (standardized(&got), standardized(&c.kap));
        for j in 3..=6 {
            let err = (s[j] - w[j]).abs();
            worst = worst.max(err);
            println!("{name}: κ{j}/κ2^({j}/2) = {:.6e}, error {err:.1e}", w[j]);
            assert!(
                err <= 1e-6,
                "{name}: standardized κ{j} {} vs {}",
                s[j],
                w[j]
            );
            assert!(
                err <= 1e-11,
                "{name}: standardized κ{j} {} vs {}",
                s[j],
                w[j]
            );
        }
        // jacobian_law (the estimators' sampling laws) is the same computation to order 12.
        let law = exact::jacobian_law(c.cw, &c.widths, c.relu, 12).unwrap();
        assert!((law.mean / c.kap[1] - 1.0).abs() <= 1e-12, "{name}");
        assert!((law.sd / c.kap[2].sqrt() - 1.0).abs() <= 1e-12, "{name}");
        let sk = law.standardized[3];
        let ek = law.standardized[4] - 3.0;
        assert!(
            (sk - w[3]).abs() <= 1e-11 && (ek - w[4]).abs() <= 1e-11,
            "{name}"
        );
    }
    println!("worst standardized error: {worst:e}");
}

/// (b) The old raw-moment route fails the same test at N = 2000 (χ_2000: its standardized κ6
/// is off by ~0.7, κ5 by ~1e-3) while passing at N = 16; the new one passes both.
#[test]
fn old_raw_moment_route_fails_at_2000() {
    let cases = fixture();
    let find = |w: &[usize]| cases.iter().find(|c| c.widths == w && !c.relu).unwrap();
    for (widths, old_fails) in [(vec![1usize, 16], false), (vec![1, 2000], true)] {
        let c = find(&widths);
        let want = standardized(&c.kap);
        let old = standardized(&old_jacobian_cumulants(1.0, &widths, false));
        let new = standardized(&exact::jacobian_cumulants(1.0, &widths, false));
        let err = |s: &[f64; 7]| (3..=6).map(|j| (s[j] - want[j]).abs()).fold(0.0, f64::max);
        println!(
            "χ_{}: old error {:.1e} (κ6 {:.3e} vs {:.3e}), new error {:.1e}",
            widths[1],
            err(&old),
            old[6],
            want[6],
            err(&new)
        );
        assert!(err(&new) <= 1e-11);
        assert_eq!(err(&old) > 1e-6, old_fails, "χ_{}", widths[1]);
    }
}

/// Small widths (n ≤ 16, the fixture's cases [1,1], [1,2], [1,7], [1,16], ReLU [1,1,1],
/// [3,4,4,2], [5,16,9,16,3], linear [3,12,5,4]): wherever the old route was accurate to 1e-13
/// relative, the new value is within 1e-12 relative of it; and the new value is never further
/// from the reference than the old one (beyond 1e-13 relative). The old route was not accurate
/// everywhere even here: χ_16's κ4, κ5, κ6 were off by 4e-8, 8e-8, 2.6e-6 relative (new:
/// 1e-12, 1e-13, 3e-12), χ_7's by ~3e-10 (new ≤ 4e-13), χ_1's κ5 by 3.6e-12 (new 2.8e-13);
/// on the ReLU cases both are within ~4e-14.
#[test]
fn small_widths_agree_with_the_old_route() {
    let mut worst = 0.0f64;
    for c in fixture() {
        if c.widths.iter().copied().max().unwrap() > 16 {
            continue;
        }
        let old = old_jacobian_cumulants(c.cw, &c.widths, c.relu);
        let new = exact::jacobian_cumulants(c.cw, &c.widths, c.relu);
        for j in 1..=6 {
            let (eo, en) = ((old[j] - c.kap[j]).abs(), (new[j] - c.kap[j]).abs());
            let rel = ((new[j] - old[j]) / old[j]).abs();
            println!(
                "{} {:?} κ{j}: old error {:.1e}, new error {:.1e}, difference {rel:.1e} (relative)",
                c.relu,
                c.widths,
                eo / c.kap[j].abs(),
                en / c.kap[j].abs()
            );
            if eo <= 1e-13 * c.kap[j].abs() {
                worst = worst.max(rel);
                assert!(
                    rel <= 1e-12,
                    "{:?} κ{j}: {} vs {}",
                    c.widths,
                    new[j],
                    old[j]
                );
            }
            assert!(en <= eo.max(1e-13 * c.kap[j].abs()), "{:?} κ{j}", c.widths);
        }
    }
    println!("worst relative difference where the old route was accurate: {worst:e}");
}

/// The χ quadrature is converged: halving the panels or using more nodes changes the mean by
/// < 3e-15 relative and the central moments μ_2..μ_12 by < 1e-14 of E|χ − Eχ|^j (K from 1 to
/// 10⁶); and E χ² = K holds to 2e-15.
#[test]
fn chi_quadrature_is_converged() {
    for k in [1usize, 2, 3, 5, 30, 1000, 100_000, 1_000_000] {
        let (c, d, mu) = exact::chi_moments_on(k, 12, 1.0, 16);
        for (panel, nodes) in [(0.5, 16), (1.0, 24), (0.25, 20)] {
            let (c2, d2, mu2) = exact::chi_moments_on(k, 12, panel, nodes);
            assert_eq!(c, c2);
            let mean = c + d;
            assert!(
                ((d - d2) / mean).abs() <= 3e-15,
                "K={k} {panel} {nodes}: {d} {d2}"
            );
            for j in 2..=12 {
                // E|χ − Eχ|^j ≤ √(μ_{2⌊j/2⌋} μ_{2⌈j/2⌉}) bounds the size of every term.
                let size = (mu[2 * (j / 2)] * mu[2 * j.div_ceil(2)]).sqrt();
                assert!(
                    (mu[j] - mu2[j]).abs() <= 1e-14 * size,
                    "K={k} μ{j}: {} {}",
                    mu[j],
                    mu2[j]
                );
            }
        }
        // E χ² = K: (c + d)² + μ2 = K, to 1e-15 relative.
        let m = c + d;
        assert!(((m * m + mu[2]) / k as f64 - 1.0).abs() <= 2e-15, "K={k}");
    }
}

/// Very wide layers stay finite and sane: at n = 10⁵ (ReLU, 3 layers) the standardized
/// cumulants are of the size their leading orders in 1/n say, not garbage.
#[test]
fn very_wide_relu_is_sane() {
    let n = 100_000;
    let k = exact::jacobian_cumulants(2.0, &[10, n, n, n, 1], true);
    let s = standardized(&k);
    assert!(k.iter().all(|v| v.is_finite()));
    // Dominated by the readout χ_1 factor: close to the χ_1 law's standardized cumulants (each
    // hidden layer moves them by ~1e-3: the fixture's [4, 100000, 1] has κ5/sd⁵ = −0.0547
    // against χ_1's −0.0557).
    let chi1 = standardized(&exact::jacobian_cumulants(1.0, &[1, 1], false));
    for j in 3..=6 {
        assert!(
            (s[j] - chi1[j]).abs() < 1e-2,
            "κ{j}: {} vs {}",
            s[j],
            chi1[j]
        );
    }
    // And with a wide readout: J/EJ is a product of three factors of relative sd ~ 0.003, so
    // the skewness is O(σ) (σ = sd/mean ≈ 0.0055; it is 0.011) and the rest smaller still. The
    // old route gave κ5/κ2^(5/2) ≈ −87 and κ6/κ2³ ≈ 5100 here.
    let k = exact::jacobian_cumulants(2.0, &[10, n, n, n], true);
    let s = standardized(&k);
    let sigma = k[2].sqrt() / k[1];
    assert!(s[3] > 0.0 && s[3] < 5.0 * sigma, "{} {sigma}", s[3]);
    for j in 4..=6 {
        assert!(s[j].abs() < 10.0 * sigma * sigma, "κ{j}: {} {sigma}", s[j]);
    }
}

// ---------------------------------------------------------------------------------------------
// Other laws that concentrate at large width, against tests/reference/wide_laws_mpmath.txt
// (produced by `python3 crates/theory/tests/reference/wide_laws_mpmath.py`; sqnorm2 exact in
// rational arithmetic, the others mpmath at 50 digits; the script documents each case).
//
// Before/after, standardized κ6 error (κ5 for the mixture errors in brackets):
// - sqnorm[2] of a ReLU net (`ScaleInvariantNet::sqnorm_cumulants`), raw-moment route
//   (`exact::product_cumulants`) → central moments: n = 2000: 1.0e-7 → 9e-15;
//   n = 100 000: 3.4e-3 → 7e-16.
// - `regions` on the circle, one layer (`geometry::circle_regions_one_layer`), raw moments
//   with ln Γ weights → central moments with ratio-recursion weights: n = 100: 2.8e-6 → 2e-14;
//   n = 1000: 4.1e-3 → 6e-14; n = 10 000: 160 → 1e-13 (κ2 there: 2.8e-7 relative → 9e-16).
// - the ln χ² binomial mixture of the log-Jacobian and Lyapunov laws (lib.rs
//   `log_chi2_binomial_cumulants`) was already built from moments about a centre near the mean
//   and is unchanged: ≤ 3.2e-11 standardized, κ2 ≤ 2.1e-12 relative, up to n = 20 000.
// ---------------------------------------------------------------------------------------------

/// The three laws above: κ1, κ2 to 1e-11 relative, standardized κ3..κ6 to 1e-10 absolute.
#[test]
fn wide_laws_match_references() {
    use randnet_problem::{Activation, NetworkSpec};
    use randnet_theory::{geometry, predict_named};
    let text = include_str!("reference/wide_laws_mpmath.txt");
    let mut seen = 0;
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let n: usize = f[1].parse().unwrap();
        let mut want = [0.0; 7];
        for j in 1..=6 {
            want[j] = f[1 + j].parse().unwrap();
        }
        let got: Vec<f64> = match f[0] {
            "sqnorm2" => {
                let net = exact::ScaleInvariantNet {
                    cw: 2.0,
                    widths: vec![4, n, n],
                    slopes: vec![(1.0, 0.0)],
                };
                net.sqnorm_cumulants(2, 4.0).unwrap()
            }
            "circle" => {
                let spec = NetworkSpec::builder(2, vec![n])
                    .activation(Activation::Relu)
                    .cw(2.0)
                    .cb(1.0)
                    .build()
                    .unwrap();
                geometry::circle_regions_one_layer(&spec, &[1.0, 0.0])
            }
            "logmix" => {
                // lyapunov[1] of an L = 1 ReLU net: ½[ln(C_W/n0) + ln X], X the mixture.
                let spec = NetworkSpec::builder(4, vec![n])
                    .activation(Activation::Relu)
                    .cw(2.0)
                    .build()
                    .unwrap();
                let xs = vec![vec![1.0, 0.0, 0.0, 0.0]];
                let p = |st| predict_named(&spec, &xs, "lyapunov[1]", st).unwrap().value;
                let mut k = vec![0.0, 2.0 * p("mean") - 0.5f64.ln(), 4.0 * p("variance")];
                k.push(8.0 * p("kappa3"));
                k.push(16.0 * p("kappa4"));
                k.push(want[5]); // κ5 is not a statistic
                k.push(64.0 * p("kappa6"));
                k
            }
            other => panic!("unknown case {other}"),
        };
        let (s, w) = (standardized(&got), standardized(&want));
        for j in 1..=2 {
            let rel = (got[j] / want[j] - 1.0).abs();
            assert!(
                rel <= 1e-11,
                "{} {n} κ{j}: {} vs {} ({rel:e})",
                f[0],
                got[j],
                want[j]
            );
        }
        for j in 3..=6 {
            let err = (s[j] - w[j]).abs();
            println!(
                "{} n={n}: κ{j}/κ2^({j}/2) = {:.4e}, error {err:.1e}",
                f[0], w[j]
            );
            assert!(err <= 1e-10, "{} {n} κ{j}: {} vs {}", f[0], s[j], w[j]);
        }
        seen += 1;
    }
    assert_eq!(seen, 9);
}

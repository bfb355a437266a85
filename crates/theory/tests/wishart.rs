//! The singular-value law of a real Gaussian matrix (`randnet_theory::wishart`, docs/theory.md
//! §2.6) and the `singular_value[a,i]` predictions built on it:
//!
//! - exact identities the quadrature must reproduce to rounding: the normalizer against
//!   Muirhead's constant (Thm 3.2.18), E tr W, E tr W², E tr W³ of W ~ W_p(N, I), and the χ_N law
//!   at p = 1; a refined grid must agree;
//! - brute-force Monte Carlo in independent code (Gaussian matrices from Pcg64Mcg, eigenvalues of
//!   the 2 × 2 Gram matrix in closed form and of the 3 × 3 one by Jacobi rotations): mean and
//!   variance of every σ_i within 4 standard errors, and the law with a wrong constant
//!   (|n_out − n0| off by one) more than 10 standard errors away;
//! - which spec gets which kind of prediction.

#![allow(clippy::needless_range_loop)]

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;
use randnet_problem::{Activation, NetworkSpec, Parameterization, Residual, WeightLaw};
use randnet_theory::{exact, predict_named, wishart, Kind};
use statrs::function::gamma::ln_gamma;

fn binom(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |a, i| a * (n - i) as f64 / (i + 1) as f64)
}

/// E[t^j] from the mean and central moments returned by `quadrature_moments`.
fn raw(mom: &[f64; 7], j: usize) -> f64 {
    let mu = mom[1];
    let c = |k: usize| match k {
        0 => 1.0,
        1 => 0.0,
        _ => mom[k],
    };
    (0..=j)
        .map(|k| binom(j, k) * c(k) * mu.powi((j - k) as i32))
        .sum()
}

/// ln of Muirhead's normalizer 2^{pN/2} Γ_p(N/2) Γ_p(p/2) / π^{p²/2}.
fn muirhead_log_constant(p: usize, n: usize) -> f64 {
    let (pf, nf) = (p as f64, n as f64);
    let lnpi = std::f64::consts::PI.ln();
    let log_mv_gamma = |a: f64| {
        pf * (pf - 1.0) / 4.0 * lnpi
            + (1..=p)
                .map(|j| ln_gamma(a - (j as f64 - 1.0) / 2.0))
                .sum::<f64>()
    };
    pf * nf / 2.0 * std::f64::consts::LN_2 + log_mv_gamma(nf / 2.0) + log_mv_gamma(pf / 2.0)
        - pf * pf / 2.0 * lnpi
}

const SHAPES_N: [usize; 8] = [0, 1, 2, 5, 17, 100, 1000, 5000];

/// Σ_i E λ_i = pN, Σ_i E λ_i² = pN(N + p + 1), Σ_i E λ_i³ = pN(N² + p² + 3Np + 3N + 3p + 4)
/// (the traces of W, W², W³ for W ~ W_p(N, I); symmetric in p ↔ N, and at p = 1 the χ²_N
/// moments N, N(N+2), N(N+2)(N+4)), and the normalizer, for p = 1..MAX_P and N − p from 0 to
/// 4999. Measured: worst ~2e-14 relative on the traces; the normalizer's log to ~1e-13 up to
/// N = 100 and ~2e-11 at N = 5000 (ln Γ of arguments ~2500 carries ~1e-11 absolute rounding of
/// its own, as does ln C). Tolerances: 1e-12 relative on the traces (100× the measured worst, and
/// 1e4× below the 1e-8 target), 1e-10 + 1e-14 |ln C| on the log normalizer.
#[test]
fn quadrature_reproduces_the_wishart_identities() {
    let mut worst: f64 = 0.0;
    for p in 1..=wishart::MAX_P {
        for extra in SHAPES_N {
            let n = p + extra;
            let m = wishart::quadrature_moments(p, n).expect("p <= MAX_P");
            assert_eq!(m.len(), p);
            let (pf, nf) = (p as f64, n as f64);
            let sums: Vec<f64> = [2, 4, 6]
                .iter()
                .map(|&j| m.iter().map(|mom| raw(mom, j)).sum())
                .collect();
            let want = [
                pf * nf,
                pf * nf * (nf + pf + 1.0),
                pf * nf * (nf * nf + pf * pf + 3.0 * nf * pf + 3.0 * nf + 3.0 * pf + 4.0),
            ];
            for (s, w) in sums.iter().zip(want) {
                let rel = (s / w - 1.0).abs();
                worst = worst.max(rel);
                assert!(rel < 1e-12, "p={p} N={n}: {s} vs {w} ({rel:e})");
            }
            // Ordered: E t_1 > E t_2 > ... > E t_p > 0.
            for i in 1..p {
                assert!(m[i - 1][1] > m[i][1], "p={p} N={n}: means not ordered");
            }
            let c = muirhead_log_constant(p, n);
            let zs = wishart::log_normalizers(p, n).unwrap();
            for (i, &z) in zs.iter().enumerate() {
                let i = i + 1;
                assert!(
                    (z - c).abs() < 1e-10 + 1e-14 * c.abs(),
                    "p={p} N={n} i={i}: ln Z = {z}, Muirhead {c}"
                );
            }
            // Symmetric in the shape: G and Gᵀ have the same singular values.
            assert_eq!(wishart::quadrature_moments(n, p), Some(m));
        }
    }
    println!("worst relative error of the trace identities: {worst:e}");
    assert!(wishart::quadrature_moments(wishart::MAX_P + 1, wishart::MAX_P + 3).is_none());
    assert!(wishart::singular_value_cumulants(11, 12, 1).is_none());
    assert!(wishart::singular_value_cumulants(2, 3, 3).is_none());
    assert!(wishart::singular_value_cumulants(2, 3, 0).is_none());
}

/// p = 1: the quadrature of the one-row matrix is the χ_N law (the law the n_out = 1
/// predictions use, `exact::jacobian_cumulants`). That law used to build cumulants from
/// normalized raw moments and carried rounding of order 1e-13 (E σ)^j in κ_j (its κ6 was off by
/// 1.5e-6 sd⁶ at N = 50 and by 0.7 sd⁶ at N = 2000); it now works with central moments from its
/// own one-dimensional quadrature (tests/jacobian_precision.rs), and the two agree to 1e-11 sd^j
/// for every N (the quadrature here is the Wishart one, independent code and grid).
#[test]
fn one_row_is_the_chi_law() {
    let mut worst = 0.0f64;
    for n in [1usize, 2, 3, 7, 50, 2000] {
        let m = wishart::quadrature_moments(1, n).unwrap();
        let mut central = m[0].to_vec();
        central[1] = 0.0;
        let mut q = exact::cumulants_from_moments(&central);
        q[1] = m[0][1];
        let chi = exact::jacobian_cumulants(1.0, &[1, n], false);
        assert_eq!(
            wishart::singular_value_cumulants(1, n, 1),
            Some(chi.clone())
        );
        let sd = chi[2].sqrt();
        for j in 1..=6 {
            let tol = 1e-11 * sd.powi(j as i32);
            worst = worst.max((q[j] - chi[j]).abs() / sd.powi(j as i32));
            assert!(
                (q[j] - chi[j]).abs() < tol,
                "N={n} κ{j}: quadrature {} vs χ {}",
                q[j],
                chi[j]
            );
        }
    }
    println!("worst |κ_j(quadrature) − κ_j(χ)|/sd^j: {worst:e}");
}

/// The default grid (panels ≤ 1/2 wide, 16 nodes) against a finer one (panels ≤ 0.3, 24 nodes):
/// the mean and central moments of every σ_i agree to 1e-10 sd^j (measured ≤ 2e-12: the grid is
/// converged, what is left is rounding), for square, nearly square and tall shapes up to p = 10.
#[test]
fn quadrature_is_converged() {
    for (p, n) in [
        (2, 2),
        (2, 3),
        (3, 3),
        (3, 5),
        (4, 4),
        (5, 9),
        (6, 6),
        (3, 400),
        (8, 8),
        (10, 10),
        (10, 11),
        (8, 1000),
    ] {
        let a = wishart::quadrature_moments(p, n).unwrap();
        let b = wishart::quadrature_moments_on(p, n, 0.3, 24).unwrap();
        for i in 0..p {
            let sd = a[i][2].sqrt();
            for j in 1..=6 {
                let tol = 1e-10 * sd.powi(j as i32);
                assert!(
                    (a[i][j] - b[i][j]).abs() < tol,
                    "p={p} N={n} i={} moment {j}: {} vs {}",
                    i + 1,
                    a[i][j],
                    b[i][j]
                );
            }
        }
    }
}

/// A per-i exact law: for a p × (p + 1) Gaussian matrix the smallest eigenvalue of the Gram
/// matrix is exponential with mean 2/p (Edelman 1988, SIAM J. Matrix Anal. Appl. 9, Cor. 3.1;
/// p = 1 is χ²_2), so σ_p is Rayleigh: E σ_p^m = (2/p)^{m/2} Γ(1 + m/2). The quadrature's
/// E σ_p^m, m = 1..6, must agree to 1e-12 relative (measured ~2e-15).
#[test]
fn smallest_singular_value_of_a_p_by_p_plus_one_matrix_is_rayleigh() {
    for p in 1..=wishart::MAX_P {
        let m = wishart::quadrature_moments(p, p + 1).unwrap();
        for j in 1..=6 {
            let want =
                (2.0 / p as f64).powf(j as f64 / 2.0) * (ln_gamma(1.0 + j as f64 / 2.0)).exp();
            let got = raw(&m[p - 1], j);
            assert!(
                (got / want - 1.0).abs() < 1e-12,
                "p={p} E σ^{j}: {got} vs {want}"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Brute force

fn normal(rng: &mut Pcg64Mcg) -> f64 {
    <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
}

/// Eigenvalues of a symmetric p × p matrix (row-major), descending: closed form for p = 2,
/// cyclic Jacobi rotations otherwise (to 1e-15 relative of the off-diagonal).
fn sym_eigenvalues(a: &mut [f64], p: usize) -> Vec<f64> {
    if p == 1 {
        return vec![a[0]];
    }
    if p == 2 {
        let (x, y, z) = (a[0], a[1], a[3]);
        let h = (0.25 * (x - z) * (x - z) + y * y).sqrt();
        return vec![0.5 * (x + z) + h, 0.5 * (x + z) - h];
    }
    for _sweep in 0..50 {
        let off: f64 = (0..p)
            .flat_map(|i| (0..p).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * p + j] * a[i * p + j])
            .sum();
        let diag: f64 = (0..p).map(|i| a[i * p + i] * a[i * p + i]).sum();
        if off <= 1e-30 * diag {
            break;
        }
        for i in 0..p {
            for j in i + 1..p {
                let aij = a[i * p + j];
                if aij == 0.0 {
                    continue;
                }
                let theta = (a[j * p + j] - a[i * p + i]) / (2.0 * aij);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..p {
                    let (aki, akj) = (a[k * p + i], a[k * p + j]);
                    a[k * p + i] = c * aki - s * akj;
                    a[k * p + j] = s * aki + c * akj;
                }
                for k in 0..p {
                    let (aik, ajk) = (a[i * p + k], a[j * p + k]);
                    a[i * p + k] = c * aik - s * ajk;
                    a[j * p + k] = s * aik + c * ajk;
                }
            }
        }
    }
    let mut e: Vec<f64> = (0..p).map(|i| a[i * p + i]).collect();
    e.sort_by(|x, y| y.total_cmp(x));
    e
}

/// Draws `draws` standard Gaussian rows × cols matrices; returns, per i, the sample mean, the
/// standard error of the mean, the unbiased variance and its standard error
/// √((m4 − s⁴)/draws) (the delta-method standard error of a sample variance).
fn brute_force(rows: usize, cols: usize, draws: usize, seed: u64) -> Vec<[f64; 4]> {
    let p = rows.min(cols);
    let n = rows.max(cols);
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let mut sv = vec![Vec::with_capacity(draws); p];
    let mut g = vec![0.0; p * n];
    let mut gram = vec![0.0; p * p];
    for _ in 0..draws {
        for v in g.iter_mut() {
            *v = normal(&mut rng);
        }
        for i in 0..p {
            for j in 0..p {
                gram[i * p + j] = (0..n).map(|k| g[i * n + k] * g[j * n + k]).sum();
            }
        }
        let e = sym_eigenvalues(&mut gram, p);
        for i in 0..p {
            sv[i].push(e[i].max(0.0).sqrt());
        }
    }
    sv.iter()
        .map(|x| {
            let m = draws as f64;
            let mean = x.iter().sum::<f64>() / m;
            let c2 = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m;
            let c4 = x.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / m;
            let var = c2 * m / (m - 1.0);
            [mean, (var / m).sqrt(), var, ((c4 - c2 * c2) / m).sqrt()]
        })
        .collect()
}

/// 200 000 matrices per shape: mean and variance of each σ_i within 4 standard errors (a
/// Gaussian |z| > 4 has probability 6e-5; 28 comparisons). The seed is fixed, so the test is
/// deterministic; the figures are printed. The power check: the law of shape (p, N + 1), i.e.
/// |n_out − n0| off by one (λ^{q/2} in place of λ^{(q−1)/2}), must miss the mean of σ_1 by
/// more than 10 standard errors (it misses by 120-250: E σ_i moves by ~1/(2√N) per unit of N,
/// against standard errors of ~1.5e-3).
#[test]
fn brute_force_matches_the_law() {
    const DRAWS: usize = 200_000;
    for (k, &(rows, cols)) in [(2usize, 3usize), (2, 2), (3, 2), (3, 3), (3, 5), (2, 9)]
        .iter()
        .enumerate()
    {
        let p = rows.min(cols);
        let n = rows.max(cols);
        let mc = brute_force(rows, cols, DRAWS, 100 + k as u64);
        for i in 1..=p {
            let kap = wishart::singular_value_cumulants(rows, cols, i).unwrap();
            let [mean, se_mean, var, se_var] = mc[i - 1];
            let z_mean = (mean - kap[1]) / se_mean;
            let z_var = (var - kap[2]) / se_var;
            println!(
                "{rows}x{cols} σ_{i}: mean {mean:.5} vs {:.5} (z = {z_mean:+.2}), variance {var:.5} vs {:.5} (z = {z_var:+.2})",
                kap[1], kap[2]
            );
            assert!(z_mean.abs() < 4.0, "{rows}x{cols} σ_{i} mean: z = {z_mean}");
            assert!(
                z_var.abs() < 4.0,
                "{rows}x{cols} σ_{i} variance: z = {z_var}"
            );
        }
        let wrong = wishart::singular_value_cumulants(p, n + 1, 1).unwrap();
        let z_wrong = (mc[0][0] - wrong[1]) / mc[0][1];
        println!("{rows}x{cols}: the (p, N+1) law misses the mean of σ_1 by z = {z_wrong:.1}");
        assert!(z_wrong.abs() > 10.0, "{rows}x{cols}: z_wrong = {z_wrong}");
    }
}

// ---------------------------------------------------------------------------------------------
// Predictions

fn spec(n0: usize, hidden: Vec<usize>, nout: usize, act: Activation) -> NetworkSpec {
    NetworkSpec::builder(n0, hidden)
        .output_dim(nout)
        .activation(act)
        .build()
        .unwrap()
}

fn xs(n0: usize) -> Vec<Vec<f64>> {
    vec![(0..n0).map(|j| 0.3 + 0.1 * j as f64).collect()]
}

/// L = 0: σ_i(W^1) = √(C_W/n0) σ_i(G) whatever the activation and parameterization, kind exact;
/// deeper zero-bias piecewise-linear nets: s σ_i(G), s² = (C_W/n0) Π_l C_W (a₊² + a₋²)/2, kind
/// infinite-width; no prediction for smooth activations at L ≥ 1, biased nonlinear nets,
/// residual nets, non-Gaussian weights, or p > MAX_P = 10.
#[test]
fn predictions_by_spec() {
    let stats = ["mean", "variance", "kappa3", "kappa4", "kappa6"];
    let idx = [1, 2, 3, 4, 6];
    // Depth 0, both parameterizations, any activation.
    for param in [Parameterization::Ntk, Parameterization::Standard] {
        for act in [Activation::Relu, Activation::Tanh] {
            let s = NetworkSpec::builder(3, vec![])
                .output_dim(2)
                .activation(act)
                .cw(1.7)
                .parameterization(param)
                .build()
                .unwrap();
            for i in 1..=2 {
                let kap = wishart::singular_value_cumulants(2, 3, i).unwrap();
                for (st, &j) in stats.iter().zip(&idx) {
                    let p =
                        predict_named(&s, &xs(3), &format!("singular_value[0,{i}]"), st).unwrap();
                    assert_eq!(p.kind, Kind::Exact);
                    let want = kap[j] * (1.7f64 / 3.0).powf(j as f64 / 2.0);
                    assert!((p.value - want).abs() <= 1e-14 * want.abs());
                }
            }
            assert!(predict_named(&s, &xs(3), "singular_value[0,3]", "mean").is_none());
        }
    }
    // Deep zero-bias PL nets: the same law scaled by the gain.
    let leaky = Activation::LeakyRelu { slope: 0.2 };
    let s = NetworkSpec::builder(3, vec![64, 32])
        .output_dim(2)
        .activation(leaky)
        .cw(1.5)
        .build()
        .unwrap();
    // s² = (C_W/n0) Π_l C_W (a₊² + a₋²)/2 with (a₊, a₋) = (1, 0.2).
    let s2 = 1.5 / 3.0 * (1.5 * 1.04 / 2.0f64).powi(2);
    let p = predict_named(&s, &xs(3), "singular_value[0,2]", "mean").unwrap();
    assert_eq!(p.kind, Kind::InfiniteWidth);
    let kap = wishart::singular_value_cumulants(2, 3, 2).unwrap();
    assert!((p.value - kap[1] * s2.sqrt()).abs() < 1e-13);
    // n_out = 1 unchanged: the product law (linear) and s χ_{n0} (ReLU).
    let lin = spec(4, vec![5, 5], 1, Activation::Linear);
    let p = predict_named(&lin, &xs(4), "singular_value[0,1]", "variance").unwrap();
    let want = exact::jacobian_cumulants(1.0, &[4, 5, 5, 4], false)[2];
    assert_eq!((p.kind, p.value), (Kind::Exact, want));
    let relu = spec(4, vec![50], 1, Activation::Relu);
    let p = predict_named(&relu, &xs(4), "singular_value[0,1]", "mean").unwrap();
    let want = exact::jacobian_cumulants(2.0, &[4, 4], false)[1];
    assert_eq!((p.kind, p.value), (Kind::InfiniteWidth, want));
    // n0 = 1: the singular value of one column is ‖J u‖: the jacobian_norm law, exact.
    for act in [Activation::Relu, Activation::Linear] {
        let s = NetworkSpec::builder(1, vec![6, 5])
            .output_dim(3)
            .activation(act)
            .cb(0.3)
            .build()
            .unwrap();
        let p = predict_named(&s, &xs(1), "singular_value[0,1]", "variance").unwrap();
        let q = predict_named(&s, &xs(1), "jacobian_norm[0]", "variance").unwrap();
        assert_eq!(p, q);
        assert_eq!(p.kind, Kind::Exact);
    }
    // Linear nets with biases, n_out > 1, L >= 1: infinite-width (biases do not enter J).
    let s = NetworkSpec::builder(3, vec![8])
        .output_dim(3)
        .activation(Activation::Linear)
        .cb(0.5)
        .build()
        .unwrap();
    let p = predict_named(&s, &xs(3), "singular_value[0,3]", "mean").unwrap();
    assert_eq!(p.kind, Kind::InfiniteWidth);
    // No theory.
    let none = [
        spec(3, vec![16], 2, Activation::Tanh),
        NetworkSpec::builder(3, vec![16])
            .output_dim(2)
            .cb(0.1)
            .build()
            .unwrap(),
        NetworkSpec::builder(3, vec![16, 16, 16])
            .output_dim(2)
            .residual(Residual::Alpha(0.5))
            .build()
            .unwrap(),
        NetworkSpec::builder(3, vec![])
            .output_dim(2)
            .weights(WeightLaw::Uniform)
            .build()
            .unwrap(),
        spec(11, vec![], 12, Activation::Relu),
    ];
    for s in &none {
        let x = xs(s.input_dim);
        assert!(
            predict_named(s, &x, "singular_value[0,1]", "mean").is_none(),
            "{s:?}"
        );
    }
    // p = 10 is the largest with a law.
    let s = spec(10, vec![], 12, Activation::Relu);
    let p = predict_named(&s, &xs(10), "singular_value[0,10]", "kappa6").unwrap();
    assert_eq!(p.kind, Kind::Exact);
}

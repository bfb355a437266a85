//! The exact laws of `randnet_theory::weight_laws` (docs/derivations/weight_laws.md) against
//! brute force with materialized weights, independent of randnet's engines:
//!
//! - exact enumeration of every Rademacher network of tiny nets (2^3..2^17 networks), where the
//!   formulas must hold to 1e-12; with C_b > 0 a linear net is Gaussian given its weights, so the
//!   bias is integrated in closed form;
//! - Monte Carlo with uniform, Gaussian and Rademacher weights and Gaussian biases (Pcg64Mcg), with
//!   unbiased k-statistics per batch and the batch standard error, |z| ≤ 4; each Monte Carlo test
//!   also asserts that the wrong constant (m4 = 3, i.e. the Gaussian-weight value, or the
//!   ‖x‖²-only input dependence) lies more than 8 standard errors away.

#![allow(clippy::type_complexity, clippy::needless_range_loop)]

use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;
use randnet_problem::{Activation, NetworkSpec, Parameterization, WeightLaw};
use randnet_theory::exact::ScaleInvariantNet;
use randnet_theory::weight_laws::{
    law_cumulants, linear_output_cumulants, linear_sqnorm_cumulants, symmetric_pl_output_variance,
    symmetric_pl_sqnorm_mean,
};

fn spec(
    n0: usize,
    hidden: &[usize],
    nout: usize,
    act: Activation,
    cw: Option<f64>,
    cb: f64,
    law: WeightLaw,
) -> NetworkSpec {
    NetworkSpec::new(
        n0,
        hidden.to_vec(),
        nout,
        act,
        cw,
        cb,
        Parameterization::Ntk,
        None,
        law,
    )
    .unwrap()
}

/// Slopes (a₊, a₋) written out here, independently of `Activation::slopes`.
fn slopes(act: Activation, n: usize) -> (f64, f64) {
    match act {
        Activation::Relu => (1.0, 0.0),
        Activation::LeakyRelu { slope } => (1.0, slope),
        Activation::Linear => (1.0, 1.0),
        Activation::ShapedRelu { c } => (1.0 + c / (n as f64).sqrt(), 1.0 - c / (n as f64).sqrt()),
        _ => unreachable!(),
    }
}

/// One network with explicit matrices: ws[l][i][j] = W^{l+1}_ij (already scaled), bs[l][i].
struct Net {
    ws: Vec<Vec<Vec<f64>>>,
    bs: Vec<Vec<f64>>,
}

/// z^1..z^{L+1} of the net at x (σ with the slopes of `act` on hidden layer l of width n_l).
fn forward(net: &Net, act: Activation, x: &[f64]) -> Vec<Vec<f64>> {
    let depth = net.ws.len() - 1;
    let mut zs: Vec<Vec<f64>> = Vec::with_capacity(depth + 1);
    let mut a = x.to_vec();
    for (l, (w, b)) in net.ws.iter().zip(&net.bs).enumerate() {
        let z: Vec<f64> = w
            .iter()
            .zip(b)
            .map(|(row, bi)| row.iter().zip(&a).map(|(wij, aj)| wij * aj).sum::<f64>() + bi)
            .collect();
        if l < depth {
            let (ap, am) = slopes(act, z.len());
            a = z
                .iter()
                .map(|&t| if t > 0.0 { ap * t } else { am * t })
                .collect();
        }
        zs.push(z);
    }
    zs
}

fn normal(rng: &mut Pcg64Mcg) -> f64 {
    <StandardNormal as Distribution<f64>>::sample(&StandardNormal, rng)
}

fn draw_w(law: WeightLaw, rng: &mut Pcg64Mcg) -> f64 {
    match law {
        WeightLaw::Gaussian => normal(rng),
        WeightLaw::Uniform => 3f64.sqrt() * (2.0 * rng.random::<f64>() - 1.0),
        WeightLaw::Rademacher => {
            if rng.random::<bool>() {
                1.0
            } else {
                -1.0
            }
        }
    }
}

fn draw_net(s: &NetworkSpec, rng: &mut Pcg64Mcg) -> Net {
    let widths = s.layer_widths();
    let mut ws = Vec::new();
    let mut bs = Vec::new();
    for l in 1..widths.len() {
        let sc = (s.cw / widths[l - 1] as f64).sqrt();
        ws.push(
            (0..widths[l])
                .map(|_| {
                    (0..widths[l - 1])
                        .map(|_| sc * draw_w(s.weights, rng))
                        .collect()
                })
                .collect(),
        );
        bs.push(
            (0..widths[l])
                .map(|_| {
                    if s.cb > 0.0 {
                        s.cb.sqrt() * normal(rng)
                    } else {
                        0.0
                    }
                })
                .collect(),
        );
    }
    Net { ws, bs }
}

/// Calls `visit(net)` for every one of the 2^bits Rademacher networks of `s` (biases zero).
fn enumerate_rademacher(s: &NetworkSpec, mut visit: impl FnMut(&Net)) -> usize {
    let widths = s.layer_widths();
    let bits: usize = widths.windows(2).map(|w| w[0] * w[1]).sum();
    assert!(bits <= 22);
    for mask in 0u64..(1u64 << bits) {
        let mut k = 0;
        let mut ws = Vec::new();
        let mut bs = Vec::new();
        for l in 1..widths.len() {
            let sc = (s.cw / widths[l - 1] as f64).sqrt();
            let mut m = Vec::new();
            for _ in 0..widths[l] {
                let mut row = Vec::new();
                for _ in 0..widths[l - 1] {
                    row.push(if mask >> k & 1 == 1 { sc } else { -sc });
                    k += 1;
                }
                m.push(row);
            }
            ws.push(m);
            bs.push(vec![0.0; widths[l]]);
        }
        visit(&Net { ws, bs });
    }
    1 << bits
}

/// Row 0 of W^{L+1} W^L ⋯ W^{l+1} for l = 0..=L (linear σ(t) = t): the coefficients of b^{l+1}
/// (index l) in f_0. Returns Σ_l C_b ‖row_l‖², the variance of f_0 given the weights.
fn linear_bias_variance(net: &Net, cb: f64) -> f64 {
    let depth = net.ws.len() - 1;
    let mut row = vec![0.0; net.ws[depth].len()];
    row[0] = 1.0; // coefficient of b^{L+1}
    let mut v = 0.0;
    for l in (0..=depth).rev() {
        v += cb * row.iter().map(|r| r * r).sum::<f64>();
        if l > 0 {
            let w = &net.ws[l];
            let n_prev = w[0].len();
            row = (0..n_prev)
                .map(|j| row.iter().zip(w).map(|(r, wr)| r * wr[j]).sum())
                .collect();
        }
    }
    v
}

/// Neumaier-compensated sum: the enumerations add up to 2^17 terms and are compared at 1e-12.
#[derive(Clone, Copy, Default)]
struct Acc {
    sum: f64,
    comp: f64,
}

impl std::ops::AddAssign<f64> for Acc {
    fn add_assign(&mut self, v: f64) {
        let t = self.sum + v;
        if self.sum.abs() >= v.abs() {
            self.comp += (self.sum - t) + v;
        } else {
            self.comp += (v - t) + self.sum;
        }
        self.sum = t;
    }
}

impl Acc {
    fn get(&self) -> f64 {
        self.sum + self.comp
    }
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1.0)
}

// ---------------------------------------------------------------------------------------------
// Exact enumeration
// ---------------------------------------------------------------------------------------------

/// Linear nets with Rademacher weights: E f², E f⁴, E f⁶ over all 2^bits networks (exact), with
/// C_b > 0 integrated in closed form (f | weights ~ N(m, v)); and sqnorm κ1..κ3 at C_b = 0.
#[test]
fn linear_rademacher_enumeration_is_exact() {
    let x3 = [1.0, -0.5, 2.0];
    let x2 = [0.3, 1.7];
    let cases: Vec<(usize, Vec<usize>, usize, f64, f64, Vec<f64>)> = vec![
        (3, vec![], 1, 1.0, 0.0, x3.to_vec()),
        (3, vec![2], 1, 1.3, 0.0, x3.to_vec()),
        (3, vec![2, 2], 1, 1.0, 0.0, x3.to_vec()),
        (3, vec![3, 2], 1, 0.8, 0.0, x3.to_vec()),
        (2, vec![2, 2, 2], 1, 1.0, 0.0, x2.to_vec()),
        (2, vec![2, 3], 2, 1.0, 0.0, x2.to_vec()),
        (3, vec![2, 2], 1, 1.0, 0.7, x3.to_vec()),
        (2, vec![3, 2], 1, 1.2, 0.4, x2.to_vec()),
        (2, vec![1, 2, 2], 1, 1.0, 1.5, x2.to_vec()),
    ];
    for (n0, hidden, nout, cw, cb, x) in cases {
        let s = spec(
            n0,
            &hidden,
            nout,
            Activation::Linear,
            Some(cw),
            cb,
            WeightLaw::Rademacher,
        );
        let depth = hidden.len();
        let mut fm = [Acc::default(); 4]; // E f², E f⁴, E f⁶
        let mut sq = vec![[Acc::default(); 4]; depth + 2]; // E sqnorm^k, k = 1..3
        let count = enumerate_rademacher(&s, |net| {
            let zs = forward(net, Activation::Linear, &x);
            let m = zs[depth][0];
            let v = linear_bias_variance(net, cb);
            fm[1] += m * m + v;
            fm[2] += m.powi(4) + 6.0 * m * m * v + 3.0 * v * v;
            fm[3] += m.powi(6) + 15.0 * m.powi(4) * v + 45.0 * m * m * v * v + 15.0 * v.powi(3);
            for (l, z) in zs.iter().enumerate() {
                let q = z.iter().map(|t| t * t).sum::<f64>() / z.len() as f64;
                for k in 1..=3 {
                    sq[l + 1][k] += q.powi(k as i32);
                }
            }
        }) as f64;
        let (m2, m4, m6) = (
            fm[1].get() / count,
            fm[2].get() / count,
            fm[3].get() / count,
        );
        let k = linear_output_cumulants(&s, &x).unwrap();
        let want = [
            m2,
            m4 - 3.0 * m2 * m2,
            m6 - 15.0 * m4 * m2 + 30.0 * m2.powi(3),
        ];
        // Tolerance relative to the raw moment the cumulant is computed from (cancellation).
        for ((got, w), scale) in [k[2], k[4], k[6]].iter().zip(want).zip([m2, m4, m6]) {
            assert!(
                (got - w).abs() <= 1e-12 * scale,
                "{hidden:?} cb={cb}: {got} vs enumerated {w}"
            );
        }
        assert_eq!((k[1], k[3], k[5]), (0.0, 0.0, 0.0));
        if cb == 0.0 {
            for l in 1..=depth + 1 {
                let e: Vec<f64> = sq[l].iter().map(|v| v.get() / count).collect();
                let var = e[2] - e[1] * e[1];
                let k3 = e[3] - 3.0 * e[2] * e[1] + 2.0 * e[1].powi(3);
                let kq = linear_sqnorm_cumulants(&s, l, &x).unwrap();
                assert!(
                    close(kq[1], e[1], 1e-12),
                    "sqnorm[{l}] mean {} vs {}",
                    kq[1],
                    e[1]
                );
                assert!(
                    (kq[2] - var).abs() <= 1e-12 * e[2],
                    "sqnorm[{l}] var {} vs {var}",
                    kq[2]
                );
                assert!(
                    (kq[3] - k3).abs() <= 1e-12 * e[3],
                    "sqnorm[{l}] k3 {} vs {k3}",
                    kq[3]
                );
                assert!(kq[4].is_nan() && kq[6].is_nan());
            }
        }
    }
}

/// Piecewise-linear nets with Rademacher weights, C_b = 0: Var f and E sqnorm[l] over all
/// networks equal the infinite-width recursion exactly (critical ReLU: 2‖x‖²/n0).
#[test]
fn piecewise_linear_rademacher_enumeration_is_exact() {
    let x = [1.0, -0.5, 2.0];
    let x2: f64 = x.iter().map(|v| v * v).sum();
    let acts = [
        (Activation::Relu, None),
        (Activation::LeakyRelu { slope: 0.3 }, None),
        (Activation::LeakyRelu { slope: -0.6 }, Some(1.1)),
        (Activation::ShapedRelu { c: 0.7 }, None),
        (Activation::Relu, Some(1.7)),
    ];
    for (act, cw) in acts {
        for hidden in [vec![2], vec![2, 3], vec![3, 2], vec![2, 2, 2]] {
            let s = spec(3, &hidden, 2, act, cw, 0.0, WeightLaw::Rademacher);
            let depth = hidden.len();
            let mut f2 = Acc::default();
            let mut sq = vec![Acc::default(); depth + 2];
            let count = enumerate_rademacher(&s, |net| {
                let zs = forward(net, act, &x);
                f2 += zs[depth][0] * zs[depth][0];
                for (l, z) in zs.iter().enumerate() {
                    sq[l + 1] += z.iter().map(|t| t * t).sum::<f64>() / z.len() as f64;
                }
            }) as f64;
            let got = symmetric_pl_output_variance(&s, &x).unwrap();
            let f2 = f2.get() / count;
            assert!(close(got, f2, 1e-12), "{act} {hidden:?}: {got} vs {f2}");
            for l in 1..=depth + 1 {
                let got = symmetric_pl_sqnorm_mean(&s, l, &x).unwrap();
                assert!(
                    close(got, sq[l].get() / count, 1e-12),
                    "{act} {hidden:?} sqnorm[{l}]: {got} vs {}",
                    sq[l].get() / count
                );
            }
            if act == Activation::Relu && cw.is_none() {
                assert!(close(got, 2.0 * x2 / 3.0, 1e-14));
            }
        }
    }
}

/// Gaussian weights, C_b = 0: the recursion reproduces the product law of docs/theory.md §2.1
/// (κ2, κ4, κ6), and the closed forms for L = 0, 1 hold for every law.
#[test]
fn linear_recursion_matches_closed_forms() {
    let x = [1.0, -0.5, 2.0, 0.25];
    let p2: f64 = x.iter().map(|v| v * v).sum();
    let p4: f64 = x.iter().map(|v| v.powi(4)).sum();
    for hidden in [vec![], vec![1], vec![2, 5], vec![3, 1, 4], vec![7, 7, 7, 7]] {
        let s = spec(
            4,
            &hidden,
            3,
            Activation::Linear,
            Some(1.4),
            0.0,
            WeightLaw::Gaussian,
        );
        let got = linear_output_cumulants(&s, &x).unwrap();
        let mut widths = vec![4];
        widths.extend(&hidden);
        widths.push(3);
        let si = ScaleInvariantNet {
            cw: 1.4,
            widths,
            slopes: vec![(1.0, 1.0); hidden.len()],
        };
        let want = si.output_cumulants(p2).unwrap();
        for k in [2, 4, 6] {
            assert!(
                close(got[k], want[k], 1e-12),
                "{hidden:?} k{k}: {} vs {}",
                got[k],
                want[k]
            );
        }
    }
    let cw: f64 = 1.3;
    for law in [
        WeightLaw::Gaussian,
        WeightLaw::Uniform,
        WeightLaw::Rademacher,
    ] {
        let (k4w, _) = law_cumulants(law);
        let m4 = k4w + 3.0;
        let s0 = spec(4, &[], 1, Activation::Linear, Some(cw), 0.0, law);
        let k = linear_output_cumulants(&s0, &x).unwrap();
        assert!(close(k[4], cw * cw * (m4 - 3.0) * p4 / 16.0, 1e-13));
        for n1 in [1, 2, 5] {
            let s1 = spec(4, &[n1], 1, Activation::Linear, Some(cw), 0.0, law);
            let k = linear_output_cumulants(&s1, &x).unwrap();
            let want = cw.powi(4) / (16.0 * n1 as f64)
                * (3.0 * (m4 - 1.0) * p2 * p2 + m4 * (m4 - 3.0) * p4);
            assert!(
                close(k[4], want, 1e-13),
                "{law} n1={n1}: {} vs {want}",
                k[4]
            );
        }
        // Any depth, C_b = 0: E f⁴ = C_W^{2(L+1)}/(n0² Π n_l) · (3, κ) M_{n_L} ⋯ M_{n_1} (P2², P4)ᵀ
        // with M_n = [[n + 2, κ], [3, κ]], κ = m4 − 3 (docs/derivations/weight_laws.md §1.3).
        for hidden in [vec![2, 5], vec![3, 1, 4], vec![2, 2, 2, 6]] {
            let s = spec(4, &hidden, 2, Activation::Linear, Some(cw), 0.0, law);
            let (mut a, mut b) = (p2 * p2, p4);
            let mut pre = cw.powi(2 * (hidden.len() as i32 + 1)) / 16.0;
            for &n in &hidden {
                let nf = n as f64;
                (a, b) = ((nf + 2.0) * a + k4w * b, 3.0 * a + k4w * b);
                pre /= nf;
            }
            let kappa2 = cw.powi(hidden.len() as i32 + 1) * p2 / 4.0;
            let want = pre * (3.0 * a + k4w * b) - 3.0 * kappa2 * kappa2;
            let k = linear_output_cumulants(&s, &x).unwrap();
            assert!(close(k[2], kappa2, 1e-13));
            assert!(
                close(k[4], want, 1e-12),
                "{law} {hidden:?}: {} vs {want}",
                k[4]
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Monte Carlo
// ---------------------------------------------------------------------------------------------

/// Unbiased k-statistics k2, k3, k4 of a sample from its power sums (Fisher).
fn kstats(v: &[f64]) -> (f64, f64, f64) {
    let n = v.len() as f64;
    let (mut s1, mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0, 0.0);
    // Centre first (k-statistics are shift invariant except k1); keeps the sums well conditioned.
    let c = v.iter().sum::<f64>() / n;
    for &t in v {
        let d = t - c;
        s1 += d;
        s2 += d * d;
        s3 += d * d * d;
        s4 += d * d * d * d;
    }
    let k2 = (n * s2 - s1 * s1) / (n * (n - 1.0));
    let k3 = (2.0 * s1.powi(3) - 3.0 * n * s1 * s2 + n * n * s3) / (n * (n - 1.0) * (n - 2.0));
    let k4 = (-6.0 * s1.powi(4) + 12.0 * n * s1 * s1 * s2
        - 3.0 * n * (n - 1.0) * s2 * s2
        - 4.0 * n * (n + 1.0) * s1 * s3
        + n * n * (n + 1.0) * s4)
        / (n * (n - 1.0) * (n - 2.0) * (n - 3.0));
    (k2, k3, k4)
}

/// Mean and standard error over batches.
fn mean_se(v: &[f64]) -> (f64, f64) {
    let b = v.len() as f64;
    let m = v.iter().sum::<f64>() / b;
    let var = v.iter().map(|t| (t - m) * (t - m)).sum::<f64>() / (b - 1.0);
    (m, (var / b).sqrt())
}

const BATCHES: usize = 64;

/// Per batch: the k-statistics of f_0(x) and of sqnorm[l] for every l, and the batch mean of
/// f⁶ and of sqnorm[l].
struct Mc {
    f: Vec<(f64, f64, f64)>,
    f6: Vec<f64>,
    sq: Vec<Vec<(f64, f64, f64)>>,
    sq_mean: Vec<Vec<f64>>,
}

fn monte_carlo(s: &NetworkSpec, x: &[f64], per_batch: usize, seed: u64) -> Mc {
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let depth = s.depth();
    let mut mc = Mc {
        f: vec![],
        f6: vec![],
        sq: vec![vec![]; depth + 2],
        sq_mean: vec![vec![]; depth + 2],
    };
    for _ in 0..BATCHES {
        let mut fs = Vec::with_capacity(per_batch);
        let mut qs = vec![Vec::with_capacity(per_batch); depth + 2];
        for _ in 0..per_batch {
            let net = draw_net(s, &mut rng);
            let zs = forward(&net, s.activation, x);
            fs.push(zs[depth][0]);
            for (l, z) in zs.iter().enumerate() {
                qs[l + 1].push(z.iter().map(|t| t * t).sum::<f64>() / z.len() as f64);
            }
        }
        mc.f.push(kstats(&fs));
        mc.f6
            .push(fs.iter().map(|t| t.powi(6)).sum::<f64>() / per_batch as f64);
        for l in 1..=depth + 1 {
            mc.sq[l].push(kstats(&qs[l]));
            mc.sq_mean[l].push(qs[l].iter().sum::<f64>() / per_batch as f64);
        }
    }
    mc
}

fn zscore(name: &str, est: (f64, f64), want: f64) -> f64 {
    let z = (est.0 - want) / est.1;
    eprintln!(
        "{name}: MC {:.6} ± {:.6}, theory {want:.6}, z = {z:+.2}",
        est.0, est.1
    );
    assert!(z.abs() <= 4.0, "{name}: z = {z}");
    z
}

/// Asserts that the wrong value lies more than 8 standard errors from the right one.
fn separated(name: &str, se: f64, right: f64, wrong: f64) {
    let d = (right - wrong).abs() / se;
    eprintln!("{name}: wrong value {wrong:.6} is {d:.1} SE away");
    assert!(
        d > 8.0,
        "{name}: the test cannot tell {right} from {wrong} ({d:.1} SE)"
    );
}

/// Linear net, uniform weights, C_b = 0, n0 = 3, widths 3, 2: κ2, κ4 (k-statistics) and E f⁶.
/// 64 × 40 000 = 2.56M networks. The Gaussian-weight κ4 (m4 = 3 instead of 9/5: 64.0 instead of
/// 19.6) is asserted to be more than 8 SE away (it is 341 SE away), and so is the κ4 of an input
/// with the same ‖x‖² but equal coordinates (Σx⁴ 9.19 instead of 17.06: 22.9, 25 SE away).
#[test]
fn linear_uniform_kappa4_monte_carlo() {
    let x = [1.0, -0.5, 2.0];
    let s = spec(
        3,
        &[3, 2],
        1,
        Activation::Linear,
        Some(1.2),
        0.0,
        WeightLaw::Uniform,
    );
    let k = linear_output_cumulants(&s, &x).unwrap();
    let mc = monte_carlo(&s, &x, 40_000, 11);
    zscore(
        "uniform linear k2",
        mean_se(&mc.f.iter().map(|t| t.0).collect::<Vec<_>>()),
        k[2],
    );
    let k4 = mean_se(&mc.f.iter().map(|t| t.2).collect::<Vec<_>>());
    zscore("uniform linear k4", k4, k[4]);
    let mu6 = k[6] + 15.0 * k[4] * k[2] + 15.0 * k[2].powi(3);
    zscore("uniform linear E f^6", mean_se(&mc.f6), mu6);
    let gauss = spec(
        3,
        &[3, 2],
        1,
        Activation::Linear,
        Some(1.2),
        0.0,
        WeightLaw::Gaussian,
    );
    separated(
        "k4 with m4 = 3",
        k4.1,
        k[4],
        linear_output_cumulants(&gauss, &x).unwrap()[4],
    );
    let r = (5.25f64 / 3.0).sqrt();
    let flat = linear_output_cumulants(&s, &[r, r, r]).unwrap();
    separated("k4 with equal coordinates", k4.1, k[4], flat[4]);
}

/// Linear nets with biases: uniform weights (C_b = 0.3, widths 2, 3, 2) and Rademacher weights
/// (C_b = 0.6, widths 4, 2): κ2, κ4 of f and κ1..κ3 of every sqnorm. 2.56M networks each.
#[test]
fn linear_with_bias_monte_carlo() {
    let x = [0.9, -1.6];
    for (law, hidden, cb, seed) in [
        (WeightLaw::Uniform, vec![2, 3, 2], 0.3, 21),
        (WeightLaw::Rademacher, vec![4, 2], 0.6, 22),
    ] {
        let s = spec(2, &hidden, 2, Activation::Linear, Some(1.1), cb, law);
        let k = linear_output_cumulants(&s, &x).unwrap();
        let mc = monte_carlo(&s, &x, 40_000, seed);
        zscore(
            &format!("{law} k2"),
            mean_se(&mc.f.iter().map(|t| t.0).collect::<Vec<_>>()),
            k[2],
        );
        let k4 = mean_se(&mc.f.iter().map(|t| t.2).collect::<Vec<_>>());
        zscore(&format!("{law} k4"), k4, k[4]);
        let gauss = spec(
            2,
            &hidden,
            2,
            Activation::Linear,
            Some(1.1),
            cb,
            WeightLaw::Gaussian,
        );
        separated(
            &format!("{law} k4 with m4 = 3"),
            k4.1,
            k[4],
            linear_output_cumulants(&gauss, &x).unwrap()[4],
        );
        for l in 1..=hidden.len() + 1 {
            let kq = linear_sqnorm_cumulants(&s, l, &x).unwrap();
            zscore(
                &format!("{law} sqnorm[{l}] mean"),
                mean_se(&mc.sq_mean[l]),
                kq[1],
            );
            let sq = &mc.sq[l];
            zscore(
                &format!("{law} sqnorm[{l}] k2"),
                mean_se(&sq.iter().map(|t| t.0).collect::<Vec<_>>()),
                kq[2],
            );
            zscore(
                &format!("{law} sqnorm[{l}] k3"),
                mean_se(&sq.iter().map(|t| t.1).collect::<Vec<_>>()),
                kq[3],
            );
        }
    }
}

/// Piecewise-linear nets, non-Gaussian weights, with and without biases: Var f and E sqnorm[l].
/// 64 × 30 000 = 1.92M networks each. Resolution: each case asserts that the prediction at
/// 1.02 C_W (a 2% error in the constant; e.g. 2.04 instead of 2 for critical ReLU) lies more
/// than 8 SE away (it is 24–40 SE away).
#[test]
fn piecewise_linear_monte_carlo() {
    let x = [1.0, -0.5, 2.0];
    for (act, law, hidden, cb, seed) in [
        (Activation::Relu, WeightLaw::Uniform, vec![2, 3], 0.0, 31),
        (Activation::Relu, WeightLaw::Uniform, vec![2, 3], 0.2, 32),
        (
            Activation::Relu,
            WeightLaw::Rademacher,
            vec![3, 2, 2],
            0.5,
            33,
        ),
        (
            Activation::LeakyRelu { slope: 0.2 },
            WeightLaw::Uniform,
            vec![4, 2],
            0.3,
            34,
        ),
        (
            Activation::ShapedRelu { c: 0.5 },
            WeightLaw::Rademacher,
            vec![2, 4],
            0.1,
            35,
        ),
    ] {
        let s = spec(3, &hidden, 2, act, None, cb, law);
        let v = symmetric_pl_output_variance(&s, &x).unwrap();
        let mc = monte_carlo(&s, &x, 30_000, seed);
        let k2 = mean_se(&mc.f.iter().map(|t| t.0).collect::<Vec<_>>());
        zscore(&format!("{act} {law} cb={cb} Var f"), k2, v);
        let off = spec(3, &hidden, 2, act, Some(s.cw * 1.02), cb, law);
        separated(
            &format!("{act} {law} Var f at 1.02 C_W"),
            k2.1,
            v,
            symmetric_pl_output_variance(&off, &x).unwrap(),
        );
        for l in 1..=hidden.len() + 1 {
            let m = symmetric_pl_sqnorm_mean(&s, l, &x).unwrap();
            zscore(
                &format!("{act} {law} sqnorm[{l}] mean"),
                mean_se(&mc.sq_mean[l]),
                m,
            );
        }
    }
}

/// The functions decline what they do not cover.
#[test]
fn out_of_scope_is_none() {
    let x = [1.0, 2.0];
    let tanh = spec(2, &[3], 1, Activation::Tanh, None, 0.0, WeightLaw::Uniform);
    assert!(symmetric_pl_output_variance(&tanh, &x).is_none());
    assert!(linear_output_cumulants(&tanh, &x).is_none());
    let relu = spec(2, &[3], 1, Activation::Relu, None, 0.0, WeightLaw::Uniform);
    assert!(linear_output_cumulants(&relu, &x).is_none());
    let mut res = spec(
        2,
        &[3, 3],
        1,
        Activation::Linear,
        None,
        0.0,
        WeightLaw::Uniform,
    );
    res.residual = Some(randnet_problem::Residual::Alpha(0.5));
    assert!(linear_output_cumulants(&res, &x).is_none());
    assert!(symmetric_pl_output_variance(&res, &x).is_none());
    assert!(symmetric_pl_sqnorm_mean(&relu, 3, &x).is_none());
    assert!(linear_output_cumulants(&relu, &[1.0]).is_none());
}

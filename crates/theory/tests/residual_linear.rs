//! The exact output law of linear (residual) nets, `residual_linear::residual_linear_output_cumulants`,
//! against brute force with materialized weights, drawn here with rand (Pcg64Mcg, StandardNormal)
//! and multiplied out with explicit matrices — no code of randnet's engines is used.
//!
//! Each network: W^1 (n × n0), b^1, then for l = 2..L the n × n matrix W^l and b^l with
//! z^l = z^{l−1} + α(W^l z^{l−1} + b^l) (or z^l = W^l z^{l−1} + b^l for a plain net), and the readout
//! row 0 (w, b_0) — the other readout rows do not affect f_0. W^l_ij ~ N(0, C_W/n_{l−1}),
//! b ~ N(0, C_b). From N networks we form, in B = 100 batches, the unbiased k-statistics k2, k4 of
//! f = f_0(x) and (Rao–Blackwellized: f | z^L ~ N(0, V), V = (C_W/n)‖z^L‖² + C_b, exactly) the
//! mean, k2, k3 of V, which estimate κ2(f), κ4(f)/3 and κ6(f)/15 with far smaller noise.
//! z = (batch mean − theory)/(batch sd/√B); we require |z| ≤ 4 for the theory and, where stated,
//! |z| ≥ 8 for plausible wrong formulas (the tests are deterministic: fixed seeds).

use rand::{RngExt, SeedableRng};
use rand_distr::StandardNormal;
use rand_pcg::Pcg64Mcg;
use randnet_problem::{Activation, NetworkSpec, Residual, WeightLaw};
use randnet_theory::exact::ScaleInvariantNet;
use randnet_theory::kernels::infinite_width;
use randnet_theory::residual_linear::residual_linear_output_cumulants;

#[derive(Clone, Copy, Debug)]
struct Net {
    n0: usize,
    n: usize,
    depth: usize,
    /// Some(α): residual layers 2..L; None: plain linear net.
    alpha: Option<f64>,
    cw: f64,
    cb: f64,
}

impl Net {
    fn spec(&self, invsqrt: bool) -> NetworkSpec {
        let res = match (self.alpha, invsqrt) {
            (None, _) => None,
            (Some(_), true) => Some(Residual::InvSqrtDepth),
            (Some(a), false) => Some(Residual::Alpha(a)),
        };
        let s = NetworkSpec::builder(self.n0, vec![self.n; self.depth])
            .output_dim(3)
            .activation(Activation::Linear)
            .cw(self.cw)
            .cb(self.cb)
            .residual(res)
            .build()
            .unwrap();
        if invsqrt {
            assert!((s.residual_alpha().unwrap() - self.alpha.unwrap()).abs() < 1e-15);
        }
        s
    }
}

/// One network: (f_0(x), V = (C_W/n_L)‖z^L‖² + C_b).
fn draw(
    net: &Net,
    x: &[f64],
    rng: &mut Pcg64Mcg,
    w: &mut Vec<f64>,
    z: &mut Vec<f64>,
    t: &mut Vec<f64>,
) -> (f64, f64) {
    let g = |rng: &mut Pcg64Mcg| -> f64 { rng.sample(StandardNormal) };
    let sb = net.cb.sqrt();
    let n = net.n;
    // Layer 1 (or the readout when L = 0).
    let (n_in, n_out1) = (net.n0, if net.depth == 0 { 1 } else { n });
    let s1 = (net.cw / n_in as f64).sqrt();
    w.clear();
    w.extend((0..n_out1 * n_in).map(|_| s1 * g(rng)));
    z.clear();
    for i in 0..n_out1 {
        let mut acc = 0.0;
        for j in 0..n_in {
            acc += w[i * n_in + j] * x[j];
        }
        let b = if net.cb > 0.0 { sb * g(rng) } else { 0.0 };
        z.push(acc + b);
    }
    if net.depth == 0 {
        let v = net.cw / n_in as f64 * x.iter().map(|v| v * v).sum::<f64>() + net.cb;
        return (z[0], v);
    }
    let s = (net.cw / n as f64).sqrt();
    for _l in 2..=net.depth {
        w.clear();
        w.extend((0..n * n).map(|_| s * g(rng)));
        t.clear();
        for i in 0..n {
            let mut acc = 0.0;
            for j in 0..n {
                acc += w[i * n + j] * z[j];
            }
            let b = if net.cb > 0.0 { sb * g(rng) } else { 0.0 };
            t.push(acc + b);
        }
        match net.alpha {
            Some(a) => {
                for i in 0..n {
                    z[i] += a * t[i];
                }
            }
            None => z.copy_from_slice(t),
        }
    }
    // Readout row 0.
    let mut f = 0.0;
    for zj in z.iter() {
        f += s * g(rng) * zj;
    }
    if net.cb > 0.0 {
        f += sb * g(rng);
    }
    let v = net.cw / n as f64 * z.iter().map(|v| v * v).sum::<f64>() + net.cb;
    (f, v)
}

/// Unbiased k-statistics k2, k3, k4 of a sample (centered first; they are shift invariant).
fn kstats(xs: &[f64]) -> (f64, f64, f64, f64) {
    let m = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / m;
    let (mut s2, mut s3, mut s4) = (0.0, 0.0, 0.0);
    for &x in xs {
        let d = x - mean;
        let d2 = d * d;
        s2 += d2;
        s3 += d2 * d;
        s4 += d2 * d2;
    }
    // Power sums of the centered sample: S1 = 0.
    let k2 = s2 / (m - 1.0);
    let k3 = m * m * s3 / (m * (m - 1.0) * (m - 2.0));
    let k4 = (-3.0 * m * (m - 1.0) * s2 * s2 + m * m * (m + 1.0) * s4)
        / (m * (m - 1.0) * (m - 2.0) * (m - 3.0));
    (mean, k2, k3, k4)
}

/// Batch means and their standard errors of [k2(f), k4(f), mean V, k2(V), k3(V)].
struct Est {
    mean: [f64; 5],
    se: [f64; 5],
    nets: usize,
}

const B: usize = 100;

fn estimate(net: &Net, x: &[f64], nets: usize, seed: u64) -> Est {
    let per = nets / B;
    // Two threads, 50 batches each, independent streams.
    let stats: Vec<[f64; 5]> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..2u64)
            .map(|th| {
                sc.spawn(move || {
                    let mut rng =
                        Pcg64Mcg::seed_from_u64(seed.wrapping_mul(0x9E37_79B9) ^ (th + 1));
                    let (mut w, mut z, mut t) = (Vec::new(), Vec::new(), Vec::new());
                    let mut out = Vec::new();
                    let (mut fs, mut vs) = (vec![0.0; per], vec![0.0; per]);
                    for _ in 0..B / 2 {
                        for i in 0..per {
                            let (f, v) = draw(net, x, &mut rng, &mut w, &mut z, &mut t);
                            fs[i] = f;
                            vs[i] = v;
                        }
                        let (_, k2f, _, k4f) = kstats(&fs);
                        let (mv, k2v, k3v, _) = kstats(&vs);
                        out.push([k2f, k4f, mv, k2v, k3v]);
                    }
                    out
                })
            })
            .collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let mut mean = [0.0; 5];
    let mut se = [0.0; 5];
    for j in 0..5 {
        let m = stats.iter().map(|s| s[j]).sum::<f64>() / B as f64;
        let var = stats.iter().map(|s| (s[j] - m).powi(2)).sum::<f64>() / (B as f64 - 1.0);
        mean[j] = m;
        se[j] = (var / B as f64).sqrt();
    }
    Est {
        mean,
        se,
        nets: per * B,
    }
}

fn x_of(n0: usize) -> Vec<f64> {
    (0..n0)
        .map(|i| 0.4 + 0.7 * ((i * 7 % 5) as f64) - 0.9 * (i % 2) as f64)
        .collect()
}

/// z-values of the theory against the estimates: [var(f), κ4(f), E V, κ2(V), κ3(V)].
fn zvalues(k: &[f64], e: &Est) -> [f64; 5] {
    let th = [k[2], k[4], k[2], k[4] / 3.0, k[6] / 15.0];
    let mut z = [0.0; 5];
    for j in 0..5 {
        z[j] = (e.mean[j] - th[j]) / e.se[j];
    }
    z
}

/// The C_b = 0 residual excess kurtosis with a per-residual-layer factor ρ: 3[(1 + 2/n)ρ^{L−1} − 1].
fn ek_with_rho(n: usize, depth: usize, rho: f64) -> f64 {
    3.0 * ((1.0 + 2.0 / n as f64) * rho.powi(depth as i32 - 1) - 1.0)
}

fn check(net: Net, invsqrt: bool, nets: usize, seed: u64, wrong: &[(&str, f64)]) {
    let x = x_of(net.n0);
    let spec = net.spec(invsqrt);
    let k = residual_linear_output_cumulants(&spec, &x).unwrap();
    let e = estimate(&net, &x, nets, seed);
    let z = zvalues(&k, &e);
    let ek = k[4] / (k[2] * k[2]);
    eprintln!(
        "{net:?} invsqrt={invsqrt} N={}: var {:.5} kurt {:.4} k6/k2^3 {:.3}; z [var f, k4 f, EV, k2 V, k3 V] = {:.2?}",
        e.nets,
        k[2],
        ek,
        k[6] / k[2].powi(3),
        z
    );
    for (j, zz) in z.iter().enumerate() {
        assert!(zz.abs() <= 4.0, "{net:?}: statistic {j}: z = {zz}");
    }
    // Wrong excess kurtoses, judged by the Rao–Blackwellized κ4 = 3 k2(V) (whose SE is the
    // smaller one) with the exact variance.
    for (name, ekw) in wrong {
        let zw = (e.mean[3] - ekw * k[2] * k[2] / 3.0) / e.se[3];
        let zf = (e.mean[1] - ekw * k[2] * k[2]) / e.se[1];
        eprintln!("    wrong '{name}' (excess kurtosis {ekw:.4} vs {ek:.4}): z(k2 V) = {zw:.1}, z(k4 f) = {zf:.1}");
        assert!(zw.abs() >= 8.0, "{name} not rejected: z = {zw}");
    }
}

/// Plausible wrong formulas for a C_b = 0 residual net: the leading 1/n order, the residual
/// factor ρ without its δ-cross term (2 + α²C_W → α²C_W, i.e. dropping the 4 s² Q part of
/// Var(Q'|Q), an O(1/n) term), and the infinite-width 0.
fn wrong_formulas(net: &Net) -> Vec<(&'static str, f64)> {
    let (n, l) = (net.n as f64, net.depth);
    let a2c = net.alpha.unwrap().powi(2) * net.cw;
    let first =
        3.0 * (2.0 / n + (l as f64 - 1.0) * 2.0 * a2c * (2.0 + a2c) / (n * (1.0 + a2c).powi(2)));
    let rho_nocross = 1.0 + 2.0 * a2c * a2c / (n * (1.0 + a2c).powi(2));
    vec![
        ("leading order in 1/n", first),
        (
            "rho without the cross term",
            ek_with_rho(net.n, l, rho_nocross),
        ),
        ("infinite width (0)", 0.0),
    ]
}

/// α = 0.5 and 1, zero bias, against brute force. Wrong formulas are rejected by ≥ 8 SE.
#[test]
fn zero_bias_alpha_half_and_one() {
    let a = Net {
        n0: 3,
        n: 8,
        depth: 3,
        alpha: Some(0.5),
        cw: 1.0,
        cb: 0.0,
    };
    check(a, false, 4_000_000, 1, &wrong_formulas(&a));
    let b = Net {
        n0: 4,
        n: 4,
        depth: 4,
        alpha: Some(1.0),
        cw: 1.0,
        cb: 0.0,
    };
    check(b, false, 2_000_000, 2, &wrong_formulas(&b));
}

/// α = 1/√L (invsqrt-depth), zero bias; and the smallest width n = 2 at L = 6.
#[test]
fn zero_bias_invsqrt_depth() {
    let a = Net {
        n0: 2,
        n: 6,
        depth: 5,
        alpha: Some(1.0 / 5f64.sqrt()),
        cw: 1.0,
        cb: 0.0,
    };
    check(a, true, 2_000_000, 3, &wrong_formulas(&a));
    let b = Net {
        n0: 3,
        n: 2,
        depth: 6,
        alpha: Some(1.0 / 6f64.sqrt()),
        cw: 1.2,
        cb: 0.0,
    };
    check(b, true, 2_000_000, 4, &[]);
}

/// The corners of the brief's grid: n = 2 and 7 with α = 1 at L = 2 and L = 6 (α = 1 at L = 6 is
/// strongly non-Gaussian: excess kurtosis ≈ 6).
#[test]
fn zero_bias_alpha_one_corners() {
    let a = Net {
        n0: 5,
        n: 2,
        depth: 2,
        alpha: Some(1.0),
        cw: 1.0,
        cb: 0.0,
    };
    check(a, false, 2_000_000, 8, &wrong_formulas(&a));
    let b = Net {
        n0: 3,
        n: 7,
        depth: 6,
        alpha: Some(1.0),
        cw: 0.8,
        cb: 0.0,
    };
    check(b, false, 1_000_000, 9, &wrong_formulas(&b));
}

/// C_b > 0 (the recursion is no longer a product of independent factors) and L = 2 (one
/// residual layer), and a plain linear net with bias.
#[test]
fn with_bias() {
    let a = Net {
        n0: 3,
        n: 3,
        depth: 4,
        alpha: Some(1.0),
        cw: 1.5,
        cb: 0.3,
    };
    check(a, false, 2_000_000, 5, &[]);
    let b = Net {
        n0: 2,
        n: 5,
        depth: 2,
        alpha: Some(0.5),
        cw: 1.0,
        cb: 1.0,
    };
    check(b, false, 1_000_000, 6, &[]);
    let c = Net {
        n0: 3,
        n: 4,
        depth: 3,
        alpha: None,
        cw: 1.0,
        cb: 0.5,
    };
    check(c, false, 1_000_000, 7, &[]);
}

/// α → 0: every residual layer becomes the identity and the law is that of the plain L = 1 net
/// (computed by the independent scale-invariant code `exact::ScaleInvariantNet`).
#[test]
fn alpha_to_zero_is_the_one_layer_law() {
    for (n, depth) in [(2usize, 6usize), (5, 3), (8, 2)] {
        let one = ScaleInvariantNet {
            cw: 1.3,
            widths: vec![4, n, 1],
            slopes: vec![(1.0, 1.0)],
        };
        let x = x_of(4);
        let x2: f64 = x.iter().map(|v| v * v).sum();
        let want = one.output_cumulants(x2).unwrap();
        for alpha in [1e-4, 1e-6, 0.0] {
            let net = Net {
                n0: 4,
                n,
                depth,
                alpha: Some(alpha),
                cw: 1.3,
                cb: 0.0,
            };
            let got = residual_linear_output_cumulants(&net.spec(false), &x).unwrap();
            for j in [2, 4, 6] {
                let rel = (got[j] / want[j] - 1.0).abs();
                // Corrections are O(L α² C_W/n) with a modest constant (≈ 30 L α² here).
                assert!(
                    rel < 100.0 * depth as f64 * alpha * alpha + 1e-12,
                    "n={n} L={depth} α={alpha} κ{j}: {} vs {}",
                    got[j],
                    want[j]
                );
            }
        }
    }
    // Plain (non-residual) linear nets at C_b = 0: the same law as the product formula of
    // exact.rs, at any depth.
    for widths in [
        vec![3, 4, 1],
        vec![3, 2, 5, 3, 1],
        vec![2, 7, 7, 7, 7, 7, 1],
    ] {
        let depth = widths.len() - 2;
        let one = ScaleInvariantNet {
            cw: 0.8,
            widths: widths.clone(),
            slopes: vec![(1.0, 1.0); depth],
        };
        let x = x_of(widths[0]);
        let x2: f64 = x.iter().map(|v| v * v).sum();
        let want = one.output_cumulants(x2).unwrap();
        let spec = NetworkSpec::builder(widths[0], widths[1..=depth].to_vec())
            .activation(Activation::Linear)
            .cw(0.8)
            .build()
            .unwrap();
        let got = residual_linear_output_cumulants(&spec, &x).unwrap();
        for j in 1..=6 {
            assert!(
                (got[j] - want[j]).abs() <= 1e-12 * want[2].powf(j as f64 / 2.0),
                "{widths:?} κ{j}: {} vs {}",
                got[j],
                want[j]
            );
        }
    }
}

/// For linear nets the infinite-width NNGP recursion is exact for the variance (only second
/// moments enter): residual or not, any α, any C_b.
#[test]
fn variance_is_the_kernel_recursion() {
    for (n, depth, res, cw, cb) in [
        (2usize, 6usize, Some(Residual::Alpha(0.5)), 1.0, 0.0),
        (5, 4, Some(Residual::Alpha(1.0)), 1.7, 0.4),
        (3, 5, Some(Residual::InvSqrtDepth), 0.9, 2.0),
        (4, 3, Some(Residual::Alpha(-1.3)), 1.0, 0.1),
        (6, 1, Some(Residual::Alpha(2.0)), 1.0, 0.3),
        (4, 0, Some(Residual::InvSqrtDepth), 1.0, 0.3),
        (4, 3, None, 1.1, 0.7),
    ] {
        let spec = NetworkSpec::builder(3, vec![n; depth])
            .activation(Activation::Linear)
            .cw(cw)
            .cb(cb)
            .residual(res)
            .build()
            .unwrap();
        let x = x_of(3);
        let k = residual_linear_output_cumulants(&spec, &x).unwrap();
        let want = infinite_width(&spec, std::slice::from_ref(&x)).readout_nngp()[0][0];
        assert!(
            (k[2] / want - 1.0).abs() < 1e-13,
            "{spec:?}: {} vs {want}",
            k[2]
        );
        assert_eq!([k[1], k[3], k[5]], [0.0; 3]);
        if depth == 0 {
            // L = 0: f = W^1 x + b^1 is Gaussian.
            assert_eq!([k[4], k[6]], [0.0; 2]);
        }
    }
    // Other activations and weight laws are not covered.
    let relu = NetworkSpec::builder(3, vec![4, 4]).build().unwrap();
    assert!(residual_linear_output_cumulants(&relu, &x_of(3)).is_none());
    let rademacher = NetworkSpec::builder(3, vec![4, 4])
        .activation(Activation::Linear)
        .residual(Some(Residual::Alpha(0.5)))
        .weights(WeightLaw::Rademacher)
        .build()
        .unwrap();
    assert!(residual_linear_output_cumulants(&rademacher, &x_of(3)).is_none());
}

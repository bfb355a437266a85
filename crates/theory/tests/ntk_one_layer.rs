//! The exact law of the one-hidden-layer NTK (randnet_theory::ntk_one_layer) against brute
//! force: networks with materialized Gaussian weights (rand, Pcg64Mcg), Θ(x_a, x_b) computed from
//! its definition Σ_θ ∂f_0(x_a)/∂θ ∂f_0(x_b)/∂θ with every parameter's gradient written out (and
//! the gradients themselves checked by finite differences), independent of randnet's engines.
//! Cumulants are estimated by unbiased k-statistics in B = 100 batches; the standard error is the
//! spread of the batch k-statistics over √B. Derivation: docs/derivations/ntk_one_layer.md.

use rand::SeedableRng;
use rand_distr::{Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;
use randnet_problem::{Activation, NetworkSpec, Parameterization};
use randnet_theory::exact::cumulants_from_moments;
use randnet_theory::infinite_width;
use randnet_theory::ntk_one_layer::{
    ntk_one_layer_cumulants, ntk_one_layer_cumulants_quadrature, orthant_moments,
    orthant_moments_gl, orthant_moments_sum, pl_mixed_moments, quadrature_mixed_moments,
    unit_moments,
};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Relu,
    Tanh,
}

impl Act {
    fn sigma(self, t: f64) -> f64 {
        match self {
            Act::Relu => t.max(0.0),
            Act::Tanh => t.tanh(),
        }
    }
    fn deriv(self, t: f64) -> f64 {
        match self {
            Act::Relu => {
                if t > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Act::Tanh => 1.0 - t.tanh().powi(2),
        }
    }
    fn activation(self) -> Activation {
        match self {
            Act::Relu => Activation::Relu,
            Act::Tanh => Activation::Tanh,
        }
    }
}

/// One drawn network: z = W1 x + b1, f_0 = Σ_i w2_i σ(z_i) + b2.
struct Net {
    w1: Vec<Vec<f64>>,
    b1: Vec<f64>,
    w2: Vec<f64>,
    b2: f64,
}

#[derive(Clone, Copy)]
struct Setup {
    act: Act,
    n0: usize,
    n1: usize,
    cw: f64,
    cb: f64,
    std: bool,
}

impl Setup {
    fn spec(&self) -> NetworkSpec {
        NetworkSpec::builder(self.n0, vec![self.n1])
            .activation(self.act.activation())
            .cw(self.cw)
            .cb(self.cb)
            .parameterization(if self.std {
                Parameterization::Standard
            } else {
                Parameterization::Ntk
            })
            .build()
            .unwrap()
    }

    fn draw(&self, rng: &mut Pcg64Mcg) -> Net {
        let mut g = || -> f64 { StandardNormal.sample(rng) };
        let s1 = (self.cw / self.n0 as f64).sqrt();
        let s2 = (self.cw / self.n1 as f64).sqrt();
        let sb = self.cb.sqrt();
        let w1 = (0..self.n1)
            .map(|_| (0..self.n0).map(|_| s1 * g()).collect())
            .collect();
        let b1 = (0..self.n1).map(|_| sb * g()).collect();
        let w2 = (0..self.n1).map(|_| s2 * g()).collect();
        Net {
            w1,
            b1,
            w2,
            b2: sb * g(),
        }
    }

    fn forward(&self, net: &Net, x: &[f64]) -> f64 {
        let mut f = net.b2;
        for i in 0..self.n1 {
            let z: f64 = (0..self.n0).map(|j| net.w1[i][j] * x[j]).sum::<f64>() + net.b1[i];
            f += net.w2[i] * self.act.sigma(z);
        }
        f
    }

    /// ∂f_0(x)/∂θ for every parameter θ of the parameterization, in a fixed order:
    /// readout weights, readout bias, layer-1 weights, layer-1 biases (biases only when C_b > 0).
    /// `ntk`: θ = (Ŵ, β) with W = √(C_W/n_in) Ŵ, b = √C_b β; `standard`: θ = (W, b).
    fn gradient(&self, net: &Net, x: &[f64]) -> Vec<f64> {
        let (s1, s2, sb) = if self.std {
            (1.0, 1.0, 1.0)
        } else {
            (
                (self.cw / self.n0 as f64).sqrt(),
                (self.cw / self.n1 as f64).sqrt(),
                self.cb.sqrt(),
            )
        };
        let z: Vec<f64> = (0..self.n1)
            .map(|i| (0..self.n0).map(|j| net.w1[i][j] * x[j]).sum::<f64>() + net.b1[i])
            .collect();
        let mut g = Vec::new();
        for &zi in &z {
            g.push(s2 * self.act.sigma(zi)); // ∂f/∂Ŵ2_0i (or ∂W2_0i)
        }
        if self.cb > 0.0 {
            g.push(sb); // ∂f/∂β2_0
        }
        for (&wi, &zi) in net.w2.iter().zip(&z) {
            let back = wi * self.act.deriv(zi);
            for &xj in x {
                g.push(back * s1 * xj); // ∂f/∂Ŵ1_ij
            }
        }
        if self.cb > 0.0 {
            for (&wi, &zi) in net.w2.iter().zip(&z) {
                g.push(wi * self.act.deriv(zi) * sb); // ∂f/∂β1_i
            }
        }
        g
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Unbiased k-statistics k1..k4 of one batch (two-pass central moments).
fn kstats(y: &[f64]) -> [f64; 4] {
    let n = y.len() as f64;
    let mean = y.iter().sum::<f64>() / n;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for &v in y {
        let d = v - mean;
        let d2 = d * d;
        m2 += d2;
        m3 += d2 * d;
        m4 += d2 * d2;
    }
    let (m2, m3, m4) = (m2 / n, m3 / n, m4 / n);
    [
        mean,
        n * m2 / (n - 1.0),
        n * n * m3 / ((n - 1.0) * (n - 2.0)),
        n * n * ((n + 1.0) * m4 - 3.0 * (n - 1.0) * m2 * m2) / ((n - 1.0) * (n - 2.0) * (n - 3.0)),
    ]
}

const BATCHES: usize = 100;
/// Networks per spec (each of the 24 specs; 4 tests of 6 specs).
const NETS: usize = 800_000;

/// (estimate, standard error) of κ1..κ4 from the batch k-statistics.
fn estimate(batches: &[[f64; 4]]) -> [(f64, f64); 4] {
    let b = batches.len() as f64;
    let mut out = [(0.0, 0.0); 4];
    for (j, o) in out.iter_mut().enumerate() {
        let m = batches.iter().map(|k| k[j]).sum::<f64>() / b;
        let v = batches.iter().map(|k| (k[j] - m).powi(2)).sum::<f64>() / (b - 1.0);
        *o = (m, (v / b).sqrt());
    }
    out
}

const XA: [f64; 3] = [1.0, -0.5, 2.0];
const XB: [f64; 3] = [0.3, 1.2, 0.7]; // positively correlated with XA
const XC: [f64; 3] = [-0.8, 0.9, -0.4]; // negatively correlated with XA

/// A plausible wrong law, to show the tests' power: the same, but with the readout weight's
/// square w_i² in the layer-1 term replaced by its mean C_W/n_1 (E ω^k = 1 instead of (2k−1)!!).
fn wrong_law(s: &Setup, xa: &[f64], xb: &[f64]) -> Vec<f64> {
    let n0 = s.n0 as f64;
    let n1 = s.n1 as f64;
    let k = |p: &[f64], q: &[f64]| s.cb + s.cw * dot(p, q) / n0;
    let bias = if s.cb > 0.0 { 1.0 } else { 0.0 };
    let (alpha, c2, g1) = if s.std {
        (1.0, bias, dot(xa, xb) + bias)
    } else {
        (s.cw / n1, s.cb, s.cw * dot(xa, xb) / n0 + s.cb)
    };
    let mut m =
        quadrature_mixed_moments(&s.act.activation(), s.n1, k(xa, xa), k(xa, xb), k(xb, xb));
    for row in m.iter_mut() {
        let mut dfact = 1.0;
        for (q, cell) in row.iter_mut().enumerate() {
            if q > 0 {
                dfact *= (2 * q - 1) as f64;
            }
            *cell /= dfact;
        }
    }
    let mut kap = cumulants_from_moments(&unit_moments(alpha, g1 * s.cw / n1, &m));
    for v in kap.iter_mut().skip(1) {
        *v *= n1;
    }
    kap[1] += c2;
    kap
}

/// Draws `nets` networks of `s` and checks κ1..κ4 of ntk[a,a], ntk[a,b], ntk[a,c] against the
/// exact law: |z| <= 4. Returns the smallest "power" over the checks of the variance (how many
/// standard errors a 10% error in κ2 would be) and the largest |z| of [`wrong_law`] over the
/// checks of κ2..κ4 (how far the wrong law is rejected).
fn check(s: Setup, nets: usize, seed: u64) -> (f64, f64) {
    let spec = s.spec();
    let pairs: [(&str, &[f64], &[f64]); 3] = [
        ("ntk[a,a]", &XA, &XA),
        ("ntk[a,b]", &XA, &XB),
        ("ntk[a,c]", &XA, &XC),
    ];
    let theory: Vec<Vec<f64>> = pairs
        .iter()
        .map(|(_, xa, xb)| ntk_one_layer_cumulants(&spec, xa, xb).expect("law applies"))
        .collect();
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let per = nets / BATCHES;
    let mut ks: Vec<Vec<[f64; 4]>> = vec![Vec::new(); 3];
    let mut buf: Vec<Vec<f64>> = (0..3).map(|_| Vec::with_capacity(per)).collect();
    for _ in 0..BATCHES {
        for b in buf.iter_mut() {
            b.clear();
        }
        for _ in 0..per {
            let net = s.draw(&mut rng);
            let ga = s.gradient(&net, &XA);
            let gb = s.gradient(&net, &XB);
            let gc = s.gradient(&net, &XC);
            buf[0].push(dot(&ga, &ga));
            buf[1].push(dot(&ga, &gb));
            buf[2].push(dot(&ga, &gc));
        }
        for (k, b) in ks.iter_mut().zip(&buf) {
            k.push(kstats(b));
        }
    }
    let mut power = f64::INFINITY;
    let mut reject: f64 = 0.0;
    for (p, ((name, xa, xb), th)) in pairs.iter().zip(&theory).enumerate() {
        let est = estimate(&ks[p]);
        let wrong = wrong_law(&s, xa, xb);
        for (j, &(e, se)) in est.iter().enumerate() {
            let t = th[j + 1];
            let z = (e - t) / se;
            let zw = (e - wrong[j + 1]) / se;
            if j > 0 {
                reject = reject.max(zw.abs());
            }
            eprintln!(
                "{:?} n1={:2} cb={} {} {name} k{}: theory {t:.6e} est {e:.6e} se {se:.2e} z {z:+.2} (10% = {:.1} se; se/k2^(j/2) = {:.1e}; wrong-law z {zw:+.1})",
                s.act,
                s.n1,
                s.cb,
                if s.std { "standard" } else { "ntk" },
                j + 1,
                0.1 * t.abs() / se,
                se / th[2].powf((j + 1) as f64 / 2.0),
            );
            assert!(
                z.abs() <= 4.0,
                "{:?} n1={} cb={} std={} {name} kappa{}: theory {t} estimate {e} ± {se} (z = {z})",
                s.act,
                s.n1,
                s.cb,
                s.std,
                j + 1
            );
            if j == 1 {
                power = power.min(0.1 * t.abs() / se);
            }
        }
    }
    (power, reject)
}

fn check_family(act: Act, std: bool, seed: u64) {
    let cw = if act == Act::Relu { 2.0 } else { 1.5 };
    for (c, cb) in [0.0, 0.5].into_iter().enumerate() {
        for (k, n1) in [2, 4, 16].into_iter().enumerate() {
            let s = Setup {
                act,
                n0: 3,
                n1,
                cw,
                cb,
                std,
            };
            let (power, reject) = check(s, NETS, seed + 10 * c as u64 + k as u64);
            // Enough networks that a 10% error in the variance fails by > 4 standard errors,
            // and that the law without the readout weights' χ² fluctuation is rejected.
            assert!(power > 4.0, "too few networks: 10% of kappa2 = {power} se");
            assert!(
                reject > 4.0,
                "the wrong law is not rejected: |z| <= {reject}"
            );
        }
    }
}

#[test]
fn brute_force_relu_ntk() {
    check_family(Act::Relu, false, 1000);
}

#[test]
fn brute_force_relu_standard() {
    check_family(Act::Relu, true, 2000);
}

#[test]
fn brute_force_tanh_ntk() {
    check_family(Act::Tanh, false, 3000);
}

#[test]
fn brute_force_tanh_standard() {
    check_family(Act::Tanh, true, 4000);
}

/// The brute-force gradients are the gradients: central finite differences of f_0 in every
/// parameter (tanh, C_b > 0, both parameterizations).
#[test]
fn brute_force_gradient_is_the_gradient() {
    for std in [false, true] {
        let s = Setup {
            act: Act::Tanh,
            n0: 3,
            n1: 4,
            cw: 1.5,
            cb: 0.5,
            std,
        };
        let mut rng = Pcg64Mcg::seed_from_u64(7);
        let net = s.draw(&mut rng);
        let g = s.gradient(&net, &XA);
        // Perturb each parameter θ of the parameterization: W = c θ for the scale c of θ.
        let (c1, c2, cbias) = if std {
            (1.0, 1.0, 1.0)
        } else {
            (
                (s.cw / s.n0 as f64).sqrt(),
                (s.cw / s.n1 as f64).sqrt(),
                s.cb.sqrt(),
            )
        };
        let h = 1e-6;
        let fd = |edit: &dyn Fn(&mut Net, f64)| {
            let mut p = Net {
                w1: net.w1.clone(),
                b1: net.b1.clone(),
                w2: net.w2.clone(),
                b2: net.b2,
            };
            let mut m = Net {
                w1: net.w1.clone(),
                b1: net.b1.clone(),
                w2: net.w2.clone(),
                b2: net.b2,
            };
            edit(&mut p, h);
            edit(&mut m, -h);
            (s.forward(&p, &XA) - s.forward(&m, &XA)) / (2.0 * h)
        };
        let mut want = Vec::new();
        for i in 0..s.n1 {
            want.push(fd(&|n: &mut Net, d| n.w2[i] += c2 * d));
        }
        want.push(fd(&|n: &mut Net, d| n.b2 += cbias * d));
        for i in 0..s.n1 {
            for j in 0..s.n0 {
                want.push(fd(&|n: &mut Net, d| n.w1[i][j] += c1 * d));
            }
        }
        for i in 0..s.n1 {
            want.push(fd(&|n: &mut Net, d| n.b1[i] += cbias * d));
        }
        assert_eq!(g.len(), want.len());
        for (a, b) in g.iter().zip(&want) {
            assert!(
                (a - b).abs() < 1e-8,
                "gradient {a} vs finite difference {b}"
            );
        }
    }
}

fn spec(act: Activation, n1: usize, cw: f64, cb: f64, std: bool) -> NetworkSpec {
    NetworkSpec::builder(3, vec![n1])
        .activation(act)
        .cw(cw)
        .cb(cb)
        .parameterization(if std {
            Parameterization::Standard
        } else {
            Parameterization::Ntk
        })
        .build()
        .unwrap()
}

/// κ1 equals the infinite-width recursion's readout NTK (exact at L = 1) for every activation.
#[test]
fn mean_is_the_exact_l1_mean() {
    let acts = [
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.2 },
        Activation::Linear,
        Activation::ShapedRelu { c: 0.7 },
        Activation::Tanh,
        Activation::Erf,
        Activation::Gelu,
        Activation::Swish,
        Activation::Sin,
        Activation::Cubic { psi: 0.3 },
    ];
    let xs = vec![XA.to_vec(), XB.to_vec(), XC.to_vec()];
    for act in acts {
        for std in [false, true] {
            for cb in [0.0, 0.4] {
                let sp = spec(act, 5, 1.3, cb, std);
                let th = infinite_width(&sp, &xs);
                let th = th.readout_ntk();
                for a in 0..3 {
                    for b in a..3 {
                        let k = ntk_one_layer_cumulants(&sp, &xs[a], &xs[b]).unwrap();
                        let want = th[a][b];
                        assert!(
                            (k[1] - want).abs() <= 1e-9 * want.abs().max(1.0),
                            "{act} std={std} cb={cb} ({a},{b}): {} vs {want}",
                            k[1]
                        );
                    }
                }
            }
        }
    }
}

/// The piecewise-linear closed form against the quadrature path: κ1..κ6 to 1e-10 (relative to
/// max(|κ_j|, κ2^{j/2})), and every mixed moment M[p][q] to 1e-10 relative (plus 1e-15 of its
/// natural scale, for the vanishing orthant at ρ → −1).
#[test]
fn closed_form_matches_quadrature() {
    let acts = [
        Activation::Relu,
        Activation::LeakyRelu { slope: 0.2 },
        Activation::Linear,
        Activation::ShapedRelu { c: 0.7 },
    ];
    let xs = [
        XA.to_vec(),
        XB.to_vec(),
        XC.to_vec(),
        XA.map(|v| -2.0 * v).to_vec(),
    ];
    for act in acts {
        for std in [false, true] {
            for cb in [0.0, 0.4] {
                for n1 in [2, 16] {
                    let sp = spec(act, n1, 1.7, cb, std);
                    for a in 0..xs.len() {
                        for b in a..xs.len() {
                            let c = ntk_one_layer_cumulants(&sp, &xs[a], &xs[b]).unwrap();
                            let q =
                                ntk_one_layer_cumulants_quadrature(&sp, &xs[a], &xs[b]).unwrap();
                            for j in 1..=6 {
                                let scale = c[j].abs().max(c[2].abs().powf(j as f64 / 2.0));
                                assert!(
                                    (c[j] - q[j]).abs() <= 1e-10 * scale,
                                    "{act} std={std} cb={cb} n1={n1} ({a},{b}) kappa{j}: {} vs {}",
                                    c[j],
                                    q[j]
                                );
                            }
                        }
                    }
                }
            }
        }
    }
    // The mixed moments themselves, over correlations from −1 to 1.
    for rho in [-1.0, -0.99, -0.5, 0.0, 0.3, 0.9, 0.999, 1.0] {
        let (k11, k22) = (1.3, 0.7);
        let k12 = rho * f64::sqrt(k11 * k22);
        for (ap, am) in [(1.0, 0.0), (1.0, 0.2), (1.3, 0.6)] {
            let c = pl_mixed_moments(ap, am, k11, k12, k22);
            // σ_{a+,a−} = a+ σ_{1,a−/a+}: M[p][q] = a+^{2(p+q)} M_{1,a−/a+}[p][q].
            let q = quadrature_mixed_moments(
                &Activation::LeakyRelu { slope: am / ap },
                1,
                k11,
                k12,
                k22,
            );
            for p in 0..=6 {
                for qq in 0..=6 - p {
                    let want = q[p][qq] * ap.powi(2 * (p + qq) as i32);
                    let got = c[p][qq];
                    // Relative 1e-10, plus an absolute 1e-15 of the moment's natural scale
                    // (k11 k22)^{p/2} (2p−1)!! a+^{2(p+q)}: the 2-D rule resolves the thin
                    // orthant at ρ → −1 to ~1e-23 of that scale, not to 1e-10 of its tiny mass.
                    let dfact: f64 = (1..=p).map(|i| (2 * i - 1) as f64).product();
                    let scale =
                        (k11 * k22).powf(p as f64 / 2.0) * dfact * ap.powi(2 * (p + qq) as i32);
                    assert!(
                        (got - want).abs() <= 1e-10 * want.abs() + 1e-15 * scale,
                        "rho={rho} slopes=({ap},{am}) M[{p}][{qq}]: {got} vs {want}"
                    );
                }
            }
        }
    }
}

/// I_p against Cho & Saul's arc-cosine J_0, J_1, J_2 (I_p = J_p/(2π)) and I_p(1) = E[g^{2p}]/2.
#[test]
fn orthant_moments_match_arc_cosine_kernels() {
    use std::f64::consts::PI;
    for rho in [-0.9, -0.3, 0.0, 0.4, 0.95] {
        let th = f64::acos(rho);
        let (s, c) = (th.sin(), th.cos());
        let i = orthant_moments(rho);
        let j = [
            PI - th,
            s + (PI - th) * c,
            3.0 * s * c + (PI - th) * (1.0 + 2.0 * c * c),
        ];
        for p in 0..3 {
            assert!((i[p] - j[p] / (2.0 * PI)).abs() < 1e-14, "rho={rho} p={p}");
        }
    }
    // The Gauss–Legendre evaluation against the exact finite sum where the sum does not cancel.
    for rho in [0.0, 0.2, 0.5, 0.9, 0.999, 1.0] {
        let (a, b) = (orthant_moments_gl(rho), orthant_moments_sum(rho));
        for p in 0..=6 {
            assert!(
                (a[p] - b[p]).abs() <= 1e-14 * b[p],
                "rho={rho} p={p}: {} vs {}",
                a[p],
                b[p]
            );
        }
    }
    let i = orthant_moments(1.0);
    let dfact = [1.0, 1.0, 3.0, 15.0, 105.0, 945.0, 10395.0];
    for p in 0..=6 {
        assert!((i[p] - dfact[p] / 2.0).abs() < 1e-11 * dfact[p], "p={p}");
    }
}

/// Linear σ: T = α uv + β ω with (u, v) Gaussian and ω ~ χ²_1 independent, so
/// κ_j(T) = α^j κ_j(uv) + β^j 2^{j−1}(j−1)! with κ_j(uv) from the moment generating function
/// E e^{s uv} = [(1 − s k12)² − s² k11 k22]^{−1/2}: κ_j(uv) = (j−1)!/2 [(k12+r)^j + (k12−r)^j],
/// r = √(k11 k22).
#[test]
fn linear_activation_matches_closed_cumulants() {
    let xs = [XA.to_vec(), XB.to_vec(), XC.to_vec()];
    for std in [false, true] {
        for cb in [0.0, 0.4] {
            let (n1, cw) = (3, 1.7);
            let sp = spec(Activation::Linear, n1, cw, cb, std);
            for a in 0..3 {
                for b in a..3 {
                    let g = dot(&xs[a], &xs[b]);
                    let kk = |g: f64| cb + cw * g / 3.0;
                    let (k11, k12, k22) = (kk(dot(&xs[a], &xs[a])), kk(g), kk(dot(&xs[b], &xs[b])));
                    let bias = if cb > 0.0 { 1.0 } else { 0.0 };
                    let (alpha, c2, g1) = if std {
                        (1.0, bias, g + bias)
                    } else {
                        (cw / n1 as f64, cb, cw * g / 3.0 + cb)
                    };
                    let beta = g1 * cw / n1 as f64;
                    let r = (k11 * k22).sqrt();
                    let got = ntk_one_layer_cumulants(&sp, &xs[a], &xs[b]).unwrap();
                    let mut fact = 1.0;
                    for j in 1..=6 {
                        if j > 1 {
                            fact *= (j - 1) as f64;
                        }
                        let kuv = fact / 2.0 * ((k12 + r).powi(j) + (k12 - r).powi(j));
                        let kw = 2f64.powi(j - 1) * fact;
                        let mut want = n1 as f64 * (alpha.powi(j) * kuv + beta.powi(j) * kw);
                        if j == 1 {
                            want += c2;
                        }
                        assert!(
                            (got[j as usize] - want).abs() <= 1e-11 * want.abs().max(1.0),
                            "std={std} cb={cb} ({a},{b}) kappa{j}: {} vs {want}",
                            got[j as usize]
                        );
                    }
                }
            }
        }
    }
}

/// ReLU, `ntk` parameterization, C_b = 0, diagonal: T_i = (C_W K/n_1) 1{g_i > 0}(g_i² + ω_i) with
/// K = C_W ‖x‖²/n_0, g_i ~ N(0,1), so Θ(x,x) = (C_W K/n_1) Σ_i B_i X_i, B_i ~ Bernoulli(1/2),
/// X_i ~ χ²_2 independent (the sign of g is independent of g²): E (B X)^m = 2^m m!/2. In
/// particular E Θ = C_W K (Hanin & Nica's 2(L+1)‖x‖²/n_0 at C_W = 2) and Var Θ = 3 (C_W K)²/n_1.
#[test]
fn relu_ntk_diagonal_is_a_chi2_mixture() {
    for n1 in [1, 2, 7, 64] {
        let cw = 1.8;
        let sp = spec(Activation::Relu, n1, cw, 0.0, false);
        let k = cw * dot(&XA, &XA) / 3.0;
        let c = cw * k / n1 as f64;
        let mut mu = vec![1.0; 7];
        let mut fact = 1.0;
        for (m, v) in mu.iter_mut().enumerate().skip(1) {
            fact *= m as f64;
            *v = 2f64.powi(m as i32) * fact / 2.0 * c.powi(m as i32);
        }
        let unit = cumulants_from_moments(&mu);
        let got = ntk_one_layer_cumulants(&sp, &XA, &XA).unwrap();
        for j in 1..=6 {
            let want = n1 as f64 * unit[j];
            assert!(
                (got[j] - want).abs() <= 1e-12 * want.abs(),
                "n1={n1} kappa{j}: {} vs {want}",
                got[j]
            );
        }
        assert!((got[1] - cw * k).abs() <= 1e-12 * cw * k);
        assert!((got[2] - 3.0 * (cw * k).powi(2) / n1 as f64).abs() <= 1e-12 * got[2]);
    }
}

//! Tests of randnet-theory: closed forms against independent quadrature, known values, the
//! reductions stated in docs/theory.md, and small brute-force Monte Carlo checks of the exact
//! finite-width laws. Every tolerance is stated with its reason.

use randnet_problem::{Activation, NetworkSpec, Parameterization, Residual};
use randnet_theory::exact;
use randnet_theory::kernels::{self, arccos_dual, cubic_dual, erf_dual, quadrature_dual, sin_dual};
use randnet_theory::quad;
use randnet_theory::{
    infinite_width, leading_order_output_kurtosis, predict_named as predict, Kind,
};

fn spec(act: Activation, n0: usize, hidden: Vec<usize>, cw: f64, cb: f64) -> NetworkSpec {
    NetworkSpec::builder(n0, hidden)
        .activation(act)
        .cw(cw)
        .cb(cb)
        .build()
        .unwrap()
}

const COVS: [(f64, f64, f64); 6] = [
    (1.0, 0.3, 1.0),
    (0.7, -0.5, 2.0),
    (2.5, 2.4, 2.5),
    (1.3, 0.0, 0.4),
    (1.0, 1.0, 1.0), // equal inputs: singular covariance
    (0.8, -0.79, 0.8),
];

/// erf, sin and the cubic are entire functions: 120-node Gauss–Hermite converges below 1e-8
/// for variances up to ~2.5, so the closed forms must agree to 1e-8 (the cubic is a polynomial
/// of degree 6 — exact up to rounding, 1e-10).
#[test]
fn smooth_closed_forms_match_quadrature() {
    let rule = quad::gauss_hermite_normal(120);
    for &(a, b, c) in &COVS {
        let q = quadrature_dual(&Activation::Erf, 1, 1, a, b, c, &rule);
        let e = erf_dual(a, b, c);
        if a * c - b * b > 1e-9 {
            assert!((q.s - e.s).abs() < 1e-8, "erf s {q:?} {e:?}");
            assert!((q.d - e.d).abs() < 1e-8, "erf d {q:?} {e:?}");
        } else {
            // det(I+2K) stays positive; only s is checked exactly at the singular point too.
            assert!((q.s - e.s).abs() < 1e-8);
            assert!((q.d - e.d).abs() < 1e-8);
        }
        let q = quadrature_dual(&Activation::Sin, 1, 1, a, b, c, &rule);
        let e = sin_dual(a, b, c);
        assert!(
            (q.s - e.s).abs() < 1e-8 && (q.d - e.d).abs() < 1e-8,
            "sin {q:?} {e:?}"
        );
        let psi = -0.7;
        let q = quadrature_dual(&Activation::Cubic { psi }, 1, 2, a, b, c, &rule);
        let e = cubic_dual(psi / 2.0, a, b, c);
        assert!(
            (q.s - e.s).abs() < 1e-10 && (q.d - e.d).abs() < 1e-10,
            "cubic {q:?} {e:?}"
        );
    }
}

/// Independent check of the generalized arc-cosine kernel: condition on u, so that
/// E[σ(u)σ(v)] = E_u[σ(u) E[σ(v)|u]] with E[σ(v)|u] in closed form (v|u ~ N(m, s²):
/// E relu(v) = mΦ(m/s) + sφ(m/s)), and integrate over u on each side of the kink with a
/// 200-point Gauss–Legendre rule on [0, 14]·√k11 (smooth integrand, tail < 1e-40):
/// agreement to 1e-9 (rounding and the truncated tail). Gauss–Hermite, which does not see the
/// kink, is only checked to 2e-3.
#[test]
fn arccos_kernel_matches_conditional_integration() {
    let phi = |t: f64| (-0.5 * t * t).exp() / (2.0 * std::f64::consts::PI).sqrt();
    let cdf = kernels::norm_cdf;
    let slopes = [(1.0, 0.0), (1.0, 0.2), (1.0, 1.0), (1.3, 0.7), (0.5, -0.4)];
    let (gx, gw) = quad::gauss_legendre(200, 0.0, 14.0);
    let gh = quad::gauss_hermite_normal(80);
    for &(ap, am) in &slopes {
        for &(k11, k12, k22) in &COVS {
            if k11 * k22 - k12 * k12 < 1e-6 {
                continue;
            }
            let s1 = k11.sqrt();
            // v | u = s1 t ~ N(k12 t / s1, k22 − k12²/k11)
            let sd = (k22 - k12 * k12 / k11).sqrt();
            let erelu = |m: f64| m * cdf(m / sd) + sd * phi(m / sd);
            let cond_s = |m: f64| ap * erelu(m) - am * erelu(-m); // E σ(v) = a₊ E relu(v) − a₋ E relu(−v)
            let cond_d = |m: f64| ap * cdf(m / sd) + am * cdf(-m / sd);
            let (mut s, mut d) = (0.0, 0.0);
            for (&t, &w) in gx.iter().zip(&gw) {
                for sign in [1.0, -1.0] {
                    let tt = sign * t;
                    let u = s1 * tt;
                    let m = k12 * tt / s1;
                    let (su, du) = if u > 0.0 { (ap * u, ap) } else { (am * u, am) };
                    s += w * phi(tt) * su * cond_s(m);
                    d += w * phi(tt) * du * cond_d(m);
                }
            }
            let cf = arccos_dual(ap, am, k11, k12, k22);
            assert!(
                (cf.s - s).abs() < 1e-9,
                "s {ap},{am},{k11},{k12},{k22}: {} vs {s}",
                cf.s
            );
            assert!(
                (cf.d - d).abs() < 1e-9,
                "d {ap},{am},{k11},{k12},{k22}: {} vs {d}",
                cf.d
            );
            let act = Activation::LeakyRelu { slope: am / ap };
            let q = quadrature_dual(&act, 1, 1, k11, k12, k22, &gh);
            assert!((ap * ap * q.s - cf.s).abs() < 2e-3 * (k11 * k22).sqrt());
        }
    }
}

/// The graded composite rule used for tanh/gelu/swish, checked where the truth is known:
/// erf saturates like tanh, and its closed form holds for any variance. Agreement to 1e-9 even at
/// variance 100 and near-singular covariances (measured ~2e-12), where 64-node Gauss–Hermite is
/// off by ~1e-3. Also the cubic (exact polynomial) and sin.
#[test]
fn composite_rule_matches_closed_forms() {
    let covs = [
        (1.0, 0.3, 1.0),
        (10.0, 9.0, 10.0),
        (10.0, -2.0, 0.5),
        (50.0, 49.999, 50.0),
        (0.01, 0.005, 0.02),
        (3.0, 3.0, 3.0),
        (100.0, 10.0, 100.0),
        (0.0, 0.0, 2.0),
    ];
    for &(a, b, c) in &covs {
        let e = erf_dual(a, b, c);
        let n = kernels::numeric_dual(&Activation::Erf, 1, 1, a, b, c);
        assert!(
            (n.s - e.s).abs() < 1e-9 && (n.d - e.d).abs() < 1e-9,
            "{a},{b},{c}: {n:?} {e:?}"
        );
        // sin oscillates on scale 1/√k: keep k <= 3 (scaling the covariance keeps it PSD).
        let r = (3.0 / a.max(c)).min(1.0);
        let (sa, sb, sc) = (a * r, b * r, c * r);
        let e = sin_dual(sa, sb, sc);
        let n = kernels::numeric_dual(&Activation::Sin, 1, 1, sa, sb, sc);
        assert!(
            (n.s - e.s).abs() < 1e-9 && (n.d - e.d).abs() < 1e-9,
            "sin {a},{b},{c}"
        );
        let e = cubic_dual(0.25, a, b, c);
        let n = kernels::numeric_dual(&Activation::Cubic { psi: 0.5 }, 1, 2, a, b, c);
        let scale = 1.0 + e.s.abs() + e.d.abs();
        assert!(
            (n.s - e.s).abs() < 1e-9 * scale && (n.d - e.d).abs() < 1e-9 * scale,
            "cubic {a},{b},{c}"
        );
    }
    // tanh: composite rule vs 128-node Gauss–Hermite at a moderate variance, where GH has
    // converged to ~1e-9 (measured: 96 vs 128 nodes differ by 6e-9 at k = 1.7; here k <= 1).
    let gh = quad::gauss_hermite_normal(128);
    let q = quadrature_dual(&Activation::Tanh, 1, 1, 0.8, 0.3, 1.0, &gh);
    let n = kernels::numeric_dual(&Activation::Tanh, 1, 1, 0.8, 0.3, 1.0);
    assert!(
        (q.s - n.s).abs() < 1e-8 && (q.d - n.d).abs() < 1e-8,
        "{q:?} {n:?}"
    );
}

/// Singular covariances: for equal inputs the 2-D kernel must equal the 1-D moment.
#[test]
fn degenerate_covariance_is_handled() {
    for act in [Activation::Tanh, Activation::Gelu, Activation::Swish] {
        let k = 1.7;
        let d = kernels::dual(&act, 8, 3, k, k, k);
        let (m2, _, _) = kernels::single_moments(&act, 8, 3, k);
        assert!((d.s - m2).abs() < 1e-9, "{act}: {} vs {m2}", d.s); // two rules, both converged
        let z = kernels::dual(&act, 8, 3, 0.0, 0.0, 2.0);
        assert!(z.s.is_finite() && z.d.is_finite());
    }
    let z = arccos_dual(1.0, 0.0, 0.0, 0.0, 1.0);
    assert_eq!(z.s, 0.0);
}

/// Known values of the erf kernel: K = 0.5 everywhere gives (2/π) arcsin(1/2) = 1/3, and
/// E[erf'erf'] = (4/π)/√(4·... ) — rounding-level tolerance.
#[test]
fn erf_known_values() {
    let e = erf_dual(0.5, 0.5, 0.5);
    assert!((e.s - 1.0 / 3.0).abs() < 1e-15);
    // (1+1)(1+1) − 4·0.25 = 3
    assert!((e.d - 4.0 / std::f64::consts::PI / 3f64.sqrt()).abs() < 1e-15);
    let e = erf_dual(1.0, 0.0, 1.0);
    assert_eq!(e.s, 0.0);
    assert!((e.d - 4.0 / std::f64::consts::PI / 3.0).abs() < 1e-15);
}

/// ReLU with C_W = 2, C_b = 0 in the NTK parameterization: Θ^{L+1}(x,x) = 2(L+1)‖x‖²/n0 and
/// K^l = 2‖x‖²/n0 (the recursion is a sum of equal terms; tolerance: rounding).
#[test]
fn relu_ntk_closed_form() {
    let x = vec![vec![1.0, -2.0, 0.5, 3.0]];
    let x2 = 1.0 + 4.0 + 0.25 + 9.0;
    for l in 0..6 {
        let s = spec(Activation::Relu, 4, vec![7; l], 2.0, 0.0);
        let k = infinite_width(&s, &x);
        let want = 2.0 * (l as f64 + 1.0) * x2 / 4.0;
        assert!((k.readout_ntk()[0][0] - want).abs() < 1e-12 * want);
        assert!((k.readout_nngp()[0][0] - 2.0 * x2 / 4.0).abs() < 1e-12);
        let p = predict(&s, &x, "ntk[0,0]", "mean").unwrap();
        assert_eq!(p.kind, Kind::Exact);
        assert!((p.value - want).abs() < 1e-12 * want);
    }
}

/// Linear nets: K^{L+1} = C_W^{L+1} x·x'/n0, Θ^{L+1} = (L+1) C_W^{L+1} x·x'/n0 (zero bias);
/// with bias K^{l+1} = C_b + C_W K^l. Tolerance: rounding.
#[test]
fn linear_kernels_exact() {
    let xs = vec![vec![1.0, 2.0, -1.0], vec![0.5, -1.0, 2.0]];
    let dots = [[6.0, -3.5], [-3.5, 5.25]];
    let cw = 1.3;
    let l = 4;
    let s = spec(Activation::Linear, 3, vec![5; l], cw, 0.0);
    let k = infinite_width(&s, &xs);
    for (a, row) in dots.iter().enumerate() {
        for (b, &dab) in row.iter().enumerate() {
            let want = cw.powi(l as i32 + 1) * dab / 3.0;
            assert!((k.readout_nngp()[a][b] - want).abs() < 1e-12);
            assert!((k.readout_ntk()[a][b] - (l as f64 + 1.0) * want).abs() < 1e-11);
        }
    }
    let s = spec(Activation::Linear, 3, vec![5; 2], cw, 0.4);
    let k = infinite_width(&s, &xs);
    let k1 = 0.4 + cw * 6.0 / 3.0;
    let k3 = 0.4 + cw * (0.4 + cw * k1);
    assert!((k.readout_nngp()[0][0] - k3).abs() < 1e-12);
    assert_eq!(
        predict(&s, &xs, "ntk[0,1]", "mean").unwrap().kind,
        Kind::Exact
    );
    assert_eq!(
        predict(&s, &xs, "output[1]", "variance").unwrap().kind,
        Kind::Exact
    );
}

/// The exact output kurtosis reduces to docs/theory.md's forms: relu 3[Π(1+5/n_l) − 1],
/// linear 3[Π(1+2/n_l) − 1]; variance (C_W/n0)‖x‖² (C_W/2)^L for relu. Tolerance: rounding in
/// the moment–cumulant conversion (~1e-12 relative).
#[test]
fn exact_kurtosis_reduces_to_theory_md() {
    let x = vec![vec![1.0, 1.0, 0.0, 2.0]];
    let widths = vec![5, 9, 3, 40];
    let s = spec(Activation::Relu, 4, widths.clone(), 2.0, 0.0);
    let want = 3.0
        * (widths
            .iter()
            .map(|&n| 1.0 + 5.0 / n as f64)
            .product::<f64>()
            - 1.0);
    let p = predict(&s, &x, "output[0]", "excess_kurtosis").unwrap();
    assert_eq!(p.kind, Kind::Exact);
    assert!(
        (p.value - want).abs() < 1e-11 * want,
        "{} vs {want}",
        p.value
    );
    let v = predict(&s, &x, "output[0]", "variance").unwrap().value;
    assert!((v - 2.0 * 6.0 / 4.0).abs() < 1e-12);
    let s = spec(Activation::Linear, 4, widths.clone(), 0.9, 0.0);
    let want = 3.0
        * (widths
            .iter()
            .map(|&n| 1.0 + 2.0 / n as f64)
            .product::<f64>()
            - 1.0);
    let p = predict(&s, &x, "output[0]", "excess_kurtosis").unwrap();
    assert!((p.value - want).abs() < 1e-11 * want);
    // Leading order of the exact law = the PDLT vertex recursion (with closed-form moments).
    let s = spec(Activation::Relu, 4, vec![1000; 3], 2.0, 0.0);
    let (_, lo) = leading_order_output_kurtosis(&s, &x[0]).unwrap();
    assert!((lo - 3.0 * 3.0 * 5.0 / 1000.0).abs() < 1e-12);
    let ex = predict(&s, &x, "output[0]", "excess_kurtosis")
        .unwrap()
        .value;
    assert!((ex - lo).abs() < 2.0 * 3.0 * 9.0 * 25.0 / 1e6); // O(1/n²) difference
}

/// PDLT's vertex recursion through the generic quadrature path reproduces the scale-invariant
/// closed form when the activation is linear-like: a cubic with psi = 0 is the identity
/// (3(1+2/n)... to leading order 3·2·L/n). Tolerance 1e-10 (Gauss–Hermite exact on polynomials).
#[test]
fn leading_order_generic_path() {
    let x = vec![1.0, -1.0, 2.0];
    let s = spec(Activation::Cubic { psi: 0.0 }, 3, vec![50; 4], 1.0, 0.0);
    let (_, lo) = leading_order_output_kurtosis(&s, &x).unwrap();
    assert!((lo - 3.0 * 2.0 * 4.0 / 50.0).abs() < 1e-10, "{lo}");
    let s = spec(Activation::Tanh, 3, vec![50; 4], 1.0, 0.0);
    let p = predict(&s, std::slice::from_ref(&x), "output[0]", "excess_kurtosis").unwrap();
    assert_eq!(p.kind, Kind::LeadingOrder);
    assert!(p.value > 0.0 && p.value < 3.0 * 2.0 * 4.0 / 50.0);
}

/// E√chi2_k = √2 Γ((k+1)/2)/Γ(k/2) against numerical integration (substituting x = y² makes the
/// integrand 2y^k e^{−y²/2}/(2^{k/2}Γ(k/2)) smooth; 300-point Gauss–Legendre on [0, 60]:
/// error below 1e-12 relative).
#[test]
fn e_sqrt_chi2_matches_integration() {
    let (y, w) = quad::gauss_legendre(300, 0.0, 60.0);
    for k in [1usize, 2, 3, 7, 20, 101] {
        let kf = k as f64;
        let lnc = (kf / 2.0) * std::f64::consts::LN_2 + statrs::function::gamma::ln_gamma(kf / 2.0);
        let num: f64 = y
            .iter()
            .zip(&w)
            .map(|(&y, &w)| w * 2.0 * (kf * y.ln() - y * y / 2.0 - lnc).exp())
            .sum();
        let cf = exact::chi2_power_mean(k, 0.5);
        assert!((num - cf).abs() < 1e-12 * cf, "k={k}: {num} vs {cf}");
    }
    // Binomial mixture: p = 1 gives E K = n/2.
    assert!((exact::binomial_chi2_power_mean(13, 1.0) - 6.5).abs() < 1e-12);
}

// ---------------------------------------------------------------- brute-force Monte Carlo

struct Rng(u64, Option<f64>);
impl Rng {
    fn next_u64(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
    fn normal(&mut self) -> f64 {
        if let Some(z) = self.1.take() {
            return z;
        }
        let r = (-2.0 * self.uniform().ln()).sqrt();
        let t = 2.0 * std::f64::consts::PI * self.uniform();
        self.1 = Some(r * t.sin());
        r * t.cos()
    }
}

/// One dense network: forward pass on x, Jacobian-vector product with u, NTK Θ(x,x) (both
/// parameterizations, zero bias), squared norms.
struct Sample {
    f: f64,
    jnorm: f64,
    ntk: f64,
    ntk_std: f64,
    sq: Vec<f64>,
}

fn draw(rng: &mut Rng, widths: &[usize], cw: f64, act: &Activation, x: &[f64]) -> Sample {
    let depth = widths.len() - 2;
    let mut u: Vec<f64> = (0..widths[0]).map(|_| rng.normal()).collect();
    let un = u.iter().map(|v| v * v).sum::<f64>().sqrt();
    u.iter_mut().for_each(|v| *v /= un);
    let mut ws = Vec::new();
    let mut a = x.to_vec();
    let mut v = u;
    let mut acts = vec![a.clone()];
    let mut derivs = Vec::new();
    let mut sq = Vec::new();
    for l in 1..=depth + 1 {
        let (nin, nout) = (widths[l - 1], widths[l]);
        let sd = (cw / nin as f64).sqrt();
        let w: Vec<f64> = (0..nin * nout).map(|_| sd * rng.normal()).collect();
        let z: Vec<f64> = (0..nout)
            .map(|i| (0..nin).map(|j| w[i * nin + j] * a[j]).sum())
            .collect();
        let jv: Vec<f64> = (0..nout)
            .map(|i| (0..nin).map(|j| w[i * nin + j] * v[j]).sum())
            .collect();
        sq.push(z.iter().map(|t| t * t).sum::<f64>() / nout as f64);
        ws.push(w);
        if l <= depth {
            let d: Vec<f64> = z
                .iter()
                .map(|&t| kernels::act_deriv(act, nout, depth, t))
                .collect();
            a = z
                .iter()
                .map(|&t| kernels::act(act, nout, depth, t))
                .collect();
            v = jv.iter().zip(&d).map(|(x, y)| x * y).collect();
            derivs.push(d);
            acts.push(a.clone());
        } else {
            a = z;
            v = jv;
        }
    }
    let f = a[0];
    let jnorm = v.iter().map(|t| t * t).sum::<f64>().sqrt();
    // Backward: δ^{L+1} = e_0; δ^l = D_l W^{l+1 T} δ^{l+1}.
    let mut delta = vec![0.0; widths[depth + 1]];
    delta[0] = 1.0;
    let (mut ntk, mut ntk_std) = (0.0, 0.0);
    for l in (1..=depth + 1).rev() {
        let nin = widths[l - 1];
        let a2: f64 = acts[l - 1].iter().map(|t| t * t).sum();
        let d2: f64 = delta.iter().map(|t| t * t).sum();
        ntk += cw / nin as f64 * a2 * d2;
        ntk_std += a2 * d2;
        if l > 1 {
            let w = &ws[l - 1];
            let nout = widths[l];
            delta = (0..nin)
                .map(|j| {
                    (0..nout).map(|i| w[i * nin + j] * delta[i]).sum::<f64>() * derivs[l - 2][j]
                })
                .collect();
        }
    }
    Sample {
        f,
        jnorm,
        ntk,
        ntk_std,
        sq,
    }
}

fn mean_se(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

fn assert_z(name: &str, est: (f64, f64), theory: f64) {
    let z = (est.0 - theory) / est.1;
    assert!(
        z.abs() < 5.0,
        "{name}: MC {} ± {} vs theory {theory} (z = {z:.2})",
        est.0,
        est.1
    );
}

/// The exact ReLU Jacobian law against brute force: n0 = 3, widths 4, 4, n_out = 2, 200k
/// networks; E‖Ju‖ and E‖Ju‖² within 5 standard errors (a wrong constant, e.g. a missing
/// first-layer factor or Bin(n,1/2) → n, moves them by ≫ 5 SE).
#[test]
fn jacobian_law_matches_monte_carlo() {
    let widths = [3usize, 4, 4, 2];
    let cw = 2.0;
    let x = [0.3, -1.2, 0.8];
    for act in [Activation::Relu, Activation::Linear] {
        let mut rng = Rng(12345, None);
        let s: Vec<Sample> = (0..200_000)
            .map(|_| draw(&mut rng, &widths, cw, &act, &x))
            .collect();
        let spec = NetworkSpec::builder(3, vec![4, 4])
            .output_dim(2)
            .activation(act)
            .cw(cw)
            .build()
            .unwrap();
        let xs = vec![x.to_vec()];
        let j: Vec<f64> = s.iter().map(|s| s.jnorm).collect();
        let j2: Vec<f64> = j.iter().map(|v| v * v).collect();
        let pm = predict(&spec, &xs, "jacobian_norm[0]", "mean").unwrap();
        let pv = predict(&spec, &xs, "jacobian_norm[0]", "variance").unwrap();
        assert_eq!(pm.kind, Kind::Exact);
        assert_z("E|Ju|", mean_se(&j), pm.value);
        assert_z("E|Ju|^2", mean_se(&j2), pv.value + pm.value * pm.value);
        // E‖Ju‖² closed form (C_W/n0)(C_W/2)^L n_out for relu, (C_W/n0) C_W^L n_out for linear.
        let half = if act == Activation::Relu { 0.5 } else { 1.0 };
        let want = cw / 3.0 * (cw * half).powi(2) * 2.0;
        assert!((pv.value + pm.value * pm.value - want).abs() < 1e-12 * want);
    }
}

/// Output, squared norms and NTK means against brute force for small zero-bias nets
/// (relu, leaky-relu, shaped-relu; 200k networks each). E f², E f⁴ (= κ4 + 3κ2²), E sqnorm,
/// E sqnorm² within 5 SE; NTK mean (Hanin & Nica's exact claim, also C_W ≠ 2 and the standard
/// parameterization) within 5 SE.
#[test]
fn exact_laws_match_monte_carlo() {
    let widths = [3usize, 4, 3, 1];
    let x = [1.0, -0.5, 0.7];
    let xs = vec![x.to_vec()];
    let cases = [
        (Activation::Relu, 2.0),
        (Activation::Relu, 1.3),
        (Activation::LeakyRelu { slope: -0.4 }, 1.5),
        (Activation::ShapedRelu { c: 0.8 }, 1.0),
    ];
    for (act, cw) in cases {
        let mut rng = Rng(987, None);
        let s: Vec<Sample> = (0..200_000)
            .map(|_| draw(&mut rng, &widths, cw, &act, &x))
            .collect();
        let mk = |p| {
            NetworkSpec::builder(3, vec![4, 3])
                .activation(act)
                .cw(cw)
                .parameterization(p)
                .build()
                .unwrap()
        };
        let spec = mk(Parameterization::Ntk);
        let get = |o: &str, st: &str| predict(&spec, &xs, o, st).unwrap();
        let f2: Vec<f64> = s.iter().map(|s| s.f * s.f).collect();
        let f4: Vec<f64> = f2.iter().map(|v| v * v).collect();
        let var = get("output[0]", "variance");
        assert_eq!(var.kind, Kind::Exact);
        let k4 = get("output[0]", "kappa4").value;
        assert_z(&format!("{act} E f^2"), mean_se(&f2), var.value);
        assert_z(
            &format!("{act} E f^4"),
            mean_se(&f4),
            k4 + 3.0 * var.value * var.value,
        );
        for l in 1..=3 {
            let q: Vec<f64> = s.iter().map(|s| s.sq[l - 1]).collect();
            let q2: Vec<f64> = q.iter().map(|v| v * v).collect();
            let o = format!("sqnorm[{l},0]");
            let m = get(&o, "mean").value;
            let v = get(&o, "variance").value;
            assert_z(&format!("{act} {o} mean"), mean_se(&q), m);
            assert_z(&format!("{act} {o} 2nd"), mean_se(&q2), v + m * m);
        }
        if matches!(act, Activation::Relu) {
            let t: Vec<f64> = s.iter().map(|s| s.ntk).collect();
            let p = get("ntk[0,0]", "mean");
            assert_eq!(p.kind, Kind::Exact);
            assert_z(&format!("{act} cw={cw} ntk"), mean_se(&t), p.value);
            let ts: Vec<f64> = s.iter().map(|s| s.ntk_std).collect();
            let spec_std = mk(Parameterization::Standard);
            let p = predict(&spec_std, &xs, "ntk[0,0]", "mean").unwrap();
            assert_z(
                &format!("{act} cw={cw} ntk standard"),
                mean_se(&ts),
                p.value,
            );
        }
    }
}

/// Residual recursion sanity: alpha = 0 reduces a residual net to the first layer's kernel
/// plus the readout; and prediction plumbing rejects bad names.
#[test]
fn residual_and_parsing() {
    let x = vec![vec![1.0, 2.0]];
    let mut s = spec(Activation::Tanh, 2, vec![6; 3], 1.0, 0.1);
    s.residual = Some(Residual::Alpha(0.0));
    let k = infinite_width(&s, &x);
    assert!((k.nngp[2][0][0] - k.nngp[0][0][0]).abs() < 1e-15);
    assert!((k.ntk[2][0][0] - k.ntk[0][0][0]).abs() < 1e-15);
    assert!(predict(&s, &x, "output[1]", "mean").is_none());
    assert!(predict(&s, &x, "bogus[0]", "mean").is_none());
    assert!(predict(&s, &x, "output[0]", "median").is_none());
    assert!(predict(&s, &x, "sqnorm[5,0]", "mean").is_none());
    assert_eq!(
        predict(&s, &x, "output[0]", "mean").unwrap().kind,
        Kind::Exact
    );
    assert_eq!(
        predict(&s, &x, "sqnorm[1,0]", "variance").unwrap().kind,
        Kind::Exact
    );
    assert_eq!(
        predict(&s, &x, "sqnorm[3,0]", "mean").unwrap().kind,
        Kind::InfiniteWidth
    );
    assert_eq!(Kind::LeadingOrder.name(), "leading-order");
}

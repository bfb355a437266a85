//! The exact finite-width law of the NTK Θ(x_a, x_b) of one-hidden-layer nets (L = 1) with
//! Gaussian weights, any activation with a derivative, any C_b, both parameterizations.
//! Derivation: docs/derivations/ntk_one_layer.md.
//!
//! With z_i = z^1_i, u_i = z_i(x_a), v_i = z_i(x_b), w_i = W^2_{0i} and the factors of
//! docs/engines.md ("Backward (NTK)"), δ^2 = e_0 and δ^1_i(x) = w_i σ'(z_i(x)), so
//!
//!   Θ(x_a, x_b) = c_2 + Σ_{i=1}^{n_1} T_i,
//!   T_i = α σ(u_i)σ(v_i) + g_1 w_i² σ'(u_i)σ'(v_i),
//!
//! with, in the `ntk` parameterization, α = C_W/n_1, c_2 = C_b, g_1 = C_W x_a·x_b/n_0 + C_b, and in
//! the `standard` one α = 1, c_2 = [C_b > 0], g_1 = x_a·x_b + [C_b > 0]. The triples
//! (u_i, v_i, w_i) are i.i.d. over i: (u, v) ~ N(0, K), K_ab = C_b + C_W x_a·x_b/n_0 (layer 1 is
//! never residual, so `--residual` does not change an L = 1 net), and w ~ N(0, C_W/n_1)
//! independent of (u, v). Hence κ_1(Θ) = c_2 + n_1 E T and κ_j(Θ) = n_1 κ_j(T) for j ≥ 2, and
//! with w² = (C_W/n_1) ω, ω ~ χ²_1 (E ω^k = (2k−1)!!), β = g_1 C_W/n_1:
//!
//!   E T^m = Σ_{k=0}^{m} C(m, k) α^{m−k} β^k (2k−1)!! M_{m−k,k},
//!   M_{p,q} = E[(σ(u)σ(v))^p (σ'(u)σ'(v))^q].
//!
//! M_{p,q} in closed form for piecewise-linear σ (slopes a₊, a₋; [`pl_mixed_moments`]) and by the
//! graded composite Gauss–Legendre rule of [`crate::quad`] otherwise ([`quadrature_mixed_moments`]).

use crate::exact::{cumulants_from_moments, MAXK};
use crate::kernels::{act, act_deriv};
use crate::quad;
use randnet_problem::{Activation, NetworkSpec, Parameterization, WeightLaw};
use std::f64::consts::PI;

/// Mixed moments M[p][q] = E[(σ(u)σ(v))^p (σ'(u)σ'(v))^q] for p + q ≤ [`MAXK`].
pub type MixedMoments = [[f64; MAXK + 1]; MAXK + 1];

/// κ_0..κ_6 of Θ(x_a, x_b) for an L = 1 net with Gaussian weights (κ_0 = 0; κ_1 the mean, equal
/// to the infinite-width recursion's Θ^{2}, which is exact at L = 1). None when the law does not
/// apply (depth ≠ 1, non-Gaussian weights, inputs of the wrong length) or is not finite.
///
/// Piecewise-linear activations use the closed form ([`pl_mixed_moments`]) when both inputs have
/// a nonzero variance K_aa, K_bb > 0; otherwise (and for every other activation) quadrature.
pub fn ntk_one_layer_cumulants(spec: &NetworkSpec, xa: &[f64], xb: &[f64]) -> Option<Vec<f64>> {
    cumulants_with(spec, xa, xb, false)
}

/// As [`ntk_one_layer_cumulants`], but always by quadrature (the closed form's check).
pub fn ntk_one_layer_cumulants_quadrature(
    spec: &NetworkSpec,
    xa: &[f64],
    xb: &[f64],
) -> Option<Vec<f64>> {
    cumulants_with(spec, xa, xb, true)
}

fn cumulants_with(
    spec: &NetworkSpec,
    xa: &[f64],
    xb: &[f64],
    force_quadrature: bool,
) -> Option<Vec<f64>> {
    let n0 = spec.input_dim;
    if spec.depth() != 1 || spec.weights != WeightLaw::Gaussian {
        return None;
    }
    if xa.len() != n0 || xb.len() != n0 {
        return None;
    }
    let n1 = spec.hidden[0];
    let (cw, cb) = (spec.cw, spec.cb);
    let dot = |p: &[f64], q: &[f64]| p.iter().zip(q).map(|(s, t)| s * t).sum::<f64>();
    let (gaa, gab, gbb) = (dot(xa, xa), dot(xa, xb), dot(xb, xb));
    let kern = |g: f64| cb + cw * g / n0 as f64;
    let (k11, k12, k22) = (kern(gaa), kern(gab), kern(gbb));
    let bias = if cb > 0.0 { 1.0 } else { 0.0 };
    let (alpha, c2, g1) = match spec.parameterization {
        Parameterization::Ntk => (cw / n1 as f64, cb, cw * gab / n0 as f64 + cb),
        Parameterization::Standard => (1.0, bias, gab + bias),
        // The μP family has no law here (theory::predict refuses it before this point).
        Parameterization::Mup | Parameterization::DepthMup | Parameterization::CompleteP => {
            return None
        }
    };
    let beta = g1 * cw / n1 as f64;
    let m = match spec.activation.slopes(n1) {
        Some((ap, am)) if !force_quadrature && k11 > 0.0 && k22 > 0.0 => {
            pl_mixed_moments(ap, am, k11, k12, k22)
        }
        _ => quadrature_mixed_moments(&spec.activation, n1, k11, k12, k22),
    };
    let mut kap = cumulants_from_moments(&unit_moments(alpha, beta, &m));
    let n1f = n1 as f64;
    for k in kap.iter_mut().skip(1) {
        *k *= n1f;
    }
    kap[1] += c2;
    kap.iter().all(|k| k.is_finite()).then_some(kap)
}

/// Raw moments E T^m, m = 0..=6, of one unit's term T = α P + β ω D (P = σ(u)σ(v),
/// D = σ'(u)σ'(v), ω ~ χ²_1 independent): Σ_k C(m,k) α^{m−k} β^k (2k−1)!! M[m−k][k].
pub fn unit_moments(alpha: f64, beta: f64, m: &MixedMoments) -> Vec<f64> {
    let mut mu = vec![0.0; MAXK + 1];
    for (order, mu_m) in mu.iter_mut().enumerate() {
        let mut s = 0.0;
        let mut dfact = 1.0; // (2k−1)!!
        let mut binom = 1.0; // C(order, k)
        for k in 0..=order {
            if k > 0 {
                dfact *= (2 * k - 1) as f64;
                binom *= (order - k + 1) as f64 / k as f64;
            }
            s += binom
                * alpha.powi((order - k) as i32)
                * beta.powi(k as i32)
                * dfact
                * m[order - k][k];
        }
        *mu_m = s;
    }
    mu
}

/// I_p(ρ) = E[(g_1 g_2)^p 1{g_1 > 0, g_2 > 0}] for standard normals of correlation ρ, p = 0..=6:
/// in polar coordinates (radial integral 2^p p!, angular range of length π − θ, cos θ = ρ) and
/// with ψ = 2φ − θ,
///
///   I_p(ρ) = (p!/2π) ∫_0^{A} (ρ + cos ψ)^p dψ = (p!/2π) Σ_k C(p,k) ρ^{p−k} C_k(A),
///
/// A = π − θ = arccos(−ρ), C_k(A) = ∫_0^A cos^k = cos^{k−1}A sin A / k + (k−1)/k C_{k−2}(A),
/// C_0 = A, C_1 = sin A. (I_p = J_p(θ)/(2π) with Cho & Saul's (2009) arc-cosine J_p: J_0 = π − θ,
/// J_1 = sin θ + (π − θ) cos θ, J_2 = 3 sin θ cos θ + (π − θ)(1 + 2cos²θ).)
///
/// For ρ < 0 the finite sum cancels (its terms are O(A), the result O(A^{2p+1}) as ρ → −1), so
/// there the same integral is evaluated by a 32-point Gauss–Legendre rule on [0, A]: its
/// integrand is a nonnegative trigonometric polynomial of degree ≤ 6 on an interval of length
/// ≤ π/2, for which the rule's error is below 1e-16 relative (tests: against the finite sum at
/// ρ ≥ 0 to 1e-14).
pub fn orthant_moments(rho: f64) -> [f64; MAXK + 1] {
    let rho = rho.clamp(-1.0, 1.0);
    if rho < 0.0 {
        return orthant_moments_gl(rho);
    }
    orthant_moments_sum(rho)
}

/// [`orthant_moments`] by the finite sum (exact; cancels for ρ < 0).
pub fn orthant_moments_sum(rho: f64) -> [f64; MAXK + 1] {
    let rho = rho.clamp(-1.0, 1.0);
    let a = (-rho).acos();
    let (ca, sa) = (-rho, (1.0 - rho * rho).max(0.0).sqrt());
    let mut c = [0.0; MAXK + 1];
    c[0] = a;
    c[1] = sa;
    for k in 2..=MAXK {
        c[k] = ca.powi(k as i32 - 1) * sa / k as f64 + (k as f64 - 1.0) / k as f64 * c[k - 2];
    }
    let mut out = [0.0; MAXK + 1];
    let mut fact = 1.0;
    for (p, o) in out.iter_mut().enumerate() {
        if p > 0 {
            fact *= p as f64;
        }
        let mut s = 0.0;
        let mut binom = 1.0;
        for (k, ck) in c.iter().enumerate().take(p + 1) {
            if k > 0 {
                binom *= (p - k + 1) as f64 / k as f64;
            }
            s += binom * rho.powi((p - k) as i32) * ck;
        }
        *o = fact * s / (2.0 * PI);
    }
    out
}

/// Closed-form M[p][q] for σ(t) = a₊ t (t > 0), a₋ t (t ≤ 0), with k11, k22 > 0: σ(t) = t s(t),
/// σ'(t) = s(t) (s the slope of t's side), so P^p D^q = (uv)^p s(u)^r s(v)^r, r = p + q, and over
/// the four quadrants (the (−,−) quadrant equals (+,+) and (+,−) equals (−,+) by (u,v) → (−u,−v);
/// (u, −v) has correlation −ρ):
///
///   M[p][q] = (k11 k22)^{p/2} [ (a₊^{2r} + a₋^{2r}) I_p(ρ) + 2 (−1)^p (a₊a₋)^r I_p(−ρ) ].
pub fn pl_mixed_moments(ap: f64, am: f64, k11: f64, k12: f64, k22: f64) -> MixedMoments {
    let r0 = (k11 * k22).sqrt();
    let rho = (k12 / r0).clamp(-1.0, 1.0);
    let (ip, im) = (orthant_moments(rho), orthant_moments(-rho));
    let mut m = [[0.0; MAXK + 1]; MAXK + 1];
    for (p, row) in m.iter_mut().enumerate() {
        for (q, cell) in row.iter_mut().enumerate().take(MAXK + 1 - p) {
            let r = (p + q) as i32;
            let sign = if p % 2 == 0 { 1.0 } else { -1.0 };
            *cell = r0.powi(p as i32)
                * ((ap.powi(2 * r) + am.powi(2 * r)) * ip[p]
                    + 2.0 * sign * (ap * am).powi(r) * im[p]);
        }
    }
    m
}

/// M[p][q] by the nested composite Gauss–Legendre rules of [`quad::expect2`] (graded at the
/// bends u = 0 and v = 0, truncated at ±9 standard deviations; zero pivots allowed), all
/// moments from one pass over the nodes. Unlike `expect2`, the outer rule is also graded on the
/// scale l22/|l21| (nearly collinear inputs), so that jumps of σ' (piecewise-linear σ) are
/// resolved to 1e-10 up to correlation 0.999. `n` is the hidden width (shaped ReLU's slopes); the
/// activation acts with depth L = 1 (shaped cubic t + ψ t³).
pub fn quadrature_mixed_moments(
    a: &Activation,
    n: usize,
    k11: f64,
    k12: f64,
    k22: f64,
) -> MixedMoments {
    let sd = |t: f64| (act(a, n, 1, t), act_deriv(a, n, 1, t));
    let mut m = [[0.0; MAXK + 1]; MAXK + 1];
    let mut add = |w: f64, (su, du): (f64, f64), (sv, dv): (f64, f64)| {
        let (pp, dd) = (su * sv, du * dv);
        let mut pw = w;
        for row in m.iter_mut() {
            let mut x = pw;
            for cell in row.iter_mut() {
                *cell += x;
                x *= dd;
            }
            pw *= pp;
        }
    };
    let (l11, l21, mut l22) = quad::chol2(k11, k12, k22);
    // A Schur complement k22 − l21² at the rounding level (equal inputs: k11 = k12 = k22 leaves
    // ~ε k22) is a perfectly correlated pair: l22 = 0 exactly, not √ε (an angle of 1e-8 that
    // moves P(u > 0, v > 0) by 1e-9 relative).
    if l22 * l22 <= 4.0 * f64::EPSILON * k22 {
        l22 = 0.0;
    }
    let mut outer = Vec::new();
    let mut inner = Vec::new();
    if l11 == 0.0 {
        // u ≡ 0.
        let f0 = sd(0.0);
        quad::composite_normal_rule(0.0, 1.0 / l22, &mut inner);
        for &(t, w) in &inner {
            add(w, f0, sd(l22 * t));
        }
    } else {
        // Outer grading at u = 0 on the scale of u, and, for nearly collinear inputs, on the
        // scale l22/|l21| on which the inner integral of a bent or jumping σ^p σ'^q (v's sign
        // flips across z1 ≈ 0 when l22 ≪ |l21|) changes.
        let mut scale = 1.0 / l11.max(l21.abs());
        if l22 > 0.0 && l21 != 0.0 {
            scale = scale.min(l22 / l21.abs());
        }
        quad::composite_normal_rule(0.0, scale, &mut outer);
        for &(t1, w1) in &outer {
            let fu = sd(l11 * t1);
            let base = l21 * t1;
            if l22 == 0.0 {
                add(w1, fu, sd(base));
            } else {
                quad::composite_normal_rule(-base / l22, 1.0 / l22, &mut inner);
                for &(t2, w2) in &inner {
                    add(w1 * w2, fu, sd(base + l22 * t2));
                }
            }
        }
    }
    // Entries with p + q > MAXK were accumulated too (harmless); zero them for clarity.
    for (p, row) in m.iter_mut().enumerate() {
        for (q, cell) in row.iter_mut().enumerate() {
            if p + q > MAXK {
                *cell = 0.0;
            }
        }
    }
    m
}

/// [`orthant_moments`] by 32-point Gauss–Legendre on (p!/2π) ∫_0^A (ρ + cos ψ)^p dψ (no
/// cancellation: the integrand is ≥ 0 on [0, A] since cos ψ ≥ cos A = −ρ).
pub fn orthant_moments_gl(rho: f64) -> [f64; MAXK + 1] {
    use std::sync::OnceLock;
    static GL: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    let (x, w) = GL.get_or_init(|| quad::gauss_legendre(32, 0.0, 1.0));
    let rho = rho.clamp(-1.0, 1.0);
    let a = (-rho).acos();
    let mut out = [0.0; MAXK + 1];
    for (&xi, &wi) in x.iter().zip(w) {
        // cos ψ − cos A = 2 sin((A + ψ)/2) sin((A − ψ)/2), accurate near ψ = A.
        let psi = a * xi;
        let h = 2.0 * ((a + psi) / 2.0).sin() * ((a - psi) / 2.0).sin();
        let mut hp = a * wi;
        for o in out.iter_mut() {
            *o += hp;
            hp *= h;
        }
    }
    let mut fact = 1.0;
    for (p, o) in out.iter_mut().enumerate() {
        if p > 0 {
            fact *= p as f64;
        }
        *o *= fact / (2.0 * PI);
    }
    out
}

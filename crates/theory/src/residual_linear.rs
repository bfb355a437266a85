//! The exact finite-width law of the output of LINEAR nets (σ(t) = t) with Gaussian weights,
//! residual or not, any α (including invsqrt-depth), any C_b ≥ 0. Derivation in full:
//! docs/derivations/residual_linear.md.
//!
//! In brief. Write Q_l = ‖z^l‖² (Q_0 = ‖x‖², width n_0) and F_l for everything drawn in layers
//! 1..l. Given F_{l−1}, the branch W^l z^{l−1} + b^l is N(0, v I) with v = (C_W/n_{l−1}) Q_{l−1} + C_b
//! (W^l, b^l are independent of F_{l−1}). So, with g ~ N(0, I_{n_l}) independent of F_{l−1},
//!
//! * a plain layer (l = 1, or any layer of a non-residual net): z^l = √v g, Q_l = v χ²_{n_l};
//! * a residual layer (l = 2..L): z^l = z^{l−1} + α√v g, and by rotation invariance of g,
//!   Q_l = ‖z^{l−1} + s g‖² (s² = α² v) is s² times a noncentral χ²_n with noncentrality Q_{l−1}/s².
//!
//! Both are instances of Q' = ‖δ h + s g‖², ‖h‖² = Q, s² = s_0 + s_1 Q, δ ∈ {0, 1}, whose
//! conditional cumulants are (noncentral χ²: κ_j = 2^{j−1}(j−1)!(k + jλ))
//! κ_j(Q' | Q) = 2^{j−1}(j−1)! (n s^{2j} + j δ s^{2j−2} Q): polynomials of degree j in Q with
//! non-negative coefficients. Hence (Q_l) is a Markov chain and the law of total cumulance gives
//! its first three cumulants exactly, layer by layer, as sums of non-negative terms (no
//! cancellation):
//!
//! m' = E c_1(Q),  k2' = E c_2(Q) + Var c_1(Q),
//! k3' = E c_3(Q) + 3 Cov(c_1(Q), c_2(Q)) + κ_3(c_1(Q)),   c_1 affine, so Var c_1 = A² k2 etc.
//!
//! The readout row 0 is independent of z^L: f = √V g_0 with V = (C_W/n_L) Q_L + C_b, so
//! E e^{tf} = E e^{t²V/2} and the cumulants of f are κ_2 = E V, κ_4 = 3 κ_2(V), κ_6 = 15 κ_3(V),
//! odd ones 0 (κ_8 = 105 κ_4(V) is not computed).
//!
//! Closed forms at C_b = 0 (then Q_L = (C_W‖x‖²/n_0) χ²_n Π_{l=2}^{L} R_l with i.i.d.
//! R_l ~ c² χ'²_n(1/c²), c² = α² C_W/n, independent of χ²_n):
//! Var f = (C_W²‖x‖²/n_0)(1 + α²C_W)^{L−1};
//! excess kurtosis = 3[(1 + 2/n) ρ^{L−1} − 1], ρ = 1 + 2α²C_W(2 + α²C_W)/(n(1 + α²C_W)²).

use randnet_problem::{Activation, NetworkSpec, WeightLaw};

/// First three cumulants (mean, κ_2, κ_3) of a non-negative random variable Q.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThreeCumulants {
    pub mean: f64,
    pub k2: f64,
    pub k3: f64,
}

impl ThreeCumulants {
    fn raw(&self) -> [f64; 4] {
        let m = self.mean;
        [
            1.0,
            m,
            m * m + self.k2,
            m * m * m + 3.0 * m * self.k2 + self.k3,
        ]
    }
}

/// One layer Q' = ‖δ h + s g‖² with ‖h‖² = Q, s² = s0 + s1 Q, g ~ N(0, I_n) independent of Q.
/// Conditional cumulants κ_j(Q'|Q) = 2^{j−1}(j−1)!(n s^{2j} + j δ s^{2j−2} Q), j = 1, 2, 3.
fn step(q: ThreeCumulants, n: usize, s0: f64, s1: f64, residual: bool) -> ThreeCumulants {
    let n = n as f64;
    let d = if residual { 1.0 } else { 0.0 };
    // Polynomials in Q (coefficients of Q^0..Q^3): s², s⁴, s⁶.
    let s2 = [s0, s1, 0.0, 0.0];
    let s4 = [s0 * s0, 2.0 * s0 * s1, s1 * s1, 0.0];
    let s6 = [
        s0 * s0 * s0,
        3.0 * s0 * s0 * s1,
        3.0 * s0 * s1 * s1,
        s1 * s1 * s1,
    ];
    // Multiply a polynomial by Q.
    let shift = |p: [f64; 4]| [0.0, p[0], p[1], p[2]];
    let lin = |a: f64, p: [f64; 4], b: f64, r: [f64; 4]| {
        [
            a * p[0] + b * r[0],
            a * p[1] + b * r[1],
            a * p[2] + b * r[2],
            a * p[3] + b * r[3],
        ]
    };
    let c1 = lin(n, s2, d, [0.0, 1.0, 0.0, 0.0]); // n s² + δ Q
    let c2 = lin(2.0 * n, s4, 4.0 * d, shift(s2)); // 2(n s⁴ + 2δ s² Q)
    let c3 = lin(8.0 * n, s6, 24.0 * d, shift(s4)); // 8(n s⁶ + 3δ s⁴ Q)
    debug_assert!(c1[2] == 0.0 && c1[3] == 0.0 && c2[3] == 0.0);
    let r = q.raw();
    let e = |p: [f64; 4]| p[0] + p[1] * r[1] + p[2] * r[2] + p[3] * r[3];
    // c1 = B + A Q is affine: Var c1 = A² k2, κ3(c1) = A³ k3,
    // Cov(c1, c2) = A (c2[1] Cov(Q, Q) + c2[2] Cov(Q, Q²)), Cov(Q, Q²) = 2 m k2 + k3.
    let a = c1[1];
    let cov_q_q2 = 2.0 * q.mean * q.k2 + q.k3;
    ThreeCumulants {
        mean: e(c1),
        k2: e(c2) + a * a * q.k2,
        k3: e(c3) + 3.0 * a * (c2[1] * q.k2 + c2[2] * cov_q_q2) + a * a * a * q.k3,
    }
}

/// Exact first three cumulants of Q_l = ‖z^l(x)‖², l = 0..=L (index l; Q_0 = ‖x‖²), for a linear
/// net with Gaussian weights (residual or not, any C_b). None for other activations or weight
/// laws.
pub fn residual_linear_sqnorm_cumulants(
    spec: &NetworkSpec,
    x: &[f64],
) -> Option<Vec<ThreeCumulants>> {
    if spec.activation != Activation::Linear || spec.weights != WeightLaw::Gaussian {
        return None;
    }
    let widths = spec.layer_widths();
    let alpha = spec.residual_alpha().unwrap_or(1.0);
    let mut q = ThreeCumulants {
        mean: x.iter().map(|v| v * v).sum(),
        k2: 0.0,
        k3: 0.0,
    };
    let mut out = vec![q];
    for l in 1..=spec.depth() {
        let nin = widths[l - 1] as f64;
        let (s0, s1) = (spec.cb, spec.cw / nin);
        q = if spec.is_residual_layer(l) {
            let a2 = alpha * alpha;
            step(q, widths[l], a2 * s0, a2 * s1, true)
        } else {
            step(q, widths[l], s0, s1, false)
        };
        out.push(q);
    }
    Some(out)
}

/// Exact cumulants of the readout unit f_0(x) of a linear net (σ(t) = t) with Gaussian weights:
/// residual (any α, including invsqrt-depth) or not, any C_b ≥ 0, any depth L ≥ 0.
///
/// Layout as `exact::jacobian_cumulants`: index 0 unused (0), 1..=6 = κ_1..κ_6; all exact:
/// κ_1 = κ_3 = κ_5 = 0, κ_2 = E V, κ_4 = 3 κ_2(V), κ_6 = 15 κ_3(V) with V = (C_W/n_L)‖z^L‖² + C_b
/// the conditional variance of f given z^L, whose cumulants come from the Markov recursion of
/// [`residual_linear_sqnorm_cumulants`] (derivation: the module docs and
/// docs/derivations/residual_linear.md). None for other activations or weight laws.
pub fn residual_linear_output_cumulants(spec: &NetworkSpec, x: &[f64]) -> Option<Vec<f64>> {
    let qs = residual_linear_sqnorm_cumulants(spec, x)?;
    let q = qs.last()?;
    let n_last = spec.layer_widths()[spec.depth()] as f64;
    let c = spec.cw / n_last;
    let ev = c * q.mean + spec.cb;
    let k2v = c * c * q.k2;
    let k3v = c * c * c * q.k3;
    Some(vec![0.0, 0.0, ev, 0.0, 3.0 * k2v, 0.0, 15.0 * k3v])
}

#[cfg(test)]
mod tests {
    use super::*;
    use randnet_problem::Residual;

    fn spec(n0: usize, hidden: Vec<usize>, cw: f64, cb: f64, res: Option<Residual>) -> NetworkSpec {
        NetworkSpec::builder(n0, hidden)
            .activation(Activation::Linear)
            .cw(cw)
            .cb(cb)
            .residual(res)
            .build()
            .unwrap()
    }

    /// The recursion reproduces the C_b = 0 closed forms of the module docs.
    #[test]
    fn closed_forms_at_zero_bias() {
        for (n, l, alpha, cw) in [
            (3usize, 4usize, 0.7, 1.3),
            (8, 2, 1.0, 1.0),
            (2, 6, 0.4, 2.0),
        ] {
            let s = spec(5, vec![n; l], cw, 0.0, Some(Residual::Alpha(alpha)));
            let x = [0.3, -1.0, 0.5, 2.0, 0.1];
            let x2: f64 = x.iter().map(|v| v * v).sum();
            let k = residual_linear_output_cumulants(&s, &x).unwrap();
            let a2c = alpha * alpha * cw;
            let var = cw * cw * x2 / 5.0 * (1.0 + a2c).powi(l as i32 - 1);
            let nf = n as f64;
            let rho = 1.0 + 2.0 * a2c * (2.0 + a2c) / (nf * (1.0 + a2c).powi(2));
            let ek = 3.0 * ((1.0 + 2.0 / nf) * rho.powi(l as i32 - 1) - 1.0);
            assert!((k[2] / var - 1.0).abs() < 1e-13);
            assert!((k[4] / (k[2] * k[2]) / ek - 1.0).abs() < 1e-12);
            // κ6/κ2³ = 15 κ3(V)/(EV)³ = 15 (r3 − 3 r2 + 2), r_k = E V^k/(EV)^k, with
            // r_k = E(χ²_n/n)^k · Π (E R^k/(ER)^k).
            let c2 = a2c / nf;
            let mu = 1.0 + a2c;
            let kr2 = 2.0 * c2 * (nf * c2 + 2.0);
            let kr3 = 8.0 * c2 * c2 * (nf * c2 + 3.0);
            let er2 = (mu * mu + kr2) / (mu * mu);
            let er3 = (mu.powi(3) + 3.0 * mu * kr2 + kr3) / mu.powi(3);
            let r2 = (1.0 + 2.0 / nf) * er2.powi(l as i32 - 1);
            let r3 = (1.0 + 2.0 / nf) * (1.0 + 4.0 / nf) * er3.powi(l as i32 - 1);
            let k6 = 15.0 * (r3 - 3.0 * r2 + 2.0);
            assert!(
                (k[6] / k[2].powi(3) / k6 - 1.0).abs() < 1e-11,
                "{} {}",
                k[6] / k[2].powi(3),
                k6
            );
        }
    }
}

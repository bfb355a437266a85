//! Infinite-width kernels: the NNGP recursion (Neal 1996; Lee et al. 2018, arXiv 1711.00165)
//! and the NTK recursion (Jacot, Gabriel, Hongler 2018, arXiv 1806.07572), with residual
//! branches and both parameterizations. See docs/theory.md §1.

use crate::quad;
use randnet_problem::{Activation, NetworkSpec, Parameterization};
use std::f64::consts::PI;

/// The two Gaussian expectations the recursions need for one pair of inputs:
/// `s = E[σ(u)σ(v)]` and `d = E[σ'(u)σ'(v)]` with (u, v) ~ N(0, [[k11, k12], [k12, k22]]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dual {
    pub s: f64,
    pub d: f64,
}

/// σ(t) for one activation; `n` is the width of the layer it acts on (shaped ReLU) and `depth`
/// is L (shaped cubic t + ψ t³ / L; L = 0 is treated as 1 — no activation is applied then).
pub fn act(a: &Activation, n: usize, depth: usize, t: f64) -> f64 {
    match *a {
        Activation::Tanh => t.tanh(),
        Activation::Erf => statrs::function::erf::erf(t),
        Activation::Gelu => t * norm_cdf(t),
        Activation::Swish => t / (1.0 + (-t).exp()),
        Activation::Sin => t.sin(),
        Activation::Cubic { psi } => t + psi * t * t * t / depth.max(1) as f64,
        _ => {
            let (ap, am) = a.slopes(n).expect("piecewise linear");
            if t > 0.0 {
                ap * t
            } else {
                am * t
            }
        }
    }
}

/// σ'(t) (for piecewise-linear activations the slope of the side, σ'(0) = a_−).
pub fn act_deriv(a: &Activation, n: usize, depth: usize, t: f64) -> f64 {
    match *a {
        Activation::Tanh => {
            let h = t.tanh();
            1.0 - h * h
        }
        Activation::Erf => 2.0 / PI.sqrt() * (-t * t).exp(),
        Activation::Gelu => norm_cdf(t) + t * (-0.5 * t * t).exp() / (2.0 * PI).sqrt(),
        Activation::Swish => {
            let s = 1.0 / (1.0 + (-t).exp());
            s + t * s * (1.0 - s)
        }
        Activation::Sin => t.cos(),
        Activation::Cubic { psi } => 1.0 + 3.0 * psi * t * t / depth.max(1) as f64,
        _ => {
            let (ap, am) = a.slopes(n).expect("piecewise linear");
            if t > 0.0 {
                ap
            } else {
                am
            }
        }
    }
}

/// Φ(t), the standard normal CDF.
pub fn norm_cdf(t: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-t / std::f64::consts::SQRT_2)
}

/// Generalized arc-cosine kernel for σ(t) = a₊ t (t > 0), a₋ t (t < 0).
///
/// Writing σ(t) = a₊ relu(t) − a₋ relu(−t) and using Cho & Saul (2009)'s first-order arc-cosine
/// kernel J(θ) = √(k11 k22) (sin θ + (π − θ) cos θ) / (2π) = E[relu(u) relu(v)], with
/// E[relu(−u) relu(−v)] = J(θ) and E[relu(u) relu(−v)] = J(π − θ) = √(k11 k22)(sin θ − θ cos θ)/(2π):
///
///   E[σσ]   = (a₊² + a₋²) J(θ) − 2 a₊ a₋ J(π − θ)
///   E[σ'σ'] = (a₊² + a₋²) (π − θ)/(2π) + 2 a₊ a₋ θ/(2π)      (P(u>0, v>0) = (π − θ)/(2π))
///
/// with θ = arccos(k12/√(k11 k22)). Linear (a₊ = a₋ = 1) gives k12 and 1. A zero variance gives
/// E[σσ] = 0 and E[σ'σ'] from P(u > 0) = 1/2 conventions replaced by σ'(0) = a₋ (degenerate).
pub fn arccos_dual(ap: f64, am: f64, k11: f64, k12: f64, k22: f64) -> Dual {
    let q = (ap * ap + am * am, 2.0 * ap * am);
    if k11 <= 0.0 || k22 <= 0.0 {
        // One of u, v is identically 0: σ(0) = 0, σ'(0) = a₋ (the sampler's convention for t <= 0).
        let d = if k11 <= 0.0 && k22 <= 0.0 {
            am * am
        } else {
            am * 0.5 * (ap + am)
        };
        return Dual { s: 0.0, d };
    }
    let r = (k11 * k22).sqrt();
    let c = (k12 / r).clamp(-1.0, 1.0);
    let th = c.acos();
    let sin = (1.0 - c * c).max(0.0).sqrt();
    let j = r * (sin + (PI - th) * c) / (2.0 * PI);
    let jm = r * (sin - th * c) / (2.0 * PI);
    Dual {
        s: q.0 * j - q.1 * jm,
        d: q.0 * (PI - th) / (2.0 * PI) + q.1 * th / (2.0 * PI),
    }
}

/// Williams (1997) erf kernel: E[erf(u) erf(v)] = (2/π) arcsin(2k12 / √((1+2k11)(1+2k22)));
/// E[erf'(u) erf'(v)] = (4/π) det(I + 2K)^{−1/2} = (4/π) [(1+2k11)(1+2k22) − 4k12²]^{−1/2}
/// (the Gaussian integral of (4/π) e^{−u²−v²}).
pub fn erf_dual(k11: f64, k12: f64, k22: f64) -> Dual {
    let a = 1.0 + 2.0 * k11;
    let b = 1.0 + 2.0 * k22;
    let arg = (2.0 * k12 / (a * b).sqrt()).clamp(-1.0, 1.0);
    Dual {
        s: 2.0 / PI * arg.asin(),
        d: 4.0 / PI / (a * b - 4.0 * k12 * k12).sqrt(),
    }
}

/// sin: E[sin u sin v] = e^{−(k11+k22)/2} sinh(k12), E[cos u cos v] = e^{−(k11+k22)/2} cosh(k12)
/// (from the characteristic function E e^{i(u ± v)} = e^{−(k11 + k22 ± 2k12)/2}).
pub fn sin_dual(k11: f64, k12: f64, k22: f64) -> Dual {
    let e = (-(k11 + k22) / 2.0).exp();
    Dual {
        s: e * k12.sinh(),
        d: e * k12.cosh(),
    }
}

/// Shaped cubic σ(t) = t + c t³ (c = ψ/L) by Isserlis' theorem:
/// E[σσ] = k12 + 3c k12 (k11 + k22) + c² (9 k11 k22 k12 + 6 k12³);
/// E[σ'σ'] = 1 + 3c (k11 + k22) + 9c² (k11 k22 + 2 k12²).
pub fn cubic_dual(c: f64, k11: f64, k12: f64, k22: f64) -> Dual {
    Dual {
        s: k12 + 3.0 * c * k12 * (k11 + k22) + c * c * (9.0 * k11 * k22 * k12 + 6.0 * k12.powi(3)),
        d: 1.0 + 3.0 * c * (k11 + k22) + 9.0 * c * c * (k11 * k22 + 2.0 * k12 * k12),
    }
}

/// Numerical evaluation of both expectations for any activation by nested composite
/// Gauss–Legendre rules graded at the bends ([`quad::expect2`]).
pub fn numeric_dual(a: &Activation, n: usize, depth: usize, k11: f64, k12: f64, k22: f64) -> Dual {
    let f = |t| act(a, n, depth, t);
    let g = |t| act_deriv(a, n, depth, t);
    Dual {
        s: quad::expect2(f, f, k11, k12, k22),
        d: quad::expect2(g, g, k11, k12, k22),
    }
}

/// 2-D Gauss–Hermite evaluation of both expectations (any activation; tests).
pub fn quadrature_dual(
    a: &Activation,
    n: usize,
    depth: usize,
    k11: f64,
    k12: f64,
    k22: f64,
    rule: &(Vec<f64>, Vec<f64>),
) -> Dual {
    let f = |t| act(a, n, depth, t);
    let g = |t| act_deriv(a, n, depth, t);
    Dual {
        s: quad::gauss2(f, f, k11, k12, k22, rule),
        d: quad::gauss2(g, g, k11, k12, k22, rule),
    }
}

/// The dual of activation `a` acting on a layer of width `n` (closed form where one exists:
/// piecewise linear, erf, sin, cubic; graded composite Gauss–Legendre ([`numeric_dual`]) for
/// tanh, gelu, swish).
pub fn dual(a: &Activation, n: usize, depth: usize, k11: f64, k12: f64, k22: f64) -> Dual {
    if let Some((ap, am)) = a.slopes(n) {
        return arccos_dual(ap, am, k11, k12, k22);
    }
    match *a {
        Activation::Erf => erf_dual(k11, k12, k22),
        Activation::Sin => sin_dual(k11, k12, k22),
        Activation::Cubic { psi } => cubic_dual(psi / depth.max(1) as f64, k11, k12, k22),
        _ => numeric_dual(a, n, depth, k11, k12, k22),
    }
}

/// Infinite-width kernels for inputs `xs`: `nngp[l-1]` is the K×K matrix K^l and `ntk[l-1]` the
/// NTK Θ^l of z^l, for l = 1..=L+1 (the readout is the last entry).
#[derive(Debug, Clone, PartialEq)]
pub struct Kernels {
    pub nngp: Vec<Vec<Vec<f64>>>,
    pub ntk: Vec<Vec<Vec<f64>>>,
}

impl Kernels {
    /// K^{L+1}, the readout's NNGP kernel.
    pub fn readout_nngp(&self) -> &Vec<Vec<f64>> {
        self.nngp.last().expect("at least one layer")
    }
    /// Θ^{L+1}, the readout's NTK.
    pub fn readout_ntk(&self) -> &Vec<Vec<f64>> {
        self.ntk.last().expect("at least one layer")
    }
}

/// The infinite-width NNGP and NTK recursions (conventions: docs/theory.md).
///
/// K^1 = C_b + C_W x·x'/n0;  K^l = C_b + C_W E[σ(u)σ(u')], (u,u') ~ N(0, K^{l−1})  (Lee et al. 2018);
/// residual layers (l = 2..=L when `spec.residual` is set): K^l = K^{l−1} + α² (C_b + C_W E[σσ]).
/// NTK (Jacot et al. 2018, Lee et al. 2019 arXiv 1902.06720 for the standard parameterization):
///   Θ^l = P^l + C_W E[σ'σ'] Θ^{l−1},   residual: Θ^l = Θ^{l−1} + α² (P^l + C_W E[σ'σ'] Θ^{l−1}),
/// where P^l, the contribution of layer l's own parameters, is C_W G^l + C_b in the NTK
/// parameterization and n_{l−1} G^l + [C_b > 0] in the standard one, with G^1 = x·x'/n0 and
/// G^l = E[σσ] (so n_{l−1} G^l is the limit of a^{l−1}·a'^{l−1}). Biases count as parameters only when
/// C_b > 0 (as `NetworkSpec::parameter_count`). In the standard parameterization the widths stay
/// finite in P^l: the result is the large-width asymptote at the given widths, which grows with n.
/// The residual cross terms 2α E[W ...] vanish in the limit (W is independent of z^{l−1}).
/// Shaped ReLU uses the slopes of the actual layer widths.
///
/// Panics if an input does not have length n0.
pub fn infinite_width(spec: &NetworkSpec, xs: &[Vec<f64>]) -> Kernels {
    let widths = spec.layer_widths();
    let n0 = widths[0];
    let depth = spec.depth();
    let k = xs.len();
    for x in xs {
        assert_eq!(x.len(), n0, "every input must have length n0 = {n0}");
    }
    let (cw, cb) = (spec.cw, spec.cb);
    let bias_param = if cb > 0.0 { 1.0 } else { 0.0 };
    let std = spec.parameterization == Parameterization::Standard;
    let own = |g: f64, n_prev: usize| {
        if std {
            n_prev as f64 * g + bias_param
        } else {
            cw * g + cb
        }
    };
    let mut k1 = vec![vec![0.0; k]; k];
    let mut t1 = vec![vec![0.0; k]; k];
    for a in 0..k {
        for b in 0..k {
            let g = dot(&xs[a], &xs[b]) / n0 as f64;
            k1[a][b] = cb + cw * g;
            t1[a][b] = own(g, n0);
        }
    }
    let mut nngp = vec![k1];
    let mut ntk = vec![t1];
    for l in 2..=depth + 1 {
        let kp = nngp.last().unwrap();
        let tp = ntk.last().unwrap();
        let n_prev = widths[l - 1];
        let res = spec.is_residual_layer(l);
        let alpha2 = spec.residual_alpha().map(|a| a * a).unwrap_or(1.0);
        let mut kn = vec![vec![0.0; k]; k];
        let mut tn = vec![vec![0.0; k]; k];
        for a in 0..k {
            for b in a..k {
                let du = dual(
                    &spec.activation,
                    n_prev,
                    depth,
                    kp[a][a],
                    kp[a][b],
                    kp[b][b],
                );
                let kk = cb + cw * du.s;
                let tt = own(du.s, n_prev) + cw * du.d * tp[a][b];
                let (kv, tv) = if res {
                    (kp[a][b] + alpha2 * kk, tp[a][b] + alpha2 * tt)
                } else {
                    (kk, tt)
                };
                kn[a][b] = kv;
                kn[b][a] = kv;
                tn[a][b] = tv;
                tn[b][a] = tv;
            }
        }
        nngp.push(kn);
        ntk.push(tn);
    }
    Kernels { nngp, ntk }
}

/// Why a network's kernels cannot be believed in f64 ([`Kernels::trouble`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KernelTrouble {
    /// A kernel entry of layer `layer` (1-based; L + 1 is the readout) overflowed to ±inf or NaN.
    NotFinite { layer: usize },
    /// A readout kernel's diagonal is 0 or subnormal although the first layer's is not: the
    /// outputs' scale C_W^L underflows f64 at this depth.
    Underflow,
}

impl std::fmt::Display for KernelTrouble {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KernelTrouble::NotFinite { layer } => write!(
                f,
                "the infinite-width kernels overflow f64 (not finite from layer {layer} on): scale C_W down or reduce L"
            ),
            KernelTrouble::Underflow => write!(
                f,
                "outputs underflow to 0 at this depth (the infinite-width readout kernel is below the smallest normal f64): scale C_W or reduce L"
            ),
        }
    }
}

impl Kernels {
    /// `None` when every entry is finite and the readout's variances did not underflow.
    pub fn trouble(&self) -> Option<KernelTrouble> {
        for (l, (kk, tt)) in self.nngp.iter().zip(&self.ntk).enumerate() {
            if kk.iter().chain(tt).flatten().any(|v| !v.is_finite()) {
                return Some(KernelTrouble::NotFinite { layer: l + 1 });
            }
        }
        let diag = |m: &Vec<Vec<f64>>| (0..m.len()).map(|a| m[a][a]).collect::<Vec<f64>>();
        let first = diag(&self.nngp[0]);
        let (kr, tr) = (diag(self.readout_nngp()), diag(self.readout_ntk()));
        let underflows = first.iter().zip(kr.iter().zip(&tr)).any(|(&k1, (&k, &t))| {
            k1 >= f64::MIN_POSITIVE && (k < f64::MIN_POSITIVE || t < f64::MIN_POSITIVE)
        });
        underflows.then_some(KernelTrouble::Underflow)
    }
}

pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// One-input Gaussian moments of σ at variance k: (⟨σ²⟩, ⟨σ⁴⟩, d⟨σ²⟩/dk), for the 1/n
/// vertex recursion. Closed forms for piecewise-linear σ (A2 k, 3 A4 k², A2); otherwise the
/// graded composite rule ([`quad::expect1`]) with Stein's identity
/// d⟨f⟩_k/dk = ⟨f(u)(u²/k − 1)⟩_k / (2k).
pub fn single_moments(a: &Activation, n: usize, depth: usize, k: f64) -> (f64, f64, f64) {
    if let Some((ap, am)) = a.slopes(n) {
        let a2 = (ap.powi(2) + am.powi(2)) / 2.0;
        let a4 = (ap.powi(4) + am.powi(4)) / 2.0;
        return (a2 * k, 3.0 * a4 * k * k, a2);
    }
    if k <= 0.0 {
        let v = act(a, n, depth, 0.0);
        return (v * v, v.powi(4), f64::NAN);
    }
    let f = |u: f64| act(a, n, depth, u);
    let m2 = quad::expect1(|u| f(u).powi(2), k);
    let m4 = quad::expect1(|u| f(u).powi(4), k);
    let dm = quad::expect1(|u| f(u).powi(2) * (u * u / k - 1.0), k);
    (m2, m4, dm / (2.0 * k))
}

//! randnet theory: predictions to put beside every Monte Carlo estimate.
//!
//! - [`infinite_width`]: NNGP and NTK recursions for every activation (closed forms for
//!   piecewise-linear (generalized arc-cosine), erf, sin and the shaped cubic; 2-D Gauss–Hermite
//!   for tanh, gelu, swish), both parameterizations, biases and residual branches.
//! - [`exact`]: exact finite-width laws of Gaussian, zero-bias nets with scale-invariant
//!   activations (output cumulants, squared norms, ReLU/linear Jacobian norms).
//! - [`leading_order_output_kurtosis`]: PDLT's 1/n four-point vertex for any activation.
//! - [`predict`]: the prediction (value and [`Kind`]) for one statistic of one observable.
//!
//! Every formula is cited in its doc comment and derived in docs/theory.md.

pub use randnet_problem::Observable;
use randnet_problem::{Activation, Curve, NetworkSpec, Parameterization, WeightLaw};
use serde::Serialize;

pub mod exact;
pub mod geometry;
pub mod kernels;
pub mod limit;
pub mod ntk_one_layer;
pub mod quad;
pub mod residual_linear;
pub mod sampling;
pub mod training;
pub mod weight_laws;
pub mod wishart;

pub use kernels::{infinite_width, Kernels};

/// How a prediction is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// The exact value at the spec's finite widths (up to floating point and quadrature).
    Exact,
    /// The leading term of a 1/n expansion.
    LeadingOrder,
    /// A bound or an order of magnitude, not a many-digit value.
    Bound,
    /// The value in the limit of infinite hidden widths (at fixed depth).
    InfiniteWidth,
}

impl Kind {
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Exact => "exact",
            Kind::LeadingOrder => "leading-order",
            Kind::Bound => "bound",
            Kind::InfiniteWidth => "infinite-width",
        }
    }
}

/// One theory value and how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prediction {
    pub value: f64,
    pub kind: Kind,
}

impl Prediction {
    fn new(value: f64, kind: Kind) -> Option<Self> {
        value.is_finite().then_some(Prediction { value, kind })
    }
}

/// Infinite-width kernels for all of `xs`, memoized (the last few (spec, inputs) pairs) so that
/// `predict` can be called once per (observable, statistic) without redoing the recursion.
pub fn cached_kernels(spec: &NetworkSpec, xs: &[Vec<f64>]) -> std::sync::Arc<Kernels> {
    use std::sync::{Arc, Mutex};
    type Cache = Mutex<Vec<(String, Arc<Kernels>)>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let key = format!("{spec:?}|{xs:?}");
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    if let Ok(c) = cache.lock() {
        if let Some((_, k)) = c.iter().find(|(kk, _)| *kk == key) {
            return k.clone();
        }
    }
    let k = Arc::new(infinite_width(spec, xs));
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 8 {
            c.remove(0);
        }
        c.push((key, k.clone()));
    }
    k
}

/// The statistics `predict` understands.
pub const STATISTICS: [&str; 7] = [
    "mean",
    "variance",
    "kappa3",
    "kappa4",
    "kappa6",
    "excess_kurtosis",
    "relative_variance",
];

/// True when the exact scale-invariant product law applies: Gaussian weights, zero biases, no
/// residual branches, a piecewise-linear activation (conventions: docs/theory.md).
pub fn scale_invariant_exact(spec: &NetworkSpec) -> bool {
    spec.weights == WeightLaw::Gaussian
        && spec.cb == 0.0
        && spec.residual.is_none()
        && spec.activation.is_piecewise_linear()
}

/// The scale-invariant product law's parameters of `spec` (see [`scale_invariant_exact`]).
pub(crate) fn si_net(spec: &NetworkSpec) -> exact::ScaleInvariantNet {
    exact::ScaleInvariantNet {
        cw: spec.cw,
        widths: spec.layer_widths(),
        slopes: spec
            .hidden
            .iter()
            .map(|&n| spec.activation.slopes(n).expect("piecewise linear"))
            .collect(),
    }
}

/// Picks the statistic out of cumulants κ_0..κ_6.
fn from_cumulants(kap: &[f64], statistic: &str, kind: Kind) -> Option<Prediction> {
    let v = match statistic {
        "mean" => kap[1],
        "variance" => kap[2],
        "kappa3" => kap[3],
        "kappa4" => kap[4],
        "kappa6" => kap[6],
        "excess_kurtosis" => {
            if kap[2] <= 0.0 {
                return None;
            }
            kap[4] / (kap[2] * kap[2])
        }
        _ => return None,
    };
    Prediction::new(v, kind)
}

/// Leading-order (1/n) excess kurtosis of the readout unit for one input (PDLT, Roberts, Yaida &
/// Hanin 2021, arXiv 2106.10165, ch. 4–5; eq. (4.118)-(5.x) in the book's notation), for a
/// non-residual net with Gaussian weights and any activation:
///
///   v^{(1)} = 0,  v^{(l+1)} = χ_∥² v^{(l)} + C_W² (⟨σ⁴⟩_{K^l} − ⟨σ²⟩_{K^l}²)/n_l,  χ_∥ = C_W d⟨σ²⟩_K/dK,
///   K^{l+1} = C_b + C_W ⟨σ²⟩_{K^l},   excess kurtosis ≈ 3 v^{(L+1)}/(K^{(L+1)})².
///
/// v^{(l)} is the variance of the conditional variance of z^l_i given layer l−1 (PDLT's V^{(l)}/n
/// with per-layer widths). Returns (κ4 ≈ 3 v, excess kurtosis). None for residual nets, other
/// weight laws, or a zero kernel.
pub fn leading_order_output_kurtosis(spec: &NetworkSpec, x: &[f64]) -> Option<(f64, f64)> {
    if spec.residual.is_some() || spec.weights != WeightLaw::Gaussian {
        return None;
    }
    let widths = spec.layer_widths();
    let depth = spec.depth();
    let (cw, cb) = (spec.cw, spec.cb);
    let mut k = cb + cw * kernels::dot(x, x) / widths[0] as f64;
    let mut v = 0.0;
    for &nl in &widths[1..=depth] {
        if k <= 0.0 {
            return None;
        }
        let (m2, m4, dm2) = kernels::single_moments(&spec.activation, nl, depth, k);
        let chi = cw * dm2;
        v = chi * chi * v + cw * cw * (m4 - m2 * m2) / nl as f64;
        k = cb + cw * m2;
    }
    if k <= 0.0 {
        return None;
    }
    Some((3.0 * v, 3.0 * v / (k * k)))
}

/// The exponent of Hanin & Nica's NTK fluctuation law: E[Θ(x,x)²]/E[Θ(x,x)]² ≃ exp(5β).
pub const NTK_FLUCTUATION_EXPONENT: f64 = 5.0;

/// Hanin & Nica (2019, arXiv 1909.05989, Theorem 1): for ReLU nets with Gaussian weights and zero
/// biases, E[Θ(x,x)²]/E[Θ(x,x)]² ≃ exp(5β), β = Σ_l 1/n_l, where ≃ means bounded above and below
/// by universal constants. So this is an order of magnitude ([`Kind::Bound`]), not a value: the
/// growth rate in β is 5 up to an O(1) change of the logarithm, and the small-β slope at fixed depth
/// is not pinned by the theorem (see docs/verification.md for the trend check and its accepted
/// range). Returns exp(5β) for zero-bias, non-residual Gaussian ReLU nets with L ≥ 1, else None.
pub fn ntk_second_moment_ratio(spec: &NetworkSpec) -> Option<Prediction> {
    let ok = spec.activation == Activation::Relu
        && spec.cb == 0.0
        && spec.weights == WeightLaw::Gaussian
        && spec.residual.is_none()
        && spec.depth() >= 1;
    if !ok {
        return None;
    }
    Prediction::new((NTK_FLUCTUATION_EXPONENT * spec.beta()).exp(), Kind::Bound)
}

/// The prediction for one statistic of one observable, if theory has one.
///
/// `observable` is an observable name ("output[0]", "ntk[0,1]", "sqnorm[3,1]", "jacobian_norm[0]"),
/// `statistic` one of [`STATISTICS`]. Returns None for unknown names, out-of-range indices,
/// inputs of the wrong length, or when no theory applies. See docs/theory.md §4 for the table
/// of what is predicted with which [`Kind`].
pub fn predict(
    spec: &NetworkSpec,
    xs: &[Vec<f64>],
    curve: Curve,
    observable: &Observable,
    statistic: &str,
) -> Result<Prediction, NoTheory> {
    if !STATISTICS.contains(&statistic) {
        return Err(NoTheory(format!(
            "'{statistic}' is not a statistic theory predicts"
        )));
    }
    if spec.parameterization.is_mup() {
        return Err(NoTheory(format!(
            "no theory is implemented for the {} parameterization (its readout vanishes at infinite width; docs/training.md)",
            spec.parameterization
        )));
    }
    if let Some(x) = xs.iter().find(|x| x.len() != spec.input_dim) {
        return Err(NoTheory(format!(
            "an input has {} coordinates, not n0 = {}",
            x.len(),
            spec.input_dim
        )));
    }
    let (k, depth) = (xs.len(), spec.depth());
    let exists = match *observable {
        Observable::Output(a) | Observable::JacobianNorm(a) | Observable::LogJacobianNorm(a) => {
            a < k
        }
        Observable::OutputPair(a, b) | Observable::Ntk(a, b) => a < k && b < k,
        Observable::Sqnorm(l, a) => a < k && (1..=depth + 1).contains(&l),
        Observable::SingularValue(a, i) => {
            a < k && (1..=spec.input_dim.min(spec.output_dim)).contains(&i)
        }
        Observable::Lyapunov(i) => {
            let narrowest = spec.layer_widths()[..=depth]
                .iter()
                .copied()
                .min()
                .unwrap_or(0);
            depth >= 1 && (1..=narrowest).contains(&i)
        }
        Observable::LengthDistortion | Observable::Regions | Observable::Patterns => true,
        Observable::DeltaOutput(a) => a < k,
        Observable::DeltaNtk(a, b) => a < k && b < k,
        Observable::FeatureChange(l) | Observable::FeatureAlignment(l) => (1..=depth).contains(&l),
        Observable::WeightChange(l) => (1..=depth + 1).contains(&l),
    };
    if !exists {
        return Err(NoTheory(format!(
            "{observable} does not exist with {k} inputs and {depth} hidden layers"
        )));
    }
    let p = if statistic == "relative_variance" {
        relative_variance(spec, xs, curve, observable)
    } else {
        match observable {
            Observable::LengthDistortion | Observable::Regions | Observable::Patterns => {
                geometry::predict(spec, xs, curve, observable, statistic)
            }
            Observable::OutputPair(..) => None,
            Observable::DeltaOutput(_)
            | Observable::DeltaNtk(..)
            | Observable::FeatureChange(_)
            | Observable::FeatureAlignment(_)
            | Observable::WeightChange(_) => training::predict(spec, xs, *observable, statistic),
            _ => pointwise(spec, xs, *observable, statistic),
        }
    };
    p.ok_or_else(|| NoTheory::for_spec(spec, observable, statistic))
}

/// [`predict`] by names, along the segment: `observable` as [`Observable`] writes it
/// (`"output[0]"`, `"ntk[0,1]"`, `"regions"`), `statistic` one of [`STATISTICS`]. None for a
/// name that is not an observable and wherever [`predict`] has no prediction.
pub fn predict_named(
    spec: &NetworkSpec,
    xs: &[Vec<f64>],
    observable: &str,
    statistic: &str,
) -> Option<Prediction> {
    let obs: Observable = observable.parse().ok()?;
    predict(spec, xs, Curve::Segment, &obs, statistic).ok()
}

/// Why theory has no prediction for a statistic of an observable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoTheory(pub String);

impl std::fmt::Display for NoTheory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NoTheory {}

impl NoTheory {
    /// No law in docs/theory.md §4 covers this statistic of this observable for `spec`.
    fn for_spec(spec: &NetworkSpec, observable: &Observable, statistic: &str) -> Self {
        NoTheory(format!(
            "no law of the {statistic} of {observable} for {} activation, {} weights, L = {}, C_b = {}{} (docs/theory.md §4 lists what is predicted)",
            spec.activation,
            spec.weights,
            spec.depth(),
            spec.cb,
            if spec.residual.is_some() { ", residual" } else { "" }
        ))
    }
}

/// The pointwise families' predictions (docs/theory.md §4).
fn pointwise(
    spec: &NetworkSpec,
    xs: &[Vec<f64>],
    obs: Observable,
    statistic: &str,
) -> Option<Prediction> {
    let n0 = spec.input_dim;
    let k = xs.len();
    let depth = spec.depth();
    let gaussian = spec.weights == WeightLaw::Gaussian;
    let linear = spec.activation == Activation::Linear;
    // Infinite-width kernels are only the right limit for Gaussian weights (with other laws
    // z^1 = W^1 x is not Gaussian at fixed n0), except for linear nets and L = 0, where only
    // second moments enter.
    let kernels_valid = gaussian || linear || depth == 0;
    match obs {
        Observable::Output(a) => {
            if a >= k {
                return None;
            }
            match statistic {
                // The readout row W^{L+1}_0 and b^{L+1}_0 are symmetric and independent of
                // a^L: f → −f is a symmetry of the law, so all odd cumulants vanish.
                "mean" | "kappa3" => return Prediction::new(0.0, Kind::Exact),
                _ => {}
            }
            if scale_invariant_exact(spec) {
                let kap = si_net(spec).output_cumulants(kernels::dot(&xs[a], &xs[a]))?;
                return from_cumulants(&kap, statistic, Kind::Exact);
            }
            if linear {
                // Exact finite-width laws of linear nets: Gaussian weights with residual branches
                // and biases (docs/derivations/residual_linear.md), any weight law without
                // residual branches (docs/derivations/weight_laws.md).
                let kap = if gaussian {
                    residual_linear::residual_linear_output_cumulants(spec, &xs[a])
                } else {
                    weight_laws::linear_output_cumulants(spec, &xs[a])
                };
                if let Some(p) = kap.and_then(|k| from_cumulants(&k, statistic, Kind::Exact)) {
                    return Some(p);
                }
            }
            if statistic == "variance" {
                // Piecewise-linear activations under any symmetric weight law: each unit is
                // symmetric given the past, so E σ(z)² = (a₊² + a₋²)/2 E z² exactly
                // (docs/derivations/weight_laws.md).
                if let Some(v) = weight_laws::symmetric_pl_output_variance(spec, &xs[a]) {
                    return Prediction::new(v, Kind::Exact);
                }
            }
            if !kernels_valid {
                return None;
            }
            match statistic {
                "variance" => {
                    let kern = cached_kernels(spec, xs);
                    // E f² = C_b + C_W E‖a^L‖²/n_L is exact when a^L's law is known exactly:
                    // L <= 1 with Gaussian weights (z^1 Gaussian), or linear nets.
                    let kind = if linear || depth == 0 || (depth == 1 && gaussian) {
                        Kind::Exact
                    } else {
                        Kind::InfiniteWidth
                    };
                    Prediction::new(kern.readout_nngp()[a][a], kind)
                }
                "kappa4" | "excess_kurtosis" => {
                    if depth == 0 && !gaussian {
                        // f = Σ_j W_0j x_j + b is not Gaussian at any hidden width.
                        return None;
                    }
                    if depth == 0 && gaussian {
                        return Prediction::new(0.0, Kind::Exact);
                    }
                    if let Some((k4, ek)) = leading_order_output_kurtosis(spec, &xs[a]) {
                        let v = if statistic == "kappa4" { k4 } else { ek };
                        return Prediction::new(v, Kind::LeadingOrder);
                    }
                    Prediction::new(0.0, Kind::InfiniteWidth)
                }
                "kappa6" => {
                    if depth == 0 && !gaussian {
                        return None;
                    }
                    let kind = if depth == 0 && gaussian {
                        Kind::Exact
                    } else {
                        Kind::InfiniteWidth
                    };
                    Prediction::new(0.0, kind)
                }
                _ => None,
            }
        }
        Observable::Ntk(a0, b0) => {
            if a0 >= k || b0 >= k {
                return None;
            }
            let (a, b) = (a0.min(b0), a0.max(b0));
            if !kernels_valid {
                return None;
            }
            if statistic == "mean" {
                let kern = cached_kernels(spec, xs);
                let theta = kern.readout_ntk()[a][b];
                return Prediction::new(theta, ntk_mean_kind(spec, a == b));
            }
            if depth == 0 {
                // Θ = C_W x·x'/n0 + C_b (or x·x' + 1) is deterministic.
                return match statistic {
                    "excess_kurtosis" => None,
                    _ => Prediction::new(0.0, Kind::Exact),
                };
            }
            if depth == 1 && gaussian {
                // One hidden layer: a sum of n1 i.i.d. unit terms (docs/derivations/ntk_one_layer.md).
                if let Some(kap) = ntk_one_layer::ntk_one_layer_cumulants(spec, &xs[a], &xs[b]) {
                    if let Some(p) = from_cumulants(&kap, statistic, Kind::Exact) {
                        return Some(p);
                    }
                }
            }
            // In the NTK parameterization Θ concentrates at infinite width (Jacot et al. 2018):
            // its cumulants of order >= 2 vanish. In the standard parameterization it grows with
            // n and there is no finite limit to quote.
            if spec.parameterization == Parameterization::Ntk
                && matches!(statistic, "variance" | "kappa3" | "kappa4" | "kappa6")
            {
                return Prediction::new(0.0, Kind::InfiniteWidth);
            }
            None
        }
        Observable::Sqnorm(l, a) => {
            if a >= k || l == 0 || l > depth + 1 {
                return None;
            }
            let x2 = kernels::dot(&xs[a], &xs[a]);
            if scale_invariant_exact(spec) {
                let kap = si_net(spec).sqnorm_cumulants(l, x2)?;
                return from_cumulants(&kap, statistic, Kind::Exact);
            }
            if linear && !gaussian {
                // κ1..κ3 of linear nets under any weight law (docs/derivations/weight_laws.md).
                let kap = weight_laws::linear_sqnorm_cumulants(spec, l, &xs[a]);
                if let Some(p) = kap.and_then(|k| from_cumulants(&k, statistic, Kind::Exact)) {
                    return Some(p);
                }
            }
            if statistic == "mean" && !gaussian {
                if let Some(v) = weight_laws::symmetric_pl_sqnorm_mean(spec, l, &xs[a]) {
                    return Prediction::new(v, Kind::Exact);
                }
            }
            let widths = spec.layer_widths();
            if l == 1 && gaussian {
                // z^1_i i.i.d. N(0, K^1): sqnorm[1] = K^1 chi2_{n1}/n1, with bias, any activation
                // (layer 1 is never residual). κ_j(chi2_n) = n 2^{j−1} (j−1)!.
                let k1 = spec.cb + spec.cw * x2 / n0 as f64;
                let kap = chi2_scaled_cumulants(widths[1], k1);
                return from_cumulants(&kap, statistic, Kind::Exact);
            }
            if !kernels_valid {
                return None;
            }
            let kern = cached_kernels(spec, xs);
            let kl = kern.nngp[l - 1][a][a];
            if l == depth + 1 {
                // The readout stays finite (n_out): at infinite hidden width f ~ N(0, K^{L+1} I),
                // so sqnorm[L+1] = K^{L+1} chi2_{n_out}/n_out. Exact for the mean when E‖a^L‖² is
                // (linear, or L <= 1 with Gaussian weights; L = 0 is covered above for Gaussian).
                let mean_exact = linear || depth == 0 || (depth == 1 && gaussian);
                if statistic != "mean" && depth == 0 && !gaussian {
                    return None;
                }
                let kap = chi2_scaled_cumulants(widths[l], kl);
                let kind = if statistic == "mean" && mean_exact {
                    Kind::Exact
                } else {
                    Kind::InfiniteWidth
                };
                return from_cumulants(&kap, statistic, kind);
            }
            match statistic {
                "mean" => {
                    // E‖z^l‖²/n_l = C_b + C_W E[σ(z^{l−1})²] (+ residual terms) is exact when
                    // z^{l−1} is exactly Gaussian (l = 2) or for linear nets.
                    let kind = if linear || (l == 2 && gaussian) {
                        Kind::Exact
                    } else {
                        Kind::InfiniteWidth
                    };
                    Prediction::new(kl, kind)
                }
                // Hidden squared norms concentrate as n_l → ∞.
                "variance" | "kappa3" | "kappa4" | "kappa6" => {
                    Prediction::new(0.0, Kind::InfiniteWidth)
                }
                _ => None,
            }
        }
        Observable::JacobianNorm(a) => {
            if a >= k {
                return None;
            }
            let relu = spec.activation == Activation::Relu;
            // Biases do not change the law (docs/theory.md §2.3: the sign flip (W_i, b_i) → (−W_i, −b_i)).
            let ok = gaussian && spec.residual.is_none() && (relu || linear);
            if !ok {
                return None;
            }
            let kap = exact::jacobian_cumulants(spec.cw, &spec.layer_widths(), relu);
            from_cumulants(&kap, statistic, Kind::Exact)
        }
        Observable::LogJacobianNorm(_) => {
            // The product law of ‖Ju‖² (exact::jacobian_cumulants) in logarithms: a sum of
            // independent ln χ² terms, conditional on no dead layer.
            let relu = spec.activation == Activation::Relu;
            // Biases do not change the law (docs/theory.md §2.3: the sign flip (W_i, b_i) → (−W_i, −b_i)).
            let ok = gaussian && spec.residual.is_none() && (relu || linear);
            if !ok {
                return None;
            }
            let kap = log_jacobian_cumulants(spec.cw, &spec.layer_widths(), relu)?;
            from_cumulants(&kap, statistic, Kind::Exact)
        }
        Observable::SingularValue(_, i) => singular_value(spec, i, statistic),
        Observable::Lyapunov(i) => {
            // The Jacobian law's argument, for a frame (docs/theory.md §2.5).
            let relu = spec.activation == Activation::Relu;
            let ok = gaussian && spec.residual.is_none() && (relu || linear) && depth >= 1;
            if !ok {
                return None;
            }
            let kap = lyapunov_cumulants(spec.cw, &spec.layer_widths(), relu, i)?;
            from_cumulants(&kap, statistic, Kind::Exact)
        }
        _ => None,
    }
}

/// The i-th largest singular value of J(x) (n_out × n0), docs/theory.md §2.6. Gaussian weights,
/// no residual branches; p = min(n_out, n0).
///
/// - n_out = 1 (p = 1): the one singular value is ‖∇f(x)‖. Linear Gaussian nets (any C_b): from
///   the readout row backwards, ‖r W^l‖² = (C_W/n_{l−1}) ‖r‖² χ²_{n_{l−1}} given r, so
///   ‖J‖² = Π_{l=0}^{L} (C_W/n_l) χ²_{n_l}: the law of ‖Ju‖ (exact::jacobian_cumulants) with the
///   degrees of freedom n_0..n_L. L = 0 is linear. Exact.
/// - n0 = 1 (p = 1): J is one column and its singular value is ‖J u‖ for u = ±1: the law of
///   jacobian_norm (exact for ReLU with any C_b, and linear nets).
/// - L = 0, any n_out, n0: J = W^1 has i.i.d. N(0, C_W/n0) entries in both parameterizations, so
///   σ_i(J) = √(C_W/n0) σ_i(G), G a standard Gaussian n_out × n0 matrix: the real Wishart law of
///   [`wishart`] (the χ_{max(n_out, n0)} law at p = 1). Exact, for p ≤ [`wishart::MAX_P`].
/// - Zero-bias piecewise-linear nets, and linear nets with any C_b, at infinite hidden width:
///   J → s G with s² = (C_W/n0) Π_l C_W (a₊² + a₋²)/2. Given M = D_L W^L ⋯ D_1 W^1, the rows
///   W^{L+1}_o M of J are i.i.d. N(0, (C_W/n_L) MᵀM) — different readout rows are independent —
///   and (C_W/n_L) MᵀM → s² I because the pattern D at x is uncorrelated with (W e_j)(W e_k)
///   (E[1{g>0}(g² − 1)] = 0). Kind infinite-width.
fn singular_value(spec: &NetworkSpec, i: usize, statistic: &str) -> Option<Prediction> {
    if spec.weights != WeightLaw::Gaussian || spec.residual.is_some() {
        return None;
    }
    let (n0, nout, depth) = (spec.input_dim, spec.output_dim, spec.depth());
    let p = n0.min(nout);
    if i == 0 || i > p {
        return None;
    }
    let linear = spec.activation == Activation::Linear;
    let relu = spec.activation == Activation::Relu;
    if nout == 1 && (linear || depth == 0) {
        let mut ws = spec.layer_widths();
        ws[depth + 1] = ws[0];
        let kap = exact::jacobian_cumulants(spec.cw, &ws, false);
        return from_cumulants(&kap, statistic, Kind::Exact);
    }
    if n0 == 1 && (linear || relu || depth == 0) {
        let kap = exact::jacobian_cumulants(spec.cw, &spec.layer_widths(), relu);
        return from_cumulants(&kap, statistic, Kind::Exact);
    }
    if depth == 0 {
        let kap = wishart::scaled_singular_value_cumulants(nout, n0, i, spec.cw / n0 as f64)?;
        return from_cumulants(&kap, statistic, Kind::Exact);
    }
    if !spec.activation.is_piecewise_linear() || (spec.cb != 0.0 && !linear) {
        return None;
    }
    let gain: f64 = spec
        .hidden
        .iter()
        .map(|&n| {
            let (ap, am) = spec.activation.slopes(n).expect("piecewise linear");
            spec.cw * (ap * ap + am * am) / 2.0
        })
        .product();
    let kap = if p == 1 {
        // The χ law s χ_{max(n_out, n0)}: with n_out = 1, exactly the L = 0 law with C_W scaled.
        exact::jacobian_cumulants(spec.cw * gain, &[n0, n0.max(nout)], false)
    } else {
        wishart::scaled_singular_value_cumulants(nout, n0, i, spec.cw * gain / n0 as f64)?
    };
    from_cumulants(&kap, statistic, Kind::InfiniteWidth)
}

/// Cumulants κ_1..κ_6 of the i-th finite-depth Lyapunov exponent λ_i = (1/L) Σ_l ln R^l_ii of
/// Gaussian nets with ReLU (any C_b) or linear activations, conditional on no rank drop at
/// column i. Given the past, the rows r_m = W^l_m Q^{l−1} are i.i.d. N(0, (C_W/n_{l−1}) I_F)
/// and the sign flip (W_m, b_m) → (−W_m, −b_m) makes each unit's activity a fair coin
/// independent of r_m r_mᵀ; so D_l W^l Q^{l−1} is, up to row order, a K_l × F Gaussian matrix
/// with K_l ~ Bin(n_l, 1/2) (n_l for linear nets), and Bartlett's decomposition gives
/// (R^l_ii)² ~ (C_W/n_{l−1}) χ²_{K_l − i + 1}, independent over l (Q^l is Haar given R^l).
/// Hence λ_i = (1/L) Σ_l ½ [ln(C_W/n_{l−1}) + ln χ²_{K_l−i+1}], K_l conditioned on K_l ≥ i.
fn lyapunov_cumulants(cw: f64, widths: &[usize], relu: bool, i: usize) -> Option<Vec<f64>> {
    let depth = widths.len().checked_sub(2)?;
    if depth == 0 || i == 0 {
        return None;
    }
    let mut kap = vec![0.0; exact::MAXK + 1];
    let scale = 1.0 / depth as f64;
    for l in 1..=depth {
        if widths[l] < i || widths[l - 1] < i {
            return None;
        }
        kap[1] += scale * 0.5 * (cw / widths[l - 1] as f64).ln();
        let layer = if relu {
            log_chi2_binomial_cumulants(widths[l], i)?
        } else {
            log_chi2_cumulants((widths[l] - i + 1) as f64)
        };
        for (j, k) in kap.iter_mut().enumerate().skip(1) {
            *k += layer[j] * (0.5 * scale).powi(j as i32);
        }
    }
    kap.iter().all(|k| k.is_finite()).then_some(kap)
}

/// Cumulants κ_1..κ_6 of ln‖J(x)u‖ conditional on J(x)u ≠ 0, for the nets of
/// [`exact::jacobian_cumulants`] (Gaussian weights, zero-bias ReLU or linear). There
/// ‖Ju‖² = Π_{l=1}^{L+1} (C_W/n_{l−1}) X_l with independent X_l ~ χ²_{K_l}, K_l ~ Bin(n_l, 1/2)
/// (ReLU hidden layers; K_l = n_l for linear ones) and X_{L+1} ~ χ²_{n_out} (Hanin 2018, arXiv
/// 1801.03744; Hanin & Nica 2019, arXiv 1812.05994). J u = 0 exactly when some K_l = 0; given
/// that none is, the K_l are independent and each conditioned on K_l ≥ 1. So
/// ln‖Ju‖ = ½ Σ_l [ln(C_W/n_{l−1}) + ln X_l] and its cumulants are κ_j = 2^{−j} Σ_l κ_j(ln X_l)
/// (plus the constant in κ_1).
fn log_jacobian_cumulants(cw: f64, widths: &[usize], relu: bool) -> Option<Vec<f64>> {
    let depth = widths.len().checked_sub(2)?;
    let mut kap = vec![0.0; exact::MAXK + 1];
    for l in 1..=depth + 1 {
        kap[1] += 0.5 * (cw / widths[l - 1] as f64).ln();
        let layer = if relu && l <= depth {
            log_chi2_binomial_cumulants(widths[l], 1)?
        } else {
            log_chi2_cumulants(widths[l] as f64)
        };
        for (j, k) in kap.iter_mut().enumerate().skip(1) {
            *k += layer[j] * 0.5f64.powi(j as i32);
        }
    }
    kap.iter().all(|k| k.is_finite()).then_some(kap)
}

/// Cumulants of ln χ²_k: κ_1 = ψ(k/2) + ln 2, κ_j = ψ^{(j−1)}(k/2) (the log of a Gamma(k/2, 2)
/// variable; Abramowitz & Stegun 6.4).
fn log_chi2_cumulants(k: f64) -> [f64; exact::MAXK + 1] {
    let mut kap = [0.0; exact::MAXK + 1];
    kap[1] = polygamma(0, k / 2.0) + std::f64::consts::LN_2;
    for (j, v) in kap.iter_mut().enumerate().skip(2) {
        *v = polygamma(j - 1, k / 2.0);
    }
    kap
}

/// Cumulants of ln χ²_{K−i+1} with K ~ Bin(n, 1/2) conditioned on K ≥ i (i = 1: the active
/// units of a ReLU layer with at least one; i > 1: Bartlett's i-th factor, docs/theory.md §2.5):
/// the mixture's moments about a centre near its mean (so no precision is lost to a large mean),
/// then its cumulants.
fn log_chi2_binomial_cumulants(n: usize, i: usize) -> Option<[f64; exact::MAXK + 1]> {
    use statrs::function::gamma::ln_gamma;
    const M: usize = exact::MAXK;
    if i == 0 || i > n {
        return None;
    }
    let ln2 = std::f64::consts::LN_2;
    let ln_fact = |m: usize| ln_gamma(m as f64 + 1.0);
    let ln_bin = |k: usize| ln_fact(n) - ln_fact(k) - ln_fact(n - k) - n as f64 * ln2;
    // ln P(K >= i): in closed form for i = 1 (1 − 2^-n), summed otherwise.
    let ln_tail = if i == 1 {
        (-(-(n as f64) * ln2).exp()).ln_1p()
    } else {
        (i..=n).map(|k| ln_bin(k).exp()).sum::<f64>().ln()
    };
    if !ln_tail.is_finite() {
        return None;
    }
    let centre = log_chi2_cumulants((n.div_ceil(2).max(i) - i + 1) as f64)[1];
    let mut moments = [0.0; M + 1];
    for k in i..=n {
        let w = (ln_bin(k) - ln_tail).exp();
        if w < 1e-300 {
            continue;
        }
        let mut kap = log_chi2_cumulants((k - i + 1) as f64);
        kap[1] -= centre;
        for (m, v) in moments.iter_mut().zip(raw_moments(&kap)) {
            *m += w * v;
        }
    }
    let mut kap = cumulants(&moments);
    kap[1] += centre;
    kap.iter().all(|k| k.is_finite()).then_some(kap)
}

/// Raw moments μ'_0..μ'_6 from cumulants κ_1..κ_6: μ'_n = Σ_{k=1}^{n} C(n−1, k−1) κ_k μ'_{n−k}.
fn raw_moments(kap: &[f64; exact::MAXK + 1]) -> [f64; exact::MAXK + 1] {
    let mut mu = [0.0; exact::MAXK + 1];
    mu[0] = 1.0;
    for n in 1..=exact::MAXK {
        mu[n] = (1..=n)
            .map(|k| binomial(n - 1, k - 1) * kap[k] * mu[n - k])
            .sum();
    }
    mu
}

/// Cumulants κ_1..κ_6 from raw moments (the inverse of [`raw_moments`]).
fn cumulants(mu: &[f64; exact::MAXK + 1]) -> [f64; exact::MAXK + 1] {
    let mut kap = [0.0; exact::MAXK + 1];
    for n in 1..=exact::MAXK {
        kap[n] = mu[n]
            - (1..n)
                .map(|k| binomial(n - 1, k - 1) * kap[k] * mu[n - k])
                .sum::<f64>();
    }
    kap
}

fn binomial(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f64 / (i + 1) as f64)
}

/// The polygamma function ψ^{(m)}(x), x > 0: the recurrence ψ^{(m)}(x) = ψ^{(m)}(x + 1) −
/// (−1)^m m!/x^{m+1} up to x ≥ 20, then the asymptotic series (Abramowitz & Stegun 6.3.18 for
/// m = 0, 6.4.11 for m ≥ 1) to B_14, accurate to ~1e-16 relative there. statrs has only the
/// digamma function (m = 0), which the tests hold this against.
pub fn polygamma(m: usize, x: f64) -> f64 {
    const B2K: [f64; 7] = [
        1.0 / 6.0,
        -1.0 / 30.0,
        1.0 / 42.0,
        -1.0 / 30.0,
        5.0 / 66.0,
        -691.0 / 2730.0,
        7.0 / 6.0,
    ];
    let fact = |n: usize| (1..=n).fold(1.0, |a, i| a * i as f64);
    let sign = if m % 2 == 0 { 1.0 } else { -1.0 }; // (−1)^m
    let mut x = x;
    let mut shift = 0.0;
    while x < 20.0 {
        shift -= sign * fact(m) / x.powi(m as i32 + 1);
        x += 1.0;
    }
    let asymptotic = if m == 0 {
        x.ln()
            - 0.5 / x
            - B2K
                .iter()
                .enumerate()
                .map(|(i, b)| b / ((2 * i + 2) as f64 * x.powi(2 * i as i32 + 2)))
                .sum::<f64>()
    } else {
        let series: f64 = fact(m - 1) / x.powi(m as i32)
            + fact(m) / (2.0 * x.powi(m as i32 + 1))
            + B2K
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let k = 2 * i + 2;
                    b * fact(k + m - 1) / (fact(k) * x.powi((k + m) as i32))
                })
                .sum::<f64>();
        -sign * series
    };
    asymptotic + shift
}

/// variance / mean²: exact when both are; for the diagonal NTK of zero-bias ReLU nets Hanin &
/// Nica's E[Θ²]/E[Θ]² ≃ exp(5β) gives exp(5β) − 1 as an order of magnitude ([`Kind::Bound`]);
/// otherwise the weaker of the two kinds (infinite-width when either is).
fn relative_variance(
    spec: &NetworkSpec,
    xs: &[Vec<f64>],
    curve: Curve,
    observable: &Observable,
) -> Option<Prediction> {
    let m = predict(spec, xs, curve, observable, "mean").ok()?;
    let v = predict(spec, xs, curve, observable, "variance").ok();
    if m.value == 0.0 {
        return None;
    }
    if let (Some(v), Kind::Exact) = (v, m.kind) {
        if v.kind == Kind::Exact {
            return Prediction::new(v.value / (m.value * m.value), Kind::Exact);
        }
    }
    if let Observable::Ntk(a, b) = *observable {
        if a == b {
            if let Some(p) = ntk_second_moment_ratio(spec) {
                return Prediction::new(p.value - 1.0, Kind::Bound);
            }
        }
    }
    let v = v?;
    let kind = if m.kind == Kind::InfiniteWidth || v.kind == Kind::InfiniteWidth {
        Kind::InfiniteWidth
    } else if m.kind == Kind::Bound || v.kind == Kind::Bound {
        Kind::Bound
    } else {
        Kind::LeadingOrder
    };
    Prediction::new(v.value / (m.value * m.value), kind)
}

/// Cumulants of c · chi2_n / n: κ_j = c^j n 2^{j−1} (j−1)! / n^j.
fn chi2_scaled_cumulants(n: usize, c: f64) -> Vec<f64> {
    let nf = n as f64;
    let mut kap = vec![0.0; exact::MAXK + 1];
    let mut fact = 1.0; // (j−1)!
    for (j, kj) in kap.iter_mut().enumerate().skip(1) {
        if j > 1 {
            fact *= (j - 1) as f64;
        }
        *kj = c.powi(j as i32) * nf * 2f64.powi(j as i32 - 1) * fact / nf.powi(j as i32);
    }
    kap
}

/// The kind of the NTK-mean prediction Θ^{L+1}(x_a, x_b).
///
/// Exact cases: L = 0 (Θ deterministic); linear nets, any C_b, widths, residual branches and
/// weight law (forward and backward factors of each layer's term are independent and only second
/// moments enter); L = 1 with Gaussian weights (z^1 Gaussian, W^2 independent of it); and the
/// diagonal for zero-bias non-residual Gaussian ReLU nets, where Hanin & Nica (2019, arXiv
/// 1909.05989) give E[Θ(x,x)] = 2(L+1)‖x‖²/n0 at C_W = 2 — extended to any C_W by homogeneity
/// (Θ scales as C_W^{L+1}) and to the standard parameterization layer by layer (their computation
/// is per layer term; to be confirmed by simulation). Otherwise the infinite-width value.
pub fn ntk_mean_kind(spec: &NetworkSpec, diagonal: bool) -> Kind {
    let gaussian = spec.weights == WeightLaw::Gaussian;
    let exact = spec.depth() == 0
        || spec.activation == Activation::Linear
        || (spec.depth() == 1 && gaussian)
        || (diagonal
            && gaussian
            && spec.activation == Activation::Relu
            && spec.cb == 0.0
            && spec.residual.is_none());
    if exact {
        Kind::Exact
    } else {
        Kind::InfiniteWidth
    }
}

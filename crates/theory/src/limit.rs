//! The infinite-width limit at fixed depth of every statistic randnet estimates, and, where
//! theory has it, the coefficient of 1/n in its large-width expansion: what `randnet sweep
//! --extrapolate` puts beside the intercept a and the slope b of its fit a + b/n
//! (docs/statistics.md, "Extrapolation to infinite width").
//!
//! Every value returned here is the exact n → ∞ limit at fixed depth, input dimension and readout
//! width (all hidden widths equal to n), so an extrapolated intercept can be tested against it
//! with a z-score:
//!
//! - Where an exact finite-width law exists ([`crate::predict`] returns [`Kind::Exact`] at every
//!   width: scale-invariant nets with zero biases, the first layer's squared norm, ReLU and linear
//!   Jacobian norms, odd output cumulants, L ≤ 1), the limit and the 1/n coefficient are read off
//!   that law by polynomial extrapolation in 1/n over four widths N, 2N, 4N, 8N
//!   (N the power of two >= 64 L, clamped to 1024..=8192; 1024 for Jacobian norms), checked
//!   against the three-width extrapolation ([`Kind::Exact`]).
//! - Otherwise, for Gaussian weights (or linear nets), the infinite-width theory
//!   ([`Kind::InfiniteWidth`]), which at fixed depth is the exact limit (Neal 1996; Lee et al.
//!   2018; Jacot et al. 2018; Matthews et al. 2018): the output is Gaussian with the readout's NNGP
//!   kernel (variance K^{L+1}, cumulants of order ≥ 3 and the excess kurtosis 0), the NTK
//!   concentrates at its kernel Θ^{L+1} in the NTK parameterization (cumulants of order ≥ 2 vanish),
//!   hidden squared norms concentrate at K^l, and the readout's squared norm is
//!   K^{L+1} χ²_{n_out}/n_out. The 1/n coefficient is known for the output's fourth cumulant and
//!   excess kurtosis (n times PDLT's leading order, [`crate::leading_order_output_kurtosis`]), and
//!   is 0 for cumulants that vanish faster than 1/n: κ6 of the output (O(1/n²)), and κ3, κ4, κ6 of
//!   the NTK and of hidden squared norms (a cumulant of order m of an average over n neurons is
//!   O(n^{1−m}); PDLT ch. 4 and 8).
//!
//! None where there is no finite limit (the NTK in the standard parameterization grows with n),
//! where the limit is not derived here (geometry observables, non-Gaussian weights beyond linear
//! nets, the shaped ReLU, whose slopes depend on n), or where the statistic has no limit
//! (relative variance of a zero-mean observable).

use crate::{
    cached_kernels, chi2_scaled_cumulants, from_cumulants, leading_order_output_kurtosis, predict,
    Kind, Observable,
};
use randnet_problem::{Activation, Curve, NetworkSpec, Parameterization, WeightLaw};
use serde::Serialize;

/// The n → ∞ value of a statistic at fixed depth and, where known, its 1/n coefficient.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Limit {
    /// lim_{n→∞} of the statistic (all hidden widths n).
    pub value: f64,
    /// [`Kind::Exact`]: the limit of an exact finite-width law; [`Kind::InfiniteWidth`]: the
    /// infinite-width theory. Both are the exact limit (a z-score against either is a test).
    pub kind: Kind,
    /// lim_{n→∞} n (statistic(n) − value), when theory has it.
    pub slope: Option<f64>,
}

/// The spec with all `depth` hidden layers of width `n`.
fn with_width(spec: &NetworkSpec, n: usize) -> NetworkSpec {
    let mut s = spec.clone();
    s.hidden = vec![n; spec.depth()];
    s
}

/// The limit at fixed depth of `statistic` of `observable` (names as [`crate::predict`], plus
/// `joint_kappa4` of `output[a,b]`), for the depth, input dimension, readout width,
/// activation, C_W, C_b, parameterization, residual branches and weight law of `spec` (its hidden
/// widths do not matter). None where no limit is known (module documentation).
pub fn infinite_width_limit(
    spec: &NetworkSpec,
    xs: &[Vec<f64>],
    observable: &Observable,
    statistic: &str,
) -> Option<Limit> {
    let n0 = spec.input_dim;
    let geometry = matches!(
        observable,
        Observable::LengthDistortion | Observable::Regions | Observable::Patterns
    );
    if xs.iter().any(|x| x.len() != n0) || geometry {
        return None;
    }
    let depth = spec.depth();
    let gaussian = spec.weights == WeightLaw::Gaussian;
    let linear = spec.activation == Activation::Linear;
    let kernels_valid = (gaussian || linear || depth == 0)
        && !matches!(spec.activation, Activation::ShapedRelu { .. });
    if statistic == "joint_kappa4" {
        // Outputs are jointly Gaussian in the limit (L >= 1), or exactly (L = 0, Gaussian
        // weights): every joint cumulant of order 4 vanishes. Its 1/n coefficient (PDLT's
        // four-point vertex off the diagonal) is not implemented.
        let Observable::OutputPair(a, b) = *observable else {
            return None;
        };
        if a >= xs.len() || b >= xs.len() || !(kernels_valid && (gaussian || depth > 0)) {
            return None;
        }
        return Some(Limit {
            value: 0.0,
            kind: Kind::InfiniteWidth,
            slope: None,
        });
    }
    let obs = *observable;
    if let Observable::Ntk(..) = obs {
        if spec.parameterization == Parameterization::Standard && depth > 0 {
            return None; // Θ grows with n: no finite limit.
        }
    }
    if depth == 0 {
        // No hidden layer: nothing depends on a width; the finite law is the limit.
        let p = predict(spec, xs, Curve::Segment, observable, statistic).ok()?;
        return (p.kind == Kind::Exact).then_some(Limit {
            value: p.value,
            kind: Kind::Exact,
            slope: Some(0.0),
        });
    }
    if let Some(l) = exact_law_limit(spec, xs, observable, statistic) {
        return Some(l);
    }
    if !kernels_valid {
        return None;
    }
    if statistic == "relative_variance" {
        let m = infinite_width_limit(spec, xs, observable, "mean")?;
        let v = infinite_width_limit(spec, xs, observable, "variance")?;
        if m.value == 0.0 {
            return None;
        }
        let value = v.value / (m.value * m.value);
        // d/dε of (v0 + v1 ε)/(m0 + m1 ε)² at ε = 0.
        let slope = match (m.slope, v.slope) {
            (Some(m1), Some(v1)) => {
                Some(v1 / (m.value * m.value) - 2.0 * v.value * m1 / m.value.powi(3))
            }
            _ => None,
        };
        return finite(value, Kind::InfiniteWidth, slope);
    }
    let k = xs.len();
    let zero = |slope: Option<f64>| finite(0.0, Kind::InfiniteWidth, slope);
    match obs {
        Observable::Output(a) => {
            if a >= k {
                return None;
            }
            let n = spec.width();
            let lo = leading_order_output_kurtosis(&with_width(spec, n), &xs[a]);
            match statistic {
                "mean" | "kappa3" => zero(Some(0.0)),
                "variance" => {
                    let kern = cached_kernels(spec, xs);
                    finite(kern.readout_nngp()[a][a], Kind::InfiniteWidth, None)
                }
                "kappa4" => zero(lo.map(|(k4, _)| n as f64 * k4)),
                "excess_kurtosis" => zero(lo.map(|(_, ek)| n as f64 * ek)),
                "kappa6" => zero(Some(0.0)),
                _ => None,
            }
        }
        Observable::Ntk(a, b) => {
            if a >= k || b >= k {
                return None;
            }
            match statistic {
                "mean" => {
                    let kern = cached_kernels(spec, xs);
                    finite(kern.readout_ntk()[a][b], Kind::InfiniteWidth, None)
                }
                "variance" | "excess_kurtosis" => zero(None),
                "kappa3" | "kappa4" | "kappa6" => zero(Some(0.0)),
                _ => None,
            }
        }
        Observable::Sqnorm(l, a) => {
            if a >= k || l == 0 || l > depth + 1 {
                return None;
            }
            let kern = cached_kernels(spec, xs);
            let kl = kern.nngp[l - 1][a][a];
            if l == depth + 1 {
                // The readout keeps its finite width n_out: K^{L+1} χ²_{n_out}/n_out.
                let kap = chi2_scaled_cumulants(spec.output_dim, kl);
                let value = match statistic {
                    "mean" => kap[1],
                    "variance" => kap[2],
                    "kappa3" => kap[3],
                    "kappa4" => kap[4],
                    "kappa6" => kap[6],
                    "excess_kurtosis" => kap[4] / (kap[2] * kap[2]),
                    _ => return None,
                };
                return finite(value, Kind::InfiniteWidth, None);
            }
            match statistic {
                "mean" => finite(kl, Kind::InfiniteWidth, None),
                "variance" | "excess_kurtosis" => zero(None),
                "kappa3" | "kappa4" | "kappa6" => zero(Some(0.0)),
                _ => None,
            }
        }
        _ => None,
    }
}

fn finite(value: f64, kind: Kind, slope: Option<f64>) -> Option<Limit> {
    value.is_finite().then_some(Limit {
        value,
        kind,
        slope: slope.filter(|s| s.is_finite()),
    })
}

/// The limit and 1/n coefficient of an exact finite-width law, by polynomial extrapolation in
/// h = 1/n through widths N, 2N, 4N, 8N; None unless the law is exact at all of them and the
/// extrapolation through the three widest agrees (the law is smooth in 1/n there).
fn exact_law_limit(
    spec: &NetworkSpec,
    xs: &[Vec<f64>],
    observable: &Observable,
    statistic: &str,
) -> Option<Limit> {
    if predict(spec, xs, Curve::Segment, observable, statistic)
        .ok()?
        .kind
        != Kind::Exact
    {
        return None;
    }
    let depth = spec.depth();
    // Jacobian norms of ReLU nets cost O(n) per layer (a binomial sum): stay at N = 1024.
    let base = if matches!(observable, Observable::JacobianNorm(_)) {
        1024
    } else {
        (64 * depth).next_power_of_two().clamp(1024, 8192)
    };
    let mut ts = Vec::new();
    let mut ys = Vec::new();
    let jacobian = matches!(observable, Observable::JacobianNorm(_));
    for j in 0..4 {
        let wide = with_width(spec, base << j);
        let value = if jacobian {
            // The same law for every input and statistic: computed once per width.
            let kap = jacobian_cumulants_cached(&wide);
            if statistic == "relative_variance" {
                kap[2] / (kap[1] * kap[1])
            } else {
                from_cumulants(&kap, statistic, Kind::Exact)?.value
            }
        } else {
            let p = predict(&wide, xs, Curve::Segment, observable, statistic).ok()?;
            if p.kind != Kind::Exact {
                return None;
            }
            p.value
        };
        ts.push(1.0 / (1u64 << j) as f64); // h N = 2^-j
        ys.push(value);
    }
    let c4 = interpolate(&ts, &ys)?;
    let c3 = interpolate(&ts[1..], &ys[1..])?;
    // c[k] multiplies (h N)^k: the value c[0], the 1/n coefficient N c[1]. The three-width
    // extrapolation errs by about the next term; the four-width one by much less.
    let (value, slope) = (c4[0], c4[1] * base as f64);
    let size = c4[0].abs() + c4[1].abs();
    if (c4[0] - c3[0]).abs() > 1e-5 * size || (c4[1] - c3[1]).abs() > 1e-3 * size {
        return None;
    }
    finite(value, Kind::Exact, Some(slope))
}

/// [`crate::exact::jacobian_cumulants`] for the spec (whose predictions are exact: ReLU with zero
/// biases or linear, Gaussian weights, no residual branches), memoized: at N = 1024..8192 a ReLU
/// law costs O(N L) binomial terms, and a sweep asks for it per input and statistic.
fn jacobian_cumulants_cached(spec: &NetworkSpec) -> Vec<f64> {
    use std::sync::Mutex;
    type Cache = Mutex<Vec<(String, Vec<f64>)>>;
    static CACHE: std::sync::OnceLock<Cache> = std::sync::OnceLock::new();
    let relu = spec.activation == Activation::Relu;
    let widths = spec.layer_widths();
    let key = format!("{}|{widths:?}|{relu}", spec.cw);
    let cache = CACHE.get_or_init(|| Mutex::new(Vec::new()));
    if let Ok(c) = cache.lock() {
        if let Some((_, k)) = c.iter().find(|(kk, _)| *kk == key) {
            return k.clone();
        }
    }
    let kap = crate::exact::jacobian_cumulants(spec.cw, &widths, relu);
    if let Ok(mut c) = cache.lock() {
        if c.len() >= 16 {
            c.remove(0);
        }
        c.push((key, kap.clone()));
    }
    kap
}

/// Coefficients of the polynomial of degree len−1 through (ts, ys) (Gaussian elimination with
/// partial pivoting on the Vandermonde system).
fn interpolate(ts: &[f64], ys: &[f64]) -> Option<Vec<f64>> {
    let m = ts.len();
    let mut a: Vec<Vec<f64>> = ts
        .iter()
        .zip(ys)
        .map(|(t, y)| {
            let mut row: Vec<f64> = (0..m).map(|k| t.powi(k as i32)).collect();
            row.push(*y);
            row
        })
        .collect();
    for col in 0..m {
        let piv = (col..m).max_by(|&i, &j| a[i][col].abs().total_cmp(&a[j][col].abs()))?;
        a.swap(col, piv);
        if a[col][col] == 0.0 {
            return None;
        }
        let pivot = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / pivot[col];
                for (x, p) in row[col..].iter_mut().zip(&pivot[col..]) {
                    *x -= f * p;
                }
            }
        }
    }
    Some((0..m).map(|k| a[k][m] / a[k][k]).collect())
}

/// The limit along a fixed depth-to-width ratio (depth growing with n), from the points of a
/// `--ratios` group: only where the exact finite-width prediction is the same at every point
/// (then it is the limit and the 1/n coefficient is 0). Limits that move with the ratio (the
/// exponential growth of the output's excess kurtosis in L/n) are not derived here.
pub fn fixed_ratio_limit(
    specs: &[NetworkSpec],
    xs: &[Vec<f64>],
    observable: &Observable,
    statistic: &str,
) -> Option<Limit> {
    let mut value: Option<f64> = None;
    for spec in specs {
        let p = if statistic == "joint_kappa4" {
            return None;
        } else {
            predict(spec, xs, Curve::Segment, observable, statistic).ok()?
        };
        if p.kind != Kind::Exact {
            return None;
        }
        match value {
            None => value = Some(p.value),
            Some(v) if (v - p.value).abs() <= 1e-12 * v.abs().max(p.value.abs()) => {}
            Some(_) => return None,
        }
    }
    finite(value?, Kind::Exact, Some(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use randnet_problem::Residual;

    fn spec(act: &str, n: usize, depth: usize, cb: f64) -> NetworkSpec {
        NetworkSpec::new(
            4,
            vec![n; depth],
            1,
            act.parse().unwrap(),
            None,
            cb,
            Parameterization::Ntk,
            None::<Residual>,
            WeightLaw::Gaussian,
        )
        .unwrap()
    }

    fn xs() -> Vec<Vec<f64>> {
        vec![vec![1.0, -0.5, 1.2, 0.3]]
    }

    /// ReLU, zero bias: exact law. Excess kurtosis 3[(1 + 5/n)^L − 1] → 0 with 1/n coefficient
    /// 15 L; the variance is width-independent.
    #[test]
    fn relu_exact_law_limits() {
        let s = spec("relu", 16, 5, 0.0);
        let ek = infinite_width_limit(&s, &xs(), &"output[0]".parse().unwrap(), "excess_kurtosis")
            .unwrap();
        assert_eq!(ek.kind, Kind::Exact);
        assert!(ek.value.abs() < 1e-9, "{ek:?}");
        assert!((ek.slope.unwrap() - 75.0).abs() < 1e-5, "{ek:?}");
        let v = infinite_width_limit(&s, &xs(), &"output[0]".parse().unwrap(), "variance").unwrap();
        let x2: f64 = xs()[0].iter().map(|x| x * x).sum();
        assert!((v.value - 2.0 * x2 / 4.0).abs() < 1e-12, "{v:?}");
        assert!(v.slope.unwrap().abs() < 1e-8, "{v:?}");
        // The leading-order recursion gives the same 1/n coefficient.
        let (_, lo) = leading_order_output_kurtosis(&s, &xs()[0]).unwrap();
        assert!((16.0 * lo - 75.0).abs() < 1e-9);
        // sqnorm[1] = K chi2_n / n: variance 2K²/n, so the slope is 2K² and the limit 0.
        let sq =
            infinite_width_limit(&s, &xs(), &"sqnorm[1,0]".parse().unwrap(), "variance").unwrap();
        let k1 = 2.0 * x2 / 4.0;
        assert!(sq.value.abs() < 1e-12 && (sq.slope.unwrap() - 2.0 * k1 * k1).abs() < 1e-7);
        // The ReLU Jacobian law has a limit too.
        let j =
            infinite_width_limit(&s, &xs(), &"jacobian_norm[0]".parse().unwrap(), "mean").unwrap();
        assert_eq!(j.kind, Kind::Exact);
    }

    /// Tanh with biases: the infinite-width theory; the kurtosis slope is n times the leading
    /// order, independent of the width it is computed at.
    #[test]
    fn tanh_infinite_width_limits() {
        let a = spec("tanh", 8, 4, 0.1);
        let b = spec("tanh", 64, 4, 0.1);
        let va =
            infinite_width_limit(&a, &xs(), &"output[0]".parse().unwrap(), "variance").unwrap();
        let vb =
            infinite_width_limit(&b, &xs(), &"output[0]".parse().unwrap(), "variance").unwrap();
        assert_eq!(va.kind, Kind::InfiniteWidth);
        assert_eq!(va.value, vb.value);
        assert_eq!(
            va.value,
            crate::predict_named(&a, &xs(), "output[0]", "variance")
                .unwrap()
                .value
        );
        let ka = infinite_width_limit(&a, &xs(), &"output[0]".parse().unwrap(), "kappa4").unwrap();
        let kb = infinite_width_limit(&b, &xs(), &"output[0]".parse().unwrap(), "kappa4").unwrap();
        assert_eq!(ka.value, 0.0);
        let (sa, sb) = (ka.slope.unwrap(), kb.slope.unwrap());
        assert!(sa > 0.0 && ((sa - sb) / sa).abs() < 1e-9, "{sa} {sb}");
        assert!(
            infinite_width_limit(&a, &xs(), &"ntk[0,0]".parse().unwrap(), "variance")
                .unwrap()
                .value
                == 0.0
        );
        assert!(infinite_width_limit(
            &a,
            &xs(),
            &"output[0]".parse().unwrap(),
            "relative_variance"
        )
        .is_none());
        assert!(infinite_width_limit(&a, &xs(), &"regions".parse().unwrap(), "mean").is_none());
        let rv = infinite_width_limit(&a, &xs(), &"ntk[0,0]".parse().unwrap(), "relative_variance")
            .unwrap();
        assert_eq!(rv.value, 0.0);
    }

    #[test]
    fn standard_ntk_has_no_limit() {
        let mut s = spec("relu", 16, 3, 0.0);
        s.parameterization = Parameterization::Standard;
        assert!(infinite_width_limit(&s, &xs(), &"ntk[0,0]".parse().unwrap(), "mean").is_none());
        assert!(
            infinite_width_limit(&s, &xs(), &"output[0]".parse().unwrap(), "variance").is_some()
        );
    }

    #[test]
    fn fixed_ratio_needs_a_constant_exact_law() {
        let specs = [spec("relu", 8, 2, 0.0), spec("relu", 16, 4, 0.0)];
        let v =
            fixed_ratio_limit(&specs, &xs(), &"output[0]".parse().unwrap(), "variance").unwrap();
        assert_eq!(v.slope, Some(0.0));
        assert!(fixed_ratio_limit(
            &specs,
            &xs(),
            &"output[0]".parse().unwrap(),
            "excess_kurtosis"
        )
        .is_none());
        let t = [spec("tanh", 8, 2, 0.1), spec("tanh", 16, 4, 0.1)];
        assert!(fixed_ratio_limit(&t, &xs(), &"output[0]".parse().unwrap(), "variance").is_none());
        assert_eq!(
            fixed_ratio_limit(&t, &xs(), &"output[0]".parse().unwrap(), "mean")
                .unwrap()
                .value,
            0.0
        );
    }
}

//! Pointwise activations and their derivatives, resolved per layer (shaped-relu depends on the
//! layer width, cubic on the depth). The WGSL twin is `shaders/activation.wgsl`.

use randnet_problem::{Activation, NetworkSpec};
// libm's erf (a port of musl/FreeBSD) is accurate to about 1 ulp; statrs' is off by ~1e-11.
use libm::erf;

const FRAC_1_SQRT_2: f64 = std::f64::consts::FRAC_1_SQRT_2;
const FRAC_2_SQRT_PI: f64 = std::f64::consts::FRAC_2_SQRT_PI;
/// 1/sqrt(2π)
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// An activation with its layer-dependent constants fixed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LayerActivation {
    /// Piecewise linear with slopes (positive side, negative side): relu, leaky, linear, shaped.
    Slopes(f64, f64),
    Tanh,
    Erf,
    Gelu,
    Swish,
    Sin,
    /// t + c t^3 with c = psi / L.
    Cubic(f64),
}

impl LayerActivation {
    /// The activation applied to the output of a layer of width `n` in a net of this spec.
    pub fn resolve(spec: &NetworkSpec, n: usize) -> Self {
        match spec.activation {
            Activation::Tanh => LayerActivation::Tanh,
            Activation::Erf => LayerActivation::Erf,
            Activation::Gelu => LayerActivation::Gelu,
            Activation::Swish => LayerActivation::Swish,
            Activation::Sin => LayerActivation::Sin,
            Activation::Cubic { psi } => LayerActivation::Cubic(psi / spec.depth().max(1) as f64),
            a => {
                let (p, m) = a.slopes(n).expect("piecewise-linear activation has slopes");
                LayerActivation::Slopes(p, m)
            }
        }
    }

    /// (sigma(t), sigma'(t)).
    #[inline(always)]
    pub fn eval(&self, t: f64) -> (f64, f64) {
        match *self {
            LayerActivation::Slopes(p, m) => {
                if t > 0.0 {
                    (p * t, p)
                } else {
                    (m * t, m)
                }
            }
            LayerActivation::Tanh => {
                let y = t.tanh();
                (y, 1.0 - y * y)
            }
            LayerActivation::Erf => (erf(t), FRAC_2_SQRT_PI * (-t * t).exp()),
            LayerActivation::Gelu => {
                let cdf = 0.5 * (1.0 + erf(t * FRAC_1_SQRT_2));
                let pdf = INV_SQRT_2PI * (-0.5 * t * t).exp();
                (t * cdf, cdf + t * pdf)
            }
            LayerActivation::Swish => {
                let s = 1.0 / (1.0 + (-t).exp());
                (t * s, s + t * s * (1.0 - s))
            }
            LayerActivation::Sin => t.sin_cos(),
            LayerActivation::Cubic(c) => (t + c * t * t * t, 1.0 + 3.0 * c * t * t),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        // Central differences with h = 1e-5 have error O(h^2 |sigma'''|) ≈ 1e-10; tolerance 1e-7.
        for act in [
            LayerActivation::Tanh,
            LayerActivation::Erf,
            LayerActivation::Gelu,
            LayerActivation::Swish,
            LayerActivation::Sin,
            LayerActivation::Cubic(0.1),
            LayerActivation::Slopes(1.2, 0.3),
        ] {
            for &t in &[-2.3, -0.4, 0.37, 1.9] {
                let h = 1e-5;
                let fd = (act.eval(t + h).0 - act.eval(t - h).0) / (2.0 * h);
                assert!((fd - act.eval(t).1).abs() < 1e-7, "{act:?} at {t}");
            }
        }
        // Phi(1) to 16 digits; libm's erf is good to ~1 ulp, so 1e-15 absolute.
        assert!((LayerActivation::Gelu.eval(1.0).0 - 0.841_344_746_068_542_9).abs() < 1e-15);
    }
}

// Pointwise activations and their derivatives in f32 (CPU twin: activation.rs, LayerActivation).
// act_eval(kind, p, m, t) = (sigma(t), sigma'(t)); p, m are the per-layer constants: the slopes
// (positive side, negative side) of the piecewise-linear family, or c = psi / L of the cubic.
// Transcendentals avoid the device's sin/cos/tanh (whose Vulkan accuracy is loose or undefined
// for large arguments) and keep relative accuracy ~1e-7 where the CPU twin is exact.
// The activation codes ACT_* come from the generated prelude (crates/sampler/src/gpu/
// wgsl_constants.rs, the codes the host sends).

const FRAC_2_SQRT_PI_F: f32 = 1.1283791670955126;
const FRAC_1_SQRT_2_F: f32 = 0.7071067811865476;
const INV_SQRT_2PI_F: f32 = 0.3989422804014327;

// erfc(z) for z >= 0: Numerical Recipes' Chebyshev fit (fractional error < 1.2e-7 everywhere).
fn erfc_nonneg(z: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * z);
    let p = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806
        + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
    return t * exp(-z * z + p);
}

fn erf_f32(x: f32) -> f32 {
    let ax = abs(x);
    if (ax < 0.5) {
        // Maclaurin series to x^13: truncation error < 2e-9 relative on |x| < 1/2.
        let x2 = x * x;
        return FRAC_2_SQRT_PI_F * x * (1.0 + x2 * (-1.0 / 3.0 + x2 * (1.0 / 10.0 + x2 * (-1.0 / 42.0
            + x2 * (1.0 / 216.0 + x2 * (-1.0 / 1320.0 + x2 * (1.0 / 9360.0)))))));
    }
    let y = 1.0 - erfc_nonneg(ax);
    return select(y, -y, x < 0.0);
}

// The standard normal CDF, with relative accuracy in the left tail (via erfc).
fn normal_cdf(t: f32) -> f32 {
    let z = -t * FRAC_1_SQRT_2_F;
    if (z >= 0.0) {
        return 0.5 * erfc_nonneg(z);
    }
    return 1.0 - 0.5 * erfc_nonneg(-z);
}

// (sin t, cos t) with Cody–Waite reduction by pi/2 (three-part constant; accurate for |t| < 1e5).
fn sincos_f32(t: f32) -> vec2<f32> {
    let kf = round(t * 0.6366197723675814);
    var r = t - kf * 1.5703125;
    r = r - kf * 4.837512969970703125e-4;
    r = r - kf * 7.54978995489188216e-8;
    let r2 = r * r;
    let s = r * (1.0 + r2 * (-1.0 / 6.0 + r2 * (1.0 / 120.0 + r2 * (-1.0 / 5040.0 + r2 * (1.0 / 362880.0)))));
    let c = 1.0 + r2 * (-0.5 + r2 * (1.0 / 24.0 + r2 * (-1.0 / 720.0 + r2 * (1.0 / 40320.0))));
    switch (u32(i32(kf)) & 3u) {
        case 0u: { return vec2<f32>(s, c); }
        case 1u: { return vec2<f32>(c, -s); }
        case 2u: { return vec2<f32>(-s, -c); }
        default: { return vec2<f32>(-c, s); }
    }
}

fn act_eval(kind: u32, p: f32, m: f32, t: f32) -> vec2<f32> {
    switch (kind) {
        case ACT_SLOPES: {
            if (t > 0.0) {
                return vec2<f32>(p * t, p);
            }
            return vec2<f32>(m * t, m);
        }
        case ACT_TANH: { // (1 - e) / (1 + e), e = exp(-2|t|) <= 1 never overflows;
            // sech^2 = 4e / (1 + e)^2 keeps relative accuracy where 1 - tanh^2 would cancel.
            let e = exp(-2.0 * abs(t));
            let a = (1.0 - e) / (1.0 + e);
            let y = select(a, -a, t < 0.0);
            let q = 1.0 + e;
            return vec2<f32>(y, 4.0 * e / (q * q));
        }
        case ACT_ERF: {
            return vec2<f32>(erf_f32(t), FRAC_2_SQRT_PI_F * exp(-t * t));
        }
        case ACT_GELU: { // t Phi(t) with the exact normal CDF
            let cdf = normal_cdf(t);
            let pdf = INV_SQRT_2PI_F * exp(-0.5 * t * t);
            return vec2<f32>(t * cdf, cdf + t * pdf);
        }
        case ACT_SWISH: {
            let s = 1.0 / (1.0 + exp(-t));
            return vec2<f32>(t * s, s + t * s * (1.0 - s));
        }
        case ACT_SIN: {
            return sincos_f32(t);
        }
        case ACT_CUBIC, default: { // t + c t^3, c = p
            return vec2<f32>(t + p * t * t * t, 1.0 + 3.0 * p * t * t);
        }
    }
}

//! Branch-free f64 `ln` and `sin/cos(2π u)` for the Box–Muller transform, written so that the
//! compiler vectorizes them over lanes (the normal transform is the CPU hot spot: docs/performance.md).
//!
//! Both are accurate to a few ulp (tests below hold them against std to 4e-16 relative), and use
//! only +, -, *, / and bit operations — no fused multiply-add — so every code path (scalar,
//! SSE2, AVX2) gives bitwise the same numbers, and so the same networks.
//!
//! - `ln(x)`: x = 2^e m with m in [sqrt(1/2), sqrt(2)); ln m = 2 atanh(s), s = (m-1)/(m+1),
//!   |s| <= 0.1716, by its Taylor series to s^21 (truncation < 3e-17 relative); then
//!   e ln2 (ln2 split in two parts, as in fdlibm's e_log.c) + ln m.
//! - `sincos_2pi(u)`: the quadrant q = round(4u) is removed exactly (u is a 24-bit fraction), so
//!   θ = 2π(u - q/4) lies in [-π/4, π/4]; sin and cos by Taylor series to θ^15 and θ^16
//!   (truncation < 1e-16), then rotated by q quarter turns.

const LN2_HI: f64 = 6.931_471_803_691_238_164_9e-1;
const LN2_LO: f64 = 1.908_214_929_270_587_700_02e-10;
const SQRT2: f64 = std::f64::consts::SQRT_2;
const TWO_PI: f64 = std::f64::consts::TAU;

/// Natural logarithm of a positive, normal, finite f64.
#[inline(always)]
pub fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & 0x000f_ffff_ffff_ffff) | 0x3ff0_0000_0000_0000);
    let big = m > SQRT2;
    let m = if big { m * 0.5 } else { m };
    let e = (if big { e + 1 } else { e }) as f64;
    let s = (m - 1.0) / (m + 1.0);
    let z = s * s;
    // 1 + z/3 + z^2/5 + ... + z^10/21 (Horner).
    let mut p = 1.0 / 21.0;
    p = p * z + 1.0 / 19.0;
    p = p * z + 1.0 / 17.0;
    p = p * z + 1.0 / 15.0;
    p = p * z + 1.0 / 13.0;
    p = p * z + 1.0 / 11.0;
    p = p * z + 1.0 / 9.0;
    p = p * z + 1.0 / 7.0;
    p = p * z + 1.0 / 5.0;
    p = p * z + 1.0 / 3.0;
    let lnm = 2.0 * s + 2.0 * s * z * p;
    e * LN2_HI + (e * LN2_LO + lnm)
}

/// (sin 2πu, cos 2πu) for u in [0, 1].
#[inline(always)]
pub fn sincos_2pi(u: f64) -> (f64, f64) {
    let qf = (u * 4.0 + 0.5).floor();
    sincos_2pi_quadrant(u, qf as u32)
}

/// (sin 2πu, cos 2πu) given q = round(4u) (computed by the caller, e.g. from integer bits).
#[inline(always)]
pub fn sincos_2pi_quadrant(u: f64, q: u32) -> (f64, f64) {
    let (s, c) = sincos_reduced(TWO_PI * (u - q as f64 * 0.25));
    // Rotate by q quarter turns: exact sign flips and swaps.
    let q = q & 3;
    let swap = q & 1 == 1;
    let (s1, c1) = if swap { (c, s) } else { (s, c) };
    let sin = if q == 2 || q == 3 { -s1 } else { s1 };
    let cos = if q == 1 || q == 2 { -c1 } else { c1 };
    (sin, cos)
}

/// (sin t, cos t) for |t| <= π/4 by Taylor polynomials (truncation < 1e-16).
#[inline(always)]
pub fn sincos_reduced(t: f64) -> (f64, f64) {
    let z = t * t;
    // sin t = t (1 - z/3! + z^2/5! - ... - z^7/15!)
    let mut sp = -1.0 / 1_307_674_368_000.0;
    sp = sp * z + 1.0 / 6_227_020_800.0;
    sp = sp * z - 1.0 / 39_916_800.0;
    sp = sp * z + 1.0 / 362_880.0;
    sp = sp * z - 1.0 / 5040.0;
    sp = sp * z + 1.0 / 120.0;
    sp = sp * z - 1.0 / 6.0;
    let s = t + t * z * sp;
    // cos t = 1 - z/2! + z^2/4! - ... + z^8/16!
    let mut cp = 1.0 / 20_922_789_888_000.0;
    cp = cp * z - 1.0 / 87_178_291_200.0;
    cp = cp * z + 1.0 / 479_001_600.0;
    cp = cp * z - 1.0 / 3_628_800.0;
    cp = cp * z + 1.0 / 40_320.0;
    cp = cp * z - 1.0 / 720.0;
    cp = cp * z + 1.0 / 24.0;
    cp = cp * z - 0.5;
    (s, 1.0 + z * cp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_matches_std() {
        // Relative error <= 4e-16 (about 2 ulp) over the uniforms the stream produces and beyond.
        let mut worst: f64 = 0.0;
        for k in (0..(1u32 << 24))
            .step_by(997)
            .chain([0, 1, 2, (1 << 24) - 1])
        {
            let u = (k as f64 + 0.5) / 16_777_216.0;
            for x in [u, u * 1e-300, u * 3.7e10, 1.0 + u] {
                let r = ((ln(x) - x.ln()) / x.ln()).abs();
                if x != 1.0 {
                    worst = worst.max(r);
                }
            }
        }
        assert!(worst < 4e-16, "worst relative error {worst}");
    }

    #[test]
    fn sincos_matches_std() {
        // Absolute error <= 1.5e-15: std's own argument 2πu is rounded (up to ~9e-16 absolute
        // for 2πu near 2π), ours is reduced exactly first, so most of the gap is std's.
        let mut worst: f64 = 0.0;
        for k in (0..(1u32 << 24))
            .step_by(331)
            .chain([0, 1, (1 << 24) - 1, 1 << 22, 1 << 23])
        {
            let u = (k as f64 + 0.5) / 16_777_216.0;
            let (s, c) = sincos_2pi(u);
            let (s0, c0) = (TWO_PI * u).sin_cos();
            worst = worst.max((s - s0).abs()).max((c - c0).abs());
        }
        assert!(worst < 1.5e-15, "worst absolute error {worst}");
    }
}

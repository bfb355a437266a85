// Philox words -> values of a weight law, in f32 (CPU twin: stream::{uniform, normals4, values4}).
// u = ((x >> 8) + 0.5) * 2^-24 = v / 2^25 with v = 2 (x >> 8) + 1 odd, v < 2^25.
// gaussian = Box–Muller on (u0, u1) and (u2, u3): r = sqrt(-2 ln u0), (r cos 2 pi u1, r sin 2 pi u1).
// Nothing here relies on the device's log/sin/cos (Vulkan only promises 2^-21 absolute for log
// near 1 and 2^-11 absolute for sin/cos): ln u is 2 atanh((u - 1)/(u + 1)) by its series, with
// u - 1 formed exactly from v (no cancellation near u = 1), and the angle 2 pi u is reduced
// exactly in integers to |t| <= pi/4 where Taylor polynomials give sin/cos to 3e-8. The values
// then agree with the f64 CPU twin to a few f32 ulps (tests/gpu_stream.rs).
// The law codes LAW_GAUSSIAN, LAW_UNIFORM, LAW_RADEMACHER come from the generated prelude
// (crates/sampler/src/gpu/wgsl_constants.rs).

const INV_2_25: f32 = 2.98023223876953125e-8; // 2^-25
const HALF_PI_OVER_2_23: f32 = 1.8725351e-7;    // (pi / 2) / 2^23

// u in (0, 1) as f32: (2 (x >> 8) + 1) / 2^25 (rounded to f32: relative error <= 2^-24).
fn uniform01(x: u32) -> f32 {
    return f32(((x >> 8u) << 1u) | 1u) * INV_2_25;
}

// (sin, cos)(2 pi u) for u = uniform01(x), with exact argument reduction.
fn sincos_2pi_u(x: u32) -> vec2<f32> {
    // 4u = m / 2^23 with m = 2 (x >> 8) + 1 odd, m < 2^25.
    let m = ((x >> 8u) << 1u) | 1u;
    let q = (m + (1u << 22u)) >> 23u;             // nearest quadrant, 0..4
    let r = i32(m) - i32(q << 23u);               // |r| <= 2^22, exact in f32
    let t = f32(r) * HALF_PI_OVER_2_23;            // |t| <= pi/4
    let t2 = t * t;
    let s = t * (1.0 + t2 * (-1.0 / 6.0 + t2 * (1.0 / 120.0 + t2 * (-1.0 / 5040.0 + t2 * (1.0 / 362880.0)))));
    let c = 1.0 + t2 * (-0.5 + t2 * (1.0 / 24.0 + t2 * (-1.0 / 720.0 + t2 * (1.0 / 40320.0))));
    switch (q & 3u) {
        case 0u: { return vec2<f32>(s, c); }
        case 1u: { return vec2<f32>(c, -s); }
        case 2u: { return vec2<f32>(-s, -c); }
        default: { return vec2<f32>(-c, s); }
    }
}

// 2 atanh(s) = ln((1 + s)/(1 - s)) for |s| <= 1/3: series to s^15 (truncation < 2e-9 relative).
fn two_atanh_small(s: f32) -> f32 {
    let s2 = s * s;
    return 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0
        + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 * (1.0 / 15.0))))))));
}

// ln u for u = uniform01(x), accurate to a few ulps over all of (0, 1).
fn ln_uniform(x: u32) -> f32 {
    let v = ((x >> 8u) << 1u) | 1u;
    if (v > (1u << 24u)) {
        // u > 1/2: u - 1 = -d / 2^25 and u + 1 = (2^26 - d) / 2^25 with d = 2^25 - v exact.
        let d = f32((1u << 25u) - v);
        return two_atanh_small(-d / (67108864.0 - d));
    }
    // u <= 1/2 is exact in f32: u = m 2^e with m in [1/2, 1), ln u = e ln 2 + ln m.
    let u = f32(v) * INV_2_25;
    let bits = bitcast<u32>(u);
    let e = i32(bits >> 23u) - 126;
    let m = bitcast<f32>((bits & 0x007FFFFFu) | 0x3F000000u);
    return f32(e) * 0.6931471805599453 + two_atanh_small((m - 1.0) / (m + 1.0));
}

fn normals4(x: vec4<u32>) -> vec4<f32> {
    let r0 = sqrt(-2.0 * ln_uniform(x.x));
    let a0 = sincos_2pi_u(x.y);
    let r1 = sqrt(-2.0 * ln_uniform(x.z));
    let a1 = sincos_2pi_u(x.w);
    return vec4<f32>(r0 * a0.y, r0 * a0.x, r1 * a1.y, r1 * a1.x);
}

// sqrt(3) (2u - 1) with 2u - 1 = (v - 2^24) / 2^24 formed exactly.
fn uniform_law1(x: u32) -> f32 {
    let v = ((x >> 8u) << 1u) | 1u;
    return 1.7320508075688772 * (f32(i32(v) - 16777216) * 5.9604644775390625e-8);
}

// -1 when u < 1/2, i.e. when the top bit of x is clear (exact, no rounding involved).
fn rademacher1(x: u32) -> f32 {
    return select(-1.0, 1.0, x >= 0x80000000u);
}

fn values4(law: u32, x: vec4<u32>) -> vec4<f32> {
    if (law == LAW_UNIFORM) {
        return vec4<f32>(uniform_law1(x.x), uniform_law1(x.y), uniform_law1(x.z), uniform_law1(x.w));
    }
    if (law == LAW_RADEMACHER) {
        return vec4<f32>(rademacher1(x.x), rademacher1(x.y), rademacher1(x.z), rademacher1(x.w));
    }
    return normals4(x);
}

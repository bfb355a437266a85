//! The WGSL random stream and activations against their CPU twins (docs/rng.md, docs/gpu.md).
//!
//! Philox words are integer arithmetic: they must agree exactly. Normals and the other weight
//! laws are f32 on the GPU and f64 on the CPU; they must agree to a few f32 ulps (stated below).
//! Every test skips (prints a message and returns) when the machine has no GPU adapter at all;
//! CI installs Mesa's lavapipe, so there they run.

#![cfg(feature = "gpu")]

use randnet_problem::WeightLaw;
use randnet_sampler::activation::LayerActivation;
use randnet_sampler::philox::{key_of_seed, philox4x32_10};
use randnet_sampler::stream::{network_key, normals4, tag, values4, Purpose};

mod common;
use common::ctx;

#[test]
fn random123_known_answers() {
    let Some(ctx) = ctx() else { return };
    let cases: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        (
            [0; 4],
            [0; 2],
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8],
        ),
        (
            [u32::MAX; 4],
            [u32::MAX; 2],
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd],
        ),
        (
            [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
            [0xa4093822, 0x299f31d0],
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1],
        ),
    ];
    for (ctr, key, want) in cases {
        let got = ctx.philox_probe(key, &[ctr]).unwrap();
        assert_eq!(got[0].words, want, "counter {ctr:x?} key {key:x?}");
    }
}

/// Counters of the real layout plus edge values, many keys: words equal bit for bit, values
/// within tolerance of the f64 twin.
#[test]
fn stream_matches_cpu_twin() {
    let Some(ctx) = ctx() else { return };
    let mut counters = Vec::new();
    for net in [0u32, 1, 7, 1000, u32::MAX] {
        for layer in [1u32, 2, 63] {
            for row in [0u32, 1, 255, 1023] {
                for block in 0..16u32 {
                    counters.push([net, tag(Purpose::Weight, layer), row, block]);
                }
            }
        }
        counters.push([net, tag(Purpose::Bias, 3), 0, 5]);
        counters.push([net, tag(Purpose::JacobianDirection, 0), 0, 2]);
    }
    // Pseudo-random counters over the whole u32 range.
    let mut s = 0x9e3779b97f4a7c15u64;
    for _ in 0..8192 {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let a = (s >> 32) as u32;
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let b = (s >> 32) as u32;
        counters.push([a, b, a.rotate_left(7) ^ b, b.wrapping_mul(3)]);
    }
    let mut worst = [0f64; 3];
    // Seeds as keys, and one key derived for networks beyond 2^32 (stream::network_key).
    let keys = [0u64, 42, 0xdead_beef_0123_4567, u64::MAX]
        .map(key_of_seed)
        .into_iter()
        .chain([network_key(42, (1 << 32) + 5)]);
    for (i, key) in keys.enumerate() {
        let got = ctx.philox_probe(key, &counters).unwrap();
        for (c, g) in counters.iter().zip(&got) {
            let x = philox4x32_10(*c, key);
            assert_eq!(g.words, x, "counter {c:x?} key {i} ({key:x?})");
            let n = normals4(x);
            let u = values4(WeightLaw::Uniform, x);
            let r = values4(WeightLaw::Rademacher, x);
            for e in 0..4 {
                // Normals: ln u, sqrt, sin/cos (own polynomials) and the product each add an f32
                // rounding: a few ulps, ~2.4e-7 relative seen on lavapipe; allow 1e-6 * max(1, |v|).
                let en = (g.gaussian[e] as f64 - n[e]).abs();
                assert!(
                    en <= 1e-6 * n[e].abs().max(1.0),
                    "gaussian {} vs {} (counter {c:x?})",
                    g.gaussian[e],
                    n[e]
                );
                worst[0] = worst[0].max(en / n[e].abs().max(1.0));
                // Uniform: one f32 rounding of sqrt(3) (2u - 1) (the rest is exact): <= 1.2e-7.
                let eu = (g.uniform[e] as f64 - u[e]).abs();
                assert!(eu <= 2.5e-7, "uniform {} vs {}", g.uniform[e], u[e]);
                worst[1] = worst[1].max(eu);
                // Rademacher is decided on an integer bit: exact.
                assert_eq!(g.rademacher[e] as f64, r[e]);
            }
        }
    }
    eprintln!(
        "worst gaussian error {:.2e} (relative to max(1,|v|)), uniform {:.2e}",
        worst[0], worst[1]
    );
}

/// Small and extreme uniforms: u = 2^-25 (the largest normal), u near 1 (the smallest).
#[test]
fn box_muller_extremes() {
    let Some(ctx) = ctx() else { return };
    // Counters whose first or third word gives u within 16 cells of 0 or of 1 (the radius
    // sqrt(-2 ln u) is most sensitive there).
    let key = key_of_seed(3);
    let mut counters = Vec::new();
    let mut i = 0u32;
    while counters.len() < 64 && i < 20_000_000 {
        let x = philox4x32_10([i, 0, 0, 0], key);
        if x[0] >> 8 >= 0x00ff_fff0 || x[0] >> 8 <= 0x10 || x[2] >> 8 >= 0x00ff_fff0 {
            counters.push([i, 0, 0, 0]);
        }
        i += 1;
    }
    let got = ctx.philox_probe(key, &counters).unwrap();
    for (c, g) in counters.iter().zip(&got) {
        let n = normals4(philox4x32_10(*c, key));
        for (&gv, &cv) in g.gaussian.iter().zip(&n) {
            let err = (gv as f64 - cv).abs();
            assert!(
                err <= 1e-6 * cv.abs().max(1.0),
                "gaussian {gv} vs {cv} (counter {c:x?})"
            );
        }
    }
}

#[test]
fn activations_match_cpu_twin() {
    let Some(ctx) = ctx() else { return };
    let mut ts: Vec<f32> = (-400..=400).map(|i| i as f32 * 0.0173).collect();
    ts.extend([
        0.0, -0.0, 1e-6, -1e-6, 1e-3, 0.4999, 0.5001, -20.0, 20.0, 60.0, -60.0, 100.0, -100.0,
    ]);
    ts.extend([3.0e3, -1.234e4]);
    let acts = [
        LayerActivation::Slopes(1.0, 0.0),
        LayerActivation::Slopes(1.0, 0.2),
        LayerActivation::Slopes(1.1, 0.9),
        LayerActivation::Tanh,
        LayerActivation::Erf,
        LayerActivation::Gelu,
        LayerActivation::Swish,
        LayerActivation::Sin,
        LayerActivation::Cubic(-0.05),
    ];
    for act in acts {
        let got = ctx.activation_probe(act, &ts).unwrap();
        for (&t, &(y, dy)) in ts.iter().zip(&got) {
            let (cy, cdy) = act.eval(t as f64);
            // f32 evaluation: relative 1e-6 (1 + t^2) of the value, or 2e-7 absolute. The t^2:
            // exp(-t^2) (erf', gelu) and exp(-2|t|) (tanh') inherit the rounding of their
            // argument times its size, and devices' exp is approximate (NVIDIA: ex2.approx).
            // sin at |t| ~ 1e4 loses log2(|t|) bits to the argument's own f32 rounding.
            let scale_t = if matches!(act, LayerActivation::Sin) {
                (t.abs() as f64 * 3e-8).max(0.0)
            } else {
                0.0
            };
            // The cubic t + c t^3 cancels between its terms: error relative to |t| + |c t^3|.
            let cancel = match act {
                LayerActivation::Cubic(c) => {
                    (t.abs() as f64) * (1.0 + 3.0 * (c * t as f64 * t as f64).abs())
                }
                _ => 0.0,
            };
            let t2 = (t as f64) * (t as f64);
            let tol = |c: f64| 1e-6 * (1.0 + t2.min(100.0)) * (c.abs() + cancel) + 2e-7 + scale_t;
            assert!(
                (y as f64 - cy).abs() <= tol(cy),
                "{act:?}({t}) = {y}, cpu {cy}"
            );
            assert!(
                (dy as f64 - cdy).abs() <= tol(cdy),
                "{act:?}'({t}) = {dy}, cpu {cdy}"
            );
        }
    }
}

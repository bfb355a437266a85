//! Networks beyond 2^32 (docs/rng.md, "Networks beyond 2^32"): per-network values of the CPU
//! engines for a tiny net. Network 3's values were captured, bit for bit, from the code before
//! networks beyond 2^32 got keys of their own, and must never change; network 2^32 + 3 then
//! repeated network 3 exactly (the bug), and now differs in every value. Its new values are
//! pinned too.

use randnet_problem::{Curve, Family, InputSpec, NetworkSpec, Observe};
use randnet_sampler::inputs::resolve_inputs;
use randnet_sampler::{BatchSampler, CpuDense, CpuGeometry, CpuMatrixFree, Problem};

const SEED: u64 = 0x5EED_0000_0000_002A;
const LOW: u64 = 3;
const HIGH: u64 = (1 << 32) + 3;

/// 3 -> 5 -> 4 -> 1 with bias (C_b = 0.1), K = 2 inputs drawn from the seed.
fn problem(act: &str, observe: Observe) -> Problem {
    let spec = NetworkSpec::builder(3, vec![5, 4])
        .activation(act.parse().unwrap())
        .cb(0.1)
        .build()
        .unwrap();
    Problem {
        inputs: resolve_inputs(&InputSpec::Random { count: 2 }, 3, SEED),
        spec,
        observe,
        seed: SEED,
    }
}

/// output[0..2], ntk[0,0], ntk[0,1], ntk[1,1], sqnorm[1..=3, 0..2], jacobian_norm[0..2].
const ALL: Observe = Observe::NONE
    .with(Family::Output)
    .with(Family::Ntk)
    .with(Family::Sqnorm)
    .with(Family::JacobianNorm);

fn values(sampler: &mut dyn BatchSampler, net: u64) -> Vec<u64> {
    let mut out = vec![0.0; sampler.n_values()];
    sampler.sample_batch(net, 1, &mut out).unwrap();
    out.iter().map(|v| v.to_bits()).collect()
}

/// Network 3 bitwise as before; network 2^32 + 3 pinned and different in every value.
fn check(sampler: &mut dyn BatchSampler, low: &[u64], high: &[u64], what: &str) {
    let l = values(sampler, LOW);
    let h = values(sampler, HIGH);
    assert_eq!(l, low, "{what}: network 3 changed");
    assert_eq!(h, high, "{what}: network 2^32 + 3 changed");
    for (v, (a, b)) in l.iter().zip(&h).enumerate() {
        assert_ne!(
            a, b,
            "{what}: value {v} of network 2^32 + 3 repeats network 3"
        );
    }
}

#[test]
fn dense_beyond_2_pow_32() {
    let mut e = CpuDense::new(&problem("tanh", ALL)).unwrap();
    check(
        &mut e,
        &[
            0x3fd709d6b24ee770,
            0x3fd0b35812c723ca,
            0x3ff9848e6496f058,
            0x3feb4d883ffc7848,
            0x40046761b779ce46,
            0x3fe2aed3e8d5c566,
            0x3fef018b4a0524c5,
            0x3fd4d7bf02ca8853,
            0x3fde849426337e23,
            0x3fc09627a6b62dd4,
            0x3fb16e8a6a173df9,
            0x3fc628d318b23c86,
            0x3fdeb3e9270ff31c,
        ],
        &[
            0xbfe22cabb6306cdc,
            0xbfdf56b8f1e6c35e,
            0x3fe0ec6e7eb9ac0e,
            0x3fdc5fda74407b38,
            0x3fe0788533d8afb3,
            0x3ff3aa78cbf3eccc,
            0x3ff56a5736cd82da,
            0x3feb63ebe4dc6942,
            0x3fd837b030b65d23,
            0x3fd4a4ff1189cdab,
            0x3fceb0f15af037e3,
            0x3fb0f0cf2f565fd6,
            0x3fa92e303c887dc0,
        ],
        "dense",
    );
}

#[test]
fn matrix_free_beyond_2_pow_32() {
    let mut e = CpuMatrixFree::new(&problem("tanh", ALL)).unwrap();
    check(
        &mut e,
        &[
            0xbfb9fd134c747d2b,
            0xbfd61ff9cffcbf32,
            0x3ffca7791acc573e,
            0x3ff44cd3dacdb8e6,
            0x3ffad353b71b7586,
            0x3fde6d014e815aea,
            0x3fd4cb88f203e0ef,
            0x3ffa0062f790ade6,
            0x3fe1ef882ff54e48,
            0x3f851b3fa0aa990f,
            0x3fbe982ee3396559,
            0x3fd808bf4d279c1c,
            0x3fca944a3b208894,
        ],
        &[
            0x3fd1f3b11a934526,
            0x3ffa29911c2fa473,
            0x40094f43e1bb3e49,
            0x3fe11c1f4a05a32b,
            0x3fef89605cb0e256,
            0x3fffb185d5ef71ed,
            0x3fe7f7b1fc615e9e,
            0x3fe953583c6307dd,
            0x3fee3c686084d05d,
            0x3fb42457f3a8886c,
            0x400563c1cc37acd9,
            0x3ff06579f3de1104,
            0x3fc510414185a70c,
        ],
        "matrix-free",
    );
}

#[test]
fn geometry_beyond_2_pow_32() {
    let geo = Observe::NONE
        .with(Family::LengthDistortion)
        .with(Family::Regions)
        .on_curve(Curve::Segment);
    let mut e = CpuGeometry::new(&problem("relu", geo)).unwrap();
    // length_distortion, regions (5 and 3 linear pieces).
    check(
        &mut e,
        &[0x3fb00987e8b17734, 0x4014000000000000],
        &[0x3fdaca9782ee9167, 0x4008000000000000],
        "geometry",
    );
}

/// A batch across 2^32 gives every network the values it has alone, and networks 2^32 + i
/// differ from networks i (each engine, every value of the output).
#[test]
fn batches_across_2_pow_32() {
    let p = problem("tanh", ALL);
    let engines: Vec<(&str, Box<dyn BatchSampler>)> = vec![
        ("dense", Box::new(CpuDense::new(&p).unwrap())),
        ("matrix-free", Box::new(CpuMatrixFree::new(&p).unwrap())),
    ];
    for (what, mut e) in engines {
        let d = e.n_values();
        let (start, count) = ((1u64 << 32) - 4, 9usize);
        let mut batch = vec![0.0; count * d];
        e.sample_batch(start, count, &mut batch).unwrap();
        for i in 0..count {
            let net = start + i as u64;
            let alone: Vec<f64> = values(e.as_mut(), net)
                .into_iter()
                .map(f64::from_bits)
                .collect();
            assert_eq!(
                &batch[i * d..(i + 1) * d],
                &alone[..],
                "{what}: network {net}"
            );
            let wrapped = values(e.as_mut(), net & 0xFFFF_FFFF);
            if net >= 1 << 32 {
                assert_ne!(
                    values(e.as_mut(), net)[0],
                    wrapped[0],
                    "{what}: network {net} repeats network {}",
                    net & 0xFFFF_FFFF
                );
            }
        }
    }
}

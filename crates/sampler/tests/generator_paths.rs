//! Every build of the Gaussian fill this CPU runs (scalar, AVX2, AVX-512) gives bitwise the same
//! values on long rows of many streams, and the matrix-free engine's rows do not depend on the
//! path either (the stream is public API: docs/rng.md).

use randnet_sampler::stream::{fill_gauss_on, GeneratorPath};

/// 200 rows of lengths 1..4099 (every remainder of the 32-value lane batch and the 4-value
/// block), keys and counters spread over their ranges: each available path equals the scalar
/// path bit for bit.
#[test]
fn every_generator_path_gives_the_same_bits() {
    let paths: Vec<GeneratorPath> = [GeneratorPath::Avx2, GeneratorPath::Avx512]
        .into_iter()
        .filter(|p| p.available())
        .collect();
    eprintln!(
        "paths checked against scalar: {:?} (current {})",
        paths,
        GeneratorPath::current().name()
    );
    let mut compared = 0usize;
    for i in 0..200u32 {
        let len = (1 + i as usize * 37) % 4099 + 1;
        let key = [i.wrapping_mul(0x9E37_79B9), !i];
        let (c0, c1, row) = (
            i.wrapping_mul(7919),
            0x8000_0000 | i,
            i.wrapping_mul(104_729),
        );
        let mut want = vec![0.0; len];
        fill_gauss_on(GeneratorPath::Scalar, key, c0, c1, row, &mut want);
        for &p in &paths {
            let mut got = vec![0.0; len];
            fill_gauss_on(p, key, c0, c1, row, &mut got);
            assert!(
                want.iter()
                    .zip(&got)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "{} differs from scalar on row {i} (length {len})",
                p.name()
            );
            compared += len;
        }
    }
    assert!(paths.is_empty() || compared > 100_000);
}

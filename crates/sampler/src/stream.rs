//! The random streams of randnet: which Philox counter names which random number
//! (written out in docs/rng.md). This layout is public API: changing it changes every
//! network a seed draws, and the value-stability tests below must then be updated and the change
//! announced in docs/rng.md.
//!
//! Counter words: `[c0, c1, c2, c3]` =
//! `[network index mod 2^32, purpose << 24 | layer, row, column / 4]`, key = [`network_key`]
//! (the 64-bit seed for networks below 2^32, a key derived from the seed and the network's high
//! word beyond: see [`network_key`] and docs/rng.md, "Networks beyond 2^32"). Drawn inputs
//! (purpose `Input`) have word c0 = the input index and the seed itself as key.
//! One Philox call gives four u32 words x_0..x_3, turned into uniforms
//! `u_i = ((x_i >> 8) + 0.5) * 2^-24` in (0, 1) and then into values of the requested law:
//! - gaussian: Box–Muller on the pairs (u_0, u_1) and (u_2, u_3):
//!   `r sqrt(-2 ln u_0) cos(2π u_1)`, `sqrt(-2 ln u_0) sin(2π u_1)`, the same for (u_2, u_3);
//! - uniform: `sqrt(3) (2 u_i - 1)`;  rademacher: `-1` if `u_i < 1/2` else `+1`.
//!
//! Element `j` of a row is value `j % 4` of the call with column block `j / 4`; the values of a
//! last partial block beyond the row's end are never used.

use crate::fastmath;
use crate::philox::{key_of_seed, philox4x32_10};
use randnet_problem::WeightLaw;

/// What a counter draws (bits 24..31 of word c1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum Purpose {
    /// Standardized weights Ŵ^l: row = output unit, column = input unit.
    Weight = 1,
    /// Standardized biases β^l: row 0, column = unit.
    Bias = 2,
    /// The Jacobian direction u of a network (layer 0, row 0, column = input coordinate).
    JacobianDirection = 3,
    /// Drawn inputs: word c0 is the input index a (not a network), row 0, column = coordinate.
    Input = 4,
    /// Matrix-free engine, forward factor Z^l (row = output unit, column = sample column).
    MatrixFreeForward = 5,
    /// Matrix-free engine, backward factor G^l (row = input unit, column = delta column).
    MatrixFreeBackward = 6,
    /// The K-frame of `lyapunov:K` (layer 0, row = frame column j, column = input coordinate),
    /// orthonormalized by Gram–Schmidt (docs/rng.md).
    LyapunovFrame = 7,
}

/// Word c1 of a counter.
#[inline(always)]
pub fn tag(purpose: Purpose, layer: u32) -> u32 {
    debug_assert!(layer < (1 << 24));
    ((purpose as u32) << 24) | layer
}

/// Word c1 of the key-derivation counter `[hi, KEY_DERIVATION_TAG, 0, 0]` (see [`network_key`]):
/// purpose 0xFF, layer 0. No stream uses it: every other c1 is `purpose << 24 | layer` with a
/// [`Purpose`] in 1..=7 (top byte 1..=7, never 0xFF), and `layer < 2^24` so that the layer cannot
/// reach the purpose byte ([`tag`] asserts it; `Problem::validate` refuses a depth + 1 >= 2^24).
/// So under the seed's own key the derivation blocks are never values of any stream.
pub const KEY_DERIVATION_TAG: u32 = 0xFF << 24;

/// The Philox key of network `network` under `seed`: the one place where a network's key is made
/// (every CPU engine, and the GPU hosts once per dispatch chunk).
///
/// Write `network = hi * 2^32 + lo`; word c0 of the network's counters is `lo`
/// ([`network_counter`]). For `hi = 0` the key is the seed itself (low word first), as it has
/// always been, so no network below 2^32 changes. For `hi > 0` the key is derived: the first two
/// output words of `philox4x32_10([hi, KEY_DERIVATION_TAG, 0, 0], seed)`. A pseudo-random function
/// of (seed, hi): two different (seed, hi) pairs share a key with probability ~2^-64, and networks
/// with different `hi` then draw from unrelated streams.
#[inline]
pub fn network_key(seed: u64, network: u64) -> [u32; 2] {
    let key = key_of_seed(seed);
    let hi = (network >> 32) as u32;
    if hi == 0 {
        return key;
    }
    let x = philox4x32_10([hi, KEY_DERIVATION_TAG, 0, 0], key);
    [x[0], x[1]]
}

/// Word c0 of network `network`'s counters: its low 32 bits (the high ones are in the key).
#[inline(always)]
pub fn network_counter(network: u64) -> u32 {
    network as u32
}

/// (key, word c0) of network `network` under `seed`: [`network_key`] and [`network_counter`].
#[inline]
pub fn network_stream(seed: u64, network: u64) -> ([u32; 2], u32) {
    (network_key(seed, network), network_counter(network))
}

/// How many networks from `start` on share `start`'s key: those up to the next multiple of 2^32
/// (at least 1, at most 2^32). A GPU dispatch chunk, which has one key and counts its networks
/// in 32-bit c0 words, never holds more than this many.
#[inline]
pub fn networks_sharing_key(start: u64) -> u64 {
    (1u64 << 32) - (start & 0xFFFF_FFFF)
}

const TWO_PI: f64 = std::f64::consts::TAU;
const INV_2_24: f64 = 1.0 / 16_777_216.0;

/// The uniform in (0, 1) of one Philox output word: 24 bits, centred in its cell.
#[inline(always)]
pub fn uniform(x: u32) -> f64 {
    ((x >> 8) as f64 + 0.5) * INV_2_24
}

/// Box–Muller radius sqrt(-2 ln u) of one word.
#[inline(always)]
fn radius(x: u32) -> f64 {
    (-2.0 * fastmath::ln(uniform(x))).sqrt()
}

/// (sin 2πu, cos 2πu) of one word; the quadrant round(4u) = ((x >> 8) + 2^21) >> 22 exactly.
#[inline(always)]
fn angle(x: u32) -> (f64, f64) {
    fastmath::sincos_2pi_quadrant(uniform(x), ((x >> 8) + (1 << 21)) >> 22)
}

/// The four standard normals of one Philox block (Box–Muller on (u0,u1) and (u2,u3)).
#[inline(always)]
pub fn normals4(x: [u32; 4]) -> [f64; 4] {
    let r0 = radius(x[0]);
    let (s0, c0) = angle(x[1]);
    let r1 = radius(x[2]);
    let (s1, c1) = angle(x[3]);
    [r0 * c0, r0 * s0, r1 * c1, r1 * s1]
}

/// Blocks per lane batch of the Gaussian fill (vectorized over blocks): the scalar build's, and
/// the tail of the wider ones.
const LANES: usize = 8;
/// Blocks per batch of the AVX2 and AVX-512 builds: four independent 4- or 8-lane vectors per
/// operation, so that each one's latency (the divide and square root of Box–Muller above all)
/// hides behind the others'. Measured best on Zen 4 (best-of-4000 rows, normals/s per thread:
/// AVX2 2.8e8 at 8 blocks, 3.2e8 at 16, 2.9e8 at 32; AVX-512 4.1e8 at 8, 4.6e8 at 16, 4.8e8 at
/// 32; docs/performance.md). Every block goes through the same operations whatever the batch,
/// so the batch never changes a bit (crates/sampler/tests/generator_paths.rs).
const LANES_AVX2: usize = 16;
const LANES_AVX512: usize = 32;

/// Gaussian values of `N` consecutive blocks starting at `block`, laid out as a row.
/// Written lane-parallel (structure of arrays, selects as bit masks) so that it vectorizes; it
/// computes exactly what `normals4` computes, block by block (a test holds them bitwise equal).
#[inline(always)]
fn gauss_lanes<const N: usize>(
    key: [u32; 2],
    c0: u32,
    c1: u32,
    row: u32,
    block: u32,
    out: &mut [f64],
) {
    // Philox4x32-10 on u64 lanes holding u32 values (the multiply is 32 x 32 -> 64 bits).
    let mut x0 = [c0 as u64; N];
    let mut x1 = [c1 as u64; N];
    let mut x2 = [row as u64; N];
    let mut x3 = [0u64; N];
    for (i, v) in x3.iter_mut().enumerate() {
        *v = block.wrapping_add(i as u32) as u64;
    }
    let (mut k0, mut k1) = (key[0], key[1]);
    for round in 0..10 {
        if round > 0 {
            k0 = k0.wrapping_add(0x9E37_79B9);
            k1 = k1.wrapping_add(0xBB67_AE85);
        }
        for i in 0..N {
            let p0 = 0xD251_1F53u64 * x0[i];
            let p1 = 0xCD9E_8D57u64 * x2[i];
            let n0 = (p1 >> 32) ^ x1[i] ^ k0 as u64;
            let n2 = (p0 >> 32) ^ x3[i] ^ k1 as u64;
            x1[i] = p1 & 0xffff_ffff;
            x3[i] = p0 & 0xffff_ffff;
            x0[i] = n0;
            x2[i] = n2;
        }
    }
    let mut r0 = [0.0; N];
    let mut r1 = [0.0; N];
    for i in 0..N {
        r0[i] = radius(x0[i] as u32);
        r1[i] = radius(x2[i] as u32);
    }
    let (s0, co0) = angles_lanes(&x1);
    let (s1, co1) = angles_lanes(&x3);
    let out = &mut out[..4 * N];
    for i in 0..N {
        out[4 * i] = r0[i] * co0[i];
        out[4 * i + 1] = r0[i] * s0[i];
        out[4 * i + 2] = r1[i] * co1[i];
        out[4 * i + 3] = r1[i] * s1[i];
    }
}

/// Lane-parallel `angle`: the same operations as `fastmath::sincos_2pi_quadrant`.
#[inline(always)]
fn angles_lanes<const N: usize>(x: &[u64; N]) -> ([f64; N], [f64; N]) {
    let mut sin = [0.0; N];
    let mut cos = [0.0; N];
    for i in 0..N {
        let m = x[i] >> 8;
        let q = (m + (1 << 21)) >> 22;
        let u = (m as f64 + 0.5) * INV_2_24;
        let (s, c) = fastmath::sincos_reduced(TWO_PI * (u - q as f64 * 0.25));
        // Rotate by q quarter turns with bit operations (exact, branch-free).
        let swap = 0u64.wrapping_sub(q & 1);
        let (sb, cb) = (s.to_bits(), c.to_bits());
        let s1 = (cb & swap) | (sb & !swap);
        let c1 = (sb & swap) | (cb & !swap);
        let sin_neg = ((q >> 1) & 1) << 63;
        let cos_neg = ((q ^ (q >> 1)) & 1) << 63;
        sin[i] = f64::from_bits(s1 ^ sin_neg);
        cos[i] = f64::from_bits(c1 ^ cos_neg);
    }
    (sin, cos)
}

#[inline(always)]
fn fill_gauss_body<const N: usize>(key: [u32; 2], c0: u32, c1: u32, row: u32, out: &mut [f64]) {
    let mut chunks = out.chunks_exact_mut(4 * N);
    let mut block = 0u32;
    for chunk in &mut chunks {
        gauss_lanes::<N>(key, c0, c1, row, block, chunk);
        block += N as u32;
    }
    let mut rest = chunks.into_remainder();
    if N > LANES {
        let mut half = rest.chunks_exact_mut(4 * LANES);
        for chunk in &mut half {
            gauss_lanes::<LANES>(key, c0, c1, row, block, chunk);
            block += LANES as u32;
        }
        rest = half.into_remainder();
    }
    let mut rest_chunks = rest.chunks_mut(4);
    for chunk in &mut rest_chunks {
        let v = normals4(philox4x32_10([c0, c1, row, block], key));
        let n = chunk.len();
        chunk.copy_from_slice(&v[..n]);
        block += 1;
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn fill_gauss_avx2(key: [u32; 2], c0: u32, c1: u32, row: u32, out: &mut [f64]) {
    fill_gauss_body::<LANES_AVX2>(key, c0, c1, row, out)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
unsafe fn fill_gauss_avx512(key: [u32; 2], c0: u32, c1: u32, row: u32, out: &mut [f64]) {
    fill_gauss_body::<LANES_AVX512>(key, c0, c1, row, out)
}

/// Which build of the Gaussian fill runs: the same code compiled for the scalar baseline, AVX2
/// or AVX-512 (the same bits on every path: no fused multiply-adds anywhere, see `fastmath`;
/// crates/sampler/tests/generator_paths.rs holds them equal bit for bit).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeneratorPath {
    Scalar,
    Avx2,
    Avx512,
}

impl GeneratorPath {
    pub fn name(self) -> &'static str {
        match self {
            GeneratorPath::Scalar => "scalar",
            GeneratorPath::Avx2 => "avx2",
            GeneratorPath::Avx512 => "avx512",
        }
    }

    /// True when this CPU can run the path.
    pub fn available(self) -> bool {
        match self {
            GeneratorPath::Scalar => true,
            #[cfg(target_arch = "x86_64")]
            GeneratorPath::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(target_arch = "x86_64")]
            GeneratorPath::Avx512 => {
                std::arch::is_x86_feature_detected!("avx512f")
                    && std::arch::is_x86_feature_detected!("avx512dq")
                    && std::arch::is_x86_feature_detected!("avx512vl")
                    && std::arch::is_x86_feature_detected!("avx512bw")
            }
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The path in use: the widest this CPU runs, or `RANDNET_GENERATOR=scalar|avx2|avx512`
    /// (for benchmarks; a path the CPU lacks, or another value, falls back to the widest).
    pub fn current() -> GeneratorPath {
        static PATH: std::sync::OnceLock<GeneratorPath> = std::sync::OnceLock::new();
        *PATH.get_or_init(|| {
            let widest = [GeneratorPath::Avx512, GeneratorPath::Avx2]
                .into_iter()
                .find(|p| p.available())
                .unwrap_or(GeneratorPath::Scalar);
            match std::env::var("RANDNET_GENERATOR").ok().as_deref() {
                Some("scalar") => GeneratorPath::Scalar,
                Some("avx2") if GeneratorPath::Avx2.available() => GeneratorPath::Avx2,
                Some("avx512") if GeneratorPath::Avx512.available() => GeneratorPath::Avx512,
                _ => widest,
            }
        })
    }
}

/// The Gaussian row fill on a given path (tests hold the paths equal); `path` must be
/// [`GeneratorPath::available`] (an unavailable one runs the scalar build).
#[doc(hidden)]
pub fn fill_gauss_on(
    path: GeneratorPath,
    key: [u32; 2],
    c0: u32,
    c1: u32,
    row: u32,
    out: &mut [f64],
) {
    #[cfg(target_arch = "x86_64")]
    if path.available() {
        match path {
            // SAFETY: the CPU supports the path's features (`available`, checked just above).
            GeneratorPath::Avx512 => return unsafe { fill_gauss_avx512(key, c0, c1, row, out) },
            GeneratorPath::Avx2 => return unsafe { fill_gauss_avx2(key, c0, c1, row, out) },
            GeneratorPath::Scalar => {}
        }
    }
    fill_gauss_body::<LANES>(key, c0, c1, row, out)
}

/// Gaussian row fill on the widest path this CPU has ([`GeneratorPath::current`]).
#[inline]
fn fill_gauss(key: [u32; 2], c0: u32, c1: u32, row: u32, out: &mut [f64]) {
    fill_gauss_on(GeneratorPath::current(), key, c0, c1, row, out)
}

/// The four values of one Philox block under a weight law (each with mean 0, variance 1).
#[inline(always)]
pub fn values4(law: WeightLaw, x: [u32; 4]) -> [f64; 4] {
    match law {
        WeightLaw::Gaussian => normals4(x),
        WeightLaw::Uniform => x.map(|w| 3f64.sqrt() * (2.0 * uniform(w) - 1.0)),
        WeightLaw::Rademacher => x.map(|w| if uniform(w) < 0.5 { -1.0 } else { 1.0 }),
    }
}

/// Fills `out` with row `row` of the stream `(c0, c1)`: element j from column block j / 4.
#[inline]
pub fn fill_row(key: [u32; 2], c0: u32, c1: u32, row: u32, law: WeightLaw, out: &mut [f64]) {
    if law == WeightLaw::Gaussian {
        return fill_gauss(key, c0, c1, row, out);
    }
    let mut chunks = out.chunks_exact_mut(4);
    let mut block = 0u32;
    for chunk in &mut chunks {
        let v = values4(law, philox4x32_10([c0, c1, row, block], key));
        chunk.copy_from_slice(&v);
        block += 1;
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let v = values4(law, philox4x32_10([c0, c1, row, block], key));
        let n = rest.len();
        rest.copy_from_slice(&v[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::philox::key_of_seed;

    /// Value stability: the first weights of seed 42, network 0, layer 1. If this test fails the
    /// stream changed: that is a breaking change to be announced in docs/rng.md.
    #[test]
    fn weight_stream_is_stable() {
        let mut row = [0.0; 6];
        fill_row(
            key_of_seed(42),
            0,
            tag(Purpose::Weight, 1),
            0,
            WeightLaw::Gaussian,
            &mut row,
        );
        // Recomputed by hand from the Philox words (see the uniform/normal formulas above);
        // the check is on the formula, the pinned words are in `pinned_words`.
        let x = philox4x32_10([0, tag(Purpose::Weight, 1), 0, 0], key_of_seed(42));
        let u: Vec<f64> = x
            .iter()
            .map(|&w| ((w >> 8) as f64 + 0.5) / 16_777_216.0)
            .collect();
        // std's ln/sin/cos against the stream's own (fastmath): a few ulp apart.
        let r = (-2.0 * u[0].ln()).sqrt();
        assert!((row[0] - r * (TWO_PI * u[1]).cos()).abs() < 1e-14);
        assert!((row[1] - r * (TWO_PI * u[1]).sin()).abs() < 1e-14);
        let x1 = philox4x32_10([0, tag(Purpose::Weight, 1), 0, 1], key_of_seed(42));
        assert_eq!(row[4], normals4(x1)[0]);
        assert_eq!(row[5], normals4(x1)[1]);
        // The lane-batched fill equals block-by-block normals4, bit for bit, at every length.
        for len in [1usize, 3, 4, 31, 32, 33, 64, 100, 257] {
            let mut v = vec![0.0; len];
            fill_row(
                key_of_seed(9),
                4,
                tag(Purpose::Weight, 2),
                3,
                WeightLaw::Gaussian,
                &mut v,
            );
            for (j, &val) in v.iter().enumerate() {
                let b = philox4x32_10(
                    [4, tag(Purpose::Weight, 2), 3, (j / 4) as u32],
                    key_of_seed(9),
                );
                assert_eq!(val, normals4(b)[j % 4], "len {len} j {j}");
            }
        }
    }

    #[test]
    fn pinned_words() {
        // Pinned output of the stream: seed 42, network 7, weights of layer 3, row 5, block 2.
        let x = philox4x32_10([7, tag(Purpose::Weight, 3), 5, 2], key_of_seed(42));
        let n = normals4(x);
        let pinned = [
            PINNED_WORDS[0],
            PINNED_WORDS[1],
            PINNED_WORDS[2],
            PINNED_WORDS[3],
        ];
        assert_eq!(x, pinned);
        for (v, p) in n.iter().zip(PINNED_NORMALS) {
            assert!((v - p).abs() < 1e-12, "{v} vs {p}");
        }
    }

    // Words generated once by this implementation (after the Random123 vectors passed) and
    // frozen; the normals were computed from those words independently, in Python's math module.
    const PINNED_WORDS: [u32; 4] = [0x176ed048, 0x231b569b, 0x786e4d81, 0x911071c0];
    const PINNED_NORMALS: [f64; 4] = [
        1.4240106825107137,
        1.6595990717436273,
        -1.1219451635700297,
        -0.49944183570126044,
    ];

    /// The seed of the "Networks beyond 2^32" pins (docs/rng.md): both key words non-zero.
    const NET_SEED: u64 = 0x5EED_0000_0000_002A;

    /// Bits of the first six weights (layer 1, row 0, Gaussian) of networks 5, 2^32 - 1,
    /// 2^32 + 5 and 2^33 + 5 under `NET_SEED`. Those of 5 and 2^32 - 1 were captured from the
    /// code before networks beyond 2^32 got keys of their own and must never change; those of
    /// 2^32 + 5 and 2^33 + 5 were pinned when they did (before, they repeated network 5's).
    const PINNED_NETWORK_WEIGHTS: [(u64, [u64; 6]); 4] = [
        (
            5,
            [
                0x3fe2f415a94b123e,
                0xbfe8cbae6375bccb,
                0x3ff23011a0693e83,
                0x3ff4e4f4d21d80fa,
                0xc00009ef0a755208,
                0xbfe7dc6b687ea2fb,
            ],
        ),
        (
            (1 << 32) - 1,
            [
                0x3fefa8d9522e2b55,
                0x3fd830d49af80aa7,
                0x3fe69f6273f37002,
                0x3fd2bea4655efd3f,
                0xbfe02f03f5330098,
                0xbfac263ef0ce07b4,
            ],
        ),
        (
            (1 << 32) + 5,
            [
                0xbfdcb87b19490c30,
                0x3fefffe2db303354,
                0x3ffc6ba440db68a4,
                0xbfa6a0f1055daca2,
                0x3ff2f76f928d0274,
                0x3fc447d7a45c4f1b,
            ],
        ),
        (
            (1 << 33) + 5,
            [
                0x3fd333257d8fa63a,
                0x3feed2fe533cd09c,
                0x3fd6f306ac87917f,
                0xbfdfa459f7fa6b74,
                0x3fe56161d2d44854,
                0xbfb0de5618811c58,
            ],
        ),
    ];

    #[test]
    fn pinned_weights_across_2_pow_32() {
        for (net, bits) in PINNED_NETWORK_WEIGHTS {
            let (key, c0) = network_stream(NET_SEED, net);
            let mut w = [0.0; 6];
            fill_row(
                key,
                c0,
                tag(Purpose::Weight, 1),
                0,
                WeightLaw::Gaussian,
                &mut w,
            );
            assert_eq!(w.map(f64::to_bits), bits, "network {net}: {w:?}");
        }
        // Below 2^32 the stream is exactly the seed's, as it always was.
        for net in [0, 5, 1 << 31, (1 << 32) - 1] {
            assert_eq!(network_key(NET_SEED, net), key_of_seed(NET_SEED));
            assert_eq!(network_counter(net), net as u32);
        }
    }

    /// The worked example of docs/rng.md, checked word by word (recomputed independently with a
    /// Python Philox and Python's math module).
    #[test]
    fn network_key_worked_example() {
        let net = (1u64 << 32) + 5;
        // Derived keys: the first two words of philox([hi, 0xFF000000, 0, 0], seed).
        assert_eq!(network_key(NET_SEED, net), [0xb0ea33d9, 0x1a3ec1bb]);
        assert_eq!(
            network_key(NET_SEED, net),
            philox4x32_10([1, KEY_DERIVATION_TAG, 0, 0], key_of_seed(NET_SEED))[..2]
        );
        assert_eq!(
            network_key(NET_SEED, (1 << 33) + 5),
            [0xc3706880, 0xccb08b14]
        );
        // Every network with the same high word shares the key; c0 holds the low word.
        assert_eq!(network_key(NET_SEED, 1 << 32), network_key(NET_SEED, net));
        assert_eq!(
            network_key(NET_SEED, (2 << 32) - 1),
            network_key(NET_SEED, net)
        );
        assert_eq!(network_stream(NET_SEED, net).1, 5);
        // First counter of the network's layer-1 weights, its words and normals.
        let x = philox4x32_10(
            [5, tag(Purpose::Weight, 1), 0, 0],
            network_key(NET_SEED, net),
        );
        assert_eq!(x, [0x8c6683e0, 0x512fd1db, 0x34ce3722, 0xfefc8784]);
        let python = [
            -0.4487598177840395,
            0.9999861031552464,
            1.7762796910742873,
            -0.04419663610937109,
        ];
        for (v, p) in normals4(x).iter().zip(python) {
            assert!((v - p).abs() < 1e-12, "{v} vs {p}");
        }
        // The key depends on the seed too.
        assert_ne!(network_key(NET_SEED + 1, net), network_key(NET_SEED, net));
    }

    /// No stream's word c1 is the derivation tag: every purpose's top byte is 1..=7 and a layer
    /// (< 2^24) never reaches the purpose byte.
    #[test]
    fn key_derivation_tag_is_unused() {
        use Purpose::*;
        for p in [
            Weight,
            Bias,
            JacobianDirection,
            Input,
            MatrixFreeForward,
            MatrixFreeBackward,
            LyapunovFrame,
        ] {
            for layer in [0, 1, 2, 255, (1 << 24) - 1] {
                let c1 = tag(p, layer);
                assert_eq!(c1 >> 24, p as u32);
                assert!((1..=7).contains(&(c1 >> 24)));
                assert_ne!(c1, KEY_DERIVATION_TAG);
                assert_ne!(c1 >> 24, KEY_DERIVATION_TAG >> 24);
            }
        }
    }

    #[test]
    fn chunks_sharing_a_key_end_at_multiples_of_2_pow_32() {
        assert_eq!(networks_sharing_key(0), 1 << 32);
        assert_eq!(networks_sharing_key(5), (1 << 32) - 5);
        assert_eq!(networks_sharing_key((1 << 32) - 1), 1);
        assert_eq!(networks_sharing_key(1 << 32), 1 << 32);
        assert_eq!(networks_sharing_key((1 << 33) + 5), (1 << 32) - 5);
        assert_eq!(networks_sharing_key(u64::MAX), 1);
        for start in [0u64, 7, (1 << 32) - 3, (1 << 32) + 9, u64::MAX - 2] {
            let n = networks_sharing_key(start);
            let last = start + (n - 1);
            assert_eq!(network_key(3, last), network_key(3, start));
            assert!(network_counter(start) <= network_counter(last));
        }
    }

    #[test]
    fn normals_have_unit_variance() {
        // 400k normals: the sample variance has sd sqrt(2/400k) ≈ 0.0022; 5 sd tolerance.
        let key = key_of_seed(1);
        let mut buf = vec![0.0; 1000];
        let (mut s1, mut s2, mut n) = (0.0, 0.0, 0.0);
        for row in 0..400 {
            fill_row(
                key,
                3,
                tag(Purpose::Weight, 2),
                row,
                WeightLaw::Gaussian,
                &mut buf,
            );
            for &v in &buf {
                s1 += v;
                s2 += v * v;
                n += 1.0;
            }
        }
        let mean = s1 / n;
        let var = s2 / n - mean * mean;
        assert!(mean.abs() < 5.0 / n.sqrt(), "mean {mean}");
        assert!((var - 1.0).abs() < 5.0 * (2.0 / n).sqrt(), "var {var}");
    }
}

//! Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and Shaw, "Parallel random
//! numbers: as easy as 1, 2, 3" (SC'11), exactly as in Random123's `philox4x32` with 10 rounds.
//!
//! A counter of four u32 words and a key of two u32 words map to four u32 outputs; there is no
//! state, so any draw can be recomputed anywhere (the GPU regenerates W^T in the backward pass
//! this way). The WGSL twin is `shaders/philox.wgsl`; both are pinned by the Random123
//! known-answer vectors below.

// The multipliers and Weyl key increments of Philox4x32 (public: the WGSL twin's copies are
// generated from these, crates/sampler/src/gpu/wgsl_constants.rs).
/// Round multiplier of counter word 0.
pub const M0: u32 = 0xD251_1F53;
/// Round multiplier of counter word 2.
pub const M1: u32 = 0xCD9E_8D57;
/// Key increment of key word 0 (golden ratio).
pub const W0: u32 = 0x9E37_79B9;
/// Key increment of key word 1 (sqrt(3) - 1).
pub const W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = (a as u64) * (b as u64);
    ((p >> 32) as u32, p as u32)
}

/// One Philox4x32-10 block: `ctr` under `key` → four uniformly distributed u32 words.
#[inline(always)]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let mut c = ctr;
    let mut k = key;
    for round in 0..10 {
        if round > 0 {
            k[0] = k[0].wrapping_add(W0);
            k[1] = k[1].wrapping_add(W1);
        }
        let (hi0, lo0) = mulhilo(M0, c[0]);
        let (hi1, lo1) = mulhilo(M1, c[2]);
        c = [hi1 ^ c[1] ^ k[0], lo1, hi0 ^ c[3] ^ k[1], lo0];
    }
    c
}

/// The Philox key of a 64-bit seed: low word first.
#[inline]
pub fn key_of_seed(seed: u64) -> [u32; 2] {
    [seed as u32, (seed >> 32) as u32]
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Random123 kat_vectors for philox4x32_10 (docs/rng.md): counter | key -> output.
    #[test]
    fn known_answer_vectors() {
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                [0xa4093822, 0x299f31d0]
            ),
            [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
        );
    }
}

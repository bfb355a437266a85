// Philox4x32-10 (Salmon, Moraes, Dror, Shaw, SC'11), exactly as Random123's philox4x32 with
// 10 rounds. WGSL has no 64-bit integers: the high word of the 32x32 product is assembled from
// 16-bit halves (all arithmetic in u32, wrapping). CPU twin: crates/sampler/src/philox.rs.
// Counter layout (crates/sampler/src/stream.rs, docs/rng.md):
//   [network index mod 2^32, purpose << 24 | layer, row, column / 4], key = the network's key:
//   the 64-bit seed (low word first) for networks below 2^32, a key derived from the seed and the
//   network index's high word beyond (stream::network_key). The kernels do no 64-bit math: the
//   host computes the key of each dispatch chunk, passes it in the parameters, and never lets a
//   chunk straddle a multiple of 2^32 networks.
// The constants PHILOX_M0, PHILOX_M1, PHILOX_W0, PHILOX_W1 and PURPOSE_* come from the prelude
// the host generates from the Rust definitions (philox.rs, stream::Purpose;
// crates/sampler/src/gpu/wgsl_constants.rs).

// (high, low) words of the 64-bit product a * b.
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
    let al = a & 0xFFFFu;
    let ah = a >> 16u;
    let bl = b & 0xFFFFu;
    let bh = b >> 16u;
    let ll = al * bl;
    let lh = al * bh;
    let hl = ah * bl;
    let hh = ah * bh;
    // Carry out of the low word: at most 3 * (2^16 - 1) before the shift, no overflow.
    let mid = (ll >> 16u) + (lh & 0xFFFFu) + (hl & 0xFFFFu);
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, a * b);
}

fn philox_round(c: vec4<u32>, k: vec2<u32>) -> vec4<u32> {
    let p0 = mulhilo(PHILOX_M0, c.x);
    let p1 = mulhilo(PHILOX_M1, c.z);
    return vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
}

// The ten rounds are written out: no loop (llvmpipe/lavapipe ends any shader invocation after
// 65535 loop iterations in total, see docs/gpu.md, and unrolled rounds are faster anyway).
fn philox4x32_10(ctr: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
    let w = vec2<u32>(PHILOX_W0, PHILOX_W1);
    var k = key;
    var c = philox_round(ctr, k);
    k = k + w; c = philox_round(c, k);
    k = k + w; c = philox_round(c, k);
    k = k + w; c = philox_round(c, k);
    k = k + w; c = philox_round(c, k);
    k = k + w; c = philox_round(c, k);
    k = k + w; c = philox_round(c, k);
    k = k + w; c = philox_round(c, k);
    k = k + w; c = philox_round(c, k);
    k = k + w; c = philox_round(c, k);
    return c;
}

// Word c1 of a counter: purpose (PURPOSE_*) in bits 24..31, layer below.
fn stream_tag(purpose: u32, layer: u32) -> u32 {
    return (purpose << 24u) | layer;
}

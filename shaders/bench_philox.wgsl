// Ceiling microbenchmarks (crates/sampler/src/gpu/bench.rs, docs/performance.md).
// Prepended: the generated prelude (gpu/wgsl_constants.rs), philox.wgsl, normal.wgsl. Thread t draws `iters` Philox4x32-10 blocks at counters
// [t, weight tag, i, 0] and turns each into 4 normals with normals4 (the very code the dense
// kernel uses); every normal is summed into the thread's output so none can be optimized away.

struct BenchParams {
    iters: u32,
    seed0: u32,
    seed1: u32,
    row: u32, // threads per row of the 2-D dispatch
}

@group(0) @binding(0) var<uniform> bp: BenchParams;
@group(0) @binding(1) var<storage, read_write> bench_out: array<f32>;

@compute @workgroup_size(256)
fn bench_normals(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.x + gid.y * bp.row;
    let key = vec2<u32>(bp.seed0, bp.seed1);
    var s = vec4<f32>(0.0);
    for (var i = 0u; i < bp.iters; i = i + 1u) {
        s = s + normals4(philox4x32_10(vec4<u32>(t, stream_tag(PURPOSE_WEIGHT, 1u), i, 0u), key));
    }
    bench_out[t] = s.x + s.y + s.z + s.w;
}

// Philox words alone (no Box-Muller): every word xor-folded into the output.
@compute @workgroup_size(256)
fn bench_words(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.x + gid.y * bp.row;
    let key = vec2<u32>(bp.seed0, bp.seed1);
    var s = vec4<u32>(0u);
    for (var i = 0u; i < bp.iters; i = i + 1u) {
        s = s ^ philox4x32_10(vec4<u32>(t, stream_tag(PURPOSE_WEIGHT, 1u), i, 0u), key);
    }
    bench_out[t] = f32(s.x ^ s.y ^ s.z ^ s.w);
}

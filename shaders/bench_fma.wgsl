// FP32 FMA ceiling (crates/sampler/src/gpu/bench.rs, docs/performance.md): each thread runs
// 16 independent dependency chains a = fma(a, b, c), 4 steps per chain per loop iteration
// (64 FMAs per iteration), with b and c known only at run time; the chains' sum is written out.

struct BenchParams {
    iters: u32,
    seed0: u32,
    seed1: u32,
    row: u32,
}

@group(0) @binding(0) var<uniform> bp: BenchParams;
@group(0) @binding(1) var<storage, read_write> bench_out: array<f32>;

@compute @workgroup_size(256)
fn bench_fma(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.x + gid.y * bp.row;
    let b = 0.99999994 + f32(bp.seed0 & 1u) * 1e-8;
    let c = f32(bp.seed1 & 15u) * 1e-7;
    var a0 = f32(t & 255u) * 1e-6 + 0.0;
    var a1 = f32(t & 255u) * 1e-6 + 1.0;
    var a2 = f32(t & 255u) * 1e-6 + 2.0;
    var a3 = f32(t & 255u) * 1e-6 + 3.0;
    var a4 = f32(t & 255u) * 1e-6 + 4.0;
    var a5 = f32(t & 255u) * 1e-6 + 5.0;
    var a6 = f32(t & 255u) * 1e-6 + 6.0;
    var a7 = f32(t & 255u) * 1e-6 + 7.0;
    var a8 = f32(t & 255u) * 1e-6 + 8.0;
    var a9 = f32(t & 255u) * 1e-6 + 9.0;
    var a10 = f32(t & 255u) * 1e-6 + 10.0;
    var a11 = f32(t & 255u) * 1e-6 + 11.0;
    var a12 = f32(t & 255u) * 1e-6 + 12.0;
    var a13 = f32(t & 255u) * 1e-6 + 13.0;
    var a14 = f32(t & 255u) * 1e-6 + 14.0;
    var a15 = f32(t & 255u) * 1e-6 + 15.0;
    for (var i = 0u; i < bp.iters; i = i + 1u) {
        a0 = fma(a0, b, c); a1 = fma(a1, b, c); a2 = fma(a2, b, c); a3 = fma(a3, b, c); a4 = fma(a4, b, c); a5 = fma(a5, b, c); a6 = fma(a6, b, c); a7 = fma(a7, b, c); a8 = fma(a8, b, c); a9 = fma(a9, b, c); a10 = fma(a10, b, c); a11 = fma(a11, b, c); a12 = fma(a12, b, c); a13 = fma(a13, b, c); a14 = fma(a14, b, c); a15 = fma(a15, b, c);
        a0 = fma(a0, b, c); a1 = fma(a1, b, c); a2 = fma(a2, b, c); a3 = fma(a3, b, c); a4 = fma(a4, b, c); a5 = fma(a5, b, c); a6 = fma(a6, b, c); a7 = fma(a7, b, c); a8 = fma(a8, b, c); a9 = fma(a9, b, c); a10 = fma(a10, b, c); a11 = fma(a11, b, c); a12 = fma(a12, b, c); a13 = fma(a13, b, c); a14 = fma(a14, b, c); a15 = fma(a15, b, c);
        a0 = fma(a0, b, c); a1 = fma(a1, b, c); a2 = fma(a2, b, c); a3 = fma(a3, b, c); a4 = fma(a4, b, c); a5 = fma(a5, b, c); a6 = fma(a6, b, c); a7 = fma(a7, b, c); a8 = fma(a8, b, c); a9 = fma(a9, b, c); a10 = fma(a10, b, c); a11 = fma(a11, b, c); a12 = fma(a12, b, c); a13 = fma(a13, b, c); a14 = fma(a14, b, c); a15 = fma(a15, b, c);
        a0 = fma(a0, b, c); a1 = fma(a1, b, c); a2 = fma(a2, b, c); a3 = fma(a3, b, c); a4 = fma(a4, b, c); a5 = fma(a5, b, c); a6 = fma(a6, b, c); a7 = fma(a7, b, c); a8 = fma(a8, b, c); a9 = fma(a9, b, c); a10 = fma(a10, b, c); a11 = fma(a11, b, c); a12 = fma(a12, b, c); a13 = fma(a13, b, c); a14 = fma(a14, b, c); a15 = fma(a15, b, c);
    }
    bench_out[t] = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7 + a8 + a9 + a10 + a11 + a12 + a13 + a14 + a15;
}

// Test kernel: Philox words and the values of every weight law for given counters, so that
// tests can hold the WGSL stream against its CPU twin (philox.rs, stream.rs) value by value.
// out_f[3 n + 0] gaussian, [3 n + 1] uniform, [3 n + 2] rademacher values of counter n.

struct Probe {
    key: vec2<u32>,
    n: u32,
    kind: u32,
    p: f32,
    m: f32,
    pad0: u32,
    pad1: u32,
}

@group(0) @binding(0) var<uniform> probe: Probe;
@group(0) @binding(1) var<storage, read> probe_in: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> out_u: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> out_f: array<vec4<f32>>;

@compute @workgroup_size(64)
fn philox_probe(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = gid.x;
    if (n >= probe.n) {
        return;
    }
    let x = philox4x32_10(probe_in[n], probe.key);
    out_u[n] = x;
    out_f[3u * n] = values4(LAW_GAUSSIAN, x);
    out_f[3u * n + 1u] = values4(LAW_UNIFORM, x);
    out_f[3u * n + 2u] = values4(LAW_RADEMACHER, x);
}

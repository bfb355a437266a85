// Test kernel: act_eval on given arguments (four per vec4, passed as f32 bits), so that tests can
// hold activation.wgsl against its CPU twin (activation.rs). out_f[2 n] = sigma, [2 n + 1] = sigma'.

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
fn activation_probe(@builtin(global_invocation_id) gid: vec3<u32>) {
    let n = gid.x;
    if (n >= probe.n) {
        return;
    }
    let t = bitcast<vec4<f32>>(probe_in[n]);
    var y = vec4<f32>(0.0);
    var dy = vec4<f32>(0.0);
    for (var e = 0u; e < 4u; e = e + 1u) {
        let v = act_eval(probe.kind, probe.p, probe.m, t[e]);
        y[e] = v.x;
        dy[e] = v.y;
    }
    out_u[n] = vec4<u32>(0u);
    out_f[2u * n] = y;
    out_f[2u * n + 1u] = dy;
}

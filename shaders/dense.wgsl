// The dense engine on the GPU (CPU twin: crates/sampler/src/dense.rs, DenseEngine::sample).
// One workgroup draws one network: forward pass for the K inputs (and K Jacobian tangents),
// per-layer squared norms, readout, and the NTK of readout unit 0 by a backward pass in which
// W^T is regenerated from the Philox stream (weights are never stored).
//
// Prepended by the host (crates/sampler/src/gpu/shaders.rs): the generated prelude of shared
// constants (gpu/wgsl_constants.rs), philox.wgsl, normal.wgsl, activation.wgsl and the
// constants WG (workgroup size, a power of two), CT (column tile of the forward pass), KT (column
// tile of the backward pass) and RED (values reduced at once). The
// host also writes out the innermost loops over the CT / KT columns of a tile (the `//@...`
// lines below), so that no shader invocation runs more loop iterations than lavapipe allows
// (65535 in total, after which llvmpipe silently ends every loop): one network's work is split
// over several dispatches by layer ranges (fwd_from..fwd_to, bwd_from down to bwd_to), each
// within that budget; all state between dispatches lives in the scratch and out buffers.
//
// Work split inside the workgroup: forward, thread t owns rows i = t, t + WG, ... of the layer
// and regenerates row i (ceil(n_in / 4) Philox calls per column tile); backward, thread t owns
// column blocks jb = t, t + WG, ... (input units 4 jb .. 4 jb + 3) and regenerates
// W[i][4 jb .. 4 jb + 3] for every row i (one Philox call per column tile). The host sizes the
// tiles (CT = cols up to 16, KT = K up to 8) so that for K <= 8 there is one tile per pass and
// each weight is generated once forward and once backward; generation, not the FMAs, bounds
// the kernel on a GPU (docs/performance.md). Sums over units (squared norms, NTK dot products,
// Jacobian norms) are tree reductions in workgroup memory. All control flow around barriers
// depends on uniform values only (params, workgroup id).

struct Params {
    key: vec2<u32>,     // Philox key of every network of the chunk (host: stream::network_key)
    net_start: u32,     // word c0 of workgroup 0: the network index's low 32 bits; the host
                        // splits chunks at multiples of 2^32: net_start + net_local never wraps
    count: u32,         // networks in this dispatch
    depth: u32,         // L
    k: u32,             // K inputs
    cols: u32,          // K, or 2K with Jacobian tangents
    law: u32,           // LAW_*
    act: u32,           // ACT_*
    has_bias: u32,
    sqrt_cb: f32,
    stride: u32,        // f32 words of scratch per network
    n_values: u32,      // values per network in `out`
    obs_output: u32,
    obs_ntk: u32,
    obs_sqnorm: u32,
    obs_jacobian: u32,
    off_ntk: u32,       // offsets of the observable families inside a network's values
    off_sq: u32,
    off_jac: u32,
    z_off: u32,         // two z buffers (z^l in buffer l % 2), z_size words each
    z_size: u32,
    d_off: u32,         // two delta buffers (delta^l in buffer l % 2), d_size words each
    d_size: u32,
    fwd_from: u32,      // forward layers fwd_from .. fwd_to - 1 in this dispatch
    fwd_to: u32,
    bwd_from: u32,      // backward layers bwd_from down to bwd_to in this dispatch (0: none)
    bwd_to: u32,
    do_init: u32,       // a^0 and the Jacobian direction
    do_readout: u32,    // outputs, Jacobian norms, and the start of the backward pass
    pad0: u32,
    pad1: u32,
}

// Layer l = 1..L+1 is entry l - 1.
struct Layer {
    n_in: u32,
    n_out: u32,
    residual: u32,
    in_off: u32,     // scratch offset of a^{l-1} (+ tangents), [j * cols + c]
    out_off: u32,    // scratch offset of a^l (+ tangents), l <= L
    dact_off: u32,   // scratch offset of sigma'(z^l), [i * K + a], l <= L
    act_p: f32,      // activation constants of this layer (slopes, or cubic c)
    act_m: f32,
    scale: f32,      // sqrt(C_W / n_in)
    branch: f32,     // residual alpha, else 1
    wfac: f32,       // NTK weight factor (C_W / n_in for ntk, 1 for standard)
    bfac: f32,       // NTK bias factor
    pad0: u32,
    pad1: u32,
    pad2: u32,
    pad3: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> layers: array<Layer>;
@group(0) @binding(2) var<storage, read> inputs: array<f32>;       // [j * K + a]
@group(0) @binding(3) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;    // [net * n_values + v]



// z^l[i][col] of one forward column (the sum over the row already in `acc`): bias on the input
// columns only (tangents carry none), then the residual branch.
fn fwd_store(ly: Layer, zcur: u32, zprev: u32, idx: u32, is_input: bool, bias: f32, acc: f32) {
    let h = ly.branch * (ly.scale * acc + select(0.0, bias, is_input));
    var z = h;
    if (ly.residual != 0u) {
        z = scratch[zprev + idx] + h;
    }
    scratch[zcur + idx] = z;
}

// delta^{l-1}[j][a] from g = (W^T delta^l)[j][a]; units past n_in (the last, partial block) are
// skipped.
fn bwd_store(ly: Layer, j: u32, a: u32, g: f32, dact_prev: u32, dcur: u32, dnext: u32) {
    if (j >= ly.n_in) {
        return;
    }
    let k = params.k;
    let s = ly.branch * ly.scale * scratch[dact_prev + j * k + a] * g;
    var d = s;
    if (ly.residual != 0u) {
        d = scratch[dcur + j * k + a] + s;
    }
    scratch[dnext + j * k + a] = d;
}

// (a, b) with a <= b of pair index p in the order (0,0), (0,1), ..., (0,K-1), (1,1), ...
fn pair_of(p: u32, k: u32) -> vec2<u32> {
    var q = p;
    var a = 0u;
    loop {
        if (q < k - a) {
            break;
        }
        q = q - (k - a);
        a = a + 1u;
    }
    return vec2<u32>(a, a + q);
}

@compute @workgroup_size(WG)
fn dense_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let net_local = wid.x;
    if (net_local >= params.count) {
        return;
    }
    let t = lid.x;
    let key = params.key;
    let net = params.net_start + net_local;
    let base = net_local * params.stride;
    let outb = net_local * params.n_values;
    let k = params.k;
    let cols = params.cols;
    let depth = params.depth;

    // ---- a^0: the inputs, and the unit Jacobian direction u for the tangents ----
    let n0 = layers[0].n_in;
    let in0 = base + layers[0].in_off;
    if (params.do_init != 0u) {
    for (var j = t; j < n0; j = j + WG) {
        for (var a = 0u; a < k; a = a + 1u) {
            scratch[in0 + j * cols + a] = inputs[j * k + a];
        }
    }
    if (params.obs_jacobian != 0u) {
        let tag_u = stream_tag(PURPOSE_JACOBIAN_DIRECTION, 0u);
        var part = 0.0;
        for (var j = t; j < n0; j = j + WG) {
            let u = normals4(philox4x32_10(vec4<u32>(net, tag_u, 0u, j >> 2u), key))[j & 3u];
            part = part + u * u;
        }
        red[t] = part;
        wg_reduce(t, 1u);
        let inv_norm = 1.0 / sqrt(red[0]);
        workgroupBarrier();
        for (var j = t; j < n0; j = j + WG) {
            let u = normals4(philox4x32_10(vec4<u32>(net, tag_u, 0u, j >> 2u), key))[j & 3u];
            for (var a = 0u; a < k; a = a + 1u) {
                scratch[in0 + j * cols + k + a] = u * inv_norm;
            }
        }
    }
    storageBarrier();
    }

    // ---- forward ----
    for (var l = params.fwd_from; l < params.fwd_to; l = l + 1u) {
        let ly = layers[l - 1u];
        let n_in = ly.n_in;
        let n_out = ly.n_out;
        let nb = (n_in + 3u) / 4u;
        let zcur = base + params.z_off + (l & 1u) * params.z_size;
        let zprev = base + params.z_off + ((l + 1u) & 1u) * params.z_size;
        let xin = base + ly.in_off;
        let tag_w = stream_tag(PURPOSE_WEIGHT, l);
        let tag_b = stream_tag(PURPOSE_BIAS, l);
        for (var i = t; i < n_out; i = i + WG) {
            var bias = 0.0;
            if (params.has_bias != 0u) {
                bias = params.sqrt_cb
                    * normals4(philox4x32_10(vec4<u32>(net, tag_b, 0u, i >> 2u), key))[i & 3u];
            }
            // One tile (each weight of row i generated once) whenever cols <= CT (the host picks
            // CT = cols up to 16: K <= 8 with tangents).
            for (var ct = 0u; ct < cols; ct = ct + CT) {
                // Zero-initialised; indexed by constants only (the host writes out the loops
                // over c), so that a compiler can keep it in registers.
                var acc: array<f32, CT>;
                let nc = min(CT, cols - ct);
                for (var b = 0u; b < nb; b = b + 1u) {
                    let w = values4(params.law, philox4x32_10(vec4<u32>(net, tag_w, i, b), key));
                    let xb = xin + 4u * b * cols + ct;
                    let ne = n_in - 4u * b;
//@FWD_ACCUMULATE
                }
                let zrow = i * cols + ct;
//@FWD_STORE
            }
            if (l <= depth) {
                let xo = base + ly.out_off;
                let dz = base + ly.dact_off;
                for (var a = 0u; a < k; a = a + 1u) {
                    let v = act_eval(params.act, ly.act_p, ly.act_m, scratch[zcur + i * cols + a]);
                    scratch[xo + i * cols + a] = v.x;
                    scratch[dz + i * k + a] = v.y;
                    if (cols > k) {
                        scratch[xo + i * cols + k + a] = v.y * scratch[zcur + i * cols + k + a];
                    }
                }
            }
        }
        storageBarrier();
        if (params.obs_sqnorm != 0u) {
            for (var a0 = 0u; a0 < k; a0 = a0 + RED) {
                let nr = min(RED, k - a0);
                for (var r = 0u; r < nr; r = r + 1u) {
                    var part = 0.0;
                    for (var i = t; i < n_out; i = i + WG) {
                        let z = scratch[zcur + i * cols + a0 + r];
                        part = part + z * z;
                    }
                    red[r * WG + t] = part;
                }
                wg_reduce(t, nr);
                if (t == 0u) {
                    for (var r = 0u; r < nr; r = r + 1u) {
                        out[outb + params.off_sq + (l - 1u) * k + a0 + r] = red[r * WG] / f32(n_out);
                    }
                }
                workgroupBarrier();
            }
        }
    }

    // ---- readout values ----
    let zfin = base + params.z_off + ((depth + 1u) & 1u) * params.z_size;
    let n_last = layers[depth].n_out;
    let npairs = k * (k + 1u) / 2u;
    if (params.do_readout != 0u) {
    if (params.obs_output != 0u && t == 0u) {
        for (var a = 0u; a < k; a = a + 1u) {
            out[outb + a] = scratch[zfin + a];
        }
    }
    if (params.obs_jacobian != 0u) {
        for (var a0 = 0u; a0 < k; a0 = a0 + RED) {
            let nr = min(RED, k - a0);
            for (var r = 0u; r < nr; r = r + 1u) {
                var part = 0.0;
                for (var i = t; i < n_last; i = i + WG) {
                    let v = scratch[zfin + i * cols + k + a0 + r];
                    part = part + v * v;
                }
                red[r * WG + t] = part;
            }
            wg_reduce(t, nr);
            if (t == 0u) {
                for (var r = 0u; r < nr; r = r + 1u) {
                    out[outb + params.off_jac + a0 + r] = sqrt(red[r * WG]);
                }
            }
            workgroupBarrier();
        }
    }
    if (params.obs_ntk != 0u) {
        // Backward pass: Θ = Σ_l α_l² [wfac (a^{l-1}·a^{l-1}')(δ^l·δ^l') + bfac (δ^l·δ^l')],
        // accumulated in `out` by thread 0; δ^{L+1} = e_0 (readout unit 0).
        if (t == 0u) {
            for (var p = 0u; p < npairs; p = p + 1u) {
                out[outb + params.off_ntk + p] = 0.0;
            }
        }
        let d0 = base + params.d_off + ((depth + 1u) & 1u) * params.d_size;
        for (var i = t; i < n_last; i = i + WG) {
            for (var a = 0u; a < k; a = a + 1u) {
                scratch[d0 + i * k + a] = select(0.0, 1.0, i == 0u);
            }
        }
    }
    storageBarrier();
    }

    // ---- backward (NTK of readout unit 0), layers bwd_from down to bwd_to ----
    if (params.bwd_from == 0u) {
        return;
    }
    let half_red = RED / 2u;
    var l = params.bwd_from;
    loop {
        let dcur = base + params.d_off + (l & 1u) * params.d_size;
        let dnext = base + params.d_off + ((l + 1u) & 1u) * params.d_size;
        let ly = layers[l - 1u];
        let n_in = ly.n_in;
        let n_out = ly.n_out;
        let xin = base + ly.in_off;
        for (var p0 = 0u; p0 < npairs; p0 = p0 + half_red) {
            let nr = min(half_red, npairs - p0);
            for (var r = 0u; r < nr; r = r + 1u) {
                let ab = pair_of(p0 + r, k);
                var dd = 0.0;
                for (var i = t; i < n_out; i = i + WG) {
                    dd = dd + scratch[dcur + i * k + ab.x] * scratch[dcur + i * k + ab.y];
                }
                var aa = 0.0;
                for (var j = t; j < n_in; j = j + WG) {
                    aa = aa + scratch[xin + j * cols + ab.x] * scratch[xin + j * cols + ab.y];
                }
                red[(2u * r) * WG + t] = dd;
                red[(2u * r + 1u) * WG + t] = aa;
            }
            wg_reduce(t, 2u * nr);
            if (t == 0u) {
                let b2 = ly.branch * ly.branch;
                for (var r = 0u; r < nr; r = r + 1u) {
                    let dd = red[(2u * r) * WG];
                    let aa = red[(2u * r + 1u) * WG];
                    let o = outb + params.off_ntk + p0 + r;
                    out[o] = out[o] + b2 * (ly.wfac * aa * dd + ly.bfac * dd);
                }
            }
            workgroupBarrier();
        }
        if (l == 1u) {
            break;
        }
        // g = W^T δ^l, then δ^{l-1} = [δ^l if residual] + α s σ'(z^{l-1}) ⊙ g.
        let tag_w = stream_tag(PURPOSE_WEIGHT, l);
        let dact_prev = base + layers[l - 2u].dact_off;
        let nb = (n_in + 3u) / 4u;
        for (var jb = t; jb < nb; jb = jb + WG) {
            // One tile (each W[i][4jb..4jb+3] generated once per backward pass) whenever
            // K <= KT (the host picks KT = K up to 8); a second tile would regenerate every row.
            for (var kt = 0u; kt < k; kt = kt + KT) {
                let nk = min(KT, k - kt);
                // Zero-initialised; constant indices only, as in the forward pass.
                var acc: array<vec4<f32>, KT>;
                for (var i = 0u; i < n_out; i = i + 1u) {
                    let di = dcur + i * k + kt;
                    var dv: array<f32, KT>;
//@BWD_LOAD
                    if (!nonzero) {
                        continue;
                    }
                    let w = values4(params.law, philox4x32_10(vec4<u32>(net, tag_w, i, jb), key));
//@BWD_ACCUMULATE
                }
//@BWD_STORE
            }
        }
        storageBarrier();
        if (l <= params.bwd_to) {
            break;
        }
        l = l - 1u;
    }
}

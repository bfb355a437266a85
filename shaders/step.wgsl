// The GPU twin of the step engine (CPU twin: crates/sampler/src/step.rs, StepEngine::sample;
// docs/training.md, docs/engines.md "The step engine on the GPU").
//
// One workgroup per network; one dispatch runs one layer of one pass of every network of a
// chunk: the forward pass (phase 0) of layer l in pass p, or the backward pass (phase 1). Pass
// p = 0..T runs the network with the parameters after p gradient steps; passes 0..T-1 are
// followed by their backward pass (the step's gradient), pass T by one only when delta_ntk is
// observed.
//
// The weights are never stored. Ŵ's rows are regenerated from the Philox stream as in
// dense.wgsl, and the steps, of rank K per layer, are kept as the vectors they are made of:
//
//   Ŵ_p = Ŵ + Σ_{s<p} Σ_a c_{s,a} δ_{s,a} a_{s,a}ᵀ,   c_{s,a} = cfac_l r_{s,a},
//   cfac_l = −η α_l λ_W / σ_l   (step.rs `factors`, `update`),
//
// with δ_{s,a} = δ^l of input a in pass s and a_{s,a} = a^{l−1} of input a in pass s; the
// biases' changes Δβ^l = Σ_s bstep_l Σ_a r_{s,a} δ_{s,a} (bstep_l = −η α_l λ_b / √C_b) are kept.
//
// Passes p >= 1 compute the changes since pass 0, never a difference of two f32 values of O(1)
// (whose rounding would swamp a change of O(η), the observables' size):
//   Δz^l = α [σ_l (Ŵ Δa^{l−1} + Σ_{s,a} c_{s,a} δ_{s,a} (a_{s,a}·a_p^{l−1})) + √C_b Δβ^l]
//          [+ Δz^{l−1} on a residual layer],
//   Δa^l, Δσ'^l = σ(z_0 + Δz) − σ(z_0), σ'(...) − σ'(z_0) by `act_diff` (no cancellation),
//   Δδ^{l−1} = α σ_l [σ'_p ⊙ (Ŵᵀ Δδ^l + Σ_{s,a} c_{s,a} a_{s,a} (δ_{s,a}·δ_p^l)) + Δσ' ⊙ g_0^l]
//          [+ Δδ^l], with g_0^l = Ŵᵀ δ_0^l kept from pass 0,
//   ΔΘ = Σ_l α_l² [λ_W (Δ(a·a') (δ_T·δ_T') + (a_0·a_0') Δ(δ·δ')) + λ_b Δ(δ·δ')],
//          Δ(x·y) = Δx·y_T + x_0·Δy,
// so delta_output = Δz^{L+1}, feature_change = ‖Δa^l(x_0)‖/√n_l, the alignment's δz^l = Δz^l,
// and delta_ntk = ΔΘ keep f32's relative accuracy at any learning rate.
//
// Prepended by the host (crates/sampler/src/gpu/shaders.rs, step_source): the generated prelude
// (gpu/wgsl_constants.rs), the constants WG (workgroup size, a power of two) and RED (values
// reduced at once), philox.wgsl, normal.wgsl, activation.wgsl, reduce.wgsl. The host counts the
// loop iterations of each dispatch (lavapipe ends an invocation's loops after 65 535, docs/gpu.md)
// and refuses, on CPU adapters, a network whose one layer would exceed the budget.
//
// Scratch of one network (f32 words, offsets from the host; vectors of the K inputs are
// input-major, [a * n + i]):
//   A(p, m)   a^m of pass p, m = 0..L (a^0, the inputs, is shared by every pass)
//   D(p, l)   δ^l = ∂f/∂z^l of pass p, l = 1..L+1
//   Z0(l)     z^l of pass 0
//   S(l)      σ'(z^l) of the current pass
//   DA(l), DS(l), DZ(l), DD(l)   Δa^l, Δσ'^l, Δz^l, Δδ^l of the current pass p >= 1
//   G0(l)     g_0^l = Ŵ^lᵀ δ_0^l, l >= 2
//   DB(l)     Δβ^l
//   NT(l)     a_0·a_0' and δ_0·δ_0' of every pair of inputs at layer l (pass 0)
//   R         r_{s,a} = f_s(x_a) − y_a, s < T
//   G         the coefficients of the current dispatch, p K² words
//   NTKD      ΔΘ, summed from the readout down
// All control flow around barriers depends on uniform values (params, the layer table, the
// workgroup id) only.

const KMAX: u32 = 8u;
// Below this |Δz|, a smooth activation's changes are integrated (act_diff); above it the plain
// difference loses at most ~f32 rounding / DIFF_TAU of the change.
const DIFF_TAU: f32 = 0.25;
// The 3-point Gauss–Legendre nodes on [0, 1]: 1/2 ∓ √(3/5)/2 (weights 5/18, 8/18, 5/18).
const GL3_LO: f32 = 0.1127016653792583;
const GL3_HI: f32 = 0.8872983346207417;

struct Params {
    key: vec2<u32>,     // Philox key of every network of the chunk (stream::network_key)
    net_start: u32,     // word c0 of workgroup 0 (the chunk never wraps past 2^32)
    count: u32,         // networks in this dispatch
    phase: u32,         // 0: forward, 1: backward
    layer: u32,         // l = 1..L+1
    pass_idx: u32,      // p = 0..T
    k: u32,             // K inputs (<= KMAX)
    stride: u32,        // f32 words of scratch per network
    n_values: u32,      // values per network in `out`
    law: u32,           // LAW_*
    has_bias: u32,
    sqrt_cb: f32,
    steps: u32,         // T
    depth: u32,         // L
    need_ntk: u32,      // delta_ntk observed: the NTK's pair sums and its change
    out_dout: u32,      // offsets of the observable families in a network's values (NONE: off)
    out_dntk: u32,
    out_fc: u32,
    out_fa: u32,
    off_r: u32,         // scratch offsets (per network) of R, G, NTKD
    off_g: u32,
    off_ntkd: u32,
    off_y: u32,         // the targets y_a in `inputs`
    a_pass: u32,        // words from A(p, m) to A(p + 1, m), m >= 1
    d_pass: u32,        // words from D(p, l) to D(p + 1, l)
    nan_bits: u32,      // 0x7fc00000: a NaN made at run time (no non-finite literal in WGSL)
    pad0: u32,
    pad1: u32,
    pad2: u32,
    pad3: u32,
}

// Layer l = 1..L+1 is entry l - 1; offsets of layer l − 1's vectors are 0 (unused) for l = 1.
struct Layer {
    n_in: u32,
    n_out: u32,
    act: u32,       // ACT_* of σ on z^l (l <= L)
    residual: u32,
    act_p: f32,
    act_m: f32,
    scale: f32,     // σ_l = spec.weight_scale(l)
    branch: f32,    // α_l
    wfac: f32,      // λ_W (NTK weight factor)
    bfac: f32,      // λ_b
    cfac: f32,      // −η α_l λ_W / σ_l
    bstep: f32,     // −η α_l λ_b / √C_b (0 without biases)
    x_off: u32,     // A(0, l−1)
    x_pass: u32,    // words from A(p, l−1) to A(p + 1, l−1): a_pass, 0 for l = 1
    a_off: u32,     // A(0, l), l <= L
    d_off: u32,     // D(0, l)
    dp_off: u32,    // D(0, l−1)
    s_off: u32,     // S(l), l <= L
    sp_off: u32,    // S(l−1)
    z_off: u32,     // Z0(l)
    zp_off: u32,    // Z0(l−1)
    b_off: u32,     // DB(l)
    ds_off: u32,    // DS(l), l <= L
    dsp_off: u32,   // DS(l−1)
    da_off: u32,    // DA(l), l <= L
    dap_off: u32,   // DA(l−1)
    dz_off: u32,    // DZ(l)
    dzp_off: u32,   // DZ(l−1)
    dd_off: u32,    // DD(l)
    ddp_off: u32,   // DD(l−1)
    g0_off: u32,    // G0(l), l >= 2
    nt_off: u32,    // NT(l): K(K+1)/2 sums a_0·a_0', then as many δ_0·δ_0'
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> layers: array<Layer>;
@group(0) @binding(2) var<storage, read> inputs: array<f32>;       // x_a [a * n0 + j], targets
@group(0) @binding(3) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;    // [net * n_values + v]

// σ'' of the smooth activations (the piecewise-linear family never asks: see act_diff).
fn act_second(kind: u32, p: f32, t: f32) -> f32 {
    switch (kind) {
        case ACT_TANH: {
            let v = act_eval(kind, p, 0.0, t);
            return -2.0 * v.x * v.y;
        }
        case ACT_ERF: {
            return -2.0 * t * FRAC_2_SQRT_PI_F * exp(-t * t);
        }
        case ACT_GELU: {
            return INV_SQRT_2PI_F * exp(-0.5 * t * t) * (2.0 - t * t);
        }
        case ACT_SWISH: {
            let s = 1.0 / (1.0 + exp(-t));
            return s * (1.0 - s) * (2.0 + t * (1.0 - 2.0 * s));
        }
        case ACT_SIN: {
            return -sincos_f32(t).x;
        }
        case ACT_CUBIC: {
            return 6.0 * p * t;
        }
        default: {
            return 0.0;
        }
    }
}

// (σ(z0 + dz) − σ(z0), σ'(z0 + dz) − σ'(z0)), given v1 = act_eval(z0 + dz), without the
// cancellation of the plain difference when dz is small: exact (slope · dz, 0) for the
// piecewise-linear family on one side of the kink; for a smooth σ and |dz| < DIFF_TAU the
// integrals of σ' and σ'' over [z0, z0 + dz] by 3-point Gauss–Legendre (error
// |dz|⁷ max|σ⁽⁷⁾|, max|σ⁽⁸⁾| / 2016000, below 1e-10 of the change for these activations at
// |dz| <= 1/4; cubic is integrated exactly); the plain difference otherwise (a kink crossed, or
// a change large enough that rounding costs at most ~ε/DIFF_TAU of it).
fn act_diff(kind: u32, p: f32, m: f32, z0: f32, dz: f32, v1: vec2<f32>) -> vec2<f32> {
    let z1 = z0 + dz;
    if (kind == ACT_SLOPES) {
        if ((z0 > 0.0) == (z1 > 0.0)) {
            return vec2<f32>(select(m, p, z0 > 0.0) * dz, 0.0);
        }
        return v1 - act_eval(kind, p, m, z0);
    }
    if (abs(dz) < DIFF_TAU) {
        let za = z0 + GL3_LO * dz;
        let zm = z0 + 0.5 * dz;
        let zb = z0 + GL3_HI * dz;
        let d1 = 5.0 * act_eval(kind, p, m, za).y + 8.0 * act_eval(kind, p, m, zm).y
            + 5.0 * act_eval(kind, p, m, zb).y;
        let d2 = 5.0 * act_second(kind, p, za) + 8.0 * act_second(kind, p, zm)
            + 5.0 * act_second(kind, p, zb);
        return (dz / 18.0) * vec2<f32>(d1, d2);
    }
    return v1 - act_eval(kind, p, m, z0);
}

// (a, b) with a <= b of pair index q in the order (0,0), (0,1), ..., (0,K-1), (1,1), ...
fn step_pair(q0: u32, k: u32) -> vec2<u32> {
    var q = q0;
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

// The coefficients of the steps taken before pass p, for the vectors v_{p,c} of this pass
// (c < K): G[(s K + a) K + c] = cfac r_{s,a} (u_{s,a} · v_{p,c}), s < p, with u_{s,a} at
// u0 + s u_pass + a n and v_{p,c} at v0 + c n (n words each). Written by thread 0.
fn step_coefficients(t: u32, base: u32, p: u32, k: u32, cfac: f32, u0: u32, u_pass: u32,
                     v0: u32, n: u32) {
    let g = base + params.off_g;
    let nv = p * k * k;
    for (var v00 = 0u; v00 < nv; v00 = v00 + RED) {
        let nr = min(RED, nv - v00);
        for (var r = 0u; r < nr; r = r + 1u) {
            let v = v00 + r;
            let sa = v / k;
            let u = u0 + (sa / k) * u_pass + (sa % k) * n;
            let w = v0 + (v % k) * n;
            var part = 0.0;
            for (var j = t; j < n; j = j + WG) {
                part = part + scratch[u + j] * scratch[w + j];
            }
            red[r * WG + t] = part;
        }
        wg_reduce(t, nr);
        if (t == 0u) {
            for (var r = 0u; r < nr; r = r + 1u) {
                let v = v00 + r;
                scratch[g + v] = cfac * scratch[base + params.off_r + v / k] * red[r * WG];
            }
        }
        workgroupBarrier();
    }
    storageBarrier();
}

fn step_forward(net: u32, t: u32, base: u32, outb: u32) {
    let l = params.layer;
    let p = params.pass_idx;
    let k = params.k;
    let ly = layers[l - 1u];
    let n_in = ly.n_in;
    let n_out = ly.n_out;
    let key = params.key;
    let x = base + ly.x_off + p * ly.x_pass;     // A(p, l−1)
    if (l == 1u && p == 0u) {
        // a^0: the inputs, shared by every pass.
        for (var e = t; e < n_in * k; e = e + WG) {
            scratch[x + e] = inputs[e];
        }
        storageBarrier();
    }
    // γ_{s,a,c} = c_{s,a} (a_{s,a} · a_{p,c}).
    step_coefficients(t, base, p, k, ly.cfac, base + ly.x_off, ly.x_pass, x, n_in);
    let g = base + params.off_g;
    let z0 = base + ly.z_off;
    let dz = base + ly.dz_off;
    let a_out = base + ly.a_off + p * params.a_pass;
    let d0 = base + ly.d_off;
    let is_hidden = l <= params.depth;
    // Pass 0 multiplies Ŵ into a^{l−1}; later passes into Δa^{l−1} (0 for the inputs).
    let regen = p == 0u || l >= 2u;
    var xin = x;
    if (p > 0u) {
        xin = base + ly.dap_off;
    }
    let nb = (n_in + 3u) / 4u;
    let tag_w = stream_tag(PURPOSE_WEIGHT, l);
    let tag_b = stream_tag(PURPOSE_BIAS, l);
    for (var i = t; i < n_out; i = i + WG) {
        var acc: array<f32, KMAX>;
        if (regen) {
            // Row i of Ŵ, regenerated from the stream as in dense.wgsl.
            for (var b = 0u; b < nb; b = b + 1u) {
                let w = values4(params.law, philox4x32_10(vec4<u32>(net, tag_w, i, b), key));
                let j = 4u * b;
                let ne = n_in - j;
                for (var c = 0u; c < k; c = c + 1u) {
                    let xc = xin + c * n_in + j;
                    var s = w.x * scratch[xc];
                    if (ne > 1u) {
                        s = s + w.y * scratch[xc + 1u];
                    }
                    if (ne > 2u) {
                        s = s + w.z * scratch[xc + 2u];
                    }
                    if (ne > 3u) {
                        s = s + w.w * scratch[xc + 3u];
                    }
                    acc[c] = acc[c] + s;
                }
            }
        }
        // + Σ_{s<p} Σ_a δ_{s,a,i} γ_{s,a,c}: the steps taken so far.
        for (var sa = 0u; sa < p * k; sa = sa + 1u) {
            let dsa = scratch[d0 + (sa / k) * params.d_pass + (sa % k) * n_out + i];
            if (dsa != 0.0) {
                for (var c = 0u; c < k; c = c + 1u) {
                    acc[c] = acc[c] + dsa * scratch[g + sa * k + c];
                }
            }
        }
        var bias = 0.0;
        if (params.has_bias != 0u) {
            if (p == 0u) {
                bias = params.sqrt_cb
                    * normals4(philox4x32_10(vec4<u32>(net, tag_b, 0u, i >> 2u), key))[i & 3u];
                scratch[base + ly.b_off + i] = 0.0;
            } else {
                bias = params.sqrt_cb * scratch[base + ly.b_off + i];
            }
        }
        for (var c = 0u; c < k; c = c + 1u) {
            let e = c * n_out + i;
            let h = ly.branch * (ly.scale * acc[c] + bias);
            if (p == 0u) {
                var zz = h;
                if (ly.residual != 0u) {
                    zz = scratch[base + ly.zp_off + e] + h;
                }
                scratch[z0 + e] = zz;
                if (is_hidden) {
                    let v = act_eval(ly.act, ly.act_p, ly.act_m, zz);
                    scratch[a_out + e] = v.x;
                    scratch[base + ly.s_off + e] = v.y;
                }
            } else {
                var dzz = h;
                if (ly.residual != 0u) {
                    dzz = scratch[base + ly.dzp_off + e] + h;
                }
                scratch[dz + e] = dzz;
                if (is_hidden) {
                    let zb = scratch[z0 + e];
                    let v = act_eval(ly.act, ly.act_p, ly.act_m, zb + dzz);
                    scratch[a_out + e] = v.x;
                    scratch[base + ly.s_off + e] = v.y;
                    let dv = act_diff(ly.act, ly.act_p, ly.act_m, zb, dzz, v);
                    scratch[base + ly.da_off + e] = dv.x;
                    scratch[base + ly.ds_off + e] = dv.y;
                }
            }
        }
    }
    storageBarrier();

    if (!is_hidden) {
        // The readout (n_out = 1): the residuals of this pass, or delta_output after the last;
        // δ^{L+1} = 1 (Δδ^{L+1} = 0) starts this pass's backward pass.
        if (t == 0u) {
            for (var c = 0u; c < k; c = c + 1u) {
                var df = 0.0;
                if (p > 0u) {
                    df = scratch[dz + c];
                }
                if (p < params.steps) {
                    let f = scratch[z0 + c] + df;
                    scratch[base + params.off_r + p * k + c] = f - inputs[params.off_y + c];
                } else if (params.out_dout != NONE) {
                    out[outb + params.out_dout + c] = df;
                }
                if (p < params.steps || params.need_ntk != 0u) {
                    scratch[d0 + p * params.d_pass + c] = 1.0;
                    scratch[base + ly.dd_off + c] = 0.0;
                }
            }
        }
        storageBarrier();
    } else if (p == params.steps && (params.out_fc != NONE || params.out_fa != NONE)) {
        // feature_change[l] = ‖Δa^l(x_0)‖/√n_l, and feature_alignment[l]: the cosine of −Δz^l
        // and b^l = (r_{0,a} δ^l_{0,a})_a, stacked over the inputs.
        var fc = 0.0;
        for (var i = t; i < n_out; i = i + WG) {
            let dv = scratch[base + ly.da_off + i];
            fc = fc + dv * dv;
        }
        var ub = 0.0;
        var uu = 0.0;
        var bb = 0.0;
        for (var e = t; e < k * n_out; e = e + WG) {
            let u = -scratch[dz + e];
            let bv = scratch[base + params.off_r + e / n_out] * scratch[d0 + e];
            ub = ub + u * bv;
            uu = uu + u * u;
            bb = bb + bv * bv;
        }
        red[t] = fc;
        red[WG + t] = ub;
        red[2u * WG + t] = uu;
        red[3u * WG + t] = bb;
        wg_reduce(t, 4u);
        if (t == 0u) {
            if (params.out_fc != NONE) {
                out[outb + params.out_fc + l - 1u] = sqrt(red[0] / f32(n_out));
            }
            if (params.out_fa != NONE) {
                let norm = sqrt(red[2u * WG]) * sqrt(red[3u * WG]);
                var cosv = bitcast<f32>(params.nan_bits);
                if (norm > 0.0) {
                    cosv = red[WG] / norm;
                }
                out[outb + params.out_fa + l - 1u] = cosv;
            }
        }
        workgroupBarrier();
    }
}

fn step_backward(net: u32, t: u32, base: u32, outb: u32) {
    let l = params.layer;
    let p = params.pass_idx;
    let k = params.k;
    let ly = layers[l - 1u];
    let n_in = ly.n_in;
    let n_out = ly.n_out;
    let key = params.key;
    let x0 = base + ly.x_off;                    // A(0, l−1)
    let x = x0 + p * ly.x_pass;                  // A(p, l−1)
    let dz0 = base + ly.d_off;                   // D(0, l)
    let dcur = dz0 + p * params.d_pass;          // D(p, l)
    let ddl = base + ly.dd_off;                  // DD(l)
    let npairs = k * (k + 1u) / 2u;
    let half_red = RED / 2u;
    let third_red = RED / 3u;

    if (p > 0u) {
        // δ_p^l = δ_0^l + Δδ_p^l: the record of this pass (and the NTK after the last).
        for (var e = t; e < k * n_out; e = e + WG) {
            scratch[dcur + e] = scratch[dz0 + e] + scratch[ddl + e];
        }
        storageBarrier();
    }

    if (params.need_ntk != 0u && p == 0u) {
        // The NTK's pair sums before the steps: a_0·a_0' and δ_0·δ_0' of this layer.
        let nt = base + ly.nt_off;
        for (var q0 = 0u; q0 < npairs; q0 = q0 + half_red) {
            let nr = min(half_red, npairs - q0);
            for (var r = 0u; r < nr; r = r + 1u) {
                let ab = step_pair(q0 + r, k);
                var aa = 0.0;
                for (var j = t; j < n_in; j = j + WG) {
                    aa = aa + scratch[x + ab.x * n_in + j] * scratch[x + ab.y * n_in + j];
                }
                var dd = 0.0;
                for (var i = t; i < n_out; i = i + WG) {
                    dd = dd + scratch[dcur + ab.x * n_out + i] * scratch[dcur + ab.y * n_out + i];
                }
                red[(2u * r) * WG + t] = aa;
                red[(2u * r + 1u) * WG + t] = dd;
            }
            wg_reduce(t, 2u * nr);
            if (t == 0u) {
                for (var r = 0u; r < nr; r = r + 1u) {
                    scratch[nt + q0 + r] = red[(2u * r) * WG];
                    scratch[nt + npairs + q0 + r] = red[(2u * r + 1u) * WG];
                }
            }
            workgroupBarrier();
        }
        storageBarrier();
    }

    if (params.need_ntk != 0u && p == params.steps) {
        // This layer's part of ΔΘ = Θ_T − Θ_0, from the changes: Δ(a·a') = Δa·a_T' + a_0·Δa',
        // Δ(δ·δ') = Δδ·δ_T' + δ_0·Δδ' (Δa^0 = 0: the inputs do not move).
        let nt = base + ly.nt_off;
        let ntkd = base + params.off_ntkd;
        let dax = base + ly.dap_off;
        for (var q0 = 0u; q0 < npairs; q0 = q0 + third_red) {
            let nr = min(third_red, npairs - q0);
            for (var r = 0u; r < nr; r = r + 1u) {
                let ab = step_pair(q0 + r, k);
                var daa = 0.0;
                if (l >= 2u) {
                    for (var j = t; j < n_in; j = j + WG) {
                        daa = daa + scratch[dax + ab.x * n_in + j] * scratch[x + ab.y * n_in + j]
                            + scratch[x0 + ab.x * n_in + j] * scratch[dax + ab.y * n_in + j];
                    }
                }
                var ddd = 0.0;
                var ddt = 0.0;
                for (var i = t; i < n_out; i = i + WG) {
                    let ia = ab.x * n_out + i;
                    let ib = ab.y * n_out + i;
                    ddd = ddd + scratch[ddl + ia] * scratch[dcur + ib]
                        + scratch[dz0 + ia] * scratch[ddl + ib];
                    ddt = ddt + scratch[dcur + ia] * scratch[dcur + ib];
                }
                red[(3u * r) * WG + t] = daa;
                red[(3u * r + 1u) * WG + t] = ddd;
                red[(3u * r + 2u) * WG + t] = ddt;
            }
            wg_reduce(t, 3u * nr);
            if (t == 0u) {
                let b2 = ly.branch * ly.branch;
                for (var r = 0u; r < nr; r = r + 1u) {
                    let q = q0 + r;
                    let daa = red[(3u * r) * WG];
                    let ddd = red[(3u * r + 1u) * WG];
                    let ddt = red[(3u * r + 2u) * WG];
                    let aa0 = scratch[nt + q];
                    let term = b2 * (ly.wfac * (daa * ddt + aa0 * ddd) + ly.bfac * ddd);
                    if (l == params.depth + 1u) {
                        scratch[ntkd + q] = term;
                    } else {
                        scratch[ntkd + q] = scratch[ntkd + q] + term;
                    }
                }
            }
            workgroupBarrier();
        }
    }

    // Step p's bias update of this layer (read by the forward pass p + 1).
    if (p < params.steps && params.has_bias != 0u) {
        let rp = base + params.off_r + p * k;
        for (var i = t; i < n_out; i = i + WG) {
            var sum = 0.0;
            for (var a = 0u; a < k; a = a + 1u) {
                sum = sum + scratch[rp + a] * scratch[dcur + a * n_out + i];
            }
            scratch[base + ly.b_off + i] = scratch[base + ly.b_off + i] + ly.bstep * sum;
        }
    }

    if (l >= 2u) {
        // Pass 0: g_0 = Ŵᵀ δ_0 (kept), δ_0^{l−1} = [δ_0^l] + α s σ'_0 ⊙ g_0. Later passes:
        // μ_{s,a,c} = c_{s,a} (δ_{s,a} · δ_{p,c}), h = Ŵᵀ Δδ + Σ_{s,a} μ_{s,a,c} a_{s,a} and
        // Δδ^{l−1} = [Δδ^l] + α s (σ'_p ⊙ h + Δσ' ⊙ g_0).
        step_coefficients(t, base, p, k, ly.cfac, dz0, params.d_pass, dcur, n_out);
        let g = base + params.off_g;
        let g0 = base + ly.g0_off;
        var din = dcur;
        var dout = base + ly.dp_off;
        var dres = dcur;
        if (p > 0u) {
            din = ddl;
            dout = base + ly.ddp_off;
            dres = ddl;
        }
        let sp = base + ly.sp_off;
        let dsp = base + ly.dsp_off;
        let nb = (n_in + 3u) / 4u;
        let tag_w = stream_tag(PURPOSE_WEIGHT, l);
        let ab = ly.branch * ly.scale;
        for (var jb = t; jb < nb; jb = jb + WG) {
            var acc: array<vec4<f32>, KMAX>;
            // Ŵᵀ v on input units 4 jb .. 4 jb + 3: Ŵ[i][4 jb ..] for every row i, as in
            // dense.wgsl; rows where v vanishes for every input are skipped.
            for (var i = 0u; i < n_out; i = i + 1u) {
                var nonzero = false;
                for (var c = 0u; c < k; c = c + 1u) {
                    nonzero = nonzero || scratch[din + c * n_out + i] != 0.0;
                }
                if (!nonzero) {
                    continue;
                }
                let w = values4(params.law, philox4x32_10(vec4<u32>(net, tag_w, i, jb), key));
                for (var c = 0u; c < k; c = c + 1u) {
                    acc[c] = acc[c] + w * scratch[din + c * n_out + i];
                }
            }
            for (var e = 0u; e < 4u; e = e + 1u) {
                let j = 4u * jb + e;
                if (j < n_in) {
                    for (var c = 0u; c < k; c = c + 1u) {
                        let ej = c * n_in + j;
                        var hv = acc[c][e];
                        var d = 0.0;
                        if (p == 0u) {
                            scratch[g0 + ej] = hv;
                            d = ab * scratch[sp + ej] * hv;
                        } else {
                            for (var sa = 0u; sa < p * k; sa = sa + 1u) {
                                let xa = x0 + (sa / k) * ly.x_pass + (sa % k) * n_in + j;
                                hv = hv + scratch[xa] * scratch[g + sa * k + c];
                            }
                            d = ab * (scratch[sp + ej] * hv + scratch[dsp + ej] * scratch[g0 + ej]);
                        }
                        if (ly.residual != 0u) {
                            d = scratch[dres + c * n_out + j] + d;
                        }
                        scratch[dout + ej] = d;
                    }
                }
            }
        }
        storageBarrier();
    }

    if (l == 1u && p == params.steps && params.out_dntk != NONE && t == 0u) {
        for (var q = 0u; q < npairs; q = q + 1u) {
            out[outb + params.out_dntk + q] = scratch[base + params.off_ntkd + q];
        }
    }
}

@compute @workgroup_size(WG)
fn step_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let net_local = wid.x;
    if (net_local >= params.count) {
        return;
    }
    let net = params.net_start + net_local;
    let base = net_local * params.stride;
    let outb = net_local * params.n_values;
    if (params.phase == 0u) {
        step_forward(net, lid.x, base, outb);
    } else {
        step_backward(net, lid.x, base, outb);
    }
}

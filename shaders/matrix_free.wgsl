// The matrix-free engine on the GPU (CPU twin: crates/sampler/src/matrix_free.rs,
// MatrixFreeEngine::sample; derivation: docs/engines.md). One workgroup draws one network; one
// dispatch runs one layer of every network of the chunk (phase 0: forward layer `layer`; phase 1:
// backward layer `layer`; phase 2: the first backward layer L+1, with delta^{L+1} = e_0 implicit
// and the NTK sums zeroed), so no invocation runs near lavapipe's 65535 loop iterations.
//
// Prepended by the host (crates/sampler/src/gpu/matrix_free.rs): the generated prelude of shared
// constants (gpu/wgsl_constants.rs), philox.wgsl, normal.wgsl, activation.wgsl and the
// constants WG (workgroup size, a power of two), RED (values reduced at once, >= the largest
// reduction below), RANK_RTOL_F32, Z_OFF, ALPHA, C, OFF_JAC and OFF_SQ.
//
// Columns: C = K without Jacobians, C = 2K with them (the K inputs, then the K tangents
// J(x_a) u), C <= 8 so that every C x C block fits the 64-entry arrays. Ŵ multiplies all C
// columns (Gram, H, A M); the bias, sigma' and delta belong to the K inputs only. The tangents
// of layer 1 all equal the per-network direction u, so Sigma^1 depends on the network: the host
// draws u and factors Sigma^1 in f64 exactly as the CPU twin (as it does once for the shared
// Sigma^1 without Jacobians, see gpu/matrix_free.rs) and passes rank and S per network in
// `l1fac` (1 + C^2 words each); the GPU never needs u itself (layer 1's backward step uses only
// the inputs' Gram matrix). OFF_JAC is the Jacobian norms' first value (NONE without them): the
// readout sums the squared tangent rows over the workgroup.
//
// Squared norms: OFF_SQ is sqnorm's first value (NONE without it). Every forward layer sums
// z^l_a(i)^2 over its rows per input (per-thread partial sums of the K input columns, then one
// workgroup reduction shared with the readout's Jacobian norms) and thread 0 writes
// ||z^l(x_a)||^2 / n_l to value OFF_SQ + (l - 1) K + a (layer-major, as Primitive::Sqnorm and
// the CPU twin's `sqnorms`). z^l is the pre-activation, the residual sum on residual layers.
//
// Residual nets (hidden layers l = 2..L: z^l = z^{l-1} + ALPHA H^l): the forward pass needs
// z^{l-1}, which is no longer H^{l-1}, so z lives in one n x K block at scratch offset Z_OFF
// (NONE without residual layers), written by every hidden layer and updated in place (thread t
// reads and writes only its own rows, and a residual layer's n_in = n_out). The backward pass
// adds the skip path, delta^{l-1} = delta^l + ALPHA s sigma' (.) W^T delta^l, and the host folds
// ALPHA^2 into the NTK factors of residual layers. ALPHA and Z_OFF are module constants because
// they are the same for every dispatch of a problem.
//
// Every n x K block in `scratch` is column-major ([a * n + i]) as on the CPU. Thread t owns the
// contiguous rows [t B, (t + 1) B), B = ceil(n / WG): consecutive elements of the flat Gaussian
// streams then share Philox blocks (a 4-value cache per stream column), and the live-row ranks
// of the backward pass are a workgroup exclusive scan of per-thread counts, in row order.
// Sums over rows are per-thread partial sums, then tree reductions in workgroup memory (f32).
// The C x C and K x K eigendecompositions (cyclic Jacobi, as linalg::sym_eigen) run on thread 0.

struct Params {
    key: vec2<u32>,   // Philox key of every network of the chunk (host: stream::network_key)
    net_start: u32,   // word c0 of workgroup 0 (low 32 bits; chunks never wrap past 2^32)
    count: u32,
    k: u32,
    phase: u32,       // 0 forward, 1 backward, 2 first backward (readout)
    layer: u32,       // l = 1..L+1
    g_off: u32,       // scratch offset of G~ ((n_max + 1) x K, column stride n_in + 1)
    n_in: u32,
    n_out: u32,
    stride: u32,      // f32 words of scratch per network
    n_values: u32,
    obs_output: u32,
    residual: u32,    // 1 on a residual layer (l = 2..L of a residual net)
    off_ntk: u32,
    has_bias: u32,
    sqrt_cb: f32,
    scale: f32,       // sqrt(C_W / n_in)
    rank_off: u32,    // layer 1: offset in `inputs` of the host's f64 factor, else NONE
    wfac: f32,        // NTK factors of this layer
    bfac: f32,
    act: u32,         // activation of z^l (forward, l <= L)
    act_p: f32,
    act_m: f32,
    in_off: u32,      // A^{l-1} = a^{l-1}, [a * n_in + j]
    out_off: u32,     // a^l (forward, l <= L), else NONE
    dact_off: u32,    // forward: sigma'(z^l); backward: sigma'(z^{l-1}) (n_in rows)
    h_off: u32,       // H^l, kept for the backward pass (NONE when not kept)
    aa_off: u32,      // a^{l-1} . a^{l-1}' (K x K)
    pinv_off: u32,    // Sigma^l+ (K x K), NONE when not kept
    d_cur: u32,       // backward: delta^l (n_out rows)
    d_prev: u32,      // backward: delta^{l-1} (n_in rows)
}

// NONE, PURPOSE_MF_FORWARD, PURPOSE_MF_BACKWARD and MAX_SWEEPS_F32 (why 16, not the CPU's 64:
// gpu/matrix_free.rs) come from the generated prelude (crates/sampler/src/gpu/wgsl_constants.rs).

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> l1fac: array<f32>;         // [net * (1 + C^2) + x]
@group(0) @binding(2) var<storage, read> inputs: array<f32>;        // [a * n0 + j]
@group(0) @binding(3) var<storage, read_write> scratch: array<f32>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;     // [net * n_values + v]

var<workgroup> scan: array<u32, WG>;
var<workgroup> fac: array<f32, 64>;    // square-root factor, rank x n, [m * n + c]
var<workgroup> pinvw: array<f32, 64>;  // pseudo-inverse, C x C
var<workgroup> cmat: array<f32, 64>;   // H^T Delta (C x K), [c * K + a]
var<workgroup> mm: array<f32, 64>;     // M = s Sigma+ (C - R), [c * K + a]
var<workgroup> gbias: array<f32, 8>;   // the bias row of G~
var<workgroup> info: array<u32, 4>;    // [0]: rank


// Cyclic Jacobi eigendecomposition of the symmetric n x n matrix a (row-major, destroyed), as
// linalg::sym_eigen (same sweep order and rotation formulas, so the eigenvectors come out in the
// same order and with the same signs as on the CPU): w[m] eigenvalue, column m of v its vector.
fn sym_eigen(a: ptr<function, array<f32, 64>>, n: u32, v: ptr<function, array<f32, 64>>,
             w: ptr<function, array<f32, 8>>) {
    var amax = 0.0;
    for (var i = 0u; i < n * n; i = i + 1u) {
        (*v)[i] = select(0.0, 1.0, (i / n) == (i % n));
        amax = max(amax, abs((*a)[i]));
    }
    if (amax == 0.0) {
        for (var i = 0u; i < n; i = i + 1u) { (*w)[i] = 0.0; }
        return;
    }
    let inv = 1.0 / amax;
    for (var i = 0u; i < n * n; i = i + 1u) { (*a)[i] = (*a)[i] * inv; }
    for (var sweep = 0u; sweep < MAX_SWEEPS_F32; sweep = sweep + 1u) {
        var off = 0.0;
        var diag = 0.0;
        for (var p = 0u; p < n; p = p + 1u) {
            diag = diag + (*a)[p * n + p] * (*a)[p * n + p];
            for (var q = p + 1u; q < n; q = q + 1u) {
                off = off + (*a)[p * n + q] * (*a)[p * n + q];
            }
        }
        // f32: an off-diagonal norm ~1e-6 of the whole is at rounding level.
        if (off == 0.0 || off <= 1e-12 * (diag + 2.0 * off)) {
            break;
        }
        for (var p = 0u; p < n; p = p + 1u) {
            for (var q = p + 1u; q < n; q = q + 1u) {
                let apq = (*a)[p * n + q];
                if (apq == 0.0) {
                    continue;
                }
                let app = (*a)[p * n + p];
                let aqq = (*a)[q * n + q];
                let theta = (aqq - app) / (2.0 * apq);
                var t = 0.0;
                if (abs(theta) > 1e18) {
                    t = 0.5 / theta;
                } else {
                    let r = 1.0 / (abs(theta) + sqrt(theta * theta + 1.0));
                    t = select(r, -r, theta < 0.0);
                }
                let c = 1.0 / sqrt(t * t + 1.0);
                let s = t * c;
                (*a)[p * n + p] = app - t * apq;
                (*a)[q * n + q] = aqq + t * apq;
                (*a)[p * n + q] = 0.0;
                (*a)[q * n + p] = 0.0;
                for (var r = 0u; r < n; r = r + 1u) {
                    if (r != p && r != q) {
                        let arp = (*a)[r * n + p];
                        let arq = (*a)[r * n + q];
                        let nrp = c * arp - s * arq;
                        let nrq = s * arp + c * arq;
                        (*a)[r * n + p] = nrp;
                        (*a)[p * n + r] = nrp;
                        (*a)[r * n + q] = nrq;
                        (*a)[q * n + r] = nrq;
                    }
                }
                for (var r = 0u; r < n; r = r + 1u) {
                    let vrp = (*v)[r * n + p];
                    let vrq = (*v)[r * n + q];
                    (*v)[r * n + p] = c * vrp - s * vrq;
                    (*v)[r * n + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    for (var i = 0u; i < n; i = i + 1u) {
        (*w)[i] = (*a)[i * n + i] * amax;
    }
}

// linalg::PsdFactor::factor in f32: eigenpairs with lambda > RANK_RTOL_F32 lambda_max; the
// factor goes to `fac` (rank x n), the pseudo-inverse (when asked) to `pinvw`. Returns the rank.
fn psd_factor(sig: ptr<function, array<f32, 64>>, n: u32, want_pinv: bool) -> u32 {
    var v: array<f32, 64>;
    var w: array<f32, 8>;
    sym_eigen(sig, n, &v, &w);
    var lmax = 0.0;
    for (var m = 0u; m < n; m = m + 1u) { lmax = max(lmax, w[m]); }
    let cut = RANK_RTOL_F32 * lmax;
    if (want_pinv) {
        for (var i = 0u; i < n * n; i = i + 1u) { pinvw[i] = 0.0; }
    }
    var r = 0u;
    for (var m = 0u; m < n; m = m + 1u) {
        let lam = w[m];
        if (lam > cut) {
            let s = sqrt(lam);
            for (var i = 0u; i < n; i = i + 1u) {
                fac[r * n + i] = s * v[i * n + m];
            }
            if (want_pinv) {
                let inv = 1.0 / lam;
                for (var i = 0u; i < n; i = i + 1u) {
                    let vi = v[i * n + m] * inv;
                    for (var j = 0u; j < n; j = j + 1u) {
                        pinvw[i * n + j] = pinvw[i * n + j] + vi * v[j * n + m];
                    }
                }
            }
            r = r + 1u;
        }
    }
    return r;
}

fn block_len(n: u32) -> u32 {
    return (n + WG - 1u) / WG;
}

@compute @workgroup_size(WG)
fn mf_main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let net_local = wid.x;
    if (net_local >= params.count) {
        return;
    }
    if (params.phase == 0u) {
        forward(net_local, lid.x);
    } else {
        backward(net_local, lid.x);
    }
}

fn forward(net_local: u32, t: u32) {
    let key = params.key;
    let net = params.net_start + net_local;
    let base = net_local * params.stride;
    let outb = net_local * params.n_values;
    let k = params.k;
    let n_in = params.n_in;
    let n_out = params.n_out;
    let l = params.layer;
    let ain = base + params.in_off;
    let bi = block_len(n_in);
    let j0 = min(t * bi, n_in);
    let j1 = min(j0 + bi, n_in);

    if (l == 1u) {
        // Only the K input columns: the tangent columns u of A^0 are never read here.
        for (var j = j0; j < j1; j = j + 1u) {
            for (var a = 0u; a < k; a = a + 1u) {
                scratch[ain + a * n_in + j] = inputs[a * n_in + j];
            }
        }
        storageBarrier();
    }

    // Layer 1: A^0 = the inputs, the same for every network, so the host factored Sigma^1 in
    // f64 exactly as the CPU twin does (equal-norm inputs give equal diagonal entries, where
    // Jacobi's first rotation direction is decided by rounding): gram, rank, S from `inputs`.
    if (params.rank_off != NONE) {
        if (t == 0u) {
            let ho = params.rank_off;
            for (var x = 0u; x < k * k; x = x + 1u) {
                scratch[base + params.aa_off + x] = inputs[ho + x];
            }
            if (OFF_JAC == NONE) {
                let r = u32(inputs[ho + k * k]);
                for (var x = 0u; x < r * k; x = x + 1u) {
                    fac[x] = inputs[ho + k * k + 1u + x];
                }
                info[0] = r;
            } else {
                let lo = net_local * (1u + C * C);
                let r = u32(l1fac[lo]);
                for (var x = 0u; x < r * C; x = x + 1u) {
                    fac[x] = l1fac[lo + 1u + x];
                }
                info[0] = r;
            }
        }
    } else {
    // Gram matrix A^T A: C (C + 1) / 2 partial dot products, reduced over the workgroup.
    var p = 0u;
    for (var a = 0u; a < C; a = a + 1u) {
        for (var b = a; b < C; b = b + 1u) {
            var s = 0.0;
            for (var j = j0; j < j1; j = j + 1u) {
                s = s + scratch[ain + a * n_in + j] * scratch[ain + b * n_in + j];
            }
            red[p * WG + t] = s;
            p = p + 1u;
        }
    }
    wg_reduce(t, p);
    if (t == 0u) {
        var sig: array<f32, 64>;
        let scale2 = params.scale * params.scale;
        let cb = params.sqrt_cb * params.sqrt_cb;
        var q = 0u;
        for (var a = 0u; a < C; a = a + 1u) {
            for (var b = a; b < C; b = b + 1u) {
                let g = red[q * WG];
                if (b < k) {
                    scratch[base + params.aa_off + a * k + b] = g;
                    scratch[base + params.aa_off + b * k + a] = g;
                }
                // The bias enters the input columns only.
                let sv = scale2 * g + select(0.0, cb, b < k);
                sig[a * C + b] = sv;
                sig[b * C + a] = sv;
                q = q + 1u;
            }
        }
        let keep = params.pinv_off != NONE;
        info[0] = psd_factor(&sig, C, keep);
        if (keep) {
            for (var i = 0u; i < C * C; i = i + 1u) {
                scratch[base + params.pinv_off + i] = pinvw[i];
            }
        }
    }
    }
    workgroupBarrier();
    let r = info[0];

    // H = Z S: Z (n_out x r) element (i, m) is element m n_out + i of the flat stream.
    let tag5 = stream_tag(PURPOSE_MF_FORWARD, l);
    let bo = block_len(n_out);
    let i0 = min(t * bo, n_out);
    let i1 = min(i0 + bo, n_out);
    var cidx: array<u32, 8>;
    var cval: array<vec4<f32>, 8>;
    for (var m = 0u; m < 8u; m = m + 1u) { cidx[m] = NONE; }
    var jsum: array<f32, 8>;
    for (var a = 0u; a < 8u; a = a + 1u) { jsum[a] = 0.0; }
    var zsq: array<f32, 8>;
    for (var a = 0u; a < 8u; a = a + 1u) { zsq[a] = 0.0; }
    for (var i = i0; i < i1; i = i + 1u) {
        var hv: array<f32, 8>;
        for (var c = 0u; c < C; c = c + 1u) { hv[c] = 0.0; }
        for (var m = 0u; m < r; m = m + 1u) {
            let e = m * n_out + i;
            let blk = e >> 2u;
            if (cidx[m] != blk) {
                cidx[m] = blk;
                cval[m] = normals4(philox4x32_10(vec4<u32>(net, tag5, 0u, blk), key));
            }
            let z = cval[m][e & 3u];
            for (var c = 0u; c < C; c = c + 1u) {
                hv[c] = hv[c] + fac[m * C + c] * z;
            }
        }
        // z^l = H (+ z^{l-1} on a residual layer, tangents included).
        var zv: array<f32, 8>;
        for (var c = 0u; c < C; c = c + 1u) {
            let h = hv[c];
            if (params.h_off != NONE) {
                scratch[base + params.h_off + c * n_out + i] = h;
            }
            var z = h;
            if (params.out_off != NONE && Z_OFF != NONE) {
                let zi = base + Z_OFF + c * n_out + i;
                if (params.residual != 0u) {
                    z = scratch[zi] + ALPHA * h;
                }
                scratch[zi] = z;
            }
            zv[c] = z;
        }
        for (var a = 0u; a < k; a = a + 1u) {
            if (OFF_SQ != NONE) {
                zsq[a] = zsq[a] + zv[a] * zv[a];
            }
            if (params.out_off != NONE) {
                // a^l = sigma(z^l), da^l = sigma'(z^l) (.) dz^l.
                let ad = act_eval(params.act, params.act_p, params.act_m, zv[a]);
                scratch[base + params.out_off + a * n_out + i] = ad.x;
                scratch[base + params.dact_off + a * n_out + i] = ad.y;
                if (C > k) {
                    scratch[base + params.out_off + (k + a) * n_out + i] = ad.y * zv[k + a];
                }
            } else {
                if (i == 0u && params.obs_output != 0u) {
                    out[outb + a] = zv[a];
                }
                if (C > k) {
                    jsum[a] = jsum[a] + zv[k + a] * zv[k + a];
                }
            }
        }
    }
    // One reduction for this layer's squared norms ||z^l(x_a)||^2 (rows 0..K) and the readout's
    // Jacobian norms ||J(x_a) u|| = ||dz^{L+1}_a|| over all n_out output units (rows K..2K).
    // Uniform control flow: the condition depends on module constants and parameters only.
    let want_jac = params.out_off == NONE && OFF_JAC != NONE;
    if (OFF_SQ != NONE || want_jac) {
        workgroupBarrier();
        for (var a = 0u; a < k; a = a + 1u) {
            red[a * WG + t] = zsq[a];
            red[(k + a) * WG + t] = jsum[a];
        }
        wg_reduce(t, 2u * k);
        if (t == 0u) {
            for (var a = 0u; a < k; a = a + 1u) {
                if (OFF_SQ != NONE) {
                    out[outb + OFF_SQ + (l - 1u) * k + a] = red[a * WG] / f32(n_out);
                }
                if (want_jac) {
                    out[outb + OFF_JAC + a] = sqrt(red[(k + a) * WG]);
                }
            }
        }
    }
}

fn backward(net_local: u32, t: u32) {
    let key = params.key;
    let net = params.net_start + net_local;
    let base = net_local * params.stride;
    let outb = net_local * params.n_values;
    let k = params.k;
    let n_in = params.n_in;
    let n_out = params.n_out;
    let l = params.layer;
    let first = params.phase == 2u;
    let rows = select(n_out, 1u, first);
    let ain = base + params.in_off;
    let dcur = base + params.d_cur;
    let hb = base + params.h_off;

    // Delta^T Delta (K x K) and C = H^T Delta (C x K) over the rows of delta.
    let br = block_len(rows);
    let i0 = min(t * br, rows);
    let i1 = min(i0 + br, rows);
    let nred = k * k + C * k;
    for (var x = 0u; x < nred; x = x + 1u) { red[x * WG + t] = 0.0; }
    for (var i = i0; i < i1; i = i + 1u) {
        for (var a = 0u; a < k; a = a + 1u) {
            var da = 1.0;
            if (!first) { da = scratch[dcur + a * n_out + i]; }
            for (var b = 0u; b < k; b = b + 1u) {
                var db = 1.0;
                if (!first) { db = scratch[dcur + b * n_out + i]; }
                red[(a * k + b) * WG + t] = red[(a * k + b) * WG + t] + da * db;
            }
            if (l > 1u) {
                for (var c = 0u; c < C; c = c + 1u) {
                    let x = k * k + c * k + a;
                    red[x * WG + t] = red[x * WG + t] + scratch[hb + c * n_out + i] * da;
                }
            }
        }
    }
    wg_reduce(t, nred);
    if (t == 0u) {
        var dd: array<f32, 64>;
        for (var x = 0u; x < k * k; x = x + 1u) {
            dd[x] = red[x * WG];
        }
        for (var x = 0u; x < C * k; x = x + 1u) {
            cmat[x] = red[(k * k + x) * WG];
        }
        var p = 0u;
        for (var a = 0u; a < k; a = a + 1u) {
            for (var b = a; b < k; b = b + 1u) {
                let d = dd[a * k + b];
                let aa = scratch[base + params.aa_off + a * k + b];
                let contrib = params.wfac * aa * d + params.bfac * d;
                if (first) {
                    out[outb + params.off_ntk + p] = contrib;
                } else {
                    out[outb + params.off_ntk + p] = out[outb + params.off_ntk + p] + contrib;
                }
                p = p + 1u;
            }
        }
        if (l > 1u) {
            info[0] = psd_factor(&dd, k, false);
            for (var x = 0u; x < C * C; x = x + 1u) {
                pinvw[x] = scratch[base + params.pinv_off + x];
            }
        }
    }
    if (l == 1u) {
        return;
    }
    workgroupBarrier();
    let q = info[0];

    // Live input units (a unit is dead when its rows of A and sigma' are all exactly zero),
    // ranked in increasing order by an exclusive scan of the per-thread counts.
    let dact = base + params.dact_off;
    let bi = block_len(n_in);
    let j0 = min(t * bi, n_in);
    let j1 = min(j0 + bi, n_in);
    var cnt = 0u;
    for (var j = j0; j < j1; j = j + 1u) {
        var live = false;
        for (var a = 0u; a < k; a = a + 1u) {
            live = live || scratch[dact + a * n_in + j] != 0.0;
        }
        for (var c = 0u; c < C; c = c + 1u) {
            live = live || scratch[ain + c * n_in + j] != 0.0;
        }
        cnt = cnt + select(0u, 1u, live);
    }
    scan[t] = cnt;
    workgroupBarrier();
    for (var o = 1u; o < WG; o = o << 1u) {
        var v = scan[t];
        if (t >= o) { v = v + scan[t - o]; }
        workgroupBarrier();
        scan[t] = v;
        workgroupBarrier();
    }
    let total = scan[WG - 1u];
    let n_rows = total + params.has_bias;
    let gstride = n_in + 1u;
    let gb = base + params.g_off;
    let tag6 = stream_tag(PURPOSE_MF_BACKWARD, l);

    // G~ = Y T over the live rows (zeros on the dead ones); partial sums of A^T G.
    var cidx: array<u32, 8>;
    var cval: array<vec4<f32>, 8>;
    for (var m = 0u; m < 8u; m = m + 1u) { cidx[m] = NONE; }
    var rpart: array<f32, 64>;
    for (var x = 0u; x < C * k; x = x + 1u) { rpart[x] = 0.0; }
    var rk = scan[t] - cnt;
    for (var j = j0; j < j1; j = j + 1u) {
        var live = false;
        for (var a = 0u; a < k; a = a + 1u) {
            live = live || scratch[dact + a * n_in + j] != 0.0;
        }
        for (var c = 0u; c < C; c = c + 1u) {
            live = live || scratch[ain + c * n_in + j] != 0.0;
        }
        var g: array<f32, 8>;
        for (var a = 0u; a < k; a = a + 1u) { g[a] = 0.0; }
        if (live) {
            for (var m = 0u; m < q; m = m + 1u) {
                let e = m * n_rows + rk;
                let blk = e >> 2u;
                if (cidx[m] != blk) {
                    cidx[m] = blk;
                    cval[m] = normals4(philox4x32_10(vec4<u32>(net, tag6, 0u, blk), key));
                }
                let y = cval[m][e & 3u];
                for (var a = 0u; a < k; a = a + 1u) {
                    g[a] = g[a] + fac[m * k + a] * y;
                }
            }
            rk = rk + 1u;
        }
        for (var a = 0u; a < k; a = a + 1u) {
            scratch[gb + a * gstride + j] = g[a];
        }
        for (var c = 0u; c < C; c = c + 1u) {
            let x = scratch[ain + c * n_in + j];
            for (var a = 0u; a < k; a = a + 1u) {
                rpart[c * k + a] = rpart[c * k + a] + x * g[a];
            }
        }
    }
    if (t == 0u) {
        for (var a = 0u; a < k; a = a + 1u) { gbias[a] = 0.0; }
        if (params.has_bias != 0u) {
            for (var m = 0u; m < q; m = m + 1u) {
                let e = m * n_rows + total;
                let y = normals4(philox4x32_10(vec4<u32>(net, tag6, 0u, e >> 2u), key))[e & 3u];
                for (var a = 0u; a < k; a = a + 1u) {
                    gbias[a] = gbias[a] + fac[m * k + a] * y;
                }
            }
        }
    }
    for (var x = 0u; x < C * k; x = x + 1u) { red[x * WG + t] = rpart[x]; }
    wg_reduce(t, C * k);
    if (t == 0u) {
        // R = s A^T G + sqrt(C_b) e_in g_bias^T (the bias on the input columns only);
        // M = s Sigma+ (C - R).
        var dr: array<f32, 64>;
        for (var c = 0u; c < C; c = c + 1u) {
            for (var a = 0u; a < k; a = a + 1u) {
                var rv = params.scale * red[(c * k + a) * WG];
                if (c < k) {
                    rv = rv + params.sqrt_cb * gbias[a];
                }
                dr[c * k + a] = cmat[c * k + a] - rv;
            }
        }
        for (var c = 0u; c < C; c = c + 1u) {
            for (var a = 0u; a < k; a = a + 1u) {
                var v = 0.0;
                for (var e = 0u; e < C; e = e + 1u) {
                    v = v + pinvw[c * C + e] * dr[e * k + a];
                }
                mm[c * k + a] = params.scale * v;
            }
        }
    }
    workgroupBarrier();

    // W^T delta = G + A M; delta^{l-1} = (delta^l +) alpha s sigma' (.) W^T delta, where
    // delta^l has n_out = n_in rows on a residual layer.
    let dprev = base + params.d_prev;
    let res = params.residual != 0u;
    let f = select(1.0, ALPHA, res) * params.scale;
    for (var j = j0; j < j1; j = j + 1u) {
        for (var a = 0u; a < k; a = a + 1u) {
            var v = scratch[gb + a * gstride + j];
            for (var c = 0u; c < C; c = c + 1u) {
                v = v + scratch[ain + c * n_in + j] * mm[c * k + a];
            }
            var d = f * scratch[dact + a * n_in + j] * v;
            if (res) {
                d = d + scratch[dcur + a * n_out + j];
            }
            scratch[dprev + a * n_in + j] = d;
        }
    }
}

//! The matrix-free engine on the GPU (kernel: shaders/matrix_free.wgsl; CPU twin:
//! [`crate::MatrixFreeEngine`], derivation in docs/engines.md).
//!
//! One workgroup draws one network; one dispatch runs one layer (forward, then backward for the
//! NTK) of every network of a chunk, so each invocation stays far below lavapipe's 65 535 loop
//! iterations (docs/gpu.md). The random streams are the CPU twin's (Z^l and Y^l as flat
//! column-major streams, purposes 5 and 6; the same dead-row compaction), so every network gets
//! the CPU's values up to f32 rounding wherever both sides find the same ranks and live rows.
//! A chunk never straddles a multiple of 2^32 networks: all its networks share one Philox key
//! ([`crate::stream::network_key`], computed here per chunk and passed in the parameters) and
//! the kernel forms word c0 as `net_start + workgroup id` in 32 bits.
//!
//! Scope: Gaussian weights, K <= 8 inputs (K <= 4 with Jacobian norms, whose c = 2K columns
//! must fit the kernel's 8), observables output, NTK, sqnorm (a workgroup reduction of z^l per
//! layer and input in the forward pass) and Jacobian norms, residual nets (z^l kept in one block
//! updated in place; the skip path in the backward pass, α² in the NTK factors).
//!
//! With Jacobian norms Σ^1 contains the per-network direction u, so the host draws u and
//! factors Σ^1 for every network of a chunk (in f64, as the CPU twin; rayon over the chunk):
//! O(n0 K + c³) host work per network, against the GPU's O(L n c²).

use super::context::GpuContext;
use super::dense::{act_code, LOOP_BUDGET, PARAMS_BYTES};
use super::shaders::{module_source, ACTIVATION, MATRIX_FREE, NORMAL, PHILOX, REDUCE};
use super::wgsl_constants::NONE;

use crate::activation::LayerActivation;
use crate::stream::{network_stream, networks_sharing_key};
use crate::{BatchSampler, Problem, SamplerError};
use randnet_problem::{Primitive, WeightLaw};

/// Relative eigenvalue cutoff of the f32 factorizations (CPU: `linalg::RANK_RTOL` = 1e-10).
/// A Gram matrix summed in f32 carries entry errors ~ sqrt(n) 6e-8 λ_max (~1e-6 at n = 300)
/// and Jacobi in f32 adds ~1e-7 λ_max: exact zeros (coinciding inputs, the rank-1 ΔᵀΔ of the
/// readout) show up as eigenvalues of 1e-8..1e-6 λ_max, far above 1e-10, so the CPU's cutoff
/// would keep spurious directions. 1e-6 drops them (at moderate widths); a dropped genuine
/// direction carries at most sqrt(1e-6) = 1e-3 of the columns' norm.
pub const RANK_RTOL_F32: f32 = 1e-6;

/// At most this many cyclic Jacobi sweeps in matrix_free.wgsl's f32 `sym_eigen` (generated into
/// the WGSL as `MAX_SWEEPS_F32`); the f64 CPU twin, `linalg::sym_eigen`, allows 64. The two
/// values are deliberate. Neither cap is what normally ends a solve: Jacobi converges
/// quadratically and stops on its own test (~3 sweeps on average for c <= 6, docs/engines.md;
/// 6-10 at most for n <= 32 in f64; fewer for the f32 test off² <= 1e-12 (diag² + 2 off²) with
/// K <= 8). On the GPU, though, the cap bounds the host's pessimistic count of loop iterations
/// per invocation (`jacobi` in [`GpuMatrixFree::new`]), which must stay under lavapipe's 65 535
/// ([`super::dense::LOOP_BUDGET`] = 50 000; docs/gpu.md): at K = 8 one sweep counts 576
/// iterations, so 16 sweeps let lavapipe run widths up to ~2 500, 64 sweeps only up to ~500.
/// The CPU has no such limit, and its 64 must stay: a lower cap could change CPU values bitwise
/// on a matrix that needs more sweeps, and CPU values do not change.
pub const MAX_SWEEPS_F32: u32 = 16;

/// The per-problem constants of the matrix-free kernel (module constants, not per-dispatch
/// parameters: the same for every dispatch of a problem).
#[derive(Debug, Clone, Copy)]
pub(crate) struct MfConsts {
    /// Workgroup size (a power of two).
    pub wg: u32,
    /// Values reduced at once.
    pub red: u32,
    /// Scratch offset of the z block ([`NONE`] without residual layers).
    pub z_off: u32,
    /// The residual branch factor α (1 without).
    pub alpha: f32,
    /// Columns pushed through the layers: K, or 2K with Jacobian tangents.
    pub cols: u32,
    /// Offset of the Jacobian norms in a network's values ([`NONE`] without).
    pub off_jac: u32,
    /// Offset of the squared norms in a network's values ([`NONE`] without).
    pub off_sq: u32,
}

/// The WGSL module of the matrix-free kernel for the constants `c`.
pub(crate) fn mf_source(c: MfConsts) -> String {
    let MfConsts {
        wg,
        red,
        z_off,
        alpha,
        cols,
        off_jac,
        off_sq,
    } = c;
    // `{:e}` prints the shortest decimal that reads back as the same f32, so ALPHA is exact.
    let header = format!(
        "const WG: u32 = {wg}u;\nconst RED: u32 = {red}u;\nconst RANK_RTOL_F32: f32 = {RANK_RTOL_F32:e};\n\
         const Z_OFF: u32 = {z_off}u;\nconst ALPHA: f32 = {alpha:e};\nconst C: u32 = {cols}u;\n\
         const OFF_JAC: u32 = {off_jac}u;\nconst OFF_SQ: u32 = {off_sq}u;"
    );
    module_source(&[&header, PHILOX, NORMAL, ACTIVATION, REDUCE, MATRIX_FREE])
}

/// The uniform block of shaders/matrix_free.wgsl (`Params`); the field order is the WGSL one.
/// It has the size of the dense kernel's block, so the context's dense layout serves both.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct MfParams {
    /// The Philox key of the chunk's networks (`stream::network_key`).
    key: [u32; 2],
    /// Word c0 of the chunk's first network (its low 32 bits); the chunk does not wrap.
    net_start: u32,
    count: u32,
    k: u32,
    phase: u32,
    layer: u32,
    g_off: u32,
    n_in: u32,
    n_out: u32,
    stride: u32,
    n_values: u32,
    obs_output: u32,
    /// 1 on a residual layer (l = 2..L of a residual net).
    residual: u32,
    off_ntk: u32,
    has_bias: u32,
    sqrt_cb: f32,
    scale: f32,
    rank_off: u32,
    wfac: f32,
    bfac: f32,
    act: u32,
    act_p: f32,
    act_m: f32,
    in_off: u32,
    out_off: u32,
    dact_off: u32,
    h_off: u32,
    aa_off: u32,
    pinv_off: u32,
    d_cur: u32,
    d_prev: u32,
}

const _: () = assert!(std::mem::size_of::<MfParams>() as u64 == PARAMS_BYTES);

/// The matrix-free engine on a wgpu device: a [`BatchSampler`] with backend "gpu", method
/// "matrix-free".
pub struct GpuMatrixFree {
    ctx: GpuContext,
    pipeline: wgpu::ComputePipeline,
    /// One parameter block per dispatch (chunk-independent fields filled in).
    blocks: Vec<MfParams>,
    /// The seed: each chunk's key is `stream::network_key(seed, first network)`.
    seed: u64,
    d: usize,
    chunk_max: usize,
    params: wgpu::Buffer,
    out: wgpu::Buffer,
    staging: wgpu::Buffer,
    bind: wgpu::BindGroup,
    _inputs: wgpu::Buffer,
    _scratch: wgpu::Buffer,
    /// Per-network factors of Σ^1 (rank, then S), with Jacobians only.
    l1fac: Option<L1Factors>,
    params_align: u64,
    stride_bytes: u64,
    cols: usize,
}

/// What the host needs to factor Σ^1 per network when the tangent direction u enters it.
struct L1Factors {
    buffer: wgpu::Buffer,
    inputs: Vec<Vec<f64>>,
    cw: f64,
    cb: f64,
}

impl L1Factors {
    /// f32 words per network: the rank, then S (up to c x c).
    fn words(cols: usize) -> usize {
        1 + cols * cols
    }

    /// Rank and S of Σ^1 for networks `net_start..net_start + count` into `out`, computed as
    /// the CPU twin does (`inputs::fill_layer0`, `dense::dot` over the c columns of A^0,
    /// `PsdFactor`), so that both sides get the same eigenvectors, in the same order and with
    /// the same signs.
    fn fill(&self, seed: u64, net_start: u64, count: usize, out: &mut [f32]) {
        use rayon::prelude::*;
        let k = self.inputs.len();
        let n0 = self.inputs[0].len();
        let c = 2 * k;
        let words = Self::words(c);
        let s2 = self.cw / n0 as f64;
        out[..count * words]
            .par_chunks_mut(words)
            .enumerate()
            .for_each_init(
                || {
                    (
                        Vec::new(),
                        vec![0.0f64; n0 * c],
                        vec![0.0f64; c * c],
                        crate::linalg::PsdFactor::default(),
                    )
                },
                |(u, a0, sig, f), (i, o)| {
                    let (key, net32) = network_stream(seed, net_start + i as u64);
                    crate::inputs::fill_layer0(key, net32, &self.inputs, true, u, a0);
                    for x in 0..c {
                        for y in x..c {
                            let g = crate::dense::dot(
                                &a0[x * n0..(x + 1) * n0],
                                &a0[y * n0..(y + 1) * n0],
                            );
                            let bias = if x < k && y < k { self.cb } else { 0.0 };
                            let v = s2 * g + bias;
                            sig[x * c + y] = v;
                            sig[y * c + x] = v;
                        }
                    }
                    f.factor(sig, c, false);
                    o.iter_mut().for_each(|v| *v = 0.0);
                    o[0] = f.rank as f32;
                    for (d, &v) in o[1..].iter_mut().zip(&f.sqrt) {
                        *d = v as f32;
                    }
                },
            );
    }
}

fn unsupported(msg: &str) -> SamplerError {
    SamplerError::Unsupported(format!("GPU matrix-free engine: {msg}; use --backend cpu"))
}

impl GpuMatrixFree {
    pub fn new(ctx: &GpuContext, problem: &Problem) -> Result<Self, SamplerError> {
        problem.validate()?;
        let spec = &problem.spec;
        let observe = problem.observe;
        if spec.weights != WeightLaw::Gaussian {
            return Err(SamplerError::Unsupported(format!(
                "the matrix-free method needs Gaussian weights (got {}); use --method dense",
                spec.weights
            )));
        }
        let jac = observe.needs(Primitive::JacobianNorm);
        let depth = spec.depth();
        let residual = (1..=depth + 1).any(|l| spec.is_residual_layer(l));
        // The CPU twin's α: its f32 rounding is one more relative error of ~6e-8 per layer.
        let alpha = spec.residual_alpha().unwrap_or(1.0);
        let k = problem.inputs.len();
        if k == 0 || k > 8 {
            return Err(unsupported("needs 1..=8 inputs"));
        }
        if jac && k > 4 {
            return Err(unsupported(
                "Jacobian norms need 1..=4 inputs (2K columns, at most 8)",
            ));
        }
        let cols = if jac { 2 * k } else { k };
        let ntk = observe.needs(Primitive::Ntk);
        let sqnorm = observe.needs(Primitive::Sqnorm);
        let w = spec.layer_widths();
        let limits = ctx.limits().clone();

        // Workgroup size: 64 threads unless workgroup memory is short.
        // The largest reduction: the Gram matrix (c (c + 1) / 2) or ΔᵀΔ with HᵀΔ (K² + c K);
        // the forward pass's squared and Jacobian norms (2K) fit in K² + c K.
        let red = (cols * (cols + 1) / 2).max(k * k + cols * k).max(2) as u32;
        let mut wg = 64u32.min(limits.max_compute_invocations_per_workgroup);
        while wg > 16
            && (red * wg + wg + 4 * 64 + 16) * 4 > limits.max_compute_workgroup_storage_size
        {
            wg /= 2;
        }
        // Pessimistic loop iterations of one dispatch (one layer) per invocation.
        let nmax = w.iter().copied().max().unwrap_or(1) as u64;
        let b = nmax.div_ceil(wg as u64) + 1;
        // Counted at c columns (c <= 8 either way, so the bound is the K = 8 one at most).
        let kk = cols as u64;
        let jacobi = MAX_SWEEPS_F32 as u64 * (kk + kk * kk + kk * (kk - 1) / 2 * (2 * kk + 2))
            + 4 * kk * kk * kk;
        // sqnorm adds K iterations per row of the forward pass.
        let per_layer = b * (6 * kk * kk + 8 * kk + 8 + if sqnorm { kk } else { 0 }) * 2
            + (wg.trailing_zeros() as u64 + 2) * (2 * kk * kk + 1) * 2
            + jacobi;
        if per_layer > LOOP_BUDGET && !ctx.is_hardware() {
            return Err(unsupported(&format!(
                "one layer needs ~{per_layer} loop iterations per invocation and the CPU \
                 adapter {} ends shaders after 65535",
                ctx.adapter_name()
            )));
        }

        // ---- scratch layout of one network (f32 words) ----
        let mut off = 0usize;
        let mut in_off = vec![0usize; depth + 1];
        for (m, o) in in_off.iter_mut().enumerate() {
            *o = off;
            off += w[m] * cols;
        }
        let mut dact_off = vec![0usize; depth + 1];
        for (m, o) in dact_off.iter_mut().enumerate().skip(1) {
            *o = off;
            off += w[m] * k;
        }
        let mut h_off = vec![NONE; depth + 2];
        let mut pinv_off = vec![NONE; depth + 2];
        let mut aa_off = vec![0u32; depth + 2];
        for l in 1..=depth + 1 {
            aa_off[l] = off as u32;
            off += k * k;
            if ntk && l >= 2 {
                h_off[l] = off as u32;
                off += w[l] * cols;
                pinv_off[l] = off as u32;
                off += cols * cols;
            }
        }
        // z^l of the hidden layers, which all have one width in a residual net (validated).
        let z_off = if residual {
            let o = off as u32;
            off += w[1] * cols;
            o
        } else {
            NONE
        };
        let dsize = if ntk { nmax as usize * k } else { 0 };
        let d_off = [off, off + dsize];
        off += 2 * dsize;
        let g_off = off;
        if ntk {
            off += (nmax as usize + 1) * k;
        }
        let stride = off.max(1);
        let stride_bytes = stride as u64 * 4;

        // ---- values ----
        let npairs = k * (k + 1) / 2;
        let off_ntk = if observe.needs(Primitive::Output) {
            k
        } else {
            0
        };
        // Primitive order: output, ntk, sqnorm (layer-major: l = 1..L+1, then a), jacobian.
        let off_sq = off_ntk + if ntk { npairs } else { 0 };
        let off_jac = off_sq + if sqnorm { (depth + 1) * k } else { 0 };
        let d = off_jac + if jac { k } else { 0 };
        debug_assert_eq!(d, problem.n_values());

        // ---- chunk size ----
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        if stride_bytes > max_binding || stride > u32::MAX as usize / 8 {
            return Err(SamplerError::TooLarge(format!(
                "one network needs {} MiB of GPU working memory, more than the adapter's \
                 storage-buffer limit ({} MiB)",
                stride_bytes >> 20,
                max_binding >> 20
            )));
        }
        let cap: u64 = if ctx.is_hardware() {
            1 << 31
        } else {
            256 << 20
        };
        let nets_cap: u64 = if ctx.is_hardware() { 65_535 } else { 2048 };
        let chunk_max = (cap.min(max_binding) / stride_bytes)
            .min(max_binding / (d.max(1) as u64 * 4))
            .min(limits.max_compute_workgroups_per_dimension as u64)
            .min(nets_cap)
            .max(1) as usize;

        // ---- per-dispatch parameter blocks ----
        let proto = MfParams {
            // key and net_start: set per chunk (run_chunk).
            k: k as u32,
            g_off: g_off as u32,
            stride: stride as u32,
            n_values: d as u32,
            obs_output: observe.needs(Primitive::Output) as u32,
            off_ntk: off_ntk as u32,
            has_bias: (spec.cb > 0.0) as u32,
            sqrt_cb: spec.cb.sqrt() as f32,
            rank_off: NONE,
            ..Default::default()
        };
        let mut blocks = Vec::new();
        for l in 1..=depth + 1 {
            let (n_in, n_out) = (w[l - 1], w[l]);
            let (kind, p, m) = if l <= depth {
                act_code(LayerActivation::resolve(spec, n_out))
            } else {
                (0, 1.0, 1.0)
            };
            blocks.push(MfParams {
                phase: 0,
                layer: l as u32,
                n_in: n_in as u32,
                n_out: n_out as u32,
                scale: (spec.cw / n_in as f64).sqrt() as f32,
                residual: spec.is_residual_layer(l) as u32,
                act: kind,
                act_p: p,
                act_m: m,
                in_off: in_off[l - 1] as u32,
                out_off: if l <= depth { in_off[l] as u32 } else { NONE },
                dact_off: if l <= depth { dact_off[l] as u32 } else { NONE },
                h_off: h_off[l],
                aa_off: aa_off[l],
                pinv_off: pinv_off[l],
                ..proto
            });
        }
        if ntk {
            for l in (1..=depth + 1).rev() {
                let (n_in, n_out) = (w[l - 1], w[l]);
                let (wfac, bfac) = spec.ntk_factors(l);
                // A residual layer's parameters enter through α: α² on its NTK term.
                let branch2 = if spec.is_residual_layer(l) {
                    alpha * alpha
                } else {
                    1.0
                };
                blocks.push(MfParams {
                    phase: if l == depth + 1 { 2 } else { 1 },
                    layer: l as u32,
                    n_in: n_in as u32,
                    n_out: n_out as u32,
                    scale: (spec.cw / n_in as f64).sqrt() as f32,
                    residual: spec.is_residual_layer(l) as u32,
                    wfac: (branch2 * wfac) as f32,
                    bfac: (branch2 * bfac) as f32,
                    in_off: in_off[l - 1] as u32,
                    out_off: NONE,
                    dact_off: if l >= 2 { dact_off[l - 1] as u32 } else { NONE },
                    h_off: if l >= 2 { h_off[l] } else { 0 },
                    aa_off: aa_off[l],
                    pinv_off: if l >= 2 { pinv_off[l] } else { NONE },
                    d_cur: d_off[l % 2] as u32,
                    d_prev: d_off[(l - 1) % 2] as u32,
                    ..proto
                });
            }
        }

        // ---- buffers ----
        use wgpu::BufferUsages as U;
        let n0 = w[0];
        let mut xs = vec![0f32; n0 * k];
        for (a, x) in problem.inputs.iter().enumerate() {
            for j in 0..n0 {
                xs[a * n0 + j] = x[j] as f32;
            }
        }
        let queue = ctx.queue();
        // Σ^1 depends only on the inputs: factored once here in f64 exactly as the CPU twin
        // does (its eigenvector order and signs then match; equal-norm inputs make Jacobi's
        // first rotation a rounding decision). Appended to the inputs: gram, rank, S.
        let host_off = xs.len();
        {
            let s2 = spec.cw / n0 as f64;
            let mut gram = vec![0.0f64; k * k];
            let mut sig = vec![0.0f64; k * k];
            for a in 0..k {
                for b in 0..k {
                    // The CPU twin's summation order (crate::dense::dot), so the same bits.
                    let g = crate::dense::dot(&problem.inputs[a], &problem.inputs[b]);
                    gram[a * k + b] = g;
                    sig[a * k + b] = s2 * g + spec.cb;
                }
            }
            let mut f = crate::linalg::PsdFactor::default();
            f.factor(&sig, k, false);
            xs.extend(gram.iter().map(|&v| v as f32));
            xs.push(f.rank as f32);
            xs.extend(f.sqrt.iter().map(|&v| v as f32));
        }
        blocks[0].rank_off = host_off as u32;
        let input_bytes: &[u8] = bytemuck::cast_slice(&xs);
        let inputs = ctx.buffer(
            "matrix-free inputs",
            input_bytes.len().max(16) as u64,
            U::STORAGE | U::COPY_DST,
        )?;
        queue.write_buffer(&inputs, 0, input_bytes);
        let scratch = ctx.buffer(
            "matrix-free scratch",
            chunk_max as u64 * stride_bytes,
            U::STORAGE,
        )?;
        let l1fac = if jac {
            let bytes = (chunk_max * L1Factors::words(cols) * 4) as u64;
            Some(L1Factors {
                buffer: ctx.buffer(
                    "matrix-free layer-1 factors",
                    bytes,
                    U::STORAGE | U::COPY_DST,
                )?,
                inputs: problem.inputs.clone(),
                cw: spec.cw,
                cb: spec.cb,
            })
        } else {
            None
        };
        let params_align = (limits.min_uniform_buffer_offset_alignment as u64).max(PARAMS_BYTES);
        let params = ctx.buffer(
            "matrix-free params",
            params_align * blocks.len() as u64,
            U::UNIFORM | U::COPY_DST,
        )?;
        let out_bytes = (chunk_max * d * 4) as u64;
        let out = ctx.buffer("matrix-free out", out_bytes, U::STORAGE | U::COPY_SRC)?;
        let staging = ctx.buffer("matrix-free staging", out_bytes, U::MAP_READ | U::COPY_DST)?;
        // Binding 1 (the dense kernel's layer table): the per-network Σ^1 factors with
        // Jacobians, else unused.
        let layer1 = l1fac.as_ref().map_or(&inputs, |f| &f.buffer);
        let bind = ctx.engine_bind_group("matrix-free", &params, [layer1, &inputs, &scratch, &out]);
        let source = mf_source(MfConsts {
            wg,
            red,
            z_off,
            alpha: alpha as f32,
            cols: cols as u32,
            off_jac: if jac { off_jac as u32 } else { NONE },
            off_sq: if sqnorm { off_sq as u32 } else { NONE },
        });
        let pipeline = ctx.pipeline("matrix_free", &source, "mf_main", true)?;
        ctx.check()?;
        Ok(GpuMatrixFree {
            ctx: ctx.clone(),
            pipeline,
            blocks,
            seed: problem.seed,
            d,
            chunk_max,
            params,
            out,
            staging,
            bind,
            _inputs: inputs,
            _scratch: scratch,
            l1fac,
            cols,
            params_align,
            stride_bytes,
        })
    }

    /// Networks per dispatch.
    pub fn chunk_size(&self) -> usize {
        self.chunk_max
    }

    /// GPU working memory of one network in bytes.
    pub fn bytes_per_network(&self) -> u64 {
        self.stride_bytes
    }

    /// Dispatches per chunk (one per layer forward, one per layer backward with the NTK).
    pub fn dispatches_per_chunk(&self) -> usize {
        self.blocks.len()
    }

    /// Runs networks `net_start..net_start + count`, which share one key (no multiple of 2^32
    /// strictly inside).
    fn run_chunk(&self, net_start: u64, count: usize, out: &mut [f64]) -> Result<(), SamplerError> {
        assert!(
            count as u64 <= networks_sharing_key(net_start),
            "a GPU chunk must not straddle a multiple of 2^32 networks"
        );
        let (key, c0) = network_stream(self.seed, net_start);
        if let Some(f) = &self.l1fac {
            let mut words = vec![0f32; count * L1Factors::words(self.cols)];
            f.fill(self.seed, net_start, count, &mut words);
            // Queued before the chunk's dispatches, so they read this chunk's factors.
            self.ctx
                .queue()
                .write_buffer(&f.buffer, 0, bytemuck::cast_slice(&words));
        }
        let params: Vec<MfParams> = self
            .blocks
            .iter()
            .map(|b| {
                let mut p = *b;
                p.key = key;
                p.net_start = c0;
                p.count = count as u32;
                p
            })
            .collect();
        let idx = self.ctx.submit_blocks(
            "matrix-free",
            &self.pipeline,
            &self.bind,
            &self.params,
            self.params_align as usize,
            &params,
            count as u32,
            &self.out,
            &self.staging,
            (count * self.d * 4) as u64,
        );
        self.ctx
            .read_f32(&self.staging, idx, &mut out[..count * self.d])
    }
}

impl BatchSampler for GpuMatrixFree {
    fn n_values(&self) -> usize {
        self.d
    }

    fn sample_batch(
        &mut self,
        start: u64,
        count: usize,
        out: &mut [f64],
    ) -> Result<(), SamplerError> {
        let shape = (start, count, self.d, self.chunk_max);
        let ctx = self.ctx.clone();
        super::sample_in_key_chunks(&ctx, shape, out, |first, n, rows| {
            self.run_chunk(first, n, rows)
        })
    }

    fn backend(&self) -> &'static str {
        "gpu"
    }

    fn method(&self) -> &'static str {
        "matrix-free"
    }

    fn preferred_batch(&self) -> Option<usize> {
        Some(self.chunk_max * 4)
    }
}

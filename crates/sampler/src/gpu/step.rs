//! The step engine on the GPU (kernel: shaders/step.wgsl; CPU twin: [`crate::step::StepEngine`];
//! docs/training.md, docs/engines.md "The step engine on the GPU").
//!
//! The training primitives (delta_output, delta_ntk, feature_change, feature_alignment) after
//! `--steps T` full-batch gradient steps, without ever storing W. A step changes layer l's
//! standardized weights by a matrix of rank K, Ŵ ← Ŵ + Σ_a c_a δ^l_a (a^{l−1}_a)ᵀ, so the kernel
//! keeps, per network, the vectors δ^l_a and a^{l−1}_a of every pass (K Σ_l n_l floats each per
//! step) and the residuals r_a: the forward pass after s steps computes Ŵ_s x = Ŵ x +
//! Σ c δ (a·x), regenerating Ŵ's rows from the Philox stream as the dense kernel does, and the
//! backward pass Ŵ_sᵀ δ' = Ŵᵀ δ' + Σ c a (δ·δ'); the bias changes are kept. Passes after the
//! first carry the changes since pass 0 (Δz, Δa, Δσ', Δδ, and ΔΘ summed from them), so no
//! observable is a difference of two f32 values of the size of what changes: the values keep
//! f32's relative accuracy at any learning rate (docs/engines.md).
//!
//! One workgroup per network; one dispatch runs one layer of one pass (forward or backward) for
//! every network of a chunk: (T + 1)(L + 1) forward and T (L + 1) backward dispatches, (L + 1)
//! more with delta_ntk. Parameters per dispatch through the dense kernel's bind-group layout
//! (a 128-byte block at a dynamic offset) and a per-layer table. f32 throughout; values agree
//! with the f64 CPU twin up to f32 rounding (tests/gpu_step.rs).

use super::context::GpuContext;
use super::dense::{act_code, LOOP_BUDGET, PARAMS_BYTES};
use super::shaders::step_source;
use super::wgsl_constants::{law_code, NONE};
use crate::activation::LayerActivation;
use crate::plan::{Cost, Device, Engine, Env, Request};
use crate::step::TRAINING;

/// The training primitives of the GPU twin: the CPU step engine's but `weight_change` (the
/// kernel never holds a layer's weights, so their Frobenius norms would cost another pass).
const GPU_TRAINING: PrimitiveSet = TRAINING.without(Primitive::WeightChange);
use crate::stream::{network_stream, networks_sharing_key};
use crate::{BatchSampler, Problem, SamplerError};
use randnet_problem::{Primitive, PrimitiveSet};

/// At most this many inputs (`KMAX` in shaders/step.wgsl: per-thread accumulators).
pub const MAX_INPUTS: usize = 8;

/// Values reduced at once in workgroup memory (`RED`).
const RED: u32 = 16;

/// The modelled rate of the kernel in regenerated weights per second on a datacenter GPU: half
/// the dense kernel's ~2e11 on an H100 (docs/performance.md), for its one dispatch per layer and
/// pass. Not measured yet (no hardware GPU was at hand when it was written).
const MODEL_WEIGHTS_PER_SECOND: f64 = 1e11;

/// The uniform block of shaders/step.wgsl (`Params`); the field order is the WGSL one. It has
/// the size of the dense kernel's block, so the context's dense layout serves it.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct StepParams {
    /// The Philox key of the chunk's networks (`stream::network_key`).
    key: [u32; 2],
    /// Word c0 of the chunk's first network (its low 32 bits); the chunk does not wrap.
    net_start: u32,
    count: u32,
    phase: u32,
    layer: u32,
    pass_idx: u32,
    k: u32,
    stride: u32,
    n_values: u32,
    law: u32,
    has_bias: u32,
    sqrt_cb: f32,
    steps: u32,
    depth: u32,
    need_ntk: u32,
    out_dout: u32,
    out_dntk: u32,
    out_fc: u32,
    out_fa: u32,
    off_r: u32,
    off_g: u32,
    off_ntkd: u32,
    off_y: u32,
    a_pass: u32,
    d_pass: u32,
    nan_bits: u32,
    pad: [u32; 5],
}

const _: () = assert!(std::mem::size_of::<StepParams>() as u64 == PARAMS_BYTES);

/// One entry of the layer table (`Layer` in shaders/step.wgsl).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct LayerEntry {
    n_in: u32,
    n_out: u32,
    act: u32,
    residual: u32,
    act_p: f32,
    act_m: f32,
    scale: f32,
    branch: f32,
    wfac: f32,
    bfac: f32,
    cfac: f32,
    bstep: f32,
    x_off: u32,
    x_pass: u32,
    a_off: u32,
    d_off: u32,
    dp_off: u32,
    s_off: u32,
    sp_off: u32,
    z_off: u32,
    zp_off: u32,
    b_off: u32,
    ds_off: u32,
    dsp_off: u32,
    da_off: u32,
    dap_off: u32,
    dz_off: u32,
    dzp_off: u32,
    dd_off: u32,
    ddp_off: u32,
    g0_off: u32,
    nt_off: u32,
}

/// Everything about a problem's kernel that needs no device: the workgroup size, the scratch
/// layout of one network, the value offsets, the dispatches. [`StepPlan::new`] is also what
/// [`StepGpu::supports`] asks, so a refusal comes before anything is allocated.
struct StepPlan {
    wg: u32,
    layers: Vec<LayerEntry>,
    /// Chunk-independent fields of every dispatch's parameters.
    blocks: Vec<StepParams>,
    stride: usize,
    d: usize,
    /// Weights regenerated per network (all dispatches).
    weights_per_network: f64,
}

/// The adapter facts [`StepPlan::new`] depends on.
struct AdapterFacts {
    max_wg: u32,
    workgroup_storage: u32,
    hardware: bool,
    name: String,
}

impl AdapterFacts {
    fn of(ctx: &GpuContext) -> Self {
        let limits = ctx.limits();
        AdapterFacts {
            max_wg: limits
                .max_compute_invocations_per_workgroup
                .min(limits.max_compute_workgroup_size_x)
                .min(256),
            workgroup_storage: limits.max_compute_workgroup_storage_size,
            hardware: ctx.is_hardware(),
            name: ctx.adapter_name().to_string(),
        }
    }
}

fn unsupported(msg: impl std::fmt::Display) -> SamplerError {
    SamplerError::Unsupported(format!("GPU step engine: {msg}; use --backend cpu"))
}

/// Pessimistic loop iterations per invocation of one dispatch, mirroring shaders/step.wgsl's
/// loops (lavapipe ends an invocation's loops after 65 535 in total, docs/gpu.md).
#[allow(clippy::too_many_arguments)]
fn loop_cost(
    wg: u64,
    k: u64,
    n_in: u64,
    n_out: u64,
    p: u64,
    backward: bool,
    first: bool,
    readout: bool,
) -> u64 {
    let red = RED as u64;
    let per = |n: u64| n.div_ceil(wg);
    let reduce = |nr: u64| wg.trailing_zeros() as u64 * (nr + 1) + 2;
    let coefficients =
        |n: u64| (p * k * k).div_ceil(red) * (red * (per(n) + 1) + reduce(red) + red + 1) + 1;
    let nb = n_in.div_ceil(4);
    let npairs = k * (k + 1) / 2;
    let c = if !backward {
        let mut c = per(n_in * k) + 1 + coefficients(n_in);
        c += per(n_out) * (2 * k + nb * (k + 1) + p * k * (k + 1) + 4);
        c += if readout {
            k + 1
        } else {
            per(n_out) + per(k * n_out) + reduce(4) + 4
        };
        c
    } else {
        let third = red / 3;
        let mut c = per(k * n_out)
            + 1
            + npairs.div_ceil(third)
                * (third * (k + per(n_out) + per(n_in) + 3) + reduce(red) + third + 1)
            + per(n_out) * (k + 1)
            + npairs
            + 2;
        if !first {
            c += coefficients(n_out)
                + per(nb) * (2 * k + n_out * (2 * k + 2) + 4 * k * (p * k + 2) + 6);
        }
        c
    };
    c + c / 4 + 16
}

impl StepPlan {
    fn new(problem: &Problem, adapter: &AdapterFacts) -> Result<Self, SamplerError> {
        problem.validate()?;
        let spec = &problem.spec;
        let observe = problem.observe;
        let step = spec
            .step
            .as_ref()
            .ok_or_else(|| unsupported("the training observables need --step-lr"))?;
        let other = observe.primitives().difference(GPU_TRAINING);
        if !other.is_empty() {
            return Err(unsupported(
                "it computes the training observables only (delta_output, delta_ntk, \
                 feature_change, feature_alignment)",
            ));
        }
        let k = problem.inputs.len();
        if !(1..=MAX_INPUTS).contains(&k) {
            return Err(unsupported(format!(
                "needs 1..={MAX_INPUTS} inputs (got {k})"
            )));
        }
        let depth = spec.depth();
        let w = spec.layer_widths();
        let t_steps = step.steps;
        let need_ntk = observe.needs(Primitive::DeltaNtk);
        let passes_fwd = t_steps + 1;
        let passes_bwd = t_steps + need_ntk as usize;

        // ---- workgroup size: 64, doubled until every dispatch fits the loop budget ----
        let mut wg = 64u32.min(adapter.max_wg);
        let largest = |wg: u32| -> u64 {
            let mut m = 0;
            for p in 0..=t_steps as u64 {
                for l in 1..=depth + 1 {
                    let (n_in, n_out) = (w[l - 1] as u64, w[l] as u64);
                    let readout = l == depth + 1;
                    m = m.max(loop_cost(
                        wg as u64,
                        k as u64,
                        n_in,
                        n_out,
                        p,
                        false,
                        l == 1,
                        readout,
                    ));
                    if (p as usize) < passes_bwd {
                        m = m.max(loop_cost(
                            wg as u64,
                            k as u64,
                            n_in,
                            n_out,
                            p,
                            true,
                            l == 1,
                            readout,
                        ));
                    }
                }
            }
            m
        };
        while largest(wg) > LOOP_BUDGET
            && wg * 2 <= adapter.max_wg
            && RED * wg * 2 * 4 <= adapter.workgroup_storage
        {
            wg *= 2;
        }
        let cost = largest(wg);
        if cost > LOOP_BUDGET && !adapter.hardware {
            return Err(unsupported(format!(
                "this network is too wide or takes too many steps for the CPU adapter {}: one \
                 layer needs ~{cost} loop iterations per shader invocation and llvmpipe ends \
                 shaders after 65535",
                adapter.name
            )));
        }
        if RED * wg * 4 > adapter.workgroup_storage {
            return Err(unsupported(format!(
                "the step kernel needs {} bytes of workgroup memory, the adapter allows {}",
                RED * wg * 4,
                adapter.workgroup_storage
            )));
        }

        // ---- scratch layout of one network (f32 words; shaders/step.wgsl's header) ----
        let hidden_units: usize = w[1..=depth].iter().sum();
        let units: usize = w[1..].iter().sum();
        let npairs = k * (k + 1) / 2;
        let has_bias = spec.cb > 0.0;
        let mut off = k * w[0]; // A(·, 0): the inputs
                                // Per-layer blocks of `words(m)` words for m in `range`, one after the other.
        let per_layer = |off: &mut usize,
                         range: std::ops::RangeInclusive<usize>,
                         words: &dyn Fn(usize) -> usize| {
            let mut at = vec![0usize; depth + 2];
            for m in range {
                at[m] = *off;
                *off += words(m);
            }
            at
        };
        let vecs = |m: usize| k * w[m];
        let a_pass = k * hidden_units;
        let a_off = per_layer(&mut off, 1..=depth, &vecs); // A(0, m); passes 1..=T follow
        off += t_steps * a_pass;
        let d_pass = k * units;
        let d_off = per_layer(&mut off, 1..=depth + 1, &vecs); // D(0, l); passes 1.. follow
        off += (passes_bwd - 1) * d_pass;
        let z_off = per_layer(&mut off, 1..=depth + 1, &vecs);
        let s_off = per_layer(&mut off, 1..=depth, &vecs);
        let ds_off = per_layer(&mut off, 1..=depth, &vecs);
        let da_off = per_layer(&mut off, 1..=depth, &vecs);
        let dz_off = per_layer(&mut off, 1..=depth + 1, &vecs);
        let dd_off = per_layer(&mut off, 1..=depth + 1, &vecs);
        let g0_off = per_layer(&mut off, 2..=depth + 1, &|l| k * w[l - 1]);
        let b_off = if has_bias {
            per_layer(&mut off, 1..=depth + 1, &|l| w[l])
        } else {
            vec![0; depth + 2]
        };
        let nt_off = if need_ntk {
            per_layer(&mut off, 1..=depth + 1, &|_| 2 * npairs)
        } else {
            vec![0; depth + 2]
        };
        let off_r = off;
        off += t_steps * k;
        let off_g = off;
        off += t_steps * k * k;
        let off_ntkd = off;
        off += npairs;
        let stride = off;
        if stride > (u32::MAX / 4) as usize {
            return Err(SamplerError::TooLarge(format!(
                "one network needs {} MiB of GPU working memory for the step engine; use a \
                 smaller net, fewer steps or --backend cpu",
                (stride * 4) >> 20
            )));
        }

        // ---- values, in the CPU twin's order ----
        let mut d = 0usize;
        let mut slot = |p: Primitive, len: usize| -> u32 {
            if observe.needs(p) {
                d += len;
                (d - len) as u32
            } else {
                NONE
            }
        };
        let out_dout = slot(Primitive::DeltaOutput, k);
        let out_dntk = slot(Primitive::DeltaNtk, npairs);
        let out_fc = slot(Primitive::FeatureChange, depth);
        let out_fa = slot(Primitive::FeatureAlignment, depth);
        debug_assert_eq!(d, problem.n_values());

        // ---- the layer table: the CPU twin's scales and factors (step.rs `scales`, `factors`) ----
        let lr = step.lr;
        let alpha = spec.residual_alpha().unwrap_or(1.0);
        let mut layers = Vec::with_capacity(depth + 1);
        for l in 1..=depth + 1 {
            let (kind, p, m) = if l <= depth {
                act_code(LayerActivation::resolve(spec, w[l]))
            } else {
                (0, 1.0, 1.0)
            };
            let residual = spec.is_residual_layer(l);
            let branch = if residual { alpha } else { 1.0 };
            let sigma = spec.weight_scale(l);
            let (lw, lb) = spec.ntk_factors(l);
            let bias_step = if has_bias { lb / spec.cb.sqrt() } else { 0.0 };
            let u = |v: &[usize], m: usize| v[m] as u32;
            // Layer l − 1's vectors (unused for l = 1: a^0 is the inputs, which do not move).
            let prev = |v: &[usize]| if l >= 2 { v[l - 1] as u32 } else { 0 };
            layers.push(LayerEntry {
                n_in: w[l - 1] as u32,
                n_out: w[l] as u32,
                act: kind,
                residual: residual as u32,
                act_p: p,
                act_m: m,
                scale: sigma as f32,
                branch: branch as f32,
                wfac: lw as f32,
                bfac: lb as f32,
                cfac: (-lr * branch * lw / sigma) as f32,
                bstep: (-lr * branch * bias_step) as f32,
                x_off: prev(&a_off),
                x_pass: if l >= 2 { a_pass as u32 } else { 0 },
                a_off: u(&a_off, l),
                d_off: u(&d_off, l),
                dp_off: prev(&d_off),
                s_off: u(&s_off, l),
                sp_off: prev(&s_off),
                z_off: u(&z_off, l),
                zp_off: prev(&z_off),
                b_off: u(&b_off, l),
                ds_off: u(&ds_off, l),
                dsp_off: prev(&ds_off),
                da_off: u(&da_off, l),
                dap_off: prev(&da_off),
                dz_off: u(&dz_off, l),
                dzp_off: prev(&dz_off),
                dd_off: u(&dd_off, l),
                ddp_off: prev(&dd_off),
                g0_off: u(&g0_off, l),
                nt_off: u(&nt_off, l),
            });
        }

        // ---- dispatches ----
        let proto = StepParams {
            k: k as u32,
            stride: stride as u32,
            n_values: d as u32,
            law: law_code(spec.weights),
            has_bias: has_bias as u32,
            sqrt_cb: spec.cb.sqrt() as f32,
            steps: t_steps as u32,
            depth: depth as u32,
            need_ntk: need_ntk as u32,
            out_dout,
            out_dntk,
            out_fc,
            out_fa,
            off_r: off_r as u32,
            off_g: off_g as u32,
            off_ntkd: off_ntkd as u32,
            off_y: (k * w[0]) as u32,
            a_pass: a_pass as u32,
            d_pass: d_pass as u32,
            nan_bits: 0x7fc0_0000,
            ..Default::default()
        };
        let mut blocks = Vec::new();
        for p in 0..passes_fwd {
            for l in 1..=depth + 1 {
                blocks.push(StepParams {
                    phase: 0,
                    layer: l as u32,
                    pass_idx: p as u32,
                    ..proto
                });
            }
            if p < passes_bwd {
                for l in (1..=depth + 1).rev() {
                    blocks.push(StepParams {
                        phase: 1,
                        layer: l as u32,
                        pass_idx: p as u32,
                        ..proto
                    });
                }
            }
        }
        let weights: f64 = w.windows(2).map(|p| (p[0] * p[1]) as f64).sum();
        Ok(StepPlan {
            wg,
            layers,
            blocks,
            stride,
            d,
            weights_per_network: weights * (passes_fwd + passes_bwd) as f64,
        })
    }
}

/// The step engine on a wgpu device: a [`BatchSampler`] with backend "gpu", method "step",
/// giving every network the values the CPU [`crate::step::StepEngine`] gives it, up to f32
/// rounding.
pub struct GpuStep {
    ctx: GpuContext,
    pipeline: wgpu::ComputePipeline,
    blocks: Vec<StepParams>,
    /// The seed: each chunk's key is `stream::network_key(seed, first network)`.
    seed: u64,
    d: usize,
    chunk_max: usize,
    params: wgpu::Buffer,
    out: wgpu::Buffer,
    staging: wgpu::Buffer,
    bind: wgpu::BindGroup,
    _layers: wgpu::Buffer,
    _inputs: wgpu::Buffer,
    _scratch: wgpu::Buffer,
    params_align: u64,
    stride_bytes: u64,
    wg: u32,
}

impl GpuStep {
    pub fn new(ctx: &GpuContext, problem: &Problem) -> Result<Self, SamplerError> {
        Self::with_max_chunk(ctx, problem, usize::MAX)
    }

    /// As [`GpuStep::new`], with at most `max_chunk` networks per chunk (tests use this to
    /// check that values do not depend on the chunking).
    pub fn with_max_chunk(
        ctx: &GpuContext,
        problem: &Problem,
        max_chunk: usize,
    ) -> Result<Self, SamplerError> {
        let plan = StepPlan::new(problem, &AdapterFacts::of(ctx))?;
        let limits = ctx.limits().clone();
        let d = plan.d;
        let stride_bytes = plan.stride as u64 * 4;

        // ---- chunk size ----
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        if stride_bytes > max_binding {
            return Err(SamplerError::TooLarge(format!(
                "one network needs {} MiB of GPU working memory for the step engine, more than \
                 the adapter's storage-buffer limit ({} MiB); use a smaller net, fewer steps or \
                 --backend cpu",
                stride_bytes >> 20,
                max_binding >> 20
            )));
        }
        let hardware = ctx.is_hardware();
        let cap: u64 = if hardware { 2 << 30 } else { 256 << 20 };
        let nets_cap: u64 = if hardware { 65_535 } else { 2048 };
        // Regenerated weights per chunk: keeps each submission short (no driver watchdog).
        let work: f64 = if hardware {
            (1u64 << 38) as f64
        } else {
            (1u64 << 27) as f64
        };
        let by_work = (work / plan.weights_per_network.max(1.0)).max(1.0) as u64;
        let chunk_max = (cap.min(max_binding) / stride_bytes)
            .min(max_binding / (d.max(1) as u64 * 4))
            .min(u32::MAX as u64 / plan.stride.max(1) as u64)
            .min(limits.max_compute_workgroups_per_dimension as u64)
            .min(nets_cap)
            .min(by_work)
            .min(max_chunk as u64)
            .max(1) as usize;

        // ---- buffers ----
        use wgpu::BufferUsages as U;
        let spec = &problem.spec;
        let step = spec.step.as_ref().expect("checked by the plan");
        let n0 = spec.input_dim;
        let k = problem.inputs.len();
        let mut xs = vec![0f32; n0 * k];
        for (a, x) in problem.inputs.iter().enumerate() {
            for j in 0..n0 {
                xs[a * n0 + j] = x[j] as f32;
            }
        }
        xs.extend((0..k).map(|a| step.target(a) as f32));
        let queue = ctx.queue();
        let layer_bytes: &[u8] = bytemuck::cast_slice(&plan.layers);
        let layers = ctx.buffer(
            "step layers",
            layer_bytes.len() as u64,
            U::STORAGE | U::COPY_DST,
        )?;
        queue.write_buffer(&layers, 0, layer_bytes);
        let input_bytes: &[u8] = bytemuck::cast_slice(&xs);
        let inputs = ctx.buffer(
            "step inputs",
            input_bytes.len().max(16) as u64,
            U::STORAGE | U::COPY_DST,
        )?;
        queue.write_buffer(&inputs, 0, input_bytes);
        let scratch = ctx.buffer("step scratch", chunk_max as u64 * stride_bytes, U::STORAGE)?;
        let params_align = (limits.min_uniform_buffer_offset_alignment as u64).max(PARAMS_BYTES);
        let params = ctx.buffer(
            "step params",
            params_align * plan.blocks.len() as u64,
            U::UNIFORM | U::COPY_DST,
        )?;
        let out_bytes = (chunk_max * d * 4) as u64;
        let out = ctx.buffer("step out", out_bytes, U::STORAGE | U::COPY_SRC)?;
        let staging = ctx.buffer("step staging", out_bytes, U::MAP_READ | U::COPY_DST)?;
        let bind = ctx.engine_bind_group("step", &params, [&layers, &inputs, &scratch, &out]);
        let pipeline = ctx.pipeline("step", &step_source(plan.wg, RED), "step_main", true)?;
        ctx.check()?;
        Ok(GpuStep {
            ctx: ctx.clone(),
            pipeline,
            blocks: plan.blocks,
            seed: problem.seed,
            d,
            chunk_max,
            params,
            out,
            staging,
            bind,
            _layers: layers,
            _inputs: inputs,
            _scratch: scratch,
            params_align,
            stride_bytes,
            wg: plan.wg,
        })
    }

    /// Networks per chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk_max
    }

    /// GPU working memory of one network in bytes.
    pub fn bytes_per_network(&self) -> u64 {
        self.stride_bytes
    }

    /// Dispatches per chunk (one per layer and pass, forward and backward).
    pub fn dispatches_per_chunk(&self) -> usize {
        self.blocks.len()
    }

    /// Threads per workgroup (one workgroup per network).
    pub fn workgroup_size(&self) -> u32 {
        self.wg
    }

    /// Runs networks `net_start..net_start + count`, which share one key (no multiple of 2^32
    /// strictly inside).
    fn run_chunk(&self, net_start: u64, count: usize, out: &mut [f64]) -> Result<(), SamplerError> {
        assert!(
            count as u64 <= networks_sharing_key(net_start),
            "a GPU chunk must not straddle a multiple of 2^32 networks"
        );
        let (key, c0) = network_stream(self.seed, net_start);
        let params: Vec<StepParams> = self
            .blocks
            .iter()
            .map(|b| StepParams {
                key,
                net_start: c0,
                count: count as u32,
                ..*b
            })
            .collect();
        let idx = self.ctx.submit_blocks(
            "step",
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

impl BatchSampler for GpuStep {
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
        "step"
    }

    fn preferred_batch(&self) -> Option<usize> {
        Some(self.chunk_max * 4)
    }
}

fn context(env: &Env) -> Result<&GpuContext, String> {
    env.gpu.as_ref().ok_or_else(|| {
        format!(
            "no GPU ({})",
            env.no_gpu.as_deref().unwrap_or("none was opened")
        )
    })
}

/// The step engine in WGSL (shaders/step.wgsl), as registered in [`crate::plan::ENGINES`].
pub struct StepGpu;

impl Engine for StepGpu {
    fn name(&self) -> &'static str {
        "step"
    }

    fn device(&self) -> Device {
        Device::Gpu
    }

    fn primitives(&self) -> PrimitiveSet {
        GPU_TRAINING
    }

    /// Problems with `--step-lr` and 1..=8 inputs, any parameterization, activation, weight law,
    /// residual branch, C_b and number of steps, on an open GPU, as long as one layer's dispatch
    /// fits lavapipe's loop limit on a CPU adapter. Its model: [`MODEL_WEIGHTS_PER_SECOND`]
    /// (unmeasured) over the weights regenerated per network, once per pass forward and
    /// backward.
    fn supports(&self, problem: &Problem, request: &Request, env: &Env) -> Result<Cost, String> {
        if problem.spec.step.is_none() {
            return Err("the training observables need --step-lr".into());
        }
        // Its speed model is not measured on a hardware GPU yet: `auto` keeps the CPU step
        // engine until it is (docs/performance.md); `--backend gpu` asks for it.
        if request.is_auto() {
            return Err(
                "the GPU step engine is chosen only with --backend gpu (its speed is not measured on a hardware GPU yet)".into(),
            );
        }
        let ctx = context(env)?;
        let plan = StepPlan::new(problem, &AdapterFacts::of(ctx)).map_err(|e| e.to_string())?;
        Ok(Cost {
            networks_per_second: MODEL_WEIGHTS_PER_SECOND / plan.weights_per_network.max(1.0),
        })
    }

    fn build(&self, problem: &Problem, env: &Env) -> Result<Box<dyn BatchSampler>, SamplerError> {
        let ctx = context(env).map_err(SamplerError::Gpu)?;
        Ok(Box::new(GpuStep::new(ctx, problem)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The assembled module parses and validates (naga, no device needed).
    #[test]
    fn step_module_validates() {
        use wgpu::naga;
        for wg in [64, 256] {
            let src = step_source(wg, RED);
            let module = naga::front::wgsl::parse_str(&src)
                .unwrap_or_else(|e| panic!("{}", e.emit_to_string(&src)));
            naga::valid::Validator::new(
                naga::valid::ValidationFlags::all(),
                naga::valid::Capabilities::empty(),
            )
            .validate(&module)
            .unwrap_or_else(|e| panic!("{e:?}"));
        }
    }

    #[test]
    fn layer_table_has_the_wgsl_size() {
        // 32 words, as `Layer` in shaders/step.wgsl.
        assert_eq!(std::mem::size_of::<LayerEntry>(), 32 * 4);
    }

    fn problem(width: usize, depth: usize, k: usize, steps: usize) -> Problem {
        use randnet_problem::{Family, NetworkSpec, Observe, Step};
        let mut spec = NetworkSpec::builder(16, vec![width; depth])
            .build()
            .unwrap();
        spec.step = Some(Step {
            lr: 0.05,
            steps,
            targets: vec![],
        });
        Problem {
            spec,
            inputs: vec![vec![1.0; 16]; k],
            observe: Observe::NONE
                .with(Family::DeltaOutput)
                .with(Family::DeltaNtk)
                .with(Family::FeatureChange)
                .with(Family::FeatureAlignment),
            seed: 1,
        }
    }

    fn cpu_adapter() -> AdapterFacts {
        AdapterFacts {
            max_wg: 256,
            workgroup_storage: 32768,
            hardware: false,
            name: "llvmpipe".into(),
        }
    }

    /// The widest equal-width net (depth 4) a CPU adapter takes, by bisection.
    fn widest(k: usize, steps: usize) -> usize {
        let (mut lo, mut hi) = (1usize, 1 << 16);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            if StepPlan::new(&problem(mid, 4, k, steps), &cpu_adapter()).is_ok() {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }

    /// lavapipe's loop limit (docs/gpu.md): moderate nets fit, very wide ones are refused with
    /// the reason; hardware adapters take both.
    #[test]
    fn loop_budget_on_cpu_adapters() {
        let plan = StepPlan::new(&problem(512, 4, 2, 1), &cpu_adapter()).unwrap();
        assert!(plan.wg >= 64);
        let err = StepPlan::new(&problem(4096, 2, 8, 4), &cpu_adapter())
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("loop iterations"), "{err}");
        let hw = AdapterFacts {
            hardware: true,
            ..cpu_adapter()
        };
        assert!(StepPlan::new(&problem(4096, 2, 8, 4), &hw).is_ok());
        eprintln!(
            "widest depth-4 nets on a CPU adapter: K=2 T=1 {}, K=8 T=1 {}, K=2 T=10 {}",
            widest(2, 1),
            widest(8, 1),
            widest(2, 10)
        );
    }
}

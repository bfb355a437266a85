//! The dense engine on the GPU (kernel: shaders/dense.wgsl; CPU twin: [`crate::DenseEngine`]).
//!
//! One workgroup draws one network. Weights are generated inside the kernel from the Philox
//! stream (the same counters as the CPU engine) and never stored: the forward pass regenerates
//! row i of W^l for output unit i, the backward pass (NTK) regenerates W^l in column blocks of 4
//! to apply W^T. Per network the kernel keeps, in a scratch storage buffer, the layer inputs
//! a^{l-1} (with the Jacobian tangents) and sigma'(z^l) of every layer (needed backward), two z
//! buffers and two delta buffers. Observables are reduced on the GPU; only the per-network
//! values are read back (f32, widened to f64).
//!
//! Networks are split into dispatches ("chunks") bounded by the device's storage-binding and
//! buffer limits, a scratch-memory cap and a work budget (weights generated per dispatch) that
//! keeps each dispatch short; the next chunk computes while the previous one is read back.
//! A chunk never straddles a multiple of 2^32 networks: all its networks share one Philox key
//! ([`crate::stream::network_key`], computed here per chunk and passed in the parameters) and
//! the kernel forms word c0 as `net_start + workgroup id` in 32 bits.

use super::context::GpuContext;
use super::shaders::{dense_source, DenseConsts};
use super::wgsl_constants::{act_kind, law_code};
use crate::activation::LayerActivation;
use crate::stream::{network_stream, networks_sharing_key};
use crate::{BatchSampler, Problem, SamplerError};
use randnet_problem::Primitive;

/// Tuning knobs of [`GpuDense`]; the defaults suit desktop GPUs and lavapipe.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuDenseOptions {
    /// Threads per workgroup (one workgroup per network); a power of two, 32..=256.
    pub workgroup_size: u32,
    /// Upper bound on networks per dispatch (further bounded by memory and work).
    pub max_networks_per_dispatch: usize,
    /// Upper bound on the scratch buffer (bytes), further bounded by the adapter's
    /// max_storage_buffer_binding_size and max_buffer_size; `None` picks 4 GiB on hardware GPUs
    /// and 512 MiB on CPU adapters.
    pub max_scratch_bytes: Option<u64>,
    /// Work budget of one chunk in generated weights (forward + backward); `None` picks 2^38 on
    /// hardware GPUs and 2^27 on CPU adapters. A chunk runs as several dispatches (layer ranges
    /// under the loop budget), each far below a desktop driver's watchdog at this budget:
    /// on an H100 the 2^30 of the first version left 124 of 132 SMs idle at n = 1024
    /// (docs/performance.md).
    pub weights_per_dispatch: Option<u64>,
    /// Loop iterations one invocation may run per dispatch ([`LOOP_BUDGET`]); smaller values
    /// split each network's work over more dispatches (tests use this to exercise the split).
    pub loop_budget: u64,
}

impl Default for GpuDenseOptions {
    fn default() -> Self {
        GpuDenseOptions {
            workgroup_size: 64,
            max_networks_per_dispatch: 65_535,
            max_scratch_bytes: None,
            weights_per_dispatch: None,
            loop_budget: LOOP_BUDGET,
        }
    }
}

/// The uniform block of shaders/dense.wgsl (`Params`); the field order is the WGSL one.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct DenseParams {
    /// The Philox key of the chunk's networks (`stream::network_key`).
    key: [u32; 2],
    /// Word c0 of the chunk's first network (its low 32 bits); the chunk does not wrap.
    net_start: u32,
    count: u32,
    depth: u32,
    k: u32,
    cols: u32,
    law: u32,
    act: u32,
    has_bias: u32,
    sqrt_cb: f32,
    stride: u32,
    n_values: u32,
    obs_output: u32,
    obs_ntk: u32,
    obs_sqnorm: u32,
    obs_jacobian: u32,
    off_ntk: u32,
    off_sq: u32,
    off_jac: u32,
    z_off: u32,
    z_size: u32,
    d_off: u32,
    d_size: u32,
    fwd_from: u32,
    fwd_to: u32,
    bwd_from: u32,
    bwd_to: u32,
    do_init: u32,
    do_readout: u32,
    pad: [u32; 2],
}

/// Bytes of one parameter block (`Params` in dense.wgsl).
pub(crate) const PARAMS_BYTES: u64 = std::mem::size_of::<DenseParams>() as u64;

/// Loop iterations one shader invocation may run in one dispatch. llvmpipe (lavapipe) ends
/// every loop of an invocation once 65535 iterations have run in total (LP_MAX_TGSI_LOOP_
/// ITERATIONS, shared by all loops of a shader), silently; the kernel's work is split into
/// dispatches that stay below this bound, with margin, on every adapter.
pub const LOOP_BUDGET: u64 = 50_000;

/// One dispatch of the dense kernel: which part of each network's computation it runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct Segment {
    fwd_from: u32,
    fwd_to: u32,
    bwd_from: u32,
    bwd_to: u32,
    do_init: bool,
    do_readout: bool,
}

/// Pessimistic count of the loop iterations (every trip of every loop, per invocation) of each
/// piece of the kernel, mirroring the loops of dense.wgsl.
struct LoopCost {
    wg: u64,
    k: u64,
    cols: u64,
    ct: u64,
    kt: u64,
    red: u64,
    sqnorm: bool,
    jacobian: bool,
    ntk: bool,
}

impl LoopCost {
    fn per_thread(&self, n: usize) -> u64 {
        (n as u64).div_ceil(self.wg)
    }
    fn reduce(&self, nr: u64) -> u64 {
        self.wg.trailing_zeros() as u64 * (nr + 1) + 2
    }
    fn sums(&self, count: u64, n: usize) -> u64 {
        // `count` sums over n units, RED at a time.
        count.div_ceil(self.red)
            * (self.red * (self.per_thread(n) + 1) + self.reduce(self.red) + self.red + 1)
    }
    fn init(&self, n0: usize) -> u64 {
        let mut c = self.per_thread(n0) * (self.k + 1) + 2;
        if self.jacobian {
            c += 2 * self.per_thread(n0) * (self.k + 1) + self.reduce(1);
        }
        c
    }
    fn forward(&self, n_in: usize, n_out: usize) -> u64 {
        let nb = (n_in as u64).div_ceil(4);
        let tiles = self.cols.div_ceil(self.ct);
        let mut c = self.per_thread(n_out) * (tiles * (nb + 2) + 3 * self.k + 3) + 2;
        if self.sqnorm {
            c += self.sums(self.k, n_out);
        }
        c
    }
    fn readout(&self, n_last: usize) -> u64 {
        let mut c = self.k + 2;
        if self.jacobian {
            c += self.sums(self.k, n_last);
        }
        if self.ntk {
            let pairs = self.k * (self.k + 1) / 2;
            c += pairs + self.per_thread(n_last) * (self.k + 1);
        }
        c
    }
    fn backward(&self, n_in: usize, n_out: usize, first: bool) -> u64 {
        let pairs = self.k * (self.k + 1) / 2;
        let half = self.red / 2;
        let mut c = pairs.div_ceil(half)
            * (half * (self.k + self.per_thread(n_out) + self.per_thread(n_in) + 3)
                + self.reduce(self.red)
                + half
                + 1)
            + 2;
        if !first {
            let blocks = self.per_thread((n_in as u64).div_ceil(4) as usize);
            c += blocks * self.k.div_ceil(self.kt) * (n_out as u64 + 2) + 2;
        }
        c
    }
}

/// Packs the kernel's pieces into dispatches of at most `budget` loop iterations each.
/// Returns the segments and the largest single piece.
fn plan(cost: &LoopCost, w: &[usize], budget: u64) -> (Vec<Segment>, u64) {
    let depth = w.len() - 2;
    let mut segs = Vec::new();
    let mut cur = Segment {
        do_init: true,
        ..Default::default()
    };
    let mut used = cost.init(w[0]);
    let mut largest = used;
    let mut fresh = false; // cur holds nothing yet
    let push = |cur: &mut Segment, used: &mut u64, fresh: &mut bool, segs: &mut Vec<Segment>| {
        segs.push(*cur);
        *cur = Segment::default();
        *used = 0;
        *fresh = true;
    };
    for l in 1..=depth + 1 {
        let c = cost.forward(w[l - 1], w[l]);
        largest = largest.max(c);
        if used + c > budget && !fresh {
            push(&mut cur, &mut used, &mut fresh, &mut segs);
        }
        if cur.fwd_to == 0 {
            cur.fwd_from = l as u32;
        }
        cur.fwd_to = l as u32 + 1;
        used += c;
        fresh = false;
    }
    let c = cost.readout(w[depth + 1]);
    largest = largest.max(c);
    if used + c > budget && !fresh {
        push(&mut cur, &mut used, &mut fresh, &mut segs);
    }
    cur.do_readout = true;
    used += c;
    fresh = false;
    if cost.ntk {
        for l in (1..=depth + 1).rev() {
            let c = cost.backward(w[l - 1], w[l], l == 1);
            largest = largest.max(c);
            if used + c > budget && !fresh {
                push(&mut cur, &mut used, &mut fresh, &mut segs);
            }
            if cur.bwd_from == 0 {
                cur.bwd_from = l as u32;
            }
            cur.bwd_to = l as u32;
            used += c;
            fresh = false;
        }
    }
    segs.push(cur);
    (segs, largest)
}

/// Largest forward column tile: K = 8 inputs and their 8 Jacobian tangents.
const MAX_CT: u32 = 16;
/// Largest backward column tile: K = 8 deltas.
const MAX_KT: u32 = 8;

/// Philox4x32-10 calls of one network in the dense kernel, from its loop structure (each call
/// gives 4 values: a weight block W[i][4b..4b+3], or one bias / direction component).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhiloxCalls {
    /// Weights, forward: sum over layers of n_out ceil(n_in / 4) ceil(cols / CT).
    pub forward: u64,
    /// Weights, backward (NTK): sum over layers 2..=L+1 of n_out ceil(n_in / 4) ceil(K / KT).
    /// An upper bound: rows whose deltas are all zero (dead ReLUs) are skipped.
    pub backward: u64,
    /// Biases (one call per unit and layer, when C_b > 0) and the Jacobian direction (2 n0).
    pub other: u64,
}

impl PhiloxCalls {
    /// Weight blocks generated per network (forward + backward).
    pub fn total(&self) -> u64 {
        self.forward + self.backward
    }
}

fn philox_calls(
    w: &[usize],
    cols: usize,
    k: usize,
    ntk: bool,
    bias: bool,
    jacobian: bool,
    c: DenseConsts,
) -> PhiloxCalls {
    let mut calls = PhiloxCalls {
        forward: 0,
        backward: 0,
        other: if jacobian { 2 * w[0] as u64 } else { 0 },
    };
    for l in 1..w.len() {
        if bias {
            calls.other += w[l] as u64;
        }
        let blocks = (w[l] * w[l - 1].div_ceil(4)) as u64;
        calls.forward += blocks * (cols as u64).div_ceil(c.ct as u64);
        if ntk && l >= 2 {
            calls.backward += blocks * (k as u64).div_ceil(c.kt as u64);
        }
    }
    calls
}

/// One entry of the layer table (`Layer` in shaders/dense.wgsl).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct LayerEntry {
    n_in: u32,
    n_out: u32,
    residual: u32,
    in_off: u32,
    out_off: u32,
    dact_off: u32,
    act_p: f32,
    act_m: f32,
    scale: f32,
    branch: f32,
    wfac: f32,
    bfac: f32,
    pad: [u32; 4],
}

/// (kind, p, m) of an activation for activation.wgsl's `act_eval`.
pub(crate) fn act_code(act: LayerActivation) -> (u32, f32, f32) {
    match act {
        LayerActivation::Slopes(p, m) => (act_kind(act), p as f32, m as f32),
        LayerActivation::Cubic(c) => (act_kind(act), c as f32, 0.0),
        _ => (act_kind(act), 0.0, 0.0),
    }
}

struct Slot {
    params: wgpu::Buffer,
    out: wgpu::Buffer,
    staging: wgpu::Buffer,
    bind: wgpu::BindGroup,
}

/// The dense engine on a wgpu device: a [`BatchSampler`] with backend "gpu", method "dense",
/// giving every network the values the CPU [`crate::DenseEngine`] gives it, up to f32 rounding.
pub struct GpuDense {
    ctx: GpuContext,
    pipeline: wgpu::ComputePipeline,
    params: DenseParams,
    /// The seed: each chunk's key is `stream::network_key(seed, first network)`.
    seed: u64,
    d: usize,
    chunk_max: usize,
    slots: [Slot; 2],
    // Kept alive for the bind groups.
    _layers: wgpu::Buffer,
    _inputs: wgpu::Buffer,
    _scratch: wgpu::Buffer,
    stride_bytes: u64,
    /// Dispatches per chunk (layer ranges), each within [`LOOP_BUDGET`].
    segments: Vec<Segment>,
    params_align: u64,
    philox: PhiloxCalls,
}

fn too_large(msg: String) -> SamplerError {
    SamplerError::TooLarge(msg)
}

impl GpuDense {
    pub fn new(ctx: &GpuContext, problem: &Problem) -> Result<Self, SamplerError> {
        Self::with_options(ctx, problem, GpuDenseOptions::default())
    }

    pub fn with_options(
        ctx: &GpuContext,
        problem: &Problem,
        opts: GpuDenseOptions,
    ) -> Result<Self, SamplerError> {
        problem.validate()?;
        let spec = &problem.spec;
        let observe = problem.observe;
        let k = problem.inputs.len();
        let depth = spec.depth();
        let w = spec.layer_widths();
        let cols = if observe.needs(Primitive::JacobianNorm) {
            2 * k
        } else {
            k
        };
        let ntk = observe.needs(Primitive::Ntk);
        let limits = ctx.limits().clone();
        let max_wg = limits
            .max_compute_invocations_per_workgroup
            .min(limits.max_compute_workgroup_size_x)
            .min(256);
        if !(32..=256).contains(&opts.workgroup_size) || !opts.workgroup_size.is_power_of_two() {
            return Err(SamplerError::Unsupported(format!(
                "GPU workgroup size {}: expected a power of two in 32..=256",
                opts.workgroup_size
            )));
        }
        // Column tiles: a row of W is regenerated once per tile, so the tiles cover all columns
        // up to K = 8 (forward: K inputs + K tangents; backward: K deltas), and every weight is
        // generated once per pass (issue 17: KT = 4 generated each backward weight twice at
        // K = 8). 16 + 32 f32 accumulators per thread are well within a GPU's registers.
        let ct = cols.min(MAX_CT as usize) as u32;
        let kt = k.min(MAX_KT as usize) as u32;
        // The workgroup grows (up to 256) until every piece of the kernel fits the loop budget.
        let red = 16u32;
        let mut wg = opts.workgroup_size.min(max_wg);
        let (segments, consts) = loop {
            let cost = LoopCost {
                wg: wg as u64,
                k: k as u64,
                cols: cols as u64,
                ct: ct as u64,
                kt: kt as u64,
                red: red as u64,
                sqnorm: observe.needs(Primitive::Sqnorm),
                jacobian: observe.needs(Primitive::JacobianNorm),
                ntk,
            };
            let budget = opts.loop_budget.clamp(1, LOOP_BUDGET);
            let (segs, largest) = plan(&cost, &w, budget);
            if largest <= budget || wg * 2 > max_wg || opts.loop_budget < LOOP_BUDGET {
                if largest > LOOP_BUDGET && !ctx.is_hardware() {
                    return Err(SamplerError::Unsupported(format!(
                        "this network is too wide for the CPU adapter {}: one layer needs {largest} \
                         loop iterations per shader invocation and llvmpipe ends shaders after \
                         65535; use --backend cpu",
                        ctx.adapter_name()
                    )));
                }
                break (segs, DenseConsts { wg, ct, kt, red });
            }
            wg *= 2;
        };
        if consts.red * consts.wg * 4 > limits.max_compute_workgroup_storage_size {
            return Err(SamplerError::Unsupported(format!(
                "the dense kernel needs {} bytes of workgroup memory, the adapter allows {}",
                consts.red * consts.wg * 4,
                limits.max_compute_workgroup_storage_size
            )));
        }

        // ---- scratch layout of one network (f32 words) ----
        let mut off = 0usize;
        let mut in_off = vec![0usize; depth + 1];
        let mut dact_off = vec![0usize; depth + 1];
        if ntk {
            // Every layer's input and sigma' are kept for the backward pass.
            for m in 0..=depth {
                in_off[m] = off;
                off += w[m] * cols;
            }
            for m in 1..=depth {
                dact_off[m] = off;
                off += w[m] * k;
            }
        } else {
            // Two alternating slots suffice; sigma' is written to one throw-away slot.
            let nmax = w[..=depth].iter().copied().max().unwrap_or(1);
            for (m, o) in in_off.iter_mut().enumerate() {
                *o = (m % 2) * nmax * cols;
            }
            off = 2 * nmax * cols;
            let dmax = w[1..=depth].iter().copied().max().unwrap_or(0);
            for o in dact_off.iter_mut().skip(1) {
                *o = off;
            }
            off += dmax * k;
        }
        let zmax = w[1..].iter().copied().max().unwrap_or(1);
        let z_off = off;
        let z_size = zmax * cols;
        off += 2 * z_size;
        let d_off = off;
        let d_size = if ntk { zmax * k } else { 0 };
        off += 2 * d_size;
        let stride = off.max(1);
        let stride_bytes = stride as u64 * 4;

        // ---- value layout ----
        let npairs = k * (k + 1) / 2;
        let off_ntk = if observe.needs(Primitive::Output) {
            k
        } else {
            0
        };
        let off_sq = off_ntk + if ntk { npairs } else { 0 };
        let off_jac = off_sq
            + if observe.needs(Primitive::Sqnorm) {
                (depth + 1) * k
            } else {
                0
            };
        let d = off_jac
            + if observe.needs(Primitive::JacobianNorm) {
                k
            } else {
                0
            };
        debug_assert_eq!(d, problem.n_values());

        // ---- chunk size ----
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let params_align = (limits.min_uniform_buffer_offset_alignment as u64).max(PARAMS_BYTES);
        if stride_bytes > max_binding || stride > u32::MAX as usize / 4 {
            return Err(too_large(format!(
                "one network needs {} MiB of GPU working memory, more than the adapter's limit \
                 for one storage buffer ({} MiB) on {}; use fewer inputs, a smaller net or \
                 --backend cpu",
                stride_bytes >> 20,
                max_binding >> 20,
                ctx.adapter_name()
            )));
        }
        let scratch_cap = opts.max_scratch_bytes.unwrap_or(if ctx.is_hardware() {
            4 << 30
        } else {
            512 << 20
        });
        let by_mem = (scratch_cap.min(max_binding) / stride_bytes).max(1);
        let by_out = max_binding / (d as u64 * 4);
        let philox = philox_calls(
            &w,
            cols,
            k,
            ntk,
            spec.cb > 0.0,
            observe.needs(Primitive::JacobianNorm),
            consts,
        );
        let per_net = philox.total() * 4;
        let budget =
            opts.weights_per_dispatch
                .unwrap_or(if ctx.is_hardware() { 1 << 38 } else { 1 << 27 });
        let by_work = (budget / per_net.max(1)).max(1);
        let chunk_max = by_mem
            .min(by_out)
            .min(by_work)
            .min(limits.max_compute_workgroups_per_dimension as u64)
            .min(opts.max_networks_per_dispatch.max(1) as u64)
            .max(1) as usize;

        // ---- buffers ----
        use wgpu::BufferUsages as U;
        let mut layers = Vec::with_capacity(depth + 1);
        let alpha = spec.residual_alpha().unwrap_or(1.0);
        let mut act_kind = 0u32;
        for l in 1..=depth + 1 {
            let (n_in, n_out) = (w[l - 1], w[l]);
            let (kind, p, m) = if l <= depth {
                act_code(LayerActivation::resolve(spec, n_out))
            } else {
                (0, 1.0, 1.0)
            };
            if l == 1 && depth > 0 {
                act_kind = kind;
            }
            let residual = spec.is_residual_layer(l);
            let (wfac, bfac) = spec.ntk_factors(l);
            layers.push(LayerEntry {
                n_in: n_in as u32,
                n_out: n_out as u32,
                residual: residual as u32,
                in_off: in_off[l - 1] as u32,
                out_off: if l <= depth { in_off[l] as u32 } else { 0 },
                dact_off: if l <= depth { dact_off[l] as u32 } else { 0 },
                act_p: p,
                act_m: m,
                scale: (spec.cw / n_in as f64).sqrt() as f32,
                branch: if residual { alpha as f32 } else { 1.0 },
                wfac: wfac as f32,
                bfac: bfac as f32,
                pad: [0; 4],
            });
        }
        let n0 = w[0];
        let mut xs = vec![0f32; n0 * k];
        for (a, x) in problem.inputs.iter().enumerate() {
            for j in 0..n0 {
                xs[j * k + a] = x[j] as f32;
            }
        }
        let queue = ctx.queue();
        let layer_bytes: &[u8] = bytemuck::cast_slice(&layers);
        let layers_buf = ctx.buffer(
            "dense layers",
            layer_bytes.len() as u64,
            U::STORAGE | U::COPY_DST,
        )?;
        queue.write_buffer(&layers_buf, 0, layer_bytes);
        let input_bytes: &[u8] = bytemuck::cast_slice(&xs);
        let inputs_buf = ctx.buffer(
            "dense inputs",
            input_bytes.len().max(16) as u64,
            U::STORAGE | U::COPY_DST,
        )?;
        queue.write_buffer(&inputs_buf, 0, input_bytes);
        let scratch = ctx.buffer("dense scratch", chunk_max as u64 * stride_bytes, U::STORAGE)?;
        let out_bytes = (chunk_max * d * 4) as u64;
        let make_slot = |i: usize| -> Result<Slot, SamplerError> {
            let params = ctx.buffer(
                &format!("dense params {i}"),
                params_align * segments.len() as u64,
                U::UNIFORM | U::COPY_DST,
            )?;
            let out = ctx.buffer(
                &format!("dense out {i}"),
                out_bytes,
                U::STORAGE | U::COPY_SRC,
            )?;
            let staging = ctx.buffer(
                &format!("dense staging {i}"),
                out_bytes,
                U::MAP_READ | U::COPY_DST,
            )?;
            let bind =
                ctx.engine_bind_group("dense", &params, [&layers_buf, &inputs_buf, &scratch, &out]);
            Ok(Slot {
                params,
                out,
                staging,
                bind,
            })
        };
        let slots = [make_slot(0)?, make_slot(1)?];
        let pipeline = ctx.pipeline("dense", &dense_source(consts), "dense_main", true)?;
        ctx.check()?;

        let params = DenseParams {
            // Set per chunk (submit).
            key: [0; 2],
            net_start: 0,
            count: 0,
            depth: depth as u32,
            k: k as u32,
            cols: cols as u32,
            law: law_code(spec.weights),
            act: act_kind,
            has_bias: (spec.cb > 0.0) as u32,
            sqrt_cb: spec.cb.sqrt() as f32,
            stride: stride as u32,
            n_values: d as u32,
            obs_output: observe.needs(Primitive::Output) as u32,
            obs_ntk: ntk as u32,
            obs_sqnorm: observe.needs(Primitive::Sqnorm) as u32,
            obs_jacobian: observe.needs(Primitive::JacobianNorm) as u32,
            off_ntk: off_ntk as u32,
            off_sq: off_sq as u32,
            off_jac: off_jac as u32,
            z_off: z_off as u32,
            z_size: z_size as u32,
            d_off: d_off as u32,
            d_size: d_size as u32,
            ..Default::default()
        };
        Ok(GpuDense {
            ctx: ctx.clone(),
            pipeline,
            params,
            seed: problem.seed,
            d,
            chunk_max,
            slots,
            _layers: layers_buf,
            _inputs: inputs_buf,
            _scratch: scratch,
            stride_bytes,
            segments,
            params_align,
            philox,
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

    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Philox calls the kernel makes per network (backward: an upper bound, see
    /// [`PhiloxCalls::backward`]).
    pub fn philox_calls_per_network(&self) -> PhiloxCalls {
        self.philox
    }

    /// Dispatches per chunk of networks.
    pub fn dispatches_per_chunk(&self) -> usize {
        self.segments.len()
    }

    /// Submits networks `net_start..net_start + count`, which share one key (no multiple of
    /// 2^32 strictly inside).
    fn submit(&self, slot: usize, net_start: u64, count: usize) -> wgpu::SubmissionIndex {
        assert!(
            count as u64 <= networks_sharing_key(net_start),
            "a GPU chunk must not straddle a multiple of 2^32 networks"
        );
        let s = &self.slots[slot];
        let (key, c0) = network_stream(self.seed, net_start);
        let params: Vec<DenseParams> = self
            .segments
            .iter()
            .map(|seg| {
                let mut p = self.params;
                p.key = key;
                p.net_start = c0;
                p.count = count as u32;
                p.fwd_from = seg.fwd_from;
                p.fwd_to = seg.fwd_to;
                p.bwd_from = seg.bwd_from;
                p.bwd_to = seg.bwd_to;
                p.do_init = seg.do_init as u32;
                p.do_readout = seg.do_readout as u32;
                p
            })
            .collect();
        self.ctx.submit_blocks(
            "dense",
            &self.pipeline,
            &s.bind,
            &s.params,
            self.params_align as usize,
            &params,
            count as u32,
            &s.out,
            &s.staging,
            (count * self.d * 4) as u64,
        )
    }

    fn read(
        &self,
        slot: usize,
        count: usize,
        idx: wgpu::SubmissionIndex,
        out: &mut [f64],
    ) -> Result<(), SamplerError> {
        self.ctx
            .read_f32(&self.slots[slot].staging, idx, &mut out[..count * self.d])
    }
}

impl BatchSampler for GpuDense {
    fn n_values(&self) -> usize {
        self.d
    }

    fn sample_batch(
        &mut self,
        start: u64,
        count: usize,
        out: &mut [f64],
    ) -> Result<(), SamplerError> {
        let d = self.d;
        assert!(out.len() >= count * d, "output slice too short");
        self.ctx.check()?;
        // Chunk i runs on slot i % 2; chunk i is submitted before chunk i - 1 is read back, so
        // the GPU computes while the host copies.
        let mut pending: Option<(usize, usize, usize, wgpu::SubmissionIndex)> = None;
        let mut done = 0usize;
        let mut slot = 0usize;
        while done < count || pending.is_some() {
            let next = if done < count {
                // Chunks end at multiples of 2^32, where the key changes.
                let first = start + done as u64;
                let n = (self.chunk_max.min(count - done) as u64).min(networks_sharing_key(first))
                    as usize;
                let idx = self.submit(slot, first, n);
                let r = Some((slot, done, n, idx));
                done += n;
                slot ^= 1;
                r
            } else {
                None
            };
            if let Some((s, first, n, idx)) = pending.take() {
                self.read(s, n, idx, &mut out[first * d..(first + n) * d])?;
            }
            pending = next;
        }
        self.ctx.check()
    }

    fn backend(&self) -> &'static str {
        "gpu"
    }

    fn method(&self) -> &'static str {
        "dense"
    }

    fn preferred_batch(&self) -> Option<usize> {
        // Four chunks per call: the next chunk computes while the previous one is read back.
        Some(self.chunk_size() * 4)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The figures of docs/gpu.md ("Philox calls per network") for the issue-17 configuration:
    /// n0 = 16, n = 1024, L = 64, one readout unit, K = 8, output + NTK, C_b = 0.
    #[test]
    fn philox_calls_k8_n1024_l64() {
        let mut w = vec![16];
        w.extend([1024; 64]);
        w.push(1);
        let c = |ct, kt| DenseConsts {
            wg: 64,
            ct,
            kt,
            red: 16,
        };
        // The tiles before issue 17 (CT = min(cols, 8), KT = min(K, 4)) and now.
        let before = philox_calls(&w, 8, 8, true, false, false, c(8, 4));
        let now = philox_calls(&w, 8, 8, true, false, false, c(MAX_CT, MAX_KT));
        assert_eq!((before.forward, before.backward), (16_519_424, 33_030_656));
        assert_eq!((now.forward, now.backward), (16_519_424, 16_515_328));
        // Once per weight and pass: the nominal count W of docs/performance.md, 4 per call.
        assert_eq!(now.total() * 4, 132_139_008);
        // With the Jacobian tangents (16 forward columns) the forward tile no longer repeats.
        let jac_before = philox_calls(&w, 16, 8, true, false, true, c(8, 4));
        let jac_now = philox_calls(&w, 16, 8, true, false, true, c(MAX_CT, MAX_KT));
        assert_eq!(jac_before.forward, 2 * jac_now.forward);
        assert_eq!(jac_now.other, 32);
    }
}

//! The GPU geometry engine: grid lower bounds of `patterns` and `regions` for many networks per
//! dispatch (kernel: shaders/geometry.wgsl; CPU twin: [`GeometryEngine::grid_counts`];
//! docs/geometry.md, "Grid estimates on the GPU").
//!
//! Per chunk of networks: one `geo_weights` dispatch per layer (Ŵ^l, √C_b β^l and the
//! first-layer columns into `work`), `geo_forward` dispatches over (point, network) covering
//! layer ranges under the loop budget (lavapipe ends an invocation's loops after 65535
//! iterations, docs/gpu.md), one `geo_count` dispatch (one workgroup per network). Only two u32
//! counts per network are read back. The method is "grid": these are not the CPU engine's
//! exact counts. A chunk never straddles a multiple of 2^32 networks (one Philox key).

use super::context::GpuContext;
use super::dense::{LOOP_BUDGET, PARAMS_BYTES};
use super::shaders::geometry_source;
use super::wgsl_constants::law_code;
use crate::geometry::{curve_grid, triangle_grid, GeometryEngine, PATTERNS_GRID, REGIONS_GRID};
use crate::plan::{Cost, Device, Engine, Env, Request};
use crate::stream::{network_stream, networks_sharing_key};
use crate::{BatchSampler, Problem, SamplerError};
use randnet_problem::{Curve, Primitive, PrimitiveSet};

/// Words per layer record of the kernel's layer table.
const LREC: usize = 12;
/// Threads per workgroup of the weight and forward kernels.
const WG: u32 = 64;
/// Threads per workgroup of the counting kernel (one workgroup per network).
const WGC: u32 = 256;
/// The widest hidden layer: each invocation keeps two private arrays of width/4 vec4s.
pub const GPU_GEOMETRY_MAX_WIDTH: usize = 2048;

/// The uniform block of shaders/geometry.wgsl (`Params`), padded to the dense layout's block.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
struct GeoParams {
    key: [u32; 2],
    net_start: u32,
    count: u32,
    layer: u32,
    l0: u32,
    l1: u32,
    n0: u32,
    law: u32,
    has_bias: u32,
    sqrt_cb: f32,
    curve: u32,
    p_tri: u32,
    n_sort: u32,
    g: u32,
    work_stride: u32,
    col_off: u32,
    state_off: u32,
    key_stride: u32,
    out_off: u32,
    pt_off: u32,
    write_state: u32,
}

// The block shares the dense kernel's bind-group layout, whose uniform binding has that size.
const _: () = assert!(std::mem::size_of::<GeoParams>() as u64 <= PARAMS_BYTES);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Weights,
    Forward,
    Count,
}

fn unsupported(msg: &str) -> SamplerError {
    SamplerError::Unsupported(format!("GPU geometry engine: {msg}; use --backend cpu"))
}

/// The problem's shape as the kernel sees it: validated without a GPU.
struct Shape {
    geo: GeometryEngine,
    widths: Vec<usize>,
    p_tri: usize,
    g: usize,
    /// Forward multiply-adds per network (points × hidden-to-hidden weights).
    macs: f64,
}

impl Shape {
    fn new(problem: &Problem) -> Result<Self, SamplerError> {
        crate::plan::ntk_or_standard_only(problem).map_err(SamplerError::Unsupported)?;
        let observe = problem.observe;
        if observe.needs(Primitive::LengthDistortion) {
            return Err(unsupported(
                "computes regions and patterns (grid lower bounds) only, not length_distortion",
            ));
        }
        let geo = GeometryEngine::new(problem)?;
        let spec = &problem.spec;
        let widths = spec.layer_widths();
        let nmax = spec.hidden.iter().copied().max().unwrap_or(0);
        if nmax > GPU_GEOMETRY_MAX_WIDTH {
            return Err(unsupported(&format!(
                "hidden widths up to {GPU_GEOMETRY_MAX_WIDTH} (private arrays per point), got {nmax}"
            )));
        }
        let p_tri = if observe.needs(Primitive::Patterns) {
            PATTERNS_GRID * PATTERNS_GRID
        } else {
            0
        };
        let g = if observe.needs(Primitive::Regions) {
            REGIONS_GRID
        } else {
            0
        };
        let hidden_weights: usize = widths[1..=spec.depth()]
            .windows(2)
            .map(|w| w[0] * w[1])
            .sum();
        Ok(Shape {
            geo,
            p_tri,
            g,
            macs: ((p_tri + g) * (hidden_weights + widths[1])) as f64,
            widths,
        })
    }

    fn depth(&self) -> usize {
        self.widths.len() - 2
    }

    fn w4(&self, l: usize) -> u64 {
        self.widths[l].div_ceil(4) as u64
    }

    /// Pessimistic loop iterations of one invocation of `geo_forward` for layer l.
    fn layer_loops(&self, l: usize) -> u64 {
        let hash = self.w4(l) + 2;
        if l == 1 {
            self.w4(1) + hash + 2
        } else {
            let (i4, o4) = (self.w4(l - 1), self.w4(l));
            i4 + o4 * (i4 + 1) + hash + 2
        }
    }

    /// Layer ranges [l0, l1) of the forward dispatches under `budget` loop iterations each
    /// (counting the state's load and store when a range does not start or end the network).
    fn ranges(&self, budget: u64) -> Result<Vec<(usize, usize)>, String> {
        let depth = self.depth();
        let nb = self.widths[1..=depth]
            .iter()
            .map(|n| n.div_ceil(4) as u64)
            .max()
            .unwrap_or(1);
        let state = 2 * nb + 2;
        let mut out = Vec::new();
        let mut start = 1;
        let mut used = 0;
        for l in 1..=depth {
            let c = self.layer_loops(l);
            if c + state > budget {
                return Err(format!(
                    "layer {l} needs ~{c} loop iterations per invocation and this adapter ends \
                     shaders after 65535"
                ));
            }
            if l > start && used + c + state > budget {
                out.push((start, l));
                start = l;
                used = 0;
            }
            used += c;
        }
        out.push((start, depth + 1));
        Ok(out)
    }

    /// The other kernels' loops: the first layer's weights (n0/4 blocks) and the sort.
    fn check_other_loops(&self, budget: u64) -> Result<(), String> {
        let n0_4 = self.widths[0].div_ceil(4) as u64;
        if n0_4 + 2 > budget {
            return Err(format!(
                "the input dimension {} needs ~{n0_4} loop iterations per invocation and this \
                 adapter ends shaders after 65535",
                self.widths[0]
            ));
        }
        let n = self.p_tri.next_power_of_two() as u64;
        let lg = n.trailing_zeros() as u64;
        let sort = lg * (lg + 1) / 2 * (n / 2).div_ceil(WGC as u64).max(1) + 4 * lg * lg;
        let count = 2 * n.div_ceil(WGC as u64) + (self.g as u64).div_ceil(WGC as u64) + 8;
        if sort + count > budget {
            return Err("the sort of the pattern hashes is too long for this adapter".into());
        }
        Ok(())
    }
}

/// The GPU geometry engine on a wgpu device: a [`BatchSampler`] with backend "gpu", method
/// "grid" (the counts are grid lower bounds, not the CPU engine's exact counts).
pub struct GpuGeometry {
    ctx: GpuContext,
    pipes: [wgpu::ComputePipeline; 3],
    /// Per dispatch: kind, parameter block (chunk-independent fields), workgroups along x.
    blocks: Vec<(Kind, GeoParams, u32)>,
    seed: u64,
    /// Output order: (is_regions) per value, as [`GeometryEngine::names`].
    values: Vec<bool>,
    curve: Curve,
    chunk_max: usize,
    params: wgpu::Buffer,
    params_align: u64,
    keys: wgpu::Buffer,
    staging: wgpu::Buffer,
    out_off: u64,
    bind: wgpu::BindGroup,
    _layers: wgpu::Buffer,
    _host: wgpu::Buffer,
    _work: wgpu::Buffer,
}

impl GpuGeometry {
    pub fn new(ctx: &GpuContext, problem: &Problem) -> Result<Self, SamplerError> {
        Self::with_budget(ctx, problem, None)
    }

    /// `loop_budget`: loop iterations one invocation may run per dispatch (`None`: the CPU
    /// adapters' [`LOOP_BUDGET`], no bound on hardware GPUs); tests lower it to exercise the
    /// split of a network's layers over several dispatches.
    pub fn with_budget(
        ctx: &GpuContext,
        problem: &Problem,
        loop_budget: Option<u64>,
    ) -> Result<Self, SamplerError> {
        let shape = Shape::new(problem)?;
        let budget = loop_budget.unwrap_or(if ctx.is_hardware() {
            u64::MAX / 4
        } else {
            LOOP_BUDGET
        });
        let ranges = shape.ranges(budget).map_err(|e| unsupported(&e))?;
        if !ctx.is_hardware() || loop_budget.is_some() {
            shape
                .check_other_loops(budget.max(LOOP_BUDGET))
                .map_err(|e| unsupported(&e))?;
        }
        let spec = &problem.spec;
        let w = &shape.widths;
        let depth = shape.depth();
        let inputs = shape.geo.grid_inputs();
        let limits = ctx.limits().clone();

        // ---- layer table and the work layout of one network (vec4 units) ----
        let mut table = vec![0u32; LREC * (depth + 1)];
        let mut off = 0usize;
        for l in 1..=depth {
            let (n_in, n_out) = (w[l - 1], w[l]);
            let (i4, o4) = (n_in.div_ceil(4), n_out.div_ceil(4));
            let (p, m) = spec.activation.slopes(n_out).unwrap_or((1.0, 1.0));
            let residual = spec.is_residual_layer(l);
            let branch = if residual {
                spec.residual_alpha().unwrap_or(1.0)
            } else {
                1.0
            };
            let (w_off, b_off) = if l >= 2 {
                let wo = off;
                off += 4 * o4 * i4;
                let bo = off;
                off += o4;
                (wo, bo)
            } else {
                (0, 0)
            };
            let r = &mut table[l * LREC..(l + 1) * LREC];
            r[0] = n_in as u32;
            r[1] = n_out as u32;
            r[2] = i4 as u32;
            r[3] = o4 as u32;
            r[4] = w_off as u32;
            r[5] = b_off as u32;
            r[6] = (p != m) as u32;
            r[7] = residual as u32;
            r[8] = ((spec.cw / n_in as f64).sqrt() as f32).to_bits();
            r[9] = (branch as f32).to_bits();
            r[10] = (p as f32).to_bits();
            r[11] = (m as f32).to_bits();
        }
        let n1_4 = w[1].div_ceil(4);
        let col_off = off;
        off += 6 * n1_4;
        let work_stride = off.max(1);
        let nb = w[1..=depth]
            .iter()
            .map(|n| n.div_ceil(4))
            .max()
            .unwrap_or(1)
            .max(1);
        let (p_tri, g) = (shape.p_tri, shape.g);
        let p_total = p_tri + g;
        let n_sort = if p_tri > 0 {
            p_tri.next_power_of_two()
        } else {
            0
        };
        let key_stride = 2 * (n_sort + g);
        let split = ranges.len() > 1;
        let state_per_net = if split { p_total * nb } else { 0 };

        // ---- chunk size: memory, binding limits, work per submission ----
        let max_binding = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let work_bytes = 16 * (work_stride + state_per_net) as u64;
        let key_bytes = 4 * key_stride as u64 + 8;
        if work_bytes > max_binding || key_bytes > max_binding {
            return Err(SamplerError::TooLarge(format!(
                "GPU geometry engine: one network needs {} MiB of GPU working memory, more than \
                 the adapter's storage-buffer limit ({} MiB)",
                (work_bytes + key_bytes) >> 20,
                max_binding >> 20
            )));
        }
        let (cap, macs_cap): (u64, f64) = if ctx.is_hardware() {
            (2 << 30, 2f64.powi(38))
        } else {
            (256 << 20, 2f64.powi(28))
        };
        let chunk_max = (cap / (work_bytes + key_bytes))
            .min(max_binding / work_bytes)
            .min(max_binding / key_bytes)
            .min(limits.max_compute_workgroups_per_dimension as u64)
            .min((macs_cap / shape.macs.max(1.0)) as u64)
            .min((u32::MAX as u64 / 4) / (work_stride + state_per_net).max(key_stride) as u64)
            .max(1) as usize;

        // ---- parameter blocks ----
        let proto = GeoParams {
            n0: w[0] as u32,
            law: law_code(spec.weights),
            has_bias: (spec.cb > 0.0) as u32,
            sqrt_cb: spec.cb.sqrt() as f32,
            curve: match inputs.curve {
                Curve::Segment => 1,
                Curve::Circle => 2,
            },
            p_tri: p_tri as u32,
            n_sort: n_sort as u32,
            g: g as u32,
            work_stride: work_stride as u32,
            col_off: col_off as u32,
            state_off: (chunk_max * work_stride) as u32,
            key_stride: key_stride as u32,
            out_off: (chunk_max * key_stride) as u32,
            pt_off: (5 * w[0]) as u32,
            ..Default::default()
        };
        let groups = |items: usize| items.div_ceil(WG as usize) as u32;
        let mut blocks = Vec::new();
        for l in 1..=depth {
            let items = if l == 1 {
                n1_4
            } else {
                let (i4, o4) = (w[l - 1].div_ceil(4), w[l].div_ceil(4));
                4 * o4 * i4 + o4
            };
            if groups(items) > limits.max_compute_workgroups_per_dimension {
                return Err(unsupported(&format!(
                    "layer {l} is too large for one dispatch"
                )));
            }
            blocks.push((
                Kind::Weights,
                GeoParams {
                    layer: l as u32,
                    ..proto
                },
                groups(items),
            ));
        }
        for (i, &(l0, l1)) in ranges.iter().enumerate() {
            blocks.push((
                Kind::Forward,
                GeoParams {
                    l0: l0 as u32,
                    l1: l1 as u32,
                    write_state: (i + 1 < ranges.len()) as u32,
                    ..proto
                },
                groups(p_total),
            ));
        }
        blocks.push((Kind::Count, proto, 0));

        // ---- buffers ----
        use wgpu::BufferUsages as U;
        let queue = ctx.queue();
        let mut host: Vec<f32> = Vec::with_capacity(5 * w[0] + 2 * p_total);
        for v in &inputs.vectors {
            host.extend(v.iter().map(|&x| x as f32));
        }
        let mut pts = Vec::with_capacity(p_total);
        if p_tri > 0 {
            pts.extend(triangle_grid(PATTERNS_GRID));
        }
        if g > 0 {
            pts.extend(curve_grid(inputs.curve, g));
        }
        debug_assert_eq!(pts.len(), p_total);
        host.extend(pts.iter().flat_map(|p| [p[0] as f32, p[1] as f32]));
        let storage = |label: &str, data: &[u8]| -> Result<wgpu::Buffer, SamplerError> {
            let b = ctx.buffer(label, data.len().max(16) as u64, U::STORAGE | U::COPY_DST)?;
            queue.write_buffer(&b, 0, data);
            Ok(b)
        };
        let layers = storage("geometry layers", bytemuck::cast_slice(&table))?;
        let host_buf = storage("geometry inputs", bytemuck::cast_slice(&host))?;
        let work = ctx.buffer("geometry work", chunk_max as u64 * work_bytes, U::STORAGE)?;
        let keys_len = chunk_max as u64 * key_bytes;
        let keys = ctx.buffer("geometry keys", keys_len, U::STORAGE | U::COPY_SRC)?;
        let staging = ctx.buffer(
            "geometry staging",
            8 * chunk_max as u64,
            U::MAP_READ | U::COPY_DST,
        )?;
        let params_align = (limits.min_uniform_buffer_offset_alignment as u64).max(PARAMS_BYTES);
        let params = ctx.buffer(
            "geometry params",
            params_align * blocks.len() as u64,
            U::UNIFORM | U::COPY_DST,
        )?;
        let bind = ctx.engine_bind_group("geometry", &params, [&layers, &host_buf, &work, &keys]);
        let source = geometry_source(WG, WGC, nb as u32, LREC as u32);
        let pipes = [
            ctx.pipeline("geometry weights", &source, "geo_weights", true)?,
            ctx.pipeline("geometry forward", &source, "geo_forward", true)?,
            ctx.pipeline("geometry count", &source, "geo_count", true)?,
        ];
        ctx.check()?;
        let values = shape.geo.names().iter().map(|n| n == "regions").collect();
        Ok(GpuGeometry {
            ctx: ctx.clone(),
            pipes,
            blocks,
            seed: problem.seed,
            values,
            curve: inputs.curve,
            chunk_max,
            params,
            params_align,
            keys,
            staging,
            out_off: 4 * (chunk_max * key_stride) as u64,
            bind,
            _layers: layers,
            _host: host_buf,
            _work: work,
        })
    }

    /// Networks per chunk.
    pub fn chunk_size(&self) -> usize {
        self.chunk_max
    }

    /// Forward dispatches per chunk (more than one where the loop budget splits the layers).
    pub fn forward_dispatches(&self) -> usize {
        self.blocks.iter().filter(|b| b.0 == Kind::Forward).count()
    }

    fn run_chunk(&self, net_start: u64, count: usize, out: &mut [f64]) -> Result<(), SamplerError> {
        assert!(
            count as u64 <= networks_sharing_key(net_start),
            "a GPU chunk must not straddle a multiple of 2^32 networks"
        );
        let (key, c0) = network_stream(self.seed, net_start);
        let align = self.params_align as usize;
        let mut bytes = vec![0u8; align * self.blocks.len()];
        for (i, (_, b, _)) in self.blocks.iter().enumerate() {
            let mut p = *b;
            p.key = key;
            p.net_start = c0;
            p.count = count as u32;
            let s = bytemuck::bytes_of(&p);
            bytes[i * align..i * align + s.len()].copy_from_slice(s);
        }
        let queue = self.ctx.queue();
        queue.write_buffer(&self.params, 0, &bytes);
        let mut enc = self
            .ctx
            .device()
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("geometry"),
            });
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("geometry"),
                timestamp_writes: None,
            });
            for (i, (kind, _, x)) in self.blocks.iter().enumerate() {
                let (pipe, dims) = match kind {
                    Kind::Weights => (&self.pipes[0], (*x, count as u32)),
                    Kind::Forward => (&self.pipes[1], (*x, count as u32)),
                    Kind::Count => (&self.pipes[2], (count as u32, 1)),
                };
                pass.set_pipeline(pipe);
                pass.set_bind_group(0, &self.bind, &[(i * align) as u32]);
                pass.dispatch_workgroups(dims.0, dims.1, 1);
            }
        }
        let n_bytes = 8 * count as u64;
        enc.copy_buffer_to_buffer(&self.keys, self.out_off, &self.staging, 0, n_bytes);
        let idx = queue.submit([enc.finish()]);
        let counts: Vec<u32> = self.ctx.read_mapped(&self.staging, n_bytes, idx, |b| {
            bytemuck::cast_slice::<u8, u32>(b).to_vec()
        })?;
        let d = self.values.len();
        for (i, row) in out[..count * d].chunks_exact_mut(d).enumerate() {
            let (patterns, changes) = (counts[2 * i], counts[2 * i + 1]);
            for (o, &is_regions) in row.iter_mut().zip(&self.values) {
                *o = if is_regions {
                    match self.curve {
                        Curve::Segment => changes as f64 + 1.0,
                        Curve::Circle => changes.max(1) as f64,
                    }
                } else {
                    patterns as f64
                };
            }
        }
        Ok(())
    }
}

impl BatchSampler for GpuGeometry {
    fn n_values(&self) -> usize {
        self.values.len()
    }

    fn sample_batch(
        &mut self,
        start: u64,
        count: usize,
        out: &mut [f64],
    ) -> Result<(), SamplerError> {
        let shape = (start, count, self.values.len(), self.chunk_max);
        let ctx = self.ctx.clone();
        super::sample_in_key_chunks(&ctx, shape, out, |first, n, rows| {
            self.run_chunk(first, n, rows)
        })
    }

    fn backend(&self) -> &'static str {
        "gpu"
    }

    /// "grid": lower bounds on grids of points, not the CPU engine's exact counts.
    fn method(&self) -> &'static str {
        "grid"
    }

    fn preferred_batch(&self) -> Option<usize> {
        Some(self.chunk_max * 2)
    }
}

/// The geometry engine in WGSL, as registered in [`crate::plan::ENGINES`].
pub struct GeometryGpu;

/// The primitives of the GPU geometry engine.
pub const GEOMETRY_GPU: PrimitiveSet = PrimitiveSet::EMPTY
    .with(Primitive::Regions)
    .with(Primitive::Patterns);

impl Engine for GeometryGpu {
    fn name(&self) -> &'static str {
        "geometry"
    }

    fn device(&self) -> Device {
        Device::Gpu
    }

    fn primitives(&self) -> PrimitiveSet {
        GEOMETRY_GPU
    }

    /// Only with `--backend gpu`: its counts are grid lower bounds, and under `auto` the CPU's
    /// exact engine stays the default (no GPU timing backs a switch yet). Modelled at 1e12
    /// multiply-adds/s (not measured).
    fn supports(&self, problem: &Problem, request: &Request, env: &Env) -> Result<Cost, String> {
        if request.device != Some(Device::Gpu) {
            return Err(
                "the GPU geometry engine (grid lower bounds) runs only with --backend gpu; \
                 the CPU geometry engine (exact) is the default"
                    .into(),
            );
        }
        let shape = Shape::new(problem).map_err(|e| e.to_string())?;
        let ctx = super::engines::context(env)?;
        if !ctx.is_hardware() {
            shape
                .ranges(LOOP_BUDGET)
                .map_err(|e| unsupported(&e).to_string())?;
            shape
                .check_other_loops(LOOP_BUDGET)
                .map_err(|e| unsupported(&e).to_string())?;
        }
        Ok(Cost {
            networks_per_second: 1e12 / shape.macs.max(1.0),
        })
    }

    fn build(&self, problem: &Problem, env: &Env) -> Result<Box<dyn BatchSampler>, SamplerError> {
        let ctx = super::engines::context(env).map_err(SamplerError::Gpu)?;
        Ok(Box::new(GpuGeometry::new(ctx, problem)?))
    }
}

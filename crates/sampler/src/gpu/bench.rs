//! GPU ceilings (docs/performance.md): Philox4x32-10 + Box–Muller normals/s and FP32 FMA/s,
//! measured by WGSL microbenchmarks (shaders/bench_philox.wgsl, shaders/bench_fma.wgsl) on the
//! context's device. Timing is wall-clock around submit + wait, over a submission of several
//! dispatches, after one warm-up submission; the median of the repetitions is reported.

use super::shaders::{module_source, NORMAL, PHILOX};
use super::GpuContext;
use crate::SamplerError;
use std::time::Instant;

const BENCH_PHILOX: &str = include_str!("../../../../shaders/bench_philox.wgsl");
const BENCH_FMA: &str = include_str!("../../../../shaders/bench_fma.wgsl");

/// Which microbenchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CeilingKind {
    /// Philox4x32-10 blocks turned into 4 normals each (normals4), all summed.
    Normals,
    /// Philox4x32-10 words alone, xor-folded.
    Words,
    /// FP32 fused multiply-adds in 16 independent chains per thread.
    Fma,
}

/// One ceiling measurement.
#[derive(Debug, Clone)]
pub struct Ceiling {
    pub kind: CeilingKind,
    /// Units per second (normals, 32-bit words, or FMAs), median over the repetitions.
    pub per_second: f64,
    /// Every repetition's rate.
    pub reps: Vec<f64>,
    /// Units counted per repetition.
    pub units_per_rep: f64,
    pub threads: u64,
    pub iters: u32,
    pub dispatches_per_rep: u32,
}

#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct BenchParams {
    iters: u32,
    seed0: u32,
    seed1: u32,
    row: u32,
}

/// The WGSL module of a microbenchmark (the generated prelude first, as every module).
pub(crate) fn bench_source(kind: CeilingKind) -> String {
    match kind {
        CeilingKind::Normals | CeilingKind::Words => module_source(&[PHILOX, NORMAL, BENCH_PHILOX]),
        CeilingKind::Fma => module_source(&[BENCH_FMA]),
    }
}

/// Runs a ceiling microbenchmark: `groups` workgroups of 256 threads (laid out 2-D when needed),
/// each thread `iters` loop iterations, `dispatches` dispatches per timed submission, `reps`
/// timed submissions after one warm-up.
pub fn measure_ceiling(
    ctx: &GpuContext,
    kind: CeilingKind,
    groups: u32,
    iters: u32,
    dispatches: u32,
    reps: usize,
) -> Result<Ceiling, SamplerError> {
    let device = ctx.device();
    let queue = ctx.queue();
    let (entry, per_iter) = match kind {
        CeilingKind::Normals => ("bench_normals", 4.0),
        CeilingKind::Words => ("bench_words", 4.0),
        CeilingKind::Fma => ("bench_fma", 64.0),
    };
    let source = bench_source(kind);
    let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
    let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
        label: Some(entry),
        source: wgpu::ShaderSource::Wgsl(source.into()),
    });
    let pipeline = device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
        label: Some(entry),
        layout: None,
        module: &module,
        entry_point: Some(entry),
        compilation_options: Default::default(),
        cache: None,
    });
    if let Some(e) = pollster::block_on(scope.pop()) {
        return Err(SamplerError::Gpu(format!("bench kernel {entry}: {e}")));
    }
    let max_dim = ctx.limits().max_compute_workgroups_per_dimension.max(1);
    let gx = groups.min(max_dim).max(1);
    let gy = groups.div_ceil(gx);
    let threads = gx as u64 * gy as u64 * 256;
    let params = BenchParams {
        iters,
        seed0: 0x2026_1123,
        seed1: 0x0bad_5eed,
        row: gx * 256,
    };
    use wgpu::util::DeviceExt;
    let ubuf = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
        label: Some("bench params"),
        contents: bytemuck::bytes_of(&params),
        usage: wgpu::BufferUsages::UNIFORM,
    });
    let out = ctx.buffer("bench out", threads * 4, wgpu::BufferUsages::STORAGE)?;
    let bind = device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some("bench"),
        layout: &pipeline.get_bind_group_layout(0),
        entries: &[
            wgpu::BindGroupEntry {
                binding: 0,
                resource: ubuf.as_entire_binding(),
            },
            wgpu::BindGroupEntry {
                binding: 1,
                resource: out.as_entire_binding(),
            },
        ],
    });
    let run = || -> Result<f64, SamplerError> {
        let mut enc = device.create_command_encoder(&Default::default());
        {
            let mut pass = enc.begin_compute_pass(&Default::default());
            pass.set_pipeline(&pipeline);
            pass.set_bind_group(0, &bind, &[]);
            for _ in 0..dispatches {
                pass.dispatch_workgroups(gx, gy, 1);
            }
        }
        let t = Instant::now();
        let sub = queue.submit([enc.finish()]);
        device
            .poll(wgpu::PollType::Wait {
                submission_index: Some(sub),
                timeout: None,
            })
            .map_err(|e| SamplerError::Gpu(format!("waiting for the GPU failed: {e}")))?;
        let dt = t.elapsed().as_secs_f64();
        ctx.check()?;
        Ok(dt)
    };
    run()?; // warm-up
    let units = threads as f64 * iters as f64 * per_iter * dispatches as f64;
    let mut rates = Vec::with_capacity(reps);
    for _ in 0..reps.max(1) {
        rates.push(units / run()?);
    }
    Ok(Ceiling {
        kind,
        per_second: median(&rates),
        reps: rates,
        units_per_rep: units,
        threads,
        iters,
        dispatches_per_rep: dispatches,
    })
}

/// Median of a non-empty slice.
pub fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        0.5 * (s[n / 2 - 1] + s[n / 2])
    }
}

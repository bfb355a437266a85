//! GPU engines on wgpu/WGSL (docs/engines.md, docs/gpu.md).
//!
//! - [`GpuContext`]: one per run — adapter choice ([`AdapterPreference`]), device and queue with
//!   the adapter's own limits, bind-group layouts and compiled pipelines, error capture.
//! - [`GpuDense`]: the dense engine (shaders/dense.wgsl), a [`crate::BatchSampler`] giving every
//!   network the values of the CPU [`crate::DenseEngine`] up to f32 rounding.
//! - [`GpuStep`]: the step engine (shaders/step.wgsl), the training observables of the CPU
//!   [`crate::step::StepEngine`] without storing W (the steps kept as rank-K updates).
//! - [`GpuGeometry`]: grid lower bounds of `patterns` and `regions` (shaders/geometry.wgsl),
//!   held to the CPU twin [`crate::GeometryEngine::grid_counts`].
//! - [`GpuContext::philox_probe`], [`GpuContext::activation_probe`]: the WGSL snippets run on
//!   given arguments, so tests can hold them against their CPU twins.
//! - [`wgsl_constants`]: the constants shared with the kernels (Philox, stream purposes,
//!   activation and law codes, ...), generated from Rust into a prelude of every WGSL module.

pub mod bench;
mod context;
mod dense;
mod engines;
mod geometry;
mod matrix_free;
mod shaders;
mod step;
pub mod wgsl_constants;

pub use context::{available_adapters, AdapterPreference, AdapterSummary, GpuContext, PhiloxProbe};
pub use dense::{GpuDense, GpuDenseOptions, PhiloxCalls};
pub use engines::{DenseGpu, MatrixFreeGpu};
pub use geometry::{GeometryGpu, GpuGeometry, GPU_GEOMETRY_MAX_WIDTH};
pub use matrix_free::GpuMatrixFree;
pub use step::{GpuStep, StepGpu};

/// Runs `run(first, n, rows)` over networks `start..start + count` in chunks of at most
/// `chunk_max` that never cross a multiple of 2^32 (where the stream's key changes), `rows`
/// being the chunk's `n * d` slots of `out`.
pub(crate) fn in_key_chunks(
    start: u64,
    count: usize,
    d: usize,
    chunk_max: usize,
    out: &mut [f64],
    mut run: impl FnMut(u64, usize, &mut [f64]) -> Result<(), crate::SamplerError>,
) -> Result<(), crate::SamplerError> {
    assert!(out.len() >= count * d, "output slice too short");
    let mut done = 0usize;
    while done < count {
        let first = start + done as u64;
        let n = (chunk_max.min(count - done) as u64).min(crate::stream::networks_sharing_key(first))
            as usize;
        run(first, n, &mut out[done * d..(done + n) * d])?;
        done += n;
    }
    Ok(())
}

/// [`in_key_chunks`] between two checks of the device's error state: the `sample_batch` of the
/// engines that run one chunk at a time.
pub(crate) fn sample_in_key_chunks(
    ctx: &GpuContext,
    (start, count, d, chunk_max): (u64, usize, usize, usize),
    out: &mut [f64],
    run: impl FnMut(u64, usize, &mut [f64]) -> Result<(), crate::SamplerError>,
) -> Result<(), crate::SamplerError> {
    ctx.check()?;
    in_key_chunks(start, count, d, chunk_max, out, run)?;
    ctx.check()
}

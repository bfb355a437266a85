//! GPU engines on wgpu/WGSL (docs/engines.md, docs/gpu.md).
//!
//! - [`GpuContext`]: one per run — adapter choice ([`AdapterPreference`]), device and queue with
//!   the adapter's own limits, bind-group layouts and compiled pipelines, error capture.
//! - [`GpuDense`]: the dense engine (shaders/dense.wgsl), a [`crate::BatchSampler`] giving every
//!   network the values of the CPU [`crate::DenseEngine`] up to f32 rounding.
//! - [`GpuStep`]: the step engine (shaders/step.wgsl), the training observables of the CPU
//!   [`crate::step::StepEngine`] without storing W (the steps kept as rank-K updates).
//! - [`GpuContext::philox_probe`], [`GpuContext::activation_probe`]: the WGSL snippets run on
//!   given arguments, so tests can hold them against their CPU twins.
//! - [`wgsl_constants`]: the constants shared with the kernels (Philox, stream purposes,
//!   activation and law codes, ...), generated from Rust into a prelude of every WGSL module.

pub mod bench;
mod context;
mod dense;
mod engines;
mod matrix_free;
mod shaders;
mod step;
pub mod wgsl_constants;

pub use context::{available_adapters, AdapterPreference, AdapterSummary, GpuContext, PhiloxProbe};
pub use dense::{GpuDense, GpuDenseOptions};
pub use engines::{DenseGpu, MatrixFreeGpu};
pub use matrix_free::GpuMatrixFree;
pub use step::{GpuStep, StepGpu};

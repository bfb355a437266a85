//! GPU engines on wgpu/WGSL (docs/engines.md, docs/gpu.md).
//!
//! - [`GpuContext`]: one per run — adapter choice ([`AdapterPreference`]), device and queue with
//!   the adapter's own limits, bind-group layouts and compiled pipelines, error capture.
//! - [`GpuDense`]: the dense engine (shaders/dense.wgsl), a [`crate::BatchSampler`] giving every
//!   network the values of the CPU [`crate::DenseEngine`] up to f32 rounding.
//! - [`GpuContext::philox_probe`], [`GpuContext::activation_probe`]: the WGSL snippets run on
//!   given arguments, so tests can hold them against their CPU twins.

pub mod bench;
mod context;
mod dense;
mod matrix_free;
mod shaders;

pub use context::{available_adapters, AdapterPreference, AdapterSummary, GpuContext, PhiloxProbe};
pub use dense::{GpuDense, GpuDenseOptions};
pub use matrix_free::GpuMatrixFree;

//! Random streams and the engines that draw random networks.
//!
//! - [`philox`]: Philox4x32-10 (the generator), [`stream`]: which counter draws which number
//!   (the public stream layout of docs/rng.md), [`inputs`]: drawn inputs.
//! - [`dense`]: the dense CPU engine in f64, the reference for every other engine.
//! - [`BatchSampler`]: what the CLI drives: "draw networks start..start+count and write their
//!   observable values". Every engine gives each network the same numbers whatever the batch,
//!   thread count or shard, so estimates do not depend on how the work is split.

pub mod activation;
pub mod dense;
pub mod fastmath;
pub mod geometry;
#[cfg(feature = "gpu")]
pub mod gpu;
pub mod inputs;
pub mod philox;
pub mod plan;
pub mod step;
pub mod stream;

use randnet_problem::{Layout, NetworkSpec, Observe, SpecError};
use rayon::prelude::*;

pub use dense::DenseEngine;
pub use geometry::{CurveTrace, GeometryEngine, GeometryScratch, PatternsMethod};
#[cfg(feature = "gpu")]
pub use gpu::{AdapterPreference, GpuContext, GpuDense, GpuMatrixFree};

/// Errors of the engines.
#[derive(Debug, thiserror::Error)]
pub enum SamplerError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error("{0}")]
    Unsupported(String),
    #[error("{0}")]
    TooLarge(String),
    /// No usable GPU adapter, a kernel that did not compile, a device error or device loss.
    #[error("{0}")]
    Gpu(String),
}

/// Everything that determines the networks drawn and the values recorded for each.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub spec: NetworkSpec,
    /// The K inputs, each of length n0.
    pub inputs: Vec<Vec<f64>>,
    pub observe: Observe,
    pub seed: u64,
}

impl Problem {
    pub fn validate(&self) -> Result<(), SamplerError> {
        self.spec.validate()?;
        if self.inputs.is_empty() {
            return Err(SpecError::Invalid("at least one input is needed".into()).into());
        }
        for x in &self.inputs {
            if x.len() != self.spec.input_dim {
                return Err(SpecError::Invalid(format!(
                    "an input has {} coordinates but --input-dim is {}",
                    x.len(),
                    self.spec.input_dim
                ))
                .into());
            }
        }
        match &self.spec.step {
            None => {
                if let Some(p) = step::TRAINING.iter().find(|&p| self.observe.needs(p)) {
                    return Err(SpecError::Invalid(format!(
                        "{} is measured after gradient steps: it needs --step-lr ETA (docs/training.md)",
                        randnet_problem::families::FAMILIES
                            .iter()
                            .find(|d| d.primitive == p)
                            .map_or("this observable", |d| d.token)
                    ))
                    .into());
                }
            }
            Some(step) => {
                if !step.targets.is_empty() && step.targets.len() != self.inputs.len() {
                    return Err(SpecError::Invalid(format!(
                        "--targets has {} values for {} inputs (one target per input)",
                        step.targets.len(),
                        self.inputs.len()
                    ))
                    .into());
                }
            }
        }
        if self.spec.layer_widths().iter().any(|&n| n >= 1 << 31)
            || self.spec.depth() + 1 >= 1 << 24
        {
            return Err(SamplerError::TooLarge(
                "a width >= 2^31 or a depth >= 2^24 does not fit the random stream's counters"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Observable names (README, "Observables"), in output order.
    pub fn names(&self) -> Vec<String> {
        self.observe.names(&self.spec, self.inputs.len())
    }

    /// Where every primitive and value of this problem sits (built from the registry).
    pub fn layout(&self) -> Layout {
        self.observe.layout(&self.spec, self.inputs.len())
    }

    /// Primitive values per network: what engines write.
    pub fn n_values(&self) -> usize {
        self.layout().primitive_len()
    }
}

/// Draws batches of networks. Implementations must give network `i` the same values whatever
/// the batch boundaries.
pub trait BatchSampler {
    /// Values per network.
    fn n_values(&self) -> usize;
    /// Writes the values of networks `start..start + count` into `out` (row-major,
    /// `count * n_values()` numbers).
    fn sample_batch(
        &mut self,
        start: u64,
        count: usize,
        out: &mut [f64],
    ) -> Result<(), SamplerError>;
    /// "cpu" or "gpu".
    fn backend(&self) -> &'static str;
    /// The engine's name ("dense", "matrix-free", "exact", joined engines "dense+exact").
    fn method(&self) -> &str;
    /// Networks per call that keep this engine busy (GPU engines want several dispatch chunks
    /// per call); `None` leaves the choice to the caller.
    fn preferred_batch(&self) -> Option<usize> {
        None
    }
}

pub mod linalg;
pub mod matrix_free;

pub use matrix_free::MatrixFreeEngine;

/// One network at a time on the CPU: what [`Cpu`] runs in parallel over networks. Each network
/// is a pure function of the stream, so the values do not depend on how networks are split
/// between threads or batches.
pub trait NetworkEngine: Sync + Sized {
    type Scratch: Send;
    fn build(problem: &Problem) -> Result<Self, SamplerError>;
    fn n_values(&self) -> usize;
    fn scratch(&self) -> Self::Scratch;
    /// Writes the values of network `net` into `out`.
    fn sample(&self, net: u64, scratch: &mut Self::Scratch, out: &mut [f64]);
    fn method(&self) -> &'static str;
    /// Networks per rayon task; 1 for engines whose per-network cost varies a lot.
    fn max_task_len(&self) -> usize {
        usize::MAX
    }
    fn preferred_batch(&self) -> Option<usize> {
        None
    }
}

/// A [`NetworkEngine`] on the CPU, parallel over networks with rayon.
pub struct Cpu<E> {
    engine: E,
}

impl<E: NetworkEngine> Cpu<E> {
    pub fn new(problem: &Problem) -> Result<Self, SamplerError> {
        Ok(Cpu {
            engine: E::build(problem)?,
        })
    }

    pub fn engine(&self) -> &E {
        &self.engine
    }
}

impl<E: NetworkEngine> BatchSampler for Cpu<E> {
    fn n_values(&self) -> usize {
        self.engine.n_values()
    }

    fn sample_batch(
        &mut self,
        start: u64,
        count: usize,
        out: &mut [f64],
    ) -> Result<(), SamplerError> {
        let d = self.engine.n_values();
        let engine = &self.engine;
        out[..count * d]
            .par_chunks_mut(d)
            .enumerate()
            .with_max_len(engine.max_task_len())
            .for_each_init(
                || engine.scratch(),
                |scratch, (i, row)| engine.sample(start + i as u64, scratch, row),
            );
        Ok(())
    }

    fn backend(&self) -> &'static str {
        "cpu"
    }

    fn method(&self) -> &str {
        self.engine.method()
    }

    fn preferred_batch(&self) -> Option<usize> {
        self.engine.preferred_batch()
    }
}

/// The dense engine on the CPU.
pub type CpuDense = Cpu<DenseEngine>;
/// The matrix-free engine on the CPU (Gaussian weights only).
pub type CpuMatrixFree = Cpu<MatrixFreeEngine>;
/// Exact geometry (regions, length distortion, patterns) on the CPU.
pub type CpuGeometry = Cpu<GeometryEngine>;

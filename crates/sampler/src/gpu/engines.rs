//! The GPU engines as registered in [`crate::plan::ENGINES`].

use super::{GpuDense, GpuMatrixFree};
use crate::plan::{self, Cost, Device, Engine, Env, Request, POINTWISE};
use crate::{BatchSampler, Problem, SamplerError};
use randnet_problem::{Primitive, PrimitiveSet, WeightLaw};

pub(super) fn context(env: &Env) -> Result<&super::GpuContext, String> {
    env.gpu.as_ref().ok_or_else(|| {
        format!(
            "no GPU ({})",
            env.no_gpu.as_deref().unwrap_or("none was opened")
        )
    })
}

/// The dense engine in WGSL (shaders/dense.wgsl).
pub struct DenseGpu;

impl Engine for DenseGpu {
    fn name(&self) -> &'static str {
        "dense"
    }

    fn device(&self) -> Device {
        Device::Gpu
    }

    fn primitives(&self) -> PrimitiveSet {
        POINTWISE
    }

    /// Any pointwise problem on an open GPU; under `--backend auto --method auto` not where the
    /// matrix-free engines pay and the GPU's takes the problem (docs/engines.md). Its model:
    /// ~2e11 weights/s on an H100, twice the passes with the NTK (docs/performance.md).
    fn supports(&self, problem: &Problem, request: &Request, env: &Env) -> Result<Cost, String> {
        crate::plan::ntk_or_standard_only(problem)?;
        context(env)?;
        if request.is_auto()
            && plan::matrix_free_pays(problem)
            && MatrixFreeGpu.supports(problem, request, env).is_ok()
        {
            return Err("the GPU matrix-free engine is faster here (docs/engines.md)".into());
        }
        let w = problem.spec.layer_widths();
        let weights: f64 = w.windows(2).map(|p| (p[0] * p[1]) as f64).sum();
        let passes = if problem.observe.needs(Primitive::Ntk) {
            2.0
        } else {
            1.0
        };
        Ok(Cost {
            networks_per_second: 2e11 / (weights * passes).max(1.0),
        })
    }

    fn build(&self, problem: &Problem, env: &Env) -> Result<Box<dyn BatchSampler>, SamplerError> {
        let ctx = context(env).map_err(SamplerError::Gpu)?;
        Ok(Box::new(GpuDense::new(ctx, problem)?))
    }
}

/// The matrix-free engine in WGSL (shaders/matrix_free.wgsl).
pub struct MatrixFreeGpu;

/// Networks/s of the GPU matrix-free engine measured at config A (n = 256, L = 32, K = 2,
/// output + NTK) on an H100, and that config's matrix-free work units (docs/performance.md).
const CONFIG_A_RATE: f64 = 406_700.0;
const CONFIG_A_UNITS: f64 = 49_158.0;

impl Engine for MatrixFreeGpu {
    fn name(&self) -> &'static str {
        "matrix-free"
    }

    fn device(&self) -> Device {
        Device::Gpu
    }

    fn primitives(&self) -> PrimitiveSet {
        POINTWISE
    }

    /// Gaussian nets (residual or not) with 1..=8 inputs (1..=4 with Jacobian norms), output, NTK,
    /// sqnorm and Jacobian norms; under `--method auto`
    /// only with `--backend auto` where the matrix-free engines pay. Its model: config A's
    /// measured rate scaled by matrix-free work units.
    fn supports(&self, problem: &Problem, request: &Request, env: &Env) -> Result<Cost, String> {
        crate::plan::ntk_or_standard_only(problem)?;
        let spec = &problem.spec;
        if spec.weights != WeightLaw::Gaussian {
            return Err(format!(
                "the matrix-free method needs Gaussian weights (got {}); use --method dense",
                spec.weights
            ));
        }
        let gpu_only = "GPU matrix-free engine";
        if !(1..=8).contains(&problem.inputs.len()) {
            return Err(format!("{gpu_only}: needs 1..=8 inputs; use --backend cpu"));
        }
        if problem.observe.needs(Primitive::JacobianNorm) && problem.inputs.len() > 4 {
            return Err(format!(
                "{gpu_only}: Jacobian norms need 1..=4 inputs (2K columns, at most 8); use --backend cpu"
            ));
        }
        if request.method.is_none()
            && !(request.device.is_none() && plan::matrix_free_pays(problem))
        {
            return Err("the dense engine is the default here (docs/engines.md)".into());
        }
        context(env)?;
        Ok(Cost {
            networks_per_second: CONFIG_A_RATE * CONFIG_A_UNITS / plan::matrix_free_units(problem),
        })
    }

    fn build(&self, problem: &Problem, env: &Env) -> Result<Box<dyn BatchSampler>, SamplerError> {
        let ctx = context(env).map_err(SamplerError::Gpu)?;
        Ok(Box::new(GpuMatrixFree::new(ctx, problem)?))
    }
}

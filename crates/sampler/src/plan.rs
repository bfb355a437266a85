//! Engines that say what they can do, and the planner that picks them.
//!
//! Every engine is registered once in [`ENGINES`] as an [`Engine`]: the primitives it computes,
//! whether it can draw a given problem and at what modelled rate ([`Engine::supports`]), and how
//! to build it. [`plan`] covers the primitives a problem needs with registered engines (a loop
//! over the registry, no special cases) and returns one [`BatchSampler`] that writes each
//! network's full primitive row; [`Sampler`] then reduces primitives to observable values and
//! rejects, in every build, a slot that no engine wrote.

use crate::{BatchSampler, Problem, SamplerError};
use randnet_problem::{Layout, Primitive, PrimitiveSet, WeightLaw};

/// The device an engine runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Device {
    Cpu,
    Gpu,
}

impl Device {
    pub fn name(self) -> &'static str {
        match self {
            Device::Cpu => "cpu",
            Device::Gpu => "gpu",
        }
    }
}

/// What running a problem on an engine is expected to cost.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    /// Modelled networks per second on this machine (docs/performance.md has the measurements
    /// the models are fitted to).
    pub networks_per_second: f64,
}

/// Why an engine cannot draw a problem.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{engine} ({device}): {reason}")]
pub struct Unsupported {
    pub engine: &'static str,
    pub device: &'static str,
    pub reason: String,
}

/// The primitives of the pointwise engines (dense, matrix-free): every one but geometry's.
pub const POINTWISE: PrimitiveSet = PrimitiveSet::EMPTY
    .with(Primitive::Output)
    .with(Primitive::Ntk)
    .with(Primitive::Sqnorm)
    .with(Primitive::JacobianNorm);

/// How the user constrained the choice (`--backend`, `--method`, `--adapter`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// `None`: any device (a GPU only when it is hardware).
    pub device: Option<Device>,
    /// `None`: any engine; else the engine name (`dense`, `matrix-free`).
    pub method: Option<String>,
    /// A substring of the GPU adapter's name.
    pub adapter: Option<String>,
}

impl Request {
    /// True when the choice is left to the planner (`--backend auto --method auto`).
    pub fn is_auto(&self) -> bool {
        self.device.is_none() && self.method.is_none()
    }
}

/// What the engines may use: threads, and the GPU when one was opened. One per run or sweep, so a
/// sweep opens its GPU once.
pub struct Env {
    pub threads: usize,
    #[cfg(feature = "gpu")]
    pub gpu: Option<crate::gpu::GpuContext>,
    /// Why no GPU is open (for errors), when none is.
    pub no_gpu: Option<String>,
}

impl Env {
    /// Opens what `request` may use: the GPU for `--backend gpu` (an error when there is none),
    /// a hardware GPU for `auto` when one exists (never lavapipe: on a machine without a GPU the
    /// CPU engines are the better choice), nothing for `--backend cpu`.
    pub fn open(request: &Request) -> Result<Self, SamplerError> {
        if request.device == Some(Device::Cpu) && request.adapter.is_some() {
            return Err(SamplerError::Unsupported(
                "--adapter picks a GPU adapter: it needs --backend gpu or auto, not --backend cpu"
                    .into(),
            ));
        }
        let threads = rayon::current_num_threads();
        #[cfg(feature = "gpu")]
        {
            use crate::gpu::{AdapterPreference, GpuContext};
            let prefer = |allow_cpu_adapter| AdapterPreference {
                allow_cpu_adapter,
                adapter_substring: request.adapter.clone(),
            };
            let (gpu, no_gpu) = match request.device {
                Some(Device::Cpu) => (None, Some("--backend cpu".to_string())),
                Some(Device::Gpu) => (Some(GpuContext::new(prefer(true))?), None),
                None => match GpuContext::new(prefer(false)) {
                    Ok(ctx) => (Some(ctx), None),
                    Err(e) => (None, Some(e.to_string())),
                },
            };
            Ok(Env {
                threads,
                gpu,
                no_gpu,
            })
        }
        #[cfg(not(feature = "gpu"))]
        {
            if request.device == Some(Device::Gpu) {
                return Err(SamplerError::Gpu(
                    "this randnet was built without the `gpu` feature".into(),
                ));
            }
            Ok(Env {
                threads,
                no_gpu: Some("built without the `gpu` feature".into()),
            })
        }
    }

    /// The CPU only.
    pub fn cpu() -> Self {
        Env {
            threads: rayon::current_num_threads(),
            #[cfg(feature = "gpu")]
            gpu: None,
            no_gpu: Some("CPU only".into()),
        }
    }

    /// The name of the GPU adapter in use, if any.
    pub fn adapter_name(&self) -> Option<String> {
        #[cfg(feature = "gpu")]
        if let Some(ctx) = &self.gpu {
            return Some(ctx.adapter_name().to_string());
        }
        None
    }
}

/// An engine, registered in [`ENGINES`].
pub trait Engine: Sync {
    /// Its `--method` name.
    fn name(&self) -> &'static str;
    fn device(&self) -> Device;
    /// Every primitive it can compute.
    fn primitives(&self) -> PrimitiveSet;
    /// Whether it can draw `problem` (whose primitives are among its own) under `request`, and
    /// at what cost.
    fn supports(&self, problem: &Problem, request: &Request, env: &Env) -> Result<Cost, String>;
    fn build(&self, problem: &Problem, env: &Env) -> Result<Box<dyn BatchSampler>, SamplerError>;
}

/// The refusal of engines that draw only the `ntk` and `standard` parameterizations (their
/// kernels fix the readout's scale): the μP family runs on the dense CPU engines.
pub fn ntk_or_standard_only(problem: &Problem) -> Result<(), String> {
    let p = problem.spec.parameterization;
    if p.is_ntk_or_standard() {
        Ok(())
    } else {
        Err(format!(
            "the {p} parameterization runs on the dense CPU engine (this one draws ntk and standard)"
        ))
    }
}

/// Every engine.
pub static ENGINES: &[&dyn Engine] = &[
    &crate::dense::DenseCpu,
    &crate::matrix_free::MatrixFreeCpu,
    &crate::geometry::GeometryCpu,
    &crate::step::StepCpu,
    #[cfg(feature = "gpu")]
    &crate::gpu::DenseGpu,
    #[cfg(feature = "gpu")]
    &crate::gpu::MatrixFreeGpu,
    #[cfg(feature = "gpu")]
    &crate::gpu::StepGpu,
    #[cfg(feature = "gpu")]
    &crate::gpu::GeometryGpu,
];

/// The engine names `--method` accepts (those that compete for the same primitives).
pub fn method_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> = ENGINES
        .iter()
        .filter(|e| e.primitives().contains(Primitive::Output))
        .map(|e| e.name())
        .collect();
    names.dedup();
    names
}

/// A problem restricted to the families computed from `part`.
pub fn part_of(problem: &Problem, part: PrimitiveSet) -> Problem {
    Problem {
        observe: problem.observe.restricted(part),
        ..problem.clone()
    }
}

/// The engines chosen for a problem, ready to draw.
pub struct Plan {
    pub sampler: Box<dyn BatchSampler>,
    /// The GPU adapter in use, if any.
    pub adapter: Option<String>,
}

/// Chooses engines for every primitive `problem` needs: repeatedly, among the engines that
/// `request` allows (by device and name; an engine of another name or device only for
/// primitives no allowed engine computes), the one that supports the most of the remaining
/// primitives, the fastest by its model on ties.
pub fn plan(problem: &Problem, request: &Request, env: &Env) -> Result<Plan, SamplerError> {
    problem.validate()?;
    let needed = problem.observe.primitives();
    let allowed = |e: &&dyn Engine| {
        request.device.is_none_or(|d| e.device() == d)
            && request.method.as_deref().is_none_or(|m| e.name() == m)
    };
    let mut remaining = needed;
    let mut parts: Vec<(PrimitiveSet, &dyn Engine)> = Vec::new();
    while !remaining.is_empty() {
        let overlap = |e: &&dyn Engine| !e.primitives().intersection(remaining).is_empty();
        let mut pool: Vec<&dyn Engine> = ENGINES
            .iter()
            .copied()
            .filter(allowed)
            .filter(overlap)
            .collect();
        if pool.is_empty() {
            pool = ENGINES.iter().copied().filter(overlap).collect();
        }
        let mut best: Option<(usize, f64, PrimitiveSet, &dyn Engine)> = None;
        let mut refusals = Vec::new();
        for e in pool {
            let part = e.primitives().intersection(remaining);
            match e.supports(&part_of(problem, part), request, env) {
                Ok(cost) => {
                    let key = (part.iter().count(), cost.networks_per_second);
                    if best.is_none_or(|(n, r, ..)| key.0 > n || (key.0 == n && key.1 > r)) {
                        best = Some((key.0, key.1, part, e));
                    }
                }
                Err(reason) => refusals.push(Unsupported {
                    engine: e.name(),
                    device: e.device().name(),
                    reason,
                }),
            }
        }
        let Some((_, _, part, engine)) = best else {
            // One reason when every engine gives the same one.
            refusals.dedup_by(|a, b| a.reason == b.reason);
            return Err(SamplerError::Unsupported(match refusals.as_slice() {
                [one] => one.reason.clone(),
                _ => refusals
                    .iter()
                    .map(Unsupported::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            }));
        };
        parts.push((part, engine));
        remaining = remaining.difference(part);
    }
    // In primitive order, so joined engines are named in output order ("dense+exact").
    parts.sort_by_key(|(part, _)| part.iter().next());
    let layout = problem.layout();
    let mut built = Vec::new();
    let mut uses_gpu = false;
    for (part, engine) in parts {
        uses_gpu |= engine.device() == Device::Gpu;
        built.push((part, engine.build(&part_of(problem, part), env)?));
    }
    let sampler: Box<dyn BatchSampler> = if built.len() == 1 {
        built.pop().expect("one engine").1
    } else {
        Box::new(Joined::new(&layout, built))
    };
    Ok(Plan {
        sampler,
        adapter: if uses_gpu { env.adapter_name() } else { None },
    })
}

/// Several engines on the same networks, each computing some of the primitives; the row holds
/// every primitive in [`Primitive`] order.
pub struct Joined {
    parts: Vec<(
        Box<dyn BatchSampler>,
        Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
    )>,
    n: usize,
    method: String,
    buf: Vec<f64>,
}

impl Joined {
    pub fn new(layout: &Layout, parts: Vec<(PrimitiveSet, Box<dyn BatchSampler>)>) -> Self {
        let method = parts
            .iter()
            .map(|(_, s)| s.method())
            .collect::<Vec<_>>()
            .join("+");
        Joined {
            parts: parts
                .into_iter()
                .map(|(set, s)| (s, layout.scatter(set)))
                .collect(),
            n: layout.primitive_len(),
            method,
            buf: Vec::new(),
        }
    }
}

impl BatchSampler for Joined {
    fn n_values(&self) -> usize {
        self.n
    }

    fn sample_batch(
        &mut self,
        start: u64,
        count: usize,
        out: &mut [f64],
    ) -> Result<(), SamplerError> {
        for (sampler, scatter) in &mut self.parts {
            let d = sampler.n_values();
            self.buf.resize(count * d, 0.0);
            sampler.sample_batch(start, count, &mut self.buf)?;
            for (row, part) in out[..count * self.n]
                .chunks_exact_mut(self.n)
                .zip(self.buf.chunks_exact(d))
            {
                for (from, to) in scatter.iter() {
                    row[to.clone()].copy_from_slice(&part[from.clone()]);
                }
            }
        }
        Ok(())
    }

    fn backend(&self) -> &'static str {
        self.parts[0].0.backend()
    }

    fn method(&self) -> &str {
        &self.method
    }

    fn preferred_batch(&self) -> Option<usize> {
        self.parts[0].0.preferred_batch()
    }
}

/// The bit pattern engines never write (a NaN with a payload no arithmetic produces): a slot
/// still holding it after a batch was left unwritten.
const UNWRITTEN: u64 = 0x7ff4_dead_beef_0001;

/// Draws networks and gives their observable values: the planned engines' primitive rows,
/// checked for unwritten slots, reduced by the observable families ([`Layout::reduce`]).
pub struct Sampler {
    inner: Box<dyn BatchSampler>,
    layout: Layout,
    primitives: Vec<f64>,
    may_be_missing: Vec<bool>,
}

impl Sampler {
    pub fn new(problem: &Problem, inner: Box<dyn BatchSampler>) -> Result<Self, SamplerError> {
        let layout = problem.layout();
        if inner.n_values() != layout.primitive_len() {
            return Err(SamplerError::Unsupported(format!(
                "the {} engine writes {} values per network, the layout has {}",
                inner.method(),
                inner.n_values(),
                layout.primitive_len()
            )));
        }
        Ok(Sampler {
            inner,
            may_be_missing: layout.primitive_may_be_missing(),
            layout,
            primitives: Vec::new(),
        })
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Values per network.
    pub fn n_values(&self) -> usize {
        self.layout.len()
    }

    pub fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    pub fn method(&self) -> &str {
        self.inner.method()
    }

    pub fn preferred_batch(&self) -> Option<usize> {
        self.inner.preferred_batch()
    }

    /// The values of networks `start..start + count`, row by row, into `out`; a network's
    /// primitive row is in `primitives_of` afterwards (the primitives are all finite when the
    /// values are defined).
    pub fn sample_batch(
        &mut self,
        start: u64,
        count: usize,
        out: &mut [f64],
    ) -> Result<(), SamplerError> {
        let p = self.layout.primitive_len();
        let d = self.layout.len();
        self.primitives.clear();
        self.primitives.resize(count * p, f64::from_bits(UNWRITTEN));
        self.inner
            .sample_batch(start, count, &mut self.primitives)?;
        if let Some(i) = self
            .primitives
            .iter()
            .position(|v| v.to_bits() == UNWRITTEN)
        {
            return Err(SamplerError::Unsupported(format!(
                "the {} engine left primitive slot {} of network {} unwritten",
                self.inner.method(),
                i % p,
                start + (i / p) as u64
            )));
        }
        for (prim, row) in self
            .primitives
            .chunks_exact(p)
            .zip(out[..count * d].chunks_exact_mut(d))
        {
            self.layout.reduce(prim, row);
        }
        Ok(())
    }

    /// True when network `i` of the last batch had a non-finite primitive (it diverged); NaN
    /// in a slot that may be missing is a missing value, not a divergence.
    pub fn diverged(&self, i: usize) -> bool {
        let p = self.layout.primitive_len();
        self.primitives[i * p..(i + 1) * p]
            .iter()
            .zip(&self.may_be_missing)
            .any(|(v, &missing)| !v.is_finite() && !(missing && v.is_nan()))
    }
}

/// The CPU's memory available to a run, in bytes (Linux: MemAvailable), if known.
pub fn available_memory() -> Option<f64> {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemAvailable:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map(|kib| kib * 1024.0)
}

/// Refuses `bytes` of working memory when it exceeds 80 % of what the machine has available; the
/// error reads "{what} about X GiB of working memory, ...; {advice}".
pub fn check_memory_for(bytes: f64, what: &str, advice: &str) -> Result<(), SamplerError> {
    if let Some(avail) = available_memory() {
        if bytes > 0.8 * avail {
            return Err(SamplerError::TooLarge(format!(
                "{what} about {:.1} GiB of working memory, more than the {:.1} GiB available; {advice}",
                bytes / (1u64 << 30) as f64,
                avail / (1u64 << 30) as f64
            )));
        }
    }
    Ok(())
}

/// Columns the pointwise engines push through the layers: K inputs, K tangents with
/// Jacobians, and the frame of `lyapunov:F`.
pub fn columns(problem: &Problem) -> usize {
    let k = problem.inputs.len();
    let tangents = if problem.observe.needs(Primitive::JacobianNorm) {
        k
    } else {
        0
    };
    let layout = problem.layout();
    let jacobian_columns = if problem.observe.needs(Primitive::SingularValues) {
        k * problem.spec.input_dim
    } else {
        0
    };
    k + tangents + layout.shape(Primitive::Lyapunov).count + jacobian_columns
}

/// The regime where the matrix-free engines were measured faster than dense (docs/engines.md):
/// Gaussian weights, c <= 32 columns and every hidden layer at least 4c wide (its cost per layer
/// is O(n c^2) against dense's O(n^2 c)). `--method auto` takes them there only.
pub fn matrix_free_pays(problem: &Problem) -> bool {
    let spec = &problem.spec;
    let c = columns(problem);
    let min_width = spec.hidden.iter().copied().min().unwrap_or(spec.input_dim);
    spec.weights == WeightLaw::Gaussian
        && spec.parameterization.is_ntk_or_standard()
        && c <= 32
        && min_width >= 4 * c
}

/// Units of matrix-free work per network: n_l (c^2 + c) summed over layers 1..L+1.
pub fn matrix_free_units(problem: &Problem) -> f64 {
    let c = columns(problem) as f64;
    problem.spec.layer_widths()[1..]
        .iter()
        .map(|&n| n as f64 * (c * c + c))
        .sum::<f64>()
        .max(1.0)
}

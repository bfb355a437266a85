//! The step engine (docs/training.md): each network is drawn from the stream as the dense engine
//! draws it (the same weights, biases and inputs), its weights are materialized, and `--steps`
//! full-batch gradient-descent steps are taken on ½ Σ_a (f(x_a) − y_a)² over the K inputs, on
//! the parameters the NTK is taken with respect to (the standardized Ŵ, β in the `ntk`
//! parameterization; W, b in `standard`). It writes what the steps changed: the outputs, the
//! NTK, the hidden features and their alignment with the backward pass. f64 throughout.
//!
//! Layer l (1..=L+1) computes z^l = α_l (s_l Ŵ^l a^{l−1} + √C_b β^l) [+ z^{l−1} in a residual
//! layer], s_l = `spec.weight_scale(l)` (√(C_W/n_{l−1}) but for the μP family's readout),
//! a^l = σ(z^l), f = z^{L+1}; α_l is the residual branch scale in residual layers and 1 elsewhere
//! (docs/engines.md, the dense engine's equations).

use crate::activation::LayerActivation;
use crate::dense::dot;
use crate::stream::{fill_row, network_stream, tag, Purpose};
use crate::{Problem, SamplerError};
use randnet_problem::{Primitive, PrimitiveSet, WeightLaw};

/// The primitives of the step engine.
pub const TRAINING: PrimitiveSet = PrimitiveSet::EMPTY
    .with(Primitive::DeltaOutput)
    .with(Primitive::DeltaNtk)
    .with(Primitive::FeatureChange)
    .with(Primitive::FeatureAlignment)
    .with(Primitive::WeightChange);

/// The step engine for one problem; immutable and shared between threads.
#[derive(Debug, Clone)]
pub struct StepEngine {
    problem: Problem,
    widths: Vec<usize>,
    /// σ of z^l, l = 1..=L (index 0 unused).
    acts: Vec<LayerActivation>,
    lr: f64,
    steps: usize,
    targets: Vec<f64>,
}

/// One network's parameters and passes.
#[derive(Debug, Clone, Default)]
pub struct StepScratch {
    /// Ŵ^l row-major (n_l × n_{l−1}), l = 1..=L+1 at index l − 1.
    weights: Vec<Vec<f64>>,
    /// β^l (empty when C_b = 0).
    biases: Vec<Vec<f64>>,
    /// a^l for the K inputs, [a n_l + i], l = 0..=L.
    act: Vec<Vec<f64>>,
    /// σ'(z^l), l = 0..=L (index 0 unused).
    dact: Vec<Vec<f64>>,
    /// z^l, l = 0..=L+1 (index 0 unused).
    z: Vec<Vec<f64>>,
    /// δ^l = ∂f(x_a)/∂z^l, l = 0..=L+1 (index 0 unused).
    delta: Vec<Vec<f64>>,
    /// Before the steps: z^l (all inputs), a^l at x_0, δ^l (all inputs), l = 1..=L.
    z0: Vec<Vec<f64>>,
    act0: Vec<Vec<f64>>,
    delta0: Vec<Vec<f64>>,
    /// Ŵ^l before the steps (only when `weight_change` is observed).
    weights0: Vec<Vec<f64>>,
    g: Vec<f64>,
}

impl StepEngine {
    pub fn new(problem: &Problem) -> Result<Self, SamplerError> {
        problem.validate()?;
        let spec = &problem.spec;
        let step = spec.step.as_ref().ok_or_else(|| {
            SamplerError::Unsupported("the step engine needs --step-lr".to_string())
        })?;
        let mut acts = vec![LayerActivation::Slopes(1.0, 1.0)];
        for &n in &spec.hidden {
            acts.push(LayerActivation::resolve(spec, n));
        }
        let k = problem.inputs.len();
        Ok(StepEngine {
            problem: problem.clone(),
            widths: spec.layer_widths(),
            acts,
            lr: step.lr,
            steps: step.steps,
            targets: (0..k).map(|a| step.target(a)).collect(),
        })
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Bytes of working memory one thread needs: the weights, and a few activations per layer.
    pub fn scratch_bytes(&self) -> usize {
        let k = self.problem.inputs.len();
        let copies = if self.problem.observe.needs(Primitive::WeightChange) {
            2
        } else {
            1
        };
        let weights: usize = copies
            * self
                .widths
                .windows(2)
                .map(|w| w[0] * w[1] * 8)
                .sum::<usize>();
        let units: usize = self.widths.iter().sum();
        weights + units * (7 * k + 2) * 8
    }

    pub fn scratch(&self) -> StepScratch {
        let k = self.problem.inputs.len();
        let per_layer = |f: &dyn Fn(usize) -> usize| -> Vec<Vec<f64>> {
            self.widths.iter().map(|&n| vec![0.0; f(n)]).collect()
        };
        StepScratch {
            weights: self
                .widths
                .windows(2)
                .map(|w| vec![0.0; w[0] * w[1]])
                .collect(),
            biases: if self.problem.spec.cb > 0.0 {
                self.widths[1..].iter().map(|&n| vec![0.0; n]).collect()
            } else {
                Vec::new()
            },
            act: per_layer(&|n| n * k),
            dact: per_layer(&|n| n * k),
            z: per_layer(&|n| n * k),
            delta: per_layer(&|n| n * k),
            z0: per_layer(&|n| n * k),
            act0: per_layer(&|n| n),
            delta0: per_layer(&|n| n * k),
            weights0: Vec::new(),
            g: Vec::new(),
        }
    }

    /// Branch scale α_l and weight scale s_l of layer l.
    fn scales(&self, l: usize) -> (f64, f64) {
        let spec = &self.problem.spec;
        let branch = if spec.is_residual_layer(l) {
            spec.residual_alpha().unwrap_or(1.0)
        } else {
            1.0
        };
        (branch, spec.weight_scale(l))
    }

    /// The network's Ŵ and β, as every engine draws them from the stream.
    fn draw(&self, net: u64, s: &mut StepScratch) {
        let spec = &self.problem.spec;
        let (key, net32) = network_stream(self.problem.seed, net);
        for l in 1..self.widths.len() {
            let n_in = self.widths[l - 1];
            let w = &mut s.weights[l - 1];
            for (i, row) in w.chunks_exact_mut(n_in).enumerate() {
                fill_row(
                    key,
                    net32,
                    tag(Purpose::Weight, l as u32),
                    i as u32,
                    spec.weights,
                    row,
                );
            }
            if spec.cb > 0.0 {
                fill_row(
                    key,
                    net32,
                    tag(Purpose::Bias, l as u32),
                    0,
                    WeightLaw::Gaussian,
                    &mut s.biases[l - 1],
                );
            }
        }
        let n0 = self.widths[0];
        for (a, x) in self.problem.inputs.iter().enumerate() {
            s.act[0][a * n0..(a + 1) * n0].copy_from_slice(x);
        }
    }

    /// z^l, a^l and σ'(z^l) of every input at the current parameters.
    fn forward(&self, s: &mut StepScratch) {
        let spec = &self.problem.spec;
        let k = self.problem.inputs.len();
        let depth = spec.depth();
        let sqrt_cb = spec.cb.sqrt();
        for l in 1..=depth + 1 {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            let (branch, scale) = self.scales(l);
            let residual = spec.is_residual_layer(l);
            let (before, after) = s.z.split_at_mut(l);
            let z = &mut after[0];
            let input = &s.act[l - 1];
            let w = &s.weights[l - 1];
            for a in 0..k {
                let x = &input[a * n_in..(a + 1) * n_in];
                for i in 0..n_out {
                    let bias = if spec.cb > 0.0 {
                        sqrt_cb * s.biases[l - 1][i]
                    } else {
                        0.0
                    };
                    let h = branch * (scale * dot(&w[i * n_in..(i + 1) * n_in], x) + bias);
                    let at = a * n_out + i;
                    z[at] = if residual { before[l - 1][at] + h } else { h };
                }
            }
            if l <= depth {
                let act = self.acts[l];
                for at in 0..n_out * k {
                    let (y, dy) = act.eval(z[at]);
                    s.act[l][at] = y;
                    s.dact[l][at] = dy;
                }
            }
        }
    }

    /// δ^l = ∂f(x_a)/∂z^l of every input, from the readout (n_out = 1) backwards.
    fn backward(&self, s: &mut StepScratch) {
        let spec = &self.problem.spec;
        let k = self.problem.inputs.len();
        let depth = spec.depth();
        s.delta[depth + 1][..k].fill(1.0);
        for l in (2..=depth + 1).rev() {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            let (branch, scale) = self.scales(l);
            let residual = spec.is_residual_layer(l);
            let w = &s.weights[l - 1];
            let (lower, upper) = s.delta.split_at_mut(l);
            let (delta, prev) = (&upper[0], &mut lower[l - 1]);
            for a in 0..k {
                // g = Ŵᵀ δ^l, then δ^{l−1} = [δ^l] + α s σ'(z^{l−1}) ⊙ g.
                s.g.clear();
                s.g.resize(n_in, 0.0);
                for i in 0..n_out {
                    let d = delta[a * n_out + i];
                    if d != 0.0 {
                        for (g, &wij) in s.g.iter_mut().zip(&w[i * n_in..(i + 1) * n_in]) {
                            *g += d * wij;
                        }
                    }
                }
                let dact = &s.dact[l - 1][a * n_in..(a + 1) * n_in];
                for j in 0..n_in {
                    let g = branch * scale * dact[j] * s.g[j];
                    let at = a * n_in + j;
                    prev[at] = if residual { delta[at] + g } else { g };
                }
            }
        }
    }

    /// (weight, bias) factors of the NTK and of the step: with (λ_W, λ_b) =
    /// [`NetworkSpec::ntk_factors`](randnet_problem::NetworkSpec::ntk_factors) the NTK is
    /// Σ_l α_l² [λ_W (a·a')(δ·δ') + λ_b (δ·δ')] and the step changes the effective weights
    /// W = σ_l Ŵ by −η λ_W α Σ_a r_a δ^l_a (a^{l−1}_a)ᵀ, so the drawn Ŵ^l by λ_W/σ_l times that,
    /// and β^l (b = √C_b β) by λ_b/√C_b times −η α Σ_a r_a δ^l_a.
    fn factors(&self, l: usize) -> ((f64, f64), (f64, f64)) {
        let spec = &self.problem.spec;
        let (lw, lb) = spec.ntk_factors(l);
        let (_, sigma) = self.scales(l);
        let bias_step = if spec.cb > 0.0 {
            lb / spec.cb.sqrt()
        } else {
            0.0
        };
        ((lw, lb), (lw / sigma, bias_step))
    }

    /// The K × K NTK (row-major) from the current passes.
    fn ntk(&self, s: &StepScratch) -> Vec<f64> {
        let k = self.problem.inputs.len();
        let mut ntk = vec![0.0; k * k];
        for l in 1..self.widths.len() {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            let (branch, _) = self.scales(l);
            let ((wf, bf), _) = self.factors(l);
            for a in 0..k {
                for b in a..k {
                    let dd = dot(
                        &s.delta[l][a * n_out..(a + 1) * n_out],
                        &s.delta[l][b * n_out..(b + 1) * n_out],
                    );
                    let aa = dot(
                        &s.act[l - 1][a * n_in..(a + 1) * n_in],
                        &s.act[l - 1][b * n_in..(b + 1) * n_in],
                    );
                    ntk[a * k + b] += branch * branch * (wf * aa * dd + bf * dd);
                }
            }
        }
        for a in 0..k {
            for b in 0..a {
                ntk[a * k + b] = ntk[b * k + a];
            }
        }
        ntk
    }

    /// One gradient step with residuals r_a = f(x_a) − y_a, from the current passes.
    fn update(&self, s: &mut StepScratch, r: &[f64]) {
        let spec = &self.problem.spec;
        let k = r.len();
        for l in 1..self.widths.len() {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            let (branch, _) = self.scales(l);
            let (_, (cw, cb)) = self.factors(l);
            let w = &mut s.weights[l - 1];
            for a in 0..k {
                let x = &s.act[l - 1][a * n_in..(a + 1) * n_in];
                let ra = -self.lr * branch * r[a];
                for i in 0..n_out {
                    let base = ra * s.delta[l][a * n_out + i];
                    if base != 0.0 {
                        let c = base * cw;
                        for (wij, &xj) in w[i * n_in..(i + 1) * n_in].iter_mut().zip(x) {
                            *wij += c * xj;
                        }
                        if spec.cb > 0.0 {
                            s.biases[l - 1][i] += base * cb;
                        }
                    }
                }
            }
        }
    }

    /// Draws network `net`, takes the steps and writes the training primitives it needs.
    pub fn sample(&self, net: u64, s: &mut StepScratch, out: &mut [f64]) {
        let observe = self.problem.observe;
        let k = self.problem.inputs.len();
        let depth = self.problem.spec.depth();
        self.draw(net, s);
        self.forward(s);
        self.backward(s);
        let f0: Vec<f64> = s.z[depth + 1][..k].to_vec();
        let ntk0 = observe.needs(Primitive::DeltaNtk).then(|| self.ntk(s));
        for l in 1..=depth {
            s.z0[l].copy_from_slice(&s.z[l]);
            s.delta0[l].copy_from_slice(&s.delta[l]);
            let n = self.widths[l];
            s.act0[l].copy_from_slice(&s.act[l][..n]);
        }
        if observe.needs(Primitive::WeightChange) {
            s.weights0.clone_from(&s.weights);
        }
        let r0: Vec<f64> = (0..k).map(|a| f0[a] - self.targets[a]).collect();
        let mut r = r0.clone();
        for t in 0..self.steps {
            self.update(s, &r);
            self.forward(s);
            if t + 1 < self.steps || ntk0.is_some() {
                self.backward(s);
            }
            for a in 0..k {
                r[a] = s.z[depth + 1][a] - self.targets[a];
            }
        }
        let mut o = 0;
        if observe.needs(Primitive::DeltaOutput) {
            for a in 0..k {
                out[o] = s.z[depth + 1][a] - f0[a];
                o += 1;
            }
        }
        if let Some(ntk0) = ntk0 {
            let ntk1 = self.ntk(s);
            for a in 0..k {
                for b in a..k {
                    out[o] = ntk1[a * k + b] - ntk0[a * k + b];
                    o += 1;
                }
            }
        }
        if observe.needs(Primitive::FeatureChange) {
            for l in 1..=depth {
                let n = self.widths[l];
                let d2: f64 = s.act[l][..n]
                    .iter()
                    .zip(&s.act0[l])
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum();
                out[o] = (d2 / n as f64).sqrt();
                o += 1;
            }
        }
        if observe.needs(Primitive::FeatureAlignment) {
            for l in 1..=depth {
                let n = self.widths[l];
                // −δz^l against b^l = ∂L/∂z^l = r_a δ^l_a, stacked over the inputs.
                let (mut ub, mut uu, mut bb) = (0.0, 0.0, 0.0);
                for a in 0..k {
                    for i in 0..n {
                        let at = a * n + i;
                        let u = s.z0[l][at] - s.z[l][at];
                        let b = r0[a] * s.delta0[l][at];
                        ub += u * b;
                        uu += u * u;
                        bb += b * b;
                    }
                }
                let norm = (uu * bb).sqrt();
                out[o] = if norm > 0.0 { ub / norm } else { f64::NAN };
                o += 1;
            }
        }
        if observe.needs(Primitive::WeightChange) {
            // W^l = σ_l Ŵ^l with σ_l fixed, so the ratio of the drawn Ŵ's norms is W's.
            for (w1, w0) in s.weights.iter().zip(&s.weights0) {
                let (mut dd, mut ww) = (0.0, 0.0);
                for (x1, x0) in w1.iter().zip(w0) {
                    dd += (x1 - x0) * (x1 - x0);
                    ww += x0 * x0;
                }
                out[o] = (dd / ww).sqrt();
                o += 1;
            }
        }
        debug_assert_eq!(o, out.len());
    }
}

impl crate::NetworkEngine for StepEngine {
    type Scratch = StepScratch;
    fn build(problem: &Problem) -> Result<Self, SamplerError> {
        StepEngine::new(problem)
    }
    fn n_values(&self) -> usize {
        self.problem.n_values()
    }
    fn scratch(&self) -> StepScratch {
        StepEngine::scratch(self)
    }
    fn sample(&self, net: u64, scratch: &mut StepScratch, out: &mut [f64]) {
        StepEngine::sample(self, net, scratch, out)
    }
    fn method(&self) -> &'static str {
        "step"
    }
}

/// The step engine on the CPU, as registered in [`crate::plan::ENGINES`].
pub struct StepCpu;

impl crate::plan::Engine for StepCpu {
    fn name(&self) -> &'static str {
        "step"
    }

    fn device(&self) -> crate::plan::Device {
        crate::plan::Device::Cpu
    }

    fn primitives(&self) -> PrimitiveSet {
        TRAINING
    }

    /// Every problem with `--step-lr`. Its model: the dense engine's ~2 ns per weight and
    /// column, for a forward and a backward pass per step and one more of each.
    fn supports(
        &self,
        problem: &Problem,
        _request: &crate::plan::Request,
        env: &crate::plan::Env,
    ) -> Result<crate::plan::Cost, String> {
        let steps = match &problem.spec.step {
            Some(step) => step.steps as f64,
            None => return Err("the training observables need --step-lr".into()),
        };
        let k = problem.inputs.len() as f64;
        let weights = problem.spec.parameter_count() as f64;
        Ok(crate::plan::Cost {
            networks_per_second: env.threads as f64
                / (2e-9 * weights * (k + 1.0) * 2.0 * (steps + 1.0)).max(1e-12),
        })
    }

    fn build(
        &self,
        problem: &Problem,
        env: &crate::plan::Env,
    ) -> Result<Box<dyn crate::BatchSampler>, SamplerError> {
        let sampler = crate::Cpu::<StepEngine>::new(problem)?;
        crate::plan::check_memory_for(
            sampler.engine().scratch_bytes() as f64 * env.threads as f64,
            "this network's materialized weights (the step engine) need",
            "use a smaller width or depth",
        )?;
        Ok(Box::new(sampler))
    }
}

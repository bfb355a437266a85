//! The dense CPU engine (docs/engines.md, `dense`): explicit weights drawn from the stream, a forward
//! pass for all K inputs (and their Jacobian tangents), a backward pass for the NTK of readout
//! unit 0, in f64. Cost O(L n^2 K) per network. It is the reference every other engine (the GPU
//! kernels, the matrix-free engine) is tested against.
//!
//! Weights of one network are kept for the backward pass when they fit in
//! [`WEIGHT_CACHE_BYTES`]; otherwise rows are regenerated from the stream (the same numbers).

use crate::activation::LayerActivation;
use crate::stream::{fill_row, network_stream, tag, Purpose};
use crate::{Problem, SamplerError};
use randnet_problem::{Primitive, WeightLaw};

/// Per-thread budget for keeping one network's weights between the passes.
pub const WEIGHT_CACHE_BYTES: usize = 256 << 20;

/// The dense engine for one problem; immutable and shared between threads.
#[derive(Debug, Clone)]
pub struct DenseEngine {
    problem: Problem,
    widths: Vec<usize>,
    /// Activation applied to z^l, index l = 1..=L (index 0 unused).
    acts: Vec<LayerActivation>,
    cache_weights: bool,
    /// Number of columns pushed through the layers: K inputs, then K tangents if Jacobians,
    /// then the `lyapunov:F` frame.
    cols: usize,
    /// Tangents of the K inputs along u are pushed (jacobian_norm).
    jacobian: bool,
    /// The Lyapunov frame's size F (0 without `lyapunov`) and its first column.
    frame: usize,
    frame_at: usize,
    /// `singular_values:S`: S (0 without), and the first of the K n0 columns e_j pushed per
    /// input (input a's block starts at `sv_at + a n0`).
    sv: usize,
    sv_at: usize,
}

/// Per-thread working memory of the dense engine.
#[derive(Debug, Clone, Default)]
pub struct DenseScratch {
    weights: Vec<Vec<f64>>,
    row: Vec<f64>,
    bias: Vec<f64>,
    /// Layer inputs, column-major [c * n + j]: a^{l-1} (inputs) and da^{l-1} (tangents).
    layer_in: Vec<Vec<f64>>,
    /// sigma'(z^l) for the K inputs, column-major [a * n + j], l = 0..=L (0 unused).
    dact: Vec<Vec<f64>>,
    /// z^l, column-major [c * n + i], of the current layer and the previous one (residual).
    z: Vec<f64>,
    z_prev: Vec<f64>,
    delta: Vec<f64>,
    delta_prev: Vec<f64>,
    acc: Vec<f64>,
    /// Σ_l ln R^l_ii of the Lyapunov frame.
    lyapunov: Vec<f64>,
}

impl DenseEngine {
    pub fn new(problem: &Problem) -> Result<Self, SamplerError> {
        problem.validate()?;
        let spec = &problem.spec;
        let widths = spec.layer_widths();
        let mut acts = vec![LayerActivation::Slopes(1.0, 1.0)];
        for &n in &spec.hidden {
            acts.push(LayerActivation::resolve(spec, n));
        }
        let weight_bytes: usize = widths.windows(2).map(|w| w[0] * w[1] * 8).sum();
        let k = problem.inputs.len();
        let jacobian = problem.observe.needs(Primitive::JacobianNorm);
        let frame = if problem.observe.needs(Primitive::Lyapunov) {
            check_lyapunov(problem)?
        } else {
            0
        };
        let frame_at = if jacobian { 2 * k } else { k };
        let sv = if problem.observe.needs(Primitive::SingularValues) {
            check_singular_values(problem)?
        } else {
            0
        };
        let sv_at = frame_at + frame;
        let sv_cols = if sv > 0 { k * widths[0] } else { 0 };
        Ok(DenseEngine {
            problem: problem.clone(),
            widths,
            acts,
            cache_weights: weight_bytes <= WEIGHT_CACHE_BYTES,
            cols: sv_at + sv_cols,
            jacobian,
            frame,
            frame_at,
            sv,
            sv_at,
        })
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Bytes of working memory one thread needs (for the "beyond memory" check).
    pub fn scratch_bytes(&self) -> usize {
        let acts: usize = self.widths.iter().map(|&n| n * self.cols * 8 * 2).sum();
        let w: usize = if self.cache_weights {
            self.widths.windows(2).map(|w| w[0] * w[1] * 8).sum()
        } else {
            0
        };
        acts + w
    }

    pub fn scratch(&self) -> DenseScratch {
        let l = self.widths.len();
        DenseScratch {
            weights: if self.cache_weights {
                self.widths
                    .windows(2)
                    .map(|w| vec![0.0; w[0] * w[1]])
                    .collect()
            } else {
                vec![Vec::new(); l - 1]
            },
            layer_in: self.widths[..l - 1]
                .iter()
                .map(|&n| vec![0.0; n * self.cols])
                .collect(),
            dact: self.widths[..l - 1]
                .iter()
                .map(|&n| vec![0.0; n * self.problem.inputs.len()])
                .collect(),
            ..Default::default()
        }
    }

    /// Draws network `net` and writes its observable values (in [`Problem::names`] order).
    pub fn sample(&self, net: u64, s: &mut DenseScratch, out: &mut [f64]) {
        let spec = &self.problem.spec;
        let k = self.problem.inputs.len();
        let cols = self.cols;
        let depth = spec.depth();
        // The network's Philox key and counter word c0 (stream::network_key: 64-bit indices).
        let (key, net32) = network_stream(self.problem.seed, net);
        let law = spec.weights;
        let sqrt_cb = spec.cb.sqrt();
        let alpha = spec.residual_alpha().unwrap_or(1.0);
        let observe = self.problem.observe;
        let mut sqnorms = Vec::new();

        // a^0 = x for the inputs and u (unit, drawn per network) for the tangents.
        crate::inputs::fill_layer0(
            key,
            net32,
            &self.problem.inputs,
            observe.needs(Primitive::JacobianNorm),
            &mut s.row,
            &mut s.layer_in[0],
        );
        // The Lyapunov frame Q^0: F Gaussian rows of the stream, orthonormalized.
        let mut alive = self.frame;
        if self.frame > 0 {
            let n0 = self.widths[0];
            let frame = &mut s.layer_in[0][self.frame_at * n0..(self.frame_at + self.frame) * n0];
            alive = crate::inputs::fill_lyapunov_frame(key, net32, n0, self.frame, frame);
            s.lyapunov.clear();
            s.lyapunov.resize(self.frame, 0.0);
        }
        if self.sv > 0 {
            // J(x_a) column by column: the tangents along e_1..e_{n0} of every input.
            let n0 = self.widths[0];
            let block = &mut s.layer_in[0][self.sv_at * n0..(self.sv_at + k * n0) * n0];
            block.fill(0.0);
            for (c, col) in block.chunks_exact_mut(n0).enumerate() {
                col[c % n0] = 1.0;
            }
        }

        for l in 1..=depth + 1 {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            let scale = spec.weight_scale(l);
            let residual = spec.is_residual_layer(l);
            let branch = if residual { alpha } else { 1.0 };
            std::mem::swap(&mut s.z, &mut s.z_prev);
            s.z.clear();
            s.z.resize(n_out * cols, 0.0);
            if spec.cb > 0.0 {
                s.bias.resize(n_out, 0.0);
                fill_row(
                    key,
                    net32,
                    tag(Purpose::Bias, l as u32),
                    0,
                    WeightLaw::Gaussian,
                    &mut s.bias,
                );
            }
            s.acc.resize(cols, 0.0);
            s.row.resize(n_in, 0.0);
            let input = &s.layer_in[l - 1];
            for i in 0..n_out {
                let row: &[f64] = if self.cache_weights {
                    let w = &mut s.weights[l - 1][i * n_in..(i + 1) * n_in];
                    fill_row(key, net32, tag(Purpose::Weight, l as u32), i as u32, law, w);
                    w
                } else {
                    fill_row(
                        key,
                        net32,
                        tag(Purpose::Weight, l as u32),
                        i as u32,
                        law,
                        &mut s.row,
                    );
                    &s.row
                };
                for c in 0..cols {
                    s.acc[c] = dot(row, &input[c * n_in..(c + 1) * n_in]);
                }
                for c in 0..cols {
                    let bias = if c < k && spec.cb > 0.0 {
                        sqrt_cb * s.bias[i]
                    } else {
                        0.0
                    };
                    let h = branch * (scale * s.acc[c] + bias);
                    let at = c * n_out + i;
                    s.z[at] = if residual { s.z_prev[at] + h } else { h };
                }
            }
            if observe.needs(Primitive::Sqnorm) {
                for a in 0..k {
                    let za = &s.z[a * n_out..(a + 1) * n_out];
                    sqnorms.push(dot(za, za) / n_out as f64);
                }
            }
            if l <= depth {
                let act = self.acts[l];
                let next = &mut s.layer_in[l];
                let dact = &mut s.dact[l];
                for a in 0..k {
                    for i in 0..n_out {
                        let (y, dy) = act.eval(s.z[a * n_out + i]);
                        next[a * n_out + i] = y;
                        dact[a * n_out + i] = dy;
                        if self.jacobian {
                            next[(k + a) * n_out + i] = dy * s.z[(k + a) * n_out + i];
                        }
                    }
                }
                if self.sv > 0 {
                    for a in 0..k {
                        let d = &dact[a * n_out..(a + 1) * n_out];
                        let first = self.sv_at + a * self.widths[0];
                        for c in first..first + self.widths[0] {
                            let zc = &s.z[c * n_out..(c + 1) * n_out];
                            let t = &mut next[c * n_out..(c + 1) * n_out];
                            for ((t, &di), &zi) in t.iter_mut().zip(d).zip(zc) {
                                *t = di * zi;
                            }
                        }
                    }
                }
                if self.frame > 0 {
                    let fa = self.frame_at;
                    alive = crate::linalg::lyapunov_layer(
                        &mut next[fa * n_out..(fa + self.frame) * n_out],
                        &s.z[fa * n_out..(fa + self.frame) * n_out],
                        &dact[..n_out],
                        alive,
                        &mut s.lyapunov,
                    );
                }
            }
        }

        let mut o = 0;
        let readout = &s.z;
        if observe.needs(Primitive::Output) {
            for a in 0..k {
                out[o] = readout[a * self.widths[depth + 1]];
                o += 1;
            }
        }
        if observe.needs(Primitive::Ntk) {
            let ntk = self.ntk(key, net32, s);
            for a in 0..k {
                for b in a..k {
                    out[o] = ntk[a * k + b];
                    o += 1;
                }
            }
        }
        if observe.needs(Primitive::Sqnorm) {
            out[o..o + sqnorms.len()].copy_from_slice(&sqnorms);
            o += sqnorms.len();
        }
        if observe.needs(Primitive::JacobianNorm) {
            let n_out = self.widths[depth + 1];
            for a in 0..k {
                let t = &s.z[(k + a) * n_out..(k + a + 1) * n_out];
                out[o] = dot(t, t).sqrt();
                o += 1;
            }
        }
        crate::linalg::lyapunov_values(&mut out[o..o + self.frame], &s.lyapunov, alive, depth);
        o += self.frame;
        if self.sv > 0 {
            let (n0, n_out) = (self.widths[0], self.widths[depth + 1]);
            for a in 0..k {
                let first = (self.sv_at + a * n0) * n_out;
                let jac = &s.z[first..first + n0 * n_out];
                top_singular_values(jac, n_out, n0, &mut out[o..o + self.sv]);
                o += self.sv;
            }
        }
        debug_assert_eq!(o, out.len());
    }

    /// The K x K NTK of readout unit 0 (row-major), by backpropagation from the stored forward
    /// pass. Θ = Σ_l α_l² [w_l (a^{l-1}·a^{l-1}')(δ^l·δ^l') + b_l (δ^l·δ^l')].
    fn ntk(&self, key: [u32; 2], net32: u32, s: &mut DenseScratch) -> Vec<f64> {
        let spec = &self.problem.spec;
        let k = self.problem.inputs.len();
        let depth = spec.depth();
        let alpha = spec.residual_alpha().unwrap_or(1.0);
        let mut ntk = vec![0.0; k * k];
        let n_last = self.widths[depth + 1];
        s.delta.clear();
        s.delta.resize(n_last * k, 0.0);
        for a in 0..k {
            s.delta[a * n_last] = 1.0;
        }
        for l in (1..=depth + 1).rev() {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            let residual = spec.is_residual_layer(l);
            let branch = if residual { alpha } else { 1.0 };
            let (wfac, bfac) = spec.ntk_factors(l);
            let input = &s.layer_in[l - 1];
            for a in 0..k {
                for b in a..k {
                    let dd = dot(
                        &s.delta[a * n_out..(a + 1) * n_out],
                        &s.delta[b * n_out..(b + 1) * n_out],
                    );
                    let aa = dot(
                        &input[a * n_in..(a + 1) * n_in],
                        &input[b * n_in..(b + 1) * n_in],
                    );
                    ntk[a * k + b] += branch * branch * (wfac * aa * dd + bfac * dd);
                }
            }
            if l == 1 {
                break;
            }
            // g = W^T δ, then δ^{l-1} = [δ^l if residual] + α s σ'(z^{l-1}) ⊙ g.
            let scale = spec.weight_scale(l);
            s.delta_prev.clear();
            s.delta_prev.resize(n_in * k, 0.0);
            s.row.resize(n_in, 0.0);
            for i in 0..n_out {
                if (0..k).all(|a| s.delta[a * n_out + i] == 0.0) {
                    continue;
                }
                let row: &[f64] = if self.cache_weights {
                    &s.weights[l - 1][i * n_in..(i + 1) * n_in]
                } else {
                    fill_row(
                        key,
                        net32,
                        tag(Purpose::Weight, l as u32),
                        i as u32,
                        spec.weights,
                        &mut s.row,
                    );
                    &s.row
                };
                for a in 0..k {
                    let da = s.delta[a * n_out + i];
                    if da != 0.0 {
                        axpy(da, row, &mut s.delta_prev[a * n_in..(a + 1) * n_in]);
                    }
                }
            }
            let dact = &s.dact[l - 1];
            for at in 0..n_in * k {
                let g = branch * scale * dact[at] * s.delta_prev[at];
                s.delta_prev[at] = if residual { s.delta[at] + g } else { g };
            }
            std::mem::swap(&mut s.delta, &mut s.delta_prev);
        }
        for a in 0..k {
            for b in 0..a {
                ntk[a * k + b] = ntk[b * k + a];
            }
        }
        ntk
    }
}

/// Dot product with four independent partial sums (vectorizes; a fixed order, so the result is
/// the same on every run and thread).
#[inline]
pub(crate) fn dot(x: &[f64], y: &[f64]) -> f64 {
    debug_assert_eq!(x.len(), y.len());
    let mut acc = [0.0f64; 8];
    let mut xc = x.chunks_exact(8);
    let mut yc = y.chunks_exact(8);
    for (a, b) in (&mut xc).zip(&mut yc) {
        for i in 0..8 {
            acc[i] += a[i] * b[i];
        }
    }
    let mut tail = 0.0;
    for (a, b) in xc.remainder().iter().zip(yc.remainder()) {
        tail += a * b;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

/// y += alpha x.
#[inline]
fn axpy(alpha: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += alpha * xi;
    }
}

impl crate::NetworkEngine for DenseEngine {
    type Scratch = DenseScratch;
    fn build(problem: &Problem) -> Result<Self, SamplerError> {
        DenseEngine::new(problem)
    }
    fn n_values(&self) -> usize {
        self.problem.n_values()
    }
    fn scratch(&self) -> DenseScratch {
        DenseEngine::scratch(self)
    }
    fn sample(&self, net: u64, scratch: &mut DenseScratch, out: &mut [f64]) {
        DenseEngine::sample(self, net, scratch, out)
    }
    fn method(&self) -> &'static str {
        "dense"
    }
}

/// The dense engine on the CPU, as registered in [`crate::plan::ENGINES`].
pub struct DenseCpu;

impl crate::plan::Engine for DenseCpu {
    fn name(&self) -> &'static str {
        "dense"
    }

    fn device(&self) -> crate::plan::Device {
        crate::plan::Device::Cpu
    }

    fn primitives(&self) -> randnet_problem::PrimitiveSet {
        crate::plan::POINTWISE
            .with(Primitive::Lyapunov)
            .with(Primitive::SingularValues)
    }

    /// Every pointwise problem, Lyapunov exponents of non-residual nets and singular values. Its model: ~2 ns
    /// per weight and column (the weight's own normal counted as a column), n_{l-1} n_l (c + 1) per layer, fitted so that it meets the
    /// matrix-free model where they were measured to cross, at n = 4c (docs/engines.md).
    fn supports(
        &self,
        problem: &Problem,
        request: &crate::plan::Request,
        env: &crate::plan::Env,
    ) -> Result<crate::plan::Cost, String> {
        if problem.observe.needs(Primitive::Lyapunov) {
            check_lyapunov(problem).map_err(|e| e.to_string())?;
        }
        if problem.observe.needs(Primitive::SingularValues) {
            check_singular_values(problem).map_err(|e| e.to_string())?;
        }
        // Under auto it steps aside where the matrix-free engine is faster and computes
        // everything asked.
        if request.method.is_none()
            && crate::plan::matrix_free_pays(problem)
            && problem
                .observe
                .primitives()
                .is_subset(crate::plan::Engine::primitives(
                    &crate::matrix_free::MatrixFreeCpu,
                ))
        {
            return Err("the matrix-free engine is faster here (docs/engines.md)".into());
        }
        let c = crate::plan::columns(problem) as f64;
        let work: f64 = problem
            .spec
            .layer_widths()
            .windows(2)
            .map(|w| (w[0] * w[1]) as f64 * (c + 1.0))
            .sum();
        Ok(crate::plan::Cost {
            networks_per_second: env.threads as f64 / (2e-9 * work.max(1.0)),
        })
    }

    fn build(
        &self,
        problem: &Problem,
        env: &crate::plan::Env,
    ) -> Result<Box<dyn crate::BatchSampler>, SamplerError> {
        let sampler = crate::CpuDense::new(problem)?;
        crate::plan::check_memory_for(
            sampler.engine().scratch_bytes() as f64 * env.threads as f64,
            "this network needs",
            "use a smaller width or depth",
        )?;
        Ok(Box::new(sampler))
    }
}

/// The frame size F of `lyapunov:F`, after checking the problem has what the QR iteration needs:
/// hidden layers, no residual branches (their Jacobian is I + α W D, not D W), and F no larger
/// than n0 and every hidden width (else every network loses rank).
pub(crate) fn check_lyapunov(problem: &Problem) -> Result<usize, SamplerError> {
    let spec = &problem.spec;
    let f = problem.layout().shape(Primitive::Lyapunov).count;
    if spec.depth() == 0 {
        return Err(SamplerError::Unsupported(
            "lyapunov: the network has no hidden layer".into(),
        ));
    }
    if spec.residual.is_some() {
        return Err(SamplerError::Unsupported(
            "lyapunov: residual networks are not implemented (their layer Jacobian is I + αWD)"
                .into(),
        ));
    }
    let narrowest = spec.layer_widths()[..=spec.depth()]
        .iter()
        .copied()
        .min()
        .unwrap_or(0);
    if f > narrowest {
        return Err(SamplerError::Unsupported(format!(
            "lyapunov:{f} needs {f} <= n0 and every hidden width (the narrowest is {narrowest})"
        )));
    }
    Ok(f)
}

/// The count S of `singular_values:S`, after checking S <= min(n0, n_out).
pub(crate) fn check_singular_values(problem: &Problem) -> Result<usize, SamplerError> {
    let spec = &problem.spec;
    let s = problem.layout().shape(Primitive::SingularValues).count;
    let most = spec.input_dim.min(spec.output_dim);
    if s > most {
        return Err(SamplerError::Unsupported(format!(
            "singular_values:{s}: J(x) is {} x {} and has at most {most} singular values (raise --output-dim or --input-dim)",
            spec.output_dim, spec.input_dim
        )));
    }
    Ok(s)
}

/// The `out.len()` largest singular values of J (n_out x n0, column j at `jac[j n_out..]`), in
/// decreasing order: square roots of the eigenvalues of the smaller Gram matrix (J Jᵀ or JᵀJ),
/// by Jacobi (eigenvalues rounding below 0 read as 0).
pub(crate) fn top_singular_values(jac: &[f64], n_out: usize, n0: usize, out: &mut [f64]) {
    let m = n_out.min(n0);
    let mut g = vec![0.0; m * m];
    for p in 0..m {
        for q in p..m {
            let v = if n_out <= n0 {
                (0..n0)
                    .map(|j| jac[j * n_out + p] * jac[j * n_out + q])
                    .sum()
            } else {
                dot(
                    &jac[p * n_out..(p + 1) * n_out],
                    &jac[q * n_out..(q + 1) * n_out],
                )
            };
            g[p * m + q] = v;
            g[q * m + p] = v;
        }
    }
    let (mut v, mut w) = (vec![0.0; m * m], vec![0.0; m]);
    crate::linalg::sym_eigen(&mut g, m, &mut v, &mut w);
    w.sort_by(|a, b| b.total_cmp(a));
    for (o, &e) in out.iter_mut().zip(&w) {
        *o = e.max(0.0).sqrt();
    }
}

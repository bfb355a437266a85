//! The matrix-free CPU engine (DESIGN §4, `matrix-free`; derivation in docs/engines.md): exact
//! in distribution for Gaussian weights, O(L n K^2) per network instead of the dense engine's
//! O(L n^2 K). It never forms a weight matrix.
//!
//! Layer l (input width n_in, output width n_out) maps z^l = α (s Ŵ A + sqrt(C_b) β e_inᵀ)
//! [+ z^{l-1} on a residual layer], where A (n_in x c) holds every vector Ŵ multiplies: the
//! activations of the K inputs and, with Jacobians, the K tangents (c = K or 2K); s = sqrt(C_W /
//! n_in); e_in has ones on the K input columns (the bias does not enter the tangents). With
//! Ã = [s A; sqrt(C_b) e_inᵀ] ((n_in+1) x c) and M = [Ŵ β] (rows i.i.d. N(0, I)):
//!
//! - forward: H = M Ã has i.i.d. rows N(0, Σ), Σ = ÃᵀÃ = s² AᵀA + C_b e_in e_inᵀ; we draw
//!   H = Z S with Z (n_out x r) i.i.d. N(0, 1) and S (r x c) the square-root factor of the
//!   eigendecomposition of Σ truncated to its numerical rank r
//!   ([`crate::linalg::RANK_RTOL`] = 1e-10 relative);
//! - backward (NTK of readout unit 0): given H, M = H Ã⁺ + M̃ (I − P_Ã) with M̃ an independent
//!   copy, so Ŵᵀ Δ (the first n_in rows of Mᵀ Δ) is
//!   `g = G + s A Σ⁺ (HᵀΔ − ÃᵀG̃)`, where G̃ ((n_in+1) x K) has i.i.d. rows N(0, ΔᵀΔ), G its
//!   first n_in rows and ÃᵀG̃ = s AᵀG + sqrt(C_b) e_in g̃_{n_in}ᵀ.
//!
//! Random streams (DESIGN §3): Z^l (n_out x r, row-major) is one flat Gaussian row of the
//! stream: element e = i r + m from counter `(net, tag(MatrixFreeForward, l), 0, e / 4)`; the
//! same for G̃^l ((n_in [+1 bias row when C_b > 0]) x q, q = rank of ΔᵀΔ) with
//! `tag(MatrixFreeBackward, l)`. Drawing whole layers at once lets the lane-parallel generator
//! run (rows of r <= 2K values would waste it); the Jacobian direction u exactly as in the dense engine. r and q depend on the
//! network (they are numerical ranks), so this engine's numbers are its own: it agrees with the
//! dense engine in distribution, not value by value.

// Index loops over the small c x K blocks read closer to the formulas than iterator chains.
#![allow(clippy::needless_range_loop)]

use crate::activation::LayerActivation;
use crate::linalg::PsdFactor;
use crate::philox::key_of_seed;
use crate::stream::{fill_row, tag, Purpose};
use crate::{Problem, SamplerError};
use randnet_spec::{Parameterization, WeightLaw};

/// The matrix-free engine for one problem; immutable and shared between threads.
#[derive(Debug, Clone)]
pub struct MatrixFreeEngine {
    problem: Problem,
    widths: Vec<usize>,
    /// Activation applied to z^l, index l = 1..=L (index 0 unused).
    acts: Vec<LayerActivation>,
    key: [u32; 2],
    /// K, the number of inputs.
    k: usize,
    /// Columns pushed through the layers: K inputs, then K tangents with Jacobians.
    cols: usize,
}

/// Per-thread working memory of the matrix-free engine.
#[derive(Debug, Clone, Default)]
pub struct MatrixFreeScratch {
    /// Layer inputs A^l = [a^l | da^l], interleaved [j * cols + c], l = 0..=L.
    layer_in: Vec<Vec<f64>>,
    /// sigma'(z^l) for the K inputs, interleaved [j * K + a], l = 0..=L (0 unused).
    dact: Vec<Vec<f64>>,
    /// H^l = Z^l S^l (the branch before α and the residual sum), index l - 1, kept for the
    /// backward pass when the NTK is observed.
    h: Vec<Vec<f64>>,
    /// Σ^l⁺ (cols x cols), index l - 1, kept for the backward pass.
    pinv: Vec<Vec<f64>>,
    /// a^{l-1}(x_a) · a^{l-1}(x_b) (K x K), index l - 1.
    aa: Vec<Vec<f64>>,
    gram: Vec<f64>,
    sigma: Vec<f64>,
    factor: PsdFactor,
    dfactor: PsdFactor,
    normals: Vec<f64>,
    hrow: Vec<f64>,
    grow: Vec<f64>,
    u: Vec<f64>,
    z: Vec<f64>,
    z_prev: Vec<f64>,
    delta: Vec<f64>,
    delta_prev: Vec<f64>,
    g: Vec<f64>,
    dd: Vec<f64>,
    cmat: Vec<f64>,
    rmat: Vec<f64>,
    mmat: Vec<f64>,
}

impl MatrixFreeEngine {
    /// Errors with [`SamplerError::Unsupported`] unless the weights are Gaussian: the engine's
    /// conditioning identities hold only for Gaussian weights.
    pub fn new(problem: &Problem) -> Result<Self, SamplerError> {
        problem.validate()?;
        let spec = &problem.spec;
        if spec.weights != WeightLaw::Gaussian {
            return Err(SamplerError::Unsupported(format!(
                "the matrix-free method needs Gaussian weights (got {}); use --method dense",
                spec.weights
            )));
        }
        let widths = spec.layer_widths();
        let mut acts = vec![LayerActivation::Slopes(1.0, 1.0)];
        for &n in &spec.hidden {
            acts.push(LayerActivation::resolve(spec, n));
        }
        let k = problem.inputs.len();
        Ok(MatrixFreeEngine {
            problem: problem.clone(),
            widths,
            acts,
            key: key_of_seed(problem.seed),
            k,
            cols: if problem.observe.jacobian { 2 * k } else { k },
        })
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Bytes of working memory one thread needs (for the "beyond memory" check).
    pub fn scratch_bytes(&self) -> usize {
        let c = self.cols;
        let per_layer: usize = self.widths.iter().map(|&n| n * (2 * c + self.k) * 8).sum();
        per_layer + self.widths.len() * (c * c + self.k * self.k) * 8
    }

    pub fn scratch(&self) -> MatrixFreeScratch {
        let l = self.widths.len();
        let (k, c) = (self.k, self.cols);
        let keep = self.problem.observe.ntk;
        MatrixFreeScratch {
            layer_in: self.widths[..l - 1]
                .iter()
                .map(|&n| vec![0.0; n * c])
                .collect(),
            dact: self.widths[..l - 1]
                .iter()
                .map(|&n| vec![0.0; n * k])
                .collect(),
            h: self.widths[1..]
                .iter()
                .map(|&n| if keep { vec![0.0; n * c] } else { Vec::new() })
                .collect(),
            pinv: vec![vec![0.0; if keep { c * c } else { 0 }]; l - 1],
            aa: vec![vec![0.0; k * k]; l - 1],
            ..Default::default()
        }
    }

    /// Draws network `net` and writes its observable values (in [`Problem::names`] order).
    pub fn sample(&self, net: u64, s: &mut MatrixFreeScratch, out: &mut [f64]) {
        let spec = &self.problem.spec;
        let (k, cols) = (self.k, self.cols);
        let depth = spec.depth();
        let net32 = net as u32;
        let alpha = spec.residual_alpha().unwrap_or(1.0);
        let observe = self.problem.observe;
        let mut sqnorms = Vec::new();

        // a^0 = x for the inputs and the unit direction u for the tangents (as in dense).
        let n0 = self.widths[0];
        {
            let in0 = &mut s.layer_in[0];
            for (a, x) in self.problem.inputs.iter().enumerate() {
                for j in 0..n0 {
                    in0[j * cols + a] = x[j];
                }
            }
            if observe.jacobian {
                s.u.resize(n0, 0.0);
                fill_row(
                    self.key,
                    net32,
                    tag(Purpose::JacobianDirection, 0),
                    0,
                    WeightLaw::Gaussian,
                    &mut s.u,
                );
                let norm = s.u.iter().map(|v| v * v).sum::<f64>().sqrt();
                for j in 0..n0 {
                    for a in 0..k {
                        in0[j * cols + k + a] = s.u[j] / norm;
                    }
                }
            }
        }

        s.gram.resize(cols * cols, 0.0);
        s.sigma.resize(cols * cols, 0.0);
        s.hrow.resize(cols, 0.0);
        for l in 1..=depth + 1 {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            let scale2 = spec.cw / n_in as f64;
            let residual = spec.is_residual_layer(l);
            let branch = if residual { alpha } else { 1.0 };
            let keep = observe.ntk && l >= 2;
            std::mem::swap(&mut s.z, &mut s.z_prev);
            s.z.clear();
            s.z.resize(n_out * cols, 0.0);

            // Gram matrix AᵀA (upper triangle, then mirrored): O(n_in cols^2).
            let input = &s.layer_in[l - 1];
            s.gram.iter_mut().for_each(|v| *v = 0.0);
            for x in input.chunks_exact(cols) {
                for c in 0..cols {
                    let xc = x[c];
                    let row = &mut s.gram[c * cols..(c + 1) * cols];
                    for d in c..cols {
                        row[d] += xc * x[d];
                    }
                }
            }
            for c in 0..cols {
                for d in 0..c {
                    s.gram[c * cols + d] = s.gram[d * cols + c];
                }
            }
            let aa = &mut s.aa[l - 1];
            for a in 0..k {
                for b in 0..k {
                    aa[a * k + b] = s.gram[a * cols + b];
                }
            }
            for c in 0..cols {
                for d in 0..cols {
                    let bias = if c < k && d < k { spec.cb } else { 0.0 };
                    s.sigma[c * cols + d] = scale2 * s.gram[c * cols + d] + bias;
                }
            }
            s.factor.factor(&s.sigma, cols, keep);
            let r = s.factor.rank;
            if keep {
                s.pinv[l - 1].copy_from_slice(&s.factor.pinv);
            }

            // H = Z S, row by row: O(n_out r cols). Z is drawn as one flat stream (vectorized).
            s.normals.resize(n_out * r, 0.0);
            let tagf = tag(Purpose::MatrixFreeForward, l as u32);
            fill_row(
                self.key,
                net32,
                tagf,
                0,
                WeightLaw::Gaussian,
                &mut s.normals,
            );
            for i in 0..n_out {
                let zrow = &s.normals[i * r..(i + 1) * r];
                let h: &mut [f64] = if keep {
                    &mut s.h[l - 1][i * cols..(i + 1) * cols]
                } else {
                    &mut s.hrow
                };
                let sq = &s.factor.sqrt;
                for (c, hc) in h.iter_mut().enumerate() {
                    let mut acc = 0.0;
                    for (m, &zm) in zrow.iter().enumerate() {
                        acc += zm * sq[m * cols + c];
                    }
                    *hc = acc;
                }
                let zi = &mut s.z[i * cols..(i + 1) * cols];
                for c in 0..cols {
                    let v = branch * h[c];
                    zi[c] = if residual {
                        s.z_prev[i * cols + c] + v
                    } else {
                        v
                    };
                }
            }

            if observe.sqnorm {
                for a in 0..k {
                    let sq: f64 = (0..n_out).map(|i| s.z[i * cols + a].powi(2)).sum();
                    sqnorms.push(sq / n_out as f64);
                }
            }
            if l <= depth {
                let act = self.acts[l];
                let next = &mut s.layer_in[l];
                let dact = &mut s.dact[l];
                for i in 0..n_out {
                    for a in 0..k {
                        let (y, dy) = act.eval(s.z[i * cols + a]);
                        next[i * cols + a] = y;
                        dact[i * k + a] = dy;
                        if cols > k {
                            next[i * cols + k + a] = dy * s.z[i * cols + k + a];
                        }
                    }
                }
            }
        }

        let mut o = 0;
        if observe.output {
            for a in 0..k {
                out[o] = s.z[a];
                o += 1;
            }
        }
        if observe.ntk {
            let ntk = self.ntk(net32, s);
            for a in 0..k {
                for b in a..k {
                    out[o] = ntk[a * k + b];
                    o += 1;
                }
            }
        }
        if observe.sqnorm {
            out[o..o + sqnorms.len()].copy_from_slice(&sqnorms);
            o += sqnorms.len();
        }
        if observe.jacobian {
            let n_out = self.widths[depth + 1];
            for a in 0..k {
                let sq: f64 = (0..n_out).map(|i| s.z[i * cols + k + a].powi(2)).sum();
                out[o] = sq.sqrt();
                o += 1;
            }
        }
        debug_assert_eq!(o, out.len());
    }

    /// The K x K NTK of readout unit 0 (row-major). Θ = Σ_l α_l² [w_l (a^{l-1}·a^{l-1}')
    /// (δ^l·δ^l') + b_l (δ^l·δ^l')], with Ŵ^lᵀ δ^l drawn from its conditional law given the
    /// forward pass (module docs).
    fn ntk(&self, net32: u32, s: &mut MatrixFreeScratch) -> Vec<f64> {
        let spec = &self.problem.spec;
        let (k, cols) = (self.k, self.cols);
        let depth = spec.depth();
        let alpha = spec.residual_alpha().unwrap_or(1.0);
        let sqrt_cb = spec.cb.sqrt();
        let mut ntk = vec![0.0; k * k];
        let n_last = self.widths[depth + 1];
        s.delta.clear();
        s.delta.resize(n_last * k, 0.0);
        s.delta[..k].iter_mut().for_each(|v| *v = 1.0);
        s.dd.resize(k * k, 0.0);
        for l in (1..=depth + 1).rev() {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            let residual = spec.is_residual_layer(l);
            let branch = if residual { alpha } else { 1.0 };
            let (wfac, bfac) = match spec.parameterization {
                Parameterization::Ntk => (spec.cw / n_in as f64, spec.cb),
                Parameterization::Standard => (1.0, if spec.cb > 0.0 { 1.0 } else { 0.0 }),
            };
            // ΔᵀΔ (K x K); rows of Δ beyond readout unit 0 are zero at l = L + 1.
            s.dd.iter_mut().for_each(|v| *v = 0.0);
            let rows = if l == depth + 1 { 1 } else { n_out };
            for d in s.delta[..rows * k].chunks_exact(k) {
                for a in 0..k {
                    for b in a..k {
                        s.dd[a * k + b] += d[a] * d[b];
                    }
                }
            }
            for a in 0..k {
                for b in 0..a {
                    s.dd[a * k + b] = s.dd[b * k + a];
                }
            }
            let aa = &s.aa[l - 1];
            for a in 0..k {
                for b in a..k {
                    let dd = s.dd[a * k + b];
                    ntk[a * k + b] += branch * branch * (wfac * aa[a * k + b] * dd + bfac * dd);
                }
            }
            if l == 1 {
                break;
            }
            let scale = (spec.cw / n_in as f64).sqrt();
            let input = &s.layer_in[l - 1];
            let h = &s.h[l - 1];

            // C = HᵀΔ (cols x K).
            s.cmat.clear();
            s.cmat.resize(cols * k, 0.0);
            for i in 0..rows {
                let d = &s.delta[i * k..(i + 1) * k];
                let hi = &h[i * cols..(i + 1) * cols];
                for c in 0..cols {
                    for a in 0..k {
                        s.cmat[c * k + a] += hi[c] * d[a];
                    }
                }
            }

            // G̃ = Y T with TᵀT = ΔᵀΔ; G = its first n_in rows (stored), R = ÃᵀG̃.
            s.dfactor.factor(&s.dd, k, false);
            let q = s.dfactor.rank;
            let t = &s.dfactor.sqrt;
            s.grow.resize(k, 0.0);
            s.g.clear();
            s.g.resize(n_in * k, 0.0);
            s.rmat.clear();
            s.rmat.resize(cols * k, 0.0);
            let tagb = tag(Purpose::MatrixFreeBackward, l as u32);
            let bias_rows = if spec.cb > 0.0 { 1 } else { 0 };
            s.normals.resize((n_in + bias_rows) * q, 0.0);
            fill_row(
                self.key,
                net32,
                tagb,
                0,
                WeightLaw::Gaussian,
                &mut s.normals,
            );
            for j in 0..n_in + bias_rows {
                let yrow = &s.normals[j * q..(j + 1) * q];
                let grow: &mut [f64] = if j < n_in {
                    &mut s.g[j * k..(j + 1) * k]
                } else {
                    &mut s.grow
                };
                for (a, ga) in grow.iter_mut().enumerate() {
                    let mut acc = 0.0;
                    for (m, &y) in yrow.iter().enumerate() {
                        acc += y * t[m * k + a];
                    }
                    *ga = acc;
                }
                if j < n_in {
                    let x = &input[j * cols..(j + 1) * cols];
                    for c in 0..cols {
                        let xc = scale * x[c];
                        for a in 0..k {
                            s.rmat[c * k + a] += xc * grow[a];
                        }
                    }
                } else {
                    for c in 0..k {
                        for a in 0..k {
                            s.rmat[c * k + a] += sqrt_cb * grow[a];
                        }
                    }
                }
            }

            // M = s Σ⁺ (C − R) (cols x K); g = G + A M; δ^{l-1}.
            let pinv = &s.pinv[l - 1];
            s.mmat.clear();
            s.mmat.resize(cols * k, 0.0);
            for c in 0..cols {
                for e in 0..cols {
                    let p = scale * pinv[c * cols + e];
                    for a in 0..k {
                        s.mmat[c * k + a] += p * (s.cmat[e * k + a] - s.rmat[e * k + a]);
                    }
                }
            }
            let dact = &s.dact[l - 1];
            s.delta_prev.clear();
            s.delta_prev.resize(n_in * k, 0.0);
            for j in 0..n_in {
                let x = &input[j * cols..(j + 1) * cols];
                for a in 0..k {
                    let mut g = s.g[j * k + a];
                    for c in 0..cols {
                        g += x[c] * s.mmat[c * k + a];
                    }
                    let v = branch * scale * dact[j * k + a] * g;
                    s.delta_prev[j * k + a] = if residual { s.delta[j * k + a] + v } else { v };
                }
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

#[cfg(test)]
mod tests {
    use super::*;
}

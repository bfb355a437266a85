//! The matrix-free CPU engine (docs/engines.md, `matrix-free`; derivation in docs/engines.md): exact
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
//! Random streams (docs/rng.md), column-major so that each stream is one long flat row for the
//! lane-parallel Gaussian fill and each column of Z or Y is a contiguous vector: Z^l (n_out x r)
//! has element (i, m) at e = m n_out + i, drawn from counter
//! `(net, tag(MatrixFreeForward, l), 0, e / 4)`; Y^l (n_rows x q, q = rank ΔᵀΔ, G̃^l = Y^l T^l)
//! has element (j, m) at e = m n_rows + j from `(net, tag(MatrixFreeBackward, l), 0, e / 4)`,
//! where the n_rows rows are the *live* input units of layer l in increasing order, then the bias
//! row (only when C_b > 0). A unit j is dead when its rows of A and of σ'(z^{l-1}) are all exactly
//! zero (a ReLU unit off for every input): that row of G̃ multiplies nothing (it enters neither
//! ÃᵀG̃ nor δ^{l-1}), so it is not drawn; the live set is a function of the forward pass, which
//! is independent of Y, so the drawn rows are still i.i.d. N(0, 1). The Jacobian direction u is
//! drawn exactly as in the dense engine. r, q and the live set depend on the network, so this
//! engine's numbers are its own: it agrees with the dense engine in distribution, not value by
//! value. All n x c blocks are column-major (`[c * n + i]`): the O(n) work is long dot products,
//! axpys and pointwise loops (built for AVX2 where the CPU has it, without fused multiply-adds,
//! so the bits do not depend on the CPU), and every sum has a fixed order, so a network's values
//! do not depend on threads or batches.

// Index loops over the small c x K blocks read closer to the formulas than iterator chains.
#![allow(clippy::needless_range_loop)]

use crate::activation::LayerActivation;
use crate::linalg::PsdFactor;
use crate::stream::{fill_row, network_stream, tag, Purpose};
use crate::{Problem, SamplerError};
use randnet_problem::{Primitive, WeightLaw};

/// The matrix-free engine for one problem; immutable and shared between threads.
#[derive(Debug, Clone)]
pub struct MatrixFreeEngine {
    problem: Problem,
    widths: Vec<usize>,
    /// Activation applied to z^l, index l = 1..=L (index 0 unused).
    acts: Vec<LayerActivation>,
    /// K, the number of inputs.
    k: usize,
    /// Columns pushed through the layers: K inputs, then K tangents with Jacobians, then the
    /// `lyapunov:F` frame (more columns of A, as in the dense engine).
    cols: usize,
    jacobian: bool,
    /// The Lyapunov frame's size F (0 without `lyapunov`) and its first column.
    frame: usize,
    frame_at: usize,
}

/// Per-thread working memory of the matrix-free engine. Every n x c block is column-major
/// (`[c * n + i]`), so each column is one contiguous vector and the O(n) work is long dot
/// products, axpys and pointwise loops that vectorize.
#[derive(Debug, Clone, Default)]
pub struct MatrixFreeScratch {
    /// Σ_l ln R^l_ii of the Lyapunov frame.
    lyapunov: Vec<f64>,
    /// Layer inputs A^l = [a^l | da^l], `[c * n_l + j]`, l = 0..=L.
    layer_in: Vec<Vec<f64>>,
    /// sigma'(z^l) for the K inputs, `[a * n_l + j]`, l = 0..=L (0 unused).
    dact: Vec<Vec<f64>>,
    /// H^l = Z^l S^l (the branch before α and the residual sum), `[c * n_l + i]`, index l - 1,
    /// kept for the backward pass when the NTK is observed (l >= 2).
    h: Vec<Vec<f64>>,
    /// Σ^l⁺ (cols x cols), index l - 1, kept for the backward pass.
    pinv: Vec<Vec<f64>>,
    /// a^{l-1}(x_a) · a^{l-1}(x_b) (K x K), index l - 1.
    aa: Vec<Vec<f64>>,
    gram: Vec<f64>,
    sigma: Vec<f64>,
    factor: PsdFactor,
    dfactor: PsdFactor,
    /// Gaussian stream of one layer (Z^l or Y^l), column-major.
    normals: Vec<f64>,
    /// H of the current layer when it is not kept.
    hbuf: Vec<f64>,
    u: Vec<f64>,
    /// z^l and z^{l-1}, `[c * n + i]`.
    z: Vec<f64>,
    z_prev: Vec<f64>,
    /// δ^l and δ^{l-1}, `[a * n + i]`.
    delta: Vec<f64>,
    delta_prev: Vec<f64>,
    /// G̃ (live rows, then the bias row), `[a * rows + j]`.
    g: Vec<f64>,
    /// The live rows of the backward layer (module docs).
    live: Vec<u32>,
    /// Σ_c |A[j, c]| + Σ_a |σ'_a(j)|: zero exactly on the dead rows.
    mass: Vec<f64>,
    /// Y scattered to full length (zeros on the dead rows), `[m * (n_in + 1) + j]`.
    yfull: Vec<f64>,
    dd: Vec<f64>,
    cmat: Vec<f64>,
    rmat: Vec<f64>,
    mmat: Vec<f64>,
    ntk: Vec<f64>,
    sqnorms: Vec<f64>,
}

/// `crate::dense::dot` (the same fixed summation order), always inlined so that the AVX2 build
/// of the engine vectorizes it too.
#[inline(always)]
fn dot(x: &[f64], y: &[f64]) -> f64 {
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

/// `out = Σ_m coef(m) col_m`, with column m of `src` at `src[m * stride..][..out.len()]`.
#[inline(always)]
fn lincomb(out: &mut [f64], src: &[f64], stride: usize, terms: usize, coef: impl Fn(usize) -> f64) {
    let n = out.len();
    if terms == 0 {
        out.iter_mut().for_each(|v| *v = 0.0);
        return;
    }
    let c0 = coef(0);
    for (o, &x) in out.iter_mut().zip(&src[..n]) {
        *o = c0 * x;
    }
    let mut m = 1;
    while m + 1 < terms {
        let (ca, cb) = (coef(m), coef(m + 1));
        let xa = &src[m * stride..m * stride + n];
        let xb = &src[(m + 1) * stride..(m + 1) * stride + n];
        for ((o, &a), &b) in out.iter_mut().zip(xa).zip(xb) {
            *o += ca * a + cb * b;
        }
        m += 2;
    }
    if m < terms {
        let ca = coef(m);
        for (o, &a) in out.iter_mut().zip(&src[m * stride..m * stride + n]) {
            *o += ca * a;
        }
    }
}

/// y = σ(z), dy = σ'(z) pointwise, with the activation's match hoisted out of the loop.
#[inline(always)]
fn activate(act: LayerActivation, z: &[f64], y: &mut [f64], dy: &mut [f64]) {
    #[inline(always)]
    fn run(f: impl Fn(f64) -> (f64, f64), z: &[f64], y: &mut [f64], dy: &mut [f64]) {
        for ((&t, yi), di) in z.iter().zip(y.iter_mut()).zip(dy.iter_mut()) {
            let (a, b) = f(t);
            *yi = a;
            *di = b;
        }
    }
    match act {
        LayerActivation::Slopes(p, m) => run(
            |t| {
                let s = if t > 0.0 { p } else { m };
                (s * t, s)
            },
            z,
            y,
            dy,
        ),
        other => run(|t| other.eval(t), z, y, dy),
    }
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
        let jacobian = problem.observe.needs(Primitive::JacobianNorm);
        let frame = if problem.observe.needs(Primitive::Lyapunov) {
            crate::dense::check_lyapunov(problem)?
        } else {
            0
        };
        let frame_at = if jacobian { 2 * k } else { k };
        Ok(MatrixFreeEngine {
            problem: problem.clone(),
            widths,
            acts,
            k,
            cols: frame_at + frame,
            jacobian,
            frame,
            frame_at,
        })
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Bytes of working memory one thread needs (for the "beyond memory" check).
    pub fn scratch_bytes(&self) -> usize {
        let (k, c) = (self.k, self.cols);
        let per_layer: usize = self.widths.iter().map(|&n| n * (2 * c + k) * 8).sum();
        let nmax = self.widths.iter().copied().max().unwrap_or(0) + 1;
        per_layer + self.widths.len() * (c * c + k * k) * 8 + nmax * (6 * c + 6 * k) * 8
    }

    pub fn scratch(&self) -> MatrixFreeScratch {
        let l = self.widths.len();
        let (k, c) = (self.k, self.cols);
        let keep = self.problem.observe.needs(Primitive::Ntk);
        let nmax = self.widths.iter().copied().max().unwrap_or(0);
        let rows = nmax + 1;
        MatrixFreeScratch {
            layer_in: self.widths[..l - 1]
                .iter()
                .map(|&n| vec![0.0; n * c])
                .collect(),
            dact: self.widths[..l - 1]
                .iter()
                .map(|&n| vec![0.0; n * k])
                .collect(),
            h: self
                .widths
                .iter()
                .enumerate()
                .skip(1)
                .map(|(i, &n)| {
                    if keep && i >= 2 {
                        vec![0.0; n * c]
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
            pinv: (1..l)
                .map(|i| vec![0.0; if keep && i >= 2 { c * c } else { 0 }])
                .collect(),
            aa: vec![vec![0.0; k * k]; l - 1],
            gram: vec![0.0; c * c],
            sigma: vec![0.0; c * c],
            normals: vec![0.0; rows * c.max(k)],
            hbuf: vec![0.0; nmax * c],
            u: vec![0.0; self.widths[0]],
            z: vec![0.0; nmax * c],
            z_prev: vec![0.0; nmax * c],
            delta: vec![0.0; nmax * k],
            delta_prev: vec![0.0; nmax * k],
            g: vec![0.0; rows * k],
            live: vec![0; nmax + 1],
            mass: vec![0.0; nmax],
            yfull: vec![0.0; rows * k],
            dd: vec![0.0; k * k],
            cmat: vec![0.0; c * k],
            rmat: vec![0.0; c * k],
            mmat: vec![0.0; c * k],
            ntk: vec![0.0; k * k],
            sqnorms: Vec::with_capacity(l * k),
            ..Default::default()
        }
    }

    /// Draws network `net` and writes its observable values (in [`Problem::names`] order).
    pub fn sample(&self, net: u64, s: &mut MatrixFreeScratch, out: &mut [f64]) {
        #[cfg(target_arch = "x86_64")]
        {
            use crate::stream::GeneratorPath;
            match GeneratorPath::current() {
                // SAFETY: `current` picks only a path the CPU supports.
                GeneratorPath::Avx512 => return unsafe { self.sample_avx512(net, s, out) },
                GeneratorPath::Avx2 => return unsafe { self.sample_avx2(net, s, out) },
                GeneratorPath::Scalar => {}
            }
        }
        self.sample_body(net, s, out)
    }

    /// The AVX-512 build of the same code (the same bits, as for AVX2).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,avx512dq,avx512vl,avx512bw")]
    unsafe fn sample_avx512(&self, net: u64, s: &mut MatrixFreeScratch, out: &mut [f64]) {
        self.sample_body(net, s, out)
    }

    /// The AVX2 build of the same code: the same bits (no fused multiply-adds are enabled, and
    /// every sum has a fixed order, so the vector width does not change any result).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn sample_avx2(&self, net: u64, s: &mut MatrixFreeScratch, out: &mut [f64]) {
        self.sample_body(net, s, out)
    }

    #[inline(always)]
    fn sample_body(&self, net: u64, s: &mut MatrixFreeScratch, out: &mut [f64]) {
        let spec = &self.problem.spec;
        let (k, cols) = (self.k, self.cols);
        let depth = spec.depth();
        // The network's Philox key and counter word c0 (stream::network_key: 64-bit indices).
        let (key, net32) = network_stream(self.problem.seed, net);
        let alpha = spec.residual_alpha().unwrap_or(1.0);
        let observe = self.problem.observe;
        s.sqnorms.clear();

        // a^0 = x for the inputs and the unit direction u for the tangents (as in dense).
        crate::inputs::fill_layer0(
            key,
            net32,
            &self.problem.inputs,
            observe.needs(Primitive::JacobianNorm),
            &mut s.u,
            &mut s.layer_in[0],
        );
        let mut alive = self.frame;
        if self.frame > 0 {
            let n0 = self.widths[0];
            let frame = &mut s.layer_in[0][self.frame_at * n0..(self.frame_at + self.frame) * n0];
            alive = crate::inputs::fill_lyapunov_frame(key, net32, n0, self.frame, frame);
            s.lyapunov.clear();
            s.lyapunov.resize(self.frame, 0.0);
        }

        for l in 1..=depth + 1 {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            let scale2 = spec.cw / n_in as f64;
            let residual = spec.is_residual_layer(l);
            let keep = observe.needs(Primitive::Ntk) && l >= 2;
            std::mem::swap(&mut s.z, &mut s.z_prev);

            // Gram matrix AᵀA: c (c + 1) / 2 dot products of length n_in.
            let input = &s.layer_in[l - 1];
            for c in 0..cols {
                let xc = &input[c * n_in..(c + 1) * n_in];
                for d in c..cols {
                    let v = dot(xc, &input[d * n_in..(d + 1) * n_in]);
                    s.gram[c * cols + d] = v;
                    s.gram[d * cols + c] = v;
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

            // Z (n_out x r, column-major) as one flat stream; H[:, c] = Σ_m S[m, c] Z[:, m].
            let zn = &mut s.normals[..n_out * r];
            fill_row(
                key,
                net32,
                tag(Purpose::MatrixFreeForward, l as u32),
                0,
                WeightLaw::Gaussian,
                zn,
            );
            // H goes to its kept copy, or straight into z^l when nothing else needs it; z^l is
            // stored separately only where it differs from H (residual) or is read later (by
            // the next residual layer, or as the output).
            let nc = n_out * cols;
            let store_z = residual || l == depth + 1 || spec.is_residual_layer(l + 1);
            {
                let h: &mut [f64] = if keep {
                    &mut s.h[l - 1][..nc]
                } else if residual {
                    &mut s.hbuf[..nc]
                } else {
                    &mut s.z[..nc]
                };
                let sq = &s.factor.sqrt;
                for c in 0..cols {
                    lincomb(&mut h[c * n_out..(c + 1) * n_out], zn, n_out, r, |m| {
                        sq[m * cols + c]
                    });
                }
            }
            if residual {
                let h: &[f64] = if keep {
                    &s.h[l - 1][..nc]
                } else {
                    &s.hbuf[..nc]
                };
                for ((zi, &hi), &zp) in s.z[..nc].iter_mut().zip(h).zip(&s.z_prev[..nc]) {
                    *zi = zp + alpha * hi;
                }
            } else if keep && store_z {
                s.z[..nc].copy_from_slice(&s.h[l - 1][..nc]);
            }
            let z: &[f64] = if !residual && keep && !store_z {
                &s.h[l - 1][..nc]
            } else {
                &s.z[..nc]
            };

            if observe.needs(Primitive::Sqnorm) {
                for a in 0..k {
                    let za = &z[a * n_out..(a + 1) * n_out];
                    s.sqnorms.push(dot(za, za) / n_out as f64);
                }
            }
            if l <= depth {
                let act = self.acts[l];
                let next = &mut s.layer_in[l];
                let dact = &mut s.dact[l];
                let (ys, ts) = next.split_at_mut(k * n_out);
                activate(act, &z[..k * n_out], ys, &mut dact[..k * n_out]);
                if self.jacobian {
                    for ((t, &d), &dz) in ts[..k * n_out]
                        .iter_mut()
                        .zip(&dact[..k * n_out])
                        .zip(&z[k * n_out..2 * k * n_out])
                    {
                        *t = d * dz;
                    }
                }
                if self.frame > 0 {
                    let fa = self.frame_at;
                    alive = crate::linalg::lyapunov_layer(
                        &mut next[fa * n_out..(fa + self.frame) * n_out],
                        &z[fa * n_out..(fa + self.frame) * n_out],
                        &dact[..n_out],
                        alive,
                        &mut s.lyapunov,
                    );
                }
            }
        }

        let n_last = self.widths[depth + 1];
        let mut o = 0;
        if observe.needs(Primitive::Output) {
            for a in 0..k {
                out[o] = s.z[a * n_last];
                o += 1;
            }
        }
        if observe.needs(Primitive::Ntk) {
            self.ntk(key, net32, s);
            for a in 0..k {
                for b in a..k {
                    out[o] = s.ntk[a * k + b];
                    o += 1;
                }
            }
        }
        if observe.needs(Primitive::Sqnorm) {
            out[o..o + s.sqnorms.len()].copy_from_slice(&s.sqnorms);
            o += s.sqnorms.len();
        }
        if observe.needs(Primitive::JacobianNorm) {
            for a in 0..k {
                let t = &s.z[(k + a) * n_last..(k + a + 1) * n_last];
                out[o] = dot(t, t).sqrt();
                o += 1;
            }
        }
        crate::linalg::lyapunov_values(&mut out[o..o + self.frame], &s.lyapunov, alive, depth);
        o += self.frame;
        debug_assert_eq!(o, out.len());
    }

    /// The K x K NTK of readout unit 0 into `s.ntk` (row-major). Θ = Σ_l α_l² [w_l (a^{l-1}·a^{l-1}')
    /// (δ^l·δ^l') + b_l (δ^l·δ^l')], with Ŵ^lᵀ δ^l drawn from its conditional law given the
    /// forward pass (module docs).
    #[inline(always)]
    fn ntk(&self, key: [u32; 2], net32: u32, s: &mut MatrixFreeScratch) {
        let spec = &self.problem.spec;
        let (k, cols) = (self.k, self.cols);
        let depth = spec.depth();
        let alpha = spec.residual_alpha().unwrap_or(1.0);
        let sqrt_cb = spec.cb.sqrt();
        let bias_rows = if spec.cb > 0.0 { 1 } else { 0 };
        s.ntk.iter_mut().for_each(|v| *v = 0.0);
        let n_last = self.widths[depth + 1];
        // δ^{L+1}: readout unit 0 only (rows beyond 0 are never read: `rows` = 1 below).
        for a in 0..k {
            s.delta[a * n_last] = 1.0;
        }
        for l in (1..=depth + 1).rev() {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            let residual = spec.is_residual_layer(l);
            let branch = if residual { alpha } else { 1.0 };
            let (wfac, bfac) = spec.ntk_factors(l);
            // ΔᵀΔ (K x K); rows of Δ beyond readout unit 0 are zero at l = L + 1.
            let rows = if l == depth + 1 { 1 } else { n_out };
            let delta = &s.delta;
            let dcol = |a: usize| &delta[a * n_out..a * n_out + rows];
            for a in 0..k {
                for b in a..k {
                    let v = dot(dcol(a), dcol(b));
                    s.dd[a * k + b] = v;
                    s.dd[b * k + a] = v;
                }
            }
            let aa = &s.aa[l - 1];
            for a in 0..k {
                for b in a..k {
                    let dd = s.dd[a * k + b];
                    s.ntk[a * k + b] += branch * branch * (wfac * aa[a * k + b] * dd + bfac * dd);
                }
            }
            if l == 1 {
                break;
            }
            let scale = (spec.cw / n_in as f64).sqrt();
            let input = &s.layer_in[l - 1];
            let dact = &s.dact[l - 1];
            let h = &s.h[l - 1];

            // C = HᵀΔ (cols x K).
            for c in 0..cols {
                let hc = &h[c * n_out..c * n_out + rows];
                for a in 0..k {
                    s.cmat[c * k + a] = dot(hc, dcol(a));
                }
            }

            // Live input units: a row j of A and of σ' that is all zero (a ReLU unit dead for
            // every input) multiplies nothing, so its row of G̃ is never drawn (module docs).
            let mass = &mut s.mass[..n_in];
            mass.copy_from_slice(&dact[..n_in]);
            mass.iter_mut().for_each(|v| *v = v.abs());
            for a in 1..k {
                for (m, &d) in mass.iter_mut().zip(&dact[a * n_in..(a + 1) * n_in]) {
                    *m += d.abs();
                }
            }
            for c in 0..cols {
                for (m, &x) in mass.iter_mut().zip(&input[c * n_in..(c + 1) * n_in]) {
                    *m += x.abs();
                }
            }
            // Branch-free compaction (about half the units are dead: a branch would mispredict).
            s.live.resize(n_in + 1, 0);
            let mut nl = 0;
            for (j, &m) in mass.iter().enumerate() {
                s.live[nl] = j as u32;
                nl += (m != 0.0) as usize;
            }
            let live = &s.live[..nl];

            // Y (g_rows x q, column-major): one flat stream over the live rows and then the
            // bias row; scattered to full length n_in (+1) with zeros on the dead rows, so that
            // everything below runs over whole columns.
            s.dfactor.factor(&s.dd, k, false);
            let q = s.dfactor.rank;
            let t = &s.dfactor.sqrt;
            let g_rows = nl + bias_rows;
            let full = n_in + bias_rows;
            let yn = &mut s.normals[..g_rows * q];
            fill_row(
                key,
                net32,
                tag(Purpose::MatrixFreeBackward, l as u32),
                0,
                WeightLaw::Gaussian,
                yn,
            );
            let y: &[f64] = if nl == n_in {
                yn
            } else {
                // Scatter to the live rows, zeros on the dead ones.
                let yf = &mut s.yfull[..full * q];
                for m in 0..q {
                    let src = &yn[m * g_rows..(m + 1) * g_rows];
                    let dst = &mut yf[m * full..(m + 1) * full];
                    dst.iter_mut().for_each(|v| *v = 0.0);
                    for (&j, &v) in live.iter().zip(src) {
                        dst[j as usize] = v;
                    }
                    if bias_rows == 1 {
                        dst[n_in] = src[nl];
                    }
                }
                yf
            };
            // G̃[:, a] = Σ_m T[m, a] Y[:, m] with TᵀT = ΔᵀΔ.
            let g = &mut s.g[..full * k];
            for a in 0..k {
                lincomb(&mut g[a * full..(a + 1) * full], y, full, q, |m| {
                    t[m * k + a]
                });
            }

            // R = ÃᵀG̃ = s AᵀG + sqrt(C_b) e_in g̃ᵀ (cols x K); M = s Σ⁺ (C − R).
            for c in 0..cols {
                let ac = &input[c * n_in..(c + 1) * n_in];
                for a in 0..k {
                    let mut v = scale * dot(ac, &g[a * full..a * full + n_in]);
                    if c < k && bias_rows == 1 {
                        v += sqrt_cb * g[a * full + n_in];
                    }
                    s.rmat[c * k + a] = v;
                }
            }
            let pinv = &s.pinv[l - 1];
            for c in 0..cols {
                for a in 0..k {
                    let mut v = 0.0;
                    for e in 0..cols {
                        v += pinv[c * cols + e] * (s.cmat[e * k + a] - s.rmat[e * k + a]);
                    }
                    s.mmat[c * k + a] = scale * v;
                }
            }

            // Ŵᵀδ[:, a] = G[:, a] + A M[:, a] (in place in g); δ^{l-1} = (δ^l +) α s σ' ⊙ Ŵᵀδ.
            let f = branch * scale;
            for a in 0..k {
                let ga = &mut g[a * full..a * full + n_in];
                let mut c = 0;
                while c + 1 < cols {
                    let (m0, m1) = (s.mmat[c * k + a], s.mmat[(c + 1) * k + a]);
                    let x0 = &input[c * n_in..(c + 1) * n_in];
                    let x1 = &input[(c + 1) * n_in..(c + 2) * n_in];
                    for ((gi, &u), &v) in ga.iter_mut().zip(x0).zip(x1) {
                        *gi += m0 * u + m1 * v;
                    }
                    c += 2;
                }
                if c < cols {
                    let m0 = s.mmat[c * k + a];
                    for (gi, &u) in ga.iter_mut().zip(&input[c * n_in..(c + 1) * n_in]) {
                        *gi += m0 * u;
                    }
                }
                let da = &dact[a * n_in..(a + 1) * n_in];
                let dp = &mut s.delta_prev[a * n_in..(a + 1) * n_in];
                if residual {
                    let dl = &s.delta[a * n_in..(a + 1) * n_in];
                    for (((p, &gi), &d), &old) in dp.iter_mut().zip(&*ga).zip(da).zip(dl) {
                        *p = old + f * d * gi;
                    }
                } else {
                    for ((p, &gi), &d) in dp.iter_mut().zip(&*ga).zip(da) {
                        *p = f * d * gi;
                    }
                }
            }
            std::mem::swap(&mut s.delta, &mut s.delta_prev);
        }
        for a in 0..k {
            for b in 0..a {
                s.ntk[a * k + b] = s.ntk[b * k + a];
            }
        }
    }
}

impl crate::NetworkEngine for MatrixFreeEngine {
    type Scratch = MatrixFreeScratch;
    fn build(problem: &Problem) -> Result<Self, SamplerError> {
        MatrixFreeEngine::new(problem)
    }
    fn n_values(&self) -> usize {
        self.problem.n_values()
    }
    fn scratch(&self) -> MatrixFreeScratch {
        MatrixFreeEngine::scratch(self)
    }
    fn sample(&self, net: u64, scratch: &mut MatrixFreeScratch, out: &mut [f64]) {
        MatrixFreeEngine::sample(self, net, scratch, out)
    }
    fn method(&self) -> &'static str {
        "matrix-free"
    }
    fn preferred_batch(&self) -> Option<usize> {
        // A network costs O(L n c^2): tens of microseconds at config A, so batches must be large
        // for rayon's fork/join and the per-batch scratch to vanish (docs/engines.md).
        Some(2048)
    }
}

/// The matrix-free engine on the CPU, as registered in [`crate::plan::ENGINES`].
pub struct MatrixFreeCpu;

impl crate::plan::Engine for MatrixFreeCpu {
    fn name(&self) -> &'static str {
        "matrix-free"
    }

    fn device(&self) -> crate::plan::Device {
        crate::plan::Device::Cpu
    }

    fn primitives(&self) -> randnet_problem::PrimitiveSet {
        crate::plan::POINTWISE.with(Primitive::Lyapunov)
    }

    /// Gaussian weights (and Lyapunov exponents of non-residual nets); under `--method auto`
    /// only where it was measured faster than dense ([`crate::plan::matrix_free_pays`]). Its model: ~8 ns per unit of n_l (c^2 + c) work per
    /// thread (docs/performance.md).
    fn supports(
        &self,
        problem: &Problem,
        request: &crate::plan::Request,
        env: &crate::plan::Env,
    ) -> Result<crate::plan::Cost, String> {
        crate::plan::ntk_or_standard_only(problem)?;
        if problem.spec.weights != WeightLaw::Gaussian {
            return Err(format!(
                "the matrix-free method needs Gaussian weights (got {}); use --method dense",
                problem.spec.weights
            ));
        }
        if problem.observe.needs(Primitive::Lyapunov) {
            crate::dense::check_lyapunov(problem).map_err(|e| e.to_string())?;
        }
        if request.method.is_none() && !crate::plan::matrix_free_pays(problem) {
            return Err("the dense engine is faster here (docs/engines.md)".into());
        }
        Ok(crate::plan::Cost {
            networks_per_second: env.threads as f64
                / (8e-9 * crate::plan::matrix_free_units(problem)),
        })
    }

    fn build(
        &self,
        problem: &Problem,
        env: &crate::plan::Env,
    ) -> Result<Box<dyn crate::BatchSampler>, SamplerError> {
        let sampler = crate::CpuMatrixFree::new(problem)?;
        crate::plan::check_memory_for(
            sampler.engine().scratch_bytes() as f64 * env.threads as f64,
            "this network needs",
            "use a smaller width or depth",
        )?;
        Ok(Box::new(sampler))
    }
}

//! Geometry of random networks (docs/geometry.md): exact length distortion and linear regions
//! along a curve, and activation patterns over a triangle. Definitions and derivations are in
//! docs/geometry.md.
//!
//! Every network is the one the dense engine draws: the same stream rows (purposes `Weight` and
//! `Bias`), the same scaling `W = sqrt(C_W/n_in) Ŵ`, `b = sqrt(C_b) β`, the same residual
//! update `z^l = z^{l-1} + α (W a + b)` and the same activation (`σ(t) = a₊ t` for `t > 0`,
//! `a₋ t` otherwise). A unit's *sign* is `z > 0`.
//!
//! Curves (see [`randnet_problem::Curve`]): the segment `γ(t) = x_0 + t (x_1 − x_0)`, `t ∈ [0,1]`,
//! and the circle `γ(θ) = r (cos θ e_1 + sin θ e_2)`, `θ ∈ [0, 2π)`, `r = ‖x_0‖`.
//!
//! - **Piecewise-linear activations, segment** (method "exact"): `z^l(γ(t))` is continuous and
//!   piecewise linear in `t`, so it is held by its values at the breakpoints. At each hidden
//!   layer with a kink (`a₊ ≠ a₋`) every piece on which some unit changes sign is split at the
//!   exact zero of that unit (linear interpolation is exact on a piece). `regions` = number of
//!   pieces = breakpoints + 1 (a breakpoint is a point where some hidden unit with a kinked
//!   activation changes sign); `length_distortion` = Σ_pieces ‖f(t_{k+1}) − f(t_k)‖ / ‖x_1 − x_0‖.
//! - **Piecewise-linear activations, circle** (method "exact"): on each arc piece
//!   `z^l = A cos θ + B sin θ + C` (coefficient vectors); zeros of a unit solve
//!   `A_i cos θ + B_i sin θ + C_i = 0` in closed form. `regions` = number of arcs of constant
//!   pattern on the closed curve = max(breakpoints, 1). The length of `f` on a piece is exact for
//!   one readout unit (total variation, split at the critical points of `A cos θ + B sin θ`) and
//!   adaptive Gauss–Legendre quadrature of the ellipse-arc speed for `n_out > 1`
//!   ([`ARC_QUAD_RTOL`]).
//! - **Smooth activations** (method "polyline"): the length of adaptively refined polylines until
//!   one refinement round changes it by less than [`POLYLINE_RTOL`] (relative); `regions` and
//!   `patterns` are not defined (an error at construction).
//! - **patterns**: the number of distinct activation patterns (signs of all hidden units with a
//!   kinked activation) realized on subsets of positive area of the triangle `x_0, x_1, x_2`.
//!   "exact" (networks with at most [`PATTERNS_EXACT_MAX_NEURONS`] hidden neurons): the triangle
//!   is split recursively (depth first) by the zero line of every unit, layer after layer; every
//!   final polygon has a distinct pattern by construction, so the count is the number of final
//!   polygons. "grid" (larger networks): distinct patterns at the centroids of the
//!   [`PATTERNS_GRID`]² sub-triangles of a uniform subdivision — a lower bound.

use crate::activation::LayerActivation;
use crate::dense::dot;
use crate::stream::{fill_row, network_stream, tag, Purpose};
use crate::{Problem, SamplerError};
use randnet_problem::{Curve, Observe, SpecError, WeightLaw};
use std::collections::HashSet;
use std::f64::consts::{PI, TAU};

/// Relative tolerance of the polyline length (smooth activations): refinement stops when one
/// round of refinement changes the length by at most this fraction.
pub const POLYLINE_RTOL: f64 = 1e-6;
/// Intervals of the first, uniform polyline.
pub const POLYLINE_START: usize = 128;
/// Most polyline vertices; beyond that the length is reported as NaN (counted as diverged).
pub const POLYLINE_MAX_POINTS: usize = 1 << 20;
/// Relative tolerance of the adaptive quadrature of arc lengths (circle, `n_out > 1`).
pub const ARC_QUAD_RTOL: f64 = 1e-11;
/// Networks with at most this many hidden neurons get exact pattern counts, larger ones the grid.
pub const PATTERNS_EXACT_MAX_NEURONS: usize = 4096;
/// Subdivisions per side of the triangle for the grid estimate of `patterns`.
pub const PATTERNS_GRID: usize = 128;
/// Per-thread budget for one network's weights (the geometry engine always keeps them).
pub const GEOMETRY_WEIGHT_BYTES: usize = 256 << 20;

/// How `patterns` is computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternsMethod {
    /// Exact enumeration of the 2-D regions.
    Exact,
    /// Distinct patterns at the centroids of a uniform subdivision (a lower bound).
    Grid,
}

impl PatternsMethod {
    pub fn name(&self) -> &'static str {
        match self {
            PatternsMethod::Exact => "exact",
            PatternsMethod::Grid => "grid",
        }
    }
}

/// The exact trace of a piecewise-linear network along the curve.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveTrace {
    /// Piece boundaries in the curve parameter (t ∈ [0, 1] or θ ∈ [0, 2π]), increasing, both ends
    /// included.
    pub breakpoints: Vec<f64>,
    /// f at every boundary, `n_out` values each (row-major).
    pub values: Vec<f64>,
    /// The `regions` value: pieces (segment) or arcs of constant pattern (circle).
    pub regions: usize,
    /// Length of f(γ).
    pub length: f64,
    /// Length of γ.
    pub curve_length: f64,
}

/// The geometry engine for one problem; immutable and shared between threads.
#[derive(Debug, Clone)]
pub struct GeometryEngine {
    problem: Problem,
    widths: Vec<usize>,
    /// Activation applied to z^l, index l = 1..=L (index 0 unused).
    acts: Vec<LayerActivation>,
    /// Slopes (a₊, a₋) of layer l for piecewise-linear activations (index 0 unused).
    slopes: Vec<(f64, f64)>,
    observe: Observe,
    names: Vec<String>,
    piecewise_linear: bool,
    patterns_method: PatternsMethod,
    /// Segment: x_0 and x_1 − x_0; circle: r e_1 and r e_2.
    c0: Vec<f64>,
    c1: Vec<f64>,
    x1: Vec<f64>,
    curve_length: f64,
    /// Triangle: x_0, x_1 − x_0, x_2 − x_0.
    tri: [Vec<f64>; 3],
}

/// Per-thread working memory: one network's weights and biases.
#[derive(Debug, Clone, Default)]
pub struct GeometryScratch {
    /// Standardized weights Ŵ^l, row-major n_l x n_{l-1}, index l − 1.
    w: Vec<Vec<f64>>,
    /// Standardized biases β^l, index l − 1 (empty when C_b = 0).
    b: Vec<Vec<f64>>,
    net: Option<u64>,
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn invalid(msg: String) -> SamplerError {
    SamplerError::Spec(SpecError::Invalid(msg))
}

impl GeometryEngine {
    /// Validates the problem for the requested geometry observables (the other observables of
    /// `problem.observe` are ignored: other engines compute them).
    pub fn new(problem: &Problem) -> Result<Self, SamplerError> {
        problem.validate()?;
        let spec = &problem.spec;
        let observe = problem.observe.only_geometry();
        let names = observe.geometry_names();
        if names.is_empty() {
            return Err(invalid(
                "the geometry engine needs length_distortion, regions or patterns".into(),
            ));
        }
        let widths = spec.layer_widths();
        let depth = spec.depth();
        let mut acts = vec![LayerActivation::Slopes(1.0, 1.0)];
        let mut slopes = vec![(1.0, 1.0)];
        for &n in &spec.hidden {
            acts.push(LayerActivation::resolve(spec, n));
            slopes.push(spec.activation.slopes(n).unwrap_or((f64::NAN, f64::NAN)));
        }
        let piecewise_linear = spec.activation.is_piecewise_linear();
        if (observe.regions || observe.patterns) && !piecewise_linear {
            return Err(SamplerError::Unsupported(format!(
                "regions and patterns need a piecewise-linear activation (relu, leaky-relu, \
                 linear, shaped-relu), not {}",
                spec.activation
            )));
        }
        let k = problem.inputs.len();
        let xs = &problem.inputs;
        let n0 = spec.input_dim;
        let (mut c0, mut c1, mut curve_length) = (vec![0.0; n0], vec![0.0; n0], 0.0);
        if observe.length_distortion || observe.regions {
            if k < 2 {
                return Err(invalid(format!(
                    "length_distortion and regions need at least 2 inputs (the curve goes \
                     through x_0 and x_1), got {k}"
                )));
            }
            match observe.curve {
                Curve::Segment => {
                    c0 = xs[0].clone();
                    c1 = xs[1].iter().zip(&xs[0]).map(|(a, b)| a - b).collect();
                    curve_length = norm(&c1);
                    if curve_length == 0.0 {
                        return Err(invalid(
                            "the segment from x_0 to x_1 has length 0 (x_0 = x_1)".into(),
                        ));
                    }
                }
                Curve::Circle => {
                    let r = norm(&xs[0]);
                    if r == 0.0 {
                        return Err(invalid("the circle needs x_0 != 0 (its radius)".into()));
                    }
                    let e1: Vec<f64> = xs[0].iter().map(|v| v / r).collect();
                    let p = dot(&xs[1], &e1);
                    let perp: Vec<f64> = xs[1].iter().zip(&e1).map(|(a, e)| a - p * e).collect();
                    let q = norm(&perp);
                    if q <= 1e-12 * norm(&xs[1]).max(f64::MIN_POSITIVE) {
                        return Err(invalid(
                            "the circle needs x_0 and x_1 linearly independent (they span its \
                             plane)"
                                .into(),
                        ));
                    }
                    c0 = e1.iter().map(|e| r * e).collect();
                    c1 = perp.iter().map(|v| r * v / q).collect();
                    curve_length = TAU * r;
                }
            }
        }
        let mut tri = [vec![0.0; n0], vec![0.0; n0], vec![0.0; n0]];
        if observe.patterns {
            if k < 3 {
                return Err(invalid(format!(
                    "patterns needs at least 3 inputs (the triangle x_0, x_1, x_2), got {k}"
                )));
            }
            let d1: Vec<f64> = xs[1].iter().zip(&xs[0]).map(|(a, b)| a - b).collect();
            let d2: Vec<f64> = xs[2].iter().zip(&xs[0]).map(|(a, b)| a - b).collect();
            let (g11, g12, g22) = (dot(&d1, &d1), dot(&d1, &d2), dot(&d2, &d2));
            if g11 * g22 - g12 * g12 <= 1e-24 * g11 * g22 || g11 == 0.0 || g22 == 0.0 {
                return Err(invalid(
                    "patterns needs a triangle of positive area (x_0, x_1, x_2 affinely \
                     independent)"
                        .into(),
                ));
            }
            tri = [xs[0].clone(), d1, d2];
        }
        let weight_bytes: usize = widths.windows(2).map(|w| w[0] * w[1] * 8).sum();
        if weight_bytes > GEOMETRY_WEIGHT_BYTES {
            return Err(SamplerError::TooLarge(format!(
                "the geometry engine keeps one network's weights per thread: {} MiB is more than \
                 its {} MiB budget",
                weight_bytes >> 20,
                GEOMETRY_WEIGHT_BYTES >> 20
            )));
        }
        let neurons: usize = spec.hidden.iter().sum();
        let _ = depth;
        Ok(GeometryEngine {
            problem: problem.clone(),
            widths,
            acts,
            slopes,
            observe,
            names,
            piecewise_linear,
            patterns_method: if neurons <= PATTERNS_EXACT_MAX_NEURONS {
                PatternsMethod::Exact
            } else {
                PatternsMethod::Grid
            },
            c0,
            c1,
            x1: if k >= 2 { xs[1].clone() } else { Vec::new() },
            curve_length,
            tri,
        })
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Values per network: one per requested geometry observable.
    pub fn n_values(&self) -> usize {
        self.names.len()
    }

    /// The geometry observable names, in the order [`GeometryEngine::sample`] writes them
    /// (a subset of "length_distortion", "regions", "patterns", in that order).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// "exact" for piecewise-linear activations, "polyline" otherwise.
    pub fn curve_method(&self) -> &'static str {
        if self.piecewise_linear {
            "exact"
        } else {
            "polyline"
        }
    }

    pub fn patterns_method(&self) -> PatternsMethod {
        self.patterns_method
    }

    /// (observable name, method) for every requested observable.
    pub fn methods(&self) -> Vec<(String, &'static str)> {
        self.names
            .iter()
            .map(|n| {
                let m = if n == "patterns" {
                    self.patterns_method.name()
                } else {
                    self.curve_method()
                };
                (n.clone(), m)
            })
            .collect()
    }

    /// Length of γ.
    pub fn curve_length(&self) -> f64 {
        self.curve_length
    }

    pub fn scratch(&self) -> GeometryScratch {
        let l = self.widths.len() - 1;
        GeometryScratch {
            w: self
                .widths
                .windows(2)
                .map(|w| vec![0.0; w[0] * w[1]])
                .collect(),
            b: if self.problem.spec.cb > 0.0 {
                self.widths[1..].iter().map(|&n| vec![0.0; n]).collect()
            } else {
                vec![Vec::new(); l]
            },
            net: None,
        }
    }

    /// Draws the weights of network `net` into the scratch (the dense engine's stream rows).
    pub fn load(&self, net: u64, s: &mut GeometryScratch) {
        if s.net == Some(net) {
            return;
        }
        let spec = &self.problem.spec;
        // The network's Philox key and counter word c0 (stream::network_key: 64-bit indices).
        let (key, net32) = network_stream(self.problem.seed, net);
        for l in 1..self.widths.len() {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            let w = &mut s.w[l - 1];
            for i in 0..n_out {
                fill_row(
                    key,
                    net32,
                    tag(Purpose::Weight, l as u32),
                    i as u32,
                    spec.weights,
                    &mut w[i * n_in..(i + 1) * n_in],
                );
            }
            if spec.cb > 0.0 {
                fill_row(
                    key,
                    net32,
                    tag(Purpose::Bias, l as u32),
                    0,
                    WeightLaw::Gaussian,
                    &mut s.b[l - 1],
                );
            }
        }
        s.net = Some(net);
    }

    /// Writes the values of network `net` in [`GeometryEngine::names`] order. A value that
    /// cannot be computed (overflow, a polyline that does not converge) is NaN.
    pub fn sample(&self, net: u64, s: &mut GeometryScratch, out: &mut [f64]) {
        self.load(net, s);
        let mut o = 0;
        if self.observe.length_distortion || self.observe.regions {
            let (len, regions) = if self.piecewise_linear {
                let tr = self.trace_loaded(s);
                (tr.length / tr.curve_length, tr.regions as f64)
            } else {
                (self.polyline_length_loaded(s) / self.curve_length, f64::NAN)
            };
            if self.observe.length_distortion {
                out[o] = len;
                o += 1;
            }
            if self.observe.regions {
                out[o] = regions;
                o += 1;
            }
        }
        if self.observe.patterns {
            out[o] = match self.patterns_method {
                PatternsMethod::Exact => self.patterns_exact_loaded(s, &mut |_| {}) as f64,
                PatternsMethod::Grid => self.patterns_grid_loaded(s, PATTERNS_GRID) as f64,
            };
            o += 1;
        }
        debug_assert_eq!(o, out.len());
    }

    // ------------------------------------------------------------------ layers

    /// One layer on `cols` columns (column-major, `[c * n + i]`). Columns are grouped in blocks
    /// of `stride`; the bias enters only column `bias_col` of each block (the constant term of a
    /// coefficient representation; `stride = 1` for point values). `prev` is z^{l−1} in the same
    /// layout for residual layers.
    #[allow(clippy::too_many_arguments)]
    fn layer(
        &self,
        l: usize,
        s: &GeometryScratch,
        input: &[f64],
        cols: usize,
        stride: usize,
        bias_col: usize,
        prev: &[f64],
        out: &mut Vec<f64>,
    ) {
        let spec = &self.problem.spec;
        let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
        let scale = (spec.cw / n_in as f64).sqrt();
        let residual = spec.is_residual_layer(l);
        let branch = if residual {
            spec.residual_alpha().unwrap_or(1.0)
        } else {
            1.0
        };
        let sqrt_cb = spec.cb.sqrt();
        let w = &s.w[l - 1];
        out.clear();
        out.resize(n_out * cols, 0.0);
        for c in 0..cols {
            let x = &input[c * n_in..(c + 1) * n_in];
            let with_bias = spec.cb > 0.0 && c % stride == bias_col;
            let o = &mut out[c * n_out..(c + 1) * n_out];
            for (i, oi) in o.iter_mut().enumerate() {
                let acc = dot(&w[i * n_in..(i + 1) * n_in], x);
                let bias = if with_bias {
                    sqrt_cb * s.b[l - 1][i]
                } else {
                    0.0
                };
                *oi = branch * (scale * acc + bias);
            }
            if residual {
                for (oi, p) in o.iter_mut().zip(&prev[c * n_out..(c + 1) * n_out]) {
                    *oi += p;
                }
            }
        }
    }

    fn kinked(&self, l: usize) -> bool {
        let (p, m) = self.slopes[l];
        p != m
    }

    /// Point on the curve at parameter `u` (t or θ).
    fn curve_point(&self, u: f64, out: &mut [f64]) {
        match self.observe.curve {
            Curve::Segment => {
                if u == 1.0 {
                    out.copy_from_slice(&self.x1);
                } else {
                    for ((o, a), d) in out.iter_mut().zip(&self.c0).zip(&self.c1) {
                        *o = a + u * d;
                    }
                }
            }
            Curve::Circle => {
                let (sn, cs) = u.sin_cos();
                for ((o, a), b) in out.iter_mut().zip(&self.c0).zip(&self.c1) {
                    *o = cs * a + sn * b;
                }
            }
        }
    }

    /// f at the curve points `params` (n_out values each, row-major).
    fn forward_curve(&self, s: &GeometryScratch, params: &[f64]) -> Vec<f64> {
        let n0 = self.widths[0];
        let mut a = vec![0.0; params.len() * n0];
        for (c, &u) in params.iter().enumerate() {
            self.curve_point(u, &mut a[c * n0..(c + 1) * n0]);
        }
        self.forward_points(s, a, params.len())
    }

    fn forward_points(&self, s: &GeometryScratch, mut a: Vec<f64>, cols: usize) -> Vec<f64> {
        let depth = self.problem.spec.depth();
        let mut z = Vec::new();
        let mut z_prev = Vec::new();
        for l in 1..=depth + 1 {
            self.layer(l, s, &a, cols, 1, 0, &z_prev, &mut z);
            if l <= depth {
                let act = self.acts[l];
                a.clear();
                a.extend(z.iter().map(|&v| act.eval(v).0));
                std::mem::swap(&mut z, &mut z_prev);
            }
        }
        z
    }

    /// Activation pattern of network `net` at input `x`: one bool (`z > 0`) per hidden unit,
    /// layer after layer (all hidden units, kinked or not).
    pub fn pattern_at(&self, net: u64, s: &mut GeometryScratch, x: &[f64]) -> Vec<bool> {
        self.load(net, s);
        let depth = self.problem.spec.depth();
        let mut a = x.to_vec();
        let mut z = Vec::new();
        let mut z_prev = Vec::new();
        let mut pat = Vec::new();
        for l in 1..=depth {
            self.layer(l, s, &a, 1, 1, 0, &z_prev, &mut z);
            pat.extend(z.iter().map(|&v| v > 0.0));
            let act = self.acts[l];
            a.clear();
            a.extend(z.iter().map(|&v| act.eval(v).0));
            std::mem::swap(&mut z, &mut z_prev);
        }
        pat
    }

    /// f(x) of network `net` (all n_out readout units).
    pub fn output_at(&self, net: u64, s: &mut GeometryScratch, x: &[f64]) -> Vec<f64> {
        self.load(net, s);
        self.forward_points(s, x.to_vec(), 1)
    }

    // ------------------------------------------------------------------ exact curves

    /// The exact trace of network `net` along the curve (piecewise-linear activations only).
    pub fn curve_trace(
        &self,
        net: u64,
        s: &mut GeometryScratch,
    ) -> Result<CurveTrace, SamplerError> {
        if !self.piecewise_linear {
            return Err(SamplerError::Unsupported(
                "the exact curve trace needs a piecewise-linear activation".into(),
            ));
        }
        if self.curve_length == 0.0 {
            return Err(invalid(
                "no curve: request length_distortion or regions".into(),
            ));
        }
        self.load(net, s);
        Ok(self.trace_loaded(s))
    }

    fn trace_loaded(&self, s: &GeometryScratch) -> CurveTrace {
        match self.observe.curve {
            Curve::Segment => self.trace_segment(s),
            Curve::Circle => self.trace_circle(s),
        }
    }

    fn trace_segment(&self, s: &GeometryScratch) -> CurveTrace {
        let depth = self.problem.spec.depth();
        let n0 = self.widths[0];
        let mut ts = vec![0.0, 1.0];
        let mut a = Vec::with_capacity(2 * n0);
        a.extend_from_slice(&self.c0);
        a.extend_from_slice(&self.x1);
        let mut z = Vec::new();
        let mut z_prev = Vec::new();
        let mut roots: Vec<f64> = Vec::new();
        let (mut new_ts, mut new_z) = (Vec::new(), Vec::new());
        for l in 1..=depth + 1 {
            self.layer(l, s, &a, ts.len(), 1, 0, &z_prev, &mut z);
            if l > depth {
                break;
            }
            let n = self.widths[l];
            if self.kinked(l) {
                new_ts.clear();
                new_z.clear();
                for k in 0..ts.len() - 1 {
                    let (ta, tb) = (ts[k], ts[k + 1]);
                    let za = &z[k * n..(k + 1) * n];
                    let zb = &z[(k + 1) * n..(k + 2) * n];
                    new_ts.push(ta);
                    new_z.extend_from_slice(za);
                    roots.clear();
                    for (&va, &vb) in za.iter().zip(zb) {
                        if va * vb < 0.0 {
                            roots.push(va / (va - vb));
                        }
                    }
                    roots.sort_by(|x, y| x.partial_cmp(y).unwrap());
                    let mut last = ta;
                    for &u in roots.iter() {
                        let t = ta + u * (tb - ta);
                        if !(t > last && t < tb) {
                            continue; // coincident roots (or rounding at an end)
                        }
                        last = t;
                        new_ts.push(t);
                        new_z.extend(za.iter().zip(zb).map(|(&va, &vb)| va + u * (vb - va)));
                    }
                }
                new_ts.push(*ts.last().unwrap());
                new_z.extend_from_slice(&z[(ts.len() - 1) * n..]);
                std::mem::swap(&mut ts, &mut new_ts);
                std::mem::swap(&mut z, &mut new_z);
            }
            let act = self.acts[l];
            a.clear();
            a.extend(z.iter().map(|&v| act.eval(v).0));
            std::mem::swap(&mut z, &mut z_prev);
        }
        let nout = self.widths[depth + 1];
        let mut length = 0.0;
        for k in 0..ts.len() - 1 {
            let mut d2 = 0.0;
            for j in 0..nout {
                let d = z[(k + 1) * nout + j] - z[k * nout + j];
                d2 += d * d;
            }
            length += d2.sqrt();
        }
        CurveTrace {
            regions: ts.len() - 1,
            breakpoints: ts,
            values: z,
            length,
            curve_length: self.curve_length,
        }
    }

    fn trace_circle(&self, s: &GeometryScratch) -> CurveTrace {
        let depth = self.problem.spec.depth();
        let n0 = self.widths[0];
        // Coefficient blocks per piece: [cos, sin, const], each a column of length n.
        let mut th = vec![0.0, TAU];
        let mut a = vec![0.0; 3 * n0];
        a[..n0].copy_from_slice(&self.c0);
        a[n0..2 * n0].copy_from_slice(&self.c1);
        let mut z = Vec::new();
        let mut z_prev = Vec::new();
        let mut roots: Vec<f64> = Vec::new();
        let (mut new_th, mut new_z) = (Vec::new(), Vec::new());
        for l in 1..=depth + 1 {
            let pieces = th.len() - 1;
            self.layer(l, s, &a, 3 * pieces, 3, 2, &z_prev, &mut z);
            if l > depth {
                break;
            }
            let n = self.widths[l];
            if self.kinked(l) {
                new_th.clear();
                new_z.clear();
                for k in 0..pieces {
                    let (ta, tb) = (th[k], th[k + 1]);
                    let blk = &z[3 * k * n..3 * (k + 1) * n];
                    roots.clear();
                    for i in 0..n {
                        let (ca, sa, cc) = (blk[i], blk[n + i], blk[2 * n + i]);
                        let r = ca.hypot(sa);
                        if r.is_nan() || r <= cc.abs() {
                            continue; // no zero, or a tangency (measure zero)
                        }
                        let phi = sa.atan2(ca);
                        let d = (-cc / r).acos();
                        for root in [phi + d, phi - d] {
                            let t = root.rem_euclid(TAU);
                            if t > ta && t < tb {
                                roots.push(t);
                            }
                        }
                    }
                    roots.sort_by(|x, y| x.partial_cmp(y).unwrap());
                    new_th.push(ta);
                    new_z.extend_from_slice(blk);
                    let mut last = ta;
                    for &t in roots.iter() {
                        if t > last && t < tb {
                            last = t;
                            new_th.push(t);
                            new_z.extend_from_slice(blk);
                        }
                    }
                }
                new_th.push(TAU);
                std::mem::swap(&mut th, &mut new_th);
                std::mem::swap(&mut z, &mut new_z);
            }
            // a^l on each piece: slope of the unit's sign at the piece's mid-angle.
            let (p, m) = self.slopes[l];
            a.clear();
            a.resize(z.len(), 0.0);
            for k in 0..th.len() - 1 {
                let mid = 0.5 * (th[k] + th[k + 1]);
                let (sn, cs) = mid.sin_cos();
                let blk = &z[3 * k * n..3 * (k + 1) * n];
                let ab = &mut a[3 * k * n..3 * (k + 1) * n];
                for i in 0..n {
                    let v = cs * blk[i] + sn * blk[n + i] + blk[2 * n + i];
                    let sl = if v > 0.0 { p } else { m };
                    ab[i] = sl * blk[i];
                    ab[n + i] = sl * blk[n + i];
                    ab[2 * n + i] = sl * blk[2 * n + i];
                }
            }
            std::mem::swap(&mut z, &mut z_prev);
        }
        let nout = self.widths[depth + 1];
        let pieces = th.len() - 1;
        let mut length = 0.0;
        for k in 0..pieces {
            let blk = &z[3 * k * nout..3 * (k + 1) * nout];
            length += arc_length(blk, nout, th[k], th[k + 1]);
        }
        let mut values = Vec::with_capacity((pieces + 1) * nout);
        for (k, &t) in th.iter().enumerate() {
            let kk = k.min(pieces - 1);
            let blk = &z[3 * kk * nout..3 * (kk + 1) * nout];
            let (sn, cs) = t.sin_cos();
            values.extend((0..nout).map(|j| cs * blk[j] + sn * blk[nout + j] + blk[2 * nout + j]));
        }
        CurveTrace {
            regions: (pieces - 1).max(1),
            breakpoints: th,
            values,
            length,
            curve_length: self.curve_length,
        }
    }

    // ------------------------------------------------------------------ polylines

    /// Length of f(γ) by adaptively refined polylines (any activation); NaN when it does not
    /// converge within [`POLYLINE_MAX_POINTS`] vertices.
    pub fn polyline_length(&self, net: u64, s: &mut GeometryScratch) -> f64 {
        self.load(net, s);
        self.polyline_length_loaded(s)
    }

    fn polyline_length_loaded(&self, s: &GeometryScratch) -> f64 {
        let nout = self.widths[self.widths.len() - 1];
        let end = match self.observe.curve {
            Curve::Segment => 1.0,
            Curve::Circle => TAU,
        };
        let m0 = POLYLINE_START;
        let mut params: Vec<f64> = (0..=m0).map(|j| end * j as f64 / m0 as f64).collect();
        let mut fv = self.forward_curve(s, &params);
        let dist = |x: &[f64], y: &[f64]| -> f64 {
            x.iter()
                .zip(y)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt()
        };
        let mut length: f64 = (0..m0)
            .map(|k| {
                dist(
                    &fv[k * nout..(k + 1) * nout],
                    &fv[(k + 1) * nout..(k + 2) * nout],
                )
            })
            .sum();
        let mut active = vec![true; m0];
        loop {
            if !length.is_finite() {
                return f64::NAN;
            }
            let mids: Vec<f64> = (0..params.len() - 1)
                .filter(|&k| active[k])
                .map(|k| 0.5 * (params[k] + params[k + 1]))
                .collect();
            if mids.is_empty() {
                return length;
            }
            if params.len() + mids.len() > POLYLINE_MAX_POINTS {
                return f64::NAN;
            }
            let fm = self.forward_curve(s, &mids);
            let mut gains = Vec::with_capacity(mids.len());
            let mut j = 0;
            for k in 0..params.len() - 1 {
                if active[k] {
                    let fa = &fv[k * nout..(k + 1) * nout];
                    let fb = &fv[(k + 1) * nout..(k + 2) * nout];
                    let m = &fm[j * nout..(j + 1) * nout];
                    gains.push((dist(fa, m) + dist(m, fb) - dist(fa, fb)).max(0.0));
                    j += 1;
                }
            }
            let total: f64 = gains.iter().sum();
            length += total;
            let intervals = params.len() - 1 + mids.len();
            let thr = 0.1 * POLYLINE_RTOL * length / intervals as f64;
            let (mut np, mut nf, mut na) = (Vec::new(), Vec::new(), Vec::new());
            let mut j = 0;
            for k in 0..params.len() - 1 {
                np.push(params[k]);
                nf.extend_from_slice(&fv[k * nout..(k + 1) * nout]);
                if active[k] {
                    let keep = gains[j] > thr;
                    np.push(mids[j]);
                    nf.extend_from_slice(&fm[j * nout..(j + 1) * nout]);
                    na.push(keep);
                    na.push(keep);
                    j += 1;
                } else {
                    na.push(false);
                }
            }
            np.push(*params.last().unwrap());
            nf.extend_from_slice(&fv[(params.len() - 1) * nout..]);
            params = np;
            fv = nf;
            active = na;
            if total <= POLYLINE_RTOL * length {
                return length;
            }
        }
    }

    // ------------------------------------------------------------------ patterns

    /// Exact number of activation patterns over the triangle of network `net`; `leaf` is called
    /// with the vertices (in the triangle's (s, t) coordinates, x = x_0 + s (x_1 − x_0) +
    /// t (x_2 − x_0)) of every final region.
    pub fn patterns_exact(
        &self,
        net: u64,
        s: &mut GeometryScratch,
        leaf: &mut dyn FnMut(&[[f64; 2]]),
    ) -> usize {
        self.load(net, s);
        self.patterns_exact_loaded(s, leaf)
    }

    /// Distinct activation patterns at the centroids of the `m`² sub-triangles of the uniform
    /// subdivision of the triangle (a lower bound of the exact count).
    pub fn patterns_grid(&self, net: u64, s: &mut GeometryScratch, m: usize) -> usize {
        self.load(net, s);
        self.patterns_grid_loaded(s, m)
    }

    fn patterns_exact_loaded(
        &self,
        s: &GeometryScratch,
        leaf: &mut dyn FnMut(&[[f64; 2]]),
    ) -> usize {
        let n0 = self.widths[0];
        let mut a = vec![0.0; 3 * n0];
        for (j, v) in self.tri.iter().enumerate() {
            a[j * n0..(j + 1) * n0].copy_from_slice(v);
        }
        let tri = vec![[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]];
        self.split_rec(s, 1, &tri, &a, &[], leaf)
    }

    /// Depth-first: splits `poly` (on which a^{l−1} = a, coefficient blocks [const, s, t]) by the
    /// zero lines of the units of layer l and recurses; returns the number of final regions.
    fn split_rec(
        &self,
        s: &GeometryScratch,
        l: usize,
        poly: &[[f64; 2]],
        a: &[f64],
        z_prev: &[f64],
        leaf: &mut dyn FnMut(&[[f64; 2]]),
    ) -> usize {
        let depth = self.problem.spec.depth();
        if l > depth {
            leaf(poly);
            return 1;
        }
        let n = self.widths[l];
        let mut z = Vec::new();
        self.layer(l, s, a, 3, 3, 0, z_prev, &mut z);
        let words = n.div_ceil(64);
        // (vertices, sign bits of layer l)
        let mut list: Vec<(Vec<[f64; 2]>, Vec<u64>)> = vec![(poly.to_vec(), vec![0; words])];
        if self.kinked(l) {
            let mut next = Vec::new();
            let mut vals = Vec::new();
            for i in 0..n {
                let (c, ds, dt) = (z[i], z[n + i], z[2 * n + i]);
                let eps = 1e-12 * (c.abs() + ds.abs() + dt.abs());
                next.clear();
                for (verts, bits) in list.drain(..) {
                    vals.clear();
                    vals.extend(verts.iter().map(|v| c + ds * v[0] + dt * v[1]));
                    let pos = vals.iter().any(|&v| v > eps);
                    let neg = vals.iter().any(|&v| v < -eps);
                    if pos && neg {
                        let (pv, nv) = clip(&verts, &vals, eps);
                        let mut pb = bits.clone();
                        pb[i / 64] |= 1 << (i % 64);
                        next.push((pv, pb));
                        next.push((nv, bits));
                    } else {
                        let mut b = bits;
                        if pos {
                            b[i / 64] |= 1 << (i % 64);
                        }
                        next.push((verts, b));
                    }
                }
                std::mem::swap(&mut list, &mut next);
            }
        } else {
            // No kink: the sign does not change the map; mark all positive (slope p = m).
            for w in list[0].1.iter_mut() {
                *w = u64::MAX;
            }
        }
        let (p, m) = self.slopes[l];
        let mut an = vec![0.0; 3 * n];
        let mut count = 0;
        for (verts, bits) in &list {
            for i in 0..n {
                let sl = if bits[i / 64] >> (i % 64) & 1 == 1 {
                    p
                } else {
                    m
                };
                an[i] = sl * z[i];
                an[n + i] = sl * z[n + i];
                an[2 * n + i] = sl * z[2 * n + i];
            }
            count += self.split_rec(s, l + 1, verts, &an, &z, leaf);
        }
        count
    }

    fn patterns_grid_loaded(&self, s: &GeometryScratch, m: usize) -> usize {
        let depth = self.problem.spec.depth();
        let n0 = self.widths[0];
        let mf = m as f64;
        let mut pts: Vec<[f64; 2]> = Vec::with_capacity(m * m);
        for i in 0..m {
            for j in 0..m - i {
                pts.push([(i as f64 + 1.0 / 3.0) / mf, (j as f64 + 1.0 / 3.0) / mf]);
                if i + j + 1 < m {
                    pts.push([(i as f64 + 2.0 / 3.0) / mf, (j as f64 + 2.0 / 3.0) / mf]);
                }
            }
        }
        let mut seen: HashSet<(u64, u64)> = HashSet::new();
        const CHUNK: usize = 256;
        let mut z = Vec::new();
        let mut z_prev = Vec::new();
        for chunk in pts.chunks(CHUNK) {
            let cols = chunk.len();
            let mut a = vec![0.0; cols * n0];
            for (c, p) in chunk.iter().enumerate() {
                for j in 0..n0 {
                    a[c * n0 + j] = self.tri[0][j] + p[0] * self.tri[1][j] + p[1] * self.tri[2][j];
                }
            }
            let mut h = vec![(0x9E37_79B9_7F4A_7C15u64, 0xD1B5_4A32_D192_ED03u64); cols];
            z_prev.clear();
            for l in 1..=depth {
                self.layer(l, s, &a, cols, 1, 0, &z_prev, &mut z);
                let n = self.widths[l];
                let act = self.acts[l];
                if self.kinked(l) {
                    for (c, hc) in h.iter_mut().enumerate() {
                        for w in z[c * n..(c + 1) * n].chunks(64) {
                            let mut bits = 0u64;
                            for (b, &v) in w.iter().enumerate() {
                                if v > 0.0 {
                                    bits |= 1 << b;
                                }
                            }
                            hc.0 = mix(hc.0 ^ bits);
                            hc.1 = mix(hc.1.wrapping_add(bits).rotate_left(17));
                        }
                    }
                }
                a.clear();
                a.extend(z.iter().map(|&v| act.eval(v).0));
                std::mem::swap(&mut z, &mut z_prev);
            }
            seen.extend(h);
        }
        seen.len()
    }
}

/// SplitMix64's finalizer.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Splits a convex polygon by the line where the affine function with vertex values `vals` is 0;
/// vertices with |value| <= eps lie on the line and go to both sides.
fn clip(verts: &[[f64; 2]], vals: &[f64], eps: f64) -> (Vec<[f64; 2]>, Vec<[f64; 2]>) {
    let side = |v: f64| -> i8 {
        if v > eps {
            1
        } else if v < -eps {
            -1
        } else {
            0
        }
    };
    let mut pos = Vec::with_capacity(verts.len() + 1);
    let mut neg = Vec::with_capacity(verts.len() + 1);
    let k = verts.len();
    for j in 0..k {
        let (p, vp) = (verts[j], vals[j]);
        let (q, vq) = (verts[(j + 1) % k], vals[(j + 1) % k]);
        let (sp, sq) = (side(vp), side(vq));
        if sp >= 0 {
            pos.push(p);
        }
        if sp <= 0 {
            neg.push(p);
        }
        if sp * sq < 0 {
            let u = vp / (vp - vq);
            let x = [p[0] + u * (q[0] - p[0]), p[1] + u * (q[1] - p[1])];
            pos.push(x);
            neg.push(x);
        }
    }
    (pos, neg)
}

/// Length of θ ↦ A cos θ + B sin θ + C on [ta, tb] (blocks [A, B, C] of `nout` values each):
/// exact for one unit (total variation between the critical points), adaptive Gauss–Legendre
/// quadrature of the speed ‖−A sin θ + B cos θ‖ otherwise.
fn arc_length(blk: &[f64], nout: usize, ta: f64, tb: f64) -> f64 {
    if nout == 1 {
        let (a, b, c) = (blk[0], blk[1], blk[2]);
        let f = |t: f64| a * t.cos() + b * t.sin() + c;
        // f' = 0 at θ = atan2(b, a) + kπ.
        let phi = b.atan2(a);
        let mut pts = vec![ta];
        let mut k = ((ta - phi) / PI).floor() - 1.0;
        loop {
            let t = phi + k * PI;
            if t >= tb {
                break;
            }
            if t > ta {
                pts.push(t);
            }
            k += 1.0;
        }
        pts.push(tb);
        return pts.windows(2).map(|w| (f(w[1]) - f(w[0])).abs()).sum();
    }
    let speed = |t: f64| -> f64 {
        let (sn, cs) = t.sin_cos();
        (0..nout)
            .map(|j| {
                let v = -sn * blk[j] + cs * blk[nout + j];
                v * v
            })
            .sum::<f64>()
            .sqrt()
    };
    let scale = (0..2 * nout).map(|j| blk[j] * blk[j]).sum::<f64>().sqrt();
    let tol = ARC_QUAD_RTOL * scale.max(f64::MIN_POSITIVE) * (tb - ta);
    adaptive_gl(&speed, ta, tb, tol, 0)
}

const GL7_X: [f64; 7] = [
    -0.949_107_912_342_758_5,
    -0.741_531_185_599_394_4,
    -0.405_845_151_377_397_2,
    0.0,
    0.405_845_151_377_397_2,
    0.741_531_185_599_394_4,
    0.949_107_912_342_758_5,
];
const GL7_W: [f64; 7] = [
    0.129_484_966_168_869_7,
    0.279_705_391_489_276_7,
    0.381_830_050_505_118_9,
    0.417_959_183_673_469_4,
    0.381_830_050_505_118_9,
    0.279_705_391_489_276_7,
    0.129_484_966_168_869_7,
];

fn gl7(f: &dyn Fn(f64) -> f64, a: f64, b: f64) -> f64 {
    let (m, h) = (0.5 * (a + b), 0.5 * (b - a));
    h * GL7_X
        .iter()
        .zip(GL7_W)
        .map(|(x, w)| w * f(m + h * x))
        .sum::<f64>()
}

fn adaptive_gl(f: &dyn Fn(f64) -> f64, a: f64, b: f64, tol: f64, depth: u32) -> f64 {
    let whole = gl7(f, a, b);
    let m = 0.5 * (a + b);
    let halves = gl7(f, a, m) + gl7(f, m, b);
    if (whole - halves).abs() <= tol || depth >= 40 {
        return halves;
    }
    adaptive_gl(f, a, m, 0.5 * tol, depth + 1) + adaptive_gl(f, m, b, 0.5 * tol, depth + 1)
}

impl crate::NetworkEngine for GeometryEngine {
    type Scratch = GeometryScratch;
    fn build(problem: &Problem) -> Result<Self, SamplerError> {
        GeometryEngine::new(problem)
    }
    fn n_values(&self) -> usize {
        GeometryEngine::n_values(self)
    }
    fn scratch(&self) -> GeometryScratch {
        GeometryEngine::scratch(self)
    }
    fn sample(&self, net: u64, scratch: &mut GeometryScratch, out: &mut [f64]) {
        GeometryEngine::sample(self, net, scratch, out)
    }
    /// One network per task: the cost grows with a network's number of regions.
    fn max_task_len(&self) -> usize {
        1
    }

    /// "exact" when every requested value is exact, "polyline" for the length of smooth
    /// activations, "grid" when `patterns` is estimated on the grid (and "polyline+grid" for
    /// both; per-observable methods: [`GeometryEngine::methods`]).
    fn method(&self) -> &'static str {
        let poly = (self.observe.length_distortion) && !self.piecewise_linear;
        let grid = self.observe.patterns && self.patterns_method == PatternsMethod::Grid;
        match (poly, grid) {
            (false, false) => "exact",
            (true, false) => "polyline",
            (false, true) => "grid",
            (true, true) => "polyline+grid",
        }
    }
}

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
//! - **Grid estimates** (`grid`, the GPU geometry engine and its CPU twin
//!   [`GeometryEngine::grid_counts`]): `patterns` as distinct hashed sign patterns at the same
//!   centroids and `regions` as pattern changes between neighbours of [`REGIONS_GRID`] points on
//!   the curve, both lower bounds (docs/geometry.md, "Grid estimates on the GPU").
//!
//! Layout: this file holds the constants and the public types; `engine` builds and validates
//! the engine and draws the networks, `forward` evaluates layers and points, `trace` traces
//! segments and circles exactly, `polyline` measures smooth curves, `patterns` counts
//! activation patterns over the triangle, `clip` splits polygons and `quadrature` holds the
//! arc-length quadrature.

mod clip;
mod engine;
pub use engine::{GeometryCpu, GEOMETRY};
mod forward;
mod grid;
pub use grid::{
    curve_grid, distinct, hash_word, regions_from_hashes, triangle_grid, GridCounts, HASH_INIT,
    HASH_KEY, REGIONS_GRID,
};
mod patterns;
mod polyline;
mod quadrature;
mod trace;

use crate::activation::LayerActivation;
use crate::{Problem, SamplerError};
use randnet_problem::{Observe, SpecError};

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

//! Grid lower bounds of `patterns` and `regions` by hashed sign patterns: the CPU twin of the GPU
//! geometry kernel (shaders/geometry.wgsl, docs/geometry.md "Grid estimates on the GPU").
//!
//! The same grid points, the same first-layer factorization and the same 64-bit hash as the
//! kernel, in f64: the kernel's counts differ from these only where a point lies within f32
//! rounding of some unit's zero (crates/sampler/tests/gpu_geometry.rs states the tolerance).
//!
//! - Points of the triangle: the centroids of the [`PATTERNS_GRID`]² sub-triangles, in the order
//!   of [`GeometryEngine::patterns_grid`]; `patterns` (grid) = the number of distinct hashes.
//! - Points of the curve: [`REGIONS_GRID`] points, `t_k = k / (G − 1)` on the segment (both ends
//!   included), `θ_k = 2π k / G` on the circle; `regions` (grid) = 1 + the number of adjacent
//!   pairs whose hashes differ (segment), max(that number over the closed curve, 1) (circle).
//!   Both are lower bounds of the exact counts: two points with different patterns are separated
//!   by at least one breakpoint (or lie in different regions).
//! - First layer: z¹ = C₀ + u C₁ + v C₂ with per-network columns (triangle: C₀ = g(x₀) + b,
//!   C₁ = g(x₁ − x₀), C₂ = g(x₂ − x₀), (u, v) = (s, t); segment: C₀ = g(x₀) + b, C₁ =
//!   g(x₁ − x₀), C₂ = 0, (u, v) = (t, 0); circle: C₀ = b, C₁ = g(r e₁), C₂ = g(r e₂),
//!   (u, v) = (cos θ, sin θ)), g(x) = √(C_W/n₀) Ŵ¹ x and b = √C_b β¹: layer 1 costs O(n₁ n₀)
//!   per network instead of per point, which matters when n₀ is large.
//! - Hash: the hidden units' signs (z > 0) of every layer with a kink, 32 units per word (bit b
//!   of word w is unit 32 w + b), layers in order, words in order; each word enters the state
//!   (h₀, h₁) as `(h₀, h₁) ← Philox4x32-10([h₀, h₁, bits, l << 16 | w], HASH_KEY)[0..2]`.
//!   Philox is a bijection of its 128-bit counter, so the state is a 64-bit pseudorandom
//!   function of the pattern: P(some collision among 16 384 points) ≈ 16384²/2⁶⁵ ≈ 7e-12.

use super::{GeometryEngine, GeometryScratch, PATTERNS_GRID};
use crate::dense::dot;
use crate::philox::philox4x32_10;
use randnet_problem::{Curve, Primitive};
use std::f64::consts::TAU;

/// Points of the uniform grid on the curve for the grid estimate of `regions`.
pub const REGIONS_GRID: usize = 4096;
/// The Philox key of the pattern hash.
pub const HASH_KEY: [u32; 2] = [0x243F_6A88, 0x85A3_08D3];
/// The hash state before the first word.
pub const HASH_INIT: [u32; 2] = [0x1319_8A2E, 0x0370_7344];

/// One word of sign bits (`layer`, `word`) into the hash state.
#[inline]
pub fn hash_word(h: [u32; 2], bits: u32, layer: u32, word: u32) -> [u32; 2] {
    let x = philox4x32_10([h[0], h[1], bits, (layer << 16) | word], HASH_KEY);
    [x[0], x[1]]
}

/// The grid counts of one network; `None` for an observable not requested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct GridCounts {
    pub regions: Option<usize>,
    pub patterns: Option<usize>,
}

/// Centroids (s, t) of the m² sub-triangles, in the order of `patterns_grid`.
pub fn triangle_grid(m: usize) -> Vec<[f64; 2]> {
    let mf = m as f64;
    let mut pts = Vec::with_capacity(m * m);
    for i in 0..m {
        for j in 0..m - i {
            pts.push([(i as f64 + 1.0 / 3.0) / mf, (j as f64 + 1.0 / 3.0) / mf]);
            if i + j + 1 < m {
                pts.push([(i as f64 + 2.0 / 3.0) / mf, (j as f64 + 2.0 / 3.0) / mf]);
            }
        }
    }
    pts
}

/// The coefficients (u, v) of the `g` curve points (see the module docs).
pub fn curve_grid(curve: Curve, g: usize) -> Vec<[f64; 2]> {
    match curve {
        Curve::Segment => (0..g)
            .map(|k| [k as f64 / (g.max(2) - 1) as f64, 0.0])
            .collect(),
        Curve::Circle => (0..g)
            .map(|k| {
                let (s, c) = (TAU * k as f64 / g as f64).sin_cos();
                [c, s]
            })
            .collect(),
    }
}

/// Distinct values among `h`.
pub fn distinct(h: &[[u32; 2]]) -> usize {
    let mut v: Vec<u64> = h
        .iter()
        .map(|x| (x[0] as u64) << 32 | x[1] as u64)
        .collect();
    v.sort_unstable();
    v.dedup();
    v.len()
}

/// `regions` (grid) from the hashes of consecutive curve points.
pub fn regions_from_hashes(curve: Curve, h: &[[u32; 2]]) -> usize {
    let g = h.len();
    match curve {
        Curve::Segment => 1 + h.windows(2).filter(|w| w[0] != w[1]).count(),
        Curve::Circle => (0..g).filter(|&k| h[k] != h[(k + 1) % g]).count().max(1),
    }
}

impl GeometryEngine {
    /// The grid counts of network `net` (the CPU twin of the GPU geometry kernel).
    pub fn grid_counts(&self, net: u64, s: &mut GeometryScratch) -> GridCounts {
        let (tri, cur) = self.grid_hashes(net, s);
        GridCounts {
            regions: cur.map(|h| regions_from_hashes(self.observe.curve, &h)),
            patterns: tri.map(|h| distinct(&h)),
        }
    }

    /// The pattern hashes of network `net` at the triangle's grid points (when `patterns` is
    /// requested) and at the curve's (when `regions` is).
    #[allow(clippy::type_complexity)]
    pub fn grid_hashes(
        &self,
        net: u64,
        s: &mut GeometryScratch,
    ) -> (Option<Vec<[u32; 2]>>, Option<Vec<[u32; 2]>>) {
        self.load(net, s);
        let [tri_cols, cur_cols] = self.first_layer_columns(s);
        let tri = self
            .observe
            .needs(Primitive::Patterns)
            .then(|| self.hashes_at(s, &tri_cols, &triangle_grid(PATTERNS_GRID)));
        let cur = self
            .observe
            .needs(Primitive::Regions)
            .then(|| self.hashes_at(s, &cur_cols, &curve_grid(self.observe.curve, REGIONS_GRID)));
        (tri, cur)
    }

    /// The columns [C₀, C₁, C₂] (n₁ values each) of the triangle and of the curve.
    fn first_layer_columns(&self, s: &GeometryScratch) -> [[Vec<f64>; 3]; 2] {
        let spec = &self.problem.spec;
        let (n0, n1) = (self.widths[0], self.widths[1]);
        let scale = (spec.cw / n0 as f64).sqrt();
        let g = |v: &[f64]| -> Vec<f64> {
            (0..n1)
                .map(|i| scale * dot(&s.w[0][i * n0..(i + 1) * n0], v))
                .collect()
        };
        let bias: Vec<f64> = if spec.cb > 0.0 {
            s.b[0].iter().map(|b| spec.cb.sqrt() * b).collect()
        } else {
            vec![0.0; n1]
        };
        let plus = |a: Vec<f64>| -> Vec<f64> { a.iter().zip(&bias).map(|(x, b)| x + b).collect() };
        let tri = [plus(g(&self.tri[0])), g(&self.tri[1]), g(&self.tri[2])];
        let cur = match self.observe.curve {
            Curve::Segment => [plus(g(&self.c0)), g(&self.c1), vec![0.0; n1]],
            Curve::Circle => [bias.clone(), g(&self.c0), g(&self.c1)],
        };
        [tri, cur]
    }

    /// The pattern hash at every point z¹ = C₀ + u C₁ + v C₂, (u, v) in `pts`.
    fn hashes_at(
        &self,
        s: &GeometryScratch,
        cols: &[Vec<f64>; 3],
        pts: &[[f64; 2]],
    ) -> Vec<[u32; 2]> {
        let depth = self.problem.spec.depth();
        let n1 = self.widths[1];
        const CHUNK: usize = 256;
        let mut out = Vec::with_capacity(pts.len());
        let (mut z, mut z_prev, mut a) = (Vec::new(), Vec::new(), Vec::new());
        for chunk in pts.chunks(CHUNK) {
            let cols_n = chunk.len();
            z_prev.clear();
            for p in chunk {
                z_prev.extend((0..n1).map(|i| cols[0][i] + p[0] * cols[1][i] + p[1] * cols[2][i]));
            }
            let mut h = vec![HASH_INIT; cols_n];
            if self.kinked(1) {
                self.hash_layer(1, &z_prev, &mut h);
            }
            for l in 2..=depth {
                let act = self.acts[l - 1];
                a.clear();
                a.extend(z_prev.iter().map(|&v| act.eval(v).0));
                self.layer(l, s, &a, cols_n, 1, 0, &z_prev, &mut z);
                if self.kinked(l) {
                    self.hash_layer(l, &z, &mut h);
                }
                std::mem::swap(&mut z, &mut z_prev);
            }
            out.extend(h);
        }
        out
    }

    /// Hashes layer l's signs (`z`, column-major, one column per state in `h`) into `h`.
    fn hash_layer(&self, l: usize, z: &[f64], h: &mut [[u32; 2]]) {
        let n = self.widths[l];
        for (c, hc) in h.iter_mut().enumerate() {
            for (w, word) in z[c * n..(c + 1) * n].chunks(32).enumerate() {
                let mut bits = 0u32;
                for (b, &v) in word.iter().enumerate() {
                    if v > 0.0 {
                        bits |= 1 << b;
                    }
                }
                *hc = hash_word(*hc, bits, l as u32, w as u32);
            }
        }
    }
}

/// What the GPU kernel needs from the engine's definitions (crate-internal).
pub(crate) struct GridInputs {
    /// x₀, x₁ − x₀, x₂ − x₀, then the curve's c₀, c₁ (segment: x₀, x₁ − x₀; circle: r e₁, r e₂).
    pub vectors: [Vec<f64>; 5],
    pub curve: Curve,
}

impl GeometryEngine {
    pub(crate) fn grid_inputs(&self) -> GridInputs {
        GridInputs {
            vectors: [
                self.tri[0].clone(),
                self.tri[1].clone(),
                self.tri[2].clone(),
                self.c0.clone(),
                self.c1.clone(),
            ],
            curve: self.observe.curve,
        }
    }
}

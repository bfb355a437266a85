//! Forward evaluation: one layer on columns of points or coefficient blocks, points on the
//! curve, f at points, and the activation pattern at a point.

use super::{GeometryEngine, GeometryScratch};
use crate::dense::dot;
use randnet_problem::Curve;

impl GeometryEngine {
    /// One layer on `cols` columns (column-major, `[c * n + i]`). Columns are grouped in blocks
    /// of `stride`; the bias enters only column `bias_col` of each block (the constant term of a
    /// coefficient representation; `stride = 1` for point values). `prev` is z^{l−1} in the same
    /// layout for residual layers.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn layer(
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

    pub(super) fn kinked(&self, l: usize) -> bool {
        let (p, m) = self.slopes[l];
        p != m
    }

    /// Point on the curve at parameter `u` (t or θ).
    pub(super) fn curve_point(&self, u: f64, out: &mut [f64]) {
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
    pub(super) fn forward_curve(&self, s: &GeometryScratch, params: &[f64]) -> Vec<f64> {
        let n0 = self.widths[0];
        let mut a = vec![0.0; params.len() * n0];
        for (c, &u) in params.iter().enumerate() {
            self.curve_point(u, &mut a[c * n0..(c + 1) * n0]);
        }
        self.forward_points(s, a, params.len())
    }

    pub(super) fn forward_points(
        &self,
        s: &GeometryScratch,
        mut a: Vec<f64>,
        cols: usize,
    ) -> Vec<f64> {
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
}

//! Exact traces of piecewise-linear networks along the curve: the segment (breakpoints at the
//! zeros of linear pieces) and the circle (closed-form zeros of `A cos θ + B sin θ + C`).

use super::quadrature::arc_length;
use super::{invalid, CurveTrace, GeometryEngine, GeometryScratch};
use crate::SamplerError;
use randnet_problem::Curve;
use std::f64::consts::TAU;

impl GeometryEngine {
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

    pub(super) fn trace_loaded(&self, s: &GeometryScratch) -> CurveTrace {
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
}

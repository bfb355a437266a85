//! Length of f(γ) for smooth activations by adaptively refined polylines.

use super::{GeometryEngine, GeometryScratch, POLYLINE_MAX_POINTS, POLYLINE_RTOL, POLYLINE_START};
use randnet_problem::Curve;
use std::f64::consts::TAU;

impl GeometryEngine {
    /// Length of f(γ) by adaptively refined polylines (any activation); NaN when it does not
    /// converge within [`POLYLINE_MAX_POINTS`] vertices.
    pub fn polyline_length(&self, net: u64, s: &mut GeometryScratch) -> f64 {
        self.load(net, s);
        self.polyline_length_loaded(s)
    }

    pub(super) fn polyline_length_loaded(&self, s: &GeometryScratch) -> f64 {
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
}

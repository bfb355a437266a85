//! Extrapolation to infinite width: the weighted least-squares fit `y_p = a + b / n_p` over the
//! points of a sweep that share a depth (or a depth-to-width ratio), and its standard errors by
//! a **joint** delete-one-group jackknife (docs/statistics.md, "Extrapolation to infinite width").
//!
//! The fit is linear in the estimates: with `x_p = 1/n_p`, weights `w_p`, `W = Σ w_p`,
//! `x̄ = Σ w_p x_p / W` and `Sxx = Σ w_p (x_p − x̄)²`,
//!
//! ```text
//! b = Σ d_p y_p,   d_p = w_p (x_p − x̄) / Sxx,
//! a = Σ c_p y_p,   c_p = w_p / W − x̄ d_p,
//! ```
//!
//! so `Σ c_p = 1`, `Σ c_p x_p = 0`, `Σ d_p = 0`, `Σ d_p x_p = 1` (noiseless data are recovered
//! exactly). The points of one sweep share a seed, so network `i` is drawn at every width from
//! the same random numbers and the estimates of different widths are correlated. Every point's
//! [`Accumulator`] puts network `i` in the same group `i mod G`; refitting
//! on the delete-group-`g` replicates of all points at once (same weights) and taking the
//! jackknife variance of the refitted `a_(g)`, `b_(g)` carries that correlation into the error,
//! which an error propagated as if the points were independent does not
//! ([`independent_stderr`]; the tests in crates/stats/tests/fit.rs show the difference).

use crate::{joint_k22, Accumulator};

/// The coefficients `(c, d)` with `a = Σ c_p y_p` and `b = Σ d_p y_p` of the weighted
/// least-squares fit `y = a + b / n` (module documentation). None unless the three slices have
/// the same length, every width and weight is finite and positive, and at least two widths
/// differ.
pub fn inverse_width_coefficients(widths: &[f64], weights: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
    if widths.len() != weights.len() || widths.len() < 2 {
        return None;
    }
    if widths.iter().any(|n| !(n.is_finite() && *n > 0.0))
        || weights.iter().any(|w| !(w.is_finite() && *w > 0.0))
    {
        return None;
    }
    if widths.iter().all(|n| *n == widths[0]) {
        return None;
    }
    let x: Vec<f64> = widths.iter().map(|n| 1.0 / n).collect();
    let total: f64 = weights.iter().sum();
    let xbar = x.iter().zip(weights).map(|(x, w)| w * x).sum::<f64>() / total;
    let sxx: f64 = x
        .iter()
        .zip(weights)
        .map(|(x, w)| w * (x - xbar) * (x - xbar))
        .sum();
    if !(sxx.is_finite() && sxx > 0.0) {
        return None;
    }
    let d: Vec<f64> = x
        .iter()
        .zip(weights)
        .map(|(x, w)| w * (x - xbar) / sxx)
        .collect();
    let c: Vec<f64> = weights
        .iter()
        .zip(&d)
        .map(|(w, d)| w / total - xbar * d)
        .collect();
    Some((c, d))
}

/// The weighted least-squares fit `estimates ≈ a + b / widths` with `weights` (typically
/// `1 / stderr²`): `Some((a, b))`, or None as [`inverse_width_coefficients`].
pub fn fit_inverse_width(widths: &[f64], estimates: &[f64], weights: &[f64]) -> Option<(f64, f64)> {
    if estimates.len() != widths.len() {
        return None;
    }
    let (c, d) = inverse_width_coefficients(widths, weights)?;
    Some((dot(&c, estimates), dot(&d, estimates)))
}

/// The intercept `a` (the infinite-width value) and slope `b` of the fit with their joint
/// jackknife standard errors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct InverseWidthFit {
    pub a: f64,
    pub a_stderr: f64,
    pub b: f64,
    pub b_stderr: f64,
    /// Jackknife groups used (non-empty at every point).
    pub groups: usize,
}

/// The fit of the points' estimates and its joint delete-one-group jackknife errors.
///
/// `points[p] = (estimate, replicates)` as returned by
/// [`Accumulator::replicates`](crate::Accumulator::replicates) for point `p`: the replicates of
/// every point must come from the same groups (the same network indices modulo the same `G`).
/// For each group `g` that is non-empty at every point, `a_(g)`, `b_(g)` are the fit (with the
/// same `weights`) of the points' delete-`g` replicates; the standard errors are
/// `sqrt((G'−1)/G' Σ_g (a_(g) − mean a_(.))²)` over those `G'` groups (NaN with fewer than two,
/// or when a replicate is not finite). None as [`inverse_width_coefficients`], or when the points
/// have different numbers of groups.
pub fn fit_inverse_width_jackknife(
    widths: &[f64],
    points: &[(f64, Vec<Option<f64>>)],
    weights: &[f64],
) -> Option<InverseWidthFit> {
    if points.len() != widths.len() {
        return None;
    }
    let (c, d) = inverse_width_coefficients(widths, weights)?;
    let groups = points.first()?.1.len();
    if points.iter().any(|(_, r)| r.len() != groups) {
        return None;
    }
    let estimates: Vec<f64> = points.iter().map(|(e, _)| *e).collect();
    let mut reps_a = Vec::with_capacity(groups);
    let mut reps_b = Vec::with_capacity(groups);
    let mut y = vec![0.0; points.len()];
    for g in 0..groups {
        let complete = points
            .iter()
            .zip(y.iter_mut())
            .all(|((_, r), y)| match r[g] {
                Some(v) => {
                    *y = v;
                    true
                }
                None => false,
            });
        if complete {
            reps_a.push(dot(&c, &y));
            reps_b.push(dot(&d, &y));
        }
    }
    Some(InverseWidthFit {
        a: dot(&c, &estimates),
        a_stderr: jackknife_stderr(&reps_a),
        b: dot(&d, &estimates),
        b_stderr: jackknife_stderr(&reps_b),
        groups: reps_a.len(),
    })
}

/// The standard errors of `a` and `b` that the fit would have if the points were independent
/// with standard errors `stderrs`: `sqrt(Σ c_p² σ_p²)`, `sqrt(Σ d_p² σ_p²)`. This is what
/// ignoring the shared seed gives; randnet reports the joint jackknife instead
/// ([`fit_inverse_width_jackknife`]). None as [`inverse_width_coefficients`].
pub fn independent_stderr(widths: &[f64], weights: &[f64], stderrs: &[f64]) -> Option<(f64, f64)> {
    if stderrs.len() != widths.len() {
        return None;
    }
    let (c, d) = inverse_width_coefficients(widths, weights)?;
    let var = |k: &[f64]| {
        k.iter()
            .zip(stderrs)
            .map(|(k, s)| k * k * s * s)
            .sum::<f64>()
            .sqrt()
    };
    Some((var(&c), var(&d)))
}

impl Accumulator {
    /// The point estimate of `joint_kappa4(pair)` and its delete-one-group replicates, one per
    /// group in group order (None for an empty group), as [`Accumulator::replicates`] does for
    /// one observable. The same sums and estimator as [`Accumulator::joint_kappa4`] (the tests
    /// check that the two agree bitwise).
    ///
    /// # Panics
    /// If `pair >= pairs().len()`.
    pub fn joint_replicates(&self, pair: usize) -> (f64, Vec<Option<f64>>) {
        assert!(
            pair < self.pairs.len(),
            "pair {pair} out of range ({} pairs)",
            self.pairs.len()
        );
        self.jackknife_replicates(9, |g, v| self.fill_pair(pair, g, v), joint_k22)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(a, b)| a * b).sum()
}

/// `sqrt((G−1)/G Σ (r − r̄)²)`; NaN with fewer than two replicates or a non-finite one.
fn jackknife_stderr(reps: &[f64]) -> f64 {
    crate::jackknife_stderr(reps)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_degenerate_input() {
        assert!(fit_inverse_width(&[8.0], &[1.0], &[1.0]).is_none());
        assert!(fit_inverse_width(&[8.0, 8.0], &[1.0, 2.0], &[1.0, 1.0]).is_none());
        assert!(fit_inverse_width(&[8.0, 16.0], &[1.0, 2.0], &[1.0, 0.0]).is_none());
        assert!(fit_inverse_width(&[8.0, 16.0], &[1.0, 2.0], &[1.0, f64::INFINITY]).is_none());
        assert!(fit_inverse_width(&[8.0, 16.0], &[1.0], &[1.0, 1.0]).is_none());
    }

    #[test]
    fn two_widths_are_exactly_determined() {
        // a + b/8 = 3, a + b/16 = 2: b = 16, a = 1, whatever the weights.
        let (a, b) = fit_inverse_width(&[8.0, 16.0], &[3.0, 2.0], &[5.0, 0.1]).unwrap();
        assert!(
            (a - 1.0).abs() < 1e-12 && (b - 16.0).abs() < 1e-10,
            "{a} {b}"
        );
    }

    #[test]
    fn joint_replicates_match_joint_kappa4() {
        let mut acc = Accumulator::new(2, vec![(0, 1)], vec![0.1, -0.2], 8);
        let mut s = 1u64;
        let mut next = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (s >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        for i in 0..300u64 {
            let u = next();
            let v = next() + u * u;
            acc.push(i, &[u, v]);
        }
        let (est, reps) = acc.joint_replicates(0);
        let e = acc.joint_kappa4(0);
        assert_eq!(est.to_bits(), e.estimate.to_bits());
        let reps: Vec<f64> = reps.into_iter().flatten().collect();
        assert_eq!(jackknife_stderr(&reps).to_bits(), e.stderr.to_bits());
    }
}

/// Weighted least squares: rows (x, y, se(y)); returns the coefficients and their covariance
/// (XᵀWX)⁻¹ with W = diag(1/se²); None when XᵀWX is singular.
pub fn weighted_least_squares(rows: &[(Vec<f64>, f64, f64)]) -> Option<(Vec<f64>, Vec<Vec<f64>>)> {
    if rows.is_empty() {
        return None;
    }
    let p = rows[0].0.len();
    let mut a = vec![vec![0.0; p]; p];
    let mut b = vec![0.0; p];
    for (x, y, s) in rows {
        let w = 1.0 / (s * s);
        for i in 0..p {
            b[i] += w * x[i] * y;
            for j in 0..p {
                a[i][j] += w * x[i] * x[j];
            }
        }
    }
    let inv = invert(a)?;
    let beta = (0..p)
        .map(|i| (0..p).map(|j| inv[i][j] * b[j]).sum())
        .collect();
    Some((beta, inv))
}

/// Gauss–Jordan inverse (partial pivoting) of a small symmetric positive definite matrix; None
/// when singular.
fn invert(mut a: Vec<Vec<f64>>) -> Option<Vec<Vec<f64>>> {
    let p = a.len();
    let mut inv: Vec<Vec<f64>> = (0..p)
        .map(|i| (0..p).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    for c in 0..p {
        let piv = (c..p)
            .max_by(|&i, &j| a[i][c].abs().total_cmp(&a[j][c].abs()))
            .unwrap();
        if a[piv][c].abs() < 1e-300 || !a[piv][c].is_finite() {
            return None;
        }
        a.swap(c, piv);
        inv.swap(c, piv);
        let d = a[c][c];
        for j in 0..p {
            a[c][j] /= d;
            inv[c][j] /= d;
        }
        for i in 0..p {
            if i != c {
                let f = a[i][c];
                for j in 0..p {
                    a[i][j] -= f * a[c][j];
                    inv[i][j] -= f * inv[c][j];
                }
            }
        }
    }
    Some(inv)
}

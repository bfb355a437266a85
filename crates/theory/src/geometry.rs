//! Predictions for the geometry observables (README, "Observables"): `regions` (linear pieces along a curve),
//! `length_distortion` and `patterns` (activation patterns over a triangle). Derivations:
//! docs/geometry.md. Conventions as in docs/theory.md: Gaussian weights W_ij ~ N(0, C_W/n_{l−1}),
//! biases N(0, C_b), σ(t) = a₊ t for t > 0 and a₋ t otherwise; a unit has a *kink* when a₊ ≠ a₋.
//!
//! | observable | case | kind |
//! |---|---|---|
//! | regions, segment | L = 1, any C_b: 1 + Binomial(n_1, arccos(ρ)/π), all cumulants | exact |
//! | regions, circle | L = 1: max(2 Binomial(n_1, q), 1), q = (1 + C_b n0/(C_W r²))^{−1/2} | exact |
//! | regions | L ≥ 2: 1 + Σ_l n_l ∫ Kac–Rice density of the infinite-width Gaussian process | infinite-width (mean) |
//! | regions, patterns | no kinked layer (linear, L = 0): 1 | exact |
//! | length_distortion | zero bias, scale-invariant σ, no residual: E‖J(x)u‖ (law free of x, u) | exact (mean) |
//! | length_distortion | linear σ, any C_b, no residual | exact (mean) |
//! | patterns | L = 1: 1 + n_1 P(line meets triangle) + C(n_1, 2) E[pair meets inside] | exact (mean) |
//!
//! Sources: Hanin & Rolnick, "Complexity of linear regions in deep networks" (arXiv 1901.09021)
//! and "Deep ReLU networks have surprisingly few activation patterns" (arXiv 1906.00904) for the
//! Kac–Rice counting of region boundaries; Hanin, Jeong & Rolnick, "Deep ReLU networks preserve
//! expected length" (arXiv 2102.10492); Hanin (arXiv 1801.03744) for the Jacobian product law.

use crate::{exact, from_cumulants, quad, Kind, Observable, Prediction};
use randnet_problem::{Activation, Curve, NetworkSpec, WeightLaw};
use std::f64::consts::{PI, TAU};

/// The geometry observable names.
pub const NAMES: [&str; 3] = ["length_distortion", "regions", "patterns"];

/// True for "length_distortion", "regions", "patterns".
pub fn is_geometry_name(name: &str) -> bool {
    NAMES.contains(&name.trim())
}

fn dot(x: &[f64], y: &[f64]) -> f64 {
    x.iter().zip(y).map(|(a, b)| a * b).sum()
}

/// Slopes (a₊, a₋) of hidden layer l = 1..=L (None for smooth activations).
fn layer_slopes(spec: &NetworkSpec) -> Option<Vec<(f64, f64)>> {
    spec.hidden
        .iter()
        .map(|&n| spec.activation.slopes(n))
        .collect()
}

/// True when some hidden layer has a kink (a₊ ≠ a₋).
fn any_kink(slopes: &[(f64, f64)]) -> bool {
    slopes.iter().any(|&(p, m)| p != m)
}

/// First-layer covariance K(x, x') = C_b + C_W x·x'/n0.
fn k1(spec: &NetworkSpec, x: &[f64], y: &[f64]) -> f64 {
    spec.cb + spec.cw * dot(x, y) / spec.input_dim as f64
}

/// P(z(x) z(x') < 0) for a centred Gaussian pair with variances k00, k11 and covariance k01:
/// arccos(ρ)/π (Sheppard's formula).
pub fn sign_change_probability(k00: f64, k01: f64, k11: f64) -> f64 {
    let rho = (k01 / (k00 * k11).sqrt()).clamp(-1.0, 1.0);
    rho.acos() / PI
}

/// Cumulants κ_0..κ_6 (κ_0 unused) of `regions` along the segment x0 → x1 for one hidden layer
/// of n_1 kinked units: unit i changes sign on the segment iff z_i(x0) z_i(x1) < 0 (z_i is affine
/// in t), independently across units, with probability p = arccos(ρ)/π, ρ the first-layer
/// correlation of x0 and x1. So regions = 1 + Binomial(n_1, p). Exact.
pub fn segment_regions_one_layer(spec: &NetworkSpec, x0: &[f64], x1: &[f64]) -> Vec<f64> {
    let p = sign_change_probability(k1(spec, x0, x0), k1(spec, x0, x1), k1(spec, x1, x1));
    let n = spec.hidden[0] as f64;
    let mu = vec![1.0, p, p, p, p, p, p]; // Bernoulli raw moments
    let mut kap: Vec<f64> = exact::cumulants_from_moments(&mu)
        .iter()
        .map(|k| n * k)
        .collect();
    kap[1] += 1.0;
    kap
}

/// q: the probability that a first-layer unit vanishes somewhere on the circle of radius
/// r = ‖x0‖: z(θ) = A cos θ + B sin θ + C with A, B ~ N(0, C_W r²/n0), C ~ N(0, C_b) independent
/// vanishes iff C² < A² + B² (an exponential variable of mean 2 C_W r²/n0), so
/// q = E exp(−C² n0/(2 C_W r²)) = (1 + C_b n0/(C_W r²))^{−1/2}; it then vanishes exactly twice.
pub fn circle_crossing_probability(spec: &NetworkSpec, r2: f64) -> f64 {
    let c = spec.cw * r2 / spec.input_dim as f64;
    (c / (c + spec.cb)).sqrt()
}

/// Cumulants of `regions` along the circle for one hidden layer: B = 2 Binomial(n_1, q) zeros,
/// regions = max(B, 1) (arcs of constant pattern on a closed curve). Exact.
///
/// The binomial weights come from the ratio P(k+1)/P(k) = (n−k)q/((k+1)(1−q)) outward from the
/// mode (those below 1e-40 of the mode dropped), normalized by their sum; then the mean and the
/// central moments E(R − E R)^j, and κ_j from those. (Raw moments E R^j ~ (2nq)^j with
/// ln Γ-based weights lost κ6/κ2³ to ~1e-3 at n_1 = 1000 and entirely at 10⁴.)
pub fn circle_regions_one_layer(spec: &NetworkSpec, x0: &[f64]) -> Vec<f64> {
    let q = circle_crossing_probability(spec, dot(x0, x0));
    let n = spec.hidden[0];
    let value = |k: usize| if k == 0 { 1.0 } else { 2.0 * k as f64 };
    let mut pts: Vec<(f64, f64)> = Vec::new();
    if q >= 1.0 {
        pts.push((value(n), 1.0));
    } else if q <= 0.0 {
        pts.push((value(0), 1.0));
    } else {
        let odds = q / (1.0 - q);
        let mode = (((n + 1) as f64 * q).floor() as usize).min(n);
        pts.push((value(mode), 1.0));
        let mut p = 1.0;
        for k in mode..n {
            p *= (n - k) as f64 / (k + 1) as f64 * odds;
            if p < 1e-40 {
                break;
            }
            pts.push((value(k + 1), p));
        }
        let mut p = 1.0;
        for k in (1..=mode).rev() {
            p *= k as f64 / (n - k + 1) as f64 / odds;
            if p < 1e-40 {
                break;
            }
            pts.push((value(k - 1), p));
        }
    }
    let total: f64 = pts.iter().map(|p| p.1).sum();
    let mean = pts.iter().map(|(v, w)| v * w).sum::<f64>() / total;
    let mut mu = vec![0.0; exact::MAXK + 1];
    for &(v, w) in &pts {
        let mut x = w / total;
        for mm in mu.iter_mut() {
            *mm += x;
            x *= v - mean;
        }
    }
    mu[0] = 1.0;
    mu[1] = 0.0;
    let mut kap = exact::cumulants_from_moments(&mu);
    kap[0] = 0.0;
    kap[1] = mean;
    kap
}

/// Infinite-width Kac–Rice density of zeros, per unit of hidden layer l (index l − 1), at one
/// point of the curve with position x and velocity v. At infinite width the preactivation of a
/// unit is a centred Gaussian process; (z, ż) has covariance [[K, K'], [K', K'']] with
/// K^1 = C_b + C_W|x|²/n0, K'^1 = C_W x·v/n0, K''^1 = C_W|v|²/n0 and, for scale-invariant σ with
/// A₂ = (a₊² + a₋²)/2, K^{l+1} = C_b + C_W A₂ K^l, K'^{l+1} = C_W A₂ K'^l, K''^{l+1} = C_W A₂ K''^l
/// (residual: z^{l+1} = z^l + α(...) adds α² times these to the previous values). The expected
/// number of zeros per unit parameter is sqrt(K K'' − K'²)/(π K) (Rice's formula).
fn kac_rice_densities(
    spec: &NetworkSpec,
    slopes: &[(f64, f64)],
    x: &[f64],
    v: &[f64],
    out: &mut Vec<f64>,
) {
    out.clear();
    let c0 = spec.cw / spec.input_dim as f64;
    let (mut k, mut kd, mut kdd) = (spec.cb + c0 * dot(x, x), c0 * dot(x, v), c0 * dot(v, v));
    let alpha = spec.residual_alpha().unwrap_or(1.0);
    for l in 1..=spec.depth() {
        if l >= 2 {
            let a2 = 0.5 * (slopes[l - 2].0.powi(2) + slopes[l - 2].1.powi(2));
            let (nk, nkd, nkdd) = (
                spec.cb + spec.cw * a2 * k,
                spec.cw * a2 * kd,
                spec.cw * a2 * kdd,
            );
            if spec.is_residual_layer(l) {
                k += alpha * alpha * nk;
                kd += alpha * alpha * nkd;
                kdd += alpha * alpha * nkdd;
            } else {
                (k, kd, kdd) = (nk, nkd, nkdd);
            }
        }
        let (p, m) = slopes[l - 1];
        let d = if p != m && k > 0.0 {
            (k * kdd - kd * kd).max(0.0).sqrt() / (PI * k)
        } else {
            0.0
        };
        out.push(d);
    }
}

/// Leading-order (infinite-width) mean of `regions` for any depth: 1 + Σ_l n_l ∫ density dt
/// (segment) or Σ_l n_l ∫ density dθ (circle, the expected number of breakpoints). Exact for
/// L = 1 on the segment (it then equals 1 + n_1 arccos(ρ)/π).
pub fn regions_kac_rice(spec: &NetworkSpec, x0: &[f64], x1: &[f64], curve: Curve) -> Option<f64> {
    let slopes = layer_slopes(spec)?;
    let n0 = spec.input_dim;
    let (pos0, dir1, end): (Vec<f64>, Vec<f64>, f64) = match curve {
        Curve::Segment => (
            x0.to_vec(),
            x1.iter().zip(x0).map(|(a, b)| a - b).collect(),
            1.0,
        ),
        Curve::Circle => {
            let (e1, e2) = circle_basis(x0, x1)?;
            (e1, e2, TAU)
        }
    };
    let panels = 32;
    let (gx, gw) = quad::gauss_legendre(16, 0.0, 1.0);
    let mut total = vec![0.0; spec.depth()];
    let mut dens = Vec::new();
    let (mut x, mut v) = (vec![0.0; n0], vec![0.0; n0]);
    for pnl in 0..panels {
        for (u, w) in gx.iter().zip(&gw) {
            let t = end * (pnl as f64 + u) / panels as f64;
            match curve {
                Curve::Segment => {
                    for j in 0..n0 {
                        x[j] = pos0[j] + t * dir1[j];
                        v[j] = dir1[j];
                    }
                }
                Curve::Circle => {
                    let (s, c) = t.sin_cos();
                    for j in 0..n0 {
                        x[j] = c * pos0[j] + s * dir1[j];
                        v[j] = -s * pos0[j] + c * dir1[j];
                    }
                }
            }
            kac_rice_densities(spec, &slopes, &x, &v, &mut dens);
            for (tt, d) in total.iter_mut().zip(&dens) {
                *tt += w * end / panels as f64 * d;
            }
        }
    }
    let crossings: f64 = total
        .iter()
        .zip(&spec.hidden)
        .map(|(t, &n)| t * n as f64)
        .sum();
    Some(match curve {
        Curve::Segment => 1.0 + crossings,
        Curve::Circle => crossings.max(1.0),
    })
}

/// r e_1, r e_2 of the circle through x0 and the direction of x1 (randnet_problem::Curve).
fn circle_basis(x0: &[f64], x1: &[f64]) -> Option<(Vec<f64>, Vec<f64>)> {
    let r = dot(x0, x0).sqrt();
    if r == 0.0 {
        return None;
    }
    let e1: Vec<f64> = x0.iter().map(|v| v / r).collect();
    let p = dot(x1, &e1);
    let perp: Vec<f64> = x1.iter().zip(&e1).map(|(a, e)| a - p * e).collect();
    let q = dot(&perp, &perp).sqrt();
    if q <= 1e-12 * dot(x1, x1).sqrt() {
        return None;
    }
    Some((
        e1.iter().map(|e| r * e).collect(),
        perp.iter().map(|v| r * v / q).collect(),
    ))
}

/// E[S^{1/2}] for S = a₊² χ²_K + a₋² χ²'_{n−K}, K ~ Binomial(n, 1/2) (independent chi-squares):
/// E S^{1/2} = (4π)^{−1/2} ∫_0^∞ (1 − E e^{−λS}) λ^{−3/2} dλ with
/// E e^{−λS} = [((1 + 2λa₊²)^{−1/2} + (1 + 2λa₋²)^{−1/2})/2]^n, integrated in y = ln λ by the
/// trapezoid rule (analytic, exponentially decaying integrand: error far below 1e-12).
pub fn sqrt_mean_mixed_chi2(n: usize, ap: f64, am: f64) -> f64 {
    let (lo, hi, h) = (-80.0f64, 80.0f64, 0.01f64);
    let steps = ((hi - lo) / h) as usize;
    let mut s = 0.0;
    for i in 0..=steps {
        let y = lo + i as f64 * h;
        let lam = y.exp();
        // 1 − φ^n without cancellation for small λ: u = 1 − (1 + 2λa²)^{−1/2}, φ = 1 − ū.
        let u = |a: f64| -(-0.5 * (2.0 * lam * a * a).ln_1p()).exp_m1();
        let ubar = 0.5 * (u(ap) + u(am));
        let one_minus = -(n as f64 * (-ubar).ln_1p()).exp_m1();
        let w = if i == 0 || i == steps { 0.5 } else { 1.0 };
        s += w * one_minus * (-0.5 * y).exp();
    }
    s * h / (4.0 * PI).sqrt()
}

/// Exact E[length_distortion] when the law of ‖J(x)u‖ does not depend on x and on the unit u:
/// zero biases, Gaussian weights, no residual branches, a scale-invariant activation (relu,
/// leaky-relu, shaped-relu), or a linear activation with any C_b. Then (docs/geometry.md)
/// E[len f(γ)/len γ] = E‖J u‖ = sqrt(C_W^{L+1}/Π_{l=0}^{L} n_l) Π_l E[S_l^{1/2}] E[χ_{n_out}],
/// S_l = a₊² χ²_{K_l} + a₋² χ²_{n_l−K_l}. Any curve avoiding the origin.
pub fn length_distortion_mean(spec: &NetworkSpec) -> Option<f64> {
    if spec.weights != WeightLaw::Gaussian || spec.residual.is_some() {
        return None;
    }
    let slopes = layer_slopes(spec)?;
    let linear = spec.activation == Activation::Linear;
    if spec.cb != 0.0 && !linear {
        return None;
    }
    let widths = spec.layer_widths();
    let depth = spec.depth();
    let mut log_scale = (depth as f64 + 1.0) * spec.cw.ln();
    for &n in &widths[..=depth] {
        log_scale -= (n as f64).ln();
    }
    let mut mean = (0.5 * log_scale).exp();
    for (l, &(p, m)) in slopes.iter().enumerate() {
        let n = widths[l + 1];
        mean *= if p == 1.0 && m == 0.0 {
            exact::binomial_chi2_power_mean(n, 0.5)
        } else if p == m {
            p.abs() * exact::chi2_power_mean(n, 0.5)
        } else {
            sqrt_mean_mixed_chi2(n, p, m)
        };
    }
    mean *= exact::chi2_power_mean(widths[depth + 1], 0.5);
    Some(mean)
}

/// Exact E[patterns] over the triangle x0, x1, x2 for one hidden layer of n_1 kinked units.
/// Each unit's zero set is a line in the triangle's plane; for a generic arrangement of lines
/// meeting a convex set, regions = 1 + (lines meeting it) + (intersection points inside), and the
/// regions have distinct sign patterns. P(line meets the triangle) = 1 − P(the three vertex values
/// share a sign) = 3/4 − (asin ρ01 + asin ρ02 + asin ρ12)/(2π). The expected number of
/// intersection points of two independent units inside the triangle is, by the 2-D Kac–Rice
/// formula, ∫_T sqrt(det Σ(x)) / (2π K(x)) ds dt, with Σ(x) the covariance of the (s, t)-gradient
/// conditioned on z(x) = 0 (E|det| of two independent N(0, Σ) rows is sqrt(det Σ)). 2-D
/// Gauss–Legendre on the Duffy-collapsed square (48² nodes). None when C_b = 0 and the triangle's
/// plane passes through the origin (all lines concurrent: not generic).
pub fn patterns_one_layer_mean(spec: &NetworkSpec, xs: &[Vec<f64>]) -> Option<f64> {
    let (x0, x1, x2) = (&xs[0], &xs[1], &xs[2]);
    let n0 = spec.input_dim;
    let c = spec.cw / n0 as f64;
    let d1: Vec<f64> = x1.iter().zip(x0).map(|(a, b)| a - b).collect();
    let d2: Vec<f64> = x2.iter().zip(x0).map(|(a, b)| a - b).collect();
    let (g11, g12, g22) = (dot(&d1, &d1), dot(&d1, &d2), dot(&d2, &d2));
    let det = g11 * g22 - g12 * g12;
    if det <= 1e-24 * g11 * g22 {
        return None;
    }
    if spec.cb == 0.0 {
        // distance² of the origin to the plane x0 + span(d1, d2)
        let (b1, b2) = (dot(x0, &d1), dot(x0, &d2));
        let s = (g22 * b1 - g12 * b2) / det;
        let t = (g11 * b2 - g12 * b1) / det;
        let dist2 = dot(x0, x0) - (s * b1 + t * b2);
        if dist2 <= 1e-12 * dot(x0, x0) {
            return None;
        }
    }
    let k = |a: &[f64], b: &[f64]| spec.cb + c * dot(a, b);
    let rho = |a: &[f64], b: &[f64]| k(a, b) / (k(a, a) * k(b, b)).sqrt();
    let p_cross = 0.75
        - ((rho(x0, x1).clamp(-1.0, 1.0)).asin()
            + (rho(x0, x2).clamp(-1.0, 1.0)).asin()
            + (rho(x1, x2).clamp(-1.0, 1.0)).asin())
            / TAU;
    let (gx, gw) = quad::gauss_legendre(48, 0.0, 1.0);
    let mut integral = 0.0;
    let mut x = vec![0.0; n0];
    for (u, wu) in gx.iter().zip(&gw) {
        for (v, wv) in gx.iter().zip(&gw) {
            let (s, t) = (*u, (1.0 - u) * v);
            for j in 0..n0 {
                x[j] = x0[j] + s * d1[j] + t * d2[j];
            }
            let kk = spec.cb + c * dot(&x, &x);
            let (h1, h2) = (c * dot(&x, &d1), c * dot(&x, &d2));
            let s11 = c * g11 - h1 * h1 / kk;
            let s12 = c * g12 - h1 * h2 / kk;
            let s22 = c * g22 - h2 * h2 / kk;
            let dens = (s11 * s22 - s12 * s12).max(0.0).sqrt() / (TAU * kk);
            integral += wu * wv * (1.0 - u) * dens;
        }
    }
    let n = spec.hidden[0] as f64;
    Some(1.0 + n * p_cross + 0.5 * n * (n - 1.0) * integral)
}

fn deterministic(value: f64, statistic: &str) -> Option<Prediction> {
    let v = match statistic {
        "mean" => value,
        "variance" | "kappa3" | "kappa4" | "kappa6" => 0.0,
        _ => return None,
    };
    Prediction::new(v, Kind::Exact)
}

/// The prediction for one statistic of a geometry observable along `curve`
/// ([`crate::predict`] calls this with the default segment).
pub fn predict(
    spec: &NetworkSpec,
    xs: &[Vec<f64>],
    curve: Curve,
    observable: &Observable,
    statistic: &str,
) -> Option<Prediction> {
    if xs.iter().any(|x| x.len() != spec.input_dim) {
        return None;
    }
    let gaussian = spec.weights == WeightLaw::Gaussian;
    match observable {
        Observable::Regions => {
            if xs.len() < 2 {
                return None;
            }
            let slopes = layer_slopes(spec)?;
            if !any_kink(&slopes) {
                return deterministic(1.0, statistic);
            }
            if !gaussian {
                return None;
            }
            if spec.depth() == 1 {
                let kap = match curve {
                    Curve::Segment => segment_regions_one_layer(spec, &xs[0], &xs[1]),
                    Curve::Circle => {
                        circle_basis(&xs[0], &xs[1])?;
                        circle_regions_one_layer(spec, &xs[0])
                    }
                };
                if kap[2] <= 0.0 && statistic == "excess_kurtosis" {
                    return None;
                }
                return from_cumulants(&kap, statistic, Kind::Exact);
            }
            if statistic != "mean" {
                return None;
            }
            Prediction::new(
                regions_kac_rice(spec, &xs[0], &xs[1], curve)?,
                Kind::InfiniteWidth,
            )
        }
        Observable::LengthDistortion => {
            if xs.len() < 2 || statistic != "mean" {
                return None;
            }
            if curve == Curve::Circle {
                circle_basis(&xs[0], &xs[1])?;
            }
            Prediction::new(length_distortion_mean(spec)?, Kind::Exact)
        }
        Observable::Patterns => {
            if xs.len() < 3 {
                return None;
            }
            let slopes = layer_slopes(spec)?;
            if !any_kink(&slopes) {
                return deterministic(1.0, statistic);
            }
            if !gaussian || spec.depth() != 1 || statistic != "mean" {
                return None;
            }
            Prediction::new(patterns_one_layer_mean(spec, xs)?, Kind::Exact)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use randnet_problem::{Parameterization, Residual};

    fn spec(act: &str, hidden: Vec<usize>, cb: f64, nout: usize) -> NetworkSpec {
        NetworkSpec::new(
            4,
            hidden,
            nout,
            act.parse().unwrap(),
            None,
            cb,
            Parameterization::Ntk,
            None,
            WeightLaw::Gaussian,
        )
        .unwrap()
    }

    #[test]
    fn kac_rice_equals_sheppard_for_one_layer() {
        // One hidden layer: the Kac–Rice integral equals 1 + n arccos(ρ)/π exactly (quadrature
        // error only; 32 x 16 Gauss–Legendre nodes on a smooth integrand: 1e-10).
        let s = spec("relu", vec![10], 0.3, 1);
        let x0 = vec![1.0, 0.5, -0.2, 0.3];
        let x1 = vec![-0.4, 1.2, 0.8, -1.0];
        let kr = regions_kac_rice(&s, &x0, &x1, Curve::Segment).unwrap();
        let kap = segment_regions_one_layer(&s, &x0, &x1);
        assert!((kr - kap[1]).abs() < 1e-10, "{kr} vs {}", kap[1]);
        // Circle: 2 n q expected zeros.
        let kc = regions_kac_rice(&s, &x0, &x1, Curve::Circle).unwrap();
        let q = circle_crossing_probability(&s, dot(&x0, &x0));
        assert!((kc - 20.0 * q).abs() < 1e-10, "{kc} vs {}", 20.0 * q);
    }

    #[test]
    fn zero_bias_relu_crossings_are_angle_over_pi_per_neuron() {
        // Zero bias: the density is the same at every layer, so E ≈ 1 + N θ/π.
        let s = spec("relu", vec![8, 8, 8], 0.0, 1);
        let x0 = vec![1.0, 0.0, 0.0, 0.0];
        let x1 = vec![0.0, 2.0, 0.0, 0.0];
        let kr = regions_kac_rice(&s, &x0, &x1, Curve::Segment).unwrap();
        assert!((kr - (1.0 + 24.0 * 0.5)).abs() < 1e-9, "{kr}");
    }

    #[test]
    fn mixed_chi2_sqrt_mean_matches_special_cases() {
        // relu (a₋ = 0) against the binomial sum, linear against E χ_n.
        for n in [1usize, 3, 10, 64] {
            let r = sqrt_mean_mixed_chi2(n, 1.0, 0.0);
            let e = exact::binomial_chi2_power_mean(n, 0.5);
            assert!((r - e).abs() < 1e-10 * e, "relu n={n}: {r} vs {e}");
            let l = sqrt_mean_mixed_chi2(n, 1.0, 1.0);
            let e = exact::chi2_power_mean(n, 0.5);
            assert!((l - e).abs() < 1e-10 * e, "linear n={n}: {l} vs {e}");
        }
    }

    #[test]
    fn length_prediction_equals_jacobian_mean() {
        let s = spec("relu", vec![8, 6, 9], 0.0, 2);
        let xs = vec![vec![1.0, 0.0, 0.0, 0.0], vec![0.0, 1.0, 0.0, 0.0]];
        let a = predict(
            &s,
            &xs,
            Curve::Segment,
            &Observable::LengthDistortion,
            "mean",
        )
        .unwrap();
        let b = crate::predict_named(&s, &xs, "jacobian_norm[0]", "mean").unwrap();
        assert!((a.value - b.value).abs() < 1e-12 * b.value);
        let c = crate::predict_named(&s, &xs, "length_distortion", "mean").unwrap();
        assert_eq!(a, c);
        let mut r = s.clone();
        r.residual = Some(Residual::Alpha(0.5));
        r.cb = 0.1;
        assert!(length_distortion_mean(&r).is_none());
    }

    #[test]
    fn deterministic_cases() {
        let s = spec("linear", vec![5, 5], 0.2, 1);
        let xs = vec![
            vec![1.0, 0.0, 0.0, 0.0],
            vec![0.0, 1.0, 0.0, 0.0],
            vec![0.0, 0.0, 1.0, 0.0],
        ];
        assert_eq!(
            predict(&s, &xs, Curve::Segment, &Observable::Regions, "mean")
                .unwrap()
                .value,
            1.0
        );
        assert_eq!(
            predict(&s, &xs, Curve::Segment, &Observable::Patterns, "variance")
                .unwrap()
                .value,
            0.0
        );
        let c = spec("relu", vec![7], 0.0, 1);
        let p = predict(&c, &xs, Curve::Circle, &Observable::Regions, "mean").unwrap();
        assert!((p.value - 14.0).abs() < 1e-12);
        let v = predict(&c, &xs, Curve::Circle, &Observable::Regions, "variance").unwrap();
        assert!(v.value.abs() < 1e-9);
    }
}

//! Quadrature rules written from scratch: Gauss–Hermite (Gaussian expectations) and
//! Gauss–Legendre (finite intervals, used by tests as an independent check).
//!
//! Nodes are found by Newton's method on the orthonormal three-term recurrences, with the
//! initial guesses of Numerical Recipes (Press et al., 3rd ed., §4.6, routines `gauher` and
//! `gauleg`). Accuracy: nodes to ~1e-14; an n-point rule integrates polynomials of degree
//! 2n−1 exactly (against the weight).

use std::sync::OnceLock;

/// Default number of Gauss–Hermite nodes per dimension for kernel integrals.
pub const GH_NODES: usize = 64;

/// Gauss–Hermite nodes and weights for the *standard normal* weight: returns (t_i, w_i) with
/// E[f(g)] ≈ Σ w_i f(t_i), g ~ N(0,1), Σ w_i = 1.
pub fn gauss_hermite_normal(n: usize) -> (Vec<f64>, Vec<f64>) {
    let (x, w) = gauss_hermite_physicists(n);
    let s2 = std::f64::consts::SQRT_2;
    let sp = std::f64::consts::PI.sqrt();
    (
        x.iter().map(|&xi| xi * s2).collect(),
        w.iter().map(|&wi| wi / sp).collect(),
    )
}

/// The cached default rule (`GH_NODES` nodes) for the standard normal weight.
pub fn default_normal_rule() -> &'static (Vec<f64>, Vec<f64>) {
    static RULE: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    RULE.get_or_init(|| gauss_hermite_normal(GH_NODES))
}

/// Gauss–Hermite rule for the weight e^{−x²} on the real line (Σ w_i = √π).
///
/// Valid for 1 <= n <= 150 (the orthonormal recurrence underflows for larger n).
pub fn gauss_hermite_physicists(n: usize) -> (Vec<f64>, Vec<f64>) {
    assert!(
        (1..=150).contains(&n),
        "Gauss–Hermite rule supports 1..=150 nodes"
    );
    const PIM4: f64 = 0.751_125_544_464_942_5; // π^{-1/4}
    let nf = n as f64;
    let m = n.div_ceil(2);
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    let mut z = 0.0f64;
    for i in 0..m {
        z = match i {
            0 => (2.0 * nf + 1.0).sqrt() - 1.85575 * (2.0 * nf + 1.0).powf(-0.166_67),
            1 => z - 1.14 * nf.powf(0.426) / z,
            2 => 1.86 * z - 0.86 * x[0],
            3 => 1.91 * z - 0.91 * x[1],
            _ => 2.0 * z - x[i - 2],
        };
        let mut pp = 1.0;
        for _ in 0..200 {
            // Orthonormal Hermite recurrence: p_{j+1} = z sqrt(2/(j+1)) p_j − sqrt(j/(j+1)) p_{j−1}.
            let mut p1 = PIM4;
            let mut p2 = 0.0;
            for j in 0..n {
                let p3 = p2;
                p2 = p1;
                let jf = j as f64;
                p1 = z * (2.0 / (jf + 1.0)).sqrt() * p2 - (jf / (jf + 1.0)).sqrt() * p3;
            }
            pp = (2.0 * nf).sqrt() * p2;
            let z1 = z;
            z = z1 - p1 / pp;
            if (z - z1).abs() <= 1e-15 * z.abs().max(1.0) {
                break;
            }
        }
        x[i] = z;
        x[n - 1 - i] = -z;
        w[i] = 2.0 / (pp * pp);
        w[n - 1 - i] = w[i];
    }
    if n % 2 == 1 {
        x[m - 1] = 0.0;
    }
    (x, w)
}

/// Gauss–Legendre rule on [a, b].
pub fn gauss_legendre(n: usize, a: f64, b: f64) -> (Vec<f64>, Vec<f64>) {
    assert!(n >= 1, "need at least one node");
    let m = n.div_ceil(2);
    let xm = 0.5 * (b + a);
    let xl = 0.5 * (b - a);
    let nf = n as f64;
    let mut x = vec![0.0; n];
    let mut w = vec![0.0; n];
    for i in 0..m {
        let mut z = (std::f64::consts::PI * (i as f64 + 0.75) / (nf + 0.5)).cos();
        let mut pp = 1.0;
        for _ in 0..100 {
            let mut p1 = 1.0;
            let mut p2 = 0.0;
            for j in 0..n {
                let p3 = p2;
                p2 = p1;
                let jf = j as f64;
                p1 = ((2.0 * jf + 1.0) * z * p2 - jf * p3) / (jf + 1.0);
            }
            pp = nf * (z * p1 - p2) / (z * z - 1.0);
            let z1 = z;
            z = z1 - p1 / pp;
            if (z - z1).abs() <= 1e-15 {
                break;
            }
        }
        x[i] = xm - xl * z;
        x[n - 1 - i] = xm + xl * z;
        w[i] = 2.0 * xl / ((1.0 - z * z) * pp * pp);
        w[n - 1 - i] = w[i];
    }
    (x, w)
}

/// Half-width of the truncated Gaussian range used by the composite rules: the standard normal
/// mass beyond ±9 is 2e-19, negligible against activations of polynomial growth.
pub const TRUNC: f64 = 9.0;

fn gl10() -> &'static (Vec<f64>, Vec<f64>) {
    static R: OnceLock<(Vec<f64>, Vec<f64>)> = OnceLock::new();
    R.get_or_init(|| gauss_legendre(10, -1.0, 1.0))
}

/// A composite Gauss–Legendre rule (10 nodes per panel) for E[h(g)], g ~ N(0,1), truncated to
/// [−TRUNC, TRUNC], whose weights already include the normal density. Panels are at most 1.5 wide
/// and are graded geometrically around `center` down to width `scale`/2, where h changes on the
/// scale `scale` (an activation σ(s t) saturates or bends on |t| ~ 1/s). This resolves what a
/// global Gauss–Hermite rule cannot: with σ = tanh and variance 10, 64-node Gauss–Hermite is off
/// by 2e-3 in E[tanh²]; this rule agrees with a refined copy of itself to 1e-12 (tests).
pub fn composite_normal_rule(center: f64, scale: f64, out: &mut Vec<(f64, f64)>) {
    out.clear();
    let mut bp: Vec<f64> = Vec::with_capacity(64);
    let mut t = -TRUNC;
    while t < TRUNC {
        bp.push(t);
        t += 1.5;
    }
    bp.push(TRUNC);
    if scale.is_finite() && scale > 0.0 && center.abs() < TRUNC {
        bp.push(center);
        let mut h = 0.5 * scale;
        while h < 1.5 {
            bp.push(center - h);
            bp.push(center + h);
            h *= 2.0;
        }
    }
    bp.retain(|&b| (-TRUNC..=TRUNC).contains(&b));
    bp.sort_by(|a, b| a.partial_cmp(b).unwrap());
    bp.dedup_by(|a, b| (*a - *b).abs() < 1e-12);
    let (x, w) = gl10();
    let norm = 1.0 / (2.0 * std::f64::consts::PI).sqrt();
    for p in bp.windows(2) {
        let (a, b) = (p[0], p[1]);
        let (m, r) = (0.5 * (a + b), 0.5 * (b - a));
        for (&xi, &wi) in x.iter().zip(w.iter()) {
            let t = m + r * xi;
            out.push((t, r * wi * norm * (-0.5 * t * t).exp()));
        }
    }
}

/// E[f(u)] for u ~ N(0, k) with the composite rule graded at u = 0 (f's features on scale 1).
pub fn expect1<F: Fn(f64) -> f64>(f: F, k: f64) -> f64 {
    let s = k.max(0.0).sqrt();
    let mut r = Vec::new();
    composite_normal_rule(0.0, if s > 0.0 { 1.0 / s } else { f64::INFINITY }, &mut r);
    r.iter().map(|&(t, w)| w * f(s * t)).sum()
}

/// E[f(u) g(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]) by nested composite Gauss–Legendre
/// rules (see [`composite_normal_rule`]): u = l11 z1, v = l21 z1 + l22 z2; the outer rule in z1 is
/// graded at u = 0 and the inner rule in z2 at v = 0 (z2* = −l21 z1/l22), where activations bend,
/// on the scales 1/l11 and 1/l22.
///
/// The covariance is factored by a 2×2 Cholesky in which a zero pivot is allowed (k11 = 0 gives
/// u ≡ 0; a negative Schur complement from rounding, e.g. equal inputs, is clamped to 0 so that
/// v = (k12/√k11) z1 exactly).
pub fn expect2<F: Fn(f64) -> f64, G: Fn(f64) -> f64>(
    f: F,
    g: G,
    k11: f64,
    k12: f64,
    k22: f64,
) -> f64 {
    let (l11, l21, l22) = chol2(k11, k12, k22);
    let mut outer = Vec::new();
    let mut inner = Vec::new();
    if l11 == 0.0 {
        // u ≡ 0: one-dimensional in z2.
        let f0 = f(0.0);
        if f0 == 0.0 {
            return 0.0;
        }
        composite_normal_rule(0.0, 1.0 / l22, &mut inner);
        return f0 * inner.iter().map(|&(t, w)| w * g(l22 * t)).sum::<f64>();
    }
    // Grade the outer rule at u = 0 and, when v depends on z1 only, at v = 0 too (same point).
    composite_normal_rule(0.0, 1.0 / l11.max(l21.abs()), &mut outer);
    let mut total = 0.0;
    for &(t1, w1) in &outer {
        let fu = f(l11 * t1);
        if fu == 0.0 {
            continue;
        }
        let base = l21 * t1;
        let gv = if l22 == 0.0 {
            g(base)
        } else {
            composite_normal_rule(-base / l22, 1.0 / l22, &mut inner);
            inner
                .iter()
                .map(|&(t2, w2)| w2 * g(base + l22 * t2))
                .sum::<f64>()
        };
        total += w1 * fu * gv;
    }
    total
}

/// E[f(u) g(v)] for (u, v) ~ N(0, [[k11, k12], [k12, k22]]) by a tensor Gauss–Hermite rule
/// (same Cholesky as [`expect2`]). Spectrally accurate for entire functions of moderate scale
/// (polynomials of degree ≤ 2n−1 exactly); used by tests as an independent check.
pub fn gauss2<F: Fn(f64) -> f64, G: Fn(f64) -> f64>(
    f: F,
    g: G,
    k11: f64,
    k12: f64,
    k22: f64,
    rule: &(Vec<f64>, Vec<f64>),
) -> f64 {
    let (t, w) = rule;
    let (l11, l21, l22) = chol2(k11, k12, k22);
    let mut total = 0.0;
    for (i, &ti) in t.iter().enumerate() {
        let fu = f(l11 * ti);
        if fu == 0.0 {
            continue;
        }
        let base = l21 * ti;
        let inner = if l22 == 0.0 {
            g(base)
        } else {
            t.iter()
                .zip(w.iter())
                .map(|(&tj, &wj)| wj * g(base + l22 * tj))
                .sum::<f64>()
        };
        total += w[i] * fu * inner;
    }
    total
}

/// E[f(u)] for u ~ N(0, k) with a Gauss–Hermite rule.
pub fn gauss1<F: Fn(f64) -> f64>(f: F, k: f64, rule: &(Vec<f64>, Vec<f64>)) -> f64 {
    let s = k.max(0.0).sqrt();
    rule.0
        .iter()
        .zip(rule.1.iter())
        .map(|(&t, &w)| w * f(s * t))
        .sum()
}

/// 2×2 Cholesky with zero pivots allowed: returns (l11, l21, l22).
pub fn chol2(k11: f64, k12: f64, k22: f64) -> (f64, f64, f64) {
    if k11 <= 0.0 {
        return (0.0, 0.0, k22.max(0.0).sqrt());
    }
    let l11 = k11.sqrt();
    let l21 = k12 / l11;
    let l22 = (k22 - l21 * l21).max(0.0).sqrt();
    (l11, l21, l22)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hermite_moments() {
        // E g^{2k} = (2k−1)!!: exact for degree <= 2n−1 (tolerance: rounding only).
        let (t, w) = gauss_hermite_normal(40);
        let m = |p: i32| t.iter().zip(&w).map(|(x, w)| w * x.powi(p)).sum::<f64>();
        assert!((m(0) - 1.0).abs() < 1e-13);
        assert!((m(2) - 1.0).abs() < 1e-13);
        assert!((m(4) - 3.0).abs() < 1e-12);
        assert!((m(10) - 945.0).abs() < 1e-9);
        assert!(m(3).abs() < 1e-12);
        let (t, w) = gauss_hermite_normal(64);
        let m = |p: i32| t.iter().zip(&w).map(|(x, w)| w * x.powi(p)).sum::<f64>();
        assert!((m(0) - 1.0).abs() < 1e-13);
        assert!((m(6) - 15.0).abs() < 1e-11);
    }

    #[test]
    fn legendre_integrates_polynomials() {
        let (x, w) = gauss_legendre(20, -1.0, 2.0);
        let s: f64 = x.iter().zip(&w).map(|(x, w)| w * x.powi(5)).sum();
        assert!((s - (64.0 - 1.0) / 6.0).abs() < 1e-12);
    }
}

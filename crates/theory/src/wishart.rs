//! The singular values of a real Gaussian matrix: the real Wishart (Laguerre orthogonal) ensemble.
//!
//! Let G be an r × c matrix with i.i.d. N(0, 1) entries, p = min(r, c), N = max(r, c),
//! q = N − p = |r − c|. The eigenvalues λ_1 > … > λ_p > 0 of the p × p Gram matrix (G Gᵀ or
//! GᵀG, whichever is p × p; a real Wishart matrix W_p(N, I)) have the joint density
//!
//!   f(λ) = C⁻¹ Π_{j<k} (λ_j − λ_k) Π_j λ_j^{(q−1)/2} e^{−λ_j/2},
//!   C = 2^{pN/2} Γ_p(N/2) Γ_p(p/2) / π^{p²/2},  Γ_p(a) = π^{p(p−1)/4} Π_{j=1}^{p} Γ(a − (j−1)/2)
//!
//! (Muirhead, "Aspects of Multivariate Statistical Theory", 1982, Thm 3.2.18). In the singular
//! values t_j = √λ_j (λ^{(q−1)/2} dλ = 2 t^q dt) it is ∝ Π_{j<k} (t_j² − t_k²) Π_j t_j^q e^{−t_j²/2}
//! (Edelman, "Eigenvalues and condition numbers of random matrices", SIAM J. Matrix Anal. Appl. 9,
//! 1988, and his 1989 MIT thesis), which is smooth in t: the change of variables removes the
//! integrable singularity λ^{−1/2} of square matrices (q = 0).
//!
//! [`singular_value_cumulants`] gives κ_1..κ_6 of the i-th largest singular value t_i,
//! computed deterministically:
//!
//! 1. **Determinant form.** Π_{j<k}(λ_j − λ_k) = c · det[P_{p−1−k}(λ_j)]_{j,k} for any
//!    polynomials P_d of degree d (column operations on the Vandermonde matrix; c is the
//!    reciprocal product of their leading coefficients). We take the Laguerre polynomials
//!    L^{(q)}_d(λ), orthonormal for λ^q e^{−λ}: that is the weight of the *complex* Wishart
//!    matrix of the same shape, whose eigenvalues fill the same Marchenko–Pastur bulk, so the
//!    columns are nearly orthonormal there and the signed sums below lose few digits (with
//!    centred Chebyshev polynomials instead, p = 6 lost 5 digits and p = 8 lost 9; with Laguerre
//!    the trace identities hold to 1e-14 up to p = 14). With
//!    φ_k(t) = L^{(q)}_{p−1−k}(t²) t^q e^{−t²/2}, the joint density of t_1 > … > t_p is
//!    ∝ det[φ_k(t_j)].
//! 2. **Marginal of t_i by Laplace expansion.** Split the rows into the i − 1 above t_i, the row
//!    of t_i and the p − i below. Expanding the determinant over column sets T (rows above), a
//!    column k (row i) and the rest R (rows below), the unnormalized marginal density of t_i is
//!
//!      h_i(x) = Σ_{T, k} sgn(T, k, R) φ_k(x) U_T(x) D_R(x),
//!
//!    where U_T(x) = ∫_{t_1>…>t_{|T|}>x} det[φ_T(t_j)] and D_R(x) = ∫_{x>t_1>…>t_{|R|}>0} det[φ_R(t_j)]
//!    are ordered integrals of smaller determinants, and sgn is the sign of the permutation that
//!    lists T, k, R (each ascending). Expanding U_T along its lowest row and D_R along its
//!    highest gives one-dimensional recursions over subsets:
//!    D_∅ = 1,  D_R(x) = ∫_0^x Σ_{k∈R} (−1)^{pos(k,R)} φ_k(y) D_{R∖k}(y) dy,
//!    U_∅ = 1,  U_T(x) = ∫_x^∞ Σ_{k∈T} (−1)^{|T|−1+pos(k,T)} φ_k(y) U_{T∖k}(y) dy,
//!    2^p functions in all (no p! sum over permutations).
//! 3. **Quadrature.** All functions live on one composite Gauss–Legendre grid in t (16 nodes per
//!    panel of width 1/2) over [max(0, √N − √p − 10), √N + √p + 10]: the Gordon / Davidson–Szarek
//!    bounds P(t_1 > √N + √p + u), P(t_p < √N − √p − u) ≤ e^{−u²/2} put less than 2e-22 of the mass
//!    outside. The cumulative integrals at the nodes are exact for the degree-15 interpolant of
//!    the integrand on each panel (the spectral integration matrix S_{rs} = ∫_{−1}^{x_r} ℓ_s of
//!    the Legendre nodes). The integrands are polynomials times e^{−t²/2} (entire), so this
//!    converges spectrally; a refined grid agrees to ~1e-12 (tests).
//! 4. E[g(t_i)] = Σ_r W_r g(x_r) h_i(x_r) / Σ_r W_r h_i(x_r): the mean, then the central moments
//!    E[(t_i − E t_i)^m], m = 2..6 (no cancellation of large raw moments), then cumulants.
//!
//! Accuracy (crates/theory/tests/wishart.rs): the normalizer against Muirhead's constant, and
//! Σ_i E λ_i = pN, Σ_i E λ_i² = pN(N + p + 1), Σ_i E λ_i³ = pN(N² + p² + 3Np + 3N + 3p + 4) to
//! ~1e-14 relative for p ≤ [`MAX_P`] and N up to thousands; the smallest eigenvalue of a
//! p × (p+1) matrix is exponential with mean 2/p (Edelman 1988) to ~1e-15; p = 1 matches the
//! χ_N law; a finer grid agrees to ~1e-12. What limits p is the cost, not the accuracy: 2^p
//! functions on the grid, 30 ms and 14 MB at p = 10 (memoized per shape), doubling with each p.
//! p > [`MAX_P`] = 10 has no theory here.

use crate::exact::{self, MAXK};
use crate::quad::gauss_legendre;
use statrs::function::gamma::ln_gamma;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

/// The largest p = min(rows, cols) with a law here.
pub const MAX_P: usize = 10;

/// Gauss–Legendre nodes per panel.
const NODES: usize = 16;
/// Panel width in t (the integrands vary on the scale 1).
const PANEL: f64 = 0.5;
/// Margin in t beyond √N ± √p (the tail bound e^{−u²/2} at u = 10 is 2e-22).
const MARGIN: f64 = 10.0;

/// The quadrature grid: nodes ascending, weights, and the panel structure for cumulative
/// integrals.
struct Grid {
    /// Nodes per panel.
    n: usize,
    x: Vec<f64>,
    w: Vec<f64>,
    /// Half-width of each panel (n nodes each, in order).
    half: Vec<f64>,
    /// The integration matrix on [−1, 1]: s[r n + s] = ∫_{−1}^{x_r} ℓ_s(x) dx.
    s: Vec<f64>,
    /// Reference weights on [−1, 1].
    rw: Vec<f64>,
}

/// The spectral integration matrix of the n-point Gauss–Legendre nodes on [−1, 1]:
/// S_{rs} = ∫_{−1}^{x_r} ℓ_s(x) dx, with ℓ_s the Lagrange basis. Expanding
/// ℓ_s = Σ_{k<n} (2k+1)/2 w_s P_k(x_s) P_k (exact: the rule integrates degree ≤ 2n − 1) and
/// ∫_{−1}^{x} P_k = (P_{k+1}(x) − P_{k−1}(x))/(2k+1) (k ≥ 1), ∫_{−1}^{x} P_0 = x + 1:
/// S_{rs} = w_s [(x_r + 1)/2 + Σ_{k=1}^{n−1} P_k(x_s)(P_{k+1}(x_r) − P_{k−1}(x_r))/2].
pub fn integration_matrix(n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (x, w) = gauss_legendre(n, -1.0, 1.0);
    // Legendre values P_0..P_n at each node.
    let leg = |t: f64| {
        let mut p = vec![0.0; n + 1];
        p[0] = 1.0;
        if n >= 1 {
            p[1] = t;
        }
        for k in 1..n {
            p[k + 1] = ((2 * k + 1) as f64 * t * p[k] - k as f64 * p[k - 1]) / (k + 1) as f64;
        }
        p
    };
    let pv: Vec<Vec<f64>> = x.iter().map(|&t| leg(t)).collect();
    let mut s = vec![0.0; n * n];
    for r in 0..n {
        for c in 0..n {
            let mut v = (x[r] + 1.0) / 2.0;
            for k in 1..n {
                v += pv[c][k] * (pv[r][k + 1] - pv[r][k - 1]) / 2.0;
            }
            s[r * n + c] = w[c] * v;
        }
    }
    (x, w, s)
}

impl Grid {
    fn new(a: f64, b: f64, panel: f64, n: usize) -> Self {
        let panels = ((b - a) / panel).ceil().max(1.0) as usize;
        let h = (b - a) / panels as f64;
        let (rx, rw, s) = integration_matrix(n);
        let mut x = Vec::with_capacity(panels * n);
        let mut w = Vec::with_capacity(panels * n);
        for j in 0..panels {
            let mid = a + (j as f64 + 0.5) * h;
            for (&t, &v) in rx.iter().zip(&rw) {
                x.push(mid + 0.5 * h * t);
                w.push(0.5 * h * v);
            }
        }
        Grid {
            n,
            x,
            w,
            half: vec![0.5 * h; panels],
            s,
            rw,
        }
    }

    /// F(x_r) = ∫_a^{x_r} f at every node, from f's values at the nodes.
    fn lower(&self, f: &[f64], out: &mut [f64]) {
        let n = self.n;
        let mut offset = 0.0;
        for (j, &hh) in self.half.iter().enumerate() {
            let fv = &f[j * n..(j + 1) * n];
            for r in 0..n {
                let row = &self.s[r * n..(r + 1) * n];
                out[j * n + r] = offset + hh * row.iter().zip(fv).map(|(a, b)| a * b).sum::<f64>();
            }
            offset += hh * self.rw.iter().zip(fv).map(|(a, b)| a * b).sum::<f64>();
        }
    }

    /// F(x_r) = ∫_{x_r}^b f at every node.
    fn upper(&self, f: &[f64], out: &mut [f64]) {
        let n = self.n;
        let mut offset = 0.0;
        for (j, &hh) in self.half.iter().enumerate().rev() {
            let fv = &f[j * n..(j + 1) * n];
            for r in 0..n {
                let row = &self.s[r * n..(r + 1) * n];
                // ∫_{x_r}^{panel end} = Σ_s (w_s − S_rs) f_s.
                let part: f64 = row
                    .iter()
                    .zip(&self.rw)
                    .zip(fv)
                    .map(|((s, w), v)| (w - s) * v)
                    .sum();
                out[j * n + r] = offset + hh * part;
            }
            offset += hh * self.rw.iter().zip(fv).map(|(a, b)| a * b).sum::<f64>();
        }
    }
}

/// Laguerre polynomials L^{(α)}_0..L^{(α)}_d at λ, orthonormal for the weight
/// λ^α e^{−λ}/Γ(α + 1): p_{k+1} = ((2k + α + 1 − λ) p_k − √(k(k + α)) p_{k−1})/√((k+1)(k+α+1)).
fn laguerre(lam: f64, alpha: f64, d: usize) -> Vec<f64> {
    let mut v = vec![0.0; d + 1];
    v[0] = 1.0;
    for k in 0..d {
        let kf = k as f64;
        let prev = if k == 0 { 0.0 } else { v[k - 1] };
        v[k + 1] = ((2.0 * kf + alpha + 1.0 - lam) * v[k] - (kf * (kf + alpha)).sqrt() * prev)
            / ((kf + 1.0) * (kf + alpha + 1.0)).sqrt();
    }
    v
}

/// (−1)^n.
fn parity_sign(n: usize) -> f64 {
    if n & 1 == 0 {
        1.0
    } else {
        -1.0
    }
}

/// The unnormalized marginal densities of t_1..t_p on a grid, with the constants needed to
/// express the normalizer in Muirhead's units.
struct Marginals {
    grid: Grid,
    /// h[i][r]: the marginal of t_{i+1} at node r (times an i-independent constant).
    h: Vec<Vec<f64>>,
    /// ln of the constants dropped from h (Laguerre leading coefficients, e^{−wmax} per
    /// variable, 2 t^q dt = λ^{(q−1)/2} dλ).
    log_dropped: f64,
}

fn marginals(rows: usize, cols: usize, panel: f64, nodes: usize) -> Option<Marginals> {
    let p = rows.min(cols);
    let big = rows.max(cols);
    if p == 0 || p > MAX_P {
        return None;
    }
    let q = (big - p) as f64;
    let (pf, nf) = (p as f64, big as f64);
    let a = (nf.sqrt() - pf.sqrt() - MARGIN).max(0.0);
    let b = nf.sqrt() + pf.sqrt() + MARGIN;
    let grid = Grid::new(a, b, panel, nodes);
    let m = grid.x.len();
    let alpha = q;
    // ln of the weight t^q e^{−t²/2} at its mode, subtracted to keep it O(1).
    let wmax = if q > 0.0 {
        0.5 * q * q.ln() - 0.5 * q
    } else {
        0.0
    };
    // phi[k][r] = L^{(q)}_{p−1−k}(t²) t^q e^{−t²/2 − wmax} (orthonormal Laguerre).
    let mut phi = vec![vec![0.0; m]; p];
    for (r, &t) in grid.x.iter().enumerate() {
        let lw = if q > 0.0 {
            if t <= 0.0 {
                f64::NEG_INFINITY
            } else {
                q * t.ln() - 0.5 * t * t - wmax
            }
        } else {
            -0.5 * t * t
        };
        let w = lw.exp();
        let lag = laguerre(t * t, alpha, p - 1);
        for (k, ph) in phi.iter_mut().enumerate() {
            ph[r] = lag[p - 1 - k] * w;
        }
    }
    let full = 1usize << p;
    let pos = |k: usize, set: usize| (set & ((1 << k) - 1)).count_ones() as usize;
    let mut down: Vec<Vec<f64>> = vec![Vec::new(); full];
    let mut up: Vec<Vec<f64>> = vec![Vec::new(); full];
    down[0] = vec![1.0; m];
    up[0] = vec![1.0; m];
    // Subsets in order of size, so that every R ∖ k is done before R.
    let mut order: Vec<usize> = (1..full).collect();
    order.sort_by_key(|s| s.count_ones());
    let mut f = vec![0.0; m];
    for &set in &order {
        let size = set.count_ones() as usize;
        // D_set.
        f.iter_mut().for_each(|v| *v = 0.0);
        for k in (0..p).filter(|&k| set & (1 << k) != 0) {
            let sign = parity_sign(pos(k, set));
            let prev = &down[set & !(1 << k)];
            for r in 0..m {
                f[r] += sign * phi[k][r] * prev[r];
            }
        }
        let mut out = vec![0.0; m];
        grid.lower(&f, &mut out);
        down[set] = out;
        // U_set.
        f.iter_mut().for_each(|v| *v = 0.0);
        for k in (0..p).filter(|&k| set & (1 << k) != 0) {
            let sign = parity_sign(size - 1 + pos(k, set));
            let prev = &up[set & !(1 << k)];
            for r in 0..m {
                f[r] += sign * phi[k][r] * prev[r];
            }
        }
        let mut out = vec![0.0; m];
        grid.upper(&f, &mut out);
        up[set] = out;
    }
    // h_i = Σ_{T, k} sgn(T, k, R) φ_k U_T D_R, |T| = i − 1.
    let all = full - 1;
    let mut h = vec![vec![0.0; m]; p];
    for (top, u) in up.iter().enumerate() {
        let i = top.count_ones() as usize;
        if i >= p {
            continue;
        }
        for k in (0..p).filter(|&k| top & (1 << k) == 0) {
            let rest = all & !top & !(1 << k);
            // Inversions of the list (T ascending, k, R ascending).
            let mut inv = 0usize;
            for t in (0..p).filter(|&t| top & (1 << t) != 0) {
                inv += usize::from(t > k);
                inv += (0..t).filter(|&r| rest & (1 << r) != 0).count();
            }
            inv += (0..k).filter(|&r| rest & (1 << r) != 0).count();
            let sign = parity_sign(inv);
            let d = &down[rest];
            for r in 0..m {
                h[i][r] += sign * phi[k][r] * u[r] * d[r];
            }
        }
    }
    // The dropped constants: det[L_{p−1−k}(λ_j)] = Π_d ℓ_d · Π_{j<k}(λ_j − λ_k), with the
    // leading coefficients ℓ_d = (−1)^d/√(d! (α+1)_d) of the orthonormal Laguerre polynomials;
    // their sign (−1)^{p(p−1)/2} is applied to h, ln|ℓ_d| dropped. 2 t^q dt = λ^{(q−1)/2} dλ;
    // e^{−wmax} per variable.
    let ln2 = std::f64::consts::LN_2;
    let lead: f64 = (0..p)
        .map(|d| {
            let d = d as f64;
            -0.5 * (ln_gamma(d + 1.0) + ln_gamma(alpha + d + 1.0) - ln_gamma(alpha + 1.0))
        })
        .sum();
    if parity_sign(p * (p - 1) / 2) < 0.0 {
        for hi in h.iter_mut() {
            for v in hi.iter_mut() {
                *v = -*v;
            }
        }
    }
    let log_dropped = -lead + pf * ln2 + pf * wmax;
    Some(Marginals {
        grid,
        h,
        log_dropped,
    })
}

/// ln ∫_{λ_1>…>λ_p>0} Π_{j<k}(λ_j − λ_k) Π_j λ_j^{(q−1)/2} e^{−λ_j/2} dλ by the quadrature of
/// this module (for tests against Muirhead's constant), once from the marginal of each t_i,
/// i = 1..p (the same value up to quadrature error). None for p > [`MAX_P`].
pub fn log_normalizers(rows: usize, cols: usize) -> Option<Vec<f64>> {
    let mg = marginals(rows, cols, PANEL, NODES)?;
    mg.h.iter()
        .map(|h| {
            let z: f64 = mg.grid.w.iter().zip(h).map(|(w, v)| w * v).sum();
            (z > 0.0).then(|| z.ln() + mg.log_dropped)
        })
        .collect()
}

/// Mean and central moments E[(t_i − E t_i)^m], m = 0..=6 (index 1 holds the mean), of the
/// i-th largest singular value of an r × c standard Gaussian matrix, for i = 1..p, by the
/// quadrature of this module (also at p = 1, where [`singular_value_cumulants`] uses the χ law).
/// None for p > [`MAX_P`], or if a marginal is not positive (a failed quadrature).
pub fn quadrature_moments(rows: usize, cols: usize) -> Option<Vec<[f64; MAXK + 1]>> {
    quadrature_moments_on(rows, cols, PANEL, NODES)
}

/// [`quadrature_moments`] on a grid of panels at most `panel` wide with `nodes` Gauss–Legendre
/// nodes each (the default is 1/2 and 16; tests refine it).
pub fn quadrature_moments_on(
    rows: usize,
    cols: usize,
    panel: f64,
    nodes: usize,
) -> Option<Vec<[f64; MAXK + 1]>> {
    if panel.is_nan() || panel <= 0.0 || nodes < 2 {
        return None;
    }
    let mg = marginals(rows, cols, panel, nodes)?;
    let (x, w) = (&mg.grid.x, &mg.grid.w);
    let mut out = Vec::new();
    for h in &mg.h {
        let z: f64 = w.iter().zip(h).map(|(w, v)| w * v).sum();
        if !(z > 0.0 && z.is_finite()) {
            return None;
        }
        let mean: f64 = x
            .iter()
            .zip(w)
            .zip(h)
            .map(|((x, w), v)| x * w * v)
            .sum::<f64>()
            / z;
        let mut mom = [0.0; MAXK + 1];
        mom[0] = 1.0;
        mom[1] = mean;
        for (&xr, (&wr, &hr)) in x.iter().zip(w.iter().zip(h)) {
            let d = xr - mean;
            let mut pw = d * d;
            for mm in mom.iter_mut().skip(2) {
                *mm += wr * hr * pw / z;
                pw *= d;
            }
        }
        out.push(mom);
    }
    Some(out)
}

/// Cumulants κ_0..κ_6 (κ_0 = 0) of the i-th largest singular value (i = 1..p) of an r × c
/// standard Gaussian matrix. p = 1 is the χ_N law in closed form
/// ([`exact::jacobian_cumulants`]); 2 ≤ p ≤ [`MAX_P`] the quadrature of this module (memoized
/// per (p, N)). None for i out of range or p > [`MAX_P`].
pub fn singular_value_cumulants(rows: usize, cols: usize, i: usize) -> Option<Vec<f64>> {
    let p = rows.min(cols);
    let big = rows.max(cols);
    if i == 0 || i > p || p > MAX_P {
        return None;
    }
    if p == 1 {
        return Some(exact::jacobian_cumulants(1.0, &[1, big], false));
    }
    type Cache = Mutex<HashMap<(usize, usize), Arc<Vec<Vec<f64>>>>>;
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let cache = CACHE.get_or_init(|| Mutex::new(HashMap::new()));
    if let Some(v) = cache.lock().ok().and_then(|c| c.get(&(p, big)).cloned()) {
        return v.get(i - 1).cloned();
    }
    let moments = quadrature_moments(p, big)?;
    let kaps: Vec<Vec<f64>> = moments
        .iter()
        .map(|mom| {
            let mut central = mom.to_vec();
            central[1] = 0.0;
            let mut kap = exact::cumulants_from_moments(&central);
            kap[0] = 0.0;
            kap[1] = mom[1];
            kap
        })
        .collect();
    if kaps.iter().flatten().any(|v| !v.is_finite()) {
        return None;
    }
    let kaps = Arc::new(kaps);
    if let Ok(mut c) = cache.lock() {
        c.insert((p, big), kaps.clone());
    }
    kaps.get(i - 1).cloned()
}

/// Cumulants κ_0..κ_6 of the i-th largest singular value of v^{1/2} G, G an r × c standard
/// Gaussian matrix (entries of variance v): κ_j scales as v^{j/2}.
pub fn scaled_singular_value_cumulants(
    rows: usize,
    cols: usize,
    i: usize,
    v: f64,
) -> Option<Vec<f64>> {
    let kap = singular_value_cumulants(rows, cols, i)?;
    let s = v.sqrt();
    Some(
        kap.iter()
            .enumerate()
            .map(|(j, k)| k * s.powi(j as i32))
            .collect(),
    )
}

//! Small dense symmetric linear algebra for the matrix-free engine: a cyclic Jacobi
//! eigensolver for k x k symmetric matrices (k up to a few dozen) and what is built on it
//! (square-root factors and Moore–Penrose pseudo-inverses of positive semi-definite Gram
//! matrices). Gram matrices of network activations are often exactly singular (dead ReLU units,
//! equal inputs, widths smaller than the number of columns, collinear tangents), so nothing here
//! ever uses a plain Cholesky factorization.
//!
//! Matrices are row-major `&[f64]` of length `n * n`.

/// Relative eigenvalue cutoff of [`PsdFactor`]: eigenvalues `λ <= RANK_RTOL * λ_max` of a Gram
/// matrix are treated as exact zeros. A Gram matrix formed in f64 carries absolute errors of
/// order `n ε λ_max` in its entries (`ε = 2.2e-16`), so for widths up to ~10^4 the genuine
/// zeros sit below ~1e-12 λ_max; 1e-10 leaves a margin of 100. Directions with
/// `λ <= 1e-10 λ_max` carry at most a fraction `sqrt(1e-10) = 1e-5` of the columns' norm.
pub const RANK_RTOL: f64 = 1e-10;

/// Maximum number of Jacobi sweeps; 6-10 suffice for n <= 32 at full precision. The f32 GPU
/// twin stops at 16 (`gpu::matrix_free::MAX_SWEEPS_F32`, which says why the two differ).
const MAX_SWEEPS: usize = 64;

/// Eigendecomposition of the symmetric `n x n` matrix `a` (row-major; destroyed) by cyclic
/// Jacobi rotations (Golub & Van Loan, *Matrix Computations*, §8.5; rotation formulas as in
/// Numerical Recipes' `jacobi`). On return `w[m]` is the m-th eigenvalue (unsorted) and column
/// `m` of `v` (`v[i * n + m]`) its unit eigenvector, so `a_in = V diag(w) Vᵀ`.
///
/// Jacobi is backward stable and works for singular and indefinite matrices alike. Non-finite
/// input gives NaN eigenvalues and vectors at once, which the engines pass on as a diverged
/// network.
pub fn sym_eigen(a: &mut [f64], n: usize, v: &mut [f64], w: &mut [f64]) {
    assert!(a.len() >= n * n && v.len() >= n * n && w.len() >= n);
    for i in 0..n {
        for j in 0..n {
            v[i * n + j] = if i == j { 1.0 } else { 0.0 };
        }
    }
    // Work on A / max|a_ij| so that the sums of squares below cannot overflow or underflow.
    let amax = a[..n * n].iter().fold(0.0f64, |m, x| m.max(x.abs()));
    if amax.is_nan() || amax.is_infinite() || a[..n * n].iter().any(|x| x.is_nan()) {
        w[..n].iter_mut().for_each(|x| *x = f64::NAN);
        v[..n * n].iter_mut().for_each(|x| *x = f64::NAN);
        return;
    }
    let inv = 1.0 / amax;
    if amax == 0.0 || !inv.is_finite() {
        // Zero (or subnormal: entries below 1e-308, treated as zero).
        w[..n].iter_mut().for_each(|x| *x = 0.0);
        return;
    }
    a[..n * n].iter_mut().for_each(|x| *x *= inv);
    for _sweep in 0..MAX_SWEEPS {
        let mut off = 0.0;
        let mut diag = 0.0;
        for p in 0..n {
            diag += a[p * n + p] * a[p * n + p];
            for q in p + 1..n {
                off += a[p * n + q] * a[p * n + q];
            }
        }
        // Off-diagonal Frobenius norm below ~1e-17 of the whole: converged (eigenvalue
        // errors are then O(ε ||A||)).
        if off == 0.0 || off <= 1e-34 * (diag + 2.0 * off) {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = a[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let app = a[p * n + p];
                let aqq = a[q * n + q];
                let theta = (aqq - app) / (2.0 * apq);
                // t = tan(phi): the smaller root of t^2 + 2 t theta - 1 = 0.
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    let r = 1.0 / (theta.abs() + (theta * theta + 1.0).sqrt());
                    if theta < 0.0 {
                        -r
                    } else {
                        r
                    }
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                a[p * n + p] = app - t * apq;
                a[q * n + q] = aqq + t * apq;
                a[p * n + q] = 0.0;
                a[q * n + p] = 0.0;
                for r in 0..n {
                    if r != p && r != q {
                        let arp = a[r * n + p];
                        let arq = a[r * n + q];
                        let nrp = c * arp - s * arq;
                        let nrq = s * arp + c * arq;
                        a[r * n + p] = nrp;
                        a[p * n + r] = nrp;
                        a[r * n + q] = nrq;
                        a[q * n + r] = nrq;
                    }
                }
                for r in 0..n {
                    let vrp = v[r * n + p];
                    let vrq = v[r * n + q];
                    v[r * n + p] = c * vrp - s * vrq;
                    v[r * n + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    for i in 0..n {
        w[i] = a[i * n + i] * amax;
    }
}

/// The factorization of a positive semi-definite `n x n` matrix `Σ` kept by the matrix-free
/// engine: its numerical rank `r` (eigenvalues above [`RANK_RTOL`] `λ_max`), a square-root
/// factor `S` (`r x n`, rows `sqrt(λ_m) v_mᵀ`, so `SᵀS = Σ` up to the cutoff) and the
/// pseudo-inverse `Σ⁺ = Σ_m v_m v_mᵀ / λ_m` (`n x n`).
#[derive(Debug, Clone, Default)]
pub struct PsdFactor {
    pub n: usize,
    pub rank: usize,
    /// `rank x n`, row-major.
    pub sqrt: Vec<f64>,
    /// `n x n`, row-major (filled only when asked for).
    pub pinv: Vec<f64>,
    work: Vec<f64>,
    vecs: Vec<f64>,
    vals: Vec<f64>,
}

impl PsdFactor {
    /// Factors the PSD matrix `sigma` (`n x n`, row-major, not modified). Eigenvalues at or
    /// below `RANK_RTOL * λ_max` (including the slightly negative ones rounding produces) are
    /// dropped. With `want_pinv` the pseudo-inverse is formed too.
    pub fn factor(&mut self, sigma: &[f64], n: usize, want_pinv: bool) {
        self.n = n;
        self.work.clear();
        self.work.extend_from_slice(&sigma[..n * n]);
        self.vecs.resize(n * n, 0.0);
        self.vals.resize(n, 0.0);
        sym_eigen(&mut self.work, n, &mut self.vecs, &mut self.vals);
        let lmax = self.vals.iter().cloned().fold(0.0f64, f64::max);
        let cut = RANK_RTOL * lmax;
        let nan = self.vals.iter().any(|v| !v.is_finite());
        self.sqrt.clear();
        self.rank = 0;
        if want_pinv {
            self.pinv.clear();
            self.pinv.resize(n * n, if nan { f64::NAN } else { 0.0 });
        }
        if nan {
            // Diverged network: one all-NaN row propagates NaN to everything downstream.
            self.rank = 1;
            self.sqrt.resize(n, f64::NAN);
            return;
        }
        for m in 0..n {
            let lam = self.vals[m];
            if lam > cut {
                self.rank += 1;
                let s = lam.sqrt();
                for i in 0..n {
                    self.sqrt.push(s * self.vecs[i * n + m]);
                }
                if want_pinv {
                    let inv = 1.0 / lam;
                    for i in 0..n {
                        let vi = self.vecs[i * n + m] * inv;
                        for j in 0..n {
                            self.pinv[i * n + j] += vi * self.vecs[j * n + m];
                        }
                    }
                }
            }
        }
    }
}

/// Modified Gram–Schmidt, twice (for orthogonality to rounding), on the first `alive` of the
/// column-major columns of length `n` in `cols`; columns from `alive` on are left as they are.
/// With `log_r`, ln R_jj is added to `log_r[j]`. Returns the rank reached: the first j whose
/// R_jj is 0 (or not finite) ends it.
pub fn gram_schmidt(
    cols: &mut [f64],
    n: usize,
    alive: usize,
    mut log_r: Option<&mut Vec<f64>>,
) -> usize {
    for j in 0..alive {
        let (done, rest) = cols.split_at_mut(j * n);
        let v = &mut rest[..n];
        for _ in 0..2 {
            for q in done.chunks_exact(n) {
                let r = crate::dense::dot(q, v);
                for (vi, qi) in v.iter_mut().zip(q) {
                    *vi -= r * qi;
                }
            }
        }
        let r = crate::dense::dot(v, v).sqrt();
        if !(r > 0.0 && r.is_finite()) {
            return j;
        }
        for vi in v.iter_mut() {
            *vi /= r;
        }
        if let Some(log_r) = log_r.as_deref_mut() {
            log_r[j] += r.ln();
        }
    }
    alive
}

/// One hidden layer of the Lyapunov QR iteration (docs/engines.md, "Lyapunov exponents"): the
/// frame's columns become D ⊙ (W Q) — `z` holds W Q column by column, `d0` = σ'(z(x_0)) — for
/// the first `alive` of them (the others are zeroed), the rank is capped at the number of rows
/// with σ' ≠ 0 (the others are zero rows: a structural drop, not rounding), and Gram–Schmidt
/// adds ln R_jj to `log_r[j]`. Returns the rank reached.
pub fn lyapunov_layer(
    frame: &mut [f64],
    z: &[f64],
    d0: &[f64],
    alive: usize,
    log_r: &mut Vec<f64>,
) -> usize {
    let n = d0.len();
    for (f, (col, zc)) in frame.chunks_exact_mut(n).zip(z.chunks_exact(n)).enumerate() {
        for ((c, &zi), &d) in col.iter_mut().zip(zc).zip(d0) {
            *c = if f < alive { d * zi } else { 0.0 };
        }
    }
    let active = d0.iter().filter(|&&d| d != 0.0).count();
    gram_schmidt(frame, n, alive.min(active), Some(log_r))
}

/// The exponents (1/L) Σ_l ln R^l_jj into `out`; NaN (a missing value) past a rank drop.
pub fn lyapunov_values(out: &mut [f64], log_r: &[f64], alive: usize, depth: usize) {
    for (j, o) in out.iter_mut().enumerate() {
        *o = if j < alive {
            log_r[j] / depth as f64
        } else {
            f64::NAN
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matmul(a: &[f64], b: &[f64], n: usize, k: usize, m: usize) -> Vec<f64> {
        let mut c = vec![0.0; n * m];
        for i in 0..n {
            for l in 0..k {
                for j in 0..m {
                    c[i * m + j] += a[i * k + l] * b[l * m + j];
                }
            }
        }
        c
    }

    fn gram(a: &[f64], rows: usize, cols: usize) -> Vec<f64> {
        let mut g = vec![0.0; cols * cols];
        for r in 0..rows {
            for i in 0..cols {
                for j in 0..cols {
                    g[i * cols + j] += a[r * cols + i] * a[r * cols + j];
                }
            }
        }
        g
    }

    fn max_abs_diff(a: &[f64], b: &[f64]) -> f64 {
        a.iter()
            .zip(b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    /// A deterministic pseudo-random fill (no RNG dependency).
    fn fill(seed: u64, out: &mut [f64]) {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        for v in out.iter_mut() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *v = (s >> 11) as f64 / (1u64 << 53) as f64 * 2.0 - 1.0;
        }
    }

    #[test]
    fn eigen_reconstructs_symmetric_matrices() {
        for &n in &[1usize, 2, 3, 6, 12, 20] {
            let mut b = vec![0.0; n * n];
            fill(n as u64, &mut b);
            let mut a = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    a[i * n + j] = b[i * n + j] + b[j * n + i];
                }
            }
            let a0 = a.clone();
            let (mut v, mut w) = (vec![0.0; n * n], vec![0.0; n]);
            sym_eigen(&mut a, n, &mut v, &mut w);
            // V diag(w) Vᵀ = A and VᵀV = I.
            let mut vd = v.clone();
            for i in 0..n {
                for m in 0..n {
                    vd[i * n + m] *= w[m];
                }
            }
            let mut vt = vec![0.0; n * n];
            for i in 0..n {
                for j in 0..n {
                    vt[j * n + i] = v[i * n + j];
                }
            }
            assert!(
                max_abs_diff(&matmul(&vd, &vt, n, n, n), &a0) < 1e-13,
                "n = {n}"
            );
            let eye: Vec<f64> = (0..n * n)
                .map(|i| if i / n == i % n { 1.0 } else { 0.0 })
                .collect();
            assert!(
                max_abs_diff(&matmul(&vt, &v, n, n, n), &eye) < 1e-13,
                "n = {n}"
            );
        }
    }

    /// Moore–Penrose conditions and the projector P_A = A Σ⁺ Aᵀ for Gram matrices of tall
    /// matrices with exactly dependent columns, a zero column, all zeros, and more columns than
    /// rows: the singular cases of the engine.
    #[test]
    fn pseudo_inverse_of_singular_grams() {
        let rows = 5;
        type Case = (usize, Box<dyn Fn(&mut [f64])>);
        let cases: Vec<Case> = vec![
            // columns 0 and 2 equal, column 3 = 2 * column 1 - column 0
            (
                4,
                Box::new(|a: &mut [f64]| {
                    fill(7, a);
                    for r in 0..5 {
                        a[r * 4 + 2] = a[r * 4];
                        a[r * 4 + 3] = 2.0 * a[r * 4 + 1] - a[r * 4];
                    }
                }),
            ),
            // a zero column (all-dead tangent)
            (
                3,
                Box::new(|a: &mut [f64]| {
                    fill(8, a);
                    for r in 0..5 {
                        a[r * 3 + 1] = 0.0;
                    }
                }),
            ),
            // all zeros
            (
                3,
                Box::new(|a: &mut [f64]| a.iter_mut().for_each(|v| *v = 0.0)),
            ),
            // 8 columns, 5 rows: rank 5
            (8, Box::new(|a: &mut [f64]| fill(9, a))),
            // rank one, huge scale
            (
                4,
                Box::new(|a: &mut [f64]| {
                    fill(10, a);
                    for r in 0..5 {
                        let x = a[r * 4] * 1e150;
                        for c in 0..4 {
                            a[r * 4 + c] = x * (c as f64 + 1.0);
                        }
                    }
                }),
            ),
        ];
        let expected_rank = [2usize, 2, 0, 5, 1];
        for (case, (cols, make)) in cases.iter().enumerate() {
            let cols = *cols;
            let mut a = vec![0.0; rows * cols];
            make(&mut a);
            let g = gram(&a, rows, cols);
            let mut f = PsdFactor::default();
            f.factor(&g, cols, true);
            assert_eq!(f.rank, expected_rank[case], "case {case}");
            let scale = g.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
            // S^T S = G
            let mut st = vec![0.0; cols * f.rank];
            for m in 0..f.rank {
                for i in 0..cols {
                    st[i * f.rank + m] = f.sqrt[m * cols + i];
                }
            }
            let sts = matmul(&st, &f.sqrt, cols, f.rank, cols);
            assert!(max_abs_diff(&sts, &g) <= 1e-13 * scale, "case {case}: SᵀS");
            // G G⁺ G = G, G⁺ G G⁺ = G⁺, G⁺ symmetric.
            let ggp = matmul(&g, &f.pinv, cols, cols, cols);
            assert!(
                max_abs_diff(&matmul(&ggp, &g, cols, cols, cols), &g) <= 1e-12 * scale,
                "case {case}: G G⁺ G"
            );
            let pscale = f
                .pinv
                .iter()
                .fold(0.0f64, |m, v| m.max(v.abs()))
                .max(1e-300);
            let gpggp = matmul(&f.pinv, &ggp, cols, cols, cols);
            assert!(
                max_abs_diff(&gpggp, &f.pinv) <= 1e-11 * pscale,
                "case {case}: G⁺GG⁺"
            );
            for i in 0..cols {
                for j in 0..cols {
                    assert!((f.pinv[i * cols + j] - f.pinv[j * cols + i]).abs() <= 1e-12 * pscale);
                }
            }
            // A⁺ = Σ⁺ Aᵀ: P = A Σ⁺ Aᵀ (rows x rows) is a projector with P A = A.
            let mut at = vec![0.0; cols * rows];
            for r in 0..rows {
                for c in 0..cols {
                    at[c * rows + r] = a[r * cols + c];
                }
            }
            let apinv = matmul(&f.pinv, &at, cols, cols, rows);
            let p = matmul(&a, &apinv, rows, cols, rows);
            let pa = matmul(&p, &a, rows, rows, cols);
            let ascale = a.iter().fold(0.0f64, |m, v| m.max(v.abs())).max(1e-300);
            assert!(
                max_abs_diff(&pa, &a) <= 1e-11 * ascale,
                "case {case}: P A = A"
            );
            let pp = matmul(&p, &p, rows, rows, rows);
            assert!(max_abs_diff(&pp, &p) <= 1e-11, "case {case}: P^2 = P");
            let trace: f64 = (0..rows).map(|i| p[i * rows + i]).sum();
            assert!(
                (trace - f.rank as f64).abs() < 1e-10,
                "case {case}: tr P = rank"
            );
        }
    }

    #[test]
    fn non_finite_input_is_reported_not_hung() {
        let g = [1.0, f64::NAN, f64::NAN, 2.0];
        let mut f = PsdFactor::default();
        f.factor(&g, 2, true);
        assert!(f.sqrt.iter().any(|v| v.is_nan()));
        let g = [f64::INFINITY, 0.0, 0.0, 1.0];
        f.factor(&g, 2, true);
        assert!(f.sqrt.iter().chain(&f.pinv).any(|v| !v.is_finite()));
    }
}

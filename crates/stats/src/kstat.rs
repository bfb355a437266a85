//! Generalized k-statistics (Fisher 1929) evaluated from central power sums.
//!
//! # Derivation (Kendall & Stuart, *The Advanced Theory of Statistics* vol. 1, ch. 12-13)
//!
//! A joint cumulant of `r` variables `X_1..X_r` (some of which may be the same variable) is,
//! by the moment-cumulant formula,
//!
//! ```text
//! kappa(X_1..X_r) = sum_{pi set partition of {1..r}} (-1)^{|pi|-1} (|pi|-1)! prod_{B in pi} E[prod_{j in B} X_j].
//! ```
//!
//! For a sample of `n` i.i.d. copies, the product of `k` raw moments `prod_{B} E[X^{e(B)}]` has the
//! unbiased estimator `[e(B_1), ..., e(B_k)] / (n)_k`, where `[...]` is the *augmented symmetric
//! function* (sum over ordered `k`-tuples of DISTINCT sample indices) and `(n)_k = n (n-1) ... (n-k+1)`.
//! The augmented symmetric functions are turned into products of power sums
//! `S_e = sum_i prod_v y_{i,v}^{e_v}` by Möbius inversion on the lattice of set partitions:
//!
//! ```text
//! [e_1, ..., e_k] = sum_{sigma set partition of {1..k}} prod_{C in sigma} (-1)^{|C|-1} (|C|-1)! S_{sum_{j in C} e_j}.
//! ```
//!
//! The result is a symmetric polynomial in the sample that is unbiased for the cumulant, i.e. the
//! (generalized) k-statistic, which is unique (Halmos 1946). For `r = 2, 3, 4` it reproduces the
//! familiar formulas; for `r = 6` it reproduces Fisher's `k_6` (MathWorld "k-Statistic", eq. for
//! `k_6` in power sums). Because k-statistics of order >= 2 are translation invariant, we feed the
//! *central* power sums (deviations from the sample mean), for which `S_e = 0` whenever `|e| = 1`;
//! terms containing such a factor are dropped from the tables.
//!
//! The tests in `tests/` check exact unbiasedness by enumerating every sample of a discrete law,
//! against cumulants computed independently by the moment-cumulant recursion.

use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Exponent vector of one power-sum factor: `[power of variable a, power of variable b]`.
pub(crate) type Exp = [u8; 2];

/// One aggregated term `coef * prod_{f in factors} S_f / (n)_k`.
#[derive(Debug, Clone)]
pub(crate) struct Term {
    pub k: usize,
    pub coef: f64,
    pub factors: Vec<Exp>,
}

/// All restricted growth strings of length `len` (= set partitions of `{0..len}`); each entry is
/// the block label of each element.
fn set_partitions(len: usize) -> Vec<Vec<usize>> {
    let mut out = Vec::new();
    if len == 0 {
        out.push(Vec::new());
        return out;
    }
    let mut a = vec![0usize; len];
    fn rec(a: &mut Vec<usize>, i: usize, max: usize, out: &mut Vec<Vec<usize>>) {
        if i == a.len() {
            out.push(a.clone());
            return;
        }
        for v in 0..=max + 1 {
            a[i] = v;
            rec(a, i + 1, max.max(v), out);
        }
    }
    // Element 0 is always in block 0.
    rec(&mut a, 1, 0, &mut out);
    out
}

fn factorial(k: usize) -> i64 {
    (1..=k as i64).product()
}

/// Builds the table of the k-statistic for the cumulant of the variables named by `labels`
/// (each label 0 or 1, i.e. variable a or b), in terms of CENTRAL power sums.
pub(crate) fn build_table(labels: &[u8]) -> Vec<Term> {
    let r = labels.len();
    let mut agg: BTreeMap<(usize, Vec<Exp>), i64> = BTreeMap::new();
    for pi in set_partitions(r) {
        let k = pi.iter().copied().max().map_or(0, |m| m + 1);
        let mut blocks = vec![[0u8; 2]; k];
        for (slot, &b) in pi.iter().enumerate() {
            blocks[b][labels[slot] as usize] += 1;
        }
        let c_pi = if (k - 1) % 2 == 0 { 1 } else { -1 } * factorial(k - 1);
        for sigma in set_partitions(k) {
            let kk = sigma.iter().copied().max().map_or(0, |m| m + 1);
            let mut groups = vec![[0u8; 2]; kk];
            let mut sizes = vec![0usize; kk];
            for (j, &c) in sigma.iter().enumerate() {
                groups[c][0] += blocks[j][0];
                groups[c][1] += blocks[j][1];
                sizes[c] += 1;
            }
            // Central sums: a factor of total degree 1 vanishes.
            if groups.iter().any(|e| e[0] + e[1] == 1) {
                continue;
            }
            let mut mu = 1i64;
            for &s in &sizes {
                mu *= if (s - 1) % 2 == 0 { 1 } else { -1 } * factorial(s - 1);
            }
            groups.sort_unstable();
            *agg.entry((k, groups)).or_insert(0) += c_pi * mu;
        }
    }
    agg.into_iter()
        .filter(|(_, c)| *c != 0)
        .map(|((k, factors), c)| Term {
            k,
            coef: c as f64,
            factors,
        })
        .collect()
}

/// Evaluates a table. `u(e)` must return the normalized central moment
/// `S_e / (n * scale_a^{e_0} * scale_b^{e_1})`; the caller multiplies the result by
/// `scale_a^{r_a} scale_b^{r_b}`. Returns NaN if `n` is smaller than the number of slots.
pub(crate) fn eval_table(table: &[Term], r: usize, n: f64, u: impl Fn(Exp) -> f64) -> f64 {
    if n < r as f64 {
        return f64::NAN;
    }
    let mut total = 0.0;
    for t in table {
        // n^{#factors} / (n)_k, computed as a product of ratios close to 1 to avoid overflow.
        let nf = t.factors.len();
        let mut ratio = 1.0;
        for i in 0..t.k {
            if i < nf {
                ratio *= n / (n - i as f64);
            } else {
                ratio /= n - i as f64;
            }
        }
        let mut prod = t.coef * ratio;
        for &f in &t.factors {
            prod *= u(f);
        }
        total += prod;
    }
    total
}

/// The univariate tables, index r (2..=6; entries for 0 and 1 are empty).
pub(crate) fn univariate(r: usize) -> &'static [Term] {
    static TABLES: OnceLock<Vec<Vec<Term>>> = OnceLock::new();
    let t = TABLES.get_or_init(|| {
        (0..=6)
            .map(|r| {
                if r < 2 {
                    Vec::new()
                } else {
                    build_table(&vec![0u8; r])
                }
            })
            .collect()
    });
    &t[r]
}

/// The table of kappa(a, a, b, b).
pub(crate) fn joint_aabb() -> &'static [Term] {
    static TABLE: OnceLock<Vec<Term>> = OnceLock::new();
    TABLE.get_or_init(|| build_table(&[0, 0, 1, 1]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bell_numbers() {
        let bell = [1, 1, 2, 5, 15, 52, 203];
        for (n, &b) in bell.iter().enumerate() {
            assert_eq!(set_partitions(n).len(), b);
        }
    }

    /// The derived k2, k3, k4 equal the textbook central-moment forms (Kendall & Stuart 12.29 /
    /// MathWorld "k-Statistic" eqs. 8-11): k2 = n m2/(n-1), k3 = n^2 m3/((n-1)(n-2)),
    /// k4 = n^2 [(n+1) m4 - 3 (n-1) m2^2] / ((n-1)(n-2)(n-3)).
    /// Tolerance 1e-12 relative: a handful of O(1) f64 operations.
    #[test]
    fn low_orders_match_textbook() {
        let (m2, m3, m4) = (1.7, -0.6, 9.1);
        let u = |e: Exp| match e[0] {
            2 => m2,
            3 => m3,
            4 => m4,
            _ => panic!("unexpected factor {e:?}"),
        };
        for n in [4.0f64, 5.0, 10.0, 1000.0] {
            let k2 = eval_table(univariate(2), 2, n, u);
            let k3 = eval_table(univariate(3), 3, n, u);
            let k4 = eval_table(univariate(4), 4, n, u);
            let e2 = n * m2 / (n - 1.0);
            let e3 = n * n * m3 / ((n - 1.0) * (n - 2.0));
            let e4 = n * n * ((n + 1.0) * m4 - 3.0 * (n - 1.0) * m2 * m2)
                / ((n - 1.0) * (n - 2.0) * (n - 3.0));
            for (a, b) in [(k2, e2), (k3, e3), (k4, e4)] {
                assert!((a - b).abs() <= 1e-12 * b.abs(), "{a} vs {b} at n={n}");
            }
        }
    }

    /// k6 in sample central moments (MathWorld "k-Statistic" eq. 11, after Kenney & Keeping
    /// 1951):
    /// k6 = n^2 [ (n+1)(n^2+15n-4) m6 - 15 (n-1)^2 (n+4) m2 m4 - 10 (n-1)(n^2-n+4) m3^2
    ///            + 30 n (n-1)(n-2) m2^3 ] / ((n-1)(n-2)(n-3)(n-4)(n-5)).
    /// Tolerance 1e-11 relative to the largest term: O(10) f64 operations with cancellation.
    #[test]
    fn k6_matches_textbook() {
        let (m2, m3, m4, m6) = (1.3, 0.7, 5.2, 40.5);
        let u = |e: Exp| match e[0] {
            2 => m2,
            3 => m3,
            4 => m4,
            6 => m6,
            _ => panic!("unexpected factor {e:?}"),
        };
        for n in [6.0f64, 7.0, 12.0, 1000.0] {
            let k6 = eval_table(univariate(6), 6, n, u);
            let terms = [
                (n + 1.0) * (n * n + 15.0 * n - 4.0) * m6,
                -15.0 * (n - 1.0).powi(2) * (n + 4.0) * m2 * m4,
                -10.0 * (n - 1.0) * (n * n - n + 4.0) * m3 * m3,
                30.0 * n * (n - 1.0) * (n - 2.0) * m2.powi(3),
            ];
            let den = (1..=5).map(|i| n - i as f64).product::<f64>() / (n * n);
            let e6: f64 = terms.iter().sum::<f64>() / den;
            let big = terms.iter().map(|t| t.abs()).fold(0.0, f64::max) / den;
            println!("n={n}: table {k6}, textbook {e6}");
            assert!(
                (k6 - e6).abs() <= 1e-11 * big,
                "k6 {k6} vs textbook {e6} at n={n}"
            );
        }
    }
}

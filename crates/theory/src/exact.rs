//! Exact finite-width laws for Gaussian networks with zero biases and a scale-invariant
//! activation σ(t) = a₊ t (t > 0), a₋ t (t < 0) (relu, leaky-relu, linear, shaped-relu).
//! See docs/theory.md §2 for the derivations.
//!
//! Key fact (Hanin & Rolnick 2018, arXiv 1803.01719; Hanin 2018, arXiv 1801.03744): given
//! a^{l−1}, the preactivations z^l_i = √s g_i with s = (C_W/n_{l−1})‖a^{l−1}‖² and g_i i.i.d. N(0,1)
//! independent of the past, so ‖a^l‖² = s Σ_i σ(g_i)² and ‖z^l‖² = s Σ_i g_i²: squared norms are
//! products of independent per-layer factors.
//!
//! All results are returned as cumulants κ_1..κ_6 (index 0 unused), computed from the exact raw
//! moments of the (normalized) product and converted with the standard moment–cumulant recursion.

use statrs::function::gamma::ln_gamma;

/// Number of cumulants computed (κ_1..κ_MAXK).
pub const MAXK: usize = 6;

/// Cumulants κ_1..κ_m from raw moments μ_0 = 1, μ_1..μ_m:
/// κ_n = μ_n − Σ_{k=1}^{n−1} C(n−1, k−1) κ_k μ_{n−k}.
pub fn cumulants_from_moments(mu: &[f64]) -> Vec<f64> {
    let m = mu.len() - 1;
    let mut kap = vec![0.0; m + 1];
    for n in 1..=m {
        let mut s = mu[n];
        for k in 1..n {
            s -= binom(n - 1, k - 1) * kap[k] * mu[n - k];
        }
        kap[n] = s;
    }
    kap
}

/// Raw moments μ_0..μ_m from cumulants κ_1..κ_m (κ_0 ignored):
/// μ_n = Σ_{k=1}^{n} C(n−1, k−1) κ_k μ_{n−k}.
pub fn moments_from_cumulants(kap: &[f64]) -> Vec<f64> {
    let m = kap.len() - 1;
    let mut mu = vec![0.0; m + 1];
    mu[0] = 1.0;
    for n in 1..=m {
        mu[n] = (1..=n)
            .map(|k| binom(n - 1, k - 1) * kap[k] * mu[n - k])
            .sum();
    }
    mu
}

fn binom(n: usize, k: usize) -> f64 {
    let mut r = 1.0;
    for i in 0..k {
        r = r * (n - i) as f64 / (i + 1) as f64;
    }
    r
}

fn double_factorial_odd(k: usize) -> f64 {
    // (2k − 1)!! = E g^{2k}
    (1..=k).map(|i| (2 * i - 1) as f64).product()
}

/// Normalized raw moments E[S^k]/(E S)^k, k = 0..=m, of S = Σ_{i=1}^n σ(g_i)², g_i i.i.d. N(0,1),
/// σ with slopes (a₊, a₋). Y = σ(g)² has E Y^k = (2k−1)!! A_{2k}, A_{2k} = (a₊^{2k} + a₋^{2k})/2;
/// κ_k(S) = n κ_k(Y). Returns None when E Y = 0.
pub fn activation_sum_moments(ap: f64, am: f64, n: usize, m: usize) -> Option<Vec<f64>> {
    let ey = (ap * ap + am * am) / 2.0;
    if ey <= 0.0 {
        return None;
    }
    // Moments of Y/EY, so everything is O(1).
    let my: Vec<f64> = (0..=m)
        .map(|k| {
            let a2k = (ap.powi(2 * k as i32) + am.powi(2 * k as i32)) / 2.0;
            double_factorial_odd(k) * a2k / ey.powi(k as i32)
        })
        .collect();
    let ky = cumulants_from_moments(&my);
    // S/(n EY) = (1/n) Σ Y_i/EY: κ_k = n κ_k(Y/EY) / n^k.
    let nf = n as f64;
    let ks: Vec<f64> = (0..=m)
        .map(|k| {
            if k == 0 {
                0.0
            } else {
                ky[k] * nf / nf.powi(k as i32)
            }
        })
        .collect();
    Some(moments_from_cumulants(&ks))
}

/// Normalized raw moments of chi2_n / n: E[(X/n)^k] = Π_{i<k} (n + 2i)/n.
pub fn chi2_moments(n: usize, m: usize) -> Vec<f64> {
    let nf = n as f64;
    (0..=m)
        .map(|k| (0..k).map(|i| (nf + 2.0 * i as f64) / nf).product())
        .collect()
}

/// Cumulants of X = scale · Π factors, where each factor is given by its normalized raw moments
/// (E F^k/(E F)^k, so E X = scale). Returns κ_0..κ_m (κ_0 = 0).
pub fn product_cumulants(scale: f64, factors: &[Vec<f64>], m: usize) -> Vec<f64> {
    let mut mu = vec![1.0; m + 1];
    for f in factors {
        for k in 0..=m {
            mu[k] *= f[k];
        }
    }
    let kap = cumulants_from_moments(&mu);
    kap.iter()
        .enumerate()
        .map(|(k, v)| {
            if k == 0 {
                0.0
            } else {
                v * scale.powi(k as i32)
            }
        })
        .collect()
}

/// Per-layer slopes and the product scale for the scale-invariant exact law.
/// `slopes[l-1]` = (a₊, a₋) of σ acting on hidden layer l (width n_l).
pub struct ScaleInvariantNet {
    pub cw: f64,
    /// n_0, n_1..n_L, n_out
    pub widths: Vec<usize>,
    pub slopes: Vec<(f64, f64)>,
}

impl ScaleInvariantNet {
    fn depth(&self) -> usize {
        self.widths.len() - 2
    }

    /// Cumulants κ_1..κ_6 of the readout unit f_0(x) for ‖x‖² = `x2`.
    ///
    /// f_0 = √V g with V = (C_W/n0)‖x‖² Π_{l=1}^{L} F_l, F_l = (C_W/n_l) Σ_{i≤n_l} σ(g_i)² independent,
    /// g ~ N(0,1) independent: E f^{2k} = (2k−1)!! E V^k, odd moments 0. In particular
    /// Var f = (C_W/n0)‖x‖² Π C_W A2 and excess kurtosis = 3[Π (1 + (3A4/A2² − 1)/n_l) − 1]
    /// (Hanin & Rolnick 2018; PDLT ch. 5 at leading order).
    pub fn output_cumulants(&self, x2: f64) -> Option<Vec<f64>> {
        let n0 = self.widths[0] as f64;
        let mut scale = self.cw * x2 / n0; // E V
        let mut mv = [1.0; 4]; // E V^k/(E V)^k, k = 0..3
        for l in 1..=self.depth() {
            let (ap, am) = self.slopes[l - 1];
            let f = activation_sum_moments(ap, am, self.widths[l], 3)?;
            for k in 0..=3 {
                mv[k] *= f[k];
            }
            scale *= self.cw * (ap * ap + am * am) / 2.0;
        }
        if scale <= 0.0 {
            return None;
        }
        // f/√(EV): moments (2k−1)!! mv[k] at order 2k.
        let mu: Vec<f64> = (0..=MAXK)
            .map(|j| {
                if j % 2 == 1 {
                    0.0
                } else {
                    double_factorial_odd(j / 2) * mv[j / 2]
                }
            })
            .collect();
        let kap = cumulants_from_moments(&mu);
        Some(
            kap.iter()
                .enumerate()
                .map(|(j, v)| {
                    if j == 0 {
                        0.0
                    } else {
                        v * scale.powf(j as f64 / 2.0)
                    }
                })
                .collect(),
        )
    }

    /// Cumulants of sqnorm[l] = ‖z^l‖²/n_l, l = 1..=L+1:
    /// sqnorm[l] = (C_W/n0)‖x‖² Π_{j<l} F_j · T_l/n_l with T_l ~ chi2_{n_l} (n_{L+1} = n_out).
    pub fn sqnorm_cumulants(&self, l: usize, x2: f64) -> Option<Vec<f64>> {
        let n0 = self.widths[0] as f64;
        let mut scale = self.cw * x2 / n0;
        let mut factors = Vec::new();
        for j in 1..l {
            let (ap, am) = self.slopes[j - 1];
            factors.push(activation_sum_moments(ap, am, self.widths[j], MAXK)?);
            scale *= self.cw * (ap * ap + am * am) / 2.0;
        }
        factors.push(chi2_moments(self.widths[l], MAXK));
        if scale <= 0.0 {
            return None;
        }
        Some(product_cumulants(scale, &factors, MAXK))
    }
}

/// E[chi2_k^p] = 2^p Γ(k/2 + p)/Γ(k/2) (k ≥ 1, p > −k/2); 0 for k = 0 and p > 0.
/// p = 1/2 gives E √chi2_k = √2 Γ((k+1)/2)/Γ(k/2).
pub fn chi2_power_mean(k: usize, p: f64) -> f64 {
    if k == 0 {
        return if p == 0.0 { 1.0 } else { 0.0 };
    }
    let h = k as f64 / 2.0;
    (p * std::f64::consts::LN_2 + ln_gamma(h + p) - ln_gamma(h)).exp()
}

/// E[X^p] for X = chi2_K with K ~ Binomial(n, 1/2) (chi2_0 = 0): the squared norm of the
/// active part of a ReLU layer's Jacobian step (Hanin 2018, arXiv 1801.03744).
pub fn binomial_chi2_power_mean(n: usize, p: f64) -> f64 {
    let ln_half_n = -(n as f64) * std::f64::consts::LN_2;
    let ln_fact = |m: usize| ln_gamma(m as f64 + 1.0);
    (0..=n)
        .map(|k| {
            let lw = ln_fact(n) - ln_fact(k) - ln_fact(n - k) + ln_half_n;
            lw.exp() * chi2_power_mean(k, p)
        })
        .sum()
}

/// Cumulants κ_1..κ_6 of jacobian_norm = ‖J(x) u‖ for a unit u, ReLU (`relu = true`) or linear
/// activation, Gaussian weights, zero biases (biases do not matter for linear nets).
///
/// J u = W^{L+1} D_L W^L ⋯ D_1 W^1 u. Given the past, the active rows of W^l v are, squared,
/// i.i.d. chi2_1 (the half-plane argument of docs/theory.md §2.3), so
/// ‖Ju‖² = (C_W/n0) X_1 · Π_{l=2}^{L} (C_W/n_{l−1}) X_l · (C_W/n_L) X_{L+1}, independent factors,
/// X_l ~ chi2_{K_l}, K_l ~ Bin(n_l, 1/2) (ReLU) or K_l = n_l (linear), X_{L+1} ~ chi2_{n_out}.
/// Hence E‖Ju‖^m = (C_W^{L+1}/Π_{l=0}^{L} n_l)^{m/2} Π_l E[X_l^{m/2}].
pub fn jacobian_cumulants(cw: f64, widths: &[usize], relu: bool) -> Vec<f64> {
    let depth = widths.len() - 2;
    let mut log_scale = (depth as f64 + 1.0) * cw.ln();
    for &n in &widths[..=depth] {
        log_scale -= (n as f64).ln();
    }
    // Normalized moments: E J^m / (E J)^m, and E J itself.
    let mut mu = vec![1.0; MAXK + 1];
    let mut mean = (0.5 * log_scale).exp();
    let mut factor = |pm: &dyn Fn(f64) -> f64| {
        let m1 = pm(0.5);
        mean *= m1;
        for (m, v) in mu.iter_mut().enumerate().skip(1) {
            *v *= pm(m as f64 / 2.0) / m1.powi(m as i32);
        }
    };
    for &n in &widths[1..=depth] {
        if relu {
            factor(&|p| binomial_chi2_power_mean(n, p));
        } else {
            factor(&|p| chi2_power_mean(n, p));
        }
    }
    let nout = widths[depth + 1];
    factor(&|p| chi2_power_mean(nout, p));
    let kap = cumulants_from_moments(&mu);
    kap.iter()
        .enumerate()
        .map(|(k, v)| if k == 0 { 0.0 } else { v * mean.powi(k as i32) })
        .collect()
}

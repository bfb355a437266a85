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

/// Cumulants κ_0..κ_m of Y/EY, Y = σ(g)² with σ of slopes (a₊, a₋), g ~ N(0,1):
/// E Y^k = (2k−1)!! A_{2k}, A_{2k} = (a₊^{2k} + a₋^{2k})/2 (normalized so everything is O(1)).
/// None when E Y = 0.
fn square_cumulants(ap: f64, am: f64, m: usize) -> Option<Vec<f64>> {
    let ey = (ap * ap + am * am) / 2.0;
    if ey <= 0.0 {
        return None;
    }
    let my: Vec<f64> = (0..=m)
        .map(|k| {
            let a2k = (ap.powi(2 * k as i32) + am.powi(2 * k as i32)) / 2.0;
            double_factorial_odd(k) * a2k / ey.powi(k as i32)
        })
        .collect();
    Some(cumulants_from_moments(&my))
}

/// Normalized raw moments E[S^k]/(E S)^k, k = 0..=m, of S = Σ_{i=1}^n σ(g_i)², g_i i.i.d. N(0,1),
/// σ with slopes (a₊, a₋). Y = σ(g)² has E Y^k = (2k−1)!! A_{2k}, A_{2k} = (a₊^{2k} + a₋^{2k})/2;
/// κ_k(S) = n κ_k(Y). Returns None when E Y = 0.
pub fn activation_sum_moments(ap: f64, am: f64, n: usize, m: usize) -> Option<Vec<f64>> {
    let ky = square_cumulants(ap, am, m)?;
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

// ---------------------------------------------------------------------------------------------
// Higher-order laws for the sampling distributions of the estimators (module `sampling`).
//
// The estimators' standard errors need moments up to order 12 of the observable. Raw moments of
// a product normalized to mean 1 are all close to 1 when the observable concentrates (wide
// layers), so central moments of order 12 computed from them lose every digit. The functions
// below therefore work with central moments throughout: per factor from its cumulants, combined
// with a recursion that never forms raw moments (`product_central_moments`), or — for the √χ²
// factors of the Jacobian norm, whose half-integer moments involve Γ-function ratios — in
// double-double arithmetic. The functions above are left as they are.
// ---------------------------------------------------------------------------------------------

/// Moment order the sampling laws carry (the variance of k6 needs moments up to 12).
pub const SAMPLING_ORDER: usize = 12;

fn positive_finite(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

/// A law described by its mean, its standard deviation and its standardized central moments.
#[derive(Debug, Clone, PartialEq)]
pub struct CentralLaw {
    pub mean: f64,
    pub sd: f64,
    /// `standardized[k]` = E[(X − mean)^k]/sd^k, k = 0..=m (so [1, 0, 1, skewness, ...]).
    pub standardized: Vec<f64>,
}

impl CentralLaw {
    /// From cumulants κ_0..κ_m (κ_0 ignored) with κ_2 > 0.
    pub fn from_cumulants(kap: &[f64]) -> Option<Self> {
        if kap.len() < 3 || !positive_finite(kap[2]) || kap.iter().any(|k| !k.is_finite()) {
            return None;
        }
        let sd = kap[2].sqrt();
        let std_kap: Vec<f64> = kap
            .iter()
            .enumerate()
            .map(|(k, v)| if k < 2 { 0.0 } else { v / sd.powi(k as i32) })
            .collect();
        Some(CentralLaw {
            mean: kap[1],
            sd,
            standardized: central_moments_from_cumulants(&std_kap),
        })
    }

    /// X = mean · (1 + D) from the central moments E D^k, k = 0..=m (E D = 0).
    fn from_relative(mean: f64, d: &[f64]) -> Option<Self> {
        let v = d.get(2).copied()?;
        if !positive_finite(v) || !mean.is_finite() || d.iter().any(|x| !x.is_finite()) {
            return None;
        }
        let s = v.sqrt();
        let standardized = d
            .iter()
            .enumerate()
            .map(|(k, x)| match k {
                0 => 1.0,
                1 => 0.0,
                2 => 1.0,
                _ => x / s.powi(k as i32),
            })
            .collect();
        Some(CentralLaw {
            mean,
            sd: mean.abs() * s,
            standardized,
        })
    }
}

/// Central moments E[(X − κ_1)^k], k = 0..=m, from cumulants κ_0..κ_m (κ_0 and κ_1 ignored).
pub fn central_moments_from_cumulants(kap: &[f64]) -> Vec<f64> {
    let mut k = kap.to_vec();
    if k.len() > 1 {
        k[1] = 0.0;
    }
    let mut mu = moments_from_cumulants(&k);
    if mu.len() > 1 {
        mu[1] = 0.0;
    }
    mu
}

/// Central moments E D^k, k = 0..=m, of D = Π_j F_j − 1 for independent factors with E F_j = 1,
/// each given by the central moments of ε_j = F_j − 1 (`factors[j][k]` = E ε_j^k, k = 0..=m).
///
/// Adding a factor maps D to D' = D + ε(1 + D) with ε independent of D, so
/// E D'^k = Σ_i C(k,i) E[ε^i] Σ_t C(i,t) E D^{k−i+t}: only central moments appear, and every term
/// is of the size of the result (no cancellation of O(1) raw moments).
pub fn product_central_moments(factors: &[Vec<f64>], m: usize) -> Vec<f64> {
    let mut d = vec![0.0; m + 1];
    d[0] = 1.0;
    for eps in factors {
        let mut next = vec![0.0; m + 1];
        next[0] = 1.0;
        for k in 2..=m {
            let mut s = 0.0;
            for i in 0..=k {
                let ei = if i == 1 { 0.0 } else { eps[i] };
                if ei == 0.0 {
                    continue;
                }
                // E[D^{k−i} (1 + D)^i]
                let mut inner = 0.0;
                for t in 0..=i {
                    inner += binom(i, t) * d[k - i + t];
                }
                s += binom(k, i) * ei * inner;
            }
            next[k] = s;
        }
        d = next;
    }
    d
}

/// Central moments of F − 1, F = S/(n E Y), S = Σ_{i≤n} σ(g_i)² (see [`activation_sum_moments`]):
/// κ_k(F) = n κ_k(Y/EY)/n^k. Returns E(F − 1)^k, k = 0..=m; None when E Y = 0.
pub fn activation_sum_central_moments(ap: f64, am: f64, n: usize, m: usize) -> Option<Vec<f64>> {
    let ky = square_cumulants(ap, am, m)?;
    let nf = n as f64;
    let kf: Vec<f64> = (0..=m)
        .map(|k| {
            if k < 2 {
                0.0
            } else {
                ky[k] / nf.powi(k as i32 - 1)
            }
        })
        .collect();
    Some(central_moments_from_cumulants(&kf))
}

/// Central moments of χ²_n/n − 1, k = 0..=m, from κ_k(χ²_n/n) = 2^{k−1}(k−1)!/n^{k−1}.
pub fn chi2_central_moments(n: usize, m: usize) -> Vec<f64> {
    let nf = n as f64;
    let mut kap = vec![0.0; m + 1];
    let mut fact = 1.0; // (k−1)!
    for (k, kk) in kap.iter_mut().enumerate().skip(2) {
        fact *= (k - 1) as f64;
        *kk = 2f64.powi(k as i32 - 1) * fact / nf.powi(k as i32 - 1);
    }
    central_moments_from_cumulants(&kap)
}

/// The law of c · χ²_n/n with moments to order m (`sqnorm[1]` for Gaussian weights, c = K^1).
pub fn scaled_chi2_law(n: usize, c: f64, m: usize) -> Option<CentralLaw> {
    if n == 0 {
        return None;
    }
    CentralLaw::from_relative(c, &chi2_central_moments(n, m))
}

/// The Gaussian law N(0, v) with moments to order m.
pub fn gaussian_law(v: f64, m: usize) -> Option<CentralLaw> {
    if !positive_finite(v) {
        return None;
    }
    let standardized = (0..=m)
        .map(|k| {
            if k % 2 == 1 {
                0.0
            } else {
                double_factorial_odd(k / 2)
            }
        })
        .collect();
    Some(CentralLaw {
        mean: 0.0,
        sd: v.sqrt(),
        standardized,
    })
}

impl ScaleInvariantNet {
    /// The law of the readout unit f_0(x), ‖x‖² = `x2`, with moments to order `m`: f = √V g
    /// (see [`ScaleInvariantNet::output_cumulants`]), so E f^{2k}/(E f²)^k = (2k−1)!! E[(V/EV)^k]
    /// (products of O(1) numbers, no cancellation), odd moments 0.
    pub fn output_law(&self, x2: f64, m: usize) -> Option<CentralLaw> {
        let n0 = self.widths[0] as f64;
        let mut scale = self.cw * x2 / n0;
        let h = m / 2;
        let mut mv = vec![1.0; h + 1];
        for l in 1..=self.depth() {
            let (ap, am) = self.slopes[l - 1];
            let f = activation_sum_moments(ap, am, self.widths[l], h)?;
            for k in 0..=h {
                mv[k] *= f[k];
            }
            scale *= self.cw * (ap * ap + am * am) / 2.0;
        }
        if !positive_finite(scale) {
            return None;
        }
        let standardized = (0..=m)
            .map(|j| {
                if j % 2 == 1 {
                    0.0
                } else {
                    double_factorial_odd(j / 2) * mv[j / 2]
                }
            })
            .collect();
        Some(CentralLaw {
            mean: 0.0,
            sd: scale.sqrt(),
            standardized,
        })
    }

    /// The law of `sqnorm[l]` (see [`ScaleInvariantNet::sqnorm_cumulants`]) with moments to order
    /// `m`, through [`product_central_moments`].
    pub fn sqnorm_law(&self, l: usize, x2: f64, m: usize) -> Option<CentralLaw> {
        if l == 0 || l > self.depth() + 1 {
            return None;
        }
        let n0 = self.widths[0] as f64;
        let mut scale = self.cw * x2 / n0;
        let mut factors = Vec::new();
        for j in 1..l {
            let (ap, am) = self.slopes[j - 1];
            factors.push(activation_sum_central_moments(ap, am, self.widths[j], m)?);
            scale *= self.cw * (ap * ap + am * am) / 2.0;
        }
        factors.push(chi2_central_moments(self.widths[l], m));
        if !positive_finite(scale) {
            return None;
        }
        CentralLaw::from_relative(scale, &product_central_moments(&factors, m))
    }
}

/// Double-double arithmetic (an unevaluated sum hi + lo, ~32 significant digits; Dekker 1971,
/// Knuth TAOCP vol. 2 §4.2.2), enough for the few operations `jacobian_law` needs.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Dd {
    hi: f64,
    lo: f64,
}

impl Dd {
    const fn new(x: f64) -> Dd {
        Dd { hi: x, lo: 0.0 }
    }
    fn two_sum(a: f64, b: f64) -> (f64, f64) {
        let s = a + b;
        let bb = s - a;
        (s, (a - (s - bb)) + (b - bb))
    }
    fn quick(a: f64, b: f64) -> Dd {
        let s = a + b;
        Dd {
            hi: s,
            lo: b - (s - a),
        }
    }
    fn f64(self) -> f64 {
        self.hi + self.lo
    }
    fn sqrt(self) -> Dd {
        if self.hi <= 0.0 {
            return Dd::new(0.0);
        }
        let s = Dd::new(self.hi.sqrt());
        s + (self - s * s) / (s * Dd::new(2.0))
    }
}

impl std::ops::Add for Dd {
    type Output = Dd;
    fn add(self, o: Dd) -> Dd {
        let (s, e) = Dd::two_sum(self.hi, o.hi);
        let (t, f) = Dd::two_sum(self.lo, o.lo);
        let r = Dd::quick(s, e + t);
        Dd::quick(r.hi, r.lo + f)
    }
}

impl std::ops::Neg for Dd {
    type Output = Dd;
    fn neg(self) -> Dd {
        Dd {
            hi: -self.hi,
            lo: -self.lo,
        }
    }
}

impl std::ops::Sub for Dd {
    type Output = Dd;
    fn sub(self, o: Dd) -> Dd {
        self + (-o)
    }
}

impl std::ops::Mul for Dd {
    type Output = Dd;
    fn mul(self, o: Dd) -> Dd {
        let p = self.hi * o.hi;
        let e = self.hi.mul_add(o.hi, -p);
        Dd::quick(p, e + (self.hi * o.lo + self.lo * o.hi))
    }
}

impl std::ops::Div for Dd {
    type Output = Dd;
    fn div(self, o: Dd) -> Dd {
        let q1 = self.hi / o.hi;
        let r = self - o * Dd::new(q1);
        let q2 = r.hi / o.hi;
        let r = r - o * Dd::new(q2);
        let q3 = r.hi / o.hi;
        Dd::quick(q1, q2) + Dd::new(q3)
    }
}

/// π as a double-double.
const PI_DD: Dd = Dd {
    hi: std::f64::consts::PI,
    lo: 1.224_646_799_147_353_2e-16,
};

/// Moments E[(X/2)^{j/2}], j = 0..=m, of X ~ χ²_K (χ²_0 = 0), mixed over K with weights `w`
/// (`w[i]` for K = ks[i]), in double-double. E[(χ²_k/2)^q] = Π_{i<q}(k/2 + i) and
/// E[(χ²_k/2)^{q+1/2}] = r_k Π_{i<q}((k+1)/2 + i), r_k = Γ((k+1)/2)/Γ(k/2), r_1 = 1/√π,
/// r_2 = √π/2, r_{k+2} = r_k (k+1)/k.
fn chi_half_moments(ks: &[usize], w: &[Dd], r: &[Dd], m: usize) -> Vec<Dd> {
    let mut out = vec![Dd::new(0.0); m + 1];
    for (&k, &wk) in ks.iter().zip(w) {
        if k == 0 {
            out[0] = out[0] + wk;
            continue;
        }
        let half = Dd::new(k as f64 / 2.0);
        let halfp = Dd::new((k as f64 + 1.0) / 2.0);
        let mut even = Dd::new(1.0); // Π_{i<q}(k/2 + i)
        let mut odd = r[k]; // r_k Π_{i<q}((k+1)/2 + i)
        for (j, o) in out.iter_mut().enumerate() {
            if j % 2 == 0 {
                *o = *o + wk * even;
                even = even * (half + Dd::new((j / 2) as f64));
            } else {
                *o = *o + wk * odd;
                odd = odd * (halfp + Dd::new((j / 2) as f64));
            }
        }
    }
    out
}

/// The law of jacobian_norm = ‖J(x)u‖ (see [`jacobian_cumulants`]) with moments to order `m`.
///
/// The normalized moments E[(J/EJ)^j] = Π_l E[X_l^{j/2}]/(E X_l^{1/2})^j are formed in
/// double-double arithmetic (Γ-ratios by the exact recursion above, binomial weights of K_l by
/// their ratio recursion from the mode), and the central moments by the binomial expansion in
/// double-double. Returns None when that expansion would still leave a relative error above 1e-6
/// in a central moment (relative sd of J below ~0.008, e.g. L = 0 with n_out ≳ 7000; with
/// n_out = 1 never).
pub fn jacobian_law(cw: f64, widths: &[usize], relu: bool, m: usize) -> Option<CentralLaw> {
    let depth = widths.len().checked_sub(2)?;
    let nmax = widths[1..].iter().copied().max()?.max(2);
    if widths[depth + 1] == 0 || widths[..=depth].contains(&0) {
        return None;
    }
    // r_k for k = 0..=nmax.
    let sqrt_pi = PI_DD.sqrt();
    let mut r = vec![Dd::new(0.0); nmax + 1];
    r[1] = Dd::new(1.0) / sqrt_pi;
    r[2] = sqrt_pi / Dd::new(2.0);
    for k in 3..=nmax {
        r[k] = r[k - 2] * Dd::new((k - 1) as f64) / Dd::new((k - 2) as f64);
    }
    let mut rho = vec![Dd::new(1.0); m + 1]; // normalized moments of J/EJ
    let mut ln_mean = 0.0; // ln E J − (1/2) ln scale
    let mut cache: Vec<(usize, bool, Vec<Dd>)> = Vec::new();
    let mut factor = |n: usize, binomial: bool, rho: &mut Vec<Dd>, ln_mean: &mut f64| {
        let mom =
            if let Some((_, _, v)) = cache.iter().find(|(nn, b, _)| *nn == n && *b == binomial) {
                v.clone()
            } else {
                let (ks, w) = if binomial {
                    binomial_half_weights(n)
                } else {
                    (vec![n], vec![Dd::new(1.0)])
                };
                let v = chi_half_moments(&ks, &w, &r, m);
                cache.push((n, binomial, v.clone()));
                v
            };
        let m1 = mom[1];
        *ln_mean += (2f64.sqrt() * m1.f64()).ln();
        let mut p = Dd::new(1.0);
        for j in 0..=m {
            rho[j] = rho[j] * mom[j] / p;
            p = p * m1;
        }
    };
    for &n in &widths[1..=depth] {
        factor(n, relu, &mut rho, &mut ln_mean);
    }
    factor(widths[depth + 1], false, &mut rho, &mut ln_mean);
    // Central moments of G = J/EJ (E G = 1).
    let mut c = vec![Dd::new(0.0); m + 1];
    let mut bound = vec![0.0; m + 1];
    for (j, cj) in c.iter_mut().enumerate() {
        for (i, &r) in rho.iter().enumerate().take(j + 1) {
            let t = Dd::new(binom(j, i)) * r;
            *cj = if (j - i) % 2 == 0 { *cj + t } else { *cj - t };
            bound[j] += t.f64().abs();
        }
    }
    let d: Vec<f64> = c.iter().map(|x| x.f64()).collect();
    if !positive_finite(d[2]) {
        return None;
    }
    // Rounding of the expansion: ~ (depth + 2) · 1e-31 relative per term.
    let eps = (depth as f64 + 2.0) * 1e-31;
    for (j, &b) in bound.iter().enumerate().skip(2) {
        let scale = d[2].powf(j as f64 / 2.0) * double_factorial_odd(j / 2);
        if eps * b > 1e-6 * scale {
            return None;
        }
    }
    let mut log_scale = (depth as f64 + 1.0) * cw.ln();
    for &n in &widths[..=depth] {
        log_scale -= (n as f64).ln();
    }
    let mean = (0.5 * log_scale + ln_mean).exp();
    CentralLaw::from_relative(mean, &d)
}

/// Binomial(n, 1/2) weights in double-double, from the mode outward by P(k+1)/P(k) = (n−k)/(k+1),
/// dropping those below 1e-40 of the mode, normalized to sum 1. Returns (k values, weights).
fn binomial_half_weights(n: usize) -> (Vec<usize>, Vec<Dd>) {
    let mode = n / 2;
    let mut ks = vec![mode];
    let mut w = vec![Dd::new(1.0)];
    let mut p = Dd::new(1.0);
    for k in mode..n {
        p = p * Dd::new((n - k) as f64) / Dd::new((k + 1) as f64);
        if p.hi < 1e-40 {
            break;
        }
        ks.push(k + 1);
        w.push(p);
    }
    let mut p = Dd::new(1.0);
    for k in (1..=mode).rev() {
        // P(k−1)/P(k) = k/(n−k+1)
        p = p * Dd::new(k as f64) / Dd::new((n - k + 1) as f64);
        if p.hi < 1e-40 {
            break;
        }
        ks.push(k - 1);
        w.push(p);
    }
    let total = w.iter().fold(Dd::new(0.0), |a, &b| a + b);
    let w = w.into_iter().map(|x| x / total).collect();
    (ks, w)
}

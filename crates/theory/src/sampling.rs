//! Sampling laws of the estimators, where theory knows the observable's exact law.
//!
//! `randnet sample` estimates, over M independent networks, the mean and Fisher's k-statistics
//! k2, k3, k4, k6 of each observable, k4/k2² for the excess kurtosis and k2/x̄² for the relative
//! variance (docs/statistics.md).
//! Where [`crate::predict`] has an exact finite-width law (output, squared norms and Jacobian
//! norms of zero-bias Gaussian piecewise-linear nets, `sqnorm[1]` and the L = 0 readout of Gaussian
//! nets), the law's moments up to order 12 give the standard deviation of every estimator at
//! sample size M, hence the number of networks needed for a given relative error — before
//! sampling anything.
//!
//! With κ_r the cumulants of the observable (all formulas for M i.i.d. draws):
//!
//! | estimator | Var at sample size M | |
//! |---|---|---|
//! | mean | κ2/M | exact |
//! | k2 | κ4/M + 2κ2²/(M−1) | exact |
//! | k3 | κ6/M + 9κ2κ4/(M−1) + 9κ3²/(M−1) + 6Mκ2³/((M−1)(M−2)) | exact |
//! | k4 | κ8/M + (16κ2κ6 + 48κ3κ5 + 34κ4²)/(M−1) + 72Mκ2²κ4/((M−1)(M−2)) + 144Mκ2κ3²/((M−1)(M−2)) + 24M(M+1)κ2⁴/((M−1)(M−2)(M−3)) | exact |
//! | k6 | V₁/M, delta method | leading order in 1/M |
//! | k4/k2² | V₁/M, delta method | leading order in 1/M |
//! | k2/x̄² (relative_variance) | V₁/M, delta method | leading order in 1/M |
//!
//! The exact ones are Fisher's sampling cumulants of the k-statistics (Fisher 1929, "Moments and
//! product moments of sampling distributions", Proc. London Math. Soc. 30, 199–238; Kendall &
//! Stuart, *The Advanced Theory of Statistics* vol. 1, ch. 12, "variances of the k-statistics");
//! the crate's tests check each of them against exact enumeration of every sample of discrete
//! laws. For k6 and k4/k2² the variance is the delta method through the influence function
//! (e.g. van der Vaart, *Asymptotic Statistics*, 1998, ch. 3 and 20): a smooth function
//! θ = g(m'_1, ..., m'_6) of the raw moments m'_j = E X^j, estimated by plugging in sample
//! moments, has
//!
//!   M · Var θ̂ → V₁ = Σ_{j,k=1}^{6} ∂_j g ∂_k g (m'_{j+k} − m'_j m'_k),
//!
//! which needs moments up to order 12. The k-statistic k6 differs from the plug-in κ6 by
//! O(1/M) terms with O(1/M) fluctuations, so it has the same V₁; so do k4/k2² and k2/x̄². The
//! gradient is taken by forward differentiation of the moment–cumulant recursion. Neither the
//! next order in 1/M nor the estimators' non-normality (large for k6 of skewed laws) is included;
//! the tests measure the omitted term: for K χ²_8/8 the leading-order sd of k4/k2² is 5–6 % high
//! at M = 1000 and 16 % at M = 250, for a bounded 3-point law M·Var(k6) exceeds V₁ by 6 % at
//! M = 500.
//!
//! Conditioning: everything is computed in standardized units (X − E X)/sd with central moments
//! built without forming raw moments of concentrated products ([`crate::exact::CentralLaw`],
//! [`crate::exact::product_central_moments`]), and scaled back by sd^r at the end.

use crate::exact::{self, CentralLaw, SAMPLING_ORDER};
use crate::{kernels, scale_invariant_exact, si_net, Observable};
use randnet_problem::{Activation, NetworkSpec, WeightLaw};

const N: usize = SAMPLING_ORDER + 1;

/// The statistics an [`EstimatorLaw`] understands (those of [`crate::STATISTICS`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stat {
    Mean,
    Variance,
    Kappa3,
    Kappa4,
    Kappa6,
    ExcessKurtosis,
    RelativeVariance,
}

impl Stat {
    fn parse(s: &str) -> Option<Stat> {
        Some(match s {
            "mean" => Stat::Mean,
            "variance" => Stat::Variance,
            "kappa3" => Stat::Kappa3,
            "kappa4" => Stat::Kappa4,
            "kappa6" => Stat::Kappa6,
            "excess_kurtosis" => Stat::ExcessKurtosis,
            "relative_variance" => Stat::RelativeVariance,
            _ => return None,
        })
    }

    /// The statistic scales as sd^order (0: scale-free).
    fn order(self) -> i32 {
        match self {
            Stat::Mean => 1,
            Stat::Variance => 2,
            Stat::Kappa3 => 3,
            Stat::Kappa4 => 4,
            Stat::Kappa6 => 6,
            Stat::ExcessKurtosis | Stat::RelativeVariance => 0,
        }
    }

    /// Smallest sample size for which the estimator is defined (as randnet_stats).
    fn min_count(self) -> f64 {
        match self {
            Stat::Mean => 1.0,
            Stat::Variance | Stat::RelativeVariance => 2.0,
            Stat::Kappa3 => 3.0,
            Stat::Kappa4 | Stat::ExcessKurtosis => 4.0,
            Stat::Kappa6 => 6.0,
        }
    }

    fn exact(self) -> bool {
        !matches!(
            self,
            Stat::Kappa6 | Stat::ExcessKurtosis | Stat::RelativeVariance
        )
    }
}

/// True when [`EstimatorLaw::stderr`] of `statistic` is exact at every M (mean, variance,
/// kappa3, kappa4), false when it is the leading order in 1/M (kappa6, excess_kurtosis,
/// relative_variance), None for an unknown statistic.
pub fn stderr_is_exact(statistic: &str) -> Option<bool> {
    Stat::parse(statistic).map(Stat::exact)
}

/// Sampling law of the estimators of one observable whose exact law is known: the observable's
/// mean, standard deviation and standardized central moments and cumulants up to order 12.
#[derive(Debug, Clone, PartialEq)]
pub struct EstimatorLaw {
    mean: f64,
    sd: f64,
    /// E[((X − mean)/sd)^k], k = 0..=12.
    mu: [f64; N],
    /// Cumulants of (X − mean)/sd, k = 0..=12 (κ̃_0 = κ̃_1 = 0, κ̃_2 = 1).
    kappa: [f64; N],
}

impl EstimatorLaw {
    /// From a law with standardized central moments to order ≥ 12 and sd > 0.
    pub fn from_law(law: &CentralLaw) -> Option<Self> {
        if law.standardized.len() < N
            || !positive_finite(law.sd)
            || !law.mean.is_finite()
            || law.standardized.iter().any(|v| !v.is_finite())
        {
            return None;
        }
        let mut mu = [0.0; N];
        mu.copy_from_slice(&law.standardized[..N]);
        mu[0] = 1.0;
        mu[1] = 0.0;
        mu[2] = 1.0;
        let k = exact::cumulants_from_moments(&mu);
        let mut kappa = [0.0; N];
        kappa.copy_from_slice(&k);
        kappa[1] = 0.0;
        kappa[2] = 1.0;
        Some(EstimatorLaw {
            mean: law.mean,
            sd: law.sd,
            mu,
            kappa,
        })
    }

    /// From cumulants κ_0..κ_12 (κ_0 ignored) with κ_2 > 0.
    pub fn from_cumulants(kap: &[f64]) -> Option<Self> {
        if kap.len() < N {
            return None;
        }
        Self::from_law(&CentralLaw::from_cumulants(&kap[..N])?)
    }

    /// Mean of the observable.
    pub fn mean(&self) -> f64 {
        self.mean
    }

    /// Standard deviation of the observable (one network).
    pub fn sd(&self) -> f64 {
        self.sd
    }

    /// Standardized central moments E[((X − mean)/sd)^k], k = 0..=12.
    pub fn standardized_moments(&self) -> &[f64; N] {
        &self.mu
    }

    /// Standardized cumulants κ_k/sd^k, k = 0..=12 (entries 0 and 1 are 0).
    pub fn standardized_cumulants(&self) -> &[f64; N] {
        &self.kappa
    }

    /// The value of `statistic` under the law (mean, variance = κ2, kappa3, kappa4, kappa6,
    /// excess_kurtosis = κ4/κ2², relative_variance = κ2/κ1²; None for the relative variance of a
    /// law with mean 0).
    pub fn value(&self, statistic: &str) -> Option<f64> {
        let s = Stat::parse(statistic)?;
        if s == Stat::RelativeVariance && self.mean == 0.0 {
            return None;
        }
        Some(self.value_std(s) * self.unit(s))
    }

    /// The value in standardized units (mean/sd for the mean; scale-free statistics as they are).
    fn value_std(&self, s: Stat) -> f64 {
        match s {
            Stat::Mean => self.mean / self.sd,
            Stat::ExcessKurtosis => self.kappa[4],
            Stat::RelativeVariance => (self.sd / self.mean).powi(2),
            _ => self.kappa[s.order() as usize],
        }
    }

    /// Standardized units → the statistic's units.
    fn unit(&self, s: Stat) -> f64 {
        self.sd.powi(s.order())
    }

    /// lim M·Var in standardized units.
    fn v1_std(&self, s: Stat) -> f64 {
        let k = &self.kappa;
        match s {
            Stat::Mean => 1.0,
            Stat::Variance => k[4] + 2.0,
            Stat::Kappa3 => k[6] + 9.0 * k[4] + 9.0 * k[3] * k[3] + 6.0,
            Stat::Kappa4 => {
                k[8] + 16.0 * k[6]
                    + 48.0 * k[3] * k[5]
                    + 34.0 * k[4] * k[4]
                    + 72.0 * k[4]
                    + 144.0 * k[3] * k[3]
                    + 24.0
            }
            Stat::Kappa6 | Stat::ExcessKurtosis | Stat::RelativeVariance => self.delta_std(s),
        }
    }

    /// Var at sample size m in standardized units (m ≥ min_count).
    fn var_std(&self, s: Stat, m: f64) -> f64 {
        let k = &self.kappa;
        match s {
            Stat::Mean => 1.0 / m,
            Stat::Variance => k[4] / m + 2.0 / (m - 1.0),
            Stat::Kappa3 => {
                k[6] / m
                    + (9.0 * k[4] + 9.0 * k[3] * k[3]) / (m - 1.0)
                    + 6.0 * m / ((m - 1.0) * (m - 2.0))
            }
            Stat::Kappa4 => {
                k[8] / m
                    + (16.0 * k[6] + 48.0 * k[3] * k[5] + 34.0 * k[4] * k[4]) / (m - 1.0)
                    + (72.0 * k[4] + 144.0 * k[3] * k[3]) * m / ((m - 1.0) * (m - 2.0))
                    + 24.0 * m * (m + 1.0) / ((m - 1.0) * (m - 2.0) * (m - 3.0))
            }
            Stat::Kappa6 | Stat::ExcessKurtosis | Stat::RelativeVariance => self.delta_std(s) / m,
        }
    }

    /// Delta-method V₁ = ∇gᵀ Σ ∇g in standardized units, Σ_jk = μ_{j+k} − μ_j μ_k (j, k = 1..6).
    fn delta_std(&self, s: Stat) -> f64 {
        let g = self.gradient(s);
        let mu = &self.mu;
        let mut v = 0.0;
        for j in 1..=6 {
            for k in 1..=6 {
                v += g[j] * g[k] * (mu[j + k] - mu[j] * mu[k]);
            }
        }
        v
    }

    /// ∂θ/∂m'_j, j = 1..6, at the standardized law (θ = the statistic as a function of the raw
    /// moments m'_1..m'_6 of Y = (X − mean)/sd), by forward differentiation of
    /// κ_n = m'_n − Σ_{k<n} C(n−1, k−1) κ_k m'_{n−k}. The relative variance is not translation
    /// invariant: with r = sd/mean, κ2(X)/κ1(X)² = r² κ2(Y)/(1 + r κ1(Y))², whose gradient at
    /// κ1(Y) = 0, κ2(Y) = 1 is r²(∂κ2 − 2r ∂κ1).
    #[allow(clippy::needless_range_loop)] // index algebra reads as the recursion
    fn gradient(&self, s: Stat) -> [f64; 7] {
        let mu = &self.mu;
        let kap = &self.kappa;
        // dk[n][j] = ∂κ_n/∂m'_j
        let mut dk = [[0.0; 7]; 7];
        for n in 1..=6 {
            for j in 1..=6 {
                let mut d = if n == j { 1.0 } else { 0.0 };
                for k in 1..n {
                    let c = binom(n - 1, k - 1);
                    let dmu = if n - k == j { 1.0 } else { 0.0 };
                    d -= c * (dk[k][j] * mu[n - k] + kap[k] * dmu);
                }
                dk[n][j] = d;
            }
        }
        match s {
            Stat::Mean => dk[1],
            Stat::Variance => dk[2],
            Stat::Kappa3 => dk[3],
            Stat::Kappa4 => dk[4],
            Stat::Kappa6 => dk[6],
            Stat::ExcessKurtosis => {
                // κ4/κ2² with κ2 = 1.
                let mut g = [0.0; 7];
                for j in 1..=6 {
                    g[j] = dk[4][j] - 2.0 * kap[4] * dk[2][j];
                }
                g
            }
            Stat::RelativeVariance => {
                let r = self.sd / self.mean;
                let mut g = [0.0; 7];
                for j in 1..=6 {
                    g[j] = r * r * (dk[2][j] - 2.0 * r * dk[1][j]);
                }
                g
            }
        }
    }

    /// The per-network scale of the estimator's error, sqrt(lim_{M→∞} M · Var), in the
    /// statistic's units: sd for the mean, sqrt(κ4 + 2κ2²) for the variance, and so on.
    pub fn sd_one_network(&self, statistic: &str) -> Option<f64> {
        let s = Stat::parse(statistic)?;
        self.value(statistic)?;
        let v = self.v1_std(s);
        (v >= 0.0 && v.is_finite()).then(|| v.sqrt() * self.unit(s))
    }

    /// The delta-method (influence-function) variance V₁ of any of the statistics, in the
    /// statistic's units squared: Var ≈ V₁/M. For mean, variance, kappa3 and kappa4 it equals
    /// the 1/M term of the exact variance (checked by the tests).
    pub fn delta_method_variance(&self, statistic: &str) -> Option<f64> {
        let s = Stat::parse(statistic)?;
        self.value(statistic)?;
        Some(self.delta_std(s) * self.unit(s).powi(2))
    }

    /// Standard deviation of the estimator of `statistic` over `m` networks: exact for mean,
    /// variance, kappa3 and kappa4 (Fisher's formulas), leading order in 1/M for kappa6 and
    /// excess_kurtosis and relative_variance. None for an unknown statistic, an undefined value
    /// (relative variance at mean 0), or m below the estimator's minimum sample size (1, 2, 3,
    /// 4, 6, 4, 2).
    pub fn stderr(&self, statistic: &str, m: f64) -> Option<f64> {
        let s = Stat::parse(statistic)?;
        self.value(statistic)?;
        if m.is_nan() || m < s.min_count() {
            return None;
        }
        let v = self.var_std(s, m);
        (v >= 0.0 && v.is_finite()).then(|| v.sqrt() * self.unit(s))
    }

    /// The smallest number of networks M (an integer, ≥ the estimator's minimum sample size)
    /// for which stderr(statistic, M) ≤ rel · |value|. None where the value is 0 (the mean and
    /// odd cumulants of a symmetric law; |value| ≤ 1e-12 sd^r counts as 0), for rel ≤ 0, or an
    /// unknown statistic. The exact variances decrease in M for M above a few, so the answer is
    /// found by doubling and bisection; for the leading-order ones it is ⌈V₁/(rel·value)²⌉.
    pub fn networks_for_relative_error(&self, statistic: &str, rel: f64) -> Option<f64> {
        let s = Stat::parse(statistic)?;
        self.value(statistic)?;
        let value = self.value_std(s);
        if !positive_finite(rel) || !value.is_finite() || value.abs() <= 1e-12 {
            return None;
        }
        let target = (rel * value) * (rel * value);
        let lo0 = s.min_count();
        if self.var_std(s, lo0) <= target {
            return Some(lo0);
        }
        let v1 = self.v1_std(s);
        if !positive_finite(v1) {
            return None;
        }
        let mut lo = lo0;
        let mut hi = (v1 / target).ceil().max(lo + 1.0);
        let cap = 1e18;
        // Beyond 1e18 networks (or an infinite or NaN first guess) there is no useful answer;
        // and past 2^53 the bisection below could not make progress in f64.
        if !(hi <= cap) {
            return None;
        }
        while !(self.var_std(s, hi) <= target) {
            lo = hi;
            hi *= 2.0;
            if hi > cap {
                return None;
            }
        }
        while hi - lo > 1.0 {
            let mid = ((lo + hi) / 2.0).floor();
            if mid <= lo || mid >= hi {
                break; // no representable integer in between
            }
            if self.var_std(s, mid) > target {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(hi)
    }
}

fn positive_finite(x: f64) -> bool {
    x.is_finite() && x > 0.0
}

fn binom(n: usize, k: usize) -> f64 {
    (0..k).fold(1.0, |r, i| r * (n - i) as f64 / (i + 1) as f64)
}

/// The estimator law of `observable` (`"output[0]"`, `"sqnorm[2,1]"`, `"jacobian_norm[0]"`) of `spec`
/// at inputs `xs`, when theory has its exact law — exactly where [`crate::predict`] returns
/// [`crate::Kind::Exact`] for every statistic of it:
///
/// - `output[a]`: zero-bias Gaussian piecewise-linear nets (the product law, docs/theory.md §2.1),
///   and Gaussian nets with L = 0 (f Gaussian);
/// - `sqnorm[l,a]`: zero-bias Gaussian piecewise-linear nets (docs/theory.md §2.2), and `sqnorm[1,a]` of any
///   Gaussian net (K^1 χ²_{n1}/n1);
/// - `jacobian_norm[a]`: Gaussian non-residual ReLU nets with C_b = 0, and linear nets (docs/theory.md §2.3).
///
/// None otherwise (NTK entries, other specs, bad names or indices, inputs of the wrong length,
/// or a degenerate law with sd = 0).
pub fn estimator_law(
    spec: &NetworkSpec,
    xs: &[Vec<f64>],
    observable: &Observable,
) -> Option<EstimatorLaw> {
    if xs.iter().any(|x| x.len() != spec.input_dim) || spec.parameterization.is_mup() {
        return None;
    }
    let obs = *observable;
    let k = xs.len();
    let gaussian = spec.weights == WeightLaw::Gaussian;
    let depth = spec.depth();
    let m = SAMPLING_ORDER;
    let x2 = |a: usize| kernels::dot(&xs[a], &xs[a]);
    let k1 = |a: usize| spec.cb + spec.cw * x2(a) / spec.input_dim as f64;
    let law = match obs {
        Observable::Output(a) => {
            if a >= k {
                return None;
            }
            if scale_invariant_exact(spec) {
                si_net(spec).output_law(x2(a), m)?
            } else if depth == 0 && gaussian {
                exact::gaussian_law(k1(a), m)?
            } else {
                return None;
            }
        }
        Observable::Sqnorm(l, a) => {
            if a >= k || l == 0 || l > depth + 1 {
                return None;
            }
            if scale_invariant_exact(spec) {
                si_net(spec).sqnorm_law(l, x2(a), m)?
            } else if l == 1 && gaussian {
                exact::scaled_chi2_law(spec.layer_widths()[1], k1(a), m)?
            } else {
                return None;
            }
        }
        Observable::JacobianNorm(a) => {
            if a >= k {
                return None;
            }
            let relu = spec.activation == Activation::Relu;
            let linear = spec.activation == Activation::Linear;
            // Biases do not change the law (docs/theory.md §2.3: the sign flip (W_i, b_i) → (−W_i, −b_i)).
            let ok = gaussian && spec.residual.is_none() && (relu || linear);
            if !ok {
                return None;
            }
            exact::jacobian_law(spec.cw, &spec.layer_widths(), relu, m)?
        }
        _ => return None,
    };
    EstimatorLaw::from_law(&law)
}

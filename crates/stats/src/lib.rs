//! Streaming, mergeable estimators of means and cumulants with standard errors.
//!
//! Samples arrive one network at a time: a global network index and `d` values (one per
//! observable). An [`Accumulator`] keeps, per jackknife group `g = index % G` and per observable,
//! the count and the power sums `sum y^p`, `p = 1..6`, of the shifted values `y = x - shift`, and
//! per tracked pair `(a, b)` the mixed sums `sum y_a^p y_b^q` for `(p, q)` in
//! `{(1,1), (2,1), (1,2), (2,2)}`. Everything is a plain `f64` sum, added in push order, so a
//! run is bitwise reproducible, and [`Accumulator::merge`] adds sums group by group, so shards
//! merge into (up to rounding) the accumulator of the whole stream.
//!
//! Point estimates (see `docs/statistics.md`):
//! - `mean`: the sample mean;
//! - `variance`, `kappa3`, `kappa4`, `kappa6`: Fisher's unbiased k-statistics k2, k3, k4, k6
//!   (Fisher 1929, "Moments and product moments of sampling distributions", Proc. London Math.
//!   Soc. 30; Kendall & Stuart, *The Advanced Theory of Statistics* vol. 1, ch. 12; power-sum
//!   forms on MathWorld "k-Statistic");
//! - `excess_kurtosis`: k4 / k2^2 (a ratio of unbiased estimators, itself biased at O(1/M));
//! - `joint_kappa4`: the generalized k-statistic k_{22} for kappa(a,a,b,b) (Kendall & Stuart
//!   ch. 13), unbiased.
//!
//! Standard errors: delete-one-group jackknife over the `G` groups (Efron & Stein 1981, "The
//! jackknife estimate of variance", Ann. Statist. 9; Efron 1982, *The Jackknife, the Bootstrap and
//! Other Resampling Plans*, SIAM), except the mean, whose standard error is `sqrt(k2 / M)`.

use serde::{Deserialize, Serialize};
use std::fmt;

pub mod fit;
mod kstat;

/// A point estimate and its standard error. Either may be NaN where undefined (too few samples).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    pub estimate: f64,
    pub stderr: f64,
}

impl Estimate {
    /// Both fields NaN.
    pub const NAN: Estimate = Estimate {
        estimate: f64::NAN,
        stderr: f64::NAN,
    };
}

/// The per-observable statistics an [`Accumulator`] estimates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Statistic {
    Mean,
    Variance,
    Kappa3,
    Kappa4,
    Kappa6,
    ExcessKurtosis,
    /// variance / mean² (k2 / mean²): the NTK's fluctuation ratio E[Θ²]/E[Θ]² − 1 of Hanin &
    /// Nica. Reported only for observables with a positive mean (not in [`Statistic::ALL`]).
    RelativeVariance,
}

impl Statistic {
    pub const ALL: [Statistic; 6] = [
        Statistic::Mean,
        Statistic::Variance,
        Statistic::Kappa3,
        Statistic::Kappa4,
        Statistic::Kappa6,
        Statistic::ExcessKurtosis,
    ];

    /// The name used in every output.
    pub fn name(&self) -> &'static str {
        match self {
            Statistic::Mean => "mean",
            Statistic::Variance => "variance",
            Statistic::Kappa3 => "kappa3",
            Statistic::Kappa4 => "kappa4",
            Statistic::Kappa6 => "kappa6",
            Statistic::ExcessKurtosis => "excess_kurtosis",
            Statistic::RelativeVariance => "relative_variance",
        }
    }

    /// Every statistic, [`Statistic::ALL`] and the derived ones.
    pub const EVERY: [Statistic; 7] = [
        Statistic::Mean,
        Statistic::Variance,
        Statistic::Kappa3,
        Statistic::Kappa4,
        Statistic::Kappa6,
        Statistic::ExcessKurtosis,
        Statistic::RelativeVariance,
    ];

    /// Inverse of [`Statistic::name`].
    pub fn from_name(name: &str) -> Option<Statistic> {
        Statistic::EVERY.into_iter().find(|s| s.name() == name)
    }

    /// The order of the central power sum whose effective sample size decides the estimate's
    /// reliability: the statistic's order, rounded up to even (the mean's error rests on the
    /// variance).
    pub fn power_order(&self) -> usize {
        match self {
            Statistic::Mean | Statistic::Variance | Statistic::RelativeVariance => 2,
            Statistic::Kappa3 | Statistic::Kappa4 | Statistic::ExcessKurtosis => 4,
            Statistic::Kappa6 => 6,
        }
    }

    /// The smallest effective number of networks (Kish's n_eff of the central power sum of
    /// order [`Statistic::power_order`]) at which an estimate is marked reliable. The standard
    /// error of a statistic of order p rests on the power sum of order 2p, which the sample
    /// cannot vouch for; requiring the order-p sum itself to be known to a few per cent
    /// (n_eff >= 400 for the variance, 500 for fourth-order statistics, 10⁴ for kappa6, whose
    /// error rests on twelfth powers) keeps |z| > 4 below 1 % of reliable estimates in the
    /// coverage study (crates/stats/tests/verdicts.rs, docs/statistics.md "Reliability"). The
    /// mean's normal approximation is far more robust (n_eff >= 100).
    pub fn min_effective_networks(&self) -> f64 {
        match self {
            Statistic::Mean => 100.0,
            Statistic::Variance | Statistic::RelativeVariance => 400.0,
            Statistic::Kappa3 | Statistic::Kappa4 | Statistic::ExcessKurtosis => 500.0,
            Statistic::Kappa6 => 10_000.0,
        }
    }

    /// The smallest sample size for which the point estimate is defined.
    pub fn min_count(&self) -> u64 {
        match self {
            Statistic::Mean => 1,
            Statistic::Variance | Statistic::RelativeVariance => 2,
            Statistic::Kappa3 => 3,
            Statistic::Kappa4 | Statistic::ExcessKurtosis => 4,
            Statistic::Kappa6 => 6,
        }
    }
}

impl fmt::Display for Statistic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Errors of this crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatsError {
    /// Two accumulators of different dimension, pairs, shifts or group count.
    ShapeMismatch(String),
    /// Invalid constructor arguments.
    InvalidArgument(String),
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatsError::ShapeMismatch(m) => write!(f, "cannot merge accumulators: {m}"),
            StatsError::InvalidArgument(m) => write!(f, "invalid accumulator: {m}"),
        }
    }
}

impl std::error::Error for StatsError {}

/// Power sums kept per observable and group: sum y^p, p = 1..=6.
const OBS_SUMS: usize = 6;
/// Mixed sums kept per pair and group, in this order.
const PAIR_EXPS: [(u8, u8); 4] = [(1, 1), (2, 1), (1, 2), (2, 2)];
const PAIR_SUMS: usize = PAIR_EXPS.len();
/// Higher power sums kept per observable and group for the reliability diagnostic only:
/// sum y^p, p = 7..=12 (docs/statistics.md, "Reliability"). No estimate reads them.
const HIGH_SUMS: usize = 6;

/// Streaming, mergeable accumulator of power sums, split into jackknife groups.
/// Reads a vector of sums in which null stands for an overflowed (+inf) sum.
fn overflowed_sums<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let v: Vec<Option<f64>> = Deserialize::deserialize(d)?;
    Ok(v.into_iter().map(|x| x.unwrap_or(f64::INFINITY)).collect())
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accumulator {
    d: usize,
    pairs: Vec<(usize, usize)>,
    shifts: Vec<f64>,
    groups: usize,
    /// counts[g]
    counts: Vec<u64>,
    /// obs_sums[(g * d + obs) * 6 + (p - 1)] = sum over group g of y_obs^p
    obs_sums: Vec<f64>,
    /// pair_sums[(g * P + pair) * 4 + t] = sum over group g of y_a^p y_b^q, (p, q) = PAIR_EXPS[t]
    pair_sums: Vec<f64>,
    /// high_sums[(g * d + obs) * 6 + (p - 7)] = sum over group g of y_obs^p, p = 7..=12.
    /// Empty in accumulators written before the diagnostic existed (then every estimate is
    /// reported as not assessable).
    /// Diagnostics only: these may overflow (values above ~1e25), which JSON writes as null;
    /// null reads back as +inf (the reliability flag is then false, the estimates unchanged).
    #[serde(default, deserialize_with = "overflowed_sums")]
    high_sums: Vec<f64>,
    /// undefined[g * d + obs] = networks of group g without a value of `obs` (pushed as NaN:
    /// an observable a network may lack, e.g. a logarithm of zero). Its estimates are
    /// conditional on the value existing. Empty when no observable may be undefined (and in
    /// files written before it existed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    undefined: Vec<u64>,
}

impl Accumulator {
    /// `d` observables; `pairs` `(i, j)` with `i < j < d` for which `joint_kappa4` is tracked;
    /// `shifts`: one per observable, subtracted before the power sums are formed (choose them
    /// close to the mean, e.g. network 0's values, so the sums are well conditioned); `groups`:
    /// the number of jackknife groups `G` (e.g. 64).
    ///
    /// # Panics
    /// On invalid arguments (see [`Accumulator::try_new`] for the non-panicking form).
    pub fn new(d: usize, pairs: Vec<(usize, usize)>, shifts: Vec<f64>, groups: usize) -> Self {
        match Self::try_new(d, pairs, shifts, groups) {
            Ok(a) => a,
            Err(e) => panic!("{e}"),
        }
    }

    /// As [`Accumulator::new`], returning an error if `shifts.len() != d`, a shift is not finite,
    /// `groups == 0`, or a pair is not `(i, j)` with `i < j < d`.
    pub fn try_new(
        d: usize,
        pairs: Vec<(usize, usize)>,
        shifts: Vec<f64>,
        groups: usize,
    ) -> Result<Self, StatsError> {
        if shifts.len() != d {
            return Err(StatsError::InvalidArgument(format!(
                "{} shifts for {d} observables",
                shifts.len()
            )));
        }
        if let Some(s) = shifts.iter().find(|s| !s.is_finite()) {
            return Err(StatsError::InvalidArgument(format!(
                "shift {s} is not finite"
            )));
        }
        if groups == 0 {
            return Err(StatsError::InvalidArgument("zero jackknife groups".into()));
        }
        if let Some(p) = pairs.iter().find(|&&(i, j)| !(i < j && j < d)) {
            return Err(StatsError::InvalidArgument(format!(
                "pair {p:?} is not (i, j) with i < j < {d}"
            )));
        }
        let np = pairs.len();
        Ok(Accumulator {
            d,
            pairs,
            shifts,
            groups,
            counts: vec![0; groups],
            obs_sums: vec![0.0; groups * d * OBS_SUMS],
            pair_sums: vec![0.0; groups * np * PAIR_SUMS],
            high_sums: vec![0.0; groups * d * HIGH_SUMS],
            undefined: Vec::new(),
        })
    }

    /// Checks the internal consistency of an accumulator read back from a file: the shape
    /// invariants of [`Accumulator::try_new`], every vector's length against `d`, `groups` and
    /// the pairs (`high_sums` may be empty), and finite sums. Any accumulator that passes can be
    /// merged and estimated from without panicking.
    pub fn validate(&self) -> Result<(), StatsError> {
        let bad = |m: String| Err(StatsError::InvalidArgument(m));
        if self.shifts.len() != self.d {
            return bad(format!(
                "{} shifts for {} observables",
                self.shifts.len(),
                self.d
            ));
        }
        if self.shifts.iter().any(|s| !s.is_finite()) {
            return bad("a shift is not finite".into());
        }
        if self.groups == 0 {
            return bad("zero jackknife groups".into());
        }
        if let Some(p) = self.pairs.iter().find(|&&(i, j)| !(i < j && j < self.d)) {
            return bad(format!("pair {p:?} is not (i, j) with i < j < {}", self.d));
        }
        let want = |n: usize, k: usize| self.groups.checked_mul(n).and_then(|v| v.checked_mul(k));
        if self.counts.len() != self.groups {
            return bad(format!(
                "{} counts for {} groups",
                self.counts.len(),
                self.groups
            ));
        }
        if Some(self.obs_sums.len()) != want(self.d, OBS_SUMS) {
            return bad(format!(
                "{} power sums, expected groups*d*6",
                self.obs_sums.len()
            ));
        }
        if Some(self.pair_sums.len()) != want(self.pairs.len(), PAIR_SUMS) {
            return bad(format!(
                "{} pair sums, expected groups*pairs*4",
                self.pair_sums.len()
            ));
        }
        if !self.high_sums.is_empty() && Some(self.high_sums.len()) != want(self.d, HIGH_SUMS) {
            return bad(format!(
                "{} high sums, expected groups*d*6",
                self.high_sums.len()
            ));
        }
        if !self.undefined.is_empty() {
            if Some(self.undefined.len()) != want(self.d, 1) {
                return bad(format!(
                    "{} undefined counts, expected groups*d",
                    self.undefined.len()
                ));
            }
            if (0..self.groups * self.d).any(|i| self.undefined[i] > self.counts[i / self.d]) {
                return bad("more networks without a value than networks in a group".into());
            }
        }
        if self
            .counts
            .iter()
            .try_fold(0u64, |a, &c| a.checked_add(c))
            .is_none()
        {
            return bad("the group counts overflow".into());
        }
        // A group without networks has no sums.
        let (d, np) = (self.d, self.pairs.len());
        for (g, _) in self.counts.iter().enumerate().filter(|(_, &c)| c == 0) {
            let obs = &self.obs_sums[g * d * OBS_SUMS..(g + 1) * d * OBS_SUMS];
            let pair = &self.pair_sums[g * np * PAIR_SUMS..(g + 1) * np * PAIR_SUMS];
            if obs.iter().chain(pair).any(|&v| v != 0.0) {
                return bad(format!("group {g} has no networks but nonzero sums"));
            }
        }
        Ok(())
    }

    /// Adds one network's values (`values.len() == d`, finite, or NaN for a value the network
    /// does not have; the observables of `pairs` must have values) to group `index % G`.
    ///
    /// # Panics
    /// If `values.len() != d`.
    pub fn push(&mut self, index: u64, values: &[f64]) {
        assert_eq!(
            values.len(),
            self.d,
            "push: {} values for {} observables",
            values.len(),
            self.d
        );
        debug_assert!(
            values.iter().all(|v| v.is_finite() || v.is_nan()),
            "push: infinite value"
        );
        let g = (index % self.groups as u64) as usize;
        self.counts[g] += 1;
        let base = g * self.d * OBS_SUMS;
        for (o, (&x, &s)) in values.iter().zip(&self.shifts).enumerate() {
            if x.is_nan() {
                if self.undefined.is_empty() {
                    self.undefined = vec![0; self.groups * self.d];
                }
                self.undefined[g * self.d + o] += 1;
                continue;
            }
            let y = x - s;
            let sums = &mut self.obs_sums[base + o * OBS_SUMS..base + (o + 1) * OBS_SUMS];
            let mut p = y;
            for v in sums.iter_mut() {
                *v += p;
                p *= y;
            }
            if !self.high_sums.is_empty() {
                let hb = (g * self.d + o) * HIGH_SUMS;
                for v in &mut self.high_sums[hb..hb + HIGH_SUMS] {
                    *v += p;
                    p *= y;
                }
            }
        }
        let np = self.pairs.len();
        for (k, &(i, j)) in self.pairs.iter().enumerate() {
            let a = values[i] - self.shifts[i];
            let b = values[j] - self.shifts[j];
            let off = (g * np + k) * PAIR_SUMS;
            let s = &mut self.pair_sums[off..off + PAIR_SUMS];
            let ab = a * b;
            s[0] += ab; // (1,1)
            s[1] += ab * a; // (2,1)
            s[2] += ab * b; // (1,2)
            s[3] += ab * ab; // (2,2)
        }
    }

    /// Adds another accumulator's sums, group by group. Refuses a different dimension, pairs,
    /// shifts (compared bitwise) or group count, leaving `self` unchanged.
    pub fn merge(&mut self, other: &Accumulator) -> Result<(), StatsError> {
        if self.d != other.d {
            return Err(StatsError::ShapeMismatch(format!(
                "{} vs {} observables",
                self.d, other.d
            )));
        }
        if self.groups != other.groups {
            return Err(StatsError::ShapeMismatch(format!(
                "{} vs {} jackknife groups",
                self.groups, other.groups
            )));
        }
        if self.pairs != other.pairs {
            return Err(StatsError::ShapeMismatch(format!(
                "pairs {:?} vs {:?}",
                self.pairs, other.pairs
            )));
        }
        if let Some(o) =
            (0..self.d).find(|&o| self.shifts[o].to_bits() != other.shifts[o].to_bits())
        {
            return Err(StatsError::ShapeMismatch(format!(
                "shift of observable {o}: {} vs {}",
                self.shifts[o], other.shifts[o]
            )));
        }
        // Also guard against a deserialized accumulator with inconsistent vector lengths.
        if self.counts.len() != other.counts.len()
            || self.obs_sums.len() != other.obs_sums.len()
            || self.pair_sums.len() != other.pair_sums.len()
        {
            return Err(StatsError::ShapeMismatch(
                "inconsistent internal sizes".into(),
            ));
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        for (a, b) in self.obs_sums.iter_mut().zip(&other.obs_sums) {
            *a += b;
        }
        for (a, b) in self.pair_sums.iter_mut().zip(&other.pair_sums) {
            *a += b;
        }
        if !other.undefined.is_empty() {
            if self.undefined.is_empty() {
                self.undefined = vec![0; self.groups * self.d];
            }
            for (a, b) in self.undefined.iter_mut().zip(&other.undefined) {
                *a += b;
            }
        }
        // Either side written before the diagnostic existed: the merged sums cannot be complete.
        if self.high_sums.len() == other.high_sums.len() {
            for (a, b) in self.high_sums.iter_mut().zip(&other.high_sums) {
                *a += b;
            }
        } else {
            self.high_sums.clear();
        }
        Ok(())
    }

    /// Number of samples pushed (over all groups).
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Number of observables `d`.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// The tracked pairs.
    pub fn pairs(&self) -> &[(usize, usize)] {
        &self.pairs
    }

    /// The shifts, one per observable.
    pub fn shifts(&self) -> &[f64] {
        &self.shifts
    }

    /// The number of jackknife groups `G`.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// Networks with a value of observable `obs` (all of [`Accumulator::count`] unless some
    /// lack it).
    pub fn count_of(&self, obs: usize) -> u64 {
        self.count() - self.undefined(obs)
    }

    /// Networks without a value of observable `obs`.
    pub fn undefined(&self, obs: usize) -> u64 {
        if self.undefined.is_empty() {
            return 0;
        }
        (0..self.groups)
            .map(|g| self.undefined[g * self.d + obs])
            .sum()
    }

    /// Networks of group `g` with a value of `obs`.
    fn group_count_of(&self, obs: usize, g: usize) -> u64 {
        self.counts[g] - self.undefined.get(g * self.d + obs).copied().unwrap_or(0)
    }

    /// Samples per jackknife group.
    pub fn group_counts(&self) -> &[u64] {
        &self.counts
    }

    /// Estimate and standard error of `stat` for observable `obs` (< d). NaN where undefined:
    /// the estimate when `count() < stat.min_count()`, the standard error when fewer than two
    /// groups are non-empty or a delete-one-group replicate is undefined.
    ///
    /// # Panics
    /// If `obs >= d`.
    pub fn estimate(&self, obs: usize, stat: Statistic) -> Estimate {
        assert!(
            obs < self.d,
            "observable {obs} out of range (d = {})",
            self.d
        );
        let fill = |g: usize, v: &mut [f64]| self.fill_obs(obs, g, v);
        let shift = self.shifts[obs];
        match stat {
            Statistic::Mean => {
                // Standard error sqrt(k2 / M) from all samples (more stable than the jackknife,
                // which for the mean reproduces it up to the group structure).
                let total = self.pooled(1 + OBS_SUMS, fill);
                let n = total[0];
                if n < 1.0 {
                    return Estimate::NAN;
                }
                let mean = shift + total[1] / n;
                let k2 = univariate_k(&total, 2);
                Estimate {
                    estimate: mean,
                    stderr: (k2 / n).sqrt(),
                }
            }
            _ => self.jackknife(1 + OBS_SUMS, fill, |v| statistic_of_sums(stat, shift, v)),
        }
    }

    /// The point estimate of `stat` for observable `obs` and its delete-one-group replicates,
    /// one per group in group order (None for an empty group). Accumulators over the same
    /// network indices (the points of a sweep share a seed) have the same groups, so a
    /// function of several estimates gets a jackknife error that accounts for their
    /// correlation by applying it to the replicates group by group (docs/statistics.md).
    ///
    /// # Panics
    /// If `obs >= d`.
    pub fn replicates(&self, obs: usize, stat: Statistic) -> (f64, Vec<Option<f64>>) {
        assert!(
            obs < self.d,
            "observable {obs} out of range (d = {})",
            self.d
        );
        let shift = self.shifts[obs];
        self.jackknife_replicates(
            1 + OBS_SUMS,
            |g, v| self.fill_obs(obs, g, v),
            |v| statistic_of_sums(stat, shift, v),
        )
    }

    /// `v = [n_g, sum y, ..., sum y^6]` of group `g` for observable `obs`.
    fn fill_obs(&self, obs: usize, g: usize, v: &mut [f64]) {
        v[0] = self.group_count_of(obs, g) as f64;
        let off = (g * self.d + obs) * OBS_SUMS;
        v[1..].copy_from_slice(&self.obs_sums[off..off + OBS_SUMS]);
    }

    /// Pooled `[M, sum y, ..., sum y^12]` of observable `obs`, or None when the accumulator
    /// has no sums of order 7..12 (written before the diagnostic existed).
    fn pooled_all(&self, obs: usize) -> Option<[f64; 13]> {
        if self.high_sums.len() != self.groups * self.d * HIGH_SUMS {
            return None;
        }
        let mut s = [0.0; 13];
        for g in 0..self.groups {
            s[0] += self.group_count_of(obs, g) as f64;
            let off = (g * self.d + obs) * OBS_SUMS;
            for p in 0..OBS_SUMS {
                s[1 + p] += self.obs_sums[off + p];
            }
            let hoff = (g * self.d + obs) * HIGH_SUMS;
            for p in 0..HIGH_SUMS {
                s[7 + p] += self.high_sums[hoff + p];
            }
        }
        Some(s)
    }

    /// Kish's effective number of networks behind the central power sum of order `p`
    /// (p in {2, 4, 6}): `(sum c_i^p)^2 / sum c_i^(2p)`, c_i = x_i - mean. NaN when it cannot
    /// be formed (no high sums, overflow, constant data).
    pub fn effective_networks(&self, obs: usize, p: usize) -> f64 {
        assert!(matches!(p, 2 | 4 | 6), "order {p} is not 2, 4 or 6");
        let Some(s) = self.pooled_all(obs) else {
            return f64::NAN;
        };
        let t = central_sums_to(&s, 2 * p);
        let (tp, t2p) = (t[p], t[2 * p]);
        if !(tp.is_finite() && t2p.is_finite()) || tp <= 0.0 || t2p <= 0.0 {
            return f64::NAN;
        }
        (tp / t2p) * tp
    }

    /// Whether the estimate of `stat` for observable `obs` can be read as a normal-theory
    /// estimate with the reported standard error (docs/statistics.md, "Reliability").
    pub fn reliability(&self, obs: usize, stat: Statistic) -> Reliability {
        let e = self.estimate(obs, stat);
        let m = self.count_of(obs);
        if m < stat.min_count() {
            return Reliability::no(
                f64::NAN,
                format!("{m} networks: fewer than {}", stat.min_count()),
            );
        }
        if !e.estimate.is_finite() || !e.stderr.is_finite() {
            return Reliability::no(f64::NAN, "no finite estimate and standard error".into());
        }
        let p = stat.power_order();
        let ess = self.tail_effective_networks(obs, p);
        judge(ess, p, stat.min_effective_networks(), e.stderr == 0.0)
    }

    /// The effective networks behind the order-p sum used to judge reliability: the sample's
    /// [`Accumulator::effective_networks`], or, when smaller, the value predicted from the
    /// order-2 tail (docs/statistics.md, "Reliability"). For a Gaussian scale mixture
    /// c = √V g with ln V of variance s² (the law of deep networks' outputs: Hanin & Nica 2019,
    /// arXiv 1812.05994), n_eff(p)/M = G_p exp(−p² s²/4) with G_p = ((p−1)!!)²/(2p−1)!!, so
    /// r = n_eff(2)/(M G_2) = exp(−s²) gives n_eff(p) ≈ M G_p r^{p²/4}. n_eff(2) rests on the
    /// fourth-order sum and is far better determined than n_eff(4) or n_eff(6), whose own
    /// higher sums are exactly what a sample missing its tail underestimates.
    pub fn tail_effective_networks(&self, obs: usize, p: usize) -> f64 {
        let sample = self.effective_networks(obs, p);
        if p == 2 || sample.is_nan() {
            return sample;
        }
        let m = self.count_of(obs) as f64;
        let g = |p: usize| -> f64 {
            let odd = |k: usize| (1..=k).step_by(2).map(|i| i as f64).product::<f64>();
            odd(p - 1).powi(2) / odd(2 * p - 1)
        };
        let r = self.effective_networks(obs, 2) / (m * g(2));
        if !(r < 1.0) {
            return sample; // lighter than Gaussian (or unknown): nothing to predict
        }
        let predicted = m * g(p) * r.powf((p * p) as f64 / 4.0);
        sample.min(predicted)
    }

    /// Reliability of `joint_kappa4(pair)`: the weaker of its two observables' fourth orders.
    pub fn joint_reliability(&self, pair: usize) -> Reliability {
        let e = self.joint_kappa4(pair);
        if self.count() < 4 || !e.estimate.is_finite() || !e.stderr.is_finite() {
            return Reliability::no(f64::NAN, "no finite estimate and standard error".into());
        }
        let (a, b) = self.pairs[pair];
        let ess = self
            .tail_effective_networks(a, 4)
            .min(self.tail_effective_networks(b, 4));
        judge(
            ess,
            4,
            Statistic::Kappa4.min_effective_networks(),
            e.stderr == 0.0,
        )
    }

    /// Fourth joint cumulant kappa(a, a, b, b) of the pair `(a, b) = pairs()[pair]`: the unbiased
    /// generalized k-statistic k_{22}, with a delete-one-group jackknife standard error.
    /// NaN estimate when `count() < 4`.
    ///
    /// # Panics
    /// If `pair >= pairs().len()`.
    pub fn joint_kappa4(&self, pair: usize) -> Estimate {
        assert!(
            pair < self.pairs.len(),
            "pair {pair} out of range ({} pairs)",
            self.pairs.len()
        );
        self.jackknife(9, |g, v| self.fill_pair(pair, g, v), joint_k22)
    }

    /// `v = [n, Sa1, Sa2, Sb1, Sb2, S11, S21, S12, S22]` of group `g` for `pairs()[pair]`.
    fn fill_pair(&self, pair: usize, g: usize, v: &mut [f64]) {
        let (a, b) = self.pairs[pair];
        let (d, np) = (self.d, self.pairs.len());
        v[0] = self.counts[g] as f64;
        let oa = (g * d + a) * OBS_SUMS;
        let ob = (g * d + b) * OBS_SUMS;
        v[1] = self.obs_sums[oa];
        v[2] = self.obs_sums[oa + 1];
        v[3] = self.obs_sums[ob];
        v[4] = self.obs_sums[ob + 1];
        let off = (g * np + pair) * PAIR_SUMS;
        v[5..9].copy_from_slice(&self.pair_sums[off..off + PAIR_SUMS]);
    }

    /// Sum over groups (in group order) of the vectors produced by `fill`.
    fn pooled(&self, m: usize, fill: impl Fn(usize, &mut [f64])) -> Vec<f64> {
        let mut total = vec![0.0; m];
        let mut v = vec![0.0; m];
        for g in 0..self.groups {
            fill(g, &mut v);
            for (t, x) in total.iter_mut().zip(&v) {
                *t += x;
            }
        }
        total
    }

    /// Point estimate `f(pooled sums)` and delete-one-group jackknife standard error
    /// `sqrt((G'-1)/G' sum_g (f_(g) - mean f_(.))^2)` over the `G'` non-empty groups
    /// (Efron & Stein 1981; Efron 1982, ch. 2-3). The leave-one-out sums are formed from prefix
    /// and suffix sums, never by subtracting a group from the total, so no cancellation occurs.
    fn jackknife(
        &self,
        m: usize,
        fill: impl Fn(usize, &mut [f64]),
        f: impl Fn(&[f64]) -> f64,
    ) -> Estimate {
        let (estimate, by_group) = self.jackknife_replicates(m, fill, f);
        let reps: Vec<f64> = by_group.into_iter().flatten().collect();
        let stderr = jackknife_stderr(&reps);
        Estimate { estimate, stderr }
    }

    /// The point estimate and, per group, the delete-that-group replicate (None for an empty
    /// group). Prefix and suffix sums, never subtraction from the total.
    fn jackknife_replicates(
        &self,
        m: usize,
        fill: impl Fn(usize, &mut [f64]),
        f: impl Fn(&[f64]) -> f64,
    ) -> (f64, Vec<Option<f64>>) {
        let g_n = self.groups;
        let mut per = vec![0.0; g_n * m];
        for g in 0..g_n {
            fill(g, &mut per[g * m..(g + 1) * m]);
        }
        // prefix[g] = sum_{h < g}, for g = 0..=G.
        let mut prefix = vec![0.0; (g_n + 1) * m];
        for g in 0..g_n {
            for t in 0..m {
                prefix[(g + 1) * m + t] = prefix[g * m + t] + per[g * m + t];
            }
        }
        let total = &prefix[g_n * m..];
        let estimate = f(total);
        // suffix[g] = sum_{h >= g}, for g = 0..=G.
        let mut suffix = vec![0.0; (g_n + 1) * m];
        for g in (0..g_n).rev() {
            for t in 0..m {
                suffix[g * m + t] = suffix[(g + 1) * m + t] + per[g * m + t];
            }
        }
        let mut reps = Vec::with_capacity(g_n);
        let mut loo = vec![0.0; m];
        for g in 0..g_n {
            if per[g * m] == 0.0 {
                reps.push(None); // empty group
                continue;
            }
            for t in 0..m {
                loo[t] = prefix[g * m + t] + suffix[(g + 1) * m + t];
            }
            reps.push(Some(f(&loo)));
        }
        (estimate, reps)
    }
}

/// Whether an estimate can be trusted as a normal-theory estimate with its standard error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reliability {
    pub reliable: bool,
    /// Kish's effective number of networks behind the estimate's highest power sum (NaN when
    /// it cannot be formed).
    pub effective_networks: f64,
    /// Why not, when not reliable.
    pub why: Option<String>,
}

impl Reliability {
    fn no(effective_networks: f64, why: String) -> Self {
        Reliability {
            reliable: false,
            effective_networks,
            why: Some(why),
        }
    }
}

fn judge(ess: f64, p: usize, min: f64, zero_stderr: bool) -> Reliability {
    if zero_stderr {
        // Constant data: every cumulant is exactly 0 and so is its error; nothing to doubt.
        return Reliability {
            reliable: true,
            effective_networks: ess,
            why: None,
        };
    }
    if ess.is_nan() {
        return Reliability::no(
            ess,
            format!(
                "effective networks of the order-{p} power sum unknown (overflow or an old file)"
            ),
        );
    }
    if ess < min {
        return Reliability::no(
            ess,
            format!(
                "too few networks for the tail: order-{p} power sum rests on {} effective networks (needs {min})",
                fmt_count(ess),
            ),
        );
    }
    Reliability {
        reliable: true,
        effective_networks: ess,
        why: None,
    }
}

fn fmt_count(x: f64) -> String {
    if x < 0.1 {
        format!("{x:.1e}")
    } else if x < 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.0}")
    }
}

/// The statistic `stat` from `v = [n, sum y, ..., sum y^6]` of values shifted by `shift`.
fn statistic_of_sums(stat: Statistic, shift: f64, v: &[f64]) -> f64 {
    match stat {
        Statistic::Mean => {
            if v[0] < 1.0 {
                f64::NAN
            } else {
                shift + v[1] / v[0]
            }
        }
        Statistic::Variance => univariate_k(v, 2),
        Statistic::Kappa3 => univariate_k(v, 3),
        Statistic::Kappa4 => univariate_k(v, 4),
        Statistic::Kappa6 => univariate_k(v, 6),
        Statistic::ExcessKurtosis => {
            let k2 = univariate_k(v, 2);
            let k4 = univariate_k(v, 4);
            if k2 > 0.0 {
                k4 / (k2 * k2)
            } else {
                f64::NAN
            }
        }
        Statistic::RelativeVariance => {
            let mean = shift + v[1] / v[0];
            univariate_k(v, 2) / (mean * mean)
        }
    }
}

/// Central power sums T_r, r = 0..=rmax (rmax <= 12), from raw shifted sums s[0..=rmax], for
/// the diagnostic only (the estimates use [`central_sums`]).
fn central_sums_to(s: &[f64], rmax: usize) -> [f64; 13] {
    let n = s[0];
    let c = s[1] / n;
    let mut t = [0.0; 13];
    t[0] = n;
    for r in 2..=rmax {
        let mut acc = 0.0;
        let mut binom = 1.0;
        for i in 0..=r {
            acc += binom * s[i] * (-c).powi((r - i) as i32);
            binom = binom * (r - i) as f64 / (i + 1) as f64;
        }
        t[r] = acc;
    }
    t
}

/// The delete-one-group jackknife standard error of a statistic from its replicates (one per
/// non-empty group): sqrt((G − 1)/G Σ (r_g − r̄)²); NaN with fewer than two or a non-finite one.
pub fn jackknife_stderr(reps: &[f64]) -> f64 {
    let g = reps.len();
    if g < 2 || reps.iter().any(|r| !r.is_finite()) {
        return f64::NAN;
    }
    let gf = g as f64;
    let mean = reps.iter().sum::<f64>() / gf;
    let ss: f64 = reps.iter().map(|r| (r - mean) * (r - mean)).sum();
    ((gf - 1.0) / gf * ss).sqrt()
}

/// Central power sums T_r = sum (y - ybar)^r, r = 0..=rmax, from raw sums s[0] = n, s[p] = sum y^p,
/// by the binomial expansion (well conditioned when the shift is close to the mean).
#[allow(clippy::needless_range_loop)]
fn central_sums(s: &[f64], rmax: usize) -> ([f64; 7], f64) {
    let n = s[0];
    let c = s[1] / n;
    let mut t = [0.0; 7];
    t[0] = n;
    for r in 2..=rmax {
        // sum_{i=0}^{r} C(r,i) s_i (-c)^{r-i}
        let mut acc = 0.0;
        let mut binom = 1.0;
        for i in 0..=r {
            acc += binom * s[i] * (-c).powi((r - i) as i32);
            binom = binom * (r - i) as f64 / (i + 1) as f64;
        }
        t[r] = acc;
    }
    (t, c)
}

/// k-statistic k_r (r in 2..=6) from `v = [n, sum y, ..., sum y^6]`.
fn univariate_k(v: &[f64], r: usize) -> f64 {
    let n = v[0];
    if n < r as f64 {
        return f64::NAN;
    }
    let (t, _) = central_sums(v, r);
    let m2 = t[2] / n;
    if m2.is_nan() || m2 <= 0.0 {
        return 0.0; // all values equal (or rounding noise at that level)
    }
    let s = m2.sqrt();
    let u = |e: kstat::Exp| {
        let p = e[0] as usize;
        t[p] / n / s.powi(p as i32)
    };
    kstat::eval_table(kstat::univariate(r), r, n, u) * s.powi(r as i32)
}

/// k_{22} from `v = [n, Sa1, Sa2, Sb1, Sb2, S11, S21, S12, S22]` (shifted raw sums).
fn joint_k22(v: &[f64]) -> f64 {
    let n = v[0];
    if n < 4.0 {
        return f64::NAN;
    }
    // Raw mixed sums R[p][q] = sum a^p b^q, p, q <= 2.
    let r = [[n, v[3], v[4]], [v[1], v[5], v[7]], [v[2], v[6], v[8]]];
    let ca = v[1] / n;
    let cb = v[3] / n;
    let binom = [[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [1.0, 2.0, 1.0]];
    // Central mixed sums T[p][q] = sum (a - ca)^p (b - cb)^q.
    let mut t = [[0.0; 3]; 3];
    for p in 0..3 {
        for q in 0..3 {
            let mut acc = 0.0;
            for i in 0..=p {
                for j in 0..=q {
                    acc += binom[p][i]
                        * binom[q][j]
                        * r[i][j]
                        * (-ca).powi((p - i) as i32)
                        * (-cb).powi((q - j) as i32);
                }
            }
            t[p][q] = acc;
        }
    }
    let (ma, mb) = (t[2][0] / n, t[0][2] / n);
    if ma.is_nan() || mb.is_nan() || ma <= 0.0 || mb <= 0.0 {
        return 0.0; // one variable constant: every joint cumulant vanishes
    }
    let (sa, sb) = (ma.sqrt(), mb.sqrt());
    let u = |e: kstat::Exp| {
        let (p, q) = (e[0] as usize, e[1] as usize);
        t[p][q] / n / (sa.powi(p as i32) * sb.powi(q as i32))
    };
    kstat::eval_table(kstat::joint_aabb(), 4, n, u) * ma * mb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for s in Statistic::ALL {
            assert_eq!(Statistic::from_name(s.name()), Some(s));
        }
    }

    #[test]
    fn small_counts_are_nan_not_panics() {
        let mut acc = Accumulator::new(1, vec![], vec![0.0], 4);
        for s in Statistic::ALL {
            assert!(acc.estimate(0, s).estimate.is_nan());
        }
        for i in 0..5u64 {
            acc.push(i, &[i as f64 * 0.5 + (i * i) as f64]);
            let n = i + 1;
            for s in Statistic::ALL {
                let e = acc.estimate(0, s);
                assert_eq!(e.estimate.is_nan(), n < s.min_count(), "{s} at n={n}");
            }
        }
        assert!(acc.estimate(0, Statistic::Kappa6).estimate.is_nan());
    }

    #[test]
    fn constant_data_gives_zero_cumulants() {
        let mut acc = Accumulator::new(2, vec![(0, 1)], vec![3.0, 0.0], 8);
        for i in 0..100u64 {
            acc.push(i, &[3.0, 7.25]);
        }
        assert_eq!(acc.estimate(0, Statistic::Mean).estimate, 3.0);
        for s in [
            Statistic::Variance,
            Statistic::Kappa3,
            Statistic::Kappa4,
            Statistic::Kappa6,
        ] {
            assert_eq!(acc.estimate(0, s).estimate, 0.0);
        }
        assert!(acc.estimate(0, Statistic::ExcessKurtosis).estimate.is_nan());
        assert_eq!(acc.joint_kappa4(0).estimate, 0.0);
    }

    #[test]
    fn merge_refuses_mismatch() {
        let a = Accumulator::new(2, vec![(0, 1)], vec![0.0, 1.0], 8);
        let mut b = a.clone();
        assert!(b.merge(&a).is_ok());
        for other in [
            Accumulator::new(2, vec![], vec![0.0, 1.0], 8),
            Accumulator::new(2, vec![(0, 1)], vec![0.0, 1.5], 8),
            Accumulator::new(2, vec![(0, 1)], vec![0.0, 1.0], 4),
            Accumulator::new(3, vec![(0, 1)], vec![0.0, 1.0, 2.0], 8),
        ] {
            let before = b.clone();
            assert!(matches!(b.merge(&other), Err(StatsError::ShapeMismatch(_))));
            assert_eq!(b, before);
        }
        assert!(Accumulator::try_new(2, vec![(1, 0)], vec![0.0, 0.0], 8).is_err());
        assert!(Accumulator::try_new(2, vec![], vec![0.0], 8).is_err());
        assert!(Accumulator::try_new(2, vec![], vec![0.0, 0.0], 0).is_err());
        assert!(Accumulator::try_new(1, vec![], vec![f64::NAN], 8).is_err());
    }

    #[test]
    fn one_group_gives_nan_stderr() {
        let mut acc = Accumulator::new(1, vec![], vec![0.0], 1);
        for i in 0..50u64 {
            acc.push(i, &[(i as f64).sin()]);
        }
        let e = acc.estimate(0, Statistic::Variance);
        assert!(e.estimate.is_finite() && e.stderr.is_nan());
    }
}

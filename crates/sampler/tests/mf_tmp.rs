//! The matrix-free engine against the dense reference (issue 4, "done when"): two-sample tests
//! on every observable for ReLU with and without bias, tanh, linear and residual ReLU nets,
//! widths 4, 8 and 64, L/n up to 1, K = 1, 2, 3.
//!
//! For each observable: mean, variance and excess kurtosis of the two samples agree within
//! `Z_MAX` = 4.5 combined standard errors (delete-one-group jackknife, 50 groups), and for
//! output, ntk and jacobian_norm a two-sample Kolmogorov–Smirnov test gives p > 1e-3.
//!
//! Excess kurtosis is compared only where both estimates are below sqrt(M) (M networks per
//! engine). Deep narrow nets have lognormal-like observables (sqnorm at L/n ~ 1/2) whose true
//! kurtosis runs into the thousands; the sample kurtosis cannot exceed ~M, is dominated by a
//! handful of networks and its jackknife error is then meaningless (matrix-free against itself
//! with two seeds gave 819 ± 140 against 332 ± 66 for sqnorm[44,0] of a ReLU net n=64, L=64,
//! M=10^4). Those observables get the KS test instead, and the count is printed.
//! The two engines use different seeds (their samples are independent). Seeds are fixed, so the
//! outcome is deterministic; with ~700 moment comparisons at 4.5 sigma and ~70 KS tests at
//! 1e-3, a correct engine fails a given seed with probability of a few percent, while a wrong
//! constant (a factor 1 + 1/n in a variance, a missing bias term) moves these statistics by
//! tens of standard errors at the sample sizes below.
//!
//! Heavier cases (width 64 at L/n = 1/2 and 1, more networks) are `#[ignore]`d: run them with
//! `cargo test -p randnet-sampler --release --test matrix_free -- --ignored`.

// `!(z <= Z_MAX)` on purpose: a NaN statistic must fail.
#![allow(clippy::neg_cmp_op_on_partial_ord)]

use randnet_sampler::{BatchSampler, CpuDense, CpuMatrixFree, Problem, SamplerError};
use randnet_spec::{Activation, NetworkSpec, Observe, Parameterization, Residual, WeightLaw};

const Z_MAX: f64 = 4.5;
const KS_P_MIN: f64 = 1e-3;
const GROUPS: usize = 50;

struct Case {
    name: &'static str,
    n0: usize,
    hidden: Vec<usize>,
    n_out: usize,
    activation: Activation,
    cb: f64,
    parameterization: Parameterization,
    residual: Option<Residual>,
    inputs: Vec<Vec<f64>>,
    networks: usize,
    seed: u64,
}

impl Case {
    fn new(name: &'static str, n0: usize, width: usize, depth: usize, k: usize) -> Self {
        Case {
            name,
            n0,
            hidden: vec![width; depth],
            n_out: 2,
            activation: Activation::Relu,
            cb: 0.0,
            parameterization: Parameterization::Ntk,
            residual: None,
            inputs: inputs(n0, k),
            networks: 20_000,
            seed: 0x5eed_0000 + width as u64 * 100 + depth as u64,
        }
    }

    fn problem(&self, seed: u64) -> Problem {
        let spec = NetworkSpec::new(
            self.n0,
            self.hidden.clone(),
            self.n_out,
            self.activation,
            None,
            self.cb,
            self.parameterization,
            self.residual,
            WeightLaw::Gaussian,
        )
        .unwrap();
        Problem {
            spec,
            inputs: self.inputs.clone(),
            observe: Observe {
                output: true,
                ntk: true,
                sqnorm: true,
                jacobian: true,
                ..Default::default()
            },
            seed,
        }
    }
}

/// K fixed inputs of norm sqrt(n0), pairwise at different angles (some nearly parallel).
fn inputs(n0: usize, k: usize) -> Vec<Vec<f64>> {
    (0..k)
        .map(|a| {
            let x: Vec<f64> = (0..n0)
                .map(|j| (0.9 * (j as f64 + 1.0) + 0.6 * a as f64 * (j as f64 * 0.5).cos()).cos())
                .collect();
            let norm = x.iter().map(|v| v * v).sum::<f64>().sqrt();
            x.iter().map(|v| v * (n0 as f64).sqrt() / norm).collect()
        })
        .collect()
}

fn draw(sampler: &mut dyn BatchSampler, networks: usize) -> Vec<f64> {
    let d = sampler.n_values();
    let mut out = vec![0.0; networks * d];
    let batch = 4096;
    let mut start = 0;
    while start < networks {
        let count = batch.min(networks - start);
        sampler
            .sample_batch(
                start as u64,
                count,
                &mut out[start * d..(start + count) * d],
            )
            .unwrap();
        start += count;
    }
    assert!(out.iter().all(|v| v.is_finite()), "non-finite value drawn");
    out
}

/// Mean, variance and excess kurtosis (m4/m2^2 - 3) of `x` with delete-one-group jackknife
/// standard errors over `GROUPS` interleaved groups.
fn moments_with_errors(x: &[f64]) -> [(f64, f64); 3] {
    let n = x.len();
    let shift = x.iter().sum::<f64>() / n as f64;
    let mut sums = vec![[0.0f64; 5]; GROUPS];
    for (i, &v) in x.iter().enumerate() {
        let y = v - shift;
        let s = &mut sums[i % GROUPS];
        s[0] += 1.0;
        s[1] += y;
        s[2] += y * y;
        s[3] += y * y * y;
        s[4] += y * y * y * y;
    }
    let stats = |s: &[f64; 5]| -> [f64; 3] {
        let m = s[0];
        let m1 = s[1] / m;
        let (r2, r3, r4) = (s[2] / m, s[3] / m, s[4] / m);
        let c2 = r2 - m1 * m1;
        let c4 = r4 - 4.0 * m1 * r3 + 6.0 * m1 * m1 * r2 - 3.0 * m1.powi(4);
        let var = c2 * m / (m - 1.0);
        [shift + m1, var, c4 / (c2 * c2) - 3.0]
    };
    let mut total = [0.0; 5];
    for s in &sums {
        for p in 0..5 {
            total[p] += s[p];
        }
    }
    let full = stats(&total);
    let leave: Vec<[f64; 3]> = sums
        .iter()
        .map(|s| {
            let mut t = total;
            for p in 0..5 {
                t[p] -= s[p];
            }
            stats(&t)
        })
        .collect();
    let g = GROUPS as f64;
    let mut out = [(0.0, 0.0); 3];
    for q in 0..3 {
        let mean = leave.iter().map(|v| v[q]).sum::<f64>() / g;
        let var = leave.iter().map(|v| (v[q] - mean).powi(2)).sum::<f64>() * (g - 1.0) / g;
        out[q] = (full[q], var.sqrt());
    }
    out
}

/// Two-sample Kolmogorov–Smirnov statistic D (ties handled: both samples advance past equal
/// values together) and its asymptotic p-value, Q_KS((sqrt(N_e) + 0.12 + 0.11/sqrt(N_e)) D)
/// with N_e = n m / (n + m) and Q_KS(t) = 2 Σ_{j>=1} (-1)^{j-1} exp(-2 j² t²)
/// (Stephens 1970; Numerical Recipes §14.3).
fn ks_two_sample(a: &[f64], b: &[f64]) -> (f64, f64) {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort_by(|x, y| x.partial_cmp(y).unwrap());
    b.sort_by(|x, y| x.partial_cmp(y).unwrap());
    let (n, m) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        let v = a[i].min(b[j]);
        while i < a.len() && a[i] == v {
            i += 1;
        }
        while j < b.len() && b[j] == v {
            j += 1;
        }
        d = d.max((i as f64 / n - j as f64 / m).abs());
    }
    let ne = (n * m / (n + m)).sqrt();
    (d, kolmogorov_q((ne + 0.12 + 0.11 / ne) * d))
}

/// Q_KS(t) = P(K > t) for the Kolmogorov distribution.
fn kolmogorov_q(t: f64) -> f64 {
    if t < 0.2 {
        return 1.0;
    }
    let mut sum = 0.0;
    let mut sign = 1.0;
    for j in 1..=200 {
        let term = (-2.0 * (j * j) as f64 * t * t).exp();
        sum += sign * term;
        if term < 1e-17 {
            break;
        }
        sign = -sign;
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

/// Runs both engines and checks every observable; panics with a table of the failures.
fn check(case: &Case) {
    let dense_problem = case.problem(case.seed);
    let mf_problem = case.problem(case.seed ^ 0xABCD_EF01_2345);
    let names = dense_problem.names();
    let d = names.len();
    let t0 = std::time::Instant::now();
    let dense = draw(&mut CpuDense::new(&dense_problem).unwrap(), case.networks);
    let t1 = std::time::Instant::now();
    let mut mf_sampler = CpuMatrixFree::new(&mf_problem).unwrap();
    assert_eq!(mf_sampler.method(), "matrix-free");
    assert_eq!(mf_sampler.n_values(), d);
    let mf = draw(&mut mf_sampler, case.networks);
    let t2 = std::time::Instant::now();
    let mut failures = Vec::new();
    let (mut worst_z, mut worst_p) = ([0.0f64; 3], 1.0f64);
    let stat_names = ["mean", "variance", "excess_kurtosis"];
    let kurtosis_limit = (case.networks as f64).sqrt();
    let mut skipped = 0;
    for (o, name) in names.iter().enumerate() {
        let xs: Vec<f64> = dense.chunks_exact(d).map(|r| r[o]).collect();
        let ys: Vec<f64> = mf.chunks_exact(d).map(|r| r[o]).collect();
        let (mx, my) = (moments_with_errors(&xs), moments_with_errors(&ys));
        let mut ks_needed = false;
        for q in 0..3 {
            if q == 2 && mx[2].0.abs().max(my[2].0.abs()) > kurtosis_limit {
                // Not estimable from this many networks (see the module docs): KS instead.
                skipped += 1;
                ks_needed = true;
                continue;
            }
            let se = (mx[q].1.powi(2) + my[q].1.powi(2)).sqrt();
            let diff = mx[q].0 - my[q].0;
            let z = if se > 0.0 {
                diff.abs() / se
            } else if diff == 0.0 {
                0.0
            } else {
                f64::INFINITY
            };
            worst_z[q] = worst_z[q].max(z);
            if !(z <= Z_MAX) {
                failures.push(format!(
                    "{name} {}: dense {:.6} ± {:.2e}, matrix-free {:.6} ± {:.2e}, z = {z:.2}",
                    stat_names[q], mx[q].0, mx[q].1, my[q].0, my[q].1
                ));
            }
        }
        if ks_needed
            || name.starts_with("output")
            || name.starts_with("ntk")
            || name.starts_with("jacobian")
        {
            let (dks, p) = ks_two_sample(&xs, &ys);
            worst_p = worst_p.min(p);
            if !(p > KS_P_MIN) {
                failures.push(format!("{name} KS: D = {dks:.4}, p = {p:.2e}"));
            }
        }
    }
    eprintln!(
        "{}: {} networks x {} observables; max z mean {:.2}, variance {:.2}, excess kurtosis \
         {:.2} ({skipped} not estimable, KS instead); min KS p {:.3}; dense {:.2}s, matrix-free \
         {:.2}s",
        case.name,
        case.networks,
        d,
        worst_z[0],
        worst_z[1],
        worst_z[2],
        worst_p,
        (t1 - t0).as_secs_f64(),
        (t2 - t1).as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{}:\n{}",
        case.name,
        failures.join("\n")
    );
}

#[test]
fn tmp_reseed() {
    for x in [1u64, 2, 3] {
        let mut c = Case::new("relu, C_b=0.1, n=64, L=32, K=2", 8, 64, 32, 2);
        c.cb = 0.1;
        c.seed ^= x << 40;
        check(&c);
    }
}

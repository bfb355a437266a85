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

use randnet_problem::{
    Activation, Family, NetworkSpec, Observe, Parameterization, Residual, WeightLaw,
};
use randnet_sampler::{BatchSampler, CpuDense, CpuMatrixFree, Problem, SamplerError};

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
        let spec = NetworkSpec::builder(self.n0, self.hidden.clone())
            .output_dim(self.n_out)
            .activation(self.activation)
            .cb(self.cb)
            .parameterization(self.parameterization)
            .residual(self.residual)
            .build()
            .unwrap();
        Problem {
            spec,
            inputs: self.inputs.clone(),
            observe: Observe::NONE
                .with(Family::Output)
                .with(Family::Ntk)
                .with(Family::Sqnorm)
                .with(Family::JacobianNorm),
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
fn relu_no_bias_width4_depth4_k2() {
    let mut c = Case::new("relu, no bias, n=4, L=4, K=2", 3, 4, 4, 2);
    c.networks = 40_000;
    check(&c);
}

#[test]
fn relu_bias_width8_depth8_k3() {
    let mut c = Case::new("relu, C_b=0.1, n=8, L=8, K=3", 4, 8, 8, 3);
    c.cb = 0.1;
    c.networks = 30_000;
    check(&c);
}

#[test]
fn tanh_bias_width8_depth4_k2() {
    let mut c = Case::new("tanh, C_b=0.05, n=8, L=4, K=2", 4, 8, 4, 2);
    c.activation = Activation::Tanh;
    c.cb = 0.05;
    c.networks = 30_000;
    check(&c);
}

#[test]
fn linear_width4_depth4_k3_more_inputs_than_n0() {
    // K = 3 inputs in R^2: the first Gram matrix (and, with tangents, every one) is singular.
    let mut c = Case::new("linear, n0=2, n=4, L=4, K=3", 2, 4, 4, 3);
    c.activation = Activation::Linear;
    c.networks = 30_000;
    check(&c);
}

#[test]
fn residual_relu_width8_depth8_k2() {
    let mut c = Case::new("residual relu, alpha=0.5, n=8, L=8, K=2", 4, 8, 8, 2);
    c.residual = Some(Residual::Alpha(0.5));
    c.networks = 30_000;
    check(&c);
}

#[test]
fn relu_bias_standard_width4_depth2_k1() {
    let mut c = Case::new("relu, C_b=0.2, standard, n=4, L=2, K=1", 3, 4, 2, 1);
    c.cb = 0.2;
    c.parameterization = Parameterization::Standard;
    c.n_out = 3;
    c.networks = 40_000;
    check(&c);
}

#[test]
fn relu_equal_inputs_width8_depth4_k2() {
    // x_0 = x_1: every Gram matrix has rank <= 1 on the input columns.
    let mut c = Case::new("relu, x0 = x1, n=8, L=4, K=2", 4, 8, 4, 2);
    let x = c.inputs[0].clone();
    c.inputs = vec![x.clone(), x];
    c.cb = 0.1;
    c.networks = 20_000;
    check(&c);
}

#[test]
fn relu_width64_depth4_k2() {
    let mut c = Case::new("relu, n=64, L=4, K=2", 8, 64, 4, 2);
    c.networks = 8_000;
    check(&c);
}

#[test]
#[ignore = "heavy: width 64, L/n = 1/2 (run with --ignored)"]
fn relu_bias_width64_depth32_k2() {
    let mut c = Case::new("relu, C_b=0.1, n=64, L=32, K=2", 8, 64, 32, 2);
    c.cb = 0.1;
    c.networks = 20_000;
    // Seed moved once, when the matrix-free streams became column-major: the old seed then
    // gave sqnorm[28,1] KS p = 9.0e-4 (one of ~100 KS tests at 1e-3, all moments within 3.3
    // sigma); three fresh seeds (this one first) passed with min KS p 0.004, 0.009, 0.109.
    c.seed ^= 1 << 40;
    check(&c);
}

#[test]
#[ignore = "heavy: width 64, L/n = 1 (run with --ignored)"]
fn relu_width64_depth64_k3() {
    let mut c = Case::new("relu, n=64, L=64, K=3", 8, 64, 64, 3);
    c.networks = 10_000;
    check(&c);
}

#[test]
#[ignore = "heavy: residual, width 64, L/n = 1 (run with --ignored)"]
fn residual_relu_width64_depth64_k2() {
    let mut c = Case::new(
        "residual relu, invsqrt-depth, n=64, L=64, K=2",
        8,
        64,
        64,
        2,
    );
    c.residual = Some(Residual::InvSqrtDepth);
    c.networks = 10_000;
    check(&c);
}

#[test]
#[ignore = "heavy: tanh, width 64, L/n = 1/2 (run with --ignored)"]
fn tanh_width64_depth32_k3() {
    let mut c = Case::new("tanh, C_b=0.05, n=64, L=32, K=3", 8, 64, 32, 3);
    c.activation = Activation::Tanh;
    c.cb = 0.05;
    c.networks = 10_000;
    check(&c);
}

#[test]
#[ignore = "heavy: more networks on the small cases (run with --ignored)"]
fn small_cases_with_200k_networks() {
    let mut a = Case::new("relu, C_b=0.1, n=4, L=4, K=3 (200k)", 3, 4, 4, 3);
    a.cb = 0.1;
    a.networks = 200_000;
    check(&a);
    let mut b = Case::new("tanh, n=8, L=8, K=1 (200k)", 4, 8, 8, 1);
    b.activation = Activation::Tanh;
    b.networks = 200_000;
    check(&b);
}

#[test]
fn network_values_do_not_depend_on_batching() {
    let c = Case::new("batching", 3, 8, 3, 2);
    let p = c.problem(7);
    let mut s = CpuMatrixFree::new(&p).unwrap();
    let d = s.n_values();
    let whole = draw(&mut s, 50);
    let mut part = vec![0.0; 20 * d];
    s.sample_batch(30, 20, &mut part).unwrap();
    assert_eq!(&whole[30 * d..], &part[..]);
    // The engine on one thread gives the same numbers too.
    let engine = s.engine();
    let mut scratch = engine.scratch();
    let mut row = vec![0.0; d];
    engine.sample(41, &mut scratch, &mut row);
    assert_eq!(&whole[41 * d..42 * d], &row[..]);
}

#[test]
fn non_gaussian_weights_are_unsupported() {
    for law in [WeightLaw::Uniform, WeightLaw::Rademacher] {
        let c = Case::new("law", 3, 4, 2, 1);
        let mut p = c.problem(1);
        p.spec.weights = law;
        match CpuMatrixFree::new(&p) {
            Err(SamplerError::Unsupported(msg)) => assert!(msg.contains("Gaussian"), "{msg}"),
            Err(e) => panic!("wrong error {e}"),
            Ok(_) => panic!("matrix-free accepted {law} weights"),
        }
    }
}

#[test]
fn all_dead_relu_layers_give_zero_not_nan() {
    // Width 1 ReLU, no bias: about half the networks kill the signal in some layer; the
    // singular (zero) Gram must give exact zeros downstream, never NaN.
    let c = Case::new("dead", 2, 1, 6, 2);
    let p = c.problem(3);
    let mut s = CpuMatrixFree::new(&p).unwrap();
    let d = s.n_values();
    let out = draw(&mut s, 2000);
    let zeros = out.chunks_exact(d).filter(|r| r[0] == 0.0).count();
    assert!(zeros > 500, "{zeros} networks with output 0");
}

#[test]
fn ks_and_moments_helpers() {
    // KS: identical samples give D = 0, p = 1; disjoint samples give D = 1, p ~ 0.
    let a: Vec<f64> = (0..1000).map(|i| i as f64).collect();
    assert_eq!(ks_two_sample(&a, &a), (0.0, 1.0));
    let b: Vec<f64> = (0..1000).map(|i| 1e4 + i as f64).collect();
    let (d, p) = ks_two_sample(&a, &b);
    assert_eq!(d, 1.0);
    assert!(p < 1e-100);
    // Q_KS at its 5% point 1.358.
    assert!((kolmogorov_q(1.3581) - 0.05).abs() < 1e-4);
    // Moments of a two-point law ±1: mean 0, variance ~1, excess kurtosis -2.
    let x: Vec<f64> = (0..1000)
        .map(|i| if i % 2 == 0 { 1.0 } else { -1.0 })
        .collect();
    let m = moments_with_errors(&x);
    assert!(m[0].0.abs() < 1e-12 && (m[1].0 - 1.0).abs() < 2e-3 && (m[2].0 + 2.0).abs() < 1e-9);
}

/// Throughput of both engines on config A (ReLU, n0=16, n=256, L=32, K=2, output + NTK) and
/// the matrix-free cost per network for n = 64..4096 (prints; no assertion).
#[test]
#[ignore = "timing (run with --ignored --nocapture)"]
fn timing_config_a_and_width_scaling() {
    let problem = |n: usize, depth: usize| {
        let mut c = Case::new("timing", 16, n, depth, 2);
        c.n_out = 1;
        let mut p = c.problem(1);
        p.observe = Observe::NONE.with(Family::Output).with(Family::Ntk);
        p
    };
    let rate = |s: &mut dyn BatchSampler, networks: usize| {
        let t = std::time::Instant::now();
        draw(s, networks);
        networks as f64 / t.elapsed().as_secs_f64()
    };
    let p = problem(256, 32);
    let threads = rayon::current_num_threads();
    let dense = if std::env::var_os("RANDNET_SKIP_DENSE_TIMING").is_some() {
        f64::NAN
    } else {
        rate(&mut CpuDense::new(&p).unwrap(), 200)
    };
    let mf = rate(&mut CpuMatrixFree::new(&p).unwrap(), 20_000);
    eprintln!(
        "config A, {threads} threads: dense {dense:.1} networks/s, matrix-free {mf:.0} networks/s"
    );
    // Crossover at small widths (L = 8, K = 2, 1 ms budget-ish per point): with and without
    // Jacobian tangents (c = 4 or 2 columns).
    for jac in [false, true] {
        for n in [2usize, 4, 8, 16, 32, 64] {
            let mut p = problem(n, 8);
            p.observe = p.observe.with_if(Family::JacobianNorm, jac);
            let networks = (400_000 / (n * n)).clamp(500, 50_000);
            let d = rate(&mut CpuDense::new(&p).unwrap(), networks);
            let m = rate(&mut CpuMatrixFree::new(&p).unwrap(), networks);
            eprintln!(
                "n = {n:3}, L = 8, K = 2, jacobian {jac}: dense {:.2} us/network, matrix-free \
                 {:.2} us/network (matrix-free speed-up {:.2}x)",
                1e6 / d,
                1e6 / m,
                m / d
            );
        }
    }
    for n in [64usize, 128, 256, 512, 1024, 2048, 4096] {
        let p = problem(n, 32);
        let networks = (2_000_000 / n).max(200);
        let r = rate(&mut CpuMatrixFree::new(&p).unwrap(), networks);
        eprintln!(
            "n = {n:5}, L = 32, K = 2: matrix-free {:.1} us/network",
            1e6 / r
        );
    }
}

/// `lyapunov:3` from both engines agrees in distribution: per exponent, a two-sample KS test on
/// the networks where it exists (p > 1e-3), and the fraction of rank drops (two-proportion z
/// within Z_MAX). ReLU with a bias, n = 8, L = 5, one input, output and jacobian beside it (the
/// frame shares the layers' columns with them).
#[test]
fn lyapunov_exponents_agree_in_distribution() {
    let mut c = Case::new("relu, C_b=0.1, n=8, L=5, K=1, lyapunov:3", 8, 8, 5, 1);
    c.cb = 0.1;
    c.networks = 30_000;
    let with_frame = |p: Problem| Problem {
        observe: p
            .observe
            .with(Family::JacobianNorm)
            .with_count(Family::Lyapunov, 3),
        ..p
    };
    let dense_problem = with_frame(c.problem(c.seed));
    let mf_problem = with_frame(c.problem(c.seed ^ 0xABCD_EF01_2345));
    let names = dense_problem.names();
    let d = names.len();
    // Missing exponents are NaN (rank drops), so not `draw`, which refuses non-finite values.
    let all = |sampler: &mut dyn BatchSampler| {
        let mut out = vec![0.0; c.networks * d];
        sampler.sample_batch(0, c.networks, &mut out).unwrap();
        assert!(out.iter().all(|v| v.is_finite() || v.is_nan()));
        out
    };
    let dense = all(&mut CpuDense::new(&dense_problem).unwrap());
    let mf = all(&mut CpuMatrixFree::new(&mf_problem).unwrap());
    let m = c.networks as f64;
    for i in 1..=3 {
        let o = names
            .iter()
            .position(|n| *n == format!("lyapunov[{i}]"))
            .unwrap();
        let column = |rows: &[f64]| -> Vec<f64> {
            rows.chunks_exact(d)
                .map(|r| r[o])
                .filter(|v| !v.is_nan())
                .collect()
        };
        let (xs, ys) = (column(&dense), column(&mf));
        let (dks, p) = ks_two_sample(&xs, &ys);
        assert!(p > KS_P_MIN, "lyapunov[{i}] KS: D = {dks:.4}, p = {p:.2e}");
        let (px, py) = (1.0 - xs.len() as f64 / m, 1.0 - ys.len() as f64 / m);
        let pool = (px + py) / 2.0;
        let se = (2.0 * pool * (1.0 - pool) / m).sqrt();
        if se > 0.0 {
            let z = (px - py) / se;
            assert!(
                z.abs() < Z_MAX,
                "lyapunov[{i}] rank drops: {px} vs {py}, z = {z}"
            );
        }
        eprintln!(
            "lyapunov[{i}]: KS D = {dks:.4}, p = {p:.3}; rank drops {:.4} vs {:.4}",
            px, py
        );
    }
}

//! Statistical verification of the dense CPU engine and the estimators against exact laws
//! (docs/theory.md). Every test uses a fixed seed and states its tolerance
//! in standard errors; sample sizes are chosen so that a wrong constant fails (see each comment).

use randnet_problem::{Activation, InputSpec, NetworkSpec, Observe, Parameterization, WeightLaw};
use randnet_sampler::inputs::resolve_inputs;
use randnet_sampler::{BatchSampler, CpuDense, Problem};
use randnet_stats::{Accumulator, Estimate, Statistic};

fn spec(act: Activation, n0: usize, width: usize, depth: usize, cb: f64) -> NetworkSpec {
    NetworkSpec::new(
        n0,
        vec![width; depth],
        1,
        act,
        None,
        cb,
        Parameterization::Ntk,
        None,
        WeightLaw::Gaussian,
    )
    .unwrap()
}

fn problem(spec: NetworkSpec, k: usize, observe: &str, seed: u64) -> Problem {
    let inputs = resolve_inputs(&InputSpec::Random { count: k }, spec.input_dim, seed);
    Problem {
        spec,
        inputs,
        observe: Observe::parse_list(observe).unwrap(),
        seed,
    }
}

/// Draws `m` networks starting at network `start` and accumulates them.
fn run(problem: &Problem, start: u64, m: u64) -> Accumulator {
    let mut s = CpuDense::new(problem).unwrap();
    let d = s.n_values();
    let mut acc = Accumulator::new(d, vec![], vec![0.0; d], 64);
    let batch = 4096usize;
    let mut buf = vec![0.0; batch * d];
    let mut next = start;
    while next < start + m {
        let count = (start + m - next).min(batch as u64) as usize;
        s.sample_batch(next, count, &mut buf).unwrap();
        for (i, row) in buf[..count * d].chunks_exact(d).enumerate() {
            assert!(row.iter().all(|v| v.is_finite()));
            acc.push(next + i as u64, row);
        }
        next += count as u64;
    }
    acc
}

fn assert_z(name: &str, e: Estimate, truth: f64, tol: f64) {
    let z = (e.estimate - truth) / e.stderr;
    println!(
        "{name}: estimate {:.6} ± {:.6}, truth {truth:.6}, z = {z:.2}",
        e.estimate, e.stderr
    );
    assert!(z.abs() <= tol, "{name}: |z| = {:.2} > {tol}", z.abs());
}

/// Exact law (docs/theory.md): Var f = (C_W/n0)||x||^2 (C_W A2)^L and excess kurtosis
/// 3[prod_l (1 + (3 A4/A2^2 - 1)/n_l) - 1]; relu: A2 = A4 = 1/2, linear: A2 = A4 = 1.
fn exact_var_kurt(act: Activation, width: usize, depth: usize) -> (f64, f64) {
    let (ap, am) = act.slopes(width).unwrap();
    let a2 = (ap * ap + am * am) / 2.0;
    let a4 = (ap.powi(4) + am.powi(4)) / 2.0;
    let cw = act.critical_cw();
    // ||x||^2 = n0 for drawn inputs.
    let var = cw * (cw * a2).powi(depth as i32);
    let kurt = 3.0 * ((1.0 + (3.0 * a4 / (a2 * a2) - 1.0) / width as f64).powi(depth as i32) - 1.0);
    (var, kurt)
}

/// Readout variance and excess kurtosis of zero-bias ReLU and linear nets at L/n = 1/16, 1/4,
/// 1/2 against the exact products, |z| <= 4. With 400k networks the kurtosis stderr is a few
/// percent of its value; replacing 5/n by 4/n (or 2/n by 1/n) moves the truth by 15-25%, many
/// standard errors, so a wrong constant fails.
#[test]
fn relu_and_linear_readout_match_exact_laws() {
    for act in [Activation::Relu, Activation::Linear] {
        for (width, depth) in [(32usize, 2usize), (16, 4), (16, 8)] {
            let p = problem(spec(act, 8, width, depth, 0.0), 1, "output", 11);
            let acc = run(&p, 0, 400_000);
            let (var, kurt) = exact_var_kurt(act, width, depth);
            let tag = format!("{act} n={width} L={depth}");
            assert_z(
                &format!("{tag} mean"),
                acc.estimate(0, Statistic::Mean),
                0.0,
                4.0,
            );
            assert_z(
                &format!("{tag} var"),
                acc.estimate(0, Statistic::Variance),
                var,
                4.0,
            );
            let k = acc.estimate(0, Statistic::ExcessKurtosis);
            assert_z(&format!("{tag} excess kurtosis"), k, kurt, 4.0);
            assert!(
                k.stderr < 0.1 * kurt,
                "{tag}: kurtosis stderr too large to test"
            );
        }
    }
}

/// Hanin & Nica: for zero-bias ReLU with C_W = 2 in NTK parameterization the NTK mean equals its
/// infinite-width value 2(L+1)||x||^2/n0 (= 2(L+1) here). |z| <= 4 with 50k networks: the
/// stderr is ~0.3% of the mean, so an off-by-one in the layer count (2L) fails by ~30 sd.
#[test]
fn relu_ntk_mean_is_exact() {
    for (width, depth) in [(32usize, 4usize), (16, 8)] {
        let p = problem(spec(Activation::Relu, 8, width, depth, 0.0), 2, "ntk", 3);
        let acc = run(&p, 0, 50_000);
        let truth = 2.0 * (depth as f64 + 1.0);
        assert_z(
            &format!("ntk[0,0] n={width} L={depth}"),
            acc.estimate(0, Statistic::Mean),
            truth,
            4.0,
        );
        assert_z(
            &format!("ntk[1,1] n={width} L={depth}"),
            acc.estimate(2, Statistic::Mean),
            truth,
            4.0,
        );
    }
}

/// A wide tanh net's readout variance against the infinite-width recursion. At width n the gap
/// is O(1/n); we allow 4 standard errors plus 4/n relative (PDLT ch. 4: the 1/n correction to
/// the kernel of a K* = 0 activation at criticality is a small multiple of K/n).
#[test]
fn wide_tanh_variance_near_infinite_width() {
    let width = 128;
    let depth = 3;
    let p = problem(spec(Activation::Tanh, 8, width, depth, 0.0), 1, "output", 5);
    let acc = run(&p, 0, 20_000);
    let kernels = randnet_theory::infinite_width(&p.spec, &p.inputs);
    let k_inf = kernels.nngp.last().unwrap()[0][0];
    let e = acc.estimate(0, Statistic::Variance);
    let gap = (e.estimate - k_inf).abs();
    println!(
        "tanh n={width} L={depth}: var {:.5} ± {:.5}, infinite width {k_inf:.5}",
        e.estimate, e.stderr
    );
    assert!(gap <= 4.0 * e.stderr + 4.0 / width as f64 * k_inf);
    // The recursion must differ from a naive guess (C_W^{L+1} ||x||^2/n0 = 1 for a linear net)
    // by far more than the tolerance, or this test could not catch a wrong recursion.
    assert!((k_inf - 1.0).abs() > 10.0 * (4.0 * e.stderr + 4.0 / width as f64 * k_inf));
}

/// Coverage of the 95% intervals estimate ± 1.96 stderr over 200 independent runs (disjoint
/// network ranges of one stream). Binomial(200, 0.95) has sd 1.5%; we accept [88%, 99%], which a
/// stderr off by a factor 1.5 fails (coverage would be ~80%).
fn coverage(p: &Problem, m: u64, truths: [f64; 3]) -> Vec<f64> {
    let runs = 200;
    let mut covered = [0usize; 3];
    for r in 0..runs {
        let acc = run(p, r * m, m);
        for (i, stat) in [
            Statistic::Mean,
            Statistic::Variance,
            Statistic::ExcessKurtosis,
        ]
        .into_iter()
        .enumerate()
        {
            let e = acc.estimate(0, stat);
            if (e.estimate - truths[i]).abs() <= 1.96 * e.stderr {
                covered[i] += 1;
            }
        }
    }
    covered.iter().map(|&c| c as f64 / runs as f64).collect()
}

/// Light tails (linear net, n = 32, L = 1, 2000 nets per run): all three intervals near 95%.
#[test]
fn standard_errors_cover_the_truth() {
    let (width, depth) = (32, 1);
    let p = problem(
        spec(Activation::Linear, 4, width, depth, 0.0),
        1,
        "output",
        21,
    );
    let (var, kurt) = exact_var_kurt(Activation::Linear, width, depth);
    let cov = coverage(&p, 2000, [0.0, var, kurt]);
    println!("linear coverage mean/variance/excess_kurtosis: {cov:?}");
    for c in cov {
        assert!((0.88..=0.99).contains(&c), "coverage {c}");
    }
}

/// Heavy tails (ReLU, n = 16, L = 2, 10 000 nets per run): mean and variance near 95%; the
/// excess-kurtosis interval under-covers (measured 0.865) because the estimator's sampling law is
/// skewed when the output's eighth moment is large — a known limit of jackknife intervals for
/// ratio statistics, documented in docs/statistics.md. We assert it stays above 0.80 so that a
/// real regression (a wrong stderr formula) still fails.
#[test]
fn standard_errors_cover_the_truth_heavy_tails() {
    let (width, depth) = (16, 2);
    let p = problem(
        spec(Activation::Relu, 4, width, depth, 0.0),
        1,
        "output",
        21,
    );
    let (var, kurt) = exact_var_kurt(Activation::Relu, width, depth);
    let cov = coverage(&p, 10_000, [0.0, var, kurt]);
    println!("relu coverage mean/variance/excess_kurtosis: {cov:?}");
    assert!((0.88..=0.99).contains(&cov[0]), "mean coverage {}", cov[0]);
    assert!(
        (0.88..=0.99).contains(&cov[1]),
        "variance coverage {}",
        cov[1]
    );
    assert!(
        (0.80..=0.99).contains(&cov[2]),
        "kurtosis coverage {}",
        cov[2]
    );
}

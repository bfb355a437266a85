//! The GPU matrix-free engine (shaders/matrix_free.wgsl) against its CPU twin (MatrixFreeEngine,
//! f64): same seed, same random streams (Z^l, Y^l), so per-network values agree up to f32
//! rounding wherever both sides find the same ranks and the same live rows.
//!
//! Tolerance: |gpu - cpu| <= RTOL * max(|cpu|, rms of that observable over the networks drawn),
//! RTOL = 1e-3. Larger than the dense engine's (2e-5 / 5e-5): besides f32 sums, each layer runs
//! an f32 Jacobi eigendecomposition and applies Σ⁺, whose small eigenvalues amplify rounding
//! (docs/gpu.md, "GPU matrix-free"). Cases: tanh and erf (σ' never exactly 0, so live rows agree
//! on both sides), K = 1, 2, 3, widths 37 and 100 (not multiples of the workgroup size), with and
//! without bias, depth up to 16. ReLU nets are compared in distribution: an f32 pre-activation
//! near 0 can land on the other side than in f64, which changes a live row and shifts every
//! later stream index, so per-network values legitimately differ.
//! Residual nets (α = 0.5, invsqrt-depth, inv-depth; z^l = z^{l-1} + α H^l on hidden layers
//! 2..L) are held to the same per-network bound for tanh: the skip sum adds one f32 rounding per
//! layer and the backward skip path δ^{l-1} = δ^l + ... adds one more, both ~6e-8 relative, far
//! below what Σ⁺ already contributes. Residual ReLU nets are compared in distribution as above.
//! Jacobian norms (c = 2K columns: the K tangents J(x_a) u ride along every layer) are held to
//! the same bound: they add columns to the same f32 Gram, Jacobi and Σ⁺ route and no new
//! source of error beyond one f32 square root; layer 1's Σ^1, which then contains the
//! per-network direction u, is factored on the host in f64 like the CPU's.
//! Squared norms ‖z^l(x_a)‖²/n_l (every layer, every input) are held to the same bound: they are
//! sums over n_l rows of squares of the z^l that the other observables are computed from, and a
//! sum of n f32 squares has relative error ~ n·2^-24 at worst (~6e-6 at n = 100, and ~√n·2^-24
//! in practice with per-thread partial sums and a tree reduction), far below RTOL, so the bound
//! is set by z^l itself, whose errors the output and the Jacobian norms already measure.
//! Every test skips (prints SKIP and returns) when the machine has no GPU adapter.

#![cfg(feature = "gpu")]

use randnet_problem::{
    Activation, Family, InputSpec, NetworkSpec, Observe, Parameterization, Residual, WeightLaw,
};
use randnet_sampler::gpu::{GpuContext, GpuMatrixFree};
use randnet_sampler::inputs::resolve_inputs;
use randnet_sampler::{BatchSampler, MatrixFreeEngine, NetworkEngine, Problem, SamplerError};

mod common;
use common::ctx;

const OUT_NTK: Observe = Observe::NONE.with(Family::Output).with(Family::Ntk);
const JAC: Observe = OUT_NTK.with(Family::JacobianNorm);
const SQ: Observe = OUT_NTK.with(Family::Sqnorm);
const SQ_JAC: Observe = JAC.with(Family::Sqnorm);

fn problem(
    act: &str,
    hidden: Vec<usize>,
    k: usize,
    cb: f64,
    observe: Observe,
    seed: u64,
) -> Problem {
    problem_res(act, hidden, k, cb, observe, seed, None)
}

fn problem_res(
    act: &str,
    hidden: Vec<usize>,
    k: usize,
    cb: f64,
    observe: Observe,
    seed: u64,
    residual: Option<Residual>,
) -> Problem {
    let n0 = 7;
    let spec = NetworkSpec::new(
        n0,
        hidden,
        1,
        act.parse::<Activation>().unwrap(),
        None,
        cb,
        Parameterization::Ntk,
        residual,
        WeightLaw::Gaussian,
    )
    .unwrap();
    Problem {
        inputs: resolve_inputs(&InputSpec::Random { count: k }, n0, seed),
        spec,
        observe,
        seed,
    }
}

fn cpu_values(p: &Problem, start: u64, count: usize) -> Vec<f64> {
    let e = MatrixFreeEngine::new(p).unwrap();
    let d = p.n_values();
    let mut s = NetworkEngine::scratch(&e);
    let mut out = vec![0.0; count * d];
    for i in 0..count {
        e.sample(start + i as u64, &mut s, &mut out[i * d..(i + 1) * d]);
    }
    out
}

fn gpu_values(ctx: &GpuContext, p: &Problem, start: u64, count: usize) -> Vec<f64> {
    let mut g = GpuMatrixFree::new(ctx, p).unwrap();
    assert_eq!((g.backend(), g.method()), ("gpu", "matrix-free"));
    assert_eq!(g.n_values(), p.n_values());
    let mut out = vec![f64::NAN; count * p.n_values()];
    g.sample_batch(start, count, &mut out).unwrap();
    out
}

const RTOL: f64 = 1e-3;

fn check(act: &str, hidden: Vec<usize>, k: usize, cb: f64, observe: Observe) {
    check_at(5, act, hidden, k, cb, observe);
}

/// Networks `start..start + 16`.
fn check_at(start: u64, act: &str, hidden: Vec<usize>, k: usize, cb: f64, observe: Observe) {
    check_res(start, act, hidden, k, cb, observe, None);
}

/// Networks `start..start + 16` of a net with skip connections `residual`.
fn check_res(
    start: u64,
    act: &str,
    hidden: Vec<usize>,
    k: usize,
    cb: f64,
    observe: Observe,
    residual: Option<Residual>,
) {
    let p = problem_res(act, hidden.clone(), k, cb, observe, 20261123, residual);
    let label = format!("{act} {hidden:?} K={k} cb={cb} residual {residual:?}");
    check_problem(start, &p, &label);
}

/// Networks `start..start + 16` of `p`, per network.
fn check_problem(start: u64, p: &Problem, label: &str) {
    let Some(ctx) = ctx() else { return };
    let count = 16usize;
    let names = p.names();
    let d = names.len();
    let cpu = cpu_values(p, start, count);
    let gpu = gpu_values(ctx, p, start, count);
    let mut worst = 0.0f64;
    for (v, name) in names.iter().enumerate() {
        let rms = ((0..count).map(|i| cpu[i * d + v].powi(2)).sum::<f64>() / count as f64).sqrt();
        for i in 0..count {
            let (g, c) = (gpu[i * d + v], cpu[i * d + v]);
            let scale = c.abs().max(rms);
            let err = (g - c).abs() / scale;
            assert!(
                err <= RTOL,
                "{label}: network {} {name}: gpu {g} cpu {c} \
                 (relative error {err:.2e} > {RTOL:e})",
                start + i as u64
            );
            worst = worst.max(err);
        }
    }
    eprintln!("{label}: worst relative error {worst:.2e}");
}

#[test]
fn tanh_and_erf_match_cpu_twin() {
    for act in ["tanh", "erf"] {
        for k in [1, 2, 3] {
            check(act, vec![37, 37, 37], k, 0.0, OUT_NTK);
            check(act, vec![100, 37], k, 0.1, OUT_NTK);
        }
    }
}

/// Networks beyond 2^32 (docs/rng.md): networks 2^32 - 8 .. 2^32 + 8 straddle 2^32, where the
/// key changes (stream::network_key); the host splits the chunk there and passes each chunk's
/// key, and every network matches the CPU twin. Networks 2^32 + i differ from networks i.
#[test]
fn chunk_straddling_2_pow_32() {
    let Some(ctx) = ctx() else { return };
    let start = (1u64 << 32) - 8;
    check_at(start, "tanh", vec![37, 37], 2, 0.1, OUT_NTK);
    // With Jacobians the host draws each chunk's directions u and factors: two chunks here.
    check_res(
        start,
        "tanh",
        vec![37, 37],
        2,
        0.1,
        JAC,
        Some(Residual::Alpha(0.5)),
    );
    let p = problem("tanh", vec![37, 37], 2, 0.1, OUT_NTK, 20261123);
    let d = p.n_values();
    let high = gpu_values(ctx, &p, 1 << 32, 8);
    let low = gpu_values(ctx, &p, 0, 8);
    for i in 0..8 * d {
        assert_ne!(
            high[i],
            low[i],
            "network 2^32 + {} repeats network {}",
            i / d,
            i / d
        );
    }
}

#[test]
fn deep_tanh_matches_cpu_twin() {
    check("tanh", vec![37; 16], 2, 0.05, OUT_NTK);
    check("erf", vec![100; 8], 3, 0.0, OUT_NTK);
}

#[test]
fn output_only_and_ntk_only() {
    check(
        "tanh",
        vec![37, 100],
        2,
        0.1,
        Observe::NONE.with(Family::Output),
    );
    check(
        "erf",
        vec![37, 100],
        3,
        0.0,
        Observe::NONE.with(Family::Ntk),
    );
}

/// What the kernel does not hold is refused: Jacobian norms with K > 4 (with sqnorm too), more
/// than 8 inputs, other weight laws.
#[test]
fn unsupported_observables_are_refused() {
    let Some(ctx) = ctx() else { return };
    // Jacobian norms with K = 5 would need 10 columns (the kernel holds 8).
    for observe in [JAC, SQ_JAC] {
        let p = problem("tanh", vec![20], 5, 0.0, observe, 1);
        assert!(matches!(
            GpuMatrixFree::new(ctx, &p),
            Err(SamplerError::Unsupported(_))
        ));
    }
    let p = problem("tanh", vec![20], 9, 0.0, SQ, 1);
    assert!(matches!(
        GpuMatrixFree::new(ctx, &p),
        Err(SamplerError::Unsupported(_))
    ));
    let mut p = problem("tanh", vec![20], 2, 0.0, SQ, 1);
    p.spec.weights = WeightLaw::Uniform;
    assert!(matches!(
        GpuMatrixFree::new(ctx, &p),
        Err(SamplerError::Unsupported(_))
    ));
}

/// The planner: `--backend gpu --method matrix-free` now takes sqnorm on the GPU matrix-free
/// engine alone (alongside output, NTK and Jacobian norms), and still refuses Jacobian norms
/// with K > 4 in one line.
#[test]
fn planner_takes_sqnorm_on_the_gpu() {
    use randnet_sampler::plan::{plan, Device, Engine as _, Env, Request};
    let Some(_) = ctx() else { return };
    let req = Request {
        device: Some(Device::Gpu),
        method: Some("matrix-free".into()),
        ..Default::default()
    };
    let env = Env::open(&req).unwrap();
    for observe in [Observe::NONE.with(Family::Sqnorm), SQ, SQ_JAC] {
        let p = problem("tanh", vec![20, 20], 2, 0.1, observe, 1);
        assert!(randnet_sampler::gpu::MatrixFreeGpu
            .supports(&p, &req, &env)
            .is_ok());
        let built = plan(&p, &req, &env).unwrap();
        assert_eq!(
            (built.sampler.backend(), built.sampler.method()),
            ("gpu", "matrix-free"),
            "{observe:?}"
        );
        assert_eq!(built.sampler.n_values(), p.n_values());
    }
    let p = problem("tanh", vec![20, 20], 5, 0.1, SQ_JAC, 1);
    let e = plan(&p, &req, &env)
        .err()
        .expect("K = 5 with Jacobians is refused");
    assert!(!e.to_string().contains('\n'), "{e}");
    assert!(e.to_string().contains("1..=4 inputs"), "{e}");
}

/// ReLU: per-network values may differ (f32 sign flips near 0 change the live rows), so the
/// means and variances of every observable are compared: |Δ| <= 4.5 combined standard errors.
#[test]
fn relu_matches_cpu_twin_in_distribution() {
    relu_in_distribution(vec![37, 37, 37], 0.05, None, 4000, OUT_NTK);
}

fn relu_in_distribution(
    hidden: Vec<usize>,
    cb: f64,
    residual: Option<Residual>,
    count: usize,
    observe: Observe,
) {
    let Some(ctx) = ctx() else { return };
    let p = problem_res("relu", hidden, 2, cb, observe, 7, residual);
    let names = p.names();
    let d = names.len();
    let cpu = cpu_values(&p, 0, count);
    // Different networks on the GPU, so the two samples are independent.
    let gpu = gpu_values(ctx, &p, count as u64, count);
    let mut same = 0usize;
    let cpu_same = cpu_values(&p, count as u64, count);
    for (g, c) in gpu.iter().zip(&cpu_same) {
        if (g - c).abs() <= RTOL * c.abs().max(1e-3) {
            same += 1;
        }
    }
    eprintln!(
        "relu {residual:?}: {same} of {} values agree per network",
        count * d
    );
    let n = count as f64;
    for (v, name) in names.iter().enumerate() {
        let col = |x: &[f64]| -> Vec<f64> { (0..count).map(|i| x[i * d + v]).collect() };
        let (a, b) = (col(&cpu), col(&gpu));
        let mean = |x: &[f64]| x.iter().sum::<f64>() / n;
        let (ma, mb) = (mean(&a), mean(&b));
        let var = |x: &[f64], m: f64| x.iter().map(|y| (y - m).powi(2)).sum::<f64>() / (n - 1.0);
        let (va, vb) = (var(&a, ma), var(&b, mb));
        let z_mean = (ma - mb).abs() / ((va + vb) / n).sqrt();
        // Standard error of a sample variance: sqrt((m4 - v^2) / n).
        let m4 = |x: &[f64], m: f64| x.iter().map(|y| (y - m).powi(4)).sum::<f64>() / n;
        let se_v = ((m4(&a, ma) - va * va) / n + (m4(&b, mb) - vb * vb) / n).sqrt();
        let z_var = (va - vb).abs() / se_v;
        eprintln!("relu {name}: mean cpu {ma:.4} gpu {mb:.4} (z {z_mean:.2}), var cpu {va:.4} gpu {vb:.4} (z {z_var:.2})");
        assert!(
            z_mean <= 4.5 && z_var <= 4.5,
            "relu {name}: z_mean {z_mean:.2} z_var {z_var:.2}"
        );
    }
    // Most values should still agree network by network (same streams).
    assert!(
        same * 2 > count * d,
        "only {same} of {} ReLU values agree",
        count * d
    );
}

const RESIDUALS: [Residual; 3] = [
    Residual::Alpha(0.5),
    Residual::InvSqrtDepth,
    Residual::InvDepth,
];

/// Residual tanh nets per network: every residual rule, K = 1..4, with and without biases, output
/// and NTK together.
#[test]
fn residual_tanh_matches_cpu_twin() {
    for res in RESIDUALS {
        for k in 1..=4 {
            for cb in [0.0, 0.1] {
                check_res(5, "tanh", vec![37; 5], k, cb, OUT_NTK, Some(res));
            }
        }
    }
}

/// Deep residual nets (where α = 1/√L keeps the skip sum of order one) and a width above the
/// workgroup size, each observable alone too.
#[test]
fn residual_deep_and_single_observables() {
    check_res(
        5,
        "tanh",
        vec![37; 16],
        2,
        0.05,
        OUT_NTK,
        Some(Residual::InvSqrtDepth),
    );
    check_res(
        5,
        "erf",
        vec![100; 6],
        3,
        0.0,
        OUT_NTK,
        Some(Residual::InvDepth),
    );
    let output = Observe::NONE.with(Family::Output);
    let ntk = Observe::NONE.with(Family::Ntk);
    check_res(
        5,
        "tanh",
        vec![100; 3],
        2,
        0.1,
        output,
        Some(Residual::Alpha(0.5)),
    );
    check_res(
        5,
        "tanh",
        vec![100; 3],
        3,
        0.0,
        ntk,
        Some(Residual::Alpha(0.5)),
    );
    // Depth 1 has no residual layer: the plain net.
    check_res(
        5,
        "tanh",
        vec![37],
        2,
        0.1,
        OUT_NTK,
        Some(Residual::Alpha(0.5)),
    );
}

/// Residual ReLU nets in distribution (see `relu_matches_cpu_twin_in_distribution`), with and
/// without biases, for every residual rule.
#[test]
fn residual_relu_matches_cpu_twin_in_distribution() {
    for (res, cb) in RESIDUALS.into_iter().zip([0.0, 0.05, 0.1]) {
        relu_in_distribution(vec![37; 4], cb, Some(res), 2000, OUT_NTK);
    }
}

/// Jacobian norms per network (tanh, erf): K = 1..4, with and without biases, plain and
/// residual, with output and NTK and alone.
#[test]
fn jacobian_matches_cpu_twin() {
    for k in 1..=4 {
        for cb in [0.0, 0.1] {
            check_res(5, "tanh", vec![37, 37, 37], k, cb, JAC, None);
            check_res(5, "erf", vec![100, 37], k, cb, JAC, None);
            for res in RESIDUALS {
                check_res(5, "tanh", vec![37; 5], k, cb, JAC, Some(res));
            }
        }
    }
    let jac_only = Observe::NONE.with(Family::JacobianNorm);
    check_res(5, "tanh", vec![100; 3], 3, 0.1, jac_only, None);
    check_res(
        5,
        "tanh",
        vec![37; 16],
        2,
        0.05,
        JAC,
        Some(Residual::InvSqrtDepth),
    );
    // Depth 0 (the readout alone) and three output units (the norm sums over all of them).
    check_res(5, "tanh", vec![], 2, 0.1, JAC, None);
    three_outputs(JAC, "tanh, 3 outputs");
}

/// Jacobian norms of ReLU nets, plain and residual, in distribution (see
/// `relu_matches_cpu_twin_in_distribution`).
#[test]
fn jacobian_relu_matches_cpu_twin_in_distribution() {
    relu_in_distribution(vec![37, 37, 37], 0.05, None, 2000, JAC);
    relu_in_distribution(vec![37; 4], 0.0, Some(Residual::Alpha(0.5)), 2000, JAC);
}

/// Squared norms per network (tanh, erf): K = 1..4 (and 8 without Jacobians), with and without
/// biases, plain and every residual rule, with output and NTK, with Jacobian norms, and alone;
/// depth 0 and 16; three output units (the readout's norm averages over all of them).
#[test]
fn sqnorm_matches_cpu_twin() {
    for k in 1..=4 {
        for (i, cb) in [0.0, 0.1].into_iter().enumerate() {
            check_res(5, "tanh", vec![37, 37, 37], k, cb, SQ, None);
            check_res(5, "erf", vec![100, 37], k, cb, SQ_JAC, None);
            // Every residual rule in turn (all of them for every K would only add run time).
            let res = Some(RESIDUALS[(2 * k + i) % 3]);
            check_res(5, "tanh", vec![37; 5], k, cb, SQ, res);
            check_res(5, "erf", vec![37; 4], k, cb, SQ_JAC, res);
        }
    }
    let sq_only = Observe::NONE.with(Family::Sqnorm);
    check_res(5, "tanh", vec![100; 3], 3, 0.1, sq_only, None);
    check_res(
        5,
        "erf",
        vec![37; 4],
        2,
        0.0,
        sq_only,
        Some(Residual::InvDepth),
    );
    check_res(5, "tanh", vec![37, 37], 8, 0.1, SQ, None);
    check_res(
        5,
        "tanh",
        vec![37; 3],
        8,
        0.0,
        sq_only,
        Some(Residual::Alpha(0.5)),
    );
    // Depth 0 (the readout alone) and depth 16.
    check_res(5, "tanh", vec![], 2, 0.1, SQ_JAC, None);
    check_res(5, "erf", vec![], 3, 0.0, sq_only, None);
    check_res(5, "tanh", vec![37; 16], 2, 0.05, SQ, None);
    check_res(
        5,
        "tanh",
        vec![37; 16],
        2,
        0.05,
        SQ_JAC,
        Some(Residual::InvSqrtDepth),
    );
    three_outputs(SQ_JAC, "tanh, 3 outputs, sqnorm");
}

/// Depth 0 and 2 with three readout units (the norms sum or average over all of them).
fn three_outputs(observe: Observe, label: &str) {
    for hidden in [vec![], vec![37, 37]] {
        let mut p = problem_res("tanh", hidden, 3, 0.1, observe, 20261123, None);
        p.spec.output_dim = 3;
        p.validate().unwrap();
        check_problem(5, &p, label);
    }
}

/// Squared norms of ReLU nets, plain and residual, in distribution (see
/// `relu_matches_cpu_twin_in_distribution`).
#[test]
fn sqnorm_relu_matches_cpu_twin_in_distribution() {
    relu_in_distribution(vec![37, 37, 37], 0.05, None, 2000, SQ);
    relu_in_distribution(vec![37; 4], 0.0, Some(Residual::Alpha(0.5)), 2000, SQ_JAC);
}

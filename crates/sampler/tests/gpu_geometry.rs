//! The GPU geometry engine (shaders/geometry.wgsl) against its CPU twin
//! (`GeometryEngine::grid_counts`, f64), and the twin against the CPU engine's own grid count.
//!
//! Tolerance (GPU vs twin). The GPU computes the pre-activations in f32, the twin in f64; a grid
//! point whose pre-activation lies within rounding (~1e-6 relative for these sizes) of a unit's
//! zero may take the other sign on the GPU. Such a point lies next to a region boundary, so its
//! flipped pattern is almost always the neighbouring region's, already counted: the count
//! changes only when the flip creates or removes a pattern seen at no other point (a region or a
//! blip one grid point wide). So the counts must be equal on at least 95 % of the networks of
//! every case and differ by at most 2 on the others (|Δ| of 1 per flipped point, at most a
//! couple of such points per network). The per-case figures are printed (`--nocapture`).
//!
//! Every GPU test skips (prints a message and returns) when the machine has no GPU adapter.

#![cfg(feature = "gpu")]

use randnet_problem::{Curve, Family, InputSpec, NetworkSpec, Observe, Residual, WeightLaw};
use randnet_sampler::geometry::{GridCounts, PATTERNS_GRID};
use randnet_sampler::gpu::GpuGeometry;
use randnet_sampler::inputs::resolve_inputs;
use randnet_sampler::plan::{plan, Device, Env, Request};
use randnet_sampler::{BatchSampler, GeometryEngine, Problem};

mod common;
use common::ctx;

fn geo(curve: Curve) -> Observe {
    Observe::NONE
        .with(Family::Regions)
        .with(Family::Patterns)
        .on_curve(curve)
}

struct Case {
    name: &'static str,
    n0: usize,
    hidden: Vec<usize>,
    act: &'static str,
    cb: f64,
    residual: Option<Residual>,
    law: WeightLaw,
    curve: Curve,
}

impl Case {
    fn new(name: &'static str, hidden: Vec<usize>, act: &'static str, cb: f64) -> Self {
        Case {
            name,
            n0: 5,
            hidden,
            act,
            cb,
            residual: None,
            law: WeightLaw::Gaussian,
            curve: Curve::Segment,
        }
    }

    fn problem(&self, seed: u64) -> Problem {
        let spec = NetworkSpec::builder(self.n0, self.hidden.clone())
            .activation(self.act.parse().unwrap())
            .cb(self.cb)
            .residual(self.residual)
            .weights(self.law)
            .build()
            .unwrap();
        Problem {
            inputs: resolve_inputs(&InputSpec::Random { count: 3 }, self.n0, seed),
            spec,
            observe: geo(self.curve),
            seed,
        }
    }
}

fn cases() -> Vec<Case> {
    let mut v = vec![
        Case::new("relu", vec![16, 16, 16], "relu", 0.0),
        Case::new("relu+bias", vec![13, 21, 9], "relu", 0.5),
        Case::new("leaky+bias", vec![24, 24], "leaky-relu:0.1", 0.3),
        Case::new("relu wide-in", vec![40, 33], "relu", 0.2),
    ];
    let mut r = Case::new("residual", vec![16, 16, 16, 16], "relu", 0.1);
    r.residual = Some(Residual::Alpha(0.7));
    v.push(r);
    let mut c = Case::new("circle", vec![16, 16], "relu", 0.2);
    c.curve = Curve::Circle;
    v.push(c);
    let mut u = Case::new("uniform", vec![12, 12, 12], "leaky-relu:0.2", 0.0);
    u.law = WeightLaw::Uniform;
    v.push(u);
    v[3].n0 = 70;
    v
}

/// Twin counts of networks start..start+count, in the engine's value order (regions, patterns).
fn twin(problem: &Problem, start: u64, count: usize) -> Vec<GridCounts> {
    let g = GeometryEngine::new(problem).unwrap();
    let mut s = g.scratch();
    (start..start + count as u64)
        .map(|net| g.grid_counts(net, &mut s))
        .collect()
}

fn compare(case: &Case, gpu: &[f64], cpu: &[GridCounts]) {
    let n = cpu.len();
    let mut equal = [0usize; 2];
    let mut worst = [0f64; 2];
    for (i, c) in cpu.iter().enumerate() {
        let want = [c.regions.unwrap() as f64, c.patterns.unwrap() as f64];
        for v in 0..2 {
            let diff = (gpu[2 * i + v] - want[v]).abs();
            if diff == 0.0 {
                equal[v] += 1;
            }
            worst[v] = worst[v].max(diff);
            assert!(
                diff <= 2.0,
                "{}: network {i} {}: gpu {} cpu twin {}",
                case.name,
                ["regions", "patterns"][v],
                gpu[2 * i + v],
                want[v]
            );
        }
    }
    eprintln!(
        "{}: {n} networks, equal regions {} patterns {}, worst |diff| {:?}, e.g. twin {:?} gpu {:?}",
        case.name,
        equal[0],
        equal[1],
        worst,
        cpu[0],
        &gpu[..2]
    );
    for (v, e) in equal.iter().enumerate() {
        assert!(
            *e as f64 >= 0.95 * n as f64,
            "{}: {} equal on only {e} of {n} networks",
            case.name,
            ["regions", "patterns"][v]
        );
    }
}

#[test]
fn gpu_grid_counts_match_the_cpu_twin() {
    let Some(ctx) = ctx() else { return };
    let count = 40;
    for case in cases() {
        let problem = case.problem(20260501);
        let mut engine = GpuGeometry::new(ctx, &problem).unwrap();
        assert_eq!((engine.backend(), engine.method()), ("gpu", "grid"));
        assert_eq!(engine.n_values(), 2);
        let mut gpu = vec![f64::NAN; 2 * count];
        engine.sample_batch(3, count, &mut gpu).unwrap();
        compare(&case, &gpu, &twin(&problem, 3, count));
    }
}

/// A loop budget small enough to split every network's layers over several forward dispatches
/// (the state kept in GPU memory in between), and chunks crossing no boundary.
#[test]
fn gpu_split_dispatches_match_the_cpu_twin() {
    let Some(ctx) = ctx() else { return };
    let mut case = Case::new("split", vec![20, 20, 20, 20], "relu", 0.2);
    case.residual = Some(Residual::Alpha(0.5));
    let problem = case.problem(77);
    let mut engine = GpuGeometry::with_budget(ctx, &problem, Some(90)).unwrap();
    assert!(engine.forward_dispatches() >= 3);
    let count = 24;
    let mut gpu = vec![f64::NAN; 2 * count];
    engine.sample_batch(0, count, &mut gpu).unwrap();
    compare(&case, &gpu, &twin(&problem, 0, count));
    // The same networks without the split: the same f32 arithmetic, so the same counts.
    let mut whole = GpuGeometry::new(ctx, &problem).unwrap();
    assert_eq!(whole.forward_dispatches(), 1);
    let mut gpu1 = vec![f64::NAN; 2 * count];
    whole.sample_batch(0, count, &mut gpu1).unwrap();
    assert_eq!(gpu, gpu1);
}

/// Only one observable requested: the kernel skips the other grid, the values follow.
#[test]
fn gpu_single_observable() {
    let Some(ctx) = ctx() else { return };
    let case = Case::new("patterns only", vec![12, 12], "relu", 0.3);
    for (fam, pick) in [(Family::Patterns, 1usize), (Family::Regions, 0usize)] {
        let mut problem = case.problem(5);
        problem.observe = Observe::NONE.with(fam);
        let mut engine = GpuGeometry::new(ctx, &problem).unwrap();
        assert_eq!(engine.n_values(), 1);
        let mut gpu = vec![f64::NAN; 8];
        engine.sample_batch(0, 8, &mut gpu).unwrap();
        let full = case.problem(5);
        let t = twin(&full, 0, 8);
        for (i, c) in t.iter().enumerate() {
            let want = [c.regions.unwrap(), c.patterns.unwrap()][pick] as f64;
            assert!(
                (gpu[i] - want).abs() <= 2.0,
                "{fam:?} net {i}: {} vs {want}",
                gpu[i]
            );
        }
    }
}

/// The hash-based count of the twin equals the CPU engine's set-based grid count (no hash
/// collisions; the same f64 signs at the same centroids, up to the first layer's summation
/// order, which moves a sign only for a point within ~1e-16 of a zero).
#[test]
fn cpu_hash_count_equals_the_engine_grid_count() {
    for case in cases().into_iter().take(5) {
        let problem = case.problem(11);
        let g = GeometryEngine::new(&problem).unwrap();
        let mut s = g.scratch();
        for net in 0..6u64 {
            let twin = g.grid_counts(net, &mut s).patterns.unwrap();
            let set = g.patterns_grid(net, &mut s, PATTERNS_GRID);
            assert_eq!(twin, set, "{} network {net}", case.name);
        }
    }
}

/// The grid counts are lower bounds of the exact ones (the CPU engine's "exact" method).
#[test]
fn cpu_grid_counts_are_lower_bounds() {
    for curve in [Curve::Segment, Curve::Circle] {
        let mut case = Case::new("lower", vec![8, 8], "relu", 0.3);
        case.curve = curve;
        case.n0 = 3;
        let problem = case.problem(3);
        let g = GeometryEngine::new(&problem).unwrap();
        let mut cpu = randnet_sampler::CpuGeometry::new(&problem).unwrap();
        let n = 10;
        let mut exact = vec![0.0; 2 * n];
        cpu.sample_batch(0, n, &mut exact).unwrap();
        let mut s = g.scratch();
        let (mut eq_r, mut eq_p) = (0, 0);
        for net in 0..n {
            let c = g.grid_counts(net as u64, &mut s);
            let (r, p) = (c.regions.unwrap() as f64, c.patterns.unwrap() as f64);
            assert!(
                r <= exact[2 * net] && p <= exact[2 * net + 1],
                "{curve:?} net {net}"
            );
            eq_r += (r == exact[2 * net]) as usize;
            eq_p += (p == exact[2 * net + 1]) as usize;
        }
        eprintln!("{curve:?}: grid = exact on {eq_r}/{n} (regions), {eq_p}/{n} (patterns)");
    }
}

/// The planner: `--backend gpu` takes the GPU engine (method "grid"), `auto` keeps the CPU's
/// exact engine; unsupported problems give a one-line reason.
#[test]
fn planner_routes_geometry() {
    let Some(_) = ctx() else { return };
    let problem = Case::new("plan", vec![8, 8], "relu", 0.0).problem(1);
    let gpu_req = Request {
        device: Some(Device::Gpu),
        ..Default::default()
    };
    let env = Env::open(&gpu_req).unwrap();
    let p = plan(&problem, &gpu_req, &env).unwrap();
    assert_eq!((p.sampler.backend(), p.sampler.method()), ("gpu", "grid"));
    let auto = Request::default();
    let p = plan(&problem, &auto, &Env::cpu()).unwrap();
    assert_eq!(p.sampler.backend(), "cpu");

    let mut smooth = Case::new("tanh", vec![8], "tanh", 0.0).problem(1);
    smooth.observe = Observe::NONE.with(Family::Patterns);
    let e = plan(&smooth, &gpu_req, &env)
        .err()
        .expect("tanh has no patterns");
    assert!(!e.to_string().contains('\n'), "{e}");
    assert!(e.to_string().contains("piecewise-linear"), "{e}");
}

/// Smoke rates (networks/s) at n = 64, L = 8 (patterns on the triangle grid): the GPU engine on
/// whatever adapter this machine has (lavapipe is a CPU emulation, not a GPU timing), the CPU
/// twin, and the CPU engine's own grid and exact methods, all single-threaded but the adapter.
/// `cargo test --release -p randnet-sampler --test gpu_geometry -- --ignored --nocapture`
#[test]
#[ignore]
fn smoke_rates() {
    use std::time::Instant;
    let Some(ctx) = ctx() else { return };
    let mut problem = Case::new("rate", vec![64; 8], "relu", 0.0).problem(9);
    problem.observe = Observe::NONE.with(Family::Patterns);
    let mut gpu = GpuGeometry::new(ctx, &problem).unwrap();
    let n = 8;
    let mut out = vec![0.0; n];
    gpu.sample_batch(0, 1, &mut out).unwrap(); // compile and warm up
    let t = Instant::now();
    gpu.sample_batch(0, n, &mut out).unwrap();
    let gpu_rate = n as f64 / t.elapsed().as_secs_f64();
    let g = GeometryEngine::new(&problem).unwrap();
    let mut s = g.scratch();
    let m = 2;
    let t = Instant::now();
    for net in 0..m {
        g.grid_counts(net, &mut s);
    }
    let twin_rate = m as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for net in 0..m {
        g.patterns_grid(net, &mut s, PATTERNS_GRID);
    }
    let grid_rate = m as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut exact = 0;
    for net in 0..m {
        exact = g.patterns_exact(net, &mut s, &mut |_| {});
    }
    let exact_rate = m as f64 / t.elapsed().as_secs_f64();
    eprintln!(
        "n = 64, L = 8, patterns on {} ({}): gpu {gpu_rate:.2}/s (chunk {}), cpu twin \
         {twin_rate:.2}/s, cpu engine grid {grid_rate:.2}/s, cpu engine exact {exact_rate:.2}/s \
         (1 thread; last exact count {exact}, gpu grid {})",
        ctx.adapter_name(),
        if ctx.is_hardware() {
            "hardware"
        } else {
            "CPU adapter: not a GPU figure"
        },
        gpu.chunk_size(),
        out[(m - 1) as usize]
    );
}

//! GPU performance figures (docs/performance.md, issues 3, 8 and 17), one JSON line per figure.
//!
//!   cargo build --release --example gpu_bench
//!   gpu_bench ceiling                      # Philox normals/s, Philox words/s, FP32 FMA/s
//!   gpu_bench dense N0 N L K NTK [WPD_LOG2|default] [SCRATCH_MIB|default] [WG|default] [SECONDS]
//!   gpu_bench matrix-free N0 N L K NTK [SECONDS] [CPU]
//!   gpu_bench geometry N0 N L [SECONDS] [EXACT]
//!
//! Every mode times the same way: one warm-up batch, then 3 timed batches (M networks each, M
//! chosen from the warm-up so a batch takes ~SECONDS, default 1.5), the median reported.
//!
//! `dense` times GpuDense::sample_batch (ReLU, NTK parameterization, C_W = 2, zero bias,
//! Gaussian weights, K random inputs, observe output, plus the NTK when NTK = 1): one warm-up
//! batch, then 3 timed batches of M networks (M chosen so a batch takes ~SECONDS, default 1.5),
//! wall-clock around sample_batch (includes submission, the GPU's work and the read-back).
//! "weights" = nominal weight draws per network: every forward weight once
//! (n0 n + (L-1) n^2 + n) plus, with the NTK, W^T of layers 2..L+1 once ((L-1) n^2 + n).
//! "philox_calls" = the kernel's Philox4x32-10 calls per network (`philox_calls_per_network`,
//! 4 normals each; backward an upper bound: dead-ReLU rows are skipped), so
//! `philox_normals_per_s` = 4 x calls x networks/s compares with `gpu_bench ceiling`'s
//! philox_normals directly.
//!
//! `matrix-free` times GpuMatrixFree::sample_batch on the same problem as `dense` (the GPU
//! matrix-free engine, `--backend gpu --method matrix-free`); CPU = 1 also times the CPU
//! matrix-free engine on every core (rayon) on the same problem (line "cpu_matrix_free").
//!
//! `geometry` times `patterns` on the triangle of 3 random inputs (ReLU, C_W = 2, NTK
//! parameterization): the GPU geometry engine (GpuGeometry, method "grid", line "gpu_geometry"),
//! its CPU twin on every core (GeometryEngine::grid_counts over the same 128^2 centroids, line
//! "cpu_geometry_grid": like for like), and, with EXACT = 1 (default), the CPU engine as `randnet
//! sample --backend cpu` runs it (line "cpu_geometry", method "exact" up to
//! PATTERNS_EXACT_MAX_NEURONS hidden neurons, "grid" beyond). The GPU line also counts how many
//! of the first networks get the same count as the CPU twin.

use randnet_problem::{Family, InputSpec, NetworkSpec, Observe, Parameterization, WeightLaw};
use randnet_sampler::geometry::PATTERNS_EXACT_MAX_NEURONS;
use randnet_sampler::gpu::bench::{measure_ceiling, median, CeilingKind};
use randnet_sampler::gpu::{
    AdapterPreference, GpuContext, GpuDense, GpuDenseOptions, GpuGeometry, GpuMatrixFree,
};
use randnet_sampler::inputs::resolve_inputs;
use randnet_sampler::{
    BatchSampler, CpuGeometry, CpuMatrixFree, GeometryEngine, NetworkEngine, Problem, SamplerError,
};
use rayon::prelude::*;
use std::time::Instant;

const SEED: u64 = 20261123;

/// ReLU MLP, n0 inputs, L hidden layers of n units, one readout unit, C_W = 2, zero bias, NTK
/// parameterization, Gaussian weights, `k` random inputs.
fn relu_problem(n0: usize, n: usize, l: usize, k: usize, observe: Observe) -> Problem {
    let spec = NetworkSpec::new(
        n0,
        vec![n; l],
        1,
        "relu".parse().unwrap(),
        Some(2.0),
        0.0,
        Parameterization::Ntk,
        None,
        WeightLaw::Gaussian,
    )
    .unwrap();
    Problem {
        inputs: resolve_inputs(&InputSpec::Random { count: k }, n0, SEED),
        spec,
        observe,
        seed: SEED,
    }
}

/// One timing: the median of 3 timed batches of `m` networks after a warm-up of `unit`.
struct Timing {
    unit: usize,
    m: usize,
    warm_s: f64,
    rates: Vec<f64>,
    per_s: f64,
    /// The first network of the last timed batch (`out`'s first row).
    first_net: u64,
    /// The values of the last timed batch (m rows of `d`).
    out: Vec<f64>,
}

/// Times `s`: one warm-up batch of `unit` networks (pipelines compiled, buffers touched), then
/// 3 batches of M networks, M a whole number (>= 2) of `unit`s chosen so a batch lasts ~`secs`;
/// wall-clock around `sample_batch` (for the GPU engines: submission, the GPU's work and the
/// read-back). Networks are never repeated (each batch starts where the last ended).
fn time_batches(s: &mut dyn BatchSampler, unit: usize, secs: f64) -> Result<Timing, SamplerError> {
    let d = s.n_values();
    let unit = unit.max(1);
    let mut out = vec![0.0; d * unit];
    let t = Instant::now();
    s.sample_batch(0, unit, &mut out)?;
    let warm_s = t.elapsed().as_secs_f64();
    let est = unit as f64 / warm_s.max(1e-9);
    let m = (((est * secs) / unit as f64).ceil().max(2.0) as usize) * unit;
    out.resize(d * m, 0.0);
    let mut rates = Vec::new();
    let mut start = unit as u64;
    for _ in 0..3 {
        let t = Instant::now();
        s.sample_batch(start, m, &mut out)?;
        rates.push(m as f64 / t.elapsed().as_secs_f64());
        start += m as u64;
    }
    Ok(Timing {
        unit,
        m,
        warm_s,
        first_net: start - m as u64,
        per_s: median(&rates),
        rates,
        out,
    })
}

/// The CPU geometry engine's grid method (`GeometryEngine::grid_counts`, the GPU kernel's CPU
/// twin) as a batch sampler on every rayon thread: `patterns` only.
struct CpuGrid {
    engine: GeometryEngine,
}

impl BatchSampler for CpuGrid {
    fn n_values(&self) -> usize {
        1
    }
    fn sample_batch(
        &mut self,
        start: u64,
        count: usize,
        out: &mut [f64],
    ) -> Result<(), SamplerError> {
        let engine = &self.engine;
        out[..count]
            .par_iter_mut()
            .enumerate()
            .with_max_len(1)
            .for_each_init(
                || NetworkEngine::scratch(engine),
                |s, (i, o)| {
                    *o = engine
                        .grid_counts(start + i as u64, s)
                        .patterns
                        .expect("patterns requested") as f64
                },
            );
        Ok(())
    }
    fn backend(&self) -> &'static str {
        "cpu"
    }
    fn method(&self) -> &str {
        "grid"
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let ctx = GpuContext::new(AdapterPreference {
        allow_cpu_adapter: true,
        adapter_substring: None,
    })
    .expect("GPU context");
    let adapter = ctx.adapter_name().to_string();
    match args.first().map(String::as_str) {
        Some("ceiling") => {
            let cpu = !ctx.is_hardware();
            let (groups, it) = if cpu { (64, 64) } else { (8192, 256) };
            for (kind, name, unit, iters) in [
                (CeilingKind::Normals, "philox_normals", "normals/s", it),
                (CeilingKind::Words, "philox_words", "words/s", it),
                (CeilingKind::Fma, "fp32_fma", "fma/s", it * 4),
            ] {
                let c = measure_ceiling(&ctx, kind, groups, iters, 4, 5).expect("ceiling");
                println!(
                    "{}",
                    serde_json::json!({"bench": name, "adapter": adapter, "hardware": ctx.is_hardware(), "unit": unit,
                        "per_second": c.per_second, "reps": c.reps, "units_per_rep": c.units_per_rep,
                        "threads": c.threads, "iters": c.iters, "dispatches_per_rep": c.dispatches_per_rep,
                        "flops_per_s": if kind == CeilingKind::Fma { Some(2.0 * c.per_second) } else { None }})
                );
            }
        }
        Some("dense") => {
            let p = |i: usize| -> usize { args[i].parse().expect("integer argument") };
            let (n0, n, l, k, ntk) = (p(1), p(2), p(3), p(4), p(5) != 0);
            let mut opts = GpuDenseOptions::default();
            if let Some(w) = args.get(6).filter(|s| *s != "default") {
                opts.weights_per_dispatch = Some(1u64 << w.parse::<u32>().unwrap());
            }
            if let Some(s) = args.get(7).filter(|s| *s != "default") {
                opts.max_scratch_bytes = Some(s.parse::<u64>().unwrap() << 20);
            }
            if let Some(w) = args.get(8).filter(|s| *s != "default") {
                opts.workgroup_size = w.parse().unwrap();
            }
            let secs: f64 = args.get(9).map(|s| s.parse().unwrap()).unwrap_or(1.5);
            let problem = relu_problem(n0, n, l, k, output_ntk(ntk));
            let mut eng = GpuDense::with_options(&ctx, &problem, opts.clone()).expect("engine");
            let chunk = eng.chunk_size();
            let d = eng.n_values();
            let (nn, ll) = (n as f64, l as f64);
            let fwd = n0 as f64 * nn + (ll - 1.0) * nn * nn + nn;
            let bwd = if ntk { (ll - 1.0) * nn * nn + nn } else { 0.0 };
            let mut out = vec![0.0; d * chunk.max(1)];
            // Warm-up: one chunk (pipelines compiled, buffers touched).
            let t = Instant::now();
            eng.sample_batch(0, chunk, &mut out).expect("warm-up");
            let warm = t.elapsed().as_secs_f64();
            let est = chunk as f64 / warm;
            let m = (((est * secs) / chunk as f64).ceil().max(2.0) as usize) * chunk;
            out.resize(d * m, 0.0);
            let mut rates = Vec::new();
            let mut start = chunk as u64;
            for _ in 0..3 {
                let t = Instant::now();
                eng.sample_batch(start, m, &mut out).expect("batch");
                rates.push(m as f64 / t.elapsed().as_secs_f64());
                start += m as u64;
            }
            let nets = median(&rates);
            let finite = out.iter().all(|x| x.is_finite());
            let calls = eng.philox_calls_per_network();
            let calls_total = (calls.total() + calls.other) as f64;
            println!(
                "{}",
                serde_json::json!({"bench": "gpu_dense", "adapter": adapter, "hardware": ctx.is_hardware(), "n0": n0, "n": n, "L": l, "K": k,
                    "ntk": ntk, "chunk": chunk, "dispatches_per_chunk": eng.dispatches_per_chunk(),
                    "weights_per_dispatch": opts.weights_per_dispatch, "max_scratch_mib": opts.max_scratch_bytes.map(|b| b >> 20),
                    "workgroup_size": opts.workgroup_size, "networks_per_batch": m, "networks_per_s": nets, "reps": rates,
                    "weights_per_network": fwd + bwd, "weights_per_s": nets * (fwd + bwd),
                    "philox_calls": {"forward": calls.forward, "backward_max": calls.backward, "other": calls.other, "total": calls_total},
                    "philox_calls_per_s": nets * calls_total, "philox_normals_per_s": 4.0 * nets * calls_total,
                    "values_finite": finite,
                    "first_values": &out[..d.min(out.len())]})
            );
        }
        Some("matrix-free") => {
            let p = |i: usize| -> usize { args[i].parse().expect("integer argument") };
            let (n0, n, l, k, ntk) = (p(1), p(2), p(3), p(4), p(5) != 0);
            let secs: f64 = args.get(6).map(|s| s.parse().unwrap()).unwrap_or(1.5);
            let cpu = args.get(7).map(|s| s != "0").unwrap_or(false);
            let problem = relu_problem(n0, n, l, k, output_ntk(ntk));
            let mut eng = GpuMatrixFree::new(&ctx, &problem).expect("GPU matrix-free engine");
            let (chunk, disp, bytes) = (
                eng.chunk_size(),
                eng.dispatches_per_chunk(),
                eng.bytes_per_network(),
            );
            let t = time_batches(&mut eng, chunk, secs).expect("GPU matrix-free batch");
            let d = eng.n_values();
            println!(
                "{}",
                serde_json::json!({"bench": "gpu_matrix_free", "adapter": adapter, "hardware": ctx.is_hardware(), "n0": n0, "n": n, "L": l, "K": k,
                    "ntk": ntk, "chunk": chunk, "dispatches_per_chunk": disp, "bytes_per_network": bytes,
                    "warmup_networks": t.unit, "warmup_s": t.warm_s, "networks_per_batch": t.m,
                    "networks_per_s": t.per_s, "reps": t.rates,
                    "values_finite": t.out.iter().all(|x| x.is_finite()), "first_network": t.first_net, "first_values": &t.out[..d.min(t.out.len())]})
            );
            if cpu {
                let mut c = CpuMatrixFree::new(&problem).expect("CPU matrix-free engine");
                let threads = rayon::current_num_threads();
                let t = time_batches(&mut c, 64 * threads, secs).expect("CPU matrix-free batch");
                println!(
                    "{}",
                    serde_json::json!({"bench": "cpu_matrix_free", "threads": threads, "n0": n0, "n": n, "L": l, "K": k,
                        "ntk": ntk, "warmup_networks": t.unit, "networks_per_batch": t.m,
                        "networks_per_s": t.per_s, "reps": t.rates, "first_network": t.first_net, "first_values": &t.out[..d.min(t.out.len())]})
                );
            }
        }
        Some("geometry") => {
            let p = |i: usize| -> usize { args[i].parse().expect("integer argument") };
            let (n0, n, l) = (p(1), p(2), p(3));
            let secs: f64 = args.get(4).map(|s| s.parse().unwrap()).unwrap_or(1.5);
            let exact = args.get(5).map(|s| s != "0").unwrap_or(true);
            let problem = relu_problem(n0, n, l, 3, Observe::of(&[Family::Patterns]));
            let threads = rayon::current_num_threads();
            let neurons = n * l;
            let mut gpu = GpuGeometry::new(&ctx, &problem).expect("GPU geometry engine");
            let (chunk, fwd) = (gpu.chunk_size(), gpu.forward_dispatches());
            let tg = time_batches(&mut gpu, chunk, secs).expect("GPU geometry batch");
            let mut grid = CpuGrid {
                engine: GeometryEngine::new(&problem).expect("CPU geometry engine"),
            };
            // The CPU twin on the GPU's last timed networks: how many counts agree.
            let check = tg.m.min(64);
            let first = tg.first_net;
            let mut twin = vec![0.0; check];
            grid.sample_batch(first, check, &mut twin)
                .expect("CPU grid");
            let same = twin.iter().zip(&tg.out).filter(|(a, b)| a == b).count();
            let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
            println!(
                "{}",
                serde_json::json!({"bench": "gpu_geometry", "adapter": adapter, "hardware": ctx.is_hardware(), "observe": "patterns", "method": gpu.method(),
                    "n0": n0, "n": n, "L": l, "hidden_neurons": neurons, "chunk": chunk, "forward_dispatches": fwd,
                    "warmup_networks": tg.unit, "warmup_s": tg.warm_s, "networks_per_batch": tg.m,
                    "networks_per_s": tg.per_s, "reps": tg.rates, "mean_patterns": mean(&tg.out),
                    "twin_checked": check, "twin_equal": same})
            );
            let tc = time_batches(&mut grid, 2 * threads, secs).expect("CPU grid batch");
            println!(
                "{}",
                serde_json::json!({"bench": "cpu_geometry_grid", "threads": threads, "observe": "patterns", "method": "grid",
                    "n0": n0, "n": n, "L": l, "hidden_neurons": neurons, "warmup_networks": tc.unit, "warmup_s": tc.warm_s,
                    "networks_per_batch": tc.m, "networks_per_s": tc.per_s, "reps": tc.rates, "mean_patterns": mean(&tc.out)})
            );
            if exact {
                let mut cpu = CpuGeometry::new(&problem).expect("CPU geometry engine");
                let method = cpu.method().to_string();
                let te = time_batches(&mut cpu, 2 * threads, secs).expect("CPU geometry batch");
                println!(
                    "{}",
                    serde_json::json!({"bench": "cpu_geometry", "threads": threads, "observe": "patterns", "method": method,
                        "exact_max_neurons": PATTERNS_EXACT_MAX_NEURONS,
                        "n0": n0, "n": n, "L": l, "hidden_neurons": neurons, "warmup_networks": te.unit, "warmup_s": te.warm_s,
                        "networks_per_batch": te.m, "networks_per_s": te.per_s, "reps": te.rates, "mean_patterns": mean(&te.out)})
                );
            }
        }
        _ => {
            eprintln!("usage: gpu_bench ceiling | gpu_bench dense N0 N L K NTK [WPD_LOG2|default] [SCRATCH_MIB] [WG] [SECONDS]");
            eprintln!("       gpu_bench matrix-free N0 N L K NTK [SECONDS] [CPU] | gpu_bench geometry N0 N L [SECONDS] [EXACT]");
            std::process::exit(2);
        }
    }
}

fn output_ntk(ntk: bool) -> Observe {
    if ntk {
        Observe::of(&[Family::Output, Family::Ntk])
    } else {
        Observe::of(&[Family::Output])
    }
}

//! GPU performance figures (docs/performance.md, issues 3 and 8), one JSON line per figure.
//!
//!   cargo build --release --example gpu_bench
//!   gpu_bench ceiling                      # Philox normals/s, Philox words/s, FP32 FMA/s
//!   gpu_bench dense N0 N L K NTK [WPD_LOG2|default] [SCRATCH_MIB] [WG] [SECONDS]
//!
//! `dense` times GpuDense::sample_batch (ReLU, NTK parameterization, C_W = 2, zero bias,
//! Gaussian weights, K random inputs, observe output, plus the NTK when NTK = 1): one warm-up
//! batch, then 3 timed batches of M networks (M chosen so a batch takes ~SECONDS, default 1.5),
//! wall-clock around sample_batch (includes submission, the GPU's work and the read-back).
//! "weights" = nominal weight draws per network: every forward weight once
//! (n0 n + (L-1) n^2 + n) plus, with the NTK, W^T of layers 2..L+1 once ((L-1) n^2 + n).

use randnet_problem::{Family, InputSpec, NetworkSpec, Observe, Parameterization, WeightLaw};
use randnet_sampler::gpu::bench::{measure_ceiling, median, CeilingKind};
use randnet_sampler::gpu::{AdapterPreference, GpuContext, GpuDense, GpuDenseOptions};
use randnet_sampler::inputs::resolve_inputs;
use randnet_sampler::{BatchSampler, Problem};
use std::time::Instant;

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
                    serde_json::json!({"bench": name, "adapter": adapter, "unit": unit,
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
            if let Some(s) = args.get(7) {
                opts.max_scratch_bytes = Some(s.parse::<u64>().unwrap() << 20);
            }
            if let Some(w) = args.get(8) {
                opts.workgroup_size = w.parse().unwrap();
            }
            let secs: f64 = args.get(9).map(|s| s.parse().unwrap()).unwrap_or(1.5);
            let seed = 20261123;
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
            let problem = Problem {
                inputs: resolve_inputs(&InputSpec::Random { count: k }, n0, seed),
                spec,
                observe: if ntk {
                    Observe::of(&[Family::Output, Family::Ntk])
                } else {
                    Observe::of(&[Family::Output])
                },
                seed,
            };
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
            println!(
                "{}",
                serde_json::json!({"bench": "gpu_dense", "adapter": adapter, "n0": n0, "n": n, "L": l, "K": k,
                    "ntk": ntk, "chunk": chunk, "dispatches_per_chunk": eng.dispatches_per_chunk(),
                    "weights_per_dispatch": opts.weights_per_dispatch, "max_scratch_mib": opts.max_scratch_bytes.map(|b| b >> 20),
                    "workgroup_size": opts.workgroup_size, "networks_per_batch": m, "networks_per_s": nets, "reps": rates,
                    "weights_per_network": fwd + bwd, "weights_per_s": nets * (fwd + bwd), "values_finite": finite,
                    "first_values": &out[..d.min(out.len())]})
            );
        }
        _ => {
            eprintln!("usage: gpu_bench ceiling | gpu_bench dense N0 N L K NTK [WPD_LOG2|default] [SCRATCH_MIB] [WG] [SECONDS]");
            std::process::exit(2);
        }
    }
}

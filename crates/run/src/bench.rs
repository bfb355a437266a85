//! `randnet bench`: networks/s of every available backend × method on the canonical configs, the
//! CPU generator's normals/s (the ceiling of the dense CPU engine), and — in the same run, on the
//! same machine — the peer baselines of benches/peers/ on the same config, with ratios.

use crate::args::{Backend, BenchArgs, Method};
use crate::sample::make_sampler;
use anyhow::{bail, Result};
use randnet_problem::{Activation, InputSpec, NetworkSpec, Observe, Parameterization, WeightLaw};
use randnet_sampler::inputs::resolve_inputs;
use randnet_sampler::philox::key_of_seed;
use randnet_sampler::stream::{fill_gauss_on, tag, GeneratorPath, Purpose};
use randnet_sampler::Problem;
use rayon::prelude::*;
use serde::Serialize;
use std::process::Command;
use std::time::{Duration, Instant};

#[derive(Debug, Serialize)]
struct Row {
    config: String,
    engine: String,
    networks_per_s: f64,
    networks: u64,
    seconds: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

/// A canonical config: (name, description, problem, peer args N0 WIDTH DEPTH).
fn config(name: &str) -> Result<(String, Problem, Option<[usize; 3]>)> {
    let (n, l, k, observe) = match name {
        "A" => (256, 32, 2, "output,ntk"),
        "B" => (1024, 64, 1, "output"),
        "C" => (64, 8, 2, "length_distortion,regions"),
        other => bail!("unknown bench config '{other}' (expected A, B, C or all)"),
    };
    let n0 = if name == "C" { 64 } else { 16 };
    let spec = NetworkSpec::new(
        n0,
        vec![n; l],
        1,
        Activation::Relu,
        None,
        0.0,
        Parameterization::Ntk,
        None,
        WeightLaw::Gaussian,
    )?;
    let problem = Problem {
        inputs: resolve_inputs(&InputSpec::Random { count: k }, n0, 1),
        spec,
        observe: Observe::parse_list(observe)?,
        seed: 1,
    };
    let desc = format!("{name}: ReLU n0={n0} n={n} L={l} K={k} {observe}");
    Ok((
        desc,
        problem,
        if name == "A" { Some([16, n, l]) } else { None },
    ))
}

/// Runs batches until `budget` has passed (after one warm-up batch).
fn time_sampler(
    sampler: &mut randnet_sampler::plan::Sampler,
    budget: Duration,
) -> Result<(u64, f64)> {
    let d = sampler.n_values();
    let mut batch = sampler.preferred_batch().unwrap_or(4);
    let mut buf = vec![0.0; batch * d];
    sampler.sample_batch(0, batch, &mut buf)?;
    let start = Instant::now();
    let mut done = 0u64;
    let mut next = batch as u64;
    while start.elapsed() < budget {
        let t = Instant::now();
        buf.resize(batch * d, 0.0);
        sampler.sample_batch(next, batch, &mut buf)?;
        next += batch as u64;
        done += batch as u64;
        // Grow batches towards ~0.5 s so per-batch overhead does not count.
        if t.elapsed() < Duration::from_millis(250) && batch < 1 << 16 {
            batch *= 2;
        }
    }
    Ok((done, start.elapsed().as_secs_f64()))
}

/// Gaussian normals/s of the stream generator alone (Philox + Box–Muller), filling rows of 256.
fn generator_rate(path: GeneratorPath, threads: usize, budget: Duration) -> (f64, u64) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    pool.install(|| {
        let start = Instant::now();
        let mut rows = 0u64;
        let mut chunk = 1024u64;
        while start.elapsed() < budget {
            let sums: f64 = (0..chunk)
                .into_par_iter()
                .map_init(
                    || vec![0.0; 256],
                    |buf, r| {
                        fill_gauss_on(
                            path,
                            key_of_seed(3),
                            (rows + r) as u32,
                            tag(Purpose::Weight, 1),
                            0,
                            buf,
                        );
                        // Keeps the fill alive without timing a 256-long dependent sum (~3
                        // cycles a value, a third of the fill's own cost).
                        std::hint::black_box(&buf[..]);
                        buf[255]
                    },
                )
                .sum();
            std::hint::black_box(sums);
            rows += chunk;
            chunk = (chunk * 2).min(1 << 16);
        }
        let n = rows * 256;
        (n as f64 / start.elapsed().as_secs_f64(), n)
    })
}

/// f64 fused multiply-adds per second of one thread: 32 independent chains (enough to hide the
/// FMA latency), vectorized with AVX2+FMA where the CPU has them. The ceiling the generator's
/// cost is stated against (docs/performance.md).
fn fma_chains(iters: u64) -> f64 {
    #[inline(always)]
    fn body(iters: u64) -> f64 {
        // Distinct, opaque starting values: nothing can be folded or shared between lanes.
        let mut acc: [[f64; 8]; 4] = std::hint::black_box(std::array::from_fn(|r| {
            std::array::from_fn(|i| 1.0 + (8 * r + i) as f64 * 1e-3)
        }));
        let m: [f64; 8] =
            std::hint::black_box(std::array::from_fn(|i| 0.999_999_9 - i as f64 * 1e-9));
        let c: [f64; 8] = std::hint::black_box(std::array::from_fn(|i| 1e-7 + i as f64 * 1e-10));
        for _ in 0..iters {
            for a in acc.iter_mut() {
                for i in 0..8 {
                    a[i] = a[i].mul_add(m[i], c[i]);
                }
            }
        }
        acc.iter().flatten().sum()
    }
    #[cfg(target_arch = "x86_64")]
    {
        // Explicit AVX2 FMAs: 8 independent 4-lane chains cover the FMA latency on 2 ports.
        #[target_feature(enable = "avx2,fma")]
        unsafe fn fast(iters: u64) -> f64 {
            use std::arch::x86_64::*;
            let mut acc: [__m256d; 8] = std::array::from_fn(|r| {
                _mm256_set1_pd(std::hint::black_box(1.0 + r as f64 * 1e-3))
            });
            let m = _mm256_set1_pd(std::hint::black_box(0.999_999_9));
            let c = _mm256_set1_pd(std::hint::black_box(1e-7));
            for _ in 0..iters {
                for a in acc.iter_mut() {
                    *a = _mm256_fmadd_pd(*a, m, c);
                }
            }
            let mut out = [0.0f64; 4];
            let mut sum = _mm256_setzero_pd();
            for a in acc {
                sum = _mm256_add_pd(sum, a);
            }
            _mm256_storeu_pd(out.as_mut_ptr(), sum);
            out.iter().sum()
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            return unsafe { fast(iters) };
        }
    }
    body(iters)
}

fn fma_rate(threads: usize, budget: Duration) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .expect("thread pool");
    pool.install(|| {
        let start = Instant::now();
        let mut total = 0u64;
        let iters = 1u64 << 22;
        while start.elapsed() < budget {
            let s: f64 = (0..threads)
                .into_par_iter()
                .map(|_| fma_chains(std::hint::black_box(iters)))
                .sum();
            std::hint::black_box(s);
            total += iters * 32 * threads as u64;
        }
        total as f64 / start.elapsed().as_secs_f64()
    })
}

fn run_peer(python: &str, script: &str, args: [usize; 3], m: u64) -> Result<f64, String> {
    let out = Command::new(python)
        .arg(script)
        .args(args.iter().map(|v| v.to_string()))
        .arg(m.to_string())
        .arg("1")
        .output()
        .map_err(|e| format!("cannot run {python}: {e}"))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("failed").to_string();
        return Err(last);
    }
    let v: serde_json::Value = serde_json::from_slice(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .unwrap_or("")
            .as_bytes(),
    )
    .map_err(|e| format!("unreadable peer output: {e}"))?;
    v["networks_per_s"]
        .as_f64()
        .ok_or_else(|| "no networks_per_s in peer output".to_string())
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let configs: Vec<&str> = match args.config.as_str() {
        "all" => vec!["A", "B", "C"],
        c => vec![c],
    };
    // Refuse a bad config or peer count before any timed work (not after seconds of timing).
    for name in &configs {
        config(name)?;
    }
    if args.peer_networks == 0 {
        bail!("--peer-networks 0: each peer must draw at least 1 network");
    }
    let budget = Duration::from_secs_f64(args.seconds);
    let mut rows = Vec::new();
    let threads = rayon::current_num_threads();
    // The generator on every build this CPU runs (one thread), and on the one in use (every
    // thread): the same bits on each (crates/sampler/tests/generator_paths.rs).
    let current = GeneratorPath::current();
    let mut runs: Vec<(GeneratorPath, usize)> = [
        GeneratorPath::Scalar,
        GeneratorPath::Avx2,
        GeneratorPath::Avx512,
    ]
    .into_iter()
    .filter(|p| p.available())
    .map(|p| (p, 1))
    .collect();
    if threads > 1 {
        runs.push((current, threads));
    }
    for (path, t) in runs {
        let (rate, n) = generator_rate(path, t, budget);
        rows.push(Row {
            config: "generator".into(),
            engine: format!(
                "cpu philox+box-muller f64, {} path{}, {t} thread(s)",
                path.name(),
                if path == current { " (in use)" } else { "" }
            ),
            networks_per_s: rate,
            networks: n,
            seconds: args.seconds,
            note: Some("normals/s, not networks/s".into()),
        });
    }
    for t in [1, threads] {
        rows.push(Row {
            config: "ceiling".into(),
            engine: format!("cpu f64 FMA chains, {t} thread(s)"),
            networks_per_s: fma_rate(t, budget),
            networks: 0,
            seconds: args.seconds,
            note: Some("FMA/s, not networks/s".into()),
        });
        if threads == 1 {
            break;
        }
    }
    for name in configs {
        let (desc, problem, peer) = config(name)?;
        let mut engines: Vec<(Backend, Method)> = vec![
            (Backend::Cpu, Method::Dense),
            (Backend::Cpu, Method::MatrixFree),
        ];
        if args.gpu {
            engines.push((Backend::Gpu, Method::Dense));
        }
        engines.push((Backend::Auto, Method::Auto));
        let mut base: Option<f64> = None;
        for (backend, method) in engines {
            let chosen = match make_sampler(&problem, backend, method, None) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{desc}: {backend:?}/{method:?} unavailable: {e}");
                    continue;
                }
            };
            let mut sampler = chosen.sampler;
            let label = format!(
                "{}{} {}{}",
                if backend == Backend::Auto {
                    "default: "
                } else {
                    ""
                },
                sampler.backend(),
                sampler.method(),
                chosen
                    .adapter
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default()
            );
            let (n, secs) = time_sampler(&mut sampler, budget)?;
            let rate = n as f64 / secs;
            base.get_or_insert(rate);
            rows.push(Row {
                config: desc.clone(),
                engine: label,
                networks_per_s: rate,
                networks: n,
                seconds: secs,
                note: None,
            });
        }
        if let Some(peer_args) = peer {
            for (script, m) in [
                ("mc_numpy.py", args.peer_networks),
                ("mc_jax.py", args.peer_networks),
                ("mc_jax_jit.py", args.peer_networks),
            ] {
                let path = format!("{}/{script}", args.peers);
                match run_peer(&args.python, &path, peer_args, m) {
                    Ok(rate) => rows.push(Row {
                        config: desc.clone(),
                        engine: format!("peer {script}"),
                        networks_per_s: rate,
                        networks: m,
                        seconds: m as f64 / rate,
                        note: None,
                    }),
                    Err(e) => eprintln!("{desc}: peer {script} unavailable: {e}"),
                }
            }
        }
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!("machine: {} threads", threads);
    println!(
        "{:<48} {:<44} {:>14} {:>10}",
        "config", "engine", "networks/s", "networks"
    );
    for r in &rows {
        println!(
            "{:<48} {:<44} {:>14.1} {:>10}{}",
            r.config,
            r.engine,
            r.networks_per_s,
            r.networks,
            r.note
                .as_ref()
                .map(|n| format!("  ({n})"))
                .unwrap_or_default()
        );
    }
    // Ratios of every engine to every peer on the same config.
    for r in rows.iter().filter(|r| r.engine.starts_with("peer ")) {
        for e in rows
            .iter()
            .filter(|e| e.config == r.config && !e.engine.starts_with("peer "))
        {
            println!(
                "ratio {:<44} / {:<14} = {:>8.1}x",
                e.engine,
                r.engine.trim_start_matches("peer "),
                e.networks_per_s / r.networks_per_s
            );
        }
    }
    Ok(())
}

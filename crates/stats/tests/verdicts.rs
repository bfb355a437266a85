//! Coverage study of the reliability flag (docs/statistics.md, "Reliability").
//!
//! For zero-bias Gaussian ReLU and linear nets the readout unit has an exact law
//! (crates/theory `exact`): f = √V g with V = (C_W/n0)‖x‖² Π_l (C_W/n_l) X_l, X_l ~ χ²_{K_l},
//! K_l ~ Bin(n_l, 1/2) (ReLU) or K_l = n_l (linear), g ~ N(0, 1), all independent. The
//! engines are held to that law by the sampler's statistical tests; here we draw from the law
//! itself (O(L) per network instead of O(L n²)), so that many replicate runs of 10³..10⁶
//! networks are affordable, and ask of every estimate: when it is marked reliable, how often is
//! |z| > 4 against the exact prediction? The bar: at most 1 % in every regime; and in
//! light-tailed regimes (L/n ≤ 1/8, M ≥ 10⁵) at least 95 % of excess-kurtosis estimates are
//! marked reliable, so the flag has power.
//!
//! `reduced_coverage_study` runs in CI (a few seconds). The full grid is ignored:
//! `cargo test --release -p randnet-stats --test verdicts -- --ignored --nocapture`.

use rand::{Rng, SeedableRng};
use rand_distr::{ChiSquared, Distribution, StandardNormal};
use rand_pcg::Pcg64Mcg;
use randnet_problem::{Activation, NetworkSpec};
use randnet_stats::{Accumulator, Statistic};
use randnet_theory::{predict_named as predict, Kind};
use std::sync::atomic::{AtomicUsize, Ordering};

const N0: usize = 16;

#[derive(Debug, Clone, Copy)]
struct Regime {
    relu: bool,
    width: usize,
    depth: usize,
    networks: u64,
    reps: usize,
}

#[derive(Debug, Default, Clone, Copy)]
struct Tally {
    /// Estimates tested (all statistics).
    tested: usize,
    reliable: usize,
    /// Reliable estimates with |z| > 4.
    reliable_far: usize,
    /// Unreliable estimates with |z| > 4 (what the flag caught).
    unreliable_far: usize,
    kurtosis_tested: usize,
    kurtosis_reliable: usize,
}

impl Tally {
    fn add(&mut self, o: &Tally) {
        self.tested += o.tested;
        self.reliable += o.reliable;
        self.reliable_far += o.reliable_far;
        self.unreliable_far += o.unreliable_far;
        self.kurtosis_tested += o.kurtosis_tested;
        self.kurtosis_reliable += o.kurtosis_reliable;
    }
    fn far_rate(&self) -> f64 {
        self.reliable_far as f64 / self.reliable.max(1) as f64
    }
    fn kurtosis_power(&self) -> f64 {
        self.kurtosis_reliable as f64 / self.kurtosis_tested.max(1) as f64
    }
}

fn spec(r: &Regime) -> NetworkSpec {
    let act = if r.relu {
        Activation::Relu
    } else {
        Activation::Linear
    };
    NetworkSpec::builder(N0, vec![r.width; r.depth])
        .activation(act)
        .build()
        .unwrap()
}

/// One draw of the readout unit from its exact law (‖x‖² = n0).
fn draw_output(r: &Regime, cw: f64, rng: &mut Pcg64Mcg, chi: &[Option<ChiSquared<f64>>]) -> f64 {
    let mut v = cw; // (C_W/n0)‖x‖² with ‖x‖² = n0
    for _ in 0..r.depth {
        let k = if r.relu {
            binomial_half(r.width, rng)
        } else {
            r.width
        };
        let x = match &chi[k] {
            Some(c) => c.sample(rng),
            None => 0.0,
        };
        v *= cw / r.width as f64 * x;
    }
    let g: f64 = StandardNormal.sample(rng);
    v.sqrt() * g
}

/// Bin(n, 1/2) as the number of set bits among n fair random bits.
fn binomial_half(n: usize, rng: &mut Pcg64Mcg) -> usize {
    let mut left = n;
    let mut k = 0;
    while left > 0 {
        let w: u64 = rng.next_u64();
        let take = left.min(64);
        let w = if take == 64 {
            w
        } else {
            w & ((1u64 << take) - 1)
        };
        k += w.count_ones() as usize;
        left -= take;
    }
    k
}

fn run_regime(r: &Regime, seed: u64) -> Tally {
    let s = spec(r);
    let x = vec![vec![1.0; N0]];
    let chi: Vec<Option<ChiSquared<f64>>> = (0..=r.width)
        .map(|k| (k > 0).then(|| ChiSquared::new(k as f64).unwrap()))
        .collect();
    let theory: Vec<(Statistic, f64)> = Statistic::ALL
        .iter()
        .map(|&st| {
            let p = predict(&s, &x, "output[0]", st.name()).expect("exact law");
            assert_eq!(p.kind, Kind::Exact, "{st} of {r:?}");
            (st, p.value)
        })
        .collect();
    let next = AtomicUsize::new(0);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let tallies: Vec<Tally> = std::thread::scope(|sc| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                sc.spawn(|| {
                    let mut t = Tally::default();
                    loop {
                        let rep = next.fetch_add(1, Ordering::Relaxed);
                        if rep >= r.reps {
                            break t;
                        }
                        let mut rng = Pcg64Mcg::seed_from_u64(seed ^ (rep as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
                        let first = draw_output(r, s.cw, &mut rng, &chi);
                        let mut acc = Accumulator::new(1, vec![], vec![first], 64);
                        acc.push(0, &[first]);
                        for i in 1..r.networks {
                            let y = draw_output(r, s.cw, &mut rng, &chi);
                            acc.push(i, &[y]);
                        }
                        for &(st, th) in &theory {
                            let e = acc.estimate(0, st);
                            let rel = acc.reliability(0, st);
                            let z = (e.estimate - th) / e.stderr;
                            if let Ok(path) = std::env::var("VERDICTS_DUMP") {
                                use std::io::Write;
                                static DUMP: std::sync::Mutex<()> = std::sync::Mutex::new(());
                                let _guard = DUMP.lock().unwrap();
                                let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).unwrap();
                                let _ = writeln!(f, "{},{},{},{},{},{},{}", r.relu, r.width, r.depth, r.networks, st, rel.effective_networks, z);
                            }
                            t.tested += 1;
                            let far = !(z.abs() <= 4.0);
                            if rel.reliable {
                                t.reliable += 1;
                                if far {
                                    t.reliable_far += 1;
                                    eprintln!("  reliable but |z| > 4: {r:?} rep {rep} {st}: {} ± {} vs {th} (z {z:.2}, n_eff {:.0})", e.estimate, e.stderr, rel.effective_networks);
                                }
                            } else if far {
                                t.unreliable_far += 1;
                            }
                            if st == Statistic::ExcessKurtosis {
                                t.kurtosis_tested += 1;
                                t.kurtosis_reliable += rel.reliable as usize;
                            }
                        }
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut t = Tally::default();
    for x in &tallies {
        t.add(x);
    }
    t
}

fn report(r: &Regime, t: &Tally) {
    println!(
        "{:<6} n={:<4} L={:<4} L/n={:<7.4} M={:<8} reps={:<4} reliable {:>5}/{:<5} |z|>4 among reliable {:>3} ({:.2} %), caught {:>3}; excess_kurtosis reliable {:.0} %",
        if r.relu { "relu" } else { "linear" },
        r.width,
        r.depth,
        r.depth as f64 / r.width as f64,
        r.networks,
        r.reps,
        t.reliable,
        t.tested,
        t.reliable_far,
        100.0 * t.far_rate(),
        t.unreliable_far,
        100.0 * t.kurtosis_power()
    );
}

/// The regimes of the study: ReLU and linear, L/n from 1/16 to 1, widths 8 to 256, M from
/// 10³ to 10⁶. Replicates are sized to a budget of layer draws per regime (at least `min_reps`).
fn grid(
    widths: &[usize],
    ratios: &[f64],
    ms: &[u64],
    budget: f64,
    min_reps: usize,
    max_reps: usize,
) -> Vec<Regime> {
    let mut out = Vec::new();
    for relu in [true, false] {
        for &n in widths {
            for &q in ratios {
                let l = (n as f64 * q).round() as usize;
                if l == 0 || (l as f64 - n as f64 * q).abs() > 1e-9 {
                    continue;
                }
                for &m in ms {
                    let reps =
                        ((budget / (m as f64 * l as f64)) as usize).clamp(min_reps, max_reps);
                    out.push(Regime {
                        relu,
                        width: n,
                        depth: l,
                        networks: m,
                        reps,
                    });
                }
            }
        }
    }
    out
}

/// P(X >= k) for X ~ Bin(n, p).
fn binomial_upper_tail(n: usize, k: usize, p: f64) -> f64 {
    if k == 0 {
        return 1.0;
    }
    let mut term = (1.0 - p).powi(n as i32); // P(X = 0)
    let mut below = 0.0;
    for j in 0..k {
        below += term;
        term *= (n - j) as f64 / (j + 1) as f64 * p / (1.0 - p);
    }
    (1.0 - below).max(0.0)
}

fn study(regimes: &[Regime]) -> (Tally, Tally) {
    let mut all = Tally::default();
    let mut light = Tally::default();
    for (i, r) in regimes.iter().enumerate() {
        let t = run_regime(r, 0xC0FF_EE00 + i as u64);
        report(r, &t);
        // Per regime: the count of |z| > 4 among reliable estimates must be consistent with a
        // rate of at most 1 % (one-sided binomial p-value >= 0.001; with few reliable estimates a
        // single miss is not evidence against 1 %).
        let p = binomial_upper_tail(t.reliable, t.reliable_far, 0.01);
        assert!(
            std::env::var("VERDICTS_DUMP").is_ok() || p >= 1e-3,
            "{r:?}: {} of {} reliable estimates have |z| > 4 (p = {p:.2e} against a 1 % rate)",
            t.reliable_far,
            t.reliable
        );
        all.add(&t);
        if (r.depth as f64) / (r.width as f64) <= 0.125 && r.networks >= 100_000 {
            light.add(&t);
        }
    }
    (all, light)
}

#[test]
fn reduced_coverage_study() {
    // Light (L/n = 1/16, 1/8), middling (1/4) and heavy (1/2, 1) tails at small and large M.
    let regimes = [
        Regime {
            relu: true,
            width: 32,
            depth: 2,
            networks: 100_000,
            reps: 12,
        },
        Regime {
            relu: true,
            width: 64,
            depth: 8,
            networks: 100_000,
            reps: 12,
        },
        Regime {
            relu: false,
            width: 64,
            depth: 8,
            networks: 100_000,
            reps: 12,
        },
        Regime {
            relu: true,
            width: 16,
            depth: 4,
            networks: 10_000,
            reps: 60,
        },
        Regime {
            relu: true,
            width: 16,
            depth: 8,
            networks: 1_000,
            reps: 200,
        },
        Regime {
            relu: true,
            width: 8,
            depth: 8,
            networks: 10_000,
            reps: 60,
        },
        Regime {
            relu: false,
            width: 8,
            depth: 8,
            networks: 1_000,
            reps: 200,
        },
    ];
    let (all, light) = study(&regimes);
    println!(
        "reduced study: {} estimates, {} reliable, {} reliable with |z| > 4; light-tailed excess kurtosis reliable {:.1} %",
        all.tested,
        all.reliable,
        all.reliable_far,
        100.0 * light.kurtosis_power()
    );
    assert!(all.far_rate() <= 0.01);
    // Power: in the light regimes (L/n <= 1/8, M = 1e5) the flag must not cry wolf.
    assert!(light.kurtosis_power() >= 0.95, "{light:?}");
    // And it must catch something: the heavy regimes have unreliable estimates.
    assert!(all.reliable < all.tested);
}

#[test]
#[ignore = "full coverage study, ~10 min on 2 cores"]
fn full_coverage_study() {
    let regimes = grid(
        &[8, 32, 256],
        &[1.0 / 16.0, 0.125, 0.25, 0.5, 1.0],
        &[1_000, 10_000, 100_000, 1_000_000],
        3e8,
        8,
        400,
    );
    let (all, light) = study(&regimes);
    println!(
        "full study: {} regimes, {} estimates, {} reliable, {} reliable with |z| > 4 ({:.3} %); light-tailed excess kurtosis reliable {:.1} % of {}",
        regimes.len(),
        all.tested,
        all.reliable,
        all.reliable_far,
        100.0 * all.far_rate(),
        100.0 * light.kurtosis_power(),
        light.kurtosis_tested
    );
    assert!(light.kurtosis_power() >= 0.95, "{light:?}");
}

#[test]
#[ignore = "calibration grid: VERDICTS_DUMP=FILE writes (relu, n, L, M, statistic, n_eff, z) rows"]
fn calibration_dump() {
    let regimes = grid(
        &[8, 16, 32, 64],
        &[1.0 / 16.0, 0.125, 0.25, 0.5, 1.0],
        &[1_000, 10_000, 100_000],
        2e7,
        20,
        300,
    );
    let _ = study(&regimes);
}

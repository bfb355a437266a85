//! Tests of the geometry engine (issue 6, docs/geometry.md): exact 1-D and 2-D counting against
//! brute force with an independent forward pass, exact lengths of linear nets, closed forms from
//! crates/theory (means within 4 standard errors), and the dense engine's weights.
//!
//! Sweeps and the benchmark of docs/geometry.md are the #[ignore]d tests at the end:
//! `cargo test -p randnet-sampler --release --test geometry -- --ignored --nocapture`.

use randnet_problem::{Curve, Family, NetworkSpec, Observe, Residual, WeightLaw};
use randnet_sampler::activation::LayerActivation;
use randnet_sampler::stream::{fill_row, network_stream, tag, Purpose};
use randnet_sampler::{
    BatchSampler, CpuDense, CpuGeometry, GeometryEngine, PatternsMethod, Problem,
};
use std::collections::HashSet;
use std::f64::consts::TAU;

fn spec(n0: usize, hidden: Vec<usize>, nout: usize, act: &str, cb: f64) -> NetworkSpec {
    NetworkSpec::builder(n0, hidden)
        .output_dim(nout)
        .activation(act.parse().unwrap())
        .cb(cb)
        .build()
        .unwrap()
}

fn geo(curve: Curve) -> Observe {
    Observe::NONE
        .with(Family::LengthDistortion)
        .with(Family::Regions)
        .on_curve(curve)
}

fn problem(spec: NetworkSpec, inputs: Vec<Vec<f64>>, observe: Observe, seed: u64) -> Problem {
    Problem {
        spec,
        inputs,
        observe,
        seed,
    }
}

/// Deterministic, generic inputs.
fn inputs(n0: usize, k: usize) -> Vec<Vec<f64>> {
    (0..k)
        .map(|a| {
            (0..n0)
                .map(|j| ((a * 7 + j * 3 + 1) as f64 * 1.37).sin() + if j == a { 1.0 } else { 0.0 })
                .collect()
        })
        .collect()
}

/// An independent forward pass (its own code, the documented stream layout): returns the full
/// sign pattern of the hidden units (z > 0) and f(x).
struct Net {
    w: Vec<Vec<f64>>,
    b: Vec<Vec<f64>>,
    spec: NetworkSpec,
}

impl Net {
    fn new(spec: &NetworkSpec, seed: u64, net: u64) -> Net {
        let widths = spec.layer_widths();
        let (key, net32) = network_stream(seed, net);
        let mut w = Vec::new();
        let mut b = Vec::new();
        for l in 1..widths.len() {
            let (ni, no) = (widths[l - 1], widths[l]);
            let mut m = vec![0.0; ni * no];
            for i in 0..no {
                fill_row(
                    key,
                    net32,
                    tag(Purpose::Weight, l as u32),
                    i as u32,
                    spec.weights,
                    &mut m[i * ni..(i + 1) * ni],
                );
            }
            let mut bb = vec![0.0; no];
            if spec.cb > 0.0 {
                fill_row(
                    key,
                    net32,
                    tag(Purpose::Bias, l as u32),
                    0,
                    WeightLaw::Gaussian,
                    &mut bb,
                );
            }
            w.push(m);
            b.push(bb);
        }
        Net {
            w,
            b,
            spec: spec.clone(),
        }
    }

    fn eval(&self, x: &[f64]) -> (Vec<bool>, Vec<f64>) {
        let widths = self.spec.layer_widths();
        let depth = self.spec.depth();
        let alpha = self.spec.residual_alpha().unwrap_or(1.0);
        let mut a = x.to_vec();
        let mut zp: Vec<f64> = Vec::new();
        let mut pat = Vec::new();
        for l in 1..=depth + 1 {
            let (ni, no) = (widths[l - 1], widths[l]);
            let sc = (self.spec.cw / ni as f64).sqrt();
            let res = self.spec.is_residual_layer(l);
            let mut z = vec![0.0; no];
            for i in 0..no {
                let s: f64 = (0..ni).map(|j| self.w[l - 1][i * ni + j] * a[j]).sum();
                let h = sc * s + self.spec.cb.sqrt() * self.b[l - 1][i];
                z[i] = if res { zp[i] + alpha * h } else { h };
            }
            if l > depth {
                return (pat, z);
            }
            let act = LayerActivation::resolve(&self.spec, no);
            if let Some((p, m)) = self.spec.activation.slopes(no) {
                if p != m {
                    pat.extend(z.iter().map(|&v| v > 0.0));
                }
            }
            a = z.iter().map(|&v| act.eval(v).0).collect();
            zp = z;
        }
        unreachable!()
    }
}

fn seg_point(x0: &[f64], x1: &[f64], t: f64) -> Vec<f64> {
    x0.iter().zip(x1).map(|(a, b)| a + t * (b - a)).collect()
}

fn circle_point(x0: &[f64], x1: &[f64], th: f64) -> Vec<f64> {
    let r = x0.iter().map(|v| v * v).sum::<f64>().sqrt();
    let e1: Vec<f64> = x0.iter().map(|v| v / r).collect();
    let p: f64 = x1.iter().zip(&e1).map(|(a, b)| a * b).sum();
    let perp: Vec<f64> = x1.iter().zip(&e1).map(|(a, e)| a - p * e).collect();
    let q = perp.iter().map(|v| v * v).sum::<f64>().sqrt();
    e1.iter()
        .zip(&perp)
        .map(|(e, v)| r * (th.cos() * e + th.sin() * v / q))
        .collect()
}

#[test]
fn same_weights_and_values_as_the_dense_engine() {
    // f at the curve's ends from the exact trace equals the dense engine's output[0], output[1]
    // (the same stream rows and formulas; rounding differs only in the interpolated interior):
    // relative 1e-12.
    let mut cases = vec![
        spec(5, vec![7, 6, 5], 1, "relu", 0.3),
        spec(5, vec![7], 1, "leaky-relu:0.2", 0.0),
        spec(5, vec![6, 6, 6], 1, "shaped-relu:1.5", 0.1),
    ];
    let mut r = spec(5, vec![6, 6, 6, 6], 1, "relu", 0.2);
    r.residual = Some(Residual::InvSqrtDepth);
    cases.push(r);
    let mut u = spec(5, vec![9, 9], 1, "relu", 0.2);
    u.weights = WeightLaw::Uniform;
    cases.push(u);
    for sp in cases {
        for curve in [Curve::Segment, Curve::Circle] {
            let xs = inputs(5, 2);
            let p = problem(sp.clone(), xs.clone(), geo(curve), 11);
            let g = GeometryEngine::new(&p).unwrap();
            let mut dp = p.clone();
            dp.observe = Observe::NONE.with(Family::Output);
            let mut dense = CpuDense::new(&dp).unwrap();
            let mut out = vec![0.0; 2 * 8];
            dense.sample_batch(0, 8, &mut out).unwrap();
            let mut s = g.scratch();
            for net in 0..8u64 {
                let tr = g.curve_trace(net, &mut s).unwrap();
                let f0 = tr.values[0];
                assert!(
                    (f0 - out[2 * net as usize]).abs() <= 1e-12 * f0.abs().max(1.0),
                    "{sp:?}"
                );
                if curve == Curve::Segment {
                    let f1 = *tr.values.last().unwrap();
                    assert!((f1 - out[2 * net as usize + 1]).abs() <= 1e-12 * f1.abs().max(1.0));
                }
                // Every value on the trace agrees with the independent forward pass.
                let nn = Net::new(&sp, 11, net);
                for (k, &t) in tr.breakpoints.iter().enumerate() {
                    let x = match curve {
                        Curve::Segment => seg_point(&xs[0], &xs[1], t),
                        Curve::Circle => circle_point(&xs[0], &xs[1], t),
                    };
                    let f = nn.eval(&x).1[0];
                    assert!(
                        (f - tr.values[k]).abs() <= 1e-9 * f.abs().max(1.0),
                        "{sp:?} {curve}"
                    );
                }
            }
        }
    }
}

/// Checks one exact 1-D trace against brute force on a grid of `m` intervals. Returns whether the
/// grid count equalled the exact count.
fn check_1d(
    g: &GeometryEngine,
    net: u64,
    sp: &NetworkSpec,
    seed: u64,
    xs: &[Vec<f64>],
    curve: Curve,
    m: usize,
) -> bool {
    let mut s = g.scratch();
    let tr = g.curve_trace(net, &mut s).unwrap();
    let nn = Net::new(sp, seed, net);
    let end = if curve == Curve::Segment { 1.0 } else { TAU };
    let at = |t: f64| -> Vec<bool> {
        let x = match curve {
            Curve::Segment => seg_point(&xs[0], &xs[1], t),
            Curve::Circle => circle_point(&xs[0], &xs[1], t),
        };
        nn.eval(&x).0
    };
    let bp = &tr.breakpoints;
    // (i) no spurious breakpoint: the patterns of consecutive pieces (at their midpoints) differ.
    let mids: Vec<Vec<bool>> = bp.windows(2).map(|w| at(0.5 * (w[0] + w[1]))).collect();
    for w in mids.windows(2) {
        assert_ne!(
            w[0], w[1],
            "net {net}: a breakpoint without a pattern change"
        );
    }
    // (ii) no region missed: every grid interval whose end patterns differ contains a breakpoint.
    let grid: Vec<Vec<bool>> = (0..=m).map(|j| at(end * j as f64 / m as f64)).collect();
    let interior: Vec<f64> = bp[1..bp.len() - 1].to_vec();
    let mut changes = 0;
    for j in 0..m {
        if grid[j] != grid[j + 1] {
            changes += 1;
            let (a, b) = (end * j as f64 / m as f64, end * (j + 1) as f64 / m as f64);
            assert!(
                interior.iter().any(|&t| t >= a - 1e-12 && t <= b + 1e-12),
                "net {net}: a pattern change in [{a}, {b}] with no exact breakpoint"
            );
        }
    }
    let grid_regions = match curve {
        Curve::Segment => changes + 1,
        Curve::Circle => changes.max(1),
    };
    assert!(
        grid_regions <= tr.regions,
        "grid {grid_regions} > exact {}",
        tr.regions
    );
    // (iii) equal when every piece is longer than a grid step.
    let min_piece = bp
        .windows(2)
        .map(|w| w[1] - w[0])
        .fold(f64::INFINITY, f64::min);
    if min_piece > 1.01 * end / m as f64 {
        assert_eq!(
            grid_regions, tr.regions,
            "net {net}: fine grid and exact disagree"
        );
    }
    grid_regions == tr.regions
}

#[test]
fn exact_1d_counts_agree_with_brute_force() {
    // Tiny nets of depths 1..4 (leaky and residual too), segment and circle, grid of 20000
    // intervals: grid <= exact always, equal whenever the smallest piece exceeds a grid step.
    let m = 20_000;
    let mut equal = 0;
    let mut total = 0;
    for (d, act, cb) in [
        (1, "relu", 0.5),
        (2, "relu", 0.0),
        (3, "relu", 0.3),
        (4, "leaky-relu:0.3", 0.2),
        (3, "relu", 1.0),
    ] {
        for curve in [Curve::Segment, Curve::Circle] {
            let mut sp = spec(3, vec![5; d], 1, act, cb);
            if d == 3 && cb == 1.0 {
                sp.residual = Some(Residual::Alpha(0.7));
            }
            let xs = inputs(3, 2);
            let p = problem(sp.clone(), xs.clone(), geo(curve), 5);
            let g = GeometryEngine::new(&p).unwrap();
            for net in 0..6 {
                total += 1;
                if check_1d(&g, net, &sp, 5, &xs, curve, m) {
                    equal += 1;
                }
            }
        }
    }
    assert!(
        equal * 10 >= total * 8,
        "only {equal}/{total} nets resolved by the grid"
    );
}

#[test]
fn exact_2d_counts_agree_with_grid_hash() {
    // Tiny nets (n0 = 3): the exact count equals the number of distinct patterns at the final
    // polygons' centroids (no spurious region), grid patterns (m = 300, 90000 points) are a
    // subset of them (grid <= exact), and every region the grid misses is small (area below
    // 4 grid cells).
    let m = 300;
    let mut equal = 0;
    let mut total = 0;
    for (hidden, act, cb) in [
        (vec![6], "relu", 0.5),
        (vec![4, 4], "relu", 0.3),
        (vec![4, 3, 3], "relu", 0.0),
        (vec![5, 5], "leaky-relu:0.1", 0.4),
    ] {
        let sp = spec(3, hidden, 1, act, cb);
        let xs = inputs(3, 3);
        let obs = Observe::NONE.with(Family::Patterns);
        let p = problem(sp.clone(), xs.clone(), obs, 9);
        let g = GeometryEngine::new(&p).unwrap();
        assert_eq!(g.patterns_method(), PatternsMethod::Exact);
        let mut s = g.scratch();
        for net in 0..6u64 {
            let nn = Net::new(&sp, 9, net);
            let mut polys: Vec<Vec<[f64; 2]>> = Vec::new();
            let count = g.patterns_exact(net, &mut s, &mut |v| polys.push(v.to_vec()));
            assert_eq!(count, polys.len());
            let at = |st: [f64; 2]| -> Vec<bool> {
                let x: Vec<f64> = (0..3)
                    .map(|j| {
                        xs[0][j] + st[0] * (xs[1][j] - xs[0][j]) + st[1] * (xs[2][j] - xs[0][j])
                    })
                    .collect();
                nn.eval(&x).0
            };
            let mut pats: Vec<(Vec<bool>, f64)> = Vec::new();
            let mut total_area = 0.0;
            for v in &polys {
                let k = v.len() as f64;
                let c = [
                    v.iter().map(|p| p[0]).sum::<f64>() / k,
                    v.iter().map(|p| p[1]).sum::<f64>() / k,
                ];
                let area = 0.5
                    * (0..v.len())
                        .map(|i| {
                            let (p, q) = (v[i], v[(i + 1) % v.len()]);
                            p[0] * q[1] - q[0] * p[1]
                        })
                        .sum::<f64>()
                        .abs();
                total_area += area;
                pats.push((at(c), area));
            }
            assert!(
                (total_area - 0.5).abs() < 1e-12,
                "regions tile the triangle: {total_area}"
            );
            let distinct: HashSet<&Vec<bool>> = pats.iter().map(|p| &p.0).collect();
            assert_eq!(
                distinct.len(),
                count,
                "net {net}: two exact regions share a pattern"
            );
            // Grid (independent evaluation at the same centroid points as the engine's grid).
            let mut grid = HashSet::new();
            let mf = m as f64;
            for i in 0..m {
                for j in 0..m - i {
                    grid.insert(at([
                        (i as f64 + 1.0 / 3.0) / mf,
                        (j as f64 + 1.0 / 3.0) / mf,
                    ]));
                    if i + j + 1 < m {
                        grid.insert(at([
                            (i as f64 + 2.0 / 3.0) / mf,
                            (j as f64 + 2.0 / 3.0) / mf,
                        ]));
                    }
                }
            }
            assert!(
                grid.iter().all(|p| distinct.contains(p)),
                "a grid pattern the exact count lacks"
            );
            let cell = 0.5 / (mf * mf);
            for (p, area) in &pats {
                if !grid.contains(p) {
                    assert!(
                        *area < 4.0 * cell,
                        "net {net}: missed region of area {area}"
                    );
                }
            }
            assert_eq!(
                g.patterns_grid(net, &mut s, m),
                grid.len(),
                "engine grid vs test grid"
            );
            total += 1;
            if grid.len() == count {
                equal += 1;
            }
        }
    }
    assert!(
        equal * 10 >= total * 6,
        "only {equal}/{total} nets resolved by the grid"
    );
}

#[test]
fn linear_nets_have_exact_length() {
    // Segment: f(γ) is the segment from f(x0) to f(x1): length |W_tot (x1 − x0)|, relative 1e-12.
    // Circle: an ellipse W_tot(r cos θ e1 + r sin θ e2); compared with a 2^16-gon, whose relative
    // error is ≈ (2π/2^16)²/24 ≈ 4e-10 for a round ellipse: tolerance 1e-8.
    for nout in [1usize, 3] {
        let sp = spec(4, vec![6, 5], nout, "linear", 0.4);
        let xs = inputs(4, 2);
        for curve in [Curve::Segment, Curve::Circle] {
            let p = problem(sp.clone(), xs.clone(), geo(curve), 3);
            let mut g = CpuGeometry::new(&p).unwrap();
            assert_eq!(g.method(), "exact");
            let mut out = vec![0.0; 2 * 4];
            g.sample_batch(0, 4, &mut out).unwrap();
            for net in 0..4u64 {
                let nn = Net::new(&sp, 3, net);
                let (want, len) = match curve {
                    Curve::Segment => {
                        let (f0, f1) = (nn.eval(&xs[0]).1, nn.eval(&xs[1]).1);
                        let d: f64 = f0
                            .iter()
                            .zip(&f1)
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum::<f64>()
                            .sqrt();
                        let l: f64 = xs[0]
                            .iter()
                            .zip(&xs[1])
                            .map(|(a, b)| (a - b) * (a - b))
                            .sum::<f64>()
                            .sqrt();
                        (d / l, l)
                    }
                    Curve::Circle => {
                        let m = 1 << 16;
                        let pts: Vec<Vec<f64>> = (0..=m)
                            .map(|j| {
                                nn.eval(&circle_point(&xs[0], &xs[1], TAU * j as f64 / m as f64))
                                    .1
                            })
                            .collect();
                        let d: f64 = pts
                            .windows(2)
                            .map(|w| {
                                w[0].iter()
                                    .zip(&w[1])
                                    .map(|(a, b)| (a - b) * (a - b))
                                    .sum::<f64>()
                                    .sqrt()
                            })
                            .sum();
                        let r = xs[0].iter().map(|v| v * v).sum::<f64>().sqrt();
                        (d / (TAU * r), TAU * r)
                    }
                };
                let _ = len;
                let got = out[2 * net as usize];
                let tol = if curve == Curve::Segment { 1e-12 } else { 1e-8 };
                assert!(
                    (got - want).abs() <= tol * want,
                    "{curve} nout={nout}: {got} vs {want}"
                );
                assert_eq!(
                    out[2 * net as usize + 1],
                    1.0,
                    "a linear net has one region"
                );
            }
        }
    }
}

#[test]
fn relu_circle_length_matches_fine_polygon() {
    // n_out = 2, ReLU, circle: exact pieces + ellipse-arc quadrature against polygons through
    // the independent forward pass, 3000 sides per exact piece (relative error of a polygon on
    // an ellipse arc ≈ (Δθ)²/24 ≲ 1e-8): tolerance 1e-7. (A uniform polygon over the whole
    // circle cuts the corners at the kinks: its error is first order in the step.)
    let sp = spec(4, vec![6, 6], 2, "relu", 0.2);
    let xs = inputs(4, 2);
    let p = problem(sp.clone(), xs.clone(), geo(Curve::Circle), 21);
    let g = GeometryEngine::new(&p).unwrap();
    let mut s = g.scratch();
    for net in 0..3u64 {
        let tr = g.curve_trace(net, &mut s).unwrap();
        let nn = Net::new(&sp, 21, net);
        // A 3000-gon on every exact piece (the kinks are vertices): f is smooth there.
        let mut len = 0.0;
        for w in tr.breakpoints.windows(2) {
            let mm = 3000;
            let mut pv = nn.eval(&circle_point(&xs[0], &xs[1], w[0])).1;
            for j in 1..=mm {
                let f = nn
                    .eval(&circle_point(
                        &xs[0],
                        &xs[1],
                        w[0] + (w[1] - w[0]) * j as f64 / mm as f64,
                    ))
                    .1;
                len += pv
                    .iter()
                    .zip(&f)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    .sqrt();
                pv = f;
            }
        }
        assert!(
            (tr.length - len).abs() <= 1e-7 * len,
            "{} vs {len}",
            tr.length
        );
    }
}

#[test]
fn smooth_activations_use_converged_polylines() {
    // tanh: the engine's adaptive polyline (relative change < 1e-6) against a uniform 2^18-gon
    // (error ~ 1e-10): tolerance 1e-5. regions and patterns are refused.
    let sp = spec(4, vec![8, 8], 1, "tanh", 0.1);
    let xs = inputs(4, 3);
    let obs = Observe::NONE.with(Family::LengthDistortion);
    let p = problem(sp.clone(), xs.clone(), obs, 2);
    let mut g = CpuGeometry::new(&p).unwrap();
    assert_eq!(g.method(), "polyline");
    let mut out = vec![0.0; 3];
    g.sample_batch(0, 3, &mut out).unwrap();
    let seg_len = xs[0]
        .iter()
        .zip(&xs[1])
        .map(|(a, b)| (a - b) * (a - b))
        .sum::<f64>()
        .sqrt();
    for net in 0..3u64 {
        let nn = Net::new(&sp, 2, net);
        let m = 1 << 18;
        let mut prev = nn.eval(&xs[0]).1[0];
        let mut len = 0.0;
        for j in 1..=m {
            let f = nn.eval(&seg_point(&xs[0], &xs[1], j as f64 / m as f64)).1[0];
            len += (f - prev).abs();
            prev = f;
        }
        let want = len / seg_len;
        assert!(
            (out[net as usize] - want).abs() <= 1e-5 * want,
            "{} vs {want}",
            out[net as usize]
        );
    }
    for bad in ["regions", "patterns"] {
        let mut q = p.clone();
        q.observe = Observe::parse_list(bad).unwrap();
        assert!(GeometryEngine::new(&q).is_err());
    }
}

#[test]
fn bad_geometry_problems_are_refused() {
    let sp = spec(3, vec![4], 1, "relu", 0.0);
    let one = problem(sp.clone(), inputs(3, 1), geo(Curve::Segment), 1);
    assert!(GeometryEngine::new(&one).is_err());
    let two = problem(
        sp.clone(),
        inputs(3, 2),
        Observe::NONE.with(Family::Patterns),
        1,
    );
    assert!(GeometryEngine::new(&two).is_err());
    let x = vec![1.0, 2.0, 3.0];
    let par = problem(
        sp.clone(),
        vec![x.clone(), x.iter().map(|v| 2.0 * v).collect()],
        geo(Curve::Circle),
        1,
    );
    assert!(GeometryEngine::new(&par).is_err());
    let same = problem(
        sp.clone(),
        vec![x.clone(), x.clone()],
        geo(Curve::Segment),
        1,
    );
    assert!(GeometryEngine::new(&same).is_err());
    let none = problem(sp, inputs(3, 2), Observe::NONE.with(Family::Output), 1);
    assert!(GeometryEngine::new(&none).is_err());
}

// ---------------------------------------------------------------- closed forms

/// Mean and its standard error of column `c` of `d`-wide rows.
fn mean_se(v: &[f64], d: usize, c: usize) -> (f64, f64) {
    let xs: Vec<f64> = v.chunks(d).map(|r| r[c]).collect();
    let n = xs.len() as f64;
    let m = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, (var / n).sqrt())
}

fn run(p: &Problem, nets: usize) -> Vec<f64> {
    let mut g = CpuGeometry::new(p).unwrap();
    let d = g.n_values();
    let mut out = vec![0.0; nets * d];
    g.sample_batch(0, nets, &mut out).unwrap();
    out
}

fn theory(p: &Problem, name: &str, stat: &str) -> f64 {
    randnet_theory::geometry::predict(
        &p.spec,
        &p.inputs,
        p.observe.curve,
        &name.parse().unwrap(),
        stat,
    )
    .unwrap_or_else(|| panic!("no theory for {name} {stat}"))
    .value
}

#[test]
fn one_layer_regions_match_closed_form() {
    // regions = 1 + Binomial(n1, arccos(ρ)/π) on the segment and max(2 Binomial(n1, q), 1) on
    // the circle (crates/theory geometry.rs): mean within 4 standard errors over 4000 networks,
    // variance within 4 of its (normal-approximation) standard errors.
    for curve in [Curve::Segment, Curve::Circle] {
        for (act, cb) in [("relu", 0.7), ("leaky-relu:0.3", 2.0)] {
            let sp = spec(4, vec![16], 1, act, cb);
            let xs = vec![vec![1.0, 0.5, -0.3, 0.2], vec![-0.8, 1.1, 0.4, 0.6]];
            let p = problem(
                sp,
                xs,
                Observe::NONE.with(Family::Regions).on_curve(curve),
                17,
            );
            let nets = 4000;
            let out = run(&p, nets);
            let (m, se) = mean_se(&out, 1, 0);
            let want = theory(&p, "regions", "mean");
            assert!(
                (m - want).abs() <= 4.0 * se,
                "{curve} {act}: {m} ± {se} vs {want}"
            );
            let var = out.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (nets as f64 - 1.0);
            let wv = theory(&p, "regions", "variance");
            let k4 = theory(&p, "regions", "kappa4");
            let se_v = ((k4 + 2.0 * wv * wv) / nets as f64).sqrt();
            assert!(
                (var - wv).abs() <= 4.0 * se_v,
                "{curve} {act}: var {var} vs {wv} ± {se_v}"
            );
        }
    }
}

#[test]
fn one_layer_patterns_match_closed_form() {
    // E[patterns] = 1 + n1 P(line meets triangle) + C(n1,2) ∫ Kac–Rice (crates/theory): within 4
    // standard errors over 1500 networks.
    for (act, cb) in [("relu", 0.5), ("relu", 0.0)] {
        let sp = spec(3, vec![12], 1, act, cb);
        let xs = vec![
            vec![1.0, 0.2, 0.3],
            vec![-0.5, 1.2, 0.1],
            vec![0.2, -0.4, 1.3],
        ];
        let p = problem(sp, xs, Observe::NONE.with(Family::Patterns), 23);
        let out = run(&p, 1500);
        let (m, se) = mean_se(&out, 1, 0);
        let want = theory(&p, "patterns", "mean");
        assert!(
            (m - want).abs() <= 4.0 * se,
            "{act} cb={cb}: {m} ± {se} vs {want}"
        );
    }
}

#[test]
fn zero_bias_length_distortion_equals_jacobian_law() {
    // E[length_distortion] = E‖J u‖ (exact for zero-bias scale-invariant nets, docs/geometry.md):
    // segment and circle, relu (randnet_theory::predict's jacobian_norm mean) and leaky-relu;
    // within 4 standard errors over 3000 networks.
    for (act, hidden, nout) in [
        ("relu", vec![8, 8, 8], 1),
        ("relu", vec![6, 10], 3),
        ("leaky-relu:0.3", vec![8, 8], 2),
    ] {
        for curve in [Curve::Segment, Curve::Circle] {
            let sp = spec(4, hidden.clone(), nout, act, 0.0);
            let xs = inputs(4, 2);
            let p = problem(
                sp.clone(),
                xs.clone(),
                Observe::NONE.with(Family::LengthDistortion).on_curve(curve),
                29,
            );
            let out = run(&p, 3000);
            let (m, se) = mean_se(&out, 1, 0);
            let want = theory(&p, "length_distortion", "mean");
            if act == "relu" {
                let j = randnet_theory::predict_named(&sp, &xs, "jacobian_norm[0]", "mean")
                    .unwrap()
                    .value;
                assert!((want - j).abs() < 1e-12 * j);
            }
            assert!(
                (m - want).abs() <= 4.0 * se,
                "{act} {curve}: {m} ± {se} vs {want}"
            );
        }
    }
}

// ---------------------------------------------------------------- sweeps and benchmark

fn unit_inputs(n0: usize) -> Vec<Vec<f64>> {
    // x0 = sqrt(n0) e_1, x1 = sqrt(n0) e_2: orthogonal, |x|² = n0 (angle π/2).
    let r = (n0 as f64).sqrt();
    let mut a = vec![0.0; n0];
    let mut b = vec![0.0; n0];
    a[0] = r;
    b[1] = r;
    vec![a, b]
}

#[test]
#[ignore]
fn sweep_regions_vs_neurons() {
    // docs/geometry.md, table 1.
    println!("| N | L | n | C_b | mean regions | stderr | Kac–Rice (inf. width) |");
    println!("|---|---|---|---|---|---|---|");
    for cb in [0.0, 0.1] {
        for total in [64usize, 128, 256, 512] {
            for depth in [1usize, 2, 4, 8, 16] {
                if total % depth != 0 || total / depth < 4 {
                    continue;
                }
                let n = total / depth;
                let sp = spec(8, vec![n; depth], 1, "relu", cb);
                let p = problem(sp, unit_inputs(8), Observe::NONE.with(Family::Regions), 1);
                let out = run(&p, 400);
                let (m, se) = mean_se(&out, 1, 0);
                let th = theory(&p, "regions", "mean");
                println!("| {total} | {depth} | {n} | {cb} | {m:.2} | {se:.2} | {th:.2} |");
            }
        }
    }
}

#[test]
#[ignore]
fn sweep_length_vs_depth() {
    // docs/geometry.md, table 2.
    println!("| L | n | C_b | mean length distortion | stderr | exact E‖Ju‖ | sqrt(n_out/n0) |");
    println!("|---|---|---|---|---|---|---|");
    for cb in [0.0, 0.1] {
        for depth in [1usize, 2, 4, 8, 16, 32] {
            let n = 32;
            let sp = spec(8, vec![n; depth], 1, "relu", cb);
            let p = problem(
                sp,
                unit_inputs(8),
                Observe::NONE.with(Family::LengthDistortion),
                2,
            );
            let out = run(&p, 1000);
            let (m, se) = mean_se(&out, 1, 0);
            let th = randnet_theory::geometry::predict(
                &p.spec,
                &p.inputs,
                Curve::Segment,
                &randnet_problem::Observable::LengthDistortion,
                "mean",
            )
            .map(|p| format!("{:.4}", p.value))
            .unwrap_or_else(|| "—".into());
            println!(
                "| {depth} | {n} | {cb} | {m:.4} | {se:.4} | {th} | {:.4} |",
                (1.0f64 / 8.0).sqrt()
            );
        }
    }
}

#[test]
#[ignore]
fn bench_relu_64x8() {
    // docs/geometry.md, benchmark: exact regions + length along a segment, ReLU n = 64, L = 8.
    let sp = spec(64, vec![64; 8], 1, "relu", 0.0);
    let p = problem(sp.clone(), unit_inputs(64), geo(Curve::Segment), 3);
    let nets = 2000;
    let mut g = CpuGeometry::new(&p).unwrap();
    let mut out = vec![0.0; 2 * nets];
    let t = std::time::Instant::now();
    g.sample_batch(0, nets, &mut out).unwrap();
    let dt = t.elapsed().as_secs_f64();
    let threads = rayon::current_num_threads();
    println!("ReLU n0=64 n=64 L=8, segment at angle π/2, {threads} threads: {:.0} networks/s ({nets} nets in {dt:.2} s)", nets as f64 / dt);
    let (m, _) = mean_se(&out, 2, 1);
    println!("mean regions {m:.1}");
    // Time per network vs its number of regions (one thread).
    let e = g.engine();
    let mut s = e.scratch();
    let mut rows: Vec<(f64, f64)> = Vec::new();
    let mut row = [0.0; 2];
    for net in 0..400u64 {
        let t = std::time::Instant::now();
        e.sample(net, &mut s, &mut row);
        rows.push((row[1], t.elapsed().as_secs_f64()));
    }
    rows.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap());
    println!("| regions (bin mean) | ms per network (1 thread) |");
    println!("|---|---|");
    for chunk in rows.chunks(80) {
        let r = chunk.iter().map(|x| x.0).sum::<f64>() / chunk.len() as f64;
        let tt = chunk.iter().map(|x| x.1).sum::<f64>() / chunk.len() as f64;
        println!("| {r:.0} | {:.3} |", tt * 1e3);
    }
    // Scaling with the number of regions at fixed size: bias raises the count (C_b sweep).
    println!("| C_b | mean regions | ms per network (1 thread) |");
    println!("|---|---|---|");
    for cb in [0.0, 0.5, 2.0, 8.0] {
        let mut q = p.clone();
        q.spec.cb = cb;
        let e = GeometryEngine::new(&q).unwrap();
        let mut s = e.scratch();
        let t = std::time::Instant::now();
        let mut tot = 0.0;
        for net in 0..200u64 {
            e.sample(net, &mut s, &mut row);
            tot += row[1];
        }
        println!(
            "| {cb} | {:.1} | {:.3} |",
            tot / 200.0,
            t.elapsed().as_secs_f64() / 200.0 * 1e3
        );
    }
}

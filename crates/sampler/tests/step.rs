//! The step engine (`--step-lr`) against independent computations:
//!
//! - a reference written here from the definitions, with materialized weights drawn from the
//!   public stream (the same networks): the network as a plain function of a flat parameter
//!   vector θ, its gradients ∂f(x_a)/∂θ by central finite differences, the NTK as their Gram
//!   matrix, the gradient-descent step θ ← θ − η Σ_a r_a ∂f(x_a)/∂θ, and the NTK, outputs and
//!   features after it — against the engine's delta_output, delta_ntk, feature_change and
//!   feature_alignment, network by network;
//! - the first-order identity delta_output / η → −Θ r as η → 0, with Θ and f from the dense
//!   engine (other code) on the same networks.

use randnet_problem::{
    Activation, Family, NetworkSpec, Observe, Parameterization, Residual, Step, WeightLaw,
};
use randnet_sampler::stream::{fill_row, network_stream, tag, Purpose};
use randnet_sampler::{BatchSampler, Cpu, CpuDense, Problem};

type StepCpu = Cpu<randnet_sampler::step::StepEngine>;

fn act(a: Activation, t: f64) -> f64 {
    match a {
        Activation::Relu => t.max(0.0),
        Activation::Tanh => t.tanh(),
        Activation::Linear => t,
        _ => unimplemented!("the reference covers relu, tanh and linear"),
    }
}

/// The reference network: θ = every layer's standardized Ŵ^l (row-major) then β^l, as drawn;
/// `standard` scales them into W = s Ŵ, b = √C_b β so that θ is what that parameterization
/// trains.
struct Reference {
    spec: NetworkSpec,
    widths: Vec<usize>,
    /// Offsets of Ŵ^l and β^l in θ.
    w_at: Vec<usize>,
    b_at: Vec<usize>,
    len: usize,
}

impl Reference {
    fn new(spec: &NetworkSpec) -> Self {
        let widths = spec.layer_widths();
        let (mut w_at, mut b_at, mut len) = (Vec::new(), Vec::new(), 0);
        for l in 1..widths.len() {
            w_at.push(len);
            len += widths[l] * widths[l - 1];
            b_at.push(len);
            if spec.cb > 0.0 {
                len += widths[l];
            }
        }
        Reference {
            spec: spec.clone(),
            widths,
            w_at,
            b_at,
            len,
        }
    }

    /// The docs/training.md table, written out here: σ_l (the effective weights' sd), λ_W and λ_b
    /// (the learning-rate factors; the NTK's derivatives are with respect to θ = W/√λ).
    fn table(&self, l: usize) -> (f64, f64, f64) {
        let (cw, cb) = (self.spec.cw, self.spec.cb);
        let (n_in, n_out) = (self.widths[l - 1] as f64, self.widths[l] as f64);
        let readout = l == self.widths.len() - 1;
        let sigma = (cw / n_in).sqrt();
        match self.spec.parameterization {
            Parameterization::Ntk => (sigma, cw / n_in, cb),
            Parameterization::Standard => (sigma, 1.0, 1.0),
            Parameterization::Mup | Parameterization::DepthMup => {
                if readout {
                    (sigma / n_in.sqrt(), cw / n_in, cb)
                } else {
                    (sigma, n_out * cw / n_in, n_out * cb)
                }
            }
            // μP, and the hidden-to-hidden (residual) layers' rates times the depth.
            Parameterization::CompleteP => {
                let depth = (self.widths.len() - 2) as f64;
                if readout {
                    (sigma / n_in.sqrt(), cw / n_in, cb)
                } else if l >= 2 {
                    (sigma, depth * n_out * cw / n_in, depth * n_out * cb)
                } else {
                    (sigma, n_out * cw / n_in, n_out * cb)
                }
            }
        }
    }

    /// θ of network `net` of `seed`.
    fn draw(&self, seed: u64, net: u64) -> Vec<f64> {
        let (key, net32) = network_stream(seed, net);
        let mut theta = vec![0.0; self.len];
        for l in 1..self.widths.len() {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            for i in 0..n_out {
                let at = self.w_at[l - 1] + i * n_in;
                fill_row(
                    key,
                    net32,
                    tag(Purpose::Weight, l as u32),
                    i as u32,
                    self.spec.weights,
                    &mut theta[at..at + n_in],
                );
            }
            if self.spec.cb > 0.0 {
                let at = self.b_at[l - 1];
                fill_row(
                    key,
                    net32,
                    tag(Purpose::Bias, l as u32),
                    0,
                    WeightLaw::Gaussian,
                    &mut theta[at..at + n_out],
                );
            }
        }
        // θ = W/√λ_W = (σ/√λ_W) Ŵ and θ_b = b/√λ_b = √(C_b/λ_b) β.
        for l in 1..self.widths.len() {
            let (sigma, lw, lb) = self.table(l);
            let n = self.widths[l] * self.widths[l - 1];
            for v in &mut theta[self.w_at[l - 1]..self.w_at[l - 1] + n] {
                *v *= sigma / lw.sqrt();
            }
            if self.spec.cb > 0.0 {
                for v in &mut theta[self.b_at[l - 1]..self.b_at[l - 1] + self.widths[l]] {
                    *v *= (self.spec.cb / lb).sqrt();
                }
            }
        }
        theta
    }

    /// Pre-activations z^1..z^{L+1} at x (index l − 1).
    fn forward(&self, theta: &[f64], x: &[f64]) -> Vec<Vec<f64>> {
        self.layers_from(theta, 0, x, None)
    }

    /// The layers l + 1..L + 1 from z^l (l ≥ 1; its activation is the next layer's input) or
    /// from x (l = 0): their pre-activations, in order.
    fn layers_from(
        &self,
        theta: &[f64],
        l: usize,
        input: &[f64],
        z_in: Option<&[f64]>,
    ) -> Vec<Vec<f64>> {
        let spec = &self.spec;
        let depth = spec.depth();
        let mut zs: Vec<Vec<f64>> = Vec::new();
        let mut z_prev: Option<Vec<f64>> = z_in.map(<[f64]>::to_vec);
        let mut a = input.to_vec();
        for m in l + 1..=depth + 1 {
            let (n_in, n_out) = (self.widths[m - 1], self.widths[m]);
            let residual = spec.residual.is_some() && m >= 2 && m <= depth;
            let branch = if residual {
                spec.residual_alpha().unwrap()
            } else {
                1.0
            };
            // W = √λ_W θ, b = √λ_b θ_b.
            let (_, lw, lb) = self.table(m);
            let (ws, bs) = (lw.sqrt(), lb.sqrt());
            let mut z = vec![0.0; n_out];
            for (i, zi) in z.iter_mut().enumerate() {
                let row = &theta[self.w_at[m - 1] + i * n_in..self.w_at[m - 1] + (i + 1) * n_in];
                let mut h: f64 = row.iter().zip(&a).map(|(w, v)| w * v).sum::<f64>() * ws;
                if spec.cb > 0.0 {
                    h += bs * theta[self.b_at[m - 1] + i];
                }
                *zi = branch * h
                    + if residual {
                        z_prev.as_ref().unwrap()[i]
                    } else {
                        0.0
                    };
            }
            a = z.iter().map(|&t| act(spec.activation, t)).collect();
            z_prev = Some(z.clone());
            zs.push(z);
        }
        zs
    }

    fn output(&self, theta: &[f64], x: &[f64]) -> f64 {
        self.forward(theta, x).last().unwrap()[0]
    }

    /// ∂f(x)/∂θ by central differences (h = 1e-6).
    fn gradient(&self, theta: &[f64], x: &[f64]) -> Vec<f64> {
        let h = 1e-6;
        let mut t = theta.to_vec();
        (0..theta.len())
            .map(|p| {
                t[p] = theta[p] + h;
                let up = self.output(&t, x);
                t[p] = theta[p] - h;
                let down = self.output(&t, x);
                t[p] = theta[p];
                (up - down) / (2.0 * h)
            })
            .collect()
    }

    fn ntk(&self, theta: &[f64], xs: &[Vec<f64>]) -> Vec<Vec<f64>> {
        let g: Vec<Vec<f64>> = xs.iter().map(|x| self.gradient(theta, x)).collect();
        g.iter()
            .map(|ga| {
                g.iter()
                    .map(|gb| ga.iter().zip(gb).map(|(u, v)| u * v).sum())
                    .collect()
            })
            .collect()
    }
}

/// Everything the engine reports, from the reference: (delta_output, delta_ntk (a ≤ b),
/// feature_change, feature_alignment, weight_change).
fn reference_values(r: &Reference, step: &Step, xs: &[Vec<f64>], seed: u64, net: u64) -> Vec<f64> {
    let depth = r.spec.depth();
    let k = xs.len();
    let theta0 = r.draw(seed, net);
    let mut theta = theta0.clone();
    let f0: Vec<f64> = xs.iter().map(|x| r.output(&theta0, x)).collect();
    let ntk0 = r.ntk(&theta0, xs);
    // The backward pass at the start, ∂L/∂z^l_a = r_a ∂f(x_a)/∂z^l, by differences in z^l: the
    // change of f when z^l is nudged is the change of the output of the layers above.
    let r0: Vec<f64> = (0..k).map(|a| f0[a] - step.target(a)).collect();
    for _ in 0..step.steps {
        let g: Vec<Vec<f64>> = xs.iter().map(|x| r.gradient(&theta, x)).collect();
        let res: Vec<f64> = (0..k)
            .map(|a| r.output(&theta, &xs[a]) - step.target(a))
            .collect();
        for p in 0..theta.len() {
            let grad: f64 = (0..k).map(|a| res[a] * g[a][p]).sum();
            theta[p] -= step.lr * grad;
        }
    }
    let ntk1 = r.ntk(&theta, xs);
    let mut out = Vec::new();
    for a in 0..k {
        out.push(r.output(&theta, &xs[a]) - f0[a]);
    }
    for a in 0..k {
        for b in a..k {
            out.push(ntk1[a][b] - ntk0[a][b]);
        }
    }
    let before: Vec<Vec<Vec<f64>>> = xs.iter().map(|x| r.forward(&theta0, x)).collect();
    let after: Vec<Vec<Vec<f64>>> = xs.iter().map(|x| r.forward(&theta, x)).collect();
    for l in 1..=depth {
        let n = r.widths[l];
        let d2: f64 = (0..n)
            .map(|i| {
                let d = act(r.spec.activation, after[0][l - 1][i])
                    - act(r.spec.activation, before[0][l - 1][i]);
                d * d
            })
            .sum();
        out.push((d2 / n as f64).sqrt());
    }
    for l in 1..=depth {
        // b^l_a = r_a ∂f(x_a)/∂z^l: nudge z^l_i and run the layers above (the reference's own
        // forward from layer l + 1, with the residual stream carried).
        let (mut ub, mut uu, mut bb) = (0.0, 0.0, 0.0);
        for a in 0..k {
            let zl = &before[a][l - 1];
            for i in 0..r.widths[l] {
                let h = 1e-6;
                let mut plus = zl.clone();
                plus[i] += h;
                let mut minus = zl.clone();
                minus[i] -= h;
                let dfdz = (r.output_from(&theta0, l, &plus) - r.output_from(&theta0, l, &minus))
                    / (2.0 * h);
                let b = r0[a] * dfdz;
                let u = before[a][l - 1][i] - after[a][l - 1][i];
                ub += u * b;
                uu += u * u;
                bb += b * b;
            }
        }
        out.push(ub / (uu * bb).sqrt());
    }
    // W^l = √λ_W θ^l with λ_W fixed per layer: the ratio of θ^l's norms is W^l's.
    for l in 1..=depth + 1 {
        let block = r.w_at[l - 1]..r.w_at[l - 1] + r.widths[l - 1] * r.widths[l];
        let (mut dd, mut ww) = (0.0, 0.0);
        for p in block {
            dd += (theta[p] - theta0[p]) * (theta[p] - theta0[p]);
            ww += theta0[p] * theta0[p];
        }
        out.push((dd / ww).sqrt());
    }
    out
}

impl Reference {
    /// f given z^l (the layers l + 1..L + 1 only).
    fn output_from(&self, theta: &[f64], l: usize, zl: &[f64]) -> f64 {
        let a: Vec<f64> = zl.iter().map(|&t| act(self.spec.activation, t)).collect();
        self.layers_from(theta, l, &a, Some(zl)).last().unwrap()[0]
    }
}

fn training_observe() -> Observe {
    Observe::NONE
        .with(Family::DeltaOutput)
        .with(Family::DeltaNtk)
        .with(Family::FeatureChange)
        .with(Family::FeatureAlignment)
        .with(Family::WeightChange)
}

fn engine_rows(p: &Problem, nets: usize) -> (usize, Vec<f64>) {
    let mut e = StepCpu::new(p).unwrap();
    let d = e.n_values();
    let mut out = vec![0.0; nets * d];
    e.sample_batch(0, nets, &mut out).unwrap();
    (d, out)
}

/// Six networks each of: tanh with biases (ntk), ReLU residual (1/√L) with biases (ntk), tanh
/// with biases in the standard parameterization, two steps with targets, μP with biases and
/// depth-μP (residual 1/√L); every value of the
/// engine against the finite-difference reference. The reference's gradients err by O(h²) ≈
/// 1e-12 relative (smooth nets; ReLU's kinks are not crossed by h = 1e-6 except with
/// probability ~1e-6 per unit) and its NTK by the same; after a step of η = 0.05 the changes are
/// 1e-3..1 in size. Tolerance: 1e-6 relative to the larger of the value and 1e-3 of the NTK's
/// scale; a wrong factor (α, s, √C_b, the parameterization's) changes these by O(1).
#[test]
fn every_step_value_matches_the_finite_difference_reference() {
    let cases = vec![
        (
            NetworkSpec::builder(3, vec![5, 4])
                .activation(Activation::Tanh)
                .cb(0.2)
                .build()
                .unwrap(),
            Step {
                lr: 0.05,
                steps: 1,
                targets: vec![],
            },
        ),
        (
            NetworkSpec::builder(3, vec![6, 6, 6])
                .activation(Activation::Relu)
                .cb(0.1)
                .residual(Residual::InvSqrtDepth)
                .build()
                .unwrap(),
            Step {
                lr: 0.05,
                steps: 1,
                targets: vec![],
            },
        ),
        (
            NetworkSpec::builder(3, vec![5, 4])
                .activation(Activation::Tanh)
                .cb(0.3)
                .parameterization(Parameterization::Standard)
                .build()
                .unwrap(),
            Step {
                lr: 0.02,
                steps: 1,
                targets: vec![],
            },
        ),
        (
            NetworkSpec::builder(4, vec![5, 5])
                .activation(Activation::Tanh)
                .build()
                .unwrap(),
            Step {
                lr: 0.1,
                steps: 2,
                targets: vec![0.5, -1.0],
            },
        ),
        (
            NetworkSpec::builder(3, vec![6, 5])
                .activation(Activation::Tanh)
                .cb(0.2)
                .parameterization(Parameterization::Mup)
                .build()
                .unwrap(),
            Step {
                lr: 0.02,
                steps: 2,
                targets: vec![0.3, 0.1],
            },
        ),
        (
            NetworkSpec::builder(3, vec![5, 5, 5])
                .activation(Activation::Tanh)
                .residual(Residual::InvSqrtDepth)
                .parameterization(Parameterization::DepthMup)
                .build()
                .unwrap(),
            Step {
                lr: 0.02,
                steps: 1,
                targets: vec![],
            },
        ),
        (
            NetworkSpec::builder(3, vec![5, 5, 5, 5])
                .activation(Activation::Relu)
                .cb(0.3)
                .residual(Residual::InvDepth)
                .parameterization(Parameterization::CompleteP)
                .build()
                .unwrap(),
            Step {
                lr: 0.02,
                steps: 2,
                targets: vec![1.0, -0.5],
            },
        ),
    ];
    let xs = vec![vec![0.9, -0.4, 1.3], vec![-0.2, 1.1, 0.5]];
    for (mut spec, step) in cases {
        let inputs: Vec<Vec<f64>> = xs
            .iter()
            .map(|x| {
                let mut x = x.clone();
                x.resize(spec.input_dim, 0.7);
                x
            })
            .collect();
        spec.step = Some(step.clone());
        let p = Problem {
            spec: spec.clone(),
            inputs: inputs.clone(),
            observe: training_observe(),
            seed: 4,
        };
        let names = p.names();
        let (d, rows) = engine_rows(&p, 6);
        let r = Reference::new(&spec);
        let mut compared = 0;
        for (net, row) in rows.chunks_exact(d).enumerate() {
            let want = reference_values(&r, &step, &inputs, 4, net as u64);
            assert_eq!(want.len(), d);
            for j in 0..d {
                let tol = 1e-6 * want[j].abs().max(1e-3);
                assert!(
                    (row[j] - want[j]).abs() <= tol,
                    "{spec:?} network {net} {}: engine {} reference {}",
                    names[j],
                    row[j],
                    want[j]
                );
                compared += 1;
            }
        }
        assert!(compared >= 6 * 8);
    }
}

/// delta_output[a] / η → −Σ_b Θ_ab (f(x_b) − y_b) as η → 0, network by network, with f and Θ
/// from the dense engine (independent code) on the same networks: at η = 1e-7 the second-order
/// term is ~1e-7 relative; tolerance 1e-5 relative to the first-order value's scale. ReLU, width
/// 32, depth 4, three inputs, 50 networks, `ntk`, `standard` and `mup`.
#[test]
fn delta_output_is_minus_eta_theta_r_to_first_order() {
    for par in [
        Parameterization::Ntk,
        Parameterization::Standard,
        Parameterization::Mup,
    ] {
        let mut spec = NetworkSpec::builder(8, vec![32; 4])
            .cb(0.1)
            .parameterization(par)
            .build()
            .unwrap();
        let lr = 1e-7;
        let targets = vec![0.3, -0.2, 1.0];
        spec.step = Some(Step {
            lr,
            steps: 1,
            targets: targets.clone(),
        });
        let inputs: Vec<Vec<f64>> = (0..3)
            .map(|a| (0..8).map(|j| ((a * 8 + j) as f64 * 0.37).sin()).collect())
            .collect();
        let base = Problem {
            spec: spec.clone(),
            inputs: inputs.clone(),
            observe: Observe::NONE.with(Family::Output).with(Family::Ntk),
            seed: 11,
        };
        let stepped = Problem {
            observe: Observe::NONE.with(Family::DeltaOutput),
            ..base.clone()
        };
        let nets = 50;
        let mut dense = CpuDense::new(&base).unwrap();
        let d = dense.n_values();
        let mut init = vec![0.0; nets * d];
        dense.sample_batch(0, nets, &mut init).unwrap();
        let (ds, delta) = engine_rows(&stepped, nets);
        for net in 0..nets {
            let row = &init[net * d..(net + 1) * d];
            let f = &row[..3];
            // ntk[a,b], a ≤ b, after the 3 outputs.
            let mut theta = [[0.0; 3]; 3];
            let mut at = 3;
            for a in 0..3 {
                for b in a..3 {
                    theta[a][b] = row[at];
                    theta[b][a] = row[at];
                    at += 1;
                }
            }
            for a in 0..3 {
                let first: f64 = -(0..3)
                    .map(|b| theta[a][b] * (f[b] - targets[b]))
                    .sum::<f64>();
                let scale: f64 = (0..3)
                    .map(|b| (theta[a][b] * (f[b] - targets[b])).abs())
                    .sum();
                let got = delta[net * ds + a] / lr;
                assert!(
                    (got - first).abs() <= 1e-5 * scale,
                    "{par:?} network {net} a={a}: delta_output/η = {got}, −Θr = {first}"
                );
            }
        }
    }
}

/// The steps are a pure function of the stream: the same values whatever the batch split.
#[test]
fn step_values_do_not_depend_on_batches() {
    let mut spec = NetworkSpec::builder(4, vec![16; 3]).build().unwrap();
    spec.step = Some(Step {
        lr: 0.05,
        steps: 2,
        targets: vec![],
    });
    let p = Problem {
        spec,
        inputs: vec![vec![1.0, 0.5, -0.5, 0.2], vec![0.1, -1.0, 0.3, 0.8]],
        observe: training_observe(),
        seed: 3,
    };
    let (d, all) = engine_rows(&p, 20);
    let mut e = StepCpu::new(&p).unwrap();
    let mut part = vec![0.0; 7 * d];
    e.sample_batch(13, 7, &mut part).unwrap();
    assert_eq!(
        all[13 * d..]
            .iter()
            .map(|v| v.to_bits())
            .collect::<Vec<_>>(),
        part.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
    );
}

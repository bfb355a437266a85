//! `singular_values:K` of the dense engine against independent computations: the gradient norm by
//! central differences of the network's own outputs (n_out = 1: the one singular value is
//! ‖∇f(x)‖), and the bound ‖J u‖ ≤ σ_1 for the engine's unit direction u.

use randnet_problem::{Activation, Family, NetworkSpec, Observe};
use randnet_sampler::{BatchSampler, CpuDense, Problem};

fn values(p: &Problem, nets: usize) -> (Vec<String>, Vec<f64>) {
    let mut e = CpuDense::new(p).unwrap();
    let d = e.n_values();
    let mut out = vec![0.0; nets * d];
    e.sample_batch(0, nets, &mut out).unwrap();
    (p.names(), out)
}

/// tanh, n0 = 3, L = 3, n_out = 1: singular_value[0,1] = ‖∇f(x_0)‖, with ∇f by central
/// differences (h = 1e-5) of output at x_0 ± h e_j, which the engine draws on the same network.
/// Smooth activation: the difference quotient errs by O(h²) ~ 1e-10 relative; tolerance 1e-7.
#[test]
fn one_singular_value_is_the_gradient_norm() {
    let spec = NetworkSpec::builder(3, vec![6, 6, 6])
        .activation(Activation::Tanh)
        .cb(0.1)
        .build()
        .unwrap();
    let x0 = vec![0.7, -1.1, 0.4];
    let h = 1e-5;
    let mut inputs = vec![x0.clone()];
    for j in 0..3 {
        for sign in [1.0, -1.0] {
            let mut x = x0.clone();
            x[j] += sign * h;
            inputs.push(x);
        }
    }
    let p = Problem {
        spec,
        inputs,
        observe: Observe::NONE
            .with(Family::Output)
            .with_count(Family::SingularValues, 1),
        seed: 9,
    };
    let (names, out) = values(&p, 200);
    let d = names.len();
    let sv = names
        .iter()
        .position(|n| n == "singular_value[0,1]")
        .unwrap();
    for row in out.chunks_exact(d) {
        let grad2: f64 = (0..3)
            .map(|j| {
                let g = (row[1 + 2 * j] - row[2 + 2 * j]) / (2.0 * h);
                g * g
            })
            .sum();
        let want = grad2.sqrt();
        assert!(
            (row[sv] - want).abs() <= 1e-7 * want.max(1e-3),
            "{} vs {want}",
            row[sv]
        );
    }
}

/// relu, n0 = 4, n_out = 3, all three singular values: decreasing, non-negative, and the
/// engine's ‖J(x_a) u‖ (u a unit vector) never exceeds σ_1.
#[test]
fn singular_values_bound_the_jacobian_norm() {
    let spec = NetworkSpec::builder(4, vec![8, 8])
        .output_dim(3)
        .build()
        .unwrap();
    let p = Problem {
        spec,
        inputs: vec![vec![1.0, -0.5, 0.2, 0.9], vec![-0.3, 0.8, 1.2, 0.1]],
        observe: Observe::NONE
            .with(Family::JacobianNorm)
            .with_count(Family::SingularValues, 3),
        seed: 4,
    };
    let (names, out) = values(&p, 500);
    let d = names.len();
    let at = |n: &str| names.iter().position(|m| m == n).unwrap();
    for row in out.chunks_exact(d) {
        for a in 0..2 {
            let s: Vec<f64> = (1..=3)
                .map(|i| row[at(&format!("singular_value[{a},{i}]"))])
                .collect();
            assert!(s[0] >= s[1] && s[1] >= s[2] && s[2] >= 0.0, "{s:?}");
            let ju = row[at(&format!("jacobian_norm[{a}]"))];
            assert!(ju <= s[0] * (1.0 + 1e-12) + 1e-300, "{ju} > {}", s[0]);
        }
    }
}

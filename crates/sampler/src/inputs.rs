//! Resolution of an [`InputSpec`] to explicit input vectors.
//!
//! Drawn inputs come from the seed's input stream (docs/rng.md, purpose `Input`, word c0 = the
//! input index, key = the seed itself whatever the networks drawn), so every backend, shard and
//! batch size sees the same inputs.

use crate::philox::key_of_seed;
use crate::stream::{fill_row, tag, Purpose};
use randnet_problem::{InputSpec, WeightLaw};

/// The K input vectors of length `n0` described by `inputs` for this seed.
pub fn resolve_inputs(inputs: &InputSpec, n0: usize, seed: u64) -> Vec<Vec<f64>> {
    match inputs {
        InputSpec::Random { count } => (0..*count)
            .map(|a| {
                let mut x = vec![0.0; n0];
                fill_row(
                    key_of_seed(seed),
                    a as u32,
                    tag(Purpose::Input, 0),
                    0,
                    WeightLaw::Gaussian,
                    &mut x,
                );
                let norm2: f64 = x.iter().map(|v| v * v).sum();
                let scale = (n0 as f64 / norm2).sqrt();
                x.iter_mut().for_each(|v| *v *= scale);
                x
            })
            .collect(),
        InputSpec::Angle { theta } => {
            // Two inputs in the plane of the first two coordinates: rotation invariance of the
            // Gaussian weight law makes the choice of plane immaterial.
            let r = (n0 as f64).sqrt();
            let mut x0 = vec![0.0; n0];
            let mut x1 = vec![0.0; n0];
            x0[0] = r;
            x1[0] = r * theta.cos();
            x1[1] = r * theta.sin();
            vec![x0, x1]
        }
        InputSpec::Explicit { rows } => rows.clone(),
    }
}

/// Layer 0 of a network, column-major `[c * n0 + j]`: the K inputs, then — when Jacobians are
/// observed — K copies of the network's unit direction u (drawn afresh per network
/// from purpose `JacobianDirection`). `key` and `net32` are the network's Philox key and counter
/// word c0 ([`crate::stream::network_stream`]). `u` is scratch space. Every engine starts here,
/// so all draw the same u.
pub fn fill_layer0(
    key: [u32; 2],
    net32: u32,
    inputs: &[Vec<f64>],
    jacobian: bool,
    u: &mut Vec<f64>,
    in0: &mut [f64],
) {
    let k = inputs.len();
    let n0 = inputs[0].len();
    for (a, x) in inputs.iter().enumerate() {
        in0[a * n0..(a + 1) * n0].copy_from_slice(x);
    }
    if jacobian {
        u.resize(n0, 0.0);
        fill_row(
            key,
            net32,
            tag(Purpose::JacobianDirection, 0),
            0,
            WeightLaw::Gaussian,
            u,
        );
        let norm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        for a in 0..k {
            for j in 0..n0 {
                in0[(k + a) * n0 + j] = u[j] / norm;
            }
        }
    }
}

/// The `lyapunov:F` frame Q^0 into `frame` (F column-major columns of length n0): F Gaussian rows
/// of stream purpose 7 (docs/rng.md), orthonormalized by Gram–Schmidt (a Haar-distributed frame).
/// Returns the rank reached (F unless the draw is degenerate).
pub fn fill_lyapunov_frame(
    key: [u32; 2],
    net32: u32,
    n0: usize,
    f: usize,
    frame: &mut [f64],
) -> usize {
    for (j, col) in frame[..f * n0].chunks_exact_mut(n0).enumerate() {
        fill_row(
            key,
            net32,
            tag(Purpose::LyapunovFrame, 0),
            j as u32,
            WeightLaw::Gaussian,
            col,
        );
    }
    crate::linalg::gram_schmidt(frame, n0, f, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_inputs_have_norm_n0_and_depend_on_seed() {
        let a = resolve_inputs(&InputSpec::Random { count: 3 }, 16, 5);
        let b = resolve_inputs(&InputSpec::Random { count: 3 }, 16, 6);
        for x in &a {
            let n2: f64 = x.iter().map(|v| v * v).sum();
            assert!((n2 - 16.0).abs() < 1e-12);
        }
        assert_ne!(a, b);
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn angle_inputs_have_the_angle() {
        let x = resolve_inputs(&InputSpec::Angle { theta: 0.7 }, 5, 0);
        let dot: f64 = x[0].iter().zip(&x[1]).map(|(a, b)| a * b).sum();
        assert!((dot / 5.0 - 0.7f64.cos()).abs() < 1e-15);
    }
}

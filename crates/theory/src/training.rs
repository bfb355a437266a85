//! What gradient steps do at infinite width (docs/training.md, "Theory"): in the `ntk`
//! parameterization an infinitely wide net trains as its linearization around initialization
//! (Jacot, Gabriel & Hongler 2018, arXiv 1806.07572; Lee et al. 2019, arXiv 1902.06720), so the
//! NTK and the hidden features do not move, and T full-batch gradient-descent steps on
//! ½ Σ_a (f(x_a) − y_a)² with learning rate η change the outputs by
//!
//!   Δf = ((I − η Θ)^T − I)(f_0 − y),   f_0 ~ N(0, K),
//!
//! with Θ and K the readout's infinite-width NTK and NNGP kernels on the K inputs: Δf is Gaussian
//! with mean −A y and covariance A K Aᵀ, A = (I − ηΘ)^T − I. For T = 1 this is the first-order
//! identity Δf = −η Θ r of every width, with Θ at its infinite-width value. Finite-width
//! corrections (Hanin & Nica 2019, arXiv 1909.05989: E[ΔΘ]/E[Θ] grows like exp(5L/n)/n) are what
//! randnet measures against these values; they are labelled infinite-width — exact only with
//! no hidden layer, where the net is linear in its parameters.

use crate::{cached_kernels, from_cumulants, Kind, Prediction};
use randnet_problem::{NetworkSpec, Observable, Parameterization};

/// The infinite-width value of a training observable, if there is one: `ntk` parameterization
/// only (in `standard` the NTK grows with the width, so a fixed η has no infinite-width limit).
pub fn predict(
    spec: &NetworkSpec,
    xs: &[Vec<f64>],
    observable: Observable,
    statistic: &str,
) -> Option<Prediction> {
    let step = spec.step.as_ref()?;
    if spec.parameterization != Parameterization::Ntk {
        return None;
    }
    // With no hidden layer (L = 0) the net is linear in its parameters: Θ is constant, the
    // linearized dynamics are the dynamics at every width, and with Gaussian weights f_0 is
    // exactly N(0, K). The laws below are then exact.
    let kind = if spec.depth() == 0 && spec.weights == randnet_problem::WeightLaw::Gaussian {
        Kind::Exact
    } else {
        Kind::InfiniteWidth
    };
    let zero = || {
        let kap = [0.0; crate::exact::MAXK + 1];
        from_cumulants(&kap, statistic, kind)
    };
    match observable {
        // The lazy regime: the kernel and the features stay at initialization.
        Observable::DeltaNtk(..) | Observable::FeatureChange(_) => zero(),
        Observable::DeltaOutput(a) => {
            let kern = cached_kernels(spec, xs);
            let (theta, nngp) = (kern.readout_ntk(), kern.readout_nngp());
            let k = xs.len();
            let a_mat = step_response(theta, step.lr, step.steps);
            let y: Vec<f64> = (0..k).map(|b| step.target(b)).collect();
            let mean = -(0..k).map(|b| a_mat[a][b] * y[b]).sum::<f64>();
            let mut var = 0.0;
            for b in 0..k {
                for c in 0..k {
                    var += a_mat[a][b] * nngp[b][c] * a_mat[a][c];
                }
            }
            let mut kap = [0.0; crate::exact::MAXK + 1];
            kap[1] = mean;
            kap[2] = var;
            if !(mean.is_finite() && var.is_finite()) {
                return None;
            }
            from_cumulants(&kap, statistic, kind)
        }
        _ => None,
    }
}

/// A = (I − η Θ)^T − I.
fn step_response(theta: &[Vec<f64>], lr: f64, steps: usize) -> Vec<Vec<f64>> {
    let k = theta.len();
    let m: Vec<Vec<f64>> = (0..k)
        .map(|a| {
            (0..k)
                .map(|b| f64::from(u8::from(a == b)) - lr * theta[a][b])
                .collect()
        })
        .collect();
    let mut power: Vec<Vec<f64>> = (0..k)
        .map(|a| (0..k).map(|b| f64::from(u8::from(a == b))).collect())
        .collect();
    for _ in 0..steps {
        power = (0..k)
            .map(|a| {
                (0..k)
                    .map(|b| (0..k).map(|c| power[a][c] * m[c][b]).sum())
                    .collect()
            })
            .collect();
    }
    for (a, row) in power.iter_mut().enumerate() {
        row[a] -= 1.0;
    }
    power
}

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
        // The relative change of a layer's weights is O(η/√n) at L ≥ 1; with no hidden layer the
        // readout's weights move by O(η) at every width, which is no limit law.
        Observable::WeightChange(_) if spec.depth() >= 1 => from_cumulants(
            &[0.0; crate::exact::MAXK + 1],
            statistic,
            Kind::InfiniteWidth,
        ),
        Observable::WeightChange(_) => None,
        Observable::FeatureAlignment(l) => feature_alignment(spec, xs, step, l, statistic),
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

/// The backward-feature angle of a zero-bias ReLU MLP at infinite width, to first order in η
/// (one step, one input): cos θ_ℓ = ℓ / √(Σ_{i,j=0}^{ℓ−1} (1 + 2 min(i, j)))
/// = 1/√(1 + (ℓ−1)(2ℓ−1)/(3ℓ)) → √(3/(2ℓ)), Chizat & Netrapalli's Θ(1/√ℓ) with its constant
/// (docs/training.md, "Theory", for the argument). The first-order update of z^ℓ is
/// −η K_ℓ b with K_ℓ = Σ_{k≤ℓ} s_k² ‖a^{k−1}‖² M_k M_kᵀ, M_k = ∂z^ℓ/∂z^k over i = ℓ − k layers;
/// at criticality every s_k² ‖a^{k−1}‖² is the same constant, ⟨M_k M_kᵀ b, b⟩ = ‖b‖², and each
/// layer adds an independent part of norm² 2‖b‖² to M_k M_kᵀ b (for one layer:
/// s⁴ ‖W D Wᵀ b‖² = (1/4 + 1/2)·4 ‖b‖² = 3‖b‖²), so ⟨M_i M_iᵀ b, M_j M_jᵀ b⟩ = (1 + 2 min(i, j))‖b‖².
/// The mean only (the angle concentrates); kind leading-order (first order in 1/n and η).
fn feature_alignment(
    spec: &NetworkSpec,
    xs: &[Vec<f64>],
    step: &randnet_problem::Step,
    l: usize,
    statistic: &str,
) -> Option<Prediction> {
    let ok = spec.activation == randnet_problem::Activation::Relu
        && spec.weights == randnet_problem::WeightLaw::Gaussian
        && spec.cb == 0.0
        && spec.residual.is_none()
        && (spec.cw - 2.0).abs() < 1e-12
        && xs.len() == 1
        && step.steps == 1;
    if !ok || statistic != "mean" {
        return None;
    }
    let l = l as f64;
    let cos = 1.0 / (1.0 + (l - 1.0) * (2.0 * l - 1.0) / (3.0 * l)).sqrt();
    Prediction::new(cos, Kind::LeadingOrder)
}

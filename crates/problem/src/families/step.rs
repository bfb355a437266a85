//! What one or a few gradient-descent steps do (`--step-lr ETA`, `--steps T`; docs/training.md):
//! the change of the output and of the NTK, and how the hidden features move.

use super::{copy, FamilyDef};
use crate::layout::Primitive;
use crate::{Family, Observable};

/// f_after(x_a) − f_before(x_a) of readout unit 0.
pub const DELTA_OUTPUT: FamilyDef = FamilyDef {
    family: Family::DeltaOutput,
    token: "delta_output",
    aliases: &[],
    name: "delta_output",
    help: "delta_output[a] = f_after(x_a) - f_before(x_a) over the --steps gradient steps",
    primitive: Primitive::DeltaOutput,
    values: |s| (0..s.inputs).map(Observable::DeltaOutput).collect(),
    count: None,
    reduce: copy,
    undefined: None,
    positive: |_| false,
};

/// Θ_after(x_a, x_b) − Θ_before(x_a, x_b), a ≤ b.
pub const DELTA_NTK: FamilyDef = FamilyDef {
    family: Family::DeltaNtk,
    token: "delta_ntk",
    aliases: &[],
    name: "delta_ntk",
    help: "delta_ntk[a,b] = Θ_after(x_a, x_b) - Θ_before(x_a, x_b), a <= b",
    primitive: Primitive::DeltaNtk,
    values: |s| {
        let k = s.inputs;
        (0..k)
            .flat_map(|a| (a..k).map(move |b| Observable::DeltaNtk(a, b)))
            .collect()
    },
    count: None,
    reduce: copy,
    undefined: None,
    positive: |_| false,
};

/// ‖σ(z^l)_after(x_0) − σ(z^l)_before(x_0)‖ / √n_l: what a coordinate check plots.
pub const FEATURE_CHANGE: FamilyDef = FamilyDef {
    family: Family::FeatureChange,
    token: "feature_change",
    aliases: &[],
    name: "feature_change",
    help: "feature_change[l] = |σ(z^l)_after(x_0) - σ(z^l)_before(x_0)| / sqrt(n_l), hidden layers l = 1..L",
    primitive: Primitive::FeatureChange,
    values: |s| (1..=s.depth).map(Observable::FeatureChange).collect(),
    count: None,
    reduce: copy,
    undefined: None,
    positive: |_| true,
};

/// cos θ_l = ⟨−δz^l, b^l⟩ / (‖δz^l‖ ‖b^l‖) over the K inputs, b^l = ∂L/∂z^l before the step.
pub const FEATURE_ALIGNMENT: FamilyDef = FamilyDef {
    family: Family::FeatureAlignment,
    token: "feature_alignment",
    aliases: &[],
    name: "feature_alignment",
    help: "feature_alignment[l] = cos of the angle between the feature update -δz^l and the backward pass dL/dz^l (Chizat & Netrapalli), l = 1..L",
    primitive: Primitive::FeatureAlignment,
    values: |s| (1..=s.depth).map(Observable::FeatureAlignment).collect(),
    count: None,
    reduce: copy,
    undefined: Some("the backward pass or the feature update at that layer is zero (the loss is already 0, or the layer is dead)"),
    positive: |_| false,
};

/// ‖W^l_after − W^l_before‖_F / ‖W^l_before‖_F: how far a layer's weights move relative to their
/// size — Θ(1/√L) per residual block under depth-μP, Θ(1) under CompleteP (docs/training.md).
pub const WEIGHT_CHANGE: FamilyDef = FamilyDef {
    family: Family::WeightChange,
    token: "weight_change",
    aliases: &[],
    name: "weight_change",
    help: "weight_change[l] = |W^l_after - W^l_before|_F / |W^l_before|_F, layers l = 1..L+1 (the readout is L+1)",
    primitive: Primitive::WeightChange,
    values: |s| (1..=s.depth + 1).map(Observable::WeightChange).collect(),
    count: None,
    reduce: copy,
    undefined: None,
    positive: |_| true,
};

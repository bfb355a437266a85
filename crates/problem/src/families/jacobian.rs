use super::{always, copy, per_input, FamilyDef};
use crate::layout::Primitive;
use crate::{Family, Observable};

/// ‖J(x_a) u‖ over all readout units, u the network's drawn unit direction (docs/rng.md).
pub const JACOBIAN_NORM: FamilyDef = FamilyDef {
    family: Family::JacobianNorm,
    token: "jacobian",
    aliases: &["jacobian_norm"],
    name: "jacobian_norm",
    help: "jacobian_norm[a] = |J(x_a) u|, u a random unit direction",
    primitive: Primitive::JacobianNorm,
    values: |s| per_input(s.inputs, Observable::JacobianNorm),
    count: None,
    reduce: copy,
    undefined: None,
    positive: always,
};

use super::{copy, never, per_input, FamilyDef};
use crate::layout::Primitive;
use crate::{Family, Observable};

/// f(x_a), readout unit 0 (docs/engines.md, "Dense").
pub const OUTPUT: FamilyDef = FamilyDef {
    family: Family::Output,
    token: "output",
    aliases: &[],
    name: "output",
    help: "output[a] = f(x_a), readout unit 0; pairs output[a,b] get joint_kappa4",
    primitive: Primitive::Output,
    values: |s| per_input(s.inputs, Observable::Output),
    count: None,
    reduce: copy,
    undefined: None,
    positive: never,
};

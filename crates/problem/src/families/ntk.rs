use super::{copy, FamilyDef};
use crate::layout::Primitive;
use crate::{Family, Observable};

/// Θ(x_a, x_b) of readout unit 0, a ≤ b.
pub const NTK: FamilyDef = FamilyDef {
    family: Family::Ntk,
    token: "ntk",
    aliases: &[],
    name: "ntk",
    help: "ntk[a,b] = Θ(x_a, x_b) of readout unit 0, a <= b",
    primitive: Primitive::Ntk,
    values: |s| {
        let k = s.inputs;
        (0..k)
            .flat_map(|a| (a..k).map(move |b| Observable::Ntk(a, b)))
            .collect()
    },
    count: None,
    reduce: copy,
    undefined: None,
    positive: |o| matches!(o, Observable::Ntk(a, b) if a == b),
};

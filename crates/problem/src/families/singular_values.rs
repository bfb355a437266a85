use super::{always, copy, FamilyDef};
use crate::layout::Primitive;
use crate::{Family, Observable};

/// `singular_values:K`: singular_value[a,i], the i-th largest singular value (i = 1..K) of the
/// input–output Jacobian J(x_a) (n_out × n0) of each input a (docs/engines.md, "Singular
/// values").
pub const SINGULAR_VALUES: FamilyDef = FamilyDef {
    family: Family::SingularValues,
    token: "singular_values",
    aliases: &["singular_value"],
    name: "singular_value",
    help: "singular_values:K gives singular_value[a,i], i = 1..K: the K largest singular values of J(x_a)",
    primitive: Primitive::SingularValues,
    values: |s| {
        let k = s.count;
        (0..s.inputs)
            .flat_map(|a| (1..=k).map(move |i| Observable::SingularValue(a, i)))
            .collect()
    },
    count: Some("K"),
    reduce: copy,
    undefined: None,
    positive: always,
};

use super::{always, copy, FamilyDef};
use crate::layout::Primitive;
use crate::{Family, Observable};

/// ‖z^l(x_a)‖² / n_l for layers l = 1..L+1 (layer-major).
pub const SQNORM: FamilyDef = FamilyDef {
    family: Family::Sqnorm,
    token: "sqnorm",
    aliases: &[],
    name: "sqnorm",
    help: "sqnorm[l,a] = |z^l(x_a)|^2 / n_l, layers l = 1..L+1",
    primitive: Primitive::Sqnorm,
    values: |s| {
        let k = s.inputs;
        (1..=s.depth + 1)
            .flat_map(|l| (0..k).map(move |a| Observable::Sqnorm(l, a)))
            .collect()
    },
    count: None,
    reduce: copy,
    undefined: None,
    positive: always,
};

//! The geometry families (docs/geometry.md): one value per network each, along the curve γ of
//! `--curve` or over the triangle of the first three inputs.

use super::{always, copy, FamilyDef};
use crate::layout::Primitive;
use crate::{Family, Observable};

pub const LENGTH_DISTORTION: FamilyDef = FamilyDef {
    family: Family::LengthDistortion,
    token: "length_distortion",
    aliases: &[],
    name: "length_distortion",
    help: "length_distortion = length(f(γ)) / length(γ)",
    primitive: Primitive::LengthDistortion,
    values: |_| vec![Observable::LengthDistortion],
    count: None,
    reduce: copy,
    undefined: None,
    positive: always,
};

pub const REGIONS: FamilyDef = FamilyDef {
    family: Family::Regions,
    token: "regions",
    aliases: &[],
    name: "regions",
    help: "regions = linear pieces of f along γ (piecewise-linear activations)",
    primitive: Primitive::Regions,
    values: |_| vec![Observable::Regions],
    count: None,
    reduce: copy,
    undefined: None,
    positive: always,
};

pub const PATTERNS: FamilyDef = FamilyDef {
    family: Family::Patterns,
    token: "patterns",
    aliases: &[],
    name: "patterns",
    help: "patterns = distinct activation patterns over the triangle x_0, x_1, x_2",
    primitive: Primitive::Patterns,
    values: |_| vec![Observable::Patterns],
    count: None,
    reduce: copy,
    undefined: None,
    positive: always,
};

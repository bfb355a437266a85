//! The registry of observable families: for each `--observe` token, its help text, the names of
//! its values, the engine primitive it is computed from and how its values reduce from that
//! primitive. Everything that lists observables (parsing, help, value layouts, reports, engines'
//! planning) reads this table.
//!
//! Adding an observable: a file here with its [`FamilyDef`], a line in [`FAMILIES`], its variants
//! in [`crate::Family`]/[`crate::Observable`], a theory arm, a row in the docs
//! (docs/architecture.md, "Adding an observable").

mod geometry;
mod jacobian;
mod log_jacobian;
mod lyapunov;
mod ntk;
mod output;
mod singular_values;
mod sqnorm;
mod step;

use crate::layout::{Primitive, Shape};
use crate::{Family, Observable};

/// One family of observables.
#[derive(Debug)]
pub struct FamilyDef {
    pub family: Family,
    /// The `--observe` token, also the family's key in result files.
    pub token: &'static str,
    /// Other tokens accepted by `--observe`.
    pub aliases: &'static [&'static str],
    /// The name of its values (`jacobian_norm` in `jacobian_norm[0]`).
    pub name: &'static str,
    /// One line for `--help` and docs.
    pub help: &'static str,
    /// The engine primitive its values are computed from.
    pub primitive: Primitive,
    /// Its values in output order; as many as the primitive has, in the primitive's order.
    pub values: fn(&Shape) -> Vec<Observable>,
    /// The name of its count parameter (`lyapunov:K`: `--observe` takes `token:K`, K ≥ 1), if
    /// it has one.
    pub count: Option<&'static str>,
    /// Writes its values from the primitive's (`out.len() == primitive.len()`). A value that does
    /// not exist for a network (see `undefined`) is written as NaN.
    pub reduce: fn(primitive: &[f64], out: &mut [f64]),
    /// Why a network may have no value (then such networks are counted, and estimates are
    /// conditional on the value existing); `None` when every network has one.
    pub undefined: Option<&'static str>,
    /// True for values whose mean is positive by construction (their relative variance is
    /// reported).
    pub positive: fn(&Observable) -> bool,
}

/// Every family, in output order (that of [`Family`]'s variants).
pub const FAMILIES: &[FamilyDef] = &[
    output::OUTPUT,
    ntk::NTK,
    sqnorm::SQNORM,
    jacobian::JACOBIAN_NORM,
    log_jacobian::LOG_JACOBIAN_NORM,
    lyapunov::LYAPUNOV,
    singular_values::SINGULAR_VALUES,
    geometry::LENGTH_DISTORTION,
    geometry::REGIONS,
    geometry::PATTERNS,
    step::DELTA_OUTPUT,
    step::DELTA_NTK,
    step::FEATURE_CHANGE,
    step::FEATURE_ALIGNMENT,
    step::WEIGHT_CHANGE,
];

/// The definition of `family`.
pub fn def(family: Family) -> &'static FamilyDef {
    FAMILIES
        .iter()
        .find(|d| d.family == family)
        .expect("every family is registered")
}

/// The `--observe` tokens, comma-separated (for help and error messages).
pub fn tokens() -> String {
    FAMILIES
        .iter()
        .map(|d| d.token)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `reduce` of families whose values are the primitive's.
pub(crate) fn copy(primitive: &[f64], out: &mut [f64]) {
    out.copy_from_slice(primitive);
}

pub(crate) fn always(_: &Observable) -> bool {
    true
}

pub(crate) fn never(_: &Observable) -> bool {
    false
}

/// One value per input: `make(a)`, a = 0..k.
pub(crate) fn per_input(k: usize, make: fn(usize) -> Observable) -> Vec<Observable> {
    (0..k).map(make).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_in_family_order_and_consistent() {
        for (i, d) in FAMILIES.iter().enumerate() {
            assert_eq!(d.family as usize, i, "{} out of order", d.token);
            for (depth, inputs, count) in [(0, 1, 1), (3, 2, 2), (5, 4, 3)] {
                let shape = Shape {
                    depth,
                    inputs,
                    count,
                };
                let values = (d.values)(&shape);
                assert_eq!(values.len(), d.primitive.len(&shape), "{}", d.token);
                for v in values {
                    assert_eq!(v.family(), d.family);
                    assert_eq!(v.to_string().parse::<Observable>().unwrap(), v);
                }
            }
        }
    }
}

use super::{never, per_input, FamilyDef};
use crate::layout::Primitive;
use crate::{Family, Observable};

/// ln ‖J(x_a) u‖. A network whose J(x_a) u is 0 (a layer with no active unit on the path: a dead
/// layer) has no logarithm: it is counted, and the estimates are conditional on J(x_a) u ≠ 0.
pub const LOG_JACOBIAN_NORM: FamilyDef = FamilyDef {
    family: Family::LogJacobianNorm,
    token: "log_jacobian",
    aliases: &["log_jacobian_norm"],
    name: "log_jacobian_norm",
    help: "log_jacobian_norm[a] = ln|J(x_a) u| (networks with J(x_a) u = 0 counted apart)",
    primitive: Primitive::JacobianNorm,
    values: |s| per_input(s.inputs, Observable::LogJacobianNorm),
    count: None,
    reduce: |norms, out| {
        for (o, &j) in out.iter_mut().zip(norms) {
            *o = if j > 0.0 { j.ln() } else { f64::NAN };
        }
    },
    undefined: Some("J(x_a) u = 0: a dead layer"),
    positive: never,
};

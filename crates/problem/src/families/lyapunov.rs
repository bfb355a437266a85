use super::{copy, FamilyDef};
use crate::layout::Primitive;
use crate::{Family, Observable};

/// `lyapunov:K`: lyapunov[i] = (1/L) Σ_{l=1}^{L} ln R^l_ii, i = 1..K, from the QR iteration
/// D_l W^l Q^{l−1} = Q^l R^l of a K-frame Q^0 drawn from the stream through the hidden layers'
/// Jacobian at the first input x_0 (docs/engines.md, "Lyapunov exponents"). A network whose
/// frame loses rank at column i (R^l_ii = 0: fewer than i active units) has no lyapunov[j],
/// j ≥ i: it is counted, and those estimates are conditional on the rank surviving.
pub const LYAPUNOV: FamilyDef = FamilyDef {
    family: Family::Lyapunov,
    token: "lyapunov",
    aliases: &[],
    name: "lyapunov",
    help: "lyapunov:K gives lyapunov[i], i = 1..K: finite-depth Lyapunov exponents of the hidden-layer Jacobian at x_0",
    primitive: Primitive::Lyapunov,
    values: |s| (1..=s.count).map(Observable::Lyapunov).collect(),
    count: Some("K"),
    reduce: copy,
    undefined: Some("a rank drop: fewer than i independent directions survive a layer"),
    positive: |_| false,
};

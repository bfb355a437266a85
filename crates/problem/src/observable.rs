//! The typed identity of observables: [`Family`] (one `--observe` token) and [`Observable`] (one
//! value of a family, e.g. `ntk[0,1]`). Their names are written and parsed here only, from the
//! registry's definitions ([`crate::families`]).

use crate::families::{def, FAMILIES};
use crate::SpecError;
use std::fmt;
use std::str::FromStr;

/// A family of observables: what one `--observe` token requests. The order of the variants is
/// the order of the values in every output (and of [`crate::families::FAMILIES`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    Output,
    Ntk,
    Sqnorm,
    JacobianNorm,
    LogJacobianNorm,
    Lyapunov,
    SingularValues,
    LengthDistortion,
    Regions,
    Patterns,
    DeltaOutput,
    DeltaNtk,
    FeatureChange,
    FeatureAlignment,
    WeightChange,
}

/// The identity of one observable value. `Display` writes its name (`output[0]`, `ntk[0,1]`,
/// `sqnorm[2,1]`, `jacobian_norm[0]`, `length_distortion`, …), `FromStr` reads it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Observable {
    /// f(x_a): readout unit 0 at input a.
    Output(usize),
    /// The pair (a, b) of outputs whose joint fourth cumulant is tracked (`output[a,b]`).
    OutputPair(usize, usize),
    /// Θ(x_a, x_b) of readout unit 0.
    Ntk(usize, usize),
    /// ‖z^l(x_a)‖² / n_l, layer l = 1..L+1.
    Sqnorm(usize, usize),
    /// ‖J(x_a) u‖.
    JacobianNorm(usize),
    /// ln ‖J(x_a) u‖, for networks with J(x_a) u ≠ 0.
    LogJacobianNorm(usize),
    /// The i-th finite-depth Lyapunov exponent (1-based, λ_1 the largest) of the hidden layers'
    /// Jacobian product at x_0.
    Lyapunov(usize),
    /// The i-th largest singular value (1-based) of the input–output Jacobian J(x_a).
    SingularValue(usize, usize),
    LengthDistortion,
    Regions,
    Patterns,
    /// f_after(x_a) − f_before(x_a) over `--steps` gradient steps (docs/training.md).
    DeltaOutput(usize),
    /// Θ_after(x_a, x_b) − Θ_before(x_a, x_b), a ≤ b.
    DeltaNtk(usize, usize),
    /// ‖σ(z^l)_after(x_0) − σ(z^l)_before(x_0)‖ / √n_l, hidden layer l = 1..L.
    FeatureChange(usize),
    /// cos θ_l between the pre-activation update −δz^l and the backward pass ∂L/∂z^l over the
    /// K inputs, hidden layer l = 1..L (Chizat & Netrapalli's angle).
    FeatureAlignment(usize),
    /// ‖W^l_after − W^l_before‖_F / ‖W^l_before‖_F, layer l = 1..L+1 (the readout included).
    WeightChange(usize),
}

impl Observable {
    pub fn family(&self) -> Family {
        match self {
            Observable::Output(_) | Observable::OutputPair(..) => Family::Output,
            Observable::Ntk(..) => Family::Ntk,
            Observable::Sqnorm(..) => Family::Sqnorm,
            Observable::JacobianNorm(_) => Family::JacobianNorm,
            Observable::LogJacobianNorm(_) => Family::LogJacobianNorm,
            Observable::Lyapunov(_) => Family::Lyapunov,
            Observable::SingularValue(..) => Family::SingularValues,
            Observable::LengthDistortion => Family::LengthDistortion,
            Observable::Regions => Family::Regions,
            Observable::Patterns => Family::Patterns,
            Observable::DeltaOutput(_) => Family::DeltaOutput,
            Observable::DeltaNtk(..) => Family::DeltaNtk,
            Observable::FeatureChange(_) => Family::FeatureChange,
            Observable::FeatureAlignment(_) => Family::FeatureAlignment,
            Observable::WeightChange(_) => Family::WeightChange,
        }
    }

    /// The indices written between brackets in the name (none for the geometry observables).
    pub fn indices(&self) -> Vec<usize> {
        match *self {
            Observable::Output(a)
            | Observable::JacobianNorm(a)
            | Observable::LogJacobianNorm(a)
            | Observable::Lyapunov(a)
            | Observable::DeltaOutput(a)
            | Observable::FeatureChange(a)
            | Observable::FeatureAlignment(a)
            | Observable::WeightChange(a) => vec![a],
            Observable::OutputPair(a, b)
            | Observable::Ntk(a, b)
            | Observable::Sqnorm(a, b)
            | Observable::SingularValue(a, b)
            | Observable::DeltaNtk(a, b) => {
                vec![a, b]
            }
            Observable::LengthDistortion | Observable::Regions | Observable::Patterns => vec![],
        }
    }

    fn from_parts(family: Family, idx: &[usize]) -> Option<Self> {
        Some(match (family, idx) {
            (Family::Output, [a]) => Observable::Output(*a),
            (Family::Output, [a, b]) => Observable::OutputPair(*a, *b),
            (Family::Ntk, [a, b]) => Observable::Ntk(*a, *b),
            (Family::Sqnorm, [l, a]) => Observable::Sqnorm(*l, *a),
            (Family::JacobianNorm, [a]) => Observable::JacobianNorm(*a),
            (Family::LogJacobianNorm, [a]) => Observable::LogJacobianNorm(*a),
            (Family::Lyapunov, [i]) if *i >= 1 => Observable::Lyapunov(*i),
            (Family::SingularValues, [a, i]) if *i >= 1 => Observable::SingularValue(*a, *i),
            (Family::LengthDistortion, []) => Observable::LengthDistortion,
            (Family::Regions, []) => Observable::Regions,
            (Family::Patterns, []) => Observable::Patterns,
            (Family::DeltaOutput, [a]) => Observable::DeltaOutput(*a),
            (Family::DeltaNtk, [a, b]) => Observable::DeltaNtk(*a, *b),
            (Family::FeatureChange, [l]) if *l >= 1 => Observable::FeatureChange(*l),
            (Family::FeatureAlignment, [l]) if *l >= 1 => Observable::FeatureAlignment(*l),
            (Family::WeightChange, [l]) if *l >= 1 => Observable::WeightChange(*l),
            _ => return None,
        })
    }
}

impl fmt::Display for Observable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(def(self.family()).name)?;
        let idx = self.indices();
        if !idx.is_empty() {
            let idx: Vec<String> = idx.iter().map(usize::to_string).collect();
            write!(f, "[{}]", idx.join(","))?;
        }
        Ok(())
    }
}

impl FromStr for Observable {
    type Err = SpecError;
    /// Reads a name as [`Display`](fmt::Display) writes it (spaces around indices allowed).
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let bad = || SpecError::Invalid(format!("'{s}' is not an observable name"));
        let s = s.trim();
        let (name, idx) = match s.find('[') {
            Some(open) => {
                let inner = s[open + 1..].strip_suffix(']').ok_or_else(bad)?;
                let idx = inner
                    .split(',')
                    .map(|t| t.trim().parse::<usize>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| bad())?;
                (&s[..open], idx)
            }
            None => (s, Vec::new()),
        };
        let family = FAMILIES
            .iter()
            .find(|d| d.name == name)
            .ok_or_else(bad)?
            .family;
        Observable::from_parts(family, &idx).ok_or_else(bad)
    }
}

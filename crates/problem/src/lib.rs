//! The description of what randnet samples: the network architecture and initialization
//! ([`NetworkSpec`]), the inputs ([`InputSpec`]) and the requested observables ([`Observe`]).
//!
//! This crate has no heavy dependencies so that every other crate (engines, theory, the CLI) can
//! share one validated description. Conventions follow docs/theory.md: hidden widths n_1..n_L, a linear
//! readout of width `output_dim`, weights `W^l_ij ~ N(0, C_W / n_{l-1})`, biases `b ~ N(0, C_b)`
//! with the readout using the same C_W and C_b.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

mod builder;
pub use builder::NetworkSpecBuilder;
pub mod families;
pub mod layout;
mod observable;
mod observe;

pub use families::{FamilyDef, FAMILIES};
pub use layout::{Layout, Primitive, PrimitiveSet, Shape};
pub use observable::{Family, Observable};
pub use observe::{Curve, Observe};

/// A validation error in a network, input or observable description.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    #[error("{what} must be a positive integer, got {got}")]
    NonPositive { what: &'static str, got: String },
    #[error("{what} must be a finite number >= 0, got {got}")]
    BadVariance { what: &'static str, got: String },
    #[error("{what} must be a finite number, got {got}")]
    NotFinite { what: &'static str, got: String },
    #[error("unknown activation '{0}' (expected relu, leaky-relu:S, linear, tanh, erf, gelu, swish, sin, shaped-relu:C, cubic:PSI)")]
    UnknownActivation(String),
    #[error("unknown parameterization '{0}' (expected {names})", names = Parameterization::NAMES)]
    UnknownParameterization(String),
    #[error("unknown weight law '{0}' (expected gaussian, uniform or rademacher)")]
    UnknownWeightLaw(String),
    #[error("bad residual '{0}' (expected a number, invsqrt-depth or inv-depth)")]
    BadResidual(String),
    #[error("residual networks need equal hidden widths, got {0:?}")]
    ResidualUnequalWidths(Vec<usize>),
    /// The token, and the list of known tokens.
    #[error("unknown observable '{0}' (expected {1})")]
    UnknownObservable(String, String),
    #[error("{0}")]
    Invalid(String),
}

/// A pointwise nonlinearity sigma.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum Activation {
    Relu,
    /// sigma(t) = t for t > 0, slope * t otherwise.
    LeakyRelu {
        slope: f64,
    },
    Linear,
    Tanh,
    Erf,
    /// t * Phi(t) with the exact normal CDF (not the tanh approximation).
    Gelu,
    /// t * sigmoid(t).
    Swish,
    Sin,
    /// Li–Nica–Roy shaped ReLU: slopes 1 + c/sqrt(n) for t > 0 and 1 - c/sqrt(n) for t < 0,
    /// n the width of the layer the activation acts on.
    ShapedRelu {
        c: f64,
    },
    /// Hanin's shaped cubic: t + psi t^3 / L, L the number of hidden layers.
    Cubic {
        psi: f64,
    },
}

impl Activation {
    /// The usual critical weight variance: the default for `--cw`.
    pub fn critical_cw(&self) -> f64 {
        match *self {
            Activation::Relu => 2.0,
            Activation::LeakyRelu { slope } => 2.0 / (1.0 + slope * slope),
            _ => 1.0,
        }
    }

    /// True for activations that are piecewise linear (relu, leaky-relu, linear, shaped-relu).
    pub fn is_piecewise_linear(&self) -> bool {
        matches!(
            self,
            Activation::Relu
                | Activation::LeakyRelu { .. }
                | Activation::Linear
                | Activation::ShapedRelu { .. }
        )
    }

    /// The slopes (positive side, negative side) of a scale-invariant activation acting on a
    /// layer of width `n`; `None` for activations that are not scale invariant.
    pub fn slopes(&self, n: usize) -> Option<(f64, f64)> {
        match *self {
            Activation::Relu => Some((1.0, 0.0)),
            Activation::LeakyRelu { slope } => Some((1.0, slope)),
            Activation::Linear => Some((1.0, 1.0)),
            Activation::ShapedRelu { c } => {
                let s = c / (n as f64).sqrt();
                Some((1.0 + s, 1.0 - s))
            }
            _ => None,
        }
    }
}

impl fmt::Display for Activation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Activation::Relu => write!(f, "relu"),
            Activation::LeakyRelu { slope } => write!(f, "leaky-relu:{slope}"),
            Activation::Linear => write!(f, "linear"),
            Activation::Tanh => write!(f, "tanh"),
            Activation::Erf => write!(f, "erf"),
            Activation::Gelu => write!(f, "gelu"),
            Activation::Swish => write!(f, "swish"),
            Activation::Sin => write!(f, "sin"),
            Activation::ShapedRelu { c } => write!(f, "shaped-relu:{c}"),
            Activation::Cubic { psi } => write!(f, "cubic:{psi}"),
        }
    }
}

fn parse_param(name: &str, arg: Option<&str>, full: &str) -> Result<f64, SpecError> {
    let arg = arg.ok_or_else(|| {
        SpecError::Invalid(format!(
            "activation '{full}' needs a parameter, as in {name}:0.5"
        ))
    })?;
    let v: f64 = arg
        .trim()
        .parse()
        .map_err(|_| SpecError::Invalid(format!("activation '{full}': '{arg}' is not a number")))?;
    if !v.is_finite() {
        return Err(SpecError::NotFinite {
            what: "the activation parameter",
            got: arg.to_string(),
        });
    }
    Ok(v)
}

impl FromStr for Activation {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let lower = s.trim().to_ascii_lowercase();
        let (name, arg) = match lower.split_once(':') {
            Some((n, a)) => (n, Some(a)),
            None => (lower.as_str(), None),
        };
        let no_arg = |a: Activation| {
            if arg.is_some() {
                Err(SpecError::Invalid(format!(
                    "activation '{name}' takes no parameter"
                )))
            } else {
                Ok(a)
            }
        };
        match name {
            "relu" => no_arg(Activation::Relu),
            "linear" => no_arg(Activation::Linear),
            "tanh" => no_arg(Activation::Tanh),
            "erf" => no_arg(Activation::Erf),
            "gelu" => no_arg(Activation::Gelu),
            "swish" => no_arg(Activation::Swish),
            "sin" => no_arg(Activation::Sin),
            "leaky-relu" => Ok(Activation::LeakyRelu {
                slope: parse_param(name, arg, s)?,
            }),
            "shaped-relu" => Ok(Activation::ShapedRelu {
                c: parse_param(name, arg, s)?,
            }),
            "cubic" => Ok(Activation::Cubic {
                psi: parse_param(name, arg, s)?,
            }),
            _ => Err(SpecError::UnknownActivation(s.to_string())),
        }
    }
}

/// Which parameters the NTK differentiates with respect to and gradient steps train, and how
/// their initial scales and learning rates depend on the width (docs/theory.md, "Conventions";
/// docs/training.md, "Parameterizations").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Parameterization {
    /// W = sqrt(C_W/n_{l-1}) Ŵ, b = sqrt(C_b) β; the NTK is taken with respect to Ŵ and β.
    Ntk,
    /// The NTK is taken with respect to W and b.
    Standard,
    /// Maximal-update parameterization (Yang & Hu 2021, arXiv 2011.14522, Table 3, SGD): the
    /// `ntk` layers with the readout's initial scale divided by √n_L and every other layer's
    /// learning rate multiplied by its fan-out.
    Mup,
    /// μP with residual branches 1/√L (Bordelon et al. 2023, arXiv 2309.16620; Yang et al. 2023,
    /// arXiv 2310.02244): `mup`, with `--residual invsqrt-depth`.
    DepthMup,
    /// μP with residual branches 1/L and the residual layers' learning rates multiplied by L (the
    /// α = 1 member of Dey et al. 2025, arXiv 2505.01618, for SGD: the rate ∝ L^{2α−1} that makes
    /// every block's update Θ(1/L); docs/training.md): `mup`, with `--residual inv-depth`.
    CompleteP,
}

impl Parameterization {
    /// The parameterizations every engine draws (the others run on the dense CPU engines).
    pub fn is_ntk_or_standard(self) -> bool {
        matches!(self, Parameterization::Ntk | Parameterization::Standard)
    }

    /// The μP family: the readout starts at 1/√n of the `ntk` scale.
    pub fn is_mup(self) -> bool {
        matches!(
            self,
            Parameterization::Mup | Parameterization::DepthMup | Parameterization::CompleteP
        )
    }

    pub const NAMES: &'static str = "ntk, standard, mup, depth-mup, completep";
}

impl FromStr for Parameterization {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ntk" => Ok(Parameterization::Ntk),
            "standard" => Ok(Parameterization::Standard),
            "mup" => Ok(Parameterization::Mup),
            "depth-mup" => Ok(Parameterization::DepthMup),
            "completep" => Ok(Parameterization::CompleteP),
            _ => Err(SpecError::UnknownParameterization(s.to_string())),
        }
    }
}

impl fmt::Display for Parameterization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Parameterization::Ntk => "ntk",
            Parameterization::Standard => "standard",
            Parameterization::Mup => "mup",
            Parameterization::DepthMup => "depth-mup",
            Parameterization::CompleteP => "completep",
        })
    }
}

/// The law of the standardized weights Ŵ (all with mean 0 and variance 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightLaw {
    Gaussian,
    /// Uniform on [-sqrt 3, sqrt 3].
    Uniform,
    /// ±1 with probability 1/2 each.
    Rademacher,
}

impl FromStr for WeightLaw {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "gaussian" | "normal" => Ok(WeightLaw::Gaussian),
            "uniform" => Ok(WeightLaw::Uniform),
            "rademacher" => Ok(WeightLaw::Rademacher),
            _ => Err(SpecError::UnknownWeightLaw(s.to_string())),
        }
    }
}

impl fmt::Display for WeightLaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WeightLaw::Gaussian => "gaussian",
            WeightLaw::Uniform => "uniform",
            WeightLaw::Rademacher => "rademacher",
        })
    }
}

/// Residual branch scale: z^{l+1} = z^l + alpha (W^{l+1} a^l + b^{l+1}) for hidden layers 2..L.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Residual {
    Alpha(f64),
    /// alpha = 1/sqrt(L).
    InvSqrtDepth,
    /// alpha = 1/L.
    InvDepth,
}

impl FromStr for Residual {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        let t = s.trim().to_ascii_lowercase();
        if t == "invsqrt-depth" {
            return Ok(Residual::InvSqrtDepth);
        }
        if t == "inv-depth" {
            return Ok(Residual::InvDepth);
        }
        match t.parse::<f64>() {
            Ok(a) if a.is_finite() => Ok(Residual::Alpha(a)),
            _ => Err(SpecError::BadResidual(s.to_string())),
        }
    }
}

impl fmt::Display for Residual {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Residual::Alpha(a) => write!(f, "{a}"),
            Residual::InvSqrtDepth => write!(f, "invsqrt-depth"),
            Residual::InvDepth => write!(f, "inv-depth"),
        }
    }
}

/// A validated network description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NetworkSpec {
    pub input_dim: usize,
    /// Hidden widths n_1..n_L (L = `hidden.len()`, possibly 0).
    pub hidden: Vec<usize>,
    pub output_dim: usize,
    pub activation: Activation,
    pub cw: f64,
    pub cb: f64,
    pub parameterization: Parameterization,
    pub residual: Option<Residual>,
    pub weights: WeightLaw,
    /// Gradient steps taken after the networks are drawn (`--step-lr`), for the observables of
    /// training (docs/training.md); `None` at initialization only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
}

/// Full-batch gradient descent on the loss ½ Σ_a (f(x_a) − y_a)² over the K inputs, on the
/// parameters the NTK is taken with respect to (docs/training.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// The learning rate η (`--step-lr`).
    pub lr: f64,
    /// The number of steps T (`--steps`).
    pub steps: usize,
    /// The targets y_a, one per input (`--targets FILE.csv`); empty: all zero.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<f64>,
}

/// More steps than this are refused: the step engine runs them for every network.
pub const MAX_STEPS: usize = 100_000;

impl Step {
    pub fn validate(&self, output_dim: usize) -> Result<(), SpecError> {
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return Err(SpecError::Invalid(format!(
                "--step-lr must be a positive number, got {}",
                self.lr
            )));
        }
        if self.steps == 0 || self.steps > MAX_STEPS {
            return Err(SpecError::Invalid(format!(
                "--steps must be between 1 and {MAX_STEPS}, got {}",
                self.steps
            )));
        }
        if let Some(t) = self.targets.iter().find(|t| !t.is_finite()) {
            return Err(SpecError::Invalid(format!(
                "--targets: {t} is not a finite number"
            )));
        }
        if output_dim != 1 {
            return Err(SpecError::Invalid(format!(
                "--step-lr needs --output-dim 1 (the loss is on the one readout unit), got {output_dim}"
            )));
        }
        Ok(())
    }

    /// The target of input a.
    pub fn target(&self, a: usize) -> f64 {
        self.targets.get(a).copied().unwrap_or(0.0)
    }
}

impl NetworkSpec {
    /// Builds and validates a spec. `cw = None` takes the activation's critical value.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        input_dim: usize,
        hidden: Vec<usize>,
        output_dim: usize,
        activation: Activation,
        cw: Option<f64>,
        cb: f64,
        parameterization: Parameterization,
        residual: Option<Residual>,
        weights: WeightLaw,
    ) -> Result<Self, SpecError> {
        let spec = NetworkSpec {
            input_dim,
            hidden,
            output_dim,
            activation,
            cw: cw.unwrap_or_else(|| activation.critical_cw()),
            cb,
            parameterization,
            residual,
            weights,
            step: None,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// Checks every invariant; engines may assume a validated spec.
    pub fn validate(&self) -> Result<(), SpecError> {
        positive("--input-dim", self.input_dim)?;
        positive("--output-dim", self.output_dim)?;
        for &w in &self.hidden {
            positive("every hidden width", w)?;
        }
        variance("--cw", self.cw)?;
        variance("--cb", self.cb)?;
        if self.cw == 0.0 {
            return Err(SpecError::Invalid("--cw must be > 0".into()));
        }
        if let Some(r) = self.residual {
            if let Residual::Alpha(a) = r {
                if !a.is_finite() {
                    return Err(SpecError::BadResidual(a.to_string()));
                }
            }
            if self.hidden.windows(2).any(|w| w[0] != w[1]) {
                return Err(SpecError::ResidualUnequalWidths(self.hidden.clone()));
            }
        }
        if let Activation::LeakyRelu { slope } = self.activation {
            if !slope.is_finite() {
                return Err(SpecError::NotFinite {
                    what: "the leaky-relu slope",
                    got: slope.to_string(),
                });
            }
        }
        if let Some(step) = &self.step {
            step.validate(self.output_dim)?;
        }
        if self.parameterization == Parameterization::DepthMup
            && self.residual != Some(Residual::InvSqrtDepth)
        {
            return Err(SpecError::Invalid(
                "--parameterization depth-mup is μP with residual branches 1/√L: it needs --residual invsqrt-depth".into(),
            ));
        }
        if self.parameterization == Parameterization::CompleteP
            && self.residual != Some(Residual::InvDepth)
        {
            return Err(SpecError::Invalid(
                "--parameterization completep is μP with residual branches 1/L: it needs --residual inv-depth".into(),
            ));
        }
        Ok(())
    }

    /// L, the number of hidden layers.
    pub fn depth(&self) -> usize {
        self.hidden.len()
    }

    /// Widths n_0, n_1, ..., n_L, n_out (length L + 2).
    pub fn layer_widths(&self) -> Vec<usize> {
        let mut w = Vec::with_capacity(self.hidden.len() + 2);
        w.push(self.input_dim);
        w.extend_from_slice(&self.hidden);
        w.push(self.output_dim);
        w
    }

    /// beta = sum_l 1/n_l over hidden layers.
    pub fn beta(&self) -> f64 {
        self.hidden.iter().map(|&n| 1.0 / n as f64).sum()
    }

    /// A representative width for reports: the first hidden width (or n0 for L = 0).
    pub fn width(&self) -> usize {
        self.hidden.first().copied().unwrap_or(self.input_dim)
    }

    /// The residual branch scale alpha, if the net is residual.
    pub fn residual_alpha(&self) -> Option<f64> {
        self.residual.map(|r| match r {
            Residual::Alpha(a) => a,
            Residual::InvSqrtDepth => 1.0 / (self.depth().max(1) as f64).sqrt(),
            Residual::InvDepth => 1.0 / self.depth().max(1) as f64,
        })
    }

    /// The standard deviation of layer l's effective weights (l = 1..=L+1): W^l = weight_scale(l) Ŵ^l
    /// with Ŵ of variance 1. √(C_W/n_{l−1}) in every parameterization but the μP family's
    /// readout, which starts √n_L times smaller (docs/training.md, "Parameterizations").
    pub fn weight_scale(&self, l: usize) -> f64 {
        let n_in = if l == 1 {
            self.input_dim
        } else {
            self.hidden[l - 2]
        };
        let base = (self.cw / n_in as f64).sqrt();
        if self.parameterization.is_mup() && l == self.depth() + 1 && l > 1 {
            base / (n_in as f64).sqrt()
        } else {
            base
        }
    }

    /// The learning-rate factors (λ_W, λ_b) of layer l (l = 1..=L+1): a gradient step changes the
    /// effective weights by −η λ_W ∂L/∂W^l and biases by −η λ_b ∂L/∂b^l, and the NTK is
    /// Σ_l α_l² [λ_W (a^{l−1}·a^{l−1}')(δ^l·δ^l') + λ_b (δ^l·δ^l')] (docs/training.md).
    /// `ntk`: (C_W/n_{l−1}, C_b) — the derivatives with respect to Ŵ, β; `standard`: (1, 1) (no
    /// bias term when C_b = 0); the μP family: `ntk`'s times the fan-out n_l for every layer but
    /// the readout; `completep`: `mup`'s, times L in the residual layers (2..=L).
    pub fn ntk_factors(&self, l: usize) -> (f64, f64) {
        let width = |m: usize| match m {
            0 => self.input_dim,
            m if m <= self.hidden.len() => self.hidden[m - 1],
            _ => self.output_dim,
        };
        let n_in = width(l - 1);
        match self.parameterization {
            Parameterization::Ntk => (self.cw / n_in as f64, self.cb),
            Parameterization::Standard => (1.0, if self.cb > 0.0 { 1.0 } else { 0.0 }),
            Parameterization::Mup | Parameterization::DepthMup | Parameterization::CompleteP => {
                let mut gain = if l == self.depth() + 1 {
                    1.0
                } else {
                    width(l) as f64
                };
                if self.parameterization == Parameterization::CompleteP && self.is_residual_layer(l)
                {
                    gain *= self.depth() as f64;
                }
                (gain * self.cw / n_in as f64, gain * self.cb)
            }
        }
    }

    /// True when the layer producing z^l (l = 1..=L+1) is a residual update of z^{l-1}.
    pub fn is_residual_layer(&self, l: usize) -> bool {
        self.residual.is_some() && l >= 2 && l <= self.depth()
    }

    /// Number of trainable parameters (weights and, when C_b > 0, biases).
    pub fn parameter_count(&self) -> u64 {
        let w = self.layer_widths();
        w.windows(2)
            .map(|p| (p[0] * p[1]) as u64 + if self.cb > 0.0 { p[1] as u64 } else { 0 })
            .sum()
    }
}

fn positive(what: &'static str, v: usize) -> Result<(), SpecError> {
    if v == 0 {
        Err(SpecError::NonPositive {
            what,
            got: v.to_string(),
        })
    } else {
        Ok(())
    }
}

fn variance(what: &'static str, v: f64) -> Result<(), SpecError> {
    if !v.is_finite() || v < 0.0 {
        Err(SpecError::BadVariance {
            what,
            got: v.to_string(),
        })
    } else {
        Ok(())
    }
}

/// Where the K inputs come from. Every input is resolved to explicit vectors by the sampler
/// crate (drawn inputs use the seed's input stream).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputSpec {
    /// K inputs drawn from the seed, each scaled to ||x||^2 = n0.
    Random { count: usize },
    /// Two inputs at this angle (radians), each with ||x||^2 = n0.
    Angle { theta: f64 },
    /// Explicit inputs (one per row), as read from a CSV file.
    Explicit { rows: Vec<Vec<f64>> },
}

impl InputSpec {
    pub fn count(&self) -> usize {
        match self {
            InputSpec::Random { count } => *count,
            InputSpec::Angle { .. } => 2,
            InputSpec::Explicit { rows } => rows.len(),
        }
    }

    pub fn validate(&self, input_dim: usize) -> Result<(), SpecError> {
        match self {
            InputSpec::Random { count } => positive("--inputs", *count),
            InputSpec::Angle { theta } => {
                if !theta.is_finite() {
                    return Err(SpecError::NotFinite {
                        what: "--angle",
                        got: theta.to_string(),
                    });
                }
                if input_dim < 2 {
                    return Err(SpecError::Invalid(
                        "--angle needs --input-dim >= 2 (two inputs span a plane)".into(),
                    ));
                }
                Ok(())
            }
            InputSpec::Explicit { rows } => {
                if rows.is_empty() {
                    return Err(SpecError::Invalid("the input file has no rows".into()));
                }
                for (i, r) in rows.iter().enumerate() {
                    if r.len() != input_dim {
                        return Err(SpecError::Invalid(format!(
                            "input row {} has {} values, expected {input_dim}",
                            i + 1,
                            r.len()
                        )));
                    }
                    if r.iter().any(|v| !v.is_finite()) {
                        return Err(SpecError::Invalid(format!(
                            "input row {} has a value that is not a finite number",
                            i + 1
                        )));
                    }
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `value_count` agrees with the names it stands in for.
    #[test]
    fn value_count_matches_names() {
        let spec = NetworkSpec::new(
            3,
            vec![5; 4],
            1,
            Activation::Relu,
            None,
            0.0,
            Parameterization::Ntk,
            None,
            WeightLaw::Gaussian,
        )
        .unwrap();
        for list in [
            "output",
            "output,ntk",
            "ntk,sqnorm,jacobian",
            "output,regions,patterns",
        ] {
            let o = Observe::parse_list(list).unwrap();
            for k in [1, 2, 5] {
                assert_eq!(
                    o.value_count(4, k),
                    o.names(&spec, k).len() as f64,
                    "{list} K={k}"
                );
            }
        }
    }

    #[test]
    fn parses_activations() {
        assert_eq!("relu".parse::<Activation>().unwrap(), Activation::Relu);
        assert_eq!(
            "leaky-relu:0.1".parse::<Activation>().unwrap(),
            Activation::LeakyRelu { slope: 0.1 }
        );
        assert_eq!(
            "cubic:-0.5".parse::<Activation>().unwrap(),
            Activation::Cubic { psi: -0.5 }
        );
        assert!("leaky-relu".parse::<Activation>().is_err());
        assert!("relu:3".parse::<Activation>().is_err());
        assert!("softplus".parse::<Activation>().is_err());
        assert!("leaky-relu:nan".parse::<Activation>().is_err());
    }

    #[test]
    fn default_cw_is_critical() {
        let s = NetworkSpec::new(
            4,
            vec![8; 3],
            1,
            "leaky-relu:0.5".parse().unwrap(),
            None,
            0.0,
            Parameterization::Ntk,
            None,
            WeightLaw::Gaussian,
        )
        .unwrap();
        assert!((s.cw - 1.6).abs() < 1e-15);
        assert_eq!(s.layer_widths(), vec![4, 8, 8, 8, 1]);
    }

    #[test]
    fn rejects_bad_specs() {
        let mk = |n0, cw: f64, cb: f64| {
            NetworkSpec::new(
                n0,
                vec![8, 8],
                1,
                Activation::Relu,
                Some(cw),
                cb,
                Parameterization::Ntk,
                None,
                WeightLaw::Gaussian,
            )
        };
        assert!(mk(0, 2.0, 0.0).is_err());
        assert!(mk(4, f64::NAN, 0.0).is_err());
        assert!(mk(4, 2.0, -1.0).is_err());
        assert!(mk(4, 2.0, 0.0).is_ok());
        let res = NetworkSpec::new(
            4,
            vec![8, 9],
            1,
            Activation::Relu,
            None,
            0.0,
            Parameterization::Ntk,
            Some(Residual::InvSqrtDepth),
            WeightLaw::Gaussian,
        );
        assert!(matches!(res, Err(SpecError::ResidualUnequalWidths(_))));
    }

    #[test]
    fn observable_names_follow_design() {
        let s = NetworkSpec::new(
            4,
            vec![8],
            1,
            Activation::Relu,
            None,
            0.0,
            Parameterization::Ntk,
            None,
            WeightLaw::Gaussian,
        )
        .unwrap();
        let o = Observe::parse_list("output,ntk,sqnorm,jacobian").unwrap();
        assert_eq!(
            o.names(&s, 2),
            vec![
                "output[0]",
                "output[1]",
                "ntk[0,0]",
                "ntk[0,1]",
                "ntk[1,1]",
                "sqnorm[1,0]",
                "sqnorm[1,1]",
                "sqnorm[2,0]",
                "sqnorm[2,1]",
                "jacobian_norm[0]",
                "jacobian_norm[1]"
            ]
        );
        assert!(Observe::parse_list("output,bogus").is_err());
        let g = Observe::parse_list("patterns,output,regions,length_distortion").unwrap();
        assert_eq!(
            g.names(&s, 1),
            vec!["output[0]", "length_distortion", "regions", "patterns"]
        );
        let geometry = PrimitiveSet::of(&[
            Primitive::LengthDistortion,
            Primitive::Regions,
            Primitive::Patterns,
        ]);
        assert_eq!(
            g.restricted(PrimitiveSet::of(&[Primitive::Output]))
                .names(&s, 1),
            vec!["output[0]"]
        );
        assert_eq!(
            g.restricted(geometry).to_string(),
            "length_distortion,regions,patterns"
        );
        // Result files: one flag per family and the curve; read back exactly.
        let json = serde_json::to_string(&g).unwrap();
        assert_eq!(serde_json::from_str::<Observe>(&json).unwrap(), g);
        assert_eq!("circle".parse::<Curve>().unwrap(), Curve::Circle);
        assert_eq!("Segment".parse::<Curve>().unwrap(), Curve::Segment);
        assert!("square".parse::<Curve>().is_err());
    }
}

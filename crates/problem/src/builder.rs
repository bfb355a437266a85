//! [`NetworkSpecBuilder`]: named, defaulted arguments for [`NetworkSpec::new`].
//!
//! `NetworkSpec::builder(input_dim, hidden)` starts from the command line's defaults (one
//! readout unit, relu, the activation's critical C_W, C_b = 0, NTK parameterization, no residual
//! connections, Gaussian weights); [`NetworkSpecBuilder::build`] calls [`NetworkSpec::new`], so
//! validation stays in one place.

use crate::{Activation, NetworkSpec, Parameterization, Residual, SpecError, WeightLaw};

/// Builder of a [`NetworkSpec`]; see [`NetworkSpec::builder`].
#[derive(Debug, Clone, PartialEq)]
#[must_use = "a builder does nothing until .build() is called"]
pub struct NetworkSpecBuilder {
    input_dim: usize,
    hidden: Vec<usize>,
    output_dim: usize,
    activation: Activation,
    cw: Option<f64>,
    cb: f64,
    parameterization: Parameterization,
    residual: Option<Residual>,
    weights: WeightLaw,
}

impl NetworkSpec {
    /// A builder for a network with input dimension `input_dim` and hidden widths n_1..n_L.
    /// Defaults: `output_dim` 1, relu, C_W the activation's critical value (as `cw = None` in
    /// [`NetworkSpec::new`]), C_b = 0, [`Parameterization::Ntk`], no residual connections,
    /// [`WeightLaw::Gaussian`].
    pub fn builder(input_dim: usize, hidden: impl Into<Vec<usize>>) -> NetworkSpecBuilder {
        NetworkSpecBuilder {
            input_dim,
            hidden: hidden.into(),
            output_dim: 1,
            activation: Activation::Relu,
            cw: None,
            cb: 0.0,
            parameterization: Parameterization::Ntk,
            residual: None,
            weights: WeightLaw::Gaussian,
        }
    }
}

impl NetworkSpecBuilder {
    /// Width of the linear readout (default 1).
    pub fn output_dim(mut self, n: usize) -> Self {
        self.output_dim = n;
        self
    }

    /// The activation (default relu).
    pub fn activation(mut self, a: Activation) -> Self {
        self.activation = a;
        self
    }

    /// C_W; `None` (the default) takes the activation's critical value when built, whichever
    /// activation is set.
    pub fn cw(mut self, x: impl Into<Option<f64>>) -> Self {
        self.cw = x.into();
        self
    }

    /// C_b (default 0).
    pub fn cb(mut self, x: f64) -> Self {
        self.cb = x;
        self
    }

    /// The parameterization (default NTK).
    pub fn parameterization(mut self, p: Parameterization) -> Self {
        self.parameterization = p;
        self
    }

    /// Residual connections (a [`Residual`] or an `Option<Residual>`; default none).
    pub fn residual(mut self, r: impl Into<Option<Residual>>) -> Self {
        self.residual = r.into();
        self
    }

    /// The law of the standardized weights (default Gaussian).
    pub fn weights(mut self, w: WeightLaw) -> Self {
        self.weights = w;
        self
    }

    /// [`NetworkSpec::new`] with these arguments (it validates them).
    pub fn build(self) -> Result<NetworkSpec, SpecError> {
        NetworkSpec::new(
            self.input_dim,
            self.hidden,
            self.output_dim,
            self.activation,
            self.cw,
            self.cb,
            self.parameterization,
            self.residual,
            self.weights,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_equal_new_with_cli_defaults() {
        let b = NetworkSpec::builder(3, vec![5, 4]).build().unwrap();
        let n = NetworkSpec::new(
            3,
            vec![5, 4],
            1,
            Activation::Relu,
            None,
            0.0,
            Parameterization::Ntk,
            None,
            WeightLaw::Gaussian,
        )
        .unwrap();
        assert_eq!(b, n);
        assert_eq!(b.cw, 2.0);
    }

    #[test]
    fn every_setter_equals_new() {
        let b = NetworkSpec::builder(7, [4, 4, 4])
            .output_dim(3)
            .activation(Activation::Tanh)
            .cw(1.7)
            .cb(0.25)
            .parameterization(Parameterization::Standard)
            .residual(Residual::Alpha(0.5))
            .weights(WeightLaw::Rademacher)
            .build()
            .unwrap();
        let n = NetworkSpec::new(
            7,
            vec![4, 4, 4],
            3,
            Activation::Tanh,
            Some(1.7),
            0.25,
            Parameterization::Standard,
            Some(Residual::Alpha(0.5)),
            WeightLaw::Rademacher,
        )
        .unwrap();
        assert_eq!(b, n);
    }

    #[test]
    fn critical_cw_follows_the_activation_and_options_pass_through() {
        let leaky = Activation::LeakyRelu { slope: 0.5 };
        let b = NetworkSpec::builder(2, &[3][..])
            .cw(9.0)
            .cw(None)
            .activation(leaky)
            .residual(Some(Residual::InvSqrtDepth))
            .residual(None)
            .weights(WeightLaw::Uniform)
            .build()
            .unwrap();
        let n = NetworkSpec::new(
            2,
            vec![3],
            1,
            leaky,
            None,
            0.0,
            Parameterization::Ntk,
            None,
            WeightLaw::Uniform,
        )
        .unwrap();
        assert_eq!(b, n);
        assert_eq!(b.cw, 2.0 / 1.25);
        let linear = NetworkSpec::builder(2, Vec::new())
            .activation(Activation::Linear)
            .residual(Residual::InvSqrtDepth)
            .build()
            .unwrap();
        assert_eq!(linear.cw, 1.0);
        assert!(linear.hidden.is_empty());
        assert_eq!(linear.residual, Some(Residual::InvSqrtDepth));
    }

    #[test]
    fn invalid_values_error_as_in_new() {
        let base = || NetworkSpec::builder(3, vec![4, 4]);
        let bad = [
            NetworkSpec::builder(0, vec![4]).build(),
            NetworkSpec::builder(3, vec![4, 0]).build(),
            base().output_dim(0).build(),
            base().cw(0.0).build(),
            base().cw(-1.0).build(),
            base().cw(f64::NAN).build(),
            base().cb(-0.1).build(),
            base().cb(f64::INFINITY).build(),
            base().residual(Residual::Alpha(f64::NAN)).build(),
            NetworkSpec::builder(3, vec![4, 5])
                .residual(Residual::Alpha(1.0))
                .build(),
            base()
                .activation(Activation::LeakyRelu {
                    slope: f64::INFINITY,
                })
                .build(),
        ];
        for (i, r) in bad.iter().enumerate() {
            assert!(r.is_err(), "case {i} should be refused, got {r:?}");
        }
        assert!(matches!(
            bad[9],
            Err(SpecError::ResidualUnequalWidths(ref w)) if w == &[4, 5]
        ));
        // The same error as the 9-argument call.
        let n = NetworkSpec::new(
            3,
            vec![4, 4],
            1,
            Activation::Relu,
            Some(0.0),
            0.0,
            Parameterization::Ntk,
            None,
            WeightLaw::Gaussian,
        );
        assert_eq!(bad[3], n);
    }
}

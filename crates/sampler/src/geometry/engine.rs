//! Construction and validation of [`GeometryEngine`], its accessors, the per-thread scratch,
//! drawing one network's weights, [`GeometryEngine::sample`] and the [`crate::NetworkEngine`]
//! implementation.

use super::{
    invalid, norm, GeometryEngine, GeometryScratch, PatternsMethod, GEOMETRY_WEIGHT_BYTES,
    PATTERNS_EXACT_MAX_NEURONS, PATTERNS_GRID,
};
use crate::activation::LayerActivation;
use crate::dense::dot;
use crate::stream::{fill_row, network_stream, tag, Purpose};
use crate::{Problem, SamplerError};
use randnet_problem::{Curve, Primitive, PrimitiveSet, WeightLaw};
use std::f64::consts::TAU;

impl GeometryEngine {
    /// Validates the problem for the requested geometry observables (the other observables of
    /// `problem.observe` are ignored: other engines compute them).
    pub fn new(problem: &Problem) -> Result<Self, SamplerError> {
        problem.validate()?;
        let spec = &problem.spec;
        let observe = problem.observe.restricted(GEOMETRY);
        let names = observe.names(spec, problem.inputs.len());
        if names.is_empty() {
            return Err(invalid(
                "the geometry engine needs length_distortion, regions or patterns".into(),
            ));
        }
        let widths = spec.layer_widths();
        let depth = spec.depth();
        let mut acts = vec![LayerActivation::Slopes(1.0, 1.0)];
        let mut slopes = vec![(1.0, 1.0)];
        for &n in &spec.hidden {
            acts.push(LayerActivation::resolve(spec, n));
            slopes.push(spec.activation.slopes(n).unwrap_or((f64::NAN, f64::NAN)));
        }
        let piecewise_linear = spec.activation.is_piecewise_linear();
        if (observe.needs(Primitive::Regions) || observe.needs(Primitive::Patterns))
            && !piecewise_linear
        {
            return Err(SamplerError::Unsupported(format!(
                "regions and patterns need a piecewise-linear activation (relu, leaky-relu, \
                 linear, shaped-relu), not {}",
                spec.activation
            )));
        }
        let k = problem.inputs.len();
        let xs = &problem.inputs;
        let n0 = spec.input_dim;
        let (mut c0, mut c1, mut curve_length) = (vec![0.0; n0], vec![0.0; n0], 0.0);
        if observe.needs(Primitive::LengthDistortion) || observe.needs(Primitive::Regions) {
            if k < 2 {
                return Err(invalid(format!(
                    "length_distortion and regions need at least 2 inputs (the curve goes \
                     through x_0 and x_1), got {k}"
                )));
            }
            match observe.curve {
                Curve::Segment => {
                    c0 = xs[0].clone();
                    c1 = xs[1].iter().zip(&xs[0]).map(|(a, b)| a - b).collect();
                    curve_length = norm(&c1);
                    if curve_length == 0.0 {
                        return Err(invalid(
                            "the segment from x_0 to x_1 has length 0 (x_0 = x_1)".into(),
                        ));
                    }
                }
                Curve::Circle => {
                    let r = norm(&xs[0]);
                    if r == 0.0 {
                        return Err(invalid("the circle needs x_0 != 0 (its radius)".into()));
                    }
                    let e1: Vec<f64> = xs[0].iter().map(|v| v / r).collect();
                    let p = dot(&xs[1], &e1);
                    let perp: Vec<f64> = xs[1].iter().zip(&e1).map(|(a, e)| a - p * e).collect();
                    let q = norm(&perp);
                    if q <= 1e-12 * norm(&xs[1]).max(f64::MIN_POSITIVE) {
                        return Err(invalid(
                            "the circle needs x_0 and x_1 linearly independent (they span its \
                             plane)"
                                .into(),
                        ));
                    }
                    c0 = e1.iter().map(|e| r * e).collect();
                    c1 = perp.iter().map(|v| r * v / q).collect();
                    curve_length = TAU * r;
                }
            }
        }
        let mut tri = [vec![0.0; n0], vec![0.0; n0], vec![0.0; n0]];
        if observe.needs(Primitive::Patterns) {
            if k < 3 {
                return Err(invalid(format!(
                    "patterns needs at least 3 inputs (the triangle x_0, x_1, x_2), got {k}"
                )));
            }
            let d1: Vec<f64> = xs[1].iter().zip(&xs[0]).map(|(a, b)| a - b).collect();
            let d2: Vec<f64> = xs[2].iter().zip(&xs[0]).map(|(a, b)| a - b).collect();
            let (g11, g12, g22) = (dot(&d1, &d1), dot(&d1, &d2), dot(&d2, &d2));
            if g11 * g22 - g12 * g12 <= 1e-24 * g11 * g22 || g11 == 0.0 || g22 == 0.0 {
                return Err(invalid(
                    "patterns needs a triangle of positive area (x_0, x_1, x_2 affinely \
                     independent)"
                        .into(),
                ));
            }
            tri = [xs[0].clone(), d1, d2];
        }
        let weight_bytes: usize = widths.windows(2).map(|w| w[0] * w[1] * 8).sum();
        if weight_bytes > GEOMETRY_WEIGHT_BYTES {
            return Err(SamplerError::TooLarge(format!(
                "the geometry engine keeps one network's weights per thread: {} MiB is more than \
                 its {} MiB budget",
                weight_bytes >> 20,
                GEOMETRY_WEIGHT_BYTES >> 20
            )));
        }
        let neurons: usize = spec.hidden.iter().sum();
        let _ = depth;
        Ok(GeometryEngine {
            problem: problem.clone(),
            widths,
            acts,
            slopes,
            observe,
            names,
            piecewise_linear,
            patterns_method: if neurons <= PATTERNS_EXACT_MAX_NEURONS {
                PatternsMethod::Exact
            } else {
                PatternsMethod::Grid
            },
            c0,
            c1,
            x1: if k >= 2 { xs[1].clone() } else { Vec::new() },
            curve_length,
            tri,
        })
    }

    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// Values per network: one per requested geometry observable.
    pub fn n_values(&self) -> usize {
        self.names.len()
    }

    /// The geometry observable names, in the order [`GeometryEngine::sample`] writes them
    /// (a subset of "length_distortion", "regions", "patterns", in that order).
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// "exact" for piecewise-linear activations, "polyline" otherwise.
    pub fn curve_method(&self) -> &'static str {
        if self.piecewise_linear {
            "exact"
        } else {
            "polyline"
        }
    }

    pub fn patterns_method(&self) -> PatternsMethod {
        self.patterns_method
    }

    /// (observable name, method) for every requested observable.
    pub fn methods(&self) -> Vec<(String, &'static str)> {
        self.names
            .iter()
            .map(|n| {
                let m = if n == "patterns" {
                    self.patterns_method.name()
                } else {
                    self.curve_method()
                };
                (n.clone(), m)
            })
            .collect()
    }

    /// Length of γ.
    pub fn curve_length(&self) -> f64 {
        self.curve_length
    }

    pub fn scratch(&self) -> GeometryScratch {
        let l = self.widths.len() - 1;
        GeometryScratch {
            w: self
                .widths
                .windows(2)
                .map(|w| vec![0.0; w[0] * w[1]])
                .collect(),
            b: if self.problem.spec.cb > 0.0 {
                self.widths[1..].iter().map(|&n| vec![0.0; n]).collect()
            } else {
                vec![Vec::new(); l]
            },
            net: None,
        }
    }

    /// Draws the weights of network `net` into the scratch (the dense engine's stream rows).
    pub fn load(&self, net: u64, s: &mut GeometryScratch) {
        if s.net == Some(net) {
            return;
        }
        let spec = &self.problem.spec;
        // The network's Philox key and counter word c0 (stream::network_key: 64-bit indices).
        let (key, net32) = network_stream(self.problem.seed, net);
        for l in 1..self.widths.len() {
            let (n_in, n_out) = (self.widths[l - 1], self.widths[l]);
            let w = &mut s.w[l - 1];
            for i in 0..n_out {
                fill_row(
                    key,
                    net32,
                    tag(Purpose::Weight, l as u32),
                    i as u32,
                    spec.weights,
                    &mut w[i * n_in..(i + 1) * n_in],
                );
            }
            if spec.cb > 0.0 {
                fill_row(
                    key,
                    net32,
                    tag(Purpose::Bias, l as u32),
                    0,
                    WeightLaw::Gaussian,
                    &mut s.b[l - 1],
                );
            }
        }
        s.net = Some(net);
    }

    /// Writes the values of network `net` in [`GeometryEngine::names`] order. A value that
    /// cannot be computed (overflow, a polyline that does not converge) is NaN.
    pub fn sample(&self, net: u64, s: &mut GeometryScratch, out: &mut [f64]) {
        self.load(net, s);
        let mut o = 0;
        if self.observe.needs(Primitive::LengthDistortion) || self.observe.needs(Primitive::Regions)
        {
            let (len, regions) = if self.piecewise_linear {
                let tr = self.trace_loaded(s);
                (tr.length / tr.curve_length, tr.regions as f64)
            } else {
                (self.polyline_length_loaded(s) / self.curve_length, f64::NAN)
            };
            if self.observe.needs(Primitive::LengthDistortion) {
                out[o] = len;
                o += 1;
            }
            if self.observe.needs(Primitive::Regions) {
                out[o] = regions;
                o += 1;
            }
        }
        if self.observe.needs(Primitive::Patterns) {
            out[o] = match self.patterns_method {
                PatternsMethod::Exact => self.patterns_exact_loaded(s, &mut |_| {}) as f64,
                PatternsMethod::Grid => self.patterns_grid_loaded(s, PATTERNS_GRID) as f64,
            };
            o += 1;
        }
        debug_assert_eq!(o, out.len());
    }
}

impl crate::NetworkEngine for GeometryEngine {
    type Scratch = GeometryScratch;
    fn build(problem: &Problem) -> Result<Self, SamplerError> {
        GeometryEngine::new(problem)
    }
    fn n_values(&self) -> usize {
        GeometryEngine::n_values(self)
    }
    fn scratch(&self) -> GeometryScratch {
        GeometryEngine::scratch(self)
    }
    fn sample(&self, net: u64, scratch: &mut GeometryScratch, out: &mut [f64]) {
        GeometryEngine::sample(self, net, scratch, out)
    }
    /// One network per task: the cost grows with a network's number of regions.
    fn max_task_len(&self) -> usize {
        1
    }

    /// "exact" when every requested value is exact, "polyline" for the length of smooth
    /// activations, "grid" when `patterns` is estimated on the grid (and "polyline+grid" for
    /// both; per-observable methods: [`GeometryEngine::methods`]).
    fn method(&self) -> &'static str {
        let poly = (self.observe.needs(Primitive::LengthDistortion)) && !self.piecewise_linear;
        let grid =
            self.observe.needs(Primitive::Patterns) && self.patterns_method == PatternsMethod::Grid;
        match (poly, grid) {
            (false, false) => "exact",
            (true, false) => "polyline",
            (false, true) => "grid",
            (true, true) => "polyline+grid",
        }
    }
}

/// The primitives of the geometry engine.
pub const GEOMETRY: PrimitiveSet = PrimitiveSet::EMPTY
    .with(Primitive::LengthDistortion)
    .with(Primitive::Regions)
    .with(Primitive::Patterns);

/// The exact geometry engine on the CPU, as registered in [`crate::plan::ENGINES`].
pub struct GeometryCpu;

impl crate::plan::Engine for GeometryCpu {
    fn name(&self) -> &'static str {
        "geometry"
    }

    fn device(&self) -> crate::plan::Device {
        crate::plan::Device::Cpu
    }

    fn primitives(&self) -> PrimitiveSet {
        GEOMETRY
    }

    /// What [`GeometryEngine::new`] accepts; its cost is not modelled (no other engine computes
    /// these primitives).
    fn supports(
        &self,
        problem: &Problem,
        _: &crate::plan::Request,
        _: &crate::plan::Env,
    ) -> Result<crate::plan::Cost, String> {
        crate::plan::ntk_or_standard_only(problem)?;
        GeometryEngine::new(problem).map_err(|e| e.to_string())?;
        Ok(crate::plan::Cost {
            networks_per_second: 1.0,
        })
    }

    fn build(
        &self,
        problem: &Problem,
        _: &crate::plan::Env,
    ) -> Result<Box<dyn crate::BatchSampler>, SamplerError> {
        Ok(Box::new(crate::CpuGeometry::new(problem)?))
    }
}

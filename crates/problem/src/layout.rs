//! What engines compute ([`Primitive`]s) and where every value goes ([`Layout`]).
//!
//! Engines write the primitives a problem needs, in [`Primitive`] order, each primitive's values
//! in its own order (below); the families then reduce them to the values of the output
//! ([`crate::families::FamilyDef::reduce`]). The layout is built once per problem from the
//! registry, so engines, reports and files agree on every slot by construction.

use crate::families::{def, FAMILIES};
use crate::{Family, Observable, Observe};
use std::ops::Range;

/// A quantity an engine computes per network, in the order engines write them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Primitive {
    /// f(x_a), a = 0..K.
    Output,
    /// Θ(x_a, x_b), a ≤ b, row by row.
    Ntk,
    /// ‖z^l(x_a)‖²/n_l, layer-major: l = 1..L+1, then a.
    Sqnorm,
    /// ‖J(x_a) u‖, a = 0..K.
    JacobianNorm,
    /// (1/L) Σ_l ln R^l_ii, i = 1..count: the QR iteration of a `count`-frame through the hidden
    /// layers' Jacobian at x_0.
    Lyapunov,
    /// The `count` largest singular values of J(x_a), input by input.
    SingularValues,
    LengthDistortion,
    Regions,
    Patterns,
    /// After `--steps` gradient steps (docs/training.md): f_after(x_a) − f_before(x_a).
    DeltaOutput,
    /// Θ_after(x_a, x_b) − Θ_before(x_a, x_b), a ≤ b, row by row.
    DeltaNtk,
    /// Hidden layers l = 1..L: ‖σ(z^l)_after(x_0) − σ(z^l)_before(x_0)‖ / √n_l.
    FeatureChange,
    /// Hidden layers l = 1..L: cos θ_l (NaN where the backward pass or the update vanishes).
    FeatureAlignment,
    /// Layers l = 1..L+1: ‖ΔW^l‖_F / ‖W^l‖_F.
    WeightChange,
}

/// What the number of values of a family or primitive depends on: the depth, the number of
/// inputs, and the family's count parameter (`lyapunov:K`; 0 for families without one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shape {
    pub depth: usize,
    pub inputs: usize,
    pub count: usize,
}

impl Primitive {
    pub const ALL: [Primitive; 14] = [
        Primitive::Output,
        Primitive::Ntk,
        Primitive::Sqnorm,
        Primitive::JacobianNorm,
        Primitive::Lyapunov,
        Primitive::SingularValues,
        Primitive::LengthDistortion,
        Primitive::Regions,
        Primitive::Patterns,
        Primitive::DeltaOutput,
        Primitive::DeltaNtk,
        Primitive::FeatureChange,
        Primitive::FeatureAlignment,
        Primitive::WeightChange,
    ];

    /// Its number of values.
    pub fn len(self, shape: &Shape) -> usize {
        let (depth, k) = (shape.depth, shape.inputs);
        match self {
            Primitive::Output | Primitive::JacobianNorm | Primitive::DeltaOutput => k,
            Primitive::Ntk | Primitive::DeltaNtk => k * (k + 1) / 2,
            Primitive::FeatureChange | Primitive::FeatureAlignment => depth,
            Primitive::Sqnorm => (depth + 1) * k,
            Primitive::WeightChange => depth + 1,
            Primitive::Lyapunov => shape.count,
            Primitive::SingularValues => k * shape.count,
            Primitive::LengthDistortion | Primitive::Regions | Primitive::Patterns => 1,
        }
    }

    /// As [`Primitive::len`] in f64, for sizes far past memory (resource checks).
    pub fn len_f64(self, shape: &Shape) -> f64 {
        let (l, k) = (shape.depth as f64, shape.inputs as f64);
        match self {
            Primitive::Output | Primitive::JacobianNorm | Primitive::DeltaOutput => k,
            Primitive::Ntk | Primitive::DeltaNtk => k * (k + 1.0) / 2.0,
            Primitive::FeatureChange | Primitive::FeatureAlignment => l,
            Primitive::Sqnorm => (l + 1.0) * k,
            Primitive::WeightChange => l + 1.0,
            Primitive::Lyapunov => shape.count as f64,
            Primitive::SingularValues => k * shape.count as f64,
            Primitive::LengthDistortion | Primitive::Regions | Primitive::Patterns => 1.0,
        }
    }

    /// True for primitives a network may lack (written as NaN, not a divergence): the
    /// Lyapunov exponents past a rank drop, the feature alignment where the angle is undefined.
    pub fn may_be_missing(self) -> bool {
        matches!(self, Primitive::Lyapunov | Primitive::FeatureAlignment)
    }

    const fn bit(self) -> u16 {
        1 << self as u16
    }
}

/// A set of primitives (what a problem needs, what an engine computes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct PrimitiveSet(u16);

impl PrimitiveSet {
    pub const EMPTY: PrimitiveSet = PrimitiveSet(0);

    pub fn of(primitives: &[Primitive]) -> Self {
        PrimitiveSet(primitives.iter().fold(0, |m, p| m | p.bit()))
    }

    pub fn contains(self, p: Primitive) -> bool {
        self.0 & p.bit() != 0
    }

    pub const fn with(self, p: Primitive) -> Self {
        PrimitiveSet(self.0 | p.bit())
    }

    pub const fn without(self, p: Primitive) -> Self {
        PrimitiveSet(self.0 & !p.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    pub fn union(self, other: Self) -> Self {
        PrimitiveSet(self.0 | other.0)
    }

    pub fn intersection(self, other: Self) -> Self {
        PrimitiveSet(self.0 & other.0)
    }

    pub fn difference(self, other: Self) -> Self {
        PrimitiveSet(self.0 & !other.0)
    }

    pub fn is_subset(self, other: Self) -> bool {
        self.difference(other).is_empty()
    }

    /// In [`Primitive`] order.
    pub fn iter(self) -> impl Iterator<Item = Primitive> {
        Primitive::ALL
            .into_iter()
            .filter(move |p| self.contains(*p))
    }
}

impl std::fmt::Display for PrimitiveSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<String> = self.iter().map(|p| format!("{p:?}")).collect();
        f.write_str(&names.join(", "))
    }
}

/// Where every primitive and every value of a problem sits in a network's row.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// The shape of each primitive, by `Primitive as usize`.
    shapes: Vec<Shape>,
    primitives: PrimitiveSet,
    observables: Vec<Observable>,
    /// Per requested family: its values' range and its primitive's range.
    families: Vec<(Family, Range<usize>, Range<usize>)>,
    may_be_undefined: Vec<bool>,
}

impl Layout {
    pub fn new(observe: &Observe, depth: usize, k: usize) -> Self {
        let primitives = observe.primitives();
        let shapes: Vec<Shape> = Primitive::ALL
            .iter()
            .map(|&p| observe.shape_of(p, depth, k))
            .collect();
        let mut observables = Vec::new();
        let mut families = Vec::new();
        let mut may_be_undefined = Vec::new();
        for d in FAMILIES.iter().filter(|d| observe.has(d.family)) {
            let values = (d.values)(&observe.shape(d.family, depth, k));
            let start = observables.len();
            may_be_undefined.extend(std::iter::repeat_n(d.undefined.is_some(), values.len()));
            observables.extend(values);
            let prim = Self::range_in(&shapes, primitives, d.primitive);
            families.push((d.family, start..observables.len(), prim));
        }
        Layout {
            shapes,
            primitives,
            observables,
            families,
            may_be_undefined,
        }
    }

    fn range_in(shapes: &[Shape], set: PrimitiveSet, p: Primitive) -> Range<usize> {
        let start: usize = set
            .iter()
            .take_while(|&q| q != p)
            .map(|q| q.len(&shapes[q as usize]))
            .sum();
        start..start + p.len(&shapes[p as usize])
    }

    /// The number of values of primitives `set` (as an engine computing them writes them).
    pub fn len_of(&self, set: PrimitiveSet) -> usize {
        set.iter().map(|p| p.len(&self.shapes[p as usize])).sum()
    }

    /// The shape of primitive `p` (its count parameter, for engines).
    pub fn shape(&self, p: Primitive) -> Shape {
        self.shapes[p as usize]
    }

    /// True for each slot of the primitive row that may hold NaN for a missing value
    /// ([`Primitive::may_be_missing`]).
    pub fn primitive_may_be_missing(&self) -> Vec<bool> {
        let mut v = Vec::new();
        for p in self.primitives.iter() {
            v.extend(std::iter::repeat_n(
                p.may_be_missing(),
                p.len(&self.shapes[p as usize]),
            ));
        }
        v
    }

    /// The primitives engines must compute.
    pub fn primitives(&self) -> PrimitiveSet {
        self.primitives
    }

    /// Primitive values per network.
    pub fn primitive_len(&self) -> usize {
        self.len_of(self.primitives)
    }

    /// Where primitive `p` sits in a primitive row (`None` if not needed).
    pub fn primitive_range(&self, p: Primitive) -> Option<Range<usize>> {
        self.primitives
            .contains(p)
            .then(|| Self::range_in(&self.shapes, self.primitives, p))
    }

    /// Where the primitives of `part` (a subset of this layout's, as one engine writes them in
    /// its own row) sit in the full primitive row: (range in the part's row, range in the full).
    pub fn scatter(&self, part: PrimitiveSet) -> Vec<(Range<usize>, Range<usize>)> {
        part.iter()
            .map(|p| {
                (
                    Self::range_in(&self.shapes, part, p),
                    self.primitive_range(p).expect("a part of this layout"),
                )
            })
            .collect()
    }

    /// The values, in output order.
    pub fn observables(&self) -> &[Observable] {
        &self.observables
    }

    /// Values per network.
    pub fn len(&self) -> usize {
        self.observables.len()
    }

    pub fn is_empty(&self) -> bool {
        self.observables.is_empty()
    }

    /// The value names, in output order.
    pub fn names(&self) -> Vec<String> {
        self.observables.iter().map(|o| o.to_string()).collect()
    }

    /// True for values a network may lack (NaN in the row; see `FamilyDef::undefined`).
    pub fn may_be_undefined(&self) -> &[bool] {
        &self.may_be_undefined
    }

    /// Writes a network's values from its primitive row.
    pub fn reduce(&self, primitives: &[f64], values: &mut [f64]) {
        for (family, out, prim) in &self.families {
            (def(*family).reduce)(&primitives[prim.clone()], &mut values[out.clone()]);
        }
    }
}

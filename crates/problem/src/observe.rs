//! The observables a run requests: a set of [`Family`]s (one per `--observe` token) and the
//! curve of the geometry families.

use crate::families::{def, tokens, FAMILIES};
use crate::layout::{Layout, PrimitiveSet, Shape};
use crate::{Family, NetworkSpec, SpecError};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The curve γ of the geometry observables (`--curve`), through the inputs x_0 and x_1.
///
/// - `segment` (default): γ(t) = x_0 + t (x_1 − x_0), t ∈ [0, 1]; length ‖x_1 − x_0‖.
/// - `circle`: the full circle centred at the origin in the plane spanned by x_0 and x_1, with
///   radius r = ‖x_0‖: γ(θ) = r (cos θ e_1 + sin θ e_2), θ ∈ [0, 2π), e_1 = x_0/‖x_0‖ and e_2 the
///   unit vector of x_1 − (x_1·e_1) e_1. It passes through x_0 (θ = 0) and through the direction
///   of x_1 (through x_1 itself when ‖x_1‖ = ‖x_0‖); length 2π r. See docs/geometry.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Curve {
    #[default]
    Segment,
    Circle,
}

impl FromStr for Curve {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "segment" => Ok(Curve::Segment),
            "circle" => Ok(Curve::Circle),
            _ => Err(SpecError::Invalid(format!(
                "unknown curve '{s}' (expected segment or circle)"
            ))),
        }
    }
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Curve::Segment => "segment",
            Curve::Circle => "circle",
        })
    }
}

/// The observable families requested with `--observe`, and the curve of the geometry families.
/// In result files: one `token: bool` per registered family and `curve`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Observe {
    /// Bit `f as u32` set for each requested family `f`.
    families: u32,
    /// The count parameter of each requested family that has one (`lyapunov:K`), by
    /// `f as usize`; 0 otherwise.
    counts: [u32; 16],
    /// The curve of `length_distortion` and `regions`.
    pub curve: Curve,
}

impl Observe {
    /// Nothing requested.
    pub const NONE: Observe = Observe {
        families: 0,
        counts: [0; 16],
        curve: Curve::Segment,
    };

    /// These families, on the default curve.
    pub fn of(families: &[Family]) -> Self {
        families.iter().fold(Observe::NONE, |o, &f| o.with(f))
    }

    /// This selection and `family` (with count 1 if the family takes a count).
    pub const fn with(self, family: Family) -> Self {
        let mut counts = self.counts;
        if counts[family as usize] == 0 {
            counts[family as usize] = 1;
        }
        Observe {
            families: self.families | 1 << family as u32,
            counts,
            ..self
        }
    }

    /// This selection and `family` with count parameter `count` (`lyapunov:K`).
    pub const fn with_count(self, family: Family, count: u32) -> Self {
        let mut counts = self.counts;
        counts[family as usize] = count;
        Observe {
            families: self.families | 1 << family as u32,
            counts,
            ..self
        }
    }

    /// The count parameter of `family` (0 when not requested; 1 for families without one).
    pub fn count(&self, family: Family) -> usize {
        if self.has(family) {
            self.counts[family as usize] as usize
        } else {
            0
        }
    }

    /// The shape of `family`'s values for `depth` hidden layers and `k` inputs.
    pub fn shape(&self, family: Family, depth: usize, k: usize) -> Shape {
        Shape {
            depth,
            inputs: k,
            count: if def(family).count.is_some() {
                self.count(family)
            } else {
                0
            },
        }
    }

    /// The shape of primitive `p`: the largest count among the requested families computed from
    /// it.
    pub fn shape_of(&self, p: crate::Primitive, depth: usize, k: usize) -> Shape {
        let count = self
            .families()
            .filter(|&f| def(f).primitive == p)
            .map(|f| self.shape(f, depth, k).count)
            .max()
            .unwrap_or(0);
        Shape {
            depth,
            inputs: k,
            count,
        }
    }

    /// This selection along `curve`.
    pub const fn on_curve(self, curve: Curve) -> Self {
        Observe { curve, ..self }
    }

    /// This selection and `family` when `on`.
    pub const fn with_if(self, family: Family, on: bool) -> Self {
        if on {
            self.with(family)
        } else {
            self
        }
    }

    pub fn has(&self, family: Family) -> bool {
        self.families & (1 << family as u32) != 0
    }

    /// The requested families, in output order.
    pub fn families(&self) -> impl Iterator<Item = Family> + '_ {
        FAMILIES
            .iter()
            .map(|d| d.family)
            .filter(move |&f| self.has(f))
    }

    pub fn is_empty(&self) -> bool {
        self.families == 0
    }

    /// The primitives engines compute for these families.
    pub fn primitives(&self) -> PrimitiveSet {
        self.families()
            .fold(PrimitiveSet::EMPTY, |s, f| s.with(def(f).primitive))
    }

    /// True when an engine must compute `p` for these families.
    pub fn needs(&self, p: crate::Primitive) -> bool {
        self.primitives().contains(p)
    }

    /// The families of this selection computed from primitives in `part`.
    pub fn restricted(&self, part: PrimitiveSet) -> Observe {
        self.families()
            .filter(|&f| part.contains(def(f).primitive))
            .fold(
                Observe {
                    curve: self.curve,
                    ..Observe::NONE
                },
                |o, f| o.with_count(f, self.counts[f as usize]),
            )
    }

    /// Parses a comma-separated list of `--observe` tokens (see [`crate::families`]).
    pub fn parse_list(s: &str) -> Result<Self, SpecError> {
        let mut o = Observe::default();
        for tok in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let lower = tok.to_ascii_lowercase();
            let (t, count) = match lower.split_once(':') {
                Some((t, c)) => (t.trim(), Some(c.trim())),
                None => (lower.as_str(), None),
            };
            let d = FAMILIES
                .iter()
                .find(|d| d.token == t || d.aliases.contains(&t))
                .ok_or_else(|| SpecError::UnknownObservable(tok.to_string(), tokens()))?;
            o = match (d.count, count) {
                (None, None) => o.with(d.family),
                (None, Some(_)) => {
                    return Err(SpecError::Invalid(format!(
                        "--observe {tok}: {} takes no count",
                        d.token
                    )))
                }
                (Some(name), None) => {
                    return Err(SpecError::Invalid(format!(
                        "--observe {tok}: {} needs its count, {}:{name}",
                        d.token, d.token
                    )))
                }
                (Some(name), Some(c)) => match c.parse::<u32>() {
                    Ok(n) if (1..=4096).contains(&n) => o.with_count(d.family, n),
                    _ => {
                        return Err(SpecError::Invalid(format!(
                            "--observe {tok}: {name} must be an integer in 1..=4096, got '{c}'"
                        )))
                    }
                },
            };
        }
        if o.is_empty() {
            return Err(SpecError::Invalid("--observe names no observable".into()));
        }
        Ok(o)
    }

    /// How many values [`Observe::names`] lists for `depth` hidden layers and `k` inputs,
    /// computed without building them (as f64, so sizes far past memory do not overflow).
    pub fn value_count(&self, depth: usize, k: usize) -> f64 {
        self.families()
            .map(|f| def(f).primitive.len_f64(&self.shape(f, depth, k)))
            .sum()
    }

    /// The layout of values for `spec` and `k` inputs.
    pub fn layout(&self, spec: &NetworkSpec, k: usize) -> Layout {
        Layout::new(self, spec.depth(), k)
    }

    /// The value names in output order.
    pub fn names(&self, spec: &NetworkSpec, k: usize) -> Vec<String> {
        self.layout(spec, k).names()
    }
}

impl Serialize for Observe {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(FAMILIES.len() + 1))?;
        for d in FAMILIES {
            if d.count.is_some() && self.has(d.family) {
                m.serialize_entry(d.token, &self.count(d.family))?;
            } else {
                m.serialize_entry(d.token, &self.has(d.family))?;
            }
        }
        m.serialize_entry("curve", &self.curve)?;
        m.end()
    }
}

impl<'de> Deserialize<'de> for Observe {
    /// Reads the map [`Serialize`] writes; a family missing from the map is not requested (files
    /// written before it existed), an unknown key is an error.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let map: BTreeMap<String, serde_json_like::Value> = Deserialize::deserialize(d)?;
        let mut o = Observe::NONE;
        for (key, value) in map {
            match (key.as_str(), value) {
                ("curve", serde_json_like::Value::Text(c)) => {
                    o.curve = c.parse().map_err(D::Error::custom)?
                }
                (k, serde_json_like::Value::Flag(on)) => {
                    let d = FAMILIES.iter().find(|d| d.token == k).ok_or_else(|| {
                        D::Error::custom(format!("unknown observable family '{k}'"))
                    })?;
                    if on && d.count.is_some() {
                        return Err(D::Error::custom(format!("observe.{k} needs its count")));
                    }
                    if on {
                        o = o.with(d.family);
                    }
                }
                (k, serde_json_like::Value::Count(n)) => {
                    let d = FAMILIES
                        .iter()
                        .find(|d| d.token == k && d.count.is_some())
                        .ok_or_else(|| D::Error::custom(format!("observe.{k} takes no count")))?;
                    if !(1..=4096).contains(&n) {
                        return Err(D::Error::custom(format!("observe.{k}: count {n}")));
                    }
                    o = o.with_count(d.family, n as u32);
                }
                (k, _) => return Err(D::Error::custom(format!("bad value for observe.{k}"))),
            }
        }
        Ok(o)
    }
}

mod serde_json_like {
    use serde::Deserialize;
    /// A value of the observe map: a family's flag or the curve's name.
    #[derive(Deserialize)]
    #[serde(untagged)]
    pub enum Value {
        Flag(bool),
        Count(u64),
        Text(String),
    }
}

impl fmt::Display for Observe {
    /// The `--observe` list that parses back to this selection.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t: Vec<String> = self
            .families()
            .map(|fam| match def(fam).count {
                Some(_) => format!("{}:{}", def(fam).token, self.count(fam)),
                None => def(fam).token.to_string(),
            })
            .collect();
        f.write_str(&t.join(","))
    }
}

impl FromStr for Observe {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        Observe::parse_list(s)
    }
}

//! The observables a run requests: a set of [`Family`]s (one per `--observe` token) and the
//! curve of the geometry families.

use crate::families::{def, tokens, FAMILIES};
use crate::layout::{Layout, PrimitiveSet};
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
    /// The curve of `length_distortion` and `regions`.
    pub curve: Curve,
}

impl Observe {
    /// Nothing requested.
    pub const NONE: Observe = Observe {
        families: 0,
        curve: Curve::Segment,
    };

    /// These families, on the default curve.
    pub fn of(families: &[Family]) -> Self {
        families.iter().fold(Observe::NONE, |o, &f| o.with(f))
    }

    /// This selection and `family`.
    pub const fn with(self, family: Family) -> Self {
        Observe {
            families: self.families | 1 << family as u32,
            ..self
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
                    families: 0,
                    curve: self.curve,
                },
                |o, f| o.with(f),
            )
    }

    /// Parses a comma-separated list of `--observe` tokens (see [`crate::families`]).
    pub fn parse_list(s: &str) -> Result<Self, SpecError> {
        let mut o = Observe::default();
        for tok in s.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let t = tok.to_ascii_lowercase();
            let d = FAMILIES
                .iter()
                .find(|d| d.token == t || d.aliases.contains(&t.as_str()))
                .ok_or_else(|| SpecError::UnknownObservable(tok.to_string(), tokens()))?;
            o = o.with(d.family);
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
            .map(|f| def(f).primitive.len_f64(depth, k))
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
            m.serialize_entry(d.token, &self.has(d.family))?;
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
                    let f = FAMILIES
                        .iter()
                        .find(|d| d.token == k)
                        .ok_or_else(|| {
                            D::Error::custom(format!("unknown observable family '{k}'"))
                        })?
                        .family;
                    if on {
                        o = o.with(f);
                    }
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
        Text(String),
    }
}

impl fmt::Display for Observe {
    /// The `--observe` list that parses back to this selection.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t: Vec<&str> = self.families().map(|fam| def(fam).token).collect();
        f.write_str(&t.join(","))
    }
}

impl FromStr for Observe {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, SpecError> {
        Observe::parse_list(s)
    }
}

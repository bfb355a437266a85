//! `randnet theory`: every prediction randnet has for a network, without sampling.
//!
//! JSON: {"version", "spec", "inputs", "networks"?, "infinite_width": {"nngp[a,b]": v,
//! "ntk[a,b]": v} (readout kernels, a <= b), "finite_width": {observable → {statistic →
//! {"value", "kind", "sd_one_network"?, "networks_for_10pct"?, "stderr_at_networks"?,
//! "stderr_kind"?}}}, "bounds": {...}} with observables keyed as in `randnet sample`.
//!
//! The optional keys come from the observable's exact law where theory has one
//! (`randnet_theory::sampling`, docs/statistics.md "Exact standard errors from the law"):
//! `sd_one_network` = sqrt(lim M·Var) of the estimator, `networks_for_10pct` = the smallest M
//! with stderr <= 10 % of |value| (absent where the value is 0), `stderr_at_networks` = the
//! stderr at `--networks M`, `stderr_kind` = "exact" or "leading-order" (in 1/M).

use crate::args::{Format, TheoryArgs};
use anyhow::Result;
use randnet_problem::{NetworkSpec, Observe};
use randnet_sampler::inputs::resolve_inputs;
use randnet_theory::sampling::{estimator_law, stderr_is_exact, EstimatorLaw};
use randnet_theory::{predict, Kind, Prediction, STATISTICS};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// The relative standard error `networks_for_10pct` is computed for.
const REL_ERROR: f64 = 0.1;

/// One statistic's theory value and, where the observable's exact law is known, the sampling
/// law of its estimator.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StatTheory {
    pub value: f64,
    pub kind: Kind,
    /// sqrt(lim_{M→∞} M · Var(estimator)): the estimator's error scale per network.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sd_one_network: Option<f64>,
    /// The smallest M with stderr <= 10 % of |value| (absent where the value is 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networks_for_10pct: Option<u64>,
    /// The estimator's standard deviation over `--networks M` networks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr_at_networks: Option<f64>,
    /// "exact" (mean, variance, kappa3, kappa4) or "leading-order" (in 1/M).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stderr_kind: Option<&'static str>,
}

impl StatTheory {
    fn new(p: Prediction, law: Option<&EstimatorLaw>, stat: &str, networks: Option<u64>) -> Self {
        let mut t = StatTheory {
            value: p.value,
            kind: p.kind,
            sd_one_network: None,
            networks_for_10pct: None,
            stderr_at_networks: None,
            stderr_kind: None,
        };
        let Some(law) = law.filter(|_| p.kind == Kind::Exact) else {
            return t;
        };
        t.sd_one_network = law.sd_one_network(stat);
        if t.sd_one_network.is_none() {
            return t;
        }
        t.networks_for_10pct = law
            .networks_for_relative_error(stat, REL_ERROR)
            .map(|m| m as u64);
        t.stderr_at_networks = networks.and_then(|m| law.stderr(stat, m as f64));
        t.stderr_kind = stderr_is_exact(stat).map(|e| {
            if e {
                Kind::Exact.name()
            } else {
                Kind::LeadingOrder.name()
            }
        });
        t
    }
}

/// Everything `randnet theory` prints.
#[derive(Debug, Clone, Serialize)]
pub struct TheoryReport {
    pub version: &'static str,
    pub spec: NetworkSpec,
    pub inputs: Vec<Vec<f64>>,
    /// `--networks M`, the sample size of `stderr_at_networks`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub networks: Option<u64>,
    /// Readout NNGP K^{L+1} and NTK Θ^{L+1}, keyed "nngp[a,b]" / "ntk[a,b]" for a <= b.
    pub infinite_width: BTreeMap<String, f64>,
    /// observable → statistic → prediction (with its estimator's sampling law where exact).
    pub finite_width: BTreeMap<String, BTreeMap<String, StatTheory>>,
    /// Orders of magnitude that are not a statistic of one observable (kind "bound").
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub bounds: BTreeMap<String, BTreeMap<String, Prediction>>,
    #[serde(skip)]
    order: Vec<String>,
    #[serde(skip)]
    kernel_order: Vec<String>,
}

pub fn run(args: &TheoryArgs) -> Result<()> {
    print!("{}", render(args)?);
    Ok(())
}

/// The predictions `randnet theory` prints, in `--format`.
pub fn render(args: &TheoryArgs) -> Result<String> {
    let (input_spec, file_n0) = args.inputs.to_inputs()?;
    render_with_inputs(args, input_spec, file_n0)
}

/// As [`render`] with the inputs given apart from the input flags (the Python package's `x=`).
pub fn render_with_inputs(
    args: &TheoryArgs,
    input_spec: randnet_problem::InputSpec,
    file_n0: Option<usize>,
) -> Result<String> {
    let spec = args.spec.to_spec(file_n0)?;
    if spec.parameterization.is_mup() {
        anyhow::bail!(
            "randnet theory has no predictions for the {} parameterization (docs/training.md)",
            spec.parameterization
        );
    }
    input_spec.validate(spec.input_dim)?;
    let observe = Observe::parse_list(&args.observe)?;
    crate::sample::check_resources(&spec, input_spec.count(), &observe, None)?;
    let inputs = resolve_inputs(&input_spec, spec.input_dim, args.seed);
    // Kernels that overflowed (NaN, inf) or whose readout underflowed to 0 are no prediction.
    if let Some(t) = randnet_theory::cached_kernels(&spec, &inputs).trouble() {
        anyhow::bail!("{t}");
    }
    let report = build(spec, inputs, &observe, args.networks);
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Table => report.table(),
        Format::Csv => report.csv(),
    };
    Ok(text)
}

/// All predictions for `spec` at `inputs` for the observables in `observe`; standard errors at
/// `networks` networks where the law is exact.
pub fn build(
    spec: NetworkSpec,
    inputs: Vec<Vec<f64>>,
    observe: &Observe,
    networks: Option<u64>,
) -> TheoryReport {
    let k = inputs.len();
    let kern = randnet_theory::cached_kernels(&spec, &inputs);
    let mut infinite_width = BTreeMap::new();
    let mut kernel_order = Vec::new();
    for (name, m) in [("nngp", kern.readout_nngp()), ("ntk", kern.readout_ntk())] {
        for (a, row) in m.iter().enumerate() {
            for (b, &v) in row.iter().enumerate().skip(a) {
                let key = format!("{name}[{a},{b}]");
                infinite_width.insert(key.clone(), v);
                kernel_order.push(key);
            }
        }
    }
    let mut finite_width = BTreeMap::new();
    let mut order = Vec::new();
    for obs in observe.layout(&spec, k).observables() {
        let name = obs.to_string();
        let law = estimator_law(&spec, &inputs, obs);
        let stats: BTreeMap<String, StatTheory> = STATISTICS
            .iter()
            .filter_map(|s| {
                predict(&spec, &inputs, observe.curve, obs, s)
                    .ok()
                    .map(|p| (s.to_string(), StatTheory::new(p, law.as_ref(), s, networks)))
            })
            .collect();
        if !stats.is_empty() {
            finite_width.insert(name.clone(), stats);
            order.push(name);
        }
    }
    let mut bounds = BTreeMap::new();
    if observe.has(randnet_problem::Family::Ntk) {
        if let Some(p) = randnet_theory::ntk_second_moment_ratio(&spec) {
            for a in 0..k {
                let mut m = BTreeMap::new();
                m.insert("second_moment_ratio".to_string(), p);
                bounds.insert(format!("ntk[{a},{a}]"), m);
            }
        }
    }
    TheoryReport {
        version: env!("CARGO_PKG_VERSION"),
        spec,
        inputs,
        networks,
        infinite_width,
        finite_width,
        bounds,
        order,
        kernel_order,
    }
}

/// One output row.
struct Row {
    obs: String,
    stat: String,
    value: f64,
    kind: &'static str,
    sampling: Option<StatTheory>,
}

impl TheoryReport {
    fn rows(&self) -> Vec<Row> {
        let mut rows = Vec::new();
        for key in &self.kernel_order {
            rows.push(Row {
                obs: key.clone(),
                stat: "infinite_width".to_string(),
                value: self.infinite_width[key],
                kind: "infinite-width",
                sampling: None,
            });
        }
        for name in &self.order {
            for stat in STATISTICS {
                if let Some(p) = self.finite_width[name].get(stat) {
                    rows.push(Row {
                        obs: name.clone(),
                        stat: stat.to_string(),
                        value: p.value,
                        kind: p.kind.name(),
                        sampling: p.sd_one_network.is_some().then_some(*p),
                    });
                }
            }
        }
        for (name, m) in &self.bounds {
            for (stat, p) in m {
                rows.push(Row {
                    obs: name.clone(),
                    stat: stat.clone(),
                    value: p.value,
                    kind: p.kind.name(),
                    sampling: None,
                });
            }
        }
        rows
    }

    fn table(&self) -> String {
        let s = &self.spec;
        let mut out = String::new();
        let _ = writeln!(
            out,
            "randnet {} theory: n0={} widths={:?} n_out={} activation={} C_W={} C_b={} {} weights={}{} K={}",
            self.version,
            s.input_dim,
            s.hidden,
            s.output_dim,
            s.activation,
            s.cw,
            s.cb,
            s.parameterization,
            s.weights,
            s.residual
                .map(|r| format!(" residual={r}"))
                .unwrap_or_default(),
            self.inputs.len()
        );
        let se_head = self
            .networks
            .map(|m| format!("stderr@M={m}"))
            .unwrap_or_default();
        let head = format!(
            "{:<18} {:<20} {:>16} {:<15} {:>11} {:>11} {:>12}",
            "observable", "statistic", "theory", "kind", "sd(1 net)", "M for 10%", se_head
        );
        let _ = writeln!(out, "{}", head.trim_end());
        let mut any = false;
        for r in self.rows() {
            let (sd1, m10, se) = match &r.sampling {
                Some(t) => {
                    any = true;
                    let mark = if t.stderr_kind == Some("exact") {
                        ""
                    } else {
                        "~"
                    };
                    (
                        t.sd_one_network.map(sig4).unwrap_or_default(),
                        t.networks_for_10pct
                            .map(|m| format!("{mark}{}", fmt_count(m)))
                            .unwrap_or_else(|| "-".to_string()),
                        t.stderr_at_networks
                            .map(|v| format!("{mark}{}", sig4(v)))
                            .unwrap_or_default(),
                    )
                }
                None => Default::default(),
            };
            let line = format!(
                "{:<18} {:<20} {:>16} {:<15} {sd1:>11} {m10:>11} {se:>12}",
                r.obs,
                r.stat,
                fmt_num(r.value),
                r.kind
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
        if any {
            let _ = writeln!(
                out,
                "sd(1 net) = sqrt(M)*stderr as M -> inf; M for 10% = networks for stderr <= 10% of |theory| \
                 (- where theory is 0); from the exact law: exact in M for mean, variance, kappa3, kappa4, \
                 ~ = leading order in 1/M (docs/statistics.md)"
            );
        }
        out
    }

    fn csv(&self) -> String {
        let mut out = String::from(
            "observable,statistic,theory,theory_kind,sd_one_network,networks_for_10pct,stderr_at_networks,stderr_kind\n",
        );
        for r in self.rows() {
            let t = r.sampling.as_ref();
            let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
            let _ = writeln!(
                out,
                "\"{}\",{},{},{},{},{},{},{}",
                r.obs,
                r.stat,
                r.value,
                r.kind,
                opt(t.and_then(|t| t.sd_one_network)),
                t.and_then(|t| t.networks_for_10pct)
                    .map(|m| m.to_string())
                    .unwrap_or_default(),
                opt(t.and_then(|t| t.stderr_at_networks)),
                t.and_then(|t| t.stderr_kind).unwrap_or_default()
            );
        }
        out
    }
}

pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || (1e-3..1e6).contains(&v.abs()) {
        format!("{v:.6}")
    } else {
        format!("{v:.5e}")
    }
}

/// Four significant digits, as every table (scientific outside [1e-3, 1e5)).
fn sig4(v: f64) -> String {
    crate::output::fmt_sig(v, 4)
}

/// A network count: exact below 10^5, else four significant digits.
fn fmt_count(m: u64) -> String {
    if m < 100_000 {
        m.to_string()
    } else {
        sig4(m as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use randnet_problem::{Activation, Parameterization, WeightLaw};

    fn relu_spec() -> NetworkSpec {
        NetworkSpec::new(
            4,
            vec![8, 8, 8],
            1,
            Activation::Relu,
            None,
            0.0,
            Parameterization::Ntk,
            None,
            WeightLaw::Gaussian,
        )
        .unwrap()
    }

    /// Exact predictions carry the estimator's sampling law (from
    /// randnet_theory::sampling), others do not; the old keys stay.
    #[test]
    fn exact_predictions_carry_standard_errors() {
        let spec = relu_spec();
        let inputs = vec![vec![1.0, 0.5, -0.3, 0.2]];
        let observe = Observe::parse_list("output,ntk,sqnorm,jacobian").unwrap();
        let report = build(spec.clone(), inputs.clone(), &observe, Some(1000));
        let v = serde_json::to_value(&report).unwrap();
        assert_eq!(v["networks"], 1000);
        let k6 = &v["finite_width"]["output[0]"]["kappa6"];
        assert_eq!(k6["kind"], "exact");
        assert_eq!(k6["stderr_kind"], "leading-order");
        let law = estimator_law(&spec, &inputs, &randnet_problem::Observable::Output(0)).unwrap();
        assert_eq!(
            k6["networks_for_10pct"].as_u64().unwrap() as f64,
            law.networks_for_relative_error("kappa6", 0.1).unwrap()
        );
        assert_eq!(
            k6["stderr_at_networks"].as_f64().unwrap(),
            law.stderr("kappa6", 1000.0).unwrap()
        );
        assert_eq!(
            k6["sd_one_network"].as_f64().unwrap(),
            law.sd_one_network("kappa6").unwrap()
        );
        assert_eq!(
            v["finite_width"]["output[0]"]["kappa4"]["stderr_kind"],
            "exact"
        );
        // Zero value: spread, but no networks-for-10 %.
        let k3 = v["finite_width"]["output[0]"]["kappa3"]
            .as_object()
            .unwrap();
        assert!(k3.contains_key("stderr_at_networks") && !k3.contains_key("networks_for_10pct"));
        // The NTK has no exact law: only value and kind.
        let ntk = v["finite_width"]["ntk[0,0]"]["mean"].as_object().unwrap();
        assert_eq!(ntk.len(), 2, "{ntk:?}");
        for key in ["sqnorm[2,0]", "jacobian_norm[0]"] {
            assert!(v["finite_width"][key]["excess_kurtosis"]["networks_for_10pct"].is_u64());
        }
        let table = report.table();
        assert!(
            table.contains("M for 10%") && table.contains("stderr@M=1000"),
            "{table}"
        );
        let csv = report.csv();
        assert!(csv.starts_with(
            "observable,statistic,theory,theory_kind,sd_one_network,networks_for_10pct,stderr_at_networks,stderr_kind\n"
        ));
        // Without --networks: no stderr_at_networks, no top-level key.
        let v = serde_json::to_value(build(spec, inputs, &observe, None)).unwrap();
        assert!(v.get("networks").is_none());
        let k6 = v["finite_width"]["output[0]"]["kappa6"]
            .as_object()
            .unwrap();
        assert!(k6.contains_key("networks_for_10pct") && !k6.contains_key("stderr_at_networks"));
    }

    #[test]
    fn four_significant_digits() {
        assert_eq!(sig4(1.23456), "1.235");
        assert_eq!(sig4(0.00123456), "0.001235");
        assert_eq!(sig4(1.5e-5), "1.500e-5");
        assert_eq!(fmt_count(458), "458");
        assert_eq!(fmt_count(22501), "22501");
        assert_eq!(fmt_count(4_354_123), "4.354e6");
    }
}

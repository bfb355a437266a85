//! `randnet theory`: every prediction randnet has for a network, without sampling.
//!
//! JSON: {"version", "spec", "inputs", "infinite_width": {"nngp[a,b]": v, "ntk[a,b]": v} (readout
//! kernels, a <= b), "finite_width": {observable → {statistic → {"value", "kind"}}}, "bounds":
//! {...}} with observables keyed as in `randnet sample`.

use crate::cli::{Format, TheoryArgs};
use anyhow::Result;
use randnet_sampler::inputs::resolve_inputs;
use randnet_spec::{NetworkSpec, Observe};
use randnet_theory::{predict, Prediction, STATISTICS};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Everything `randnet theory` prints.
#[derive(Debug, Clone, Serialize)]
pub struct TheoryReport {
    pub version: &'static str,
    pub spec: NetworkSpec,
    pub inputs: Vec<Vec<f64>>,
    /// Readout NNGP K^{L+1} and NTK Θ^{L+1}, keyed "nngp[a,b]" / "ntk[a,b]" for a <= b.
    pub infinite_width: BTreeMap<String, f64>,
    /// observable → statistic → prediction.
    pub finite_width: BTreeMap<String, BTreeMap<String, Prediction>>,
    /// Orders of magnitude that are not a statistic of one observable (kind "bound").
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub bounds: BTreeMap<String, BTreeMap<String, Prediction>>,
    #[serde(skip)]
    order: Vec<String>,
    #[serde(skip)]
    kernel_order: Vec<String>,
}

pub fn run(args: &TheoryArgs) -> Result<()> {
    let (input_spec, file_n0) = args.inputs.to_inputs()?;
    let spec = args.spec.to_spec(file_n0)?;
    input_spec.validate(spec.input_dim)?;
    let observe = Observe::parse_list(&args.observe)?;
    let inputs = resolve_inputs(&input_spec, spec.input_dim, args.seed);
    let report = build(spec, inputs, &observe);
    let text = match args.format {
        Format::Json => serde_json::to_string_pretty(&report)? + "\n",
        Format::Table => report.table(),
        Format::Csv => report.csv(),
    };
    print!("{text}");
    Ok(())
}

/// All predictions for `spec` at `inputs` for the observables in `observe`.
pub fn build(spec: NetworkSpec, inputs: Vec<Vec<f64>>, observe: &Observe) -> TheoryReport {
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
    for name in observe.names(&spec, k) {
        let stats: BTreeMap<String, Prediction> = STATISTICS
            .iter()
            .filter_map(|s| predict(&spec, &inputs, &name, s).map(|p| (s.to_string(), p)))
            .collect();
        if !stats.is_empty() {
            finite_width.insert(name.clone(), stats);
            order.push(name);
        }
    }
    let mut bounds = BTreeMap::new();
    if observe.ntk {
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
        infinite_width,
        finite_width,
        bounds,
        order,
        kernel_order,
    }
}

impl TheoryReport {
    fn rows(&self) -> Vec<(String, String, f64, &'static str)> {
        let mut rows = Vec::new();
        for key in &self.kernel_order {
            rows.push((
                key.clone(),
                "infinite_width".to_string(),
                self.infinite_width[key],
                "infinite-width",
            ));
        }
        for name in &self.order {
            for stat in STATISTICS {
                if let Some(p) = self.finite_width[name].get(stat) {
                    rows.push((name.clone(), stat.to_string(), p.value, p.kind.name()));
                }
            }
        }
        for (name, m) in &self.bounds {
            for (stat, p) in m {
                rows.push((name.clone(), stat.clone(), p.value, p.kind.name()));
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
        let _ = writeln!(
            out,
            "{:<18} {:<20} {:>16} {:<15}",
            "observable", "statistic", "theory", "kind"
        );
        for (obs, stat, v, kind) in self.rows() {
            let _ = writeln!(out, "{obs:<18} {stat:<20} {:>16} {kind:<15}", fmt_num(v));
        }
        out
    }

    fn csv(&self) -> String {
        let mut out = String::from("observable,statistic,theory,theory_kind\n");
        for (obs, stat, v, kind) in self.rows() {
            let _ = writeln!(out, "\"{obs}\",{stat},{v},{kind}");
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

//! Output formats (DESIGN §6): a table for people, JSON with stable keys, tidy CSV; and atomic
//! file writes (temporary file in the same directory, then rename), so a failed or interrupted
//! run never leaves a half-written file.

use anyhow::{Context, Result};
use randnet_spec::{NetworkSpec, Observe};
use randnet_stats::Accumulator;
use serde::Deserialize;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::Path;

/// One estimate with its standard error and, where theory has one, its prediction.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub estimate: f64,
    pub stderr: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theory: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theory_kind: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub z: Option<f64>,
}

/// The result of `randnet sample`. Observables keep the engine's order in `order`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub version: &'static str,
    pub spec: NetworkSpec,
    pub inputs: Vec<Vec<f64>>,
    pub seed: u64,
    /// Networks drawn (diverged ones included).
    pub networks: u64,
    /// Networks whose values overflowed or turned NaN, excluded from every estimate.
    pub diverged: u64,
    pub backend: String,
    pub method: String,
    /// The GPU adapter, when the backend is "gpu".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    pub seconds: f64,
    pub observables: BTreeMap<String, BTreeMap<String, Entry>>,
    /// Which observable families were drawn (needed to merge shards).
    pub observe: Observe,
    /// The slice of the network range this run drew (`--shard I/N`, or everything).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shard: Option<ShardInfo>,
    /// The exact accumulator state, so shards can be merged (`randnet merge`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accumulator: Option<Accumulator>,
    #[serde(skip)]
    pub order: Vec<(String, Vec<String>)>,
}

/// Networks `first..end` of a run of `total` (shard `index` of `count`, 0-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShardInfo {
    pub index: u64,
    pub count: u64,
    pub first: u64,
    pub end: u64,
    pub total: u64,
}

impl Report {
    pub fn render(&self, format: crate::cli::Format) -> Result<String> {
        use crate::cli::Format;
        Ok(match format {
            Format::Json => serde_json::to_string_pretty(self)? + "\n",
            Format::Csv => self.csv(),
            Format::Table => self.table(),
        })
    }

    fn rows(&self) -> impl Iterator<Item = (&str, &str, &Entry)> {
        self.order.iter().flat_map(move |(obs, stats)| {
            stats
                .iter()
                .map(move |s| (obs.as_str(), s.as_str(), &self.observables[obs][s]))
        })
    }

    fn table(&self) -> String {
        let mut out = String::new();
        let s = &self.spec;
        let _ = writeln!(
            out,
            "randnet {}: {} networks ({} diverged), backend {}{}, method {}, {:.2} s",
            self.version,
            self.networks,
            self.diverged,
            self.backend,
            self.adapter
                .as_ref()
                .map(|a| format!(" ({a})"))
                .unwrap_or_default(),
            self.method,
            self.seconds
        );
        let _ = writeln!(
            out,
            "net: n0={} widths={} L={} n_out={} activation={} C_W={} C_b={} {} weights={}{} seed={} K={}",
            s.input_dim,
            width_label(s),
            s.depth(),
            s.output_dim,
            s.activation,
            s.cw,
            s.cb,
            s.parameterization,
            s.weights,
            s.residual.map(|r| format!(" residual={r}")).unwrap_or_default(),
            self.seed,
            self.inputs.len()
        );
        let _ = writeln!(
            out,
            "{:<18} {:<16} {:>14} {:>12} {:>14} {:<15} {:>8}",
            "observable", "statistic", "estimate", "stderr", "theory", "kind", "z"
        );
        for (obs, stat, e) in self.rows() {
            let _ = writeln!(
                out,
                "{:<18} {:<16} {:>14} {:>12} {:>14} {:<15} {:>8}",
                obs,
                stat,
                fmt_num(e.estimate),
                fmt_num(e.stderr),
                e.theory.map(fmt_num).unwrap_or_default(),
                e.theory_kind.unwrap_or(""),
                e.z.map(|z| format!("{z:.2}")).unwrap_or_default()
            );
        }
        out
    }

    fn csv(&self) -> String {
        let mut out = String::from(
            "observable,statistic,estimate,stderr,theory,theory_kind,z,n0,width,depth,depth_over_width,activation,cw,cb,networks,seed\n",
        );
        let s = &self.spec;
        let width = s.width();
        let dw = s.depth() as f64 / width as f64;
        for (obs, stat, e) in self.rows() {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(obs),
                stat,
                e.estimate,
                e.stderr,
                e.theory.map(|v| v.to_string()).unwrap_or_default(),
                e.theory_kind.unwrap_or(""),
                e.z.map(|v| v.to_string()).unwrap_or_default(),
                s.input_dim,
                width,
                s.depth(),
                dw,
                csv_field(&s.activation.to_string()),
                s.cw,
                s.cb,
                self.networks,
                self.seed
            );
        }
        out
    }
}

fn width_label(s: &NetworkSpec) -> String {
    match s.hidden.first() {
        Some(&w) if s.hidden.iter().all(|&v| v == w) => w.to_string(),
        _ => format!("{:?}", s.hidden),
    }
}

fn csv_field(s: &str) -> String {
    if s.contains(',') || s.contains('"') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn fmt_num(v: f64) -> String {
    if v == 0.0 || (1e-3..1e6).contains(&v.abs()) {
        format!("{v:.6}")
    } else {
        format!("{v:.5e}")
    }
}

/// Writes `contents` to `path` atomically: a temporary file beside it, then a rename.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    let tmp = temp_path(path);
    let result = (|| -> Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// The temporary sibling used while `path` is being written.
pub fn temp_path(path: &Path) -> std::path::PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

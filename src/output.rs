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

/// One estimate with its standard error, whether it can be trusted, and, where theory has one,
/// its prediction: a z-score against an exact prediction, a gap against any other kind
/// (docs/statistics.md, "Reliability" and "z or gap").
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub estimate: f64,
    pub stderr: f64,
    /// False when the sample is too small (or too heavy-tailed) for the estimate and its
    /// standard error to be read with normal theory.
    pub reliable: bool,
    /// Why not, when not reliable.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
    /// Kish's effective number of networks behind the estimate's highest power sum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_networks: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theory: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub theory_kind: Option<&'static str>,
    /// (estimate − theory)/stderr, only against an exact prediction.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub z: Option<f64>,
    /// estimate − theory, against a prediction that is not exact (infinite-width,
    /// leading-order, bound): a finite-width effect to measure, not a test.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap: Option<f64>,
    /// The standard error of the gap (the estimate's: theory carries no error).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gap_stderr: Option<f64>,
    /// gap / |theory| (absent when theory is 0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relative_gap: Option<f64>,
    /// The estimator's standard deviation at this number of networks computed from the exact
    /// law (where there is one), beside the jackknife's `stderr`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub law_stderr: Option<f64>,
}

impl Entry {
    /// An estimate, its reliability and the prediction beside it.
    pub fn new(
        e: randnet_stats::Estimate,
        rel: randnet_stats::Reliability,
        pred: Option<randnet_theory::Prediction>,
    ) -> Entry {
        let mut entry = Entry {
            estimate: e.estimate,
            stderr: e.stderr,
            reliable: rel.reliable,
            why: rel.why,
            effective_networks: rel.effective_networks.is_finite().then_some(rel.effective_networks),
            theory: None,
            theory_kind: None,
            z: None,
            gap: None,
            gap_stderr: None,
            relative_gap: None,
            law_stderr: None,
        };
        if let Some(p) = pred {
            entry.theory = Some(p.value);
            entry.theory_kind = Some(p.kind.name());
            let gap = e.estimate - p.value;
            if p.kind == randnet_theory::Kind::Exact {
                let z = gap / e.stderr;
                entry.z = z.is_finite().then_some(z);
            } else if gap.is_finite() {
                entry.gap = Some(gap);
                entry.gap_stderr = e.stderr.is_finite().then_some(e.stderr);
                entry.relative_gap = (p.value != 0.0).then(|| gap / p.value.abs());
            }
        }
        entry
    }

    /// The table's "z / gap" cell: a z only where it is evidence.
    fn test_cell(&self) -> String {
        match (self.z, self.gap) {
            (Some(z), _) if self.reliable => format!("z {}", fmt_sig(z, 3)),
            (Some(_), _) => "z withheld".into(),
            (None, Some(g)) => match self.relative_gap {
                Some(r) => format!("gap {} ({}%)", fmt_sig(g, 3), fmt_sig(100.0 * r, 2)),
                None => format!("gap {}", fmt_sig(g, 3)),
            },
            _ => String::new(),
        }
    }

    /// The table's "reliable" cell.
    fn reliable_cell(&self) -> String {
        if self.reliable {
            "yes".into()
        } else {
            match self.effective_networks {
                Some(n) => format!("NO (n_eff {})", fmt_sig(n, 2)),
                None => "NO".into(),
            }
        }
    }

    /// The CSV cells shared by `sample` and `sweep`, in [`ENTRY_CSV_HEADER`] order.
    pub fn csv_cells(&self) -> String {
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        format!(
            "{},{},{},{},{},{},{},{},{},{}",
            self.estimate,
            self.stderr,
            self.reliable,
            opt(self.effective_networks),
            opt(self.theory),
            self.theory_kind.unwrap_or(""),
            opt(self.z),
            opt(self.gap),
            opt(self.relative_gap),
            opt(self.law_stderr),
        )
    }
}

/// The CSV columns of an [`Entry`].
pub const ENTRY_CSV_HEADER: &str =
    "estimate,stderr,reliable,effective_networks,theory,theory_kind,z,gap,relative_gap,law_stderr";

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
    /// Extra lines under the table (planning figures from the exact law).
    #[serde(skip)]
    pub footer: Vec<String>,
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
            "{:<18} {:<17} {:>11} {:>10} {:>11} {:<15} {:<22} {}",
            "observable", "statistic", "estimate", "stderr", "theory", "kind", "z / gap", "reliable"
        );
        let mut why: Vec<String> = Vec::new();
        for (obs, stat, e) in self.rows() {
            let _ = writeln!(
                out,
                "{:<18} {:<17} {:>11} {:>10} {:>11} {:<15} {:<22} {}",
                obs,
                stat,
                fmt_sig(e.estimate, 5),
                fmt_sig(e.stderr, 3),
                e.theory.map(|v| fmt_sig(v, 5)).unwrap_or_default(),
                e.theory_kind.unwrap_or(""),
                e.test_cell(),
                e.reliable_cell()
            );
            if let Some(w) = &e.why {
                if e.z.is_some() {
                    why.push(format!("  {obs} {stat}: {w}"));
                }
            }
        }
        let _ = writeln!(
            out,
            "z: only against exact predictions, and only where the estimate is reliable; gap = estimate - theory for other kinds (a finite-width effect, not a test)."
        );
        if !why.is_empty() {
            let _ = writeln!(
                out,
                "z withheld ({} estimates tested against exact theory are not reliable at this sample size):",
                why.len()
            );
            for w in why.iter().take(8) {
                let _ = writeln!(out, "{w}");
            }
            if why.len() > 8 {
                let _ = writeln!(out, "  ... and {} more (see the JSON output's \"why\")", why.len() - 8);
            }
        }
        for line in &self.footer {
            let _ = writeln!(out, "{line}");
        }
        out
    }

    fn csv(&self) -> String {
        let mut out = format!(
            "observable,statistic,{ENTRY_CSV_HEADER},n0,width,depth,depth_over_width,activation,cw,cb,networks,seed\n"
        );
        let s = &self.spec;
        let width = s.width();
        let dw = s.depth() as f64 / width as f64;
        for (obs, stat, e) in self.rows() {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{},{},{}",
                csv_field(obs),
                stat,
                e.csv_cells(),
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

/// `v` with `digits` significant digits: fixed notation for 1e-3 <= |v| < 1e5, scientific
/// otherwise, so no value is wider than about 11 characters and columns never break.
pub fn fmt_sig(v: f64, digits: usize) -> String {
    let digits = digits.max(1);
    if v == 0.0 {
        return "0".into();
    }
    if !v.is_finite() {
        return format!("{v}");
    }
    let mag = v.abs().log10().floor() as i32;
    if (-3..5).contains(&mag) {
        let decimals = (digits as i32 - 1 - mag).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.prec$e}", prec = digits - 1)
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

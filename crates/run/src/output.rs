//! Output formats (README, docs/statistics.md): a table for people, JSON with stable keys, tidy CSV; and atomic
//! file writes (temporary file in the same directory, then rename), so a failed or interrupted
//! run never leaves a half-written file.

use anyhow::{Context, Result};
use randnet_problem::{NetworkSpec, Observe};
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// NaN (written as null) where there is no estimate.
    #[serde(deserialize_with = "nan_if_null")]
    pub estimate: f64,
    #[serde(deserialize_with = "nan_if_null")]
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
    pub theory_kind: Option<String>,
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
            effective_networks: rel
                .effective_networks
                .is_finite()
                .then_some(rel.effective_networks),
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
            entry.theory_kind = Some(p.kind.name().to_string());
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
            self.theory_kind.as_deref().unwrap_or(""),
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

/// Reads a number that JSON may hold as null (serde_json writes NaN as null) as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// The result of `randnet sample`. Observables keep the engine's order in `order`. Written as
/// JSON with `format` beside these fields, and read back typed with [`Report::from_json`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Report {
    pub version: String,
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
    /// Networks without a value of an observable (those a network may lack), where any; its
    /// estimates are conditional on the value existing.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub undefined: BTreeMap<String, u64>,
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

/// A JSON document's format version, read before the rest.
#[derive(Deserialize)]
struct FormatOnly {
    format: Option<u32>,
}

impl Report {
    /// A `randnet sample --format json` result read back: the format version checked, the
    /// accumulator validated, the display order rebuilt (observables by name, statistics in
    /// [`randnet_stats::Statistic`] order).
    pub fn from_json(text: &str) -> Result<Report> {
        let f: FormatOnly = serde_json::from_str(text).context("not JSON")?;
        match f.format {
            Some(v) if v == FORMAT => {}
            Some(v) => anyhow::bail!("format {v}; this randnet reads format {FORMAT}"),
            None => anyhow::bail!("no \"format\" field: not a randnet JSON result"),
        }
        let mut r: Report = serde_json::from_str(text).context("not a sample result")?;
        if let Some(acc) = &r.accumulator {
            acc.validate()
                .map_err(|e| anyhow::anyhow!("accumulator: {e}"))?;
        }
        let rank = |s: &str| {
            randnet_stats::Statistic::EVERY
                .iter()
                .position(|t| t.name() == s)
                .unwrap_or(usize::MAX)
        };
        r.order = r
            .observables
            .iter()
            .map(|(name, stats)| {
                let mut names: Vec<String> = stats.keys().cloned().collect();
                names.sort_by_key(|s| (rank(s), s.clone()));
                (name.clone(), names)
            })
            .collect();
        Ok(r)
    }
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
    pub fn render(&self, format: crate::args::Format) -> Result<String> {
        use crate::args::Format;
        Ok(match format {
            Format::Json => {
                #[derive(Serialize)]
                struct Versioned<'a> {
                    format: u32,
                    #[serde(flatten)]
                    report: &'a Report,
                }
                serde_json::to_string_pretty(&Versioned {
                    format: FORMAT,
                    report: self,
                })? + "\n"
            }
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

    pub fn table(&self) -> String {
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
        // The observable column as wide as the longest name (at least 18).
        let w = self
            .rows()
            .map(|(o, ..)| o.len())
            .max()
            .unwrap_or(0)
            .max(18);
        let _ = writeln!(
            out,
            "{:<w$} {:<17} {:>11} {:>10} {:>11} {:<15} {:<22} {}",
            "observable",
            "statistic",
            "estimate",
            "stderr",
            "theory",
            "kind",
            "z / gap",
            "reliable"
        );
        let mut why: Vec<String> = Vec::new();
        for (obs, stat, e) in self.rows() {
            let _ = writeln!(
                out,
                "{:<w$} {:<17} {:>11} {:>10} {:>11} {:<15} {:<22} {}",
                obs,
                stat,
                fmt_sig(e.estimate, 5),
                fmt_sig(e.stderr, 3),
                e.theory.map(|v| fmt_sig(v, 5)).unwrap_or_default(),
                e.theory_kind.as_deref().unwrap_or(""),
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
                let _ = writeln!(
                    out,
                    "  ... and {} more (see the JSON output's \"why\")",
                    why.len() - 8
                );
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

/// The version of every JSON file randnet reads back (sample and sweep results, checkpoints):
/// the `"format"` field. Files without it were written by an older randnet and are refused.
pub const FORMAT: u32 = 2;

/// A temporary file that is removed when dropped unless [`TempFile::commit`] renamed it into
/// place: whatever fails (create, write, flush, sync, rename, a panic), nothing is left behind.
pub struct TempFile {
    pub path: std::path::PathBuf,
    done: bool,
}

impl TempFile {
    /// Creates a fresh temporary file beside `target` (`.randnet-<pid>-<counter>.tmp`).
    pub fn create(target: &Path) -> std::io::Result<(TempFile, std::fs::File)> {
        // A stale file of a crashed run with the same pid is skipped, never truncated.
        let mut tries = 0;
        loop {
            let path = temp_path(target);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(f) => return Ok((TempFile { path, done: false }, f)),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 100 => {
                    tries += 1
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Renames the temporary file onto `target`.
    pub fn commit(mut self, target: &Path) -> std::io::Result<()> {
        std::fs::rename(&self.path, target)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Writes `contents` to `path` atomically: a temporary file beside it, then a rename.
pub fn write_atomic(path: &Path, contents: &[u8]) -> Result<()> {
    write_atomic_with(path, |f| {
        f.write_all(contents)?;
        f.sync_all()
    })
}

/// [`write_atomic`] with the writing step given (so tests can make it fail).
fn write_atomic_with(
    path: &Path,
    write: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> Result<()> {
    let result = (|| -> std::io::Result<()> {
        let (tmp, mut f) = TempFile::create(path)?;
        write(&mut f)?;
        drop(f);
        tmp.commit(path)
    })();
    result.with_context(|| format!("cannot write {}", path.display()))
}

/// The temporary sibling used while `path` is being written (paths.rs).
pub fn temp_path(path: &Path) -> std::path::PathBuf {
    crate::paths::temp_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn write_atomic_leaves_no_temporary_file_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.json");
        // The final flush fails (as on a full disk).
        let e = write_atomic_with(&target, |f| {
            f.write_all(b"partial")?;
            Err(std::io::Error::other("No space left on device"))
        });
        assert!(e.is_err());
        assert!(
            leftovers(dir.path()).is_empty(),
            "{:?}",
            leftovers(dir.path())
        );
        // The rename fails (the target is a non-empty directory).
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(sub.join("f"), b"x").unwrap();
        assert!(write_atomic(&sub, b"x").is_err());
        assert_eq!(leftovers(dir.path()), vec!["sub".to_string()]);
        // A panic while writing.
        let t2 = target.clone();
        let r = std::panic::catch_unwind(move || {
            let _ = write_atomic_with(&t2, |_| panic!("boom"));
        });
        assert!(r.is_err());
        assert_eq!(leftovers(dir.path()), vec!["sub".to_string()]);
        write_atomic(&target, b"ok").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"ok");
    }
}

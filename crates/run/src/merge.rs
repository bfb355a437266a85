//! `randnet merge FILES... --output FILE`: combines the JSON outputs of `sample --shard I/N` (or
//! of `sweep --shard I/N`) into the result of one run over all their networks. Accumulators are
//! exact power sums, so the merge is exact up to the order of floating-point additions (within
//! 1e-12 relative of a single run; docs/cluster.md). Files from different specs, inputs, seeds,
//! observables or sweep points are refused, and so are overlapping shards.

use crate::args::MergeArgs;
use crate::output::{write_atomic, ShardInfo, FORMAT};
use crate::sample::{build_report_named, Drawn};
use crate::sweep::{PointReport, SweepResult};
use anyhow::{bail, Context, Result};
use randnet_problem::{NetworkSpec, Observe};
use randnet_sampler::Problem;
use randnet_stats::Accumulator;
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::Value;

/// A `sample` result, or one point of a `sweep` result, as written with `--format json`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportIn {
    #[serde(default)]
    #[allow(dead_code)]
    format: Option<u32>,
    #[allow(dead_code)]
    version: String,
    spec: NetworkSpec,
    inputs: Vec<Vec<f64>>,
    seed: u64,
    networks: u64,
    diverged: u64,
    backend: String,
    method: String,
    #[serde(default)]
    #[allow(dead_code)]
    adapter: Option<String>,
    seconds: Option<f64>,
    #[allow(dead_code)]
    observables: IgnoredAny,
    observe: Observe,
    /// Recomputed from the accumulator.
    #[serde(default)]
    #[allow(dead_code)]
    undefined: Option<IgnoredAny>,
    #[serde(default)]
    shard: Option<ShardInfo>,
    #[serde(default)]
    accumulator: Option<Accumulator>,
    // The fields of a sweep point.
    #[serde(default)]
    #[allow(dead_code)]
    width: Option<usize>,
    #[serde(default)]
    #[allow(dead_code)]
    depth: Option<usize>,
    #[serde(default)]
    #[allow(dead_code)]
    depth_over_width: Option<f64>,
    #[serde(default)]
    ratio: Option<f64>,
}

/// A `sweep` result.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SweepIn {
    #[allow(dead_code)]
    format: u32,
    #[allow(dead_code)]
    version: String,
    #[allow(dead_code)]
    kind: String,
    seed: u64,
    networks: u64,
    points: Vec<ReportIn>,
    #[serde(default)]
    extrapolations: Option<IgnoredAny>,
    #[serde(default)]
    exponents: Option<IgnoredAny>,
}

/// One shard's run of one problem, read back from JSON and validated.
struct Part {
    problem: Problem,
    shard: ShardInfo,
    acc: Accumulator,
    diverged: u64,
    seconds: f64,
    backend: String,
    method: String,
}

fn part(r: ReportIn, file: &str) -> Result<Part> {
    let shard = r
        .shard
        .with_context(|| format!("{file}: no 'shard' (not written by sample or sweep?)"))?;
    let acc = r.accumulator.with_context(|| {
        format!("{file}: no 'accumulator' (not written by sample or sweep with --format json?)")
    })?;
    acc.validate().map_err(|e| anyhow::anyhow!("{file}: {e}"))?;
    if shard.count == 0
        || shard.index >= shard.count
        || shard.first > shard.end
        || shard.end > shard.total
    {
        bail!("{file}: invalid shard {shard:?}");
    }
    let drawn = shard.end - shard.first;
    if acc.count().checked_add(r.diverged) != Some(drawn) || r.networks != drawn {
        bail!(
            "{file}: inconsistent counts: {} networks accumulated, {} diverged, {} reported, but the shard covers {drawn}",
            acc.count(),
            r.diverged,
            r.networks
        );
    }
    Ok(Part {
        problem: Problem {
            spec: r.spec,
            inputs: r.inputs,
            observe: r.observe,
            seed: r.seed,
        },
        shard,
        acc,
        diverged: r.diverged,
        seconds: r.seconds.unwrap_or(0.0),
        backend: r.backend,
        method: r.method,
    })
}

/// Merges shards of one problem into a report over all their networks.
fn merge_parts(mut parts: Vec<(Part, String)>) -> Result<crate::output::Report> {
    parts.sort_by_key(|(p, _)| p.shard.first);
    let (first, first_file) = &parts[0];
    for (p, file) in &parts[1..] {
        let field = [
            ("spec", p.problem.spec != first.problem.spec),
            ("inputs", p.problem.inputs != first.problem.inputs),
            ("observe", p.problem.observe != first.problem.observe),
            ("seed", p.problem.seed != first.problem.seed),
            ("networks (total)", p.shard.total != first.shard.total),
            ("backend", p.backend != first.backend),
            ("method", p.method != first.method),
        ]
        .into_iter()
        .find(|(_, d)| *d);
        if let Some((field, _)) = field {
            let detail = match field {
                "backend" => format!(" ({} vs {})", p.backend, first.backend),
                "method" => format!(" ({} vs {})", p.method, first.method),
                _ => String::new(),
            };
            bail!("{file} and {first_file} come from different specs ({field} differs{detail}): they are not shards of one run");
        }
    }
    for w in parts.windows(2) {
        if w[1].0.shard.first < w[0].0.shard.end {
            bail!(
                "{} and {} overlap (networks {}..{} and {}..{})",
                w[0].1,
                w[1].1,
                w[0].0.shard.first,
                w[0].0.shard.end,
                w[1].0.shard.first,
                w[1].0.shard.end
            );
        }
        if w[1].0.shard.first > w[0].0.shard.end {
            bail!(
                "networks {}..{} are missing between {} and {}: merge contiguous shards (the result could not say which networks it holds)",
                w[0].0.shard.end,
                w[1].0.shard.first,
                w[0].1,
                w[1].1
            );
        }
    }
    let mut acc = first.acc.clone();
    let mut diverged = first.diverged;
    let mut seconds = first.seconds;
    for (p, file) in &parts[1..] {
        acc.merge(&p.acc)
            .map_err(|e| anyhow::anyhow!("{file}: cannot merge with {first_file}: {e}"))?;
        diverged += p.diverged;
        seconds += p.seconds;
    }
    let drawn = Drawn {
        networks: acc.count() + diverged,
        acc,
        diverged,
        seconds,
    };
    let mut report = build_report_named(&first.problem, &drawn, &first.backend, &first.method);
    let last = &parts[parts.len() - 1].0;
    let complete = first.shard.first == 0 && last.shard.end == first.shard.total;
    // The shards are contiguous: networks first..end. A complete set is shard 0 of 1; a partial
    // one keeps its range (what later merges compare) and the first shard's I/N.
    report.shard = Some(ShardInfo {
        index: if complete { 0 } else { first.shard.index },
        count: if complete { 1 } else { first.shard.count },
        first: first.shard.first,
        end: last.shard.end,
        total: first.shard.total,
    });
    if !complete {
        eprintln!(
            "warning: the merged shards cover networks {}..{} of {}",
            first.shard.first, last.shard.end, first.shard.total
        );
    }
    Ok(report)
}

enum Doc {
    Sample(Box<ReportIn>),
    Sweep(SweepIn),
}

fn read_doc(path: &std::path::Path) -> Result<Doc> {
    let file = path.display();
    // Only regular files: a FIFO nobody writes would block the read where Ctrl-C cannot reach.
    let meta = std::fs::metadata(path).with_context(|| format!("cannot read {file}"))?;
    if !meta.is_file() {
        bail!("cannot read {file}: not a regular file (a FIFO, device or directory)");
    }
    let text = std::fs::read(path).with_context(|| format!("cannot read {file}"))?;
    let v: Value = serde_json::from_slice(&text).with_context(|| format!("{file}: not JSON"))?;
    match v.get("format").and_then(Value::as_u64) {
        Some(f) if f == FORMAT as u64 => {}
        Some(f) => bail!("{file}: format {f}; this randnet reads format {FORMAT}"),
        None => bail!(
            "{file}: no \"format\" field: written by an older randnet (or not a randnet JSON result); rerun it with this version"
        ),
    }
    let is_sweep = v.get("kind").and_then(Value::as_str) == Some("sweep");
    // A comparison is never sharded (sweep refuses --shard with a list), so it is no shard.
    if is_sweep && v.get("parameterizations").is_some() {
        bail!("{file}: a sweep comparing several parameterizations is not a shard: merge shards of one parameterization");
    }
    Ok(if is_sweep {
        Doc::Sweep(
            serde_json::from_value(v).with_context(|| format!("{file}: not a sweep result"))?,
        )
    } else {
        Doc::Sample(Box::new(
            serde_json::from_value(v).with_context(|| format!("{file}: not a sample result"))?,
        ))
    })
}

pub fn run(args: &MergeArgs) -> Result<()> {
    if args.files.is_empty() {
        bail!("merge needs at least one file");
    }
    // The output before anything is read: never one of the shards (paths.rs).
    if let Some(out) = &args.output {
        let inputs: Vec<crate::paths::Input> = args
            .files
            .iter()
            .map(|f| crate::paths::Input::new("the merged file", f))
            .collect();
        crate::paths::check(&[crate::paths::Output::new("--output", out)], &inputs)?;
    }
    let text = merged(&args.files)?.render(args.format)?;
    match &args.output {
        Some(path) => write_atomic(path, text.as_bytes()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// The merge of sample shards (one report) or of sweep shards (one sweep).
pub enum Merged {
    Sample(Box<crate::output::Report>),
    Sweep(SweepResult),
}

impl Merged {
    pub fn render(&self, format: crate::args::Format) -> Result<String> {
        match self {
            Merged::Sample(r) => r.render(format),
            Merged::Sweep(s) => crate::sweep::render(s, format),
        }
    }
}

/// Reads and merges the JSON outputs of sharded sample or sweep runs.
pub fn merged(files: &[std::path::PathBuf]) -> Result<Merged> {
    if files.is_empty() {
        bail!("merge needs at least one file");
    }
    let mut docs = Vec::new();
    for f in files {
        docs.push((read_doc(f)?, f.display().to_string()));
    }
    let (sweeps, samples): (Vec<_>, Vec<_>) = docs
        .into_iter()
        .partition(|(d, _)| matches!(d, Doc::Sweep(_)));
    if !sweeps.is_empty() && !samples.is_empty() {
        bail!(
            "cannot merge sweep results ({}) with sample results ({})",
            sweeps[0].1,
            samples[0].1
        );
    }
    if !sweeps.is_empty() {
        let docs: Vec<(SweepIn, String)> = sweeps
            .into_iter()
            .map(|(d, f)| match d {
                Doc::Sweep(s) => (s, f),
                Doc::Sample(_) => unreachable!(),
            })
            .collect();
        let n_points = docs[0].0.points.len();
        for (d, file) in &docs {
            if d.points.len() != n_points {
                bail!(
                    "{file} has {} sweep points, {} has {n_points}",
                    d.points.len(),
                    docs[0].1
                );
            }
        }
        let seed = docs[0].0.seed;
        let networks = docs[0].0.networks;
        let extrapolate = docs[0].0.extrapolations.is_some();
        let fit_exponents = docs[0].0.exponents.is_some();
        let mut columns: Vec<Vec<(Part, String)>> = (0..n_points).map(|_| Vec::new()).collect();
        let mut ratios = Vec::new();
        for (k, (d, file)) in docs.into_iter().enumerate() {
            for (i, r) in d.points.into_iter().enumerate() {
                if k == 0 {
                    ratios.push(r.ratio);
                }
                let p = part(r, &format!("{file} (point {i})"))?;
                columns[i].push((p, file.clone()));
            }
        }
        let mut points = Vec::new();
        for (i, parts) in columns.into_iter().enumerate() {
            let report = merge_parts(parts)?;
            let (width, depth) = (report.spec.width(), report.spec.depth());
            points.push(PointReport {
                parameterization: None,
                width,
                depth,
                depth_over_width: depth as f64 / width as f64,
                ratio: ratios[i],
                report,
            });
        }
        let result = SweepResult {
            format: FORMAT,
            version: env!("CARGO_PKG_VERSION"),
            kind: "sweep",
            seed,
            networks,
            parameterizations: None,
            // Shards written with --extrapolate: the fits again, over all the networks.
            extrapolations: extrapolate.then(|| crate::extrapolate::extrapolate(&points)),
            exponents: fit_exponents.then(|| crate::exponents::fit(&points)),
            points,
        };
        return Ok(Merged::Sweep(result));
    }
    let parts = samples
        .into_iter()
        .map(|(d, f)| match d {
            Doc::Sample(r) => Ok((part(*r, &f)?, f)),
            Doc::Sweep(_) => unreachable!(),
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Merged::Sample(Box::new(merge_parts(parts)?)))
}

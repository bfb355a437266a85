//! `randnet merge FILES... --output FILE`: combines the JSON outputs of `sample --shard I/N` (or
//! of `sweep --shard I/N`) into the result of one run over all their networks. Accumulators are
//! exact power sums, so the merge is exact up to the order of floating-point additions (within
//! 1e-12 relative of a single run; docs/cluster.md). Files from different specs, inputs, seeds,
//! observables or sweep points are refused, and so are overlapping shards.

use crate::cli::{Format, MergeArgs};
use crate::output::{write_atomic, ShardInfo};
use crate::sample::{build_report_named, Drawn};
use crate::sweep::{write_result, PointReport, SweepResult};
use anyhow::{bail, Context, Result};
use randnet_sampler::Problem;
use randnet_spec::{NetworkSpec, Observe};
use randnet_stats::Accumulator;
use serde_json::Value;

/// One shard's run of one problem, read back from JSON.
struct Part {
    problem: Problem,
    shard: ShardInfo,
    acc: Accumulator,
    diverged: u64,
    seconds: f64,
    backend: String,
    method: String,
}

fn field<'a>(v: &'a Value, name: &str, file: &str) -> Result<&'a Value> {
    v.get(name).with_context(|| {
        format!("{file}: no '{name}' (not a randnet JSON result written with --format json?)")
    })
}

fn part(v: &Value, file: &str) -> Result<Part> {
    let spec: NetworkSpec = serde_json::from_value(field(v, "spec", file)?.clone())
        .with_context(|| format!("{file}: unreadable spec"))?;
    let inputs: Vec<Vec<f64>> = serde_json::from_value(field(v, "inputs", file)?.clone())?;
    let observe: Observe = serde_json::from_value(field(v, "observe", file)?.clone())?;
    let seed = field(v, "seed", file)?.as_u64().context("seed")?;
    let shard: ShardInfo = serde_json::from_value(field(v, "shard", file)?.clone())
        .with_context(|| format!("{file}: unreadable shard"))?;
    let acc: Accumulator = serde_json::from_value(field(v, "accumulator", file)?.clone())
        .with_context(|| format!("{file}: unreadable accumulator"))?;
    Ok(Part {
        problem: Problem {
            spec,
            inputs,
            observe,
            seed,
        },
        shard,
        acc,
        diverged: field(v, "diverged", file)?.as_u64().unwrap_or(0),
        seconds: field(v, "seconds", file)?.as_f64().unwrap_or(0.0),
        backend: field(v, "backend", file)?
            .as_str()
            .unwrap_or("")
            .to_string(),
        method: field(v, "method", file)?.as_str().unwrap_or("").to_string(),
    })
}

/// Merges shards of one problem into a report over all their networks.
fn merge_parts(mut parts: Vec<(Part, String)>) -> Result<crate::output::Report> {
    parts.sort_by_key(|(p, _)| p.shard.first);
    let (first, first_file) = &parts[0];
    for (p, file) in &parts[1..] {
        if p.problem != first.problem || p.shard.total != first.shard.total {
            bail!(
                "{file} and {first_file} come from different specs (network, inputs, observables, seed or --networks differ)"
            );
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
    }
    let mut acc = first.acc.clone();
    let mut diverged = first.diverged;
    let mut seconds = first.seconds;
    for (p, file) in &parts[1..] {
        acc.merge(&p.acc)
            .map_err(|e| anyhow::anyhow!("{file}: cannot merge: {e}"))?;
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
    let contiguous = parts
        .windows(2)
        .all(|w| w[0].0.shard.end == w[1].0.shard.first);
    report.shard = Some(ShardInfo {
        index: 0,
        count: 1,
        first: first.shard.first,
        end: last.shard.end,
        total: first.shard.total,
    });
    if !contiguous || first.shard.first != 0 || last.shard.end != first.shard.total {
        eprintln!(
            "warning: the merged shards cover {} of {} networks",
            drawn.networks, first.shard.total
        );
    }
    Ok(report)
}

pub fn run(args: &MergeArgs) -> Result<()> {
    if args.files.is_empty() {
        bail!("merge needs at least one file");
    }
    let mut docs = Vec::new();
    for f in &args.files {
        let text = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        let v: Value =
            serde_json::from_slice(&text).with_context(|| format!("{}: not JSON", f.display()))?;
        docs.push((v, f.display().to_string()));
    }
    let is_sweep = |v: &Value| v.get("kind").and_then(Value::as_str) == Some("sweep");
    if docs.iter().all(|(v, _)| is_sweep(v)) {
        let n_points = docs[0].0["points"].as_array().map(Vec::len).unwrap_or(0);
        let mut points = Vec::new();
        for i in 0..n_points {
            let mut parts = Vec::new();
            for (v, file) in &docs {
                let pts = v["points"].as_array().context("points")?;
                if pts.len() != n_points {
                    bail!(
                        "{file} has {} sweep points, {} has {n_points}",
                        pts.len(),
                        docs[0].1
                    );
                }
                parts.push((part(&pts[i], file)?, file.clone()));
            }
            let report = merge_parts(parts)?;
            let (width, depth) = (report.spec.width(), report.spec.depth());
            points.push(PointReport {
                width,
                depth,
                depth_over_width: depth as f64 / width as f64,
                ratio: docs[0].0["points"][i].get("ratio").and_then(Value::as_f64),
                report,
            });
        }
        let result = SweepResult {
            version: env!("CARGO_PKG_VERSION"),
            kind: "sweep",
            seed: docs[0].0["seed"].as_u64().unwrap_or(0),
            networks: docs[0].0["networks"].as_u64().unwrap_or(0),
            // Shards written with --extrapolate: the fits again, over all the networks.
            extrapolations: docs[0]
                .0
                .get("extrapolations")
                .is_some()
                .then(|| crate::extrapolate::extrapolate(&points)),
            points,
        };
        return write_result(&result, args.format, args.output.as_deref());
    }
    if docs.iter().any(|(v, _)| is_sweep(v)) {
        bail!("cannot merge sweep results with sample results");
    }
    let parts = docs
        .iter()
        .map(|(v, f)| Ok((part(v, f)?, f.clone())))
        .collect::<Result<Vec<_>>>()?;
    let report = merge_parts(parts)?;
    let text = report.render(args.format)?;
    match &args.output {
        Some(path) => write_atomic(path, text.as_bytes())?,
        None => print!("{text}"),
    }
    let _ = Format::Json;
    Ok(())
}

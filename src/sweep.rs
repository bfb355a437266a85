//! `randnet sweep`: the same statistics across widths and depths (or depth-to-width ratios),
//! with one seed scheme at every point, progress with ETA, atomic checkpoints every few seconds,
//! `--resume` after a kill, Ctrl-C that saves before exiting, shards, tidy CSV/JSON and plots.
//!
//! Every point accumulates its networks in index order, and a checkpoint holds the exact
//! accumulator state, so a resumed sweep gives bitwise the estimates of an uninterrupted one.

use crate::cli::{Format, SweepArgs};
use crate::output::{write_atomic, Entry, Report, ShardInfo, ENTRY_CSV_HEADER};
use crate::sample::{
    advance, build_report_named, make_sampler, problem_from, progress_bar, Control, Progress,
};
use anyhow::{bail, Context, Result};
use randnet_sampler::Problem;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One (width, depth) point of a sweep.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Point {
    pub width: usize,
    pub depth: usize,
}

/// What a checkpoint is for: the sweep's defining arguments (a resumed run must match).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Key {
    spec: randnet_spec::NetworkSpec,
    inputs: Vec<Vec<f64>>,
    observe: randnet_spec::Observe,
    seed: u64,
    networks: u64,
    shard: ShardInfo,
    points: Vec<Point>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Checkpoint {
    key: Key,
    /// One entry per point started so far (in order).
    progress: Vec<Progress>,
}

/// The result of a sweep: one report per point.
#[derive(Debug, Clone, Serialize)]
pub struct SweepResult {
    pub version: &'static str,
    pub kind: &'static str,
    pub seed: u64,
    pub networks: u64,
    pub points: Vec<PointReport>,
    /// `--extrapolate`: the fits a + b/n at every depth or ratio (src/extrapolate.rs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extrapolations: Option<Vec<crate::extrapolate::Extrapolation>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PointReport {
    pub width: usize,
    pub depth: usize,
    pub depth_over_width: f64,
    /// The nominal `--ratios` value of the point (L = round(ratio * width)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    #[serde(flatten)]
    pub report: Report,
}

pub fn points(args: &SweepArgs) -> Result<Vec<Point>> {
    let widths = parse_list::<usize>("--widths", args.sample.spec.widths.as_deref())?;
    if widths.iter().any(|&w| w == 0) {
        bail!("--widths: every width must be a positive integer");
    }
    let mut pts = Vec::new();
    match (&args.depths, &args.ratios) {
        (Some(_), Some(_)) => bail!("give --depths or --ratios, not both"),
        (None, None) => bail!("a sweep needs --depths LIST or --ratios LIST"),
        (Some(d), None) => {
            let depths = parse_list::<usize>("--depths", Some(d))?;
            for &w in &widths {
                for &l in &depths {
                    pts.push(Point { width: w, depth: l });
                }
            }
        }
        (None, Some(r)) => {
            let ratios = parse_list::<f64>("--ratios", Some(r))?;
            if ratios.iter().any(|r| !r.is_finite() || *r < 0.0) {
                bail!("--ratios: every ratio must be a finite number >= 0");
            }
            for &w in &widths {
                for &r in &ratios {
                    pts.push(Point {
                        width: w,
                        depth: (r * w as f64).round() as usize,
                    });
                }
            }
        }
    }
    Ok(pts)
}

fn parse_list<T: std::str::FromStr>(flag: &str, text: Option<&str>) -> Result<Vec<T>> {
    let text = text.with_context(|| format!("a sweep needs {flag} LIST"))?;
    let items: Result<Vec<T>> = text
        .split(',')
        .map(|t| {
            t.trim()
                .parse::<T>()
                .map_err(|_| anyhow::anyhow!("{flag}: '{}' is not a valid number", t.trim()))
        })
        .collect();
    let items = items?;
    if items.is_empty() {
        bail!("{flag} is empty");
    }
    Ok(items)
}

/// The problem at one point: the base spec with `depth` hidden layers of `width`.
fn point_problem(base: &Problem, p: Point) -> Result<Problem> {
    let mut spec = base.spec.clone();
    spec.hidden = vec![p.width; p.depth];
    spec.validate()?;
    Ok(Problem {
        spec,
        ..base.clone()
    })
}

fn checkpoint_path(args: &SweepArgs) -> PathBuf {
    if let Some(p) = &args.checkpoint {
        return p.clone();
    }
    match &args.sample.run.output {
        Some(out) => {
            let name = out
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "sweep".into());
            out.with_file_name(format!("{name}.checkpoint.json"))
        }
        None => PathBuf::from("randnet-sweep.checkpoint.json"),
    }
}

fn save_checkpoint(path: &Path, cp: &Checkpoint) -> Result<()> {
    write_atomic(path, &serde_json::to_vec(cp)?)
}

pub fn run(args: &SweepArgs) -> Result<()> {
    let run = &args.sample.run;
    if run.networks == 0 {
        bail!("--networks must be a positive integer, got 0");
    }
    let pts = points(args)?;
    let ratios = crate::extrapolate::point_ratios(args, &pts);
    if args.extrapolate {
        crate::extrapolate::check(&pts, &ratios)?;
    }
    // The base problem (inputs, observables, seed) with the first point's shape, so spec
    // validation errors come before any work.
    let mut base_args = args.sample.clone();
    base_args.spec.widths = None;
    base_args.spec.width = pts[0].width;
    base_args.spec.depth = pts[0].depth;
    let base = problem_from(&base_args)?;
    let problems: Vec<Problem> = pts
        .iter()
        .map(|&p| point_problem(&base, p))
        .collect::<Result<_>>()?;
    // The plot flags against the sweep's observables, before any network is drawn.
    crate::plot::check(args, &problems)?;
    let shard = run.shard_range()?;
    let range = shard.range(run.networks);
    let key = Key {
        spec: base.spec.clone(),
        inputs: base.inputs.clone(),
        observe: base.observe,
        seed: base.seed,
        networks: run.networks,
        shard: ShardInfo {
            index: shard.index,
            count: shard.count,
            first: range.start,
            end: range.end,
            total: run.networks,
        },
        points: pts.clone(),
    };
    let cp_path = checkpoint_path(args);
    let mut cp = if args.resume {
        let text = std::fs::read(&cp_path)
            .with_context(|| format!("--resume: cannot read checkpoint {}", cp_path.display()))?;
        let cp: Checkpoint = serde_json::from_slice(&text).with_context(|| {
            format!("--resume: {} is not a sweep checkpoint", cp_path.display())
        })?;
        if cp.key != key {
            bail!(
                "--resume: checkpoint {} belongs to a different sweep (spec, inputs, seed, networks, shard or points differ)",
                cp_path.display()
            );
        }
        cp
    } else {
        Checkpoint {
            key,
            progress: Vec::new(),
        }
    };
    let per_point = range.end - range.start;
    let total = per_point * pts.len() as u64;
    let bar = progress_bar(total);
    let already: u64 = cp.progress.iter().map(|p| p.next - range.start).sum();
    bar.set_position(already);
    let mut reports = Vec::new();
    for (i, (problem, &pt)) in problems.iter().zip(&pts).enumerate() {
        let chosen = make_sampler(problem, run.backend, run.method, run.adapter.as_deref())?;
        let mut sampler = chosen.sampler;
        if cp.progress.len() <= i {
            let p = Progress::new(problem, sampler.as_mut(), range.clone())?;
            cp.progress.push(p);
        }
        let mut progress = cp.progress[i].clone();
        let finished = {
            let done_before = cp.progress[..i].to_vec();
            let key = cp.key.clone();
            let mut save = |p: &Progress| -> Result<()> {
                let mut all = done_before.clone();
                all.push(p.clone());
                save_checkpoint(
                    &cp_path,
                    &Checkpoint {
                        key: key.clone(),
                        progress: all,
                    },
                )
            };
            let mut ctl = Control::new(&bar);
            ctl.checkpoint = Some(&mut save);
            ctl.every = std::time::Duration::from_secs_f64(args.checkpoint_seconds);
            advance(
                problem,
                sampler.as_mut(),
                &mut progress,
                run.batch,
                None,
                &mut ctl,
            )?
        };
        cp.progress[i] = progress.clone();
        if !finished {
            save_checkpoint(&cp_path, &cp)?;
            bar.abandon();
            bail!(
                "interrupted; progress saved to {} — rerun the same command with --resume",
                cp_path.display()
            );
        }
        let mut report = build_report_named(
            problem,
            &progress.drawn(),
            sampler.backend(),
            sampler.method(),
        );
        report.adapter = chosen.adapter;
        report.shard = Some(cp.key.shard);
        reports.push(PointReport {
            width: pt.width,
            depth: pt.depth,
            depth_over_width: pt.depth as f64 / pt.width as f64,
            ratio: ratios[i],
            report,
        });
    }
    bar.finish_and_clear();
    save_checkpoint(&cp_path, &cp)?;
    let result = SweepResult {
        version: env!("CARGO_PKG_VERSION"),
        kind: "sweep",
        seed: base.seed,
        networks: run.networks,
        extrapolations: args
            .extrapolate
            .then(|| crate::extrapolate::extrapolate(&reports)),
        points: reports,
    };
    write_result(&result, run.format, run.output.as_deref())?;
    if let Some(plot) = &args.plot {
        crate::plot::plot_sweep(&result, args, plot)?;
    }
    // The result is written: the checkpoint has done its job.
    let _ = std::fs::remove_file(&cp_path);
    Ok(())
}

pub fn write_result(result: &SweepResult, format: Format, output: Option<&Path>) -> Result<()> {
    let text = match format {
        Format::Json => serde_json::to_string_pretty(result)? + "\n",
        Format::Csv | Format::Table => tidy_csv(result),
    };
    match output {
        Some(path) => write_atomic(path, text.as_bytes()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// Tidy rows (DESIGN §6): one per width, depth, observable and statistic.
pub fn tidy_csv(result: &SweepResult) -> String {
    // With extrapolations, three columns at the end (empty on the points' rows).
    let slope_cells = if result.extrapolations.is_some() {
        ",,,"
    } else {
        ""
    };
    let mut out = format!(
        "width,depth,depth_over_width,observable,statistic,{ENTRY_CSV_HEADER},n0,activation,cw,cb,networks,diverged,seed{}\n",
        if slope_cells.is_empty() { "" } else { ",slope,slope_stderr,slope_theory" }
    );
    for p in &result.points {
        let r = &p.report;
        for (obs, stats) in &r.order {
            for stat in stats {
                let e: &Entry = &r.observables[obs][stat];
                let _ = writeln!(
                    out,
                    "{},{},{},\"{}\",{},{},{},{},{},{},{},{},{}{}",
                    p.width,
                    p.depth,
                    p.depth_over_width,
                    obs,
                    stat,
                    e.csv_cells(),
                    r.spec.input_dim,
                    r.spec.activation,
                    r.spec.cw,
                    r.spec.cb,
                    r.networks,
                    r.diverged,
                    r.seed,
                    slope_cells
                );
            }
        }
    }
    out.push_str(&crate::extrapolate::csv_rows(result));
    out
}

//! `randnet sweep`: the same statistics across widths and depths (or depth-to-width ratios),
//! with one seed scheme at every point, progress with ETA, atomic checkpoints every few seconds,
//! `--resume` after a kill, Ctrl-C that saves before exiting, shards, tidy CSV/JSON and plots.
//!
//! Every point accumulates its networks in index order, and a checkpoint holds the exact
//! accumulator state, so a resumed sweep gives bitwise the estimates of an uninterrupted one.

use crate::args::{Format, SweepArgs};
use crate::output::{write_atomic, Entry, Report, ShardInfo, ENTRY_CSV_HEADER};
use crate::sample::{advance, build_report_named, problem_from, progress_bar, Control, Progress};
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
#[serde(deny_unknown_fields)]
struct Key {
    spec: randnet_problem::NetworkSpec,
    inputs: Vec<Vec<f64>>,
    observe: randnet_problem::Observe,
    seed: u64,
    networks: u64,
    shard: ShardInfo,
    points: Vec<Point>,
    /// `--method` and `--backend` as given: another engine draws another stream.
    method: String,
    backend: String,
}

impl Key {
    /// The first field in which two keys differ, for the refusal of a different sweep.
    fn differs(&self, other: &Key) -> Option<&'static str> {
        [
            ("spec", self.spec != other.spec),
            // Before inputs: drawn inputs (--inputs K) follow the seed, which is the cause.
            ("seed", self.seed != other.seed),
            ("inputs", self.inputs != other.inputs),
            ("observe", self.observe != other.observe),
            ("networks", self.networks != other.networks),
            ("shard", self.shard != other.shard),
            ("points", self.points != other.points),
            ("method", self.method != other.method),
            ("backend", self.backend != other.backend),
        ]
        .into_iter()
        .find(|(_, d)| *d)
        .map(|(f, _)| f)
    }

    /// A stable 64-bit hash (FNV-1a of the key's JSON): names the default checkpoint.
    fn hash(&self) -> u64 {
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        bytes.iter().fold(0xcbf29ce484222325u64, |h, &b| {
            (h ^ b as u64).wrapping_mul(0x100000001b3)
        })
    }
}

/// The engine that drew a point (a resumed point must be drawn by the same one).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Engine {
    backend: String,
    method: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Checkpoint {
    /// [`crate::output::FORMAT`].
    format: u32,
    key: Key,
    /// One entry per point started so far (in order).
    progress: Vec<Progress>,
    /// The engine of each started point.
    engines: Vec<Engine>,
}

/// The result of a sweep: one report per point.
#[derive(Debug, Clone, Serialize)]
pub struct SweepResult {
    /// [`crate::output::FORMAT`].
    pub format: u32,
    pub version: &'static str,
    pub kind: &'static str,
    pub seed: u64,
    pub networks: u64,
    /// A comparison (`--parameterization` with a list): the names in the order given; every
    /// point, extrapolation and exponent then names its parameterization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameterizations: Option<Vec<String>>,
    pub points: Vec<PointReport>,
    /// `--extrapolate`: the fits a + b/n at every depth or ratio (extrapolate.rs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extrapolations: Option<Vec<crate::extrapolate::Extrapolation>>,
    /// `--fit-exponents`: the log-log slopes of every mean against width and depth, with
    /// verdicts (exponents.rs).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exponents: Option<Vec<crate::exponents::Exponent>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct PointReport {
    /// In a comparison, the parameterization of the point.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameterization: Option<String>,
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
                    if l > crate::args::MAX_DEPTH {
                        bail!(
                            "--depths: depth {l} is more than {}",
                            crate::args::MAX_DEPTH
                        );
                    }
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
                    let depth = (r * w as f64).round();
                    if depth < 1.0 || depth > crate::args::MAX_DEPTH as f64 {
                        bail!(
                            "--ratios: ratio {r} at width {w} gives depth {depth}, outside 1..={}",
                            crate::args::MAX_DEPTH
                        );
                    }
                    pts.push(Point {
                        width: w,
                        depth: depth as usize,
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

/// The checkpoint's file: `--checkpoint`, else `.NAME.randnet-checkpoint` beside `--output NAME`,
/// else `.randnet-sweep-<hash of the key>.randnet-checkpoint` in the working directory (so two
/// sweeps without `--output` never share one). Hidden and with their own extension, so shard
/// globs like `shard-*.json` never match them.
fn checkpoint_path(args: &SweepArgs, key: &Key) -> PathBuf {
    if let Some(p) = &args.checkpoint {
        return p.clone();
    }
    let hashed = format!(".randnet-sweep-{:016x}.randnet-checkpoint", key.hash());
    match &args.sample.run.output {
        Some(out) => match out.file_name() {
            Some(name) => {
                let derived = crate::paths::with_suffix(name, ".", ".randnet-checkpoint");
                if derived.len() <= crate::paths::NAME_MAX {
                    out.with_file_name(derived)
                } else {
                    out.with_file_name(hashed)
                }
            }
            None => out.join(hashed),
        },
        None => PathBuf::from(hashed),
    }
}

/// Reads and validates a checkpoint against the sweep's key.
fn load_checkpoint(path: &Path, key: &Key) -> Result<Checkpoint> {
    let text = std::fs::read(path)
        .with_context(|| format!("--resume: cannot read checkpoint {}", path.display()))?;
    let v: serde_json::Value = serde_json::from_slice(&text)
        .with_context(|| format!("--resume: {} is not a sweep checkpoint", path.display()))?;
    match v.get("format").and_then(serde_json::Value::as_u64) {
        Some(f) if f == crate::output::FORMAT as u64 => {}
        Some(f) => bail!(
            "--resume: checkpoint {} has format {f}; this randnet reads format {}",
            path.display(),
            crate::output::FORMAT
        ),
        None => bail!(
            "--resume: checkpoint {} has no \"format\" field: written by an older randnet (or not a checkpoint); delete it to start over",
            path.display()
        ),
    }
    let cp: Checkpoint = serde_json::from_value(v)
        .with_context(|| format!("--resume: {} is not a sweep checkpoint", path.display()))?;
    if let Some(field) = cp.key.differs(key) {
        bail!(
            "--resume: checkpoint {} belongs to a different sweep ({field} differs)",
            path.display()
        );
    }
    let range = key.shard.first..key.shard.end;
    let bad = |why: String| -> Result<Checkpoint> {
        bail!(
            "--resume: checkpoint {} is inconsistent: {why}",
            path.display()
        )
    };
    if cp.progress.len() > key.points.len() || cp.engines.len() != cp.progress.len() {
        return bad(format!(
            "{} points started, {} engines, {} points",
            cp.progress.len(),
            cp.engines.len(),
            key.points.len()
        ));
    }
    for (i, p) in cp.progress.iter().enumerate() {
        if let Err(e) = p.acc.validate() {
            return bad(format!("point {i}: {e}"));
        }
        if p.end != range.end || p.next < range.start || p.next > range.end {
            return bad(format!(
                "point {i}: networks {}..{} outside {range:?}",
                p.next, p.end
            ));
        }
        if p.acc.count().checked_add(p.diverged) != Some(p.next - range.start) {
            return bad(format!(
                "point {i}: {} networks accumulated and {} diverged, but {} drawn",
                p.acc.count(),
                p.diverged,
                p.next - range.start
            ));
        }
        if i + 1 < cp.progress.len() && p.next != range.end {
            return bad(format!("point {i} is unfinished but a later point started"));
        }
    }
    Ok(cp)
}

fn save_checkpoint(path: &Path, cp: &Checkpoint) -> Result<()> {
    write_atomic(path, &serde_json::to_vec(cp)?)
}

/// A flag value as written on the command line (`matrix-free`).
fn value_name(v: &impl clap::ValueEnum) -> String {
    v.to_possible_value()
        .map(|p| p.get_name().to_string())
        .unwrap_or_default()
}

/// Everything a sweep decides before it draws a network.
struct Plan {
    pts: Vec<Point>,
    ratios: Vec<Option<f64>>,
    base: Problem,
    problems: Vec<Problem>,
    range: std::ops::Range<u64>,
    key: Key,
    cp_path: PathBuf,
    outputs: Vec<crate::paths::Output>,
}

fn plan(args: &SweepArgs) -> Result<Plan> {
    let run = &args.sample.run;
    if run.networks == 0 {
        bail!("--networks must be a positive integer, got 0");
    }
    if args.sample.save_samples.is_some() {
        bail!("sweep does not support --save-samples (use sample --save-samples at one point)");
    }
    if args.sample.histogram.is_some() || args.sample.histogram_bins.is_some() {
        bail!("sweep does not support --histogram (use sample --histogram at one point)");
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
        method: value_name(&run.method),
        backend: value_name(&run.backend),
    };
    let cp_path = checkpoint_path(args, &key);
    // Every file the sweep writes, checked before any work (paths.rs).
    use crate::paths::{Input, Output};
    let mut outputs = Vec::new();
    if let Some(p) = &run.output {
        outputs.push(Output::new("--output", p));
    }
    outputs.push(Output::new(
        if args.checkpoint.is_some() {
            "--checkpoint"
        } else {
            "the checkpoint"
        },
        &cp_path,
    ));
    if let Some(p) = &args.plot {
        outputs.push(Output::new("--plot", p));
    }
    let inputs: Vec<Input> = args
        .sample
        .inputs
        .input_file
        .iter()
        .map(|p| Input::new("--input-file", p))
        .collect();
    crate::paths::check(&outputs, &inputs)?;
    if !args.resume && std::fs::symlink_metadata(&cp_path).is_ok() {
        bail!(
            "checkpoint {} exists (an interrupted sweep): add --resume to continue it, or delete it to start over",
            cp_path.display()
        );
    }
    Ok(Plan {
        pts,
        ratios,
        base,
        problems,
        range,
        key,
        cp_path,
        outputs,
    })
}

/// Checks a sweep's arguments and files without drawing anything (for `randnet run`); returns
/// the files it would write.
pub fn check(args: &SweepArgs) -> Result<Vec<crate::paths::Output>> {
    match comparison(args)? {
        None => Ok(plan(args)?.outputs),
        Some(list) => plan_comparison(args, &list),
    }
}

/// A comparison (`--parameterization` with a list): one sweep per name, each with the
/// arguments of the list's sweep but that parameterization, its residual rule and its own
/// checkpoint. `None` for a single name (today's sweep, untouched). Every name is checked here,
/// before anything else.
pub fn comparison(args: &SweepArgs) -> Result<Option<Vec<(String, SweepArgs)>>> {
    use randnet_problem::{Parameterization, Residual};
    let text = &args.sample.spec.parameterization;
    if !text.contains(',') {
        return Ok(None);
    }
    let mut names: Vec<Parameterization> = Vec::new();
    for t in text.split(',') {
        let p: Parameterization = t
            .parse()
            .map_err(|e| anyhow::anyhow!("--parameterization: {e}"))?;
        if names.contains(&p) {
            bail!("--parameterization: {p} is listed twice");
        }
        names.push(p);
    }
    if args.plot.is_some() {
        bail!("--plot draws one parameterization: give one --parameterization, or plot each from its own sweep");
    }
    if args.sample.run.shard.is_some() {
        bail!("--shard with several parameterizations: shard a sweep of one --parameterization (randnet merge combines one parameterization's shards)");
    }
    let given: Option<Residual> = args
        .sample
        .spec
        .residual
        .as_deref()
        .map(str::parse)
        .transpose()?;
    let mut out = Vec::new();
    for p in names {
        // The residual rule that defines depth-μP and CompleteP (randnet_problem::NetworkSpec::
        // validate): implied when --residual is not given, a contradiction otherwise.
        let own = match p {
            Parameterization::DepthMup => Some(Residual::InvSqrtDepth),
            Parameterization::CompleteP => Some(Residual::InvDepth),
            _ => None,
        };
        let residual = match (own, given) {
            (Some(own), Some(g)) if g != own => bail!(
                "--residual {g} contradicts {p} in --parameterization: {p} takes --residual {own} (leave --residual out and each parameterization takes its own)"
            ),
            (_, Some(g)) => Some(g.to_string()),
            (Some(own), None) => Some(own.to_string()),
            (None, None) => None,
        };
        let name = p.to_string();
        let mut sub = args.clone();
        sub.sample.spec.parameterization = name.clone();
        sub.sample.spec.residual = residual;
        // One checkpoint per parameterization: `--checkpoint FILE` gives FILE.NAME, `--output
        // OUT` .OUT.NAME.randnet-checkpoint; otherwise the default, whose hash of the sweep's
        // arguments already differs between parameterizations.
        let suffix = format!(".{name}");
        sub.checkpoint = match (&args.checkpoint, &args.sample.run.output) {
            (Some(cp), _) => cp
                .file_name()
                .map(|f| cp.with_file_name(crate::paths::with_suffix(f, "", &suffix))),
            (None, Some(out)) => out.file_name().and_then(|f| {
                let derived =
                    crate::paths::with_suffix(f, ".", &format!("{suffix}.randnet-checkpoint"));
                (derived.len() <= crate::paths::NAME_MAX).then(|| out.with_file_name(derived))
            }),
            (None, None) => None,
        };
        out.push((name, sub));
    }
    Ok(Some(out))
}

/// Plans every sweep of a comparison (specs, files, checkpoints) before any network is drawn;
/// returns the files they write.
fn plan_comparison(
    args: &SweepArgs,
    list: &[(String, SweepArgs)],
) -> Result<Vec<crate::paths::Output>> {
    let mut outputs = Vec::new();
    if let Some(p) = &args.sample.run.output {
        outputs.push(crate::paths::Output::new("--output", p));
    }
    for (name, sub) in list {
        let planned = plan(sub).with_context(|| format!("--parameterization {name}"))?;
        outputs.extend(
            planned
                .outputs
                .into_iter()
                .filter(|o| o.flag != "--output")
                .map(|mut o| {
                    o.flag = format!("{} of {name}", o.flag);
                    o
                }),
        );
    }
    crate::paths::check(&outputs, &[])?;
    Ok(outputs)
}

pub fn run(args: &SweepArgs) -> Result<()> {
    let bar = progress_bar(0);
    let (result, cp_paths) = execute_all(args, &bar)?;
    write_result(
        &result,
        args.sample.run.format,
        args.sample.run.output.as_deref(),
    )?;
    if let Some(plot) = &args.plot {
        crate::plot::plot_sweep(&result, args, plot)?;
    }
    // The result is written: the checkpoints have done their job.
    for p in cp_paths {
        let _ = std::fs::remove_file(&p);
    }
    Ok(())
}

/// [`execute`], or with a list of parameterizations one sweep per name in the order given (the
/// same networks and seed, so each is bitwise its own single sweep) gathered into one result.
/// Returns the checkpoints to remove once the result is safe.
pub fn execute_all(
    args: &SweepArgs,
    bar: &indicatif::ProgressBar,
) -> Result<(SweepResult, Vec<PathBuf>)> {
    let Some(list) = comparison(args)? else {
        let (result, cp) = execute(args, bar)?;
        return Ok((result, vec![cp]));
    };
    plan_comparison(args, &list)?;
    let mut all: Option<SweepResult> = None;
    let mut cps = Vec::new();
    for (name, sub) in &list {
        bar.reset();
        bar.set_message(format!("{name} "));
        let (mut r, cp) =
            execute(sub, bar).with_context(|| format!("--parameterization {name}"))?;
        cps.push(cp);
        let tag = Some(name.clone());
        r.points
            .iter_mut()
            .for_each(|p| p.parameterization = tag.clone());
        r.extrapolations
            .iter_mut()
            .flatten()
            .for_each(|x| x.parameterization = tag.clone());
        r.exponents
            .iter_mut()
            .flatten()
            .for_each(|x| x.parameterization = tag.clone());
        match &mut all {
            None => {
                r.parameterizations = Some(list.iter().map(|(n, _)| n.clone()).collect());
                all = Some(r);
            }
            Some(a) => {
                a.points.extend(r.points);
                if let (Some(a), Some(b)) = (&mut a.extrapolations, r.extrapolations) {
                    a.extend(b);
                }
                if let (Some(a), Some(b)) = (&mut a.exponents, r.exponents) {
                    a.extend(b);
                }
            }
        }
    }
    let all = all.context("--parameterization: no parameterization")?;
    Ok((all, cps))
}

impl SweepResult {
    /// One parameterization's part of a comparison, as its own sweep would give it.
    fn only(&self, name: &str) -> SweepResult {
        let mine = |p: &Option<String>| p.as_deref() == Some(name);
        SweepResult {
            parameterizations: None,
            points: self
                .points
                .iter()
                .filter(|p| mine(&p.parameterization))
                .cloned()
                .collect(),
            extrapolations: self.extrapolations.as_ref().map(|xs| {
                xs.iter()
                    .filter(|x| mine(&x.parameterization))
                    .cloned()
                    .collect()
            }),
            exponents: self.exponents.as_ref().map(|xs| {
                xs.iter()
                    .filter(|x| mine(&x.parameterization))
                    .cloned()
                    .collect()
            }),
            ..self.clone()
        }
    }
}

/// Draws every point of a sweep (from its checkpoint with `--resume`), saving progress to the
/// checkpoint as it goes; returns the result and the checkpoint's path (the caller removes it
/// once the result is safe). An interruption saves the checkpoint and fails.
pub fn execute(args: &SweepArgs, bar: &indicatif::ProgressBar) -> Result<(SweepResult, PathBuf)> {
    let run = &args.sample.run;
    let Plan {
        pts,
        ratios,
        base,
        problems,
        range,
        key,
        cp_path,
        outputs: _,
    } = plan(args)?;
    let mut cp = if args.resume && cp_path.exists() {
        load_checkpoint(&cp_path, &key)?
    } else {
        if args.resume {
            eprintln!(
                "--resume: no checkpoint {}; starting from the beginning",
                cp_path.display()
            );
        }
        Checkpoint {
            format: crate::output::FORMAT,
            key,
            progress: Vec::new(),
            engines: Vec::new(),
        }
    };
    let per_point = range.end - range.start;
    let total = per_point * pts.len() as u64;
    bar.set_length(total);
    let already: u64 = cp.progress.iter().map(|p| p.next - range.start).sum();
    bar.set_position(already);
    let mut reports = Vec::new();
    // One environment (the GPU opened once) for every point.
    let request = crate::sample::request(run.backend, run.method, run.adapter.as_deref());
    let env = randnet_sampler::plan::Env::open(&request)?;
    for (i, (problem, &pt)) in problems.iter().zip(&pts).enumerate() {
        let chosen = crate::sample::make_sampler_in(problem, &request, &env)?;
        let mut sampler = chosen.sampler;
        let engine = Engine {
            backend: sampler.backend().to_string(),
            method: sampler.method().to_string(),
        };
        if cp.progress.len() <= i {
            let p = Progress::new(problem, &mut sampler, range.clone())?;
            cp.progress.push(p);
            cp.engines.push(engine);
        } else if cp.engines[i] != engine {
            let field = if cp.engines[i].backend != engine.backend {
                "backend"
            } else {
                "method"
            };
            bail!(
                "--resume: checkpoint {} drew point {} with {field} {} {}, this run would use {} {}",
                cp_path.display(),
                i,
                cp.engines[i].backend,
                cp.engines[i].method,
                engine.backend,
                engine.method
            );
        }
        let mut progress = cp.progress[i].clone();
        let finished = {
            let done_before = cp.progress[..i].to_vec();
            let key = cp.key.clone();
            let engines = cp.engines.clone();
            let mut save = |p: &Progress| -> Result<()> {
                let mut all = done_before.clone();
                all.push(p.clone());
                save_checkpoint(
                    &cp_path,
                    &Checkpoint {
                        format: crate::output::FORMAT,
                        key: key.clone(),
                        progress: all,
                        engines: engines.clone(),
                    },
                )
            };
            let mut ctl = Control::new(bar);
            ctl.checkpoint = Some(&mut save);
            ctl.every = std::time::Duration::from_secs_f64(args.checkpoint_seconds);
            advance(
                problem,
                &mut sampler,
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
            parameterization: None,
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
        format: crate::output::FORMAT,
        version: env!("CARGO_PKG_VERSION"),
        kind: "sweep",
        seed: base.seed,
        networks: run.networks,
        parameterizations: None,
        extrapolations: args
            .extrapolate
            .then(|| crate::extrapolate::extrapolate(&reports)),
        exponents: args.fit_exponents.then(|| crate::exponents::fit(&reports)),
        points: reports,
    };
    Ok((result, cp_path))
}

/// A sweep's result in `--format`.
pub fn render(result: &SweepResult, format: Format) -> Result<String> {
    Ok(match format {
        Format::Json => serde_json::to_string_pretty(result)? + "\n",
        Format::Csv => tidy_csv(result),
        Format::Table => table(result),
    })
}

pub fn write_result(result: &SweepResult, format: Format, output: Option<&Path>) -> Result<()> {
    let text = render(result, format)?;
    match output {
        Some(path) => write_atomic(path, text.as_bytes()),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// `--format table`: one block per point (the table of `sample`), then the fits of
/// `--extrapolate` as a compact table.
pub fn table(result: &SweepResult) -> String {
    let Some(names) = &result.parameterizations else {
        return table_one(result);
    };
    // A comparison: each parameterization's sweep without its exponents, then the exponents of
    // all of them side by side.
    let mut out = String::new();
    for name in names {
        let mut one = result.only(name);
        one.exponents = None;
        let _ = writeln!(out, "=== --parameterization {name}\n");
        out.push_str(&table_one(&one));
        out.push('\n');
    }
    if let Some(rows) = &result.exponents {
        out.push_str(&crate::exponents::side_by_side(rows, names));
    }
    out
}

fn table_one(result: &SweepResult) -> String {
    use crate::output::fmt_sig;
    let mut out = String::new();
    for p in &result.points {
        let _ = writeln!(
            out,
            "== width {}, depth {} (L/n = {}){}",
            p.width,
            p.depth,
            fmt_sig(p.depth_over_width, 4),
            p.ratio.map(|r| format!(", ratio {r}")).unwrap_or_default()
        );
        out.push_str(&p.report.table());
        out.push('\n');
    }
    if let Some(rows) = &result.extrapolations {
        let _ = writeln!(
            out,
            "== width -> infinity: fits a + b/n at each depth or ratio"
        );
        let _ = writeln!(
            out,
            "{:<10} {:<18} {:<17} {:>11} {:>10} {:>11} {:>11} {:>10} {:>11}",
            "at", "observable", "statistic", "a", "stderr", "theory", "b", "stderr", "b theory"
        );
        for x in rows {
            let at = match (x.depth, x.ratio) {
                (_, Some(r)) => format!("L/n={r}"),
                (Some(d), None) => format!("L={d}"),
                (None, None) => String::new(),
            };
            let _ = writeln!(
                out,
                "{:<10} {:<18} {:<17} {:>11} {:>10} {:>11} {:>11} {:>10} {:>11}",
                at,
                x.observable,
                x.statistic,
                fmt_sig(x.entry.estimate, 5),
                fmt_sig(x.entry.stderr, 3),
                x.entry.theory.map(|v| fmt_sig(v, 5)).unwrap_or_default(),
                fmt_sig(x.slope, 5),
                fmt_sig(x.slope_stderr, 3),
                x.slope_theory.map(|v| fmt_sig(v, 5)).unwrap_or_default(),
            );
        }
    }
    if let Some(rows) = &result.exponents {
        out.push('\n');
        out.push_str(&crate::exponents::table(rows));
    }
    out
}

/// Tidy rows: one per width, depth, observable and statistic.
pub fn tidy_csv(result: &SweepResult) -> String {
    let Some(names) = &result.parameterizations else {
        return tidy_csv_one(result);
    };
    // A comparison: the parameterization first, then the columns of one sweep.
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        let one = tidy_csv_one(&result.only(name));
        for (j, line) in one.lines().enumerate() {
            match (i, j) {
                (0, 0) => out.push_str("parameterization,"),
                (_, 0) => continue,
                _ => {
                    out.push_str(name);
                    out.push(',');
                }
            }
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

fn tidy_csv_one(result: &SweepResult) -> String {
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

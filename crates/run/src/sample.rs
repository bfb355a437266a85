//! `randnet sample`: draw M networks, accumulate every observable, print estimates beside theory.

use crate::args::{Backend, Method, SampleArgs};
use crate::npy::NpyWriter;
use crate::output::{write_atomic, Entry, Report, ShardInfo};
use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use randnet_problem::{Family, Observable, Primitive};
use randnet_sampler::inputs::resolve_inputs;
use randnet_sampler::plan::{Device, Env, Request, Sampler};
use randnet_sampler::Problem;
use randnet_stats::{Accumulator, Statistic};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Jackknife groups of the accumulators (docs/statistics.md).
pub const GROUPS: usize = 64;

/// The problem a sample/sweep command describes (spec, resolved inputs, observables, seed).
pub fn problem_from(args: &SampleArgs) -> Result<Problem> {
    let (input_spec, file_n0) = args.inputs.to_inputs()?;
    problem_with_inputs(args, input_spec, file_n0)
}

/// As [`problem_from`] with the inputs given apart from the input flags (the Python package's
/// `x=` array); `file_n0` is their dimension when it fixes n0.
pub fn problem_with_inputs(
    args: &SampleArgs,
    input_spec: randnet_problem::InputSpec,
    file_n0: Option<usize>,
) -> Result<Problem> {
    let spec = args.spec.to_spec(file_n0)?;
    input_spec.validate(spec.input_dim)?;
    let observe = args.observe()?;
    check_resources(&spec, input_spec.count(), &observe, args.run.batch)?;
    let inputs = resolve_inputs(&input_spec, spec.input_dim, args.run.seed);
    Ok(Problem {
        spec,
        inputs,
        observe,
        seed: args.run.seed,
    })
}

/// A sample run ready to draw: the engines chosen, the shard's range of networks.
pub struct Prepared {
    pub problem: Problem,
    pub sampler: Sampler,
    pub adapter: Option<String>,
    pub shard: crate::args::Shard,
    pub range: std::ops::Range<u64>,
    pub networks: u64,
    pub batch: Option<usize>,
}

/// What a sample run produced: the report of the networks drawn and how the run ended.
pub struct Sampled {
    pub report: Report,
    /// `Ok(true)` finished, `Ok(false)` interrupted between batches, `Err` stopped by an error.
    pub outcome: Result<bool>,
    /// The networks drawn: `range.start..next`.
    pub range: std::ops::Range<u64>,
    pub next: u64,
    /// True when the report has estimates worth writing: some network was drawn and accepted,
    /// and a finished range was not refused by [`check_outcome`] (every network diverged, or
    /// every value underflowed).
    pub reportable: bool,
}

impl Sampled {
    /// The message of a run that did not finish (interrupted or stopped by an error), naming how
    /// many networks it drew; `None` when it finished.
    pub fn stop_error(self) -> Option<anyhow::Error> {
        let done = self.next - self.range.start;
        let total = self.range.end - self.range.start;
        match self.outcome {
            Ok(true) => None,
            Ok(false) => Some(anyhow::anyhow!(
                "interrupted after {done} of {total} networks; the estimates of those were written"
            )),
            // A finished range refused by `check_outcome`: its own message.
            Err(e) if self.next == self.range.end => Some(e),
            Err(e) => Some(e.context(format!(
                "stopped after {done} of {total} networks{}",
                if done > 0 {
                    " (the estimates of those were written)"
                } else {
                    ""
                }
            ))),
        }
    }
}

/// Checks `--networks` and `--shard` and picks the engines (opening the GPU they may use).
pub fn prepare(args: &SampleArgs, problem: Problem) -> Result<Prepared> {
    let request = request(
        args.run.backend,
        args.run.method,
        args.run.adapter.as_deref(),
    );
    prepare_in(args, problem, &Env::open(&request)?)
}

/// As [`prepare`] in an environment opened before (for `--backend`, `--adapter` as in `args`):
/// a process that samples many times (the Python package) opens its GPU once.
pub fn prepare_in(args: &SampleArgs, problem: Problem, env: &Env) -> Result<Prepared> {
    if args.run.networks == 0 {
        bail!("--networks must be a positive integer, got 0");
    }
    let shard = args.run.shard_range()?;
    let range = shard.range(args.run.networks);
    let request = request(
        args.run.backend,
        args.run.method,
        args.run.adapter.as_deref(),
    );
    let Chosen { sampler, adapter } = make_sampler_in(&problem, &request, env)?;
    Ok(Prepared {
        problem,
        sampler,
        adapter,
        shard,
        range,
        networks: args.run.networks,
        batch: args.run.batch,
    })
}

impl Prepared {
    /// Draws the range (every network's values also go to `rows`, in network order), stopping
    /// between batches on [`INTERRUPTED`], and reports the networks drawn whatever happened.
    pub fn draw(mut self, rows: Option<&mut dyn RowSink>, bar: &ProgressBar) -> Result<Sampled> {
        let mut progress = Progress::new(&self.problem, &mut self.sampler, self.range.clone())?;
        let outcome = advance(
            &self.problem,
            &mut self.sampler,
            &mut progress,
            self.batch,
            rows,
            &mut Control::new(bar),
        );
        let finished = matches!(outcome, Ok(true));
        let mut report = build_report_named(
            &self.problem,
            &progress.drawn(),
            self.sampler.backend(),
            self.sampler.method(),
        );
        report.adapter = self.adapter;
        report.shard = Some(ShardInfo {
            index: self.shard.index,
            count: self.shard.count,
            first: self.range.start,
            end: progress.next,
            total: self.networks,
        });
        let refused = outcome.is_err() && progress.next == progress.end;
        let reportable =
            (progress.next > self.range.start || finished) && progress.acc.count() > 0 && !refused;
        Ok(Sampled {
            report,
            outcome,
            range: self.range,
            next: progress.next,
            reportable,
        })
    }
}

pub fn run(args: &SampleArgs) -> Result<()> {
    // Every output path before any work (paths.rs).
    crate::paths::check_sample(args)?;
    if args.histogram_bins.is_some() && args.histogram.is_none() {
        bail!("--histogram-bins needs --histogram FILE");
    }
    let prepared = prepare(args, problem_from(args)?)?;
    let (problem_layout, names) = (prepared.problem.layout(), prepared.problem.names());
    let range = prepared.range.clone();
    let mut npy = match &args.save_samples {
        Some(path) => Some(NpyWriter::create(path, &names, range.end - range.start)?),
        None => None,
    };
    // --histogram keeps every value in memory until the end.
    let mut kept: Option<Vec<f64>> = match &args.histogram {
        Some(_) => {
            let bytes = (range.end - range.start) as f64 * problem_layout.len() as f64 * 8.0;
            check_memory_for(
                bytes,
                "keeping every network's values for --histogram needs",
                "use fewer networks or observables",
            )?;
            Some(Vec::new())
        }
        None => None,
    };
    let bar = progress_bar(range.end - range.start);
    let mut tee = Tee(
        npy.as_mut().map(|w| w as &mut dyn RowSink),
        kept.as_mut().map(|v| v as &mut dyn RowSink),
    );
    let sampled = prepared.draw(Some(&mut tee), &bar)?;
    bar.finish_and_clear();
    // Whatever happened, the estimates of the networks already drawn are written (a run that was
    // interrupted or lost its device keeps its finished work); an unfinished run then fails.
    // A finished range refused by `check_outcome` (every network diverged, or all values
    // underflowed) writes nothing.
    if sampled.reportable {
        let text = sampled.report.render(args.run.format)?;
        match &args.run.output {
            Some(path) => write_atomic(path, text.as_bytes())?,
            None => print!("{text}"),
        }
    }
    if let Some(e) = sampled.stop_error() {
        if let Some(w) = npy {
            w.abandon();
        }
        return Err(e);
    }
    if let Some(w) = npy {
        w.finish()?;
    }
    if let (Some(path), Some(rows)) = (&args.histogram, &kept) {
        let hists = crate::histogram::pooled(
            &problem_layout,
            rows,
            args.histogram_bins.unwrap_or(50) as usize,
        );
        crate::histogram::write(path, &hists)?;
    }
    Ok(())
}

/// Engines ready to draw (behind the [`Sampler`] that reduces their primitives to values), and
/// the GPU adapter they run on (if any).
pub struct Chosen {
    pub sampler: Sampler,
    pub adapter: Option<String>,
}

/// The planner's request for `--backend`, `--method` and `--adapter`.
pub fn request(backend: Backend, method: Method, adapter: Option<&str>) -> Request {
    Request {
        device: match backend {
            Backend::Auto => None,
            Backend::Cpu => Some(Device::Cpu),
            Backend::Gpu => Some(Device::Gpu),
        },
        method: match method {
            Method::Auto => None,
            Method::Dense => Some("dense".into()),
            Method::MatrixFree => Some("matrix-free".into()),
        },
        adapter: adapter.map(str::to_string),
    }
}

/// Picks the engines for `--backend`, `--method` and `--adapter` (opening the GPU they may use).
pub fn make_sampler(
    problem: &Problem,
    backend: Backend,
    method: Method,
    adapter: Option<&str>,
) -> Result<Chosen> {
    let request = request(backend, method, adapter);
    let env = Env::open(&request)?;
    make_sampler_in(problem, &request, &env)
}

/// As [`make_sampler`] in an environment opened once (a sweep opens its GPU once).
pub fn make_sampler_in(problem: &Problem, request: &Request, env: &Env) -> Result<Chosen> {
    let plan = randnet_sampler::plan::plan(problem, request, env)?;
    Ok(Chosen {
        sampler: Sampler::new(problem, plan.sampler)?,
        adapter: plan.adapter,
    })
}

/// Refuses runs whose working memory exceeds what the machine has available.
pub fn check_memory(bytes: f64) -> Result<()> {
    check_memory_for(bytes, "this network needs", "use a smaller width or depth")
}

/// Refuses `bytes` of working memory when it exceeds what the machine has available; the error
/// reads "{what} about X GiB of working memory, ...; {advice}".
pub fn check_memory_for(bytes: f64, what: &str, advice: &str) -> Result<()> {
    Ok(randnet_sampler::plan::check_memory_for(
        bytes, what, advice,
    )?)
}

/// The memory a run will allocate, estimated from the flags before anything is allocated (sizes
/// past memory aborted in allocation before): the K inputs (`--inputs`, `--input-dim`), the
/// values and accumulator sums of every observable (`--inputs`, `--depth` with sqnorm), the
/// engine's per-network scratch on every thread (`--width`, `--depth`, `--inputs`) and one batch
/// of values (`--batch`). Each is refused on its own, naming its flags, then their total.
pub fn check_resources(
    spec: &randnet_problem::NetworkSpec,
    k: usize,
    observe: &randnet_problem::Observe,
    batch: Option<usize>,
) -> Result<()> {
    const F: f64 = 8.0; // bytes per f64
    let (kf, n0) = (k as f64, spec.input_dim as f64);
    let inputs = kf * n0 * F;
    check_memory_for(
        inputs,
        &format!("the {k} inputs of dimension {n0} (--inputs, --input-dim) need"),
        "use fewer inputs or a smaller --input-dim",
    )?;
    let d = observe.value_count(spec.depth(), k);
    // Per value: power sums of order 1..12 in every jackknife group, its name, its estimates;
    // per pair of outputs: 4 joint sums per group.
    let pairs = if observe.has(Family::Output) {
        kf * (kf - 1.0) / 2.0
    } else {
        0.0
    };
    let values = d * (GROUPS as f64 * 12.0 * F + 256.0) + pairs * GROUPS as f64 * 4.0 * F;
    check_memory_for(
        values,
        &format!("the {d} values per network (--inputs, --observe, --depth) need"),
        "use fewer inputs or observables",
    )?;
    // Activations (and their tangents) of every layer for c = K (2K with Jacobians) columns,
    // per thread; the dense engine's cached weights come on top and are checked with the engine.
    // Columns: the K inputs, K tangents with Jacobians, the Lyapunov frame, and n0 tangents
    // per input for singular values.
    let mut c = if observe.needs(Primitive::JacobianNorm) {
        2.0 * kf
    } else {
        kf
    };
    c += observe.count(randnet_problem::Family::Lyapunov) as f64;
    if observe.needs(Primitive::SingularValues) {
        c += kf * n0;
    }
    let widths: f64 = spec.layer_widths().iter().map(|&n| n as f64).sum();
    let threads = rayon::current_num_threads() as f64;
    let scratch = widths * c * 2.0 * F * threads;
    check_memory_for(
        scratch,
        &format!(
            "the per-network working memory of {} layers (--width, --depth, --inputs) on {threads} threads needs",
            spec.depth() + 2
        ),
        "use a smaller width or depth",
    )?;
    let batch_bytes = batch.map_or(0.0, |b| b as f64 * d * F);
    check_memory_for(
        batch_bytes,
        &format!("--batch {} needs", batch.unwrap_or(0)),
        "use a smaller --batch",
    )?;
    check_memory_for(
        inputs + values + scratch + batch_bytes,
        "this run needs",
        "use a smaller width, depth, batch or fewer inputs",
    )
}

/// What a run of networks produced.
pub struct Drawn {
    pub acc: Accumulator,
    pub networks: u64,
    pub diverged: u64,
    pub seconds: f64,
}

/// The accumulator shape for a problem: shifts from network 0 (so raw power sums are well
/// conditioned; every shard computes the same shifts), joint cumulants for pairs of outputs.
pub fn new_accumulator(problem: &Problem, sampler: &mut Sampler) -> Result<Accumulator> {
    let d = sampler.n_values();
    let mut first = vec![0.0; d];
    sampler.sample_batch(0, 1, &mut first)?;
    let shifts = first
        .iter()
        .map(|&v| {
            // A shift the accumulator could not use (its sixth power overflows) is 0 instead, so
            // network 0 is judged by `accepts` as every other one.
            let v2 = v * v;
            if v.is_finite() && v2 * v2 * v2 <= SIXTH_POWER_LIMIT {
                v
            } else {
                0.0
            }
        })
        .collect();
    Ok(Accumulator::new(d, output_pairs(problem), shifts, GROUPS))
}

/// Positions (i, j) of output[a], output[b] with a < b in the value vector.
pub fn output_pairs(problem: &Problem) -> Vec<(usize, usize)> {
    let outputs: Vec<usize> = problem
        .layout()
        .observables()
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o, Observable::Output(_)))
        .map(|(i, _)| i)
        .collect();
    let mut pairs = Vec::new();
    for (n, &i) in outputs.iter().enumerate() {
        for &j in &outputs[n + 1..] {
            pairs.push((i, j));
        }
    }
    pairs
}

fn default_batch(problem: &Problem) -> usize {
    let per_net = (problem.spec.parameter_count() as f64) * (problem.inputs.len() as f64 + 1.0);
    let threads = rayon::current_num_threads();
    ((2e7 / per_net.max(1.0)) as usize).clamp(threads, 8192)
}

/// Set by the Ctrl-C handler; long loops stop between batches and save what they finished.
pub static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Installs the Ctrl-C handler (once per process).
pub fn install_interrupt_handler() {
    // The "termination" feature makes SIGTERM (scancel, timeout, kill) and SIGHUP take the same path
    // as Ctrl-C: finished work is written before the process exits.
    // A second signal stops at once: a process busy outside a run loop (or a user who does not
    // want to wait for the save) must never be unkillable by `timeout`, scancel or Ctrl-C.
    let _ = ctrlc::set_handler(|| {
        if INTERRUPTED.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
}

/// A partially drawn range of networks: the exact state to continue from (checkpoints hold it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Progress {
    pub acc: Accumulator,
    /// The next network index to draw.
    pub next: u64,
    pub end: u64,
    pub diverged: u64,
    pub seconds: f64,
}

impl Progress {
    pub fn new(
        problem: &Problem,
        sampler: &mut Sampler,
        range: std::ops::Range<u64>,
    ) -> Result<Self> {
        Ok(Progress {
            acc: new_accumulator(problem, sampler)?,
            next: range.start,
            end: range.end,
            diverged: 0,
            seconds: 0.0,
        })
    }

    pub fn drawn(&self) -> Drawn {
        Drawn {
            acc: self.acc.clone(),
            networks: self.acc.count() + self.diverged,
            diverged: self.diverged,
            seconds: self.seconds,
        }
    }
}

/// Where every drawn network's values go besides the accumulator, in network order (diverged
/// networks included): a .npy file (`--save-samples`), or memory (`randnet compare`).
pub trait RowSink {
    fn write_rows(&mut self, rows: &[f64]) -> Result<()>;
}

impl RowSink for NpyWriter {
    fn write_rows(&mut self, rows: &[f64]) -> Result<()> {
        NpyWriter::write_rows(self, rows)
    }
}

/// Two optional sinks fed the same rows.
pub struct Tee<'a>(
    pub Option<&'a mut dyn RowSink>,
    pub Option<&'a mut dyn RowSink>,
);

impl RowSink for Tee<'_> {
    fn write_rows(&mut self, rows: &[f64]) -> Result<()> {
        if let Some(s) = self.0.as_deref_mut() {
            s.write_rows(rows)?;
        }
        if let Some(s) = self.1.as_deref_mut() {
            s.write_rows(rows)?;
        }
        Ok(())
    }
}

impl RowSink for Vec<f64> {
    fn write_rows(&mut self, rows: &[f64]) -> Result<()> {
        self.extend_from_slice(rows);
        Ok(())
    }
}

/// Progress display and checkpointing of a long run.
pub struct Control<'a> {
    pub bar: &'a ProgressBar,
    /// Called with the current state at most every `every` (between batches).
    pub checkpoint: Option<&'a mut dyn FnMut(&Progress) -> Result<()>>,
    pub every: Duration,
}

impl<'a> Control<'a> {
    pub fn new(bar: &'a ProgressBar) -> Self {
        Control {
            bar,
            checkpoint: None,
            every: Duration::from_secs(3),
        }
    }
}

/// A progress bar on stderr with rate and ETA (hidden when stderr is not a terminal).
pub fn progress_bar(total: u64) -> ProgressBar {
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {msg}{bar:40} {pos}/{len} networks, {per_sec}, eta {eta}",
        )
        .expect("valid template"),
    );
    bar
}

/// Draws networks `progress.next..progress.end` in batches, accumulating in network order (so
/// estimates are bitwise independent of batch size, thread count and interruptions). Returns
/// `Ok(false)` when interrupted (Ctrl-C) between batches.
pub fn advance(
    problem: &Problem,
    sampler: &mut Sampler,
    progress: &mut Progress,
    batch: Option<usize>,
    mut npy: Option<&mut dyn RowSink>,
    ctl: &mut Control,
) -> Result<bool> {
    let d = sampler.n_values();
    let batch = batch
        .or(sampler.preferred_batch())
        .unwrap_or_else(|| default_batch(problem))
        .max(1);
    check_memory_for(
        batch as f64 * d as f64 * 8.0,
        &format!("a batch of {batch} networks (--batch) needs"),
        "use a smaller --batch",
    )?;
    let mut buf = vec![0.0; batch * d];
    let shifts = progress.acc.shifts().to_vec();
    let mut last_save = Instant::now();
    while progress.next < progress.end {
        if INTERRUPTED.load(Ordering::SeqCst) {
            if let Some(cp) = ctl.checkpoint.as_deref_mut() {
                cp(progress)?;
            }
            return Ok(false);
        }
        let t = Instant::now();
        let count = (progress.end - progress.next).min(batch as u64) as usize;
        sampler.sample_batch(progress.next, count, &mut buf)?;
        for (i, row) in buf[..count * d].chunks_exact(d).enumerate() {
            if !sampler.diverged(i) && accepts(row, &shifts) {
                progress.acc.push(progress.next + i as u64, row);
            } else {
                progress.diverged += 1;
            }
        }
        if let Some(w) = npy.as_deref_mut() {
            w.write_rows(&buf[..count * d])?;
        }
        progress.next += count as u64;
        progress.seconds += t.elapsed().as_secs_f64();
        ctl.bar.inc(count as u64);
        if last_save.elapsed() >= ctl.every {
            if let Some(cp) = ctl.checkpoint.as_deref_mut() {
                cp(progress)?;
            }
            last_save = Instant::now();
        }
    }
    check_outcome(problem, progress)?;
    Ok(true)
}

/// The largest |y^6| (y a value less its shift) a network may contribute: the sixth power sums
/// of 2^32 such networks stay finite. Above it (|y| above about 1e49) the network counts as
/// diverged, as one with a non-finite value does.
pub const SIXTH_POWER_LIMIT: f64 = f64::MAX / 4_294_967_296.0;

/// True when a network's values can enter the accumulator: every value finite and every shifted
/// value's sixth power (the highest order the estimates use) finite with headroom
/// ([`SIXTH_POWER_LIMIT`]). The diagnostic sums of order 7..12 may still overflow: that only
/// makes the reliability flag false.
pub fn accepts(values: &[f64], shifts: &[f64]) -> bool {
    values.iter().zip(shifts).all(|(&v, &s)| {
        let y = v - s;
        let y2 = y * y;
        let y6 = y2 * y2 * y2;
        // NaN: a value the network does not have (the sampler has already refused networks
        // with a non-finite primitive); the accumulator counts it apart.
        v.is_nan() || (v.is_finite() && y6 <= SIXTH_POWER_LIMIT)
    })
}

/// A finished range whose every network diverged, or whose values all underflowed to exactly 0
/// where theory says their scale is below f64's, has nothing to estimate: an error, not a table
/// of NaN or of zeros.
pub fn check_outcome(problem: &Problem, progress: &Progress) -> Result<()> {
    let m = progress.acc.count();
    if m == 0 && progress.diverged > 0 {
        bail!(
            "every one of the {} networks diverged (values or their sixth powers overflow f64): scale C_W down or reduce L",
            progress.diverged
        );
    }
    if m < 2 {
        return Ok(());
    }
    let names = problem.names();
    let zero = |prefix: &str| {
        let idx: Vec<usize> = (0..names.len())
            .filter(|&i| names[i].starts_with(prefix))
            .collect();
        !idx.is_empty()
            && idx.iter().all(|&i| {
                progress.acc.estimate(i, Statistic::Mean).estimate == 0.0
                    && progress.acc.estimate(i, Statistic::Variance).estimate == 0.0
            })
    };
    if zero("output[") || zero("ntk[") {
        let kernels = randnet_theory::cached_kernels(&problem.spec, &problem.inputs);
        if let Some(t @ randnet_theory::kernels::KernelTrouble::Underflow) = kernels.trouble() {
            bail!("{t}");
        }
    }
    Ok(())
}

/// Draws networks `range` in one go (no checkpoints, no progress bar beyond the default).
pub fn draw(
    problem: &Problem,
    sampler: &mut Sampler,
    range: std::ops::Range<u64>,
    batch: Option<usize>,
    npy: Option<&mut dyn RowSink>,
) -> Result<Drawn> {
    let bar = progress_bar(range.end - range.start);
    let mut progress = Progress::new(problem, sampler, range)?;
    let done = advance(
        problem,
        sampler,
        &mut progress,
        batch,
        npy,
        &mut Control::new(&bar),
    )?;
    bar.finish_and_clear();
    if !done {
        bail!("interrupted");
    }
    Ok(progress.drawn())
}

/// The statistics reported for an observable: all of [`Statistic::ALL`], and
/// `relative_variance` where the mean is positive by construction (the family says where:
/// diagonal NTK, squared norms, Jacobian norms, geometry counts).
pub fn reported_statistics(observable: &Observable) -> Vec<Statistic> {
    let mut stats = Statistic::ALL.to_vec();
    if (randnet_problem::families::def(observable.family()).positive)(observable) {
        stats.push(Statistic::RelativeVariance);
    }
    stats
}

/// Estimates of every observable with theory beside them, for an engine named by backend and
/// method (merged shards have no engine at hand).
pub fn build_report_named(problem: &Problem, drawn: &Drawn, backend: &str, method: &str) -> Report {
    let layout = problem.layout();
    let mut observables = BTreeMap::new();
    let mut undefined = BTreeMap::new();
    let mut order = Vec::new();
    let mut footer = Vec::new();
    for (i, obs) in layout.observables().iter().enumerate() {
        let name = obs.to_string();
        let m = drawn.acc.count_of(i) as f64;
        let lacking = drawn.acc.undefined(i);
        if lacking > 0 {
            let why = randnet_problem::families::def(obs.family())
                .undefined
                .unwrap_or("no value");
            footer.push(format!(
                "{name}: {lacking} of {} networks have none ({why}); its estimates are conditional on it existing",
                drawn.acc.count()
            ));
            undefined.insert(name.clone(), lacking);
        }
        let mut stats = BTreeMap::new();
        let mut stat_order = Vec::new();
        let law = randnet_theory::sampling::estimator_law(&problem.spec, &problem.inputs, obs);
        if let Some(law) = &law {
            footer.push(plan_line(&name, law, m));
        }
        for stat in reported_statistics(obs) {
            let e = drawn.acc.estimate(i, stat);
            let pred = randnet_theory::predict(
                &problem.spec,
                &problem.inputs,
                problem.observe.curve,
                obs,
                stat.name(),
            )
            .ok();
            let rel = drawn.acc.reliability(i, stat);
            let mut entry = Entry::new(e, rel, pred);
            if let Some(law) = &law {
                entry.law_stderr = law.stderr(stat.name(), m).filter(|v| v.is_finite());
            }
            stats.insert(stat.name().to_string(), entry);
            stat_order.push(stat.name().to_string());
        }
        observables.insert(name.clone(), stats);
        order.push((name, stat_order));
    }
    if method.split('+').any(|m| m == "grid")
        && layout
            .observables()
            .iter()
            .any(|o| matches!(o, Observable::Regions | Observable::Patterns))
    {
        footer.push(
            "method grid: counts on a grid of points (patterns; regions on the GPU) are lower bounds of the exact counts (docs/geometry.md), and a gap to theory includes their undercount"
                .to_string(),
        );
    }
    for (p, &(i, j)) in drawn.acc.pairs().iter().enumerate() {
        let name = match (layout.observables()[i], layout.observables()[j]) {
            (Observable::Output(a), Observable::Output(b)) => Observable::OutputPair(a, b),
            _ => unreachable!("pairs are of outputs"),
        }
        .to_string();
        let e = drawn.acc.joint_kappa4(p);
        let rel = drawn.acc.joint_reliability(p);
        let mut stats = BTreeMap::new();
        stats.insert("joint_kappa4".to_string(), Entry::new(e, rel, None));
        observables.insert(name.clone(), stats);
        order.push((name, vec!["joint_kappa4".to_string()]));
    }
    Report {
        version: env!("CARGO_PKG_VERSION").to_string(),
        spec: problem.spec.clone(),
        inputs: problem.inputs.clone(),
        seed: problem.seed,
        networks: drawn.networks,
        diverged: drawn.diverged,
        backend: backend.to_string(),
        method: method.to_string(),
        adapter: None,
        observe: problem.observe,
        undefined,
        shard: None,
        accumulator: Some(drawn.acc.clone()),
        seconds: drawn.seconds,
        observables,
        order,
        footer,
    }
}

/// The table's planning line for an observable with an exact law: networks needed for a 10 %
/// relative standard error of its fourth- and sixth-order statistics, and the law's standard
/// error of the excess kurtosis at this M beside what a run of that size can give.
fn plan_line(name: &str, law: &randnet_theory::sampling::EstimatorLaw, m: f64) -> String {
    use crate::output::fmt_sig;
    let need = |stat: &str| {
        law.networks_for_relative_error(stat, 0.1)
            .filter(|v| v.is_finite())
            .map(|v| fmt_sig(v.ceil(), 2))
            .unwrap_or_else(|| "-".into())
    };
    format!(
        "exact law, {name}: networks for 10 % relative error: kappa4 {}, excess_kurtosis {}, kappa6 {} (this run: {})",
        need("kappa4"),
        need("excess_kurtosis"),
        need("kappa6"),
        fmt_sig(m, 3)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use randnet_problem::{InputSpec, NetworkSpec, Observe};
    use randnet_sampler::{BatchSampler, CpuDense, SamplerError};

    /// Wraps the CPU engine and fails (as a lost GPU would) once `fail_at` networks are reached.
    struct Failing {
        inner: CpuDense,
        fail_at: u64,
    }

    impl BatchSampler for Failing {
        fn n_values(&self) -> usize {
            self.inner.n_values()
        }
        fn sample_batch(
            &mut self,
            start: u64,
            count: usize,
            out: &mut [f64],
        ) -> Result<(), SamplerError> {
            if start + count as u64 > self.fail_at {
                return Err(SamplerError::Gpu("device lost".into()));
            }
            self.inner.sample_batch(start, count, out)
        }
        fn backend(&self) -> &'static str {
            "gpu"
        }
        fn method(&self) -> &'static str {
            "dense"
        }
    }

    /// A run that loses its device keeps the exact estimates of the batches it finished: they
    /// equal a clean run over the same networks.
    #[test]
    fn device_loss_keeps_finished_work() {
        let spec = NetworkSpec::new(
            4,
            vec![8; 3],
            1,
            "relu".parse().unwrap(),
            None,
            0.0,
            randnet_problem::Parameterization::Ntk,
            None,
            randnet_problem::WeightLaw::Gaussian,
        )
        .unwrap();
        let problem = Problem {
            inputs: resolve_inputs(&InputSpec::Random { count: 2 }, 4, 1),
            spec,
            observe: Observe::parse_list("output,ntk").unwrap(),
            seed: 1,
        };
        let mut failing = Sampler::new(
            &problem,
            Box::new(Failing {
                inner: CpuDense::new(&problem).unwrap(),
                fail_at: 350,
            }),
        )
        .unwrap();
        let bar = ProgressBar::hidden();
        let mut progress = Progress::new(&problem, &mut failing, 0..1000).unwrap();
        let outcome = advance(
            &problem,
            &mut failing,
            &mut progress,
            Some(100),
            None,
            &mut Control::new(&bar),
        );
        assert!(outcome.is_err());
        assert_eq!(progress.next, 300);
        let mut clean = Sampler::new(&problem, Box::new(CpuDense::new(&problem).unwrap())).unwrap();
        let whole = draw(&problem, &mut clean, 0..300, Some(7), None).unwrap();
        let partial = progress.drawn();
        assert_eq!(partial.networks, 300);
        for obs in 0..problem.n_values() {
            for stat in Statistic::ALL {
                let (a, b) = (
                    partial.acc.estimate(obs, stat),
                    whole.acc.estimate(obs, stat),
                );
                assert_eq!(a.estimate.to_bits(), b.estimate.to_bits());
            }
        }
    }
}

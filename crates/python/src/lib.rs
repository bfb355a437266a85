//! `randnet._randnet`: the Python package's native module. Each function takes the CLI's
//! arguments as an argv list (the Python layer turns keyword arguments into flags), parses them
//! with the same clap definitions as the `randnet` binary, and runs the same library functions
//! (crates/run), so flags, validation, messages, streams and estimates are the CLI's.
//!
//! Work runs on a worker thread with the GIL released; the calling thread waits for it, updates
//! the progress callback and checks Python's signals: a KeyboardInterrupt stops the run between
//! batches, as SIGINT stops the CLI, and the finished networks are returned.

use clap::Parser;
use numpy::{IntoPyArray, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use randnet_problem::InputSpec;
use randnet_run::args::{Format, SampleArgs, SweepArgs, TheoryArgs};
use randnet_run::process::one_line;
use randnet_run::sample::{RowSink, INTERRUPTED};
use randnet_sampler::plan::Env;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{channel, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(name = "randnet.sample", no_binary_name = true)]
struct SampleCli {
    #[command(flatten)]
    args: SampleArgs,
}

#[derive(Parser)]
#[command(name = "randnet.sweep", no_binary_name = true)]
struct SweepCli {
    #[command(flatten)]
    args: SweepArgs,
}

#[derive(Parser)]
#[command(name = "randnet.theory", no_binary_name = true)]
struct TheoryCli {
    #[command(flatten)]
    args: TheoryArgs,
}

/// clap's message as one line (its first: "unexpected argument '--foo' found", "invalid value
/// 'x' for '--width <WIDTH>': ...").
fn parse<T: Parser>(argv: Vec<String>) -> PyResult<T> {
    T::try_parse_from(argv).map_err(|e| {
        let text = e.to_string();
        let first = text.lines().next().unwrap_or("").trim();
        PyValueError::new_err(first.strip_prefix("error: ").unwrap_or(first).to_string())
    })
}

fn value_error(e: anyhow::Error) -> PyErr {
    PyValueError::new_err(one_line(&e))
}

/// Inputs from an `x=` array: one input per row (n0 is its number of columns).
fn explicit_inputs(x: Option<PyReadonlyArray2<'_, f64>>) -> Option<(InputSpec, Option<usize>)> {
    x.map(|x| {
        let shape = x.shape();
        let (k, n0) = (shape[0], shape[1]);
        let a = x.as_array();
        let rows: Vec<Vec<f64>> = (0..k).map(|i| a.row(i).to_vec()).collect();
        (InputSpec::Explicit { rows }, Some(n0))
    })
}

/// Runs `work` on a worker thread with the GIL released. Meanwhile the calling thread reports
/// progress (`progress(done, total)` from `bar`) and checks Python's signals; a pending
/// KeyboardInterrupt sets [`INTERRUPTED`], which stops the run loop between batches as the
/// CLI's SIGINT does. Returns the work's result and whether it was interrupted.
fn supervise<T: Send>(
    py: Python<'_>,
    bar: &indicatif::ProgressBar,
    progress: Option<&Bound<'_, PyAny>>,
    work: impl FnOnce() -> T + Send,
) -> PyResult<(T, bool)> {
    let (tx, rx) = channel();
    let mut interrupted = false;
    let mut report_progress = progress.is_some();
    let result = std::thread::scope(|scope| {
        scope.spawn(move || {
            let _ = tx.send(work());
        });
        let mut rx = rx;
        loop {
            // The receiver travels into the GIL-free closure and back (it is Send, not Sync).
            let (received, back) = py.detach(move || {
                let r = rx.recv_timeout(Duration::from_millis(100));
                (r, rx)
            });
            rx = back;
            match received {
                Ok(r) => return Some(r),
                Err(RecvTimeoutError::Disconnected) => return None,
                Err(RecvTimeoutError::Timeout) => {
                    if let (Some(cb), true) = (progress, report_progress) {
                        // A progress display that fails is switched off, not fatal to the run.
                        report_progress = cb
                            .call1((bar.position(), bar.length().unwrap_or(0)))
                            .is_ok();
                    }
                    if !interrupted && py.check_signals().is_err() {
                        interrupted = true;
                        INTERRUPTED.store(true, Ordering::SeqCst);
                    }
                }
            }
        }
    });
    INTERRUPTED.store(false, Ordering::SeqCst);
    if let (Some(cb), true) = (progress, report_progress) {
        let _ = cb.call1((bar.position(), bar.length().unwrap_or(0)));
    }
    match result {
        Some(r) => Ok((r, interrupted)),
        None => Err(PyRuntimeError::new_err(
            "randnet: the worker thread panicked",
        )),
    }
}

/// Every network's values in network order, each row led by its network index (as the bits of a
/// u64), ready to be viewed as a numpy structured array without a copy.
struct IndexedRows {
    data: Vec<f64>,
    next: u64,
    width: usize,
}

impl RowSink for IndexedRows {
    fn write_rows(&mut self, rows: &[f64]) -> anyhow::Result<()> {
        for row in rows.chunks_exact(self.width) {
            self.data.push(f64::from_bits(self.next));
            self.data.extend_from_slice(row);
            self.next += 1;
        }
        Ok(())
    }
}

/// The engines' environments (the GPU, when one is used) by `--backend` and `--adapter`, opened
/// once per process: opening a Vulkan instance and probing adapters costs about 10 ms, which a
/// notebook calling `sample` in a loop would otherwise pay every time.
type EnvKey = (Option<randnet_sampler::plan::Device>, Option<String>);
static ENVIRONMENTS: Mutex<Vec<(EnvKey, Arc<Env>)>> = Mutex::new(Vec::new());

fn environment(args: &SampleArgs) -> anyhow::Result<Arc<Env>> {
    let request = randnet_run::sample::request(
        args.run.backend,
        args.run.method,
        args.run.adapter.as_deref(),
    );
    let key = (request.device, request.adapter.clone());
    let mut envs = ENVIRONMENTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, env)) = envs.iter().find(|(k, _)| *k == key) {
        return Ok(env.clone());
    }
    let env = Arc::new(Env::open(&request)?);
    envs.push((key, env.clone()));
    Ok(env)
}

fn forget_environments() {
    ENVIRONMENTS
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clear();
}

/// What the worker of `sample` hands back.
enum SampleOutcome {
    /// Refused before any network was drawn (bad arguments, no device, too much memory).
    Refused(anyhow::Error),
    /// Stopped after drawing, with nothing to report (every network diverged...).
    Failed(anyhow::Error),
    Done {
        json: String,
        csv: String,
        spec: String,
        names: Vec<String>,
        rows: Option<Vec<f64>>,
        networks: u64,
        diverged: u64,
        /// Why the run did not finish (interrupted, device lost), when it did not.
        stopped: Option<String>,
        seconds: f64,
    },
}

/// `randnet sample` with argv: returns a dict with the report as JSON (`json`, the CLI's
/// `--format json`) and tidy CSV (`csv`, `--format csv`), the spec as JSON, the value names,
/// and with `samples` the values as a flat float64 array (`rows`, one row per network led by
/// its index), `complete`, `message` (why not complete) and `seconds` (the whole call in Rust).
#[pyfunction]
#[pyo3(signature = (argv, x=None, samples=false, progress=None))]
fn sample<'py>(
    py: Python<'py>,
    argv: Vec<String>,
    x: Option<PyReadonlyArray2<'py, f64>>,
    samples: bool,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<Bound<'py, PyDict>> {
    let start = Instant::now();
    let args = parse::<SampleCli>(argv)?.args;
    let inputs = explicit_inputs(x);
    let bar = indicatif::ProgressBar::hidden();
    let (outcome, _) = supervise(py, &bar, progress.as_ref(), || {
        sample_work(&args, inputs, samples, &bar, start)
    })?;
    match outcome {
        SampleOutcome::Refused(e) => Err(value_error(e)),
        SampleOutcome::Failed(e) => Err(PyRuntimeError::new_err(one_line(&e))),
        SampleOutcome::Done {
            json,
            csv,
            spec,
            names,
            rows,
            networks,
            diverged,
            stopped,
            seconds,
        } => {
            let d = PyDict::new(py);
            d.set_item("json", json)?;
            d.set_item("csv", csv)?;
            d.set_item("spec", spec)?;
            d.set_item("names", names)?;
            match rows {
                Some(r) => d.set_item("rows", r.into_pyarray(py))?,
                None => d.set_item("rows", py.None())?,
            }
            d.set_item("networks", networks)?;
            d.set_item("diverged", diverged)?;
            d.set_item("complete", stopped.is_none())?;
            d.set_item("message", stopped)?;
            d.set_item("seconds", seconds)?;
            Ok(d)
        }
    }
}

fn sample_work(
    args: &SampleArgs,
    inputs: Option<(InputSpec, Option<usize>)>,
    samples: bool,
    bar: &indicatif::ProgressBar,
    start: Instant,
) -> SampleOutcome {
    let prepared = (|| {
        let problem = match inputs {
            Some((spec, n0)) => randnet_run::sample::problem_with_inputs(args, spec, n0)?,
            None => randnet_run::sample::problem_from(args)?,
        };
        let env = environment(args)?;
        randnet_run::sample::prepare_in(args, problem, &env)
    })();
    let prepared = match prepared {
        Ok(p) => p,
        Err(e) => return SampleOutcome::Refused(e),
    };
    let names = prepared.problem.names();
    let total = prepared.range.end - prepared.range.start;
    bar.set_length(total);
    let mut rows = None;
    if samples {
        let bytes = total as f64 * (names.len() + 1) as f64 * 8.0;
        if let Err(e) = randnet_run::sample::check_memory_for(
            bytes,
            "keeping every network's values (samples=True) needs",
            "use fewer networks or observables",
        ) {
            return SampleOutcome::Refused(e);
        }
        rows = Some(IndexedRows {
            data: Vec::with_capacity(total as usize * (names.len() + 1)),
            next: prepared.range.start,
            width: names.len(),
        });
    }
    let sampled = match prepared.draw(rows.as_mut().map(|r| r as &mut dyn RowSink), bar) {
        Ok(s) => s,
        Err(e) => return SampleOutcome::Refused(e),
    };
    if sampled.outcome.is_err() {
        // A device that failed is opened afresh next time.
        forget_environments();
    }
    if !sampled.reportable {
        let e = sampled
            .stop_error()
            .unwrap_or_else(|| anyhow::anyhow!("no network could be estimated"));
        return SampleOutcome::Failed(e);
    }
    let render = |f| sampled.report.render(f);
    let (json, csv, spec) = match (
        render(Format::Json),
        render(Format::Csv),
        serde_json_spec(&sampled.report),
    ) {
        (Ok(j), Ok(c), Ok(s)) => (j, c, s),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return SampleOutcome::Failed(e),
    };
    let (networks, diverged) = (sampled.report.networks, sampled.report.diverged);
    let stopped = sampled.stop_error().map(|e| one_line(&e));
    SampleOutcome::Done {
        json,
        csv,
        spec,
        names,
        rows: rows.map(|r| r.data),
        networks,
        diverged,
        stopped,
        seconds: start.elapsed().as_secs_f64(),
    }
}

fn serde_json_spec(report: &randnet_run::output::Report) -> anyhow::Result<String> {
    let mut v = serde_json::to_value(&report.spec)?;
    if let Some(m) = v.as_object_mut() {
        m.insert("inputs".into(), serde_json::to_value(&report.inputs)?);
        m.insert("seed".into(), report.seed.into());
    }
    Ok(serde_json::to_string(&v)?)
}

/// `randnet sweep` with argv: the result as JSON and tidy CSV (the CLI's `--format json` and
/// `--format csv`, extrapolation rows included), after `--plot` if asked. An interruption saves
/// the checkpoint (resume=True continues) and raises KeyboardInterrupt.
#[pyfunction]
#[pyo3(signature = (argv, progress=None))]
fn sweep<'py>(
    py: Python<'py>,
    argv: Vec<String>,
    progress: Option<Bound<'py, PyAny>>,
) -> PyResult<(String, String)> {
    let args = parse::<SweepCli>(argv)?.args;
    let bar = indicatif::ProgressBar::hidden();
    let (result, interrupted) = supervise(py, &bar, progress.as_ref(), || {
        let (result, cp_paths) = randnet_run::sweep::execute_all(&args, &bar)?;
        let json = randnet_run::sweep::render(&result, Format::Json)?;
        let csv = randnet_run::sweep::render(&result, Format::Csv)?;
        if let Some(plot) = &args.plot {
            randnet_run::plot::plot_sweep(&result, &args, plot)?;
        }
        // The result is in the caller's hands: the checkpoints have done their job.
        for p in cp_paths {
            let _ = std::fs::remove_file(&p);
        }
        anyhow::Ok((json, csv))
    })?;
    match result {
        Ok(r) => Ok(r),
        Err(e) if interrupted => Err(PyKeyboardInterrupt::new_err(one_line(&e))),
        Err(e) => Err(value_error(e)),
    }
}

/// `randnet theory` with argv (and optional `x=` inputs): the predictions as JSON and CSV.
#[pyfunction]
#[pyo3(signature = (argv, x=None))]
fn theory(
    py: Python<'_>,
    argv: Vec<String>,
    x: Option<PyReadonlyArray2<'_, f64>>,
) -> PyResult<(String, String)> {
    let mut args = parse::<TheoryCli>(argv)?.args;
    let inputs = explicit_inputs(x);
    py.detach(|| {
        let (spec, n0) = match inputs {
            Some(i) => i,
            None => args.inputs.to_inputs()?,
        };
        args.format = Format::Json;
        let json = randnet_run::theory_cmd::render_with_inputs(&args, spec.clone(), n0)?;
        args.format = Format::Csv;
        let csv = randnet_run::theory_cmd::render_with_inputs(&args, spec, n0)?;
        anyhow::Ok((json, csv))
    })
    .map_err(value_error)
}

/// `randnet merge FILES`: the merged result as JSON and CSV, and whether it is a sweep.
#[pyfunction]
fn merge(py: Python<'_>, files: Vec<std::path::PathBuf>) -> PyResult<(String, String, bool)> {
    py.detach(|| {
        let merged = randnet_run::merge::merged(&files)?;
        let sweep = matches!(merged, randnet_run::merge::Merged::Sweep(_));
        anyhow::Ok((
            merged.render(Format::Json)?,
            merged.render(Format::Csv)?,
            sweep,
        ))
    })
    .map_err(value_error)
}

/// The long flags of a command (`sample`, `sweep`, `theory`) with underscores: the keyword
/// arguments the Python functions mirror (a test holds their signatures to these).
#[pyfunction]
fn flags(command: &str) -> PyResult<Vec<String>> {
    use clap::CommandFactory;
    let cmd = match command {
        "sample" => SampleCli::command(),
        "sweep" => SweepCli::command(),
        "theory" => TheoryCli::command(),
        _ => return Err(PyValueError::new_err(format!("no command '{command}'"))),
    };
    Ok(cmd
        .get_arguments()
        .filter_map(|a| a.get_long())
        .filter(|l| *l != "help")
        .map(|l| l.replace('-', "_"))
        .collect())
}

#[pymodule]
fn _randnet(m: &Bound<'_, PyModule>) -> PyResult<()> {
    randnet_run::process::quiet_mesa();
    // RAYON_NUM_THREADS / SLURM_CPUS_PER_TASK as the CLI reads them.
    randnet_run::process::init_threads().map_err(value_error)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(sample, m)?)?;
    m.add_function(wrap_pyfunction!(sweep, m)?)?;
    m.add_function(wrap_pyfunction!(theory, m)?)?;
    m.add_function(wrap_pyfunction!(merge, m)?)?;
    m.add_function(wrap_pyfunction!(flags, m)?)?;
    Ok(())
}

//! `randnet run FILE.toml`: a batch of sample and sweep jobs, each written as the flags of its
//! command, so a batch file says exactly what the command line would:
//!
//! ```toml
//! [[job]]
//! name = "pdlt-relu"          # optional, for progress messages
//! command = "sweep"           # sample or sweep
//! [job.args]                  # flag name (without --) = value; true = a bare flag
//! activation = "relu"
//! widths = "16,32,64"
//! ratios = "0.125,0.25,0.5"
//! plot-stat = ["output[0]:excess_kurtosis"]   # lists repeat the flag
//! ```
//! Relative paths in `output`, `plot`, `input-file` and `checkpoint` are taken relative to the
//! batch file's directory.

use crate::args::{RunFileArgs, SampleArgs, SweepArgs};
use clap::{Parser, Subcommand};

/// A job's command line, parsed as the binary parses it.
#[derive(Debug, Parser)]
#[command(name = "randnet")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Sample(SampleArgs),
    Sweep(SweepArgs),
}
use anyhow::{bail, Context, Result};
use std::path::Path;

const PATH_FLAGS: [&str; 5] = ["output", "plot", "input-file", "checkpoint", "save-samples"];

fn to_arg(value: &toml::Value, key: &str, base: &Path) -> Result<Vec<String>> {
    let text = match value {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => f.to_string(),
        toml::Value::Boolean(true) => return Ok(vec![format!("--{key}")]),
        toml::Value::Boolean(false) => return Ok(vec![]),
        toml::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(to_arg(item, key, base)?);
            }
            return Ok(out);
        }
        other => bail!("job argument '{key}': unsupported value {other}"),
    };
    let text = if PATH_FLAGS.contains(&key) && Path::new(&text).is_relative() {
        base.join(&text).display().to_string()
    } else {
        text
    };
    Ok(vec![format!("--{key}"), text])
}

/// The batch file format this randnet reads (the optional top-level `format = 1`).
const BATCH_FORMAT: i64 = 1;

pub fn run(args: &RunFileArgs) -> Result<()> {
    let file = args.file.display().to_string();
    // Only regular files: a FIFO nobody writes would block the read where Ctrl-C cannot reach.
    let meta = std::fs::metadata(&args.file).with_context(|| format!("cannot read {file}"))?;
    if !meta.is_file() {
        bail!("cannot read {file}: not a regular file (a FIFO, device or directory)");
    }
    let text =
        std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {file}"))?;
    let doc: toml::Table = match text.parse() {
        Ok(d) => d,
        Err(e) => {
            // toml's Display draws the offending line with a caret over several lines; errors
            // are one line, so give the message and its position.
            let e: toml::de::Error = e;
            let at = e.span().map(|sp| {
                let before = &text[..sp.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
                format!(" at line {line}, column {col}")
            });
            bail!(
                "{file}: not valid TOML{}: {}",
                at.unwrap_or_default(),
                e.message().trim().replace('\n', " ")
            )
        }
    };
    let base = args.file.parent().unwrap_or(Path::new("."));
    for (k, v) in &doc {
        match k.as_str() {
            "job" => {}
            "format" => match v.as_integer() {
                Some(BATCH_FORMAT) => {}
                _ => bail!("{file}: format {v} is not supported (this randnet reads format = {BATCH_FORMAT})"),
            },
            other => bail!("{file}: unknown key '{other}' (expected [[job]] entries and an optional format = {BATCH_FORMAT})"),
        }
    }
    let jobs = doc
        .get("job")
        .and_then(|j| j.as_array())
        .with_context(|| format!("{file}: no [[job]] entries"))?;
    // Parse and check every job first: a typo or a bad path in job 5 is reported before job 1
    // runs for an hour.
    let mut parsed = Vec::new();
    let mut outputs: Vec<crate::paths::Output> = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let job = job
            .as_table()
            .with_context(|| format!("{file}: job {} is not a table", i + 1))?;
        let name = match job.get("name") {
            None => format!("job {}", i + 1),
            Some(n) => n
                .as_str()
                .map(str::to_string)
                .with_context(|| format!("{file}: job {}: name must be a string", i + 1))?,
        };
        if let Some(k) = job
            .keys()
            .find(|k| !["name", "command", "args"].contains(&k.as_str()))
        {
            bail!("{name}: unknown key '{k}' (a job has name, command and args)");
        }
        let command = job
            .get("command")
            .and_then(|c| c.as_str())
            .with_context(|| format!("{name}: no command (sample or sweep)"))?;
        if command != "sample" && command != "sweep" {
            bail!("{name}: command must be sample or sweep, got '{command}'");
        }
        let mut argv = vec!["randnet".to_string(), command.to_string()];
        match job.get("args") {
            None => {}
            Some(toml::Value::Table(table)) => {
                for (k, v) in table {
                    argv.extend(to_arg(v, k, base)?);
                }
            }
            // The command line's own words, e.g. ["--networks", "500"]; paths as given.
            Some(toml::Value::Array(items)) => {
                for item in items {
                    let word = item.as_str().with_context(|| {
                        format!("{name}: args must be a table of flags or an array of strings; {item} is not a string")
                    })?;
                    argv.push(word.to_string());
                }
            }
            Some(other) => bail!(
                "{name}: args must be a table of flags ([job.args]) or an array of strings, got {other}"
            ),
        }
        let cli = Cli::try_parse_from(&argv).map_err(|e| {
            let msg = e.to_string();
            anyhow::anyhow!("{name}: {}", msg.lines().next().unwrap_or("bad arguments"))
        })?;
        let outs = match &cli.command {
            Command::Sample(a) => {
                crate::paths::check_sample(a).with_context(|| name.clone())?;
                crate::sample::problem_from(a).with_context(|| name.clone())?;
                crate::paths::sample_files(a).0
            }
            Command::Sweep(a) => crate::sweep::check(a).with_context(|| name.clone())?,
        };
        outputs.extend(outs.into_iter().map(|mut o| {
            o.flag = format!("{name} {}", o.flag);
            o
        }));
        parsed.push((name, cli));
    }
    // No two jobs write the same file.
    crate::paths::check(&outputs, &[]).with_context(|| file.clone())?;
    for (name, cli) in parsed {
        eprintln!("randnet run: {name}");
        match &cli.command {
            Command::Sample(a) => crate::sample::run(a),
            Command::Sweep(a) => crate::sweep::run(a),
        }
        .with_context(|| name.clone())?;
    }
    Ok(())
}

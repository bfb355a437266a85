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

use crate::cli::{Cli, Command, RunFileArgs};
use anyhow::{bail, Context, Result};
use clap::Parser;
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

pub fn run(args: &RunFileArgs) -> Result<()> {
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let doc: toml::Table = text
        .parse()
        .with_context(|| format!("{}: not valid TOML", args.file.display()))?;
    let base = args.file.parent().unwrap_or(Path::new("."));
    let jobs = doc
        .get("job")
        .and_then(|j| j.as_array())
        .with_context(|| format!("{}: no [[job]] entries", args.file.display()))?;
    // Parse every job first: a typo in job 5 is reported before job 1 runs for an hour.
    let mut parsed = Vec::new();
    for (i, job) in jobs.iter().enumerate() {
        let name = job
            .get("name")
            .and_then(|n| n.as_str())
            .map(str::to_string)
            .unwrap_or_else(|| format!("job {}", i + 1));
        let command = job
            .get("command")
            .and_then(|c| c.as_str())
            .with_context(|| format!("{name}: no command (sample or sweep)"))?;
        if command != "sample" && command != "sweep" {
            bail!("{name}: command must be sample or sweep, got '{command}'");
        }
        let mut argv = vec!["randnet".to_string(), command.to_string()];
        if let Some(table) = job.get("args").and_then(|a| a.as_table()) {
            for (k, v) in table {
                argv.extend(to_arg(v, k, base)?);
            }
        }
        let cli = Cli::try_parse_from(&argv).map_err(|e| {
            let msg = e.to_string();
            anyhow::anyhow!("{name}: {}", msg.lines().next().unwrap_or("bad arguments"))
        })?;
        parsed.push((name, cli));
    }
    for (name, cli) in parsed {
        eprintln!("randnet run: {name}");
        match &cli.command {
            Command::Sample(a) => crate::sample::run(a),
            Command::Sweep(a) => crate::sweep::run(a),
            _ => unreachable!("checked above"),
        }
        .with_context(|| name.clone())?;
    }
    Ok(())
}

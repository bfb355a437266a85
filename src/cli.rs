//! The command line: one subcommand per command, each flattening its argument groups from
//! [`randnet_run::args`].

use clap::{Parser, Subcommand};
use randnet_run::args::{
    BenchArgs, MergeArgs, RunFileArgs, SampleArgs, SweepArgs, TheoryArgs, VerifyArgs,
};

#[derive(Debug, Parser)]
#[command(
    name = "randnet",
    version,
    about = "Draw many random deep networks and estimate their statistics against L/n, with theory beside every estimate"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Draw random networks and print estimates (with standard errors) of their observables.
    Sample(SampleArgs),
    /// Networks/s of every engine on the canonical configs, beside the peer baselines.
    Bench(BenchArgs),
    /// The same statistics across widths and depths (or L/n ratios): tidy CSV/JSON, plots,
    /// checkpoints and --resume.
    Sweep(SweepArgs),
    /// The same networks under several weight laws (--weights gaussian,uniform,rademacher):
    /// every estimate's difference from the first law with its standard error, and a
    /// Kolmogorov–Smirnov statistic on the per-network values.
    Compare(SampleArgs),
    /// Merge the JSON outputs of sharded sample or sweep runs into one result.
    Merge(MergeArgs),
    /// Run a batch of sample and sweep jobs from a TOML file.
    Run(RunFileArgs),
    /// Predictions without sampling: infinite-width kernels and finite-width laws.
    Theory(TheoryArgs),
    /// Monte Carlo against theory: the built-in verification suite (exit 1 if a check fails).
    Verify(VerifyArgs),
}

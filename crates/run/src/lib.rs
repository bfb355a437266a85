//! The commands of randnet as a library: planning (which engines draw a problem, what memory it
//! needs), the run loop (progress, checkpoints, signals, shards), typed reports, sweeps, merges,
//! verification, extrapolation and plots. The `randnet` binary is clap, dispatch and printing
//! over this crate; other front ends (benches, the Python package) call the same functions.
//!
//! Data flow (docs/architecture.md): `args` → [`sample::problem_from`] (a validated
//! [`randnet_sampler::Problem`]) → [`randnet_sampler::plan::plan`] (engines from the registry)
//! → [`sample::advance`] (accumulators) → [`output::Report`] (estimates beside theory).

pub mod args;
pub mod batch;
pub mod bench;
pub mod compare;
pub mod exponents;
pub mod extrapolate;
pub mod histogram;
pub mod input_file;
pub mod merge;
pub mod npy;
pub mod output;
pub mod paths;
pub mod plot;
pub mod process;
pub mod sample;
pub mod sweep;
pub mod theory_cmd;
pub mod verify;

//! The `randnet` binary: parse, dispatch, print. All the work lives in the library crates
//! (problem → sampler → stats → theory → run; docs/architecture.md); this crate only wires
//! them to the command line.

mod cli;

use randnet_run::{batch, bench, compare, merge, sample, sweep, theory_cmd, verify};

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Before any thread exists (it sets an environment variable).
    randnet_run::process::quiet_mesa();
    // A reader that closes the pipe (`randnet sample ... | head`) ends randnet quietly, as it
    // ends any Unix tool, instead of a panic with a backtrace when the result is printed.
    // SAFETY: restoring the default disposition of one signal, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
                || matches!(
                    e.kind(),
                    ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
                )
            {
                let _ = e.print();
                return if e.use_stderr() {
                    ExitCode::from(2)
                } else {
                    ExitCode::SUCCESS
                };
            }
            // clap's own report of a parse error: the message, "did you mean", the possible
            // values and the usage line (exit status 2).
            e.exit();
        }
    };
    if let Err(e) = randnet_run::process::init_threads() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    // Only commands with a run loop that saves finished work catch the signals; the others
    // (theory, verify, bench, merge) keep the default: a signal ends them.
    if matches!(
        cli.command,
        cli::Command::Sample(_)
            | cli::Command::Sweep(_)
            | cli::Command::Run(_)
            | cli::Command::Compare(_)
    ) {
        sample::install_interrupt_handler();
    }
    let result = match &cli.command {
        cli::Command::Sample(args) => sample::run(args),
        cli::Command::Bench(args) => bench::run(args),
        cli::Command::Sweep(args) => sweep::run(args),
        cli::Command::Compare(args) => compare::run(args),
        cli::Command::Merge(args) => merge::run(args),
        cli::Command::Run(args) => batch::run(args),
        cli::Command::Theory(args) => theory_cmd::run(args),
        cli::Command::Verify(args) => verify::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", randnet_run::process::one_line(&e));
            ExitCode::FAILURE
        }
    }
}

//! The `randnet` binary: parse, dispatch, print. All the work lives in the library crates
//! (spec → sampler → stats → theory); this crate only wires them to the command line.

mod batch;
mod bench;
mod cli;
mod extrapolate;
mod input_file;
mod merge;
mod npy;
mod output;
mod plot;
mod sample;
mod sweep;
mod theory_cmd;
mod verify;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // Mesa's Vulkan drivers print "XDG_RUNTIME_DIR is invalid or not set" on every instance when
    // the variable is missing (containers, CI); a plain directory silences it. Done first, before
    // any thread exists.
    if std::env::var_os("XDG_RUNTIME_DIR").is_none() {
        std::env::set_var("XDG_RUNTIME_DIR", std::env::temp_dir());
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
            // One line: clap's message without the usage block.
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            eprintln!("{first}");
            return ExitCode::from(2);
        }
    };
    sample::install_interrupt_handler();
    let result = match &cli.command {
        cli::Command::Sample(args) => sample::run(args),
        cli::Command::Bench(args) => bench::run(args),
        cli::Command::Sweep(args) => sweep::run(args),
        cli::Command::Merge(args) => merge::run(args),
        cli::Command::Run(args) => batch::run(args),
        cli::Command::Theory(args) => theory_cmd::run(args),
        cli::Command::Verify(args) => verify::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let chain: Vec<String> = e.chain().map(|c| c.to_string()).collect();
            eprintln!("error: {}", chain.join(": "));
            ExitCode::FAILURE
        }
    }
}

//! `loadgen`: run a load scenario and print its latency summary, or validate scenario files.
//!
//! Exit status: 0 when every send succeeded; 1 when any send failed; 2 when
//! nothing could be run (invalid scenario or flags, unreachable broker), with
//! the reason as the last line on stderr: `loadgen: error: …`.

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use loadgen::cli::{Cli, Command, RunArgs, ValidateArgs};
use loadgen::scenario::Scenario;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => run(&args),
        Command::Validate(args) => validate(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            // Every error's message already includes its cause.
            eprintln!("loadgen: error: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the scenario and prints the summary; exit 1 when any send failed.
fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let scenario = args.resolve()?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    let result = runtime.block_on(loadgen::runner::run(&scenario));
    // Every background task is gone before anything more is printed.
    drop(runtime);
    let result = result?;
    print!("{}", loadgen::report::render(&scenario, &result));
    if result.errors_in_all_phases() > 0 {
        Ok(ExitCode::FAILURE)
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

/// Checks every file, stopping at the first invalid one.
fn validate(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    for file in &args.files {
        Scenario::from_toml_file(file)?;
        println!("ok: {}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

//! `loadgen`: run a load scenario and print its latency summary, or validate scenario files.
//!
//! Exit status: 0 when the run passed: every threshold of `[thresholds]` met,
//! or without that table, every send succeeded; 1 when it failed (a failed
//! threshold is named on stderr); 2 when nothing could be run (invalid
//! scenario or flags, unreachable broker), with the reason as the last line on
//! stderr: `loadgen: error: …`.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
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

/// Runs the scenario and prints the summary; exit 1 when the run failed.
fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let scenario = args.resolve()?;
    // Created up front so that an unwritable path fails before the run, not after it.
    let json = args.json.as_deref().map(create_output).transpose()?;
    let hgrm = args.hgrm.as_deref().map(create_output).transpose()?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    let result = runtime.block_on(loadgen::runner::run(&scenario));
    // Every background task is gone before anything more is printed.
    drop(runtime);
    let result = result?;
    let verdicts = scenario
        .thresholds
        .as_ref()
        .map(|t| t.evaluate(&result))
        .unwrap_or_default();
    print!("{}", loadgen::report::render(&scenario, &result, &verdicts));
    let passed = match scenario.thresholds {
        Some(_) => {
            for failed in verdicts.iter().filter(|v| !v.passed) {
                eprintln!(
                    "loadgen: error: threshold {} failed: actual {}, limit {}",
                    failed.name,
                    failed.actual_text(),
                    loadgen::thresholds::number(failed.limit)
                );
            }
            verdicts.iter().all(|v| v.passed)
        }
        None => result.errors_in_all_phases() == 0,
    };
    if let Some((path, file)) = json {
        let report = loadgen::json_report::report(&scenario, &result, &verdicts, passed);
        write_output(&path, file, |w| {
            serde_json::to_writer_pretty(&mut *w, &report)?;
            writeln!(w)
        })?;
    }
    if let Some((path, file)) = hgrm {
        let (total, _) = result.recorded_total();
        let text = loadgen::hgrm::percentile_distribution(total.corrected());
        write_output(&path, file, |w| w.write_all(text.as_bytes()))?;
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Creates (or truncates) a report file, naming it when that fails.
fn create_output(path: &Path) -> anyhow::Result<(PathBuf, File)> {
    let file = File::create(path)
        .map_err(|e| anyhow::anyhow!("cannot create report file {}: {e}", path.display()))?;
    Ok((path.to_path_buf(), file))
}

/// Writes a report file with `write` and flushes it, naming the file when that fails.
fn write_output(
    path: &Path,
    file: File,
    write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    let mut writer = BufWriter::new(file);
    write(&mut writer)
        .and_then(|()| writer.flush())
        .map_err(|e| anyhow::anyhow!("cannot write report file {}: {e}", path.display()))
}

/// Checks every file, stopping at the first invalid one.
fn validate(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    for file in &args.files {
        Scenario::from_toml_file(file)?;
        println!("ok: {}", file.display());
    }
    Ok(ExitCode::SUCCESS)
}

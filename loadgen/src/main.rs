//! `loadgen`: run a load scenario and print its latency summary, or validate scenario files.
//!
//! Exit status: 0 when the run passed: every threshold of `[thresholds]` met,
//! or without that table, every send succeeded; 1 when it failed (a failed
//! threshold is named on stderr); 2 when nothing could be run (invalid
//! scenario or flags, unreachable broker, a target that is no broker) or the
//! run gave up (no send succeeded for `[target] max_failing`); 130 when Ctrl-C interrupted the
//! run (the summary of what ran is printed). The reason is the last line on
//! stderr: `loadgen: error: …`.

use std::fs::File;
use std::io::{BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use loadgen::cli::{Cli, Command, CompareArgs, MergeArgs, RunArgs, ValidateArgs};
use loadgen::progress::{BarSlot, LogWriter, Progress};
use loadgen::run_metadata::RunMetadata;
use loadgen::run_result::RunResult;
use loadgen::runner::{Controls, RunError};
use loadgen::scenario::Scenario;
use loadgen::stop::{GRACE, Stop};
use loadgen::verdict::{AuditRule, Rules};
use tracing_subscriber::EnvFilter;

/// The exit status after Ctrl-C, as shells report a process ended by SIGINT.
const INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let bar = BarSlot::new();
    let log_bar = bar.clone();
    tracing_subscriber::fmt()
        .with_env_filter(
            // Quiet by default: the progress lines and the summary are the output.
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")),
        )
        .with_writer(move || LogWriter(log_bar.clone()))
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => run(&args, &bar),
        Command::Validate(args) => validate(&args),
        Command::Merge(args) => merge(&args),
        Command::Compare(args) => compare(&args),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            // Every error's message already includes its cause.
            eprintln!("loadgen: error: {e}");
            match e.downcast_ref::<RunError>() {
                Some(RunError::Interrupted) => ExitCode::from(INTERRUPTED),
                _ => ExitCode::from(2),
            }
        }
    }
}

/// Runs the scenario and prints the summary; exit 1 when the run failed, 130 when interrupted.
fn run(args: &RunArgs, bar: &BarSlot) -> anyhow::Result<ExitCode> {
    let scenario = args.resolve()?;
    let rules = Rules {
        audit: audit_rule(args.strict_audit),
        rate_share: scenario.shard.share(scenario.workload.producers),
    };
    let meta =
        RunMetadata::of_this_machine(args.scenario.as_deref(), args.resolved_duration_scale()?)
            .with_overrides(args.overridden());
    // Created up front so that an unwritable path fails before the run, not after it.
    let json = args.json.as_deref().map(create_output).transpose()?;
    let hgrm = args.hgrm.as_deref().map(create_output).transpose()?;
    let hlog = args.hlog.as_deref().map(create_output).transpose()?;
    let html = args.html.as_deref().map(create_output).transpose()?;
    let stop = Stop::new();
    handle_interrupts(&stop, bar)?;
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| anyhow::anyhow!("cannot start the async runtime: {e}"))?;
    let controls = Controls {
        stop,
        progress: Progress::new(args.progress, std::io::stderr().is_terminal(), bar),
    };
    let result = runtime.block_on(loadgen::runner::run_with(&scenario, controls));
    // Every background task is gone before anything more is printed.
    drop(runtime);
    let result = result?;
    if !scenario.shard.is_whole() {
        let mine = scenario.shard.producers(scenario.workload.producers);
        println!(
            "shard {}: producer instances {} to {} of {}, their share of every phase's rate and messages",
            scenario.shard,
            mine.start,
            mine.end - 1,
            scenario.workload.producers
        );
    }
    if let Some(overridden) = meta.overrides_text() {
        println!("overridden: {overridden}");
    }
    let outputs = Outputs {
        json,
        hgrm,
        hlog,
        html,
    };
    conclude(&scenario, &result, rules, outputs, &meta)
}

/// The report files asked for, created before the run.
struct Outputs {
    json: Option<(PathBuf, File)>,
    hgrm: Option<(PathBuf, File)>,
    hlog: Option<(PathBuf, File)>,
    html: Option<(PathBuf, File)>,
}

/// Judges a run, prints its summary, writes its report files, and names
/// each missed threshold on stderr; exit 1 when it failed, 130 when interrupted.
fn conclude(
    scenario: &Scenario,
    result: &RunResult,
    rules: Rules,
    outputs: Outputs,
    meta: &RunMetadata,
) -> anyhow::Result<ExitCode> {
    let verdicts = scenario
        .thresholds
        .as_ref()
        .map(|t| loadgen::verdict::evaluate(t, result, rules))
        .unwrap_or_default();
    print!(
        "{}",
        loadgen::report::render(scenario, result, &verdicts, meta)
    );
    let passed = !result.interrupted
        && match scenario.thresholds {
            Some(_) => verdicts.iter().all(|v| v.passed),
            None => result.errors_in_all_phases() == 0,
        };
    if let Some((path, file)) = outputs.json {
        let mut report = loadgen::json_report::report(scenario, result, &verdicts, passed, meta);
        if let Some(fields) = report.as_object_mut() {
            for (key, value) in loadgen::shard_report::fields(scenario, result) {
                fields.insert(key.into(), value);
            }
            let overrides = meta
                .overrides
                .iter()
                .map(|(flag, value)| serde_json::json!({ "flag": flag, "value": value }))
                .collect();
            fields.insert("overrides".into(), serde_json::Value::Array(overrides));
        }
        write_output(&path, file, |w| {
            serde_json::to_writer_pretty(&mut *w, &report)?;
            writeln!(w)
        })?;
    }
    if let Some((path, file)) = outputs.hgrm {
        let (total, _) = result.recorded_total();
        let text = loadgen::hgrm::percentile_distribution(total.corrected());
        write_output(&path, file, |w| w.write_all(text.as_bytes()))?;
    }
    if let Some((path, file)) = outputs.hlog {
        write_output(&path, file, |w| {
            loadgen::hlog::write_interval_log(w, &scenario.name, result.started, &result.intervals)
        })?;
    }
    if let Some((path, file)) = outputs.html {
        let page = loadgen::html_report::page(scenario, result, &verdicts, passed, meta);
        write_output(&path, file, |w| w.write_all(page.as_bytes()))?;
    }
    if result.interrupted {
        eprintln!(
            "loadgen: error: interrupted by Ctrl-C: the summary and reports cover the run until then"
        );
        return Ok(ExitCode::from(INTERRUPTED));
    }
    if scenario.thresholds.is_some() {
        for failed in verdicts.iter().filter(|v| !v.passed) {
            eprintln!(
                "loadgen: error: threshold {} failed: actual {}, limit {}",
                failed.name,
                failed.actual_text(),
                loadgen::format::number(failed.limit)
            );
        }
    }
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Merges the shards' reports into the whole run's, then judges and reports it as `run` does.
fn merge(args: &MergeArgs) -> anyhow::Result<ExitCode> {
    let outputs = Outputs {
        json: args.json.as_deref().map(create_output).transpose()?,
        hgrm: args.hgrm.as_deref().map(create_output).transpose()?,
        hlog: None,
        html: args.html.as_deref().map(create_output).transpose()?,
    };
    let mut runs = Vec::new();
    let mut meta = None;
    for path in &args.reports {
        let report = read_report(path)?;
        meta.get_or_insert_with(|| shard_metadata(&report));
        let run = loadgen::shard_report::read(&report)
            .map_err(|e| anyhow::anyhow!("cannot merge {}: {e}", path.display()))?;
        runs.push((path.display().to_string(), run));
    }
    let (scenario, result) = loadgen::merge::merge(runs)?;
    let rules = Rules {
        audit: audit_rule(args.strict_audit),
        rate_share: 1.0,
    };
    let meta = meta.unwrap_or_else(|| RunMetadata::of_this_machine(None, None));
    conclude(&scenario, &result, rules, outputs, &meta)
}

/// The metadata of a merged run: the scenario file and duration scale its first
/// shard's report names, on the machine that merges.
fn shard_metadata(report: &serde_json::Value) -> RunMetadata {
    let run = &report["run"];
    let file = run["scenario_file"].as_str().map(std::path::Path::new);
    let scale = run["duration_scale"].as_f64().filter(|&scale| scale != 1.0);
    RunMetadata::of_this_machine(file, scale)
}

/// Prints two reports side by side; exit 1 on a regression beyond the allowances.
fn compare(args: &CompareArgs) -> anyhow::Result<ExitCode> {
    let baseline = read_report(&args.baseline)?;
    let current = read_report(&args.current)?;
    let allowances = args.max_regression.clone().unwrap_or_default();
    let comparison = loadgen::compare::compare(&baseline, &current, &allowances).map_err(|e| {
        anyhow::anyhow!(
            "cannot compare {} with {}: {e}",
            args.current.display(),
            args.baseline.display()
        )
    })?;
    println!(
        "baseline {}, current {} (recorded phases)",
        args.baseline.display(),
        args.current.display()
    );
    print!("{}", comparison.table);
    for regression in &comparison.regressions {
        eprintln!("loadgen: error: {regression}");
    }
    Ok(if comparison.regressions.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A JSON report, naming the file when it cannot be read or is not JSON.
fn read_report(path: &Path) -> anyhow::Result<serde_json::Value> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read report {}: {e}", path.display()))?;
    serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("report {} is not JSON: {e}", path.display()))
}

/// `--strict-audit` as a rule.
fn audit_rule(strict: bool) -> AuditRule {
    if strict {
        AuditRule::Strict
    } else {
        AuditRule::Lenient
    }
}

/// Listens for Ctrl-C (SIGINT) on a thread of its own, from now until the
/// process exits: the first requests `stop` and, after the grace period,
/// abandons the sends in flight; the second exits at once.
fn handle_interrupts(stop: &Stop, bar: &BarSlot) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow::anyhow!("cannot start the signal handler's runtime: {e}"))?;
    // Registered here, before the run starts, so that no Ctrl-C is missed.
    let mut interrupts = runtime
        .block_on(async { Interrupts::new() })
        .map_err(|e| anyhow::anyhow!("cannot listen for Ctrl-C: {e}"))?;
    let (stop, bar) = (stop.clone(), bar.clone());
    std::thread::Builder::new()
        .name("loadgen-interrupts".into())
        .spawn(move || {
            runtime.block_on(async move {
                interrupts.next().await;
                bar.suspend(|| {
                    eprintln!(
                        "loadgen: interrupted: starting no more sends, waiting up to {GRACE:?} for those in flight \
                         (Ctrl-C again to exit at once)"
                    );
                });
                stop.request();
                tokio::select! {
                    () = interrupts.next() => {}
                    () = tokio::time::sleep(GRACE) => {
                        stop.abandon();
                        interrupts.next().await;
                    }
                }
                bar.suspend(|| eprintln!("loadgen: error: interrupted twice: exiting without a summary"));
                std::process::exit(i32::from(INTERRUPTED));
            });
        })
        .map_err(|e| anyhow::anyhow!("cannot start the signal handler's thread: {e}"))?;
    Ok(())
}

/// Ctrl-C as a stream of events.
struct Interrupts {
    #[cfg(unix)]
    signal: tokio::signal::unix::Signal,
}

impl Interrupts {
    /// Starts listening; must run inside a tokio runtime.
    fn new() -> std::io::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Interrupts {
                signal: signal(SignalKind::interrupt())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(Interrupts {})
        }
    }

    /// The next Ctrl-C.
    async fn next(&mut self) {
        #[cfg(unix)]
        {
            self.signal.recv().await;
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
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

//! The summary printed at the end of a run: a header (what ran, where, how:
//! the duration scale, the machine), per phase and in total, counts,
//! throughput, latency percentiles and schedule lag, then the audit line and
//! the verdict of each threshold. Long lines are wrapped to 100 columns.
//!
//! Pure formatting: it reads a [`RunResult`] and returns text.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::audit::Audit;
use crate::format::{LINE_WIDTH, millis, number, wrap};
use crate::recorder::Recorder;
use crate::run_metadata::RunMetadata;
use crate::run_result::{FaultOutcome, PhaseResult, RunResult};
use crate::scenario::{Keys, Scenario};
use crate::verdict::Verdict;

/// The percentiles shown (here and in the HTML report), as quantiles with their column titles.
pub(crate) const PERCENTILES: [(f64, &str); 5] = [
    (0.5, "p50"),
    (0.9, "p90"),
    (0.99, "p99"),
    (0.999, "p99.9"),
    (0.9999, "p99.99"),
];

/// The whole summary; `verdicts` are those of the scenario's thresholds.
pub fn render(
    scenario: &Scenario,
    result: &RunResult,
    verdicts: &[Verdict],
    meta: &RunMetadata,
) -> String {
    let mut out = String::new();
    out.push_str(&header(scenario, result, meta));
    if result.interrupted {
        let _ = writeln!(
            out,
            "INTERRUPTED: stopped by Ctrl-C; the last phase shown was cut short and later phases did not run"
        );
    }
    for phase in &result.phases {
        out.push('\n');
        out.push_str(&phase_block(phase));
    }
    let (total, elapsed) = result.recorded_total();
    let recorded: Vec<&str> = result
        .phases
        .iter()
        .filter(|p| p.record)
        .map(|p| p.name.as_str())
        .collect();
    let any_open_loop = result
        .phases
        .iter()
        .any(|p| p.record && p.rate.is_open_loop());
    out.push('\n');
    let _ = writeln!(out, "total of recorded phases ({})", recorded.join(", "));
    out.push_str(&measurements(&total, elapsed, any_open_loop));
    out.push('\n');
    out.push_str(&wrap(
        producer_line(&result.producer).trim_end(),
        LINE_WIDTH,
        2,
    ));
    out.push_str(&audit_line(&result.audit, &result.broker));
    if !result.faults.is_empty() {
        out.push_str("faults\n");
        for fault in &result.faults {
            out.push_str(&wrap(&format!("  {}", fault_line(fault)), LINE_WIDTH, 4));
        }
    }
    if scenario.thresholds.is_some() {
        out.push('\n');
        out.push_str(&threshold_lines(verdicts));
    }
    out
}

/// What was run, where, how and when: the lines above the phases, each
/// wrapped to [`LINE_WIDTH`]. The phase lengths are those run, after the
/// duration scale, which the `run` and `phases` lines name.
pub fn header(scenario: &Scenario, result: &RunResult, meta: &RunMetadata) -> String {
    let workload = &scenario.workload;
    let mut lines = Vec::new();
    if scenario.description.is_empty() {
        lines.push(format!("scenario {}", scenario.name));
    } else {
        lines.push(format!(
            "scenario {}: {}",
            scenario.name, scenario.description
        ));
    }
    lines.push(format!(
        "run: loadgen {}, started {}, duration scale {}",
        meta.loadgen_version,
        humantime::format_rfc3339_seconds(result.started),
        meta.scale_text(),
    ));
    if let Some(file) = &meta.scenario_file {
        lines.push(format!("file: {}", file.display()));
    }
    lines.push(format!(
        "machine: {}, {}",
        meta.machine.hostname,
        meta.machine.describe()
    ));
    lines.push(format!(
        "target: {}, protocol {}, topic {} ({})",
        result.broker,
        scenario.target.protocol,
        workload.topic,
        plural(u64::from(workload.partitions), "partition")
    ));
    lines.push(format!(
        "workload: {}, {}, keys {}, {}, in_flight {}, acks {}",
        plural(u64::from(workload.producers), "producer"),
        workload.message_size,
        describe_keys(workload.keys),
        plural(u64::from(workload.headers), "header"),
        workload.in_flight,
        scenario.producer.acks
    ));
    let scaled = match meta.duration_scale {
        Some(scale) => format!(" (durations scaled by {})", number(scale)),
        None => String::new(),
    };
    let phases: Vec<String> = scenario
        .phases
        .iter()
        .map(|p| format!("{} {}", p.name, p.length))
        .collect();
    lines.push(format!("phases: {}{scaled}", phases.join(", ")));
    lines.iter().map(|line| wrap(line, LINE_WIDTH, 2)).collect()
}

/// The `thresholds` title and one line per verdict: name, limit, actual, pass or FAIL.
pub fn threshold_lines(verdicts: &[Verdict]) -> String {
    let mut out = String::from("thresholds\n");
    if verdicts.is_empty() {
        out.push_str("  none set: the run passes\n");
    }
    for verdict in verdicts {
        let limit = format!("{} {}", verdict.comparison(), number(verdict.limit));
        // A value that could not be measured keeps the columns: `-`, and why after the
        // verdict, as does the limit's derivation (`99% of the target …`).
        let (actual, why) = match (&verdict.actual, verdict.applicable) {
            (Ok(actual), _) => (number(*actual), String::new()),
            (Err(why), true) => ("-".to_string(), format!(" (not measured: {why})")),
            (Err(why), false) => ("-".to_string(), format!(" (not applicable: {why})")),
        };
        let note = match &verdict.note {
            Some(note) => format!(" (limit: {note})"),
            None => String::new(),
        };
        let line = format!(
            "  {:<16}{limit:<14}actual {actual:<11} {}{note}{why}",
            verdict.name,
            verdict.outcome_word()
        );
        out.push_str(&wrap(&line, LINE_WIDTH, 4));
    }
    out
}

/// One phase: its title line, then its measurements.
pub fn phase_block(phase: &PhaseResult) -> String {
    let open_loop = phase.rate.is_open_loop();
    let pace = if open_loop {
        format!("open loop at {} msgs/s", phase.rate)
    } else {
        "closed loop".to_string()
    };
    let warmup = if phase.record {
        ""
    } else {
        ", warmup: not in the total"
    };
    let interrupted = if phase.interrupted {
        ", interrupted"
    } else {
        ""
    };
    format!(
        "phase {} ({pace}{warmup}{interrupted})\n{}",
        phase.name,
        measurements(&phase.recorder, phase.elapsed, open_loop)
    )
}

/// Counts, throughput (MB/s of the acknowledged values' bytes), the latency
/// table and the schedule lag, indented.
pub fn measurements(recorder: &Recorder, elapsed: Duration, open_loop: bool) -> String {
    let mut out = String::new();
    let seconds = elapsed.as_secs_f64();
    let per_second = |n: f64| if seconds > 0.0 { n / seconds } else { 0.0 };
    let acked = recorder.acked();
    let _ = writeln!(
        out,
        "  sent {}  acked {}  errors {}  duration {:.3} s",
        recorder.sent(),
        acked,
        recorder.error_count(),
        seconds
    );
    let _ = writeln!(
        out,
        "  throughput {:.1} msgs/s  {:.2} MB/s",
        per_second(acked as f64),
        per_second(recorder.acked_bytes() as f64) / 1e6
    );
    for (kind, tally) in recorder.errors() {
        let _ = writeln!(out, "  error {kind} x{}: {}", tally.count, tally.example);
    }
    let _ = write!(out, "  {:<14}", "latency ms");
    for (_, title) in PERCENTILES {
        let _ = write!(out, "{title:>10}");
    }
    let _ = writeln!(out, "{:>10}", "max");
    out.push_str(&latency_row("corrected", recorder.corrected()));
    out.push_str(&latency_row("uncorrected", recorder.uncorrected()));
    if open_loop {
        out.push_str(&latency_row("schedule lag", recorder.lag()));
    } else {
        let _ = writeln!(out, "  {:<14}n/a (closed loop)", "schedule lag");
    }
    out
}

fn latency_row(title: &str, histogram: &Histogram<u64>) -> String {
    let mut row = format!("  {title:<14}");
    let cell = |micros: u64| {
        if histogram.is_empty() {
            "-".to_string()
        } else {
            millis(micros)
        }
    };
    for (quantile, _) in PERCENTILES {
        let _ = write!(row, "{:>10}", cell(histogram.value_at_quantile(quantile)));
    }
    let _ = writeln!(row, "{:>10}", cell(histogram.max()));
    row
}

/// What the producer instances did over the whole run, warmup included:
/// requests, batching, retries and the errors they saw, by name.
pub fn producer_line(metrics: &producer::Metrics) -> String {
    let errors = if metrics.errors.is_empty() {
        "none".to_string()
    } else {
        metrics
            .errors
            .iter()
            .map(|(name, count)| format!("{name} {count}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!(
        "producers (whole run): {}, {}, {:.1} records per request, {:.1} KB per batch, {}, errors: {errors}\n",
        plural(metrics.requests, "request"),
        plural(metrics.batches_sent, "batch"),
        metrics.records_per_request(),
        metrics.average_batch_bytes() / 1000.0,
        plural(metrics.retries, "retry"),
    )
}

/// `1 producer`, `2 producers`.
pub(crate) fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("{n} {noun}")
    } else if noun.ends_with("ch") {
        format!("{n} {noun}es")
    } else if let Some(stem) = noun.strip_suffix('y') {
        format!("{n} {stem}ies")
    } else {
        format!("{n} {noun}s")
    }
}

fn describe_keys(keys: Keys) -> String {
    match keys {
        Keys::None => "none".into(),
        Keys::Sequential { count } => format!("sequential over {count}"),
        Keys::Uniform { count } => format!("uniform over {count}"),
        Keys::Zipf { count, exponent } => format!("zipf over {count} (exponent {exponent})"),
    }
}

/// One line per rule for the console summary: `latency (latency_ms 200, at 8s for 2s): fired 1234`.
pub fn fault_line(outcome: &FaultOutcome) -> String {
    let mut keys = serde_json::to_value(&outcome.spec).expect("a fault rule serializes");
    let kind = outcome.spec.kind.to_string();
    if let Some(map) = keys.as_object_mut() {
        map.remove("kind");
    }
    let keys: Vec<String> = keys
        .as_object()
        .map(|map| {
            map.iter()
                .map(|(k, v)| match v {
                    serde_json::Value::String(s) => format!("{k} {s}"),
                    other => format!("{k} {other}"),
                })
                .collect()
        })
        .unwrap_or_default();
    let fired = match outcome.fired {
        Some(n) => format!("fired {n}"),
        None => "fired: unknown".to_string(),
    };
    if keys.is_empty() {
        format!("{kind}: {fired}")
    } else {
        format!("{kind} ({}): {fired}", keys.join(", "))
    }
}

/// The delivery audit's lines: what the broker recorded, by message id,
/// against the acknowledgements of every phase; then, indented, what was
/// found and the verdict. Each is wrapped to [`LINE_WIDTH`].
pub fn audit_line(audit: &Audit, broker: &str) -> String {
    match audit {
        Audit::Unavailable(why) => wrap(
            &format!("audit: not available for the {broker}: {why}"),
            LINE_WIDTH,
            2,
        ),
        Audit::NotConfigured(why) => wrap(
            &format!("audit: not run for the {broker}: {why}"),
            LINE_WIDTH,
            2,
        ),
        Audit::Checked {
            topic,
            source,
            counts,
        } => {
            let what = format!(
                "audit: {} recorded by {source} on topic {topic}, {} acknowledged in all phases",
                counts.recorded, counts.acked,
            );
            let mut found = format!(
                "  lost {}, duplicates {}, reordered {}, unacknowledged recorded {}",
                counts.lost, counts.duplicates, counts.reordered, counts.unacknowledged_recorded
            );
            if counts.foreign > 0 {
                let _ = write!(
                    found,
                    ", {} records that are not messages of this run skipped",
                    counts.foreign
                );
            }
            found.push_str(if counts.ok() { ": ok" } else { ": NOT OK" });
            wrap(&what, LINE_WIDTH, 2) + &wrap(&found, LINE_WIDTH, 4)
        }
    }
}

#[cfg(test)]
mod tests;

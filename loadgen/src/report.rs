//! The summary printed at the end of a run: per phase and in total, counts,
//! throughput, latency percentiles and schedule lag, then the audit line and
//! the verdict of each threshold.
//!
//! Pure formatting: it reads a [`RunResult`] and returns text.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::audit::Audit;
use crate::format::{millis, number};
use crate::recorder::Recorder;
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
pub fn render(scenario: &Scenario, result: &RunResult, verdicts: &[Verdict]) -> String {
    let mut out = String::new();
    let workload = &scenario.workload;
    if scenario.description.is_empty() {
        let _ = writeln!(out, "scenario {}", scenario.name);
    } else {
        let _ = writeln!(out, "scenario {}: {}", scenario.name, scenario.description);
    }
    let _ = writeln!(
        out,
        "target: {}, protocol {}, topic {} ({})",
        result.broker,
        scenario.target.protocol,
        workload.topic,
        plural(u64::from(workload.partitions), "partition")
    );
    let _ = writeln!(
        out,
        "workload: {}, {}, keys {}, {}, in_flight {}, acks {}",
        plural(u64::from(workload.producers), "producer"),
        workload.message_size,
        describe_keys(workload.keys),
        plural(u64::from(workload.headers), "header"),
        workload.in_flight,
        scenario.producer.acks
    );
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
    out.push_str(&producer_line(&result.producer));
    out.push_str(&audit_line(&result.audit, &result.broker));
    out.push('\n');
    if !result.faults.is_empty() {
        out.push_str("faults\n");
        for fault in &result.faults {
            let _ = writeln!(out, "  {}", fault_line(fault));
        }
    }
    if scenario.thresholds.is_some() {
        out.push('\n');
        out.push_str(&threshold_lines(verdicts));
    }
    out
}

/// The `thresholds` title and one line per verdict: name, limit, actual, pass or FAIL.
pub fn threshold_lines(verdicts: &[Verdict]) -> String {
    let mut out = String::from("thresholds\n");
    if verdicts.is_empty() {
        out.push_str("  none set: the run passes\n");
    }
    for verdict in verdicts {
        let limit = format!("{} {}", verdict.comparison(), number(verdict.limit));
        let _ = writeln!(
            out,
            "  {:<16}{limit:<14}actual {:<11} {}",
            verdict.name,
            verdict.actual_text(),
            if verdict.passed { "pass" } else { "FAIL" }
        );
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
fn plural(n: u64, noun: &str) -> String {
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

/// The delivery audit's line: what the broker recorded, by message id,
/// against the acknowledgements of every phase.
pub fn audit_line(audit: &Audit, broker: &str) -> String {
    match audit {
        Audit::Unavailable(why) => format!("audit: not available for the {broker}: {why}"),
        Audit::Checked {
            topic,
            source,
            counts,
        } => {
            let mut line = format!(
                "audit: {} recorded by {source} on topic {topic}, {} acknowledged in all phases: \
                 lost {}, duplicates {}, reordered {}, unacknowledged recorded {}",
                counts.recorded,
                counts.acked,
                counts.lost,
                counts.duplicates,
                counts.reordered,
                counts.unacknowledged_recorded
            );
            if counts.foreign > 0 {
                let _ = write!(
                    line,
                    ", {} records that are not messages of this run skipped",
                    counts.foreign
                );
            }
            line.push_str(if counts.ok() { ": ok" } else { ": NOT OK" });
            line
        }
    }
}

#[cfg(test)]
mod tests {
    use mock_broker::fault::{ApiScope, FaultSpec, When};

    use super::*;
    use crate::audit::Counts;
    use crate::scenario::Rate;

    fn recorder_with_latencies_1_to_1000_micros() -> Recorder {
        let mut r = Recorder::new();
        for us in 1..=1000 {
            r.record_sent(Duration::from_micros(us % 7));
            // Corrected is the uncorrected latency plus 1 ms of waiting.
            r.record_ack(
                Duration::from_micros(us + 1000),
                Duration::from_micros(us),
                100,
            );
        }
        r
    }

    #[test]
    fn measurements_show_counts_throughput_percentiles_and_lag() {
        let r = recorder_with_latencies_1_to_1000_micros();
        let text = measurements(&r, Duration::from_secs(2), true);
        let expected = [
            "  sent 1000  acked 1000  errors 0  duration 2.000 s",
            "  throughput 500.0 msgs/s  0.05 MB/s",
            "  latency ms           p50       p90       p99     p99.9    p99.99       max",
            "  corrected          1.500     1.900     1.990     1.999     2.000     2.000",
            "  uncorrected        0.500     0.900     0.990     0.999     1.000     1.000",
            "  schedule lag       0.003     0.006     0.006     0.006     0.006     0.006",
            "",
        ]
        .join("\n");
        assert_eq!(text, expected);
    }

    #[test]
    fn closed_loop_has_no_lag_and_empty_histograms_show_dashes() {
        let mut r = Recorder::new();
        r.record_sent(Duration::ZERO);
        r.record_error(&producer::Error::Closed);
        let text = measurements(&r, Duration::from_secs(1), false);
        assert!(text.contains("sent 1  acked 0  errors 1"), "{text}");
        assert!(
            text.contains("error closed x1: the producer is closed"),
            "{text}"
        );
        assert!(
            text.contains("  corrected              -         -"),
            "{text}"
        );
        assert!(text.contains("  schedule lag  n/a (closed loop)"), "{text}");
    }

    #[test]
    fn a_warmup_phase_says_it_is_not_in_the_total() {
        let phase = PhaseResult {
            name: "warmup".into(),
            record: false,
            rate: Rate::Constant(5000),
            elapsed: Duration::from_secs(1),
            recorder: Recorder::new(),
            interrupted: false,
        };
        let text = phase_block(&phase);
        assert!(
            text.starts_with("phase warmup (open loop at 5000 msgs/s, warmup: not in the total)\n"),
            "{text}"
        );
    }

    #[test]
    fn a_ramp_phase_shows_both_ends_of_its_rate() {
        let phase = PhaseResult {
            name: "ramp".into(),
            record: true,
            rate: Rate::Ramp {
                from: 10_000,
                to: 100_000,
            },
            elapsed: Duration::from_secs(5),
            recorder: Recorder::new(),
            interrupted: false,
        };
        let text = phase_block(&phase);
        assert!(
            text.starts_with("phase ramp (open loop at 10000→100000 msgs/s)\n"),
            "{text}"
        );
    }

    #[test]
    fn the_summary_has_a_header_each_phase_and_a_total_of_the_recorded_phases_only() {
        let scenario = Scenario::command_line_default();
        let mut warm = Recorder::new();
        warm.record_sent(Duration::ZERO);
        warm.record_ack(Duration::from_millis(50), Duration::from_millis(50), 100);
        let result = RunResult {
            broker: "embedded broker at 127.0.0.1:9".into(),
            started: std::time::SystemTime::UNIX_EPOCH,
            intervals: Vec::new(),
            interrupted: false,
            faults: Vec::new(),
            producer: producer::Metrics::default(),
            phases: vec![
                PhaseResult {
                    name: "warmup".into(),
                    record: false,
                    rate: Rate::CLOSED_LOOP,
                    elapsed: Duration::from_secs(1),
                    recorder: warm,
                    interrupted: false,
                },
                PhaseResult {
                    name: "main".into(),
                    record: true,
                    rate: Rate::CLOSED_LOOP,
                    elapsed: Duration::from_secs(2),
                    recorder: recorder_with_latencies_1_to_1000_micros(),
                    interrupted: false,
                },
            ],
            audit: Audit::Checked {
                topic: "bench".into(),
                source: "the embedded broker".into(),
                counts: Counts {
                    recorded: 1001,
                    acked: 1001,
                    ..Counts::default()
                },
            },
        };
        let text = render(&scenario, &result, &[]);
        assert!(
            text.starts_with(
                "scenario command-line: built from command-line flags\n\
             target: embedded broker at 127.0.0.1:9, protocol kafka, topic bench (1 partition)\n\
             workload: 1 producer, 100-byte values, keys none, 0 headers, in_flight 256, acks all\n"
            ),
            "{text}"
        );
        let total = text
            .split("total of recorded phases (main)\n")
            .nth(1)
            .expect("a total");
        assert!(
            total.starts_with("  sent 1000  acked 1000  errors 0  duration 2.000 s\n"),
            "{total}"
        );
        assert!(
            total.contains("  uncorrected        0.500"),
            "the warmup's 50 ms is not in it: {total}"
        );
        assert!(
            text.ends_with(
                "1001 acknowledged in all phases: \
                 lost 0, duplicates 0, reordered 0, unacknowledged recorded 0: ok\n"
            ),
            "{text}"
        );
    }

    #[test]
    fn each_threshold_shows_its_limit_actual_and_verdict() {
        let verdicts = [
            Verdict {
                name: "p99_ms",
                limit: 250.0,
                actual: Ok(5.911),
                passed: true,
            },
            Verdict {
                name: "min_throughput",
                limit: 4000.0,
                actual: Ok(3999.5),
                passed: false,
            },
            Verdict {
                name: "max_lost",
                limit: 0.0,
                actual: Err("no audit".into()),
                passed: false,
            },
        ];
        assert_eq!(
            threshold_lines(&verdicts),
            "thresholds\n\
             \x20 p99_ms          <= 250        actual 5.911       pass\n\
             \x20 min_throughput  >= 4000       actual 3999.5      FAIL\n\
             \x20 max_lost        <= 0          actual unavailable (no audit) FAIL\n"
        );
        assert!(threshold_lines(&[]).contains("none set"));
    }

    #[test]
    fn the_audit_line_shows_each_number_and_a_verdict() {
        let checked = |counts| Audit::Checked {
            topic: "bench".into(),
            source: "the embedded broker".into(),
            counts,
        };
        let clean = Counts {
            recorded: 2000,
            acked: 2000,
            ..Counts::default()
        };
        assert_eq!(
            audit_line(&checked(clean), "b"),
            "audit: 2000 recorded by the embedded broker on topic bench, 2000 acknowledged in all phases: \
             lost 0, duplicates 0, reordered 0, unacknowledged recorded 0: ok"
        );
        let bad = Counts {
            lost: 10,
            duplicates: 2,
            reordered: 1,
            unacknowledged_recorded: 3,
            foreign: 4,
            ..clean
        };
        assert!(
            audit_line(&checked(bad), "b").ends_with(
                "lost 10, duplicates 2, reordered 1, unacknowledged recorded 3, \
                 4 records that are not messages of this run skipped: NOT OK"
            ),
            "{}",
            audit_line(&checked(bad), "b")
        );
        let unacked_only = Counts {
            unacknowledged_recorded: 5,
            ..clean
        };
        assert!(audit_line(&checked(unacked_only), "b").ends_with(": ok"));
        assert_eq!(
            audit_line(
                &Audit::Unavailable("no admin".into()),
                "external broker at h:1"
            ),
            "audit: not available for the external broker at h:1: no admin"
        );
    }

    #[test]
    fn the_producer_line_shows_batching_retries_and_errors_by_name() {
        let mut metrics = producer::Metrics::default();
        assert_eq!(
            producer_line(&metrics),
            "producers (whole run): 0 requests, 0 batches, 0.0 records per request, \
             0.0 KB per batch, 0 retries, errors: none\n"
        );
        metrics.records_sent = 2760;
        metrics.bytes_sent = 330_000;
        metrics.batches_sent = 20;
        metrics.requests = 20;
        metrics.retries = 1;
        metrics.errors.insert("CONNECTION".into(), 1);
        metrics.errors.insert("NOT_LEADER_OR_FOLLOWER".into(), 2);
        assert_eq!(
            producer_line(&metrics),
            "producers (whole run): 20 requests, 20 batches, 138.0 records per request, \
             16.5 KB per batch, 1 retry, errors: CONNECTION 1, NOT_LEADER_OR_FOLLOWER 2\n"
        );
    }

    #[test]
    fn the_summary_line_names_the_kind_its_keys_and_the_count() {
        let outcome = FaultOutcome {
            spec: FaultSpec::disconnect(When::After)
                .with_api(ApiScope::Produce)
                .with_probability(0.05, Some(1))
                .with_at(Duration::from_secs(2)),
            fired: Some(17),
            state: Some("active".into()),
        };
        assert_eq!(
            fault_line(&outcome),
            "disconnect (api produce, at 2s, probability 0.05, seed 1, when after): fired 17"
        );
    }
}

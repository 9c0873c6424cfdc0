//! The machine-readable report of `loadgen run --json PATH`: the summary's
//! numbers, per phase and in total, with the audit, the threshold verdicts and
//! how the run was made (`run`: version, file, duration scale, machine).
//!
//! Pure: it reads a [`RunResult`] and returns a [`serde_json::Value`].
//! `docs/scenarios.md` documents the shape.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Map, Value, json};

use crate::audit::Audit;
use crate::interval_series::{Interval, SecondLatency};
use crate::recorder::Recorder;
use crate::run_metadata::RunMetadata;
use crate::run_result::RunResult;
use crate::scenario::{Rate, Scenario};
use crate::verdict::Verdict;

/// The quantiles reported, with their JSON keys.
const QUANTILES: [(f64, &str); 5] = [
    (0.5, "p50"),
    (0.9, "p90"),
    (0.99, "p99"),
    (0.999, "p999"),
    (0.9999, "p9999"),
];

/// The whole report; `passed` is the run's verdict (exit status 0).
pub fn report(
    scenario: &Scenario,
    result: &RunResult,
    verdicts: &[Verdict],
    passed: bool,
    meta: &RunMetadata,
) -> Value {
    let (total, elapsed) = result.recorded_total();
    let phases: Vec<Value> = result
        .phases
        .iter()
        .map(|phase| {
            let mut fields = Map::new();
            fields.insert("name".into(), json!(phase.name));
            fields.insert("record".into(), json!(phase.record));
            fields.insert("rate".into(), rate(phase.rate));
            fields.extend(measurements(&phase.recorder, phase.elapsed));
            Value::Object(fields)
        })
        .collect();
    json!({
        "scenario": scenario.name,
        "broker": result.broker,
        "passed": passed,
        "interrupted": result.interrupted,
        "run": run(result, meta),
        "total": Value::Object(measurements(&total, elapsed)),
        "phases": phases,
        "audit": audit(&result.audit),
        "thresholds": verdicts.iter().map(verdict).collect::<Vec<_>>(),
        "intervals": result.intervals.iter().map(interval).collect::<Vec<_>>(),
        "faults": result.faults,
        "producer": producer(&result.producer),
    })
}

/// How the run was made: when, by which loadgen, from which file, at which
/// duration scale (1 when not scaled), on which machine.
fn run(result: &RunResult, meta: &RunMetadata) -> Value {
    json!({
        "started": humantime::format_rfc3339_millis(result.started).to_string(),
        "loadgen_version": meta.loadgen_version,
        "scenario_file": meta.scenario_file.as_ref().map(|p| p.display().to_string()),
        "duration_scale": meta.duration_scale.unwrap_or(1.0),
        "machine": {
            "hostname": meta.machine.hostname,
            "cpu": meta.machine.cpu,
            "cores": meta.machine.cores,
            "os": meta.machine.os,
        },
    })
}

/// The producer instances' counters over the whole run, added up.
fn producer(metrics: &producer::Metrics) -> Value {
    json!({
        "records_sent": metrics.records_sent,
        "bytes_sent": metrics.bytes_sent,
        "batches": metrics.batches_sent,
        "requests": metrics.requests,
        "retries": metrics.retries,
        "records_per_request": metrics.records_per_request(),
        "average_batch_bytes": metrics.average_batch_bytes(),
        "errors": metrics.errors,
    })
}

/// One second of the run: its counts, its corrected latency percentiles
/// (`null` without acknowledgements), and the same percentiles of its
/// uncorrected latency and schedule lag (each `null` when nothing was recorded).
fn interval(interval: &Interval) -> Value {
    let latency = &interval.corrected;
    let us = |value: u64| {
        if latency.count == 0 {
            Value::Null
        } else {
            json!(value)
        }
    };
    json!({
        "t_s": interval.second,
        "target": interval.counts.due,
        "sent": interval.counts.sent,
        "acked": interval.counts.acked,
        "errors": interval.counts.errors,
        "bytes": interval.counts.bytes,
        "p50_us": us(latency.p50),
        "p90_us": us(latency.p90),
        "p99_us": us(latency.p99),
        "max_us": us(latency.max),
        "uncorrected": second_percentiles(&interval.uncorrected),
        "schedule_lag": second_percentiles(&interval.lag),
    })
}

/// A second's p50, p90, p99 and max in µs, or `null` when it recorded nothing.
fn second_percentiles(latency: &SecondLatency) -> Value {
    if latency.count == 0 {
        return Value::Null;
    }
    json!({
        "p50_us": latency.p50,
        "p90_us": latency.p90,
        "p99_us": latency.p99,
        "max_us": latency.max,
    })
}

/// A constant rate as a number (0 = closed loop), a ramp as `{ "from": A, "to": B }`.
fn rate(rate: Rate) -> Value {
    match rate {
        Rate::Constant(rate) => json!(rate),
        Rate::Ramp { from, to } => json!({ "from": from, "to": to }),
    }
}

/// Counts, throughput and the three latency histograms of some sends.
fn measurements(recorder: &Recorder, elapsed: Duration) -> Map<String, Value> {
    let seconds = elapsed.as_secs_f64();
    let per_second = |n: f64| if seconds > 0.0 { n / seconds } else { 0.0 };
    let acked = recorder.acked();
    let errors_by_kind: Map<String, Value> = recorder
        .errors()
        .iter()
        .map(|(kind, tally)| {
            (
                kind.clone(),
                json!({ "count": tally.count, "example": tally.example }),
            )
        })
        .collect();
    let value = json!({
        "sent": recorder.sent(),
        "acked": acked,
        "errors": recorder.error_count(),
        "errors_by_kind": errors_by_kind,
        "duration_s": seconds,
        "throughput_msgs_per_s": per_second(acked as f64),
        "throughput_mb_per_s": per_second(recorder.acked_bytes() as f64) / 1e6,
        "latency_us": latency(recorder.corrected()),
        "uncorrected_latency_us": latency(recorder.uncorrected()),
        "schedule_lag_us": latency(recorder.lag()),
    });
    match value {
        Value::Object(map) => map,
        _ => unreachable!("json! of an object literal is an object"),
    }
}

/// Percentiles, max and mean in µs, each the upper end of its bucket as in
/// the summary; `null` when nothing was recorded.
fn latency(histogram: &Histogram<u64>) -> Value {
    if histogram.is_empty() {
        return Value::Null;
    }
    let mut fields = Map::new();
    for (quantile, key) in QUANTILES {
        fields.insert(key.into(), json!(histogram.value_at_quantile(quantile)));
    }
    fields.insert("max".into(), json!(histogram.max()));
    fields.insert("mean".into(), json!(histogram.mean()));
    Value::Object(fields)
}

fn audit(audit: &Audit) -> Value {
    match audit {
        Audit::Unavailable(_) | Audit::NotConfigured(_) => Value::Null,
        Audit::Checked {
            topic,
            source,
            counts,
        } => json!({
            "topic": topic,
            "source": source,
            "recorded": counts.recorded,
            "acked": counts.acked,
            "lost": counts.lost,
            "duplicates": counts.duplicates,
            "reordered": counts.reordered,
            "unacknowledged_recorded": counts.unacknowledged_recorded,
            "foreign": counts.foreign,
        }),
    }
}

fn verdict(verdict: &Verdict) -> Value {
    let (actual, reason) = match &verdict.actual {
        Ok(actual) => (json!(actual), Value::Null),
        Err(why) => (Value::Null, json!(why)),
    };
    json!({
        "name": verdict.name,
        "limit": verdict.limit,
        "limit_note": verdict.note,
        "actual": actual,
        "passed": verdict.passed,
        "applicable": verdict.applicable,
        "reason": reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Counts;
    use crate::run_result::PhaseResult;

    fn result(audit: Audit) -> RunResult {
        let mut warm = Recorder::new();
        warm.record_sent(Duration::ZERO);
        warm.record_ack(Duration::from_millis(50), Duration::from_millis(50), 100);
        let mut main = Recorder::new();
        for us in 1..=1000 {
            main.record_sent(Duration::from_micros(2));
            // Values of 1 to 1000 bytes: 500 500 bytes in all.
            main.record_ack(Duration::from_micros(us), Duration::from_micros(us), us);
        }
        main.record_sent(Duration::ZERO);
        main.record_error(&producer::Error::Closed);
        let phase = |name: &str, record, recorder| PhaseResult {
            name: name.into(),
            record,
            rate: Rate::Constant(100),
            elapsed: Duration::from_secs(2),
            recorder,
            interrupted: false,
        };
        RunResult {
            broker: "embedded broker at 127.0.0.1:9".into(),
            started: std::time::SystemTime::UNIX_EPOCH,
            intervals: Vec::new(),
            interrupted: false,
            faults: Vec::new(),
            producer: producer::Metrics::default(),
            phases: vec![phase("warmup", false, warm), phase("main", true, main)],
            audit,
        }
    }

    #[test]
    fn the_total_is_of_the_recorded_phases_with_every_documented_field() {
        let scenario = Scenario::command_line_default();
        let audit = Audit::Checked {
            topic: "bench".into(),
            source: "the embedded broker".into(),
            counts: Counts {
                recorded: 999,
                acked: 1001,
                lost: 3,
                duplicates: 1,
                reordered: 2,
                unacknowledged_recorded: 0,
                foreign: 0,
            },
        };
        let meta = RunMetadata::of_this_machine(Some("s.toml".as_ref()), Some(0.5));
        let report = report(&scenario, &result(audit), &[], false, &meta);
        assert_eq!(report["scenario"], "command-line");
        assert_eq!(report["run"]["started"], "1970-01-01T00:00:00.000Z");
        assert_eq!(report["run"]["scenario_file"], "s.toml");
        assert_eq!(report["run"]["duration_scale"], 0.5);
        assert_eq!(report["run"]["loadgen_version"], env!("CARGO_PKG_VERSION"));
        assert!(report["run"]["machine"]["cores"].as_u64().unwrap() >= 1);
        assert_eq!(report["passed"], false);
        let total = &report["total"];
        assert_eq!(total["sent"], 1001);
        assert_eq!(total["acked"], 1000);
        assert_eq!(total["errors"], 1);
        assert_eq!(total["errors_by_kind"]["closed"]["count"], 1);
        assert_eq!(total["duration_s"], 2.0);
        assert_eq!(total["throughput_msgs_per_s"], 500.0);
        assert_eq!(
            total["throughput_mb_per_s"], 0.25025,
            "the bytes sent, whatever their sizes"
        );
        let latency = &total["latency_us"];
        assert_eq!(latency["p50"], 500);
        assert_eq!(latency["p99"], 990);
        assert_eq!(latency["p999"], 999);
        assert_eq!(latency["p9999"], 1000);
        assert_eq!(latency["max"], 1000);
        assert_eq!(latency["mean"], 500.5);
        assert_eq!(total["uncorrected_latency_us"]["p90"], 900);
        assert_eq!(total["schedule_lag_us"]["max"], 2);
        let phases = report["phases"].as_array().unwrap();
        assert_eq!(phases.len(), 2);
        assert_eq!(phases[0]["name"], "warmup");
        assert_eq!(phases[0]["record"], false);
        assert_eq!(phases[0]["acked"], 1);
        assert_eq!(
            phases[0]["latency_us"]["max"], 50_015,
            "50 ms, bucket upper end"
        );
        assert_eq!(phases[1]["rate"], 100);
        assert_eq!(
            report["audit"],
            json!({"topic": "bench", "source": "the embedded broker", "recorded": 999,
                   "acked": 1001, "lost": 3, "duplicates": 1, "reordered": 2,
                   "unacknowledged_recorded": 0, "foreign": 0})
        );
        assert_eq!(report["thresholds"], json!([]));
    }

    #[test]
    fn an_unavailable_audit_and_unmeasured_thresholds_are_null() {
        let scenario = Scenario::command_line_default();
        let verdicts = [
            Verdict {
                name: "max_lost",
                limit: 0.0,
                actual: Err("no audit".into()),
                passed: false,
                applicable: true,
                note: None,
            },
            Verdict {
                name: "p99_ms",
                limit: 250.0,
                actual: Ok(0.99),
                passed: true,
                applicable: true,
                note: None,
            },
        ];
        let report = report(
            &scenario,
            &result(Audit::Unavailable("no admin".into())),
            &verdicts,
            false,
            &RunMetadata::of_this_machine(None, None),
        );
        assert_eq!(report["run"]["duration_scale"], 1.0);
        assert_eq!(report["run"]["scenario_file"], Value::Null);
        assert_eq!(report["audit"], Value::Null);
        assert_eq!(
            report["thresholds"],
            json!([
                {"name": "max_lost", "limit": 0.0, "limit_note": null, "actual": null, "passed": false,
                 "applicable": true, "reason": "no audit"},
                {"name": "p99_ms", "limit": 250.0, "limit_note": null, "actual": 0.99, "passed": true,
                 "applicable": true, "reason": null},
            ])
        );
    }

    #[test]
    fn a_ramp_rate_is_an_object_of_both_ends() {
        assert_eq!(rate(Rate::Constant(0)), json!(0));
        assert_eq!(
            rate(Rate::Ramp { from: 10, to: 0 }),
            json!({"from": 10, "to": 0})
        );
    }

    #[test]
    fn each_second_lists_its_counts_and_its_corrected_uncorrected_and_lag_percentiles() {
        use crate::interval::{IntervalEvent, SecondCounts, second_histogram};
        use crate::interval_series::IntervalSeries;

        let mut series = IntervalSeries::new();
        let mut corrected = second_histogram();
        let mut uncorrected = second_histogram();
        let mut lag = second_histogram();
        for us in 1..=100 {
            corrected.record(us * 10).unwrap();
            uncorrected.record(us * 5).unwrap();
            lag.record(us).unwrap();
        }
        series.add(IntervalEvent::Latency {
            second: 1,
            corrected,
            uncorrected,
            lag,
        });
        series.add(IntervalEvent::Counts {
            first: 1,
            counts: vec![SecondCounts {
                due: 120,
                sent: 110,
                acked: 100,
                errors: 2,
                bytes: 10_000,
                ..SecondCounts::default()
            }],
        });
        let mut run = result(Audit::Unavailable("no admin".into()));
        run.intervals = series.into_intervals(2);
        run.interrupted = true;
        let meta = RunMetadata::of_this_machine(None, None);
        let report = report(&Scenario::command_line_default(), &run, &[], false, &meta);
        assert_eq!(report["interrupted"], true);
        assert_eq!(
            report["intervals"],
            json!([
                {"t_s": 0, "target": 0, "sent": 0, "acked": 0, "errors": 0, "bytes": 0,
                 "p50_us": null, "p90_us": null, "p99_us": null, "max_us": null,
                 "uncorrected": null, "schedule_lag": null},
                {"t_s": 1, "target": 120, "sent": 110, "acked": 100, "errors": 2, "bytes": 10_000,
                 "p50_us": 500, "p90_us": 900, "p99_us": 990, "max_us": 1000,
                 "uncorrected": {"p50_us": 250, "p90_us": 450, "p99_us": 495, "max_us": 500},
                 "schedule_lag": {"p50_us": 50, "p90_us": 90, "p99_us": 99, "max_us": 100}},
            ])
        );
    }

    #[test]
    fn empty_histograms_are_null() {
        assert_eq!(latency(Recorder::new().corrected()), Value::Null);
    }
}

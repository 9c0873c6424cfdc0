//! What `loadgen run --json` writes for `loadgen merge`: the whole
//! [`RunResult`] and the scenario, exactly (histograms as
//! [`histogram_text`](crate::histogram_text), counters as integers), under
//! the report's keys `shard` and `merge`, and how it is read back.
//!
//! The rest of the JSON report is for people and tools reading one run; these
//! two keys are for adding runs up, so that the merged percentiles are those
//! of the union of every shard's values.

use std::time::{Duration, SystemTime};

use mock_broker::fault::FaultSpec;
use serde_json::{Map, Value, json};

use crate::audit::{Audit, Counts};
use crate::histogram_text;
use crate::interval::SecondCounts;
use crate::interval_series::{Interval, SecondLatency};
use crate::recorder::{ErrorTally, Recorder};
use crate::run_result::{FaultOutcome, PhaseResult, RunResult};
use crate::scenario::{
    Keys, MessageSize, Phase, PhaseLength, Protocol, Rate, Scenario, SizeDistribution, Thresholds,
    Workload,
};
use crate::shard::Shard;

/// The version of the `merge` object's layout; `loadgen merge` reads only its own.
pub const VERSION: u64 = 1;

/// A run as `loadgen merge` reads it back from a report.
#[derive(Debug, Clone)]
pub struct ShardRun {
    /// The scenario as it ran (flags applied), this shard's part of it.
    pub scenario: Scenario,
    /// What it measured.
    pub result: RunResult,
}

/// The report's `shard` and `merge` keys for a run of `scenario`.
pub fn fields(scenario: &Scenario, result: &RunResult) -> [(&'static str, Value); 2] {
    let shard = scenario.shard;
    let producers = shard.producers(scenario.workload.producers);
    let started_ms = result
        .started
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    [
        (
            "shard",
            json!({
                "index": shard.index(),
                "count": shard.count(),
                "producers": { "from": producers.start, "to": producers.end },
            }),
        ),
        (
            "merge",
            json!({
                "version": VERSION,
                "scenario": scenario_json(scenario),
                "broker": result.broker,
                "started_unix_ms": started_ms,
                "interrupted": result.interrupted,
                "phases": result
                    .phases
                    .iter()
                    .enumerate()
                    .map(|(i, phase)| phase_json(phase, scenario.phases.get(i)))
                    .collect::<Vec<_>>(),
                "intervals": result.intervals.iter().map(interval_json).collect::<Vec<_>>(),
                "audit": audit_json(&result.audit),
                "faults": result.faults,
                "producer": producer_json(&result.producer),
            }),
        ),
    ]
}

/// Reads back what [`fields`] wrote into `report`.
///
/// # Errors
/// A sentence naming the missing or invalid key.
pub fn read(report: &Value) -> Result<ShardRun, String> {
    let merge = report
        .get("merge")
        .filter(|m| m.is_object())
        .ok_or("it has no \"merge\" object (written by loadgen run --json of this version)")?;
    let version = merge["version"].as_u64();
    if version != Some(VERSION) {
        return Err(format!(
            "\"merge\".version is {}, and this loadgen reads {VERSION}",
            merge["version"]
        ));
    }
    let shard_value = &report["shard"];
    let shard = Shard::new(
        u32_at(shard_value, "index", "shard")?,
        u32_at(shard_value, "count", "shard")?,
    )?;
    let mut scenario = scenario_from(&merge["scenario"])?;
    scenario.shard = shard;
    let started =
        SystemTime::UNIX_EPOCH + Duration::from_millis(u64_at(merge, "started_unix_ms", "merge")?);
    let phases = array(merge, "phases")?
        .iter()
        .map(phase_from)
        .collect::<Result<Vec<_>, _>>()?;
    let intervals = array(merge, "intervals")?
        .iter()
        .map(interval_from)
        .collect::<Result<Vec<_>, _>>()?;
    let faults = array(merge, "faults")?
        .iter()
        .map(fault_from)
        .collect::<Result<Vec<_>, _>>()?;
    let result = RunResult {
        broker: str_at(merge, "broker", "merge")?.to_string(),
        phases,
        audit: audit_from(&merge["audit"])?,
        started,
        intervals,
        interrupted: merge["interrupted"].as_bool().unwrap_or(false),
        faults,
        producer: producer_from(&merge["producer"])?,
    };
    // The phases as they ran: their lengths as the scenario set them (a report
    // without them, of an earlier loadgen: as they lasted).
    let lengths = array(merge, "phases")?
        .iter()
        .map(|value| length_from(&value["length"]))
        .collect::<Result<Vec<_>, _>>()?;
    scenario.phases = result
        .phases
        .iter()
        .zip(lengths)
        .map(|(p, length)| Phase {
            name: p.name.clone(),
            length: length.unwrap_or(PhaseLength::Duration(
                p.elapsed.max(Duration::from_nanos(1)),
            )),
            rate: p.rate,
            record: p.record,
        })
        .collect();
    Ok(ShardRun { scenario, result })
}

/// A phase's result, with its length as the scenario set it (`null` when the
/// scenario has no such phase).
fn phase_json(phase: &PhaseResult, planned: Option<&Phase>) -> Value {
    let r = &phase.recorder;
    let length = match planned.map(|p| p.length) {
        Some(PhaseLength::Duration(d)) => json!({ "duration_ns": d.as_nanos() as u64 }),
        Some(PhaseLength::Messages(n)) => json!({ "messages": n }),
        None => Value::Null,
    };
    json!({
        "name": phase.name,
        "length": length,
        "record": phase.record,
        "rate": rate_json(phase.rate),
        "elapsed_ns": phase.elapsed.as_nanos() as u64,
        "interrupted": phase.interrupted,
        "sent": r.sent(),
        "acked": r.acked(),
        "acked_bytes": r.acked_bytes(),
        "errors": r.errors().iter().map(|(kind, t)| (kind.clone(), json!({"count": t.count, "example": t.example}))).collect::<Map<_, _>>(),
        "corrected": histogram_text::encode(r.corrected()),
        "uncorrected": histogram_text::encode(r.uncorrected()),
        "schedule_lag": histogram_text::encode(r.lag()),
    })
}

/// A phase's length as [`phase_json`] writes it; `None` when not written.
fn length_from(value: &Value) -> Result<Option<PhaseLength>, String> {
    if value.is_null() {
        return Ok(None);
    }
    if value.get("messages").is_some() {
        return Ok(Some(PhaseLength::Messages(u64_at(
            value,
            "messages",
            "merge.phases[].length",
        )?)));
    }
    let nanos = u64_at(value, "duration_ns", "merge.phases[].length")?;
    Ok(Some(PhaseLength::Duration(Duration::from_nanos(nanos))))
}

fn phase_from(value: &Value) -> Result<PhaseResult, String> {
    let histogram = |key: &str| {
        histogram_text::decode(str_at(value, key, "merge.phases[]")?)
            .map_err(|e| format!("merge.phases[].{key}: {e}"))
    };
    let mut errors = std::collections::BTreeMap::new();
    if let Some(map) = value["errors"].as_object() {
        for (kind, tally) in map {
            errors.insert(
                kind.clone(),
                ErrorTally {
                    count: u64_at(tally, "count", "merge.phases[].errors")?,
                    example: str_at(tally, "example", "merge.phases[].errors")?.to_string(),
                },
            );
        }
    }
    let recorder = Recorder::from_parts(
        [
            histogram("corrected")?,
            histogram("uncorrected")?,
            histogram("schedule_lag")?,
        ],
        u64_at(value, "sent", "merge.phases[]")?,
        u64_at(value, "acked", "merge.phases[]")?,
        u64_at(value, "acked_bytes", "merge.phases[]")?,
        errors,
    )
    .map_err(|e| format!("merge.phases[]: {e}"))?;
    Ok(PhaseResult {
        name: str_at(value, "name", "merge.phases[]")?.to_string(),
        record: value["record"]
            .as_bool()
            .ok_or("merge.phases[].record is not a boolean")?,
        rate: rate_from(&value["rate"])?,
        elapsed: Duration::from_nanos(u64_at(value, "elapsed_ns", "merge.phases[]")?),
        recorder,
        interrupted: value["interrupted"].as_bool().unwrap_or(false),
    })
}

fn interval_json(interval: &Interval) -> Value {
    let c = &interval.counts;
    json!({
        "second": interval.second,
        "due": c.due, "sent": c.sent, "acked": c.acked, "errors": c.errors, "bytes": c.bytes,
        "acked_tenths": c.acked_tenths,
        "corrected": histogram_text::encode(&interval.corrected.histogram()),
        "uncorrected": histogram_text::encode(&interval.uncorrected.histogram()),
        "lag": histogram_text::encode(&interval.lag.histogram()),
    })
}

fn interval_from(value: &Value) -> Result<Interval, String> {
    let at = |key: &str| u64_at(value, key, "merge.intervals[]");
    let latency = |key: &str| {
        histogram_text::decode(str_at(value, key, "merge.intervals[]")?)
            .map(|h| SecondLatency::from_histogram(&h))
            .map_err(|e| format!("merge.intervals[].{key}: {e}"))
    };
    Ok(Interval {
        second: at("second")?,
        counts: SecondCounts {
            due: at("due")?,
            sent: at("sent")?,
            acked: at("acked")?,
            errors: at("errors")?,
            bytes: at("bytes")?,
            acked_tenths: tenths(&value["acked_tenths"])?,
        },
        corrected: latency("corrected")?,
        uncorrected: latency("uncorrected")?,
        lag: latency("lag")?,
    })
}

/// A second's acknowledgements by tenth of it: ten counts.
fn tenths(value: &Value) -> Result<[u64; 10], String> {
    let list = value
        .as_array()
        .filter(|list| list.len() == 10)
        .ok_or("merge.intervals[].acked_tenths is not a list of 10 counts")?;
    let mut tenths = [0; 10];
    for (tenth, count) in tenths.iter_mut().zip(list) {
        *tenth = count
            .as_u64()
            .ok_or("merge.intervals[].acked_tenths holds a value that is not a count")?;
    }
    Ok(tenths)
}

fn audit_json(audit: &Audit) -> Value {
    match audit {
        Audit::Checked {
            topic,
            source,
            counts,
        } => json!({
            "kind": "checked", "topic": topic, "source": source,
            "recorded": counts.recorded, "acked": counts.acked, "lost": counts.lost,
            "duplicates": counts.duplicates, "reordered": counts.reordered,
            "unacknowledged_recorded": counts.unacknowledged_recorded, "foreign": counts.foreign,
        }),
        Audit::Unavailable(why) => json!({ "kind": "unavailable", "why": why }),
        Audit::NotConfigured(why) => json!({ "kind": "not_configured", "why": why }),
    }
}

fn audit_from(value: &Value) -> Result<Audit, String> {
    let why = || str_at(value, "why", "merge.audit").map(str::to_string);
    match value["kind"].as_str() {
        Some("checked") => {
            let at = |key: &str| u64_at(value, key, "merge.audit");
            Ok(Audit::Checked {
                topic: str_at(value, "topic", "merge.audit")?.to_string(),
                source: str_at(value, "source", "merge.audit")?.to_string(),
                counts: Counts {
                    recorded: at("recorded")?,
                    acked: at("acked")?,
                    lost: at("lost")?,
                    duplicates: at("duplicates")?,
                    reordered: at("reordered")?,
                    unacknowledged_recorded: at("unacknowledged_recorded")?,
                    foreign: at("foreign")?,
                },
            })
        }
        Some("unavailable") => Ok(Audit::Unavailable(why()?)),
        Some("not_configured") => Ok(Audit::NotConfigured(why()?)),
        _ => Err(format!("merge.audit.kind is {}", value["kind"])),
    }
}

fn fault_from(value: &Value) -> Result<FaultOutcome, String> {
    let mut spec = value.clone();
    let map = spec
        .as_object_mut()
        .ok_or("merge.faults[] is not an object")?;
    let fired = map.remove("fired").and_then(|f| f.as_u64());
    let state = map
        .remove("state")
        .and_then(|s| s.as_str().map(str::to_string));
    let spec: FaultSpec =
        serde_json::from_value(spec).map_err(|e| format!("merge.faults[]: {e}"))?;
    Ok(FaultOutcome { spec, fired, state })
}

fn producer_json(metrics: &producer::Metrics) -> Value {
    json!({
        "records_sent": metrics.records_sent,
        "bytes_sent": metrics.bytes_sent,
        "batches_sent": metrics.batches_sent,
        "requests": metrics.requests,
        "retries": metrics.retries,
        "errors": metrics.errors,
    })
}

fn producer_from(value: &Value) -> Result<producer::Metrics, String> {
    let at = |key: &str| u64_at(value, key, "merge.producer");
    let mut metrics = producer::Metrics::default();
    metrics.records_sent = at("records_sent")?;
    metrics.bytes_sent = at("bytes_sent")?;
    metrics.batches_sent = at("batches_sent")?;
    metrics.requests = at("requests")?;
    metrics.retries = at("retries")?;
    metrics.errors = serde_json::from_value(value["errors"].clone())
        .map_err(|e| format!("merge.producer.errors: {e}"))?;
    Ok(metrics)
}

fn rate_json(rate: Rate) -> Value {
    match rate {
        Rate::Constant(rate) => json!(rate),
        Rate::Ramp { from, to } => json!({ "from": from, "to": to }),
    }
}

fn rate_from(value: &Value) -> Result<Rate, String> {
    serde_json::from_value(value.clone()).map_err(|e| format!("a phase's rate: {e}"))
}

/// What the report writers read of the scenario, in the scenario file's own
/// shapes, so that it is read back through the same checks.
fn scenario_json(scenario: &Scenario) -> Value {
    let w = &scenario.workload;
    let message_size = match w.message_size {
        MessageSize::Fixed(size) => json!(size),
        MessageSize::Distributed {
            min,
            max,
            distribution,
        } => match distribution {
            SizeDistribution::Uniform => json!({ "min": min, "max": max }),
            SizeDistribution::Normal { mean, stddev } => json!({
                "min": min, "max": max, "distribution": "normal", "mean": mean, "stddev": stddev,
            }),
            SizeDistribution::Exponential { mean } => json!({
                "min": min, "max": max, "distribution": "exponential", "mean": mean,
            }),
        },
    };
    let keys = match w.keys {
        Keys::None => json!("none"),
        Keys::Sequential { count } => json!({ "kind": "sequential", "count": count }),
        Keys::Uniform { count } => json!({ "kind": "uniform", "count": count }),
        Keys::Zipf { count, exponent } => {
            json!({ "kind": "zipf", "count": count, "exponent": exponent })
        }
    };
    let thresholds = scenario.thresholds.as_ref().map(|t| {
        let mut map = Map::new();
        let mut put = |key: &str, value: Option<Value>| {
            if let Some(value) = value {
                map.insert(key.into(), value);
            }
        };
        put("p99_ms", t.p99_ms.map(|v| json!(v)));
        put("p999_ms", t.p999_ms.map(|v| json!(v)));
        put("max_error_rate", t.max_error_rate.map(|v| json!(v)));
        put("max_lost", t.max_lost.map(|v| json!(v)));
        put("max_duplicates", t.max_duplicates.map(|v| json!(v)));
        put(
            "min_throughput",
            t.min_throughput.map(|m| match m {
                crate::scenario::MinThroughput::PerSecond(v) => json!(v),
                share @ crate::scenario::MinThroughput::ShareOfTarget(_) => {
                    json!(share.to_string())
                }
            }),
        );
        Value::Object(map)
    });
    let mut workload = json!({
        "topic": w.topic, "partitions": w.partitions, "producers": w.producers,
        "message_size": message_size, "keys": keys, "seed": w.seed, "headers": w.headers,
    });
    // The default window (`buffer_memory`) is the key's absence, as in a scenario file.
    if let crate::scenario::Window::Messages(n) = w.in_flight {
        workload["in_flight"] = json!(n);
    }
    json!({
        "name": scenario.name,
        "description": scenario.description,
        "protocol": scenario.target.protocol.to_string(),
        "acks": scenario.producer.acks.to_string(),
        "workload": workload,
        "thresholds": thresholds,
    })
}

fn scenario_from(value: &Value) -> Result<Scenario, String> {
    let mut scenario = Scenario::command_line_default();
    scenario.name = str_at(value, "name", "merge.scenario")?.to_string();
    scenario.description = str_at(value, "description", "merge.scenario")?.to_string();
    scenario.target.protocol = str_at(value, "protocol", "merge.scenario")?
        .parse::<Protocol>()
        .map_err(|e| format!("merge.scenario.protocol: {e}"))?;
    scenario.producer.protocol = scenario.target.protocol.producer_protocol();
    scenario.producer.acks = str_at(value, "acks", "merge.scenario")?
        .parse()
        .map_err(|e| format!("merge.scenario.acks: {e}"))?;
    scenario.workload = serde_json::from_value::<Workload>(value["workload"].clone())
        .map_err(|e| format!("merge.scenario.workload: {e}"))?;
    scenario.thresholds = match &value["thresholds"] {
        Value::Null => None,
        t => Some(
            serde_json::from_value::<Thresholds>(t.clone())
                .map_err(|e| format!("merge.scenario.thresholds: {e}"))?,
        ),
    };
    Ok(scenario)
}

fn array<'a>(value: &'a Value, key: &str) -> Result<&'a Vec<Value>, String> {
    value[key]
        .as_array()
        .ok_or_else(|| format!("merge.{key} is not an array"))
}

fn u64_at(value: &Value, key: &str, within: &str) -> Result<u64, String> {
    value[key]
        .as_u64()
        .ok_or_else(|| format!("{within}.{key} is not a whole number: {}", value[key]))
}

fn u32_at(value: &Value, key: &str, within: &str) -> Result<u32, String> {
    u32::try_from(u64_at(value, key, within)?)
        .map_err(|_| format!("{within}.{key} is too large: {}", value[key]))
}

fn str_at<'a>(value: &'a Value, key: &str, within: &str) -> Result<&'a str, String> {
    value[key]
        .as_str()
        .ok_or_else(|| format!("{within}.{key} is not a string: {}", value[key]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::MinThroughput;

    #[test]
    fn a_run_and_its_scenario_read_back_as_written() {
        let mut scenario = Scenario::command_line_default();
        scenario.name = "s".into();
        scenario.workload.producers = 4;
        scenario.workload.keys = Keys::Zipf {
            count: 10,
            exponent: 1.5,
        };
        scenario.workload.message_size = MessageSize::Distributed {
            min: 20,
            max: 400,
            distribution: SizeDistribution::Normal {
                mean: 100.0,
                stddev: 10.0,
            },
        };
        scenario.thresholds = Some(Thresholds {
            p99_ms: Some(5.5),
            max_lost: Some(0),
            min_throughput: Some(MinThroughput::ShareOfTarget(0.99)),
            ..Thresholds::default()
        });
        scenario.shard = Shard::new(2, 3).unwrap();
        let mut recorder = Recorder::new();
        for ms in 1..=100 {
            recorder.record_sent(Duration::from_micros(ms));
            recorder.record_ack(Duration::from_millis(ms), Duration::from_micros(ms), 100);
        }
        recorder.record_sent(Duration::ZERO);
        recorder.record_error(&producer::Error::Closed);
        let mut metrics = producer::Metrics::default();
        metrics.records_sent = 100;
        metrics.errors.insert("CONNECTION".into(), 2);
        let result = RunResult {
            broker: "external broker at x:1".into(),
            phases: vec![PhaseResult {
                name: "main".into(),
                record: true,
                rate: Rate::Ramp { from: 10, to: 20 },
                elapsed: Duration::from_nanos(1_234_567_891),
                recorder,
                interrupted: false,
            }],
            audit: Audit::NotConfigured("no admin API".into()),
            started: SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
            intervals: Vec::new(),
            interrupted: false,
            faults: Vec::new(),
            producer: metrics,
        };
        let mut report = Map::new();
        for (key, value) in fields(&scenario, &result) {
            report.insert(key.into(), value);
        }
        let back = read(&Value::Object(report)).unwrap();
        assert_eq!(back.scenario.name, "s");
        assert_eq!(back.scenario.workload, scenario.workload);
        assert_eq!(back.scenario.thresholds, scenario.thresholds);
        assert_eq!(back.scenario.shard, scenario.shard);
        let (a, b) = (&result.phases[0], &back.result.phases[0]);
        assert_eq!((a.rate, a.elapsed, a.record), (b.rate, b.elapsed, b.record));
        assert_eq!(a.recorder.corrected(), b.recorder.corrected());
        assert_eq!(a.recorder.uncorrected(), b.recorder.uncorrected());
        assert_eq!(a.recorder.lag(), b.recorder.lag());
        assert_eq!(
            (
                a.recorder.sent(),
                a.recorder.acked(),
                a.recorder.acked_bytes()
            ),
            (
                b.recorder.sent(),
                b.recorder.acked(),
                b.recorder.acked_bytes()
            )
        );
        assert_eq!(a.recorder.errors(), b.recorder.errors());
        assert_eq!(back.result.audit, result.audit);
        assert_eq!(back.result.started, result.started);
        assert_eq!(back.result.producer, result.producer);
        assert_eq!(back.scenario.phases[0].length, scenario.phases[0].length);
    }

    #[test]
    fn a_phase_reads_back_with_its_length_as_the_scenario_set_it_not_as_it_lasted() {
        let mut scenario = Scenario::command_line_default();
        let elapsed = Duration::from_nanos(3_008_821_038);
        let result = |scenario: &Scenario| RunResult {
            broker: "external broker at x:1".into(),
            phases: vec![PhaseResult {
                name: scenario.phases[0].name.clone(),
                record: true,
                rate: Rate::Constant(100),
                elapsed,
                recorder: Recorder::new(),
                interrupted: false,
            }],
            audit: Audit::NotConfigured("no admin API".into()),
            started: SystemTime::UNIX_EPOCH,
            intervals: Vec::new(),
            interrupted: false,
            faults: Vec::new(),
            producer: producer::Metrics::default(),
        };
        let written = |scenario: &Scenario| {
            let run = result(scenario);
            let mut report = Map::new();
            for (key, value) in fields(scenario, &run) {
                report.insert(key.into(), value);
            }
            Value::Object(report)
        };
        for length in [
            PhaseLength::Duration(Duration::from_secs(3)),
            PhaseLength::Messages(3000),
        ] {
            scenario.phases[0].length = length;
            let back = read(&written(&scenario)).unwrap();
            assert_eq!(back.scenario.phases[0].length, length);
        }
        // A report of an earlier loadgen, without the length: as the phase lasted.
        let mut report = written(&scenario);
        report["merge"]["phases"][0]
            .as_object_mut()
            .unwrap()
            .remove("length");
        let back = read(&report).unwrap();
        assert_eq!(
            back.scenario.phases[0].length,
            PhaseLength::Duration(elapsed)
        );
    }

    #[test]
    fn a_report_without_the_merge_object_is_refused_saying_so() {
        let err = read(&json!({"total": {}})).unwrap_err();
        assert!(err.starts_with("it has no \"merge\" object"), "{err}");
    }
}

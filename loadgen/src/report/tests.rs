//! The summary's blocks and lines, checked against the text they must print.

use mock_broker::fault::{ApiScope, FaultSpec, When};

use super::*;
use crate::audit::Counts;
use crate::run_metadata::Machine;
use crate::scenario::{Phase, Rate};

fn meta(duration_scale: Option<f64>) -> RunMetadata {
    RunMetadata {
        loadgen_version: "0.1.0",
        scenario_file: None,
        duration_scale,
        overrides: Vec::new(),
        machine: Machine {
            hostname: "ci-1".into(),
            cpu: "Some CPU @ 2.20GHz".into(),
            cores: 2,
            os: "linux x86_64".into(),
        },
    }
}

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
    let text = render(&scenario, &result, &[], &meta(None));
    assert!(
        text.starts_with(
            "scenario command-line: built from command-line flags\n\
         run: loadgen 0.1.0, started 1970-01-01T00:00:00Z, duration scale 1 (not scaled)\n\
         machine: ci-1, 2 cores, Some CPU @ 2.20GHz, linux x86_64\n\
         target: embedded broker at 127.0.0.1:9, protocol kafka, topic bench (1 partition)\n\
         workload: 1 producer, 100-byte values, keys none, 0 headers, in_flight buffer_memory, acks all\n\
         phases: main 10000 messages\n"
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
            "\naudit: 1001 recorded by the embedded broker on topic bench, 1001 acknowledged in all phases\n\
             \x20 lost 0, duplicates 0, reordered 0, unacknowledged recorded 0: ok\n"
        ),
        "wrapped at 100 columns: {text}"
    );
    assert!(
        text.lines().all(|line| line.chars().count() <= LINE_WIDTH),
        "{text}"
    );
}

#[test]
fn the_header_shows_the_duration_scale_and_the_scaled_phase_lengths() {
    let mut scenario = Scenario::command_line_default();
    scenario.phases = vec![
        Phase {
            name: "warmup".into(),
            length: crate::scenario::PhaseLength::Duration(Duration::from_millis(500)),
            rate: Rate::Constant(5000),
            record: false,
        },
        Phase {
            name: "steady".into(),
            length: crate::scenario::PhaseLength::Duration(Duration::from_millis(1500)),
            rate: Rate::Ramp { from: 10, to: 20 },
            record: true,
        },
    ];
    let result = RunResult {
        broker: "b".into(),
        started: std::time::SystemTime::UNIX_EPOCH + Duration::from_secs(86_400),
        intervals: Vec::new(),
        interrupted: false,
        faults: Vec::new(),
        producer: producer::Metrics::default(),
        phases: Vec::new(),
        audit: Audit::Unavailable("x".into()),
    };
    let mut with_file = meta(Some(0.5));
    with_file.scenario_file = Some("scenarios/smoke.toml".into());
    let text = header(&scenario, &result, &with_file);
    assert!(
        text.contains(
            "run: loadgen 0.1.0, started 1970-01-02T00:00:00Z, duration scale 0.5\n\
             file: scenarios/smoke.toml\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with("phases: warmup 500ms, steady 1s 500ms (durations scaled by 0.5)\n"),
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
            applicable: true,
            note: None,
        },
        Verdict {
            name: "min_throughput",
            limit: 4000.0,
            actual: Ok(3999.5),
            passed: false,
            applicable: true,
            note: None,
        },
        Verdict {
            name: "max_lost",
            limit: 0.0,
            actual: Err("no audit".into()),
            passed: false,
            applicable: true,
            note: None,
        },
    ];
    assert_eq!(
        threshold_lines(&verdicts),
        "thresholds\n\
         \x20 p99_ms          <= 250        actual 5.911       pass\n\
         \x20 min_throughput  >= 4000       actual 3999.5      FAIL\n\
         \x20 max_lost        <= 0          actual -           FAIL (not measured: no audit)\n"
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
        "audit: 2000 recorded by the embedded broker on topic bench, 2000 acknowledged in all phases\n\
         \x20 lost 0, duplicates 0, reordered 0, unacknowledged recorded 0: ok\n"
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
            "\n  lost 10, duplicates 2, reordered 1, unacknowledged recorded 3,\n    \
             4 records that are not messages of this run skipped: NOT OK\n"
        ),
        "{}",
        audit_line(&checked(bad), "b")
    );
    let unacked_only = Counts {
        unacknowledged_recorded: 5,
        ..clean
    };
    assert!(audit_line(&checked(unacked_only), "b").ends_with(": ok\n"));
    assert_eq!(
        audit_line(
            &Audit::Unavailable("no admin".into()),
            "external broker at h:1"
        ),
        "audit: not available for the external broker at h:1: no admin\n"
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

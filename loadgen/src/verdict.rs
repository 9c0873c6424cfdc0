//! The verdict of each threshold: the scenario's `[thresholds]` limits
//! ([`Thresholds`]) checked against what a run measured ([`RunResult`]).
//!
//! Latency and throughput limits are checked against the recorded phases; the
//! lost and duplicate limits against the audit by message id, which covers
//! every phase because the broker holds warmup messages too.

use crate::audit::Audit;
use crate::format::number;
use crate::run_result::RunResult;
use crate::scenario::Thresholds;

/// The outcome of one threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The key of `[thresholds]`, such as `p99_ms`.
    pub name: &'static str,
    /// The limit the scenario set.
    pub limit: f64,
    /// What the run measured, or why it could not be measured (which fails the threshold).
    pub actual: Result<f64, String>,
    /// Whether the limit was met.
    pub passed: bool,
}

impl Verdict {
    fn upper(name: &'static str, limit: f64, actual: Result<f64, String>) -> Verdict {
        let passed = actual.as_ref().is_ok_and(|&a| a <= limit);
        Verdict {
            name,
            limit,
            actual,
            passed,
        }
    }

    fn lower(name: &'static str, limit: f64, actual: Result<f64, String>) -> Verdict {
        let passed = actual.as_ref().is_ok_and(|&a| a >= limit);
        Verdict {
            name,
            limit,
            actual,
            passed,
        }
    }

    /// `<=` for a maximum, `>=` for a minimum.
    pub fn comparison(&self) -> &'static str {
        if self.name.starts_with("min_") {
            ">="
        } else {
            "<="
        }
    }

    /// The measured value as shown to users, or `unavailable (why)`.
    pub fn actual_text(&self) -> String {
        match &self.actual {
            Ok(actual) => number(*actual),
            Err(why) => format!("unavailable ({why})"),
        }
    }
}

/// The verdict of every limit of `thresholds` that is set, in the order of the schema.
pub fn evaluate(thresholds: &Thresholds, result: &RunResult) -> Vec<Verdict> {
    let (total, elapsed) = result.recorded_total();
    let corrected = total.corrected();
    let latency_ms = |quantile: f64| {
        if corrected.is_empty() {
            Err("no send was acknowledged in the recorded phases".to_string())
        } else {
            Ok(corrected.value_at_quantile(quantile) as f64 / 1000.0)
        }
    };
    let (lost, duplicates) = match &result.audit {
        Audit::Checked { counts, .. } => (Ok(counts.lost as f64), Ok(counts.duplicates as f64)),
        Audit::Unavailable(why) => {
            let why = format!("no audit: {why}");
            (Err(why.clone()), Err(why))
        }
    };
    let error_rate = if total.sent() == 0 {
        0.0
    } else {
        total.error_count() as f64 / total.sent() as f64
    };
    let throughput = if elapsed.is_zero() {
        0.0
    } else {
        total.acked() as f64 / elapsed.as_secs_f64()
    };
    let mut verdicts = Vec::new();
    if let Some(limit) = thresholds.p99_ms {
        verdicts.push(Verdict::upper("p99_ms", limit, latency_ms(0.99)));
    }
    if let Some(limit) = thresholds.p999_ms {
        verdicts.push(Verdict::upper("p999_ms", limit, latency_ms(0.999)));
    }
    if let Some(limit) = thresholds.max_error_rate {
        verdicts.push(Verdict::upper("max_error_rate", limit, Ok(error_rate)));
    }
    if let Some(limit) = thresholds.max_lost {
        verdicts.push(Verdict::upper("max_lost", limit as f64, lost));
    }
    if let Some(limit) = thresholds.max_duplicates {
        verdicts.push(Verdict::upper("max_duplicates", limit as f64, duplicates));
    }
    if let Some(limit) = thresholds.min_throughput {
        verdicts.push(Verdict::lower("min_throughput", limit, Ok(throughput)));
    }
    verdicts
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::audit::Counts;
    use crate::recorder::Recorder;
    use crate::run_result::PhaseResult;
    use crate::scenario::Rate;

    /// A run whose recorded phase acked 1000 sends of 1..=1000 ms over 2 s
    /// with 10 failures, after a warmup of 5 sends; the broker holds `recorded`.
    fn run(audit: Audit) -> RunResult {
        let mut warm = Recorder::new();
        let mut main = Recorder::new();
        for _ in 0..5 {
            warm.record_sent(Duration::ZERO);
            warm.record_ack(Duration::from_secs(60), Duration::from_secs(60), 100);
        }
        for ms in 1..=1000 {
            main.record_sent(Duration::ZERO);
            main.record_ack(Duration::from_millis(ms), Duration::from_millis(ms), 100);
        }
        for _ in 0..10 {
            main.record_sent(Duration::ZERO);
            main.record_error(&producer::Error::Closed);
        }
        let phase = |name: &str, record, recorder| PhaseResult {
            name: name.into(),
            record,
            rate: Rate::CLOSED_LOOP,
            elapsed: Duration::from_secs(2),
            recorder,
            interrupted: false,
        };
        RunResult {
            broker: "b".into(),
            started: std::time::SystemTime::UNIX_EPOCH,
            intervals: Vec::new(),
            interrupted: false,
            faults: Vec::new(),
            producer: producer::Metrics::default(),
            phases: vec![phase("warmup", false, warm), phase("main", true, main)],
            audit,
        }
    }

    /// An audit that found `lost` and `duplicates`.
    fn audited(lost: u64, duplicates: u64) -> Audit {
        Audit::Checked {
            topic: "bench".into(),
            source: "the embedded broker".into(),
            counts: Counts {
                recorded: 1005 - lost + duplicates,
                acked: 1005,
                lost,
                duplicates,
                ..Counts::default()
            },
        }
    }

    fn all() -> Thresholds {
        Thresholds {
            p99_ms: Some(1000.0),
            p999_ms: Some(1000.0),
            max_error_rate: Some(0.01),
            max_lost: Some(0),
            max_duplicates: Some(0),
            min_throughput: Some(500.0),
        }
    }

    #[test]
    fn each_limit_is_checked_against_the_recorded_phases_and_the_audit() {
        let verdicts = evaluate(&all(), &run(audited(0, 0)));
        let shown: Vec<(&str, String, bool)> = verdicts
            .iter()
            .map(|v| (v.name, v.actual_text(), v.passed))
            .collect();
        assert_eq!(
            shown,
            [
                ("p99_ms", "990.207".to_string(), true),
                ("p999_ms", "999.423".to_string(), true),
                ("max_error_rate", "0.009901".to_string(), true),
                ("max_lost", "0".to_string(), true),
                ("max_duplicates", "0".to_string(), true),
                ("min_throughput", "500".to_string(), true),
            ]
        );
    }

    #[test]
    fn limits_fail_when_exceeded_and_min_throughput_when_not_reached() {
        let strict = Thresholds {
            p99_ms: Some(900.0),
            p999_ms: None,
            max_error_rate: Some(0.005),
            max_lost: Some(2),
            max_duplicates: None,
            min_throughput: Some(501.0),
        };
        let verdicts = evaluate(&strict, &run(audited(5, 0)));
        let failed: Vec<(&str, String)> = verdicts
            .iter()
            .filter(|v| !v.passed)
            .map(|v| (v.name, v.actual_text()))
            .collect();
        assert_eq!(
            failed,
            [
                ("p99_ms", "990.207".to_string()),
                ("max_error_rate", "0.009901".to_string()),
                ("max_lost", "5".to_string()),
                ("min_throughput", "500".to_string()),
            ]
        );
        let dup = Thresholds {
            max_duplicates: Some(0),
            ..Thresholds::default()
        };
        let verdicts = evaluate(&dup, &run(audited(0, 3)));
        assert_eq!(verdicts[0].actual, Ok(3.0));
        assert!(!verdicts[0].passed);
    }

    #[test]
    fn audit_limits_fail_with_a_reason_when_the_audit_is_unavailable() {
        let verdicts = evaluate(&all(), &run(Audit::Unavailable("no [target] admin".into())));
        let lost = verdicts.iter().find(|v| v.name == "max_lost").unwrap();
        assert!(!lost.passed);
        assert_eq!(
            lost.actual_text(),
            "unavailable (no audit: no [target] admin)"
        );
        assert!(verdicts.iter().filter(|v| v.passed).count() == 4);
    }

    #[test]
    fn latency_limits_fail_when_nothing_was_acknowledged() {
        let mut only_errors = Recorder::new();
        only_errors.record_sent(Duration::ZERO);
        only_errors.record_error(&producer::Error::Closed);
        let result = RunResult {
            broker: "b".into(),
            started: std::time::SystemTime::UNIX_EPOCH,
            intervals: Vec::new(),
            interrupted: false,
            faults: Vec::new(),
            producer: producer::Metrics::default(),
            phases: vec![PhaseResult {
                name: "main".into(),
                record: true,
                rate: Rate::CLOSED_LOOP,
                elapsed: Duration::from_secs(1),
                recorder: only_errors,
                interrupted: false,
            }],
            audit: audited(0, 0),
        };
        let verdicts = evaluate(&all(), &result);
        assert!(!verdicts[0].passed);
        assert!(
            verdicts[0]
                .actual_text()
                .contains("no send was acknowledged")
        );
        assert_eq!(verdicts[2].actual, Ok(1.0), "error rate");
    }
}

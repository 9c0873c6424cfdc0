//! The verdict of each threshold: the scenario's `[thresholds]` limits
//! ([`Thresholds`]) checked against what a run measured ([`RunResult`]).
//!
//! Latency and throughput limits are checked against the recorded phases; the
//! lost and duplicate limits against the audit by message id, which covers
//! every phase because the broker holds warmup messages too. Without an
//! admin API to read an external broker's records, the audit's limits are
//! not applicable (they pass, marked so) unless `--strict-audit` asks that
//! they fail. A `min_throughput` given as a share of the target rate is
//! turned into msgs/s here, from the rates the recorded phases ran at.

use crate::audit::Audit;
use crate::format::number;
use crate::run_result::RunResult;
use crate::scenario::{MinThroughput, Rate, Thresholds};

/// The outcome of one threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The key of `[thresholds]`, such as `p99_ms`.
    pub name: &'static str,
    /// The limit the scenario set.
    pub limit: f64,
    /// What the run measured, or why it could not be measured (which fails the threshold).
    pub actual: Result<f64, String>,
    /// Whether the limit was met (or does not apply).
    pub passed: bool,
    /// False when the limit could not be checked and does not count: the
    /// audit's limits without an admin API to read the records through.
    pub applicable: bool,
    /// How the limit was derived, when the scenario did not give it as is:
    /// `99% of the target 200000 msgs/s`.
    pub note: Option<String>,
}

impl Verdict {
    fn upper(name: &'static str, limit: f64, actual: Result<f64, String>) -> Verdict {
        let passed = actual.as_ref().is_ok_and(|&a| a <= limit);
        Verdict {
            name,
            limit,
            actual,
            passed,
            applicable: true,
            note: None,
        }
    }

    fn lower(name: &'static str, limit: f64, actual: Result<f64, String>) -> Verdict {
        let passed = actual.as_ref().is_ok_and(|&a| a >= limit);
        Verdict {
            name,
            limit,
            actual,
            passed,
            applicable: true,
            note: None,
        }
    }

    /// A limit that cannot be checked and does not count, and why.
    fn not_applicable(name: &'static str, limit: f64, why: String) -> Verdict {
        Verdict {
            name,
            limit,
            actual: Err(why),
            passed: true,
            applicable: false,
            note: None,
        }
    }

    /// `pass`, `FAIL`, or `n/a` for a limit that does not apply.
    pub fn outcome_word(&self) -> &'static str {
        match (self.applicable, self.passed) {
            (false, _) => "n/a",
            (true, true) => "pass",
            (true, false) => "FAIL",
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

    /// The measured value as shown to users, or `unavailable (why)`, or
    /// `not applicable (why)`.
    pub fn actual_text(&self) -> String {
        match (&self.actual, self.applicable) {
            (Ok(actual), _) => number(*actual),
            (Err(why), true) => format!("unavailable ({why})"),
            (Err(why), false) => format!("not applicable ({why})"),
        }
    }

    /// The limit as shown to users: `<= 250`, or `>= 198000 (99% of the target 200000 msgs/s)`.
    pub fn limit_text(&self) -> String {
        let limit = format!("{} {}", self.comparison(), number(self.limit));
        match &self.note {
            Some(note) => format!("{limit} ({note})"),
            None => limit,
        }
    }
}

/// How the audit's limits are judged when the audit could not be run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum AuditRule {
    /// Without an admin API to read an external broker's records, `max_lost`
    /// and `max_duplicates` do not apply (they pass, marked `n/a`).
    #[default]
    Lenient,
    /// `--strict-audit`: they fail whenever the audit did not run.
    Strict,
}

/// How a run is judged besides its thresholds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rules {
    /// What the audit's limits do without an audit.
    pub audit: AuditRule,
    /// The share of each phase's rate this process sent: 1 for a whole run,
    /// less for a shard (`run --shard K/N`), whose target rate is its share.
    pub rate_share: f64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            audit: AuditRule::Lenient,
            rate_share: 1.0,
        }
    }
}

/// The target rate of the recorded phases, msgs/s: each phase's rate (a
/// ramp's mean) weighted by how long it ran; `None` when one of them ran
/// closed loop, or none ran at all.
pub fn target_rate(result: &RunResult) -> Option<f64> {
    let mut messages = 0.0;
    let mut seconds = 0.0;
    for phase in result.phases.iter().filter(|p| p.record) {
        let rate = match phase.rate {
            Rate::Constant(0) => return None,
            Rate::Constant(rate) => rate as f64,
            Rate::Ramp { from, to } => (from as f64 + to as f64) / 2.0,
        };
        messages += rate * phase.elapsed.as_secs_f64();
        seconds += phase.elapsed.as_secs_f64();
    }
    (seconds > 0.0).then(|| messages / seconds)
}

/// The verdict of every limit of `thresholds` that is set, in the order of the schema.
pub fn evaluate(thresholds: &Thresholds, result: &RunResult, rules: Rules) -> Vec<Verdict> {
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
        Audit::NotConfigured(_) => {
            let why = "no audit without an admin API".to_string();
            (Err(why.clone()), Err(why))
        }
    };
    let applicable =
        rules.audit == AuditRule::Strict || !matches!(result.audit, Audit::NotConfigured(_));
    let audit_limit = |name, limit: u64, actual: Result<f64, String>| match (applicable, actual) {
        (false, Err(why)) => Verdict::not_applicable(name, limit as f64, why),
        (_, actual) => Verdict::upper(name, limit as f64, actual),
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
        verdicts.push(audit_limit("max_lost", limit, lost));
    }
    if let Some(limit) = thresholds.max_duplicates {
        verdicts.push(audit_limit("max_duplicates", limit, duplicates));
    }
    if let Some(min) = thresholds.min_throughput {
        // A shard's target is its share of the rate, and so is its part of a limit in msgs/s.
        let target = target_rate(result).map(|rate| rate * rules.rate_share);
        let verdict = match (min, min.limit(target)) {
            (MinThroughput::ShareOfTarget(_), Ok(limit)) => {
                let mut verdict = Verdict::lower("min_throughput", limit, Ok(throughput));
                let target = target.map_or_else(String::new, number);
                verdict.note = Some(format!("{min} of the target {target} msgs/s"));
                verdict
            }
            (MinThroughput::PerSecond(limit), _) if rules.rate_share < 1.0 => {
                let mut verdict =
                    Verdict::lower("min_throughput", limit * rules.rate_share, Ok(throughput));
                verdict.note = Some(format!(
                    "{}% of {min}, this shard's share",
                    number(rules.rate_share * 100.0)
                ));
                verdict
            }
            (_, Ok(limit)) => Verdict::lower("min_throughput", limit, Ok(throughput)),
            (_, Err(why)) => Verdict::lower("min_throughput", 0.0, Err(why)),
        };
        verdicts.push(verdict);
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
            min_throughput: Some(MinThroughput::PerSecond(500.0)),
        }
    }

    #[test]
    fn each_limit_is_checked_against_the_recorded_phases_and_the_audit() {
        let verdicts = evaluate(&all(), &run(audited(0, 0)), Rules::default());
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
            min_throughput: Some(MinThroughput::PerSecond(501.0)),
        };
        let verdicts = evaluate(&strict, &run(audited(5, 0)), Rules::default());
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
        let verdicts = evaluate(&dup, &run(audited(0, 3)), Rules::default());
        assert_eq!(verdicts[0].actual, Ok(3.0));
        assert!(!verdicts[0].passed);
    }

    #[test]
    fn audit_limits_fail_with_a_reason_when_the_admin_api_cannot_be_read() {
        let verdicts = evaluate(
            &all(),
            &run(Audit::Unavailable("admin API unreachable".into())),
            Rules::default(),
        );
        let lost = verdicts.iter().find(|v| v.name == "max_lost").unwrap();
        assert!(!lost.passed);
        assert_eq!(
            lost.actual_text(),
            "unavailable (no audit: admin API unreachable)"
        );
        assert!(verdicts.iter().filter(|v| v.passed).count() == 4);
    }

    #[test]
    fn without_an_admin_api_audit_limits_do_not_apply_unless_strict() {
        let why = "no admin API for the external broker";
        let result = run(Audit::NotConfigured(why.into()));
        let lenient = evaluate(&all(), &result, Rules::default());
        let shown: Vec<(&str, String, &str)> = lenient
            .iter()
            .filter(|v| v.name.starts_with("max_") && v.name != "max_error_rate")
            .map(|v| (v.name, v.actual_text(), v.outcome_word()))
            .collect();
        let text = "not applicable (no audit without an admin API)".to_string();
        assert_eq!(
            shown,
            [
                ("max_lost", text.clone(), "n/a"),
                ("max_duplicates", text, "n/a")
            ]
        );
        assert!(lenient.iter().all(|v| v.passed));
        let strict = evaluate(
            &all(),
            &result,
            Rules {
                audit: AuditRule::Strict,
                ..Rules::default()
            },
        );
        let failed: Vec<&str> = strict
            .iter()
            .filter(|v| !v.passed)
            .map(|v| v.outcome_word())
            .collect();
        assert_eq!(failed, ["FAIL", "FAIL"]);
    }

    #[test]
    fn a_share_of_the_target_rate_follows_the_rate_the_recorded_phases_ran_at() {
        let share = Thresholds {
            min_throughput: Some(MinThroughput::ShareOfTarget(0.99)),
            ..Thresholds::default()
        };
        // 500 msgs/s acknowledged over 2 s.
        let mut result = run(audited(0, 0));
        result.phases[1].rate = Rate::Constant(505);
        let v = &evaluate(&share, &result, Rules::default())[0];
        assert_eq!(v.limit_text(), ">= 499.95 (99% of the target 505 msgs/s)");
        assert!(v.passed);
        result.phases[1].rate = Rate::Constant(1_200_000);
        let v = &evaluate(&share, &result, Rules::default())[0];
        assert_eq!(v.limit, 1_188_000.0);
        assert!(!v.passed, "500 msgs/s is far from 99% of 1.2 M");
        // A ramp's target is its mean; the warmup does not count.
        result.phases[1].rate = Rate::Ramp { from: 0, to: 1000 };
        result.phases[0].rate = Rate::Constant(1_000_000);
        let v = &evaluate(&share, &result, Rules::default())[0];
        assert_eq!(v.limit, 495.0);
        // A shard's target is its share of the rate.
        result.phases[1].rate = Rate::Constant(1500);
        let third = Rules {
            rate_share: 1.0 / 3.0,
            ..Rules::default()
        };
        let v = &evaluate(&share, &result, third)[0];
        assert_eq!(v.limit_text(), ">= 495 (99% of the target 500 msgs/s)");
        // So is its part of a limit in msgs/s.
        let absolute = Thresholds {
            min_throughput: Some(MinThroughput::PerSecond(1200.0)),
            ..Thresholds::default()
        };
        let v = &evaluate(&absolute, &result, third)[0];
        assert_eq!(
            v.limit_text(),
            ">= 400 (33.333% of 1200, this shard's share)"
        );
        // Closed loop has no target: the threshold fails, saying why.
        result.phases[1].rate = Rate::CLOSED_LOOP;
        let v = &evaluate(&share, &result, Rules::default())[0];
        assert!(!v.passed);
        assert!(
            v.actual_text().contains("closed loop"),
            "{}",
            v.actual_text()
        );
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
        let verdicts = evaluate(&all(), &result, Rules::default());
        assert!(!verdicts[0].passed);
        assert!(
            verdicts[0]
                .actual_text()
                .contains("no send was acknowledged")
        );
        assert_eq!(verdicts[2].actual, Ok(1.0), "error rate");
    }
}

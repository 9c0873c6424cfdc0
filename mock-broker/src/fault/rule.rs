//! A checked fault rule: what it does, to which requests, how often and when.

use std::time::Duration;

use super::error_code::{self, InjectedError};
use super::spec::{ApiScope, FaultKindName, FaultSpec, ProtocolScope, When};

/// A rule that cannot be used: the key at fault and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid fault rule: `{key}`: {reason}")]
pub struct FaultError {
    /// The key at fault, such as `latency_ms`.
    pub key: &'static str,
    /// What is wrong and what is allowed.
    pub reason: String,
}

fn invalid(key: &'static str, reason: impl Into<String>) -> FaultError {
    FaultError {
        key,
        reason: reason.into(),
    }
}

/// The longest `at` and `duration` a rule may have: a year. Longer ones would be mistakes, and
/// a moment that far ahead may not even be representable (`Instant` + a billion years overflows).
const MAX_SPAN: Duration = Duration::from_secs(365 * 86_400);

/// What a rule does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Delay the response by `latency` ± `jitter`.
    Latency { latency: Duration, jitter: Duration },
    /// Answer with this error; record nothing.
    Error(InjectedError),
    /// Close the connection.
    Disconnect(When),
    /// Stop reading for the rule's duration.
    Stall,
    /// Refuse and drop connections for the rule's duration.
    Down,
    /// Put this `throttle_time_ms` in Kafka responses.
    Throttle(i32),
    /// Make broker `to` lead the rule's partition.
    LeaderMove { to: i32 },
    /// Make every member of the rule's group rejoin.
    Rebalance,
}

/// Which requests a rule applies to; `None` matches anything.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Scope {
    pub(crate) broker: Option<i32>,
    pub(crate) api: Option<ApiScope>,
    pub(crate) topic: Option<String>,
    pub(crate) partition: Option<u32>,
    pub(crate) group: Option<String>,
    pub(crate) transactional_id: Option<String>,
    pub(crate) protocol: Option<ProtocolScope>,
}

/// How often a rule fires on the requests it matches.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Frequency {
    /// Every matching request.
    Always,
    /// The next `n` matching requests.
    Count(u64),
    /// Each matching request with this chance, from dice seeded with `seed`.
    Probability { p: f64, seed: u64 },
}

/// A checked rule.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct FaultRule {
    pub(crate) kind: FaultKindName,
    pub(crate) action: Action,
    pub(crate) scope: Scope,
    pub(crate) frequency: Frequency,
    /// Delay from when the rule is added to when it starts.
    pub(crate) at: Duration,
    /// How long it lasts once started; `None` = until removed.
    pub(crate) duration: Option<Duration>,
}

impl FaultRule {
    /// Checks `spec` for a cluster of `brokers` brokers.
    ///
    /// # Errors
    /// [`FaultError`] naming the first key at fault.
    pub(crate) fn new(spec: &FaultSpec, brokers: u32) -> Result<FaultRule, FaultError> {
        let kind = spec.kind;
        let node = |key: &'static str, id: i32| {
            if id >= 1 && id as i64 <= i64::from(brokers) {
                Ok(id)
            } else {
                Err(invalid(
                    key,
                    format!("broker {id} does not exist; node ids are 1 to {brokers}"),
                ))
            }
        };
        // Keys that belong to other kinds.
        let only_for = |key: &'static str, set: bool, owner: FaultKindName| {
            if set && kind != owner {
                Err(invalid(
                    key,
                    format!("applies only to kind = \"{owner}\", not to kind = \"{kind}\""),
                ))
            } else {
                Ok(())
            }
        };
        only_for(
            "latency_ms",
            spec.latency_ms.is_some(),
            FaultKindName::Latency,
        )?;
        only_for(
            "jitter_ms",
            spec.jitter_ms.is_some(),
            FaultKindName::Latency,
        )?;
        only_for("error", spec.error.is_some(), FaultKindName::Error)?;
        only_for("when", spec.when.is_some(), FaultKindName::Disconnect)?;
        only_for(
            "throttle_ms",
            spec.throttle_ms.is_some(),
            FaultKindName::Throttle,
        )?;
        only_for("to", spec.to.is_some(), FaultKindName::LeaderMove)?;

        let at = spec.at.map_or(Duration::ZERO, |d| d.0);
        let duration = spec.duration.map(|d| d.0);
        for (key, span) in [("at", Some(at)), ("duration", duration)] {
            if span.is_some_and(|span| span > MAX_SPAN) {
                return Err(invalid(
                    key,
                    format!(
                        "is more than a year ({} days); expected at most \"365d\"",
                        MAX_SPAN.as_secs() / 86_400
                    ),
                ));
            }
        }
        if duration == Some(Duration::ZERO) {
            return Err(invalid(
                "duration",
                "is 0; expected a positive duration such as \"500ms\", or no `duration` for a rule that lasts until removed",
            ));
        }
        let frequency = frequency(spec)?;
        let scope = Scope {
            broker: spec.broker.map(|b| node("broker", b)).transpose()?,
            api: spec.api.filter(|a| *a != ApiScope::Any),
            topic: spec.topic.clone(),
            partition: spec.partition,
            group: spec.group.clone(),
            transactional_id: spec.transactional_id.clone(),
            protocol: spec.protocol,
        };
        if let Some(id) = &scope.transactional_id
            && id.is_empty()
        {
            return Err(invalid(
                "transactional_id",
                "is empty; expected a producer's transactional id",
            ));
        }
        if scope.transactional_id.is_some() && !kind.is_per_request() {
            return Err(invalid(
                "transactional_id",
                format!(
                    "does not apply to kind = \"{kind}\"; it scopes latency, error, disconnect and throttle rules"
                ),
            ));
        }
        if let Some(group) = &scope.group
            && group.is_empty()
        {
            return Err(invalid("group", "is empty; expected a consumer group id"));
        }
        if scope.group.is_some() && !kind.is_per_request() && kind != FaultKindName::Rebalance {
            return Err(invalid(
                "group",
                format!(
                    "does not apply to kind = \"{kind}\"; it scopes latency, error, disconnect and throttle rules, and names the group of a rebalance"
                ),
            ));
        }
        if let Some(topic) = &scope.topic
            && topic.is_empty()
        {
            return Err(invalid("topic", "is empty; expected a topic name"));
        }

        if !kind.is_per_request() {
            // Time-based faults act on brokers (or one partition), not on requests.
            let not_per_request = |key: &'static str, set: bool| {
                if set {
                    Err(invalid(
                        key,
                        format!(
                            "kind = \"{kind}\" acts over time, not on requests; `{key}` is for latency, error, disconnect and throttle"
                        ),
                    ))
                } else {
                    Ok(())
                }
            };
            not_per_request("api", spec.api.is_some())?;
            not_per_request("protocol", spec.protocol.is_some())?;
            not_per_request("count", spec.count.is_some())?;
            not_per_request("probability", spec.probability.is_some())?;
            not_per_request("seed", spec.seed.is_some())?;
        }

        let action = match kind {
            FaultKindName::Latency => {
                let latency_ms = spec.latency_ms.ok_or_else(|| {
                    invalid(
                        "latency_ms",
                        "is required for kind = \"latency\"; expected milliseconds such as 200",
                    )
                })?;
                let jitter_ms = spec.jitter_ms.unwrap_or(0);
                const MAX_MS: u64 = 3_600_000;
                if latency_ms > MAX_MS || jitter_ms > MAX_MS {
                    return Err(invalid(
                        if latency_ms > MAX_MS {
                            "latency_ms"
                        } else {
                            "jitter_ms"
                        },
                        format!("is more than an hour; expected at most {MAX_MS}"),
                    ));
                }
                Action::Latency {
                    latency: Duration::from_millis(latency_ms),
                    jitter: Duration::from_millis(jitter_ms),
                }
            }
            FaultKindName::Error => {
                let value = spec.error.as_ref().ok_or_else(|| {
                    invalid(
                        "error",
                        "is required for kind = \"error\"; expected a Kafka error name such as \"NOT_LEADER_OR_FOLLOWER\", a Kafka error code, or a frame status name such as \"BROKER_BUSY\"",
                    )
                })?;
                let error = error_code::resolve(value)
                    .map_err(|reason| invalid("error", reason.to_string()))?;
                match spec.protocol {
                    Some(ProtocolScope::Kafka) if error.kafka.is_none() => {
                        return Err(invalid(
                            "error",
                            "is a frame protocol status, but the rule is for protocol = \"kafka\"",
                        ));
                    }
                    Some(ProtocolScope::Frame) if error.frame.is_none() => {
                        return Err(invalid(
                            "error",
                            "is not a frame protocol status (MALFORMED_FRAME, INVALID_TOPIC_NAME, MESSAGE_TOO_LARGE, BROKER_BUSY, UNKNOWN_TOPIC_OR_PARTITION, INVALID_REQUEST, INTERNAL_ERROR, …), but the rule is for protocol = \"frame\"",
                        ));
                    }
                    _ => {}
                }
                Action::Error(error)
            }
            FaultKindName::Disconnect => Action::Disconnect(spec.when.unwrap_or_default()),
            FaultKindName::Throttle => {
                let throttle_ms = spec.throttle_ms.ok_or_else(|| {
                    invalid(
                        "throttle_ms",
                        "is required for kind = \"throttle\"; expected milliseconds such as 100",
                    )
                })?;
                let throttle_ms = i32::try_from(throttle_ms).map_err(|_| {
                    invalid(
                        "throttle_ms",
                        format!("{throttle_ms} is too large; expected at most {}", i32::MAX),
                    )
                })?;
                if spec.protocol == Some(ProtocolScope::Frame) {
                    return Err(invalid(
                        "protocol",
                        "kind = \"throttle\" sets Kafka's throttle_time_ms; the frame protocol has no such field",
                    ));
                }
                Action::Throttle(throttle_ms)
            }
            FaultKindName::Stall | FaultKindName::Down => {
                if duration.is_none() {
                    return Err(invalid(
                        "duration",
                        format!(
                            "is required for kind = \"{kind}\"; expected a duration such as \"2s\""
                        ),
                    ));
                }
                if spec.topic.is_some() || spec.partition.is_some() {
                    return Err(invalid(
                        if spec.topic.is_some() {
                            "topic"
                        } else {
                            "partition"
                        },
                        format!(
                            "kind = \"{kind}\" acts on whole brokers; limit it with `broker` instead"
                        ),
                    ));
                }
                if kind == FaultKindName::Stall {
                    Action::Stall
                } else {
                    Action::Down
                }
            }
            FaultKindName::LeaderMove => {
                let to = spec.to.ok_or_else(|| {
                    invalid("to", "is required for kind = \"leader_move\"; expected the node id of the new leader")
                })?;
                let to = node("to", to)?;
                if scope.topic.is_none() {
                    return Err(invalid("topic", "is required for kind = \"leader_move\""));
                }
                if scope.partition.is_none() {
                    return Err(invalid(
                        "partition",
                        "is required for kind = \"leader_move\"",
                    ));
                }
                if spec.broker.is_some() {
                    return Err(invalid(
                        "broker",
                        "does not apply to kind = \"leader_move\"; `to` names the new leader",
                    ));
                }
                Action::LeaderMove { to }
            }
            FaultKindName::Rebalance => {
                if scope.group.is_none() {
                    return Err(invalid(
                        "group",
                        "is required for kind = \"rebalance\"; expected the consumer group id whose members must rejoin",
                    ));
                }
                for (key, set) in [
                    ("topic", spec.topic.is_some()),
                    ("partition", spec.partition.is_some()),
                    ("broker", spec.broker.is_some()),
                ] {
                    if set {
                        return Err(invalid(
                            key,
                            "does not apply to kind = \"rebalance\"; `group` names the group, and its coordinator rebalances it",
                        ));
                    }
                }
                Action::Rebalance
            }
        };
        Ok(FaultRule {
            kind,
            action,
            scope,
            frequency,
            at,
            duration,
        })
    }
}

fn frequency(spec: &FaultSpec) -> Result<Frequency, FaultError> {
    match (spec.count, spec.probability) {
        (Some(_), Some(_)) => Err(invalid(
            "probability",
            "cannot be combined with `count`; use one of them, or neither to fire on every matching request",
        )),
        (Some(0), None) => Err(invalid("count", "is 0; expected at least 1")),
        (Some(n), None) => {
            if spec.seed.is_some() {
                return Err(invalid("seed", "applies only with `probability`"));
            }
            Ok(Frequency::Count(n))
        }
        (None, Some(p)) => {
            if !(p > 0.0 && p <= 1.0) {
                return Err(invalid(
                    "probability",
                    format!("is {p}; expected more than 0 and at most 1"),
                ));
            }
            let seed = spec.seed.unwrap_or_else(random_seed);
            Ok(Frequency::Probability { p, seed })
        }
        (None, None) => {
            if spec.seed.is_some() {
                return Err(invalid("seed", "applies only with `probability`"));
            }
            Ok(Frequency::Always)
        }
    }
}

fn random_seed() -> u64 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::SystemTime::now())
}

impl FaultSpec {
    /// Checks the rule as [`Faults::add`](super::Faults::add) would, for a
    /// cluster of `brokers` brokers, or without checking node ids when the
    /// cluster is not known (a broker elsewhere).
    ///
    /// # Errors
    /// [`FaultError`] naming the first key at fault.
    pub fn validate(&self, brokers: Option<u32>) -> Result<(), FaultError> {
        FaultRule::new(self, brokers.unwrap_or(i32::MAX as u32)).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::spec::ErrorValue;

    fn check(toml_text: &str) -> Result<FaultRule, FaultError> {
        let spec: FaultSpec = toml::from_str(toml_text).expect("valid TOML spec");
        FaultRule::new(&spec, 3)
    }

    fn refused(toml_text: &str) -> String {
        check(toml_text).unwrap_err().to_string()
    }

    #[test]
    fn a_latency_rule_with_scope_and_probability() {
        let rule = check(
            "kind = \"latency\"\nlatency_ms = 200\njitter_ms = 50\napi = \"produce\"\nbroker = 2\nprobability = 0.5\nseed = 7\nat = \"1s\"\nduration = \"500ms\"",
        )
        .unwrap();
        assert_eq!(
            rule.action,
            Action::Latency {
                latency: Duration::from_millis(200),
                jitter: Duration::from_millis(50)
            }
        );
        assert_eq!(rule.scope.api, Some(ApiScope::Produce));
        assert_eq!(rule.scope.broker, Some(2));
        assert_eq!(rule.frequency, Frequency::Probability { p: 0.5, seed: 7 });
        assert_eq!(rule.at, Duration::from_secs(1));
        assert_eq!(rule.duration, Some(Duration::from_millis(500)));
    }

    #[test]
    fn at_and_duration_are_at_most_a_year() {
        // Found by the admin_request fuzz target: an `at` of 9,966,217,342,048,039,367 s
        // overflowed `Instant` when the rule was added.
        let err = refused("kind = \"stall\"\nat = \"9966217342048039367s\"\nduration = \"500us\"");
        assert!(
            err.contains("at") && err.contains("more than a year"),
            "{err}"
        );
        let err = refused("kind = \"stall\"\nduration = \"366d\"");
        assert!(err.contains("duration") && err.contains("365d"), "{err}");
        let rule = check("kind = \"stall\"\nat = \"365d\"\nduration = \"365d\"").unwrap();
        assert_eq!(rule.at, MAX_SPAN);
    }

    #[test]
    fn every_kind_has_a_minimal_valid_rule() {
        for text in [
            "kind = \"latency\"\nlatency_ms = 1",
            "kind = \"error\"\nerror = \"REQUEST_TIMED_OUT\"\ncount = 3",
            "kind = \"error\"\nerror = 6",
            "kind = \"disconnect\"\nwhen = \"after\"",
            "kind = \"disconnect\"",
            "kind = \"stall\"\nduration = \"500ms\"",
            "kind = \"down\"\nduration = \"2s\"\nbroker = 1",
            "kind = \"throttle\"\nthrottle_ms = 100",
            "kind = \"leader_move\"\ntopic = \"t\"\npartition = 0\nto = 2",
            "kind = \"rebalance\"\ngroup = \"g\"",
            "kind = \"error\"\nerror = \"NOT_COORDINATOR\"\napi = \"join_group\"\ngroup = \"g\"",
        ] {
            check(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        }
    }

    #[test]
    fn missing_and_misplaced_keys_are_named() {
        assert_eq!(
            refused("kind = \"latency\""),
            "invalid fault rule: `latency_ms`: is required for kind = \"latency\"; expected milliseconds such as 200"
        );
        assert_eq!(
            refused("kind = \"error\"\nerror = \"NOPE\"\nlatency_ms = 5"),
            "invalid fault rule: `latency_ms`: applies only to kind = \"latency\", not to kind = \"error\""
        );
        assert!(
            refused("kind = \"stall\"").contains("`duration`: is required for kind = \"stall\"")
        );
        assert!(
            refused("kind = \"down\"\nduration = \"1s\"\ncount = 2")
                .contains("`count`: kind = \"down\" acts over time")
        );
        assert!(
            refused("kind = \"leader_move\"\ntopic = \"t\"\nto = 2")
                .contains("`partition`: is required")
        );
        assert!(
            refused("kind = \"leader_move\"\ntopic = \"t\"\npartition = 0\nto = 4")
                .contains("`to`: broker 4 does not exist; node ids are 1 to 3")
        );
        assert!(
            refused("kind = \"disconnect\"\nbroker = 0")
                .contains("`broker`: broker 0 does not exist")
        );
        assert!(
            refused("kind = \"throttle\"\nthrottle_ms = 5\nprotocol = \"frame\"")
                .contains("`protocol`")
        );
        assert!(
            refused("kind = \"error\"\nerror = \"BROKER_BUSY\"\nprotocol = \"kafka\"")
                .contains("`error`: is a frame protocol status")
        );
    }

    #[test]
    fn transactional_id_keys_are_checked() {
        assert!(
            refused(
                "kind = \"error\"\nerror = \"CONCURRENT_TRANSACTIONS\"\ntransactional_id = \"\""
            )
            .contains("`transactional_id`: is empty")
        );
        assert!(
            refused("kind = \"stall\"\nduration = \"1s\"\ntransactional_id = \"t\"")
                .contains("`transactional_id`: does not apply to kind = \"stall\"")
        );
        assert!(
            refused("kind = \"rebalance\"\ngroup = \"g\"\ntransactional_id = \"t\"")
                .contains("`transactional_id`: does not apply to kind = \"rebalance\"")
        );
        let rule = check(
            "kind = \"error\"\nerror = \"CONCURRENT_TRANSACTIONS\"\napi = \"end_txn\"\ntransactional_id = \"t\"",
        )
        .unwrap();
        assert_eq!(rule.scope.transactional_id.as_deref(), Some("t"));
    }

    #[test]
    fn group_keys_are_checked() {
        assert!(
            refused("kind = \"rebalance\"")
                .contains("`group`: is required for kind = \"rebalance\"")
        );
        assert!(
            refused("kind = \"rebalance\"\ngroup = \"g\"\ntopic = \"t\"")
                .contains("`topic`: does not apply to kind = \"rebalance\"")
        );
        assert!(
            refused("kind = \"rebalance\"\ngroup = \"g\"\ncount = 1")
                .contains("`count`: kind = \"rebalance\" acts over time")
        );
        assert!(
            refused("kind = \"stall\"\nduration = \"1s\"\ngroup = \"g\"")
                .contains("`group`: does not apply to kind = \"stall\"")
        );
        assert!(refused("kind = \"disconnect\"\ngroup = \"\"").contains("`group`: is empty"));
        let rule = check("kind = \"rebalance\"\ngroup = \"g\"").unwrap();
        assert_eq!(rule.action, Action::Rebalance);
        assert_eq!(rule.scope.group.as_deref(), Some("g"));
    }

    #[test]
    fn frequencies_are_checked() {
        assert!(
            refused("kind = \"disconnect\"\ncount = 1\nprobability = 0.5")
                .contains("`probability`: cannot be combined with `count`")
        );
        assert!(
            refused("kind = \"disconnect\"\nprobability = 1.5")
                .contains("`probability`: is 1.5; expected more than 0 and at most 1")
        );
        assert!(
            refused("kind = \"disconnect\"\nprobability = 0.0").contains("`probability`: is 0;")
        );
        assert!(refused("kind = \"disconnect\"\ncount = 0").contains("`count`: is 0"));
        assert!(
            refused("kind = \"disconnect\"\nseed = 1")
                .contains("`seed`: applies only with `probability`")
        );
        assert!(refused("kind = \"disconnect\"\nduration = \"0s\"").contains("`duration`: is 0"));
    }

    #[test]
    fn numeric_errors_are_kafka_codes() {
        let spec = FaultSpec {
            error: Some(ErrorValue::Code(7)),
            ..FaultSpec::new(FaultKindName::Error)
        };
        let rule = FaultRule::new(&spec, 1).unwrap();
        assert!(matches!(
            rule.action,
            Action::Error(InjectedError { kafka: Some(7), .. })
        ));
    }

    #[test]
    fn bad_durations_and_unknown_keys_are_refused_by_the_parser() {
        let err =
            toml::from_str::<FaultSpec>("kind = \"stall\"\nduration = \"5 parsecs\"").unwrap_err();
        assert!(
            err.to_string().contains("expected a string like \"500ms\""),
            "{err}"
        );
        let err = toml::from_str::<FaultSpec>("kind = \"stall\"\nlenght = \"5s\"").unwrap_err();
        assert!(err.to_string().contains("unknown field `lenght`"), "{err}");
        let err = toml::from_str::<FaultSpec>("kind = \"slow\"").unwrap_err();
        assert!(
            err.to_string().contains("expected one of `latency`"),
            "{err}"
        );
    }
}

//! What a request is judged by and what the judgement is: the facts a
//! connection gives about a request, whether a rule covers them, and the
//! [`Verdict`] the rules that fired add up to. Also a broker's [`Condition`].

use std::time::Duration;

use rand::Rng;
use rand::rngs::SmallRng;

use super::error_code::InjectedError;
use super::rule::{Action, FaultRule};
use super::spec::{ApiScope, ProtocolScope, When};

/// What a broker's connections must do now, whatever the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Condition {
    /// Read nothing until this clears.
    pub(crate) stalled: bool,
    /// Drop every connection and refuse new ones.
    pub(crate) down: bool,
}

/// What a connection knows about a request, for matching rules.
pub(crate) struct RequestFacts<'a> {
    pub(crate) protocol: ProtocolScope,
    pub(crate) broker: i32,
    pub(crate) api: ApiScope,
    /// Whether the request touches the topic and partition (each `None` = any).
    pub(crate) touches: &'a dyn Fn(Option<&str>, Option<u32>) -> bool,
    /// Whether the request names this consumer group.
    pub(crate) names_group: &'a dyn Fn(&str) -> bool,
    /// Whether the request names this transactional id.
    pub(crate) names_transaction: &'a dyn Fn(&str) -> bool,
}

/// What the rules that fired on a request ask for.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Verdict {
    /// Hold the response back this long (latency rules add up).
    pub(crate) delay: Option<Duration>,
    /// Answer with this error instead of handling the request.
    pub(crate) error: Option<InjectedError>,
    /// Close the connection (`Before` wins over `After`).
    pub(crate) disconnect: Option<When>,
    /// Put this `throttle_time_ms` in the response (the largest wins).
    pub(crate) throttle_ms: Option<i32>,
}

/// Whether `rule`'s scope covers `request`.
pub(super) fn matches(rule: &FaultRule, request: &RequestFacts<'_>) -> bool {
    let scope = &rule.scope;
    if scope.broker.is_some_and(|b| b != request.broker)
        || scope.protocol.is_some_and(|p| p != request.protocol)
        || scope.api.is_some_and(|a| a != request.api)
    {
        return false;
    }
    if (scope.topic.is_some() || scope.partition.is_some())
        && !(request.touches)(scope.topic.as_deref(), scope.partition)
    {
        return false;
    }
    if scope
        .group
        .as_deref()
        .is_some_and(|group| !(request.names_group)(group))
    {
        return false;
    }
    if scope
        .transactional_id
        .as_deref()
        .is_some_and(|id| !(request.names_transaction)(id))
    {
        return false;
    }
    // A rule only fires where its action means something.
    match &rule.action {
        Action::Error(error) => match request.protocol {
            ProtocolScope::Kafka => error.kafka.is_some(),
            ProtocolScope::Frame => error.frame.is_some(),
        },
        Action::Throttle(_) => request.protocol == ProtocolScope::Kafka,
        _ => true,
    }
}

/// Adds what `action` asks for to `verdict`, rolling `dice` for jitter.
pub(super) fn apply(action: &Action, dice: &mut SmallRng, verdict: &mut Verdict) {
    match action {
        Action::Latency { latency, jitter } => {
            let delay = if jitter.is_zero() {
                *latency
            } else {
                let low = latency.saturating_sub(*jitter);
                let high = *latency + *jitter;
                dice.random_range(low..=high)
            };
            verdict.delay = Some(verdict.delay.unwrap_or_default() + delay);
        }
        Action::Error(error) => {
            verdict.error.get_or_insert(*error);
        }
        Action::Disconnect(when) => {
            verdict.disconnect = Some(match (verdict.disconnect, when) {
                (Some(When::Before), _) | (_, When::Before) => When::Before,
                _ => When::After,
            });
        }
        Action::Throttle(ms) => {
            verdict.throttle_ms = Some(verdict.throttle_ms.map_or(*ms, |t| t.max(*ms)));
        }
        Action::Stall | Action::Down | Action::LeaderMove { .. } | Action::Rebalance => {}
    }
}

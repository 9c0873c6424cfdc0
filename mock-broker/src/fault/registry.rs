//! The rules in force: added, listed and removed through any of the four
//! interfaces, consulted by connections on every request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::sync::{Notify, watch};

use super::rule::{Action, FaultError, FaultRule, Frequency};
use super::spec::{ApiScope, FaultSpec, ProtocolScope, When};
use crate::cluster::Cluster;
use crate::fault::error_code::InjectedError;
use crate::stats::Stats;

/// The fault rules of a broker (or cluster of brokers).
///
/// Reach it through [`MockBroker::faults`](crate::MockBroker::faults):
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mock_broker::fault::{ApiScope, FaultSpec};
/// use mock_broker::{BrokerConfig, MockBroker};
/// let broker = MockBroker::start(BrokerConfig::ephemeral()).await.unwrap();
/// let rule = broker
///     .faults()
///     .add(FaultSpec::error("NOT_LEADER_OR_FOLLOWER").with_api(ApiScope::Produce).with_count(3))
///     .unwrap();
/// assert_eq!(broker.faults().list()[0].fired, 0);
/// assert!(broker.faults().remove(rule.id));
/// # }
/// ```
#[derive(Debug)]
pub struct Faults {
    brokers: u32,
    /// Where `leader_move` faults move leadership.
    cluster: Arc<Cluster>,
    /// Where fired faults are counted.
    stats: Arc<Stats>,
    registry: Mutex<Registry>,
    /// Per-request rules that may still fire: with none, requests skip the lock.
    live_per_request: AtomicUsize,
    /// Wakes the clock when rules are added or removed.
    changed: Notify,
    /// Whether each broker (index node id − 1) is stalled or down.
    conditions: Vec<watch::Sender<Condition>>,
}

#[derive(Debug, Default)]
struct Registry {
    next_id: u64,
    rules: Vec<Active>,
}

#[derive(Debug)]
struct Active {
    id: u64,
    spec: FaultSpec,
    rule: FaultRule,
    added: Instant,
    fired: u64,
    state: FaultState,
    /// Matching requests a `count` rule may still fire on.
    remaining: Option<u64>,
    dice: SmallRng,
    /// The leader before a `leader_move`, to move back to when it ends.
    previous_leader: Option<i32>,
}

impl Active {
    fn start(&self) -> Instant {
        self.added + self.rule.at
    }

    fn end(&self) -> Option<Instant> {
        self.rule.duration.map(|d| self.start() + d)
    }
}

/// Where a rule is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultState {
    /// Waiting for its `at`.
    Pending,
    /// In force.
    Active,
    /// Done: its `duration` passed, its `count` is used up, or its leader move was made.
    Expired,
}

impl FaultState {
    /// The name the admin API and reports use: `pending`, `active` or `expired`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultState::Pending => "pending",
            FaultState::Active => "active",
            FaultState::Expired => "expired",
        }
    }
}

/// A rule as the interfaces report it: its id, its keys, how often it fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultInfo {
    /// The id to remove it by.
    pub id: u64,
    /// Its keys, as given.
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// How often it fired (requests it acted on; 1 when a time-based fault started).
    pub fired: u64,
    /// Pending, active or expired.
    pub state: FaultState,
}

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

impl Faults {
    /// No rules, for `cluster`, counting fired faults in `stats`.
    pub(crate) fn new(cluster: Arc<Cluster>, stats: Arc<Stats>) -> Faults {
        let brokers = cluster.nodes().len() as u32;
        Faults {
            brokers,
            cluster,
            stats,
            registry: Mutex::default(),
            live_per_request: AtomicUsize::new(0),
            changed: Notify::new(),
            conditions: (0..brokers)
                .map(|_| watch::Sender::new(Condition::default()))
                .collect(),
        }
    }

    fn registry(&self) -> std::sync::MutexGuard<'_, Registry> {
        self.registry.lock().expect("fault registry lock")
    }

    /// Checks `spec` and puts it in force; its `at` counts from now. A
    /// time-based fault due now (no `at`) is in force when this returns.
    ///
    /// # Errors
    /// [`FaultError`] naming the key at fault and what is allowed.
    pub fn add(&self, spec: FaultSpec) -> Result<FaultInfo, FaultError> {
        let rule = FaultRule::new(&spec, self.brokers)?;
        let seed = match rule.frequency {
            Frequency::Probability { seed, .. } => seed,
            _ => 0,
        };
        let per_request = rule.kind.is_per_request();
        let remaining = match rule.frequency {
            Frequency::Count(n) => Some(n),
            _ => None,
        };
        let mut registry = self.registry();
        registry.next_id += 1;
        let active = Active {
            id: registry.next_id,
            spec,
            rule,
            added: Instant::now(),
            fired: 0,
            state: FaultState::Pending,
            remaining,
            dice: SmallRng::seed_from_u64(seed),
            previous_leader: None,
        };
        tracing::info!(id = active.id, rule = %describe(&active.spec), "fault rule added");
        let info = info(&active);
        registry.rules.push(active);
        if per_request {
            self.live_per_request.fetch_add(1, Ordering::AcqRel);
        }
        drop(registry);
        self.advance(Instant::now());
        self.changed.notify_one();
        Ok(self.get(info.id).unwrap_or(info))
    }

    /// Every rule added and not removed, in the order added.
    pub fn list(&self) -> Vec<FaultInfo> {
        self.registry().rules.iter().map(info).collect()
    }

    /// One rule, if it exists.
    pub fn get(&self, id: u64) -> Option<FaultInfo> {
        self.registry().rules.iter().find(|r| r.id == id).map(info)
    }

    /// Removes a rule; whether it existed. Stalls and outages it caused end at
    /// once; partitions it moved stay where they are.
    pub fn remove(&self, id: u64) -> bool {
        let mut registry = self.registry();
        let Some(index) = registry.rules.iter().position(|r| r.id == id) else {
            return false;
        };
        let removed = registry.rules.remove(index);
        if is_live_per_request(&removed) {
            self.live_per_request.fetch_sub(1, Ordering::AcqRel);
        }
        drop(registry);
        tracing::info!(id, "fault rule removed");
        self.advance(Instant::now());
        self.changed.notify_one();
        true
    }

    /// Removes every rule; how many there were.
    pub fn clear(&self) -> usize {
        let mut registry = self.registry();
        let removed = registry.rules.len();
        registry.rules.clear();
        self.live_per_request.store(0, Ordering::Release);
        drop(registry);
        if removed > 0 {
            tracing::info!(removed, "fault rules cleared");
        }
        self.advance(Instant::now());
        self.changed.notify_one();
        removed
    }

    /// Whether any per-request rule may fire; when not, requests need not be described.
    pub(crate) fn any_per_request(&self) -> bool {
        self.live_per_request.load(Ordering::Acquire) > 0
    }

    /// Fires the per-request rules that match `request`, counting each in `stats`.
    pub(crate) fn on_request(&self, request: &RequestFacts<'_>) -> Verdict {
        let mut verdict = Verdict::default();
        if !self.any_per_request() {
            return verdict;
        }
        let now = Instant::now();
        let mut registry = self.registry();
        let mut expired = 0;
        for rule in registry.rules.iter_mut() {
            if !is_live_per_request(rule) {
                continue;
            }
            if now < rule.start() {
                continue;
            }
            if rule.end().is_some_and(|end| now >= end) {
                rule.state = FaultState::Expired;
                expired += 1;
                continue;
            }
            rule.state = FaultState::Active;
            if !matches(&rule.rule, request) {
                continue;
            }
            let fires = match rule.rule.frequency {
                Frequency::Always | Frequency::Count(_) => true,
                Frequency::Probability { p, .. } => rule.dice.random_bool(p),
            };
            if !fires {
                continue;
            }
            if let Some(remaining) = &mut rule.remaining {
                *remaining -= 1;
                if *remaining == 0 {
                    rule.state = FaultState::Expired;
                    expired += 1;
                }
            }
            rule.fired += 1;
            self.stats.fault_fired(rule.rule.kind.as_str());
            // Per request, so at debug level: a rule may fire thousands of times a second.
            tracing::debug!(id = rule.id, kind = %rule.rule.kind, broker = request.broker, api = ?request.api, protocol = ?request.protocol, "fault fired");
            apply(&rule.rule.action, &mut rule.dice, &mut verdict);
        }
        drop(registry);
        if expired > 0 {
            self.live_per_request.fetch_sub(expired, Ordering::AcqRel);
        }
        verdict
    }

    /// A receiver of broker `node_id`'s condition.
    pub(crate) fn condition(&self, node_id: i32) -> watch::Receiver<Condition> {
        self.conditions[(node_id - 1) as usize].subscribe()
    }

    /// Starts and ends the time-based faults (stall, down, leader_move) when
    /// they are due, until `shutdown`.
    pub(crate) async fn run_clock(&self, shutdown: tokio_util::sync::CancellationToken) {
        loop {
            let changed = self.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            let next = self.advance(Instant::now());
            let wait = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = changed => {}
                _ = wait => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// Starts and ends what is due at `now`; when something is next due.
    fn advance(&self, now: Instant) -> Option<Instant> {
        let cluster = &self.cluster;
        let mut registry = self.registry();
        let mut next: Option<Instant> = None;
        let mut due = |at: Instant| next = Some(next.map_or(at, |n| n.min(at)));
        for rule in registry.rules.iter_mut() {
            if rule.rule.kind.is_per_request() {
                continue;
            }
            if rule.state == FaultState::Pending {
                if now < rule.start() {
                    due(rule.start());
                    continue;
                }
                rule.state = FaultState::Active;
                rule.fired += 1;
                self.stats.fault_fired(rule.rule.kind.as_str());
                if let Action::LeaderMove { to } = rule.rule.action {
                    let topic = rule.rule.scope.topic.as_deref().unwrap_or_default();
                    let partition = rule.rule.scope.partition.unwrap_or_default();
                    rule.previous_leader = Some(cluster.move_leader(topic, partition, to));
                    tracing::info!(
                        id = rule.id,
                        topic,
                        partition,
                        to,
                        "fault fired: partition leadership moved"
                    );
                    if rule.rule.duration.is_none() {
                        rule.state = FaultState::Expired;
                    }
                } else {
                    tracing::info!(id = rule.id, kind = %rule.rule.kind, broker = ?rule.rule.scope.broker,
                        duration = ?rule.rule.duration, "fault fired");
                }
            }
            if rule.state == FaultState::Active {
                match rule.end() {
                    Some(end) if now >= end => {
                        rule.state = FaultState::Expired;
                        if let (Action::LeaderMove { .. }, Some(back)) =
                            (&rule.rule.action, rule.previous_leader)
                        {
                            let topic = rule.rule.scope.topic.as_deref().unwrap_or_default();
                            let partition = rule.rule.scope.partition.unwrap_or_default();
                            cluster.move_leader(topic, partition, back);
                            tracing::info!(
                                id = rule.id,
                                topic,
                                partition,
                                to = back,
                                "fault ended: partition leadership moved back"
                            );
                        } else {
                            tracing::info!(id = rule.id, kind = %rule.rule.kind, "fault ended");
                        }
                    }
                    Some(end) => due(end),
                    None => {}
                }
            }
        }
        for (index, condition) in self.conditions.iter().enumerate() {
            let node_id = index as i32 + 1;
            let in_force = |action: &Action| {
                registry.rules.iter().any(|r| {
                    r.state == FaultState::Active
                        && r.rule.action == *action
                        && r.rule.scope.broker.is_none_or(|b| b == node_id)
                })
            };
            let now_condition = Condition {
                stalled: in_force(&Action::Stall),
                down: in_force(&Action::Down),
            };
            condition.send_if_modified(|c| {
                let modified = *c != now_condition;
                *c = now_condition;
                modified
            });
        }
        next
    }
}

fn is_live_per_request(rule: &Active) -> bool {
    rule.rule.kind.is_per_request() && rule.state != FaultState::Expired
}

/// Whether `rule`'s scope covers `request`.
fn matches(rule: &FaultRule, request: &RequestFacts<'_>) -> bool {
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

fn apply(action: &Action, dice: &mut SmallRng, verdict: &mut Verdict) {
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
        Action::Stall | Action::Down | Action::LeaderMove { .. } => {}
    }
}

fn info(rule: &Active) -> FaultInfo {
    // Per-request rules change state when a request arrives; report the state as of now.
    let now = Instant::now();
    let state = match rule.state {
        FaultState::Expired => FaultState::Expired,
        _ if rule.end().is_some_and(|end| now >= end) => FaultState::Expired,
        _ if rule.rule.kind.is_per_request() && now >= rule.start() => FaultState::Active,
        state => state,
    };
    FaultInfo {
        id: rule.id,
        spec: rule.spec.clone(),
        fired: rule.fired,
        state,
    }
}

/// The rule as one line of JSON, for logs.
fn describe(spec: &FaultSpec) -> String {
    serde_json::to_string(spec).unwrap_or_else(|_| format!("{:?}", spec.kind))
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use super::*;
    use crate::fault::spec::FaultKindName;

    fn faults(brokers: u16) -> Faults {
        let listens: Vec<SocketAddr> = (1..=brokers)
            .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
            .collect();
        let cluster = Cluster::new("c".into(), &listens, None).unwrap();
        Faults::new(Arc::new(cluster), Arc::new(Stats::default()))
    }

    fn produce_to(topic: &'static str, partition: u32, broker: i32) -> impl Fn(&Faults) -> Verdict {
        move |faults| {
            let touches = |t: Option<&str>, p: Option<u32>| {
                t.is_none_or(|t| t == topic) && p.is_none_or(|p| p == partition)
            };
            faults.on_request(&RequestFacts {
                protocol: ProtocolScope::Kafka,
                broker,
                api: ApiScope::Produce,
                touches: &touches,
            })
        }
    }

    #[test]
    fn a_count_rule_fires_on_the_next_n_matching_requests_then_expires() {
        let faults = faults(1);
        let rule = faults
            .add(
                FaultSpec::error("NOT_LEADER_OR_FOLLOWER")
                    .with_topic("t")
                    .with_count(2),
            )
            .unwrap();
        assert_eq!(rule.state, FaultState::Active);
        assert!(faults.any_per_request());
        assert_eq!(produce_to("other", 0, 1)(&faults), Verdict::default());
        for _ in 0..2 {
            assert_eq!(produce_to("t", 0, 1)(&faults).error.unwrap().kafka, Some(6));
        }
        assert_eq!(produce_to("t", 0, 1)(&faults), Verdict::default());
        let info = faults.get(rule.id).unwrap();
        assert_eq!((info.fired, info.state), (2, FaultState::Expired));
        assert!(
            !faults.any_per_request(),
            "an expired rule costs requests nothing"
        );
        assert_eq!(faults.stats.snapshot().faults["error"], 2);
    }

    #[test]
    fn probability_with_a_seed_fires_the_same_requests_every_time() {
        let pattern = || {
            let faults = faults(1);
            faults
                .add(FaultSpec::disconnect(When::After).with_probability(0.3, Some(42)))
                .unwrap();
            (0..200)
                .map(|_| produce_to("t", 0, 1)(&faults).disconnect.is_some())
                .collect::<Vec<_>>()
        };
        let first = pattern();
        assert_eq!(first, pattern());
        let fired = first.iter().filter(|f| **f).count();
        assert!((30..=90).contains(&fired), "{fired} of 200 at p = 0.3");
    }

    #[test]
    fn scope_limits_rules_to_their_broker_partition_and_protocol() {
        let faults = faults(3);
        faults
            .add(FaultSpec::throttle(100).with_broker(2).with_partition(1))
            .unwrap();
        assert_eq!(produce_to("t", 1, 1)(&faults).throttle_ms, None);
        assert_eq!(produce_to("t", 0, 2)(&faults).throttle_ms, None);
        assert_eq!(produce_to("t", 1, 2)(&faults).throttle_ms, Some(100));
        let frame = faults.on_request(&RequestFacts {
            protocol: ProtocolScope::Frame,
            broker: 2,
            api: ApiScope::Produce,
            touches: &|_, _| true,
        });
        assert_eq!(frame.throttle_ms, None, "frames have no throttle field");
    }

    #[test]
    fn latencies_add_up_and_jitter_stays_within_its_bounds() {
        let faults = faults(1);
        faults.add(FaultSpec::latency(100)).unwrap();
        faults
            .add(FaultSpec::latency(50).with_jitter_ms(20))
            .unwrap();
        for _ in 0..100 {
            let delay = produce_to("t", 0, 1)(&faults).delay.unwrap();
            assert!(
                (Duration::from_millis(130)..=Duration::from_millis(170)).contains(&delay),
                "{delay:?}"
            );
        }
    }

    #[test]
    fn time_based_faults_start_and_end_on_the_clock_and_set_each_brokers_condition() {
        let faults = faults(2);
        let stall = faults
            .add(FaultSpec::stall(Duration::from_secs(2)).with_at(Duration::from_secs(1)))
            .unwrap();
        let down = faults
            .add(FaultSpec::down(Duration::from_secs(5)).with_broker(2))
            .unwrap();
        let (one, two) = (faults.condition(1), faults.condition(2));
        assert_eq!(stall.state, FaultState::Pending);
        assert_eq!(
            down.state,
            FaultState::Active,
            "due at once, so in force on return"
        );
        assert_eq!(*one.borrow(), Condition::default());
        assert!(two.borrow().down);

        let start = faults.registry().rules[0].added;
        let next = faults.advance(start + Duration::from_millis(1500));
        assert_eq!(
            *one.borrow(),
            Condition {
                stalled: true,
                down: false
            }
        );
        assert_eq!(
            *two.borrow(),
            Condition {
                stalled: true,
                down: true
            }
        );
        assert_eq!(
            next,
            Some(start + Duration::from_secs(3)),
            "the stall ends next"
        );

        faults.advance(start + Duration::from_secs(3));
        assert_eq!(*one.borrow(), Condition::default());
        assert!(!two.borrow().stalled);
        assert_eq!(faults.get(stall.id).unwrap().state, FaultState::Expired);
        assert!(faults.remove(down.id));
        assert!(!two.borrow().down, "removing an outage ends it");
        assert_eq!(faults.stats.snapshot().faults["stall"], 1);
    }

    #[test]
    fn a_leader_move_with_a_duration_moves_back_when_it_ends() {
        let faults = faults(3);
        let rule = faults
            .add(FaultSpec::leader_move("t", 0, 3).with_duration(Duration::from_secs(1)))
            .unwrap();
        assert_eq!(faults.cluster.leadership("t", 0).leader, 3);
        let start = faults.registry().rules[0].added;
        faults.advance(start + Duration::from_secs(1));
        let back = faults.cluster.leadership("t", 0);
        assert_eq!((back.leader, back.epoch), (1, 2));
        assert_eq!(faults.get(rule.id).unwrap().state, FaultState::Expired);
        // Without a duration the move stays.
        let rule = faults.add(FaultSpec::leader_move("t", 1, 1)).unwrap();
        assert_eq!(rule.state, FaultState::Expired);
        assert_eq!(faults.cluster.leader("t", 1), 1);
        assert_eq!(rule.spec.kind, FaultKindName::LeaderMove);
    }

    #[test]
    fn state_names_are_the_serialized_ones() {
        for state in [FaultState::Pending, FaultState::Active, FaultState::Expired] {
            assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
        }
    }

    #[test]
    fn invalid_rules_are_refused_and_not_added() {
        let faults = faults(1);
        let err = faults
            .add(FaultSpec::down(Duration::from_secs(1)).with_broker(2))
            .unwrap_err();
        assert_eq!(err.key, "broker");
        assert!(faults.list().is_empty());
        assert_eq!(faults.clear(), 0);
    }
}

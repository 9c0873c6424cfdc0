//! The rules in force: added, listed and removed through any of the four
//! interfaces, consulted by connections on every request.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use tokio::sync::{Notify, watch};

use super::rule::{Action, FaultError, FaultRule, Frequency};
use super::spec::FaultSpec;
use super::verdict::{Condition, RequestFacts, Verdict, apply, matches};
use crate::cluster::Cluster;
use crate::group_service::GroupService;
use crate::stats::Stats;

/// How often a `rebalance` rule tries again while its group cannot be rebalanced (not
/// Stable, or not there yet).
const REBALANCE_RETRY: std::time::Duration = std::time::Duration::from_millis(100);

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
    /// Where `rebalance` faults make groups rebalance; none in unit tests.
    groups: Option<Arc<GroupService>>,
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
            groups: None,
        }
    }

    /// The same rules, with `rebalance` faults acting on `groups`' coordinator.
    pub(crate) fn with_groups(mut self, groups: Arc<GroupService>) -> Faults {
        self.groups = Some(groups);
        self
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

    /// Starts and ends the time-based faults (stall, down, leader_move, rebalance) when
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
                if rule.rule.action == Action::Rebalance {
                    // Fired once the group is rebalanced, below.
                } else if let Action::LeaderMove { to } = rule.rule.action {
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
                    rule.fired += 1;
                    self.stats.fault_fired(rule.rule.kind.as_str());
                    if rule.rule.duration.is_none() {
                        rule.state = FaultState::Expired;
                    }
                } else {
                    rule.fired += 1;
                    self.stats.fault_fired(rule.rule.kind.as_str());
                    tracing::info!(id = rule.id, kind = %rule.rule.kind, broker = ?rule.rule.scope.broker,
                        duration = ?rule.rule.duration, "fault fired");
                }
            }
            if rule.state == FaultState::Active && rule.rule.action == Action::Rebalance {
                let group = rule.rule.scope.group.as_deref().unwrap_or_default();
                let rebalanced = self
                    .groups
                    .as_deref()
                    .is_some_and(|groups| crate::groups::force_rebalance(groups, group));
                if rebalanced {
                    rule.fired += 1;
                    self.stats.fault_fired(rule.rule.kind.as_str());
                    rule.state = FaultState::Expired;
                    tracing::info!(
                        id = rule.id,
                        group,
                        "fault fired: every member of the group must rejoin"
                    );
                    continue;
                }
                // Not Stable yet (or unknown): try again soon, until the rule's duration ends.
                due(now + REBALANCE_RETRY);
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
#[path = "registry_tests.rs"]
mod tests;

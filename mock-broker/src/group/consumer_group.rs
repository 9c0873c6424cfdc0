//! One consumer-protocol group's data (KIP-848, Kafka's `ConsumerGroup`) and the
//! bookkeeping every transition shares: members, the group and target-assignment epochs,
//! the target assignment, and which member holds each partition.
//!
//! The requests that drive it live beside it: `consumer_heartbeat.rs` (join, heartbeat,
//! leave), `consumer_timers.rs` (sessions and revocations that expire) and
//! `consumer_offsets.rs` (OffsetCommit and OffsetFetch by members).

use std::collections::{BTreeMap, BTreeSet};

use super::assignment::Assignment;
use super::assignment_spec::{AssignmentSpec, MemberSubscription};
use super::assignor::Assignor;
use super::consumer_group_state::ConsumerGroupState;
use super::consumer_member::ConsumerMember;
use super::offsets::Offsets;

/// A consumer-protocol group.
#[derive(Debug, Clone)]
pub(crate) struct ConsumerGroup {
    /// The group id.
    pub(crate) id: String,
    /// Bumped whenever membership, subscriptions or subscribed topics' partitions change.
    pub(crate) group_epoch: i32,
    /// The group epoch the target assignment was computed for.
    pub(crate) assignment_epoch: i32,
    /// The members by member id.
    pub(crate) members: BTreeMap<String, ConsumerMember>,
    /// Every member's target assignment at `assignment_epoch`.
    pub(crate) target: BTreeMap<String, Assignment>,
    /// The partition counts of the subscribed topics that exist, as last seen.
    pub(crate) subscribed_partitions: BTreeMap<String, u32>,
    /// Who holds each partition (assigned or pending revocation): member id and its epoch.
    owners: BTreeMap<(String, i32), (String, i32)>,
    /// Committed offsets.
    pub(crate) offsets: Offsets,
    /// The state last seen, and since when.
    last_state: ConsumerGroupState,
    /// When it entered `last_state`, in ms since the epoch.
    pub(crate) state_since_ms: i64,
}

impl ConsumerGroup {
    /// An Empty group at epoch 0.
    pub(crate) fn new(id: &str, now_ms: i64) -> Self {
        Self {
            id: id.to_owned(),
            group_epoch: 0,
            assignment_epoch: 0,
            members: BTreeMap::new(),
            target: BTreeMap::new(),
            subscribed_partitions: BTreeMap::new(),
            owners: BTreeMap::new(),
            offsets: Offsets::default(),
            last_state: ConsumerGroupState::Empty,
            state_since_ms: now_ms,
        }
    }

    /// Its state, derived as Kafka's `maybeUpdateGroupState` does.
    pub(crate) fn state(&self) -> ConsumerGroupState {
        if self.members.is_empty() {
            ConsumerGroupState::Empty
        } else if self.group_epoch > self.assignment_epoch {
            ConsumerGroupState::Assigning
        } else if self
            .members
            .values()
            .any(|m| !m.is_reconciled_to(self.assignment_epoch))
        {
            ConsumerGroupState::Reconciling
        } else {
            ConsumerGroupState::Stable
        }
    }

    /// Notes a state change at `now_ms` (for the admin API's `state_since_ms`).
    pub(crate) fn note_state(&mut self, now_ms: i64) {
        let state = self.state();
        if state != self.last_state {
            self.last_state = state;
            self.state_since_ms = now_ms;
        }
    }

    /// The member id holding `instance_id`, if a static member does.
    pub(crate) fn static_member_id(&self, instance_id: &str) -> Option<&str> {
        self.members
            .values()
            .find(|m| m.instance_id.as_deref() == Some(instance_id))
            .map(|m| m.id.as_str())
    }

    /// The epoch of the member holding `partition` of `topic`, if any holds it (Kafka's
    /// `currentPartitionEpoch`).
    pub(crate) fn owner_epoch(&self, topic: &str, partition: i32) -> Option<i32> {
        self.owners
            .get(&(topic.to_owned(), partition))
            .map(|(_, epoch)| *epoch)
    }

    /// Adds or replaces a member, keeping the partition owners in step.
    pub(crate) fn put_member(&mut self, member: ConsumerMember) {
        self.release(&member.id);
        for (topic, partition) in member
            .assigned
            .iter()
            .chain(member.pending_revocation.iter())
        {
            self.owners.insert(
                (topic.to_owned(), partition),
                (member.id.clone(), member.member_epoch),
            );
        }
        self.members.insert(member.id.clone(), member);
    }

    /// Removes a member with its target assignment; its partitions are free.
    pub(crate) fn remove_member(&mut self, member_id: &str) -> Option<ConsumerMember> {
        self.release(member_id);
        self.target.remove(member_id);
        self.members.remove(member_id)
    }

    /// Forgets every partition `member_id` holds.
    fn release(&mut self, member_id: &str) {
        if let Some(old) = self.members.get(member_id) {
            for (topic, partition) in old.assigned.iter().chain(old.pending_revocation.iter()) {
                let key = (topic.to_owned(), partition);
                if self.owners.get(&key).is_some_and(|(m, _)| m == member_id) {
                    self.owners.remove(&key);
                }
            }
        }
    }

    /// Every topic some member subscribes to.
    pub(crate) fn subscribed_topics(&self) -> BTreeSet<String> {
        self.members
            .values()
            .flat_map(|m| m.subscribed_topic_names.iter().cloned())
            .collect()
    }

    /// Whether some member subscribes to `topic`.
    pub(crate) fn is_subscribed_to(&self, topic: &str) -> bool {
        self.members
            .values()
            .any(|m| m.subscribed_topic_names.contains(topic))
    }

    /// The partition counts of the subscribed topics that exist, by `partition_count`.
    pub(crate) fn compute_subscribed_partitions(
        &self,
        partition_count: &dyn Fn(&str) -> Option<u32>,
    ) -> BTreeMap<String, u32> {
        self.subscribed_topics()
            .into_iter()
            .filter_map(|topic| partition_count(&topic).map(|count| (topic, count)))
            .collect()
    }

    /// The assignor the members ask for most (Kafka's `preferredServerAssignor`), ties to
    /// the first by name; `default` when none asks.
    pub(crate) fn preferred_assignor(&self, default: Assignor) -> Assignor {
        let mut counts: BTreeMap<Assignor, usize> = BTreeMap::new();
        for member in self.members.values() {
            if let Some(assignor) = member
                .server_assignor
                .as_deref()
                .and_then(Assignor::from_name)
            {
                *counts.entry(assignor).or_default() += 1;
            }
        }
        let most = counts.values().copied().max().unwrap_or(0);
        counts
            .into_iter()
            .find(|(_, count)| *count == most)
            .map_or(default, |(assignor, _)| assignor)
    }

    /// Computes the target assignment for the current group epoch.
    pub(crate) fn compute_target(&mut self, default: Assignor) {
        let assignor = self.preferred_assignor(default);
        let spec = AssignmentSpec {
            members: self
                .members
                .values()
                .map(|m| MemberSubscription {
                    member_id: &m.id,
                    instance_id: m.instance_id.as_deref(),
                    topics: &m.subscribed_topic_names,
                })
                .collect(),
            partition_counts: &self.subscribed_partitions,
            previous: &self.target,
        };
        let target = assignor.assign(&spec);
        self.target = target;
        self.assignment_epoch = self.group_epoch;
    }

    /// The target assignment of `member_id` (empty when it has none).
    pub(crate) fn target_of(&self, member_id: &str) -> Assignment {
        self.target.get(member_id).cloned().unwrap_or_default()
    }
}

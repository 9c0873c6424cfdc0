//! One classic group's data and the bookkeeping every transition shares.
//!
//! The requests that drive the group live beside it, one file each (`join_group.rs`,
//! `sync_group.rs`, `heartbeat.rs`, `leave_group.rs`, `offset_commit.rs`), as does the
//! join round and its timers (`rebalance.rs`); they all work on this [`ClassicGroup`].

use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::group_state::GroupState;
use super::member::Member;
use super::offsets::Offsets;
use super::protocol_selection::supports_protocols;
use super::replies::{JoinResponse, JoinedMember, Output, Reply, SyncResponse};
use super::subscription::subscribed_topics;
use super::views::{GroupDescription, GroupSnapshot, MemberDescription, MemberSnapshot};

/// The protocol type whose metadata the coordinator reads (subscribed topics).
pub(crate) const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// What ends an open join round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JoinTimer {
    /// The first round of an empty group waits this long for more members
    /// (Kafka's `InitialDelayedJoin`); it cannot complete earlier.
    Initial {
        /// When the delay ends.
        deadline: i64,
        /// This delay's length.
        delay_ms: i64,
        /// What remains of the rebalance timeout for further delays.
        remaining_ms: i64,
    },
    /// Completes once every member rejoined, or at the rebalance timeout (`DelayedJoin`).
    Rebalance {
        /// When members that did not rejoin are dropped.
        deadline: i64,
    },
}

impl JoinTimer {
    /// When the timer fires.
    pub(crate) fn deadline(self) -> i64 {
        match self {
            JoinTimer::Initial { deadline, .. } | JoinTimer::Rebalance { deadline } => deadline,
        }
    }
}

/// A classic consumer group (Kafka's `GroupMetadata`).
#[derive(Debug, Clone)]
pub(crate) struct ClassicGroup {
    /// The group id.
    pub(super) id: String,
    /// Its state.
    pub(super) state: GroupState,
    /// When it entered that state.
    pub(super) state_since_ms: i64,
    /// Set by the first member to join an empty group.
    pub(super) protocol_type: Option<String>,
    /// The protocol chosen for the current generation.
    pub(super) protocol_name: Option<String>,
    /// Incremented by every completed join round.
    pub(super) generation: i32,
    /// The leader's member id.
    pub(super) leader: Option<String>,
    /// The members, in join order.
    pub(super) members: Vec<Member>,
    /// Member ids handed out with MEMBER_ID_REQUIRED, with when they lapse.
    pub(super) pending_members: BTreeMap<String, i64>,
    /// Members of the current generation that have not sent SyncGroup yet.
    pub(super) pending_sync: BTreeSet<String>,
    /// When members still in `pending_sync` are dropped (the rebalance timeout).
    pub(super) sync_deadline: Option<i64>,
    /// The open join round's timer.
    pub(super) join_timer: Option<JoinTimer>,
    /// A member joined during the initial delay, which extends it.
    pub(super) new_member_added: bool,
    /// For `consumer` groups, the topics the generation subscribes to (`None`: unknown).
    pub(super) subscribed_topics: Option<BTreeSet<String>>,
    /// Committed offsets.
    pub(super) offsets: Offsets,
}

impl ClassicGroup {
    /// A new group in the Empty state.
    pub(crate) fn new(id: &str, now_ms: i64) -> Self {
        Self {
            id: id.to_owned(),
            state: GroupState::Empty,
            state_since_ms: now_ms,
            protocol_type: None,
            protocol_name: None,
            generation: 0,
            leader: None,
            members: Vec::new(),
            pending_members: BTreeMap::new(),
            pending_sync: BTreeSet::new(),
            sync_deadline: None,
            join_timer: None,
            new_member_added: false,
            subscribed_topics: None,
            offsets: Offsets::default(),
        }
    }

    /// Its state.
    pub(crate) fn state(&self) -> GroupState {
        self.state
    }

    /// Moves to `state`.
    ///
    /// # Panics
    /// In debug builds, when Kafka does not allow that transition (a coordinator bug).
    pub(super) fn transition(&mut self, state: GroupState, now_ms: i64) {
        debug_assert!(
            state.may_follow(self.state),
            "group {}: {:?} cannot follow {:?}",
            self.id,
            state,
            self.state
        );
        self.state = state;
        self.state_since_ms = now_ms;
    }

    /// The index of a member.
    pub(super) fn index(&self, member_id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.id == member_id)
    }

    /// The member id a static member's instance id maps to.
    pub(super) fn static_member(&self, instance_id: &str) -> Option<&str> {
        self.members
            .iter()
            .find(|m| m.instance_id.as_deref() == Some(instance_id))
            .map(|m| m.id.as_str())
    }

    /// Whether `member_id` leads the group.
    pub(super) fn is_leader(&self, member_id: &str) -> bool {
        self.leader.as_deref() == Some(member_id)
    }

    /// Whether a member with these protocols may join (see [`supports_protocols`]).
    pub(super) fn supports(&self, protocol_type: &str, protocols: &[(String, Bytes)]) -> bool {
        supports_protocols(
            &self.members,
            self.state == GroupState::Empty,
            self.protocol_type.as_deref(),
            protocol_type,
            protocols,
        )
    }

    /// Checks that `member_id` (and `instance_id`, if given) name a current member
    /// (Kafka's `validateCurrentMember`): FENCED_INSTANCE_ID when the instance id now maps
    /// to another member id, UNKNOWN_MEMBER_ID when either is unknown.
    pub(super) fn validate_member(
        &self,
        member_id: &str,
        instance_id: Option<&str>,
    ) -> Result<usize, ResponseError> {
        if let Some(instance_id) = instance_id {
            match self.static_member(instance_id) {
                Some(current) if current != member_id => {
                    return Err(ResponseError::FencedInstanceId);
                }
                Some(_) => {}
                None => return Err(ResponseError::UnknownMemberId),
            }
        }
        self.index(member_id).ok_or(ResponseError::UnknownMemberId)
    }

    /// Adds a member (Kafka's `GroupMetadata.add`): the first one sets the protocol type
    /// and, with no leader, leads.
    pub(super) fn add(&mut self, member: Member) {
        if self.members.is_empty() {
            self.protocol_type = Some(member.protocol_type.clone());
        }
        if self.leader.is_none() {
            self.leader = Some(member.id.clone());
        }
        self.pending_members.remove(&member.id);
        self.members.push(member);
    }

    /// Removes a member (Kafka's `GroupMetadata.remove`); if it led, the first remaining
    /// member leads. A request it still waits on is answered UNKNOWN_MEMBER_ID, so that no
    /// ticket is left unanswered (Kafka leaves such a request without reply).
    pub(super) fn remove(&mut self, member_id: &str, out: &mut Vec<Output>) {
        if let Some(index) = self.index(member_id) {
            let member = self.members.remove(index);
            if let Some(ticket) = member.awaiting_join {
                out.push((
                    ticket,
                    Reply::Join(JoinResponse::error("", ResponseError::UnknownMemberId)),
                ));
            }
            if let Some(ticket) = member.awaiting_sync {
                out.push((
                    ticket,
                    Reply::Sync(SyncResponse::error(ResponseError::UnknownMemberId)),
                ));
            }
        }
        if self.is_leader(member_id) {
            self.leader = self.members.first().map(|m| m.id.clone());
        }
        self.pending_members.remove(member_id);
        self.remove_pending_sync(member_id);
    }

    /// Notes that a member sent SyncGroup (or left); the sync timer ends with the last.
    pub(super) fn remove_pending_sync(&mut self, member_id: &str) {
        self.pending_sync.remove(member_id);
        if self.pending_sync.is_empty() {
            self.sync_deadline = None;
        }
    }

    /// Answers a member's waiting JoinGroup, if any.
    pub(super) fn answer_join(&mut self, index: usize, reply: JoinResponse, out: &mut Vec<Output>) {
        if let Some(ticket) = self.members[index].awaiting_join.take() {
            out.push((ticket, Reply::Join(reply)));
        }
    }

    /// Answers a member's waiting SyncGroup, if any; whether there was one.
    pub(super) fn answer_sync(
        &mut self,
        index: usize,
        reply: SyncResponse,
        out: &mut Vec<Output>,
    ) -> bool {
        match self.members[index].awaiting_sync.take() {
            Some(ticket) => {
                out.push((ticket, Reply::Sync(reply)));
                true
            }
            None => false,
        }
    }

    /// The JoinGroup answer for a member of the current generation: the leader gets every
    /// member's metadata for the chosen protocol, followers an empty list.
    pub(super) fn current_join_reply(&self, member_id: &str) -> JoinResponse {
        JoinResponse {
            error: None,
            member_id: member_id.to_owned(),
            generation_id: self.generation,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            leader: self.leader.clone().unwrap_or_default(),
            skip_assignment: false,
            members: if self.is_leader(member_id) {
                self.current_member_metadata()
            } else {
                Vec::new()
            },
        }
    }

    /// Every member with its metadata for the chosen protocol.
    pub(super) fn current_member_metadata(&self) -> Vec<JoinedMember> {
        let protocol = self.protocol_name.as_deref().unwrap_or_default();
        self.members
            .iter()
            .map(|m| JoinedMember {
                member_id: m.id.clone(),
                group_instance_id: m.instance_id.clone(),
                metadata: m.metadata(protocol).cloned().unwrap_or_default(),
            })
            .collect()
    }

    /// The topics the members subscribe to, for a `consumer` group (Kafka's
    /// `computeSubscribedTopics`); `None` when unknown (metadata that does not parse).
    pub(super) fn compute_subscribed_topics(&self) -> Option<BTreeSet<String>> {
        if self.protocol_type.as_deref() != Some(CONSUMER_PROTOCOL_TYPE) {
            return None;
        }
        if self.members.is_empty() {
            return Some(BTreeSet::new());
        }
        let protocol = self.protocol_name.as_deref()?;
        let mut topics = BTreeSet::new();
        for member in &self.members {
            topics.extend(subscribed_topics(member.metadata(protocol)?)?);
        }
        Some(topics)
    }

    /// Whether the group may be subscribed to `topic` (true when unknown, to be safe).
    pub(super) fn is_subscribed_to(&self, topic: &str) -> bool {
        self.subscribed_topics
            .as_ref()
            .is_none_or(|topics| topics.contains(topic))
    }

    /// DescribeGroups' view: metadata and assignments only when Stable, as Kafka.
    pub(crate) fn describe(&self) -> GroupDescription {
        let stable = self.state == GroupState::Stable;
        let protocol = if stable {
            self.protocol_name.clone().unwrap_or_default()
        } else {
            String::new()
        };
        GroupDescription {
            group_id: self.id.clone(),
            state: self.state,
            protocol_type: self.protocol_type.clone().unwrap_or_default(),
            members: self
                .members
                .iter()
                .map(|m| MemberDescription {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    metadata: if stable {
                        m.metadata(&protocol).cloned().unwrap_or_default()
                    } else {
                        Bytes::new()
                    },
                    assignment: if stable {
                        m.assignment.clone()
                    } else {
                        Bytes::new()
                    },
                })
                .collect(),
            protocol,
        }
    }

    /// Everything about the group, for the admin API.
    pub(crate) fn snapshot(&self) -> GroupSnapshot {
        GroupSnapshot {
            group_id: self.id.clone(),
            state: self.state,
            state_since_ms: self.state_since_ms,
            protocol_type: self.protocol_type.clone(),
            protocol: self.protocol_name.clone(),
            generation_id: self.generation,
            leader: self.leader.clone(),
            members: self
                .members
                .iter()
                .map(|m| MemberSnapshot {
                    member_id: m.id.clone(),
                    group_instance_id: m.instance_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    session_timeout_ms: m.session_timeout_ms,
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                    protocols: m.protocols.iter().map(|(name, _)| name.clone()).collect(),
                    assignment: m.assignment.clone(),
                })
                .collect(),
            offsets: self
                .offsets
                .iter()
                .map(|(topic, partition, committed)| {
                    (topic.to_owned(), partition, committed.clone())
                })
                .collect(),
        }
    }
}

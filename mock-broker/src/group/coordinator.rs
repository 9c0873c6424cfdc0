//! Every classic group of the broker, the requests waiting on them, and their timers.
//!
//! Pure state: the Kafka handlers call in with the time and a [`Ticket`] for requests
//! that may wait, and send each `(Ticket, Reply)` output to whoever waits on it. They
//! call [`Coordinator::tick`] at [`Coordinator::next_deadline`].

use std::collections::{BTreeMap, HashSet};

use kafka_protocol::ResponseError;

use super::classic_group::ClassicGroup;
use super::consumer_group::ConsumerGroup;
use super::group_config::GroupConfig;
use super::group_state::GroupState;
use super::offsets::{CommittedOffset, FetchedOffset, Offsets, PartitionResult};
use super::replies::{JoinResponse, Output, Reply, SyncResponse};
use super::requests::{CommitRequest, HeartbeatRequest, JoinRequest, LeavingMember, SyncRequest};
use super::ticket::Ticket;
use super::views::{GroupDescription, GroupListing, GroupSnapshot};

/// The group coordinator: all groups by id.
#[derive(Debug, Default)]
pub(crate) struct Coordinator {
    pub(super) config: GroupConfig,
    pub(super) groups: BTreeMap<String, ClassicGroup>,
    /// The consumer-protocol (KIP-848) groups; `consumer_coordinator.rs` serves them.
    pub(super) consumer_groups: BTreeMap<String, ConsumerGroup>,
    /// Waiting tickets whose caller went away: their replies are dropped.
    cancelled: HashSet<Ticket>,
}

/// One member's outcome in LeaveGroup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberLeft {
    /// The member id as the request named it.
    pub(crate) member_id: String,
    /// The instance id as the request named it.
    pub(crate) group_instance_id: Option<String>,
    /// The error, `None` when it left.
    pub(crate) error: Option<ResponseError>,
}

impl Coordinator {
    /// A coordinator without groups.
    pub(crate) fn new(config: GroupConfig) -> Self {
        Self {
            config,
            groups: BTreeMap::new(),
            consumer_groups: BTreeMap::new(),
            cancelled: HashSet::new(),
        }
    }

    /// Serves a JoinGroup. Its reply is among the outputs, now or from a later call, when
    /// the join round completes.
    pub(crate) fn join_group(
        &mut self,
        ticket: Ticket,
        request: &JoinRequest,
        now_ms: i64,
    ) -> Vec<Output> {
        let fail = |error| {
            let reply = JoinResponse::error(&request.member_id, error);
            vec![(ticket, Reply::Join(reply))]
        };
        if request.group_id.is_empty() {
            return fail(ResponseError::InvalidGroupId);
        }
        if request.session_timeout_ms < self.config.min_session_timeout_ms
            || request.session_timeout_ms > self.config.max_session_timeout_ms
        {
            return fail(ResponseError::InvalidSessionTimeout);
        }
        if let Err(error) = self.claim_for_classic(&request.group_id, now_ms) {
            return fail(error);
        }
        if !self.groups.contains_key(&request.group_id) {
            if !request.member_id.is_empty() {
                return fail(ResponseError::UnknownMemberId);
            }
            let group = ClassicGroup::new(&request.group_id, now_ms);
            self.groups.insert(request.group_id.clone(), group);
        }
        let mut out = Vec::new();
        if let Some(group) = self.groups.get_mut(&request.group_id) {
            group.join(ticket, request, &self.config, now_ms, &mut out);
        }
        self.deliver(out)
    }

    /// Serves a SyncGroup. Its reply is among the outputs, now or from a later call.
    pub(crate) fn sync_group(
        &mut self,
        ticket: Ticket,
        request: &SyncRequest,
        now_ms: i64,
    ) -> Vec<Output> {
        let fail = |error| vec![(ticket, Reply::Sync(SyncResponse::error(error)))];
        if request.group_id.is_empty() {
            return fail(ResponseError::InvalidGroupId);
        }
        let Some(group) = self.groups.get_mut(&request.group_id) else {
            return fail(ResponseError::UnknownMemberId);
        };
        let mut out = Vec::new();
        group.sync(ticket, request, now_ms, &mut out);
        self.deliver(out)
    }

    /// Serves a Heartbeat.
    ///
    /// # Errors
    /// INVALID_GROUP_ID for an empty group id, UNKNOWN_MEMBER_ID for an unknown group,
    /// and the group's answer (see [`ClassicGroup::heartbeat`]).
    pub(crate) fn heartbeat(
        &mut self,
        request: &HeartbeatRequest,
        now_ms: i64,
    ) -> Result<(), ResponseError> {
        if request.group_id.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        self.groups
            .get_mut(&request.group_id)
            .ok_or(ResponseError::UnknownMemberId)?
            .heartbeat(request, now_ms)
    }

    /// Serves a LeaveGroup: each named member's outcome, and the outputs its leaving
    /// released (a join round that no longer waits for it, say).
    ///
    /// # Errors
    /// INVALID_GROUP_ID for an empty group id (the top-level error).
    pub(crate) fn leave_group(
        &mut self,
        group_id: &str,
        leaving: &[LeavingMember],
        now_ms: i64,
    ) -> Result<(Vec<MemberLeft>, Vec<Output>), ResponseError> {
        if group_id.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        let mut out = Vec::new();
        let errors = match self.groups.get_mut(group_id) {
            Some(group) => group.leave(leaving, &self.config, now_ms, &mut out),
            None => vec![Some(ResponseError::UnknownMemberId); leaving.len()],
        };
        let left = leaving
            .iter()
            .zip(errors)
            .map(|(member, error)| MemberLeft {
                member_id: member.member_id.clone(),
                group_instance_id: member.group_instance_id.clone(),
                error,
            })
            .collect();
        Ok((left, self.deliver(out)))
    }

    /// Opens a join round in a Stable or CompletingRebalance group, as if a member asked
    /// for one: every member must rejoin. False (and nothing changes) in any other state.
    pub(crate) fn force_rebalance(&mut self, group_id: &str, now_ms: i64) -> (bool, Vec<Output>) {
        let mut out = Vec::new();
        let forced = match self.groups.get_mut(group_id) {
            Some(group)
                if matches!(
                    group.state(),
                    GroupState::Stable | GroupState::CompletingRebalance
                ) =>
            {
                group.prepare_rebalance(&self.config, now_ms, &mut out);
                true
            }
            _ => false,
        };
        (forced, self.deliver(out))
    }

    /// Fires every timer due by `now_ms`: sessions expire, join rounds and initial delays
    /// end, members that did not sync in time are removed.
    pub(crate) fn tick(&mut self, now_ms: i64) -> Vec<Output> {
        let mut out = Vec::new();
        for group in self.groups.values_mut() {
            group.advance(&self.config, now_ms, &mut out);
        }
        self.expire_consumer_members(now_ms);
        self.deliver(out)
    }

    /// When [`Coordinator::tick`] has something to do next.
    pub(crate) fn next_deadline(&self) -> Option<i64> {
        self.groups
            .values()
            .filter_map(ClassicGroup::next_deadline)
            .chain(self.next_consumer_deadline())
            .min()
    }

    /// Forgets a waiting ticket whose caller went away (its connection closed); true if it
    /// was waiting. As in Kafka, the member still counts as joined or synced: only the reply
    /// is dropped.
    pub(crate) fn cancel(&mut self, ticket: Ticket) -> bool {
        let waiting = self.groups.values().any(|g| {
            g.members
                .iter()
                .any(|m| m.awaiting_join == Some(ticket) || m.awaiting_sync == Some(ticket))
        });
        if waiting {
            self.cancelled.insert(ticket);
        }
        waiting
    }

    /// Serves an OffsetCommit; one result per partition, in the request's order. A commit
    /// with a negative generation to a group that does not exist creates it, Empty.
    #[cfg(test)]
    pub(crate) fn commit_offsets(
        &mut self,
        request: &CommitRequest,
        now_ms: i64,
    ) -> Vec<PartitionResult> {
        self.commit_offsets_at_version(request, i16::MAX, now_ms)
    }

    /// Serves an OffsetCommit of `api_version`; one result per partition, in the request's
    /// order. A commit with a negative generation to a group that does not exist creates
    /// it, Empty (classic). A consumer-protocol member must commit with v9+, which carries
    /// its member epoch.
    pub(crate) fn commit_offsets_at_version(
        &mut self,
        request: &CommitRequest,
        api_version: i16,
        now_ms: i64,
    ) -> Vec<PartitionResult> {
        if let Some(results) = self.commit_consumer_offsets(request, api_version, now_ms) {
            return results;
        }
        if !self.groups.contains_key(&request.group_id) {
            if request.generation_id >= 0 {
                return request
                    .offsets
                    .iter()
                    .map(|o| PartitionResult {
                        topic: o.topic.clone(),
                        partition: o.partition,
                        error: Some(ResponseError::IllegalGeneration),
                    })
                    .collect();
            }
            let group = ClassicGroup::new(&request.group_id, now_ms);
            self.groups.insert(request.group_id.clone(), group);
        }
        match self.groups.get_mut(&request.group_id) {
            Some(group) => group.commit(request, &self.config, now_ms),
            None => Vec::new(),
        }
    }

    /// Commits offsets a transaction committed (TxnOffsetCommit, then EndTxn
    /// commit): applied as they are, since the group checks were made when
    /// they were staged, as Kafka completes a transactional commit. A group
    /// that does not exist is created, Empty.
    pub(crate) fn commit_transactional(
        &mut self,
        group_id: &str,
        offsets: impl IntoIterator<Item = (String, i32, CommittedOffset)>,
        now_ms: i64,
    ) {
        let group = self
            .groups
            .entry(group_id.to_owned())
            .or_insert_with(|| ClassicGroup::new(group_id, now_ms));
        for (topic, partition, committed) in offsets {
            group.offsets.commit(&topic, partition, committed);
        }
    }

    /// Serves an OffsetFetch: the committed offsets of `partitions` (-1 for those without),
    /// or all of the group's when `None`. An unknown group has none.
    pub(crate) fn fetch_offsets(
        &self,
        group_id: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Vec<FetchedOffset> {
        if let Some(group) = self.consumer_groups.get(group_id) {
            return group.offsets.fetch(partitions);
        }
        match self.groups.get(group_id) {
            Some(group) => group.offsets.fetch(partitions),
            None => Offsets::default().fetch(partitions),
        }
    }

    /// Serves an OffsetDelete; one result per partition.
    ///
    /// # Errors
    /// INVALID_GROUP_ID for an empty group id, GROUP_ID_NOT_FOUND for an unknown group,
    /// NON_EMPTY_GROUP (see [`ClassicGroup::delete_offsets`]).
    pub(crate) fn delete_offsets(
        &mut self,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<PartitionResult>, ResponseError> {
        if group_id.is_empty() {
            return Err(ResponseError::InvalidGroupId);
        }
        if let Some(results) = self.delete_consumer_offsets(group_id, partitions) {
            return Ok(results);
        }
        self.groups
            .get_mut(group_id)
            .ok_or(ResponseError::GroupIdNotFound)?
            .delete_offsets(partitions)
    }

    /// Serves ListGroups: groups whose state is one of `states` (Kafka's names, any case),
    /// or all when `states` is empty; by group id.
    pub(crate) fn list_groups(&self, states: &[String]) -> Vec<GroupListing> {
        self.groups
            .values()
            .filter(|g| states.is_empty() || states.iter().any(|s| g.state().is_named(s)))
            .map(|g| GroupListing {
                group_id: g.id.clone(),
                protocol_type: g.protocol_type.clone().unwrap_or_default(),
                state: g.state(),
            })
            .collect()
    }

    /// Serves DescribeGroups for one group; an unknown group is described as Dead, as Kafka.
    pub(crate) fn describe_group(&self, group_id: &str) -> GroupDescription {
        match self.groups.get(group_id) {
            Some(group) => group.describe(),
            None => GroupDescription {
                group_id: group_id.to_owned(),
                state: GroupState::Dead,
                protocol_type: String::new(),
                protocol: String::new(),
                members: Vec::new(),
            },
        }
    }

    /// Serves DeleteGroups: each group's error, `None` when deleted (with its offsets).
    pub(crate) fn delete_groups(
        &mut self,
        group_ids: &[String],
    ) -> Vec<(String, Option<ResponseError>)> {
        group_ids
            .iter()
            .map(|group_id| {
                if let Some(error) = self.delete_consumer_group(group_id) {
                    return (group_id.clone(), error);
                }
                let error = match self.groups.get(group_id) {
                    None => Some(ResponseError::GroupIdNotFound),
                    Some(group) if group.state() != GroupState::Empty => {
                        Some(ResponseError::NonEmptyGroup)
                    }
                    Some(_) => {
                        self.groups.remove(group_id);
                        None
                    }
                };
                (group_id.clone(), error)
            })
            .collect()
    }

    /// Every group, for the admin API.
    pub(crate) fn snapshot(&self) -> Vec<GroupSnapshot> {
        self.groups.values().map(ClassicGroup::snapshot).collect()
    }

    /// Drops the outputs of cancelled tickets.
    fn deliver(&mut self, mut out: Vec<Output>) -> Vec<Output> {
        if !self.cancelled.is_empty() {
            out.retain(|(ticket, _)| !self.cancelled.remove(ticket));
        }
        out
    }
}

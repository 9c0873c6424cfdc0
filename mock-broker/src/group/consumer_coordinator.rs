//! The coordinator's consumer-protocol side (KIP-848): ConsumerGroupHeartbeat and
//! ConsumerGroupDescribe, and how a group id that is a consumer group answers the other
//! group APIs. A group id is either classic or consumer: an Empty group of one kind becomes
//! the other when a member of the other kind joins (keeping its offsets), as in Kafka; a
//! group with members refuses the other protocol.

use kafka_protocol::ResponseError;

use super::assignor::Assignor;
use super::classic_group::ClassicGroup;
use super::consumer_group::ConsumerGroup;
use super::consumer_group_state::ConsumerGroupState;
use super::consumer_heartbeat::{
    ConsumerHeartbeatRequest, ConsumerHeartbeatResponse, GroupError, validate,
};
use super::consumer_views::ConsumerGroupDescription;
use super::coordinator::Coordinator;
use super::group_state::GroupState;
use super::offsets::{FetchedOffset, PartitionResult};
use super::requests::CommitRequest;

/// The assignor of groups whose members ask for none (Kafka's first of
/// `group.consumer.assignors`).
pub(crate) const DEFAULT_ASSIGNOR: Assignor = Assignor::Uniform;

impl Coordinator {
    /// Serves a ConsumerGroupHeartbeat; `partition_count` gives the partition count of
    /// each topic that exists.
    ///
    /// # Errors
    /// INVALID_REQUEST, UNSUPPORTED_ASSIGNOR, GROUP_ID_NOT_FOUND (a classic group with
    /// members), UNKNOWN_MEMBER_ID (also for a group that does not exist: the member must
    /// rejoin), FENCED_MEMBER_EPOCH, FENCED_INSTANCE_ID, UNRELEASED_INSTANCE_ID.
    pub(crate) fn consumer_group_heartbeat(
        &mut self,
        request: &ConsumerHeartbeatRequest,
        partition_count: &dyn Fn(&str) -> Option<u32>,
        now_ms: i64,
    ) -> Result<ConsumerHeartbeatResponse, GroupError> {
        validate(request)?;
        let group_id = &request.group_id;
        if let Some(classic) = self.groups.get(group_id) {
            if request.member_epoch != 0 || classic.state() != GroupState::Empty {
                return Err(GroupError::new(
                    ResponseError::GroupIdNotFound,
                    format!("Group {group_id} is not a consumer group."),
                ));
            }
            let classic = self.groups.remove(group_id).expect("just found");
            let mut group = ConsumerGroup::new(group_id, now_ms);
            group.offsets = classic.offsets;
            self.consumer_groups.insert(group_id.clone(), group);
        }
        if !self.consumer_groups.contains_key(group_id) {
            if request.member_epoch != 0 {
                return Err(GroupError::new(
                    ResponseError::UnknownMemberId,
                    format!("Consumer group {group_id} not found."),
                ));
            }
            self.consumer_groups
                .insert(group_id.clone(), ConsumerGroup::new(group_id, now_ms));
        }
        let group = self
            .consumer_groups
            .get_mut(group_id)
            .expect("created above");
        group.heartbeat(request, &self.config, partition_count, now_ms)
    }

    /// Serves ConsumerGroupDescribe for one group.
    ///
    /// # Errors
    /// GROUP_ID_NOT_FOUND when it is not a consumer group.
    pub(crate) fn consumer_group_describe(
        &self,
        group_id: &str,
    ) -> Result<ConsumerGroupDescription, GroupError> {
        self.consumer_groups
            .get(group_id)
            .map(|g| g.describe(DEFAULT_ASSIGNOR))
            .ok_or_else(|| {
                GroupError::new(
                    ResponseError::GroupIdNotFound,
                    format!("Group {group_id} not found."),
                )
            })
    }

    /// The consumer groups whose state is one of `states` (any case), or all when empty.
    pub(crate) fn list_consumer_groups(
        &self,
        states: &[String],
    ) -> Vec<(String, ConsumerGroupState)> {
        self.consumer_groups
            .values()
            .map(|g| (g.id.clone(), g.state()))
            .filter(|(_, state)| states.is_empty() || states.iter().any(|s| state.is_named(s)))
            .collect()
    }

    /// Every consumer group in full, for the admin API.
    pub(crate) fn consumer_snapshot(&self) -> Vec<ConsumerGroupDescription> {
        self.consumer_groups
            .values()
            .map(|g| g.describe(DEFAULT_ASSIGNOR))
            .collect()
    }

    /// Whether `group_id` is a consumer-protocol group.
    #[cfg(test)]
    pub(crate) fn is_consumer_group(&self, group_id: &str) -> bool {
        self.consumer_groups.contains_key(group_id)
    }

    /// Before a JoinGroup: an Empty consumer group becomes a classic one (keeping its
    /// offsets); one with members refuses with INCONSISTENT_GROUP_PROTOCOL.
    pub(super) fn claim_for_classic(
        &mut self,
        group_id: &str,
        now_ms: i64,
    ) -> Result<(), ResponseError> {
        let Some(group) = self.consumer_groups.get(group_id) else {
            return Ok(());
        };
        if group.state() != ConsumerGroupState::Empty {
            return Err(ResponseError::InconsistentGroupProtocol);
        }
        let consumer = self.consumer_groups.remove(group_id).expect("just found");
        let mut classic = ClassicGroup::new(group_id, now_ms);
        classic.offsets = consumer.offsets;
        self.groups.insert(group_id.to_owned(), classic);
        Ok(())
    }

    /// OffsetCommit to a consumer group, if `request` names one.
    pub(super) fn commit_consumer_offsets(
        &mut self,
        request: &CommitRequest,
        api_version: i16,
        now_ms: i64,
    ) -> Option<Vec<PartitionResult>> {
        let group = self.consumer_groups.get_mut(&request.group_id)?;
        Some(group.commit(request, api_version, &self.config, now_ms))
    }

    /// Serves an OffsetFetch from a member (OffsetFetch v9+ names it, with its epoch): the
    /// offsets as [`Coordinator::fetch_offsets`], after checking the member of a consumer
    /// group.
    ///
    /// # Errors
    /// UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH for a consumer group's member.
    pub(crate) fn fetch_member_offsets(
        &self,
        group_id: &str,
        member: Option<(&str, i32)>,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<Vec<FetchedOffset>, ResponseError> {
        if let Some(group) = self.consumer_groups.get(group_id) {
            group.validate_fetch(member)?;
            return Ok(group.offsets.fetch(partitions));
        }
        Ok(self.fetch_offsets(group_id, partitions))
    }

    /// OffsetDelete on a consumer group, if `group_id` names one.
    pub(super) fn delete_consumer_offsets(
        &mut self,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Option<Vec<PartitionResult>> {
        let group = self.consumer_groups.get_mut(group_id)?;
        Some(group.delete_offsets(partitions))
    }

    /// DeleteGroups for a consumer group, if `group_id` names one: `Some(error)`.
    pub(super) fn delete_consumer_group(
        &mut self,
        group_id: &str,
    ) -> Option<Option<ResponseError>> {
        let group = self.consumer_groups.get(group_id)?;
        if group.state() != ConsumerGroupState::Empty {
            return Some(Some(ResponseError::NonEmptyGroup));
        }
        self.consumer_groups.remove(group_id);
        Some(None)
    }

    /// Fences consumer-protocol members whose deadlines passed.
    pub(super) fn expire_consumer_members(&mut self, now_ms: i64) {
        for group in self.consumer_groups.values_mut() {
            group.expire(now_ms);
        }
    }

    /// The next consumer-protocol deadline.
    pub(super) fn next_consumer_deadline(&self) -> Option<i64> {
        self.consumer_groups
            .values()
            .filter_map(ConsumerGroup::next_deadline)
            .min()
    }
}

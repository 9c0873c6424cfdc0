//! OffsetCommit, OffsetFetch and OffsetDelete on a consumer-protocol group: members commit
//! and fetch with their member epoch (OffsetCommit v9+, OffsetFetch v9+), as Kafka's
//! `ConsumerGroup.validateOffsetCommit` and `validateOffsetFetch` check.

use kafka_protocol::ResponseError;

use super::consumer_group::ConsumerGroup;
use super::group_config::GroupConfig;
use super::offsets::PartitionResult;
use super::requests::CommitRequest;

/// The first OffsetCommit version that carries a member epoch (KIP-848).
const MEMBER_EPOCH_COMMIT_VERSION: i16 = 9;

impl ConsumerGroup {
    /// Serves an OffsetCommit at `api_version`; one result per partition.
    pub(crate) fn commit(
        &mut self,
        request: &CommitRequest,
        api_version: i16,
        config: &GroupConfig,
        now_ms: i64,
    ) -> Vec<PartitionResult> {
        match self.validate_commit(request, api_version) {
            Ok(()) => {
                self.offsets
                    .commit_all(&request.offsets, config.max_offset_metadata_bytes, now_ms)
            }
            Err(error) => request
                .offsets
                .iter()
                .map(|o| PartitionResult {
                    topic: o.topic.clone(),
                    partition: o.partition,
                    error: Some(error),
                })
                .collect(),
        }
    }

    /// An Empty group takes commits with epoch -1 from anyone (admin tools, manual
    /// assignment); otherwise the committer must be a member at its current epoch.
    fn validate_commit(
        &self,
        request: &CommitRequest,
        api_version: i16,
    ) -> Result<(), ResponseError> {
        if request.generation_id < 0 && self.members.is_empty() {
            return Ok(());
        }
        let member = self
            .members
            .get(&request.member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        if api_version < MEMBER_EPOCH_COMMIT_VERSION {
            return Err(ResponseError::UnsupportedVersion);
        }
        if request.generation_id != member.member_epoch {
            return Err(ResponseError::StaleMemberEpoch);
        }
        Ok(())
    }

    /// Checks who fetches offsets: anyone without a member id and epoch (admin tools),
    /// otherwise a member at its current epoch.
    ///
    /// # Errors
    /// UNKNOWN_MEMBER_ID, STALE_MEMBER_EPOCH.
    pub(crate) fn validate_fetch(&self, member: Option<(&str, i32)>) -> Result<(), ResponseError> {
        let Some((member_id, epoch)) = member else {
            return Ok(());
        };
        if member_id.is_empty() && epoch < 0 {
            return Ok(());
        }
        let member = self
            .members
            .get(member_id)
            .ok_or(ResponseError::UnknownMemberId)?;
        if member.member_epoch != epoch {
            return Err(ResponseError::StaleMemberEpoch);
        }
        Ok(())
    }

    /// Serves an OffsetDelete: the offsets of topics no member subscribes to go
    /// (GROUP_SUBSCRIBED_TO_TOPIC for the others).
    pub(crate) fn delete_offsets(&mut self, partitions: &[(String, i32)]) -> Vec<PartitionResult> {
        partitions
            .iter()
            .map(|(topic, partition)| {
                let error = if self.is_subscribed_to(topic) {
                    Some(ResponseError::GroupSubscribedToTopic)
                } else {
                    self.offsets.remove(topic, *partition);
                    None
                };
                PartitionResult {
                    topic: topic.clone(),
                    partition: *partition,
                    error,
                }
            })
            .collect()
    }
}

//! OffsetCommit and OffsetDelete on one group: who may commit, and which offsets may go.

use kafka_protocol::ResponseError;

use super::classic_group::{CONSUMER_PROTOCOL_TYPE, ClassicGroup};
use super::group_config::GroupConfig;
use super::group_state::GroupState;
use super::offsets::PartitionResult;
use super::requests::CommitRequest;

impl ClassicGroup {
    /// Serves an OffsetCommit (Kafka's `doCommitOffsets`); one result per partition.
    pub(crate) fn commit(
        &mut self,
        request: &CommitRequest,
        config: &GroupConfig,
        now_ms: i64,
    ) -> Vec<PartitionResult> {
        let refuse_all = |error| {
            request
                .offsets
                .iter()
                .map(|o| PartitionResult {
                    topic: o.topic.clone(),
                    partition: o.partition,
                    error: Some(error),
                })
                .collect()
        };
        let member = match self.validate_commit(request) {
            Ok(member) => member,
            Err(error) => return refuse_all(error),
        };
        match self.state {
            GroupState::CompletingRebalance => {
                return refuse_all(ResponseError::RebalanceInProgress);
            }
            GroupState::Stable | GroupState::PreparingRebalance => {
                if let Some(index) = member {
                    self.members[index].touch(now_ms);
                }
            }
            GroupState::Empty | GroupState::Dead => {}
        }
        self.offsets
            .commit_all(&request.offsets, config.max_offset_metadata_bytes, now_ms)
    }

    /// Kafka's `validateOffsetCommit`: an Empty group takes commits with generation -1
    /// from anyone (admin tools, manual assignment); otherwise the committer must be a
    /// current member of the current generation. The member's index, when it is one.
    fn validate_commit(&self, request: &CommitRequest) -> Result<Option<usize>, ResponseError> {
        if request.generation_id < 0 && self.state == GroupState::Empty {
            return Ok(None);
        }
        if request.generation_id >= 0
            || !request.member_id.is_empty()
            || request.group_instance_id.is_some()
        {
            let index =
                self.validate_member(&request.member_id, request.group_instance_id.as_deref())?;
            if request.generation_id != self.generation {
                return Err(ResponseError::IllegalGeneration);
            }
            return Ok(Some(index));
        }
        if self.state != GroupState::Empty {
            return Err(ResponseError::UnknownMemberId);
        }
        Ok(None)
    }

    /// Serves an OffsetDelete (Kafka's `handleDeleteOffsets`): an Empty group's offsets go;
    /// a `consumer` group with members keeps those of topics it subscribes to
    /// (GROUP_SUBSCRIBED_TO_TOPIC).
    ///
    /// # Errors
    /// NON_EMPTY_GROUP for a group with members whose protocol type is not `consumer`.
    pub(crate) fn delete_offsets(
        &mut self,
        partitions: &[(String, i32)],
    ) -> Result<Vec<PartitionResult>, ResponseError> {
        let consumer = self.protocol_type.as_deref() == Some(CONSUMER_PROTOCOL_TYPE);
        if self.state != GroupState::Empty && !consumer {
            return Err(ResponseError::NonEmptyGroup);
        }
        Ok(partitions
            .iter()
            .map(|(topic, partition)| {
                let subscribed = self.state != GroupState::Empty && self.is_subscribed_to(topic);
                let error = if subscribed {
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
            .collect())
    }
}

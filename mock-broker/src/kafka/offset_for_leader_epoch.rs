//! OffsetForLeaderEpoch: the end offset of a leader epoch, which a consumer
//! asks for after a leader change to check it has not read past the new
//! leader's log.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::offset_for_leader_epoch_request::OffsetForLeaderEpochRequest;
use kafka_protocol::messages::offset_for_leader_epoch_response::{
    EpochEndOffset, OffsetForLeaderEpochResponse, OffsetForLeaderTopicResult,
};

use super::context::{Ctx, scope_covers};

/// Whether the request asks about `partition` of `topic` (each `None` = any), for fault rules.
pub(crate) fn touches(
    request: &OffsetForLeaderEpochRequest,
    topic: Option<&str>,
    partition: Option<u32>,
) -> bool {
    request.topics.iter().any(|t| {
        t.partitions
            .iter()
            .any(|p| scope_covers((topic, partition), t.topic.as_str(), p.partition))
    })
}

/// Answers each partition's epoch end offset.
pub(crate) fn handle(
    request: OffsetForLeaderEpochRequest,
    _version: i16,
    ctx: &Ctx<'_>,
) -> OffsetForLeaderEpochResponse {
    let topics = request
        .topics
        .iter()
        .map(|topic| {
            let log = ctx.state.store.topic(&topic.topic);
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let result = EpochEndOffset::default().with_partition(p.partition);
                    let Some((log, index)) = log.as_ref().and_then(|log| {
                        u32::try_from(p.partition)
                            .ok()
                            .filter(|i| *i < log.partition_count())
                            .map(|i| (log, i))
                    }) else {
                        return result
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let leadership = ctx.state.cluster.leadership(log.name(), index);
                    if leadership.leader != ctx.node_id {
                        return result.with_error_code(ResponseError::NotLeaderOrFollower.code());
                    }
                    // -1: the client does not know the current epoch; else it must be ours.
                    if p.current_leader_epoch >= 0 {
                        if p.current_leader_epoch < leadership.epoch {
                            return result.with_error_code(ResponseError::FencedLeaderEpoch.code());
                        }
                        if p.current_leader_epoch > leadership.epoch {
                            return result
                                .with_error_code(ResponseError::UnknownLeaderEpoch.code());
                        }
                    }
                    match log.end_offset_for(index, p.leader_epoch, leadership.epoch) {
                        Ok((epoch, end_offset)) => {
                            result.with_leader_epoch(epoch).with_end_offset(end_offset)
                        }
                        Err(_) => {
                            result.with_error_code(ResponseError::UnknownTopicOrPartition.code())
                        }
                    }
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(topic.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}

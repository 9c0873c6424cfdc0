//! OffsetCommit: a group's consumed positions, by topic and partition.
//!
//! Partitions that do not exist are refused with UNKNOWN_TOPIC_OR_PARTITION before the
//! coordinator sees the request, as Kafka does; the rest are committed (or refused) by
//! the coordinator, and the answer keeps the request's order.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::offset_commit_request::OffsetCommitRequest;
use kafka_protocol::messages::offset_commit_response::{
    OffsetCommitResponse, OffsetCommitResponsePartition, OffsetCommitResponseTopic,
};

use super::context::{Ctx, scope_covers};
use super::group_coordinator::coordinates;
use crate::group::{CommitRequest, CommittedOffset, OffsetToCommit};
use crate::record_line::EventLine;
use crate::store::RecordStore;

/// Whether the request commits `partition` of `topic` (each `None` = any), for fault rules.
pub(crate) fn touches(
    request: &OffsetCommitRequest,
    topic: Option<&str>,
    partition: Option<u32>,
) -> bool {
    request.topics.iter().any(|t| {
        t.partitions
            .iter()
            .any(|p| scope_covers((topic, partition), &t.name.0, p.partition_index))
    })
}

/// Whether `partition` of `topic` exists.
pub(crate) fn partition_exists(store: &RecordStore, topic: &str, partition: i32) -> bool {
    store
        .topic(topic)
        .is_some_and(|log| u32::try_from(partition).is_ok_and(|p| p < log.partition_count()))
}

/// Serves an OffsetCommit.
pub(crate) fn handle(
    request: OffsetCommitRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> OffsetCommitResponse {
    if !coordinates(ctx, &request.group_id.0) {
        return refused(&request, ResponseError::NotCoordinator);
    }
    let mut errors: Vec<Option<ResponseError>> = Vec::new();
    let mut offsets = Vec::new();
    for topic in &request.topics {
        for p in &topic.partitions {
            if partition_exists(&ctx.state.store, &topic.name.0, p.partition_index) {
                errors.push(None);
                offsets.push(OffsetToCommit {
                    topic: topic.name.0.to_string(),
                    partition: p.partition_index,
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.as_ref().map(ToString::to_string),
                });
            } else {
                errors.push(Some(ResponseError::UnknownTopicOrPartition));
            }
        }
    }
    let commit = CommitRequest {
        group_id: request.group_id.0.to_string(),
        generation_id: request.generation_id_or_member_epoch,
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(ToString::to_string),
        offsets,
    };
    let results = if commit.offsets.is_empty() {
        Vec::new()
    } else {
        ctx.state.groups.call(|coordinator, now| {
            let results = coordinator.commit_offsets_at_version(&commit, version, now);
            (results, Vec::new())
        })
    };
    let now = crate::clock::now_ms();
    for (offset, result) in commit.offsets.iter().zip(&results) {
        if result.error.is_none() {
            let committed = CommittedOffset {
                offset: offset.offset,
                leader_epoch: offset.leader_epoch,
                metadata: offset.metadata.clone().unwrap_or_default(),
                commit_timestamp_ms: now,
            };
            ctx.state.note(&EventLine::offset_commit(
                &commit.group_id,
                &offset.topic,
                offset.partition,
                &committed,
            ));
        }
    }
    let mut results = results.into_iter();
    for error in &mut errors {
        if error.is_none() {
            *error = results.next().and_then(|r| r.error);
        }
    }
    let mut errors = errors.into_iter();
    answer(&request, |_| errors.next().flatten())
}

/// The answer refusing every partition of `request` with `error` (a fault rule puts its
/// own code in).
pub(crate) fn refused(request: &OffsetCommitRequest, error: ResponseError) -> OffsetCommitResponse {
    answer(request, |_| Some(error))
}

/// One answer per partition of the request, in its order, with `error` for each.
fn answer(
    request: &OffsetCommitRequest,
    mut error: impl FnMut(i32) -> Option<ResponseError>,
) -> OffsetCommitResponse {
    let topics = request
        .topics
        .iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    OffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(error(p.partition_index).map_or(0, |e| e.code()))
                })
                .collect();
            OffsetCommitResponseTopic::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetCommitResponse::default().with_topics(topics)
}

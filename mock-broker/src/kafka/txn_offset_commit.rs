//! TxnOffsetCommit: a transaction commits a group's offsets; they wait in the
//! transaction and reach the group only when it commits (an abort drops them).
//!
//! Sent to the group's coordinator, as in Kafka. Partitions that do not exist answer
//! UNKNOWN_TOPIC_OR_PARTITION; the rest the transaction coordinator's outcome, mapped for
//! the version (`for_client`). The member and generation (v3+) are not checked against
//! the group: the mock broker takes the producer's word for them.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::txn_offset_commit_request::TxnOffsetCommitRequest;
use kafka_protocol::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponse, TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};

use super::context::{Ctx, scope_covers};
use super::group_coordinator::coordinates;
use super::offset_commit::partition_exists;
use crate::txn::{ProducerIdAndEpoch, TopicPartition, TxnApi, TxnOffset, for_client};

/// Whether the request commits `partition` of `topic` (each `None` = any), for fault rules.
pub(crate) fn touches(
    request: &TxnOffsetCommitRequest,
    topic: Option<&str>,
    partition: Option<u32>,
) -> bool {
    request.topics.iter().any(|t| {
        t.partitions
            .iter()
            .any(|p| scope_covers((topic, partition), &t.name.0, p.partition_index))
    })
}

/// Serves a TxnOffsetCommit.
pub(crate) fn handle(
    request: TxnOffsetCommitRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> TxnOffsetCommitResponse {
    let group_id = request.group_id.0.as_str();
    if !coordinates(ctx, group_id) {
        return refused(&request, ResponseError::NotCoordinator);
    }
    let exists = |topic: &str, partition: i32| partition_exists(&ctx.state.store, topic, partition);
    let offsets: Vec<(TopicPartition, TxnOffset)> = request
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t, p)))
        .filter(|(t, p)| exists(&t.name.0, p.partition_index))
        .map(|(t, p)| {
            (
                TopicPartition::new(t.name.0.as_str(), p.partition_index),
                TxnOffset {
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.as_ref().map(ToString::to_string),
                    commit_timestamp_ms: ctx.receive_time,
                },
            )
        })
        .collect();
    let producer = ProducerIdAndEpoch {
        producer_id: request.producer_id.0,
        epoch: request.producer_epoch,
    };
    let staged = if offsets.is_empty() {
        Ok(())
    } else {
        ctx.state.txns.call(|coordinator, now| {
            coordinator.txn_offset_commit(
                now,
                &request.transactional_id.0,
                producer,
                group_id,
                offsets,
                version >= 5,
            )
        })
    };
    let error = staged.err().map(|e| {
        tracing::debug!(peer = %ctx.client.address, group_id, error = ?e, "TxnOffsetCommit refused");
        for_client(e, TxnApi::TxnOffsetCommit, version)
    });
    answer(&request, |topic, partition| {
        if exists(topic, partition) {
            error
        } else {
            Some(ResponseError::UnknownTopicOrPartition)
        }
    })
}

/// The answer refusing every partition with `error` (a fault rule puts its own code in).
pub(crate) fn refused(
    request: &TxnOffsetCommitRequest,
    error: ResponseError,
) -> TxnOffsetCommitResponse {
    answer(request, |_, _| Some(error))
}

/// One answer per partition of the request, in its order.
fn answer(
    request: &TxnOffsetCommitRequest,
    error: impl Fn(&str, i32) -> Option<ResponseError>,
) -> TxnOffsetCommitResponse {
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    TxnOffsetCommitResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(
                            error(&t.name.0, p.partition_index).map_or(0, |e| e.code()),
                        )
                })
                .collect();
            TxnOffsetCommitResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    TxnOffsetCommitResponse::default().with_topics(topics)
}

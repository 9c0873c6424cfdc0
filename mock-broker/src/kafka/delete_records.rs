//! DeleteRecords: moves each partition's log start offset up to the offset
//! asked for (-1: the high watermark) and answers the new low watermark.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::delete_records_request::DeleteRecordsRequest;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsResponse, DeleteRecordsTopicResult,
};

use super::context::{Ctx, scope_covers};
use crate::store::StoreError;

/// Whether the request deletes from `partition` of `topic` (each `None` = any), for fault rules.
pub(crate) fn touches(
    request: &DeleteRecordsRequest,
    topic: Option<&str>,
    partition: Option<u32>,
) -> bool {
    request.topics.iter().any(|t| {
        t.partitions
            .iter()
            .any(|p| scope_covers((topic, partition), t.name.as_str(), p.partition_index))
    })
}

/// Deletes the records and says where each partition starts now.
pub(crate) fn handle(
    request: DeleteRecordsRequest,
    _version: i16,
    ctx: &Ctx<'_>,
) -> DeleteRecordsResponse {
    let topics = request
        .topics
        .iter()
        .map(|topic| {
            let log = ctx.state.store.topic(&topic.name);
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let outcome = match (&log, u32::try_from(p.partition_index)) {
                        (Some(log), Ok(index)) if index < log.partition_count() => {
                            let leader = ctx.state.cluster.leader(log.name(), index);
                            if leader == ctx.node_id {
                                log.delete_records(index, p.offset).map_err(|e| match e {
                                    StoreError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
                                    StoreError::UnknownPartition { .. } => ResponseError::UnknownTopicOrPartition,
                                    _ => ResponseError::UnknownServerError,
                                })
                            } else {
                                Err(ResponseError::NotLeaderOrFollower)
                            }
                        }
                        _ => Err(ResponseError::UnknownTopicOrPartition),
                    };
                    let result = DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index);
                    match outcome {
                        Ok(start) => {
                            tracing::info!(topic = %topic.name.as_str(), partition = p.partition_index, log_start_offset = start, "records deleted");
                            result.with_low_watermark(start)
                        }
                        Err(error) => result.with_error_code(error.code()).with_low_watermark(-1),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}

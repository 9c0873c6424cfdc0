//! OffsetDelete: drops a group's committed offsets for some partitions, unless the group
//! still consumes those topics.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::offset_delete_request::OffsetDeleteRequest;
use kafka_protocol::messages::offset_delete_response::{
    OffsetDeleteResponse, OffsetDeleteResponsePartition, OffsetDeleteResponseTopic,
};

use super::context::{Ctx, scope_covers};
use super::group_coordinator::coordinates;
use super::offset_commit::partition_exists;
use crate::record_line::EventLine;

/// Whether the request names `partition` of `topic` (each `None` = any), for fault rules.
pub(crate) fn touches(
    request: &OffsetDeleteRequest,
    topic: Option<&str>,
    partition: Option<u32>,
) -> bool {
    request.topics.iter().any(|t| {
        t.partitions
            .iter()
            .any(|p| scope_covers((topic, partition), &t.name.0, p.partition_index))
    })
}

/// Serves an OffsetDelete.
pub(crate) fn handle(
    request: OffsetDeleteRequest,
    _version: i16,
    ctx: &Ctx<'_>,
) -> OffsetDeleteResponse {
    if !coordinates(ctx, &request.group_id.0) {
        return refused(&request, ResponseError::NotCoordinator);
    }
    let store = &ctx.state.store;
    let existing: Vec<(String, i32)> = request
        .topics
        .iter()
        .flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| partition_exists(store, &t.name.0, p.partition_index))
                .map(|p| (t.name.0.to_string(), p.partition_index))
        })
        .collect();
    let group_id = request.group_id.0.to_string();
    let deleted = ctx
        .state
        .groups
        .call(|coordinator, _| (coordinator.delete_offsets(&group_id, &existing), Vec::new()));
    let results = match deleted {
        Ok(results) => results,
        Err(error) => return refused(&request, error),
    };
    for deleted in results.iter().filter(|r| r.error.is_none()) {
        ctx.state.note(&EventLine::OffsetDelete {
            group: group_id.clone(),
            topic: deleted.topic.clone(),
            partition: deleted.partition,
        });
    }
    let mut results = results.into_iter();
    let topics = request
        .topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let error = if partition_exists(store, &t.name.0, p.partition_index) {
                        results.next().and_then(|r| r.error)
                    } else {
                        Some(ResponseError::UnknownTopicOrPartition)
                    };
                    OffsetDeleteResponsePartition::default()
                        .with_partition_index(p.partition_index)
                        .with_error_code(error.map_or(0, |e| e.code()))
                })
                .collect();
            OffsetDeleteResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    OffsetDeleteResponse::default().with_topics(topics)
}

/// The answer refusing `request` with `error`, at the top as Kafka (a fault rule puts its
/// own code in).
pub(crate) fn refused(
    _request: &OffsetDeleteRequest,
    error: ResponseError,
) -> OffsetDeleteResponse {
    OffsetDeleteResponse::default().with_error_code(error.code())
}

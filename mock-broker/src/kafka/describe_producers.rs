//! DescribeProducers: the idempotent producers that wrote to each partition
//! (`idempotence.rs`), with their epoch, last sequence and last timestamp.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_producers_request::DescribeProducersRequest;
use kafka_protocol::messages::describe_producers_response::{
    DescribeProducersResponse, PartitionResponse, ProducerState, TopicResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::context::{Ctx, scope_covers};

/// Whether the request asks about `partition` of `topic` (each `None` = any), for fault rules.
pub(crate) fn touches(
    request: &DescribeProducersRequest,
    topic: Option<&str>,
    partition: Option<u32>,
) -> bool {
    request.topics.iter().any(|t| {
        t.partition_indexes
            .iter()
            .any(|p| scope_covers((topic, partition), t.name.as_str(), *p))
    })
}

/// Lists each partition's active producers.
pub(crate) fn handle(
    request: DescribeProducersRequest,
    _version: i16,
    ctx: &Ctx<'_>,
) -> DescribeProducersResponse {
    let topics = request
        .topics
        .iter()
        .map(|topic| {
            let log = ctx.state.store.topic(&topic.name);
            let partitions = topic
                .partition_indexes
                .iter()
                .map(|&index| {
                    let result = PartitionResponse::default().with_partition_index(index);
                    let Some((log, p)) = log.as_ref().and_then(|log| {
                        u32::try_from(index)
                            .ok()
                            .filter(|p| *p < log.partition_count())
                            .map(|p| (log, p))
                    }) else {
                        return result
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            .with_error_message(Some(StrBytes::from_static_str(
                                "This server does not host this topic-partition.",
                            )));
                    };
                    if ctx.state.cluster.leader(log.name(), p) != ctx.node_id {
                        return result.with_error_code(ResponseError::NotLeaderOrFollower.code());
                    }
                    let producers = ctx.state.producers.lock().expect("producers lock");
                    let active = producers
                        .active((log.id(), p))
                        .into_iter()
                        .map(|a| {
                            ProducerState::default()
                                .with_producer_id(a.id.into())
                                .with_producer_epoch(i32::from(a.epoch))
                                .with_last_sequence(a.last_sequence)
                                .with_last_timestamp(a.last_timestamp)
                                .with_coordinator_epoch(-1)
                                .with_current_txn_start_offset(-1)
                        })
                        .collect();
                    result.with_active_producers(active)
                })
                .collect();
            TopicResponse::default()
                .with_name(topic.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    DescribeProducersResponse::default().with_topics(topics)
}

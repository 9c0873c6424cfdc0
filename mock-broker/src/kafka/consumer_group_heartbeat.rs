//! ConsumerGroupHeartbeat (KIP-848): a consumer-protocol member joins, heartbeats, and
//! leaves; the answer carries its epoch and, when it changed, its assignment.
//!
//! Topics travel as ids on the wire and as names in the coordinator: owned partitions of
//! topics the broker does not know are dropped (the member cannot own them), and the
//! assignment is answered with the ids of the store's topics.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::consumer_group_heartbeat_request::{
    ConsumerGroupHeartbeatRequest, TopicPartitions as OwnedTopic,
};
use kafka_protocol::messages::consumer_group_heartbeat_response::{
    Assignment as ResponseAssignment, ConsumerGroupHeartbeatResponse, TopicPartitions,
};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use super::group_coordinator::coordinates;
use super::join_group::client_host;
use crate::group::{Assignment, ConsumerHeartbeatRequest, ConsumerHeartbeatResponse};
use crate::store::RecordStore;

/// From v1 the client generates its member id; v0 joins may leave it to the broker.
const CLIENT_MEMBER_ID_VERSION: i16 = 1;

/// Serves a ConsumerGroupHeartbeat.
pub(crate) fn handle(
    request: ConsumerGroupHeartbeatRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> ConsumerGroupHeartbeatResponse {
    if !coordinates(ctx, &request.group_id.0) {
        return refused(ResponseError::NotCoordinator);
    }
    let store = &ctx.state.store;
    let mut member_id = request.member_id.to_string();
    if member_id.is_empty() && request.member_epoch == 0 && version < CLIENT_MEMBER_ID_VERSION {
        member_id = uuid::Uuid::new_v4().to_string();
    }
    let heartbeat = ConsumerHeartbeatRequest {
        group_id: request.group_id.0.to_string(),
        member_id,
        member_epoch: request.member_epoch,
        instance_id: request.instance_id.as_ref().map(ToString::to_string),
        rack_id: request.rack_id.as_ref().map(ToString::to_string),
        rebalance_timeout_ms: request.rebalance_timeout_ms,
        subscribed_topic_names: request
            .subscribed_topic_names
            .as_ref()
            .map(|names| names.iter().map(|n| n.0.to_string()).collect()),
        subscribed_topic_regex: request
            .subscribed_topic_regex
            .as_ref()
            .map(ToString::to_string),
        server_assignor: request.server_assignor.as_ref().map(ToString::to_string),
        owned: request.topic_partitions.as_deref().map(|t| owned(store, t)),
        client_id: ctx.client.client_id.clone().unwrap_or_default(),
        client_host: client_host(ctx),
    };
    let partition_count = |topic: &str| store.topic(topic).map(|log| log.partition_count());
    let result = ctx.state.groups.call(|coordinator, now| {
        let result = coordinator.consumer_group_heartbeat(&heartbeat, &partition_count, now);
        (result, Vec::new())
    });
    match result {
        Ok(answer) => response(answer, store),
        Err(error) => {
            refused(error.error).with_error_message(Some(StrBytes::from_string(error.message)))
        }
    }
}

/// The partitions a member says it owns, by topic name; unknown topic ids are dropped.
fn owned(store: &RecordStore, topics: &[OwnedTopic]) -> Assignment {
    topics
        .iter()
        .filter_map(|t| {
            store
                .topic_by_id(t.topic_id)
                .map(|log| (log, &t.partitions))
        })
        .fold(Assignment::new(), |mut owned, (log, partitions)| {
            for partition in partitions {
                owned.insert(log.name(), *partition);
            }
            owned
        })
}

/// The coordinator's answer on the wire: topics by id.
fn response(
    answer: ConsumerHeartbeatResponse,
    store: &RecordStore,
) -> ConsumerGroupHeartbeatResponse {
    let assignment = answer.assignment.map(|assignment| {
        let topic_partitions = assignment
            .topics()
            .filter_map(|(topic, partitions)| {
                let log = store.topic(topic)?;
                Some(
                    TopicPartitions::default()
                        .with_topic_id(log.id())
                        .with_partitions(partitions.iter().copied().collect()),
                )
            })
            .collect();
        ResponseAssignment::default().with_topic_partitions(topic_partitions)
    });
    ConsumerGroupHeartbeatResponse::default()
        .with_member_id(Some(StrBytes::from_string(answer.member_id)))
        .with_member_epoch(answer.member_epoch)
        .with_heartbeat_interval_ms(answer.heartbeat_interval_ms)
        .with_assignment(assignment)
}

/// The answer refusing a heartbeat with `error` (a fault rule puts its own code in).
pub(crate) fn refused(error: ResponseError) -> ConsumerGroupHeartbeatResponse {
    ConsumerGroupHeartbeatResponse::default()
        .with_error_code(error.code())
        .with_member_epoch(-1)
}

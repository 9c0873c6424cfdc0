//! FindCoordinator: the broker that coordinates a group (key type 0) or a transactional
//! id (key type 1), picked as Kafka picks it (see `group_coordinator.rs`).
//!
//! Also served because clients gate features on it: librdkafka compresses with lz4 only
//! when the broker advertises FindCoordinator. Transactions are not served yet, so a
//! client that goes on to use its transaction coordinator is disconnected with a logged
//! reason.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::find_coordinator_response::{Coordinator, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use super::group_coordinator::{GROUP_STATE_TOPIC, TRANSACTION_STATE_TOPIC, coordinator};

/// Key type 0: a consumer group.
const GROUP: i8 = 0;
/// Key type 1: a transactional id.
const TRANSACTION: i8 = 1;

/// One key's coordinator: (node id, host, port), or the error to answer with.
fn find(key: &str, key_type: i8, ctx: &Ctx<'_>) -> Result<(i32, StrBytes, i32), ResponseError> {
    let state_topic = match key_type {
        GROUP => GROUP_STATE_TOPIC,
        TRANSACTION => TRANSACTION_STATE_TOPIC,
        _ => return Err(ResponseError::InvalidRequest),
    };
    let node_id = coordinator(&ctx.state.cluster, state_topic, key);
    let node = ctx
        .state
        .cluster
        .nodes()
        .iter()
        .find(|n| n.node_id == node_id)
        .ok_or(ResponseError::CoordinatorNotAvailable)?;
    let (host, port) = node.address_for(ctx.endpoint);
    Ok((
        node.node_id,
        StrBytes::from_string(host.to_string()),
        i32::from(port),
    ))
}

/// Whether the request asks for the coordinator of consumer group `group`, for fault rules
/// scoped by `group`.
pub(crate) fn names_group(request: &FindCoordinatorRequest, version: i16, group: &str) -> bool {
    names_key(request, version, GROUP, group)
}

/// Whether the request asks for the coordinator of transactional id `id`, for fault rules
/// scoped by `transactional_id`.
pub(crate) fn names_transaction(request: &FindCoordinatorRequest, version: i16, id: &str) -> bool {
    names_key(request, version, TRANSACTION, id)
}

/// Whether the request asks for the coordinator of `key` of `key_type`.
fn names_key(request: &FindCoordinatorRequest, version: i16, key_type: i8, key: &str) -> bool {
    request.key_type == key_type
        && if version >= 4 {
            request
                .coordinator_keys
                .iter()
                .any(|asked| asked.as_str() == key)
        } else {
            request.key.as_str() == key
        }
}

/// Names the coordinator of every key asked for.
pub(crate) fn handle(
    request: FindCoordinatorRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> FindCoordinatorResponse {
    if version >= 4 {
        // Batched form: one answer per key.
        let coordinators = request
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let found = find(&key, request.key_type, ctx);
                let answer = Coordinator::default().with_key(key);
                match found {
                    Ok((node_id, host, port)) => answer
                        .with_node_id(node_id.into())
                        .with_host(host)
                        .with_port(port),
                    Err(error) => answer
                        .with_node_id((-1).into())
                        .with_port(-1)
                        .with_error_code(error.code()),
                }
            })
            .collect();
        FindCoordinatorResponse::default().with_coordinators(coordinators)
    } else {
        match find(&request.key, request.key_type, ctx) {
            Ok((node_id, host, port)) => FindCoordinatorResponse::default()
                .with_node_id(node_id.into())
                .with_host(host)
                .with_port(port),
            Err(error) => FindCoordinatorResponse::default()
                .with_node_id((-1).into())
                .with_port(-1)
                .with_error_code(error.code()),
        }
    }
}

//! FindCoordinator: the controller (broker 1) coordinates every group and transaction.
//!
//! Served because clients gate features on it: librdkafka compresses with lz4
//! only when the broker advertises FindCoordinator, and silently sends
//! uncompressed batches otherwise. The APIs a coordinator serves (JoinGroup,
//! OffsetCommit, transactions, …) are not served yet, so a client that goes on
//! to use them is disconnected with a logged reason.

use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::find_coordinator_response::{Coordinator, FindCoordinatorResponse};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;

/// Names the controller as coordinator of every key asked for.
pub(crate) fn handle(
    request: FindCoordinatorRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> FindCoordinatorResponse {
    let controller = ctx
        .state
        .cluster
        .nodes()
        .first()
        .expect("a cluster has at least one broker");
    let host = StrBytes::from_string(controller.host.clone());
    let port = i32::from(controller.port);
    if version >= 4 {
        // Batched form: one answer per key.
        let coordinators = request
            .coordinator_keys
            .into_iter()
            .map(|key| {
                Coordinator::default()
                    .with_key(key)
                    .with_node_id(controller.node_id.into())
                    .with_host(host.clone())
                    .with_port(port)
            })
            .collect();
        FindCoordinatorResponse::default().with_coordinators(coordinators)
    } else {
        FindCoordinatorResponse::default()
            .with_node_id(controller.node_id.into())
            .with_host(host)
            .with_port(port)
    }
}

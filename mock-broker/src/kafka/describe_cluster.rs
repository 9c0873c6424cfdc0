//! DescribeCluster: the cluster id, the controller and the brokers, as
//! Metadata names them.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_cluster_request::DescribeClusterRequest;
use kafka_protocol::messages::describe_cluster_response::{
    DescribeClusterBroker, DescribeClusterResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;

/// Kafka's `EndpointType` for brokers.
const BROKERS: i8 = 1;

/// The cluster's operations a client may perform with no authorizer: CREATE,
/// ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS and
/// IDEMPOTENT_WRITE, as the bits of Kafka's `AclOperation` codes.
const CLUSTER_OPERATIONS: i32 =
    (1 << 5) | (1 << 7) | (1 << 8) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12);

/// Describes the cluster.
pub(crate) fn handle(
    request: DescribeClusterRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> DescribeClusterResponse {
    let cluster = &ctx.state.cluster;
    let mut response = DescribeClusterResponse::default();
    if version >= 1 {
        response = response.with_endpoint_type(request.endpoint_type);
        if request.endpoint_type != BROKERS {
            // The listeners are brokers', not controllers'.
            return response
                .with_error_code(ResponseError::MismatchedEndpointType.code())
                .with_error_message(Some(StrBytes::from_static_str(
                    "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER",
                )));
        }
    }
    if request.include_cluster_authorized_operations {
        response = response.with_cluster_authorized_operations(CLUSTER_OPERATIONS);
    }
    response
        .with_cluster_id(StrBytes::from_string(cluster.cluster_id().to_string()))
        .with_controller_id(cluster.controller_id().into())
        .with_brokers(
            cluster
                .nodes()
                .iter()
                .map(|node| {
                    let (host, port) = node.address_for(ctx.endpoint);
                    DescribeClusterBroker::default()
                        .with_broker_id(node.node_id.into())
                        .with_host(StrBytes::from_string(host.to_string()))
                        .with_port(i32::from(port))
                        .with_rack(None)
                })
                .collect(),
        )
}

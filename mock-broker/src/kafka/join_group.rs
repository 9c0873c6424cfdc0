//! JoinGroup: a member joins (or rejoins) a group and waits until the join round completes.
//!
//! The request becomes the coordinator's [`JoinRequest`]; the handler then waits for its
//! ticket's reply (see `group_service.rs`), which may come from another member's request
//! or from the coordinator's timer.

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::join_group_request::JoinGroupRequest;
use kafka_protocol::messages::join_group_response::{JoinGroupResponse, JoinGroupResponseMember};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use super::group_coordinator::coordinates;
use crate::group::{JoinRequest, JoinResponse, Reply};

/// The host Kafka reports for a member: the client's address with a leading `/`.
pub(crate) fn client_host(ctx: &Ctx<'_>) -> String {
    format!("/{}", ctx.client.address.ip())
}

/// Serves a JoinGroup, waiting for the round to complete.
pub(crate) async fn handle(
    request: JoinGroupRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> JoinGroupResponse {
    if !coordinates(ctx, &request.group_id.0) {
        return refused(&request, version, ResponseError::NotCoordinator);
    }
    let join = JoinRequest {
        group_id: request.group_id.0.to_string(),
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(ToString::to_string),
        require_known_member_id: version >= 4,
        supports_skip_assignment: version >= 9,
        client_id: ctx.client.client_id.clone().unwrap_or_default(),
        client_host: client_host(ctx),
        // v0 has no rebalance timeout: Kafka uses the session timeout.
        rebalance_timeout_ms: if version == 0 {
            request.session_timeout_ms
        } else {
            request.rebalance_timeout_ms
        },
        session_timeout_ms: request.session_timeout_ms,
        protocol_type: request.protocol_type.to_string(),
        protocols: request
            .protocols
            .iter()
            .map(|p| (p.name.to_string(), p.metadata.clone()))
            .collect(),
    };
    let waiting = ctx
        .state
        .groups
        .wait(|coordinator, ticket, now| coordinator.join_group(ticket, &join, now));
    match waiting.reply().await {
        Ok(Reply::Join(reply)) => response(reply, version),
        Ok(Reply::Sync(_)) => {
            tracing::error!("a SyncGroup reply for a JoinGroup ticket (a coordinator bug)");
            refused(&request, version, ResponseError::UnknownServerError)
        }
        Err(error) => refused(&request, version, error),
    }
}

/// The answer refusing `request` with `error` (a fault rule puts its own code in).
pub(crate) fn refused(
    request: &JoinGroupRequest,
    version: i16,
    error: ResponseError,
) -> JoinGroupResponse {
    response(JoinResponse::error(&request.member_id, error), version)
}

fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

/// The coordinator's reply as the response at `version`.
fn response(reply: JoinResponse, version: i16) -> JoinGroupResponse {
    // Before v7 the protocol name is not nullable: Kafka sends "" instead.
    let protocol_name = match reply.protocol_name {
        None if version < 7 => Some(StrBytes::default()),
        name => name.map(StrBytes::from_string),
    };
    JoinGroupResponse::default()
        .with_error_code(reply.error.map_or(0, |e| e.code()))
        .with_generation_id(reply.generation_id)
        .with_protocol_type(if version >= 7 {
            reply.protocol_type.map(StrBytes::from_string)
        } else {
            None
        })
        .with_protocol_name(protocol_name)
        .with_leader(StrBytes::from_string(reply.leader))
        .with_skip_assignment(version >= 9 && reply.skip_assignment)
        .with_member_id(StrBytes::from_string(reply.member_id))
        .with_members(
            reply
                .members
                .into_iter()
                .map(|m| {
                    JoinGroupResponseMember::default()
                        .with_member_id(StrBytes::from_string(m.member_id))
                        .with_group_instance_id(if version >= 5 {
                            m.group_instance_id.as_deref().map(text)
                        } else {
                            None
                        })
                        .with_metadata(Bytes::clone(&m.metadata))
                })
                .collect(),
        )
}

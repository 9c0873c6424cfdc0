//! SyncGroup: the leader hands out the assignment; every member waits for its own.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::sync_group_request::SyncGroupRequest;
use kafka_protocol::messages::sync_group_response::SyncGroupResponse;
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use super::group_coordinator::coordinates;
use crate::group::{Reply, SyncRequest, SyncResponse};

/// Serves a SyncGroup, waiting for the leader's assignment.
pub(crate) async fn handle(
    request: SyncGroupRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> SyncGroupResponse {
    if !coordinates(ctx, &request.group_id.0) {
        return refused(version, ResponseError::NotCoordinator);
    }
    let sync = SyncRequest {
        group_id: request.group_id.0.to_string(),
        generation_id: request.generation_id,
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(ToString::to_string),
        protocol_type: request.protocol_type.as_ref().map(ToString::to_string),
        protocol_name: request.protocol_name.as_ref().map(ToString::to_string),
        assignments: request
            .assignments
            .iter()
            .map(|a| (a.member_id.to_string(), a.assignment.clone()))
            .collect(),
    };
    let waiting = ctx
        .state
        .groups
        .wait(|coordinator, ticket, now| coordinator.sync_group(ticket, &sync, now));
    match waiting.reply().await {
        Ok(Reply::Sync(reply)) => response(reply, version),
        Ok(Reply::Join(_)) => {
            tracing::error!("a JoinGroup reply for a SyncGroup ticket (a coordinator bug)");
            refused(version, ResponseError::UnknownServerError)
        }
        Err(error) => refused(version, error),
    }
}

/// The answer refusing a SyncGroup with `error` (a fault rule puts its own code in).
pub(crate) fn refused(version: i16, error: ResponseError) -> SyncGroupResponse {
    response(SyncResponse::error(error), version)
}

/// The coordinator's reply as the response at `version`.
fn response(reply: SyncResponse, version: i16) -> SyncGroupResponse {
    let response = SyncGroupResponse::default()
        .with_error_code(reply.error.map_or(0, |e| e.code()))
        .with_assignment(reply.assignment);
    if version >= 5 {
        response
            .with_protocol_type(reply.protocol_type.map(StrBytes::from_string))
            .with_protocol_name(reply.protocol_name.map(StrBytes::from_string))
    } else {
        response
    }
}

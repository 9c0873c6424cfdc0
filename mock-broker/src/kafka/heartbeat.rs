//! Heartbeat: a member says it is alive, and learns whether a rebalance started.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::heartbeat_request::HeartbeatRequest;
use kafka_protocol::messages::heartbeat_response::HeartbeatResponse;

use super::context::Ctx;
use super::group_coordinator::coordinates;
use crate::group::HeartbeatRequest as Beat;

/// Serves a Heartbeat.
pub(crate) fn handle(request: HeartbeatRequest, _version: i16, ctx: &Ctx<'_>) -> HeartbeatResponse {
    if !coordinates(ctx, &request.group_id.0) {
        return refused(ResponseError::NotCoordinator);
    }
    let beat = Beat {
        group_id: request.group_id.0.to_string(),
        generation_id: request.generation_id,
        member_id: request.member_id.to_string(),
        group_instance_id: request.group_instance_id.as_ref().map(ToString::to_string),
    };
    let result = ctx
        .state
        .groups
        .call(|coordinator, now| (coordinator.heartbeat(&beat, now), Vec::new()));
    match result {
        Ok(()) => HeartbeatResponse::default(),
        Err(error) => refused(error),
    }
}

/// The answer refusing a Heartbeat with `error` (a fault rule puts its own code in).
pub(crate) fn refused(error: ResponseError) -> HeartbeatResponse {
    HeartbeatResponse::default().with_error_code(error.code())
}

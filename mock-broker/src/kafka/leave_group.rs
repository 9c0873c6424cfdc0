//! LeaveGroup: members leave a group (one before v3, a list from v3), which rebalances.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::leave_group_request::LeaveGroupRequest;
use kafka_protocol::messages::leave_group_response::{LeaveGroupResponse, MemberResponse};

use super::context::Ctx;
use super::group_coordinator::coordinates;
use crate::group::LeavingMember;

/// Serves a LeaveGroup.
pub(crate) fn handle(
    request: LeaveGroupRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> LeaveGroupResponse {
    if !coordinates(ctx, &request.group_id.0) {
        return refused(ResponseError::NotCoordinator);
    }
    let leaving: Vec<LeavingMember> = if version >= 3 {
        request
            .members
            .iter()
            .map(|m| LeavingMember {
                member_id: m.member_id.to_string(),
                group_instance_id: m.group_instance_id.as_ref().map(ToString::to_string),
            })
            .collect()
    } else {
        vec![LeavingMember {
            member_id: request.member_id.to_string(),
            group_instance_id: None,
        }]
    };
    let group_id = request.group_id.0.to_string();
    let result = ctx.state.groups.call(|coordinator, now| {
        match coordinator.leave_group(&group_id, &leaving, now) {
            Ok((left, outputs)) => (Ok(left), outputs),
            Err(error) => (Err(error), Vec::new()),
        }
    });
    let left = match result {
        Ok(left) => left,
        Err(error) => return refused(error),
    };
    if version >= 3 {
        let members = left
            .into_iter()
            .map(|m| {
                MemberResponse::default()
                    .with_member_id(m.member_id.into())
                    .with_group_instance_id(m.group_instance_id.map(Into::into))
                    .with_error_code(m.error.map_or(0, |e| e.code()))
            })
            .collect();
        LeaveGroupResponse::default().with_members(members)
    } else {
        let error = left.first().and_then(|m| m.error);
        LeaveGroupResponse::default().with_error_code(error.map_or(0, |e| e.code()))
    }
}

/// The answer refusing the whole request with `error`, as Kafka: no member list (a fault
/// rule puts its own code in).
pub(crate) fn refused(error: ResponseError) -> LeaveGroupResponse {
    LeaveGroupResponse::default().with_error_code(error.code())
}

//! DescribeGroups: each group's state, protocol and members; an unknown group is Dead.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_groups_request::DescribeGroupsRequest;
use kafka_protocol::messages::describe_groups_response::{
    DescribeGroupsResponse, DescribedGroup, DescribedGroupMember,
};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use super::group_coordinator::coordinates;

/// Serves a DescribeGroups.
pub(crate) fn handle(
    request: DescribeGroupsRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> DescribeGroupsResponse {
    let groups = request
        .groups
        .iter()
        .map(|group_id| {
            let group = DescribedGroup::default().with_group_id(group_id.clone());
            if !coordinates(ctx, group_id) {
                return group.with_error_code(ResponseError::NotCoordinator.code());
            }
            let described = ctx
                .state
                .groups
                .read(|coordinator| coordinator.describe_group(group_id));
            let members = described
                .members
                .into_iter()
                .map(|m| {
                    DescribedGroupMember::default()
                        .with_member_id(StrBytes::from_string(m.member_id))
                        .with_group_instance_id(if version >= 4 {
                            m.group_instance_id.map(StrBytes::from_string)
                        } else {
                            None
                        })
                        .with_client_id(StrBytes::from_string(m.client_id))
                        .with_client_host(StrBytes::from_string(m.client_host))
                        .with_member_metadata(m.metadata)
                        .with_member_assignment(m.assignment)
                })
                .collect();
            group
                .with_group_state(StrBytes::from_static_str(described.state.name()))
                .with_protocol_type(StrBytes::from_string(described.protocol_type))
                .with_protocol_data(StrBytes::from_string(described.protocol))
                .with_members(members)
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

/// The answer refusing every group of `request` with `error` (a fault rule puts its own
/// code in).
pub(crate) fn refused(
    request: &DescribeGroupsRequest,
    error: ResponseError,
) -> DescribeGroupsResponse {
    let groups = request
        .groups
        .iter()
        .map(|g| {
            DescribedGroup::default()
                .with_group_id(g.clone())
                .with_error_code(error.code())
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

//! ListGroups: the groups this broker coordinates, filtered by state (v4+) and type (v5+).

use kafka_protocol::messages::GroupId;
use kafka_protocol::messages::list_groups_request::ListGroupsRequest;
use kafka_protocol::messages::list_groups_response::{ListGroupsResponse, ListedGroup};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use super::group_coordinator::coordinates;

/// The only group type served: Kafka's classic protocol.
const CLASSIC: &str = "classic";

/// Serves a ListGroups.
pub(crate) fn handle(
    request: ListGroupsRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> ListGroupsResponse {
    let wants_classic = request.types_filter.is_empty()
        || request
            .types_filter
            .iter()
            .any(|t| t.eq_ignore_ascii_case(CLASSIC));
    if !wants_classic {
        return ListGroupsResponse::default();
    }
    let states: Vec<String> = request
        .states_filter
        .iter()
        .map(ToString::to_string)
        .collect();
    let listed = ctx
        .state
        .groups
        .read(|coordinator| coordinator.list_groups(&states));
    let groups = listed
        .into_iter()
        .filter(|g| coordinates(ctx, &g.group_id))
        .map(|g| {
            let group = ListedGroup::default()
                .with_group_id(GroupId(StrBytes::from_string(g.group_id)))
                .with_protocol_type(StrBytes::from_string(g.protocol_type));
            let group = if version >= 4 {
                group.with_group_state(StrBytes::from_static_str(g.state.name()))
            } else {
                group
            };
            if version >= 5 {
                group.with_group_type(StrBytes::from_static_str(CLASSIC))
            } else {
                group
            }
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}

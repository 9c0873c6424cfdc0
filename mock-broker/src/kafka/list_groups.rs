//! ListGroups: the groups this broker coordinates, filtered by state (v4+) and type (v5+:
//! `classic`, or `consumer` for KIP-848 groups).

use kafka_protocol::messages::GroupId;
use kafka_protocol::messages::list_groups_request::ListGroupsRequest;
use kafka_protocol::messages::list_groups_response::{ListGroupsResponse, ListedGroup};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use super::group_coordinator::coordinates;

/// The group type of Kafka's classic protocol.
const CLASSIC: &str = "classic";
/// The group type of KIP-848's consumer protocol (also its groups' protocol type).
const CONSUMER: &str = "consumer";

/// Serves a ListGroups.
pub(crate) fn handle(
    request: ListGroupsRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> ListGroupsResponse {
    let wants = |group_type: &str| {
        request.types_filter.is_empty()
            || request
                .types_filter
                .iter()
                .any(|t| t.eq_ignore_ascii_case(group_type))
    };
    let states: Vec<String> = request
        .states_filter
        .iter()
        .map(ToString::to_string)
        .collect();
    // (group id, protocol type, state, group type)
    let mut listed: Vec<(String, String, &'static str, &'static str)> =
        ctx.state.groups.read(|coordinator| {
            let classic = coordinator
                .list_groups(&states)
                .into_iter()
                .filter(|_| wants(CLASSIC))
                .map(|g| (g.group_id, g.protocol_type, g.state.name(), CLASSIC));
            let consumer = coordinator
                .list_consumer_groups(&states)
                .into_iter()
                .filter(|_| wants(CONSUMER))
                .map(|(id, state)| (id, CONSUMER.to_owned(), state.name(), CONSUMER));
            classic.chain(consumer).collect()
        });
    listed.sort();
    let groups = listed
        .into_iter()
        .filter(|(group_id, ..)| coordinates(ctx, group_id))
        .map(|(group_id, protocol_type, state, group_type)| {
            let group = ListedGroup::default()
                .with_group_id(GroupId(StrBytes::from_string(group_id)))
                .with_protocol_type(StrBytes::from_string(protocol_type));
            let group = if version >= 4 {
                group.with_group_state(StrBytes::from_static_str(state))
            } else {
                group
            };
            if version >= 5 {
                group.with_group_type(StrBytes::from_static_str(group_type))
            } else {
                group
            }
        })
        .collect();
    ListGroupsResponse::default().with_groups(groups)
}

//! DeleteGroups: empty groups go, with their committed offsets.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::GroupId;
use kafka_protocol::messages::delete_groups_request::DeleteGroupsRequest;
use kafka_protocol::messages::delete_groups_response::{
    DeletableGroupResult, DeleteGroupsResponse,
};

use super::context::Ctx;
use super::group_coordinator::coordinates;
use crate::record_line::EventLine;

/// Serves a DeleteGroups.
pub(crate) fn handle(
    request: DeleteGroupsRequest,
    _version: i16,
    ctx: &Ctx<'_>,
) -> DeleteGroupsResponse {
    let (ours, others): (Vec<&GroupId>, Vec<&GroupId>) = request
        .groups_names
        .iter()
        .partition(|g| coordinates(ctx, g));
    let ids: Vec<String> = ours.iter().map(|g| g.0.to_string()).collect();
    let deleted = if ids.is_empty() {
        Vec::new()
    } else {
        ctx.state
            .groups
            .call(|coordinator, _| (coordinator.delete_groups(&ids), Vec::new()))
    };
    for (group, _) in deleted.iter().filter(|(_, error)| error.is_none()) {
        ctx.state.note(&EventLine::GroupDeleted {
            group: group.clone(),
        });
    }
    let results = ours
        .into_iter()
        .zip(deleted)
        .map(|(group_id, (_, error))| result(group_id, error))
        .chain(
            others
                .into_iter()
                .map(|g| result(g, Some(ResponseError::NotCoordinator))),
        )
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}

fn result(group_id: &GroupId, error: Option<ResponseError>) -> DeletableGroupResult {
    DeletableGroupResult::default()
        .with_group_id(group_id.clone())
        .with_error_code(error.map_or(0, |e| e.code()))
}

/// The answer refusing every group of `request` with `error` (a fault rule puts its own
/// code in).
pub(crate) fn refused(request: &DeleteGroupsRequest, error: ResponseError) -> DeleteGroupsResponse {
    let results = request
        .groups_names
        .iter()
        .map(|g| result(g, Some(error)))
        .collect();
    DeleteGroupsResponse::default().with_results(results)
}

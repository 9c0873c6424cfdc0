//! The consumer group endpoints: list the groups, show one with its members and offsets,
//! force a rebalance.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;

use super::error::ApiError;
use crate::groups::{GroupInfo, GroupSummary};
use crate::state::BrokerState;

/// `GET /groups`: every group, by group id.
pub(super) async fn list(State(state): State<Arc<BrokerState>>) -> Json<Vec<GroupSummary>> {
    Json(crate::groups::list(&state.groups))
}

/// `GET /groups/{group}`: one group in full, or 404.
pub(super) async fn get(
    State(state): State<Arc<BrokerState>>,
    group: Result<Path<String>, PathRejection>,
) -> Result<Json<GroupInfo>, ApiError> {
    let Path(group) = group?;
    crate::groups::describe_all(&state.groups, &state.store)
        .into_iter()
        .find(|g| g.group_id == group)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("unknown group {group:?}")))
}

/// `POST /groups/{group}/rebalance`: every member must rejoin; 204, or 409 when the group
/// is not Stable (or waiting for its assignment), 404 when unknown.
pub(super) async fn rebalance(
    State(state): State<Arc<BrokerState>>,
    group: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(group) = group?;
    if crate::groups::force_rebalance(&state.groups, &group) {
        return Ok(StatusCode::NO_CONTENT);
    }
    let known = crate::groups::list(&state.groups)
        .iter()
        .any(|g| g.group_id == group);
    if known {
        Err(ApiError::new(
            StatusCode::CONFLICT,
            format!("group {group:?} is not Stable: no rebalance to force"),
        ))
    } else {
        Err(ApiError::not_found(format!("unknown group {group:?}")))
    }
}

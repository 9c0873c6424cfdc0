//! The fault endpoints: add a rule, list them with their fired counts, remove one or all.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use super::error::ApiError;
use crate::fault::{FaultInfo, FaultSpec};
use crate::state::BrokerState;

/// `POST /faults`: checks the JSON rule and puts it in force; answers 201 with the rule and its id.
pub(super) async fn add(
    State(state): State<Arc<BrokerState>>,
    body: Bytes,
) -> Result<(StatusCode, Json<FaultInfo>), ApiError> {
    let spec = parse(&body)?;
    let info = state
        .faults
        .add(spec)
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(info)))
}

/// Reads a rule, naming the key at fault (`serde_path_to_error`) when it is not one.
fn parse(body: &[u8]) -> Result<FaultSpec, ApiError> {
    let mut json = serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = if path == "." || path.is_empty() {
            format!("invalid fault rule: {inner}")
        } else {
            format!("invalid fault rule: `{path}`: {inner}")
        };
        ApiError::bad_request(message)
    })
}

/// `GET /faults`: every rule, in the order added.
pub(super) async fn list(State(state): State<Arc<BrokerState>>) -> Json<Vec<FaultInfo>> {
    Json(state.faults.list())
}

/// `GET /faults/{id}`: one rule.
pub(super) async fn get(
    State(state): State<Arc<BrokerState>>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<Json<FaultInfo>, ApiError> {
    let Path(id) = id?;
    state
        .faults
        .get(id)
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("no fault rule has id {id}")))
}

/// `DELETE /faults/{id}`: removes one rule.
pub(super) async fn remove(
    State(state): State<Arc<BrokerState>>,
    id: Result<Path<u64>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(id) = id?;
    if state.faults.remove(id) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("no fault rule has id {id}")))
    }
}

/// How many rules `DELETE /faults` removed.
#[derive(Debug, Serialize)]
pub(super) struct Cleared {
    removed: usize,
}

/// `DELETE /faults`: removes every rule.
pub(super) async fn clear(State(state): State<Arc<BrokerState>>) -> Json<Cleared> {
    Json(Cleared {
        removed: state.faults.clear(),
    })
}

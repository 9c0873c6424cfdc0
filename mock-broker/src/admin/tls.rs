//! `GET /tls/ca.pem`: the CA certificate `--tls-self-signed` made, for clients to trust
//! without reading the broker's file system.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use super::error::ApiError;
use crate::state::BrokerState;

/// The CA certificate as PEM, or 404 when the broker made none.
pub(super) async fn ca(
    State(state): State<Arc<BrokerState>>,
) -> Result<impl IntoResponse, ApiError> {
    match &state.tls_ca_pem {
        Some(pem) => Ok((
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            pem.clone(),
        )),
        None => Err(ApiError::not_found(
            "no CA certificate: the broker was not started with --tls-self-signed",
        )),
    }
}

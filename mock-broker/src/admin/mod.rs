//! The admin HTTP API: health, topics, recordings, stats, consumer groups and fault rules as
//! JSON, and the self-signed TLS CA as PEM.
//!
//! `docs/admin-api.md` describes every endpoint. Errors are JSON too:
//! `{"error": "…"}` with a status saying what kind of failure it is.

mod error;
mod faults;
mod groups;
mod records;
mod stats;
mod tls;
mod topics;
mod transactions;

use std::sync::Arc;

use axum::Router;
use axum::http::{Method, StatusCode, Uri};
use axum::routing::{delete, get, post};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::state::BrokerState;
use error::ApiError;

/// Serves the admin API on `listener` until `shutdown`.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<BrokerState>,
    shutdown: CancellationToken,
) {
    if let Err(e) = axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    {
        tracing::error!(error = %e, "admin API stopped");
    }
}

/// The admin API's routes on `state`; `serve` puts them behind a listener, the fuzz targets call
/// them in-process.
pub(crate) fn router(state: Arc<BrokerState>) -> Router {
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/topics", get(topics::list))
        .route("/topics/{topic}", delete(topics::delete))
        .route("/topics/{topic}/records", get(records::list))
        .route("/stats", get(stats::get))
        .route("/groups", get(groups::list))
        .route("/groups/{group}", get(groups::get))
        .route("/groups/{group}/rebalance", post(groups::rebalance))
        .route("/transactions", get(transactions::list))
        .route("/tls/ca.pem", get(tls::ca))
        .route("/reset", post(topics::reset))
        .route(
            "/faults",
            get(faults::list).post(faults::add).delete(faults::clear),
        )
        .route("/faults/{id}", get(faults::get).delete(faults::remove))
        // Applies to the routes above, so it comes after them.
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .with_state(state)
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not accept {method}", uri.path()),
    )
}

//! The admin HTTP API: health, topics, recordings and stats as JSON.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::server::BrokerState;

/// Serves the admin API on `listener` until `shutdown`.
pub(crate) async fn serve(
    listener: TcpListener,
    state: Arc<BrokerState>,
    shutdown: CancellationToken,
) {
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .with_state(state);
    if let Err(e) = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
    {
        tracing::error!(error = %e, "admin API stopped");
    }
}

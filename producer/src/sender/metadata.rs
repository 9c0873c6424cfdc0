//! Keeping the cluster's metadata fresh for the sender: a refresh when a
//! batch found no leader or a broker failed, and one every `metadata_max_age`.

use std::sync::Arc;

use tokio::time::Instant;

use super::shared::Shared;
use super::transport::Transport;

/// Refreshes the cluster's metadata in the background, and wakes the run loop when done.
pub(crate) fn spawn_refresh(shared: &Arc<Shared>) {
    let task_shared = shared.clone();
    shared.tasks.spawn_until_stopped(async move {
        let shared = task_shared;
        if let Transport::Kafka(cluster) = &shared.transport {
            if let Err(e) = cluster.refresh(&[]).await {
                tracing::debug!(error = %e, "metadata refresh failed");
            }
            shared.wake.notify_one();
        }
    });
}

/// Refreshes the cluster's metadata every `metadata_max_age` until the producer is closed.
pub(crate) async fn refresh_metadata_periodically(shared: Arc<Shared>) {
    let Transport::Kafka(cluster) = &shared.transport else {
        return;
    };
    loop {
        let age = shared.config.metadata_max_age;
        let due = cluster.refreshed().map_or(Instant::now(), |at| at + age);
        tokio::select! {
            _ = shared.tasks.stopped() => return,
            _ = tokio::time::sleep_until(due) => {}
        }
        if let Err(e) = cluster.refresh(&[]).await {
            tracing::debug!(error = %e, "periodic metadata refresh failed");
            tokio::select! {
                _ = shared.tasks.stopped() => return,
                _ = tokio::time::sleep(shared.config.retry_backoff_max) => {}
            }
        }
    }
}

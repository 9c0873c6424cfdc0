//! Asking brokers for producer ids and epochs (InitProducerId): the first one,
//! and a bump (KIP-360) when a batch's sequence can no longer be appended.
//! The state itself and its transitions are [`Idempotence`](crate::idempotence::Idempotence)'s.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ParseResponseErrorCode;
use kafka_protocol::messages::InitProducerIdRequest;

use super::shared::Shared;
use super::transport::Transport;
use crate::error::Error;
use crate::idempotence::BumpStart;
use crate::kafka::cluster::Cluster;
use crate::kafka::error_name;

/// A sequenced batch failed for good, leaving a gap the broker would refuse
/// every later batch of its partition for: bump the epoch in the background,
/// which restarts every partition's sequences (as the Java client does for
/// idempotent producers).
pub(crate) fn sequence_gap(shared: &Arc<Shared>, epoch: Option<i16>) {
    let task_shared = shared.clone();
    shared.tasks.spawn_until_stopped(async move {
        let shared = task_shared;
        bump_epoch(&shared, epoch).await;
        shared.wake.notify_one();
    });
}

/// Bumps the producer epoch unless it already moved past `seen`; whether the
/// epoch is now past `seen` (false when the bump failed).
pub(crate) async fn bump_epoch(shared: &Arc<Shared>, seen: Option<i16>) -> bool {
    let (Some(idempotence), Transport::Kafka(cluster)) = (&shared.idempotence, &shared.transport)
    else {
        return false;
    };
    let _one = shared.bumping.lock().await;
    let start = idempotence
        .lock()
        .expect("idempotence lock")
        .bump_from(seen);
    let (id, epoch) = match start {
        BumpStart::AlreadyPast => return true,
        BumpStart::Ask { producer_id, epoch } => (producer_id, epoch),
    };
    let request = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(id.into())
        .with_producer_epoch(epoch);
    let result = match cluster.any_connection().await {
        Ok(connection) => {
            connection
                .request(&request, shared.config.request_timeout)
                .await
        }
        Err(e) => Err(e),
    };
    let (new_id, new_epoch) = match result {
        Ok(r) if r.error_code.is_ok() => (r.producer_id.0, r.producer_epoch),
        Ok(r) => {
            tracing::warn!(code = r.error_code, error = %error_name(r.error_code), "epoch bump refused; asking for a new producer id");
            match init_producer_id(cluster, shared.config.request_timeout).await {
                Ok(fresh) => fresh,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot get a new producer id");
                    return false;
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "epoch bump failed");
            return false;
        }
    };
    tracing::info!(
        producer_id = new_id,
        epoch = new_epoch,
        "producer epoch bumped; sequences restart at 0"
    );
    idempotence
        .lock()
        .expect("idempotence lock")
        .bumped(new_id, new_epoch);
    shared.acc().reset_sequences();
    true
}

/// A new producer id and epoch from any broker.
///
/// # Errors
/// Connection errors, or the broker's error code.
pub(crate) async fn init_producer_id(
    cluster: &Cluster,
    timeout: Duration,
) -> Result<(i64, i16), Error> {
    let connection = cluster.any_connection().await?;
    let request = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id((-1).into())
        .with_producer_epoch(-1);
    let response = connection.request(&request, timeout).await?;
    if response.error_code.is_err() {
        return Err(Error::kafka(response.error_code, None));
    }
    Ok((response.producer_id.0, response.producer_epoch))
}

/// The epoch once any bump under way is done: a batch refused for an old
/// epoch may have raced the bump that made it old.
pub(crate) async fn epoch_after_bumps(shared: &Shared) -> i16 {
    drop(shared.bumping.lock().await);
    current_epoch(shared)
}

/// The epoch batches are sent under now (−1: not idempotent).
fn current_epoch(shared: &Shared) -> i16 {
    shared
        .idempotence
        .as_ref()
        .map_or(-1, |i| i.lock().expect("idempotence lock").epoch())
}

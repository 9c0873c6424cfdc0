//! Settling batches: acknowledged with their offsets, put back for a retry
//! after a backoff, or failed; each gives back its buffer memory and its
//! partition's turn.

use std::sync::Arc;

use tokio::time::Instant;

use super::epoch_bump::sequence_gap;
use super::shared::Shared;
use super::transport::BROKER_CHOOSES;
use crate::Acks;
use crate::batch::Batch;
use crate::delivery::Outcome;
use crate::error::Error;
use crate::metrics::Counters;

/// Acknowledges every record of `batch`, the first at `base_offset` (−1: unknown).
pub(crate) fn complete(shared: &Shared, batch: Batch, base_offset: i64, bytes: u64) {
    let outcome = Outcome::Stored {
        partition: (batch.partition != BROKER_CHOOSES).then_some(batch.partition),
        base_offset: (base_offset >= 0 && shared.config.acks != Acks::None).then_some(base_offset),
    };
    settle(shared, batch, bytes, outcome);
}

/// Settles a batch the broker stored, and gives back its buffer and its partition's turn.
pub(crate) fn settle(shared: &Shared, batch: Batch, bytes: u64, outcome: Outcome) {
    if let (Some(idempotence), Some(sequence)) = (&shared.idempotence, batch.sequence) {
        idempotence.lock().expect("idempotence lock").acknowledged(
            &batch.topic,
            batch.partition,
            sequence,
            batch.len(),
        );
    }
    let counters = &shared.counters;
    Counters::add(&counters.records_sent, batch.len() as u64);
    Counters::add(&counters.bytes_sent, bytes);
    let (topic, partition, bytes) = (batch.topic, batch.partition, batch.bytes);
    batch.fate.settle(outcome);
    shared.buffer.add_permits(bytes);
    shared.acc().finished(&topic, partition);
    shared.wake.notify_one();
}

/// Fails every record of a batch that is waiting in the accumulator (not in flight).
pub(crate) fn fail_waiting(shared: &Shared, batch: Batch, error: &Error) {
    tracing::debug!(topic = %batch.topic, partition = batch.partition, records = batch.len(), %error, "batch failed");
    shared.counters.last_error(error.to_string());
    let bytes = batch.bytes;
    batch.fail(error);
    shared.buffer.add_permits(bytes);
    shared.wake.notify_one();
}

/// Puts a batch back for another try after the backoff, or fails it: with
/// `DeliveryTimeout` (carrying `reason`) when out of time, with `reason`
/// itself when out of retries, as the Java client does.
///
/// `counts` says whether this is a retry of a failed send (it counts against
/// `retries` and is logged) rather than a batch that could not be sent yet.
pub(crate) fn retry_later(shared: &Arc<Shared>, mut batch: Batch, reason: Error, counts: bool) {
    let now = Instant::now();
    let out_of_time = now >= batch.deadline;
    if out_of_time || (counts && batch.attempts > shared.config.retries) {
        let error = if out_of_time {
            Error::DeliveryTimeout {
                timeout: shared.config.delivery_timeout,
                last: Some(Box::new(reason)),
            }
        } else {
            tracing::debug!(attempts = batch.attempts, "retries exhausted");
            reason
        };
        let epoch = batch.sequence.map(|s| s.1);
        fail(shared, batch, &error);
        if epoch.is_some() {
            sequence_gap(shared, epoch);
        }
        return;
    }
    if counts {
        Counters::add(&shared.counters.retries, 1);
        shared.counters.last_error(reason.to_string());
        tracing::debug!(topic = %batch.topic, partition = batch.partition, attempt = batch.attempts, sequence = ?batch.sequence, records = batch.len(), %reason, "retrying batch");
    }
    let delay = shared
        .backoff
        .lock()
        .expect("backoff lock")
        .delay_for_attempt(batch.attempts.max(1));
    let delay = delay.min(batch.deadline.saturating_duration_since(now));
    batch.last_error = Some(reason);
    shared.acc().retry(batch, now + delay);
    shared.wake.notify_one();
}

/// Fails every record of a batch that was drained (and so counts as in flight).
pub(crate) fn fail(shared: &Shared, batch: Batch, error: &Error) {
    tracing::debug!(topic = %batch.topic, partition = batch.partition, records = batch.len(), %error, "batch failed");
    shared.counters.last_error(error.to_string());
    let (topic, partition, bytes) = (batch.topic.clone(), batch.partition, batch.bytes);
    batch.fail(error);
    shared.buffer.add_permits(bytes);
    shared.acc().finished(&topic, partition);
    shared.wake.notify_one();
}

//! Sending one Produce request to a Kafka broker and classifying the
//! broker's answer for each batch it carried: stored, retried, resent under
//! a new epoch, or failed.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::error::ParseResponseErrorCode;
use tokio::time::Instant;

use super::epoch_bump::{bump_epoch, epoch_after_bumps, sequence_gap};
use super::metadata::spawn_refresh;
use super::settlement::{complete, fail, retry_later};
use super::shared::Shared;
use super::transport::{BrokerLane, Transport};
use crate::batch::{Batch, BatchBody};
use crate::compression::CompressionError;
use crate::error::Error;
use crate::idempotence::{SequenceAction, SequenceError};
use crate::kafka::batch_header::{ProducerFields, reseal};
use crate::kafka::produce_request::{PartitionBatch, TopicBatches};
use crate::kafka::{error_name, is_retriable};
use crate::metrics::Counters;

/// INVALID_PRODUCER_EPOCH: the batch was sent under an epoch older than the broker's.
const INVALID_PRODUCER_EPOCH: i16 = ResponseError::InvalidProducerEpoch.code();

/// What the broker's answer for one batch of a Produce request means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Stored, at the base offset the answer gives.
    Stored,
    /// DUPLICATE_SEQUENCE_NUMBER: an older broker's answer to a retry it had
    /// already appended; stored, at an offset it does not say.
    StoredBefore,
    /// A sequence error the idempotent producer handles itself.
    Sequence(SequenceError),
    /// Sent under an epoch that has since been bumped: resend under the new
    /// one, not counted as a retry.
    ResendUnderNewEpoch,
    /// Retriable: try again after a backoff, with fresh metadata first when
    /// the partition's leader moved or is unknown.
    Retry {
        /// Whether the error says the producer's metadata is out of date.
        refresh_metadata: bool,
    },
    /// Not retriable: the batch's records fail with the broker's error.
    Fail,
}

/// What error `code` for one batch means, for an idempotent producer or
/// not, and whether the batch was sent under an epoch since bumped.
fn classify(code: i16, idempotent: bool, stale_epoch: bool) -> Verdict {
    match code.err() {
        None => Verdict::Stored,
        Some(ResponseError::DuplicateSequenceNumber) => Verdict::StoredBefore,
        Some(_) if idempotent && let Some(error) = SequenceError::from_code(code) => {
            Verdict::Sequence(error)
        }
        Some(ResponseError::InvalidProducerEpoch) if stale_epoch => Verdict::ResendUnderNewEpoch,
        Some(error) if is_retriable(code) => Verdict::Retry {
            refresh_metadata: matches!(
                error,
                ResponseError::UnknownTopicOrPartition
                    | ResponseError::LeaderNotAvailable
                    | ResponseError::NotLeaderOrFollower
            ),
        },
        Some(_) => Verdict::Fail,
    }
}

/// Why a batch could not be made into a RecordBatch to send.
#[derive(Debug, thiserror::Error)]
enum EncodeBatchError {
    /// The codec failed.
    #[error(transparent)]
    Compression(#[from] CompressionError),
    /// The batch holds frame-protocol messages.
    #[error("a frame batch cannot be sent over Kafka")]
    NotKafka,
}

/// The batch's bytes for sending: sealed once (in place when uncompressed),
/// reused by retries, rewritten only when an epoch bump changed its sequence.
fn encode_batch(shared: &Shared, batch: &mut Batch) -> Result<Bytes, EncodeBatchError> {
    let producer = batch.sequence.map_or(
        ProducerFields::NONE,
        |(producer_id, producer_epoch, base_sequence)| ProducerFields {
            producer_id,
            producer_epoch,
            base_sequence,
        },
    );
    let body = std::mem::replace(
        &mut batch.body,
        BatchBody::Frame {
            messages: Vec::new(),
            size: 0,
        },
    );
    let bytes = match body {
        BatchBody::Kafka(builder) => builder.seal(producer, shared.config.compression)?,
        BatchBody::Sealed(bytes, sealed_as) if sealed_as == producer => bytes,
        BatchBody::Sealed(bytes, _) => reseal(&bytes, producer),
        BatchBody::Frame { .. } => return Err(EncodeBatchError::NotKafka),
    };
    batch.body = BatchBody::Sealed(bytes.clone(), producer);
    Ok(bytes)
}

/// Sends one Produce request carrying `batches` (at most one per partition)
/// to broker `node`, in its lane's turn `ticket`, and settles each batch
/// from the broker's answer.
pub(crate) async fn send_kafka(
    shared: Arc<Shared>,
    node: i32,
    mut batches: Vec<Batch>,
    lane: Arc<BrokerLane>,
    ticket: u64,
) {
    let Transport::Kafka(cluster) = &shared.transport else {
        return;
    };
    // Every return before the request is enqueued passes the turn on too.
    let turn = lane.order.turn(ticket).await;
    let _permit = lane.slots.acquire().await.expect("never closed");
    if let Some(until) = shared.throttled_until(node) {
        // Throttled while waiting for the slot: back in line, in order.
        let mut acc = shared.acc();
        for batch in batches {
            acc.retry(batch, until);
        }
        drop(acc);
        shared.wake.notify_one();
        return;
    }
    let connection = match cluster.connection(node).await {
        Ok(connection) => connection,
        Err(e @ Error::NotABroker { .. }) => {
            shared.counters.error("NOT_A_BROKER");
            for batch in batches {
                fail(&shared, batch, &e);
            }
            return;
        }
        Err(e) => {
            shared.counters.error(e.exchange_name());
            spawn_refresh(&shared);
            for batch in batches {
                retry_later(&shared, batch, e.clone(), true);
            }
            return;
        }
    };
    let mut topics: Vec<TopicBatches> = Vec::new();
    let mut bytes_sent = 0u64;
    let mut encoded = Vec::with_capacity(batches.len());
    for mut batch in batches.drain(..) {
        match encode_batch(&shared, &mut batch) {
            Ok(records) => {
                bytes_sent += records.len() as u64;
                let data = PartitionBatch {
                    partition: batch.partition as i32,
                    records,
                };
                match topics.iter_mut().find(|t| t.topic == *batch.topic) {
                    Some(topic) => topic.partitions.push(data),
                    None => topics.push(TopicBatches {
                        topic: batch.topic.to_string(),
                        partitions: vec![data],
                    }),
                }
                encoded.push(batch);
            }
            Err(e) => fail(
                &shared,
                batch,
                &Error::Protocol {
                    address: connection.address().to_string(),
                    reason: e.to_string(),
                },
            ),
        }
    }
    if encoded.is_empty() {
        return;
    }
    for batch in &mut encoded {
        batch.attempts += 1;
    }
    let counters = &shared.counters;
    Counters::add(&counters.requests, 1);
    Counters::add(&counters.batches_sent, encoded.len() as u64);
    Counters::add(&counters.in_flight, 1);
    let result = match connection
        .enqueue_produce(
            shared.config.acks.as_i16(),
            &topics,
            shared.config.request_timeout,
        )
        .await
    {
        Ok(answer) => {
            drop(turn);
            answer.await
        }
        Err(e) => Err(e),
    };
    counters.in_flight.fetch_sub(1, Ordering::Relaxed);
    let response = match result {
        Ok(Some(response)) => response,
        // acks = 0: written is all there is to know.
        Ok(None) => {
            for batch in encoded {
                complete(&shared, batch, -1, bytes_sent);
            }
            return;
        }
        // Another protocol answered: retrying cannot help, so the sends fail now.
        Err(e @ Error::NotABroker { .. }) => {
            counters.error("NOT_A_BROKER");
            cluster.drop_connection(node, &connection);
            for batch in encoded {
                fail(&shared, batch, &e);
            }
            return;
        }
        Err(e) => {
            counters.error(e.exchange_name());
            cluster.drop_connection(node, &connection);
            spawn_refresh(&shared);
            for batch in encoded {
                retry_later(&shared, batch, e.clone(), true);
            }
            return;
        }
    };
    let mut refresh = false;
    let per_batch_bytes = bytes_sent / encoded.len() as u64;
    for batch in encoded {
        let answer = response
            .responses
            .iter()
            .filter(|t| t.name.0.as_str() == &*batch.topic)
            .flat_map(|t| &t.partition_responses)
            .find(|p| p.index == batch.partition as i32);
        let Some(answer) = answer else {
            let reason = Error::Protocol {
                address: connection.address().to_string(),
                reason: format!(
                    "its produce response left out {} partition {}",
                    batch.topic, batch.partition
                ),
            };
            retry_later(&shared, batch, reason, true);
            continue;
        };
        let code = answer.error_code;
        let message = answer.error_message.as_ref().map(|m| m.to_string());
        let stale_epoch = code == INVALID_PRODUCER_EPOCH
            && match batch.sequence {
                Some(s) => epoch_after_bumps(&shared).await > s.1,
                None => false,
            };
        match classify(code, shared.idempotence.is_some(), stale_epoch) {
            Verdict::Stored => complete(&shared, batch, answer.base_offset, per_batch_bytes),
            Verdict::StoredBefore => complete(&shared, batch, -1, per_batch_bytes),
            Verdict::Sequence(error) => {
                counters.error(&error_name(code));
                sequence_trouble(&shared, batch, error).await;
            }
            Verdict::ResendUnderNewEpoch => {
                // Sent under an epoch that has since been bumped: resend under the new one.
                let mut batch = batch;
                batch.sequence = None;
                retry_later(&shared, batch, Error::kafka(code, message), false);
            }
            Verdict::Retry { refresh_metadata } => {
                counters.error(&error_name(code));
                if refresh_metadata {
                    refresh = true;
                }
                retry_later(&shared, batch, Error::kafka(code, message), true);
            }
            Verdict::Fail => {
                counters.error(&error_name(code));
                let epoch = batch.sequence.map(|s| s.1);
                fail(&shared, batch, &Error::kafka(code, message));
                if epoch.is_some() {
                    // Its sequence numbers will never be appended: restart them.
                    sequence_gap(&shared, epoch);
                }
            }
        }
    }
    if refresh {
        spawn_refresh(&shared);
    }
    if response.throttle_time_ms > 0 {
        // The broker asked this client to send it nothing for that long (KIP-219).
        let until = Instant::now() + Duration::from_millis(response.throttle_time_ms as u64);
        let mut throttled = shared.throttled.lock().expect("throttle lock");
        let entry = throttled.entry(node).or_insert(until);
        *entry = (*entry).max(until);
    }
}

/// OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID, handled as the Java client does.
///
/// When an earlier batch of the partition is still unacknowledged, this batch
/// only failed because that one did: resend it after it. Otherwise the
/// broker lost track of the producer: bump the epoch (InitProducerId with the
/// current id and epoch, KIP-360), restart every partition's sequences at 0,
/// and resend.
async fn sequence_trouble(shared: &Arc<Shared>, mut batch: Batch, error: SequenceError) {
    let idempotence = shared.idempotence.as_ref().expect("checked by the caller");
    let code = error.code();
    let action = idempotence
        .lock()
        .expect("idempotence lock")
        .on_sequence_error(&batch.topic, batch.partition, batch.sequence, error);
    if action == SequenceAction::ResendAfterEarlier {
        retry_later(shared, batch, Error::kafka(code, None), false);
        return;
    }
    let sent_epoch = batch.sequence.map(|s| s.1);
    if bump_epoch(shared, sent_epoch).await {
        batch.sequence = None;
        retry_later(shared, batch, Error::kafka(code, None), false);
    } else {
        // The bump failed (the broker may be unreachable): keep the batch's
        // sequence, so that it is not appended twice under one epoch, and try
        // again after a backoff, counted against its retries.
        let reason = Error::kafka(
            code,
            Some("and the epoch bump that follows it failed".into()),
        );
        retry_later(shared, batch, reason, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(error: ResponseError) -> i16 {
        error.code()
    }

    #[test]
    fn answers_are_classified_as_the_java_client_does() {
        assert_eq!(classify(0, false, false), Verdict::Stored);
        assert_eq!(
            classify(code(ResponseError::DuplicateSequenceNumber), true, false),
            Verdict::StoredBefore
        );
        assert_eq!(
            classify(code(ResponseError::OutOfOrderSequenceNumber), true, false),
            Verdict::Sequence(SequenceError::OutOfOrder)
        );
        assert_eq!(
            classify(code(ResponseError::UnknownProducerId), true, false),
            Verdict::Sequence(SequenceError::UnknownProducerId)
        );
        assert_eq!(
            classify(code(ResponseError::InvalidProducerEpoch), true, true),
            Verdict::ResendUnderNewEpoch
        );
        assert_eq!(
            classify(code(ResponseError::InvalidProducerEpoch), true, false),
            Verdict::Fail,
            "an epoch refused that no bump left behind fails"
        );
        assert_eq!(
            classify(code(ResponseError::MessageTooLarge), true, false),
            Verdict::Fail
        );
    }

    #[test]
    fn sequence_errors_are_the_idempotent_producers_only() {
        for error in [
            ResponseError::OutOfOrderSequenceNumber,
            ResponseError::UnknownProducerId,
        ] {
            assert!(
                !matches!(classify(code(error), false, false), Verdict::Sequence(_)),
                "{error}"
            );
        }
    }

    #[test]
    fn leadership_errors_refresh_metadata_and_other_retriable_ones_do_not() {
        for error in [
            ResponseError::UnknownTopicOrPartition,
            ResponseError::LeaderNotAvailable,
            ResponseError::NotLeaderOrFollower,
        ] {
            assert_eq!(
                classify(code(error), false, false),
                Verdict::Retry {
                    refresh_metadata: true
                },
                "{error}"
            );
        }
        assert_eq!(
            classify(code(ResponseError::NotEnoughReplicas), true, false),
            Verdict::Retry {
                refresh_metadata: false
            }
        );
        assert_eq!(
            classify(code(ResponseError::RequestTimedOut), false, false),
            Verdict::Retry {
                refresh_metadata: false
            }
        );
    }
}

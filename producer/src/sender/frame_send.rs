//! Sending one batch over the frame protocol as a produce frame, and
//! settling it from the broker's answer.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::BytesMut;
use protocol::frame::{self, FrameAcks, Status};

use super::settlement::{complete, fail, retry_later, settle};
use super::shared::Shared;
use super::transport::{BROKER_CHOOSES, Transport};
use crate::Acks;
use crate::batch::{Batch, BatchBody};
use crate::delivery::Outcome;
use crate::error::Error;
use crate::metrics::Counters;
use crate::wire::FrameResponse;

/// Sends one frame-protocol batch in the transport's turn `ticket` and
/// settles it from the broker's answer.
pub(crate) async fn send_frame(shared: Arc<Shared>, mut batch: Batch, ticket: u64) {
    let Transport::Frame(transport) = &shared.transport else {
        return;
    };
    // Every return before the request is enqueued passes the turn on too.
    let turn = transport.order.turn(ticket).await;
    let link = match transport.link(&shared.config, &shared.tasks).await {
        Ok(link) => link,
        Err(e @ Error::NotABroker { .. }) => {
            shared.counters.error("NOT_A_BROKER");
            fail(&shared, batch, &e);
            return;
        }
        Err(e) => {
            shared.counters.error(e.exchange_name());
            retry_later(&shared, batch, e, true);
            return;
        }
    };
    let BatchBody::Frame { messages, size } = &mut batch.body else {
        return;
    };
    let size = *size;
    let correlation_id = transport
        .next_correlation_id
        .fetch_add(1, Ordering::Relaxed);
    let acks = if shared.config.acks == Acks::None {
        FrameAcks::None
    } else {
        FrameAcks::Recorded
    };
    // The messages are lent to the request for encoding, not copied, and
    // stay with the batch for a retry.
    let request = frame::ProduceRequest {
        correlation_id,
        acks,
        client_id: shared.config.client_id.clone(),
        topic: batch.topic.to_string(),
        partition: (batch.partition != BROKER_CHOOSES).then_some(batch.partition),
        messages: std::mem::take(messages),
    };
    // 64: the frame header and the fixed fields (27 bytes), with room to spare.
    let mut buf =
        BytesMut::with_capacity(64 + request.client_id.len() + request.topic.len() + size);
    let encoded = request.encode(&mut buf);
    *messages = request.messages;
    if let Err(e) = encoded {
        fail(&shared, batch, &Error::Encode(e));
        return;
    }
    let bytes = buf.len() as u64;
    batch.attempts += 1;
    let counters = &shared.counters;
    Counters::add(&counters.requests, 1);
    Counters::add(&counters.batches_sent, 1);
    Counters::add(&counters.in_flight, 1);
    let result = match acks {
        FrameAcks::None => match link.enqueue_only(vec![buf.freeze()]).await {
            Ok(written) => {
                drop(turn);
                written.await.map(|()| None)
            }
            Err(e) => Err(e),
        },
        FrameAcks::Recorded => tokio::time::timeout(shared.config.request_timeout, async {
            let response = link.enqueue(correlation_id, vec![buf.freeze()]).await;
            drop(turn);
            response?.await
        })
        .await
        .unwrap_or_else(|_| {
            Err(Error::Timeout {
                address: transport.address.clone(),
                timeout: shared.config.request_timeout,
            })
        })
        .map(Some),
    };
    counters.in_flight.fetch_sub(1, Ordering::Relaxed);
    let result = result.and_then(|answer| match answer {
        None => Ok(None),
        Some(FrameResponse::Produce(response)) => Ok(Some(response)),
        Some(FrameResponse::Pong) => Err(Error::Protocol {
            address: transport.address.clone(),
            reason: format!("it answered produce request {correlation_id} with a pong"),
        }),
    });
    match result {
        Ok(None) => complete(&shared, batch, -1, bytes),
        Ok(Some(response)) if response.status == Status::Ok => {
            let places = match placements(&response, batch.len()) {
                Ok(places) => places,
                Err(reason) => {
                    fail(
                        &shared,
                        batch,
                        &Error::Protocol {
                            address: transport.address.clone(),
                            reason,
                        },
                    );
                    return;
                }
            };
            settle(&shared, batch, bytes, Outcome::Placed(places));
        }
        Ok(Some(response)) if response.status.is_retriable() => {
            counters.error(response.status.name());
            let reason = Error::Broker {
                status: response.status,
                message: response.error_message,
            };
            retry_later(&shared, batch, reason, true);
        }
        Ok(Some(response)) => {
            counters.error(response.status.name());
            fail(
                &shared,
                batch,
                &Error::Broker {
                    status: response.status,
                    message: response.error_message,
                },
            );
        }
        // Another protocol answered: retrying cannot help, so the send fails now.
        Err(e @ Error::NotABroker { .. }) => {
            counters.error("NOT_A_BROKER");
            transport.forget(&link).await;
            fail(&shared, batch, &e);
        }
        Err(e) => {
            counters.error(e.exchange_name());
            transport.forget(&link).await;
            retry_later(&shared, batch, e, true);
        }
    }
}

/// Where each of a batch's `expected` messages went, from a successful response.
///
/// The runs are counted before anything is built: each may claim 2^32 messages, and a response
/// of a few bytes must not make the producer allocate gigabytes.
///
/// # Errors
/// A sentence saying how many messages the response places instead.
pub(crate) fn placements(
    response: &frame::ProduceResponse,
    expected: usize,
) -> Result<Vec<(Option<u32>, i64)>, String> {
    let placed = response.message_count();
    if placed != expected as u64 {
        return Err(format!("response places {placed} of {expected} messages"));
    }
    Ok(response.placements().map(|(p, o)| (Some(p), o)).collect())
}

#[cfg(test)]
mod tests {
    use protocol::frame::{PartitionRun, ProduceResponse};

    use super::placements;

    fn response(runs: &[(u32, i64, u32)]) -> ProduceResponse {
        let runs = runs
            .iter()
            .map(|&(partition, base_offset, count)| PartitionRun {
                partition,
                base_offset,
                count,
            })
            .collect();
        ProduceResponse::ok(1, runs)
    }

    #[test]
    fn placements_follow_the_runs_in_order() {
        assert_eq!(
            placements(&response(&[(2, 10, 2), (0, 5, 1)]), 3),
            Ok(vec![(Some(2), 10), (Some(2), 11), (Some(0), 5)])
        );
    }

    #[test]
    fn a_response_claiming_billions_of_messages_is_refused_before_anything_is_built() {
        let claimed = response(&[(0, 0, u32::MAX), (1, 0, u32::MAX)]);
        assert_eq!(
            placements(&claimed, 3),
            Err("response places 8589934590 of 3 messages".into())
        );
    }
}

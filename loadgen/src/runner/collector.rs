//! A lane's *collector*: awaits the delivery of each send its issuer started
//! and records the outcome.

use std::time::Instant;

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::lane::{InFlight, Started, Streams};
use crate::audit::SequenceSet;
use crate::live::LaneCounters;
use crate::recorder::Recorder;

/// A send whose delivery has settled.
struct Settled {
    started: Started,
    result: Result<(), producer::Error>,
    permit: OwnedSemaphorePermit,
}

/// Awaits the delivery of each of a lane's sends and records its outcome,
/// until the issuer is done and every send has settled or, after a stop
/// request's grace period, is abandoned. Returns the measurements and the
/// sequences acknowledged.
///
/// The deliveries are awaited together here rather than by a task each: the
/// records of a batch settle at once, and one task polling them all costs
/// far less than waking a task per record, which at a million records a
/// second crowded the runtime's queues and slowed the broker sharing them.
pub(super) async fn collect(
    mut received: mpsc::UnboundedReceiver<InFlight>,
    start: Instant,
    streams: &Streams,
    counters: &LaneCounters,
) -> (Recorder, SequenceSet) {
    let mut recorder = Recorder::new();
    let mut intervals = streams.intervals(start);
    let mut acked = SequenceSet::new();
    let mut deliveries = FuturesUnordered::new();
    let mut issuing = true;
    let abandoned = streams.stop.abandoned();
    tokio::pin!(abandoned);
    while issuing || !deliveries.is_empty() {
        tokio::select! {
            biased;
            Some(settled) = deliveries.next(), if !deliveries.is_empty() => {
                let Settled { started, result, permit } = settled;
                let done = Instant::now();
                drop(permit);
                match result {
                    Ok(()) => {
                        acked.insert(started.sequence);
                        let since_due = done.saturating_duration_since(started.due);
                        let since_sent = done.saturating_duration_since(started.sent);
                        recorder.record_ack(since_due, since_sent, started.bytes);
                        intervals.record_ack(done, since_due, since_sent, started.bytes);
                        counters.acked();
                    }
                    Err(e) => {
                        recorder.record_error(&e);
                        intervals.record_error(done);
                        counters.failed();
                    }
                }
            }
            sent = received.recv(), if issuing => match sent {
                Some(InFlight { started, enqueued, permit }) => deliveries.push(async move {
                    // Settles when the broker has acknowledged the record.
                    let result = match enqueued {
                        Ok(delivery) => delivery.await.map(drop),
                        Err(e) => Err(e),
                    };
                    Settled { started, result, permit }
                }),
                None => issuing = false,
            },
            () = &mut abandoned => break,
        }
    }
    intervals.finish();
    (recorder, acked)
}

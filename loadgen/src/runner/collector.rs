//! A lane's *collector*: awaits the delivery of each send its issuer started
//! and records the outcome.
//!
//! The records of one producer batch settle together, at one moment, with
//! one outcome. So the collector groups the sends it is handed by the batch
//! their record went into ([`producer::BatchId`]) and awaits one delivery
//! per batch; when it settles, the others of the batch are read at once,
//! without waiting, and all are recorded with the same acknowledgement time.
//! Awaiting every delivery on its own (as earlier versions did, with a
//! `FuturesUnordered` of a future per send) cost an allocation, a waker
//! registration and a wake per message: about half of loadgen's time per
//! message in a closed-loop run.

use std::collections::HashMap;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use fnv::FnvBuildHasher;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use futures_util::stream::FuturesUnordered;
use producer::{BatchId, DeliveryFuture};
use tokio::sync::{OwnedSemaphorePermit, mpsc};

use super::lane::{InFlight, Started, Streams};
use crate::audit::SequenceSet;
use crate::interval::IntervalRecorder;
use crate::live::LaneCounters;
use crate::recorder::Recorder;

/// Awaits the delivery of each of a lane's sends and records its outcome,
/// until the issuer is done and every send has settled or, after a stop
/// request's grace period, is abandoned. Returns the measurements and the
/// sequences acknowledged.
///
/// The deliveries are awaited here, one per batch, rather than by a task
/// each: at a million records a second a task (or a wake) per record
/// crowded the runtime's queues and slowed the broker sharing them.
pub(super) async fn collect(
    mut received: mpsc::UnboundedReceiver<Vec<InFlight>>,
    start: Instant,
    streams: &Streams,
    counters: &LaneCounters,
) -> (Recorder, SequenceSet) {
    let mut outcomes = Outcomes {
        recorder: Recorder::new(),
        intervals: streams.intervals(start),
        acked: SequenceSet::new(),
        run: None,
    };
    let mut batches = Batches::default();
    let mut issuing = true;
    let abandoned = streams.stop.abandoned();
    tokio::pin!(abandoned);
    while issuing || !batches.is_empty() {
        tokio::select! {
            biased;
            Some(settled) = batches.waiting.next(), if !batches.waiting.is_empty() => {
                // When the producer read the answer, not when this task came to it: the
                // sends reach it in chunks, and it is woken once per batch.
                let done = settled.first.delivery.settled_at().unwrap_or_else(Instant::now);
                let (acked, failed) = batches.settle(settled, done, &mut outcomes);
                counters.acked_many(acked);
                counters.failed_many(failed);
            }
            chunk = received.recv(), if issuing => match chunk {
                Some(chunk) => {
                    let mut failed = 0;
                    for in_flight in chunk {
                        let InFlight { started, enqueued, permit } = in_flight;
                        match enqueued {
                            Ok(delivery) => batches.add(Waiting { started, delivery, permit }),
                            Err(e) => {
                                drop(permit);
                                outcomes.failed(&e, Instant::now());
                                failed += 1;
                            }
                        }
                    }
                    counters.failed_many(failed);
                }
                None => issuing = false,
            },
            () = &mut abandoned => break,
        }
    }
    outcomes.intervals.finish();
    (outcomes.recorder, outcomes.acked)
}

/// A send whose delivery is awaited.
struct Waiting {
    started: Started,
    delivery: DeliveryFuture,
    /// The send's place in the lane's window, given back when it settles.
    permit: Option<OwnedSemaphorePermit>,
}

/// The first send of a batch, settled: its group's slot and the send's outcome.
struct Settled {
    /// `None` for a send awaited on its own.
    slot: Option<usize>,
    first: Waiting,
    result: Result<(), producer::Error>,
}

/// Emptied vectors of later sends kept for new groups, at most this many,
/// so that a group does not grow its vector from nothing again.
const SPARE_VECTORS: usize = 16;

/// The sends awaited, grouped by the batch their record went into.
#[derive(Default)]
struct Batches {
    /// The open groups, by slot; a slot is free while `None`.
    groups: Vec<Option<Group>>,
    /// Free slots of `groups`.
    free: Vec<usize>,
    /// The slot of each open group, by batch.
    slots: HashMap<BatchId, usize, FnvBuildHasher>,
    /// The group the latest send joined: with the sticky partitioner or one
    /// partition, the next send's too.
    latest: Option<(BatchId, usize)>,
    /// Emptied vectors of later sends, for new groups.
    spare: Vec<Vec<Waiting>>,
    /// The first send of every group, awaited.
    waiting: FuturesUnordered<BoxFuture<'static, Settled>>,
}

/// The sends of one batch after its first.
struct Group {
    batch: BatchId,
    later: Vec<Waiting>,
}

impl Batches {
    fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    fn group(&mut self, slot: usize) -> &mut Group {
        self.groups[slot].as_mut().expect("an open group's slot")
    }

    /// Awaits `send` with the others of its batch, or first of its batch.
    fn add(&mut self, send: Waiting) {
        if let Some((batch, slot)) = &self.latest
            && send.delivery.is_in(batch)
        {
            let slot = *slot;
            self.group(slot).later.push(send);
            return;
        }
        let batch = send.delivery.batch();
        if let Some(&slot) = self.slots.get(&batch) {
            self.group(slot).later.push(send);
            self.latest = Some((batch, slot));
            return;
        }
        let group = Group {
            batch: batch.clone(),
            later: self.spare.pop().unwrap_or_default(),
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.groups[slot] = Some(group);
                slot
            }
            None => {
                self.groups.push(Some(group));
                self.groups.len() - 1
            }
        };
        self.slots.insert(batch.clone(), slot);
        self.latest = Some((batch, slot));
        self.await_first(Some(slot), send);
    }

    fn await_first(&mut self, slot: Option<usize>, mut first: Waiting) {
        self.waiting.push(Box::pin(async move {
            let result = (&mut first.delivery).await.map(drop);
            Settled {
                slot,
                first,
                result,
            }
        }));
    }

    /// Records the outcome of a settled batch's sends, all at `done`; how
    /// many were acknowledged and how many failed.
    fn settle(&mut self, settled: Settled, done: Instant, outcomes: &mut Outcomes) -> (u64, u64) {
        let Settled {
            slot,
            first,
            result,
        } = settled;
        let mut counts = (0, 0);
        let mut count = |ok: bool| {
            if ok {
                counts.0 += 1;
            } else {
                counts.1 += 1;
            }
        };
        count(result.is_ok());
        outcomes.record(first.started, result, done);
        drop(first.permit);
        let Some(slot) = slot else {
            outcomes.record_run();
            return counts;
        };
        let Group { batch, mut later } = self.groups[slot].take().expect("a settled group is open");
        self.free.push(slot);
        self.slots.remove(&batch);
        if self
            .latest
            .as_ref()
            .is_some_and(|(_, latest)| *latest == slot)
        {
            self.latest = None;
        }
        let mut context = Context::from_waker(Waker::noop());
        for mut send in later.drain(..) {
            match Pin::new(&mut send.delivery).poll(&mut context) {
                Poll::Ready(result) => {
                    let result = result.map(drop);
                    count(result.is_ok());
                    outcomes.record(send.started, result, done);
                    drop(send.permit);
                }
                // A batch's records settle together; should one not have,
                // it is awaited on its own rather than lost.
                Poll::Pending => self.await_first(None, send),
            }
        }
        if self.spare.len() < SPARE_VECTORS {
            self.spare.push(later);
        }
        outcomes.record_run();
        counts
    }
}

/// Where a lane's outcomes are recorded.
struct Outcomes {
    recorder: Recorder,
    intervals: IntervalRecorder,
    acked: SequenceSet,
    /// Acknowledgements not recorded yet, all with the same latencies.
    run: Option<AckRun>,
}

/// Acknowledgements at one moment whose latencies are equal to the
/// microsecond, as the histograms keep them: the records of a batch sent
/// within the same microsecond. They are recorded with one histogram update.
struct AckRun {
    done: Instant,
    since_due: Duration,
    since_sent: Duration,
    /// `since_due` and `since_sent` in whole µs, what the histograms compare.
    micros: (u64, u64),
    count: u64,
    bytes: u64,
}

impl Outcomes {
    /// Records the outcome of the send `started`, settled at `done`.
    /// Acknowledgements are gathered into runs; call
    /// [`Outcomes::record_run`] when a batch is done.
    fn record(&mut self, started: Started, result: Result<(), producer::Error>, done: Instant) {
        match result {
            Ok(()) => {
                self.acked.insert(started.sequence);
                let since_sent = done.saturating_duration_since(started.sent);
                // In closed loop a message is due when it is sent: one subtraction, not two.
                let since_due = if started.due == started.sent {
                    since_sent
                } else {
                    done.saturating_duration_since(started.due)
                };
                let micros = (micros(since_due), micros(since_sent));
                if let Some(run) = &mut self.run
                    && run.done == done
                    && run.micros == micros
                {
                    run.count += 1;
                    run.bytes += started.bytes;
                    return;
                }
                self.record_run();
                self.run = Some(AckRun {
                    done,
                    since_due,
                    since_sent,
                    micros,
                    count: 1,
                    bytes: started.bytes,
                });
            }
            Err(e) => self.failed(&e, done),
        }
    }

    /// Records the acknowledgements gathered so far.
    fn record_run(&mut self) {
        if let Some(run) = self.run.take() {
            self.recorder
                .record_acks(run.since_due, run.since_sent, run.count, run.bytes);
            self.intervals.record_acks(
                run.done,
                run.since_due,
                run.since_sent,
                run.count,
                run.bytes,
            );
        }
    }

    /// Records a send that failed at `done`.
    fn failed(&mut self, error: &producer::Error, done: Instant) {
        self.recorder.record_error(error);
        self.intervals.record_error(done);
    }
}

/// `d` in whole µs (saturating), without the 128-bit arithmetic of `as_micros`.
fn micros(d: Duration) -> u64 {
    d.as_secs()
        .saturating_mul(1_000_000)
        .saturating_add(u64::from(d.subsec_micros()))
}

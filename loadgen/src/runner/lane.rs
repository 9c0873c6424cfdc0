//! A *lane*: one producer instance and what it keeps between phases (its
//! window of sends in flight, its message sequence, its key and size
//! pickers), and the records of one send as it passes from the lane's issuer
//! to its collector.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use producer::{DeliveryFuture, Header, Producer, Record};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::audit::SequenceSet;
use crate::interval::{IntervalRecorder, IntervalSink};
use crate::live::LaneCounters;
use crate::message_id::MessageId;
use crate::payload::{KeyPicker, ValueBuilder};
use crate::stop::Stop;
use crate::value_size::SizePicker;

/// One producer instance and what it keeps between phases.
#[derive(Debug)]
pub(super) struct Lane {
    pub(super) index: u32,
    pub(super) producer: Producer,
    /// What it sends.
    pub(super) messages: Messages,
    /// Permits for sends in flight when `in_flight` counts messages (every
    /// permit is back when a phase ends); `None` when the producer's
    /// `buffer_memory` is the window, and its `send` waits for room.
    pub(super) window: Option<Arc<Semaphore>>,
    /// The sequences acknowledged so far, in every phase, for the audit.
    pub(super) acked: SequenceSet,
    /// Running totals for the progress display.
    pub(super) counters: Arc<LaneCounters>,
}

/// The start of one send.
#[derive(Debug, Clone, Copy)]
pub(super) struct Started {
    pub(super) sequence: u64,
    pub(super) due: Instant,
    pub(super) sent: Instant,
    /// Bytes of the message's value.
    pub(super) bytes: u64,
}

/// A send handed to its lane's collector, which awaits its delivery.
#[derive(Debug)]
pub(super) struct InFlight {
    pub(super) started: Started,
    /// Its delivery, or why the producer refused it (boxed: refusals are
    /// rare, and the chunks handed to the collector stay small).
    pub(super) enqueued: Result<DeliveryFuture, Box<producer::Error>>,
    /// The send's place in the lane's window, given back when it settles.
    pub(super) permit: Option<OwnedSemaphorePermit>,
}

/// A lane's messages: each one's id, value size, key and headers, in sequence.
#[derive(Debug)]
pub(super) struct Messages {
    /// The producer instance's index, in every message id.
    pub(super) producer: u32,
    pub(super) values: ValueBuilder,
    pub(super) sizes: SizePicker,
    pub(super) keys: KeyPicker,
    pub(super) headers: Vec<Header>,
    /// The next message's sequence; how many the lane has started, in every phase.
    pub(super) next_sequence: u64,
    /// Turns the moment a send starts into the record's timestamp.
    pub(super) clock: WallClock,
}

/// The wall-clock time of a monotonic moment, in milliseconds since the Unix epoch: what
/// the issuers stamp each record with, from the clock reading they take for the send's
/// latency anyway, so that the producer does not read the system clock again per record
/// (a `clock_gettime` each: about 4% of a closed-loop run's time).
///
/// Anchored once, when the lane is made; the timestamps then follow the monotonic clock, so
/// they never step back when the system clock is adjusted during a run.
#[derive(Debug, Clone, Copy)]
pub(super) struct WallClock {
    anchor: Instant,
    anchor_ms: i64,
}

impl WallClock {
    /// Anchored at this moment.
    pub(super) fn now() -> WallClock {
        let anchor = Instant::now();
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        WallClock {
            anchor,
            anchor_ms: i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// `at` in milliseconds since the Unix epoch (the anchor's, for a moment before it).
    pub(super) fn millis(&self, at: Instant) -> i64 {
        let since = at.saturating_duration_since(self.anchor);
        self.anchor_ms
            .saturating_add(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
    }
}

impl Messages {
    /// The next message's record, with a value of `size` bytes (drawn from
    /// `sizes` by the caller, who needs it after the record is gone), stamped
    /// with `sent`, the moment its send starts.
    ///
    /// Inlined into the issuers and passed straight into `Producer::send`,
    /// so that the record (136 bytes) is not moved from place to place:
    /// each move was a `memcpy` call, and on the closed-loop path, at
    /// millions of messages a second, they added up.
    #[inline]
    pub(super) fn next_record(&mut self, size: usize, sent: Instant) -> Record {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let id = MessageId {
            producer: self.producer,
            sequence,
        };
        let mut record = Record::new(self.values.value(id, size));
        record.key = self.keys.key(sequence);
        record.timestamp = Some(self.clock.millis(sent));
        if !self.headers.is_empty() {
            record.headers.clone_from(&self.headers);
        }
        record
    }
}

/// Polls `future` once: its output if it is ready now, without waiting.
/// (`future` stays usable, to be awaited when it is not.)
pub(super) async fn ready_now<F: Future>(future: Pin<&mut F>) -> Option<F::Output> {
    let mut future = future;
    std::future::poll_fn(|cx| match future.as_mut().poll(cx) {
        Poll::Ready(output) => Poll::Ready(Some(output)),
        Poll::Pending => Poll::Ready(None),
    })
    .await
}

/// What a lane's issuer and collector need besides the lane: where their
/// seconds go and the stop switch.
#[derive(Debug, Clone)]
pub(super) struct Streams {
    pub(super) origin: Instant,
    pub(super) sink: IntervalSink,
    pub(super) stop: Stop,
}

impl Streams {
    /// A recorder of the seconds of a phase that started at `phase_start`.
    pub(super) fn intervals(&self, phase_start: Instant) -> IntervalRecorder {
        IntervalRecorder::new(self.origin, phase_start, self.sink.clone())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn the_wall_clock_follows_the_monotonic_one_from_its_anchor() {
        let before = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let clock = WallClock::now();
        let after = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
        let at_anchor = clock.millis(clock.anchor);
        assert!(
            (before.as_millis() as i64..=after.as_millis() as i64).contains(&at_anchor),
            "anchored at the system clock's reading"
        );
        assert_eq!(
            clock.millis(clock.anchor + Duration::from_millis(1_500)),
            at_anchor + 1_500
        );
        assert_eq!(
            clock.millis(clock.anchor + Duration::from_micros(999)),
            at_anchor,
            "whole milliseconds"
        );
        let earlier = clock.anchor.checked_sub(Duration::from_secs(1));
        if let Some(earlier) = earlier {
            assert_eq!(clock.millis(earlier), at_anchor, "never before the anchor");
        }
    }
}

//! Second-by-second recording of one stream of sends: a lane's issuer (what
//! was due and sent) or its collector (what was acknowledged or failed).
//!
//! Seconds are counted from the run's start (its *origin*), so they run on
//! across phases. Counts are kept per second for the whole phase (15 words
//! per second); latency histograms only for the current second: when a
//! message falls into a later second the finished one is *rotated* out to an
//! [`IntervalSink`], where a collector merges every lane's seconds. So the
//! cost per message is a subtraction, a comparison and the histogram records.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::mpsc;

use crate::recorder::{HIGHEST_MICROS, SIGNIFICANT_DIGITS};

/// What happened in one second, by count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SecondCounts {
    /// Messages due on the open-loop schedule in this second (the target); 0 in closed loop.
    pub due: u64,
    /// Sends started in this second.
    pub sent: u64,
    /// Sends acknowledged in this second.
    pub acked: u64,
    /// Sends that failed in this second.
    pub errors: u64,
    /// Value bytes of the sends acknowledged in this second.
    pub bytes: u64,
    /// The acknowledgements of this second by tenth of it (`[0]` is its first
    /// 100 ms): what shows a stall shorter than a second.
    pub acked_tenths: [u64; 10],
}

impl SecondCounts {
    /// Adds `other`'s counts to these.
    pub fn add(&mut self, other: &SecondCounts) {
        self.due += other.due;
        self.sent += other.sent;
        self.acked += other.acked;
        self.errors += other.errors;
        self.bytes += other.bytes;
        for (mine, theirs) in self.acked_tenths.iter_mut().zip(other.acked_tenths) {
            *mine += theirs;
        }
    }
}

/// What a stream reports to the collector.
// A second's three histograms are moved once, through a channel; boxing them would add an
// allocation per stream and second for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum IntervalEvent {
    /// A phase began; the runner sends it after the previous phase has ended.
    PhaseStarted {
        /// The phase's position in the scenario, from 0.
        index: usize,
        /// When it started.
        at: Instant,
    },
    /// The latencies acknowledged in one second by one stream, in µs.
    Latency {
        /// Seconds since the run's origin.
        second: u64,
        /// From due time to acknowledgement.
        corrected: Histogram<u64>,
        /// From send to acknowledgement.
        uncorrected: Histogram<u64>,
        /// From due time to send (schedule lag) of the same sends.
        lag: Histogram<u64>,
    },
    /// A stream's counts for consecutive seconds, at the end of its phase.
    Counts {
        /// The second of `counts[0]`.
        first: u64,
        /// One entry per second from `first`.
        counts: Vec<SecondCounts>,
    },
}

/// Where streams send their finished seconds; cheap to clone.
#[derive(Debug, Clone)]
pub struct IntervalSink(mpsc::UnboundedSender<IntervalEvent>);

impl IntervalSink {
    /// A sink and the receiver the collector reads.
    pub fn channel() -> (IntervalSink, mpsc::UnboundedReceiver<IntervalEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (IntervalSink(tx), rx)
    }

    /// Sends `event`; dropped when the collector is gone (the run is being abandoned).
    pub fn send(&self, event: IntervalEvent) {
        let _ = self.0.send(event);
    }
}

/// A histogram for one second: it grows to the largest value recorded
/// rather than reserving room for an hour up front.
pub fn second_histogram() -> Histogram<u64> {
    Histogram::new(SIGNIFICANT_DIGITS).expect("3 significant digits are valid")
}

/// The latencies of the second being recorded.
#[derive(Debug)]
struct OpenSecond {
    second: u64,
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
    lag: Histogram<u64>,
}

/// One stream's seconds in one phase.
#[derive(Debug)]
pub struct IntervalRecorder {
    origin: Instant,
    first: u64,
    counts: Vec<SecondCounts>,
    /// The second last counted in: from when, until when, its index in
    /// `counts`; a count in it costs two comparisons instead of a division.
    latest: Option<(Instant, Instant, usize)>,
    open: Option<OpenSecond>,
    sink: IntervalSink,
}

impl IntervalRecorder {
    /// A recorder for a phase starting at `phase_start`, counting seconds from `origin`.
    pub fn new(origin: Instant, phase_start: Instant, sink: IntervalSink) -> Self {
        IntervalRecorder {
            origin,
            first: second_since(origin, phase_start),
            counts: Vec::new(),
            latest: None,
            open: None,
            sink,
        }
    }

    /// Counts a message due at `due` on the open-loop schedule.
    pub fn record_due(&mut self, due: Instant) {
        self.counts_at(due).due += 1;
    }

    /// Counts a send started at `sent`.
    pub fn record_sent(&mut self, sent: Instant) {
        self.counts_at(sent).sent += 1;
    }

    /// Counts a failed send that ended at `done`.
    pub fn record_error(&mut self, done: Instant) {
        self.counts_at(done).errors += 1;
    }

    /// Counts an acknowledgement at `done` of `bytes` value bytes, with its
    /// latencies since the message was due and since its send started (their
    /// difference is its schedule lag).
    ///
    /// Acknowledgements reach the collector a little out of order; one that
    /// belongs to a second already rotated out is counted in the open one, in
    /// its first tenth.
    pub fn record_ack(
        &mut self,
        done: Instant,
        since_due: Duration,
        since_sent: Duration,
        bytes: u64,
    ) {
        self.record_acks(done, since_due, since_sent, 1, bytes);
    }

    /// Counts `n` acknowledgements at `done`, each with these latencies, of
    /// `bytes` value bytes in all (as [`IntervalRecorder::record_ack`] `n` times).
    pub fn record_acks(
        &mut self,
        done: Instant,
        since_due: Duration,
        since_sent: Duration,
        n: u64,
        bytes: u64,
    ) {
        if n == 0 {
            return;
        }
        let since_origin = done.saturating_duration_since(self.origin);
        let second = since_origin.as_secs();
        let open = match &mut self.open {
            Some(open) if open.second >= second => open,
            _ => self.rotate(second),
        };
        let _ = open.corrected.record_n(clamped_micros(since_due), n);
        let _ = open.uncorrected.record_n(clamped_micros(since_sent), n);
        let _ = open
            .lag
            .record_n(clamped_micros(since_due.saturating_sub(since_sent)), n);
        let tenth = if open.second == second {
            (since_origin.subsec_millis() / 100) as usize
        } else {
            0
        };
        let second = open.second;
        let counts = self.counts_at_second(second);
        counts.acked += n;
        counts.acked_tenths[tenth] += n;
        counts.bytes += bytes;
    }

    /// Sends what is left: the open second's latencies and every second's counts.
    pub fn finish(mut self) {
        if let Some(open) = self.open.take() {
            self.sink.send(latency_event(open));
        }
        let counts = std::mem::take(&mut self.counts);
        if !counts.is_empty() {
            self.sink.send(IntervalEvent::Counts {
                first: self.first,
                counts,
            });
        }
    }

    /// Sends the open second out and opens `second`.
    fn rotate(&mut self, second: u64) -> &mut OpenSecond {
        let next = OpenSecond {
            second,
            corrected: second_histogram(),
            uncorrected: second_histogram(),
            lag: second_histogram(),
        };
        if let Some(finished) = self.open.replace(next) {
            self.sink.send(latency_event(finished));
        }
        self.open.as_mut().expect("just opened")
    }

    fn counts_at(&mut self, t: Instant) -> &mut SecondCounts {
        if let Some((from, until, index)) = self.latest
            && from <= t
            && t < until
        {
            return &mut self.counts[index];
        }
        let second = second_since(self.origin, t);
        let index = self.index_of(second);
        if t >= self.origin {
            let from = self.origin + Duration::from_secs(second);
            self.latest = Some((from, from + Duration::from_secs(1), index));
        }
        &mut self.counts[index]
    }

    fn counts_at_second(&mut self, second: u64) -> &mut SecondCounts {
        let index = self.index_of(second);
        &mut self.counts[index]
    }

    /// The index of `second` in `counts`, which grows to hold it.
    fn index_of(&mut self, second: u64) -> usize {
        // Nothing in a phase happens before it starts; clamp if it ever did.
        let index = usize::try_from(second.saturating_sub(self.first)).unwrap_or(usize::MAX);
        if index >= self.counts.len() {
            self.counts.resize(index + 1, SecondCounts::default());
        }
        index
    }
}

fn latency_event(open: OpenSecond) -> IntervalEvent {
    IntervalEvent::Latency {
        second: open.second,
        corrected: open.corrected,
        uncorrected: open.uncorrected,
        lag: open.lag,
    }
}

/// Whole seconds from `origin` to `t` (0 when `t` is earlier).
pub fn second_since(origin: Instant, t: Instant) -> u64 {
    t.saturating_duration_since(origin).as_secs()
}

/// `d` in µs, at most the histograms' highest value (1 hour), as the run's totals clamp it.
fn clamped_micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros())
        .unwrap_or(u64::MAX)
        .min(HIGHEST_MICROS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain(rx: &mut mpsc::UnboundedReceiver<IntervalEvent>) -> Vec<IntervalEvent> {
        let mut events = Vec::new();
        while let Ok(event) = rx.try_recv() {
            events.push(event);
        }
        events
    }

    #[test]
    fn a_new_second_rotates_the_finished_seconds_latencies_out() {
        let (sink, mut rx) = IntervalSink::channel();
        let origin = Instant::now();
        let at = |ms: u64| origin + Duration::from_millis(ms);
        let mut r = IntervalRecorder::new(origin, origin, sink);
        r.record_ack(
            at(100),
            Duration::from_millis(5),
            Duration::from_millis(2),
            10,
        );
        r.record_ack(
            at(900),
            Duration::from_millis(7),
            Duration::from_millis(3),
            10,
        );
        assert!(drain(&mut rx).is_empty(), "second 0 is still open");
        r.record_ack(
            at(2500),
            Duration::from_millis(9),
            Duration::from_millis(4),
            10,
        );
        let events = drain(&mut rx);
        assert_eq!(events.len(), 1);
        match &events[0] {
            IntervalEvent::Latency {
                second,
                corrected,
                uncorrected,
                lag,
            } => {
                assert_eq!(*second, 0);
                assert_eq!(corrected.len(), 2);
                assert!(corrected.equivalent(corrected.max(), 7000));
                assert_eq!(uncorrected.max(), 3000 + 1, "3000 µs, bucket upper end");
                assert!(
                    lag.equivalent(lag.max(), 4000),
                    "7 ms since due, 3 since sent"
                );
            }
            other => panic!("{other:?}"),
        }
        r.finish();
        let events = drain(&mut rx);
        assert!(
            matches!(&events[0], IntervalEvent::Latency { second: 2, corrected, .. } if corrected.len() == 1)
        );
        match &events[1] {
            IntervalEvent::Counts { first, counts } => {
                assert_eq!(*first, 0);
                let acked: Vec<u64> = counts.iter().map(|c| c.acked).collect();
                assert_eq!(acked, [2, 0, 1]);
                assert_eq!(counts[0].bytes, 20);
                assert_eq!(counts[2].acked_tenths, [0, 0, 0, 0, 0, 1, 0, 0, 0, 0]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_late_acknowledgement_counts_in_the_open_second() {
        let (sink, mut rx) = IntervalSink::channel();
        let origin = Instant::now();
        let mut r = IntervalRecorder::new(origin, origin, sink);
        let ms = Duration::from_millis;
        r.record_ack(origin + ms(1100), ms(1), ms(1), 1);
        r.record_ack(origin + ms(999), ms(1), ms(1), 1);
        r.finish();
        let events = drain(&mut rx);
        assert_eq!(events.len(), 2, "one second of latencies, then the counts");
        assert!(
            matches!(&events[0], IntervalEvent::Latency { second: 1, corrected, .. } if corrected.len() == 2)
        );
        assert!(
            matches!(&events[1], IntervalEvent::Counts { first: 0, counts } if counts[1].acked == 2)
        );
        match &events[1] {
            IntervalEvent::Counts { counts, .. } => assert_eq!(
                counts[1].acked_tenths,
                [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
                "at 1.1 s in the second tenth, the late one in the first"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn due_sent_and_errors_count_by_their_own_times_from_the_phase_start() {
        let (sink, mut rx) = IntervalSink::channel();
        let origin = Instant::now();
        let s = Duration::from_secs;
        let mut r = IntervalRecorder::new(origin, origin + s(3), sink);
        // Behind schedule: due in second 3, sent in second 5.
        r.record_due(origin + s(3));
        r.record_sent(origin + s(5));
        r.record_error(origin + s(5));
        r.record_due(origin + s(3) + Duration::from_millis(10));
        r.finish();
        let events = drain(&mut rx);
        assert_eq!(events.len(), 1, "no latencies were recorded");
        match &events[0] {
            IntervalEvent::Counts { first, counts } => {
                assert_eq!(*first, 3);
                assert_eq!(counts.len(), 3);
                assert_eq!(counts[0].due, 2);
                assert_eq!((counts[2].sent, counts[2].errors), (1, 1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn sends_count_in_their_second_whichever_second_came_before() {
        let (sink, mut rx) = IntervalSink::channel();
        let origin = Instant::now();
        let ms = Duration::from_millis;
        let mut r = IntervalRecorder::new(origin, origin, sink);
        // In order, back into an earlier second, on a second's boundaries,
        // and before the origin (counted in the first second).
        for t in [100, 999, 1000, 1500, 998, 2999, 3000, 1001] {
            r.record_sent(origin + ms(t));
        }
        r.record_sent(origin.checked_sub(ms(5)).unwrap_or(origin));
        r.finish();
        match &drain(&mut rx)[..] {
            [IntervalEvent::Counts { first: 0, counts }] => {
                let sent: Vec<u64> = counts.iter().map(|c| c.sent).collect();
                assert_eq!(sent, [4, 3, 1, 1]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn counts_add_field_by_field() {
        let mut a = SecondCounts {
            due: 1,
            sent: 2,
            acked: 3,
            errors: 4,
            bytes: 5,
            acked_tenths: [1; 10],
        };
        a.add(&a.clone());
        assert_eq!(
            a,
            SecondCounts {
                due: 2,
                sent: 4,
                acked: 6,
                errors: 8,
                bytes: 10,
                acked_tenths: [2; 10],
            }
        );
    }
}

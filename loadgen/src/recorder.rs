//! The measurements of one producer instance in one phase, mergeable into
//! phase and run totals.
//!
//! Latency is recorded twice, in microseconds:
//! - *corrected*: from when the message was due on the phase's schedule to its
//!   acknowledgement, so time spent waiting to be sent behind a slow broker
//!   counts (the coordinated-omission correction of wrk2);
//! - *uncorrected*: from when the send actually started to its acknowledgement.
//!
//! In closed loop a message is due when it is sent, and the two are equal.
//!
//! A third histogram holds each send's *schedule lag*, how late it started
//! relative to when it was due: the part of the corrected latency spent
//! before the send.

use std::collections::BTreeMap;
use std::time::Duration;

use hdrhistogram::Histogram;

/// Smallest latency the histograms tell apart: 1 µs.
pub const LOWEST_MICROS: u64 = 1;
/// Largest latency the histograms hold, 1 hour; longer ones are recorded as 1 hour.
pub const HIGHEST_MICROS: u64 = 3_600_000_000;
/// Significant decimal digits kept for every value.
pub const SIGNIFICANT_DIGITS: u8 = 3;

/// Counters and latency histograms of some sends.
#[derive(Debug, Clone)]
pub struct Recorder {
    corrected: Histogram<u64>,
    uncorrected: Histogram<u64>,
    lag: Histogram<u64>,
    sent: u64,
    acked: u64,
    acked_bytes: u64,
    errors: BTreeMap<String, ErrorTally>,
}

/// How often one kind of error happened, with the first message as an example.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorTally {
    /// How many sends failed this way.
    pub count: u64,
    /// The first such error, as displayed.
    pub example: String,
}

impl Default for Recorder {
    fn default() -> Self {
        Recorder::new()
    }
}

impl Recorder {
    /// Nothing recorded yet.
    pub fn new() -> Self {
        let histogram = || {
            Histogram::new_with_bounds(LOWEST_MICROS, HIGHEST_MICROS, SIGNIFICANT_DIGITS)
                .expect("the bounds are valid constants")
        };
        Recorder {
            corrected: histogram(),
            uncorrected: histogram(),
            lag: histogram(),
            sent: 0,
            acked: 0,
            acked_bytes: 0,
            errors: BTreeMap::new(),
        }
    }

    /// A recorder holding what another one recorded, from its parts as a
    /// report carries them: the corrected, uncorrected and schedule-lag
    /// histograms, the sends started and acknowledged, the bytes acknowledged
    /// and the errors by kind.
    ///
    /// # Errors
    /// When a histogram's bounds are not those every recorder uses.
    pub fn from_parts(
        [corrected, uncorrected, lag]: [Histogram<u64>; 3],
        sent: u64,
        acked: u64,
        acked_bytes: u64,
        errors: BTreeMap<String, ErrorTally>,
    ) -> Result<Recorder, String> {
        let empty = Recorder::new();
        for (name, h) in [
            ("corrected", &corrected),
            ("uncorrected", &uncorrected),
            ("schedule lag", &lag),
        ] {
            if (h.low(), h.high(), h.sigfig())
                != (
                    empty.corrected.low(),
                    empty.corrected.high(),
                    SIGNIFICANT_DIGITS,
                )
            {
                return Err(format!(
                    "the {name} histogram has bounds {}..{} with {} digits; loadgen's are {LOWEST_MICROS}..{HIGHEST_MICROS} with {SIGNIFICANT_DIGITS}",
                    h.low(),
                    h.high(),
                    h.sigfig()
                ));
            }
        }
        Ok(Recorder {
            corrected,
            uncorrected,
            lag,
            sent,
            acked,
            acked_bytes,
            errors,
        })
    }

    /// Counts a send that started `lag` after it was due (zero in closed loop).
    pub fn record_sent(&mut self, lag: Duration) {
        self.record_sent_n(lag, 1);
    }

    /// Counts `n` sends that each started `lag` after they were due.
    pub fn record_sent_n(&mut self, lag: Duration, n: u64) {
        if n > 0 {
            self.sent += n;
            self.lag.saturating_record_n(micros(lag), n);
        }
    }

    /// Counts an acknowledgement of a value of `bytes` that came `since_due`
    /// after the message was due and `since_sent` after its send started.
    pub fn record_ack(&mut self, since_due: Duration, since_sent: Duration, bytes: u64) {
        self.record_acks(since_due, since_sent, 1, bytes);
    }

    /// Counts `n` acknowledgements, each `since_due` after its message was
    /// due and `since_sent` after its send started, of `bytes` value bytes in all.
    pub fn record_acks(&mut self, since_due: Duration, since_sent: Duration, n: u64, bytes: u64) {
        if n > 0 {
            self.acked += n;
            self.acked_bytes += bytes;
            self.corrected.saturating_record_n(micros(since_due), n);
            self.uncorrected.saturating_record_n(micros(since_sent), n);
        }
    }

    /// Counts a failed send under its [`error_kind`].
    pub fn record_error(&mut self, error: &producer::Error) {
        self.errors
            .entry(error_kind(error))
            .and_modify(|tally| tally.count += 1)
            .or_insert_with(|| ErrorTally {
                count: 1,
                example: error.to_string(),
            });
    }

    /// Adds everything `other` recorded.
    pub fn merge(&mut self, other: &Recorder) {
        // Both histograms have the same bounds, so adding cannot fail.
        self.corrected
            .add(&other.corrected)
            .expect("histograms with equal bounds add");
        self.uncorrected
            .add(&other.uncorrected)
            .expect("histograms with equal bounds add");
        self.lag
            .add(&other.lag)
            .expect("histograms with equal bounds add");
        self.sent += other.sent;
        self.acked += other.acked;
        self.acked_bytes += other.acked_bytes;
        for (kind, tally) in &other.errors {
            self.errors
                .entry(kind.clone())
                .and_modify(|mine| mine.count += tally.count)
                .or_insert_with(|| tally.clone());
        }
    }

    /// Sends started.
    pub fn sent(&self) -> u64 {
        self.sent
    }

    /// Sends acknowledged (with `acks = 0`: written to the connection).
    pub fn acked(&self) -> u64 {
        self.acked
    }

    /// Bytes of the values of the acknowledged sends.
    pub fn acked_bytes(&self) -> u64 {
        self.acked_bytes
    }

    /// Sends that failed, of every kind.
    pub fn error_count(&self) -> u64 {
        self.errors.values().map(|t| t.count).sum()
    }

    /// Failed sends by [`error_kind`], in name order.
    pub fn errors(&self) -> &BTreeMap<String, ErrorTally> {
        &self.errors
    }

    /// Latency from due time to acknowledgement, in µs.
    pub fn corrected(&self) -> &Histogram<u64> {
        &self.corrected
    }

    /// Latency from send to acknowledgement, in µs.
    pub fn uncorrected(&self) -> &Histogram<u64> {
        &self.uncorrected
    }

    /// How late each send started relative to its due time, in µs.
    pub fn lag(&self) -> &Histogram<u64> {
        &self.lag
    }

    /// How late the latest send started relative to its due time (to 3 significant digits).
    pub fn max_lag(&self) -> Duration {
        Duration::from_micros(self.lag.max())
    }
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

/// A short, stable name for what went wrong: [`producer::Error::kind`].
pub fn error_kind(error: &producer::Error) -> String {
    error.kind()
}

#[cfg(test)]
mod tests {
    use producer::frame::Status;

    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn acks_go_to_both_histograms_in_microseconds() {
        let mut r = Recorder::new();
        r.record_sent(ms(0));
        r.record_ack(ms(5), ms(2), 100);
        assert_eq!((r.sent(), r.acked(), r.error_count()), (1, 1, 0));
        assert_eq!(r.acked_bytes(), 100);
        // Values are kept to 3 significant digits: 5000 µs is stored as 5000..=5003.
        assert!(r.corrected().equivalent(r.corrected().max(), 5000));
        assert_eq!(r.uncorrected().max(), 2000, "exact below 2048 µs");
    }

    #[test]
    fn merging_adds_counts_bytes_histograms_and_errors_and_keeps_the_largest_lag() {
        let mut a = Recorder::new();
        a.record_sent(ms(3));
        a.record_ack(ms(10), ms(1), 16);
        a.record_sent(ms(0));
        a.record_error(&producer::Error::Closed);
        let mut b = Recorder::new();
        b.record_sent(ms(7));
        b.record_ack(ms(20), ms(2), 5000);
        b.record_sent(ms(1));
        b.record_error(&producer::Error::Closed);
        b.record_sent(ms(1));
        b.record_error(&producer::Error::Broker {
            status: Status::BrokerBusy,
            message: String::new(),
        });

        a.merge(&b);
        assert_eq!((a.sent(), a.acked(), a.error_count()), (5, 2, 3));
        assert_eq!(a.acked_bytes(), 5016);
        assert_eq!(a.corrected().len(), 2);
        assert!(a.corrected().equivalent(a.corrected().max(), 20_000));
        assert_eq!(a.uncorrected().max(), 2000);
        assert!(a.lag().equivalent(a.lag().max(), 7000));
        assert_eq!(a.lag().len(), 5, "every send's lag is kept");
        let kinds: Vec<(&str, u64)> = a
            .errors()
            .iter()
            .map(|(k, t)| (k.as_str(), t.count))
            .collect();
        assert_eq!(kinds, [("BROKER_BUSY", 1), ("closed", 2)]);
        assert_eq!(a.errors()["closed"].example, "the producer is closed");
    }

    #[test]
    fn error_kinds_are_status_names_or_snake_case_variants() {
        let busy = producer::Error::Broker {
            status: Status::BrokerBusy,
            message: "later".into(),
        };
        assert_eq!(error_kind(&busy), "BROKER_BUSY");
        assert_eq!(error_kind(&producer::Error::Closed), "closed");
        let too_large = producer::Error::MessageTooLarge { size: 9, limit: 1 };
        assert_eq!(error_kind(&too_large), "message_too_large");
    }

    #[test]
    fn counting_n_at_once_is_counting_them_one_by_one() {
        let (mut one_by_one, mut at_once) = (Recorder::new(), Recorder::new());
        for _ in 0..3 {
            one_by_one.record_sent(ms(2));
            one_by_one.record_ack(ms(7), ms(5), 100);
        }
        at_once.record_sent_n(ms(2), 3);
        at_once.record_acks(ms(7), ms(5), 3, 300);
        at_once.record_sent_n(ms(9), 0);
        at_once.record_acks(ms(9), ms(9), 0, 0);
        for r in [&one_by_one, &at_once] {
            assert_eq!((r.sent(), r.acked(), r.acked_bytes()), (3, 3, 300));
        }
        assert_eq!(one_by_one.corrected(), at_once.corrected());
        assert_eq!(one_by_one.uncorrected(), at_once.uncorrected());
        assert_eq!(one_by_one.lag(), at_once.lag());
    }

    #[test]
    fn latencies_beyond_an_hour_are_clamped_not_lost() {
        let mut r = Recorder::new();
        r.record_ack(Duration::from_secs(7200), ms(1), 100);
        assert_eq!(r.corrected().len(), 1);
        assert!(r.corrected().max() >= HIGHEST_MICROS);
    }
}

//! The "no progress" rule: a run in which no send has succeeded for `[target] max_failing`
//! while sends failed or waited gives up, instead of going on for its whole length against a
//! broker that went away or an address that is no broker.
//!
//! [`ProgressWatch`] is the rule, pure, the clock passed in; [`watch`] is the task that applies
//! it to the run's live counters a few times a second and, when it trips, abandons the run.

use std::time::{Duration, Instant};

use producer::Producer;
use tokio_util::sync::CancellationToken;

use crate::live::{Live, LiveTotals};
use crate::stop::Stop;

/// How often the live counters are read.
const TICK: Duration = Duration::from_millis(200);

/// Whether a run is making progress, from its live totals over time.
#[derive(Debug)]
pub(super) struct ProgressWatch {
    limit: Duration,
    last: LiveTotals,
    stalled_since: Option<Instant>,
}

impl ProgressWatch {
    /// A watch that trips once no send has succeeded for `limit` while sends failed or waited.
    pub(super) fn new(limit: Duration) -> Self {
        ProgressWatch {
            limit,
            last: LiveTotals::default(),
            stalled_since: None,
        }
    }

    /// Takes the totals read at `now`; once the run has been stuck for the limit, how long.
    ///
    /// Stuck: no acknowledgement since a send failed or waited for its answer. A run that
    /// only has nothing to send (between slow sends, say) is not stuck, nor made unstuck.
    pub(super) fn observe(&mut self, now: Instant, totals: LiveTotals) -> Option<Duration> {
        let acked = totals.acked > self.last.acked;
        let failed = totals.errors > self.last.errors;
        let waiting = totals.sent > totals.acked + totals.errors;
        self.last = totals;
        if acked {
            self.stalled_since = None;
            return None;
        }
        if failed || waiting {
            self.stalled_since.get_or_insert(now);
        }
        let stalled = now.saturating_duration_since(self.stalled_since?);
        (stalled >= self.limit).then_some(stalled)
    }
}

/// Why a run gave up: what [`watch`] saw when its rule tripped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stuck {
    /// How long no send had succeeded.
    pub stalled: Duration,
    /// The producers' latest error (naming the broker), if any send failed or was retried.
    pub last_error: Option<String>,
    /// Sends waiting for an answer when it tripped.
    pub waiting: u64,
}

/// Reads `live` every [`TICK`] until `done` is cancelled; when no send has succeeded for `limit`
/// while sends failed or waited, abandons the run through `stop` and says why, with the latest
/// error of `producers`.
pub(super) async fn watch(
    live: Live,
    producers: Vec<Producer>,
    limit: Duration,
    stop: Stop,
    done: CancellationToken,
) -> Option<Stuck> {
    let mut rule = ProgressWatch::new(limit);
    let mut ticks = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            () = done.cancelled() => return None,
            _ = ticks.tick() => {}
        }
        let totals = live.totals();
        if let Some(stalled) = rule.observe(Instant::now(), totals) {
            let mut metrics = producer::Metrics::default();
            for producer in &producers {
                metrics.add(&producer.metrics());
            }
            tracing::debug!(?stalled, ?totals, "no progress: giving up");
            stop.abandon();
            return Some(Stuck {
                stalled,
                last_error: metrics.last_error,
                waiting: totals.sent.saturating_sub(totals.acked + totals.errors),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(sent: u64, acked: u64, errors: u64) -> LiveTotals {
        LiveTotals {
            sent,
            acked,
            errors,
            lag_micros: 0,
        }
    }

    #[test]
    fn sends_that_wait_without_an_answer_trip_it_after_the_limit() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut watch = ProgressWatch::new(Duration::from_secs(5));
        assert_eq!(watch.observe(at(0), totals(10, 0, 0)), None);
        assert_eq!(watch.observe(at(4_999), totals(20, 0, 0)), None);
        assert_eq!(
            watch.observe(at(5_000), totals(20, 0, 0)),
            Some(Duration::from_secs(5))
        );
    }

    #[test]
    fn failing_sends_trip_it_and_one_acknowledgement_resets_it() {
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        let mut watch = ProgressWatch::new(Duration::from_secs(2));
        assert_eq!(watch.observe(at(0), totals(5, 0, 5)), None);
        assert_eq!(watch.observe(at(1_500), totals(9, 1, 8)), None, "acked");
        assert_eq!(watch.observe(at(2_000), totals(12, 1, 11)), None);
        assert_eq!(watch.observe(at(3_999), totals(14, 1, 13)), None);
        assert_eq!(
            watch.observe(at(4_000), totals(15, 1, 14)),
            Some(Duration::from_secs(2))
        );
    }

    #[test]
    fn a_run_with_nothing_outstanding_is_not_stuck() {
        let start = Instant::now();
        let at = |s| start + Duration::from_secs(s);
        let mut watch = ProgressWatch::new(Duration::from_secs(2));
        assert_eq!(watch.observe(at(0), totals(1, 1, 0)), None);
        // A slow schedule: nothing sent, nothing waiting, for ten seconds.
        assert_eq!(watch.observe(at(10), totals(1, 1, 0)), None);
        assert_eq!(watch.observe(at(11), totals(2, 1, 0)), None, "waiting 0 s");
        assert_eq!(watch.observe(at(12), totals(2, 2, 0)), None);
        assert_eq!(watch.observe(at(20), totals(2, 2, 0)), None);
    }

    #[test]
    fn slow_sends_that_all_fail_trip_it_though_nothing_waits_between_them() {
        let start = Instant::now();
        let at = |s| start + Duration::from_secs(s);
        let mut watch = ProgressWatch::new(Duration::from_secs(5));
        assert_eq!(watch.observe(at(0), totals(1, 0, 1)), None);
        assert_eq!(watch.observe(at(4), totals(1, 0, 1)), None);
        assert_eq!(
            watch.observe(at(6), totals(1, 0, 1)),
            Some(Duration::from_secs(6))
        );
    }
}

//! Running totals of each producer instance, updated as sends start and end
//! and read once a second by the progress display.
//!
//! One writer per counter (a lane's issuer or its collector) and relaxed
//! atomics: an uncontended add per message, never a lock.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One producer instance's running totals.
#[derive(Debug, Default)]
pub struct LaneCounters {
    sent: AtomicU64,
    acked: AtomicU64,
    errors: AtomicU64,
    lag_micros: AtomicU64,
}

impl LaneCounters {
    /// Counts a send that started `lag` after it was due.
    pub fn sent(&self, lag: Duration) {
        self.sent_many(1, lag);
    }

    /// Counts `n` sends, the latest of which started `lag` after it was due.
    pub fn sent_many(&self, n: u64, lag: Duration) {
        self.sent.fetch_add(n, Ordering::Relaxed);
        let micros = u64::try_from(lag.as_micros()).unwrap_or(u64::MAX);
        self.lag_micros.store(micros, Ordering::Relaxed);
    }

    /// Counts `n` acknowledgements.
    pub fn acked_many(&self, n: u64) {
        if n > 0 {
            self.acked.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts `n` failed sends.
    pub fn failed_many(&self, n: u64) {
        if n > 0 {
            self.errors.fetch_add(n, Ordering::Relaxed);
        }
    }
}

/// The totals of every producer instance, as read at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveTotals {
    /// Sends started since the run began.
    pub sent: u64,
    /// Sends acknowledged since the run began.
    pub acked: u64,
    /// Sends failed since the run began.
    pub errors: u64,
    /// The largest schedule lag of any instance's latest send, in µs.
    pub lag_micros: u64,
}

/// Every producer instance's counters.
#[derive(Debug, Default, Clone)]
pub struct Live {
    lanes: Vec<Arc<LaneCounters>>,
}

impl Live {
    /// Counters for `lanes` producer instances.
    pub fn new(lanes: u32) -> Self {
        Live {
            lanes: (0..lanes).map(|_| Arc::default()).collect(),
        }
    }

    /// Instance `index`'s counters.
    ///
    /// # Panics
    /// If `index` is not below the count given to [`Live::new`].
    pub fn lane(&self, index: u32) -> Arc<LaneCounters> {
        Arc::clone(&self.lanes[index as usize])
    }

    /// The sums (and the largest lag) now.
    pub fn totals(&self) -> LiveTotals {
        self.lanes
            .iter()
            .fold(LiveTotals::default(), |mut totals, lane| {
                totals.sent += lane.sent.load(Ordering::Relaxed);
                totals.acked += lane.acked.load(Ordering::Relaxed);
                totals.errors += lane.errors.load(Ordering::Relaxed);
                totals.lag_micros = totals
                    .lag_micros
                    .max(lane.lag_micros.load(Ordering::Relaxed));
                totals
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_sum_the_lanes_and_keep_the_largest_latest_lag() {
        let live = Live::new(2);
        let (a, b) = (live.lane(0), live.lane(1));
        a.sent(Duration::from_millis(9));
        a.sent(Duration::from_micros(5));
        b.sent(Duration::from_micros(70));
        a.acked_many(1);
        b.acked_many(1);
        b.failed_many(1);
        assert_eq!(
            live.totals(),
            LiveTotals {
                sent: 3,
                acked: 2,
                errors: 1,
                lag_micros: 70
            }
        );
    }
}

//! Waiting for a message's due time on a blocking thread, to within microseconds.
//!
//! tokio's timer has 1 ms resolution, and an OS sleep wakes some tens of
//! microseconds late (Linux adds 50 µs of timer slack to every sleep). Either
//! error would be counted as schedule lag in every corrected latency. So the
//! pacer sleeps until shortly before the due time, by a margin learned from
//! how late its sleeps wake, and spins for the rest. When the next message is
//! due sooner than that margin it just sleeps, accepting the overshoot, so a
//! high rate does not turn into a busy loop.

use std::time::{Duration, Instant};

/// The first guess of how late a sleep wakes.
const INITIAL_OVERSHOOT: Duration = Duration::from_micros(80);
/// Added to the learned overshoot, so most sleeps wake before the due time.
const HEADROOM: Duration = Duration::from_micros(20);
/// The learned overshoot never exceeds this, so the pacer never spins longer.
const MAX_MARGIN: Duration = Duration::from_millis(1);

/// Waits for due times; one per issuing thread.
#[derive(Debug, Clone)]
pub struct Pacer {
    /// A moving average of how late sleeps wake.
    overshoot: Duration,
}

impl Default for Pacer {
    fn default() -> Self {
        Pacer::new()
    }
}

impl Pacer {
    /// A pacer that has not slept yet.
    pub fn new() -> Self {
        Pacer {
            overshoot: INITIAL_OVERSHOOT,
        }
    }

    /// Returns at `due` or, when already past it, at once. Blocks the thread.
    pub fn wait_until(&mut self, due: Instant) {
        let now = Instant::now();
        let Some(ahead) = due.checked_duration_since(now) else {
            return;
        };
        let margin = (self.overshoot + HEADROOM).min(MAX_MARGIN);
        match ahead.checked_sub(margin) {
            Some(sleep) if !sleep.is_zero() => {
                let wake = now + sleep;
                std::thread::sleep(sleep);
                self.learn(Instant::now().saturating_duration_since(wake));
                while Instant::now() < due {
                    std::hint::spin_loop();
                }
            }
            // Due within the margin: spinning that long per message would burn
            // a core at high rates, so sleep and accept waking a little late.
            _ => std::thread::sleep(ahead),
        }
    }

    /// How late sleeps wake, as currently estimated.
    pub fn overshoot(&self) -> Duration {
        self.overshoot
    }

    fn learn(&mut self, overshoot: Duration) {
        // An exponential moving average with weight 1/8 for the newest sample.
        self.overshoot = (self.overshoot * 7 + overshoot.min(MAX_MARGIN)) / 8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_returns_before_the_due_time() {
        let mut pacer = Pacer::new();
        for micros in [0, 10, 150, 500, 2000] {
            let due = Instant::now() + Duration::from_micros(micros);
            pacer.wait_until(due);
            assert!(Instant::now() >= due, "{micros} µs");
        }
    }

    #[test]
    fn a_past_due_time_returns_at_once() {
        let mut pacer = Pacer::new();
        let before = pacer.overshoot();
        pacer.wait_until(Instant::now() - Duration::from_millis(5));
        assert_eq!(pacer.overshoot(), before, "nothing slept, nothing learned");
    }

    #[test]
    fn the_learned_overshoot_follows_the_samples_and_stays_bounded() {
        let mut pacer = Pacer::new();
        for _ in 0..100 {
            pacer.learn(Duration::from_micros(40));
        }
        let learned = pacer.overshoot().as_micros();
        assert!((39..=41).contains(&learned), "{learned}");
        for _ in 0..100 {
            pacer.learn(Duration::from_secs(1));
        }
        let capped = pacer.overshoot();
        assert!(
            capped <= MAX_MARGIN && capped > MAX_MARGIN * 99 / 100,
            "{capped:?}"
        );
    }
}

//! Retry backoff: exponential with jitter and a cap, as the Java client (KIP-580).

use std::time::Duration;

/// Delays between retries: `base × 2^(attempt − 1)`, capped at `max`, each
/// spread by ±20% jitter so that many clients do not retry in lockstep.
///
/// ```
/// use std::time::Duration;
/// use producer::backoff::Backoff;
/// let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(1), 7);
/// let first = backoff.next_delay();
/// assert!(first >= Duration::from_millis(80) && first <= Duration::from_millis(120));
/// ```
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    max: Duration,
    attempt: u32,
    rng: u64,
}

/// The fraction of a delay that jitter may add or remove.
const JITTER: f64 = 0.2;

impl Backoff {
    /// A backoff starting at `base`, never above `max`; `seed` makes the jitter reproducible.
    pub fn new(base: Duration, max: Duration, seed: u64) -> Self {
        Backoff {
            base,
            max: max.max(base),
            attempt: 0,
            // xorshift must not start at 0.
            rng: seed | 1,
        }
    }

    /// The delay before the next retry.
    pub fn next_delay(&mut self) -> Duration {
        self.attempt = self.attempt.saturating_add(1);
        let exponent = (self.attempt - 1).min(32);
        let raw = self.base.as_secs_f64() * 2f64.powi(exponent as i32);
        let capped = raw.min(self.max.as_secs_f64());
        let jitter = 1.0 + JITTER * (2.0 * self.unit() - 1.0);
        Duration::from_secs_f64(capped * jitter)
    }

    /// The delay before retry number `attempt` (1 for the first), drawing
    /// jitter from this backoff: for callers that track attempts themselves.
    pub fn delay_for_attempt(&mut self, attempt: u32) -> Duration {
        self.attempt = attempt.saturating_sub(1);
        self.next_delay()
    }

    /// How many delays have been handed out since the last reset.
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// Starts again from `base`, after a success.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }

    /// A uniform number in [0, 1).
    fn unit(&mut self) -> f64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        (self.rng >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> f64 {
        d.as_secs_f64() * 1000.0
    }

    #[test]
    fn delays_double_within_the_jitter_until_the_cap() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_millis(1000), 42);
        let expected = [100.0, 200.0, 400.0, 800.0, 1000.0, 1000.0];
        for (attempt, nominal) in expected.iter().enumerate() {
            let delay = ms(backoff.next_delay());
            assert!(
                delay >= nominal * 0.8 && delay <= nominal * 1.2,
                "attempt {}: {delay} ms is not within 20% of {nominal} ms",
                attempt + 1
            );
        }
        assert_eq!(backoff.attempts(), 6);
        backoff.reset();
        assert!(ms(backoff.next_delay()) <= 120.0);
    }

    #[test]
    fn jitter_varies_and_is_reproducible_from_the_seed() {
        let delays = |seed| {
            let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(100), seed);
            (0..20).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(delays(1), delays(1));
        assert_ne!(delays(1), delays(2));
        let distinct: std::collections::BTreeSet<_> = delays(3).into_iter().collect();
        assert!(distinct.len() > 10, "jitter spreads the delays");
    }

    #[test]
    fn many_attempts_do_not_overflow() {
        let mut backoff = Backoff::new(Duration::from_millis(1), Duration::from_secs(5), 9);
        for _ in 0..1000 {
            assert!(backoff.next_delay() <= Duration::from_secs(6));
        }
    }
}

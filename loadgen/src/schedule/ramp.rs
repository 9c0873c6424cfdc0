//! Due times on a rate that changes linearly over a phase.
//!
//! Over a phase of length `T` ramping from `A` to `B` messages per second, the
//! rate at time `t` is `A + (B − A)·t/T`, so `n(t) = A·t + (B − A)·t²/(2T)`
//! messages are due by `t`. Message `g` is due at the `t` where `n(t) = g`, the
//! root of `(B − A)/(2T)·t² + A·t − g = 0`. It is computed as
//! `t = 2g / (A + √(A² + 2(B − A)·g/T))`: the quadratic formula multiplied
//! through by its conjugate, which neither divides by `B − A` (zero for a flat
//! ramp) nor subtracts nearly equal numbers (when `A²` dwarfs the rest).

use std::time::Duration;

const NANOS_PER_SECOND: u128 = 1_000_000_000;

/// A linear ramp of the rate from `from` to `to` messages per second over `length`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ramp {
    from: u64,
    to: u64,
    length: Duration,
}

impl Ramp {
    /// The ramp from `from` to `to` messages per second over `length`.
    ///
    /// # Panics
    /// If both rates are 0 or `length` is zero.
    pub fn new(from: u64, to: u64, length: Duration) -> Self {
        assert!(
            (from > 0 || to > 0) && !length.is_zero(),
            "a ramp {from}→{to} over {length:?}"
        );
        Ramp { from, to, length }
    }

    /// The ramp from `from` to `to` that lasts as long as `messages` take:
    /// `2 · messages / (from + to)` seconds, to the nanosecond above.
    ///
    /// # Panics
    /// If both rates are 0.
    pub fn sending(from: u64, to: u64, messages: u64) -> Self {
        let sum = u128::from(from) + u128::from(to);
        assert!(sum > 0, "a ramp {from}→{to}");
        let nanos = (2 * u128::from(messages) * NANOS_PER_SECOND).div_ceil(sum);
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX).max(1);
        Ramp::new(from, to, Duration::from_nanos(nanos))
    }

    /// How long the ramp lasts.
    pub fn length(&self) -> Duration {
        self.length
    }

    /// How many messages are due strictly before the ramp's end: those `g`
    /// with `g < n(T) = (A + B)·T/2`.
    pub fn messages(&self) -> u64 {
        let scaled = self
            .length
            .as_nanos()
            .checked_mul(u128::from(self.from) + u128::from(self.to));
        scaled.map_or(u64::MAX, |scaled| {
            u64::try_from(scaled.div_ceil(2 * NANOS_PER_SECOND)).unwrap_or(u64::MAX)
        })
    }

    /// How long after the ramp's start message `g` is due, rounded down to the nanosecond.
    pub fn due(&self, g: u64) -> Duration {
        if self.from == self.to {
            // Exact integer arithmetic, as for a constant rate.
            let nanos = u128::from(g) * NANOS_PER_SECOND / u128::from(self.from);
            return Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
        }
        if g == 0 {
            return Duration::ZERO;
        }
        let (a, b, g) = (self.from as f64, self.to as f64, g as f64);
        let t = self.length.as_secs_f64();
        // Below 0 only by rounding, or for a message beyond the peak of a ramp
        // down to 0, which never comes: `messages` stops before it.
        let discriminant = (a * a + 2.0 * (b - a) * g / t).max(0.0);
        let seconds = 2.0 * g / (a + discriminant.sqrt());
        // `as` saturates: a time beyond u64 nanoseconds (584 years) becomes the largest.
        Duration::from_nanos((seconds * 1e9).floor() as u64)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn a_ramp_up_follows_the_inverse_of_the_cumulative_count() {
        // 0→2000 over 1 s: n(t) = 1000·t², so message g is due at √(g/1000) s.
        let ramp = Ramp::new(0, 2000, Duration::from_secs(1));
        assert_eq!(ramp.messages(), 1000);
        assert_eq!(ramp.due(0), Duration::ZERO);
        assert_eq!(ramp.due(10), Duration::from_millis(100));
        assert_eq!(ramp.due(250), Duration::from_millis(500));
        let last = ramp.due(999);
        assert!(
            last < Duration::from_secs(1) && last > Duration::from_millis(999),
            "{last:?}"
        );
    }

    #[test]
    fn a_ramp_down_to_zero_sends_half_as_many_and_the_last_message_is_due_near_the_end() {
        // 2000→0 over 1 s: n(t) = 2000·t − 1000·t², at most 1000 by t = 1 s.
        let ramp = Ramp::new(2000, 0, Duration::from_secs(1));
        assert_eq!(ramp.messages(), 1000);
        // n(0.5 s) = 750.
        assert_eq!(ramp.due(750), Duration::from_millis(500));
        let last = ramp.due(999);
        assert!(last > Duration::from_millis(950), "{last:?}");
        assert!(last < Duration::from_secs(1), "{last:?}");
    }

    #[test]
    fn a_flat_ramp_is_exactly_a_constant_rate() {
        let ramp = Ramp::new(3, 3, Duration::from_secs(1));
        assert_eq!(ramp.messages(), 3);
        assert_eq!(ramp.due(1), Duration::from_nanos(333_333_333));
        assert_eq!(ramp.due(3), Duration::from_secs(1));
    }

    #[test]
    fn a_ramp_of_n_messages_lasts_until_the_nth_is_due() {
        let ramp = Ramp::sending(10_000, 100_000, 275_000);
        assert_eq!(ramp.length(), Duration::from_secs(5));
        assert_eq!(ramp.messages(), 275_000);
        assert_eq!(Ramp::sending(1, 0, 0).length(), Duration::from_nanos(1));
    }

    #[test]
    fn the_rate_starts_at_from_and_ends_at_to() {
        // The example: 10 000 → 100 000 msgs/s over 5 s.
        let ramp = Ramp::new(10_000, 100_000, Duration::from_secs(5));
        assert_eq!(ramp.messages(), 275_000);
        // Over the first 100 messages (about 10 ms) the rate rises by 1.8%.
        let start = 100.0 / ramp.due(100).as_secs_f64();
        assert!((10_000.0..10_100.0).contains(&start), "{start}");
        // Over the last 1000 messages (about 10 ms) it rises by 0.2%.
        let last = ramp.messages() - 1;
        let end = 1000.0 / (ramp.due(last) - ramp.due(last - 1000)).as_secs_f64();
        assert!((99_750.0..100_050.0).contains(&end), "{end}");
        // Halfway through, 2.5 s and n(2.5 s) = 81 250 messages in, the rate is the mean of the two.
        let middle = ramp.due(81_750) - ramp.due(80_750);
        assert!(
            (middle.as_secs_f64() - 1000.0 / 55_000.0).abs() < 1e-4,
            "{middle:?}"
        );
    }

    #[test]
    fn numbers_beyond_any_phase_saturate_instead_of_overflowing() {
        let huge = Ramp::new(u64::MAX, 1, Duration::MAX);
        assert_eq!(huge.messages(), u64::MAX);
        assert!(huge.due(u64::MAX) > Duration::ZERO);
        assert_eq!(
            Ramp::sending(0, 1, u64::MAX).length(),
            Duration::from_nanos(u64::MAX)
        );
        // A message beyond the peak of a ramp down is due at 2g / from: 2^65 s, beyond u64 nanoseconds.
        let short = Ramp::new(1, 0, Duration::from_nanos(1));
        assert_eq!(short.due(u64::MAX), Duration::from_nanos(u64::MAX));
    }

    /// A ramp of realistic rates (either end may be 0) and length.
    fn ramps() -> impl Strategy<Value = Ramp> {
        (0..=1_000_000u64, 0..=1_000_000u64, 1..=600_000u64)
            .prop_filter("a ramp needs a rate above 0", |(a, b, _)| *a > 0 || *b > 0)
            .prop_map(|(a, b, ms)| Ramp::new(a, b, Duration::from_millis(ms)))
    }

    /// A ramp whose rates are both at least 1000 msgs/s, at least 1 s long.
    fn busy_ramps() -> impl Strategy<Value = Ramp> {
        (1000..=1_000_000u64, 1000..=1_000_000u64, 1000..=600_000u64)
            .prop_map(|(a, b, ms)| Ramp::new(a, b, Duration::from_millis(ms)))
    }

    /// The rate of `ramp` at `t`, messages per second.
    fn rate_at(ramp: &Ramp, t: Duration) -> f64 {
        let (a, b) = (ramp.from as f64, ramp.to as f64);
        a + (b - a) * t.as_secs_f64() / ramp.length.as_secs_f64()
    }

    /// The mean rate of messages `first..=last`, checked against the rate at
    /// both ends of their span: by the mean value theorem it lies between them.
    fn mean_rate_between_the_ends(
        ramp: &Ramp,
        first: u64,
        last: u64,
    ) -> Result<f64, TestCaseError> {
        let (t1, t2) = (ramp.due(first), ramp.due(last));
        let measured = (last - first) as f64 / (t2 - t1).as_secs_f64();
        let (r1, r2) = (rate_at(ramp, t1), rate_at(ramp, t2));
        // Due times are rounded down to the nanosecond: the span is off by up to 1 ns.
        let slack = 1e-9 / (t2 - t1).as_secs_f64() + 1e-6;
        prop_assert!(
            measured >= r1.min(r2) * (1.0 - slack) && measured <= r1.max(r2) * (1.0 + slack),
            "{measured} msgs/s between {first} at {t1:?} ({r1}) and {last} at {t2:?} ({r2})"
        );
        Ok(measured)
    }

    proptest! {
        #[test]
        fn due_times_never_go_backwards(ramp in ramps(), picks in prop::collection::vec(0.0..1.0f64, 20)) {
            let total = ramp.messages();
            prop_assume!(total >= 2);
            let mut checked: Vec<u64> = (0..total.min(200)).collect();
            checked.extend(total.saturating_sub(200)..total);
            checked.extend(picks.iter().map(|p| ((total - 1) as f64 * p) as u64));
            for g in checked {
                prop_assert!(ramp.due(g) <= ramp.due(g + 1), "{g}: {ramp:?}");
                prop_assert!(ramp.due(g) <= ramp.length, "{g}: {ramp:?}");
            }
        }

        #[test]
        fn a_timed_ramp_sends_its_mean_rate_times_its_length(ramp in ramps()) {
            let expected = ((ramp.from + ramp.to) as f64 / 2.0 * ramp.length.as_secs_f64()).round();
            let total = ramp.messages();
            prop_assert!((total as f64 - expected).abs() <= 1.0, "{total} vs {expected}");
            if total > 0 {
                prop_assert!(ramp.due(total - 1) <= ramp.length);
            }
        }

        #[test]
        fn the_rate_is_from_at_the_start_and_to_at_the_end(ramp in busy_ramps()) {
            let total = ramp.messages();
            // Spans of 20 messages, at most 22 ms from either end: short enough
            // for the rate to change by at most 2.2% of (to − from) over a ramp
            // of at least 1 s.
            let start = mean_rate_between_the_ends(&ramp, 0, 20)?;
            let end = mean_rate_between_the_ends(&ramp, total - 21, total - 1)?;
            let change = ramp.to.abs_diff(ramp.from) as f64;
            let near = |measured: f64, rate: u64| (measured - rate as f64).abs() <= 0.03 * change + 1e-3 * rate as f64;
            prop_assert!(near(start, ramp.from), "{start} msgs/s at the start of {ramp:?}");
            prop_assert!(near(end, ramp.to), "{end} msgs/s at the end of {ramp:?}");
        }

        #[test]
        fn the_rate_between_any_two_messages_is_between_the_rates_at_their_due_times(
            ramp in busy_ramps(), at in 0.0..1.0f64, span in 20..1000u64,
        ) {
            let total = ramp.messages();
            let first = ((total - span - 1) as f64 * at) as u64;
            mean_rate_between_the_ends(&ramp, first, first + span)?;
        }
    }
}

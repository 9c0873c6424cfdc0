//! The run's seconds, every lane merged: the per-second series behind the
//! interval log, the JSON `intervals` and the HTML charts.
//!
//! Seconds arrive as [`IntervalEvent`]s from each stream. A second's
//! histograms stay open for merging while later parts may still come, then
//! are *closed*: reduced to their percentiles and encoded in HdrHistogram's
//! compressed V2 form (typically a few hundred bytes instead of tens of
//! kilobytes; three per second: corrected, uncorrected and schedule lag), so
//! an hour-long run keeps a few megabytes. A part that arrives
//! for a closed second (a lane that stalled) is decoded, added, and closed again.

use std::collections::BTreeMap;
use std::io::Cursor;

use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};

use crate::interval::{IntervalEvent, SecondCounts, second_histogram};

/// One second of the run, every lane merged.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    /// Seconds since the run's start: this interval covers `[second, second + 1)`.
    pub second: u64,
    /// What was due, sent, acknowledged and failed in it.
    pub counts: SecondCounts,
    /// Latency from due time to acknowledgement of the sends acknowledged in it.
    pub corrected: SecondLatency,
    /// Latency from send to acknowledgement of the same sends.
    pub uncorrected: SecondLatency,
    /// Schedule lag (from due time to send) of the same sends.
    pub lag: SecondLatency,
}

/// One second's latency histogram, in µs: a few percentiles, and the whole
/// histogram compressed.
#[derive(Debug, Clone, PartialEq)]
pub struct SecondLatency {
    /// Values recorded.
    pub count: u64,
    /// The median (0 when empty); each value is the upper end of its bucket.
    pub p50: u64,
    /// The 90th percentile.
    pub p90: u64,
    /// The 99th percentile.
    pub p99: u64,
    /// The largest value.
    pub max: u64,
    encoded: Vec<u8>,
}

impl SecondLatency {
    /// `histogram`'s percentiles and compressed form.
    pub fn from_histogram(histogram: &Histogram<u64>) -> Self {
        let mut encoded = Vec::new();
        V2DeflateSerializer::new()
            .serialize(histogram, &mut encoded)
            .expect("a histogram serializes into memory");
        let at = |q| {
            if histogram.is_empty() {
                0
            } else {
                histogram.value_at_quantile(q)
            }
        };
        SecondLatency {
            count: histogram.len(),
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            max: if histogram.is_empty() {
                0
            } else {
                histogram.max()
            },
            encoded,
        }
    }

    /// The histogram again.
    pub fn histogram(&self) -> Histogram<u64> {
        Deserializer::new()
            .deserialize(&mut Cursor::new(&self.encoded))
            .expect("encoded by from_histogram")
    }
}

/// A second's three histograms while parts may still arrive: corrected, uncorrected, lag.
type OpenLatencies = [Histogram<u64>; 3];
/// A second's three histograms closed: corrected, uncorrected, lag.
type ClosedLatencies = [SecondLatency; 3];

/// The open and closed seconds of a run, as they arrive.
#[derive(Debug, Default)]
pub struct IntervalSeries {
    counts: Vec<SecondCounts>,
    open: BTreeMap<u64, OpenLatencies>,
    closed: BTreeMap<u64, ClosedLatencies>,
}

impl IntervalSeries {
    /// Nothing yet.
    pub fn new() -> Self {
        IntervalSeries::default()
    }

    /// Merges a stream's event in; phase starts carry nothing to merge.
    pub fn add(&mut self, event: IntervalEvent) {
        match event {
            IntervalEvent::PhaseStarted { .. } => {}
            IntervalEvent::Counts { first, counts } => {
                for (offset, part) in counts.iter().enumerate() {
                    self.counts_at(first + offset as u64).add(part);
                }
            }
            IntervalEvent::Latency {
                second,
                corrected,
                uncorrected,
                lag,
            } => self.add_latency(second, [&corrected, &uncorrected, &lag]),
        }
    }

    fn add_latency(&mut self, second: u64, parts: [&Histogram<u64>; 3]) {
        let open = match self.closed.remove(&second) {
            Some(closed) => {
                let reopened = closed.map(|c| c.histogram());
                self.open.entry(second).or_insert(reopened)
            }
            None => self
                .open
                .entry(second)
                .or_insert_with(|| std::array::from_fn(|_| second_histogram())),
        };
        for (histogram, part) in open.iter_mut().zip(parts) {
            // Auto-resizing histograms of equal precision always add.
            histogram.add(part).expect("second histograms add");
        }
    }

    /// Closes every open second before `second`.
    pub fn close_before(&mut self, second: u64) {
        let still_open = self.open.split_off(&second);
        for (s, open) in std::mem::replace(&mut self.open, still_open) {
            self.closed
                .insert(s, open.map(|h| SecondLatency::from_histogram(&h)));
        }
    }

    /// The corrected latency at `quantile` of the acknowledgements of
    /// `seconds` merged so far, in µs; `None` without any.
    pub fn corrected_quantile(&self, seconds: std::ops::Range<u64>, quantile: f64) -> Option<u64> {
        let mut merged = second_histogram();
        for second in seconds {
            // Auto-resizing histograms of equal precision always add.
            if let Some([corrected, ..]) = self.open.get(&second) {
                merged.add(corrected).expect("second histograms add");
            } else if let Some([corrected, ..]) = self.closed.get(&second) {
                merged
                    .add(corrected.histogram())
                    .expect("second histograms add");
            }
        }
        (!merged.is_empty()).then(|| merged.value_at_quantile(quantile))
    }

    /// Every second from 0 to the last with anything in it, and at least
    /// `seconds` of them (the run's length, rounded up), empty ones included.
    pub fn into_intervals(mut self, seconds: u64) -> Vec<Interval> {
        self.close_before(u64::MAX);
        let last_latency = self.closed.keys().next_back().map_or(0, |s| s + 1);
        let len = seconds.max(self.counts.len() as u64).max(last_latency);
        let empty = SecondLatency::from_histogram(&second_histogram());
        (0..len)
            .map(|second| {
                let [corrected, uncorrected, lag] = self
                    .closed
                    .remove(&second)
                    .unwrap_or_else(|| std::array::from_fn(|_| empty.clone()));
                Interval {
                    second,
                    counts: self
                        .counts
                        .get(second as usize)
                        .copied()
                        .unwrap_or_default(),
                    corrected,
                    uncorrected,
                    lag,
                }
            })
            .collect()
    }

    fn counts_at(&mut self, second: u64) -> &mut SecondCounts {
        let index = usize::try_from(second).expect("a run has fewer seconds than usize::MAX");
        if index >= self.counts.len() {
            self.counts.resize(index + 1, SecondCounts::default());
        }
        &mut self.counts[index]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn latency(second: u64, values: &[u64]) -> IntervalEvent {
        let mut corrected = second_histogram();
        let mut uncorrected = second_histogram();
        let mut lag = second_histogram();
        for &v in values {
            corrected.record(v).unwrap();
            uncorrected.record(v / 2).unwrap();
            lag.record(v - v / 2).unwrap();
        }
        IntervalEvent::Latency {
            second,
            corrected,
            uncorrected,
            lag,
        }
    }

    fn acked(first: u64, acked: &[u64]) -> IntervalEvent {
        IntervalEvent::Counts {
            first,
            counts: acked
                .iter()
                .map(|&a| SecondCounts {
                    acked: a,
                    ..SecondCounts::default()
                })
                .collect(),
        }
    }

    #[test]
    fn parts_of_the_same_second_merge_across_lanes() {
        let mut series = IntervalSeries::new();
        series.add(latency(1, &[100, 200]));
        series.add(latency(1, &[300]));
        series.add(acked(0, &[0, 2]));
        series.add(acked(1, &[1]));
        let intervals = series.into_intervals(3);
        assert_eq!(intervals.len(), 3);
        assert_eq!(intervals[0].corrected.count, 0);
        assert_eq!(intervals[1].counts.acked, 3);
        assert_eq!(intervals[1].corrected.count, 3);
        assert_eq!(intervals[1].corrected.p50, 200);
        assert_eq!(intervals[1].corrected.max, 300);
        assert_eq!(intervals[1].uncorrected.max, 150);
        assert_eq!(intervals[1].lag.max, 150);
        assert_eq!(intervals[1].lag.count, 3);
        assert_eq!(intervals[2], {
            let mut i = intervals[0].clone();
            i.second = 2;
            i
        });
    }

    #[test]
    fn a_part_for_a_closed_second_is_added_to_it() {
        let mut series = IntervalSeries::new();
        series.add(latency(0, &[10]));
        series.close_before(5);
        series.add(latency(0, &[20, 30]));
        let intervals = series.into_intervals(1);
        assert_eq!(intervals[0].corrected.count, 3);
        assert_eq!(intervals[0].corrected.max, 30);
        let histogram = intervals[0].corrected.histogram();
        assert_eq!(histogram.len(), 3);
        assert_eq!(histogram.min(), 10);
    }

    #[test]
    fn a_quantile_of_some_seconds_merges_open_and_closed_ones() {
        let mut series = IntervalSeries::new();
        series.add(latency(0, &[100, 200]));
        series.add(latency(1, &[300]));
        series.add(latency(3, &[9000]));
        series.close_before(1);
        assert_eq!(series.corrected_quantile(0..2, 1.0), Some(300));
        assert_eq!(series.corrected_quantile(0..1, 0.5), Some(100));
        assert_eq!(series.corrected_quantile(2..3, 0.99), None);
        assert_eq!(series.corrected_quantile(1..4, 0.0), Some(300));
    }

    #[test]
    fn the_series_covers_the_runs_length_and_every_second_with_data() {
        let mut series = IntervalSeries::new();
        series.add(acked(4, &[1]));
        assert_eq!(series.into_intervals(2).len(), 5);
        assert_eq!(IntervalSeries::new().into_intervals(2).len(), 2);
    }
}

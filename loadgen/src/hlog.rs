//! HdrHistogram's interval log (`.hlog`): one histogram per second of the
//! run, as Java HdrHistogram's `HistogramLogWriter` writes it and its
//! `HistogramLogProcessor` and HdrHistogramVisualizer read it.
//!
//! Each second is written twice, tagged `corrected` and `uncorrected`,
//! values in µs, compressed (V2 with deflate) and base64-encoded. The
//! `StartTime` and `BaseTime` headers are the first phase's start, and each
//! interval's timestamp is its offset from it in seconds.

use std::io::{self, Write};
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use crate::interval_series::Interval;

/// The tag of the corrected latency's histograms.
pub const CORRECTED_TAG: &str = "corrected";
/// The tag of the uncorrected latency's histograms.
pub const UNCORRECTED_TAG: &str = "uncorrected";

/// Writes the interval log of a run that started at `started` to `out`.
///
/// # Errors
/// When `out` cannot be written, or (never in practice) a histogram cannot be encoded.
pub fn write_interval_log<W: Write>(
    out: &mut W,
    scenario: &str,
    started: SystemTime,
    intervals: &[Interval],
) -> io::Result<()> {
    let mut serializer = V2DeflateSerializer::new();
    let mut log = IntervalLogWriterBuilder::new()
        .add_comment(&format!(
            "loadgen interval log of scenario {}: one histogram per second, values in µs, \
             tags {CORRECTED_TAG} and {UNCORRECTED_TAG}",
            one_line(scenario)
        ))
        .add_comment("[Histogram log format version 1.3]")
        .with_start_time(started)
        .with_base_time(started)
        // The Interval_Max column in ms, as Java's tools print it.
        .with_max_value_divisor(1000.0)
        .begin_log_with(out, &mut serializer)?;
    let one_second = Duration::from_secs(1);
    for interval in intervals {
        let start = Duration::from_secs(interval.second);
        for (tag, latency) in [
            (CORRECTED_TAG, &interval.corrected),
            (UNCORRECTED_TAG, &interval.uncorrected),
        ] {
            let tag = Tag::new(tag).expect("the tags have no commas, spaces or newlines");
            log.write_histogram(&latency.histogram(), start, one_second, Some(tag))
                .map_err(|e| io::Error::other(format!("cannot encode a histogram: {e}")))?;
        }
    }
    Ok(())
}

/// `text` without line breaks, which would end the comment.
fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use hdrhistogram::Histogram;
    use hdrhistogram::serialization::Deserializer;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

    use super::*;
    use crate::interval::{IntervalEvent, SecondCounts, second_histogram};
    use crate::interval_series::IntervalSeries;

    fn intervals() -> Vec<Interval> {
        let mut series = IntervalSeries::new();
        for (second, values) in [(0u64, vec![900u64, 1200, 5000]), (2, vec![40_000])] {
            let mut corrected = second_histogram();
            let mut uncorrected = second_histogram();
            for v in &values {
                corrected.record(*v).unwrap();
                uncorrected.record(v / 2).unwrap();
            }
            series.add(IntervalEvent::Latency {
                second,
                corrected,
                uncorrected,
                lag: second_histogram(),
            });
            series.add(IntervalEvent::Counts {
                first: second,
                counts: vec![SecondCounts {
                    acked: values.len() as u64,
                    ..SecondCounts::default()
                }],
            });
        }
        series.into_intervals(3)
    }

    #[test]
    fn the_log_reads_back_with_one_histogram_per_second_and_tag_adding_up_to_the_acks() {
        let intervals = intervals();
        let acked: u64 = intervals.iter().map(|i| i.counts.acked).sum();
        let started = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_250);
        let mut out = Vec::new();
        write_interval_log(&mut out, "smoke\ntest", started, &intervals).unwrap();
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(
            text.contains("#[StartTime: 1700000000.250 (seconds since epoch)]\n"),
            "{text}"
        );
        assert!(text.contains("scenario smoke test:"), "{text}");

        let mut starts = Vec::new();
        let mut bases = Vec::new();
        let mut corrected_total = 0;
        let mut seen = Vec::new();
        for entry in IntervalLogIterator::new(&out) {
            match entry.unwrap() {
                LogEntry::StartTime(t) => starts.push(t),
                LogEntry::BaseTime(t) => bases.push(t),
                LogEntry::Interval(h) => {
                    let tag = h.tag().unwrap().as_str().to_string();
                    let bytes = base64_decode(h.encoded_histogram());
                    let histogram: Histogram<u64> = Deserializer::new()
                        .deserialize(&mut Cursor::new(bytes))
                        .unwrap();
                    if tag == CORRECTED_TAG {
                        corrected_total += histogram.len();
                        // The max column is in ms.
                        assert!((h.max() - histogram.max() as f64 / 1000.0).abs() < 1e-3);
                    }
                    assert_eq!(h.duration(), Duration::from_secs(1));
                    seen.push((h.start_timestamp().as_secs(), tag));
                }
            }
        }
        assert_eq!(starts, [Duration::from_millis(1_700_000_000_250)]);
        assert_eq!(bases, starts);
        assert_eq!(corrected_total, acked);
        let expected: Vec<(u64, String)> = (0..3)
            .flat_map(|s| [(s, "corrected".into()), (s, "uncorrected".into())])
            .collect();
        assert_eq!(seen, expected);
    }

    fn base64_decode(text: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap()
    }
}

//! The charts of the HTML report, built from a run's result as [`Chart`]s
//! for [`svg_chart`](crate::svg_chart) to draw: throughput over time (100 ms
//! and one-second steps), corrected and uncorrected latency and schedule lag
//! over time (p50, p99 and max of each second), and latency by percentile,
//! in total and per phase.
//!
//! Every time chart is a step chart over the run's real length: a bucket is
//! drawn over the time it covers, and a rate is divided by that time, so the
//! last, partial second is neither a cliff nor a spike. Each carries the
//! phases as bands (a warmup shaded) and the fault windows.

use hdrhistogram::Histogram;

use crate::interval_series::{Interval, SecondLatency};
use crate::recorder::Recorder;
use crate::run_result::RunResult;
use crate::svg_chart::{Band, BandKind, Chart, Series, XScale, steps};

/// Quantile steps per halving of the distance to 100% in the percentile chart, as in `.hgrm`.
const TICKS_PER_HALF_DISTANCE: u32 = 5;

/// Colours of the per-phase lines of the percentile chart, in phase order (then again).
const PHASE_COLORS: [&str; 6] = [
    "#d68910", "#17a589", "#884ea0", "#2e4053", "#ba4a00", "#1f618d",
];

/// The time charts' x axis.
const SECONDS_SINCE_START: &str = "seconds since the start";

/// Which latency of each second a chart shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LatencyKind {
    /// From due time to acknowledgement.
    Corrected,
    /// From send to acknowledgement.
    Uncorrected,
    /// From due time to send.
    ScheduleLag,
}

/// The run's length in seconds: the end of its last phase.
pub fn run_seconds(result: &RunResult) -> f64 {
    result.phase_spans().last().map_or(0.0, |span| span.1)
}

/// The phases (a phase not recorded, a warmup, shaded) and the fault windows, as bands over `[0, end]` seconds.
pub fn bands(result: &RunResult) -> Vec<Band> {
    let end = run_seconds(result);
    let mut bands: Vec<Band> = result
        .phases
        .iter()
        .zip(result.phase_spans())
        .map(|(phase, (from, to))| Band {
            from,
            to,
            label: phase.name.clone(),
            kind: BandKind::Phase {
                shaded: !phase.record,
            },
        })
        .collect();
    for fault in &result.faults {
        let from = fault.spec.at.map_or(0.0, |at| at.0.as_secs_f64());
        let to = fault
            .spec
            .duration
            .map_or(end, |d| from + d.0.as_secs_f64());
        bands.push(Band {
            from,
            to,
            label: format!("fault: {}", fault.spec.kind),
            kind: BandKind::Fault,
        });
    }
    bands
}

/// Acknowledgements per second in 100 ms steps and in one-second steps, the
/// target where the schedule set one, and failed sends where there were any;
/// each bucket divided by the part of it the run covered.
pub fn throughput_chart(result: &RunResult) -> Chart {
    let end = run_seconds(result);
    let intervals = &result.intervals;
    let per_second = |value: fn(&Interval) -> u64| {
        steps(intervals.iter().filter_map(|i| {
            let from = i.second as f64;
            rate(value(i), from, from + 1.0, end).map(|(to, r)| (from, to, Some(r)))
        }))
    };
    let mut series = vec![
        Series {
            name: "acked msgs/s, 100 ms steps".into(),
            color: "#82e0aa",
            dashed: false,
            points: steps(intervals.iter().flat_map(|i| {
                i.counts
                    .acked_tenths
                    .iter()
                    .enumerate()
                    .filter_map(move |(tenth, &count)| {
                        let from = i.second as f64 + tenth as f64 / 10.0;
                        rate(count, from, from + 0.1, end).map(|(to, r)| (from, to, Some(r)))
                    })
            })),
        },
        Series {
            name: "acked msgs/s, per second".into(),
            color: "#1e8449",
            dashed: false,
            points: per_second(|i| i.counts.acked),
        },
    ];
    if intervals.iter().any(|i| i.counts.due > 0) {
        series.push(Series {
            name: "target msgs/s".into(),
            color: "#566573",
            dashed: true,
            points: per_second(|i| i.counts.due),
        });
    }
    if intervals.iter().any(|i| i.counts.errors > 0) {
        series.push(Series {
            name: "failed sends/s".into(),
            color: "#c0392b",
            dashed: false,
            points: per_second(|i| i.counts.errors),
        });
    }
    Chart {
        title: "Throughput over time".into(),
        x_label: SECONDS_SINCE_START.into(),
        y_label: "messages per second".into(),
        x_scale: XScale::Linear,
        series,
        bands: bands(result),
    }
}

/// `count` events in the bucket `[from, to)` as a rate over the part of it
/// before `end`: the bucket's real end and the rate, or `None` for a bucket
/// wholly after the end (an event there, which the clocks' skew can put in,
/// is counted over the whole bucket).
fn rate(count: u64, from: f64, to: f64, end: f64) -> Option<(f64, f64)> {
    let real_end = to.min(end);
    if real_end - from > 1e-6 {
        Some((real_end, count as f64 / (real_end - from)))
    } else if count > 0 {
        Some((to, count as f64 / (to - from)))
    } else {
        None
    }
}

/// The p50, p99 and max of each second's `kind` of latency, in ms; a second
/// without acknowledgements is a gap.
pub fn latency_over_time_chart(result: &RunResult, kind: LatencyKind) -> Chart {
    let end = run_seconds(result);
    let pick = move |i: &Interval| -> SecondLatency {
        match kind {
            LatencyKind::Corrected => i.corrected.clone(),
            LatencyKind::Uncorrected => i.uncorrected.clone(),
            LatencyKind::ScheduleLag => i.lag.clone(),
        }
    };
    let line = |name: &str, color, dashed, value: fn(&SecondLatency) -> u64| Series {
        name: name.into(),
        color,
        dashed,
        points: steps(result.intervals.iter().map(|i| {
            let latency = pick(i);
            let from = i.second as f64;
            // The last second ends with the run; a second after it (skew) is drawn whole.
            let to = if end > from {
                (from + 1.0).min(end)
            } else {
                from + 1.0
            };
            let value = (latency.count > 0).then(|| value(&latency) as f64 / 1000.0);
            (from, to, value)
        })),
    };
    let (title, y_label) = match kind {
        LatencyKind::Corrected => (
            "Corrected latency over time (from due time to acknowledgement)",
            "latency (ms)",
        ),
        LatencyKind::Uncorrected => (
            "Uncorrected latency over time (from send to acknowledgement)",
            "latency (ms)",
        ),
        LatencyKind::ScheduleLag => ("Schedule lag over time (from due time to send)", "lag (ms)"),
    };
    Chart {
        title: title.into(),
        x_label: format!("{SECONDS_SINCE_START} (each second's acknowledgements)"),
        y_label: y_label.into(),
        x_scale: XScale::Linear,
        series: vec![
            line("p50", "#2471a3", false, |l| l.p50),
            line("p99", "#c0392b", false, |l| l.p99),
            line("max", "#7d3c98", true, |l| l.max),
        ],
        bands: bands(result),
    }
}

/// Points of `histogram` (µs) by percentile, in ms, as the `.hgrm` rows, up to its max.
pub fn percentile_points(histogram: &Histogram<u64>) -> Vec<(f64, f64)> {
    if histogram.is_empty() {
        return Vec::new();
    }
    let mut points: Vec<(f64, f64)> = histogram
        .iter_quantiles(TICKS_PER_HALF_DISTANCE)
        .map(|step| (step.quantile_iterated_to(), step.value_iterated_to()))
        .filter(|&(q, _)| q < 1.0)
        .map(|(q, v)| (q, v as f64 / 1000.0))
        .collect();
    // The max at the last percentile one value resolves (1 - 1/n), as the plotter shows it.
    let last = points.last().map_or(0.0, |p| p.0);
    let tail = (1.0 - 1.0 / histogram.len() as f64).max(last);
    points.push((tail, histogram.max() as f64 / 1000.0));
    points
}

/// Latency by percentile: the recorded phases' total, corrected and
/// uncorrected, and each phase's corrected latency (but for a phase that is
/// the whole total), as HdrHistogram's plotter
/// draws them (x: percentile on a log scale of `1 / (1 - p)`).
pub fn percentile_chart(result: &RunResult, total: &Recorder) -> Chart {
    let mut series = vec![
        Series {
            name: "total corrected".into(),
            color: "#c0392b",
            dashed: false,
            points: percentile_points(total.corrected()),
        },
        Series {
            name: "total uncorrected".into(),
            color: "#2471a3",
            dashed: true,
            points: percentile_points(total.uncorrected()),
        },
    ];
    // The only recorded phase is the total already.
    let recorded = result.phases.iter().filter(|p| p.record).count();
    for (index, phase) in result.phases.iter().enumerate() {
        if phase.record && recorded == 1 {
            continue;
        }
        series.push(Series {
            name: format!("{} corrected", phase.name),
            color: PHASE_COLORS[index % PHASE_COLORS.len()],
            dashed: false,
            points: percentile_points(phase.recorder.corrected()),
        });
    }
    Chart {
        title: "Latency by percentile".into(),
        x_label: "percentile".into(),
        y_label: "latency (ms)".into(),
        x_scale: XScale::Percentile,
        series,
        bands: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use mock_broker::fault::FaultSpec;

    use super::*;
    use crate::audit::Audit;
    use crate::interval::{IntervalEvent, SecondCounts, second_histogram};
    use crate::interval_series::IntervalSeries;
    use crate::run_result::{FaultOutcome, PhaseResult};
    use crate::scenario::Rate;

    /// A warmup of 1 s and a main phase of 1.5 s at 1000 msgs/s, with a stall
    /// in the fourth tenth of second 1 and latencies in seconds 0 and 1.
    fn result() -> RunResult {
        let mut series = IntervalSeries::new();
        for second in 0..2 {
            let mut corrected = second_histogram();
            for us in 1..=100u64 {
                corrected.record(us * 100 * (second + 1)).unwrap();
            }
            series.add(IntervalEvent::Latency {
                second,
                corrected,
                uncorrected: second_histogram(),
                lag: second_histogram(),
            });
        }
        let mut stalled = [100; 10];
        stalled[3] = 0;
        stalled[4] = 200;
        series.add(IntervalEvent::Counts {
            first: 0,
            counts: vec![
                SecondCounts {
                    due: 1000,
                    acked: 1000,
                    acked_tenths: [100; 10],
                    ..SecondCounts::default()
                },
                SecondCounts {
                    due: 1000,
                    acked: 1000,
                    acked_tenths: stalled,
                    ..SecondCounts::default()
                },
                SecondCounts {
                    due: 500,
                    acked: 410,
                    acked_tenths: [82, 82, 82, 82, 82, 0, 0, 0, 0, 0],
                    ..SecondCounts::default()
                },
            ],
        });
        let phase = |name: &str, record, ms| PhaseResult {
            name: name.into(),
            record,
            rate: Rate::Constant(1000),
            elapsed: Duration::from_millis(ms),
            recorder: Recorder::new(),
            interrupted: false,
        };
        RunResult {
            broker: "b".into(),
            phases: vec![phase("warmup", false, 1000), phase("main", true, 1500)],
            audit: Audit::Unavailable("x".into()),
            started: SystemTime::UNIX_EPOCH,
            intervals: series.into_intervals(3),
            interrupted: false,
            faults: vec![FaultOutcome {
                spec: FaultSpec::stall(Duration::from_millis(100))
                    .with_at(Duration::from_millis(1300)),
                fired: Some(1),
                state: None,
            }],
            producer: producer::Metrics::default(),
        }
    }

    #[test]
    fn step_buckets_join_and_a_missing_value_breaks_the_line() {
        let points = steps([
            (0.0, 1.0, Some(5.0)),
            (1.0, 2.0, Some(7.0)),
            (2.0, 3.0, None),
            (3.0, 3.5, Some(1.0)),
        ]);
        assert_eq!(
            &points[..4],
            &[(0.0, 5.0), (1.0, 5.0), (1.0, 7.0), (2.0, 7.0)]
        );
        assert!(points[4].0.is_nan());
        assert_eq!(&points[5..], &[(3.0, 1.0), (3.5, 1.0)]);
    }

    #[test]
    fn the_partial_last_second_is_a_rate_over_its_real_length() {
        let chart = throughput_chart(&result());
        let per_second = &chart.series[1].points;
        // 410 acknowledgements in the last 0.5 s: 820 msgs/s, not 410, and the step ends at 2.5 s.
        assert_eq!(per_second.last(), Some(&(2.5, 820.0)));
        assert!(per_second.iter().all(|p| p.0 <= 2.5));
        let target = &chart.series[2].points;
        assert_eq!(target.last(), Some(&(2.5, 1000.0)));
    }

    #[test]
    fn a_stall_shorter_than_a_second_shows_in_the_100_ms_steps() {
        let chart = throughput_chart(&result());
        let fine = &chart.series[0].points;
        let at = |t: f64| fine.iter().find(|p| (p.0 - t).abs() < 1e-9).map(|p| p.1);
        // Second 1's fourth tenth had no acknowledgement; the next caught up.
        assert!(
            fine.contains(&(1.3, 0.0)) || at(1.3) == Some(0.0),
            "{fine:?}"
        );
        assert!(fine.iter().any(|p| (p.1 - 2000.0).abs() < 1e-6), "{fine:?}");
        assert!(fine.iter().all(|p| p.0 <= 2.5 + 1e-9), "{fine:?}");
        let per_second = &chart.series[1].points;
        assert!(
            per_second.iter().all(|p| p.1 >= 820.0),
            "the one-second steps hide it: {per_second:?}"
        );
    }

    #[test]
    fn every_time_chart_has_the_phases_and_the_fault_window() {
        let run = result();
        for chart in [
            throughput_chart(&run),
            latency_over_time_chart(&run, LatencyKind::Corrected),
            latency_over_time_chart(&run, LatencyKind::ScheduleLag),
        ] {
            assert_eq!(
                chart.bands,
                vec![
                    Band {
                        from: 0.0,
                        to: 1.0,
                        label: "warmup".into(),
                        kind: BandKind::Phase { shaded: true }
                    },
                    Band {
                        from: 1.0,
                        to: 2.5,
                        label: "main".into(),
                        kind: BandKind::Phase { shaded: false }
                    },
                    Band {
                        from: 1.3,
                        to: 1.4000000000000001,
                        label: "fault: stall".into(),
                        kind: BandKind::Fault
                    },
                ]
            );
        }
    }

    #[test]
    fn latency_over_time_is_steps_per_second_with_gaps_where_nothing_was_acknowledged() {
        let chart = latency_over_time_chart(&result(), LatencyKind::Corrected);
        // 5 ms and 10 ms, as the upper ends of their buckets; second 2 had none.
        let p50: Vec<(f64, f64)> = chart.series[0]
            .points
            .iter()
            .map(|&(x, y)| (x, (y * 100.0).round() / 100.0))
            .collect();
        assert_eq!(p50, [(0.0, 5.0), (1.0, 5.0), (1.0, 10.01), (2.0, 10.01)]);
        let max = &chart.series[2].points;
        assert_eq!(max.len(), 4);
        assert!((max[3].1 - 20.0).abs() < 0.02, "{max:?}");
        let lag = latency_over_time_chart(&result(), LatencyKind::ScheduleLag);
        assert!(
            lag.series.iter().all(|s| s.points.is_empty()),
            "no lag recorded"
        );
    }

    #[test]
    fn percentile_points_rise_to_the_max_at_the_last_resolvable_percentile() {
        let mut r = Recorder::new();
        for us in 1..=1000u64 {
            r.record_ack(Duration::from_micros(us * 10), Duration::ZERO, 1);
        }
        let points = percentile_points(r.corrected());
        assert_eq!(points[0], (0.0, 0.01));
        assert!(
            points
                .windows(2)
                .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1)
        );
        let (p, max) = *points.last().unwrap();
        assert!((0.999..1.0).contains(&p), "at least 1 - 1/n: {p}");
        assert!((max - 10.007).abs() < 1e-9, "{max}");
        assert!(percentile_points(&second_histogram()).is_empty());
    }

    #[test]
    fn the_percentile_chart_has_the_total_and_each_phase() {
        let run = result();
        let (total, _) = run.recorded_total();
        let names: Vec<String> = percentile_chart(&run, &total)
            .series
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(
            names,
            ["total corrected", "total uncorrected", "warmup corrected"],
            "main is the only recorded phase: the total"
        );
        let mut two = run.clone();
        two.phases[0].record = true;
        let names: Vec<String> = percentile_chart(&two, &total)
            .series
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names[2..], ["warmup corrected", "main corrected"]);
    }
}

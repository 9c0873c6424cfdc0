//! The one-file HTML report of `loadgen run --html PATH`: the summary's
//! tables and three inline SVG charts (latency by percentile, throughput
//! over time, latency over time). No scripts, styles or fonts from elsewhere:
//! it opens offline.
//!
//! Pure: it reads a [`RunResult`] and returns the page. Every text that
//! comes from the user (scenario name, description, error messages) is escaped.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::format::millis;
use crate::interval_series::Interval;
use crate::recorder::Recorder;
use crate::report::{PERCENTILES, audit_line, fault_line, producer_line};
use crate::run_result::RunResult;
use crate::scenario::Scenario;
use crate::svg_chart::{Chart, Series, XScale, escape, render};
use crate::verdict::Verdict;

/// Quantile steps per halving of the distance to 100% in the percentile chart, as in `.hgrm`.
const TICKS_PER_HALF_DISTANCE: u32 = 5;

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222;max-width:960px}\
table{border-collapse:collapse;margin:1em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}\
.pass{color:#070}.fail{color:#b00;font-weight:bold}svg{display:block;margin:1em 0}";

/// The whole page; `passed` is the run's verdict.
pub fn page(scenario: &Scenario, result: &RunResult, verdicts: &[Verdict], passed: bool) -> String {
    let mut html = String::new();
    let name = escape(&scenario.name);
    let _ = writeln!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>loadgen: {name}</title>\n<style>{STYLE}</style>\n</head>\n<body>"
    );
    let _ = writeln!(html, "<h1>Scenario {name}</h1>");
    if !scenario.description.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", escape(&scenario.description));
    }
    let workload = &scenario.workload;
    let _ = writeln!(
        html,
        "<p>Target: {}, protocol {}, topic {} ({} partitions). Workload: {} producers, \
         values of {} bytes, in_flight {}, acks {}.</p>",
        escape(&result.broker),
        escape(&scenario.target.protocol.to_string()),
        escape(&workload.topic),
        workload.partitions,
        workload.producers,
        workload.message_size,
        workload.in_flight,
        escape(&scenario.producer.acks.to_string())
    );
    let verdict = if result.interrupted {
        r#"<span class="fail">interrupted by Ctrl-C</span>: the tables cover the run until then"#
    } else if passed {
        r#"<span class="pass">passed</span>"#
    } else {
        r#"<span class="fail">failed</span>"#
    };
    let _ = writeln!(html, "<p>Verdict: {verdict}</p>");

    let (total, elapsed) = result.recorded_total();
    let mut rows: Vec<(String, &Recorder, Duration)> = result
        .phases
        .iter()
        .map(|p| {
            let mut label = p.name.clone();
            if !p.record {
                label.push_str(" (warmup)");
            }
            if p.interrupted {
                label.push_str(" (interrupted)");
            }
            (label, &p.recorder, p.elapsed)
        })
        .collect();
    rows.push(("total of recorded phases".into(), &total, elapsed));
    html.push_str("<h2>Throughput</h2>\n");
    html.push_str(&throughput_table(&rows));
    html.push_str("<h2>Latency (ms)</h2>\n");
    html.push_str(&latency_table(&rows));
    if scenario.thresholds.is_some() {
        html.push_str("<h2>Thresholds</h2>\n");
        html.push_str(&threshold_table(verdicts));
    }
    html.push_str("<h2>Audit</h2>\n");
    let _ = writeln!(
        html,
        "<p>{}</p>",
        escape(&audit_line(&result.audit, &result.broker))
    );
    html.push_str("<h2>Producers</h2>\n");
    let _ = writeln!(
        html,
        "<p>{}</p>",
        escape(producer_line(&result.producer).trim_end())
    );
    if !result.faults.is_empty() {
        html.push_str("<h2>Faults</h2>\n<ul>\n");
        for fault in &result.faults {
            let _ = writeln!(html, "<li>{}</li>", escape(&fault_line(fault)));
        }
        html.push_str("</ul>\n");
    }

    html.push_str("<h2>Charts</h2>\n");
    html.push_str(&render(&percentile_chart(&total)));
    html.push_str(&render(&throughput_chart(&result.intervals)));
    html.push_str(&render(&latency_over_time_chart(&result.intervals)));
    html.push_str("</body>\n</html>\n");
    html
}

fn throughput_table(rows: &[(String, &Recorder, Duration)]) -> String {
    let mut t = String::from(
        "<table>\n<tr><th>phase</th><th>sent</th><th>acked</th><th>errors</th>\
         <th>duration s</th><th>msgs/s</th><th>MB/s</th></tr>\n",
    );
    for (label, recorder, elapsed) in rows {
        let seconds = elapsed.as_secs_f64();
        let per_second = |n: f64| if seconds > 0.0 { n / seconds } else { 0.0 };
        let acked = recorder.acked();
        let _ = writeln!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{acked}</td><td>{}</td><td>{seconds:.3}</td>\
             <td>{:.1}</td><td>{:.2}</td></tr>",
            escape(label),
            recorder.sent(),
            recorder.error_count(),
            per_second(acked as f64),
            per_second(recorder.acked_bytes() as f64) / 1e6
        );
        for (kind, tally) in recorder.errors() {
            let _ = writeln!(
                t,
                "<tr><td colspan=\"7\">error {} x{}: {}</td></tr>",
                escape(kind),
                tally.count,
                escape(&tally.example)
            );
        }
    }
    t.push_str("</table>\n");
    t
}

fn latency_table(rows: &[(String, &Recorder, Duration)]) -> String {
    let mut t = String::from("<table>\n<tr><th>phase</th><th>latency</th>");
    for (_, title) in PERCENTILES {
        let _ = write!(t, "<th>{title}</th>");
    }
    t.push_str("<th>max</th></tr>\n");
    for (label, recorder, _) in rows {
        for (kind, histogram) in [
            ("corrected", recorder.corrected()),
            ("uncorrected", recorder.uncorrected()),
        ] {
            let _ = write!(t, "<tr><td>{}</td><td>{kind}</td>", escape(label));
            for (quantile, _) in PERCENTILES {
                let _ = write!(
                    t,
                    "<td>{}</td>",
                    cell(histogram, |h| h.value_at_quantile(quantile))
                );
            }
            let _ = writeln!(t, "<td>{}</td></tr>", cell(histogram, Histogram::max));
        }
    }
    t.push_str("</table>\n");
    t
}

fn cell(histogram: &Histogram<u64>, value: impl Fn(&Histogram<u64>) -> u64) -> String {
    if histogram.is_empty() {
        "-".into()
    } else {
        millis(value(histogram))
    }
}

fn threshold_table(verdicts: &[Verdict]) -> String {
    let mut t = String::from(
        "<table>\n<tr><th>threshold</th><th>limit</th><th>actual</th><th>verdict</th></tr>\n",
    );
    if verdicts.is_empty() {
        t.push_str("<tr><td colspan=\"4\">none set: the run passes</td></tr>\n");
    }
    for v in verdicts {
        let class = if v.passed { "pass" } else { "fail" };
        let _ = writeln!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{class}\">{}</td></tr>",
            v.name,
            escape(&v.limit_text()),
            escape(&v.actual_text()),
            v.outcome_word()
        );
    }
    t.push_str("</table>\n");
    t
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

/// Latency by percentile of the recorded phases, corrected and uncorrected.
pub fn percentile_chart(total: &Recorder) -> Chart {
    Chart {
        title: "Latency by percentile (recorded phases)".into(),
        x_label: "percentile".into(),
        y_label: "latency (ms)".into(),
        x_scale: XScale::Percentile,
        series: vec![
            Series {
                name: "corrected".into(),
                color: "#c0392b",
                dashed: false,
                points: percentile_points(total.corrected()),
            },
            Series {
                name: "uncorrected".into(),
                color: "#2471a3",
                dashed: true,
                points: percentile_points(total.uncorrected()),
            },
        ],
    }
}

/// Acknowledgements per second, and the target where the schedule set one.
pub fn throughput_chart(intervals: &[Interval]) -> Chart {
    let mut series = vec![Series {
        name: "acked msgs/s".into(),
        color: "#1e8449",
        dashed: false,
        points: intervals
            .iter()
            .map(|i| (i.second as f64, i.counts.acked as f64))
            .collect(),
    }];
    if intervals.iter().any(|i| i.counts.due > 0) {
        series.push(Series {
            name: "target msgs/s".into(),
            color: "#7f8c8d",
            dashed: true,
            points: intervals
                .iter()
                .map(|i| (i.second as f64, i.counts.due as f64))
                .collect(),
        });
    }
    Chart {
        title: "Throughput over time".into(),
        x_label: "seconds since the start".into(),
        y_label: "messages per second".into(),
        x_scale: XScale::Linear,
        series,
    }
}

/// The corrected p50, p99 and max of each second with acknowledgements.
pub fn latency_over_time_chart(intervals: &[Interval]) -> Chart {
    let line = |name: &str, color, dashed, value: fn(&Interval) -> u64| Series {
        name: name.into(),
        color,
        dashed,
        points: intervals
            .iter()
            .filter(|i| i.corrected.count > 0)
            .map(|i| (i.second as f64, value(i) as f64 / 1000.0))
            .collect(),
    };
    Chart {
        title: "Corrected latency over time".into(),
        x_label: "seconds since the start".into(),
        y_label: "latency (ms)".into(),
        x_scale: XScale::Linear,
        series: vec![
            line("p50", "#2471a3", false, |i| i.corrected.p50),
            line("p99", "#c0392b", false, |i| i.corrected.p99),
            line("max", "#7d3c98", true, |i| i.corrected.max),
        ],
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::audit::Audit;
    use crate::interval::{IntervalEvent, SecondCounts, second_histogram};
    use crate::interval_series::IntervalSeries;
    use crate::run_result::PhaseResult;
    use crate::scenario::Rate;

    fn result() -> RunResult {
        let mut recorder = Recorder::new();
        let mut series = IntervalSeries::new();
        let mut corrected = second_histogram();
        for us in 1..=1000u64 {
            recorder.record_sent(Duration::ZERO);
            recorder.record_ack(
                Duration::from_micros(us * 10),
                Duration::from_micros(us),
                100,
            );
            corrected.record(us * 10).unwrap();
        }
        series.add(IntervalEvent::Latency {
            second: 0,
            corrected,
            uncorrected: second_histogram(),
        });
        series.add(IntervalEvent::Counts {
            first: 0,
            counts: vec![SecondCounts {
                due: 1000,
                sent: 1000,
                acked: 1000,
                ..SecondCounts::default()
            }],
        });
        RunResult {
            broker: "embedded broker at 127.0.0.1:9".into(),
            phases: vec![PhaseResult {
                name: "main".into(),
                record: true,
                rate: Rate::Constant(1000),
                elapsed: Duration::from_secs(1),
                recorder,
                interrupted: false,
            }],
            audit: Audit::Unavailable("no admin".into()),
            started: SystemTime::UNIX_EPOCH,
            intervals: series.into_intervals(2),
            interrupted: false,
            faults: Vec::new(),
            producer: producer::Metrics::default(),
        }
    }

    #[test]
    fn the_page_holds_the_tables_and_three_charts_and_nothing_from_the_network() {
        let mut scenario = Scenario::command_line_default();
        scenario.name = "<script>alert(1)</script>".into();
        scenario.description = "a & b".into();
        let html = page(&scenario, &result(), &[], true);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        assert_eq!(html.matches("<svg ").count(), 3);
        assert_eq!(html.matches("</svg>").count(), 3);
        assert!(!html.contains("<script"), "the name is escaped");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("<p>a &amp; b</p>"));
        let without_xmlns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_xmlns.contains("http://") && !without_xmlns.contains("https://"));
        for text in [
            "Latency by percentile",
            "Throughput over time",
            "Corrected latency over time",
            "<th>p99.99</th>",
            "total of recorded phases",
            "audit: not available",
            "passed",
        ] {
            assert!(html.contains(text), "{text}");
        }
    }

    #[test]
    fn an_interrupted_run_says_so() {
        let mut run = result();
        run.interrupted = true;
        run.phases[0].interrupted = true;
        let html = page(&Scenario::command_line_default(), &run, &[], false);
        assert!(html.contains("interrupted by Ctrl-C"));
        assert!(html.contains("main (interrupted)"));
    }

    #[test]
    fn percentile_points_rise_to_the_max_at_the_last_resolvable_percentile() {
        let points = percentile_points(result().phases[0].recorder.corrected());
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
    fn the_throughput_chart_has_the_target_only_when_there_was_one() {
        let intervals = result().intervals;
        assert_eq!(throughput_chart(&intervals).series.len(), 2);
        let closed: Vec<Interval> = intervals
            .into_iter()
            .map(|mut i| {
                i.counts.due = 0;
                i
            })
            .collect();
        assert_eq!(throughput_chart(&closed).series.len(), 1);
        assert_eq!(latency_over_time_chart(&closed).series[0].points.len(), 1);
    }
}

//! The one-file HTML report of `loadgen run --html PATH`: a headline, the
//! run's metadata, step charts over time (throughput in 100 ms and one-second
//! steps; corrected and uncorrected latency and schedule lag, p50/p99/max per
//! second; phases and fault windows marked on each), latency by percentile in
//! total and per phase, then the summary's tables: phases, latency,
//! thresholds, audit, producer counters and faults. Inline SVG and CSS only,
//! nothing from elsewhere: it opens offline.
//!
//! Pure: it reads a [`RunResult`] and returns the page; [`run_charts`](crate::run_charts)
//! builds the charts. Every text that comes from the user (scenario name,
//! description, error messages) is escaped.

use std::fmt::Write as _;
use std::time::Duration;

use hdrhistogram::Histogram;

use crate::audit::Audit;
use crate::format::{millis, number};
use crate::recorder::Recorder;
use crate::report::{PERCENTILES, fault_line, plural};
use crate::run_charts::{LatencyKind, latency_over_time_chart, percentile_chart, throughput_chart};
use crate::run_metadata::RunMetadata;
use crate::run_result::RunResult;
use crate::scenario::Scenario;
use crate::svg_chart::{escape, render};
use crate::verdict::Verdict;

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em auto;color:#222;max-width:900px;padding:0 1em}\
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}\
table{border-collapse:collapse;margin:.6em 0}th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th:first-child,td:first-child{text-align:left}th{background:#f4f4f4}\
table.meta td{text-align:left}table.meta td:first-child{background:#f8f8f8;font-weight:600}\
.pass{color:#1e8449}.fail{color:#b00;font-weight:bold}svg{display:block;margin:1em 0}\
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(8.5em,1fr));gap:.8em;margin:1em 0}\
.card{border:1px solid #ccc;border-radius:6px;padding:.5em .8em}\
.card b{display:block;font-size:1.5em}.card span{color:#555;font-size:.85em}\
.note{color:#555;font-size:.9em}";

/// The whole page; `passed` is the run's verdict.
pub fn page(
    scenario: &Scenario,
    result: &RunResult,
    verdicts: &[Verdict],
    passed: bool,
    meta: &RunMetadata,
) -> String {
    let mut html = String::new();
    let name = escape(&scenario.name);
    let _ = writeln!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>loadgen: {name}</title>\n<style>{STYLE}</style>\n</head>\n<body>"
    );
    let _ = writeln!(html, "<h1>loadgen report: {name}</h1>");
    if !scenario.description.is_empty() {
        let _ = writeln!(html, "<p>{}</p>", escape(&scenario.description));
    }
    let verdict = if result.interrupted {
        r#"<span class="fail">interrupted by Ctrl-C</span>: the report covers the run until then"#
    } else if passed {
        r#"<span class="pass">passed</span>"#
    } else {
        r#"<span class="fail">failed</span>"#
    };
    let _ = writeln!(html, "<p>Verdict: {verdict}</p>");
    let (total, elapsed) = result.recorded_total();
    html.push_str(&cards(result, &total, elapsed));

    html.push_str("<h2 id=\"run\">Run</h2>\n");
    html.push_str(&run_table(scenario, result, meta));

    html.push_str("<h2 id=\"over-time\">Over time</h2>\n");
    html.push_str(
        "<p class=\"note\">Grey: phases not recorded (warmups), left out of the totals. \
         Red: fault windows. Each step covers the time it was measured over; \
         rates are divided by it, so the last, partial second is not a cliff.</p>\n",
    );
    html.push_str(&render(&throughput_chart(result)));
    html.push_str(&render(&latency_over_time_chart(
        result,
        LatencyKind::Corrected,
    )));
    html.push_str(&render(&latency_over_time_chart(
        result,
        LatencyKind::Uncorrected,
    )));
    if result.phases.iter().any(|p| p.rate.is_open_loop()) {
        html.push_str(&render(&latency_over_time_chart(
            result,
            LatencyKind::ScheduleLag,
        )));
    }
    html.push_str("<h2 id=\"percentiles\">Latency by percentile</h2>\n");
    html.push_str(&render(&percentile_chart(result, &total)));

    let mut rows: Vec<(String, bool, &Recorder, Duration)> = result
        .phases
        .iter()
        .map(|p| {
            let mut label = p.name.clone();
            if p.interrupted {
                label.push_str(" (interrupted)");
            }
            (label, p.record, &p.recorder, p.elapsed)
        })
        .collect();
    rows.push(("total of recorded phases".into(), true, &total, elapsed));
    html.push_str("<h2 id=\"throughput\">Throughput</h2>\n");
    html.push_str(&throughput_table(&rows));
    html.push_str("<h2 id=\"latency\">Latency (ms)</h2>\n");
    html.push_str(&latency_table(&rows));
    if scenario.thresholds.is_some() {
        html.push_str("<h2 id=\"thresholds\">Thresholds</h2>\n");
        html.push_str(&threshold_table(verdicts));
    }
    html.push_str("<h2 id=\"audit\">Audit</h2>\n");
    html.push_str(&audit_table(&result.audit, &result.broker));
    html.push_str("<h2 id=\"producers\">Producers (whole run)</h2>\n");
    html.push_str(&producer_table(&result.producer));
    if !result.faults.is_empty() {
        html.push_str("<h2 id=\"faults\">Faults</h2>\n");
        html.push_str(&fault_table(result));
    }
    html.push_str("</body>\n</html>\n");
    html
}

/// The headline numbers of the recorded phases, as cards.
fn cards(result: &RunResult, total: &Recorder, elapsed: Duration) -> String {
    let seconds = elapsed.as_secs_f64();
    let throughput = if seconds > 0.0 {
        total.acked() as f64 / seconds
    } else {
        0.0
    };
    let corrected = total.corrected();
    let at = |q: f64| cell(corrected, |h| h.value_at_quantile(q));
    let audit = match &result.audit {
        Audit::Unavailable(_) => "not available".to_string(),
        Audit::NotConfigured(_) => "not run".to_string(),
        Audit::Checked { counts, .. } if counts.ok() => "ok".to_string(),
        Audit::Checked { counts, .. } => format!("NOT OK: lost {}", counts.lost),
    };
    let mut out = String::from("<div class=\"cards\">\n");
    for (value, what) in [
        (format!("{throughput:.0}"), "acked msgs/s".to_string()),
        (at(0.5), "p50 ms (corrected)".into()),
        (at(0.99), "p99 ms (corrected)".into()),
        (cell(corrected, Histogram::max), "max ms (corrected)".into()),
        (total.error_count().to_string(), "failed sends".into()),
        (audit, "delivery audit".into()),
    ] {
        let _ = writeln!(
            out,
            "<div class=\"card\"><b>{}</b><span>{}</span></div>",
            escape(&value),
            escape(&what)
        );
    }
    out.push_str("</div>\n");
    out
}

/// What ran, where, how and when: one row per fact.
fn run_table(scenario: &Scenario, result: &RunResult, meta: &RunMetadata) -> String {
    let workload = &scenario.workload;
    let phases: Vec<String> = scenario
        .phases
        .iter()
        .map(|p| {
            let pace = if p.rate.is_open_loop() {
                format!("at {} msgs/s", p.rate)
            } else {
                "closed loop".into()
            };
            let recorded = if p.record { "" } else { ", not recorded" };
            format!("{} ({}, {pace}{recorded})", p.name, p.length)
        })
        .collect();
    let machine = &meta.machine;
    let facts = [
        (
            "started",
            humantime::format_rfc3339_seconds(result.started).to_string(),
        ),
        ("loadgen", meta.loadgen_version.to_string()),
        ("scenario file", meta.scenario_file_text()),
        ("duration scale", meta.scale_text()),
        (
            "overridden",
            meta.overrides_text()
                .unwrap_or_else(|| "none (the scenario as written)".into()),
        ),
        ("target", result.broker.clone()),
        (
            "protocol, topic",
            format!(
                "{}, {} ({})",
                scenario.target.protocol,
                workload.topic,
                plural(u64::from(workload.partitions), "partition")
            ),
        ),
        (
            "workload",
            format!(
                "{}, {}, {}, in_flight {}, acks {}",
                plural(u64::from(workload.producers), "producer"),
                workload.message_size,
                plural(u64::from(workload.headers), "header"),
                workload.in_flight,
                scenario.producer.acks
            ),
        ),
        ("phases", phases.join("; ")),
        (
            "machine",
            format!("{}: {}", machine.hostname, machine.describe()),
        ),
    ];
    let mut t = String::from("<table class=\"meta\">\n");
    for (key, value) in facts {
        let _ = writeln!(t, "<tr><td>{key}</td><td>{}</td></tr>", escape(&value));
    }
    t.push_str("</table>\n");
    t
}

fn throughput_table(rows: &[(String, bool, &Recorder, Duration)]) -> String {
    let mut t = String::from(
        "<table>\n<tr><th>phase</th><th>recorded</th><th>sent</th><th>acked</th><th>errors</th>\
         <th>duration s</th><th>msgs/s</th><th>MB/s</th></tr>\n",
    );
    for (label, record, recorder, elapsed) in rows {
        let seconds = elapsed.as_secs_f64();
        let per_second = |n: f64| if seconds > 0.0 { n / seconds } else { 0.0 };
        let acked = recorder.acked();
        let _ = writeln!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{acked}</td><td>{}</td><td>{seconds:.3}</td>\
             <td>{:.1}</td><td>{:.2}</td></tr>",
            escape(label),
            if *record { "yes" } else { "no (warmup)" },
            recorder.sent(),
            recorder.error_count(),
            per_second(acked as f64),
            per_second(recorder.acked_bytes() as f64) / 1e6
        );
        for (kind, tally) in recorder.errors() {
            let _ = writeln!(
                t,
                "<tr><td colspan=\"8\">error {} x{}: {}</td></tr>",
                escape(kind),
                tally.count,
                escape(&tally.example)
            );
        }
    }
    t.push_str("</table>\n");
    t
}

fn latency_table(rows: &[(String, bool, &Recorder, Duration)]) -> String {
    let mut t = String::from("<table>\n<tr><th>phase</th><th>latency</th>");
    for (_, title) in PERCENTILES {
        let _ = write!(t, "<th>{title}</th>");
    }
    t.push_str("<th>max</th></tr>\n");
    for (label, _, recorder, _) in rows {
        for (kind, histogram) in [
            ("corrected", recorder.corrected()),
            ("uncorrected", recorder.uncorrected()),
            ("schedule lag", recorder.lag()),
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

/// The delivery audit's numbers, or why there are none.
fn audit_table(audit: &Audit, broker: &str) -> String {
    match audit {
        Audit::Unavailable(why) => format!(
            "<p>Not available for the {}: {}</p>\n",
            escape(broker),
            escape(why)
        ),
        Audit::NotConfigured(why) => format!(
            "<p>Not run for the {}: {}</p>\n",
            escape(broker),
            escape(why)
        ),
        Audit::Checked {
            topic,
            source,
            counts,
        } => {
            let mut t = format!(
                "<p>What {} recorded on topic {}, checked by message id against the \
                 acknowledgements of every phase.</p>\n<table>\n",
                escape(source),
                escape(topic)
            );
            for (what, n) in [
                ("recorded", counts.recorded),
                ("acknowledged in all phases", counts.acked),
                ("lost (acknowledged, not recorded)", counts.lost),
                ("duplicates", counts.duplicates),
                ("reordered", counts.reordered),
                (
                    "unacknowledged but recorded",
                    counts.unacknowledged_recorded,
                ),
                ("not messages of this run (skipped)", counts.foreign),
            ] {
                let _ = writeln!(t, "<tr><td>{what}</td><td>{n}</td></tr>");
            }
            let (class, word) = if counts.ok() {
                ("pass", "ok")
            } else {
                ("fail", "NOT OK")
            };
            let _ = writeln!(
                t,
                "<tr><td>verdict</td><td class=\"{class}\">{word}</td></tr>\n</table>"
            );
            t
        }
    }
}

/// The producer instances' counters over the whole run, added up.
fn producer_table(metrics: &producer::Metrics) -> String {
    let mut t = String::from("<table>\n");
    for (what, value) in [
        ("records sent", metrics.records_sent.to_string()),
        ("bytes sent", metrics.bytes_sent.to_string()),
        ("requests", metrics.requests.to_string()),
        ("batches", metrics.batches_sent.to_string()),
        (
            "records per request",
            format!("{:.1}", metrics.records_per_request()),
        ),
        (
            "KB per batch",
            format!("{:.1}", metrics.average_batch_bytes() / 1000.0),
        ),
        ("retries", metrics.retries.to_string()),
    ] {
        let _ = writeln!(t, "<tr><td>{what}</td><td>{value}</td></tr>");
    }
    if metrics.errors.is_empty() {
        t.push_str("<tr><td>errors</td><td>none</td></tr>\n");
    }
    for (name, count) in &metrics.errors {
        let _ = writeln!(
            t,
            "<tr><td>error {}</td><td>{count}</td></tr>",
            escape(name)
        );
    }
    t.push_str("</table>\n");
    t
}

/// Each fault rule, when it was in force and how often it fired.
fn fault_table(result: &RunResult) -> String {
    let mut t = String::from(
        "<table>\n<tr><th>rule</th><th>from s</th><th>to s</th><th>fired</th><th>state at the end</th></tr>\n",
    );
    for fault in &result.faults {
        let from = fault.spec.at.map_or(0.0, |at| at.0.as_secs_f64());
        let to = fault
            .spec
            .duration
            .map_or_else(|| "end".to_string(), |d| number(from + d.0.as_secs_f64()));
        let _ = writeln!(
            t,
            "<tr><td>{}</td><td>{}</td><td>{to}</td><td>{}</td><td>{}</td></tr>",
            escape(&fault_line(fault)),
            number(from),
            fault
                .fired
                .map_or_else(|| "unknown".to_string(), |n| n.to_string()),
            escape(fault.state.as_deref().unwrap_or("unknown"))
        );
    }
    t.push_str("</table>\n");
    t
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;
    use crate::audit::Counts;
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
            lag: second_histogram(),
        });
        series.add(IntervalEvent::Counts {
            first: 0,
            counts: vec![SecondCounts {
                due: 1000,
                sent: 1000,
                acked: 1000,
                acked_tenths: [100; 10],
                ..SecondCounts::default()
            }],
        });
        RunResult {
            broker: "embedded broker at 127.0.0.1:9".into(),
            phases: vec![
                PhaseResult {
                    name: "warmup".into(),
                    record: false,
                    rate: Rate::Constant(1000),
                    elapsed: Duration::from_millis(500),
                    recorder: Recorder::new(),
                    interrupted: false,
                },
                PhaseResult {
                    name: "main".into(),
                    record: true,
                    rate: Rate::Constant(1000),
                    elapsed: Duration::from_secs(1),
                    recorder,
                    interrupted: false,
                },
            ],
            audit: Audit::Checked {
                topic: "bench".into(),
                source: "the embedded broker".into(),
                counts: Counts {
                    recorded: 1000,
                    acked: 1000,
                    ..Counts::default()
                },
            },
            started: SystemTime::UNIX_EPOCH,
            intervals: series.into_intervals(2),
            interrupted: false,
            faults: Vec::new(),
            producer: producer::Metrics::default(),
        }
    }

    fn meta() -> RunMetadata {
        RunMetadata::of_this_machine(Some("scenarios/x.toml".as_ref()), Some(0.5))
    }

    #[test]
    fn the_page_holds_the_tables_and_five_charts_and_nothing_from_the_network() {
        let mut scenario = Scenario::command_line_default();
        scenario.name = "<script>alert(1)</script>".into();
        scenario.description = "a & b".into();
        let html = page(&scenario, &result(), &[], true, &meta());
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.trim_end().ends_with("</html>"));
        // Throughput, corrected, uncorrected, schedule lag (open loop), by percentile.
        assert_eq!(html.matches("<svg ").count(), 5);
        assert_eq!(html.matches("</svg>").count(), 5);
        assert!(!html.contains("<script"), "the name is escaped");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("<p>a &amp; b</p>"));
        let without_xmlns = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(!without_xmlns.contains("http://") && !without_xmlns.contains("https://"));
        for text in [
            "Latency by percentile",
            "Throughput over time",
            "Corrected latency over time",
            "Uncorrected latency over time",
            "Schedule lag over time",
            "<th>p99.99</th>",
            "total of recorded phases",
            "<td>duration scale</td><td>0.5</td>",
            "<td>scenario file</td><td>scenarios/x.toml</td>",
            "<td>started</td><td>1970-01-01T00:00:00Z</td>",
            "1 producer, 100-byte values, 0 headers",
            "kafka, bench (1 partition)",
            "<td>warmup</td><td>no (warmup)</td>",
            "<td>lost (acknowledged, not recorded)</td><td>0</td>",
            "<td>records per request</td>",
            "passed",
        ] {
            assert!(html.contains(text), "{text}");
        }
        for false_text in ["values of", "(warmup) (warmup)", "warmup (warmup)"] {
            assert!(!html.contains(false_text), "{false_text}");
        }
    }

    #[test]
    fn the_run_table_lists_the_flags_that_overrode_the_scenario() {
        let scenario = Scenario::command_line_default();
        let plain = page(&scenario, &result(), &[], true, &meta());
        assert!(plain.contains("<td>overridden</td><td>none (the scenario as written)</td>"));
        let overridden = meta().with_overrides(vec![
            ("--rate".into(), "1200000".into()),
            ("--topic".into(), "<t>".into()),
        ]);
        let html = page(&scenario, &result(), &[], true, &overridden);
        assert!(
            html.contains("<td>overridden</td><td>--rate 1200000, --topic &lt;t&gt;</td>"),
            "{html}"
        );
    }

    #[test]
    fn an_interrupted_run_says_so() {
        let mut run = result();
        run.interrupted = true;
        run.phases[1].interrupted = true;
        let html = page(&Scenario::command_line_default(), &run, &[], false, &meta());
        assert!(html.contains("interrupted by Ctrl-C"));
        assert!(html.contains("main (interrupted)"));
    }

    #[test]
    fn a_closed_loop_run_has_no_schedule_lag_chart_and_an_unavailable_audit_says_why() {
        let mut run = result();
        for phase in &mut run.phases {
            phase.rate = Rate::CLOSED_LOOP;
        }
        run.audit = Audit::Unavailable("no admin API".into());
        let html = page(&Scenario::command_line_default(), &run, &[], true, &meta());
        assert_eq!(html.matches("<svg ").count(), 4);
        assert!(!html.contains("Schedule lag over time"));
        assert!(
            html.contains("Not available for the embedded broker at 127.0.0.1:9: no admin API")
        );
    }
}

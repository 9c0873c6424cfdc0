//! The report files (`--json`, `--hlog`, `--html`), live progress, and Ctrl-C, through the real binary.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::sync::mpsc;

use base64::Engine as _;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};

use super::{TIMEOUT, loadgen, read_json, scenarios_dir, scratch_file, stderr, stdout};

#[test]
fn a_run_writes_per_second_intervals_an_interval_log_an_html_page_and_progress_lines() {
    let dir = scratch_file("reports", "keep", "");
    let (json, hlog, html) = (
        dir.with_file_name("report.json"),
        dir.with_file_name("latency.hlog"),
        dir.with_file_name("report.html"),
    );
    let smoke = scenarios_dir().join("smoke.toml");
    // At half length: a 0.5 s warmup and 1.5 s at 5000 msgs/s, so it lasts at least 2 s.
    let output = loadgen(&[
        "run",
        smoke.to_str().unwrap(),
        "--duration-scale",
        "0.5",
        "--progress",
        "always",
        "--json",
        json.to_str().unwrap(),
        "--hlog",
        hlog.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    let err = stderr(&output);
    assert!(output.status.success(), "{}\n{err}", stdout(&output));
    // Off a terminal, `always` prints plain lines, the first after 1 s, each
    // labelled with the phases of its second, the last for the partial second
    // at the end; quiet otherwise (logs at warn by default).
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() >= 2, "{err}");
    // The warmup ran the first half of the first second (`warmup+steady`, or `warmup` when its
    // last sends settled late), never the next phase alone.
    assert!(
        lines[0].starts_with("[   1.00s] warmup") && lines[0].contains(" msgs/s of 5000 "),
        "{err}"
    );
    let last = lines.last().unwrap();
    let end: f64 = last[1..last.find("s]").unwrap()].trim().parse().unwrap();
    assert!(
        last.starts_with("[") && last.contains("] steady ") && end >= 2.0,
        "the last line covers the end of the run, past 2 s: {err}"
    );
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with('[') && l.find(" msgs/s") == lines[0].find(" msgs/s")),
        "only progress lines, in columns: {err}"
    );

    let report = read_json(&json);
    assert_eq!(report["interrupted"], false);
    let intervals = report["intervals"].as_array().unwrap();
    assert!(intervals.len() >= 2, "{intervals:?}");
    let sum = |key: &str| -> u64 { intervals.iter().map(|i| i[key].as_u64().unwrap()).sum() };
    let acked_in_phases: u64 = report["phases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["acked"].as_u64().unwrap())
        .sum();
    assert_eq!(acked_in_phases, 10_000);
    assert_eq!(sum("acked"), acked_in_phases);
    assert_eq!(
        sum("target"),
        10_000,
        "every message was due in some second"
    );
    assert_eq!(sum("bytes"), 10_000 * 100);
    for (t, interval) in intervals.iter().enumerate() {
        assert_eq!(interval["t_s"], t as u64);
        if interval["acked"] != 0 {
            assert!(interval["p99_us"].as_u64().unwrap() <= interval["max_us"].as_u64().unwrap());
            // The same sends, timed from their send: never later than from their due time.
            let uncorrected = &interval["uncorrected"];
            let lag = &interval["schedule_lag"];
            for key in ["p50_us", "p90_us", "p99_us", "max_us"] {
                assert!(
                    uncorrected[key].as_u64().unwrap() <= interval["max_us"].as_u64().unwrap(),
                    "{interval}"
                );
                assert!(
                    lag[key].as_u64().is_some(),
                    "open loop: a lag per second {interval}"
                );
            }
            assert!(
                uncorrected["p99_us"].as_u64().unwrap() <= uncorrected["max_us"].as_u64().unwrap()
            );
        }
    }

    let log = std::fs::read(&hlog).unwrap();
    let mut start_times = 0;
    let mut corrected = 0;
    let mut uncorrected = 0;
    for entry in IntervalLogIterator::new(&log) {
        match entry.expect("a valid interval log") {
            LogEntry::StartTime(_) => start_times += 1,
            LogEntry::BaseTime(_) => {}
            LogEntry::Interval(interval) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(interval.encoded_histogram())
                    .unwrap();
                let histogram: Histogram<u64> = Deserializer::new()
                    .deserialize(&mut std::io::Cursor::new(bytes))
                    .unwrap();
                match interval.tag().map(|t| t.as_str()) {
                    Some("corrected") => corrected += histogram.len(),
                    Some("uncorrected") => uncorrected += histogram.len(),
                    other => panic!("tag {other:?}"),
                }
            }
        }
    }
    assert_eq!(start_times, 1);
    assert_eq!(corrected, acked_in_phases);
    assert_eq!(uncorrected, acked_in_phases);

    assert_eq!(report["run"]["duration_scale"], 0.5);
    assert!(
        report["run"]["scenario_file"]
            .as_str()
            .unwrap()
            .ends_with("smoke.toml")
    );
    assert_eq!(report["run"]["loadgen_version"], env!("CARGO_PKG_VERSION"));
    let out = stdout(&output);
    assert!(
        out.contains("\nphases: warmup 500ms, steady 1s 500ms (durations scaled by 0.5)\n"),
        "{out}"
    );

    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    // Throughput, corrected and uncorrected latency, schedule lag, by percentile.
    assert_eq!(page.matches("<svg ").count(), 5);
    assert!(page.contains("loadgen report: smoke"));
    assert!(page.contains("<td>duration scale</td><td>0.5</td>"));
    let offline = page.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    assert!(!offline.contains("http://") && !offline.contains("https://"));
    assert!(!page.contains("<script"));
    // The flag that changed the scenario, as the summary's `overridden:` line has it.
    assert!(
        page.contains("<td>overridden</td><td>--duration-scale 0.5</td>"),
        "{page}"
    );
}

#[test]
fn ctrl_c_stops_the_run_prints_what_ran_marked_interrupted_and_exits_130() {
    let json = scratch_file("interrupt", "report.json", "");
    let mut child = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args([
            "run",
            "--duration",
            "10m",
            "--rate",
            "2000",
            "--progress",
            "always",
            "--json",
            json.to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .env_remove("LOADGEN_DURATION_SCALE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadgen starts");
    let pid = child.id();
    let mut out = child.stdout.take().unwrap();
    let stdout_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = out.read_to_string(&mut text);
        text
    });
    let (lines_tx, lines) = mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    // The first progress line means the run is under way (and the handler installed).
    let mut seen = Vec::new();
    loop {
        let line = lines.recv_timeout(TIMEOUT).unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("no progress line within {TIMEOUT:?}: {seen:?}")
        });
        let progress = line.contains(" msgs/s of 2000 ");
        seen.push(line);
        if progress {
            break;
        }
    }
    let kill = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .expect("kill runs");
    assert!(kill.success());

    let (done_tx, done) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = done_tx.send(child.wait());
    });
    let status = done
        .recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("loadgen did not exit within {TIMEOUT:?} of SIGINT"))
        .unwrap();
    seen.extend(lines.iter());
    let out = stdout_reader.join().unwrap();
    assert_eq!(status.code(), Some(130), "{out}\n{seen:#?}");
    assert!(out.contains("INTERRUPTED: stopped by Ctrl-C"), "{out}");
    assert!(
        out.contains("phase main (open loop at 2000 msgs/s, interrupted)"),
        "{out}"
    );
    assert!(out.contains("audit: "), "{out}");
    assert_eq!(
        seen.last().map(String::as_str),
        Some(
            "loadgen: error: interrupted by Ctrl-C: the summary and reports cover the run until then"
        ),
        "{seen:#?}"
    );

    let report = read_json(&json);
    assert_eq!(report["interrupted"], true);
    assert_eq!(report["passed"], false);
    let phase = &report["phases"][0];
    let acked = phase["acked"].as_u64().unwrap();
    assert!(acked > 0, "{phase}");
    assert!(
        acked < 2000 * 600,
        "stopped long before the 10 minutes: {phase}"
    );
    let intervals: u64 = report["intervals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["acked"].as_u64().unwrap())
        .sum();
    assert_eq!(intervals, acked);
}

//! The `--html` report as a browser shows it: a real run's page rendered by headless Chromium,
//! which must log nothing to its console (no script error, no resource it failed to load) and
//! draw every chart with content: lines, the warmup band and the fault window.
//!
//! Chromium is Debian's `chromium` package (`.ci/install-clients.sh` installs it). Without it the
//! test skips with a line on stderr; with `MOCK_BROKER_REQUIRE_CLIENTS=1` it fails instead.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;

use super::{TIMEOUT, loadgen, read_json, scratch_file, stderr, stdout};

/// Set (to anything but `0`) to make a missing browser a failure, as for the real Kafka clients.
const REQUIRE_CLIENTS: &str = "MOCK_BROKER_REQUIRE_CLIENTS";

/// A 0.5 s warmup, then 2.5 s at 4000 msgs/s with the broker stalled for 300 ms at 1.5 s.
const SCENARIO: &str = r#"
name = "browser"
description = "A warmup, then a stall in the middle"

[target]
broker = "embedded"
protocol = "kafka"

[workload]
topic = "bench"
partitions = 2
producers = 2
message_size = 100
in_flight = 512

[[phases]]
name = "warmup"
duration = "500ms"
rate = 2000
record = false

[[phases]]
name = "steady"
duration = "2500ms"
rate = 4000

[[faults]]
kind = "stall"
at = "1500ms"
duration = "300ms"
"#;

#[test]
fn chromium_renders_the_html_report_with_every_chart_and_no_console_message() {
    let Some(chromium) = require_chromium() else {
        return;
    };
    // The check below finds console messages: it must see a script's error on a page that has one.
    let broken = scratch_file(
        "browser",
        "broken.html",
        "<!DOCTYPE html><html><body><script>no_such_function();</script></body></html>",
    );
    let render = headless(&chromium, &broken, &["--dump-dom"]);
    assert!(
        !console_messages(&stderr(&render)).is_empty(),
        "the console check sees a script error: {}",
        stderr(&render)
    );

    let scenario = scratch_file("browser", "scenario.toml", SCENARIO);
    let (html, json) = (
        scenario.with_file_name("report.html"),
        scenario.with_file_name("report.json"),
    );
    let output = loadgen(&[
        "run",
        scenario.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    assert_eq!(read_json(&json)["faults"][0]["fired"], 1, "the stall fired");

    let render = headless(&chromium, &html, &["--dump-dom"]);
    assert!(render.status.success(), "{}", stderr(&render));
    let log = stderr(&render);
    let messages = console_messages(&log);
    assert!(messages.is_empty(), "console: {messages:#?}");
    let dom = stdout(&render);
    assert!(dom.contains("loadgen report: browser"), "{dom}");
    let charts: Vec<&str> = dom.split("<svg").skip(1).collect();
    // Throughput, corrected and uncorrected latency, schedule lag, by percentile.
    assert_eq!(charts.len(), 5, "{dom}");
    for chart in &charts {
        let title = chart
            .split("<title>")
            .nth(1)
            .and_then(|t| t.split("</title>").next())
            .unwrap_or("?");
        assert!(!chart.contains(">no data<"), "{title} has data");
        let points: usize = chart
            .split("points=\"")
            .skip(1)
            .map(|p| p.split('"').next().unwrap().split(' ').count())
            .sum();
        assert!(points >= 8, "{title} draws lines: {points} points");
    }
    for (chart, title) in
        charts
            .iter()
            .take(4)
            .zip(["Throughput", "Corrected", "Uncorrected", "Schedule lag"])
    {
        assert!(
            chart.contains(&format!("<title>{title}")),
            "{title}: {chart}"
        );
        assert!(
            chart.contains(r##"fill="#e8e8e8""##),
            "{title}: the warmup shaded"
        );
        assert!(
            chart.contains(">fault: stall</text>"),
            "{title}: the fault window"
        );
    }

    let png = scenario.with_file_name("report.png");
    let shot = headless(
        &chromium,
        &html,
        &[
            &format!("--screenshot={}", png.display()),
            "--window-size=1000,4000",
            "--hide-scrollbars",
        ],
    );
    assert!(shot.status.success(), "{}", stderr(&shot));
    let image = std::fs::read(&png).expect("a screenshot");
    assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    // A blank 1000 x 4000 page compresses to a few kilobytes; charts and tables do not.
    assert!(
        image.len() > 100_000,
        "{} bytes at {}",
        image.len(),
        png.display()
    );
    eprintln!("screenshot of the report: {}", png.display());
}

/// The console lines (`…:CONSOLE…] "message", source: …`) in Chromium's stderr log.
fn console_messages(log: &str) -> Vec<&str> {
    log.lines().filter(|l| l.contains(":CONSOLE")).collect()
}

/// Runs headless Chromium on `page` with `args`, in a profile of its own, to completion.
fn headless(chromium: &Path, page: &Path, args: &[&str]) -> Output {
    let profile = page.with_file_name(format!(
        "chromium-profile-{}",
        page.file_stem().unwrap().to_string_lossy()
    ));
    let mut command = Command::new(chromium);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            // Lets the page's scripts, if any, run to completion before the dump.
            "--virtual-time-budget=3000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .stdin(Stdio::null());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(command.output());
    });
    rx.recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("chromium {args:?} did not finish within {TIMEOUT:?}"))
        .expect("chromium runs")
}

/// Chromium's path, or `None` after saying why the test is skipped (a failure when
/// `MOCK_BROKER_REQUIRE_CLIENTS=1`).
fn require_chromium() -> Option<PathBuf> {
    let found = ["chromium", "chromium-browser"].iter().find_map(|name| {
        std::env::split_paths(&std::env::var_os("PATH")?)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    });
    if found.is_some() {
        return found;
    }
    let missing = "chromium is not on PATH (Debian: apt-get install chromium; \
                   or run .ci/install-clients.sh)";
    let required = std::env::var(REQUIRE_CLIENTS).is_ok_and(|v| !v.is_empty() && v != "0");
    if required {
        panic!("{missing} ({REQUIRE_CLIENTS} is set, so this fails)");
    }
    // In one write to stderr: libtest captures `eprintln!` of passing tests, and a skip passes.
    let line =
        format!("skipping the browser test: {missing} (set {REQUIRE_CLIENTS}=1 to fail instead)\n");
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    None
}

//! The real `loadgen` binary: runs against the embedded broker, and its refusals.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

mod broken_brokers;
mod browser;
mod faults;
mod reports;
mod shards;

/// Far longer than any of these runs takes, even on a loaded 2-core machine.
const TIMEOUT: Duration = Duration::from_secs(180);

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Runs `loadgen` with `args` to completion (without `LOADGEN_DURATION_SCALE`).
fn loadgen(args: &[&str]) -> Output {
    loadgen_with_env(args, &[])
}

/// Runs `loadgen` with `args` and the environment variables `env` to completion.
fn loadgen_with_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    command
        .args(args)
        // Logs as a user gets them by default: warnings only.
        .env_remove("RUST_LOG")
        .env_remove("LOADGEN_DURATION_SCALE")
        .envs(env.iter().copied());
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(command.output());
    });
    rx.recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("loadgen {args:?} did not finish within {TIMEOUT:?}"))
        .expect("loadgen runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The last line of stderr, which must be loadgen's one-line reason.
fn reason(output: &Output) -> String {
    let stderr = stderr(output);
    let last = stderr.lines().last().unwrap_or_default().to_string();
    assert!(last.starts_with("loadgen: error: "), "{stderr}");
    last
}

/// A scratch file with `text`, in a directory of its own per test.
fn scratch_file(test: &str, name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loadgen-{test}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_smoke_scenario_runs_against_the_embedded_broker_and_meets_its_thresholds() {
    let smoke = scenarios_dir().join("smoke.toml");
    let output = loadgen(&["run", smoke.to_str().unwrap()]);
    let out = stdout(&output);
    assert!(
        output.status.success(),
        "exit {:?}\n{out}\n{}",
        output.status,
        stderr(&output)
    );
    assert!(out.contains("scenario smoke:"), "{out}");
    assert!(
        out.contains("phase steady (open loop at 5000 msgs/s)"),
        "{out}"
    );
    // Open loop sends exactly rate x duration: 5000/s for 3 s.
    assert!(out.contains("sent 15000  acked 15000  errors 0"), "{out}");
    assert!(out.contains("total of recorded phases (steady)"), "{out}");
    for row in ["corrected", "uncorrected", "schedule lag"] {
        assert!(out.contains(&format!("  {row:<14}")), "{row}: {out}");
    }
    assert!(
        out.contains(
            "audit: 20000 recorded by the embedded broker on topic bench, 20000 acknowledged in all phases\n\
             \x20 lost 0, duplicates 0, reordered 0, unacknowledged recorded 0: ok\n"
        ),
        "{out}"
    );
    let verdicts = out.split("\nthresholds\n").nth(1).expect("thresholds");
    for name in [
        "p99_ms",
        "max_error_rate",
        "max_lost",
        "max_duplicates",
        "min_throughput",
    ] {
        let line = verdicts
            .lines()
            .find(|l| l.starts_with(&format!("  {name} ")))
            .unwrap_or_else(|| panic!("no {name} verdict in {out}"));
        assert!(line.ends_with(" pass"), "{line}");
    }
    assert!(
        verdicts.contains("max_lost        <= 0          actual 0"),
        "{out}"
    );
}

/// A copy of the smoke scenario, shortened to 500 messages, with `thresholds` instead of its own.
fn smoke_with_thresholds(test: &str, thresholds: &str) -> PathBuf {
    let text = std::fs::read_to_string(scenarios_dir().join("smoke.toml")).unwrap();
    let without = text.split("[thresholds]").next().unwrap();
    scratch_file(
        test,
        "thresholds.toml",
        &format!("{without}[thresholds]\n{thresholds}"),
    )
}

#[test]
fn a_missed_threshold_exits_1_naming_it_on_the_last_stderr_line() {
    // No acknowledgement over TCP takes under a microsecond, nor a billion a second.
    let path = smoke_with_thresholds(
        "missed-threshold",
        "max_lost = 0\np99_ms = 0.001\nmin_throughput = 1000000000\n",
    );
    let json = path.with_file_name("report.json");
    let output = loadgen(&[
        "run",
        path.to_str().unwrap(),
        "--messages",
        "500",
        "--json",
        json.to_str().unwrap(),
    ]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}\n{}", stderr(&output));
    let report = read_json(&json);
    assert_eq!(report["passed"], false);
    let passed: Vec<bool> = report["thresholds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["passed"].as_bool().unwrap())
        .collect();
    assert_eq!(
        passed,
        [false, true, false],
        "p99_ms, max_lost, min_throughput"
    );
    assert!(out.contains("sent 500  acked 500  errors 0"), "{out}");
    assert!(
        out.contains("  max_lost        <= 0          actual 0           pass"),
        "{out}"
    );
    let p99 = out
        .lines()
        .find(|l| l.starts_with("  p99_ms "))
        .expect("a p99_ms verdict");
    assert!(
        p99.starts_with("  p99_ms          <= 0.001      actual ") && p99.ends_with(" FAIL"),
        "{p99}"
    );
    let why = reason(&output);
    assert!(
        why.starts_with("loadgen: error: threshold min_throughput failed: actual ")
            && why.ends_with(", limit 1000000000"),
        "{why}"
    );
    assert!(
        stderr(&output).contains("loadgen: error: threshold p99_ms failed: actual "),
        "every missed threshold is named: {}",
        stderr(&output)
    );
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

#[test]
fn json_writes_the_report_with_totals_phases_audit_and_verdicts() {
    let path = smoke_with_thresholds("json", "max_error_rate = 0.0\nmax_lost = 0\n");
    let json = path.with_file_name("report.json");
    let output = loadgen(&[
        "run",
        path.to_str().unwrap(),
        "--messages",
        "500",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report = read_json(&json);
    assert_eq!(report["scenario"], "smoke");
    assert_eq!(report["passed"], true);
    // The flag that changed the scenario, in the summary's head and the JSON.
    assert!(
        stdout(&output).starts_with("overridden: --messages 500\nscenario smoke:"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        report["overrides"],
        serde_json::json!([{"flag": "--messages", "value": "500"}])
    );
    let total = &report["total"];
    assert_eq!(
        (&total["sent"], &total["acked"], &total["errors"]),
        (&500.into(), &500.into(), &0.into())
    );
    assert!(total["duration_s"].as_f64().unwrap() > 0.0, "{total}");
    assert!(
        total["throughput_msgs_per_s"].as_f64().unwrap() > 0.0,
        "{total}"
    );
    assert!(
        total["throughput_mb_per_s"].as_f64().unwrap() > 0.0,
        "{total}"
    );
    for histogram in ["latency_us", "uncorrected_latency_us"] {
        let latency = &total[histogram];
        let values: Vec<f64> = ["p50", "p90", "p99", "p999", "p9999", "max"]
            .iter()
            .map(|key| {
                latency[key]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{histogram}.{key}: {latency}"))
            })
            .collect();
        assert!(
            values.windows(2).all(|w| w[0] <= w[1]),
            "{histogram}: {latency}"
        );
        assert!(latency["mean"].as_f64().unwrap() > 0.0, "{latency}");
    }
    let producer = &report["producer"];
    assert_eq!(producer["records_sent"], 500, "{producer}");
    assert!(producer["requests"].as_u64().unwrap() > 0, "{producer}");
    assert!(
        producer["records_per_request"].as_f64().unwrap() >= 1.0,
        "{producer}"
    );
    assert_eq!(
        (&producer["retries"], &producer["errors"]),
        (&0.into(), &serde_json::json!({}))
    );
    let phases = report["phases"].as_array().unwrap();
    assert_eq!(phases.len(), 1);
    assert_eq!(phases[0]["name"], "steady");
    assert_eq!(phases[0]["acked"], 500);
    assert_eq!(
        phases[0]["latency_us"], total["latency_us"],
        "one phase: the total"
    );
    let audit = &report["audit"];
    assert_eq!(
        (&audit["lost"], &audit["duplicates"], &audit["reordered"]),
        (&0.into(), &0.into(), &0.into())
    );
    assert_eq!(
        report["thresholds"],
        serde_json::json!([
            {"name": "max_error_rate", "limit": 0.0, "limit_note": null, "actual": 0.0,
             "passed": true, "applicable": true, "reason": null},
            {"name": "max_lost", "limit": 0.0, "limit_note": null, "actual": 0.0,
             "passed": true, "applicable": true, "reason": null},
        ])
    );
}

#[test]
fn hgrm_writes_the_corrected_latency_distribution_of_the_recorded_phases_in_ms() {
    let path = smoke_with_thresholds("hgrm", "max_lost = 0\n");
    let hgrm = path.with_file_name("latency.hgrm");
    let json = path.with_file_name("report.json");
    let output = loadgen(&[
        "run",
        path.to_str().unwrap(),
        "--messages",
        "500",
        "--hgrm",
        hgrm.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&hgrm).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[..2],
        [
            "       Value     Percentile TotalCount 1/(1-Percentile)",
            ""
        ],
        "{text}"
    );
    let footer = &lines[lines.len() - 3..];
    assert!(footer[0].starts_with("#[Mean    = "), "{text}");
    assert!(
        footer[1].ends_with("Total count    =          500]"),
        "{text}"
    );
    assert!(footer[2].starts_with("#[Buckets = "), "{text}");
    let rows: Vec<Vec<&str>> = lines[2..lines.len() - 3]
        .iter()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let last = rows.last().unwrap();
    assert_eq!(last[1..], ["1.000000000000", "500"], "{text}");
    // The distribution's max is the JSON report's, in ms rather than µs.
    let max_us = read_json(&json)["total"]["latency_us"]["max"]
        .as_u64()
        .unwrap();
    assert_eq!(
        last[0],
        format!("{}.{:03}", max_us / 1000, max_us % 1000),
        "{text}"
    );
    assert!(
        rows[..rows.len() - 1].iter().all(|r| r.len() == 4),
        "{text}"
    );
}

#[test]
fn an_unwritable_json_path_exits_2_before_running() {
    let output = loadgen(&[
        "run",
        "--messages",
        "10",
        "--json",
        "/nonexistent-dir/report.json",
    ]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let why = reason(&output);
    assert!(
        why.contains("cannot create report file /nonexistent-dir/report.json"),
        "{why}"
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn with_thresholds_failed_sends_within_max_error_rate_exit_0() {
    let path = smoke_with_thresholds("error-rate", "max_error_rate = 1.0\n");
    // Larger than the producer's max_message_bytes (1 MiB): every send fails.
    let output = loadgen(&[
        "run",
        path.to_str().unwrap(),
        "--messages",
        "20",
        "--size",
        "2000000",
    ]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{out}\n{}", stderr(&output));
    assert!(out.contains("sent 20  acked 0  errors 20"), "{out}");
    assert!(
        out.contains("  max_error_rate  <= 1          actual 1           pass"),
        "{out}"
    );
}

#[test]
fn an_invalid_threshold_exits_2_naming_the_line_and_the_key() {
    let path = smoke_with_thresholds("bad-threshold", "max_error_rate = 2\n");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("max_error_rate"))
        .unwrap()
        + 1;
    let output = loadgen(&["run", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let why = reason(&output);
    assert!(
        why.contains(&format!(
            "line {line}: thresholds.max_error_rate: 2 is not allowed; expected a share from 0.0 to 1.0"
        )),
        "{why}"
    );
    assert!(stdout(&output).is_empty());
}

#[test]
fn without_a_file_flags_describe_the_run_and_acks_0_messages_are_audited_too() {
    let output = loadgen(&[
        "run",
        "--messages",
        "500",
        "--producers",
        "2",
        "--acks",
        "0",
        "--topic",
        "flags",
        "--partitions",
        "2",
        "--size",
        "16",
    ]);
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));
    assert!(out.contains("phase main (closed loop)"), "{out}");
    assert!(out.contains("sent 500  acked 500  errors 0"), "{out}");
    assert!(out.contains("2 producers, 16-byte values"), "{out}");
    assert!(out.contains("topic flags (2 partitions)"), "{out}");
    assert!(
        out.contains("audit: 500 recorded by the embedded broker on topic flags"),
        "{out}"
    );
}

#[test]
fn failed_sends_are_counted_by_kind_and_exit_1() {
    // Larger than the producer's max_message_bytes (1 MiB): refused before sending.
    let output = loadgen(&["run", "--messages", "20", "--size", "2000000"]);
    let out = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{out}\n{}", stderr(&output));
    assert!(out.contains("sent 20  acked 0  errors 20"), "{out}");
    assert!(
        out.contains("error message_too_large x20: message of"),
        "{out}"
    );
}

#[test]
fn an_unknown_key_exits_2_naming_the_file_the_line_and_the_key() {
    let text = std::fs::read_to_string(scenarios_dir().join("smoke.toml"))
        .unwrap()
        .replace("message_size = 100", "message_sise = 100");
    let path = scratch_file("unknown-key", "typo.toml", &text);
    let output = loadgen(&["run", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let why = reason(&output);
    let line = text
        .lines()
        .position(|l| l.starts_with("message_sise"))
        .unwrap()
        + 1;
    assert!(why.contains(path.to_str().unwrap()), "{why}");
    assert!(
        why.contains(&format!(
            "line {line}: workload.message_sise: unknown field `message_sise`"
        )),
        "{why}"
    );
    assert!(
        stdout(&output).is_empty(),
        "no summary for a scenario that did not run"
    );

    let output = loadgen(&["validate", path.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(reason(&output).contains("message_sise"));
}

#[test]
fn an_unreachable_broker_exits_2_naming_the_address() {
    let output = loadgen(&["run", "--broker", "127.0.0.1:1", "--messages", "10"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let why = reason(&output);
    assert!(
        why.contains("cannot produce to the target") && why.contains("127.0.0.1:1"),
        "{why}"
    );
}

#[test]
fn a_kafka_scenario_runs_against_the_embedded_broker_and_passes_the_audit() {
    let scenario = scenarios_dir().join("kafka-idempotent.toml");
    let output = loadgen(&["run", scenario.to_str().unwrap(), "--messages", "3000"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("acked 3000"), "{stdout}");
    assert!(stdout.contains("3000 recorded"), "{stdout}");
    assert!(stdout.contains(": ok"), "{stdout}");
}

#[test]
fn an_invalid_duration_scale_exits_2_naming_the_flag_or_the_variable_and_the_value() {
    let smoke = scenarios_dir().join("smoke.toml");
    let smoke = smoke.to_str().unwrap();
    let output = loadgen(&["run", smoke, "--duration-scale", "1001"]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        reason(&output),
        "loadgen: error: invalid --duration-scale \"1001\": expected a number greater than 0 and at most 1000"
    );
    assert!(stdout(&output).is_empty());
    let output = loadgen_with_env(&["run", smoke], &[("LOADGEN_DURATION_SCALE", "0")]);
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    assert_eq!(
        reason(&output),
        "loadgen: error: invalid LOADGEN_DURATION_SCALE \"0\": expected a number greater than 0 and at most 1000"
    );
}

#[test]
fn the_duration_scale_variable_shortens_a_run_and_the_flag_wins_over_it() {
    let smoke = scenarios_dir().join("smoke.toml");
    let smoke = smoke.to_str().unwrap();
    // smoke: 5000/s for 1 s of warmup and 3 s recorded; x0.1 is 500 and 1500 messages.
    let output = loadgen_with_env(&["run", smoke], &[("LOADGEN_DURATION_SCALE", "0.1")]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("sent 1500  acked 1500  errors 0"));
    let output = loadgen_with_env(
        &["run", smoke, "--duration-scale", "0.05"],
        &[("LOADGEN_DURATION_SCALE", "junk")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("sent 750  acked 750  errors 0"));
}

/// Every `.toml` file in `scenarios/`, sorted.
fn shipped_scenarios() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}

/// Runs every shipped scenario at a tenth of its durations, one after another
/// (they would compete for the CPU otherwise): each must pass its thresholds
/// and its audit. About 6 s in all in a debug build on a 2-core machine
/// (the longest, steady.toml, is 12 s of phases at full length, 1.2 s here).
#[test]
fn every_shipped_scenario_runs_at_a_tenth_of_its_durations_and_passes() {
    let files = shipped_scenarios();
    assert!(files.len() >= 8, "{files:?}");
    assert!(files.iter().any(|f| f.ends_with("ramp.toml")), "{files:?}");
    for file in &files {
        let started = std::time::Instant::now();
        let output = loadgen(&["run", file.to_str().unwrap(), "--duration-scale", "0.1"]);
        let out = stdout(&output);
        assert!(
            output.status.success(),
            "{}: exit {:?}\n{out}\n{}",
            file.display(),
            output.status,
            stderr(&output)
        );
        let audit = out
            .split("\naudit: ")
            .nth(1)
            .unwrap_or_else(|| panic!("{}: no audit line in {out}", file.display()));
        assert!(
            audit.contains("\n  lost 0, duplicates 0,") && audit.contains(": ok\n"),
            "{}: {audit}",
            file.display()
        );
        eprintln!("{}: {:?}", file.display(), started.elapsed());
    }
}

#[test]
fn a_ramp_phase_sends_its_mean_rate_times_its_length_and_reports_both_ends() {
    let scenario = scenarios_dir().join("ramp.toml");
    let json = scratch_file("ramp", "report.json", "");
    let output = loadgen(&[
        "run",
        scenario.to_str().unwrap(),
        "--duration-scale",
        "0.1",
        "--json",
        json.to_str().unwrap(),
    ]);
    let out = stdout(&output);
    assert!(output.status.success(), "{out}\n{}", stderr(&output));
    assert!(
        out.contains("\nphase ramp (open loop at 2000→25000 msgs/s)\n"),
        "{out}"
    );
    let report = read_json(&json);
    let phases = report["phases"].as_array().unwrap();
    let summary: Vec<(&str, &serde_json::Value, u64)> = phases
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap(),
                &p["rate"],
                p["sent"].as_u64().unwrap(),
            )
        })
        .collect();
    // At a tenth: 0.1 s at 2000/s; 0.5 s ramping from 2000 to 25 000/s, so
    // (2000 + 25 000) / 2 x 0.5 = 6750 messages; 0.2 s at 25 000/s.
    assert_eq!(
        summary,
        [
            ("warmup", &serde_json::json!(2000), 200),
            (
                "ramp",
                &serde_json::json!({"from": 2000, "to": 25000}),
                6750
            ),
            ("steady", &serde_json::json!(25000), 5000),
        ]
    );
}

#[test]
fn throughput_in_mb_counts_the_bytes_of_values_of_varying_size() {
    let scenario = scenarios_dir().join("large-messages.toml");
    let json = scratch_file("sizes", "report.json", "");
    let output = loadgen(&[
        "run",
        scenario.to_str().unwrap(),
        "--messages",
        "200",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output)
            .contains("values of 51200 to 153600 bytes, normal (mean 102400, stddev 17066.667)"),
        "{}",
        stdout(&output)
    );
    let total = &read_json(&json)["total"];
    let bytes_per_message = total["throughput_mb_per_s"].as_f64().unwrap() * 1e6
        / total["throughput_msgs_per_s"].as_f64().unwrap();
    // The sizes are drawn around 102 400 bytes; their mean over 200 messages
    // is within 3% of it, and not exactly it, as one size for all would be.
    assert!(
        (99_000.0..105_800.0).contains(&bytes_per_message) && bytes_per_message.fract() != 0.0,
        "{bytes_per_message}"
    );
}

#[test]
fn every_shipped_scenario_validates() {
    let files = shipped_scenarios();
    assert!(!files.is_empty());
    let mut args = vec!["validate"];
    args.extend(files.iter().map(|f| f.to_str().unwrap()));
    let output = loadgen(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let expected: Vec<String> = files
        .iter()
        .map(|f| format!("ok: {}", f.display()))
        .collect();
    assert_eq!(stdout(&output).lines().collect::<Vec<_>>(), expected);
}

/// The audit's numbers in a JSON report, without where they were read.
fn audit_numbers(report: &serde_json::Value) -> serde_json::Value {
    let mut audit = report["audit"].clone();
    let fields = audit
        .as_object_mut()
        .unwrap_or_else(|| panic!("no audit in {report}"));
    fields.remove("source");
    audit
}

#[test]
fn the_smoke_scenario_audited_by_message_id_loses_duplicates_and_reorders_nothing() {
    let smoke = scenarios_dir().join("smoke.toml");
    let json = scratch_file("audit-embedded", "report.json", "");
    let output = loadgen(&[
        "run",
        smoke.to_str().unwrap(),
        "--messages",
        "2000",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        audit_numbers(&read_json(&json)),
        serde_json::json!({"topic": "bench", "recorded": 2000, "acked": 2000, "lost": 0,
                           "duplicates": 0, "reordered": 0, "unacknowledged_recorded": 0,
                           "foreign": 0})
    );
    assert!(
        stdout(&output)
            .contains("lost 0, duplicates 0, reordered 0, unacknowledged recorded 0: ok"),
        "{}",
        stdout(&output)
    );
}

#[test]
fn an_external_mock_broker_is_audited_through_its_admin_api_like_the_embedded_one() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut config = mock_broker::BrokerConfig::ephemeral();
    config.admin = Some("127.0.0.1:0".parse().unwrap());
    config.partitions = 3;
    let broker = runtime
        .block_on(mock_broker::MockBroker::start(config))
        .expect("the mock broker starts");
    let address = broker.local_addr().to_string();
    let admin = broker
        .admin_addr()
        .expect("the admin API is on")
        .to_string();

    let smoke = std::fs::read_to_string(scenarios_dir().join("smoke.toml")).unwrap();
    let external = smoke.replace(
        "broker = \"embedded\"",
        &format!("broker = \"{address}\"\nadmin = \"{admin}\""),
    );
    assert_ne!(external, smoke);
    let path = scratch_file("audit-external", "external.toml", &external);
    let json = path.with_file_name("external.json");
    let args = |scenario: &Path, json: &Path| {
        let output = loadgen(&[
            "run",
            scenario.to_str().unwrap(),
            "--messages",
            "2000",
            "--json",
            json.to_str().unwrap(),
        ]);
        assert!(
            output.status.success(),
            "{}\n{}",
            stdout(&output),
            stderr(&output)
        );
        output
    };
    let output = args(&path, &json);
    let external_report = read_json(&json);
    assert_eq!(
        external_report["audit"]["source"],
        format!("the admin API at {admin}")
    );
    assert!(
        stdout(&output).contains(&format!(
            "audit: 2000 recorded by the admin API at {admin} on topic bench"
        )),
        "{}",
        stdout(&output)
    );

    let embedded_json = path.with_file_name("embedded.json");
    args(&scenarios_dir().join("smoke.toml"), &embedded_json);
    let embedded_report = read_json(&embedded_json);
    assert_eq!(
        audit_numbers(&external_report),
        audit_numbers(&embedded_report)
    );
    assert_eq!(
        (
            &embedded_report["audit"]["lost"],
            &embedded_report["audit"]["duplicates"],
            &embedded_report["audit"]["reordered"]
        ),
        (&0.into(), &0.into(), &0.into())
    );

    // A second run on the same topic is audited on what it added, not on the
    // first run's records as well (whose ids it repeats).
    let again_json = path.with_file_name("again.json");
    args(&path, &again_json);
    assert_eq!(
        audit_numbers(&read_json(&again_json)),
        audit_numbers(&external_report)
    );

    // Without `admin` the records cannot be read: no audit, and the audit's
    // limits do not apply, unless --strict-audit makes them fail.
    let without = scratch_file(
        "audit-external",
        "no-admin.toml",
        // Only the audit's limits and the errors: no timing can fail these runs.
        &external
            .replace(&format!("admin = \"{admin}\""), "")
            .replace("p99_ms = 250\n", "")
            .replace("min_throughput = 4000\n", ""),
    );
    let json = path.with_file_name("no-admin.json");
    let no_admin = |extra: &[&str]| {
        let mut args = vec![
            "run",
            without.to_str().unwrap(),
            "--messages",
            "200",
            "--topic",
            "no-admin",
            "--json",
            json.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        loadgen(&args)
    };
    let output = no_admin(&[]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let report = read_json(&json);
    assert!(report["audit"].is_null());
    assert_eq!(report["thresholds"][1]["name"], "max_lost");
    assert_eq!(report["thresholds"][1]["applicable"], false);
    assert!(
        stdout(&output).contains(&format!(
            "audit: not run for the external broker at {address}:\n  no admin API to read its records from"
        )),
        "{}",
        stdout(&output)
    );
    assert!(
        stdout(&output)
            .contains("  max_lost        <= 0          actual -           n/a (not applicable:\n    no audit without an admin API)"),
        "{}",
        stdout(&output)
    );
    assert_eq!(
        stderr(&output)
            .matches("no admin API for the external broker")
            .count(),
        1,
        "said once at the start: {}",
        stderr(&output)
    );
    let output = no_admin(&["--strict-audit"]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("threshold max_lost failed"),
        "{}",
        stderr(&output)
    );
    // --admin gives the scenario its admin API.
    let output = no_admin(&["--strict-audit", "--admin", &admin]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(
        read_json(&json)["audit"]["source"],
        format!("the admin API at {admin}")
    );
    runtime.block_on(broker.shutdown());
}

/// A closed-loop run of 100-byte values with a long linger: with the default
/// window (the producer's `buffer_memory`) the producer gathers far more
/// than 256 records into a request; with `--in-flight 100` never more than 100.
#[test]
fn the_default_window_does_not_cap_a_closed_loop_run_at_a_message_count() {
    let scenario = scratch_file(
        "window",
        "window.toml",
        "name = \"window\"\n\
         [producer]\nacks = 1\nlinger_ms = 500\nbatch_size = 1048576\n\
         [workload]\nmessage_size = 100\n\
         [[phases]]\nname = \"all\"\nmessages = 3000\n",
    );
    let records_per_request = |extra: &[&str]| {
        let json = scratch_file("window", "report.json", "");
        let mut args = vec![
            "run",
            scenario.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let output = loadgen(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        let out = stdout(&output);
        assert!(out.contains("lost 0, duplicates 0,"), "{out}");
        read_json(&json)["producer"]["records_per_request"]
            .as_f64()
            .unwrap()
    };
    let by_default = records_per_request(&[]);
    assert!(
        by_default > 256.0,
        "{by_default} records per request with the default window"
    );
    let capped = records_per_request(&["--in-flight", "100", "--messages", "500"]);
    assert!(
        capped <= 100.0,
        "{capped} records per request with --in-flight 100"
    );
}

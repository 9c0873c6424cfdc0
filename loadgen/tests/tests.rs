//! The real `loadgen` binary: runs against the embedded broker, and its refusals.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::mpsc;
use std::time::Duration;

/// Far longer than any of these runs takes, even on a loaded 2-core machine.
const TIMEOUT: Duration = Duration::from_secs(180);

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

/// Runs `loadgen` with `args` to completion.
fn loadgen(args: &[&str]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_loadgen"));
    command.args(args).env("RUST_LOG", "warn");
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
fn the_smoke_scenario_runs_against_the_embedded_broker_and_every_message_is_recorded() {
    let smoke = scenarios_dir().join("smoke.toml");
    let output = loadgen(&["run", smoke.to_str().unwrap(), "--messages", "2000"]);
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
    assert!(out.contains("sent 2000  acked 2000  errors 0"), "{out}");
    assert!(out.contains("total of recorded phases (steady)"), "{out}");
    for row in ["corrected", "uncorrected", "schedule lag"] {
        assert!(out.contains(&format!("  {row:<14}")), "{row}: {out}");
    }
    assert!(
        out.contains("audit: 2000 recorded by the embedded broker on topic bench, 2000 acknowledged in all phases: ok"),
        "{out}"
    );
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
        why.contains("target broker unreachable") && why.contains("127.0.0.1:1"),
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
fn every_shipped_scenario_validates() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(scenarios_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
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

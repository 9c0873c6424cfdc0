//! The real `loadgen` binary against targets that are no broker or stop being one: each run
//! ends within a bounded time with exit status 2 and a one-line reason naming the address and
//! what it got, over both protocols.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use mock_broker::{BrokerConfig, MockBroker};

use super::{TIMEOUT, loadgen, reason, scratch_file, stderr, stdout};

/// A one-phase scenario file of 100 messages over `protocol`.
fn scenario(test: &str, protocol: &str) -> PathBuf {
    scratch_file(
        test,
        &format!("{protocol}.toml"),
        &format!(
            "name = \"{test}\"\n[target]\nprotocol = \"{protocol}\"\n\
             [[phases]]\nname = \"main\"\nmessages = 100\n"
        ),
    )
}

/// A listener on port 0 whose every connection gets `greeting` at once (if any), then is held
/// open, read and never answered, until the client leaves.
fn scripted_target(greeting: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for socket in listener.incoming() {
            let Ok(mut socket) = socket else { return };
            std::thread::spawn(move || {
                let _ = socket.write_all(greeting);
                let mut sink = Vec::new();
                let _ = socket.read_to_end(&mut sink);
            });
        }
    });
    address
}

/// Runs `loadgen run` against `address` with each protocol (and `extra` flags), and checks that
/// each run exits 2 within `within`, printing no summary and a reason that names the address
/// and contains `what`.
fn each_protocol_exits_2(test: &str, address: &str, extra: &[&str], what: &str, within: Duration) {
    for protocol in ["frame", "kafka"] {
        let file = scenario(test, protocol);
        let mut args = vec!["run", file.to_str().unwrap(), "--broker", address];
        args.extend_from_slice(extra);
        let started = Instant::now();
        let output = loadgen(&args);
        let elapsed = started.elapsed();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{protocol}: {}",
            stderr(&output)
        );
        let why = reason(&output);
        assert!(
            why.contains(address) && why.contains(what),
            "{protocol}: {why}"
        );
        assert!(
            stdout(&output).is_empty(),
            "{protocol}: no summary for a run that did not start"
        );
        assert!(elapsed < within, "{protocol}: took {elapsed:?}: {why}");
    }
}

/// The reported mistake: the admin HTTP API's port given as the broker. Named at once, over
/// either protocol, instead of a run that shows 0 msgs/s and never ends.
#[test]
fn the_admin_http_port_given_as_the_broker_is_named_at_once() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let mut config = BrokerConfig::ephemeral();
    config.admin = Some("127.0.0.1:0".parse().unwrap());
    let broker = runtime.block_on(MockBroker::start(config)).unwrap();
    let admin = broker.admin_addr().unwrap().to_string();
    each_protocol_exits_2(
        "admin-port",
        &admin,
        &[],
        "is not a broker speaking this producer's protocol: it answered with HTTP",
        Duration::from_secs(60),
    );
    runtime.block_on(broker.shutdown());
}

/// A target that accepts and never answers is named after `--connect-timeout`.
#[test]
fn a_silent_target_is_named_after_the_connect_timeout() {
    let address = scripted_target(b"");
    each_protocol_exits_2(
        "silent",
        &address,
        &["--connect-timeout", "1s"],
        "did not answer the first request",
        Duration::from_secs(60),
    );
}

/// A target that speaks something else (an SSH server's banner) is named as breaking the
/// protocol, with what it sent: not a frame; a Kafka size of gigabytes.
#[test]
fn a_target_sending_garbage_is_named_at_once() {
    let address = scripted_target(b"SSH-2.0-OpenSSH_9.6\r\n");
    each_protocol_exits_2(
        "garbage",
        &address,
        &["--connect-timeout", "30s"],
        "broke the protocol",
        Duration::from_secs(25),
    );
}

/// Waits for `child` to exit, up to [`TIMEOUT`], and returns its output.
fn wait(child: std::process::Child) -> Output {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(TIMEOUT)
        .unwrap_or_else(|_| panic!("loadgen did not finish within {TIMEOUT:?}"))
        .expect("loadgen runs")
}

/// A broker that goes away in the middle of a two-minute run and never comes back: the run
/// gives up once no send has succeeded for `--max-failing`, with exit status 2 naming the
/// broker and the last error, instead of going on (or hanging) for the rest of its length.
#[test]
fn a_broker_that_goes_down_mid_run_and_never_comes_back_ends_the_run_with_exit_2() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    for protocol in ["frame", "kafka"] {
        let broker = runtime
            .block_on(MockBroker::start(BrokerConfig::ephemeral()))
            .unwrap();
        let address = broker.local_addr().to_string();
        let file = scratch_file(
            "goes-down",
            &format!("{protocol}.toml"),
            &format!(
                "name = \"goes-down\"\n[target]\nprotocol = \"{protocol}\"\n\
                 [workload]\ntopic = \"t\"\n\
                 [[phases]]\nname = \"main\"\nduration = \"120s\"\nrate = 200\n"
            ),
        );
        let child = Command::new(env!("CARGO_BIN_EXE_loadgen"))
            .args([
                "run",
                file.to_str().unwrap(),
                "--broker",
                &address,
                "--max-failing",
                "2s",
            ])
            .env("RUST_LOG", "warn")
            .env_remove("LOADGEN_DURATION_SCALE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("loadgen starts");
        // Down once the run is under way: records have arrived.
        let stored = runtime.block_on(broker.wait_for_records("t", 50, TIMEOUT));
        assert!(stored.len() >= 50, "{protocol}: the run produced");
        runtime.block_on(broker.shutdown());
        let down = Instant::now();
        let output = wait(child);
        let after = down.elapsed();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{protocol}: {}",
            stderr(&output)
        );
        let why = reason(&output);
        assert!(
            why.contains("gave up: no send to the external broker at")
                && why.contains(&address)
                && why.contains("max_failing = 2s")
                && why.contains("last error:"),
            "{protocol}: {why}"
        );
        assert!(
            after < Duration::from_secs(60),
            "{protocol}: ended {after:?} after the broker went down, not after the 120 s run"
        );
    }
}

/// A broker that stops answering (a stall fault on the embedded broker, a minute long) while the
/// connections stay open: the run gives up after `--max-failing`, saying how many sends wait,
/// long before any request timeout.
#[test]
fn a_broker_that_stops_answering_mid_run_ends_the_run_with_exit_2() {
    let file = scratch_file(
        "stalls",
        "scenario.toml",
        "name = \"stalls\"\n\
         [[phases]]\nname = \"main\"\nduration = \"120s\"\nrate = 200\n\
         [[faults]]\nkind = \"stall\"\nat = \"1s\"\nduration = \"60s\"\n",
    );
    let started = Instant::now();
    let output = loadgen(&["run", file.to_str().unwrap(), "--max-failing", "2s"]);
    let elapsed = started.elapsed();
    assert_eq!(output.status.code(), Some(2), "{}", stderr(&output));
    let why = reason(&output);
    assert!(
        why.contains("gave up: no send to the embedded broker at 127.0.0.1:")
            && why.contains("sends waiting for an answer, none failed yet"),
        "{why}"
    );
    assert!(
        elapsed < Duration::from_secs(50),
        "took {elapsed:?}, not the 120 s run, nor the 60 s stall: {why}"
    );
}

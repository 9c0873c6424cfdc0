//! The real `mock-broker` binary, driven by the real `send` example.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use producer::key_hash::partition_for_key;

const TIMEOUT: Duration = Duration::from_secs(60);

/// A running `mock-broker` process, killed on drop.
pub(crate) struct BrokerProcess {
    child: Child,
    /// The bootstrap address (every broker's, comma-separated).
    pub(crate) address: String,
    /// The admin API's base URL, `http://host:port`.
    pub(crate) admin: String,
    /// The lines printed after those two (listeners, the TLS CA file), as many as asked for.
    pub(crate) more: Vec<String>,
}

impl BrokerProcess {
    /// Starts the binary on port 0 (broker and admin API) with extra `args`.
    pub(crate) fn start(args: &[&str]) -> BrokerProcess {
        Self::spawn(args, Stdio::null(), 0)
    }

    /// Starts it like [`BrokerProcess::start`], its log (stderr, at the default level) written to `log`.
    pub(crate) fn start_logging_to(args: &[&str], log: &std::path::Path) -> BrokerProcess {
        let file = std::fs::File::create(log)
            .unwrap_or_else(|e| panic!("the log file {} can be created: {e}", log.display()));
        Self::spawn(args, Stdio::from(file), 0)
    }

    /// Starts it like [`BrokerProcess::start_logging_to`], also reading the `more` lines the
    /// binary prints after the addresses of the broker and the admin API.
    pub(crate) fn start_reading(
        args: &[&str],
        log: &std::path::Path,
        more: usize,
    ) -> BrokerProcess {
        let file = std::fs::File::create(log)
            .unwrap_or_else(|e| panic!("the log file {} can be created: {e}", log.display()));
        Self::spawn(args, Stdio::from(file), more)
    }

    fn spawn(args: &[&str], stderr: Stdio, more: usize) -> BrokerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_mock-broker"))
            .args(["--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"])
            .args(args)
            .env_remove("RUST_LOG")
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("mock-broker starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            for _ in 0..2 + more {
                let mut line = String::new();
                let _ = reader.read_line(&mut line);
                let _ = tx.send(line);
            }
            // Keep draining so the broker never blocks on a full pipe.
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
        });
        let line = || {
            rx.recv_timeout(TIMEOUT)
                .expect("mock-broker prints its addresses")
        };
        let first = line();
        let address = first
            .trim()
            .strip_prefix("mock-broker listening on ")
            .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
            .to_string();
        let second = line();
        let admin = second
            .trim()
            .strip_prefix("admin API on ")
            .unwrap_or_else(|| panic!("unexpected second line {second:?}"))
            .to_string();
        let more = (0..more).map(|_| line().trim().to_string()).collect();
        BrokerProcess {
            child,
            address,
            admin,
            more,
        }
    }

    /// The broker process's id, to read its `/proc` entries.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends SIGTERM and returns whether the process exited successfully.
    pub(crate) fn terminate(mut self) -> bool {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success());
        let (tx, rx) = mpsc::channel();
        let mut child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let exit = rx
            .recv_timeout(TIMEOUT)
            .expect("mock-broker exits after SIGTERM")
            .unwrap();
        exit.success()
    }
}

impl Drop for BrokerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `send` example, built by `cargo test` beside this test binary, or built now.
fn send_example() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target/<profile>/deps");
    let example = profile_dir.join("examples").join("send");
    if !example.exists() {
        let target_dir = profile_dir.parent().expect("target dir");
        let mut build = Command::new(env!("CARGO"));
        build
            .args([
                "build",
                "-q",
                "-p",
                "producer",
                "--example",
                "send",
                "--target-dir",
            ])
            .arg(target_dir);
        if profile_dir.file_name().is_some_and(|n| n == "release") {
            build.arg("--release");
        }
        assert!(
            build.status().expect("cargo runs").success(),
            "building the send example failed"
        );
    }
    example
}

fn send(args: &[&str]) -> Output {
    Command::new(send_example())
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("send runs")
}

#[test]
fn the_send_example_delivers_to_the_broker_binary_which_stops_cleanly_on_sigterm() {
    let broker = BrokerProcess::start(&["--partitions", "3"]);
    let output = send(&[
        "--broker",
        &broker.address,
        "--topic",
        "demo",
        "--key",
        "user-1",
        "hello",
    ]);
    assert!(
        output.status.success(),
        "send failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected_partition = partition_for_key(b"user-1", 3);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        stdout.trim(),
        format!("delivered to demo partition {expected_partition} offset 0")
    );

    let output = send(&[
        "--broker",
        &broker.address,
        "--topic",
        "demo",
        "--key",
        "user-1",
        "again",
    ]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("offset 1"));
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[test]
fn the_send_example_fails_with_one_line_naming_the_address() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let output = send(&["--broker", &address, "hello"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<_> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line: {stderr}");
    assert!(
        lines[0].contains(&address) && lines[0].contains("cannot connect"),
        "{stderr}"
    );
}

#[test]
fn the_broker_binary_reads_a_config_file_and_rejects_unknown_keys() {
    let dir = std::env::temp_dir().join(format!("mock-broker-bin-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.toml");
    std::fs::write(&good, "partitions = 5\nmax_message_bytes = 2048\n").unwrap();
    let broker = BrokerProcess::start(&["--config", good.to_str().unwrap()]);
    let output = send(&[
        "--broker",
        &broker.address,
        "--topic",
        "cfg",
        "--key",
        "k",
        "x",
    ]);
    let expected = format!("partition {} offset 0", partition_for_key(b"k", 5));
    assert!(String::from_utf8_lossy(&output.stdout).contains(&expected));
    let output = send(&[
        "--broker",
        &broker.address,
        "--topic",
        "cfg",
        &"x".repeat(3000),
    ]);
    assert!(String::from_utf8_lossy(&output.stderr).contains("MESSAGE_TOO_LARGE"));
    assert!(broker.terminate());

    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "partitions = 5\nmax_mesage_bytes = 2048\n").unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_mock-broker"))
        .args(["--config", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("bad.toml")
            && stderr.contains("line 2")
            && stderr.contains("max_mesage_bytes"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn the_broker_binary_names_an_address_it_cannot_listen_on() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = Command::new(env!("CARGO_BIN_EXE_mock-broker"))
        .args(["--listen", &address, "--admin", "off"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
}

/// A bare HTTP/1.1 GET, so the tests need no HTTP client dependency.
pub(crate) fn http_get(base: &str, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).expect("admin API accepts");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[test]
fn the_admin_api_reports_health_once_the_broker_accepts_connections() {
    let broker = BrokerProcess::start(&[]);
    let (status, body) = http_get(&broker.admin, "/health");
    assert_eq!(status, 200);
    assert_eq!(body, "ok");
    assert!(broker.terminate());
}

#[test]
fn the_broker_binary_refuses_a_partition_count_past_its_limit_at_startup() {
    let output = Command::new(env!("CARGO_BIN_EXE_mock-broker"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--admin",
            "off",
            "--partitions",
            "4294967295",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("partitions is 4294967295")
            && stderr.contains("max_partitions_per_topic (10000)"),
        "{stderr}"
    );
}

/// A TLS client (configured for SSL) or an HTTP client at the Kafka port is told apart in the log,
/// instead of being reported as a request of hundreds of megabytes; the broker keeps serving.
#[test]
fn a_tls_or_http_client_at_the_kafka_port_is_named_in_the_log() {
    use std::io::{Read as _, Write as _};
    let log = std::env::temp_dir().join(format!("mock-broker-foreign-{}.log", std::process::id()));
    let broker = BrokerProcess::start_logging_to(&[], &log);
    let client_hello = [
        0x16u8, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
    ];
    for hello in [&client_hello[..], b"GET /stats HTTP/1.1\r\nhost: x\r\n\r\n"] {
        let mut stream = std::net::TcpStream::connect(&broker.address).unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        stream.write_all(hello).unwrap();
        // The broker closes the connection: the read ends (0 bytes, or a reset).
        let mut rest = Vec::new();
        let _ = stream.read_to_end(&mut rest);
    }
    let deadline = std::time::Instant::now() + TIMEOUT;
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("a TLS client connected to this plaintext listener")
            && text.contains("an HTTP client connected to the Kafka port")
        {
            break text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "both clients named in the log within {TIMEOUT:?}: {text}"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(!text.contains("exceeds the limit"), "{text}");
    let (status, _) = http_get(&broker.admin, "/health");
    assert_eq!(status, 200, "the broker still serves");
    assert!(broker.terminate());
    let _ = std::fs::remove_file(log);
}

/// SIGTERM ends the process (exit 0) even with an idle HTTP keep-alive connection to the admin
/// API and a Kafka request half sent: they are closed at the end of the grace period.
#[test]
fn sigterm_exits_within_the_grace_period_despite_idle_and_half_sent_connections() {
    use std::io::{Read as _, Write as _};
    let broker = BrokerProcess::start(&["--shutdown-grace-ms", "1000"]);
    let admin = broker.admin.trim_start_matches("http://").to_string();
    let mut keep_alive = std::net::TcpStream::connect(&admin).unwrap();
    keep_alive
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: keep-alive\r\n\r\n")
        .unwrap();
    keep_alive.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut answer = [0u8; 12];
    keep_alive.read_exact(&mut answer).unwrap();
    assert_eq!(
        &answer, b"HTTP/1.1 200",
        "the admin API answered and keeps the connection"
    );
    let mut half = std::net::TcpStream::connect(&broker.address).unwrap();
    // A size prefix of 100 bytes, then only 6 of them.
    half.write_all(&[0, 0, 0, 100, 0, 18, 0, 3, 0, 0]).unwrap();
    let started = std::time::Instant::now();
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
    assert!(
        started.elapsed() < TIMEOUT,
        "it exited within {TIMEOUT:?}, not waiting for the clients"
    );
    drop((keep_alive, half));
}

//! Real Kafka clients we did not write (kcat, confluent-kafka, kafka-python, kafkajs) produce to the
//! `mock-broker` binary; the admin API must then show every message recorded exactly once, with its
//! key, value and headers, in the partition and at the offset the client was told. kcat also
//! consumes: compressed batches that confluent-kafka produced, served back as stored, read from the
//! start and from inside a batch.
//!
//! The clients are external programs: `bash .ci/install-clients.sh` installs them. Without them each
//! test skips with a line on stderr naming what is missing; with `MOCK_BROKER_REQUIRE_CLIENTS=1` (as
//! in CI) a missing client fails the test instead. The helpers here are shared with
//! `rdkafka_client.rs`, whose tests need nothing outside Cargo and never skip.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::FetchResponse;
use serde::Deserialize;

use crate::binaries::{BrokerProcess, http_get};
use crate::kafka_protocol::KafkaClient;

/// How long a client process may run before it is killed; the scripts give up after 60 s themselves.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(120);
/// Set to `1` to turn a missing client into a test failure.
const REQUIRE_CLIENTS: &str = "MOCK_BROKER_REQUIRE_CLIENTS";
/// Overrides the Python that runs the client scripts.
const PYTHON: &str = "MOCK_BROKER_PYTHON";
const INSTALL_HINT: &str = "install the real clients with `bash .ci/install-clients.sh`";

// ---------------------------------------------------------------------------------------------
// What the clients send.

/// Repeated to pad every value, so that compressing a batch pays and the clients really compress it.
const PADDING: &str = "payload-";

/// One message as a client sent it; all three parts are UTF-8 text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sent {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) headers: Vec<(String, String)>,
}

/// The `count` messages every client sends: message `i` has key `k{i}`, value `v{i}-` + padding and
/// the headers `idx={i}` and `client={client}`. Kept in step with `clients/common.py` and
/// `clients/produce_kafkajs.js`.
pub(crate) fn sent_messages(client: &str, count: usize) -> Vec<Sent> {
    (0..count)
        .map(|i| Sent {
            key: format!("k{i}"),
            value: format!("v{i}-{}", PADDING.repeat(12)),
            headers: vec![
                ("idx".to_string(), i.to_string()),
                ("client".to_string(), client.to_string()),
            ],
        })
        .collect()
}

/// The partition and offset a client reported for each key.
pub(crate) type Deliveries = HashMap<String, (i32, i64)>;

// ---------------------------------------------------------------------------------------------
// What the broker recorded, as the admin API shows it (docs/admin-api.md).

/// Bytes as the admin API writes them: text when UTF-8, else `{"base64": "…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub(crate) enum JsonBytes {
    Text(String),
    Binary { base64: String },
}

impl JsonBytes {
    /// The text, or a marker that cannot equal any text a client sent.
    fn text(field: &Option<JsonBytes>) -> String {
        match field {
            Some(JsonBytes::Text(text)) => text.clone(),
            Some(JsonBytes::Binary { base64 }) => format!("<binary, base64 {base64}>"),
            None => "<null>".to_string(),
        }
    }
}

/// One record from `GET /topics/{topic}/records`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct Recorded {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) timestamp: Option<i64>,
    pub(crate) receive_time: i64,
    pub(crate) key: Option<JsonBytes>,
    pub(crate) value: Option<JsonBytes>,
    pub(crate) headers: BTreeMap<String, Option<JsonBytes>>,
    pub(crate) header_list: Vec<(String, Option<JsonBytes>)>,
    pub(crate) producer_id: Option<i64>,
    pub(crate) producer_epoch: Option<i16>,
    pub(crate) sequence: Option<i32>,
    pub(crate) protocol: String,
    pub(crate) client_id: Option<String>,
}

/// One topic from `GET /topics`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct TopicInfo {
    pub(crate) name: String,
    pub(crate) partitions: Vec<PartitionInfo>,
}

/// One partition of a [`TopicInfo`].
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct PartitionInfo {
    pub(crate) partition: i32,
    pub(crate) leader: i32,
    pub(crate) high_watermark: i64,
}

pub(crate) fn get_json<T: serde::de::DeserializeOwned>(broker: &BrokerProcess, path: &str) -> T {
    let (status, body) = http_get(&broker.admin, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body)
        .unwrap_or_else(|e| panic!("GET {path}: unexpected JSON ({e}): {body}"))
}

/// The topic as `GET /topics` lists it.
///
/// # Panics
/// If the broker has no such topic, naming the topics it has.
pub(crate) fn topic_info(broker: &BrokerProcess, topic: &str) -> TopicInfo {
    let topics: Vec<TopicInfo> = get_json(broker, "/topics");
    let names: Vec<_> = topics.iter().map(|t| t.name.clone()).collect();
    topics
        .into_iter()
        .find(|t| t.name == topic)
        .unwrap_or_else(|| panic!("the broker has no topic {topic:?}; it has {names:?}"))
}

/// Every record of `topic`, partition by partition, paging through each.
pub(crate) fn recorded(broker: &BrokerProcess, topic: &str) -> Vec<Recorded> {
    const PAGE: usize = 1000;
    let mut records = Vec::new();
    for partition in topic_info(broker, topic).partitions {
        let mut offset = 0;
        loop {
            let page: Vec<Recorded> = get_json(
                broker,
                &format!(
                    "/topics/{topic}/records?partition={}&offset={offset}&limit={PAGE}",
                    partition.partition
                ),
            );
            offset += page.len();
            let last = page.len() < PAGE;
            records.extend(page);
            if last {
                break;
            }
        }
    }
    records
}

// ---------------------------------------------------------------------------------------------
// The check every client test ends with.

/// What a produce run must have left in the broker.
pub(crate) struct Expected<'a> {
    pub(crate) topic: &'a str,
    /// The topic's partition count (the broker's `--partitions`).
    pub(crate) partitions: i32,
    pub(crate) sent: Vec<Sent>,
    /// The client id the client sends, if it sends one.
    pub(crate) client_id: Option<&'a str>,
    /// Whether the client is an idempotent producer (one producer id, sequences 0, 1, … per partition).
    pub(crate) idempotent: bool,
    /// The partition and offset the client was told for each key, if it reports them.
    pub(crate) deliveries: Option<Deliveries>,
}

/// Asserts that the broker recorded exactly `expected.sent`: every message once, nothing else,
/// over Kafka, with the client's id, dense offsets from 0 in each partition, and where the client
/// was told it went.
///
/// # Panics
/// On any difference, with a message listing what is missing, duplicated or wrong.
pub(crate) fn assert_recorded_exactly(broker: &BrokerProcess, expected: Expected<'_>) {
    let topic = expected.topic;
    let info = topic_info(broker, topic);
    assert_eq!(
        info.partitions.len(),
        expected.partitions as usize,
        "partitions of {topic}: {info:?}"
    );
    let records = recorded(broker, topic);

    let mut seen: HashMap<String, usize> = HashMap::new();
    for record in &records {
        *seen.entry(JsonBytes::text(&record.key)).or_default() += 1;
    }
    let sent: HashMap<&str, &Sent> = expected.sent.iter().map(|s| (s.key.as_str(), s)).collect();
    let missing: Vec<_> = expected
        .sent
        .iter()
        .filter(|s| !seen.contains_key(&s.key))
        .map(|s| s.key.as_str())
        .collect();
    let duplicated: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    let unexpected: Vec<_> = seen
        .keys()
        .filter(|k| !sent.contains_key(k.as_str()))
        .collect();
    assert!(
        missing.is_empty() && duplicated.is_empty() && unexpected.is_empty(),
        "{topic}: {} records for {} messages sent; missing {} (first: {:?}), recorded more than \
         once {} (first: {:?}), never sent {} (first: {:?})",
        records.len(),
        expected.sent.len(),
        missing.len(),
        &missing[..missing.len().min(10)],
        duplicated.len(),
        &duplicated[..duplicated.len().min(10)],
        unexpected.len(),
        &unexpected[..unexpected.len().min(10)],
    );
    assert_eq!(records.len(), expected.sent.len());

    for record in &records {
        let key = JsonBytes::text(&record.key);
        let message = sent[key.as_str()];
        let context = format!("{topic} record {key} (partition {})", record.partition);
        assert_eq!(record.topic, topic, "{context}");
        assert_eq!(record.protocol, "kafka", "{context}: protocol");
        assert!(
            (0..expected.partitions).contains(&record.partition),
            "{context}: partition out of range 0..{}",
            expected.partitions
        );
        assert_eq!(
            JsonBytes::text(&record.value),
            message.value,
            "{context}: value"
        );
        let headers: Vec<(String, String)> = record
            .header_list
            .iter()
            .map(|(k, v)| (k.clone(), JsonBytes::text(v)))
            .collect();
        assert_eq!(headers, message.headers, "{context}: header_list");
        let last_wins: BTreeMap<_, _> = record.header_list.iter().cloned().collect();
        assert_eq!(
            record.headers, last_wins,
            "{context}: headers disagree with header_list"
        );
        if let Some(client_id) = expected.client_id {
            assert_eq!(
                record.client_id.as_deref(),
                Some(client_id),
                "{context}: client_id"
            );
        }
        // Every client here stamps a create time; the broker must decode it, not invent one.
        let timestamp = record
            .timestamp
            .unwrap_or_else(|| panic!("{context}: no timestamp"));
        assert!(
            (timestamp - record.receive_time).abs() < 10 * 60 * 1000,
            "{context}: timestamp {timestamp} is more than 10 minutes from receive_time {}",
            record.receive_time
        );
        if let Some(deliveries) = &expected.deliveries {
            assert_eq!(
                deliveries.get(&key),
                Some(&(record.partition, record.offset)),
                "{context}: the client was told another partition/offset than was recorded \
                 (recorded offset {})",
                record.offset
            );
        }
    }

    let mut per_partition: BTreeMap<i32, Vec<&Recorded>> = BTreeMap::new();
    for record in &records {
        per_partition
            .entry(record.partition)
            .or_default()
            .push(record);
    }
    for (partition, records) in &mut per_partition {
        records.sort_by_key(|r| r.offset);
        let offsets: Vec<i64> = records.iter().map(|r| r.offset).collect();
        let dense: Vec<i64> = (0..records.len() as i64).collect();
        assert_eq!(offsets, dense, "{topic} partition {partition}: offsets");
        let high_watermark = info.partitions[*partition as usize].high_watermark;
        assert_eq!(
            high_watermark,
            records.len() as i64,
            "{topic} partition {partition}: high_watermark"
        );
    }

    if expected.idempotent {
        let producer_ids: Vec<Option<i64>> = records.iter().map(|r| r.producer_id).collect();
        let first = producer_ids[0];
        assert!(
            first.is_some_and(|id| id >= 0),
            "{topic}: an idempotent producer's records need a producer_id, got {first:?}"
        );
        assert!(
            producer_ids.iter().all(|id| *id == first),
            "{topic}: one producer, one producer_id: {producer_ids:?}"
        );
        for (partition, records) in &per_partition {
            assert!(
                records.iter().all(|r| r.producer_epoch.is_some()),
                "{topic} partition {partition}: producer_epoch missing"
            );
            let sequences: Vec<Option<i32>> = records.iter().map(|r| r.sequence).collect();
            let expected: Vec<Option<i32>> = (0..records.len() as i32).map(Some).collect();
            assert_eq!(
                sequences, expected,
                "{topic} partition {partition}: sequences in offset order"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Finding the clients, or skipping.

/// `Some(tool)`, or `None` after telling why the test is skipped (a failure when
/// `MOCK_BROKER_REQUIRE_CLIENTS=1`).
pub(crate) fn require<T>(tool: Result<T, String>) -> Option<T> {
    let missing = match tool {
        Ok(tool) => return Some(tool),
        Err(missing) => missing,
    };
    let test = std::thread::current()
        .name()
        .unwrap_or("this test")
        .to_string();
    let required = std::env::var(REQUIRE_CLIENTS).is_ok_and(|v| !v.is_empty() && v != "0");
    if required {
        panic!("{test}: {missing}; {INSTALL_HINT} ({REQUIRE_CLIENTS} is set, so this fails)");
    }
    // Straight to stderr in one write: libtest captures `eprintln!` of passing tests, and a skip
    // passes.
    let line = format!(
        "skipping {test}: {missing}; {INSTALL_HINT} (set {REQUIRE_CLIENTS}=1 to fail instead)\n"
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
    None
}

fn workspace_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the crate is inside the workspace")
        .to_path_buf()
}

pub(crate) fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

pub(crate) fn kcat() -> Result<PathBuf, String> {
    on_path("kcat").ok_or_else(|| "kcat is not on PATH (Debian: apt-get install kcat)".to_string())
}

/// A command running `kcat` with the librdkafka it was built against. `cargo test` runs the tests
/// with `LD_LIBRARY_PATH` listing its own build directories, among them the librdkafka that the
/// `rdkafka` crate builds from source (a newer one, without zstd), which kcat would load instead of
/// the system's; those entries are dropped, the rest kept.
pub(crate) fn kcat_command(kcat: &Path) -> Command {
    const LIBRARY_PATH: &str = "LD_LIBRARY_PATH";
    let mut command = Command::new(kcat);
    let Some(paths) = std::env::var_os(LIBRARY_PATH) else {
        return command;
    };
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("the test binary is in target/<profile>/deps");
    let kept: Vec<PathBuf> = std::env::split_paths(&paths)
        .filter(|path| !path.starts_with(profile_dir))
        .collect();
    if kept.is_empty() {
        command.env_remove(LIBRARY_PATH);
    } else {
        let kept = std::env::join_paths(kept).expect("paths that were joined before join again");
        command.env(LIBRARY_PATH, kept);
    }
    command
}

/// The Python that runs the client scripts, if it can import `module`.
pub(crate) fn python_with(module: &str) -> Result<PathBuf, String> {
    let python = match std::env::var_os(PYTHON) {
        Some(python) => PathBuf::from(python),
        None => workspace_dir().join(".venv/bin/python"),
    };
    if !python.exists() {
        return Err(format!(
            "no Python for the client scripts: {} does not exist (or set {PYTHON})",
            python.display()
        ));
    }
    let imports = Command::new(&python)
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !imports.success() {
        return Err(format!(
            "{} cannot import {module} (pip install -r mock-broker/tests/clients/requirements.txt)",
            python.display()
        ));
    }
    Ok(python)
}

/// `node`, if kafkajs is installed beside the scripts.
pub(crate) fn node_with_kafkajs() -> Result<PathBuf, String> {
    let node = on_path("node")
        .ok_or_else(|| "node is not on PATH (Debian: apt-get install nodejs npm)".to_string())?;
    let kafkajs = clients_dir().join("node_modules/kafkajs/package.json");
    if !kafkajs.is_file() {
        return Err(format!(
            "kafkajs is not installed: {} does not exist (npm ci in mock-broker/tests/clients)",
            kafkajs.display()
        ));
    }
    Ok(node)
}

// ---------------------------------------------------------------------------------------------
// Running a client.

/// Runs `command` to completion with `stdin` as its input, killing it after [`CLIENT_TIMEOUT`].
///
/// # Panics
/// If it cannot start, times out, or exits unsuccessfully: with its stdout and stderr.
pub(crate) fn run_client(command: Command, stdin: &str) -> String {
    let description = format!("{command:?}");
    let Output {
        status,
        stdout,
        stderr,
    } = run_to_completion(command, stdin);
    let stdout = String::from_utf8_lossy(&stdout).into_owned();
    let stderr = String::from_utf8_lossy(&stderr);
    assert!(
        status.success(),
        "{description} failed ({status})\n--- stdout\n{stdout}--- stderr\n{stderr}"
    );
    // The client's summary line, shown with the test's output.
    println!("{}", stdout.trim_end());
    stdout
}

/// Runs `command` to completion with `stdin` as its input, killing it after [`CLIENT_TIMEOUT`],
/// and returns how it ended, whether it succeeded or not.
///
/// # Panics
/// If it cannot start or times out: with its stdout and stderr.
pub(crate) fn run_to_completion(mut command: Command, stdin: &str) -> Output {
    let description = format!("{command:?}");
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {description}: {e}"));
    let pid = child.id();
    let mut input = child.stdin.take().expect("stdin is piped");
    let stdin = stdin.to_string();
    std::thread::spawn(move || {
        // A client that exits early closes the pipe; its exit status then tells what went wrong.
        let _ = input.write_all(stdin.as_bytes());
    });
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let output = match rx.recv_timeout(CLIENT_TIMEOUT) {
        Ok(output) => output,
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            // The clients start no processes of their own, so their pipes close with them.
            let output = rx
                .recv_timeout(Duration::from_secs(10))
                .ok()
                .and_then(Result::ok)
                .map(|o| {
                    format!(
                        "--- stdout\n{}--- stderr\n{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    )
                })
                .unwrap_or_default();
            panic!(
                "{description} did not finish within {} s and was killed\n{output}",
                CLIENT_TIMEOUT.as_secs()
            );
        }
    };
    output.unwrap_or_else(|e| panic!("waiting for {description}: {e}"))
}

/// Runs a client script from `clients/` with `program`: `BOOTSTRAP TOPIC COUNT [options]
/// --deliveries FILE`, and returns the deliveries it reports.
fn run_script(
    program: &Path,
    script: &str,
    broker: &BrokerProcess,
    topic: &str,
    count: usize,
    options: &[&str],
) -> Deliveries {
    let deliveries = std::env::temp_dir().join(format!(
        "mock-broker-real-clients-{}-{topic}.json",
        std::process::id()
    ));
    let mut command = Command::new(program);
    command
        .current_dir(clients_dir())
        .arg(script)
        .args([&broker.address, topic, &count.to_string()])
        .args(options)
        .arg("--deliveries")
        .arg(&deliveries);
    run_client(command, "");
    let text = std::fs::read_to_string(&deliveries)
        .unwrap_or_else(|e| panic!("{script} wrote no {}: {e}", deliveries.display()));
    let _ = std::fs::remove_file(&deliveries);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{script} deliveries ({e}): {text}"))
}

const COUNT: usize = 100;

/// Produces [`COUNT`] messages with confluent-kafka and `options`, then checks the recordings.
fn confluent_kafka_round_trip(topic: &str, options: &[&str], idempotent: bool) {
    let Some(python) = require(python_with("confluent_kafka")) else {
        return;
    };
    let broker = BrokerProcess::start(&["--partitions", "3"]);
    let deliveries = run_script(
        &python,
        "produce_confluent_kafka.py",
        &broker,
        topic,
        COUNT,
        options,
    );
    assert_recorded_exactly(
        &broker,
        Expected {
            topic,
            partitions: 3,
            sent: sent_messages("confluent-kafka", COUNT),
            client_id: Some("real-clients-confluent-kafka"),
            idempotent,
            deliveries: Some(deliveries),
        },
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

// ---------------------------------------------------------------------------------------------
// kcat

#[test]
fn kcat_produces_keyed_lines_with_a_header_and_each_is_recorded_once() {
    let Some(kcat) = require(kcat()) else {
        return;
    };
    let broker = BrokerProcess::start(&["--partitions", "3"]);
    let topic = "kcat-lines";
    let sent: Vec<Sent> = sent_messages("kcat", 50)
        .into_iter()
        .map(|s| Sent {
            // kcat puts the same -H headers on every message.
            headers: vec![("client".to_string(), "kcat".to_string())],
            ..s
        })
        .collect();
    let lines: String = sent
        .iter()
        .map(|s| format!("{}:{}\n", s.key, s.value))
        .collect();
    let mut command = kcat_command(&kcat);
    command.args(["-P", "-b", &broker.address, "-t", topic, "-K:"]);
    command.args(["-H", "client=kcat", "-X", "client.id=real-clients-kcat"]);
    command.args(["-X", "message.timeout.ms=60000"]);
    run_client(command, &lines);
    assert_recorded_exactly(
        &broker,
        Expected {
            topic,
            partitions: 3,
            sent,
            client_id: Some("real-clients-kcat"),
            idempotent: false,
            deliveries: None,
        },
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

/// `kcat -L -J` output, the parts we check.
#[derive(Debug, Deserialize)]
struct KcatMetadata {
    brokers: Vec<KcatBroker>,
    topics: Vec<KcatTopic>,
}

#[derive(Debug, Deserialize)]
struct KcatBroker {
    id: i32,
    name: String,
}

#[derive(Debug, Deserialize)]
struct KcatTopic {
    topic: String,
    partitions: Vec<KcatPartition>,
}

#[derive(Debug, Deserialize)]
struct KcatPartition {
    partition: i32,
    leader: i32,
}

#[test]
fn kcat_lists_every_broker_and_the_partition_leaders_of_a_three_broker_cluster() {
    let Some(kcat) = require(kcat()) else {
        return;
    };
    let broker = BrokerProcess::start(&["--brokers", "3", "--partitions", "6"]);
    let topic = "kcat-listed";
    let mut produce = kcat_command(&kcat);
    produce.args(["-P", "-b", &broker.address, "-t", topic, "-K:"]);
    run_client(produce, "a:1\nb:2\n");

    let mut list = kcat_command(&kcat);
    list.args(["-L", "-J", "-b", &broker.address]);
    let stdout = run_client(list, "");
    let metadata: KcatMetadata = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("kcat -L -J printed unexpected JSON ({e}): {stdout}"));

    let brokers: Vec<(i32, String)> = metadata
        .brokers
        .iter()
        .map(|b| (b.id, b.name.clone()))
        .collect();
    let expected: Vec<(i32, String)> = broker
        .address
        .split(',')
        .enumerate()
        .map(|(i, address)| (i as i32 + 1, address.to_string()))
        .collect();
    assert_eq!(brokers, expected, "brokers in Metadata");

    let listed = metadata
        .topics
        .iter()
        .find(|t| t.topic == topic)
        .unwrap_or_else(|| panic!("kcat -L does not list {topic}: {stdout}"));
    let leaders: Vec<(i32, i32)> = listed
        .partitions
        .iter()
        .map(|p| (p.partition, p.leader))
        .collect();
    let admin_leaders: Vec<(i32, i32)> = topic_info(&broker, topic)
        .partitions
        .iter()
        .map(|p| (p.partition, p.leader))
        .collect();
    assert_eq!(
        leaders, admin_leaders,
        "Metadata and the admin API agree on leaders"
    );
    assert_eq!(
        leaders,
        vec![(0, 1), (1, 2), (2, 3), (3, 1), (4, 2), (5, 3)],
        "partition p is led by broker p mod 3 + 1"
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

// ---------------------------------------------------------------------------------------------
// kcat as a consumer: compressed batches served as confluent-kafka produced them

/// The most records confluent-kafka puts in one batch here (`batch.num.messages`).
const RECORDS_PER_BATCH: i32 = 10;

/// One RecordBatch v2 as a raw Fetch served it: fields read from its header, and its records' keys.
#[derive(Debug)]
struct ServedBatch {
    /// Bytes 0..8.
    base_offset: i64,
    /// `attributes & 7` (attributes at bytes 21..23): 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    codec: i16,
    /// Bytes 57..61.
    record_count: i32,
    /// The keys of its records, decoded (and decompressed) by `kafka-protocol`.
    keys: Vec<String>,
}

/// (base offset, record count) of each batch, for assertion messages.
fn batch_layout(batches: &[ServedBatch]) -> Vec<(i64, i32)> {
    batches
        .iter()
        .map(|b| (b.base_offset, b.record_count))
        .collect()
}

/// Splits a fetched record set into its batches (`served_batches.rs`), keeping their keys.
///
/// # Panics
/// If the set ends with a partial batch, a batch does not decode, or its declared record count or
/// base offset disagrees with the records it holds.
fn split_batches(records: &Bytes) -> Vec<ServedBatch> {
    crate::served_batches::batches(&Some(records.clone()))
        .into_iter()
        .map(|batch| {
            let base_offset = batch.base_offset;
            let record_count = batch.record_count;
            let offsets: Vec<i64> = batch.records.iter().map(|r| r.offset).collect();
            let dense: Vec<i64> = (base_offset..base_offset + i64::from(record_count)).collect();
            assert_eq!(
                offsets, dense,
                "the batch with base offset {base_offset} holds the {record_count} records its \
                 header declares, at dense offsets"
            );
            let keys = batch
                .records
                .iter()
                .map(|r| {
                    r.key.as_ref().map_or_else(
                        || "<null>".to_string(),
                        |k| String::from_utf8_lossy(k).into_owned(),
                    )
                })
                .collect();
            ServedBatch {
                base_offset,
                codec: batch.codec,
                record_count,
                keys,
            }
        })
        .collect()
}

/// The batches that one raw Fetch v12 of partition 0 of `topic` from `offset` returns: no wait,
/// limits far above what these tests produce.
///
/// # Panics
/// If the response has an error or does not answer exactly that partition.
fn fetch_batches(broker: &BrokerProcess, topic: &str, offset: i64) -> Vec<ServedBatch> {
    const FETCH_VERSION: i16 = 12;
    const LARGE: i32 = 64 << 20;
    let address: SocketAddr = broker
        .address
        .parse()
        .unwrap_or_else(|e| panic!("one broker, one address: {:?} ({e})", broker.address));
    let request = crate::served_batches::fetch_request(topic, &[(0, offset)], LARGE, LARGE, 0);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime for the raw Fetch");
    // The client times out its read itself (30 s).
    let response: FetchResponse = runtime.block_on(async {
        let mut client = KafkaClient::connect(address).await;
        client.call(FETCH_VERSION, &request).await
    });
    let context = format!("raw Fetch v{FETCH_VERSION} of {topic}-0 from offset {offset}");
    assert_eq!(response.error_code, 0, "{context}: top-level error");
    let [answered] = &response.responses[..] else {
        panic!("{context}: answers one topic, not {response:?}");
    };
    let [partition] = &answered.partitions[..] else {
        panic!("{context}: answers one partition, not {answered:?}");
    };
    assert_eq!(partition.partition_index, 0, "{context}: partition");
    assert_eq!(partition.error_code, 0, "{context}: partition error");
    partition
        .records
        .as_ref()
        .map(split_batches)
        .unwrap_or_default()
}

/// Runs `kcat -C` on partition 0 of `topic` from `start` (`beginning` or an offset) to the end of
/// the partition (`-e`), with librdkafka checking every batch's CRC, and returns its lines:
/// `OFFSET KEY VALUE HEADERS`.
pub(crate) fn kcat_consume(
    kcat: &Path,
    broker: &BrokerProcess,
    topic: &str,
    start: &str,
) -> Vec<String> {
    let mut command = kcat_command(kcat);
    command.args(["-C", "-b", &broker.address, "-t", topic, "-p", "0"]);
    command.args(["-o", start, "-e", "-q", "-f", "%o %k %s %h\n"]);
    command.args(["-X", "client.id=real-clients-kcat-consumer"]);
    command.args(["-X", "check.crcs=true"]);
    run_client(command, "")
        .lines()
        .map(str::to_string)
        .collect()
}

/// The offsets of kcat lines, for an assertion message that says what is missing or extra.
pub(crate) fn line_offsets(lines: &[String]) -> Vec<i64> {
    lines
        .iter()
        .map(|line| {
            line.split(' ')
                .next()
                .and_then(|o| o.parse().ok())
                .unwrap_or_else(|| panic!("kcat printed a line without an offset: {line:?}"))
        })
        .collect()
}

/// confluent-kafka produces [`COUNT`] messages to one partition in `codec` batches of up to
/// [`RECORDS_PER_BATCH`]; a raw Fetch must show those batches as produced (the codec, several
/// records each, tiling offsets 0..COUNT), and kcat must read every message from the beginning,
/// and exactly the messages from an offset in the middle of a batch onwards from there, with the
/// keys, values and headers sent, at the offsets confluent-kafka was told.
fn kcat_consumes_batches(codec: &str, codec_id: i16) {
    let Some(kcat) = require(kcat()) else {
        return;
    };
    let Some(python) = require(python_with("confluent_kafka")) else {
        return;
    };
    let broker = BrokerProcess::start(&["--partitions", "1"]);
    // librdkafka has, rarely and only on CI machines, sent every message of a run alone despite
    // `linger.ms` and `batch.num.messages` (the whole run then took 0.1 s); the batches read from
    // inside are then produced again, to a new topic, up to three times.
    for attempt in 1.. {
        let topic = match attempt {
            1 => format!("kcat-consumes-{codec}"),
            n => format!("kcat-consumes-{codec}-{n}"),
        };
        let deliveries = run_script(
            &python,
            "produce_confluent_kafka.py",
            &broker,
            &topic,
            COUNT,
            &[
                &format!("compression.type={codec}"),
                // Long enough that batches close by count, not by time, even on a loaded machine
                // (with 50 ms, CI once saw every message sent alone); the final flush sends the rest.
                "linger.ms=1000",
                &format!("batch.num.messages={RECORDS_PER_BATCH}"),
            ],
        );

        // The message at each offset, as confluent-kafka was told; every offset 0..COUNT once.
        let sent = sent_messages("confluent-kafka", COUNT);
        let mut at_offset: Vec<Option<&Sent>> = vec![None; COUNT];
        for message in &sent {
            let (partition, offset) = *deliveries.get(&message.key).unwrap_or_else(|| {
                panic!("confluent-kafka reported no delivery of {}", message.key)
            });
            assert_eq!(partition, 0, "{}: the topic has one partition", message.key);
            let slot = usize::try_from(offset)
                .ok()
                .and_then(|o| at_offset.get_mut(o))
                .unwrap_or_else(|| panic!("{}: offset {offset} not in 0..{COUNT}", message.key));
            assert!(
                slot.is_none(),
                "{}: offset {offset} was reported for two messages",
                message.key
            );
            *slot = Some(message);
        }
        let at_offset: Vec<&Sent> = at_offset.into_iter().map(Option::unwrap).collect();

        // The stored batches kept the producer's codec and boundaries.
        let served = fetch_batches(&broker, &topic, 0);
        let layout = batch_layout(&served);
        assert!(
            served.iter().all(|b| b.codec == codec_id),
            "every batch served with the codec it was produced with ({codec} = {codec_id}); codecs \
         {:?}, batches (base offset, records) {layout:?}",
            served.iter().map(|b| b.codec).collect::<Vec<_>>()
        );
        let mut next = 0;
        for batch in &served {
            assert_eq!(
                batch.base_offset, next,
                "the batches tile the offsets from 0: {layout:?}"
            );
            assert!(
                (1..=RECORDS_PER_BATCH).contains(&batch.record_count),
                "batches as produced (1..={RECORDS_PER_BATCH} records each), not merged or split: \
             {layout:?}"
            );
            let keys: Vec<&str> = (0..batch.record_count)
                .map(|i| {
                    at_offset[(batch.base_offset + i64::from(i)) as usize]
                        .key
                        .as_str()
                })
                .collect();
            assert_eq!(
                batch.keys, keys,
                "the batch with base offset {} holds the messages delivered at its offsets",
                batch.base_offset
            );
            next += i64::from(batch.record_count);
        }
        assert_eq!(
            next, COUNT as i64,
            "the batches end at the last offset: {layout:?}"
        );
        // A batch after the first with several records, so that reading from its middle skips both a
        // whole batch and records of the batch served.
        let Some(inside) = served
            .iter()
            .find(|b| b.base_offset > 0 && b.record_count >= 3)
        else {
            assert!(
                attempt < 3,
                "a batch after the first with 3 records or more to read from, in {attempt} runs: {layout:?}"
            );
            println!(
                "{topic}: no batch after the first with 3 records or more {layout:?}; producing again"
            );
            continue;
        };
        let offset = inside.base_offset + i64::from(inside.record_count) / 2;
        println!(
            "{topic}: {codec} batches (base offset, records) {layout:?}; kcat reads from the \
         beginning, then from offset {offset}"
        );
        let from_inside = fetch_batches(&broker, &topic, offset);
        assert_eq!(
            from_inside.first().map(|b| (b.base_offset, b.record_count)),
            Some((inside.base_offset, inside.record_count)),
            "a raw fetch from offset {offset} starts with the whole batch holding it; served {:?}",
            batch_layout(&from_inside)
        );

        let expected = |from: i64| -> Vec<String> {
            at_offset[from as usize..]
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let headers: Vec<String> =
                        m.headers.iter().map(|(k, v)| format!("{k}={v}")).collect();
                    let offset = from + i as i64;
                    format!("{offset} {} {} {}", m.key, m.value, headers.join(","))
                })
                .collect()
        };

        let from_start = kcat_consume(&kcat, &broker, &topic, "beginning");
        assert_eq!(
            line_offsets(&from_start),
            (0..COUNT as i64).collect::<Vec<_>>(),
            "kcat -o beginning: offsets"
        );
        assert_eq!(
            from_start,
            expected(0),
            "kcat -o beginning: `offset key value headers`"
        );

        let from_middle = kcat_consume(&kcat, &broker, &topic, &offset.to_string());
        assert_eq!(
            line_offsets(&from_middle),
            (offset..COUNT as i64).collect::<Vec<_>>(),
            "kcat -o {offset} (inside the batch {:?}): offsets {offset}.. only, none of the batch \
         before it",
            (inside.base_offset, inside.record_count)
        );
        assert_eq!(
            from_middle,
            expected(offset),
            "kcat -o {offset}: `offset key value headers`"
        );
        break;
    }
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[test]
fn kcat_consumes_gzip_batches_from_the_start_and_from_inside_a_batch() {
    kcat_consumes_batches("gzip", 1);
}

#[test]
fn kcat_consumes_snappy_batches_from_the_start_and_from_inside_a_batch() {
    kcat_consumes_batches("snappy", 2);
}

#[test]
fn kcat_consumes_lz4_batches_from_the_start_and_from_inside_a_batch() {
    kcat_consumes_batches("lz4", 3);
}

#[test]
fn kcat_consumes_zstd_batches_from_the_start_and_from_inside_a_batch() {
    kcat_consumes_batches("zstd", 4);
}

// ---------------------------------------------------------------------------------------------
// confluent-kafka (librdkafka)

#[test]
fn confluent_kafka_with_defaults_records_every_message_once() {
    confluent_kafka_round_trip("confluent-defaults", &[], false);
}

#[test]
fn confluent_kafka_idempotent_producer_records_a_producer_id_and_dense_sequences() {
    confluent_kafka_round_trip("confluent-idempotent", &["enable.idempotence=true"], true);
}

#[test]
fn confluent_kafka_gzip_batches_are_decompressed_and_recorded() {
    confluent_kafka_round_trip("confluent-gzip", &["compression.type=gzip"], false);
}

#[test]
fn confluent_kafka_snappy_batches_are_decompressed_and_recorded() {
    confluent_kafka_round_trip("confluent-snappy", &["compression.type=snappy"], false);
}

#[test]
fn confluent_kafka_lz4_batches_are_decompressed_and_recorded() {
    confluent_kafka_round_trip("confluent-lz4", &["compression.type=lz4"], false);
}

#[test]
fn confluent_kafka_zstd_batches_are_decompressed_and_recorded() {
    confluent_kafka_round_trip("confluent-zstd", &["compression.type=zstd"], false);
}

// ---------------------------------------------------------------------------------------------
// kafka-python

#[test]
fn kafka_python_with_defaults_negotiates_api_versions_v4_and_records_every_message_once() {
    let Some(python) = require(python_with("kafka")) else {
        return;
    };
    let broker = BrokerProcess::start(&["--partitions", "3"]);
    let topic = "kafka-python-defaults";
    let deliveries = run_script(
        &python,
        "produce_kafka_python.py",
        &broker,
        topic,
        COUNT,
        &[],
    );
    assert_recorded_exactly(
        &broker,
        Expected {
            topic,
            partitions: 3,
            sent: sent_messages("kafka-python", COUNT),
            client_id: Some("real-clients-kafka-python"),
            // kafka-python 3 is an idempotent producer by default, as the Java client is.
            idempotent: true,
            deliveries: Some(deliveries),
        },
    );
    let stats: serde_json::Value = get_json(&broker, "/stats");
    let api_versions = &stats["requests"]["kafka"]["ApiVersions"];
    assert!(
        api_versions["4"].as_u64().is_some_and(|n| n > 0),
        "kafka-python 3 opens with ApiVersions v4; requests seen: {api_versions}"
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

// ---------------------------------------------------------------------------------------------
// kafkajs

fn kafkajs_round_trip(broker_args: &[&str], partitions: i32, topic: &str, options: &[&str]) {
    let Some(node) = require(node_with_kafkajs()) else {
        return;
    };
    let broker = BrokerProcess::start(broker_args);
    let deliveries = run_script(&node, "produce_kafkajs.js", &broker, topic, COUNT, options);
    assert_recorded_exactly(
        &broker,
        Expected {
            topic,
            partitions,
            sent: sent_messages("kafkajs", COUNT),
            client_id: Some("real-clients-kafkajs"),
            idempotent: options.contains(&"idempotent=true"),
            deliveries: Some(deliveries),
        },
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[test]
fn kafkajs_with_defaults_records_every_message_once() {
    kafkajs_round_trip(&["--partitions", "3"], 3, "kafkajs-defaults", &[]);
}

#[test]
fn kafkajs_idempotent_producer_finds_the_controller_of_a_three_broker_cluster() {
    kafkajs_round_trip(
        &["--brokers", "3", "--partitions", "6"],
        6,
        "kafkajs-idempotent",
        &["idempotent=true"],
    );
}

//! The record file across crashes and restarts of the real binary: `--fsync always`
//! under `kill -9`, the replay at startup (topics, offsets, a group's committed offset,
//! an idempotent producer's last batches, read back by real clients), a torn last line
//! cut off, and a corrupt line in the middle refused.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::messages::init_producer_id_request::InitProducerIdRequest;
use producer::{Config, Producer, Record};
use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde_json::Value;

use crate::binaries::BrokerProcess;
use crate::kafka_protocol::{KafkaClient, outcome, produce, records};
use crate::real_clients::{kcat, kcat_consume, line_offsets, require, topic_info};

/// Generous: the machine running the tests may be loaded.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A fresh directory for one test's record file.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("durability-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every complete line of the record file, parsed: a line that is not JSON fails
/// the test. A last line without its newline is what a `kill -9` in the middle of
/// a write leaves (the broker cuts it off when it replays): it is not a record
/// anyone was told about (answers wait for the whole line), so it is left out.
fn file_lines(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    let complete = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
    complete
        .lines()
        .enumerate()
        .map(|(i, line)| {
            serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("{}:{}: not JSON ({e}): {line:?}", path.display(), i + 1)
            })
        })
        .collect()
}

/// A Kafka producer (acks=all, idempotent) for `topic` at `address`.
async fn producer(address: &str, topic: &str) -> Producer {
    let mut config = Config::new(address, topic);
    config.linger = Duration::from_millis(1);
    tokio::time::timeout(TIMEOUT, Producer::new(config))
        .await
        .expect("the producer connects in time")
        .expect("the producer starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_under_load_with_fsync_always_loses_nothing_acknowledged() {
    let dir = temp_dir("kill9");
    let file = dir.join("records.jsonl");
    let broker = BrokerProcess::start(&[
        "--record-file",
        file.to_str().unwrap(),
        "--fsync",
        "always",
        "--partitions",
        "3",
    ]);
    // Acknowledged (partition, offset, value), filled in as deliveries come back.
    let acked: Arc<Mutex<Vec<(u32, i64, String)>>> = Arc::default();
    let mut senders = Vec::new();
    for lane in 0..4 {
        let producer = producer(&broker.address, "durable").await;
        let acked = acked.clone();
        senders.push(tokio::spawn(async move {
            for n in 0..5000 {
                let value = format!("lane{lane}-{n}");
                let Ok(delivery) = producer.send(Record::new(value.clone())).await else {
                    return;
                };
                let acked = acked.clone();
                // Many records in flight at once: the deliveries are awaited on their own.
                tokio::spawn(async move {
                    if let Ok(d) = delivery.await {
                        acked.lock().unwrap().push((
                            d.partition.unwrap(),
                            d.offset.unwrap(),
                            value,
                        ));
                    }
                });
                if n % 64 == 63 {
                    tokio::task::yield_now().await;
                }
            }
            // Keeps the producer (and its deliveries) alive until the broker is gone.
            producer.flush().await;
        }));
    }
    // Kill once plenty are acknowledged, with more in flight.
    tokio::time::timeout(TIMEOUT, async {
        while acked.lock().unwrap().len() < 1000 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("1000 records acknowledged in time");
    drop(broker); // SIGKILL, then waits until the process is gone.
    // Every acknowledgement the producers hold now was sent before the kill.
    let acked: Vec<(u32, i64, String)> = acked.lock().unwrap().clone();
    for sender in &senders {
        sender.abort();
    }
    for sender in senders {
        let _ = sender.await;
    }

    let lines = file_lines(&file);
    let recorded: HashSet<(u32, i64, String)> = lines
        .iter()
        .filter(|l| l.get("kind").is_none())
        .map(|l| {
            (
                l["partition"].as_u64().unwrap() as u32,
                l["offset"].as_i64().unwrap(),
                l["value"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let missing: Vec<_> = acked.iter().filter(|a| !recorded.contains(a)).collect();
    assert!(
        missing.is_empty(),
        "{} of {} acknowledged records are not in the file, e.g. {:?}",
        missing.len(),
        acked.len(),
        &missing[..missing.len().min(5)]
    );
    assert!(
        (1000..20_000).contains(&acked.len()),
        "the kill came in the middle of the sends: {} of 20000 acknowledged",
        acked.len()
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Sends `values` to `partition` of `topic` and returns the offsets the producer was told.
async fn send_all(producer: &Producer, topic: &str, partition: u32, values: &[String]) -> Vec<i64> {
    let mut deliveries = Vec::new();
    for value in values {
        let record = Record::new(value.clone())
            .with_topic(topic)
            .with_partition(partition);
        deliveries.push(producer.send(record).await.expect("the record is queued"));
    }
    let mut offsets = Vec::new();
    for delivery in deliveries {
        let delivery = tokio::time::timeout(TIMEOUT, delivery)
            .await
            .expect("delivered in time")
            .expect("delivered");
        offsets.push(delivery.offset.unwrap());
    }
    offsets
}

/// The offset group `group` committed for `partition` of `topic`, as librdkafka fetches it.
fn committed_offset(bootstrap: &str, group: &str, topic: &str, partition: i32) -> Offset {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("the consumer configuration is valid");
    let mut wanted = TopicPartitionList::new();
    wanted.add_partition(topic, partition);
    let committed = consumer
        .committed_offsets(wanted, TIMEOUT)
        .expect("the committed offsets are fetched");
    committed
        .find_partition(topic, partition)
        .expect("the partition is in the answer")
        .offset()
}

/// Commits `offset` for `partition` of `topic` as group `group` (a simple consumer, no join).
fn commit_offset(bootstrap: &str, group: &str, topic: &str, partition: i32, offset: i64) {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .create()
        .expect("the consumer configuration is valid");
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset(topic, partition, Offset::Offset(offset))
        .unwrap();
    consumer
        .commit(&offsets, CommitMode::Sync)
        .expect("the offset is committed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_broker_continues_topics_offsets_and_groups_committed_offsets() {
    let dir = temp_dir("restart");
    let file = dir.join("records.jsonl");
    let args = [
        "--record-file",
        file.to_str().unwrap(),
        "--fsync",
        "always",
        "--partitions",
        "3",
    ];
    let broker = BrokerProcess::start(&args);
    let first: Vec<String> = (0..10).map(|i| format!("old-{i}")).collect();
    let producer = producer(&broker.address, "orders").await;
    assert_eq!(
        send_all(&producer, "orders", 0, &first).await,
        (0..10).collect::<Vec<i64>>()
    );
    send_all(&producer, "orders", 2, &first[..4]).await;
    producer.close().await;
    let bootstrap = broker.address.clone();
    tokio::task::spawn_blocking(move || {
        commit_offset(&bootstrap, "billing", "orders", 0, 7);
        commit_offset(&bootstrap, "gone", "orders", 0, 3);
    })
    .await
    .unwrap();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &broker.address)
        .create()
        .expect("the admin client configuration is valid");
    let deleted = admin
        .delete_groups(&["gone"], &AdminOptions::new())
        .await
        .expect("DeleteGroups is answered");
    assert!(deleted[0].is_ok(), "{deleted:?}");
    drop(broker); // kill -9

    let broker = BrokerProcess::start(&args);
    let topic = topic_info(&broker, "orders");
    let high_watermarks: Vec<i64> = topic.partitions.iter().map(|p| p.high_watermark).collect();
    assert_eq!(
        high_watermarks,
        [10, 0, 4],
        "partitions and offsets survive"
    );
    let bootstrap = broker.address.clone();
    let committed =
        tokio::task::spawn_blocking(move || committed_offset(&bootstrap, "billing", "orders", 0))
            .await
            .unwrap();
    assert_eq!(
        committed,
        Offset::Offset(7),
        "the group's committed offset survives"
    );

    let producer = self::producer(&broker.address, "orders").await;
    let second: Vec<String> = (0..3).map(|i| format!("new-{i}")).collect();
    assert_eq!(
        send_all(&producer, "orders", 0, &second).await,
        [10, 11, 12],
        "offsets continue after the replayed ones"
    );
    producer.close().await;
    if let Some(kcat) = require(kcat()) {
        let lines = kcat_consume(&kcat, &broker, "orders", "beginning");
        assert_eq!(
            line_offsets(&lines),
            (0..13).collect::<Vec<i64>>(),
            "{lines:?}"
        );
        let values: Vec<&str> = lines.iter().map(|l| l.split(' ').nth(2).unwrap()).collect();
        let expected: Vec<&str> = first.iter().chain(&second).map(String::as_str).collect();
        assert_eq!(values, expected);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn an_idempotent_retry_after_a_restart_is_acknowledged_at_its_first_offset_not_appended_again()
 {
    let dir = temp_dir("idempotent");
    let file = dir.join("records.jsonl");
    let args = ["--record-file", file.to_str().unwrap(), "--fsync", "always"];
    let broker = BrokerProcess::start(&args);
    let address: SocketAddr = broker.address.parse().unwrap();
    let mut client = KafkaClient::connect(address).await;
    let init = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_producer_id((-1).into());
    let response = client.call(4, &init).await;
    let (pid, epoch) = (response.producer_id.0, response.producer_epoch);
    let batch = |values: &[&str], seq: i32| records(values, Some((pid, epoch, seq)));
    let first = client
        .call(9, &produce("idem", 0, batch(&["a", "b", "c"], 0), -1))
        .await;
    assert_eq!(outcome(&first), (0, 0));
    let second = client
        .call(9, &produce("idem", 0, batch(&["d", "e"], 3), -1))
        .await;
    assert_eq!(outcome(&second), (0, 3));
    drop(client);
    drop(broker); // kill -9: the producer retries its last batch, as if the answer was lost

    let broker = BrokerProcess::start(&args);
    let address: SocketAddr = broker.address.parse().unwrap();
    let mut client = KafkaClient::connect(address).await;
    let retry = client
        .call(9, &produce("idem", 0, batch(&["d", "e"], 3), -1))
        .await;
    assert_eq!(
        outcome(&retry),
        (0, 3),
        "the retry is a duplicate of the batch at offset 3"
    );
    let next = client
        .call(9, &produce("idem", 0, batch(&["f"], 5), -1))
        .await;
    assert_eq!(outcome(&next), (0, 5), "the sequence continues");
    assert_eq!(topic_info(&broker, "idem").partitions[0].high_watermark, 6);
    let another = client.call(4, &init).await;
    assert_eq!(another.error_code, 0);
    assert!(
        another.producer_id.0 > pid,
        "producer id {} handed out again after the restart (first was {pid})",
        another.producer_id.0
    );
    std::fs::remove_dir_all(dir).unwrap();
}

/// Starts the binary on `file` and waits for it to exit (it must not start), returning its stderr.
fn failed_start(file: &Path, extra: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_mock-broker"))
        .args(["--listen", "127.0.0.1:0", "--admin", "off", "--record-file"])
        .arg(file)
        .args(extra)
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    stderr
}

/// Record lines as files written before the other line kinds and `base_offset` existed.
const OLD_LINES: &str = concat!(
    r#"{"topic":"orders","partition":0,"offset":0,"timestamp":1700000000000,"receive_time":1795497735048,"key":"user-1","value":"one","headers":{},"header_list":[],"producer_id":null,"producer_epoch":null,"sequence":null,"protocol":"frame","client_id":"producer","client_address":"127.0.0.1:54734"}"#,
    "\n",
    r#"{"topic":"orders","partition":1,"offset":0,"timestamp":1795497735048,"receive_time":1795497735048,"key":null,"value":{"base64":"/wD+"},"headers":{},"header_list":[],"producer_id":null,"producer_epoch":null,"sequence":null,"protocol":"frame","client_id":"producer","client_address":"127.0.0.1:54734"}"#,
    "\n",
    r#"{"topic":"orders","partition":0,"offset":1,"timestamp":1700000000001,"receive_time":1795497735049,"key":"user-1","value":"two","headers":{},"header_list":[],"producer_id":null,"producer_epoch":null,"sequence":null,"protocol":"frame","client_id":"producer","client_address":"127.0.0.1:54734"}"#,
    "\n",
);

#[test]
fn a_torn_last_line_is_reported_and_cut_off_and_an_old_records_only_file_replays() {
    for torn in [r#"{"topic":"orders","partit"#, "not json at all\n"] {
        let dir = temp_dir("torn");
        let file = dir.join("records.jsonl");
        std::fs::write(&file, format!("{OLD_LINES}{torn}")).unwrap();
        let log = dir.join("broker.log");
        let broker = BrokerProcess::start_logging_to(
            &[
                "--record-file",
                file.to_str().unwrap(),
                "--retention-ms",
                "-1",
            ],
            &log,
        );
        let topic = topic_info(&broker, "orders");
        let high_watermarks: Vec<i64> = topic.partitions.iter().map(|p| p.high_watermark).collect();
        assert_eq!(high_watermarks, [2, 1], "{torn:?}");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            OLD_LINES,
            "the torn line is cut off"
        );
        drop(broker);
        let log = std::fs::read_to_string(&log).unwrap();
        let warning = log
            .lines()
            .find(|l| l.contains("torn line"))
            .unwrap_or_else(|| panic!("no warning about the torn line: {log}"));
        assert!(
            warning.contains(&file.display().to_string())
                && warning.contains(&format!("byte_offset={}", OLD_LINES.len()))
                && warning.contains("line=4"),
            "{warning}"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[test]
fn a_corrupt_line_in_the_middle_stops_the_broker_naming_the_file_and_line() {
    let dir = temp_dir("corrupt");
    let file = dir.join("records.jsonl");
    let lines: Vec<&str> = OLD_LINES.lines().collect();
    std::fs::write(
        &file,
        format!("{}\n{}\n{{\"broken\n{}\n", lines[0], lines[1], lines[2]),
    )
    .unwrap();
    let before = std::fs::read(&file).unwrap();
    let stderr = failed_start(&file, &[]);
    assert!(
        stderr.contains(&format!("{}, line 3: not JSON", file.display())),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the file is left as it is"
    );

    // A line that is JSON but not a record or a known kind is refused as well.
    std::fs::write(
        &file,
        format!("{}\n{{\"kind\":\"teleport\"}}\n{}\n", lines[0], lines[2]),
    )
    .unwrap();
    let stderr = failed_start(&file, &[]);
    assert!(
        stderr.contains("line 2: not a valid event line") && stderr.contains("teleport"),
        "{stderr}"
    );

    // A line longer than any the broker writes is not read whole: its length is the error.
    let long = format!(r#"{{"value":"{}"}}"#, "a".repeat(1_100_000));
    std::fs::write(&file, format!("{}\n{long}\n{}\n", lines[0], lines[2])).unwrap();
    let stderr = failed_start(&file, &["--max-decompressed-bytes", "1"]);
    assert!(
        stderr.contains("line 2: longer than 1048588 bytes"),
        "{stderr}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn fresh_starts_empty_and_truncates_the_record_file() {
    let dir = temp_dir("fresh");
    let file = dir.join("records.jsonl");
    std::fs::write(&file, OLD_LINES).unwrap();
    let broker = BrokerProcess::start(&["--record-file", file.to_str().unwrap(), "--fresh"]);
    let topics: Vec<Value> = crate::real_clients::get_json(&broker, "/topics");
    assert!(topics.is_empty(), "{topics:?}");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "");
    drop(broker);
    std::fs::remove_dir_all(dir).unwrap();
}

/// `GET /topics` as JSON, by topic name.
fn topics_json(broker: &BrokerProcess) -> std::collections::BTreeMap<String, Value> {
    let topics: Vec<Value> = crate::real_clients::get_json(broker, "/topics");
    topics
        .into_iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t))
        .collect()
}

/// (log start offset, high watermark) of each partition of `topic`.
fn bounds(topic: &Value) -> Vec<(i64, i64)> {
    topic["partitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["log_start_offset"].as_i64().unwrap(),
                p["high_watermark"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_keeps_created_topics_their_configs_added_partitions_deleted_records_and_retention()
 {
    let dir = temp_dir("topics");
    let file = dir.join("records.jsonl");
    let args = ["--record-file", file.to_str().unwrap(), "--fsync", "always"];
    let broker = BrokerProcess::start(&args);
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", &broker.address)
        .create()
        .expect("the admin client configuration is valid");
    let options = AdminOptions::new().request_timeout(Some(TIMEOUT));
    let created = admin
        .create_topics(
            &[
                NewTopic::new("small", 1, TopicReplication::Fixed(1))
                    .set("retention.bytes", "3000"),
                NewTopic::new("trimmed", 1, TopicReplication::Fixed(1)),
            ],
            &options,
        )
        .await
        .expect("CreateTopics is answered");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    let grown = admin
        .create_partitions(&[NewPartitions::new("trimmed", 3)], &options)
        .await
        .expect("CreatePartitions is answered");
    assert!(grown[0].is_ok(), "{grown:?}");
    let producer = producer(&broker.address, "small").await;
    let big = "x".repeat(1000);
    for _ in 0..10 {
        // One batch each: retention.bytes drops whole batches.
        send_all(&producer, "small", 0, std::slice::from_ref(&big)).await;
    }
    let values: Vec<String> = (0..5).map(|i| format!("t{i}")).collect();
    send_all(&producer, "trimmed", 2, &values).await;
    producer.close().await;
    let mut offsets = TopicPartitionList::new();
    offsets
        .add_partition_offset("trimmed", 2, Offset::Offset(3))
        .unwrap();
    admin
        .delete_records(&offsets, &options)
        .await
        .expect("DeleteRecords is answered");
    let before = topics_json(&broker);
    let small_before = bounds(&before["small"]);
    assert!(
        small_before[0].0 > 0,
        "retention.bytes dropped batches: {small_before:?}"
    );
    drop(broker); // kill -9

    let broker = BrokerProcess::start(&args);
    let after = topics_json(&broker);
    assert_eq!(
        after["small"]["id"], before["small"]["id"],
        "the topic id is kept"
    );
    assert_eq!(after["small"]["configs"]["retention.bytes"], "3000");
    assert_eq!(
        bounds(&after["small"]),
        small_before,
        "retention.bytes keeps the same batches on replay"
    );
    assert_eq!(bounds(&after["trimmed"]), [(0, 0), (0, 0), (3, 5)]);
    std::fs::remove_dir_all(dir).unwrap();
}

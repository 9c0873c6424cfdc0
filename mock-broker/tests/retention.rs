//! Bounded memory, through the real binary: `--retention-bytes` and `--retention-ms` drop the
//! oldest whole batches of a partition and move its log start offset, which Fetch, ListOffsets,
//! Produce, `GET /topics`, `GET /topics/{t}/records` and kcat honour; `--max-memory` with
//! `--memory-policy refuse` refuses appends past the cap (KAFKA_STORAGE_ERROR, frame BROKER_BUSY)
//! and keeps everything acknowledged, with `drop-oldest` it drops the oldest batches of the whole
//! broker instead; `/stats` counts all of it under `memory`.
//!
//! Raw Kafka requests go over real TCP, encoded with the `kafka-protocol` crate, to a
//! `mock-broker` process started on port 0; the admin API is read over HTTP. Waiting for
//! `retention.ms` polls the admin API against a generous deadline, never a fixed sleep.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::fetch_response::PartitionData;
use kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use kafka_protocol::messages::produce_response::PartitionProduceResponse;
use kafka_protocol::records::Compression;
use producer::frame::{FrameAcks, Status};
use serde_json::Value;

use crate::binaries::{BrokerProcess, http_get};
use crate::fetch_batches::{encode_batch, entries};
use crate::kafka_protocol::{KafkaClient, name, produce};
use crate::raw_client::{RawClient, request};
use crate::real_clients::{kcat, kcat_consume, line_offsets, require};
use crate::served_batches::{FetchedBatch, batches, fetch_request, layout};

/// How long a condition the broker must reach by itself (a `retention.ms` sweep) may take on a
/// loaded machine; a healthy run takes about `retention.ms` plus one sweep (1 s).
const DEADLINE: Duration = Duration::from_secs(30);
/// How often the admin API is polled while waiting.
const POLL: Duration = Duration::from_millis(50);
/// Produce v9: reports `log_start_offset` (v5+) and error messages (v8+).
const PRODUCE_VERSION: i16 = 9;
/// Fetch v12: reports `log_start_offset` (v5+).
const FETCH_VERSION: i16 = 12;
/// ListOffsets v7.
const LIST_OFFSETS_VERSION: i16 = 7;
/// A fetch limit larger than anything these tests produce.
const LARGE: i32 = 64 << 20;
/// Kafka's OFFSET_OUT_OF_RANGE.
const OFFSET_OUT_OF_RANGE: i16 = 1;
/// Kafka's KAFKA_STORAGE_ERROR.
const KAFKA_STORAGE_ERROR: i16 = 56;
/// ListOffsets' special timestamps.
const EARLIEST: i64 = -2;
const LATEST: i64 = -1;
/// The smallest `--max-memory`: 1 MiB.
const ONE_MIB: u64 = 1 << 20;
/// Records in each ~64 KB batch of the memory-cap tests, and the size of each value.
const BIG_BATCH_RECORDS: usize = 16;
const BIG_VALUE: usize = 4000;

// ---------------------------------------------------------------------------------------------
// The broker from outside: its address, admin API and process.

fn address(broker: &BrokerProcess) -> SocketAddr {
    broker
        .address
        .parse()
        .unwrap_or_else(|e| panic!("one broker, one address: {:?} ({e})", broker.address))
}

fn get_json(broker: &BrokerProcess, path: &str) -> Value {
    let (status, body) = http_get(&broker.admin, path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: not JSON ({e}): {body}"))
}

/// (log start offset, high watermark) of partition 0 of `topic`, as `GET /topics` shows them.
fn partition_offsets(broker: &BrokerProcess, topic: &str) -> (i64, i64) {
    let topics = get_json(broker, "/topics");
    let entry = topics
        .as_array()
        .expect("GET /topics: an array")
        .iter()
        .find(|t| t["name"] == topic)
        .unwrap_or_else(|| panic!("GET /topics has no topic {topic:?}: {topics}"));
    let partition = &entry["partitions"][0];
    let field = |key: &str| {
        partition[key]
            .as_i64()
            .unwrap_or_else(|| panic!("GET /topics: {topic}-0 has no integer {key:?}: {entry}"))
    };
    (field("log_start_offset"), field("high_watermark"))
}

/// The `memory` object of `GET /stats`.
fn memory_stats(broker: &BrokerProcess) -> Value {
    let stats = get_json(broker, "/stats");
    let memory = stats["memory"].clone();
    assert!(
        memory.is_object(),
        "GET /stats has a memory object: {stats}"
    );
    memory
}

/// An unsigned counter of `memory` at `path` (e.g. `["retention", "batches"]`).
fn counter(memory: &Value, path: &[&str]) -> u64 {
    path.iter()
        .fold(memory, |v, key| &v[*key])
        .as_u64()
        .unwrap_or_else(|| panic!("/stats memory.{} is not a count: {memory}", path.join(".")))
}

/// The records of partition 0 of `topic` as `GET /topics/{topic}/records` serves them with `query`
/// added: (offset, key) each.
fn admin_records(broker: &BrokerProcess, topic: &str, query: &str) -> Vec<(i64, String)> {
    let path = format!("/topics/{topic}/records?partition=0{query}");
    let records = get_json(broker, &path);
    records
        .as_array()
        .unwrap_or_else(|| panic!("GET {path}: an array, not {records}"))
        .iter()
        .map(|r| {
            let offset = r["offset"]
                .as_i64()
                .unwrap_or_else(|| panic!("GET {path}: a record without an offset: {r}"));
            let key = r["key"]
                .as_str()
                .unwrap_or_else(|| panic!("GET {path}: a record without a text key: {r}"))
                .to_string();
            (offset, key)
        })
        .collect()
}

/// A bare HTTP/1.1 DELETE; its status.
fn http_delete(base: &str, path: &str) -> u16 {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://");
    let mut stream = std::net::TcpStream::connect(host).expect("admin API accepts");
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "DELETE {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"))
}

/// The resident set size of process `pid` in KiB (`VmRSS` of `/proc/PID/status`), where there is
/// a `/proc`.
fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().strip_suffix("kB"))
        .and_then(|kib| kib.trim().parse().ok())
}

/// Polls `condition` every [`POLL`] until it holds; panics with `what` after [`DEADLINE`].
fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let start = Instant::now();
    while !condition() {
        assert!(
            start.elapsed() < DEADLINE,
            "{what}: not within {} s",
            DEADLINE.as_secs()
        );
        std::thread::sleep(POLL);
    }
}

// ---------------------------------------------------------------------------------------------
// Raw Kafka requests.

/// One uncompressed batch of `count` records keyed `{prefix}-{i}` with values of `value_len`
/// bytes, and its keys.
fn batch(prefix: &str, count: usize, value_len: usize) -> (Bytes, Vec<String>) {
    let entries = entries(prefix, count, value_len);
    let keys = entries.iter().map(|(k, _)| k.clone()).collect();
    (encode_batch(&entries, Compression::None), keys)
}

/// Produces `batch` to partition 0 of `topic` with acks=1; the partition's answer.
async fn produce_to(
    client: &mut KafkaClient,
    topic: &str,
    batch: Bytes,
) -> PartitionProduceResponse {
    let response = client
        .call(PRODUCE_VERSION, &produce(topic, 0, batch, 1))
        .await;
    response.responses[0].partition_responses[0].clone()
}

/// Produces `batch` to partition 0 of `topic` and asserts it is acknowledged; its answer.
async fn produce_ok(
    client: &mut KafkaClient,
    topic: &str,
    batch: Bytes,
    what: &str,
) -> PartitionProduceResponse {
    let answer = produce_to(client, topic, batch).await;
    assert_eq!(
        answer.error_code, 0,
        "Produce v{PRODUCE_VERSION} of {what} to {topic}-0 is acknowledged: {answer:?}"
    );
    answer
}

/// A Fetch v12 of partition 0 of `topic` from `offset`, without waiting; the partition's answer.
async fn fetch_from(client: &mut KafkaClient, topic: &str, offset: i64) -> PartitionData {
    let request = fetch_request(topic, &[(0, offset)], LARGE, LARGE, 0);
    let response = client.call(FETCH_VERSION, &request).await;
    assert_eq!(
        response.error_code, 0,
        "Fetch of {topic}-0 from {offset}: top-level error"
    );
    let [answered] = &response.responses[..] else {
        panic!("Fetch of {topic}-0 from {offset}: answers one topic, not {response:?}");
    };
    let [partition] = &answered.partitions[..] else {
        panic!("Fetch of {topic}-0 from {offset}: answers one partition, not {answered:?}");
    };
    partition.clone()
}

/// The whole batches a Fetch of partition 0 of `topic` from `offset` returns, asserting no error.
async fn fetch_batches_from(
    client: &mut KafkaClient,
    topic: &str,
    offset: i64,
) -> Vec<FetchedBatch> {
    let partition = fetch_from(client, topic, offset).await;
    assert_eq!(
        partition.error_code, 0,
        "Fetch of {topic}-0 from {offset} is answered without error: {partition:?}"
    );
    batches(&partition.records)
}

/// Asserts that a Fetch of partition 0 of `topic` from `offset` answers OFFSET_OUT_OF_RANGE and
/// reports `log_start` and `high_watermark`.
async fn assert_fetch_out_of_range(
    client: &mut KafkaClient,
    topic: &str,
    offset: i64,
    log_start: i64,
    high_watermark: i64,
) {
    let partition = fetch_from(client, topic, offset).await;
    assert_eq!(
        (
            partition.error_code,
            partition.log_start_offset,
            partition.high_watermark
        ),
        (OFFSET_OUT_OF_RANGE, log_start, high_watermark),
        "Fetch v{FETCH_VERSION} of {topic}-0 from {offset}, below the log start {log_start}: \
         (error code, log_start_offset, high_watermark); the answer was {partition:?}"
    );
    assert!(
        partition.records.as_ref().is_none_or(Bytes::is_empty),
        "Fetch from {offset} below the log start returns no records: {partition:?}"
    );
}

/// The offset ListOffsets v7 answers for partition 0 of `topic` at `timestamp`.
async fn list_offset(client: &mut KafkaClient, topic: &str, timestamp: i64) -> i64 {
    let request = ListOffsetsRequest::default().with_topics(vec![
        ListOffsetsTopic::default()
            .with_name(name(topic))
            .with_partitions(vec![
                ListOffsetsPartition::default().with_timestamp(timestamp),
            ]),
    ]);
    let response = client.call(LIST_OFFSETS_VERSION, &request).await;
    let p = &response.topics[0].partitions[0];
    assert_eq!(
        p.error_code, 0,
        "ListOffsets of {topic}-0 at {timestamp}: {p:?}"
    );
    p.offset
}

/// The keys of the records of `batches`, in order.
fn fetched_keys(batches: &[FetchedBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| &b.records)
        .map(|r| String::from_utf8_lossy(r.key.as_deref().unwrap_or(b"<null>")).into_owned())
        .collect()
}

// ---------------------------------------------------------------------------------------------
// retention.bytes

#[tokio::test]
async fn retention_bytes_drops_the_oldest_batches_and_moves_the_log_start() {
    const TOPIC: &str = "bytes";
    const BATCHES: usize = 10;
    const RECORDS: usize = 4;
    const RETENTION: u64 = 3000;
    let broker = BrokerProcess::start(&["--retention-bytes", "3000", "--partitions", "1"]);
    let mut client = KafkaClient::connect(address(&broker)).await;

    // Ten batches of ~1.1 KB, one request each: retention.bytes keeps the newest that fit.
    let mut sent = Vec::new();
    let mut answers = Vec::new();
    for i in 0..BATCHES {
        let (bytes, keys) = batch(&format!("b{i}"), RECORDS, 240);
        let size = bytes.len();
        assert!(
            (1000..1500).contains(&size),
            "batch {i} is ~1 KB: {size} bytes"
        );
        let answer = produce_ok(&mut client, TOPIC, bytes, &format!("batch {i}")).await;
        assert_eq!(
            answer.base_offset,
            (i * RECORDS) as i64,
            "batch {i} gets the next offsets, whatever was dropped"
        );
        sent.push((size, keys));
        answers.push(answer);
    }
    let total = (BATCHES * RECORDS) as i64;

    let (log_start, high_watermark) = partition_offsets(&broker, TOPIC);
    assert_eq!(
        high_watermark, total,
        "GET /topics: the high watermark counts every record produced"
    );
    assert!(
        log_start > 0 && log_start < total && log_start % RECORDS as i64 == 0,
        "GET /topics: the log start moved to the start of a kept batch, not {log_start}"
    );
    let dropped = (log_start / RECORDS as i64) as usize;
    let kept = BATCHES - dropped;

    // Produce v5+ reports the log start as it is after the append.
    assert_eq!(
        answers.last().unwrap().log_start_offset,
        log_start,
        "the last Produce answer reports the log start"
    );
    let starts: Vec<i64> = answers.iter().map(|a| a.log_start_offset).collect();
    assert!(
        starts.windows(2).all(|w| w[0] <= w[1]),
        "the log start reported by successive Produce answers never moves back: {starts:?}"
    );

    // Fetch below the log start: OFFSET_OUT_OF_RANGE, with the log start.
    assert_fetch_out_of_range(&mut client, TOPIC, 0, log_start, total).await;
    assert_fetch_out_of_range(&mut client, TOPIC, log_start - 1, log_start, total).await;

    // Fetch from the log start: the newest batches, whole, as they were produced.
    let fetched = fetch_batches_from(&mut client, TOPIC, log_start).await;
    let expected_layout: Vec<(i64, i32)> = (dropped..BATCHES)
        .map(|i| ((i * RECORDS) as i64, RECORDS as i32))
        .collect();
    assert_eq!(
        layout(&fetched),
        expected_layout,
        "Fetch from the log start returns the {kept} newest batches whole"
    );
    let expected_keys: Vec<String> = sent[dropped..]
        .iter()
        .flat_map(|(_, keys)| keys.clone())
        .collect();
    assert_eq!(fetched_keys(&fetched), expected_keys);
    for (batch, (size, _)) in fetched.iter().zip(&sent[dropped..]) {
        assert_eq!(
            batch.size, *size,
            "the batch at {} is served with the size it was produced with",
            batch.base_offset
        );
    }

    // ListOffsets: EARLIEST is the log start, LATEST the high watermark.
    assert_eq!(list_offset(&mut client, TOPIC, EARLIEST).await, log_start);
    assert_eq!(list_offset(&mut client, TOPIC, LATEST).await, total);

    // The admin API reads from the log start, with or without an offset below it.
    let kept_records: Vec<(i64, String)> = (log_start..total).zip(expected_keys.clone()).collect();
    assert_eq!(
        admin_records(&broker, TOPIC, ""),
        kept_records,
        "GET /topics/{TOPIC}/records?partition=0 starts at the log start {log_start}"
    );
    assert_eq!(admin_records(&broker, TOPIC, "&offset=0"), kept_records);

    // /stats: what retention dropped, and memory within retention.bytes.
    let memory = memory_stats(&broker);
    let used = counter(&memory, &["used_bytes"]);
    let kept_bytes: u64 = sent[dropped..].iter().map(|(s, _)| *s as u64).sum();
    assert!(
        used >= kept_bytes && (used - kept_bytes).is_multiple_of(kept as u64),
        "memory.used_bytes {used} is the {kept} kept batches' {kept_bytes} bytes plus the same \
         overhead per batch: {memory}"
    );
    let overhead = (used - kept_bytes) / kept as u64;
    assert!(
        (1..=512).contains(&overhead),
        "a stored batch costs a small overhead beyond its bytes, not {overhead}: {memory}"
    );
    assert!(
        used <= RETENTION,
        "memory.used_bytes {used} is within --retention-bytes {RETENTION}: {memory}"
    );
    let next_older = sent[dropped - 1].0 as u64 + overhead;
    assert!(
        used + next_older > RETENTION,
        "retention dropped only what it had to: the newest dropped batch ({next_older} bytes \
         with overhead) would not have fit beside the kept {used}: {memory}"
    );
    let dropped_bytes: u64 = sent[..dropped]
        .iter()
        .map(|(s, _)| *s as u64 + overhead)
        .sum();
    assert_eq!(
        (
            counter(&memory, &["retention", "batches"]),
            counter(&memory, &["retention", "records"]),
            counter(&memory, &["retention", "bytes"]),
        ),
        (dropped as u64, log_start as u64, dropped_bytes),
        "memory.retention counts the dropped batches, their records and bytes: {memory}"
    );
    assert_eq!(counter(&memory, &["evicted", "batches"]), 0, "{memory}");
    assert_eq!(counter(&memory, &["refused_batches"]), 0, "{memory}");
    assert_eq!(memory["policy"], "refuse", "the default policy: {memory}");
    assert_eq!(
        counter(&memory, &["max_bytes"]),
        4 << 30,
        "the default --max-memory is 4 GiB: {memory}"
    );

    // kcat from the beginning starts at the log start, where ListOffsets EARLIEST sends it.
    if let Some(kcat) = require(kcat()) {
        let lines = kcat_consume(&kcat, &broker, TOPIC, "beginning");
        assert_eq!(
            line_offsets(&lines),
            (log_start..total).collect::<Vec<_>>(),
            "kcat -o beginning reads the kept records from the log start: {lines:#?}"
        );
        for (line, key) in lines.iter().zip(&expected_keys) {
            assert!(
                line.split(' ').nth(1) == Some(key.as_str()),
                "kcat line {line:?} has key {key}"
            );
        }
    }
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

/// `/stats` documents `records_total` as the records the broker holds now (docs/admin-api.md).
#[tokio::test]
async fn stats_records_total_counts_only_the_records_retention_kept() {
    const TOPIC: &str = "total";
    let broker = BrokerProcess::start(&["--retention-bytes", "3000", "--partitions", "1"]);
    let mut client = KafkaClient::connect(address(&broker)).await;
    for i in 0..10 {
        let (bytes, _) = batch(&format!("t{i}"), 4, 240);
        produce_ok(&mut client, TOPIC, bytes, &format!("batch {i}")).await;
    }
    let (log_start, high_watermark) = partition_offsets(&broker, TOPIC);
    assert!(log_start > 0, "retention dropped batches");
    let stats = get_json(&broker, "/stats");
    assert_eq!(
        stats["records_total"].as_i64(),
        Some(high_watermark - log_start),
        "records_total is the records held now (high watermark {high_watermark} − log start \
         {log_start}): {stats}"
    );
}

// ---------------------------------------------------------------------------------------------
// retention.ms

#[tokio::test]
async fn retention_ms_drops_batches_once_they_are_that_old() {
    const TOPIC: &str = "ms";
    const RETENTION: Duration = Duration::from_millis(200);
    let broker = BrokerProcess::start(&["--retention-ms", "200", "--partitions", "1"]);
    let mut client = KafkaClient::connect(address(&broker)).await;

    let sent_at = Instant::now();
    let (bytes, _) = batch("old", 3, 100);
    let size = bytes.len() as u64;
    let answer = produce_ok(&mut client, TOPIC, bytes, "the batch").await;
    assert_eq!(answer.base_offset, 0);

    // The sweep (once a second) drops it once it is 200 ms old.
    wait_until(
        "the log start moves past the batch once it is 200 ms old",
        || partition_offsets(&broker, TOPIC).0 >= 3,
    );
    let age = sent_at.elapsed();
    assert!(
        age >= RETENTION,
        "the batch was dropped at most {age:?} after it was sent, before it was {RETENTION:?} old"
    );
    assert_eq!(
        partition_offsets(&broker, TOPIC),
        (3, 3),
        "GET /topics: (log start, high watermark) after the only batch was dropped"
    );

    let memory = memory_stats(&broker);
    assert_eq!(
        (
            counter(&memory, &["retention", "batches"]),
            counter(&memory, &["retention", "records"]),
        ),
        (1, 3),
        "memory.retention counts the dropped batch and its records: {memory}"
    );
    assert!(
        counter(&memory, &["retention", "bytes"]) > size,
        "memory.retention.bytes counts the batch's {size} bytes and its overhead: {memory}"
    );
    assert_eq!(
        counter(&memory, &["used_bytes"]),
        0,
        "nothing is held: {memory}"
    );

    assert_fetch_out_of_range(&mut client, TOPIC, 0, 3, 3).await;
    assert!(
        fetch_batches_from(&mut client, TOPIC, 3).await.is_empty(),
        "a Fetch at the log start (= high watermark) returns nothing"
    );
    assert_eq!(list_offset(&mut client, TOPIC, EARLIEST).await, 3);
    assert_eq!(list_offset(&mut client, TOPIC, LATEST).await, 3);
    assert_eq!(admin_records(&broker, TOPIC, ""), vec![]);

    // A batch produced afterwards gets the next offsets and is held until it too is that old.
    let answer = produce_ok(&mut client, TOPIC, batch("new", 2, 100).0, "a new batch").await;
    assert_eq!(
        (answer.base_offset, answer.log_start_offset),
        (3, 3),
        "Produce answers (base offset, log start) of the batch after the drop"
    );
    wait_until("the new batch is dropped too once it is 200 ms old", || {
        partition_offsets(&broker, TOPIC) == (5, 5)
    });
    assert_eq!(
        counter(&memory_stats(&broker), &["retention", "batches"]),
        2,
        "both batches counted"
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

/// kcat needs the second batch to outlive its run, so `retention.ms` is longer here: 5 s.
#[tokio::test]
async fn kcat_from_the_beginning_reads_only_what_retention_ms_kept_from_the_moved_log_start() {
    const TOPIC: &str = "ms-kcat";
    let Some(kcat) = require(kcat()) else {
        return;
    };
    let broker = BrokerProcess::start(&["--retention-ms", "5000", "--partitions", "1"]);
    let mut client = KafkaClient::connect(address(&broker)).await;
    let (first, _) = batch("first", 3, 100);
    produce_ok(&mut client, TOPIC, first, "the first batch").await;
    wait_until("the first batch is dropped once it is 5 s old", || {
        partition_offsets(&broker, TOPIC).0 == 3
    });

    let (second, keys) = batch("second", 3, 100);
    let produced = Instant::now();
    let answer = produce_ok(&mut client, TOPIC, second, "the second batch").await;
    assert_eq!((answer.base_offset, answer.log_start_offset), (3, 3));
    let lines = kcat_consume(&kcat, &broker, TOPIC, "beginning");
    let (log_start, _) = partition_offsets(&broker, TOPIC);
    assert_eq!(
        log_start,
        3,
        "the test's premise: the second batch outlived kcat's run ({:?} after it was produced); \
         this machine is too slow for a 5 s retention.ms",
        produced.elapsed()
    );
    assert_eq!(
        line_offsets(&lines),
        vec![3, 4, 5],
        "kcat -o beginning reads exactly the second batch, from the moved log start: {lines:#?}"
    );
    for (line, key) in lines.iter().zip(&keys) {
        assert!(
            line.split(' ').nth(1) == Some(key.as_str()),
            "kcat line {line:?} has key {key}"
        );
    }
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

// ---------------------------------------------------------------------------------------------
// max_memory

/// A ~64 KB batch, number `i`, and its keys.
fn big_batch(i: usize) -> (Bytes, Vec<String>) {
    batch(&format!("big{i}"), BIG_BATCH_RECORDS, BIG_VALUE)
}

#[tokio::test]
async fn at_max_memory_refuse_answers_kafka_storage_error_and_keeps_what_was_acknowledged() {
    const TOPIC: &str = "full";
    let broker = BrokerProcess::start(&[
        "--max-memory",
        "1048576",
        "--memory-policy",
        "refuse",
        "--partitions",
        "1",
    ]);
    let mut client = KafkaClient::connect(address(&broker)).await;

    // ~64 KB batches until one is refused: about 16 fit in 1 MiB.
    let mut acknowledged: Vec<String> = Vec::new();
    let mut refusal = None;
    for i in 0..64 {
        let (bytes, keys) = big_batch(i);
        assert!((60_000..70_000).contains(&bytes.len()), "~64 KB batches");
        let answer = produce_to(&mut client, TOPIC, bytes).await;
        if answer.error_code != 0 {
            refusal = Some((i, answer));
            break;
        }
        assert_eq!(answer.base_offset, acknowledged.len() as i64);
        acknowledged.extend(keys);
    }
    let Some((refused_at, refusal)) = refusal else {
        panic!("64 batches of ~64 KB (4 MiB) were all acknowledged under a 1 MiB cap");
    };
    assert!(
        (10..=16).contains(&refused_at),
        "about 1 MiB of ~64 KB batches fits before the cap: the refused one is batch {refused_at}"
    );
    assert_eq!(
        (refusal.error_code, refusal.base_offset),
        (KAFKA_STORAGE_ERROR, -1),
        "the batch past --max-memory gets KAFKA_STORAGE_ERROR (56): {refusal:?}"
    );
    let message = refusal
        .error_message
        .as_ref()
        .map(ToString::to_string)
        .unwrap_or_default();
    assert!(
        message.contains("max_memory"),
        "Produce v{PRODUCE_VERSION}'s error message names max_memory: {message:?}"
    );

    // Refused again: nothing stored was dropped to make room.
    let again = produce_to(&mut client, TOPIC, big_batch(99).0).await;
    assert_eq!(again.error_code, KAFKA_STORAGE_ERROR, "{again:?}");

    // Everything acknowledged is still there.
    let count = acknowledged.len() as i64;
    assert_eq!(
        partition_offsets(&broker, TOPIC),
        (0, count),
        "GET /topics: (log start, high watermark) = (0, the acknowledged records)"
    );
    let records = admin_records(&broker, TOPIC, "&limit=100000");
    assert_eq!(
        records,
        (0..count).zip(acknowledged.clone()).collect::<Vec<_>>(),
        "GET /topics/{TOPIC}/records: every acknowledged record, in order"
    );
    let fetched = fetch_batches_from(&mut client, TOPIC, 0).await;
    assert_eq!(
        fetched_keys(&fetched),
        acknowledged,
        "a Fetch from 0 serves every acknowledged batch"
    );

    let memory = memory_stats(&broker);
    assert_eq!(
        counter(&memory, &["refused_batches"]),
        2,
        "memory.refused_batches counts both refusals: {memory}"
    );
    let used = counter(&memory, &["used_bytes"]);
    assert!(
        used <= ONE_MIB && used + 65_000 > ONE_MIB,
        "memory.used_bytes {used} is within 1 MiB, too full for another batch: {memory}"
    );
    assert_eq!(counter(&memory, &["max_bytes"]), ONE_MIB, "{memory}");
    assert_eq!(memory["policy"], "refuse", "{memory}");
    assert_eq!(counter(&memory, &["evicted", "batches"]), 0, "{memory}");
    assert_eq!(counter(&memory, &["retention", "batches"]), 0, "{memory}");

    if let Some(rss) = rss_kib(broker.pid()) {
        assert!(
            rss < 64 * 1024,
            "the broker's RSS stays small when its store holds 1 MiB: {rss} KiB"
        );
    }

    // Deleting the topic gives its memory back: producing is accepted again.
    assert_eq!(http_delete(&broker.admin, &format!("/topics/{TOPIC}")), 204);
    assert_eq!(
        counter(&memory_stats(&broker), &["used_bytes"]),
        0,
        "DELETE /topics/{TOPIC} gives its memory back"
    );
    let answer = produce_ok(&mut client, TOPIC, big_batch(100).0, "a batch after DELETE").await;
    assert_eq!(answer.base_offset, 0, "the re-created topic starts at 0");
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[tokio::test]
async fn at_max_memory_drop_oldest_keeps_producing_and_drops_the_oldest_batches() {
    const TOPIC: &str = "rolling";
    const BATCHES: usize = 40;
    let broker = BrokerProcess::start(&[
        "--max-memory",
        "1048576",
        "--memory-policy",
        "drop-oldest",
        "--partitions",
        "1",
    ]);
    let mut client = KafkaClient::connect(address(&broker)).await;

    // 40 batches of ~64 KB: 2.5 MiB through a 1 MiB cap, every one acknowledged.
    let mut sent = Vec::new();
    let mut last = None;
    for i in 0..BATCHES {
        let (bytes, keys) = big_batch(i);
        let answer = produce_ok(&mut client, TOPIC, bytes, &format!("batch {i}")).await;
        assert_eq!(answer.base_offset, (i * BIG_BATCH_RECORDS) as i64);
        sent.push(keys);
        last = Some(answer);
    }
    let total = (BATCHES * BIG_BATCH_RECORDS) as i64;

    let (log_start, high_watermark) = partition_offsets(&broker, TOPIC);
    assert_eq!(high_watermark, total, "GET /topics: every record produced");
    assert!(
        log_start > 0 && log_start % BIG_BATCH_RECORDS as i64 == 0,
        "GET /topics: the log start moved to the start of a kept batch, not {log_start}"
    );
    assert_eq!(
        last.unwrap().log_start_offset,
        log_start,
        "the last Produce answer reports the log start"
    );
    let dropped = (log_start / BIG_BATCH_RECORDS as i64) as usize;

    let memory = memory_stats(&broker);
    assert_eq!(
        (
            counter(&memory, &["evicted", "batches"]),
            counter(&memory, &["evicted", "records"]),
        ),
        (dropped as u64, log_start as u64),
        "memory.evicted counts the batches dropped to make room and their records: {memory}"
    );
    let used = counter(&memory, &["used_bytes"]);
    assert!(
        used <= ONE_MIB && used + 2 * 65_000 > ONE_MIB,
        "memory.used_bytes {used} is within 1 MiB and dropped no more than needed: {memory}"
    );
    assert_eq!(memory["policy"], "drop-oldest", "{memory}");
    assert_eq!(counter(&memory, &["refused_batches"]), 0, "{memory}");
    assert_eq!(counter(&memory, &["retention", "batches"]), 0, "{memory}");

    assert_fetch_out_of_range(&mut client, TOPIC, 0, log_start, total).await;
    let fetched = fetch_batches_from(&mut client, TOPIC, log_start).await;
    assert_eq!(
        layout(&fetched),
        (dropped..BATCHES)
            .map(|i| ((i * BIG_BATCH_RECORDS) as i64, BIG_BATCH_RECORDS as i32))
            .collect::<Vec<_>>(),
        "Fetch from the log start returns the newest batches whole"
    );
    let newest = fetch_batches_from(&mut client, TOPIC, total - 1).await;
    assert_eq!(
        fetched_keys(&newest),
        sent[BATCHES - 1],
        "the newest batch reads back"
    );
    assert_eq!(list_offset(&mut client, TOPIC, EARLIEST).await, log_start);
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[tokio::test]
async fn drop_oldest_drops_the_batches_received_first_whatever_their_topic() {
    let broker = BrokerProcess::start(&[
        "--max-memory",
        "1048576",
        "--memory-policy",
        "drop-oldest",
        "--partitions",
        "1",
    ]);
    let mut client = KafkaClient::connect(address(&broker)).await;
    // 4 batches to "early", then 20 to "late": 1.5 MiB in all, so ~0.5 MiB must go, "early"'s
    // first.
    for i in 0..4 {
        produce_ok(&mut client, "early", big_batch(i).0, &format!("batch {i}")).await;
    }
    for i in 0..20 {
        produce_ok(&mut client, "late", big_batch(i).0, &format!("batch {i}")).await;
    }
    let early = partition_offsets(&broker, "early");
    let late = partition_offsets(&broker, "late");
    assert_eq!(
        early,
        (64, 64),
        "every batch of the topic written first was dropped: (log start, high watermark)"
    );
    assert!(
        late.0 > 0 && late.1 == 320,
        "then the oldest of the other topic: (log start, high watermark) = {late:?}"
    );
    let memory = memory_stats(&broker);
    assert_eq!(
        counter(&memory, &["evicted", "records"]),
        (early.0 + late.0) as u64,
        "memory.evicted.records: {memory}"
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

// ---------------------------------------------------------------------------------------------
// The frame protocol

#[tokio::test]
async fn at_max_memory_refuse_a_frame_producer_gets_broker_busy() {
    let broker = BrokerProcess::start(&[
        "--max-memory",
        "1048576",
        "--memory-policy",
        "refuse",
        "--partitions",
        "1",
    ]);
    let mut client = RawClient::connect(address(&broker)).await;
    let value = "v".repeat(32 * 1024);
    let values = [value.as_str(), value.as_str()];
    let mut accepted = 0u32;
    let busy = loop {
        assert!(
            accepted < 64,
            "64 frames of 64 KB were all accepted under a 1 MiB cap"
        );
        client
            .send(&request(
                accepted + 1,
                FrameAcks::Recorded,
                "frames",
                &values,
            ))
            .await;
        let response = client.response().await;
        assert_eq!(response.correlation_id, accepted + 1);
        if response.status != Status::Ok {
            break response;
        }
        accepted += 1;
    };
    assert_eq!(
        busy.status,
        Status::BrokerBusy,
        "past --max-memory the frame producer is told BROKER_BUSY: {busy:?}"
    );
    assert!(
        busy.error_message.contains("max_memory"),
        "the reason names max_memory: {:?}",
        busy.error_message
    );
    assert!(
        accepted >= 10,
        "about 1 MiB was accepted first: {accepted} frames"
    );
    assert_eq!(
        partition_offsets(&broker, "frames"),
        (0, i64::from(accepted) * 2),
        "every accepted message is kept"
    );
    assert_eq!(
        counter(&memory_stats(&broker), &["refused_batches"]),
        1,
        "memory.refused_batches"
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

// ---------------------------------------------------------------------------------------------
// Bad flags

#[test]
fn bad_retention_and_memory_flags_exit_2_naming_the_setting() {
    for (flags, named) in [
        (&["--retention-ms", "0"][..], "retention_ms"),
        (&["--retention-ms=-2"][..], "retention_ms"),
        (&["--retention-bytes=-2"][..], "retention_bytes"),
        (&["--max-memory", "5"][..], "max_memory"),
        (&["--memory-policy", "sometimes"][..], "memory-policy"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_mock-broker"))
            .args(["--listen", "127.0.0.1:0", "--admin", "off"])
            .args(flags)
            .output()
            .expect("mock-broker runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(
            output.status.code(),
            Some(2),
            "mock-broker {flags:?} exits 2: {stderr}"
        );
        assert!(
            stderr.contains(named),
            "mock-broker {flags:?} names {named}: {stderr}"
        );
    }
}

/// Reaching the cap is said once in the log (a WARN naming max_memory), however many appends it
/// then refuses: a broker at its cap does not flood the log; `/stats` counts the rest.
#[tokio::test]
async fn reaching_max_memory_is_logged_once_however_many_appends_are_refused() {
    let log = std::env::temp_dir().join(format!(
        "mock-broker-memory-warning-{}.log",
        std::process::id()
    ));
    let broker = BrokerProcess::start_logging_to(
        &[
            "--max-memory",
            "1048576",
            "--memory-policy",
            "refuse",
            "--partitions",
            "1",
        ],
        &log,
    );
    let mut client = KafkaClient::connect(address(&broker)).await;
    let mut refused = 0;
    for i in 0..64 {
        let (bytes, _) = big_batch(i);
        if produce_to(&mut client, "full", bytes).await.error_code == KAFKA_STORAGE_ERROR {
            refused += 1;
            if refused == 3 {
                break;
            }
        }
    }
    assert_eq!(
        refused, 3,
        "three ~64 KB batches past a 1 MiB cap were refused"
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
    let text = std::fs::read_to_string(&log)
        .unwrap_or_else(|e| panic!("the broker's log {} reads: {e}", log.display()));
    let _ = std::fs::remove_file(&log);
    let warnings: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("WARN") && line.contains("max_memory"))
        .collect();
    assert_eq!(
        warnings.len(),
        1,
        "one WARN naming max_memory for three refusals; the log was:\n{text}"
    );
}

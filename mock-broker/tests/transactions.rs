//! Transactions with a real client: the `rdkafka` crate's transactional producer (librdkafka)
//! commits and aborts, `read_committed` consumers see only what committed and read past
//! aborted records, a second producer with the same `transactional.id` fences the first,
//! and a transaction left open past its timeout is aborted by the broker. What the broker
//! holds is checked through the admin API (`GET /topics/{t}/records`, `GET /transactions`).
//!
//! confluent-kafka (Python, `clients/transactions_confluent.py`) does the same and commits a
//! group's offsets in a transaction (consume-transform-produce); it skips without the
//! client, as `real_clients.rs` explains. kafkajs (`clients/transactions_kafkajs.js`) does all of
//! it too: commit and abort seen by `readUncommitted` false and true consumers, `sendOffsets`
//! committing a group's offsets on commit only, and fencing by a second producer.
//!
//! Fault rules scoped by `transactional_id`: librdkafka retries `CONCURRENT_TRANSACTIONS` on
//! EndTxn and commits, a producer with another id is untouched; the bare-client `wire` tests show
//! which requests such a rule (and a `group` rule) answers.
//!
//! Every wait polls with a generous deadline: a loaded machine only makes these slower.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};
use serde::Deserialize;

use std::process::Command;

use mock_broker::fault::{ApiScope, FaultSpec, FaultState};
use mock_broker::{BrokerConfig, MockBroker};

use crate::binaries::{BrokerProcess, http_get};
use crate::consumer_groups::group;
use crate::real_clients::{clients_dir, node_with_kafkajs, python_with, require, run_client};

/// Long enough for a loaded 2-core machine; a healthy run takes a fraction of it.
const TIMEOUT: Duration = Duration::from_secs(60);

/// A transactional librdkafka producer.
fn transactional_producer(
    broker: &BrokerProcess,
    transactional_id: &str,
    extra: &[(&str, &str)],
) -> FutureProducer {
    transactional_producer_at(&broker.address, transactional_id, extra)
}

/// A transactional librdkafka producer of the broker at `bootstrap`.
fn transactional_producer_at(
    bootstrap: &str,
    transactional_id: &str,
    extra: &[(&str, &str)],
) -> FutureProducer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("client.id", "txn-rdkafka")
        .set("transactional.id", transactional_id);
    for (name, value) in extra {
        config.set(*name, *value);
    }
    let producer: FutureProducer = config.create().expect("a valid producer configuration");
    producer
        .init_transactions(TIMEOUT)
        .expect("init_transactions");
    producer
}

/// Sends `value` (also its key) to `partition` of `topic` and waits for its delivery.
fn send(producer: &FutureProducer, topic: &str, partition: i32, value: &str) -> i64 {
    let record = FutureRecord::to(topic)
        .partition(partition)
        .key(value)
        .payload(value);
    let delivery = futures_block_on(producer.send(record, TIMEOUT));
    match delivery {
        Ok(delivery) => delivery.offset,
        Err((e, _)) => panic!("{value}: not delivered: {e}"),
    }
}

fn futures_block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
        .block_on(future)
}

/// A consumer reading every partition of `topic` from the start at `isolation`.
fn consumer(bootstrap: &str, topic: &str, partitions: i32, isolation: &str) -> BaseConsumer {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("txn-reader-{isolation}"))
        .set("enable.auto.commit", "false")
        .set("isolation.level", isolation)
        .create()
        .expect("a valid consumer configuration");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        assignment
            .add_partition_offset(topic, partition, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).expect("assign");
    consumer
}

/// Polls `consumer`, collecting (partition, value) until `done` holds for what it read.
///
/// # Panics
/// After [`TIMEOUT`], with what it read.
fn read_until(
    consumer: &BaseConsumer,
    what: &str,
    done: impl Fn(&[(i32, String)]) -> bool,
) -> Vec<(i32, String)> {
    let deadline = Instant::now() + TIMEOUT;
    let mut read = Vec::new();
    while !done(&read) {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {TIMEOUT:?}; read {read:?}"
        );
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.expect("no consumer error");
            let value = String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
            read.push((message.partition(), value));
        }
    }
    read
}

fn values(read: &[(i32, String)]) -> Vec<&str> {
    read.iter().map(|(_, v)| v.as_str()).collect()
}

/// One record from `GET /topics/{topic}/records`, the fields these tests read.
#[derive(Debug, Clone, Deserialize)]
struct RecordJson {
    partition: i32,
    offset: i64,
    value: Option<serde_json::Value>,
    transaction: Option<String>,
    #[serde(default)]
    control: bool,
}

fn records(broker: &BrokerProcess, topic: &str, include_control: bool) -> Vec<RecordJson> {
    let path = format!("/topics/{topic}/records?include_control={include_control}");
    let (status, body) = http_get(&broker.admin, &path);
    assert_eq!(status, 200, "GET {path}: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("GET {path}: {e}: {body}"))
}

/// Each data record's value and transaction state (`committed`, `aborted`, `open`).
fn states(broker: &BrokerProcess, topic: &str) -> BTreeMap<String, String> {
    records(broker, topic, false)
        .into_iter()
        .map(|r| {
            let value = r.value.and_then(|v| v.as_str().map(String::from));
            (
                value.unwrap_or_default(),
                r.transaction.unwrap_or_else(|| "none".into()),
            )
        })
        .collect()
}

/// One transactional id from `GET /transactions`.
#[derive(Debug, Clone, Deserialize)]
struct TransactionJson {
    transactional_id: String,
    state: String,
    producer_epoch: i16,
}

fn transaction(broker: &BrokerProcess, id: &str) -> TransactionJson {
    let (status, body) = http_get(&broker.admin, "/transactions");
    assert_eq!(status, 200, "GET /transactions: {body}");
    let all: Vec<TransactionJson> = serde_json::from_str(&body).unwrap();
    all.into_iter()
        .find(|t| t.transactional_id == id)
        .unwrap_or_else(|| panic!("no transactional id {id:?}: {body}"))
}

#[test]
fn read_committed_consumers_see_committed_transactions_and_skip_aborted_ones() {
    let broker = BrokerProcess::start(&["--partitions", "2"]);
    let topic = "txn-commit-abort";
    let producer = transactional_producer(&broker, "txn-rdkafka-1", &[]);
    producer.begin_transaction().unwrap();
    send(&producer, topic, 0, "c0");
    send(&producer, topic, 1, "c1");
    producer.commit_transaction(TIMEOUT).expect("commit");
    producer.begin_transaction().unwrap();
    send(&producer, topic, 0, "a0");
    send(&producer, topic, 1, "a1");
    producer.abort_transaction(TIMEOUT).expect("abort");
    producer.begin_transaction().unwrap();
    send(&producer, topic, 0, "c2");
    send(&producer, topic, 1, "c3");
    producer.commit_transaction(TIMEOUT).expect("commit");

    // Each partition is read in offset order: having read c2 and c3, the reader is past a0, a1.
    let committed = consumer(&broker.address, topic, 2, "read_committed");
    let read = read_until(&committed, "read_committed reads c2 and c3", |read| {
        let values = values(read);
        values.contains(&"c2") && values.contains(&"c3")
    });
    let mut seen = values(&read);
    seen.sort_unstable();
    assert_eq!(seen, ["c0", "c1", "c2", "c3"], "only committed records");

    let uncommitted = consumer(&broker.address, topic, 2, "read_uncommitted");
    let read = read_until(&uncommitted, "read_uncommitted reads all six", |read| {
        read.len() >= 6
    });
    let mut seen = values(&read);
    seen.sort_unstable();
    assert_eq!(seen, ["a0", "a1", "c0", "c1", "c2", "c3"], "every record");

    let by_value = states(&broker, topic);
    for value in ["c0", "c1", "c2", "c3"] {
        assert_eq!(by_value[value], "committed", "{value}: {by_value:?}");
    }
    for value in ["a0", "a1"] {
        assert_eq!(by_value[value], "aborted", "{value}: {by_value:?}");
    }
    let with_markers = records(&broker, topic, true);
    let markers: Vec<(i32, i64, Option<&str>)> = with_markers
        .iter()
        .filter(|r| r.control)
        .map(|r| (r.partition, r.offset, r.transaction.as_deref()))
        .collect();
    assert_eq!(
        markers,
        [
            (0, 1, Some("committed")),
            (0, 3, Some("aborted")),
            (0, 5, Some("committed")),
            (1, 1, Some("committed")),
            (1, 3, Some("aborted")),
            (1, 5, Some("committed")),
        ],
        "one marker per partition per transaction, listed only when asked"
    );
    assert_eq!(
        transaction(&broker, "txn-rdkafka-1").state,
        "CompleteCommit"
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[test]
fn a_second_producer_with_the_same_transactional_id_fences_the_first() {
    let broker = BrokerProcess::start(&["--partitions", "1"]);
    let topic = "txn-fencing";
    let first = transactional_producer(&broker, "txn-fenced", &[]);
    first.begin_transaction().unwrap();
    send(&first, topic, 0, "from-first");
    let epoch_before = transaction(&broker, "txn-fenced").producer_epoch;
    // Its open transaction is aborted and its epoch bumped before the second gets its own.
    let second = transactional_producer(&broker, "txn-fenced", &[]);
    assert!(transaction(&broker, "txn-fenced").producer_epoch > epoch_before);
    let error = first
        .commit_transaction(TIMEOUT)
        .expect_err("the fenced producer cannot commit");
    match &error {
        KafkaError::Transaction(e) => assert!(e.is_fatal(), "fenced is fatal: {e}"),
        other => panic!("not a transaction error: {other}"),
    }
    second.begin_transaction().unwrap();
    send(&second, topic, 0, "from-second");
    second
        .commit_transaction(TIMEOUT)
        .expect("the new producer commits");
    let by_value = states(&broker, topic);
    assert_eq!(by_value["from-first"], "aborted", "{by_value:?}");
    assert_eq!(by_value["from-second"], "committed", "{by_value:?}");
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[test]
fn a_transaction_left_open_past_its_timeout_is_aborted_and_read_committed_moves_past_it() {
    let broker = BrokerProcess::start(&["--partitions", "1"]);
    let topic = "txn-timeout";
    let id = "txn-times-out";
    let producer = transactional_producer(
        &broker,
        id,
        &[
            ("transaction.timeout.ms", "2000"),
            ("message.timeout.ms", "2000"),
        ],
    );
    producer.begin_transaction().unwrap();
    send(&producer, topic, 0, "left-open");
    // A plain producer writes after it: read_committed readers wait at the open transaction.
    let plain: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &broker.address)
        .set("message.timeout.ms", TIMEOUT.as_millis().to_string())
        .create()
        .unwrap();
    send(&plain, topic, 0, "after");
    let reader = consumer(&broker.address, topic, 1, "read_committed");
    // Nothing is asserted about the wait itself (a slow machine may reach the timeout
    // first); the broker must abort the transaction and the reader then get past it.
    let read = read_until(
        &reader,
        "read_committed reads past the timed-out transaction",
        |read| values(read).contains(&"after"),
    );
    assert_eq!(values(&read), ["after"], "the aborted record is skipped");
    let state = transaction(&broker, id);
    assert_eq!(state.state, "CompleteAbort", "{state:?}");
    assert_eq!(states(&broker, topic)["left-open"], "aborted");
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[test]
fn end_txn_errors_scoped_to_one_transactional_id_are_retried_and_spare_other_producers() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let broker = runtime
        .block_on(MockBroker::start(BrokerConfig::ephemeral()))
        .expect("broker starts");
    let bootstrap = broker.bootstrap_servers();
    let topic = "txn-scoped-fault";
    let rule = broker
        .faults()
        .add(
            FaultSpec::error("CONCURRENT_TRANSACTIONS")
                .with_api(ApiScope::EndTxn)
                .with_transactional_id("txn-retried")
                .with_count(2),
        )
        .expect("a valid rule");

    // Another transactional id: its EndTxn is not answered with the error.
    let spared = transactional_producer_at(&bootstrap, "txn-spared", &[]);
    spared.begin_transaction().unwrap();
    send(&spared, topic, 0, "spared");
    spared.commit_transaction(TIMEOUT).expect("commit");
    let info = broker.faults().get(rule.id).expect("the rule");
    assert_eq!(info.fired, 0, "another transactional id: {info:?}");

    // The scoped one: librdkafka retries EndTxn on CONCURRENT_TRANSACTIONS, and commits.
    let retried = transactional_producer_at(&bootstrap, "txn-retried", &[]);
    retried.begin_transaction().unwrap();
    send(&retried, topic, 0, "retried");
    retried
        .commit_transaction(TIMEOUT)
        .expect("the commit is retried until it succeeds");
    let info = broker.faults().get(rule.id).expect("the rule");
    assert_eq!(
        (info.fired, info.state),
        (2, FaultState::Expired),
        "{info:?}"
    );

    let reader = consumer(&bootstrap, topic, 1, "read_committed");
    let read = read_until(&reader, "read_committed reads both commits", |read| {
        read.len() >= 2
    });
    assert_eq!(values(&read), ["spared", "retried"], "both committed");
    drop(reader);
    drop((spared, retried));
    runtime.block_on(broker.shutdown());
}

/// What `clients/transactions_confluent.py` reports.
#[derive(Debug, Deserialize)]
struct PythonReport {
    read_committed: Vec<String>,
    read_uncommitted: Vec<String>,
    positions: BTreeMap<String, i64>,
    committed_after_abort: BTreeMap<String, i64>,
    committed_after_commit: BTreeMap<String, i64>,
}

#[test]
fn a_confluent_kafka_transactional_producer_commits_aborts_and_sends_offsets_on_commit_only() {
    let Some(python) = require(python_with("confluent_kafka")) else {
        return;
    };
    let broker = BrokerProcess::start(&[
        "--partitions",
        "2",
        "--group-initial-rebalance-delay-ms",
        "0",
    ]);
    let (topic, out, group_id) = ("txn-python", "txn-python-out", "txn-python-group");
    let mut command = Command::new(python);
    command
        .current_dir(clients_dir())
        .arg("transactions_confluent.py")
        .args([&broker.address, topic, out, group_id]);
    let stdout = run_client(command, "");
    let report: PythonReport = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("unexpected JSON ({e}): {stdout}"));
    let mut committed = report.read_committed.clone();
    committed.sort_unstable();
    assert_eq!(committed, ["c0", "c1", "c2", "c3"], "{report:?}");
    let mut all = report.read_uncommitted.clone();
    all.sort_unstable();
    assert_eq!(all, ["a0", "a1", "c0", "c1", "c2", "c3"], "{report:?}");
    assert!(
        report.committed_after_abort.is_empty(),
        "an aborted transaction commits no offsets: {report:?}"
    );
    assert_eq!(
        report.committed_after_commit, report.positions,
        "the committed transaction committed the positions"
    );
    let held = group(&broker, group_id).expect("the group exists");
    let positions: BTreeMap<i32, i64> = report
        .positions
        .iter()
        .map(|(p, o)| (p.parse().unwrap(), *o))
        .collect();
    assert_eq!(held.committed(topic), positions, "{held:?}");
    let outs = records(&broker, out, false);
    let states: Vec<Option<&str>> = outs.iter().map(|r| r.transaction.as_deref()).collect();
    assert_eq!(
        states,
        [[Some("aborted"); 4], [Some("committed"); 4]].concat(),
        "the aborted copies, then the committed ones"
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

/// What `clients/transactions_kafkajs.js` reports.
#[derive(Debug, Deserialize)]
struct KafkajsReport {
    read_committed: Vec<String>,
    read_uncommitted: Vec<String>,
    positions: BTreeMap<String, i64>,
    committed_after_abort: BTreeMap<String, i64>,
    committed_after_commit: BTreeMap<String, i64>,
    fenced_error: KafkajsError,
}

#[derive(Debug, Deserialize)]
struct KafkajsError {
    #[serde(rename = "type")]
    kind: Option<String>,
    message: String,
}

#[test]
fn a_kafkajs_transactional_producer_commits_aborts_sends_offsets_on_commit_only_and_is_fenced() {
    let Some(node) = require(node_with_kafkajs()) else {
        return;
    };
    let broker = BrokerProcess::start(&["--group-initial-rebalance-delay-ms", "0"]);
    let (topic, out, group_id, fenced) = (
        "txn-kafkajs",
        "txn-kafkajs-out",
        "txn-kafkajs-group",
        "txn-kafkajs-fenced",
    );
    let mut command = Command::new(node);
    command
        .current_dir(clients_dir())
        .arg("transactions_kafkajs.js")
        .args([&broker.address, topic, out, group_id, fenced]);
    let stdout = run_client(command, "");
    let report: KafkajsReport = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("unexpected JSON ({e}): {stdout}"));

    // read_committed (readUncommitted: false) sees the committed records only, read_uncommitted all.
    let mut committed = report.read_committed.clone();
    committed.sort_unstable();
    assert_eq!(committed, ["c0", "c1", "c2", "c3"], "{report:?}");
    let mut all = report.read_uncommitted.clone();
    all.sort_unstable();
    assert_eq!(all, ["a0", "a1", "c0", "c1", "c2", "c3"], "{report:?}");
    let by_value = states(&broker, topic);
    for value in ["c0", "c1", "c2", "c3"] {
        assert_eq!(by_value[value], "committed", "{value}: {by_value:?}");
    }
    for value in ["a0", "a1"] {
        assert_eq!(by_value[value], "aborted", "{value}: {by_value:?}");
    }
    let markers: Vec<(i32, i64, Option<String>)> = records(&broker, topic, true)
        .into_iter()
        .filter(|r| r.control)
        .map(|r| (r.partition, r.offset, r.transaction))
        .collect();
    let marker = |p, o, s: &str| (p, o, Some(s.to_string()));
    assert_eq!(
        markers,
        [
            marker(0, 1, "committed"),
            marker(0, 3, "aborted"),
            marker(0, 5, "committed"),
            marker(1, 1, "committed"),
            marker(1, 3, "aborted"),
            marker(1, 5, "committed"),
        ],
        "one marker per partition per transaction"
    );
    assert_eq!(transaction(&broker, "txn-kafkajs").state, "CompleteCommit");

    // sendOffsets: nothing committed by the aborted transaction, the positions by the committed one.
    assert!(
        report.committed_after_abort.is_empty(),
        "an aborted transaction commits no offsets: {report:?}"
    );
    assert_eq!(
        report.positions,
        BTreeMap::from([("0".to_string(), 5), ("1".to_string(), 5)]),
        "after c2 (offset 4) and c3 (offset 4): {report:?}"
    );
    assert_eq!(
        report.committed_after_commit, report.positions,
        "{report:?}"
    );
    let held = group(&broker, group_id).expect("the group exists");
    assert_eq!(
        held.committed(topic),
        BTreeMap::from([(0, 5), (1, 5)]),
        "{held:?}"
    );
    let outs = records(&broker, out, false);
    let out_states: Vec<Option<&str>> = outs.iter().map(|r| r.transaction.as_deref()).collect();
    assert_eq!(
        out_states,
        [[Some("aborted"); 4], [Some("committed"); 4]].concat(),
        "the aborted copies, then the committed ones"
    );

    // Fencing: the first producer's commit fails as fenced; its record is aborted.
    let error = &report.fenced_error;
    assert!(
        matches!(
            error.kind.as_deref(),
            Some("INVALID_PRODUCER_EPOCH" | "PRODUCER_FENCED")
        ),
        "the fenced commit fails as fenced, not with {}: {error:?}",
        error.message
    );
    let by_value = states(&broker, fenced);
    assert_eq!(by_value["from-first"], "aborted", "{by_value:?}");
    assert_eq!(by_value["from-second"], "committed", "{by_value:?}");
    let fenced_state = transaction(&broker, "txn-kafkajs-fenced");
    assert_eq!(fenced_state.state, "CompleteCommit", "{fenced_state:?}");
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

// ---------------------------------------------------------------------------------------------
// The wire details, with a bare client: what read_committed readers are told.

mod wire {
    use bytes::{Bytes, BytesMut};
    use kafka_protocol::messages::add_offsets_to_txn_request::AddOffsetsToTxnRequest;
    use kafka_protocol::messages::add_partitions_to_txn_request::{
        AddPartitionsToTxnRequest, AddPartitionsToTxnTopic,
    };
    use kafka_protocol::messages::describe_transactions_request::DescribeTransactionsRequest;
    use kafka_protocol::messages::end_txn_request::EndTxnRequest;
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
    use kafka_protocol::messages::init_producer_id_request::InitProducerIdRequest;
    use kafka_protocol::messages::list_offsets_request::{
        ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
    };
    use kafka_protocol::messages::list_transactions_request::ListTransactionsRequest;
    use kafka_protocol::messages::offset_fetch_request::{
        OffsetFetchRequest, OffsetFetchRequestTopic,
    };
    use kafka_protocol::messages::txn_offset_commit_request::{
        TxnOffsetCommitRequest, TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::{FetchResponse, GroupId, TransactionalId};
    use kafka_protocol::protocol::StrBytes;
    use mock_broker::{BrokerConfig, MockBroker};

    use crate::kafka_protocol::{KafkaClient, name, outcome, produce, records};

    fn id(s: &'static str) -> TransactionalId {
        TransactionalId(StrBytes::from_static_str(s))
    }

    /// `values` as one transactional batch of producer `pid` at `epoch`.
    fn transactional(values: &[&str], pid: i64, epoch: i16) -> Bytes {
        let mut batch = BytesMut::from(&records(values, Some((pid, epoch, 0)))[..]);
        batch[22] |= 0x10;
        let crc = protocol::crc32c::crc32c(&batch[21..]);
        batch[17..21].copy_from_slice(&crc.to_be_bytes());
        batch.freeze()
    }

    async fn fetch(client: &mut KafkaClient, isolation: i8) -> FetchResponse {
        let request = FetchRequest::default()
            .with_max_bytes(1 << 20)
            .with_isolation_level(isolation)
            .with_topics(vec![
                FetchTopic::default()
                    .with_topic(name("raw"))
                    .with_partitions(vec![
                        FetchPartition::default()
                            .with_partition(0)
                            .with_fetch_offset(0)
                            .with_partition_max_bytes(1 << 20),
                    ]),
            ]);
        client.call(11, &request).await
    }

    async fn latest(client: &mut KafkaClient, isolation: i8) -> i64 {
        let request = ListOffsetsRequest::default()
            .with_isolation_level(isolation)
            .with_topics(vec![
                ListOffsetsTopic::default()
                    .with_name(name("raw"))
                    .with_partitions(vec![ListOffsetsPartition::default().with_timestamp(-1)]),
            ]);
        client.call(5, &request).await.topics[0].partitions[0].offset
    }

    async fn committed(client: &mut KafkaClient, require_stable: bool) -> (i16, i64) {
        let request = OffsetFetchRequest::default()
            .with_group_id(GroupId(StrBytes::from_static_str("g")))
            .with_require_stable(require_stable)
            .with_topics(Some(vec![
                OffsetFetchRequestTopic::default()
                    .with_name(name("raw"))
                    .with_partition_indexes(vec![0]),
            ]));
        let response = client.call(7, &request).await;
        let p = &response.topics[0].partitions[0];
        (p.error_code, p.committed_offset)
    }

    #[tokio::test]
    async fn fault_rules_scoped_by_transactional_id_or_group_answer_only_the_requests_naming_it() {
        use kafka_protocol::ResponseError;
        use kafka_protocol::messages::ProducerId;
        use kafka_protocol::messages::consumer_group_describe_request::ConsumerGroupDescribeRequest;
        use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
        use mock_broker::fault::FaultSpec;

        let broker = MockBroker::start(BrokerConfig::ephemeral()).await.unwrap();
        broker.store().create_topic("raw", 1);
        let load = ResponseError::CoordinatorLoadInProgress.code();
        broker
            .faults()
            .add(FaultSpec::error("COORDINATOR_LOAD_IN_PROGRESS").with_transactional_id("faulty"))
            .unwrap();
        broker
            .faults()
            .add(FaultSpec::error("COORDINATOR_LOAD_IN_PROGRESS").with_group("faulty-group"))
            .unwrap();
        let mut client = KafkaClient::connect(broker.local_addr()).await;
        let group = |g: &'static str| GroupId(StrBytes::from_static_str(g));

        // FindCoordinator: the transaction key (type 1) matches, a group of the same name does not.
        for (key, key_type, expected) in [("faulty", 1, load), ("healthy", 1, 0), ("faulty", 0, 0)]
        {
            let found = client
                .call(
                    3,
                    &FindCoordinatorRequest::default()
                        .with_key(StrBytes::from_static_str(key))
                        .with_key_type(key_type),
                )
                .await;
            assert_eq!(
                found.error_code, expected,
                "FindCoordinator {key} type {key_type}"
            );
        }
        let init = |t: Option<&'static str>| {
            InitProducerIdRequest::default()
                .with_transactional_id(t.map(id))
                .with_transaction_timeout_ms(60_000)
                .with_producer_id(ProducerId(-1))
        };
        assert_eq!(client.call(4, &init(Some("faulty"))).await.error_code, load);
        assert_eq!(
            client.call(4, &init(None)).await.error_code,
            0,
            "idempotent"
        );
        let healthy = client.call(4, &init(Some("healthy"))).await;
        assert_eq!(healthy.error_code, 0);
        let (pid, epoch) = (healthy.producer_id, healthy.producer_epoch);

        // DescribeTransactions: a list naming it among others is answered with the error whole.
        for (ids, expected) in [(vec!["healthy"], 0), (vec!["healthy", "faulty"], load)] {
            let described = client
                .call(
                    0,
                    &DescribeTransactionsRequest::default()
                        .with_transactional_ids(ids.iter().map(|t| id(t)).collect()),
                )
                .await;
            let codes: Vec<i16> = described
                .transaction_states
                .iter()
                .map(|t| t.error_code)
                .collect();
            assert_eq!(
                codes,
                vec![expected; ids.len()],
                "DescribeTransactions {ids:?}"
            );
        }
        let ended = client
            .call(
                3,
                &EndTxnRequest::default()
                    .with_transactional_id(id("faulty"))
                    .with_producer_id(pid)
                    .with_producer_epoch(epoch)
                    .with_committed(true),
            )
            .await;
        assert_eq!(ended.error_code, load, "EndTxn of the faulty id");

        // The group scope: AddOffsetsToTxn and TxnOffsetCommit name the group of their offsets.
        let add_offsets = |g: &'static str| {
            AddOffsetsToTxnRequest::default()
                .with_transactional_id(id("healthy"))
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_group_id(group(g))
        };
        assert_eq!(
            client
                .call(3, &add_offsets("faulty-group"))
                .await
                .error_code,
            load
        );
        assert_eq!(
            client
                .call(3, &add_offsets("healthy-group"))
                .await
                .error_code,
            0
        );
        let txn_commit = |g: &'static str| {
            TxnOffsetCommitRequest::default()
                .with_transactional_id(id("healthy"))
                .with_group_id(group(g))
                .with_producer_id(pid)
                .with_producer_epoch(epoch)
                .with_generation_id(-1)
                .with_topics(vec![
                    TxnOffsetCommitRequestTopic::default()
                        .with_name(name("raw"))
                        .with_partitions(vec![
                            TxnOffsetCommitRequestPartition::default()
                                .with_partition_index(0)
                                .with_committed_offset(0),
                        ]),
                ])
        };
        let refused = client.call(3, &txn_commit("faulty-group")).await;
        assert_eq!(refused.topics[0].partitions[0].error_code, load);
        let staged = client.call(3, &txn_commit("healthy-group")).await;
        assert_eq!(staged.topics[0].partitions[0].error_code, 0);
        let described = client
            .call(
                0,
                &ConsumerGroupDescribeRequest::default()
                    .with_group_ids(vec![group("healthy-group"), group("faulty-group")]),
            )
            .await;
        let codes: Vec<i16> = described.groups.iter().map(|g| g.error_code).collect();
        assert_eq!(
            codes,
            [load, load],
            "ConsumerGroupDescribe naming it among others"
        );
    }

    #[tokio::test]
    async fn read_committed_stops_at_the_open_transaction_and_lists_the_aborted_one() {
        let broker = MockBroker::start(BrokerConfig::ephemeral()).await.unwrap();
        broker.store().create_topic("raw", 1);
        let mut client = KafkaClient::connect(broker.local_addr()).await;
        let init = client
            .call(
                4,
                &InitProducerIdRequest::default()
                    .with_transactional_id(Some(id("raw-txn")))
                    .with_transaction_timeout_ms(60_000)
                    .with_producer_id((-1).into()),
            )
            .await;
        let (pid, epoch) = (init.producer_id, init.producer_epoch);
        let not_added = client
            .call(
                9,
                &produce("raw", 0, transactional(&["x"], pid.0, epoch), -1),
            )
            .await;
        assert_eq!(
            outcome(&not_added).0,
            48,
            "INVALID_TXN_STATE before Produce v11"
        );
        let added = client
            .call(
                3,
                &AddPartitionsToTxnRequest::default()
                    .with_v3_and_below_transactional_id(id("raw-txn"))
                    .with_v3_and_below_producer_id(pid)
                    .with_v3_and_below_producer_epoch(epoch)
                    .with_v3_and_below_topics(vec![
                        AddPartitionsToTxnTopic::default()
                            .with_name(name("raw"))
                            .with_partitions(vec![0]),
                    ]),
            )
            .await;
        assert_eq!(
            added.results_by_topic_v3_and_below[0].results_by_partition[0].partition_error_code,
            0
        );
        let produced = client
            .call(
                9,
                &produce("raw", 0, transactional(&["x", "y"], pid.0, epoch), -1),
            )
            .await;
        assert_eq!(outcome(&produced), (0, 0));

        let open = fetch(&mut client, 1).await;
        let p = &open.responses[0].partitions[0];
        assert_eq!((p.high_watermark, p.last_stable_offset), (2, 0));
        assert!(
            p.records.as_ref().is_none_or(|r| r.is_empty()),
            "nothing stable yet"
        );
        let p = &fetch(&mut client, 0).await.responses[0].partitions[0];
        assert_eq!(
            p.last_stable_offset, 0,
            "read_uncommitted is told the LSO too"
        );
        assert!(p.records.as_ref().is_some_and(|r| !r.is_empty()));
        assert_eq!(
            latest(&mut client, 1).await,
            0,
            "read_committed latest is the LSO"
        );
        assert_eq!(latest(&mut client, 0).await, 2);

        let group_added = client
            .call(
                3,
                &AddOffsetsToTxnRequest::default()
                    .with_transactional_id(id("raw-txn"))
                    .with_producer_id(pid)
                    .with_producer_epoch(epoch)
                    .with_group_id(GroupId(StrBytes::from_static_str("g"))),
            )
            .await;
        assert_eq!(group_added.error_code, 0);
        let staged = client
            .call(
                3,
                &TxnOffsetCommitRequest::default()
                    .with_transactional_id(id("raw-txn"))
                    .with_group_id(GroupId(StrBytes::from_static_str("g")))
                    .with_producer_id(pid)
                    .with_producer_epoch(epoch)
                    .with_generation_id(-1)
                    .with_topics(vec![
                        TxnOffsetCommitRequestTopic::default()
                            .with_name(name("raw"))
                            .with_partitions(vec![
                                TxnOffsetCommitRequestPartition::default()
                                    .with_partition_index(0)
                                    .with_committed_offset(2),
                            ]),
                    ]),
            )
            .await;
        assert_eq!(staged.topics[0].partitions[0].error_code, 0);
        assert_eq!(
            committed(&mut client, true).await,
            (88, -1),
            "UNSTABLE_OFFSET_COMMIT while the transaction holds offsets"
        );
        assert_eq!(
            committed(&mut client, false).await,
            (0, -1),
            "nothing committed yet"
        );

        let ended = client
            .call(
                3,
                &EndTxnRequest::default()
                    .with_transactional_id(id("raw-txn"))
                    .with_producer_id(pid)
                    .with_producer_epoch(epoch)
                    .with_committed(false),
            )
            .await;
        assert_eq!(ended.error_code, 0);
        let aborted = fetch(&mut client, 1).await;
        let p = &aborted.responses[0].partitions[0];
        assert_eq!(
            (p.high_watermark, p.last_stable_offset),
            (3, 3),
            "the marker takes offset 2"
        );
        let listed: Vec<(i64, i64)> = p
            .aborted_transactions
            .iter()
            .flatten()
            .map(|a| (a.producer_id.0, a.first_offset))
            .collect();
        assert_eq!(
            listed,
            [(pid.0, 0)],
            "the aborted transaction, for clients to drop"
        );
        assert_eq!(
            committed(&mut client, true).await,
            (0, -1),
            "an abort commits no offsets"
        );
        let described = client
            .call(
                0,
                &DescribeTransactionsRequest::default().with_transactional_ids(vec![id("raw-txn")]),
            )
            .await;
        assert_eq!(
            described.transaction_states[0].transaction_state.as_str(),
            "CompleteAbort"
        );
        let listed = client.call(1, &ListTransactionsRequest::default()).await;
        assert_eq!(listed.transaction_states.len(), 1);
        assert_eq!(listed.transaction_states[0].producer_id, pid);
        let late = client
            .call(
                9,
                &produce("raw", 0, transactional(&["z"], pid.0, epoch), -1),
            )
            .await;
        assert_ne!(outcome(&late).0, 0, "no transaction is open for it");
    }
}

/// After `kill -9` and a restart on the same `--record-file`, a committed transaction reads as
/// committed, and the one left open (its coordinator's state is not in the file) is aborted with a
/// marker the file then holds, so read_committed consumers get past it.
#[test]
fn a_restart_replays_a_committed_transaction_and_aborts_the_one_left_open() {
    let dir = std::env::temp_dir().join(format!("txn-replay-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("records.jsonl");
    let args = [
        "--partitions",
        "1",
        "--record-file",
        file.to_str().unwrap(),
        "--fsync",
        "always",
    ];
    let topic = "txn-replayed";
    let broker = BrokerProcess::start(&args);
    let producer = transactional_producer(&broker, "txn-replay", &[("message.timeout.ms", "2000")]);
    producer.begin_transaction().unwrap();
    send(&producer, topic, 0, "committed-1");
    producer.commit_transaction(TIMEOUT).unwrap();
    producer.begin_transaction().unwrap();
    send(&producer, topic, 0, "left-open");
    drop(broker); // kill -9 in the middle of the second transaction
    drop(producer);

    let broker = BrokerProcess::start(&args);
    let states = states(&broker, topic);
    assert_eq!(states["committed-1"], "committed", "{states:?}");
    assert_eq!(states["left-open"], "aborted", "{states:?}");
    let plain: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", &broker.address)
        .set("message.timeout.ms", TIMEOUT.as_millis().to_string())
        .create()
        .unwrap();
    send(&plain, topic, 0, "after");
    let reader = consumer(&broker.address, topic, 1, "read_committed");
    let read = read_until(
        &reader,
        "read_committed reads past the aborted transaction",
        |read| values(read).contains(&"after"),
    );
    assert_eq!(values(&read), ["committed-1", "after"]);
    let text = std::fs::read_to_string(&file).unwrap();
    let abort_marker = text.lines().any(|line| {
        line.contains(r#""control":true"#)
            && line.contains(r#""transaction":"aborted""#)
            && line.contains("mock-broker-replay")
    });
    assert!(
        abort_marker,
        "no ABORT marker written by the replay:\n{text}"
    );
    assert!(broker.terminate());
    std::fs::remove_dir_all(dir).unwrap();
}

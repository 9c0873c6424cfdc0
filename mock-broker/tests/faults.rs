//! Fault injection, kind by kind, observed through real TCP: by our producer
//! (both protocols), by librdkafka (the `rdkafka` crate), and by a bare Kafka
//! client where the wire itself is the observation. Rules are set through the
//! in-process API, the admin API and the broker binary's config file.
//!
//! Lower bounds on elapsed time are deterministic here (nothing can be
//! acknowledged before a stall or outage ends); no test asserts an upper bound.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use mock_broker::fault::{ApiScope, FaultSpec, FaultState, ProtocolScope, When};
use mock_broker::{BrokerConfig, MockBroker};
use producer::{Acks, Config, Producer, Protocol, Record};
use serde_json::json;

use crate::admin_api::http_with_body;
use crate::binaries::{BrokerProcess, http_get};
use crate::kafka_protocol::{KafkaClient, name, outcome, produce, records};

/// Generous: the machine running the tests may be loaded.
const TIMEOUT: Duration = Duration::from_secs(60);

async fn broker(brokers: u32, partitions: u32) -> MockBroker {
    let mut config = BrokerConfig::ephemeral();
    config.brokers = brokers;
    config.partitions = partitions;
    config.admin = Some("127.0.0.1:0".parse().unwrap());
    MockBroker::start(config).await.expect("broker starts")
}

fn config(broker: &MockBroker, topic: &str, protocol: Protocol) -> Config {
    let mut config = Config::new(broker.bootstrap_servers(), topic);
    config.protocol = protocol;
    config.linger = Duration::from_millis(1);
    config.retry_backoff = Duration::from_millis(20);
    config.retry_backoff_max = Duration::from_millis(200);
    config
}

/// Sends `values` keyed over three keys and waits for every delivery.
async fn deliver(producer: &Producer, values: impl IntoIterator<Item = u32>) {
    let mut pending = Vec::new();
    for i in values {
        let record = Record::new(format!("{i:05}")).with_key(format!("k{}", i % 3));
        pending.push((i, producer.send(record).await.expect("enqueued")));
    }
    for (i, delivery) in pending {
        tokio::time::timeout(TIMEOUT, delivery)
            .await
            .unwrap_or_else(|_| panic!("message {i}: no delivery within {TIMEOUT:?}"))
            .unwrap_or_else(|e| panic!("message {i}: not delivered: {e}"));
    }
}

/// How many copies of each value the broker recorded in `topic`, after
/// checking that each partition's values only go forward.
fn recorded(broker: &MockBroker, topic: &str) -> BTreeMap<String, usize> {
    let mut copies = BTreeMap::new();
    let mut last: BTreeMap<u32, String> = BTreeMap::new();
    for record in broker.store().read_all(topic).expect("the topic exists") {
        let value = String::from_utf8(record.value.unwrap().to_vec()).unwrap();
        if let Some(previous) = last.get(&record.partition) {
            assert!(
                *previous <= value,
                "partition {}: {value} recorded after {previous}",
                record.partition
            );
        }
        last.insert(record.partition, value.clone());
        *copies.entry(value).or_default() += 1;
    }
    copies
}

/// Every value of `range` recorded exactly once, in order per partition.
pub(crate) fn assert_exactly_once(broker: &MockBroker, topic: &str, range: std::ops::Range<u32>) {
    let copies = recorded(broker, topic);
    let expected: Vec<String> = range.map(|i| format!("{i:05}")).collect();
    let missing: Vec<&String> = expected
        .iter()
        .filter(|v| !copies.contains_key(*v))
        .collect();
    let repeated: Vec<(&String, &usize)> = copies.iter().filter(|(_, n)| **n > 1).collect();
    let foreign: Vec<&String> = copies.keys().filter(|v| !expected.contains(v)).collect();
    assert!(
        missing.is_empty() && repeated.is_empty() && foreign.is_empty(),
        "{topic}: missing {missing:?}, recorded more than once {repeated:?}, unexpected {foreign:?}"
    );
}

pub(crate) fn fired(broker: &MockBroker, id: u64) -> (u64, FaultState) {
    let info = broker.faults().get(id).expect("the rule exists");
    (info.fired, info.state)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_leader_errors_make_our_producer_refresh_metadata_and_deliver_everything() {
    let broker = broker(1, 3).await;
    let producer = Producer::new(config(&broker, "errors", Protocol::Kafka))
        .await
        .unwrap();
    deliver(&producer, 0..30).await;
    let metadata_before = broker.stats().snapshot().requests["kafka"]["Metadata"]
        .values()
        .sum::<u64>();
    let rule = broker
        .faults()
        .add(
            FaultSpec::error("NOT_LEADER_OR_FOLLOWER")
                .with_api(ApiScope::Produce)
                .with_count(3),
        )
        .unwrap();
    deliver(&producer, 30..90).await;
    producer.close().await;

    assert_eq!(fired(&broker, rule.id), (3, FaultState::Expired));
    assert_exactly_once(&broker, "errors", 0..90);
    let stats = broker.stats().snapshot();
    assert_eq!(stats.errors["kafka"]["NOT_LEADER_OR_FOLLOWER"], 3);
    assert_eq!(stats.faults["error"], 3);
    let metadata_after = stats.requests["kafka"]["Metadata"].values().sum::<u64>();
    assert!(
        metadata_after > metadata_before,
        "NOT_LEADER_OR_FOLLOWER must trigger a metadata refresh"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_holds_responses_back_and_keeps_them_in_order() {
    let broker = broker(1, 1).await;
    broker
        .faults()
        .add(FaultSpec::latency(300).with_api(ApiScope::Produce))
        .unwrap();
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let started = Instant::now();
    // A delayed produce, then an undelayed metadata request, pipelined.
    let produce_id = client
        .send(9, &produce("slow", 0, records(&["a"], None), 1))
        .await;
    let metadata = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(name("slow"))),
    ]));
    let metadata_id = client.send(9, &metadata).await;
    let response = client
        .receive::<kafka_protocol::messages::ProduceRequest>(9, produce_id)
        .await;
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "answered after {:?}",
        started.elapsed()
    );
    assert_eq!(outcome(&response), (0, 0));
    client.receive::<MetadataRequest>(9, metadata_id).await;
    assert_eq!(
        broker.store().record_count(),
        1,
        "recorded at once, answered late"
    );

    // Our producer sees the latency too.
    let producer = Producer::new(config(&broker, "slow", Protocol::Frame))
        .await
        .unwrap();
    let started = Instant::now();
    producer.send_message("b").await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_metadata_request_answered_with_an_injected_error_creates_no_topic() {
    let broker = broker(1, 1).await;
    let rule = broker
        .faults()
        .add(FaultSpec::error("LEADER_NOT_AVAILABLE").with_api(ApiScope::Metadata))
        .unwrap();
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let request = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(name("unborn"))),
    ]));
    let response = client.call(9, &request).await;
    assert_eq!(response.topics.len(), 1);
    assert_eq!(response.topics[0].error_code, 5, "LEADER_NOT_AVAILABLE");
    assert!(broker.store().topic("unborn").is_none(), "nothing created");
    assert!(broker.faults().remove(rule.id));
    let response = client.call(9, &request).await;
    assert_eq!(response.topics[0].error_code, 0);
    assert!(
        broker.store().topic("unborn").is_some(),
        "created once served"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttle_sets_throttle_time_ms_in_the_responses_it_matches() {
    let broker = broker(1, 1).await;
    let rule = broker
        .faults()
        .add(FaultSpec::throttle(250).with_api(ApiScope::Produce))
        .unwrap();
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let response = client
        .call(9, &produce("throttled", 0, records(&["a"], None), 1))
        .await;
    assert_eq!(response.throttle_time_ms, 250);
    assert_eq!(outcome(&response), (0, 0), "throttled, still recorded");
    let metadata = client.call(9, &MetadataRequest::default()).await;
    assert_eq!(metadata.throttle_time_ms, 0, "the rule is for produce only");
    assert_eq!(fired(&broker, rule.id), (1, FaultState::Active));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn our_producer_sends_a_throttling_broker_nothing_until_the_throttle_time_passed() {
    let broker = broker(1, 1).await;
    let producer = Producer::new(config(&broker, "quiet", Protocol::Kafka))
        .await
        .unwrap();
    deliver(&producer, 0..1).await;
    broker
        .faults()
        .add(
            FaultSpec::throttle(400)
                .with_api(ApiScope::Produce)
                .with_count(1),
        )
        .unwrap();
    // Timed from before the throttled request: the producer's 400 ms count from when it read the
    // answer, which a loaded machine may report to this task later than that.
    let throttled_request = Instant::now();
    deliver(&producer, 1..2).await;
    deliver(&producer, 2..3).await;
    assert!(
        throttled_request.elapsed() >= Duration::from_millis(400),
        "the request after the throttled one was answered {:?} after the throttled request went out",
        throttled_request.elapsed()
    );
    assert_exactly_once(&broker, "quiet", 0..3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_after_recording_duplicates_for_a_plain_producer_and_not_for_an_idempotent_one()
{
    let broker = broker(1, 1).await;
    // Idempotent (the default with acks=all): the retry is recognised and acknowledged once.
    let rule = broker
        .faults()
        .add(
            FaultSpec::disconnect(When::After)
                .with_api(ApiScope::Produce)
                .with_topic("idempotent")
                .with_count(1),
        )
        .unwrap();
    let producer = Producer::new(config(&broker, "idempotent", Protocol::Kafka))
        .await
        .unwrap();
    deliver(&producer, 0..1).await;
    deliver(&producer, 1..20).await;
    assert_eq!(fired(&broker, rule.id), (1, FaultState::Expired));
    assert_exactly_once(&broker, "idempotent", 0..20);

    // acks=1 without idempotence: the lost answer makes the retry a second copy.
    broker
        .faults()
        .add(
            FaultSpec::disconnect(When::After)
                .with_api(ApiScope::Produce)
                .with_topic("plain")
                .with_count(1),
        )
        .unwrap();
    let mut plain = config(&broker, "plain", Protocol::Kafka);
    plain.acks = Acks::Leader;
    plain.idempotent = Some(false);
    let producer = Producer::new(plain).await.unwrap();
    deliver(&producer, 0..1).await;
    let copies = recorded(&broker, "plain");
    assert_eq!(
        copies["00000"], 2,
        "recorded, disconnected, retried: {copies:?}"
    );

    // The frame protocol has no idempotence: the same happens there.
    broker
        .faults()
        .add(
            FaultSpec::disconnect(When::After)
                .with_protocol(ProtocolScope::Frame)
                .with_count(1),
        )
        .unwrap();
    let producer = Producer::new(config(&broker, "frames", Protocol::Frame))
        .await
        .unwrap();
    deliver(&producer, 0..1).await;
    assert_eq!(recorded(&broker, "frames")["00000"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disconnect_before_handling_records_nothing_and_the_retry_delivers_once() {
    let broker = broker(1, 1).await;
    for protocol in [Protocol::Kafka, Protocol::Frame] {
        let topic = format!("before-{protocol:?}").to_lowercase();
        let rule = broker
            .faults()
            .add(
                FaultSpec::disconnect(When::Before)
                    .with_api(ApiScope::Produce)
                    .with_topic(&topic)
                    .with_count(2),
            )
            .unwrap();
        let mut config = config(&broker, &topic, protocol);
        config.idempotent = Some(false);
        config.acks = Acks::Leader;
        let producer = Producer::new(config).await.unwrap();
        deliver(&producer, 0..10).await;
        assert_eq!(fired(&broker, rule.id), (2, FaultState::Expired));
        assert_exactly_once(&broker, &topic, 0..10);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stall_holds_every_acknowledgement_until_it_ends() {
    let broker = broker(1, 1).await;
    let producer = Producer::new(config(&broker, "stalled", Protocol::Kafka))
        .await
        .unwrap();
    deliver(&producer, 0..5).await;
    let stall = Duration::from_millis(600);
    let started = Instant::now();
    let rule = broker.faults().add(FaultSpec::stall(stall)).unwrap();
    assert_eq!(rule.state, FaultState::Active);
    deliver(&producer, 5..10).await;
    assert!(
        started.elapsed() >= stall,
        "acknowledged after {:?}, inside the stall",
        started.elapsed()
    );
    assert_exactly_once(&broker, "stalled", 0..10);
    assert_eq!(fired(&broker, rule.id), (1, FaultState::Expired));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_down_for_a_while_comes_back_with_its_recordings_and_our_producer_reconnects() {
    let broker = broker(1, 1).await;
    for protocol in [Protocol::Kafka, Protocol::Frame] {
        let topic = format!("down-{protocol:?}").to_lowercase();
        let producer = Producer::new(config(&broker, &topic, protocol))
            .await
            .unwrap();
        deliver(&producer, 0..10).await;
        let outage = Duration::from_secs(1);
        let started = Instant::now();
        let rule = broker.faults().add(FaultSpec::down(outage)).unwrap();
        assert_eq!(rule.state, FaultState::Active);
        deliver(&producer, 10..20).await;
        assert!(
            started.elapsed() >= outage,
            "acknowledged after {:?}, during the outage",
            started.elapsed()
        );
        assert_exactly_once(&broker, &topic, 0..20);
        producer.close().await;
    }
    assert_eq!(broker.stats().snapshot().faults["down"], 2);
}

/// Found by the `faults-down` scenario: batches that failed to reach a broker
/// that was down were retried out of their order, so an idempotent producer
/// met OUT_OF_ORDER_SEQUENCE_NUMBER, bumped its epoch, and duplicated (and even
/// lost) records. Now they keep their order and need no epoch bump.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotent_producer_with_batches_queued_through_an_outage_keeps_exactly_once_and_order()
{
    let broker = broker(1, 3).await;
    let mut config = config(&broker, "queued", Protocol::Kafka);
    config.linger = Duration::from_millis(2);
    let producer = Producer::new(config).await.unwrap();
    deliver(&producer, 0..100).await;
    broker
        .faults()
        .add(FaultSpec::down(Duration::from_millis(700)))
        .unwrap();
    // Records keep coming at a steady pace, so that many small batches per
    // partition wait for the broker meanwhile (the pacing shapes the load; it
    // synchronises nothing).
    let mut pending = Vec::new();
    let mut tick = tokio::time::interval(Duration::from_millis(2));
    for i in 100..3100u32 {
        if i % 5 == 0 {
            tick.tick().await;
        }
        let record = Record::new(format!("{i:05}")).with_key(format!("k{}", i % 3));
        pending.push(producer.send(record).await.expect("enqueued"));
    }
    for delivery in pending {
        tokio::time::timeout(TIMEOUT, delivery)
            .await
            .expect("delivered in time")
            .expect("delivered");
    }
    producer.close().await;
    assert_exactly_once(&broker, "queued", 0..3100);
    let epochs: std::collections::BTreeSet<i16> = broker
        .store()
        .read_all("queued")
        .unwrap()
        .iter()
        .filter_map(|r| r.producer.as_ref().map(|p| p.epoch))
        .collect();
    assert_eq!(epochs, [0].into(), "no epoch bump was needed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_move_is_announced_with_a_new_epoch_and_followed_by_our_producer() {
    let broker = broker(3, 3).await;
    let producer = Producer::new(config(&broker, "moving", Protocol::Kafka))
        .await
        .unwrap();
    deliver(&producer, 0..30).await;
    let rule = broker
        .faults()
        .add(FaultSpec::leader_move("moving", 0, 2))
        .unwrap();
    assert_eq!(rule.state, FaultState::Expired, "made at once, and done");

    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let request = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(name("moving"))),
    ]));
    let metadata = client.call(9, &request).await;
    let partition = &metadata.topics[0].partitions[0];
    assert_eq!((partition.leader_id.0, partition.leader_epoch), (2, 1));
    let old_leader = client
        .call(9, &produce("moving", 0, records(&["stale"], None), 1))
        .await;
    assert_eq!(
        outcome(&old_leader).0,
        6,
        "NOT_LEADER_OR_FOLLOWER from broker 1"
    );

    deliver(&producer, 30..90).await;
    producer.close().await;
    assert_exactly_once(&broker, "moving", 0..90);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_adds_lists_and_removes_rules_and_names_bad_keys() {
    let broker = broker(2, 1).await;
    let admin = broker.admin_addr().unwrap();
    let call = |method: &'static str, path: &'static str, body: String| {
        tokio::task::spawn_blocking(move || http_with_body(admin, method, path, &body))
    };
    let added = call(
        "POST",
        "/faults",
        json!({"kind": "error", "error": "REQUEST_TIMED_OUT", "api": "produce", "count": 2, "broker": 1})
            .to_string(),
    )
    .await
    .unwrap();
    assert_eq!(added.status, 201, "{added:?}");
    let added = added.json();
    assert_eq!(added["kind"], "error");
    assert_eq!(added["fired"], 0);
    assert_eq!(added["state"], "active");
    let id = added["id"].as_u64().unwrap();

    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let refused = client
        .call(9, &produce("admin", 0, records(&["x"], None), 1))
        .await;
    assert_eq!(
        outcome(&refused),
        (7, -1),
        "REQUEST_TIMED_OUT, nothing recorded"
    );
    assert_eq!(broker.store().record_count(), 0);

    let listed = call("GET", "/faults", String::new()).await.unwrap().json();
    assert_eq!(listed[0]["id"], id);
    assert_eq!(listed[0]["fired"], 1);
    let stats = call("GET", "/stats", String::new()).await.unwrap().json();
    assert_eq!(stats["faults"]["error"], 1);

    for (body, key) in [
        (json!({"kind": "latency"}), "`latency_ms`: is required"),
        (
            json!({"kind": "latency", "latency_ms": 5, "brocker": 1}),
            "unknown field `brocker`",
        ),
        (json!({"kind": "slow"}), "`kind`: unknown variant `slow`"),
        (
            json!({"kind": "down", "duration": "2 fortnights"}),
            "`duration`: invalid duration",
        ),
        (
            json!({"kind": "stall", "duration": "1s", "broker": 3}),
            "`broker`: broker 3 does not exist",
        ),
        (
            json!({"kind": "disconnect", "probability": 2}),
            "`probability`: is 2",
        ),
    ] {
        let response = call("POST", "/faults", body.to_string()).await.unwrap();
        let error = response.error(400);
        assert!(error.contains(key), "{body}: {error}");
    }

    let removed = call("DELETE", "/faults/999", String::new()).await.unwrap();
    assert!(removed.error(404).contains("no fault rule has id 999"));
    let removed = call("DELETE", "/faults/1", String::new()).await.unwrap();
    assert_eq!(removed.status, 204);
    call(
        "POST",
        "/faults",
        json!({"kind": "throttle", "throttle_ms": 5}).to_string(),
    )
    .await
    .unwrap();
    let cleared = call("DELETE", "/faults", String::new())
        .await
        .unwrap()
        .json();
    assert_eq!(cleared["removed"], 1);
    assert!(broker.faults().list().is_empty());
}

#[test]
fn the_broker_binary_starts_with_the_fault_rules_of_its_config_file() {
    let dir = std::env::temp_dir().join(format!("mock-broker-faults-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("broker.toml");
    std::fs::write(
        &path,
        "[[faults]]\nkind = \"latency\"\nlatency_ms = 50\napi = \"produce\"\nprobability = 0.5\nseed = 7\n\n\
         [[faults]]\nkind = \"down\"\nat = \"1h\"\nduration = \"1s\"\n",
    )
    .unwrap();
    let broker = BrokerProcess::start(&["--config", path.to_str().unwrap()]);
    let (status, body) = http_get(&broker.admin, "/faults");
    assert_eq!(status, 200, "{body}");
    let rules: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(rules[0]["kind"], "latency");
    assert_eq!(rules[0]["seed"], 7);
    assert_eq!(rules[1]["kind"], "down");
    assert_eq!(rules[1]["at"], "1h");
    assert_eq!(rules[1]["state"], "pending");
    assert!(broker.terminate());

    std::fs::write(&path, "[[faults]]\nkind = \"down\"\n").unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mock-broker"))
        .args([
            "--config",
            path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
            "--admin",
            "off",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("broker.toml") && stderr.contains("faults[0].duration: is required"),
        "{stderr}"
    );
}

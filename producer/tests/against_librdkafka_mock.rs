//! The producer against librdkafka's mock cluster (`rdkafka::mocking::MockCluster`):
//! a Kafka implementation we did not write, with its own fault injection.
//!
//! Every test consumes the topic back with librdkafka's consumer and checks
//! that each acknowledged record is there exactly once, at the partition and
//! offset its delivery report gave, in send order within its partition.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use producer::{Config, Producer, Record};
use rdkafka::ClientConfig;
use rdkafka::Message;
use rdkafka::Offset;
use rdkafka::TopicPartitionList;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};

const TIMEOUT: Duration = Duration::from_secs(60);

type Cluster = MockCluster<'static, DefaultProducerContext>;

fn cluster(brokers: i32, topic: &str, partitions: i32) -> Cluster {
    let cluster = MockCluster::new(brokers).expect("mock cluster starts");
    cluster
        .create_topic(topic, partitions, 1)
        .expect("topic created");
    cluster
}

fn config(cluster: &Cluster, topic: &str) -> Config {
    let mut config = Config::new(cluster.bootstrap_servers(), topic);
    config.retry_backoff = Duration::from_millis(20);
    config.retry_backoff_max = Duration::from_millis(200);
    config
}

/// One acknowledged record: its value, partition and offset.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Acked {
    value: String,
    partition: u32,
    offset: i64,
}

/// Sends `count` keyed records from one task, all in flight at once, and awaits them.
async fn produce(producer: &Producer, from: usize, count: usize) -> Vec<Acked> {
    let mut pending = Vec::with_capacity(count);
    for i in from..from + count {
        let value = format!("value-{i:06}");
        let record = Record::new(value.clone()).with_key(format!("key-{}", i % 97));
        pending.push((value, producer.send(record).await.expect("enqueued")));
    }
    let mut acked = Vec::with_capacity(count);
    for (value, delivery) in pending {
        let delivery = delivery
            .await
            .unwrap_or_else(|e| panic!("{value} not delivered: {e}"));
        acked.push(Acked {
            value,
            partition: delivery.partition.unwrap(),
            offset: delivery.offset.unwrap(),
        });
    }
    acked
}

/// Reads every partition from the start until it holds `expected` records in all.
fn consume(bootstrap: &str, topic: &str, partitions: i32, expected: usize) -> Vec<Acked> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "verifier")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment
            .add_partition_offset(topic, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let deadline = std::time::Instant::now() + TIMEOUT;
    let mut records = Vec::new();
    while records.len() < expected && std::time::Instant::now() < deadline {
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.expect("consumer error");
            records.push(Acked {
                value: String::from_utf8(message.payload().unwrap().to_vec()).unwrap(),
                partition: message.partition() as u32,
                offset: message.offset(),
            });
        }
    }
    // Anything more than expected would be a duplicate: give it a moment to show.
    while let Some(message) = consumer.poll(Duration::from_millis(300)) {
        let message = message.expect("consumer error");
        records.push(Acked {
            value: String::from_utf8(message.payload().unwrap().to_vec()).unwrap(),
            partition: message.partition() as u32,
            offset: message.offset(),
        });
    }
    records
}

/// Every acknowledged record is stored exactly once where its delivery report
/// said, and within a partition offsets follow send order.
fn check(acked: &[Acked], consumed: &[Acked]) {
    let mut stored: HashMap<&str, Vec<&Acked>> = HashMap::new();
    for record in consumed {
        stored.entry(&record.value).or_default().push(record);
    }
    for record in acked {
        let copies = stored.get(record.value.as_str()).map_or(0, Vec::len);
        assert_eq!(copies, 1, "{} stored {copies} times", record.value);
        assert_eq!(
            stored[record.value.as_str()][0],
            record,
            "stored where the delivery report said"
        );
    }
    assert_eq!(
        consumed.len(),
        acked.len(),
        "nothing but the acknowledged records"
    );
    let mut by_partition: BTreeMap<u32, Vec<&Acked>> = BTreeMap::new();
    for record in acked {
        by_partition
            .entry(record.partition)
            .or_default()
            .push(record);
    }
    for (partition, records) in by_partition {
        assert!(
            records.windows(2).all(|w| w[0].offset < w[1].offset),
            "partition {partition}: offsets do not follow send order"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_single_broker_gets_every_record_once_in_order() {
    let cluster = cluster(1, "single", 3);
    let producer = Producer::new(config(&cluster, "single")).await.unwrap();
    let acked = produce(&producer, 0, 3000).await;
    producer.close().await;
    let consumed = consume(&cluster.bootstrap_servers(), "single", 3, acked.len());
    check(&acked, &consumed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_brokers_get_every_keyed_record_from_their_leaders() {
    let cluster = cluster(3, "three", 6);
    let mut config = config(&cluster, "three");
    // lz4 is built into librdkafka (zstd needs a feature), so the verifying consumer reads it.
    config.compression = producer::kafka::batch_builder::Compression::Lz4;
    let producer = Producer::new(config).await.unwrap();
    let acked = produce(&producer, 0, 3000).await;
    let metrics = producer.metrics();
    producer.close().await;
    let partitions: std::collections::BTreeSet<u32> = acked.iter().map(|a| a.partition).collect();
    assert_eq!(partitions.len(), 6, "keys spread over every partition");
    assert!(metrics.records_per_request() > 1.0, "batched: {metrics:?}");
    let consumed = consume(&cluster.bootstrap_servers(), "three", 6, acked.len());
    check(&acked, &consumed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leader_move_during_the_run_is_followed() {
    let cluster = cluster(3, "moving", 3);
    let producer = Producer::new(config(&cluster, "moving")).await.unwrap();
    let mut acked = produce(&producer, 0, 1000).await;
    cluster.partition_leader("moving", 0, Some(3)).unwrap();
    cluster.partition_leader("moving", 1, Some(1)).unwrap();
    acked.extend(produce(&producer, 1000, 1000).await);
    producer.close().await;
    let consumed = consume(&cluster.bootstrap_servers(), "moving", 3, acked.len());
    check(&acked, &consumed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn injected_retriable_errors_are_retried_without_duplicates() {
    let cluster = cluster(1, "flaky", 2);
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        ],
    );
    let producer = Producer::new(config(&cluster, "flaky")).await.unwrap();
    assert!(producer.config().is_idempotent());
    let acked = produce(&producer, 0, 2000).await;
    let metrics = producer.metrics();
    producer.close().await;
    assert!(
        metrics.retries >= 4,
        "every injected error was retried: {metrics:?}"
    );
    let consumed = consume(&cluster.bootstrap_servers(), "flaky", 2, acked.len());
    check(&acked, &consumed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_non_retriable_error_reaches_the_caller_with_its_code_and_name() {
    let cluster = cluster(1, "refused", 1);
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_INVALID_RECORD],
    );
    let producer = Producer::new(config(&cluster, "refused")).await.unwrap();
    let err = producer.send_message("refused").await.unwrap_err();
    assert!(
        matches!(&err, producer::Error::Kafka { code: 87, name, .. } if name == "INVALID_RECORD"),
        "{err}"
    );
    // The producer goes on: the next record is delivered.
    let acked = produce(&producer, 0, 10).await;
    producer.close().await;
    let consumed = consume(&cluster.bootstrap_servers(), "refused", 1, acked.len());
    check(&acked, &consumed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broker_down_and_up_again_loses_nothing() {
    let cluster = cluster(2, "outage", 2);
    let producer = Producer::new(config(&cluster, "outage")).await.unwrap();
    let mut acked = produce(&producer, 0, 500).await;
    cluster.broker_down(1).unwrap();
    let during = tokio::spawn({
        let producer = producer.clone();
        async move { produce(&producer, 500, 500).await }
    });
    // Bring the broker back once the producer has noticed it is gone.
    let deadline = tokio::time::Instant::now() + TIMEOUT;
    while producer.metrics().retries == 0 && !during.is_finished() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the producer never retried"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cluster.broker_up(1).unwrap();
    acked.extend(during.await.unwrap());
    producer.close().await;
    let consumed = consume(&cluster.bootstrap_servers(), "outage", 2, acked.len());
    check(&acked, &consumed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn added_round_trip_time_slows_deliveries_but_loses_nothing() {
    let cluster = cluster(1, "slow", 1);
    cluster
        .broker_round_trip_time(1, Duration::from_millis(150))
        .unwrap();
    let producer = Producer::new(config(&cluster, "slow")).await.unwrap();
    let started = tokio::time::Instant::now();
    let acked = produce(&producer, 0, 200).await;
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "the round trip time shows"
    );
    producer.close().await;
    let consumed = consume(&cluster.bootstrap_servers(), "slow", 1, acked.len());
    check(&acked, &consumed);
}

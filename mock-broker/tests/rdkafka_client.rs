//! The `rdkafka` crate (librdkafka, built from its bundled source) produces to the `mock-broker`
//! binary, alone and as a three-broker cluster; and, as a yardstick, into librdkafka's own mock
//! cluster. A Cargo dependency, so these tests never skip.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::{Offset, TopicPartitionList};

use crate::binaries::BrokerProcess;
use crate::real_clients::{
    Deliveries, Expected, Sent, assert_recorded_exactly, sent_messages, topic_info,
};

/// Long enough for a loaded 2-core machine; a healthy run takes milliseconds.
const TIMEOUT: Duration = Duration::from_secs(60);
const CLIENT_ID: &str = "real-clients-rdkafka";

/// A librdkafka producer with these settings on top of a long message timeout.
pub(crate) fn future_producer(bootstrap: &str, extra: &[(&str, &str)]) -> FutureProducer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("client.id", CLIENT_ID)
        .set("message.timeout.ms", TIMEOUT.as_millis().to_string());
    for (name, value) in extra {
        config.set(*name, *value);
    }
    config
        .create()
        .expect("the producer configuration is valid")
}

/// Enqueues every message, then waits for each delivery report.
///
/// # Panics
/// If a message cannot be enqueued or is not delivered, naming its key and the error.
pub(crate) fn produce(producer: &FutureProducer, topic: &str, messages: &[Sent]) -> Deliveries {
    let pending: Vec<_> = messages
        .iter()
        .map(|message| {
            let headers =
                message
                    .headers
                    .iter()
                    .fold(OwnedHeaders::new(), |headers, (key, value)| {
                        headers.insert(Header {
                            key,
                            value: Some(value.as_str()),
                        })
                    });
            let record = FutureRecord::to(topic)
                .key(&message.key)
                .payload(&message.value)
                .headers(headers);
            let delivery = producer
                .send_result(record)
                .unwrap_or_else(|(e, _)| panic!("{}: cannot enqueue: {e}", message.key));
            (message.key.clone(), delivery)
        })
        .collect();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let deliveries = runtime.block_on(async {
        let mut deliveries = Deliveries::new();
        for (key, delivery) in pending {
            // librdkafka reports every message within message.timeout.ms, delivered or not.
            let delivery = match tokio::time::timeout(TIMEOUT * 2, delivery).await {
                Ok(Ok(Ok(delivery))) => delivery,
                Ok(Ok(Err((e, _)))) => panic!("{key}: not delivered: {e}"),
                Ok(Err(_)) => panic!("{key}: the producer dropped the delivery report"),
                Err(_) => panic!("{key}: no delivery report within {:?}", TIMEOUT * 2),
            };
            deliveries.insert(key, (delivery.partition, delivery.offset));
        }
        deliveries
    });
    producer
        .flush(TIMEOUT)
        .expect("nothing left to flush after every delivery report");
    deliveries
}

#[test]
fn the_rdkafka_future_producer_delivers_keyed_messages_with_headers_recorded_once() {
    let broker = BrokerProcess::start(&["--partitions", "3"]);
    let topic = "rdkafka-defaults";
    let sent = sent_messages("rdkafka", 200);
    let deliveries = produce(&future_producer(&broker.address, &[]), topic, &sent);
    assert_recorded_exactly(
        &broker,
        Expected {
            topic,
            partitions: 3,
            sent,
            client_id: Some(CLIENT_ID),
            idempotent: false,
            deliveries: Some(deliveries),
        },
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[test]
fn the_rdkafka_idempotent_producer_records_a_producer_id_and_dense_sequences() {
    let broker = BrokerProcess::start(&["--partitions", "3"]);
    let topic = "rdkafka-idempotent";
    let sent = sent_messages("rdkafka", 200);
    let producer = future_producer(&broker.address, &[("enable.idempotence", "true")]);
    let deliveries = produce(&producer, topic, &sent);
    assert_recorded_exactly(
        &broker,
        Expected {
            topic,
            partitions: 3,
            sent,
            client_id: Some(CLIENT_ID),
            idempotent: true,
            deliveries: Some(deliveries),
        },
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[test]
fn keyed_messages_spread_over_a_three_broker_cluster_whose_leaders_are_spread() {
    let broker = BrokerProcess::start(&["--brokers", "3", "--partitions", "6"]);
    let topic = "rdkafka-cluster";
    let sent = sent_messages("rdkafka", 600);
    let producer = future_producer(&broker.address, &[]);
    let deliveries = produce(&producer, topic, &sent);

    // What the client was told: every broker at the address it listens on, and the leaders.
    let metadata = producer
        .client()
        .fetch_metadata(Some(topic), TIMEOUT)
        .expect("Metadata for the topic");
    let brokers: Vec<String> = metadata
        .brokers()
        .iter()
        .map(|b| format!("{}:{}:{}", b.id(), b.host(), b.port()))
        .collect();
    let expected: Vec<String> = broker
        .address
        .split(',')
        .enumerate()
        .map(|(i, address)| format!("{}:{address}", i + 1))
        .collect();
    assert_eq!(brokers, expected, "brokers in Metadata");
    let client_leaders: Vec<(i32, i32)> = metadata.topics()[0]
        .partitions()
        .iter()
        .map(|p| (p.id(), p.leader()))
        .collect();

    let info = topic_info(&broker, topic);
    let leaders: Vec<(i32, i32)> = info
        .partitions
        .iter()
        .map(|p| (p.partition, p.leader))
        .collect();
    assert_eq!(
        client_leaders, leaders,
        "Metadata and the admin API agree on leaders"
    );
    let mut led = BTreeMap::new();
    for (_, leader) in &leaders {
        *led.entry(*leader).or_insert(0) += 1;
    }
    assert_eq!(
        led,
        BTreeMap::from([(1, 2), (2, 2), (3, 2)]),
        "each broker leads two partitions: {leaders:?}"
    );
    assert!(
        info.partitions.iter().all(|p| p.high_watermark > 0),
        "600 distinct keys reach every partition, so every broker took produce requests: {:?}",
        info.partitions
    );

    assert_recorded_exactly(
        &broker,
        Expected {
            topic,
            partitions: 6,
            sent,
            client_id: Some(CLIENT_ID),
            idempotent: false,
            deliveries: Some(deliveries),
        },
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

/// The yardstick the producer's tests compare against: librdkafka's mock cluster takes what the
/// crate produces and serves it back, each message where its delivery report said.
#[test]
fn the_rdkafka_mock_cluster_serves_back_what_the_future_producer_delivered() {
    let cluster = MockCluster::new(3).expect("librdkafka's mock cluster starts");
    let topic = "mock-cluster";
    cluster
        .create_topic(topic, 6, 1)
        .expect("the mock cluster creates the topic");
    let sent = sent_messages("rdkafka", 100);
    let deliveries = produce(
        &future_producer(&cluster.bootstrap_servers(), &[]),
        topic,
        &sent,
    );

    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", "real-clients")
        .set("enable.auto.commit", "false")
        .create()
        .expect("the consumer configuration is valid");
    let mut assignment = TopicPartitionList::new();
    for partition in 0..6 {
        assignment
            .add_partition_offset(topic, partition, Offset::Beginning)
            .expect("a valid partition");
    }
    consumer.assign(&assignment).expect("assign");

    let mut received = Vec::new();
    let deadline = Instant::now() + TIMEOUT;
    while received.len() < sent.len() {
        assert!(
            Instant::now() < deadline,
            "read back {} of {} messages within {TIMEOUT:?}",
            received.len(),
            sent.len()
        );
        let Some(message) = consumer.poll(Duration::from_millis(500)) else {
            continue;
        };
        let message = message.expect("the mock cluster serves the records");
        let text =
            |bytes: Option<&[u8]>| String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned();
        let headers = message
            .headers()
            .map(|headers| {
                headers
                    .iter()
                    .map(|h| (h.key.to_string(), text(h.value)))
                    .collect()
            })
            .unwrap_or_default();
        received.push((
            Sent {
                key: text(message.key()),
                value: text(message.payload()),
                headers,
            },
            (message.partition(), message.offset()),
        ));
    }
    received.sort_by_key(|(message, _)| message.key[1..].parse::<usize>().unwrap_or(usize::MAX));
    let messages: Vec<Sent> = received.iter().map(|(m, _)| m.clone()).collect();
    assert_eq!(
        messages, sent,
        "what was read back is what was sent, once each"
    );
    for (message, position) in &received {
        assert_eq!(
            deliveries.get(&message.key),
            Some(position),
            "{}: served where its delivery report said",
            message.key
        );
    }
}

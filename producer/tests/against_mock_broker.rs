//! The producer and the mock broker together, over loopback TCP, in both protocols.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use mock_broker::{BrokerConfig, MockBroker};
use producer::frame::Status;
use producer::key_hash::partition_for_key;
use producer::{Acks, Config, Error, Producer, Protocol, Record};

const BOTH: [Protocol; 2] = [Protocol::Frame, Protocol::Kafka];

async fn broker_with(partitions: u32) -> MockBroker {
    let mut config = BrokerConfig::ephemeral();
    config.partitions = partitions;
    MockBroker::start(config).await.expect("broker starts")
}

fn config(broker: &MockBroker, topic: &str, protocol: Protocol) -> Config {
    let mut config = Config::new(broker.local_addr().to_string(), topic);
    config.protocol = protocol;
    config
}

async fn producer_for(broker: &MockBroker, topic: &str, protocol: Protocol) -> Producer {
    Producer::new(config(broker, topic, protocol))
        .await
        .expect("producer connects")
}

fn value_of(r: &mock_broker::StoredRecord) -> String {
    String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap()
}

#[tokio::test]
async fn one_message_is_recorded_with_key_value_headers_and_client() {
    for protocol in BOTH {
        let broker = broker_with(1).await;
        let mut config = config(&broker, "demo", protocol);
        config.client_id = "test-client".into();
        let producer = Producer::new(config).await.unwrap();

        let record = Record::new("hello")
            .with_key("k1")
            .with_header("trace", "abc")
            .with_timestamp(1_700_000_000_000);
        let delivery = producer.send(record).await.unwrap().await.unwrap();
        assert_eq!(
            (delivery.partition, delivery.offset),
            (Some(0), Some(0)),
            "{protocol:?}"
        );
        assert_eq!(delivery.timestamp, 1_700_000_000_000);

        let stored = broker.store().read("demo", 0, 0, 10).unwrap();
        assert_eq!(stored.len(), 1, "{protocol:?}");
        let r = &stored[0];
        assert_eq!(value_of(r), "hello");
        assert_eq!(r.key.as_deref(), Some(&b"k1"[..]));
        assert_eq!(r.headers.len(), 1);
        assert_eq!(r.headers[0].key, "trace");
        assert_eq!(r.headers[0].value.as_deref(), Some(&b"abc"[..]));
        assert_eq!(r.timestamp, Some(1_700_000_000_000));
        assert_eq!(r.client.client_id.as_deref(), Some("test-client"));
        let expected = if protocol == Protocol::Kafka {
            "kafka"
        } else {
            "frame"
        };
        assert_eq!(r.client.protocol.name(), expected);
        producer.close().await;
        broker.shutdown().await;
    }
}

#[tokio::test]
async fn send_message_is_the_original_api() {
    for protocol in BOTH {
        let broker = broker_with(1).await;
        let producer = producer_for(&broker, "orders", protocol).await;
        assert_eq!(
            producer.send_message("first").await.unwrap().offset,
            Some(0)
        );
        assert_eq!(
            producer.send_message("second").await.unwrap().offset,
            Some(1)
        );
        let values: Vec<_> = broker
            .store()
            .read_all("orders")
            .unwrap()
            .iter()
            .map(value_of)
            .collect();
        assert_eq!(values, vec!["first", "second"], "{protocol:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_from_sixteen_tasks_are_recorded_once_with_dense_offsets() {
    const TASKS: usize = 16;
    const PER_TASK: usize = 625;
    for protocol in BOTH {
        let broker = broker_with(4).await;
        let mut config = config(&broker, "load", protocol);
        config.keyless_partitioner = producer::partitioner::KeylessStrategy::RoundRobin;
        let producer = Producer::new(config).await.unwrap();

        let mut tasks = tokio::task::JoinSet::new();
        for task in 0..TASKS {
            let producer = producer.clone();
            tasks.spawn(async move {
                // One task, many records in flight: enqueue all, then await the deliveries.
                let mut pending = Vec::new();
                for i in 0..PER_TASK {
                    let value = format!("task-{task}-msg-{i}");
                    pending.push((
                        value.clone(),
                        producer.send(Record::new(value)).await.unwrap(),
                    ));
                }
                let mut acked = Vec::new();
                for (value, delivery) in pending {
                    let delivery = delivery.await.unwrap();
                    acked.push((value, delivery.partition.unwrap(), delivery.offset.unwrap()));
                }
                acked
            });
        }
        let mut acked = Vec::new();
        while let Some(result) = tasks.join_next().await {
            acked.extend(result.unwrap());
        }
        assert_eq!(acked.len(), TASKS * PER_TASK);

        let stored = broker.store().read_all("load").unwrap();
        assert_eq!(
            stored.len(),
            TASKS * PER_TASK,
            "{protocol:?}: every message recorded exactly once"
        );
        let distinct: HashSet<_> = stored.iter().map(value_of).collect();
        assert_eq!(
            distinct.len(),
            TASKS * PER_TASK,
            "{protocol:?}: no duplicates"
        );
        let mut by_partition: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
        for r in &stored {
            by_partition.entry(r.partition).or_default().push(r.offset);
        }
        assert_eq!(by_partition.len(), 4, "{protocol:?}: every partition used");
        for (partition, offsets) in by_partition {
            let expected: Vec<i64> = (0..offsets.len() as i64).collect();
            assert_eq!(
                offsets, expected,
                "{protocol:?}: offsets of partition {partition} are dense from 0"
            );
        }
        for (value, partition, offset) in acked {
            let at = broker.store().read("load", partition, offset, 1).unwrap();
            assert_eq!(
                value_of(&at[0]),
                value,
                "{protocol:?}: delivery report matches the store"
            );
        }
        let metrics = producer.metrics();
        assert_eq!(metrics.records_sent, (TASKS * PER_TASK) as u64);
        assert!(
            metrics.records_per_request() > 1.0,
            "{protocol:?}: records were batched: {metrics:?}"
        );
    }
}

/// A plain producer (no idempotence) with several requests in flight keeps
/// each partition's order when nothing fails: its requests are written in
/// the order their batches were dispatched, though separate tasks send them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_producer_with_requests_in_flight_keeps_send_order_per_partition() {
    const RECORDS: usize = 20_000;
    for protocol in BOTH {
        let broker = broker_with(2).await;
        let mut config = config(&broker, "ordered", protocol);
        config.idempotent = Some(false);
        config.acks = Acks::Leader;
        config.max_in_flight = 5;
        // Small batches, sent at once: many requests, several in flight together.
        config.batch_size = 2048;
        config.linger = Duration::ZERO;
        let producer = Producer::new(config).await.unwrap();
        let mut pending = Vec::with_capacity(RECORDS);
        for i in 0..RECORDS {
            let record = Record::new(format!("{i:06}")).with_partition((i % 2) as u32);
            pending.push(producer.send(record).await.unwrap());
        }
        for delivery in pending {
            delivery.await.unwrap();
        }
        for partition in 0..2 {
            let stored: Vec<String> = broker
                .store()
                .read("ordered", partition, 0, RECORDS)
                .unwrap()
                .iter()
                .map(value_of)
                .collect();
            let sent: Vec<String> = (0..RECORDS)
                .filter(|i| i % 2 == partition as usize)
                .map(|i| format!("{i:06}"))
                .collect();
            assert!(
                stored == sent,
                "{protocol:?}: partition {partition} stored {} records, first out of order at {:?}",
                stored.len(),
                stored.iter().zip(&sent).position(|(a, b)| a != b)
            );
        }
        producer.close().await;
    }
}

/// Several full batches of one partition drained at once go in separate
/// requests: a request carries one batch per partition, or the answer's
/// offsets could not be told apart (and a Kafka broker keeps one entry per
/// partition of a request).
#[tokio::test]
async fn full_batches_of_one_partition_drained_together_report_their_own_offsets() {
    for protocol in BOTH {
        let broker = broker_with(1).await;
        let mut config = config(&broker, "full", protocol);
        config.batch_size = 1024;
        // Nothing is sent by age: the batches fill, and flush drains them together.
        config.linger = Duration::from_secs(60);
        config.delivery_timeout = Duration::from_secs(300);
        let producer = Producer::new(config).await.unwrap();
        let mut pending = Vec::new();
        for i in 0..200 {
            let value = format!("{i:04}-{}", "x".repeat(95));
            pending.push((
                value.clone(),
                producer.send(Record::new(value)).await.unwrap(),
            ));
        }
        producer.flush().await;
        for (value, delivery) in pending {
            let delivery = delivery.await.unwrap();
            let (partition, offset) = (delivery.partition.unwrap(), delivery.offset.unwrap());
            let at = broker.store().read("full", partition, offset, 1).unwrap();
            assert_eq!(value_of(&at[0]), value, "{protocol:?}: offset {offset}");
        }
        assert!(
            producer.metrics().requests >= 20,
            "{protocol:?}: {:?}",
            producer.metrics()
        );
        producer.close().await;
    }
}

#[tokio::test]
async fn keyed_messages_land_where_fnv1a_says() {
    for protocol in BOTH {
        let broker = broker_with(7).await;
        let producer = producer_for(&broker, "keyed", protocol).await;
        for i in 0..200 {
            let key = format!("user-{i}");
            let delivery = producer
                .send(Record::new("v").with_key(key.clone()))
                .await
                .unwrap()
                .await
                .unwrap();
            assert_eq!(
                delivery.partition,
                Some(partition_for_key(key.as_bytes(), 7)),
                "{protocol:?} {key}"
            );
        }
        for r in broker.store().read_all("keyed").unwrap() {
            assert_eq!(r.partition, partition_for_key(&r.key.unwrap(), 7));
        }
    }
}

#[tokio::test]
async fn an_explicit_partition_wins_over_the_key_and_a_missing_one_is_refused() {
    for protocol in BOTH {
        let broker = broker_with(3).await;
        let producer = producer_for(&broker, "explicit", protocol).await;
        let record = Record::new("v").with_key("k").with_partition(2);
        let delivery = producer.send(record).await.unwrap().await.unwrap();
        assert_eq!(delivery.partition, Some(2));
        let err = match producer.send(Record::new("v").with_partition(3)).await {
            Ok(delivery) => delivery.await.unwrap_err(),
            Err(e) => e,
        };
        assert!(
            err.to_string().contains("no partition 3"),
            "{protocol:?}: {err}"
        );
    }
}

#[tokio::test]
async fn acks_zero_sends_complete_without_offsets_and_are_recorded() {
    for protocol in BOTH {
        let broker = broker_with(2).await;
        let mut config = config(&broker, "fire", protocol);
        config.acks = Acks::None;
        let producer = Producer::new(config).await.unwrap();
        for i in 0..100 {
            let delivery = producer
                .send(Record::new(format!("m{i}")))
                .await
                .unwrap()
                .await
                .unwrap();
            // As in the Java client: the partition is known when this producer chose it.
            match protocol {
                Protocol::Kafka => assert!(delivery.partition.is_some_and(|p| p < 2)),
                Protocol::Frame => assert_eq!(delivery.partition, None),
            }
            assert_eq!(delivery.offset, None, "{protocol:?}");
        }
        producer.close().await;
        // No acknowledgement exists to wait for: poll the store with a generous deadline.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while broker.store().record_count() < 100 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{protocol:?}: acks=0 messages not recorded"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(broker.store().record_count(), 100);
    }
}

#[tokio::test]
async fn a_message_over_the_brokers_limit_is_refused_by_name() {
    for protocol in BOTH {
        let mut broker_config = BrokerConfig::ephemeral();
        broker_config.max_message_bytes = 1000;
        let broker = MockBroker::start(broker_config).await.unwrap();
        let producer = producer_for(&broker, "limits", protocol).await;
        let err = producer
            .send(Record::new(vec![0u8; 2000]))
            .await
            .unwrap()
            .await
            .unwrap_err();
        match protocol {
            Protocol::Frame => assert!(
                matches!(&err, Error::Broker { status: Status::MessageTooLarge, message } if message.contains("max_message_bytes is 1000")),
                "{err}"
            ),
            Protocol::Kafka => assert!(
                matches!(&err, Error::Kafka { code: 10, name, .. } if name == "MESSAGE_TOO_LARGE"),
                "{err}"
            ),
        }
        let ok = producer
            .send(Record::new(vec![0u8; 500]))
            .await
            .unwrap()
            .await
            .unwrap();
        assert_eq!(
            ok.offset,
            Some(0),
            "{protocol:?}: nothing of the refused message was recorded"
        );
    }
}

#[tokio::test]
async fn a_message_over_the_producers_limit_is_refused_before_sending() {
    for protocol in BOTH {
        let broker = broker_with(1).await;
        let mut config = config(&broker, "limits", protocol);
        config.max_message_bytes = 100;
        let producer = Producer::new(config).await.unwrap();
        let err = producer
            .send(Record::new(vec![0u8; 200]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::MessageTooLarge { limit: 100, .. }),
            "{err}"
        );
        assert_eq!(broker.store().record_count(), 0);
    }
}

#[tokio::test]
async fn a_frame_over_the_brokers_limit_is_refused_and_the_connection_replaced() {
    let mut broker_config = BrokerConfig::ephemeral();
    broker_config.max_frame_bytes = 64 * 1024;
    let broker = MockBroker::start(broker_config).await.unwrap();
    let producer = producer_for(&broker, "limits", Protocol::Frame).await;
    let err = producer
        .send(Record::new(vec![0u8; 100 * 1024]))
        .await
        .unwrap()
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(Status::FrameTooLarge), "{err}");
    assert!(
        err.to_string().contains("65536"),
        "the limit is named: {err}"
    );
    // The broker closed that connection; the next send reconnects.
    producer.send_message("after").await.unwrap();
    assert_eq!(broker.store().record_count(), 1);
}

#[tokio::test]
async fn an_invalid_topic_is_refused_by_name() {
    for protocol in BOTH {
        let broker = broker_with(1).await;
        let producer = producer_for(&broker, "ok", protocol).await;
        let err = match producer
            .send(Record::new("v").with_topic("no spaces allowed"))
            .await
        {
            Ok(delivery) => delivery.await.unwrap_err(),
            Err(e) => e,
        };
        match protocol {
            Protocol::Frame => assert_eq!(err.status(), Some(Status::InvalidTopicName), "{err}"),
            Protocol::Kafka => assert!(matches!(err, Error::Kafka { code: 17, .. }), "{err}"),
        }
    }
}

#[tokio::test]
async fn sends_after_close_fail_with_closed_and_close_delivers_what_was_enqueued() {
    for protocol in BOTH {
        let broker = broker_with(1).await;
        let producer = producer_for(&broker, "t", protocol).await;
        let pending = producer.send(Record::new("enqueued")).await.unwrap();
        let clone = producer.clone();
        producer.close().await;
        assert_eq!(pending.await.unwrap().offset, Some(0), "{protocol:?}");
        assert!(matches!(
            clone.send_message("late").await,
            Err(Error::Closed)
        ));
    }
}

#[tokio::test]
async fn flush_sends_without_waiting_for_linger_and_waits_for_every_record() {
    for protocol in BOTH {
        let broker = broker_with(1).await;
        let mut config = config(&broker, "flush", protocol);
        config.linger = Duration::from_secs(60);
        config.delivery_timeout = Duration::from_secs(300);
        config.delivery_timeout = Duration::from_secs(7200);
        let producer = Producer::new(config).await.unwrap();
        let mut deliveries = Vec::new();
        for i in 0..500 {
            deliveries.push(producer.send(Record::new(format!("{i}"))).await.unwrap());
        }
        producer.flush().await;
        assert_eq!(broker.store().record_count(), 500, "{protocol:?}");
        for delivery in deliveries {
            delivery.await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_full_buffer_makes_try_send_fail_and_send_wait() {
    for protocol in BOTH {
        let broker = broker_with(1).await;
        let mut config = config(&broker, "buffer", protocol);
        config.buffer_memory = 2000;
        config.linger = Duration::from_secs(60);
        config.delivery_timeout = Duration::from_secs(300);
        config.delivery_timeout = Duration::from_secs(7200);
        let producer = Producer::new(config).await.unwrap();
        let first = producer
            .try_send(Record::new(vec![1u8; 1500]))
            .await
            .unwrap();
        let err = producer
            .try_send(Record::new(vec![2u8; 1500]))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::BufferFull { limit: 2000, .. }),
            "{err}"
        );
        assert!(producer.metrics().buffer_used >= 1500);
        // `send` waits for the space the first record frees once it is delivered.
        let second = tokio::spawn({
            let producer = producer.clone();
            async move {
                producer
                    .send(Record::new(vec![3u8; 1500]))
                    .await
                    .unwrap()
                    .await
            }
        });
        producer.flush().await;
        first.await.unwrap();
        producer.flush().await;
        second.await.unwrap().unwrap();
        assert_eq!(broker.store().record_count(), 2, "{protocol:?}");
    }
}

#[tokio::test]
async fn a_broker_restart_is_survived_by_reconnecting() {
    for protocol in BOTH {
        let broker = broker_with(1).await;
        let address = broker.local_addr();
        let mut config = config(&broker, "t", protocol);
        config.retry_backoff = Duration::from_millis(20);
        config.retry_backoff_max = Duration::from_millis(100);
        let producer = Producer::new(config).await.unwrap();
        producer.send_message("before").await.unwrap();
        broker.shutdown().await;
        let mut again = BrokerConfig::ephemeral();
        again.listen = address;
        let broker = MockBroker::start(again).await.unwrap();
        producer.send_message("after").await.unwrap();
        let values: Vec<_> = broker
            .store()
            .read_all("t")
            .unwrap()
            .iter()
            .map(value_of)
            .collect();
        assert_eq!(values, vec!["after"], "{protocol:?}");
    }
}

#[tokio::test]
async fn connecting_to_a_closed_port_names_the_address() {
    for protocol in BOTH {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap().to_string();
        drop(listener);
        let mut config = Config::new(address.clone(), "t");
        config.protocol = protocol;
        let err = Producer::new(config).await.unwrap_err();
        assert!(matches!(err, Error::Connect { .. }), "{err}");
        assert!(err.to_string().contains(&address), "{err}");
    }
}

#[tokio::test]
async fn every_compression_codec_arrives_intact() {
    use producer::kafka::batch_builder::Compression;
    for compression in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let broker = broker_with(2).await;
        let mut config = config(&broker, "codec", Protocol::Kafka);
        config.compression = compression;
        let producer = Producer::new(config).await.unwrap();
        let mut deliveries = Vec::new();
        for i in 0..300 {
            let record = Record::new(format!("value {i} {}", "x".repeat(i % 50)))
                .with_key(format!("k{i}"))
                .with_header("i", i.to_string());
            deliveries.push(producer.send(record).await.unwrap());
        }
        for delivery in deliveries {
            delivery.await.unwrap();
        }
        let stored = broker.store().read_all("codec").unwrap();
        assert_eq!(stored.len(), 300, "{compression}");
        for r in &stored {
            let i: usize = String::from_utf8(r.headers[0].value.clone().unwrap().to_vec())
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(
                value_of(r),
                format!("value {i} {}", "x".repeat(i % 50)),
                "{compression}"
            );
            assert_eq!(
                r.key.as_deref(),
                Some(format!("k{i}").as_bytes()),
                "{compression}"
            );
        }
    }
}

#[tokio::test]
async fn dropping_the_producer_without_close_fails_what_is_unsent_and_does_not_hang() {
    for protocol in BOTH {
        let broker = broker_with(1).await;
        let mut config = config(&broker, "dropped", protocol);
        config.linger = Duration::from_secs(60);
        config.delivery_timeout = Duration::from_secs(300);
        config.delivery_timeout = Duration::from_secs(7200);
        let producer = Producer::new(config).await.unwrap();
        let pending = producer.send(Record::new("never sent")).await.unwrap();
        drop(producer);
        let outcome = tokio::time::timeout(Duration::from_secs(30), pending)
            .await
            .expect("the delivery future resolves once the producer is gone");
        assert!(
            matches!(outcome, Err(Error::Closed)),
            "{protocol:?}: {outcome:?}"
        );
    }
}

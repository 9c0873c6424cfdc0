//! The producer and the mock broker together, over loopback TCP.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use mock_broker::{BrokerConfig, MockBroker};
use producer::frame::Status;
use producer::key_hash::partition_for_key;
use producer::{Acks, Config, Error, Producer, Record};

async fn broker_with(partitions: u32) -> MockBroker {
    let mut config = BrokerConfig::ephemeral();
    config.partitions = partitions;
    MockBroker::start(config).await.expect("broker starts")
}

async fn producer_for(broker: &MockBroker, topic: &str) -> Producer {
    let config = Config::new(broker.local_addr().to_string(), topic);
    Producer::new(config).await.expect("producer connects")
}

#[tokio::test]
async fn one_message_is_recorded_with_key_value_headers_and_client() {
    let broker = broker_with(1).await;
    let mut config = Config::new(broker.local_addr().to_string(), "demo");
    config.client_id = "test-client".into();
    let producer = Producer::new(config).await.unwrap();

    let record = Record::new("hello")
        .with_key("k1")
        .with_header("trace", "abc")
        .with_timestamp(1_700_000_000_000);
    let delivery = producer.send(record).await.unwrap();
    assert_eq!((delivery.partition, delivery.offset), (Some(0), Some(0)));

    let stored = broker.store().read("demo", 0, 0, 10).unwrap();
    assert_eq!(stored.len(), 1);
    let r = &stored[0];
    assert_eq!(r.value.as_deref(), Some(&b"hello"[..]));
    assert_eq!(r.key.as_deref(), Some(&b"k1"[..]));
    assert_eq!(r.headers.len(), 1);
    assert_eq!(r.headers[0].key, "trace");
    assert_eq!(r.headers[0].value.as_deref(), Some(&b"abc"[..]));
    assert_eq!(r.timestamp, Some(1_700_000_000_000));
    assert!(r.receive_time > 1_700_000_000_000);
    assert_eq!(r.client.client_id.as_deref(), Some("test-client"));
    assert_eq!(r.client.protocol.name(), "frame");
    assert!(r.client.address.ip().is_loopback());
    producer.close().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn send_message_is_the_original_api() {
    let broker = broker_with(1).await;
    let producer = producer_for(&broker, "orders").await;
    let delivery = producer.send_message("first").await.unwrap();
    assert_eq!(delivery.offset, Some(0));
    let delivery = producer.send_message("second").await.unwrap();
    assert_eq!(delivery.offset, Some(1));
    let values: Vec<_> = broker
        .store()
        .read_all("orders")
        .unwrap()
        .into_iter()
        .map(|r| r.value.unwrap())
        .collect();
    assert_eq!(values, vec!["first", "second"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_messages_from_sixteen_tasks_are_recorded_once_with_dense_offsets() {
    const TASKS: usize = 16;
    const PER_TASK: usize = 625;
    let broker = broker_with(4).await;
    let producer = producer_for(&broker, "load").await;

    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let producer = producer.clone();
        tasks.spawn(async move {
            // Each task keeps many sends in flight on the shared connection.
            let mut sends = tokio::task::JoinSet::new();
            for i in 0..PER_TASK {
                let producer = producer.clone();
                sends.spawn(async move {
                    let value = format!("task-{task}-msg-{i}");
                    let delivery = producer.send(Record::new(value.clone())).await.unwrap();
                    (value, delivery.partition.unwrap(), delivery.offset.unwrap())
                });
            }
            let mut acked = Vec::new();
            while let Some(result) = sends.join_next().await {
                acked.push(result.unwrap());
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
        "every message recorded exactly once"
    );
    let distinct: HashSet<_> = stored.iter().map(|r| r.value.clone()).collect();
    assert_eq!(distinct.len(), TASKS * PER_TASK, "no duplicates");

    let mut by_partition: BTreeMap<u32, Vec<i64>> = BTreeMap::new();
    for r in &stored {
        by_partition.entry(r.partition).or_default().push(r.offset);
    }
    assert_eq!(by_partition.len(), 4, "round-robin uses every partition");
    for (partition, offsets) in by_partition {
        let expected: Vec<i64> = (0..offsets.len() as i64).collect();
        assert_eq!(
            offsets, expected,
            "offsets of partition {partition} are dense from 0"
        );
    }
    // What each send was told matches what the broker holds.
    for (value, partition, offset) in acked {
        let at = broker.store().read("load", partition, offset, 1).unwrap();
        assert_eq!(at[0].value.as_deref(), Some(value.as_bytes()));
    }
}

#[tokio::test]
async fn keyed_messages_land_where_fnv1a_says() {
    let broker = broker_with(7).await;
    let producer = producer_for(&broker, "keyed").await;
    for i in 0..200 {
        let key = format!("user-{i}");
        let delivery = producer
            .send(Record::new("v").with_key(key.clone()))
            .await
            .unwrap();
        assert_eq!(
            delivery.partition,
            Some(partition_for_key(key.as_bytes(), 7)),
            "{key}"
        );
    }
    for r in broker.store().read_all("keyed").unwrap() {
        let key = r.key.unwrap();
        assert_eq!(r.partition, partition_for_key(&key, 7));
    }
}

#[tokio::test]
async fn an_explicit_partition_wins_over_the_key() {
    let broker = broker_with(3).await;
    let producer = producer_for(&broker, "explicit").await;
    let delivery = producer
        .send(Record::new("v").with_key("k").with_partition(2))
        .await
        .unwrap();
    assert_eq!(delivery.partition, Some(2));
    let err = producer
        .send(Record::new("v").with_partition(3))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(Status::UnknownTopicOrPartition), "{err}");
    assert!(err.to_string().contains("no partition 3"), "{err}");
}

#[tokio::test]
async fn acks_zero_sends_complete_without_a_response_and_are_recorded() {
    let broker = broker_with(2).await;
    let mut config = Config::new(broker.local_addr().to_string(), "fire");
    config.acks = Acks::None;
    let producer = Producer::new(config).await.unwrap();
    for i in 0..100 {
        let delivery = producer.send(Record::new(format!("m{i}"))).await.unwrap();
        assert_eq!((delivery.partition, delivery.offset), (None, None));
    }
    producer.close().await;
    // No acknowledgement exists to wait for: poll the store with a generous deadline.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while broker.store().record_count() < 100 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "acks=0 messages not recorded"
        );
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(broker.store().record_count(), 100);
}

#[tokio::test]
async fn a_message_over_the_brokers_limit_is_refused_and_the_connection_stays_usable() {
    let mut broker_config = BrokerConfig::ephemeral();
    broker_config.max_message_bytes = 1000;
    let broker = MockBroker::start(broker_config).await.unwrap();
    let producer = producer_for(&broker, "limits").await;

    let err = producer
        .send(Record::new(vec![0u8; 2000]))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Broker { status: Status::MessageTooLarge, message } if message.contains("max_message_bytes is 1000")),
        "{err}"
    );
    assert!(err.to_string().contains("MESSAGE_TOO_LARGE (5)"), "{err}");
    let ok = producer.send(Record::new(vec![0u8; 500])).await.unwrap();
    assert_eq!(
        ok.offset,
        Some(0),
        "nothing of the refused message was recorded"
    );
}

#[tokio::test]
async fn a_message_over_the_producers_limit_is_refused_before_sending() {
    let broker = broker_with(1).await;
    let mut config = Config::new(broker.local_addr().to_string(), "limits");
    config.max_message_bytes = 100;
    let producer = Producer::new(config).await.unwrap();
    let err = producer
        .send(Record::new(vec![0u8; 200]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::MessageTooLarge {
                size: 218,
                limit: 100
            }
        ),
        "{err}"
    );
    assert!(
        broker.store().topics().is_empty(),
        "nothing reached the broker"
    );
}

#[tokio::test]
async fn a_frame_over_the_brokers_limit_is_refused_and_the_connection_closed() {
    let mut broker_config = BrokerConfig::ephemeral();
    broker_config.max_frame_bytes = 64 * 1024;
    let broker = MockBroker::start(broker_config).await.unwrap();
    let producer = producer_for(&broker, "limits").await;

    let err = producer
        .send(Record::new(vec![0u8; 100 * 1024]))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(Status::FrameTooLarge), "{err}");
    assert!(
        err.to_string().contains("65536"),
        "the limit is named: {err}"
    );
    let err = producer.send(Record::new("after")).await.unwrap_err();
    assert!(matches!(err, Error::ConnectionClosed { .. }), "{err}");
    assert_eq!(broker.store().record_count(), 0);
}

#[tokio::test]
async fn an_invalid_topic_is_refused_by_name() {
    let broker = broker_with(1).await;
    let producer = producer_for(&broker, "ok").await;
    let err = producer
        .send(Record::new("v").with_topic("no spaces allowed"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(Status::InvalidTopicName), "{err}");
    assert!(err.to_string().contains("' '"), "{err}");
}

#[tokio::test]
async fn unknown_topic_is_refused_when_auto_creation_is_off() {
    let mut broker_config = BrokerConfig::ephemeral();
    broker_config.auto_create_topics = false;
    let broker = MockBroker::start(broker_config).await.unwrap();
    broker.store().create_topic("exists", 1);
    let producer = producer_for(&broker, "exists").await;
    producer.send_message("fine").await.unwrap();
    let err = producer
        .send(Record::new("v").with_topic("missing"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(Status::UnknownTopicOrPartition), "{err}");
}

#[tokio::test]
async fn sends_after_close_fail_with_closed() {
    let broker = broker_with(1).await;
    let producer = producer_for(&broker, "t").await;
    let clone = producer.clone();
    producer.close().await;
    assert!(matches!(
        clone.send_message("late").await,
        Err(Error::Closed)
    ));
}

#[tokio::test]
async fn flush_waits_for_sends_in_flight() {
    let broker = broker_with(1).await;
    let producer = producer_for(&broker, "flush").await;
    let sends: Vec<_> = (0..500)
        .map(|i| {
            let producer = producer.clone();
            tokio::spawn(async move { producer.send(Record::new(format!("{i}"))).await })
        })
        .collect();
    // On this single-threaded runtime one yield lets every spawned send start.
    tokio::task::yield_now().await;
    producer.flush().await;
    let unfinished = sends.iter().filter(|s| !s.is_finished()).count();
    assert_eq!(unfinished, 0, "flush returned while sends were in flight");
    assert_eq!(broker.store().record_count(), 500);
    for send in sends {
        send.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn broker_shutdown_fails_sends_with_connection_closed() {
    let broker = broker_with(1).await;
    let producer = producer_for(&broker, "t").await;
    producer.send_message("before").await.unwrap();
    let store = broker.store().clone();
    broker.shutdown().await;
    let err = producer.send_message("after").await.unwrap_err();
    assert!(matches!(err, Error::ConnectionClosed { .. }), "{err}");
    assert_eq!(store.record_count(), 1, "recordings survive shutdown");
}

#[tokio::test]
async fn connecting_to_a_closed_port_names_the_address() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    drop(listener);
    let err = Producer::new(Config::new(address.clone(), "t"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err}");
    assert!(err.to_string().contains(&address), "{err}");
}

//! Fetch serves the RecordBatches a producer sent, as Kafka does: each batch whole, with the codec
//! it was produced with and the base offset the broker assigned it; a fetch from inside a batch
//! returns that whole batch; `max_bytes` and `partition_max_bytes` as KIP-74 (at least one whole
//! batch in the first non-empty partition, then only whole batches within the budget); a waiting
//! fetch returns the data that arrives while it waits.
//!
//! Requests go over real TCP, encoded with the `kafka-protocol` crate; the fetched record sets are
//! split into batches here, from their headers, so that boundaries and codecs are checked on the
//! bytes the broker sent. Producers and the consumer are librdkafka (the `rdkafka` crate).

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::fetch_request::FetchRequest;
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::{FetchResponse, ProduceRequest};
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use mock_broker::{BrokerConfig, MockBroker};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

use crate::kafka_protocol::{KafkaClient, name, outcome, produce};
use crate::rdkafka_client::future_producer;
use crate::real_clients::{Sent, sent_messages};
use crate::served_batches::{FetchedBatch, batches, fetch_request, layout};

/// Long enough for a loaded 2-core machine; a healthy run takes milliseconds.
const TIMEOUT: Duration = Duration::from_secs(60);
/// The highest Fetch version the broker serves (docs/kafka-protocol.md).
const FETCH_VERSION: i16 = 12;
/// The Produce version the raw requests use.
const PRODUCE_VERSION: i16 = 9;
/// A fetch limit larger than anything these tests produce.
const LARGE: i32 = 64 << 20;

// ---------------------------------------------------------------------------------------------

/// A record's key, value and headers as text, to compare with what was sent.
fn as_sent(record: &Record) -> Sent {
    let text = |bytes: &Option<Bytes>| {
        bytes.as_ref().map_or_else(
            || "<null>".to_string(),
            |b| String::from_utf8_lossy(b).into_owned(),
        )
    };
    Sent {
        key: text(&record.key),
        value: text(&record.value),
        headers: record
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), text(v)))
            .collect(),
    }
}

// ---------------------------------------------------------------------------------------------
// Raw requests.

async fn broker(partitions: u32) -> MockBroker {
    let mut config = BrokerConfig::ephemeral();
    config.partitions = partitions;
    MockBroker::start(config).await.expect("the broker starts")
}

/// The batches of each requested partition, in request order.
///
/// # Panics
/// If the response does not answer exactly the one topic and its partitions, or a partition has
/// an error.
fn fetched(response: &FetchResponse, partitions: &[(i32, i64)]) -> Vec<Vec<FetchedBatch>> {
    assert_eq!(response.error_code, 0, "the Fetch response has no error");
    assert_eq!(
        response.responses.len(),
        1,
        "the Fetch answers the one topic"
    );
    let answered = &response.responses[0].partitions;
    assert_eq!(
        answered
            .iter()
            .map(|p| p.partition_index)
            .collect::<Vec<_>>(),
        partitions.iter().map(|p| p.0).collect::<Vec<_>>(),
        "the Fetch answers the requested partitions"
    );
    answered
        .iter()
        .map(|p| {
            assert_eq!(
                p.error_code, 0,
                "partition {}: no error in the Fetch response",
                p.partition_index
            );
            batches(&p.records)
        })
        .collect()
}

/// Fetches one partition from `offset` without waiting.
async fn fetch_partition(
    client: &mut KafkaClient,
    topic: &str,
    offset: i64,
    max_bytes: i32,
    partition_max_bytes: i32,
) -> Vec<FetchedBatch> {
    let partitions = [(0, offset)];
    let request = fetch_request(topic, &partitions, max_bytes, partition_max_bytes, 0);
    let response = client.call(FETCH_VERSION, &request).await;
    fetched(&response, &partitions)
        .pop()
        .expect("one partition answered")
}

/// One batch of records with these keys and values, by `kafka-protocol`'s encoder, without a
/// producer id.
pub(crate) fn encode_batch(entries: &[(String, String)], compression: Compression) -> Bytes {
    let records: Vec<Record> = entries
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch whenever offset − sequence changes:
            // −1, 0, 1, … keeps one batch with base sequence −1.
            sequence: i as i32 - 1,
            timestamp: 1_700_000_000_000,
            key: Some(Bytes::from(key.clone())),
            value: Some(Bytes::from(value.clone())),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).expect("the batch encodes");
    buf.freeze()
}

/// `count` (key, value) pairs `{prefix}-{i}` / `value-{prefix}-{i}` padded to `value_len` bytes.
pub(crate) fn entries(prefix: &str, count: usize, value_len: usize) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            let mut value = format!("value-{prefix}-{i}-");
            while value.len() < value_len {
                value.push('x');
            }
            (format!("{prefix}-{i}"), value)
        })
        .collect()
}

/// Produces one batch to partition `partition` with acks=1 and returns its base offset.
async fn produce_batch(client: &mut KafkaClient, topic: &str, partition: i32, batch: Bytes) -> i64 {
    let request: ProduceRequest = produce(topic, partition, batch, 1);
    let response = client.call(PRODUCE_VERSION, &request).await;
    let (error, base_offset) = outcome(&response);
    assert_eq!(
        error, 0,
        "the broker accepts the batch for {topic}-{partition}"
    );
    base_offset
}

// ---------------------------------------------------------------------------------------------
// librdkafka.

/// Enqueues every message, then awaits each delivery report; returns the offsets delivered.
///
/// # Panics
/// If a message cannot be enqueued or is not delivered, naming its key and the error.
async fn deliver(producer: &FutureProducer, topic: &str, messages: &[Sent]) -> Vec<i64> {
    let pending: Vec<_> = messages
        .iter()
        .map(|message| {
            let headers = message
                .headers
                .iter()
                .fold(OwnedHeaders::new(), |h, (k, v)| {
                    h.insert(Header {
                        key: k,
                        value: Some(v.as_str()),
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
    let mut offsets = Vec::new();
    for (key, delivery) in pending {
        // librdkafka reports every message within message.timeout.ms, delivered or not.
        match tokio::time::timeout(TIMEOUT * 2, delivery).await {
            Ok(Ok(Ok(delivery))) => offsets.push(delivery.offset),
            Ok(Ok(Err((e, _)))) => panic!("{key}: not delivered: {e}"),
            Ok(Err(_)) => panic!("{key}: the producer dropped the delivery report"),
            Err(_) => panic!("{key}: no delivery report within {:?}", TIMEOUT * 2),
        }
    }
    offsets
}

/// Sends every message with the workspace's own producer (`compression`, batches of at most
/// `batch_size` bytes, linger 50 ms), then awaits each delivery; returns the offsets delivered.
///
/// # Panics
/// If a message cannot be enqueued or is not delivered, naming its key and the error.
async fn deliver_with_own_producer(
    bootstrap: &str,
    topic: &str,
    messages: &[Sent],
    compression: producer::Compression,
    batch_size: usize,
) -> Vec<i64> {
    let mut config = producer::Config::new(bootstrap, topic);
    config.compression = compression;
    config.batch_size = batch_size;
    config.linger = Duration::from_millis(50);
    let producer = tokio::time::timeout(TIMEOUT, producer::Producer::new(config))
        .await
        .expect("the workspace producer starts in time")
        .expect("the workspace producer connects");
    let mut pending = Vec::new();
    for message in messages {
        let record = message.headers.iter().fold(
            producer::Record::new(message.value.clone()).with_key(message.key.clone()),
            |record, (k, v)| record.with_header(k.clone(), v.clone()),
        );
        let delivery = producer
            .send(record)
            .await
            .unwrap_or_else(|e| panic!("{}: cannot enqueue: {e}", message.key));
        pending.push((message.key.clone(), delivery));
    }
    let mut offsets = Vec::new();
    for (key, delivery) in pending {
        match tokio::time::timeout(TIMEOUT * 2, delivery).await {
            Ok(Ok(delivery)) => offsets.push(delivery.offset.expect("acks=all reports an offset")),
            Ok(Err(e)) => panic!("{key}: not delivered: {e}"),
            Err(_) => panic!("{key}: no delivery report within {:?}", TIMEOUT * 2),
        }
    }
    producer.close().await;
    offsets
}

// ---------------------------------------------------------------------------------------------
// The specification.

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_serves_each_compressed_batch_with_the_codec_it_was_produced_with() {
    let broker = broker(1).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    const COUNT: usize = 50;
    const PER_BATCH: usize = 20;
    // librdkafka as the `rdkafka` crate builds it here has no zstd ("libzstd not available at
    // build time"): zstd batches come from the workspace's own producer instead.
    for (codec_name, codec) in [("gzip", 1), ("snappy", 2), ("lz4", 3), ("zstd", 4)] {
        let topic = format!("compressed-{codec_name}");
        let sent = sent_messages(codec_name, COUNT);
        let offsets = if codec_name == "zstd" {
            // About 150 bytes a record: batches of about 10 records.
            deliver_with_own_producer(
                &broker.bootstrap_servers(),
                &topic,
                &sent,
                producer::Compression::Zstd,
                1500,
            )
            .await
        } else {
            let producer = future_producer(
                &broker.bootstrap_servers(),
                &[
                    ("compression.codec", codec_name),
                    ("linger.ms", "1000"),
                    ("batch.num.messages", &PER_BATCH.to_string()),
                ],
            );
            deliver(&producer, &topic, &sent).await
        };
        assert_eq!(
            offsets,
            (0..COUNT as i64).collect::<Vec<_>>(),
            "{codec_name}: the messages delivered at offsets 0..{COUNT}, in order"
        );

        let served = fetch_partition(&mut client, &topic, 0, LARGE, LARGE).await;
        let layout = layout(&served);
        let mut next = 0;
        for batch in &served {
            assert_eq!(
                batch.codec, codec,
                "{codec_name}: the batch with base offset {} served with codec {codec} \
                 ({codec_name}), as it was produced",
                batch.base_offset
            );
            assert_eq!(
                batch.base_offset, next,
                "{codec_name}: each batch's base offset = the previous base + its record count; \
                 batches {layout:?}"
            );
            assert!(
                batch.record_count as usize <= PER_BATCH,
                "{codec_name}: batches as the producer sent them, at most {PER_BATCH} records: \
                 {layout:?}"
            );
            for (i, record) in batch.records.iter().enumerate() {
                assert_eq!(
                    record.offset,
                    batch.base_offset + i as i64,
                    "{codec_name}: record {i} of the batch at {} has offset base + {i}",
                    batch.base_offset
                );
            }
            next = batch.base_offset + i64::from(batch.record_count);
        }
        assert_eq!(
            next, COUNT as i64,
            "{codec_name}: the batches tile offsets 0..{COUNT}: {layout:?}"
        );
        assert!(
            served.len() > 1 && served.iter().any(|b| b.record_count > 1),
            "{codec_name}: the {COUNT} messages served in the several multi-record batches \
             the producer sent (at most {PER_BATCH} each), not {layout:?}"
        );
        let received: Vec<Sent> = served
            .iter()
            .flat_map(|b| &b.records)
            .map(as_sent)
            .collect();
        assert_eq!(
            received, sent,
            "{codec_name}: the fetched records are the messages sent, in order, with their keys, \
             values and headers"
        );
    }
}

#[tokio::test]
async fn a_fetch_from_inside_a_batch_returns_the_whole_batch() {
    let broker = broker(1).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let topic = "inside-a-batch";
    let plain = entries("plain", 10, 40);
    let gzipped = entries("gzipped", 10, 40);
    assert_eq!(
        produce_batch(
            &mut client,
            topic,
            0,
            encode_batch(&plain, Compression::None)
        )
        .await,
        0,
        "the first batch gets base offset 0"
    );
    assert_eq!(
        produce_batch(
            &mut client,
            topic,
            0,
            encode_batch(&gzipped, Compression::Gzip)
        )
        .await,
        10,
        "the second batch gets base offset 10"
    );
    for (offset, base, codec, expected) in [(4, 0, 0, &plain), (15, 10, 1, &gzipped)] {
        let served = fetch_partition(&mut client, topic, offset, LARGE, LARGE).await;
        let first = served.first().unwrap_or_else(|| {
            panic!("a fetch from offset {offset} returns the batch that holds it, not nothing")
        });
        assert_eq!(
            (first.base_offset, first.record_count),
            (base, 10),
            "a fetch from offset {offset} starts with the whole batch holding it: base offset \
             {base}, 10 records; served {:?}",
            layout(&served)
        );
        assert_eq!(
            first.codec, codec,
            "a fetch from offset {offset} serves the batch with the codec it was produced with"
        );
        let pairs: Vec<(String, String)> = first
            .records
            .iter()
            .map(|r| {
                let sent = as_sent(r);
                (sent.key, sent.value)
            })
            .collect();
        assert_eq!(
            &pairs, expected,
            "a fetch from offset {offset}: the batch holds all 10 records produced, those before \
             {offset} included"
        );
    }
    let from_start = fetch_partition(&mut client, topic, 0, LARGE, LARGE).await;
    assert_eq!(
        layout(&from_start),
        vec![(0, 10), (10, 10)],
        "a fetch from 0 serves the two batches as produced: (base offset, records)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_rdkafka_consumer_reads_compressed_batches_from_the_middle() {
    let broker = broker(1).await;
    let topic = "consume-from-the-middle";
    const COUNT: usize = 30;
    const START: usize = 7;
    // lz4, not zstd: librdkafka as the `rdkafka` crate builds it here cannot decompress zstd.
    let sent = sent_messages("lz4", COUNT);
    let producer = future_producer(
        &broker.bootstrap_servers(),
        &[
            ("compression.codec", "lz4"),
            ("linger.ms", "1000"),
            ("batch.num.messages", "10"),
        ],
    );
    let offsets = deliver(&producer, topic, &sent).await;
    assert_eq!(
        offsets,
        (0..COUNT as i64).collect::<Vec<_>>(),
        "the messages delivered at offsets 0..{COUNT}, in order"
    );

    let bootstrap = broker.bootstrap_servers();
    let received = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "fetch-batches")
            .set("enable.auto.commit", "false")
            .create()
            .expect("the consumer configuration is valid");
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(topic, 0, Offset::Offset(START as i64))
            .expect("a valid partition");
        consumer.assign(&assignment).expect("assign");
        let mut received = Vec::new();
        let deadline = Instant::now() + TIMEOUT;
        while received.len() < COUNT - START {
            assert!(
                Instant::now() < deadline,
                "the consumer read {} of the {} messages from offset {START} within {TIMEOUT:?}: \
                 {:?}",
                received.len(),
                COUNT - START,
                received
            );
            let Some(message) = consumer.poll(Duration::from_millis(500)) else {
                continue;
            };
            let message = message.expect("the broker serves the records without error");
            let text = |bytes: Option<&[u8]>| {
                String::from_utf8_lossy(bytes.unwrap_or_default()).into_owned()
            };
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
                message.offset(),
                Sent {
                    key: text(message.key()),
                    value: text(message.payload()),
                    headers,
                },
            ));
        }
        received
    })
    .await
    .expect("the consumer thread does not panic");

    let expected: Vec<(i64, Sent)> = sent
        .into_iter()
        .enumerate()
        .skip(START)
        .map(|(i, m)| (i as i64, m))
        .collect();
    assert_eq!(
        received, expected,
        "the consumer reads messages {START}..{COUNT} in order, at their offsets, with their keys, \
         values and headers, and nothing before {START}"
    );
}

#[tokio::test]
async fn fetch_returns_at_least_one_batch_larger_than_max_bytes_then_whole_batches_only() {
    let broker = broker(2).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let topic = "fetch-limits";
    // Three uncompressed batches of 4 records of 500 bytes each: about 2 KB a batch.
    let mut sizes = Vec::new();
    for (n, expected_base) in [(0, 0), (1, 4), (2, 8)] {
        let batch = encode_batch(&entries(&format!("b{n}"), 4, 500), Compression::None);
        sizes.push(batch.len());
        assert_eq!(
            produce_batch(&mut client, topic, 0, batch).await,
            expected_base,
            "batch {n} gets base offset {expected_base}"
        );
    }
    // Partition 1 holds one batch too, for the response-wide budget.
    produce_batch(
        &mut client,
        topic,
        1,
        encode_batch(&entries("p1", 4, 500), Compression::None),
    )
    .await;
    assert!(
        sizes.iter().all(|&s| s > 1500),
        "each batch is larger than the limits below: {sizes:?}"
    );
    let i32_of = |n: usize| i32::try_from(n).unwrap();

    let served = fetch_partition(&mut client, topic, 0, 100, 100).await;
    assert_eq!(
        layout(&served),
        vec![(0, 4)],
        "max_bytes = partition_max_bytes = 100: exactly the first whole batch, larger than both"
    );
    assert_eq!(
        served[0].size, sizes[0],
        "the first batch served whole, at the size it was produced"
    );

    let one_and_a_half = i32_of(sizes[0] + sizes[1] / 2);
    let served = fetch_partition(&mut client, topic, 0, LARGE, one_and_a_half).await;
    assert_eq!(
        layout(&served),
        vec![(0, 4)],
        "partition_max_bytes = {one_and_a_half} (1.5 batches): exactly one whole batch, never \
         part of the second"
    );
    let served = fetch_partition(&mut client, topic, 0, one_and_a_half, LARGE).await;
    assert_eq!(
        layout(&served),
        vec![(0, 4)],
        "max_bytes = {one_and_a_half} (1.5 batches): exactly one whole batch, never part of the \
         second"
    );

    let all = i32_of(sizes.iter().sum());
    let served = fetch_partition(&mut client, topic, 0, all, all).await;
    assert_eq!(
        layout(&served),
        vec![(0, 4), (4, 4), (8, 4)],
        "max_bytes = partition_max_bytes = {all} (the three batches): all three, whole"
    );

    // The response-wide budget: only the first non-empty partition may exceed it.
    let partitions = [(0, 0), (1, 0)];
    let request = fetch_request(topic, &partitions, 100, LARGE, 0);
    let response = client.call(FETCH_VERSION, &request).await;
    let served = fetched(&response, &partitions);
    assert_eq!(
        layout(&served[0]),
        vec![(0, 4)],
        "max_bytes = 100 over two partitions: partition 0, the first non-empty, gets one whole \
         batch"
    );
    assert_eq!(
        layout(&served[1]),
        Vec::<(i64, i32)>::new(),
        "max_bytes = 100 over two partitions: partition 1 gets nothing once the budget is spent"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_fetch_returns_when_data_arrives() {
    let broker = broker(1).await;
    let topic = "waiting-fetch";
    let mut fetcher = KafkaClient::connect(broker.local_addr()).await;
    let create = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name(topic))),
        ]))
        .with_allow_auto_topic_creation(true);
    let metadata = fetcher.call(12, &create).await;
    assert_eq!(
        metadata.topics[0].error_code, 0,
        "Metadata with auto-creation creates the empty topic"
    );

    // The fetch is written first, and counted by the broker, before anything is appended.
    let fetches = || {
        broker
            .stats()
            .snapshot()
            .requests
            .get("kafka")
            .and_then(|apis| apis.get("Fetch"))
            .map_or(0, |versions| versions.values().sum::<u64>())
    };
    let partitions = [(0, 0)];
    let request = fetch_request(topic, &partitions, LARGE, LARGE, 1000);
    let id = fetcher.send(FETCH_VERSION, &request).await;
    let deadline = Instant::now() + TIMEOUT;
    while fetches() == 0 {
        assert!(
            Instant::now() < deadline,
            "the broker counted the Fetch request within {TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }

    let mut producer = KafkaClient::connect(broker.local_addr()).await;
    let message = entries("arrived", 1, 20);
    assert_eq!(
        produce_batch(
            &mut producer,
            topic,
            0,
            encode_batch(&message, Compression::None)
        )
        .await,
        0,
        "the message is appended at offset 0"
    );

    let response = fetcher.receive::<FetchRequest>(FETCH_VERSION, id).await;
    let served = fetched(&response, &partitions).remove(0);
    let records: Vec<(i64, String, String)> = served
        .iter()
        .flat_map(|b| &b.records)
        .map(|r| {
            let sent = as_sent(r);
            (r.offset, sent.key, sent.value)
        })
        .collect();
    let expected = vec![(0, message[0].0.clone(), message[0].1.clone())];
    assert_eq!(
        records, expected,
        "the waiting fetch (max_wait_ms = 1000) returns the message appended while it waited"
    );
}

/// A consumer positioned below the log start (retention dropped the batches it wanted) gets
/// OFFSET_OUT_OF_RANGE, resets to the earliest offset as `auto.offset.reset` says (ListOffsets
/// earliest: the log start), and reads every kept record from there.
#[tokio::test]
async fn an_rdkafka_consumer_below_the_log_start_resets_to_it_and_reads_what_was_kept() {
    let mut config = BrokerConfig::ephemeral();
    config.partitions = 1;
    config.retention_bytes = 1500;
    let broker = MockBroker::start(config).await.expect("the broker starts");
    let topic = "consume-after-retention";
    const COUNT: usize = 20;
    let sent = sent_messages("retention", COUNT);
    // One message per batch, so that retention drops some and keeps some.
    let producer = future_producer(
        &broker.bootstrap_servers(),
        &[("batch.num.messages", "1"), ("linger.ms", "0")],
    );
    let offsets = deliver(&producer, topic, &sent).await;
    assert_eq!(offsets, (0..COUNT as i64).collect::<Vec<_>>());
    let log = broker.store().topic(topic).expect("the topic exists");
    let start = log.log_start_offset(0).expect("partition 0");
    assert!(
        start > 0 && start < COUNT as i64,
        "retention.bytes 1500 dropped some of the {COUNT} batches and kept some: log start {start}"
    );

    let bootstrap = broker.bootstrap_servers();
    let received = tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &bootstrap)
            .set("group.id", "fetch-after-retention")
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .create()
            .expect("the consumer configuration is valid");
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(topic, 0, Offset::Offset(0))
            .expect("a valid partition");
        consumer.assign(&assignment).expect("assign");
        let mut received = Vec::new();
        let deadline = Instant::now() + TIMEOUT;
        while received
            .last()
            .is_none_or(|&(offset, _)| offset < COUNT as i64 - 1)
        {
            assert!(
                Instant::now() < deadline,
                "the consumer read up to the end within {TIMEOUT:?}; it got {received:?}"
            );
            let Some(message) = consumer.poll(Duration::from_millis(500)) else {
                continue;
            };
            let message = message.expect("the broker serves the kept records without error");
            let value = String::from_utf8_lossy(message.payload().unwrap_or_default()).into_owned();
            received.push((message.offset(), value));
        }
        received
    })
    .await
    .expect("the consumer thread does not panic");
    let expected: Vec<(i64, String)> = (start..COUNT as i64)
        .map(|offset| (offset, sent[offset as usize].value.clone()))
        .collect();
    assert_eq!(
        received, expected,
        "from offset 0 the consumer was reset to the log start {start} and read every kept record"
    );
}

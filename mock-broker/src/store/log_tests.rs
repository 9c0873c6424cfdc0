//! The batch log as readers and retention see it: appended batches (Kafka
//! batches in any codec, frame messages) read back record for record from
//! every offset; retention and the memory cap drop whole batches from the head.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use proptest::prelude::*;
use protocol::Header;

use super::{
    ClientInfo, MemoryPolicy, NewRecord, ProducerInfo, Protocol, RecordStore, StoreError,
    StoreLimits, StoredRecord, TopicLog,
};
use crate::record_batch::{RecordLimits, validate_batches};

fn client() -> Arc<ClientInfo> {
    Arc::new(ClientInfo {
        address: "127.0.0.1:5000".parse().unwrap(),
        protocol: Protocol::Kafka,
        client_id: Some("test".into()),
    })
}

/// One record as a test writes it.
#[derive(Debug, Clone)]
struct Message {
    timestamp: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
}

/// One append: a Kafka batch (codec, idempotent or not) or frame messages.
#[derive(Debug, Clone)]
enum Append {
    Kafka {
        codec: u8,
        producer: Option<(i64, i16, i32)>,
        messages: Vec<Message>,
    },
    Frame(Vec<Message>),
}

fn compression(codec: u8) -> Compression {
    match codec {
        1 => Compression::Gzip,
        2 => Compression::Snappy,
        3 => Compression::Lz4,
        4 => Compression::Zstd,
        _ => Compression::None,
    }
}

/// The batch a producer would send for `messages`.
fn kafka_batch(codec: u8, producer: Option<(i64, i16, i32)>, messages: &[Message]) -> Bytes {
    let (id, epoch, base) = producer.unwrap_or((-1, -1, -1));
    let records: Vec<Record> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let mut headers = IndexMap::new();
            for (k, v) in &m.headers {
                headers.insert(
                    StrBytes::from_string(k.clone()),
                    v.as_deref().map(Bytes::copy_from_slice),
                );
            }
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: 0,
                producer_id: id,
                producer_epoch: epoch,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: if base < 0 {
                    i as i32 - 1
                } else {
                    base + i as i32
                },
                timestamp: m.timestamp,
                key: m.key.as_deref().map(Bytes::copy_from_slice),
                value: m.value.as_deref().map(Bytes::copy_from_slice),
                headers,
            }
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        &records,
        &RecordEncodeOptions {
            version: 2,
            compression: compression(codec),
        },
    )
    .unwrap();
    buf.freeze()
}

/// Frame messages whose timestamp is a multiple of 7 are sent without one.
fn frame_timestamp(m: &Message) -> Option<i64> {
    (m.timestamp % 7 != 0).then_some(m.timestamp)
}

fn new_record(m: &Message) -> NewRecord {
    NewRecord {
        timestamp: frame_timestamp(m),
        key: m.key.as_deref().map(Bytes::copy_from_slice),
        value: m.value.as_deref().map(Bytes::copy_from_slice),
        headers: headers(m),
        producer: None,
    }
}

fn headers(m: &Message) -> Vec<Header> {
    m.headers
        .iter()
        .map(|(k, v)| Header {
            key: k.clone(),
            value: v.as_deref().map(Bytes::copy_from_slice),
        })
        .collect()
}

/// Appends `append` to partition 0 at `time`; returns its base offset.
fn append(topic: &TopicLog, append: &Append, time: i64) -> Result<i64, StoreError> {
    match append {
        Append::Kafka {
            codec,
            producer,
            messages,
        } => {
            let raw = kafka_batch(*codec, *producer, messages);
            let batch = validate_batches(raw, 64 << 20, RecordLimits::NONE)
                .unwrap()
                .pop()
                .unwrap();
            topic.append_kafka_batch(0, batch.raw, &batch.summary, 3, time, &client())
        }
        Append::Frame(messages) => {
            topic.append(0, messages.iter().map(new_record), time, &client())
        }
    }
}

/// What reading every record back must give: (message, its timestamp, producer fields).
fn expected(appends: &[Append]) -> Vec<(Message, Option<i64>, Option<ProducerInfo>)> {
    let mut all = Vec::new();
    for append in appends {
        match append {
            Append::Kafka {
                producer, messages, ..
            } => {
                for (i, m) in messages.iter().enumerate() {
                    let info = producer.map(|(id, epoch, base)| ProducerInfo {
                        id,
                        epoch,
                        sequence: base + i as i32,
                    });
                    all.push((m.clone(), Some(m.timestamp), info));
                }
            }
            Append::Frame(messages) => {
                all.extend(
                    messages
                        .iter()
                        .map(|m| (m.clone(), frame_timestamp(m), None)),
                );
            }
        }
    }
    all
}

fn assert_record(
    record: &StoredRecord,
    offset: i64,
    (m, timestamp, producer): &(Message, Option<i64>, Option<ProducerInfo>),
) {
    assert_eq!(record.offset, offset);
    assert_eq!(record.partition, 0);
    assert_eq!(record.timestamp, *timestamp, "offset {offset}");
    assert_eq!(record.key.as_deref(), m.key.as_deref(), "offset {offset}");
    assert_eq!(
        record.value.as_deref(),
        m.value.as_deref(),
        "offset {offset}"
    );
    assert_eq!(record.headers, headers(m), "offset {offset}");
    assert_eq!(record.producer, *producer, "offset {offset}");
}

fn message() -> impl Strategy<Value = Message> {
    let bytes = || proptest::option::weighted(0.9, proptest::collection::vec(any::<u8>(), 0..40));
    (
        0i64..2_000_000_000_000,
        bytes(),
        bytes(),
        proptest::collection::vec(("[a-z]{0,6}", bytes()), 0..3),
    )
        .prop_map(|(timestamp, key, value, mut headers)| {
            // The encoder keeps headers in a map: one per key (the broker keeps repeats).
            let mut seen = std::collections::HashSet::new();
            headers.retain(|(k, _)| seen.insert(k.clone()));
            Message {
                timestamp,
                key,
                value,
                headers,
            }
        })
}

fn appends() -> impl Strategy<Value = Vec<Append>> {
    let kafka = (
        0u8..5,
        proptest::option::of((0i64..100, 0i16..3, 0i32..1000)),
        proptest::collection::vec(message(), 1..8),
    )
        .prop_map(|(codec, producer, messages)| Append::Kafka {
            codec,
            producer,
            messages,
        });
    let frame = proptest::collection::vec(message(), 1..5).prop_map(Append::Frame);
    proptest::collection::vec(prop_oneof![3 => kafka, 1 => frame], 1..12)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn appended_batches_read_back_record_for_record_from_every_offset(appends in appends()) {
        let store = RecordStore::new(1, true);
        let topic = store.topic_for_write("t").unwrap();
        let mut next = 0i64;
        for (n, a) in appends.iter().enumerate() {
            let base = append(&topic, a, 1_000 + n as i64).unwrap();
            prop_assert_eq!(base, next, "offsets are assigned per batch, densely");
            next += match a {
                Append::Kafka { messages, .. } | Append::Frame(messages) => messages.len() as i64,
            };
        }
        let all = expected(&appends);
        prop_assert_eq!(topic.high_watermark(0).unwrap(), all.len() as i64);
        for from in 0..=all.len() {
            let read = topic.read(0, from as i64, usize::MAX).unwrap();
            prop_assert_eq!(read.len(), all.len() - from, "reading from {}", from);
            for (i, record) in read.iter().enumerate() {
                assert_record(record, (from + i) as i64, &all[from + i]);
            }
            // A limit cuts the read at exactly that many records.
            prop_assert_eq!(topic.read(0, from as i64, 2).unwrap().len(), (all.len() - from).min(2));
        }
    }
}

fn small(n: u8) -> Append {
    Append::Kafka {
        codec: 0,
        producer: None,
        messages: vec![
            Message {
                timestamp: 1,
                key: None,
                value: Some(vec![n; 100]),
                headers: Vec::new(),
            };
            2
        ],
    }
}

#[test]
fn retention_bytes_drops_whole_batches_from_the_head_and_keeps_the_newest() {
    let limits = StoreLimits {
        retention_bytes: Some(1),
        ..StoreLimits::default()
    };
    let store = RecordStore::with_limits(1, true, limits);
    let topic = store.topic_for_write("t").unwrap();
    for n in 0..3 {
        append(&topic, &small(n), 10).unwrap();
    }
    // Each batch alone is over one byte: only the newest stays.
    assert_eq!(topic.log_start_offset(0).unwrap(), 4);
    assert_eq!(topic.high_watermark(0).unwrap(), 6);
    let read = topic.read(0, 0, 10).unwrap();
    assert_eq!(read.iter().map(|r| r.offset).collect::<Vec<_>>(), [4, 5]);
    assert_eq!(read[0].value.as_deref(), Some(&[2u8; 100][..]));
    let memory = store.memory();
    assert_eq!(memory.retention.batches, 2);
    assert_eq!(memory.retention.records, 4);
}

#[test]
fn retention_ms_drops_batches_received_that_long_ago_and_moves_the_log_start() {
    let limits = StoreLimits {
        retention_ms: Some(100),
        ..StoreLimits::default()
    };
    let store = RecordStore::with_limits(1, true, limits);
    let topic = store.topic_for_write("t").unwrap();
    append(&topic, &small(0), 1_000).unwrap();
    append(&topic, &small(1), 1_050).unwrap();
    // At 1_099 neither is 100 ms old.
    store.apply_retention(1_099);
    assert_eq!(topic.log_start_offset(0).unwrap(), 0);
    // At 1_100 the first is; at 1_150 both are, and the log is empty but keeps its offsets.
    store.apply_retention(1_100);
    assert_eq!(topic.log_start_offset(0).unwrap(), 2);
    store.apply_retention(1_150);
    assert_eq!(topic.log_start_offset(0).unwrap(), 4);
    assert_eq!(topic.high_watermark(0).unwrap(), 4);
    assert!(topic.read(0, 0, 10).unwrap().is_empty());
    assert_eq!(store.memory().used_bytes, 0);
    // The next append continues at the high watermark.
    assert_eq!(append(&topic, &small(2), 1_200).unwrap(), 4);
}

#[test]
fn at_max_memory_refuse_keeps_what_is_stored_and_refuses_the_append() {
    let limits = StoreLimits {
        max_memory: 700,
        memory_policy: MemoryPolicy::Refuse,
        ..StoreLimits::default()
    };
    let store = RecordStore::with_limits(1, true, limits);
    let topic = store.topic_for_write("t").unwrap();
    append(&topic, &small(0), 1).unwrap();
    let refused = append(&topic, &small(1), 2).unwrap_err();
    assert!(
        matches!(refused, StoreError::MemoryFull { max: 700, .. }),
        "{refused}"
    );
    assert!(refused.to_string().contains("max_memory"), "{refused}");
    assert_eq!(topic.high_watermark(0).unwrap(), 2);
    assert_eq!(topic.read(0, 0, 10).unwrap().len(), 2);
    let memory = store.memory();
    assert_eq!(memory.refused_batches, 1);
    assert!(memory.used_bytes <= 700, "{memory:?}");
}

#[test]
fn at_max_memory_drop_oldest_makes_room_from_the_oldest_batch_of_any_topic() {
    let limits = StoreLimits {
        max_memory: 700,
        memory_policy: MemoryPolicy::DropOldest,
        ..StoreLimits::default()
    };
    let store = RecordStore::with_limits(1, true, limits);
    let old = store.topic_for_write("old").unwrap();
    let new = store.topic_for_write("new").unwrap();
    append(&old, &small(0), 1).unwrap();
    append(&new, &small(1), 2).unwrap();
    // The first topic's batch was received first: it goes.
    assert_eq!(old.log_start_offset(0).unwrap(), 2);
    assert_eq!(new.log_start_offset(0).unwrap(), 0);
    assert_eq!(new.read(0, 0, 10).unwrap().len(), 2);
    let memory = store.memory();
    assert_eq!(memory.evicted.batches, 1);
    assert!(memory.used_bytes <= 700, "{memory:?}");
}

#[test]
fn deleting_a_topic_gives_its_memory_back() {
    let store = RecordStore::new(1, true);
    let topic = store.topic_for_write("t").unwrap();
    append(&topic, &small(0), 1).unwrap();
    assert!(store.memory().used_bytes > 200);
    drop(topic);
    assert!(store.delete_topic("t"));
    assert_eq!(store.memory().used_bytes, 0);
}

#[test]
fn a_kafka_batch_keeps_bytes_of_its_own_not_the_request_it_came_in() {
    let store = RecordStore::new(1, true);
    let topic = store.topic_for_write("t").unwrap();
    let raw = kafka_batch(
        0,
        None,
        &[Message {
            timestamp: 1,
            key: None,
            value: Some(vec![7; 10]),
            headers: Vec::new(),
        }],
    );
    // A request buffer much larger than the batch, as a connection reads it.
    let mut request = BytesMut::with_capacity(64 * 1024);
    request.extend_from_slice(&raw);
    request.extend_from_slice(&[0u8; 1000]);
    let request = request.freeze();
    let batch = validate_batches(request.slice(..raw.len()), 1 << 20, RecordLimits::NONE)
        .unwrap()
        .pop()
        .unwrap();
    topic
        .append_kafka_batch(0, batch.raw, &batch.summary, 0, 1, &client())
        .unwrap();
    // Once the request is gone, the store holds the only reference to its data.
    let request = request.try_into_mut();
    assert!(
        request.is_ok(),
        "the store kept a slice of the request buffer"
    );
}

#[test]
fn records_appended_through_the_rust_api_keep_their_producer_fields() {
    let store = RecordStore::new(1, true);
    let topic = store.topic_for_write("t").unwrap();
    let info = |id, sequence| {
        Some(ProducerInfo {
            id,
            epoch: 1,
            sequence,
        })
    };
    // Two that follow on (one batch), a jump, another producer, and none.
    let producers = [info(5, 10), info(5, 11), info(5, 20), info(6, 0), None];
    let records = producers.iter().map(|&producer| NewRecord {
        timestamp: None,
        key: None,
        value: Some(Bytes::from_static(b"v")),
        headers: Vec::new(),
        producer,
    });
    topic.append(0, records, 5, &client()).unwrap();
    let read = topic.read(0, 0, 10).unwrap();
    let read: Vec<_> = read.iter().map(|r| (r.producer, r.timestamp)).collect();
    let wanted: Vec<_> = producers.iter().map(|&p| (p, None)).collect();
    assert_eq!(read, wanted);
}

#[test]
fn delete_records_moves_the_log_start_drops_whole_batches_and_gives_memory_back() {
    let store = RecordStore::new(1, true);
    let topic = store.topic_for_write("t").unwrap();
    for n in 0..3 {
        append(&topic, &small(n), 10).unwrap();
    }
    let full = store.memory().used_bytes;
    // Offset 3 is inside the second batch (offsets 2 and 3): the first batch goes, the second stays.
    assert_eq!(topic.delete_records(0, 3).unwrap(), 3);
    assert_eq!(topic.log_start_offset(0).unwrap(), 3);
    let read = topic.read(0, 0, 10).unwrap();
    assert_eq!(
        read.iter().map(|r| r.offset).collect::<Vec<_>>(),
        [3, 4, 5],
        "records before the log start are not read, even inside a kept batch"
    );
    assert_eq!(store.memory().used_bytes, full / 3 * 2);
    assert_eq!(
        store.memory().retention.batches,
        0,
        "a delete is not retention"
    );
    // Never back; -1 is the high watermark; past it is refused.
    assert_eq!(topic.delete_records(0, 1).unwrap(), 3);
    assert_eq!(
        topic.delete_records(0, 7),
        Err(StoreError::OffsetOutOfRange {
            topic: "t".into(),
            partition: 0,
            offset: 7,
            high_watermark: 6,
        })
    );
    assert_eq!(topic.delete_records(0, -1).unwrap(), 6);
    assert!(topic.read(0, 0, 10).unwrap().is_empty());
    assert_eq!(store.memory().used_bytes, 0);
    assert_eq!(append(&topic, &small(3), 20).unwrap(), 6);
}

#[test]
fn topics_and_partitions_past_the_limits_are_refused_naming_the_limit() {
    let limits = StoreLimits {
        max_topics: 2,
        max_partitions_per_topic: 3,
        ..StoreLimits::default()
    };
    let store = RecordStore::with_limits(1, true, limits);
    assert_eq!(
        store.create_topic_checked("wide", 4).unwrap_err(),
        StoreError::TooManyPartitions {
            topic: "wide".into(),
            requested: 4,
            max: 3,
        }
    );
    let a = store.create_topic_checked("a", 3).unwrap();
    store.topic_for_write("b").unwrap();
    let refused = store.topic_for_write("c").unwrap_err();
    assert_eq!(
        refused,
        StoreError::TooManyTopics {
            topic: "c".into(),
            max: 2,
        }
    );
    assert!(refused.to_string().contains("--max-topics"), "{refused}");
    assert!(store.topic("c").is_none(), "nothing was created");
    // An existing topic is still found, and growing past the limit is refused.
    assert!(store.topic_for_write("a").is_ok());
    assert!(matches!(
        a.add_partitions(4),
        Err(StoreError::TooManyPartitions { max: 3, .. })
    ));
    assert_eq!(a.partition_count(), 3);
}

//! Fetch: the stored batches served back as they arrived.
//!
//! A Kafka producer's batch goes out with its original compression and
//! boundaries, as the store keeps it: with the base offset the broker assigned
//! and the partition leader epoch written over the producer's on append, as
//! Kafka does (neither is covered by the CRC). Frame-protocol messages were
//! written into an uncompressed RecordBatch v2 when they arrived.
//!
//! A fetch from an offset inside a batch returns that whole batch (clients
//! skip the records before their offset). The sizes follow KIP-74: the first
//! partition of the response that has data returns at least one batch, even
//! one larger than the limits; after that only whole batches within both the
//! partition's `partition_max_bytes` and what is left of `max_bytes`. A fetch
//! that finds less than `min_bytes` waits for an append, up to `max_wait_ms`
//! (at most one second), and looks again whenever one arrives.
//!
//! A partition listed more than once is served once, as Kafka's
//! `FetchRequest.fetchData` collects the partitions into a map: in the place
//! of its first listing, with the fetch offset and limits of its last.
//!
//! `isolation_level` read_committed (1) serves only batches before the last
//! stable offset (the first offset of the earliest open transaction) and lists
//! the aborted transactions overlapping what it serves, so that clients drop
//! their records; control batches (markers) are served to every client, which
//! skips them. Every answer reports the last stable offset.

use std::time::Duration;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use kafka_protocol::messages::fetch_response::{
    AbortedTransaction, FetchResponse, FetchableTopicResponse, PartitionData,
};
use tokio::time::Instant;

use super::context::Ctx;
use super::fetch_response::{FetchAnswer, RecordSet};
use crate::store::{LogEntry, TopicLog};

/// `isolation_level` 1: only records up to the last stable offset, with the aborted
/// transactions listed.
pub(crate) const READ_COMMITTED: i8 = 1;

/// The longest a fetch with too little to return waits.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// Whether the request reads `partition` of `topic` (each `None` = any), for fault rules.
pub(crate) fn touches(request: &FetchRequest, topic: Option<&str>, partition: Option<u32>) -> bool {
    request.topics.iter().any(|t| {
        t.partitions.iter().any(|p| {
            super::context::scope_covers((topic, partition), t.topic.as_str(), p.partition)
        })
    })
}

/// Answers a Fetch request, waiting for appends while it has less than `min_bytes`.
pub(crate) async fn handle(request: FetchRequest, version: i16, ctx: &Ctx<'_>) -> FetchAnswer {
    let wait = Duration::from_millis(request.max_wait_ms.max(0) as u64).min(MAX_WAIT);
    let deadline = Instant::now() + wait;
    let min_bytes = usize::try_from(request.min_bytes).unwrap_or(0).max(1);
    loop {
        // Made before looking, so that an append right after the look still wakes us.
        let waiter = ctx.state.store.appended().waiter();
        let (found, bytes) = answer(&request, version, ctx);
        if bytes >= min_bytes || Instant::now() >= deadline {
            return found;
        }
        if tokio::time::timeout_at(deadline, waiter.appended())
            .await
            .is_err()
        {
            return answer(&request, version, ctx).0;
        }
    }
}

/// The answer as the log stands, and how many record bytes it carries.
fn answer(request: &FetchRequest, version: i16, ctx: &Ctx<'_>) -> (FetchAnswer, usize) {
    let mut budget = usize::try_from(request.max_bytes).unwrap_or(0);
    let read_committed = request.isolation_level == READ_COMMITTED;
    let mut total = 0usize;
    let mut records: Vec<Vec<RecordSet>> = Vec::new();
    let mut responses: Vec<FetchableTopicResponse> = Vec::new();
    let mut current: Option<(&FetchTopic, Option<std::sync::Arc<TopicLog>>)> = None;
    for (topic, p) in distinct_partitions(request) {
        // Consecutive partitions of one topic share its entry, as Kafka groups them.
        let same = current.as_ref().is_some_and(|(t, _)| same_topic(t, topic));
        if !same {
            responses.push(FetchableTopicResponse::default().with_topic(topic.topic.clone()));
            records.push(Vec::new());
            current = Some((topic, ctx.state.store.topic(&topic.topic)));
        }
        let log = current.as_ref().and_then(|(_, log)| log.as_deref());
        let (data, set) = partition(
            p,
            log,
            read_committed,
            version,
            ctx,
            &mut budget,
            &mut total,
        );
        responses
            .last_mut()
            .expect("pushed above")
            .partitions
            .push(data);
        records.last_mut().expect("pushed above").push(set);
    }
    let answer = FetchAnswer {
        response: FetchResponse::default().with_responses(responses),
        records,
    };
    (answer, total)
}

/// Whether two listings name the same topic (by name, and by id from v13).
fn same_topic(a: &FetchTopic, b: &FetchTopic) -> bool {
    a.topic == b.topic && a.topic_id == b.topic_id
}

/// Every partition the request lists, once: in the place of its first
/// listing, with the parameters of its last (Kafka's `fetchData` map).
fn distinct_partitions(request: &FetchRequest) -> Vec<(&FetchTopic, &FetchPartition)> {
    let mut order: Vec<(&FetchTopic, &FetchPartition)> = Vec::new();
    let mut place: std::collections::HashMap<(&str, uuid::Uuid, i32), usize> =
        std::collections::HashMap::new();
    for topic in &request.topics {
        for p in &topic.partitions {
            let key = (topic.topic.as_str(), topic.topic_id, p.partition);
            match place.entry(key) {
                std::collections::hash_map::Entry::Occupied(at) => {
                    order[*at.get()].1 = p;
                }
                std::collections::hash_map::Entry::Vacant(slot) => {
                    slot.insert(order.len());
                    order.push((topic, p));
                }
            }
        }
    }
    order
}

/// One partition's answer and record set, from `budget` (what is left of the
/// request's `max_bytes`), adding what it serves to `total`.
#[allow(clippy::too_many_arguments)]
fn partition(
    p: &FetchPartition,
    log: Option<&TopicLog>,
    read_committed: bool,
    version: i16,
    ctx: &Ctx<'_>,
    budget: &mut usize,
    total: &mut usize,
) -> (PartitionData, RecordSet) {
    let data = PartitionData::default().with_partition_index(p.partition);
    let error = |code: ResponseError, data: PartitionData| {
        (data.with_error_code(code.code()), RecordSet::new())
    };
    let Some(log) = log else {
        return error(ResponseError::UnknownTopicOrPartition, data);
    };
    let Some(index) = u32::try_from(p.partition)
        .ok()
        .filter(|&i| i < log.partition_count())
    else {
        return error(ResponseError::UnknownTopicOrPartition, data);
    };
    if ctx.state.cluster.leader(log.name(), index) != ctx.node_id {
        return error(ResponseError::NotLeaderOrFollower, data);
    }
    let limit = usize::try_from(p.partition_max_bytes)
        .unwrap_or(0)
        .min(*budget);
    // KIP-74: only the first partition with data may exceed the limits.
    let min_one = *total == 0;
    let Ok(view) = log.fetch_view(
        index,
        p.fetch_offset,
        read_committed,
        limit,
        min_one,
        served_len,
    ) else {
        return error(ResponseError::UnknownTopicOrPartition, data);
    };
    let mut data = data
        .with_high_watermark(view.high_watermark)
        .with_last_stable_offset(view.last_stable_offset);
    if version >= 5 {
        data = data.with_log_start_offset(view.log_start_offset);
    }
    if p.fetch_offset < view.log_start_offset || p.fetch_offset > view.high_watermark {
        return error(ResponseError::OffsetOutOfRange, data);
    }
    if read_committed {
        // Listed even when empty, as Kafka: read_uncommitted answers null.
        let aborted = view
            .aborted
            .iter()
            .map(|a| {
                AbortedTransaction::default()
                    .with_producer_id(a.producer_id.into())
                    .with_first_offset(a.first_offset)
            })
            .collect();
        data = data.with_aborted_transactions(Some(aborted));
    }
    *budget = budget.saturating_sub(view.size);
    *total += view.size;
    let set = view.entries.iter().flat_map(LogEntry::served).collect();
    (data, set)
}

/// The bytes an entry takes in a response: its batch, exactly.
fn served_len(entry: &LogEntry) -> usize {
    entry.served_len()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::{Bytes, BytesMut};
    use kafka_protocol::records::{
        Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions,
        TimestampType,
    };

    use super::*;
    use crate::record_batch::{RecordLimits, validate_batches};
    use crate::store::{ClientInfo, NewRecord, Protocol, RecordStore};

    fn client() -> Arc<ClientInfo> {
        Arc::new(ClientInfo {
            address: "127.0.0.1:5000".parse().unwrap(),
            protocol: Protocol::Kafka,
            client_id: None,
        })
    }

    fn batch(values: &[&str], compression: Compression) -> Bytes {
        let records: Vec<Record> = values
            .iter()
            .enumerate()
            .map(|(i, v)| Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id: -1,
                producer_epoch: -1,
                timestamp_type: TimestampType::Creation,
                offset: i as i64,
                sequence: i as i32 - 1,
                timestamp: 1_000 + i as i64,
                key: None,
                value: Some(Bytes::copy_from_slice(v.as_bytes())),
                headers: Default::default(),
            })
            .collect();
        let mut buf = BytesMut::new();
        let options = RecordEncodeOptions {
            version: 2,
            compression,
        };
        RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
        buf.freeze()
    }

    #[test]
    fn every_offset_is_served_from_the_batch_that_holds_it_in_its_codec() {
        let store = RecordStore::new(1, true);
        let topic = store.topic_for_write("t").unwrap();
        let kafka = [
            (vec!["a", "b", "c"], Compression::Gzip, 1),
            (vec!["d"], Compression::None, 0),
            (vec!["e", "f"], Compression::Zstd, 4),
        ];
        for (values, compression, _) in &kafka {
            let parsed = validate_batches(batch(values, *compression), 1 << 20, RecordLimits::NONE)
                .unwrap()
                .pop()
                .unwrap();
            topic
                .append_kafka_batch(0, parsed.raw, &parsed.summary, 2, 7, &client())
                .unwrap();
        }
        let frame = ["g", "h"].map(|v| NewRecord {
            timestamp: None,
            key: None,
            value: Some(Bytes::from_static(v.as_bytes())),
            headers: Vec::new(),
            producer: None,
        });
        topic.append(0, frame, 9, &client()).unwrap();
        let values = ["a", "b", "c", "d", "e", "f", "g", "h"];
        // Where each offset's batch starts, and the codec it is served in.
        let batch_of = [
            (0, 1),
            (0, 1),
            (0, 1),
            (3, 0),
            (4, 4),
            (4, 4),
            (6, 0),
            (6, 0),
        ];
        for (from, &(start, codec)) in batch_of.iter().enumerate() {
            let (entries, _) = topic
                .entries_from(0, from as i64, usize::MAX, true, served_len)
                .unwrap();
            let mut served = Bytes::from(
                entries
                    .iter()
                    .flat_map(LogEntry::served)
                    .collect::<Vec<_>>()
                    .concat(),
            );
            // The attributes are big-endian; the codec is in the low bits of the second byte.
            assert_eq!(
                (
                    i64::from_be_bytes(served[..8].try_into().unwrap()),
                    served[22] & 7
                ),
                (start, codec),
                "fetch from {from}: the first batch served holds the offset, in its codec"
            );
            let epoch = i32::from_be_bytes(served[12..16].try_into().unwrap());
            assert_eq!(
                epoch,
                if from < 6 { 2 } else { 0 },
                "leader epoch stamped at append"
            );
            let batches = RecordBatchDecoder::decode_all(&mut served).unwrap();
            let records: Vec<_> = batches.iter().flat_map(|b| &b.records).collect();
            let first = start as usize;
            assert_eq!(records.len(), values.len() - first, "fetch from {from}");
            for (i, record) in records.iter().enumerate() {
                assert_eq!(record.offset, (first + i) as i64);
                assert_eq!(record.value.as_deref(), Some(values[first + i].as_bytes()));
            }
        }
    }

    #[test]
    fn a_large_batch_is_kept_without_a_copy_and_served_with_its_assigned_offset_and_epoch() {
        let store = RecordStore::new(1, true);
        let topic = store.topic_for_write("t").unwrap();
        let small = validate_batches(
            batch(&["a", "b"], Compression::None),
            1 << 20,
            RecordLimits::NONE,
        )
        .unwrap()
        .pop()
        .unwrap();
        topic
            .append_kafka_batch(0, small.raw, &small.summary, 3, 7, &client())
            .unwrap();
        let value = "x".repeat(1000);
        let values = vec![value.as_str(); 100];
        let sent = batch(&values, Compression::None);
        assert!(sent.len() >= 64 * 1024, "a batch past the copy limit");
        let large = validate_batches(sent.clone(), 1 << 20, RecordLimits::NONE)
            .unwrap()
            .pop()
            .unwrap();
        let base = topic
            .append_kafka_batch(0, large.raw, &large.summary, 3, 8, &client())
            .unwrap();
        assert_eq!(base, 2);
        let (entries, size) = topic
            .entries_from(0, 2, usize::MAX, true, served_len)
            .unwrap();
        assert_eq!(size, sent.len());
        let pieces: Vec<Bytes> = entries.iter().flat_map(LogEntry::served).collect();
        assert_eq!(pieces.len(), 2, "the header apart, the rest as received");
        assert_eq!(
            pieces[1].as_ptr(),
            sent[16..].as_ptr(),
            "the batch's bytes are the request's, not a copy"
        );
        let mut served = Bytes::from(pieces.concat());
        assert_eq!(i64::from_be_bytes(served[..8].try_into().unwrap()), 2);
        assert_eq!(i32::from_be_bytes(served[12..16].try_into().unwrap()), 3);
        let decoded = RecordBatchDecoder::decode_all(&mut served).unwrap();
        let offsets: Vec<i64> = decoded[0].records.iter().map(|r| r.offset).collect();
        assert_eq!(offsets, (2..102).collect::<Vec<_>>());
        let read = topic.read(0, 50, 1).unwrap();
        assert_eq!(
            (read[0].offset, read[0].value.as_deref()),
            (50, Some(value.as_bytes()))
        );
    }

    #[test]
    fn after_the_first_batch_only_whole_batches_within_the_budget_are_served() {
        let store = RecordStore::new(1, true);
        let topic = store.topic_for_write("t").unwrap();
        for _ in 0..3 {
            let parsed = validate_batches(
                batch(&["0123456789"; 4], Compression::None),
                1 << 20,
                RecordLimits::NONE,
            )
            .unwrap()
            .pop()
            .unwrap();
            topic
                .append_kafka_batch(0, parsed.raw, &parsed.summary, 0, 7, &client())
                .unwrap();
        }
        let one = topic.entries_from(0, 0, 0, true, served_len).unwrap();
        assert_eq!(one.0.len(), 1, "at least one batch, even past the budget");
        let len = one.1;
        let none = topic
            .entries_from(0, 0, len - 1, false, served_len)
            .unwrap();
        assert!(
            none.0.is_empty(),
            "without min_one a batch past the budget is not served"
        );
        let two = topic
            .entries_from(0, 0, 2 * len + len / 2, false, served_len)
            .unwrap();
        assert_eq!((two.0.len(), two.1), (2, 2 * len), "whole batches only");
    }

    #[test]
    fn a_partition_listed_twice_is_read_once_in_its_first_place_with_its_last_offset() {
        use kafka_protocol::messages::TopicName;
        use kafka_protocol::protocol::StrBytes;
        let topic = |name: &str, partitions: &[(i32, i64)]| {
            FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(name.to_string())))
                .with_partitions(
                    partitions
                        .iter()
                        .map(|&(p, offset)| {
                            FetchPartition::default()
                                .with_partition(p)
                                .with_fetch_offset(offset)
                        })
                        .collect(),
                )
        };
        let request = FetchRequest::default().with_topics(vec![
            topic("a", &[(0, 1), (1, 1), (0, 2)]),
            topic("b", &[(0, 1)]),
            topic("a", &[(1, 3), (2, 1)]),
        ]);
        let listed: Vec<(&str, i32, i64)> = distinct_partitions(&request)
            .into_iter()
            .map(|(t, p)| (t.topic.as_str(), p.partition, p.fetch_offset))
            .collect();
        assert_eq!(
            listed,
            vec![("a", 0, 2), ("a", 1, 3), ("b", 0, 1), ("a", 2, 1)]
        );
    }
}

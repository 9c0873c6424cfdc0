//! Fetch: the stored batches served back as they arrived.
//!
//! A Kafka producer's batch goes out with its original compression and
//! boundaries; only its base offset (the one the broker assigned) and its
//! partition leader epoch are written over, as Kafka does, and neither is
//! covered by the CRC. Frame-protocol messages, which arrived without a Kafka
//! batch, are encoded into one uncompressed RecordBatch v2 per append.
//!
//! A fetch from an offset inside a batch returns that whole batch (clients
//! skip the records before their offset). The sizes follow KIP-74: the first
//! partition of the response that has data returns at least one batch, even
//! one larger than the limits; after that only whole batches within both the
//! partition's `partition_max_bytes` and what is left of `max_bytes`. A fetch
//! that finds less than `min_bytes` waits for an append, up to `max_wait_ms`
//! (at most one second), and looks again whenever one arrives.

use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_request::FetchRequest;
use kafka_protocol::messages::fetch_response::{
    FetchResponse, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use tokio::time::Instant;

use super::context::Ctx;
use crate::store::{EntryBody, LogEntry};

/// The longest a fetch with too little to return waits.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// Bytes of a RecordBatch v2 header.
const BATCH_HEADER_LEN: usize = 61;

/// Whether the request reads `partition` of `topic` (each `None` = any), for fault rules.
pub(crate) fn touches(request: &FetchRequest, topic: Option<&str>, partition: Option<u32>) -> bool {
    request.topics.iter().any(|t| {
        t.partitions.iter().any(|p| {
            super::context::scope_covers((topic, partition), t.topic.as_str(), p.partition)
        })
    })
}

/// Answers a Fetch request, waiting for appends while it has less than `min_bytes`.
pub(crate) async fn handle(request: FetchRequest, version: i16, ctx: &Ctx<'_>) -> FetchResponse {
    let wait = Duration::from_millis(request.max_wait_ms.max(0) as u64).min(MAX_WAIT);
    let deadline = Instant::now() + wait;
    let min_bytes = usize::try_from(request.min_bytes).unwrap_or(0).max(1);
    loop {
        // Made before looking, so that an append right after the look still wakes us.
        let waiter = ctx.state.store.appended().waiter();
        let (response, bytes) = answer(&request, version, ctx);
        if bytes >= min_bytes || Instant::now() >= deadline {
            return response;
        }
        if tokio::time::timeout_at(deadline, waiter.appended())
            .await
            .is_err()
        {
            return answer(&request, version, ctx).0;
        }
    }
}

/// The response as the log stands, and how many record bytes it carries.
fn answer(request: &FetchRequest, version: i16, ctx: &Ctx<'_>) -> (FetchResponse, usize) {
    let mut budget = usize::try_from(request.max_bytes).unwrap_or(0);
    let mut total = 0usize;
    let responses = request
        .topics
        .iter()
        .map(|topic| {
            let log = ctx.state.store.topic(&topic.topic);
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let mut data = PartitionData::default().with_partition_index(p.partition);
                    let Some(log) = &log else {
                        return data.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let Ok(index) = u32::try_from(p.partition) else {
                        return data.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let Ok(high_watermark) = log.high_watermark(index) else {
                        return data.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    if ctx.state.cluster.leader(log.name(), index) != ctx.node_id {
                        return data.with_error_code(ResponseError::NotLeaderOrFollower.code());
                    }
                    data = data
                        .with_high_watermark(high_watermark)
                        .with_last_stable_offset(high_watermark);
                    if version >= 5 {
                        data = data.with_log_start_offset(0);
                    }
                    if p.fetch_offset < 0 || p.fetch_offset > high_watermark {
                        return data.with_error_code(ResponseError::OffsetOutOfRange.code());
                    }
                    let limit = usize::try_from(p.partition_max_bytes)
                        .unwrap_or(0)
                        .min(budget);
                    // KIP-74: only the first partition with data may exceed the limits.
                    let min_one = total == 0;
                    let (entries, size) = log
                        .entries_from(index, p.fetch_offset, limit, min_one, served_len)
                        .unwrap_or_default();
                    budget = budget.saturating_sub(size);
                    total += size;
                    data.with_records(Some(encode(&entries, size)))
                })
                .collect();
            FetchableTopicResponse::default()
                .with_topic(topic.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    (FetchResponse::default().with_responses(responses), total)
}

/// The bytes an entry takes in a response: a stored Kafka batch exactly; frame
/// messages as an estimate of their encoding (header, plus per record its
/// varints and fields).
fn served_len(entry: &LogEntry) -> usize {
    match &entry.body {
        EntryBody::Kafka(batch) => batch.bytes.len(),
        EntryBody::Frame(records) => {
            BATCH_HEADER_LEN
                + records
                    .iter()
                    .map(|r| {
                        24 + r.key.as_ref().map_or(0, Bytes::len)
                            + r.value.as_ref().map_or(0, Bytes::len)
                            + r.headers
                                .iter()
                                .map(|h| 10 + h.key.len() + h.value.as_ref().map_or(0, Bytes::len))
                                .sum::<usize>()
                    })
                    .sum::<usize>()
        }
    }
}

/// The record set of a partition's response: the entries one after another.
fn encode(entries: &[LogEntry], size: usize) -> Bytes {
    let mut out = BytesMut::with_capacity(size);
    for entry in entries {
        match &entry.body {
            EntryBody::Kafka(batch) => {
                // Base offset and leader epoch as the broker assigned them; the
                // batch length between them and everything after as received.
                out.put_i64(entry.base_offset);
                out.put_slice(&batch.bytes[8..12]);
                out.put_i32(entry.leader_epoch);
                out.put_slice(&batch.bytes[16..]);
            }
            EntryBody::Frame(_) => encode_frame_entry(entry, &mut out),
        }
    }
    out.freeze()
}

/// Frame messages as one uncompressed RecordBatch v2 at their offsets.
fn encode_frame_entry(entry: &LogEntry, out: &mut BytesMut) {
    let EntryBody::Frame(messages) = &entry.body else {
        return;
    };
    let records: Vec<Record> = messages
        .iter()
        .enumerate()
        .map(|(i, r)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: entry.leader_epoch,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: entry.base_offset + i as i64,
            // The encoder starts a new batch whenever offset − sequence changes;
            // this keeps one batch, with base sequence −1 (none).
            sequence: i as i32 - 1,
            timestamp: r.timestamp.unwrap_or(entry.receive_time),
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r
                .headers
                .iter()
                .map(|h| (StrBytes::from_string(h.key.clone()), h.value.clone()))
                .collect(),
        })
        .collect();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    let start = out.len();
    if let Err(e) = RecordBatchEncoder::encode(out, &records, &options) {
        tracing::error!(base_offset = entry.base_offset, error = %e, "cannot encode frame messages for a fetch");
        out.truncate(start);
    }
}

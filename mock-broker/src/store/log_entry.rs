//! One entry of a partition's log: the batch one append brought, kept as it
//! arrived, with the index fields that reads, offset lookups and Fetch need.
//!
//! A Kafka producer's RecordBatch v2 is kept as the bytes it sent (a `Bytes`
//! slice of the request, compressed if it was), so nothing is copied or
//! re-encoded on the way in, and Fetch can serve it back as it is. Its records
//! are decoded only when somebody reads them. Messages that came over the frame
//! protocol are kept as the decoded messages they arrived as.

use std::sync::Arc;

use bytes::{Buf, Bytes};

use super::stored_record::{ClientInfo, NewRecord, ProducerInfo, StoredRecord};
use crate::record_batch::{BatchRecord, Summary, parse_batches};

/// What an entry holds.
#[derive(Debug, Clone)]
pub(crate) enum EntryBody {
    /// A Kafka RecordBatch v2 as the producer sent it, with the base offset and
    /// partition leader epoch the broker assigned written over the producer's,
    /// as Kafka stores it (neither is covered by the CRC).
    Kafka(KafkaBatch),
    /// Messages that came over the frame protocol, in offset order.
    Frame(Arc<[NewRecord]>),
}

/// A stored Kafka batch and the header fields the broker reads without decoding it.
#[derive(Debug, Clone)]
pub(crate) struct KafkaBatch {
    /// The whole batch, header included, as received.
    pub(crate) bytes: Bytes,
    /// Producer id, epoch and base sequence, when an idempotent producer set them.
    pub(crate) producer: Option<(i64, i16, i32)>,
}

/// One batch of a partition, at the offsets the broker gave it.
#[derive(Debug, Clone)]
pub(crate) struct LogEntry {
    /// The offset of its first record.
    pub(crate) base_offset: i64,
    /// How many records it holds (at least one).
    pub(crate) record_count: u32,
    /// The largest record timestamp (the producer's, else the receive time), and
    /// the offset of the first record that has it.
    pub(crate) max_timestamp: (i64, i64),
    /// When the broker received it, ms since the Unix epoch.
    pub(crate) receive_time: i64,
    /// The partition's leader epoch when it was appended, as Kafka stamps a
    /// batch; 0 for frame messages (the frame protocol has no leaders).
    pub(crate) leader_epoch: i32,
    /// Who sent it.
    pub(crate) client: Arc<ClientInfo>,
    /// The records.
    pub(crate) body: EntryBody,
}

impl LogEntry {
    /// An entry for a validated Kafka batch whose records add up to `summary`.
    pub(crate) fn kafka(
        bytes: Bytes,
        summary: &Summary,
        base_offset: i64,
        leader_epoch: i32,
        receive_time: i64,
        client: &Arc<ClientInfo>,
    ) -> LogEntry {
        let header = KafkaHeader::read(&bytes);
        let (max, index) = summary.max_timestamp;
        LogEntry {
            base_offset,
            record_count: header.record_count,
            max_timestamp: (max, base_offset + i64::from(index)),
            receive_time,
            leader_epoch,
            client: client.clone(),
            body: EntryBody::Kafka(KafkaBatch {
                bytes,
                producer: (header.producer_id >= 0).then_some((
                    header.producer_id,
                    header.producer_epoch,
                    header.base_sequence,
                )),
            }),
        }
    }

    /// An entry for messages that came over the frame protocol (at least one).
    pub(crate) fn frame(
        records: Vec<NewRecord>,
        base_offset: i64,
        receive_time: i64,
        client: &Arc<ClientInfo>,
    ) -> LogEntry {
        let max_timestamp = first_max(
            records.iter().map(|r| r.timestamp.unwrap_or(receive_time)),
            base_offset,
        );
        let records = compact(records);
        LogEntry {
            base_offset,
            record_count: records.len() as u32,
            max_timestamp,
            receive_time,
            leader_epoch: 0,
            client: client.clone(),
            body: EntryBody::Frame(records.into()),
        }
    }

    /// The memory it takes, as the store's cap counts it: the batch's bytes
    /// (or the messages' fields and their structs) and the entry itself.
    pub(crate) fn memory(&self) -> u64 {
        let body = match &self.body {
            EntryBody::Kafka(batch) => batch.bytes.len(),
            EntryBody::Frame(records) => records.iter().map(new_record_memory).sum(),
        };
        (body + ENTRY_OVERHEAD) as u64
    }

    /// The memory a Kafka batch of `len` bytes will take once appended.
    pub(crate) fn kafka_memory(len: usize) -> u64 {
        (len + ENTRY_OVERHEAD) as u64
    }

    /// The memory frame messages will take once appended.
    pub(crate) fn frame_memory(records: &[NewRecord]) -> u64 {
        (records.iter().map(new_record_memory).sum::<usize>() + ENTRY_OVERHEAD) as u64
    }

    /// The offset after its last record.
    pub(crate) fn next_offset(&self) -> i64 {
        self.base_offset + i64::from(self.record_count)
    }

    /// Its records from `from` on (all of them when `from` is at or before the
    /// base offset), decoded, as tests and the admin API read them.
    pub(crate) fn records_from(&self, partition: u32, from: i64) -> Vec<StoredRecord> {
        let skip = usize::try_from(from - self.base_offset).unwrap_or(0);
        match &self.body {
            EntryBody::Frame(records) => records
                .iter()
                .enumerate()
                .skip(skip)
                .map(|(i, r)| StoredRecord {
                    partition,
                    offset: self.base_offset + i as i64,
                    timestamp: r.timestamp,
                    receive_time: self.receive_time,
                    key: r.key.clone(),
                    value: r.value.clone(),
                    headers: r.headers.clone(),
                    producer: r.producer,
                    client: self.client.clone(),
                })
                .collect(),
            EntryBody::Kafka(batch) => self
                .decode(batch)
                .into_iter()
                .enumerate()
                .skip(skip)
                .map(|(i, r)| self.kafka_record(batch, partition, i, r))
                .collect(),
        }
    }

    /// The first record stamped at or after `timestamp` (the producer's
    /// timestamp, else the receive time), as (timestamp, offset).
    pub(crate) fn first_at_or_after(&self, timestamp: i64) -> Option<(i64, i64)> {
        if self.max_timestamp.0 < timestamp {
            return None;
        }
        let stamps: Vec<i64> = match &self.body {
            EntryBody::Frame(records) => records
                .iter()
                .map(|r| r.timestamp.unwrap_or(self.receive_time))
                .collect(),
            EntryBody::Kafka(batch) => self.decode(batch).iter().map(|r| r.timestamp).collect(),
        };
        stamps
            .into_iter()
            .enumerate()
            .find(|&(_, stamp)| stamp >= timestamp)
            .map(|(i, stamp)| (stamp, self.base_offset + i as i64))
    }

    fn kafka_record(
        &self,
        batch: &KafkaBatch,
        partition: u32,
        index: usize,
        record: BatchRecord,
    ) -> StoredRecord {
        StoredRecord {
            partition,
            offset: self.base_offset + index as i64,
            timestamp: Some(record.timestamp),
            receive_time: self.receive_time,
            key: record.key,
            value: record.value,
            headers: record.headers,
            producer: batch.producer.map(|(id, epoch, base)| ProducerInfo {
                id,
                epoch,
                sequence: if base < 0 {
                    -1
                } else {
                    base.wrapping_add(index as i32)
                },
            }),
            client: self.client.clone(),
        }
    }

    /// A stored Kafka batch's records. The batch passed validation when it was
    /// appended, within `max_decompressed_bytes` (a `u32`), so it decodes the
    /// same way now.
    fn decode(&self, batch: &KafkaBatch) -> Vec<BatchRecord> {
        match parse_batches(batch.bytes.clone(), u32::MAX as usize) {
            Ok(mut batches) if batches.len() == 1 => batches.pop().expect("one batch").records,
            Ok(batches) => {
                tracing::error!(
                    base_offset = self.base_offset,
                    batches = batches.len(),
                    "a stored batch decodes to more than one batch; its records are not shown"
                );
                Vec::new()
            }
            Err(e) => {
                tracing::error!(base_offset = self.base_offset, error = %e, "a stored batch no longer decodes; its records are not shown");
                Vec::new()
            }
        }
    }
}

/// The header fields of a RecordBatch v2 the index keeps.
struct KafkaHeader {
    record_count: u32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
}

impl KafkaHeader {
    /// Reads a validated batch's header (61 bytes at least).
    fn read(bytes: &Bytes) -> KafkaHeader {
        let mut h = &bytes[43..];
        KafkaHeader {
            producer_id: h.get_i64(),
            producer_epoch: h.get_i16(),
            base_sequence: h.get_i32(),
            // Validated as positive.
            record_count: h.get_i32() as u32,
        }
    }
}

/// The largest of `stamps` and the offset of its first occurrence, counting from `base_offset`.
fn first_max(stamps: impl Iterator<Item = i64>, base_offset: i64) -> (i64, i64) {
    let mut best = (i64::MIN, base_offset);
    for (i, stamp) in stamps.enumerate() {
        // A later tie does not move it: Kafka answers with the first.
        if stamp > best.0 {
            best = (stamp, base_offset + i as i64);
        }
    }
    best
}

/// What an entry costs beyond its records: the entry, its place in the log,
/// the client's `Arc`.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<LogEntry>() + 16;

/// The memory of one frame message: its fields and its struct.
fn new_record_memory(r: &NewRecord) -> usize {
    std::mem::size_of::<NewRecord>()
        + r.key.as_ref().map_or(0, Bytes::len)
        + r.value.as_ref().map_or(0, Bytes::len)
        + r.headers
            .iter()
            .map(|h| {
                std::mem::size_of::<protocol::Header>()
                    + h.key.len()
                    + h.value.as_ref().map_or(0, Bytes::len)
            })
            .sum::<usize>()
}

/// The messages with every key, value and header value copied into one buffer
/// of their own, so that the entry keeps exactly its bytes and not the
/// connection's read buffer they were slices of.
fn compact(records: Vec<NewRecord>) -> Vec<NewRecord> {
    let total: usize = records
        .iter()
        .map(|r| {
            r.key.as_ref().map_or(0, Bytes::len)
                + r.value.as_ref().map_or(0, Bytes::len)
                + r.headers
                    .iter()
                    .map(|h| h.value.as_ref().map_or(0, Bytes::len))
                    .sum::<usize>()
        })
        .sum();
    let mut buffer = bytes::BytesMut::with_capacity(total);
    for r in &records {
        let fields = r.key.iter().chain(&r.value);
        let headers = r.headers.iter().filter_map(|h| h.value.as_ref());
        for field in fields.chain(headers) {
            buffer.extend_from_slice(field);
        }
    }
    let mut shared = buffer.freeze();
    records
        .into_iter()
        .map(|mut r| {
            let mut take = |field: &mut Option<Bytes>| {
                if let Some(bytes) = field {
                    *bytes = shared.split_to(bytes.len());
                }
            };
            take(&mut r.key);
            take(&mut r.value);
            for h in &mut r.headers {
                take(&mut h.value);
            }
            r
        })
        .collect()
}

//! One entry of a partition's log: the batch one append brought, with the
//! index fields that reads, offset lookups and Fetch need.
//!
//! Every entry is a RecordBatch v2. A Kafka producer's is kept as it sent it
//! (compressed if it was), served with the base offset and partition leader
//! epoch the broker assigned in place of the producer's, as Kafka stores it
//! (neither is covered by the CRC). A small batch is copied into bytes of its
//! own with those two fields written over; a large one is kept as the slice
//! of the request it arrived in, without a copy, and its first 16 bytes (base
//! offset, length, leader epoch) are kept apart, as served
//! ([`LogEntry::served`]). Messages that came over the
//! frame protocol (or appended through the Rust API) are written into
//! uncompressed batches (`record_batch::encode_batch`); a message without a
//! timestamp has -1 there, and reads as having none. Records are decoded only when somebody
//! reads them.

use std::sync::Arc;

use bytes::{Buf, Bytes};

use super::stored_record::{ClientInfo, ProducerInfo, StoredRecord};
use super::txn_index::TxnRecordState;
use crate::record_batch::{BatchRecord, RecordLimits, Summary, parse_batches};

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
    /// Who sent it.
    pub(crate) client: Arc<ClientInfo>,
    /// The batch, header included: as served when `head` is `None`; else as
    /// the producer sent it, its first 16 bytes served from `head`.
    pub(crate) bytes: Bytes,
    /// The batch's first 16 bytes as served (base offset, length, leader
    /// epoch), when `bytes` is the producer's own.
    pub(crate) head: Option<Bytes>,
    /// Producer id, epoch and base sequence, when an idempotent producer set them.
    pub(crate) producer: Option<(i64, i16, i32)>,
    /// Whether the broker wrote the batch from messages (frame protocol, Rust
    /// API), where a -1 timestamp means the message had none.
    pub(crate) written_here: bool,
    /// Whether the batch belongs to a transaction (attributes bit 4).
    pub(crate) transactional: bool,
    /// For a control batch (a transaction marker): whether it commits (`Some(true)`)
    /// or aborts (`Some(false)`); `None` for a batch of data.
    pub(crate) control: Option<bool>,
}

impl LogEntry {
    /// An entry for a validated batch (`bytes`, already carrying its base
    /// offset and leader epoch unless `head` carries them) whose records add
    /// up to `summary`; `written_here` when the broker wrote it from messages.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        bytes: Bytes,
        head: Option<Bytes>,
        summary: &Summary,
        base_offset: i64,
        receive_time: i64,
        client: &Arc<ClientInfo>,
        written_here: bool,
    ) -> LogEntry {
        let header = BatchFields::read(&bytes);
        let (max, index) = summary.max_timestamp;
        let mut entry = LogEntry {
            base_offset,
            record_count: header.record_count,
            max_timestamp: (max, base_offset + i64::from(index)),
            receive_time,
            client: client.clone(),
            bytes,
            head,
            producer: (header.producer_id >= 0).then_some((
                header.producer_id,
                header.producer_epoch,
                header.base_sequence,
            )),
            written_here,
            transactional: header.attributes & TRANSACTIONAL != 0,
            control: None,
        };
        if header.attributes & CONTROL != 0 {
            entry.control = Some(entry.marker_commits());
        }
        entry
    }

    /// Whether a control batch's record is a COMMIT marker (its key: version,
    /// then type 0 = ABORT, 1 = COMMIT).
    fn marker_commits(&self) -> bool {
        self.decode()
            .first()
            .and_then(|r| r.key.as_ref())
            .is_some_and(|key| key.len() >= 4 && i16::from_be_bytes([key[2], key[3]]) == 1)
    }

    /// The partition leader epoch the broker stamped on the batch (0 for
    /// batches written here).
    pub(crate) fn leader_epoch(&self) -> i32 {
        i32::from_be_bytes([
            self.bytes[12],
            self.bytes[13],
            self.bytes[14],
            self.bytes[15],
        ])
    }

    /// The memory it takes, as the store's cap counts it: the batch's bytes
    /// and the entry itself.
    pub(crate) fn memory(&self) -> u64 {
        Self::memory_of(self.bytes.len())
    }

    /// The memory a batch of `len` bytes will take once appended.
    pub(crate) fn memory_of(len: usize) -> u64 {
        (len + ENTRY_OVERHEAD) as u64
    }

    /// The batch as Fetch serves it, in one or two pieces, without a copy.
    pub(crate) fn served(&self) -> impl Iterator<Item = Bytes> {
        let (first, rest) = match &self.head {
            None => (self.bytes.clone(), None),
            Some(head) => (head.clone(), Some(self.bytes.slice(head.len()..))),
        };
        std::iter::once(first).chain(rest)
    }

    /// How many bytes the batch takes in a response.
    pub(crate) fn served_len(&self) -> usize {
        self.bytes.len()
    }

    /// The offset after its last record.
    pub(crate) fn next_offset(&self) -> i64 {
        self.base_offset + i64::from(self.record_count)
    }

    /// Its records from `from` on (all of them when `from` is at or before the
    /// base offset), decoded, as tests and the admin API read them.
    pub(crate) fn records_from(&self, partition: u32, from: i64) -> Vec<StoredRecord> {
        let skip = usize::try_from(from - self.base_offset).unwrap_or(0);
        self.decode()
            .into_iter()
            .enumerate()
            .skip(skip)
            .map(|(i, r)| self.stored_record(partition, i, r))
            .collect()
    }

    /// The first record stamped at or after `timestamp` (the producer's
    /// timestamp, else the receive time), as (timestamp, offset).
    pub(crate) fn first_at_or_after(&self, timestamp: i64) -> Option<(i64, i64)> {
        if self.max_timestamp.0 < timestamp {
            return None;
        }
        self.decode()
            .iter()
            .map(|r| self.stamp(r.timestamp))
            .enumerate()
            .find(|&(_, stamp)| stamp >= timestamp)
            .map(|(i, stamp)| (stamp, self.base_offset + i as i64))
    }

    /// A record's timestamp for offset lookups: a message the broker wrote
    /// without one counts with the batch's receive time.
    fn stamp(&self, timestamp: i64) -> i64 {
        if self.written_here && timestamp < 0 {
            self.receive_time
        } else {
            timestamp
        }
    }

    fn stored_record(&self, partition: u32, index: usize, record: BatchRecord) -> StoredRecord {
        let timestamp = if self.written_here && record.timestamp < 0 {
            None
        } else {
            Some(record.timestamp)
        };
        StoredRecord {
            partition,
            offset: self.base_offset + index as i64,
            timestamp,
            receive_time: self.receive_time,
            key: record.key,
            value: record.value,
            headers: record.headers,
            producer: self.producer.map(|(id, epoch, base)| ProducerInfo {
                id,
                epoch,
                sequence: if base < 0 {
                    -1
                } else {
                    base.wrapping_add(index as i32)
                },
            }),
            client: self.client.clone(),
            // A marker says its outcome; a record of a transaction is open until the
            // partition's index (read at read time) says otherwise.
            transaction: match self.control {
                Some(true) => Some(TxnRecordState::Committed),
                Some(false) => Some(TxnRecordState::Aborted),
                None => self.transactional.then_some(TxnRecordState::Open),
            },
            control: self.control.is_some(),
        }
    }

    /// The batch's records. It passed validation when it was appended, within
    /// `max_decompressed_bytes` (a `u32`), so it decodes the same way now.
    fn decode(&self) -> Vec<BatchRecord> {
        match parse_batches(self.bytes.clone(), u32::MAX as usize, RecordLimits::NONE) {
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
struct BatchFields {
    attributes: i16,
    record_count: u32,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
}

impl BatchFields {
    /// Reads a validated batch's header (61 bytes at least).
    fn read(bytes: &Bytes) -> BatchFields {
        let attributes = i16::from_be_bytes([bytes[21], bytes[22]]);
        let mut h = &bytes[43..];
        BatchFields {
            attributes,
            producer_id: h.get_i64(),
            producer_epoch: h.get_i16(),
            base_sequence: h.get_i32(),
            // Validated as positive.
            record_count: h.get_i32() as u32,
        }
    }
}

/// The attributes bit of a transactional batch.
const TRANSACTIONAL: i16 = 0x10;
/// The attributes bit of a control batch.
const CONTROL: i16 = 0x20;

/// What an entry costs beyond its batch: the entry, its place in the log,
/// the client's `Arc`.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<LogEntry>() + 16;

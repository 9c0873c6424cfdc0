//! The 61-byte header of a RecordBatch v2: its layout, the idempotent-producer
//! fields it carries, and rewriting those fields in a sealed batch.

use bytes::{BufMut, Bytes, BytesMut};

use crate::compression::Compression;

/// Bytes of a batch header, from the base offset to the record count.
pub const BATCH_HEADER_LEN: usize = 61;

/// Offset of the attributes field, where the CRC-covered part of a batch starts.
pub(crate) const CRC_START: usize = 21;

/// The idempotent-producer fields of a batch header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProducerFields {
    /// The producer id, or −1.
    pub producer_id: i64,
    /// The producer epoch, or −1.
    pub producer_epoch: i16,
    /// The first record's sequence number, or −1.
    pub base_sequence: i32,
}

impl ProducerFields {
    /// The fields of a producer that is not idempotent.
    pub const NONE: ProducerFields = ProducerFields {
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
    };
}

/// What a batch header says besides its CRC.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HeaderFields {
    /// The codec of the records that follow.
    pub(crate) compression: Compression,
    /// Bytes after the batch length field.
    pub(crate) batch_length: i32,
    /// How many records the batch holds.
    pub(crate) count: i32,
    /// The first record's timestamp, which the others are relative to.
    pub(crate) base_timestamp: i64,
    /// The latest record timestamp.
    pub(crate) max_timestamp: i64,
    /// The idempotent-producer fields.
    pub(crate) producer: ProducerFields,
}

/// Appends the 61-byte batch header, CRC left as 0 for the caller to fill in.
#[inline]
pub(crate) fn put_header(out: &mut BytesMut, fields: &HeaderFields) {
    out.put_i64(0); // base offset: assigned by the broker
    out.put_i32(fields.batch_length);
    out.put_i32(-1); // partition leader epoch
    out.put_i8(2); // magic
    out.put_u32(0); // CRC
    out.put_i16(fields.compression.attribute());
    out.put_i32(fields.count - 1);
    out.put_i64(fields.base_timestamp);
    out.put_i64(fields.max_timestamp);
    out.put_i64(fields.producer.producer_id);
    out.put_i16(fields.producer.producer_epoch);
    out.put_i32(fields.producer.base_sequence);
    out.put_i32(fields.count);
}

/// A sealed batch with other producer fields (after an epoch bump): a copy
/// with the producer id, epoch and base sequence rewritten and the CRC redone.
/// These fields sit before any compressed payload, so this works for every codec.
pub fn reseal(batch: &Bytes, producer: ProducerFields) -> Bytes {
    let mut copy = BytesMut::from(&batch[..]);
    copy[43..51].copy_from_slice(&producer.producer_id.to_be_bytes());
    copy[51..53].copy_from_slice(&producer.producer_epoch.to_be_bytes());
    copy[53..57].copy_from_slice(&producer.base_sequence.to_be_bytes());
    let crc = protocol::crc32c::crc32c(&copy[CRC_START..]);
    copy[17..21].copy_from_slice(&crc.to_be_bytes());
    copy.freeze()
}

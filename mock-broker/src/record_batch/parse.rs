//! Walking a RecordBatch v2 (magic 2): its header, CRC and records, checked against each other.
//!
//! The `kafka-protocol` crate decodes batches too, but it keeps only the last
//! of repeated header keys, ignores `last_offset_delta`, and does not check
//! that a batch's records fill it exactly. A mock broker that promises to
//! record exactly what was sent must reject every batch whose header
//! disagrees with its records, so the layout is walked here, over `Bytes`
//! slices of the request (no copy for uncompressed batches). The CRC-32C comes
//! from a crate; decompression, with a limit, is in `decompress.rs`.

use bytes::{Buf, Bytes};
use protocol::Header;

use super::decompress::{DecompressError, decompress};

/// Bytes of a batch header, from the base offset to the record count.
pub(crate) const HEADER_LEN: usize = 61;
/// Offset of the attributes field, where the CRC-covered part starts.
const CRC_START: usize = 21;

/// Why a batch was refused, and the Kafka error that says so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum BatchError {
    /// The bytes are not a valid batch (CORRUPT_MESSAGE).
    #[error("{0}")]
    Corrupt(String),
    /// The batch is well formed but not one a producer may send (INVALID_RECORD).
    #[error("{0}")]
    Invalid(String),
    /// The batch uses the v0/v1 message format (UNSUPPORTED_FOR_MESSAGE_FORMAT).
    #[error("message format v{0} is not supported; producers must send RecordBatch v2")]
    OldFormat(i8),
    /// The records decompress past `max_decompressed_bytes` (MESSAGE_TOO_LARGE).
    #[error("{0}")]
    TooLarge(String),
}

/// The fields of a batch header that recording and idempotence need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchHeader {
    pub(crate) attributes: i16,
    pub(crate) last_offset_delta: i32,
    pub(crate) base_timestamp: i64,
    pub(crate) max_timestamp: i64,
    pub(crate) producer_id: i64,
    pub(crate) producer_epoch: i16,
    pub(crate) base_sequence: i32,
    pub(crate) record_count: i32,
}

impl BatchHeader {
    /// The compression codec: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub(crate) fn codec(&self) -> i16 {
        self.attributes & 0x7
    }

    pub(crate) fn is_transactional(&self) -> bool {
        self.attributes & 0x10 != 0
    }

    pub(crate) fn is_control(&self) -> bool {
        self.attributes & 0x20 != 0
    }
}

/// One record of a batch, with absolute timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchRecord {
    pub(crate) timestamp: i64,
    pub(crate) key: Option<Bytes>,
    pub(crate) value: Option<Bytes>,
    pub(crate) headers: Vec<Header>,
}

/// A validated batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Batch {
    pub(crate) header: BatchHeader,
    pub(crate) records: Vec<BatchRecord>,
    /// The whole batch as received (compressed if it was), for serving it back later.
    pub(crate) raw: Bytes,
}

/// Splits `data` (a produce request's partition records) into validated
/// batches, each decompressing to at most `max_decompressed` bytes.
///
/// # Errors
/// A [`BatchError`] naming the first thing wrong; nothing of `data` should be recorded then.
pub(crate) fn parse_batches(
    mut data: Bytes,
    max_decompressed: usize,
) -> Result<Vec<Batch>, BatchError> {
    let mut batches = Vec::new();
    while data.has_remaining() {
        let index = batches.len();
        // Whatever follows a valid batch and is not one is corruption, not an old format.
        batches.push(
            parse_batch(&mut data, max_decompressed).map_err(|e| match e {
                e if index == 0 => e,
                BatchError::TooLarge(reason) => {
                    BatchError::TooLarge(format!("batch {index}: {reason}"))
                }
                e => BatchError::Corrupt(format!("batch {index}: {e}")),
            })?,
        );
    }
    if batches.is_empty() {
        return Err(BatchError::Invalid(
            "the partition's record set is empty".into(),
        ));
    }
    Ok(batches)
}

fn corrupt(reason: impl Into<String>) -> BatchError {
    BatchError::Corrupt(reason.into())
}

fn parse_batch(data: &mut Bytes, max_decompressed: usize) -> Result<Batch, BatchError> {
    if data.len() < 17 {
        return Err(corrupt(format!(
            "{} bytes cannot hold a batch header ({HEADER_LEN} bytes)",
            data.len()
        )));
    }
    let magic = data[16] as i8;
    if magic != 2 {
        return Err(BatchError::OldFormat(magic));
    }
    if data.len() < HEADER_LEN {
        return Err(corrupt(format!(
            "{} bytes cannot hold a batch header ({HEADER_LEN} bytes)",
            data.len()
        )));
    }
    let batch_length = i32::from_be_bytes(data[8..12].try_into().expect("4 bytes"));
    let total = usize::try_from(batch_length)
        .ok()
        .and_then(|l| l.checked_add(12))
        .filter(|&t| t >= HEADER_LEN)
        .ok_or_else(|| {
            corrupt(format!(
                "batch length {batch_length} is smaller than a batch header"
            ))
        })?;
    if total > data.len() {
        return Err(corrupt(format!(
            "batch length {batch_length} runs past the {} bytes of the record set",
            data.len() - 12
        )));
    }
    let raw = data.split_to(total);
    let mut h = raw.clone();
    let _base_offset = h.get_i64();
    let _batch_length = h.get_i32();
    let _partition_leader_epoch = h.get_i32();
    let _magic = h.get_i8();
    let crc = h.get_u32();
    let actual = crc32c::crc32c(&raw[CRC_START..]);
    if crc != actual {
        return Err(corrupt(format!(
            "CRC mismatch: the batch says {crc:#010x}, its bytes give {actual:#010x}"
        )));
    }
    let header = BatchHeader {
        attributes: h.get_i16(),
        last_offset_delta: h.get_i32(),
        base_timestamp: h.get_i64(),
        max_timestamp: h.get_i64(),
        producer_id: h.get_i64(),
        producer_epoch: h.get_i16(),
        base_sequence: h.get_i32(),
        record_count: h.get_i32(),
    };
    if header.record_count <= 0 {
        return Err(BatchError::Invalid(format!(
            "record count {} is not positive",
            header.record_count
        )));
    }
    if header.last_offset_delta != header.record_count - 1 {
        return Err(corrupt(format!(
            "last offset delta {} disagrees with record count {}",
            header.last_offset_delta, header.record_count
        )));
    }
    let body = decompress(header.codec(), h, max_decompressed).map_err(|e| match e {
        DecompressError::TooLarge { .. } => BatchError::TooLarge(e.to_string()),
        e => corrupt(e.to_string()),
    })?;
    let records = parse_records(body, &header)?;
    Ok(Batch {
        header,
        records,
        raw,
    })
}

fn parse_records(mut body: Bytes, header: &BatchHeader) -> Result<Vec<BatchRecord>, BatchError> {
    let count = header.record_count as usize;
    // A record takes at least 7 bytes: never reserve more than the body can hold.
    let mut records = Vec::with_capacity(count.min(body.len() / 7 + 1));
    for i in 0..count {
        let at = |what: &str| format!("record {i}: {what}");
        let length = read_varint(&mut body).map_err(|e| corrupt(at(&e)))?;
        let length = usize::try_from(length)
            .ok()
            .filter(|&l| l <= body.len())
            .ok_or_else(|| {
                corrupt(at(&format!(
                    "length {length} runs past the {} bytes left in the batch",
                    body.len()
                )))
            })?;
        let mut r = body.split_to(length);
        let record = parse_record(&mut r, header, i).map_err(|e| corrupt(at(&e)))?;
        if r.has_remaining() {
            return Err(corrupt(at(&format!(
                "{} bytes left over inside its declared length",
                r.len()
            ))));
        }
        records.push(record);
    }
    if body.has_remaining() {
        return Err(corrupt(format!(
            "{} bytes after the last of the {count} records the header declares",
            body.len()
        )));
    }
    Ok(records)
}

fn parse_record(r: &mut Bytes, header: &BatchHeader, index: usize) -> Result<BatchRecord, String> {
    if !r.has_remaining() {
        return Err("empty".into());
    }
    let _attributes = r.get_i8();
    let timestamp_delta = read_varlong(r)?;
    let offset_delta = read_varint(r)?;
    if offset_delta != index as i32 {
        return Err(format!(
            "offset delta {offset_delta} where {index} was expected"
        ));
    }
    let key = read_nullable_bytes(r, "key")?;
    let value = read_nullable_bytes(r, "value")?;
    let header_count = read_varint(r)?;
    if header_count < 0 || header_count as usize > r.len() {
        return Err(format!("header count {header_count} is invalid"));
    }
    let mut headers = Vec::with_capacity(header_count as usize);
    for h in 0..header_count {
        let key = read_nullable_bytes(r, "header key")?
            .ok_or_else(|| format!("header {h} has a null key"))?;
        let key = String::from_utf8(key.to_vec())
            .map_err(|_| format!("header {h} key is not valid UTF-8"))?;
        let value = read_nullable_bytes(r, "header value")?;
        headers.push(Header { key, value });
    }
    Ok(BatchRecord {
        timestamp: header.base_timestamp.wrapping_add(timestamp_delta),
        key,
        value,
        headers,
    })
}

fn read_nullable_bytes(r: &mut Bytes, what: &str) -> Result<Option<Bytes>, String> {
    let len = read_varint(r)?;
    match len {
        -1 => Ok(None),
        len if len >= 0 && len as usize <= r.len() => Ok(Some(r.split_to(len as usize))),
        len => Err(format!(
            "{what} length {len} is invalid ({} bytes left)",
            r.len()
        )),
    }
}

/// A zigzag varint of at most 5 bytes.
fn read_varint(r: &mut Bytes) -> Result<i32, String> {
    let raw = read_unsigned(r, 5)?;
    let raw = u32::try_from(raw).map_err(|_| "varint overflows 32 bits".to_string())?;
    Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
}

/// A zigzag varlong of at most 10 bytes.
fn read_varlong(r: &mut Bytes) -> Result<i64, String> {
    let raw = read_unsigned(r, 10)?;
    Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
}

fn read_unsigned(r: &mut Bytes, max_bytes: usize) -> Result<u64, String> {
    let mut value = 0u64;
    for i in 0..max_bytes {
        if !r.has_remaining() {
            return Err("truncated varint".into());
        }
        let byte = r.get_u8();
        value |= u64::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(value);
        }
    }
    Err(format!("varint longer than {max_bytes} bytes"))
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

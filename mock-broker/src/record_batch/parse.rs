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
use super::limits::RecordLimits;

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
    /// The batch holds more records or headers than a [`RecordLimits`] allows (INVALID_RECORD).
    #[error("{reason}")]
    OverLimit {
        /// The limit's configuration key.
        limit: &'static str,
        /// What passed it.
        reason: String,
    },
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

/// A batch checked record by record without decoding it: what appending it needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ValidBatch {
    pub(crate) header: BatchHeader,
    /// The whole batch as received (compressed if it was).
    pub(crate) raw: Bytes,
    /// What its records add up to.
    pub(crate) summary: Summary,
}

/// What a batch's records add up to, gathered while they are checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Summary {
    /// The largest record timestamp, and the index of the first record with it.
    pub(crate) max_timestamp: (i64, u32),
    /// Bytes of keys, values, header keys and header values.
    pub(crate) payload_bytes: u64,
}

/// Splits `data` (a produce request's partition records) into validated
/// batches, each decompressing to at most `max_decompressed` bytes and
/// within `limits`, with their records decoded.
///
/// # Errors
/// A [`BatchError`] naming the first thing wrong; nothing of `data` should be recorded then.
pub(crate) fn parse_batches(
    data: Bytes,
    max_decompressed: usize,
    limits: RecordLimits,
) -> Result<Vec<Batch>, BatchError> {
    split_batches(data, max_decompressed, limits, |header, raw, body| {
        let records = decode_records(&body, &header, limits)?;
        Ok(Batch {
            header,
            records,
            raw,
        })
    })
}

/// Splits `data` into batches checked exactly as [`parse_batches`] checks
/// them, without building the records: what a produce needs, at a fraction
/// of the cost (no allocation and no reference counting per record).
///
/// # Errors
/// A [`BatchError`] naming the first thing wrong; nothing of `data` should be recorded then.
pub(crate) fn validate_batches(
    data: Bytes,
    max_decompressed: usize,
    limits: RecordLimits,
) -> Result<Vec<ValidBatch>, BatchError> {
    split_batches(data, max_decompressed, limits, |header, raw, body| {
        let summary = match scan_records(&body, &header, limits) {
            Some(summary) => summary,
            // Something is wrong (or unusual): the full walk says exactly what.
            None => {
                let mut summary = Summary {
                    max_timestamp: (i64::MIN, 0),
                    payload_bytes: 0,
                };
                walk_records(&body, &header, limits, |index, record| {
                    if record.timestamp > summary.max_timestamp.0 {
                        summary.max_timestamp = (record.timestamp, index as u32);
                    }
                    summary.payload_bytes += record.payload_bytes() as u64;
                })?;
                summary
            }
        };
        Ok(ValidBatch {
            header,
            raw,
            summary,
        })
    })
}

/// Splits `data` into batches, checking each one's header and CRC and
/// decompressing its records, then handing them to `build`.
fn split_batches<T>(
    mut data: Bytes,
    max_decompressed: usize,
    limits: RecordLimits,
    mut build: impl FnMut(BatchHeader, Bytes, Bytes) -> Result<T, BatchError>,
) -> Result<Vec<T>, BatchError> {
    let mut batches = Vec::new();
    while data.has_remaining() {
        let index = batches.len();
        // Whatever follows a valid batch and is not one is corruption, not an old format.
        let batch = parse_batch(&mut data, max_decompressed, limits)
            .and_then(|(header, raw, body)| build(header, raw, body))
            .map_err(|e| match e {
                e if index == 0 => e,
                BatchError::TooLarge(reason) => {
                    BatchError::TooLarge(format!("batch {index}: {reason}"))
                }
                BatchError::OverLimit { limit, reason } => BatchError::OverLimit {
                    limit,
                    reason: format!("batch {index}: {reason}"),
                },
                e => BatchError::Corrupt(format!("batch {index}: {e}")),
            })?;
        batches.push(batch);
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

/// One batch's header (checked against its CRC), its bytes as received, and
/// its records' bytes, decompressed.
fn parse_batch(
    data: &mut Bytes,
    max_decompressed: usize,
    limits: RecordLimits,
) -> Result<(BatchHeader, Bytes, Bytes), BatchError> {
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
    let actual = protocol::crc32c::crc32c(&raw[CRC_START..]);
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
    // From the header, before a byte is decompressed.
    if header.record_count as u32 > limits.records_per_batch {
        return Err(BatchError::OverLimit {
            limit: "max_records_per_batch",
            reason: format!(
                "the batch declares {} records; the limit max_records_per_batch is {}",
                header.record_count, limits.records_per_batch
            ),
        });
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
    Ok((header, raw, body))
}

/// One record of a batch as the walk finds it: slices of the records' bytes.
struct RecordView<'a> {
    timestamp: i64,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    /// The headers' bytes (`header_count` of them), already checked.
    headers: &'a [u8],
    header_count: usize,
    /// Bytes of header keys and values.
    header_bytes: usize,
}

impl RecordView<'_> {
    fn payload_bytes(&self) -> usize {
        self.key.map_or(0, <[u8]>::len) + self.value.map_or(0, <[u8]>::len) + self.header_bytes
    }
}

/// The records of `body`, as `Bytes` slices of it.
fn decode_records(
    body: &Bytes,
    header: &BatchHeader,
    limits: RecordLimits,
) -> Result<Vec<BatchRecord>, BatchError> {
    // A record takes at least 7 bytes: never reserve more than the body can hold.
    let mut records = Vec::with_capacity((header.record_count as usize).min(body.len() / 7 + 1));
    walk_records(body, header, limits, |_, view| {
        let mut headers = Vec::with_capacity(view.header_count);
        let mut r = Reader(view.headers);
        for _ in 0..view.header_count {
            // Checked by the walk: a UTF-8 key that is not null, then a value.
            let key = r
                .nullable_bytes("header key")
                .ok()
                .flatten()
                .unwrap_or_default();
            let value = r.nullable_bytes("header value").ok().flatten();
            headers.push(Header {
                key: String::from_utf8_lossy(key).into_owned(),
                value: value.map(|v| body.slice_ref(v)),
            });
        }
        records.push(BatchRecord {
            timestamp: view.timestamp,
            key: view.key.map(|k| body.slice_ref(k)),
            value: view.value.map(|v| body.slice_ref(v)),
            headers,
        });
    })?;
    Ok(records)
}

/// The fast path of [`validate_batches`]: the same checks as [`walk_records`], in one pass over
/// `body` by index, summing what the summary needs as it goes, without building a view of each
/// record or any error. `None` at the first thing that does not pass (or that it does not handle
/// itself), and the caller runs the full walk, which names it; `Some` only where the full walk
/// would accept every record and sum the same summary (the parse tests check both agree on
/// every batch they build, valid or corrupt).
///
/// It exists for speed: at 100-byte records the full walk was about a quarter of the broker's
/// CPU per message.
fn scan_records(body: &[u8], header: &BatchHeader, limits: RecordLimits) -> Option<Summary> {
    let mut pos = 0;
    let mut headers_left = u64::from(limits.headers_per_batch);
    let mut summary = Summary {
        max_timestamp: (i64::MIN, 0),
        payload_bytes: 0,
    };
    for index in 0..header.record_count as usize {
        let length = usize::try_from(zigzag32(varint_at(body, &mut pos, 5)?)?).ok()?;
        let end = pos.checked_add(length)?;
        let record = body.get(pos..end)?;
        pos = end;
        // Attributes (one byte, unread), then the deltas.
        let mut at = 1;
        if record.is_empty() {
            return None;
        }
        let timestamp_delta = zigzag64(varint_at(record, &mut at, 10)?);
        if zigzag32(varint_at(record, &mut at, 5)?)? != index as i32 {
            return None;
        }
        let key = nullable_length(record, &mut at)?;
        let value = nullable_length(record, &mut at)?;
        let header_count = zigzag32(varint_at(record, &mut at, 5)?)?;
        let header_count = u32::try_from(header_count).ok()?;
        if header_count as usize > record.len() - at || header_count > limits.headers_per_record {
            return None;
        }
        let mut header_bytes = 0;
        for _ in 0..header_count {
            let key_length = usize::try_from(zigzag32(varint_at(record, &mut at, 5)?)?).ok()?;
            let key = record.get(at..at.checked_add(key_length)?)?;
            std::str::from_utf8(key).ok()?;
            at += key_length;
            header_bytes += key_length + nullable_length(record, &mut at)?;
        }
        headers_left = headers_left.checked_sub(u64::from(header_count))?;
        if at != record.len() {
            return None;
        }
        let timestamp = header.base_timestamp.wrapping_add(timestamp_delta);
        if timestamp > summary.max_timestamp.0 {
            summary.max_timestamp = (timestamp, index as u32);
        }
        summary.payload_bytes += (key + value + header_bytes) as u64;
    }
    (pos == body.len()).then_some(summary)
}

/// The unsigned varint of at most `max_bytes` bytes at `*pos` of `buf`, moving `*pos` past it;
/// `None` if it is truncated or longer. Decoded as [`Reader::unsigned`] decodes it.
#[inline(always)]
fn varint_at(buf: &[u8], pos: &mut usize, max_bytes: usize) -> Option<u64> {
    let first = *buf.get(*pos)?;
    if first & 0x80 == 0 {
        *pos += 1;
        return Some(u64::from(first));
    }
    let second = *buf.get(*pos + 1)?;
    if second & 0x80 == 0 {
        *pos += 2;
        return Some(u64::from(first & 0x7F) | u64::from(second) << 7);
    }
    let mut reader = Reader(buf.get(*pos..)?);
    let value = reader.unsigned_long(max_bytes).ok()?;
    *pos = buf.len() - reader.0.len();
    Some(value)
}

/// A zigzag varint's value, `None` past 32 bits (as [`Reader::varint`] refuses it).
#[inline(always)]
fn zigzag32(raw: u64) -> Option<i32> {
    let raw = u32::try_from(raw).ok()?;
    Some(((raw >> 1) as i32) ^ -((raw & 1) as i32))
}

/// A zigzag varlong's value.
#[inline(always)]
fn zigzag64(raw: u64) -> i64 {
    ((raw >> 1) as i64) ^ -((raw & 1) as i64)
}

/// The length of the nullable bytes at `*at` (0 for null), moving `*at` past them; `None` for a
/// negative length other than -1 or one that runs past the end of `record`.
#[inline(always)]
fn nullable_length(record: &[u8], at: &mut usize) -> Option<usize> {
    match zigzag32(varint_at(record, at, 5)?)? {
        -1 => Some(0),
        length => {
            let length = usize::try_from(length).ok()?;
            if length > record.len() - *at {
                return None;
            }
            *at += length;
            Some(length)
        }
    }
}

/// Checks every record of `body` against the batch header and `limits`, and
/// hands each to `visit` with its index; every way the records can disagree
/// with the header (or with their own lengths) is refused.
fn walk_records<'a>(
    body: &'a [u8],
    header: &BatchHeader,
    limits: RecordLimits,
    mut visit: impl FnMut(usize, RecordView<'a>),
) -> Result<(), BatchError> {
    let count = header.record_count as usize;
    let mut rest = Reader(body);
    let mut headers_left = u64::from(limits.headers_per_batch);
    for i in 0..count {
        let at = |what: &str| format!("record {i}: {what}");
        let length = rest.varint().map_err(|e| corrupt(at(&e)))?;
        let length = usize::try_from(length)
            .ok()
            .filter(|&l| l <= rest.0.len())
            .ok_or_else(|| {
                corrupt(at(&format!(
                    "length {length} runs past the {} bytes left in the batch",
                    rest.0.len()
                )))
            })?;
        let mut r = Reader(rest.take(length));
        let view = read_record(&mut r, header, i, limits).map_err(|e| match e {
            RecordError::Corrupt(reason) => corrupt(at(&reason)),
            RecordError::OverLimit(reason) => BatchError::OverLimit {
                limit: "max_headers_per_record",
                reason: at(&reason),
            },
        })?;
        headers_left = headers_left
            .checked_sub(view.header_count as u64)
            .ok_or_else(|| BatchError::OverLimit {
                limit: "max_headers_per_batch",
                reason: format!(
                    "records 0 to {i} carry more headers than the limit max_headers_per_batch, {}",
                    limits.headers_per_batch
                ),
            })?;
        if !r.0.is_empty() {
            return Err(corrupt(at(&format!(
                "{} bytes left over inside its declared length",
                r.0.len()
            ))));
        }
        visit(i, view);
    }
    if !rest.0.is_empty() {
        return Err(corrupt(format!(
            "{} bytes after the last of the {count} records the header declares",
            rest.0.len()
        )));
    }
    Ok(())
}

/// Why a record was refused.
enum RecordError {
    /// Its bytes do not hold together.
    Corrupt(String),
    /// It carries more than a limit allows.
    OverLimit(String),
}

impl From<String> for RecordError {
    fn from(reason: String) -> Self {
        RecordError::Corrupt(reason)
    }
}

fn read_record<'a>(
    r: &mut Reader<'a>,
    header: &BatchHeader,
    index: usize,
    limits: RecordLimits,
) -> Result<RecordView<'a>, RecordError> {
    if r.0.is_empty() {
        return Err(RecordError::Corrupt("empty".into()));
    }
    let _attributes = r.take(1);
    let timestamp_delta = r.varlong()?;
    let offset_delta = r.varint()?;
    if offset_delta != index as i32 {
        return Err(format!("offset delta {offset_delta} where {index} was expected").into());
    }
    let key = r.nullable_bytes("key")?;
    let value = r.nullable_bytes("value")?;
    let header_count = r.varint()?;
    if header_count < 0 || header_count as usize > r.0.len() {
        return Err(RecordError::Corrupt(format!(
            "header count {header_count} is invalid"
        )));
    }
    if header_count as u32 > limits.headers_per_record {
        return Err(RecordError::OverLimit(format!(
            "{header_count} headers; the limit max_headers_per_record is {}",
            limits.headers_per_record
        )));
    }
    let headers_start = r.0;
    let mut header_bytes = 0;
    for h in 0..header_count {
        let key = r
            .nullable_bytes("header key")?
            .ok_or_else(|| format!("header {h} has a null key"))?;
        if std::str::from_utf8(key).is_err() {
            return Err(format!("header {h} key is not valid UTF-8").into());
        }
        let value = r.nullable_bytes("header value")?;
        header_bytes += key.len() + value.map_or(0, <[u8]>::len);
    }
    let headers = &headers_start[..headers_start.len() - r.0.len()];
    Ok(RecordView {
        timestamp: header.base_timestamp.wrapping_add(timestamp_delta),
        key,
        value,
        headers,
        header_count: header_count as usize,
        header_bytes,
    })
}

/// Reads the fields of a record from a slice, never past its end.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    /// The next `n` bytes (the caller checked there are that many).
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (taken, rest) = self.0.split_at(n);
        self.0 = rest;
        taken
    }

    #[inline(always)]
    fn nullable_bytes(&mut self, what: &str) -> Result<Option<&'a [u8]>, String> {
        let len = self.varint()?;
        match len {
            -1 => Ok(None),
            len if len >= 0 && len as usize <= self.0.len() => Ok(Some(self.take(len as usize))),
            len => Err(format!(
                "{what} length {len} is invalid ({} bytes left)",
                self.0.len()
            )),
        }
    }

    /// A zigzag varint of at most 5 bytes.
    #[inline(always)]
    fn varint(&mut self) -> Result<i32, String> {
        let raw = self.unsigned(5)?;
        let raw = u32::try_from(raw).map_err(|_| "varint overflows 32 bits".to_string())?;
        Ok(((raw >> 1) as i32) ^ -((raw & 1) as i32))
    }

    /// A zigzag varlong of at most 10 bytes.
    #[inline(always)]
    fn varlong(&mut self) -> Result<i64, String> {
        let raw = self.unsigned(10)?;
        Ok(((raw >> 1) as i64) ^ -((raw & 1) as i64))
    }

    /// An unsigned varint of at most `max_bytes` bytes. Most are one or two
    /// bytes (lengths, offset deltas and timestamp deltas under 8,192), so
    /// those cases are decided first, inline.
    #[inline(always)]
    fn unsigned(&mut self, max_bytes: usize) -> Result<u64, String> {
        match *self.0 {
            [first, ref rest @ ..] if first & 0x80 == 0 => {
                self.0 = rest;
                Ok(u64::from(first))
            }
            [first, second, ref rest @ ..] if second & 0x80 == 0 => {
                self.0 = rest;
                Ok(u64::from(first & 0x7F) | u64::from(second) << 7)
            }
            _ => self.unsigned_long(max_bytes),
        }
    }

    fn unsigned_long(&mut self, max_bytes: usize) -> Result<u64, String> {
        let mut value = 0u64;
        for i in 0..max_bytes {
            let Some((&byte, rest)) = self.0.split_first() else {
                return Err("truncated varint".into());
            };
            self.0 = rest;
            value |= u64::from(byte & 0x7F) << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(format!("varint longer than {max_bytes} bytes"))
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;

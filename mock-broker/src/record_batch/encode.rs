//! Writing a RecordBatch v2: how messages that arrived without one (over the
//! frame protocol) are stored, so that every entry of the log is a batch that
//! Fetch serves as it is and readers decode one way.
//!
//! The batch is uncompressed, with CreateTime timestamps; a message without a
//! timestamp gets -1 (Kafka's "no timestamp"). Producer id, epoch and base
//! sequence are the caller's, or -1. Its base offset is 0 until it is appended.

use bytes::{BufMut, Bytes, BytesMut};
use protocol::Header;

use super::parse::HEADER_LEN;

/// One message to write: its timestamp (`None`: none), key, value and headers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Message<'a> {
    pub(crate) timestamp: Option<i64>,
    pub(crate) key: Option<&'a [u8]>,
    pub(crate) value: Option<&'a [u8]>,
    pub(crate) headers: &'a [Header],
}

/// The messages as one RecordBatch v2 (at least one message).
///
/// # Panics
/// If `messages` is empty, or a field is longer than a varint length can say
/// (2 GiB): a frame is at most `max_frame_bytes`, far below either.
pub(crate) fn encode_batch(
    messages: &[Message<'_>],
    producer: Option<(i64, i16, i32)>,
) -> BytesMut {
    assert!(!messages.is_empty(), "a batch holds at least one record");
    let stamps = messages.iter().map(|m| m.timestamp.unwrap_or(-1));
    let base_timestamp = messages[0].timestamp.unwrap_or(-1);
    let max_timestamp = stamps.clone().max().unwrap_or(-1);
    let body: usize = messages.iter().map(|m| 20 + payload_len(m)).sum();
    let mut out = BytesMut::with_capacity(HEADER_LEN + body);
    out.put_i64(0); // base offset: written on append
    out.put_i32(0); // batch length: below
    out.put_i32(-1); // partition leader epoch: written on append
    out.put_i8(2); // magic
    out.put_u32(0); // CRC: below
    out.put_i16(0); // attributes: no compression, CreateTime
    out.put_i32(messages.len() as i32 - 1); // last offset delta
    out.put_i64(base_timestamp);
    out.put_i64(max_timestamp);
    let (id, epoch, base_sequence) = producer.unwrap_or((-1, -1, -1));
    out.put_i64(id);
    out.put_i16(epoch);
    out.put_i32(base_sequence);
    out.put_i32(messages.len() as i32);
    for (index, (message, stamp)) in messages.iter().zip(stamps).enumerate() {
        // The record's length comes first, so it is worked out before writing.
        let delta = stamp.wrapping_sub(base_timestamp);
        let len = 1
            + varlong_len(delta)
            + varint_len(index as i32)
            + bytes_len(message.key)
            + bytes_len(message.value)
            + varint_len(message.headers.len() as i32)
            + message
                .headers
                .iter()
                .map(|h| bytes_len(Some(h.key.as_bytes())) + bytes_len(h.value.as_deref()))
                .sum::<usize>();
        put_varint(&mut out, i32::try_from(len).expect("a record below 2 GiB"));
        out.put_i8(0); // attributes
        put_varlong(&mut out, delta);
        put_varint(&mut out, index as i32);
        put_bytes(&mut out, message.key);
        put_bytes(&mut out, message.value);
        put_varint(&mut out, message.headers.len() as i32);
        for header in message.headers {
            put_bytes(&mut out, Some(header.key.as_bytes()));
            put_bytes(&mut out, header.value.as_deref());
        }
    }
    let length = (out.len() - 12) as i32;
    out[8..12].copy_from_slice(&length.to_be_bytes());
    let crc = protocol::crc32c::crc32c(&out[21..]);
    out[17..21].copy_from_slice(&crc.to_be_bytes());
    out
}

/// A transaction marker as Kafka's coordinator writes it: a RecordBatch v2
/// with the transactional and control attributes, `producer_id` and
/// `producer_epoch` set, base sequence -1, and one control record whose key is
/// (version 0, type 1 = COMMIT or 0 = ABORT) and whose value is the
/// EndTxnMarker (version 0, `coordinator_epoch`). Timestamps are `timestamp`.
pub(crate) fn encode_control_batch(
    producer_id: i64,
    producer_epoch: i16,
    commit: bool,
    coordinator_epoch: i32,
    timestamp: i64,
) -> BytesMut {
    let mut key = [0u8; 4];
    key[2..4].copy_from_slice(&i16::from(commit).to_be_bytes());
    let mut value = [0u8; 6];
    value[2..6].copy_from_slice(&coordinator_epoch.to_be_bytes());
    let message = Message {
        timestamp: Some(timestamp),
        key: Some(&key),
        value: Some(&value),
        headers: &[],
    };
    let mut batch = encode_batch(&[message], Some((producer_id, producer_epoch, -1)));
    // Attributes: transactional (bit 4) and control (bit 5); the CRC covers them.
    batch[21..23].copy_from_slice(&0x30i16.to_be_bytes());
    let crc = protocol::crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    batch
}

fn payload_len(m: &Message<'_>) -> usize {
    m.key.map_or(0, <[u8]>::len)
        + m.value.map_or(0, <[u8]>::len)
        + m.headers
            .iter()
            .map(|h| 10 + h.key.len() + h.value.as_ref().map_or(0, Bytes::len))
            .sum::<usize>()
}

/// The bytes a nullable field takes: its length varint and the field.
fn bytes_len(bytes: Option<&[u8]>) -> usize {
    match bytes {
        Some(bytes) => varint_len(bytes.len() as i32) + bytes.len(),
        None => 1,
    }
}

fn varint_len(value: i32) -> usize {
    unsigned_len(((value << 1) ^ (value >> 31)) as u32 as u64)
}

fn varlong_len(value: i64) -> usize {
    unsigned_len(((value << 1) ^ (value >> 63)) as u64)
}

fn unsigned_len(value: u64) -> usize {
    (64 - (value | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_bytes(out: &mut BytesMut, bytes: Option<&[u8]>) {
    match bytes {
        Some(bytes) => {
            let len = i32::try_from(bytes.len()).expect("a field below 2 GiB");
            put_varint(out, len);
            out.put_slice(bytes);
        }
        None => put_varint(out, -1),
    }
}

fn put_varint(out: &mut BytesMut, value: i32) {
    put_unsigned(out, ((value << 1) ^ (value >> 31)) as u32 as u64);
}

fn put_varlong(out: &mut BytesMut, value: i64) {
    put_unsigned(out, ((value << 1) ^ (value >> 63)) as u64);
}

fn put_unsigned(out: &mut BytesMut, mut value: u64) {
    while value >= 0x80 {
        out.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record_batch::{RecordLimits, parse_batches};

    #[test]
    fn a_marker_is_a_transactional_control_batch_with_kafkas_control_record() {
        let batch = encode_control_batch(42, 3, true, 7, 1_000);
        let decoded =
            kafka_protocol::records::RecordBatchDecoder::decode_all(&mut batch.clone().freeze())
                .expect("a batch Kafka's decoder reads, CRC included");
        let record = &decoded[0].records[0];
        assert!(record.control && record.transactional);
        assert_eq!((record.producer_id, record.producer_epoch), (42, 3));
        assert_eq!(record.key.as_deref(), Some(&[0, 0, 0, 1][..]), "COMMIT");
        assert_eq!(
            record.value.as_deref(),
            Some(&[0, 0, 0, 0, 0, 7][..]),
            "EndTxnMarker v0 with the coordinator epoch"
        );
        let abort = encode_control_batch(42, 3, false, 0, 1_000);
        let parsed = parse_batches(abort.freeze(), 1 << 20, RecordLimits::NONE)
            .unwrap()
            .pop()
            .unwrap();
        assert!(parsed.header.is_control() && parsed.header.is_transactional());
        assert_eq!(
            parsed.records[0].key.as_deref(),
            Some(&[0, 0, 0, 0][..]),
            "ABORT"
        );
    }

    #[test]
    fn written_batches_read_back_with_their_timestamps_keys_values_and_headers() {
        let headers = [
            Header {
                key: "a".into(),
                value: None,
            },
            Header {
                key: "a".into(),
                value: Some(Bytes::from_static(b"x")),
            },
        ];
        let long = vec![7u8; 300];
        let messages = [
            Message {
                timestamp: Some(1_700_000_000_000),
                key: Some(b"k"),
                value: Some(b"v"),
                headers: &headers,
            },
            Message {
                timestamp: None,
                key: None,
                value: None,
                headers: &[],
            },
            Message {
                timestamp: Some(5),
                key: Some(&long),
                value: Some(b""),
                headers: &[],
            },
        ];
        let batch = parse_batches(
            encode_batch(&messages, None).freeze(),
            1 << 20,
            RecordLimits::NONE,
        )
        .expect("a valid batch: CRC, lengths and offset deltas")
        .pop()
        .unwrap();
        assert_eq!(batch.header.record_count, 3);
        assert_eq!(batch.header.producer_id, -1);
        assert_eq!(batch.header.max_timestamp, 1_700_000_000_000);
        let r = &batch.records;
        assert_eq!(
            [r[0].timestamp, r[1].timestamp, r[2].timestamp],
            [1_700_000_000_000, -1, 5]
        );
        assert_eq!(r[0].key.as_deref(), Some(&b"k"[..]));
        assert_eq!(
            r[0].headers, headers,
            "repeated header keys are kept, in order"
        );
        assert_eq!((r[1].key.as_deref(), r[1].value.as_deref()), (None, None));
        assert_eq!(r[2].key.as_deref(), Some(&long[..]));
        assert_eq!(r[2].value.as_deref(), Some(&b""[..]));
    }
}

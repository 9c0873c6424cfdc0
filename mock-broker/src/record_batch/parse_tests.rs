//! Batches encoded by the `kafka-protocol` crate decode to the same records here,
//! and every way a batch can disagree with itself is refused.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use proptest::prelude::*;

use super::*;

/// Parses with a limit no test batch comes near, and checks that the
/// validate-only walk a produce uses agrees: the same error, or the same
/// batches with the summary their decoded records add up to.
fn parse(data: Bytes) -> Result<Vec<Batch>, BatchError> {
    let parsed = parse_batches(data.clone(), 64 * 1024 * 1024, RecordLimits::NONE);
    let validated = validate_batches(data, 64 * 1024 * 1024, RecordLimits::NONE);
    match (&parsed, &validated) {
        (Ok(parsed), Ok(validated)) => {
            assert_eq!(parsed.len(), validated.len());
            for (p, v) in parsed.iter().zip(validated) {
                assert_eq!((&p.header, &p.raw), (&v.header, &v.raw));
                let mut max = (i64::MIN, 0u32);
                for (i, r) in p.records.iter().enumerate() {
                    if r.timestamp > max.0 {
                        max = (r.timestamp, i as u32);
                    }
                }
                let bytes: usize = p
                    .records
                    .iter()
                    .map(|r| {
                        r.key.as_ref().map_or(0, Bytes::len)
                            + r.value.as_ref().map_or(0, Bytes::len)
                            + r.headers
                                .iter()
                                .map(|h| h.key.len() + h.value.as_ref().map_or(0, Bytes::len))
                                .sum::<usize>()
                    })
                    .sum();
                assert_eq!(v.summary.max_timestamp, max);
                assert_eq!(v.summary.payload_bytes, bytes as u64);
            }
        }
        (Err(a), Err(b)) => assert_eq!(a, b, "parse and validate refuse alike"),
        (a, b) => panic!("parse and validate disagree: {a:?} / {b:?}"),
    }
    parsed
}

fn record(
    i: i64,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[(&str, Option<&[u8]>)],
) -> Record {
    let mut map = IndexMap::new();
    for (k, v) in headers {
        map.insert(
            StrBytes::from_string(k.to_string()),
            v.map(Bytes::copy_from_slice),
        );
    }
    Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: 0,
        producer_id: 7,
        producer_epoch: 1,
        timestamp_type: TimestampType::Creation,
        offset: i,
        sequence: 100 + i as i32,
        timestamp: 1_700_000_000_000 + i,
        key: key.map(Bytes::copy_from_slice),
        value: value.map(Bytes::copy_from_slice),
        headers: map,
    }
}

fn encode(records: &[Record], compression: Compression) -> Bytes {
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records,
        &RecordEncodeOptions {
            version: 2,
            compression,
        },
    )
    .unwrap();
    buf.freeze()
}

fn sample() -> Vec<Record> {
    vec![
        record(0, Some(b"k0"), Some(b"v0"), &[("h", Some(b"x"))]),
        record(1, None, Some(b"v1"), &[]),
        record(2, Some(b"k2"), None, &[("a", None), ("b", Some(b""))]),
    ]
}

fn assert_same(batch: &Batch, records: &[Record]) {
    assert_eq!(batch.records.len(), records.len());
    for (ours, theirs) in batch.records.iter().zip(records) {
        assert_eq!(ours.timestamp, theirs.timestamp);
        assert_eq!(ours.key, theirs.key);
        assert_eq!(ours.value, theirs.value);
        let headers: Vec<(String, Option<Bytes>)> = ours
            .headers
            .iter()
            .map(|h| (h.key.clone(), h.value.clone()))
            .collect();
        let expected: Vec<(String, Option<Bytes>)> = theirs
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        assert_eq!(headers, expected);
    }
}

#[test]
fn every_codec_decodes_to_the_records_encoded() {
    for compression in [
        Compression::None,
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let records = sample();
        let batches = parse(encode(&records, compression)).unwrap();
        assert_eq!(batches.len(), 1, "{compression:?}");
        assert_eq!(
            batches[0].header.codec(),
            compression as i16,
            "{compression:?}"
        );
        assert_eq!(batches[0].header.producer_id, 7);
        assert_eq!(batches[0].header.producer_epoch, 1);
        assert_eq!(batches[0].header.base_sequence, 100);
        assert_same(&batches[0], &records);
    }
}

#[test]
fn uncompressed_values_are_slices_of_the_request_not_copies() {
    let data = encode(&sample(), Compression::None);
    let batches = parse(data.clone()).unwrap();
    let value = batches[0].records[0].value.clone().unwrap();
    let start = data.as_ptr() as usize;
    let at = value.as_ptr() as usize;
    assert!(
        at >= start && at < start + data.len(),
        "the value points into the request"
    );
}

#[test]
fn repeated_header_keys_are_all_kept() {
    // The crate's encoder takes a map, so write the record by hand.
    let mut records = BytesMut::new();
    let mut body = BytesMut::new();
    body.put_i8(0); // attributes
    body.put_u8(0); // timestamp delta 0
    body.put_u8(0); // offset delta 0
    body.put_u8(1); // key length -1 (zigzag 1)
    body.put_u8(2); // value length 1
    body.put_u8(b'v');
    body.put_u8(4); // 2 headers
    for value in [b'1', b'2'] {
        body.put_u8(2); // key length 1
        body.put_u8(b'h');
        body.put_u8(2); // value length 1
        body.put_u8(value);
    }
    records.put_u8((body.len() as u8) << 1);
    records.put_slice(&body);
    let data = batch_with(|h| h, &records, 1);
    let batch = &parse(data).unwrap()[0];
    let values: Vec<_> = batch.records[0]
        .headers
        .iter()
        .map(|h| h.value.clone().unwrap())
        .collect();
    assert_eq!(
        values,
        vec![Bytes::from_static(b"1"), Bytes::from_static(b"2")]
    );
}

/// Builds a batch around `records`, lets `edit` change the header fields, and signs it.
fn batch_with(edit: impl FnOnce(BatchHeader) -> BatchHeader, records: &[u8], count: i32) -> Bytes {
    let header = edit(BatchHeader {
        attributes: 0,
        last_offset_delta: count - 1,
        base_timestamp: 1_000,
        max_timestamp: 1_000,
        producer_id: -1,
        producer_epoch: -1,
        base_sequence: -1,
        record_count: count,
    });
    let mut signed = BytesMut::new();
    signed.put_i16(header.attributes);
    signed.put_i32(header.last_offset_delta);
    signed.put_i64(header.base_timestamp);
    signed.put_i64(header.max_timestamp);
    signed.put_i64(header.producer_id);
    signed.put_i16(header.producer_epoch);
    signed.put_i32(header.base_sequence);
    signed.put_i32(header.record_count);
    signed.put_slice(records);
    let mut batch = BytesMut::new();
    batch.put_i64(0);
    batch.put_i32((4 + 1 + 4 + signed.len()) as i32);
    batch.put_i32(0);
    batch.put_i8(2);
    batch.put_u32(protocol::crc32c::crc32c(&signed));
    batch.put_slice(&signed);
    batch.freeze()
}

/// The records section of an uncompressed batch of `sample()`.
fn sample_records() -> Bytes {
    encode(&sample(), Compression::None).slice(HEADER_LEN..)
}

fn corrupt_reason(data: Bytes) -> String {
    match parse(data) {
        Err(BatchError::Corrupt(reason)) => reason,
        other => panic!("expected a corrupt batch, got {other:?}"),
    }
}

#[test]
fn a_flipped_bit_fails_the_crc() {
    let mut data = encode(&sample(), Compression::None).to_vec();
    let last = data.len() - 1;
    data[last] ^= 1;
    assert!(corrupt_reason(Bytes::from(data)).contains("CRC mismatch"));
}

#[test]
fn a_record_count_above_the_records_present_is_refused() {
    let reason = corrupt_reason(batch_with(|h| h, &sample_records(), 4));
    assert!(reason.contains("record 3"), "{reason}");
}

#[test]
fn a_record_count_below_the_records_present_is_refused() {
    let reason = corrupt_reason(batch_with(|h| h, &sample_records(), 2));
    assert!(
        reason.contains("bytes after the last of the 2 records"),
        "{reason}"
    );
}

#[test]
fn a_last_offset_delta_disagreeing_with_the_count_is_refused() {
    let data = batch_with(
        |h| BatchHeader {
            last_offset_delta: 5,
            ..h
        },
        &sample_records(),
        3,
    );
    assert!(corrupt_reason(data).contains("last offset delta 5 disagrees with record count 3"));
}

#[test]
fn a_record_length_running_past_the_batch_is_refused() {
    let mut records = sample_records().to_vec();
    records[0] = 0x7E; // record 0 claims 63 bytes
    let reason = corrupt_reason(batch_with(|h| h, &records, 3));
    assert!(
        reason.contains("record 0") || reason.contains("record 1"),
        "{reason}"
    );
}

#[test]
fn a_batch_length_past_the_data_is_refused() {
    let mut data = encode(&sample(), Compression::None).to_vec();
    data[8..12].copy_from_slice(&10_000i32.to_be_bytes());
    assert!(corrupt_reason(Bytes::from(data)).contains("runs past"));
}

#[test]
fn garbage_after_a_batch_is_refused() {
    let mut data = encode(&sample(), Compression::None).to_vec();
    data.extend_from_slice(&[0u8; 20]);
    assert!(corrupt_reason(Bytes::from(data)).contains("batch 1"));
}

#[test]
fn an_unknown_codec_and_undecompressable_bytes_are_refused() {
    let data = batch_with(|h| BatchHeader { attributes: 6, ..h }, &sample_records(), 3);
    assert!(corrupt_reason(data).contains("unknown compression codec 6"));
    let data = batch_with(
        |h| BatchHeader { attributes: 4, ..h },
        b"not zstd at all",
        3,
    );
    assert!(corrupt_reason(data).contains("cannot decompress"));
}

#[test]
fn old_message_formats_and_empty_sets_are_refused() {
    let mut data = encode(&sample(), Compression::None).to_vec();
    data[16] = 1;
    assert_eq!(parse(Bytes::from(data)), Err(BatchError::OldFormat(1)));
    assert!(matches!(parse(Bytes::new()), Err(BatchError::Invalid(_))));
    let data = batch_with(|h| h, b"", 0);
    assert!(matches!(parse(data), Err(BatchError::Invalid(_))));
}

/// The largest (exclusive) lengths and counts of the records [`records`] generates.
struct Sizes {
    key: usize,
    value: usize,
    header_key: usize,
    header_value: usize,
    records: usize,
}

/// Between 1 and `sizes.records` records with optional keys and values, and up to two headers
/// (lower-case keys, optional values), numbered from offset 0.
fn records(sizes: Sizes) -> impl Strategy<Value = Vec<Record>> {
    let bytes = |max: usize| proptest::option::of(proptest::collection::vec(any::<u8>(), 0..max));
    let header_keys = proptest::string::string_regex(&format!("[a-z]{{1,{}}}", sizes.header_key))
        .expect("a valid regex");
    let entry = (
        bytes(sizes.key),
        bytes(sizes.value),
        proptest::collection::btree_map(header_keys, bytes(sizes.header_value), 0..3),
    );
    proptest::collection::vec(entry, 1..sizes.records).prop_map(|entries| {
        entries
            .iter()
            .enumerate()
            .map(|(i, (k, v, h))| {
                let headers: Vec<(&str, Option<&[u8]>)> =
                    h.iter().map(|(k, v)| (k.as_str(), v.as_deref())).collect();
                record(i as i64, k.as_deref(), v.as_deref(), &headers)
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn encoded_batches_round_trip(
        records in records(Sizes { key: 20, value: 200, header_key: 6, header_value: 10, records: 30 }),
        codec in 0usize..5,
    ) {
        let compression = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd][codec];
        let batches = parse(encode(&records, compression)).unwrap();
        prop_assert_eq!(batches.len(), 1);
        assert_same(&batches[0], &records);
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = parse(Bytes::from(data));
    }

    /// Records corrupted under a valid CRC reach the record walk: the fast scan of
    /// `validate_batches` and the full walk of `parse_batches` must judge them alike (the same
    /// error, or the same records and summary), with and without tight header limits.
    #[test]
    fn records_corrupted_under_a_valid_crc_are_judged_alike_by_scan_and_walk(
        records in records(Sizes { key: 8, value: 300, header_key: 3, header_value: 4, records: 8 }),
        flips in proptest::collection::vec((any::<proptest::sample::Index>(), any::<u8>()), 0..4),
    ) {
        let mut data = BytesMut::from(&encode(&records, Compression::None)[..]);
        // The records start after the 61-byte batch header.
        for (index, byte) in flips {
            let at = 61 + index.index(data.len() - 61);
            data[at] = byte;
        }
        let crc = protocol::crc32c::crc32c(&data[21..]);
        data[17..21].copy_from_slice(&crc.to_be_bytes());
        let data = data.freeze();
        let _ = parse(data.clone());
        let tight = RecordLimits { records_per_batch: u32::MAX, headers_per_record: 1, headers_per_batch: 2 };
        let walked = parse_batches(data.clone(), 1 << 20, tight).map(|batches| batches.len());
        let scanned = validate_batches(data, 1 << 20, tight).map(|batches| batches.len());
        prop_assert_eq!(walked, scanned);
    }
}

/// Limits the sample (three records, three headers, at most two on one record) just fits.
const SAMPLE_FITS: RecordLimits = RecordLimits {
    records_per_batch: 3,
    headers_per_record: 2,
    headers_per_batch: 3,
};

#[test]
fn a_batch_at_every_limit_passes_and_one_past_any_is_refused_naming_it() {
    let data = encode(&sample(), Compression::Gzip);
    let both = |limits: RecordLimits| {
        let parsed = parse_batches(data.clone(), 1 << 20, limits).map(|b| b.len());
        let validated = validate_batches(data.clone(), 1 << 20, limits).map(|b| b.len());
        assert_eq!(parsed, validated, "parse and validate agree");
        parsed
    };
    assert_eq!(both(SAMPLE_FITS), Ok(1));
    let cases = [
        (
            RecordLimits {
                records_per_batch: 2,
                ..SAMPLE_FITS
            },
            "max_records_per_batch",
            "the batch declares 3 records; the limit max_records_per_batch is 2",
        ),
        (
            RecordLimits {
                headers_per_record: 1,
                ..SAMPLE_FITS
            },
            "max_headers_per_record",
            "record 2: 2 headers; the limit max_headers_per_record is 1",
        ),
        (
            RecordLimits {
                headers_per_batch: 2,
                ..SAMPLE_FITS
            },
            "max_headers_per_batch",
            "records 0 to 2 carry more headers than the limit max_headers_per_batch, 2",
        ),
    ];
    for (limits, limit, reason) in cases {
        let reason = reason.to_string();
        assert_eq!(both(limits), Err(BatchError::OverLimit { limit, reason }));
    }
}

#[test]
fn a_record_count_past_the_limit_is_refused_before_decompressing() {
    // The header claims more records than the limit; the body is not even valid gzip.
    let mut data = BytesMut::from(&encode(&sample(), Compression::None)[..]);
    data[21..23].copy_from_slice(&1i16.to_be_bytes()); // gzip
    data[57..61].copy_from_slice(&1_000_000i32.to_be_bytes());
    data[23..27].copy_from_slice(&999_999i32.to_be_bytes());
    let crc = protocol::crc32c::crc32c(&data[21..]);
    data[17..21].copy_from_slice(&crc.to_be_bytes());
    let limits = RecordLimits {
        records_per_batch: 10,
        ..RecordLimits::NONE
    };
    let error = validate_batches(data.freeze(), 1 << 20, limits).unwrap_err();
    assert!(
        matches!(&error, BatchError::OverLimit { reason, .. } if reason.contains("declares 1000000 records")),
        "{error:?}"
    );
}

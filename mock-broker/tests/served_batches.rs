//! A fetched record set split into its batches, from their headers: what the tests of Fetch and
//! of real consumers check the broker served (whole batches, their codec, base offsets and counts).

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use kafka_protocol::records::{Record, RecordBatchDecoder};

use crate::kafka_protocol::name;

/// A Fetch of `partitions` (index, fetch offset) of `topic`.
pub(crate) fn fetch_request(
    topic: &str,
    partitions: &[(i32, i64)],
    max_bytes: i32,
    partition_max_bytes: i32,
    max_wait_ms: i32,
) -> FetchRequest {
    FetchRequest::default()
        .with_max_wait_ms(max_wait_ms)
        .with_min_bytes(1)
        .with_max_bytes(max_bytes)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(name(topic))
                .with_partitions(
                    partitions
                        .iter()
                        .map(|&(partition, offset)| {
                            FetchPartition::default()
                                .with_partition(partition)
                                .with_fetch_offset(offset)
                                .with_partition_max_bytes(partition_max_bytes)
                        })
                        .collect(),
                ),
        ])
}

/// One RecordBatch v2 as the broker served it: header fields read from its bytes, and its
/// records as `kafka-protocol` decodes them (any codec).
#[derive(Debug)]
pub(crate) struct FetchedBatch {
    /// Bytes 0..8.
    pub(crate) base_offset: i64,
    /// `attributes & 7` (attributes at bytes 21..23): 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
    pub(crate) codec: i16,
    /// Bytes 57..61.
    pub(crate) record_count: i32,
    /// The whole batch, header included.
    pub(crate) size: usize,
    pub(crate) records: Vec<Record>,
}

/// Splits a fetched record set into its batches.
///
/// # Panics
/// If the set ends with a partial batch (the broker must send whole batches only), or a batch does
/// not decode, or its declared record count is not the number of records it holds.
pub(crate) fn batches(records: &Option<Bytes>) -> Vec<FetchedBatch> {
    let Some(records) = records else {
        return Vec::new();
    };
    let mut batches = Vec::new();
    let mut at = 0;
    while at < records.len() {
        let rest = &records[at..];
        assert!(
            rest.len() >= 61,
            "a whole batch at byte {at} of the record set, not a partial one: {} bytes left, \
             less than a batch header",
            rest.len()
        );
        let length = i32::from_be_bytes(rest[8..12].try_into().unwrap());
        let size = 12 + usize::try_from(length).expect("a batch length ≥ 0");
        assert!(
            rest.len() >= size,
            "a whole batch at byte {at} of the record set, not a partial one: it declares {size} \
             bytes and {} are left",
            rest.len()
        );
        let bytes = records.slice(at..at + size);
        assert_eq!(bytes[16], 2, "batch at byte {at}: magic 2 (RecordBatch v2)");
        let base_offset = i64::from_be_bytes(bytes[0..8].try_into().unwrap());
        let attributes = i16::from_be_bytes(bytes[21..23].try_into().unwrap());
        let record_count = i32::from_be_bytes(bytes[57..61].try_into().unwrap());
        let decoded = RecordBatchDecoder::decode(&mut bytes.clone()).unwrap_or_else(|e| {
            panic!("the batch with base offset {base_offset} decodes: {e:#}");
        });
        assert_eq!(
            decoded.records.len(),
            usize::try_from(record_count).unwrap_or(usize::MAX),
            "the batch with base offset {base_offset} holds the {record_count} records its header \
             declares"
        );
        batches.push(FetchedBatch {
            base_offset,
            codec: attributes & 7,
            record_count,
            size,
            records: decoded.records,
        });
        at += size;
    }
    batches
}

/// (base offset, record count) of each batch, for assertion messages.
pub(crate) fn layout(batches: &[FetchedBatch]) -> Vec<(i64, i32)> {
    batches
        .iter()
        .map(|b| (b.base_offset, b.record_count))
        .collect()
}

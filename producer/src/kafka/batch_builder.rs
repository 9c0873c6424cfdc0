//! Building RecordBatch v2 batches: records encoded into one buffer as they
//! arrive; the header (see `batch_header`), compression and the CRC-32C
//! applied when the batch is sealed for sending.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};

use super::batch_header::{CRC_START, HeaderFields, put_header};
use super::varint::{put_nullable, put_varint, varint_len};
use crate::record::Header;

// Re-exported where they were first defined, for source compatibility.
pub use super::batch_header::{BATCH_HEADER_LEN, ProducerFields, reseal};
pub use crate::compression::{Compression, CompressionError};

/// A batch being filled: its records are encoded into one buffer as they are
/// appended, behind room left for the header, so that an uncompressed batch
/// is sealed in place (see [`BatchBuilder::seal`]) without copying.
#[derive(Debug, Clone)]
pub struct BatchBuilder {
    records: BytesMut,
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
}

impl BatchBuilder {
    /// An empty batch whose timestamps are relative to `base_timestamp` (ms since the epoch).
    pub fn new(base_timestamp: i64) -> Self {
        Self::with_capacity(base_timestamp, 0)
    }

    /// An empty batch with room for `capacity` bytes of records, so that
    /// filling it never reallocates (and re-copies) the buffer.
    pub fn with_capacity(base_timestamp: i64, capacity: usize) -> Self {
        let mut records = BytesMut::with_capacity(capacity.max(BATCH_HEADER_LEN));
        records.put_bytes(0, BATCH_HEADER_LEN);
        BatchBuilder {
            records,
            count: 0,
            base_timestamp,
            max_timestamp: base_timestamp,
        }
    }

    /// How many records the batch holds.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the batch holds no record.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The batch's size uncompressed, header included: what `batch.size` limits.
    pub fn size(&self) -> usize {
        self.records.len()
    }

    /// The size `push` would add for this record.
    pub fn record_size(
        &self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> usize {
        let body = self.body_len(timestamp, key, value, headers);
        varint_len(body as i64) + body
    }

    fn body_len(
        &self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> usize {
        let bytes_len =
            |b: Option<&[u8]>| b.map_or(varint_len(-1), |b| varint_len(b.len() as i64) + b.len());
        1 + varint_len(timestamp.wrapping_sub(self.base_timestamp))
            + varint_len(i64::from(self.count))
            + bytes_len(key)
            + bytes_len(value)
            + varint_len(headers.len() as i64)
            + headers
                .iter()
                .map(|h| bytes_len(Some(h.key.as_bytes())) + bytes_len(h.value.as_deref()))
                .sum::<usize>()
    }

    /// Appends a record; returns its encoded size.
    pub fn push(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> usize {
        let body = self.body_len(timestamp, key, value, headers);
        let start = self.records.len();
        let out = &mut self.records;
        put_varint(out, body as i64);
        out.put_i8(0); // attributes
        put_varint(out, timestamp.wrapping_sub(self.base_timestamp));
        put_varint(out, i64::from(self.count));
        put_nullable(out, key);
        put_nullable(out, value);
        put_varint(out, headers.len() as i64);
        for header in headers {
            put_nullable(out, Some(header.key.as_bytes()));
            put_nullable(out, header.value.as_deref());
        }
        self.count += 1;
        self.max_timestamp = self.max_timestamp.max(timestamp);
        self.records.len() - start
    }

    /// Appends the 61-byte batch header, CRC left as 0 for the caller to fill in.
    fn put_header(
        &self,
        out: &mut BytesMut,
        compression: Compression,
        batch_length: i32,
        producer: ProducerFields,
    ) {
        put_header(
            out,
            &HeaderFields {
                compression,
                batch_length,
                count: self.count,
                base_timestamp: self.base_timestamp,
                max_timestamp: self.max_timestamp,
                producer,
            },
        );
    }

    /// Writes the finished batch (header, then the records, compressed) to `out`.
    ///
    /// # Errors
    /// The compressor's failure, naming the codec; `out` is left as it was.
    pub fn finish(
        &self,
        producer: ProducerFields,
        compression: Compression,
        out: &mut BytesMut,
    ) -> Result<(), CompressionError> {
        let start = out.len();
        // The batch length is filled in once the (compressed) records are written.
        self.put_header(out, compression, 0, producer);
        let crc_start = start + CRC_START;
        let records = &self.records[BATCH_HEADER_LEN..];
        let copy = |tmp: &mut BytesMut| {
            tmp.put_slice(records);
            Ok(())
        };
        let compressed = match compression {
            Compression::None => {
                out.put_slice(records);
                Ok(())
            }
            Compression::Gzip => Gzip::compress(out, copy),
            Compression::Snappy => Snappy::compress(out, copy),
            Compression::Lz4 => Lz4::compress(out, copy),
            Compression::Zstd => Zstd::compress(out, copy),
        };
        if let Err(e) = compressed {
            out.truncate(start);
            return Err(CompressionError {
                codec: compression,
                reason: format!("{e:#}"),
            });
        }
        let batch_length = (out.len() - start - 12) as i32;
        out[start + 8..start + 12].copy_from_slice(&batch_length.to_be_bytes());
        let crc = protocol::crc32c::crc32c(&out[crc_start..]);
        out[start + 17..start + 21].copy_from_slice(&crc.to_be_bytes());
        Ok(())
    }
}

impl BatchBuilder {
    /// The finished batch. An uncompressed one is the builder's own buffer with
    /// the header written in place: no copy. A compressed one is built anew.
    ///
    /// # Errors
    /// The compressor's failure, naming the codec.
    pub fn seal(
        mut self,
        producer: ProducerFields,
        compression: Compression,
    ) -> Result<Bytes, CompressionError> {
        if compression != Compression::None {
            let mut out = BytesMut::with_capacity(self.records.len());
            self.finish(producer, compression, &mut out)?;
            return Ok(out.freeze());
        }
        let mut header = BytesMut::with_capacity(BATCH_HEADER_LEN);
        let batch_length = (self.records.len() - 12) as i32;
        self.put_header(&mut header, Compression::None, batch_length, producer);
        self.records[..BATCH_HEADER_LEN].copy_from_slice(&header);
        // One pass over the whole batch, still in cache from being built (a
        // running CRC per record was slower: vector folding wants long runs).
        let crc = protocol::crc32c::crc32c(&self.records[CRC_START..]);
        self.records[17..21].copy_from_slice(&crc.to_be_bytes());
        Ok(self.records.freeze())
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use kafka_protocol::records::RecordBatchDecoder;
    use proptest::prelude::*;

    use super::*;

    type Entry = (
        i64,
        Option<Vec<u8>>,
        Option<Vec<u8>>,
        Vec<(String, Option<Vec<u8>>)>,
    );

    fn build(entries: &[Entry], producer: ProducerFields, compression: Compression) -> Bytes {
        let mut builder = BatchBuilder::new(entries.first().map_or(0, |e| e.0));
        for (timestamp, key, value, headers) in entries {
            let headers: Vec<Header> = headers
                .iter()
                .map(|(k, v)| Header {
                    key: k.clone(),
                    value: v.clone().map(Bytes::from),
                })
                .collect();
            let expected =
                builder.record_size(*timestamp, key.as_deref(), value.as_deref(), &headers);
            let written = builder.push(*timestamp, key.as_deref(), value.as_deref(), &headers);
            assert_eq!(written, expected);
        }
        let mut out = BytesMut::from(&b"prefix"[..]);
        builder.finish(producer, compression, &mut out).unwrap();
        assert_eq!(&out[..6], b"prefix");
        let finished = out.freeze().slice(6..);
        if compression == Compression::None {
            // Sealing in place writes the same bytes.
            assert_eq!(builder.seal(producer, compression).unwrap(), finished);
        }
        finished
    }

    fn arb_entries() -> impl Strategy<Value = Vec<Entry>> {
        proptest::collection::vec(
            (
                1_600_000_000_000i64..1_800_000_000_000,
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..30)),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 0..300)),
                proptest::collection::vec(
                    (
                        "[a-z]{1,8}",
                        proptest::option::of(proptest::collection::vec(any::<u8>(), 0..10)),
                    ),
                    0..3,
                ),
            ),
            1..40,
        )
    }

    proptest! {
        #[test]
        fn batches_decode_with_the_kafka_protocol_crate(
            entries in arb_entries(),
            codec in 0usize..5,
            idempotent in any::<bool>(),
        ) {
            let compression = [Compression::None, Compression::Gzip, Compression::Snappy, Compression::Lz4, Compression::Zstd][codec];
            let producer = if idempotent {
                ProducerFields { producer_id: 1001, producer_epoch: 3, base_sequence: 17 }
            } else {
                ProducerFields::NONE
            };
            let mut bytes = build(&entries, producer, compression);
            let decoded = RecordBatchDecoder::decode(&mut bytes).unwrap();
            prop_assert!(bytes.is_empty());
            prop_assert_eq!(decoded.records.len(), entries.len());
            for (i, (record, (timestamp, key, value, headers))) in decoded.records.iter().zip(&entries).enumerate() {
                prop_assert_eq!(record.offset, i as i64);
                prop_assert_eq!(record.timestamp, *timestamp);
                prop_assert_eq!(record.key.as_deref(), key.as_deref());
                prop_assert_eq!(record.value.as_deref(), value.as_deref());
                prop_assert_eq!(record.producer_id, producer.producer_id);
                prop_assert_eq!(record.producer_epoch, producer.producer_epoch);
                if idempotent {
                    prop_assert_eq!(record.sequence, 17 + i as i32);
                }
                // The crate keeps one value per header key: compare against the last.
                let mut expected = std::collections::BTreeMap::new();
                for (k, v) in headers {
                    expected.insert(k.clone(), v.clone());
                }
                let got: std::collections::BTreeMap<String, Option<Vec<u8>>> = record
                    .headers
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.as_ref().map(|b| b.to_vec())))
                    .collect();
                prop_assert_eq!(got, expected);
            }
        }
    }

    #[test]
    fn sealing_in_place_and_resealing_give_the_same_batch_as_finish() {
        let entries: Vec<Entry> = (0..5)
            .map(|i| {
                (
                    1_700_000_000_000 + i,
                    Some(vec![b'k']),
                    Some(vec![b'v'; 10]),
                    vec![],
                )
            })
            .collect();
        let producer = ProducerFields {
            producer_id: 7,
            producer_epoch: 1,
            base_sequence: 40,
        };
        let finished = build(&entries, producer, Compression::None);
        let mut builder = BatchBuilder::with_capacity(entries[0].0, 4096);
        for (timestamp, key, value, _) in &entries {
            builder.push(*timestamp, key.as_deref(), value.as_deref(), &[]);
        }
        let sealed = builder.seal(producer, Compression::None).unwrap();
        assert_eq!(
            sealed, finished,
            "in-place sealing writes what finish writes"
        );
        let bumped = ProducerFields {
            producer_id: 7,
            producer_epoch: 2,
            base_sequence: 0,
        };
        let mut resealed = reseal(&sealed, bumped);
        let decoded = RecordBatchDecoder::decode(&mut resealed).unwrap();
        assert_eq!(decoded.records[0].producer_epoch, 2);
        assert_eq!(decoded.records[4].sequence, 4);
        let mut compressed = reseal(&build(&entries, producer, Compression::Zstd), bumped);
        let decoded = RecordBatchDecoder::decode(&mut compressed).unwrap();
        assert_eq!(
            (decoded.records.len(), decoded.records[0].producer_epoch),
            (5, 2)
        );
    }

    #[test]
    fn size_counts_the_header_and_every_record() {
        let mut builder = BatchBuilder::new(1000);
        assert_eq!(builder.size(), BATCH_HEADER_LEN);
        let added = builder.push(1000, Some(b"k"), Some(b"value"), &[]);
        assert_eq!(builder.size(), BATCH_HEADER_LEN + added);
        let mut out = BytesMut::new();
        builder
            .finish(ProducerFields::NONE, Compression::None, &mut out)
            .unwrap();
        assert_eq!(out.len(), builder.size());
    }
}

//! Writing a Fetch response with the stored batches spliced in, not copied.
//!
//! `kafka-protocol` encodes a response into one buffer, which would copy every
//! batch served. Here the response's own fields are encoded as usual (each
//! partition's by `kafka-protocol`, the two levels above it by hand, field for
//! field as Kafka's schema has them), while each partition's record set is
//! handed to [`Outgoing::splice`] as the stored batches' `Bytes`: the socket
//! write reads the batches from the log's memory.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::ResponseHeader;
use kafka_protocol::messages::fetch_response::{FetchResponse, PartitionData};
use kafka_protocol::protocol::Encodable;

use super::error::CloseReason;
use super::fault_response::FaultableResponse;
use super::response::WriteResponse;
use crate::outgoing::Outgoing;

/// The newest Fetch version this writer knows (v13 names topics by id).
pub(crate) const MAX_VERSION: i16 = 12;

/// The record set of one partition's answer: whole batches, in offset order.
pub(crate) type RecordSet = Vec<Bytes>;

/// A Fetch response whose record sets are kept apart from it, to be spliced
/// in when it is written.
#[derive(Debug, Default)]
pub(crate) struct FetchAnswer {
    /// Every field but the record sets (its `records` are ignored).
    pub(crate) response: FetchResponse,
    /// `records[t][p]`: the record set of partition `p` of topic `t`; a
    /// partition without one (an error) answers an empty set, as Kafka does
    /// (librdkafka refuses a null one).
    pub(crate) records: Vec<Vec<RecordSet>>,
}

impl FaultableResponse for FetchAnswer {
    const THROTTLE_SINCE: i16 = FetchResponse::THROTTLE_SINCE;
    fn set_throttle(&mut self, ms: i32) {
        self.response.set_throttle(ms);
    }
    fn set_error(&mut self, code: i16, version: i16) {
        self.response.set_error(code, version);
        // An error partition carries no records.
        self.records.clear();
    }
}

impl WriteResponse for FetchAnswer {
    fn write_response(
        &self,
        out: &mut Outgoing,
        correlation_id: i32,
        header_version: i16,
        version: i16,
    ) -> Result<(), CloseReason> {
        write(
            out,
            correlation_id,
            header_version,
            version,
            &self.response,
            &self.records,
        )
        .map_err(|error| {
            // A response the broker cannot encode is a broker bug: say so loudly.
            tracing::error!(correlation_id, version, error = %error, "cannot encode a Fetch response");
            CloseReason::Encode {
                correlation_id,
                error,
            }
        })
    }
}

/// Writes a whole size-prefixed Fetch response: `records[t][p]` is the
/// record set of partition `p` of topic `t` of `response` (whose own
/// `records` fields are ignored), empty where there is none.
///
/// # Errors
/// A version this writer does not know, or a field that does not encode.
pub(crate) fn write(
    out: &mut Outgoing,
    correlation_id: i32,
    header_version: i16,
    version: i16,
    response: &FetchResponse,
    records: &[Vec<RecordSet>],
) -> anyhow::Result<()> {
    anyhow::ensure!(
        (4..=MAX_VERSION).contains(&version),
        "Fetch v{version} is not written here (v4 to v{MAX_VERSION})"
    );
    let flexible = version >= 12;
    let mut body = Outgoing::default();
    ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(body.writer(), header_version)?;
    let buf = body.writer();
    buf.put_i32(response.throttle_time_ms);
    if version >= 7 {
        buf.put_i16(response.error_code);
        buf.put_i32(response.session_id);
    }
    put_array_len(buf, response.responses.len(), flexible);
    for (t, topic) in response.responses.iter().enumerate() {
        anyhow::ensure!(
            topic.unknown_tagged_fields.is_empty(),
            "a Fetch topic with tagged fields"
        );
        put_string(body.writer(), topic.topic.as_bytes(), flexible);
        put_array_len(body.writer(), topic.partitions.len(), flexible);
        for (p, partition) in topic.partitions.iter().enumerate() {
            let set = records.get(t).and_then(|sets| sets.get(p));
            write_partition(&mut body, partition, set, version)?;
        }
        if flexible {
            put_unsigned_varint(body.writer(), 0);
        }
    }
    if flexible {
        anyhow::ensure!(
            response.unknown_tagged_fields.is_empty(),
            "a Fetch response with tagged fields"
        );
        put_unsigned_varint(body.writer(), 0);
    }
    let size = i32::try_from(body.len())
        .map_err(|_| anyhow::anyhow!("a Fetch response of {} bytes", body.len()))?;
    out.writer().put_i32(size);
    out.append(body);
    Ok(())
}

/// One partition's answer: its fields as `kafka-protocol` encodes them, the
/// record set spliced in where that encoding has it.
fn write_partition(
    body: &mut Outgoing,
    partition: &PartitionData,
    set: Option<&RecordSet>,
    version: i16,
) -> anyhow::Result<()> {
    let mut partition = partition.clone();
    partition.records = None;
    let mut null = BytesMut::new();
    partition.encode(&mut null, version)?;
    // Where the record set sits: the first byte at which a one-byte set's
    // encoding parts from a null one's (every field before it is the same).
    partition.records = Some(Bytes::from_static(&[0]));
    let mut one = BytesMut::new();
    partition.encode(&mut one, version)?;
    let at = null
        .iter()
        .zip(one.iter())
        .position(|(a, b)| a != b)
        .ok_or_else(|| anyhow::anyhow!("no record set in a Fetch partition's encoding"))?;
    let flexible = version >= 12;
    let null_len = if flexible { 1 } else { 4 };
    anyhow::ensure!(
        null.len() >= at + null_len,
        "a Fetch partition's encoding ends in its record set"
    );
    let buf = body.writer();
    buf.extend_from_slice(&null[..at]);
    let batches = set.map(Vec::as_slice).unwrap_or_default();
    let len: usize = batches.iter().map(Bytes::len).sum();
    if flexible {
        put_unsigned_varint(buf, u32::try_from(len + 1)?);
    } else {
        buf.put_i32(i32::try_from(len)?);
    }
    for batch in batches {
        body.splice(batch.clone());
    }
    body.writer().extend_from_slice(&null[at + null_len..]);
    Ok(())
}

fn put_array_len(buf: &mut BytesMut, len: usize, flexible: bool) {
    if flexible {
        put_unsigned_varint(buf, len as u32 + 1);
    } else {
        buf.put_i32(len as i32);
    }
}

fn put_string(buf: &mut BytesMut, value: &[u8], flexible: bool) {
    if flexible {
        put_unsigned_varint(buf, value.len() as u32 + 1);
    } else {
        buf.put_i16(value.len() as i16);
    }
    buf.extend_from_slice(value);
}

fn put_unsigned_varint(buf: &mut BytesMut, mut value: u32) {
    while value >= 0x80 {
        buf.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

#[cfg(test)]
mod tests {
    use bytes::Buf;
    use kafka_protocol::messages::fetch_response::{AbortedTransaction, FetchableTopicResponse};
    use kafka_protocol::messages::{ProducerId, TopicName};
    use kafka_protocol::protocol::StrBytes;
    use proptest::prelude::*;

    use super::*;
    use crate::kafka::response::write_response;

    /// A response of `shape[t][p]` record sets, each a list of batch lengths.
    fn response(shape: &[Vec<Vec<usize>>], version: i16) -> (FetchResponse, Vec<Vec<RecordSet>>) {
        let mut sets = Vec::new();
        let mut byte = 0u8;
        let responses = shape
            .iter()
            .enumerate()
            .map(|(t, partitions)| {
                let mut topic_sets = Vec::new();
                let partitions = partitions
                    .iter()
                    .enumerate()
                    .map(|(p, lens)| {
                        let set: Vec<Bytes> = lens
                            .iter()
                            .map(|&len| {
                                byte = byte.wrapping_add(1);
                                Bytes::from(vec![byte; len])
                            })
                            .collect();
                        topic_sets.push(set.clone());
                        let mut data = PartitionData::default()
                            .with_partition_index(p as i32)
                            .with_error_code(if p % 3 == 2 { 1 } else { 0 })
                            .with_high_watermark(1000 + p as i64)
                            .with_last_stable_offset(990)
                            .with_log_start_offset(if version >= 5 { 7 } else { -1 })
                            .with_records(Some(set.concat().into()));
                        if p % 2 == 1 {
                            data = data.with_aborted_transactions(Some(vec![
                                AbortedTransaction::default()
                                    .with_producer_id(ProducerId(9))
                                    .with_first_offset(3),
                            ]));
                        }
                        if version >= 11 && p % 4 == 3 {
                            data = data.with_preferred_read_replica(2.into());
                        }
                        data
                    })
                    .collect();
                sets.push(topic_sets);
                FetchableTopicResponse::default()
                    .with_topic(TopicName(StrBytes::from_string(format!("topic-{t}"))))
                    .with_partitions(partitions)
            })
            .collect();
        let mut response = FetchResponse::default()
            .with_throttle_time_ms(25)
            .with_responses(responses);
        if version >= 7 {
            response = response.with_error_code(0).with_session_id(77);
        }
        (response, sets)
    }

    fn written(out: Outgoing) -> Vec<u8> {
        let mut out = out;
        let mut all = Vec::new();
        while out.has_remaining() {
            all.extend_from_slice(out.chunk());
            let len = out.chunk().len();
            out.advance(len);
        }
        all
    }

    proptest! {
        #[test]
        fn the_spliced_response_is_byte_for_byte_what_kafka_protocol_encodes(
            version in 4i16..=MAX_VERSION,
            shape in prop::collection::vec(
                prop::collection::vec(
                    prop::collection::vec(0usize..3000, 0..4),
                    0..4,
                ),
                0..4,
            ),
        ) {
            let (full, sets) = response(&shape, version);
            let header_version = if version >= 12 { 1 } else { 0 };
            let mut expected = BytesMut::new();
            write_response(&mut expected, 42, header_version, version, &full).unwrap();
            let mut out = Outgoing::default();
            out.writer().extend_from_slice(b"before");
            write(&mut out, 42, header_version, version, &full, &sets).unwrap();
            let all = written(out);
            prop_assert_eq!(&all[..6], b"before");
            prop_assert_eq!(&all[6..], &expected[..]);
        }
    }

    #[test]
    fn large_batches_are_not_copied() {
        let (full, sets) = response(&[vec![vec![5000, 6000]]], 12);
        let mut out = Outgoing::default();
        write(&mut out, 1, 1, 12, &full, &sets).unwrap();
        let mut slices = [std::io::IoSlice::new(&[]); 8];
        let count = out.chunks_vectored(&mut slices);
        let served = &sets[0][0];
        let pointers: Vec<_> = slices[..count].iter().map(|s| s.as_ptr()).collect();
        for batch in served {
            assert!(
                pointers.contains(&batch.as_ptr()),
                "each batch is written from its own memory"
            );
        }
    }

    #[test]
    fn versions_it_does_not_know_are_refused() {
        let (full, sets) = response(&[], 13);
        let error = write(&mut Outgoing::default(), 1, 1, 13, &full, &sets).unwrap_err();
        assert!(error.to_string().contains("Fetch v13"), "{error}");
    }
}

//! Produce requests as segments: the envelope encoded here, each batch's
//! bytes referenced rather than copied into the request.
//!
//! The `kafka-protocol` crate's encoder copies every batch into the request
//! buffer; for large batches that copy is most of the producer's work. The
//! envelope (header, acks, timeout, topic and partition lists) is small and
//! written here for versions 3 to 12; a test checks it byte for byte against
//! the crate's encoding of the same request.

use bytes::{BufMut, Bytes, BytesMut};

/// One partition's sealed batch.
#[derive(Debug, Clone)]
pub(crate) struct PartitionBatch {
    /// The partition index.
    pub(crate) partition: i32,
    /// The sealed RecordBatch, sent as it is.
    pub(crate) records: Bytes,
}

/// The batches of one topic.
#[derive(Debug, Clone)]
pub(crate) struct TopicBatches {
    /// The topic's name.
    pub(crate) topic: String,
    /// One batch per partition.
    pub(crate) partitions: Vec<PartitionBatch>,
}

/// The highest Produce version written here (v13 names topics by id).
pub(crate) const MAX_VERSION: i16 = 12;

/// Encodes a whole Produce request, size prefix included, as segments to write in order.
///
/// # Panics
/// If `version` is outside 3 to 12.
pub(crate) fn encode(
    version: i16,
    correlation_id: i32,
    client_id: &str,
    acks: i16,
    timeout_ms: i32,
    topics: &[TopicBatches],
) -> Vec<Bytes> {
    assert!(
        (3..=MAX_VERSION).contains(&version),
        "Produce v{version} is not written here"
    );
    let flexible = version >= 9;
    let mut segments =
        Vec::with_capacity(2 + 2 * topics.iter().map(|t| t.partitions.len()).sum::<usize>());
    let mut out = BytesMut::with_capacity(256);
    out.put_i16(0); // api key: Produce
    out.put_i16(version);
    out.put_i32(correlation_id);
    out.put_i16(client_id.len() as i16); // the header's client id is never compact
    out.put_slice(client_id.as_bytes());
    if flexible {
        out.put_u8(0); // header tagged fields
        out.put_u8(0); // transactional id: null (compact)
    } else {
        out.put_i16(-1); // transactional id: null
    }
    out.put_i16(acks);
    out.put_i32(timeout_ms);
    put_count(&mut out, topics.len(), flexible);
    for topic in topics {
        if flexible {
            put_uvarint(&mut out, topic.topic.len() as u64 + 1);
        } else {
            out.put_i16(topic.topic.len() as i16);
        }
        out.put_slice(topic.topic.as_bytes());
        put_count(&mut out, topic.partitions.len(), flexible);
        for partition in &topic.partitions {
            out.put_i32(partition.partition);
            if flexible {
                put_uvarint(&mut out, partition.records.len() as u64 + 1);
            } else {
                out.put_i32(partition.records.len() as i32);
            }
            segments.push(out.split().freeze());
            segments.push(partition.records.clone());
            if flexible {
                out.put_u8(0); // partition tagged fields
            }
        }
        if flexible {
            out.put_u8(0); // topic tagged fields
        }
    }
    if flexible {
        out.put_u8(0); // request tagged fields
    }
    segments.push(out.freeze());
    let size: usize = segments.iter().map(Bytes::len).sum();
    segments.insert(0, Bytes::copy_from_slice(&(size as i32).to_be_bytes()));
    segments
}

fn put_count(out: &mut BytesMut, count: usize, flexible: bool) {
    if flexible {
        put_uvarint(out, count as u64 + 1);
    } else {
        out.put_i32(count as i32);
    }
}

fn put_uvarint(out: &mut BytesMut, mut value: u64) {
    while value >= 0x80 {
        out.put_u8((value as u8) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::produce_request::{
        PartitionProduceData, ProduceRequest, TopicProduceData,
    };
    use kafka_protocol::messages::{ApiKey, RequestHeader, TopicName};
    use kafka_protocol::protocol::{Encodable, StrBytes};
    use proptest::prelude::*;

    use super::*;

    /// The same request as the crate encodes it.
    fn crate_encoding(
        version: i16,
        correlation_id: i32,
        client_id: &str,
        acks: i16,
        timeout_ms: i32,
        topics: &[TopicBatches],
    ) -> Vec<u8> {
        let header = RequestHeader::default()
            .with_request_api_key(0)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_string(client_id.to_string())));
        let body = ProduceRequest::default()
            .with_transactional_id(None)
            .with_acks(acks)
            .with_timeout_ms(timeout_ms)
            .with_topic_data(
                topics
                    .iter()
                    .map(|t| {
                        TopicProduceData::default()
                            .with_name(TopicName(StrBytes::from_string(t.topic.clone())))
                            .with_partition_data(
                                t.partitions
                                    .iter()
                                    .map(|p| {
                                        PartitionProduceData::default()
                                            .with_index(p.partition)
                                            .with_records(Some(p.records.clone()))
                                    })
                                    .collect(),
                            )
                    })
                    .collect(),
            );
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, ApiKey::Produce.request_header_version(version))
            .unwrap();
        body.encode(&mut buf, version).unwrap();
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        buf.to_vec()
    }

    fn arb_topics() -> impl Strategy<Value = Vec<TopicBatches>> {
        proptest::collection::vec(
            (
                "[a-z]{1,20}",
                proptest::collection::vec(
                    (0i32..1000, proptest::collection::vec(any::<u8>(), 0..300)),
                    1..4,
                ),
            )
                .prop_map(|(topic, partitions)| TopicBatches {
                    topic,
                    partitions: partitions
                        .into_iter()
                        .map(|(partition, records)| PartitionBatch {
                            partition,
                            records: Bytes::from(records),
                        })
                        .collect(),
                }),
            1..4,
        )
    }

    proptest! {
        #[test]
        fn segments_are_byte_for_byte_what_the_crate_encodes(
            version in 3i16..=12,
            correlation_id in any::<i32>(),
            client_id in "[a-z-]{0,20}",
            acks in prop_oneof![Just(-1i16), Just(0), Just(1)],
            timeout_ms in 0i32..100_000,
            topics in arb_topics(),
        ) {
            let ours: Vec<u8> = encode(version, correlation_id, &client_id, acks, timeout_ms, &topics)
                .iter()
                .flat_map(|s| s.iter().copied())
                .collect();
            prop_assert_eq!(ours, crate_encoding(version, correlation_id, &client_id, acks, timeout_ms, &topics));
        }
    }

    #[test]
    fn batches_are_referenced_not_copied() {
        let records = Bytes::from(vec![7u8; 1000]);
        let topics = vec![TopicBatches {
            topic: "t".into(),
            partitions: vec![PartitionBatch {
                partition: 0,
                records: records.clone(),
            }],
        }];
        let segments = encode(9, 1, "c", -1, 1000, &topics);
        assert!(
            segments
                .iter()
                .any(|s| s.as_ptr() == records.as_ptr() && s.len() == records.len())
        );
    }
}

//! Any sequence of produced batches (random codecs, sizes, keys, null keys and values, headers,
//! idempotent or not) is fetched back record for record from every offset: a property test over
//! real TCP, the Fetch responses decoded by `kafka-protocol`'s record decoder, not the broker's.

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::InitProducerIdRequest;
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use mock_broker::{BrokerConfig, MockBroker};
use proptest::prelude::*;

use crate::kafka_protocol::{KafkaClient, outcome, produce};
use crate::served_batches::{batches, fetch_request};

/// One record as sent.
#[derive(Debug, Clone, PartialEq)]
struct Sent {
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    headers: Vec<(String, Option<Vec<u8>>)>,
    timestamp: i64,
}

/// One produced batch: its codec, whether an idempotent producer sends it, and its records.
#[derive(Debug, Clone)]
struct SentBatch {
    compression: Compression,
    idempotent: bool,
    records: Vec<Sent>,
}

fn bytes_of(max: usize) -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..max)
}

fn record() -> impl Strategy<Value = Sent> {
    (
        prop::option::of(bytes_of(20)),
        // Large values now and then, so that some batches pass the broker's 64 KiB copy limit.
        prop_oneof![
            4 => prop::option::of(bytes_of(200)),
            1 => prop::option::of(bytes_of(40_000)),
        ],
        prop::collection::vec(("[a-z]{1,8}", prop::option::of(bytes_of(10))), 0..3),
        0i64..5_000,
    )
        .prop_map(|(key, value, headers, delta)| Sent {
            key,
            value,
            headers: distinct_keys(headers),
            timestamp: 1_700_000_000_000 + delta,
        })
}

/// The headers as `kafka-protocol`'s encoder keeps them (an `IndexMap`): a repeated key
/// takes the first one's place with the last one's value.
fn distinct_keys(headers: Vec<(String, Option<Vec<u8>>)>) -> Vec<(String, Option<Vec<u8>>)> {
    let mut kept: Vec<(String, Option<Vec<u8>>)> = Vec::with_capacity(headers.len());
    for (key, value) in headers {
        match kept.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => kept.push((key, value)),
        }
    }
    kept
}

fn batch() -> impl Strategy<Value = SentBatch> {
    (
        prop_oneof![
            Just(Compression::None),
            Just(Compression::Gzip),
            Just(Compression::Snappy),
            Just(Compression::Lz4),
            Just(Compression::Zstd),
        ],
        any::<bool>(),
        prop::collection::vec(record(), 1..8),
    )
        .prop_map(|(compression, idempotent, records)| SentBatch {
            compression,
            idempotent,
            records,
        })
}

/// The batch as `kafka-protocol` encodes it; `producer` is (id, epoch, base sequence).
fn encode(batch: &SentBatch, producer: Option<(i64, i16, i32)>) -> Bytes {
    let (id, epoch, base) = producer.unwrap_or((-1, -1, -1));
    let records: Vec<Record> = batch
        .records
        .iter()
        .enumerate()
        .map(|(i, sent)| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch whenever offset − sequence changes.
            sequence: if base < 0 {
                i as i32 - 1
            } else {
                base + i as i32
            },
            timestamp: sent.timestamp,
            key: sent.key.clone().map(Bytes::from),
            value: sent.value.clone().map(Bytes::from),
            headers: sent
                .headers
                .iter()
                .map(|(k, v)| (StrBytes::from_string(k.clone()), v.clone().map(Bytes::from)))
                .collect::<IndexMap<_, _>>(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: batch.compression,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).expect("the batch encodes");
    buf.freeze()
}

/// Produces `sent` to a fresh broker over TCP, then fetches from every offset and checks that the
/// first batch served holds it and that every record from it on is what was sent.
async fn round_trip(sent: Vec<SentBatch>) {
    let broker = MockBroker::start(BrokerConfig::ephemeral())
        .await
        .expect("the broker starts");
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let init = client
        .call(
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_transaction_timeout_ms(-1),
        )
        .await;
    assert_eq!(init.error_code, 0, "InitProducerId succeeds");
    let (id, epoch) = (init.producer_id.0, init.producer_epoch);
    let mut sequence = 0;
    let mut expected = Vec::new();
    for batch in &sent {
        let producer = batch.idempotent.then_some((id, epoch, sequence));
        if batch.idempotent {
            sequence += batch.records.len() as i32;
        }
        let response = client
            .call(9, &produce("t", 0, encode(batch, producer), -1))
            .await;
        let (error, base_offset) = outcome(&response);
        assert_eq!(error, 0, "the broker takes the batch");
        assert_eq!(
            base_offset,
            expected.len() as i64,
            "offsets follow each other"
        );
        expected.extend(batch.records.iter().cloned());
    }
    for from in 0..expected.len() as i64 {
        let request = fetch_request("t", &[(0, from)], 64 << 20, 64 << 20, 0);
        let response = client.call(12, &request).await;
        let partition = &response.responses[0].partitions[0];
        assert_eq!(partition.error_code, 0, "fetch from {from}: no error");
        assert_eq!(partition.high_watermark, expected.len() as i64);
        let fetched = batches(&partition.records);
        let first = fetched.first().expect("at least one batch");
        assert!(
            first.base_offset <= from && from < first.base_offset + i64::from(first.record_count),
            "fetch from {from}: the first batch served holds it"
        );
        let records: Vec<(i64, Sent)> = fetched
            .iter()
            .flat_map(|batch| &batch.records)
            .filter(|record| record.offset >= from)
            .map(|record| {
                let sent = Sent {
                    key: record.key.as_ref().map(|k| k.to_vec()),
                    value: record.value.as_ref().map(|v| v.to_vec()),
                    headers: record
                        .headers
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.as_ref().map(|v| v.to_vec())))
                        .collect(),
                    timestamp: record.timestamp,
                };
                (record.offset, sent)
            })
            .collect();
        let want: Vec<(i64, Sent)> = expected
            .iter()
            .cloned()
            .enumerate()
            .skip(from as usize)
            .map(|(offset, sent)| (offset as i64, sent))
            .collect();
        let first_difference = records
            .iter()
            .zip(&want)
            .position(|(got, sent)| got != sent);
        assert!(
            records == want,
            "fetch from {from}: every record from it on, as sent; {} records fetched, {} expected, \
             first difference at {first_difference:?}",
            records.len(),
            want.len()
        );
    }
    broker.shutdown().await;
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_offset_fetches_back_what_was_produced(sent in prop::collection::vec(batch(), 1..6)) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime");
        runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(120), round_trip(sent))
                .await
                .expect("the round trip ends within 120 s");
        });
    }
}

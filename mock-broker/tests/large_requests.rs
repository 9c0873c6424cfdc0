//! Produce requests large enough to be read into memory of their own (256 KiB and more; see
//! `mock-broker/src/large_request.rs`), over raw TCP: arriving in pieces, pipelined behind each
//! other and before small ones in the same write, cut off by a client that leaves. Whatever
//! was acknowledged is fetched back byte for byte, as it was sent.

use bytes::Bytes;
use kafka_protocol::messages::ProduceRequest;
use kafka_protocol::messages::fetch_request::FetchRequest;
use kafka_protocol::records::Compression;
use mock_broker::{BrokerConfig, MockBroker};
use tokio::io::AsyncWriteExt;

use crate::fetch_batches::{encode_batch, entries};
use crate::kafka_protocol::{KafkaClient, outcome, produce};
use crate::served_batches::fetch_request;

const PRODUCE_VERSION: i16 = 9;
const FETCH_VERSION: i16 = 12;

async fn broker() -> MockBroker {
    broker_with(|_| {}).await
}

async fn broker_with(configure: impl FnOnce(&mut BrokerConfig)) -> MockBroker {
    let mut config = BrokerConfig::ephemeral();
    config.partitions = 2;
    configure(&mut config);
    MockBroker::start(config).await.expect("the broker starts")
}

/// A batch of `count` records of about 1 KB: 900 make a 0.9 MB request (under the 1 MB
/// `max.message.bytes`).
fn big_batch(prefix: &str, count: usize) -> Bytes {
    let batch = encode_batch(&entries(prefix, count, 1000), Compression::None);
    assert!(batch.len() > 256 * 1024, "large enough to be read apart");
    batch
}

/// The record set of `partition` from `offset`, as served.
async fn fetch(client: &mut KafkaClient, topic: &str, partition: i32, offset: i64) -> Bytes {
    let request: FetchRequest = fetch_request(topic, &[(partition, offset)], 64 << 20, 64 << 20, 0);
    let response = client.call(FETCH_VERSION, &request).await;
    let served = &response.responses[0].partitions[0];
    assert_eq!(served.error_code, 0, "{topic}-{partition} fetched");
    served.records.clone().unwrap_or_default()
}

/// `batch` as the broker stores it at `base_offset` (the base offset is the only field it sets).
fn at_offset(batch: &Bytes, base_offset: i64) -> Vec<u8> {
    let mut stored = batch.to_vec();
    stored[..8].copy_from_slice(&base_offset.to_be_bytes());
    stored
}

#[tokio::test]
async fn a_large_request_in_pieces_and_a_small_one_behind_it_are_both_answered_and_served_as_sent()
{
    let broker = broker().await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let big = big_batch("big", 900);
    let small = encode_batch(&entries("small", 3, 10), Compression::None);
    let (big_id, big_request) = client.encode(PRODUCE_VERSION, &produce("t", 0, big.clone(), 1));
    let (small_id, small_request) =
        client.encode(PRODUCE_VERSION, &produce("t", 1, small.clone(), 1));
    // Uneven pieces, each flushed to the socket; the small request rides on the last one.
    let cuts = [2, 4, 100_000, 400_000, 777_000];
    let mut sent = 0;
    for cut in cuts {
        let stream = client.stream();
        stream.write_all(&big_request[sent..cut]).await.unwrap();
        stream.flush().await.unwrap();
        sent = cut;
    }
    let mut tail = big_request[sent..].to_vec();
    tail.extend_from_slice(&small_request);
    client.send_bytes(&tail).await;

    let big_response = client
        .receive::<ProduceRequest>(PRODUCE_VERSION, big_id)
        .await;
    assert_eq!(
        outcome(&big_response),
        (0, 0),
        "the large request is recorded"
    );
    let small_response = client
        .receive::<ProduceRequest>(PRODUCE_VERSION, small_id)
        .await;
    assert_eq!(
        outcome(&small_response),
        (0, 0),
        "the request behind it is recorded too"
    );
    assert_eq!(
        &fetch(&mut client, "t", 0, 0).await[..],
        &at_offset(&big, 0)[..]
    );
    assert_eq!(
        &fetch(&mut client, "t", 1, 0).await[..],
        &at_offset(&small, 0)[..]
    );
}

#[tokio::test]
async fn large_requests_pipelined_in_one_write_get_consecutive_offsets_and_keep_their_bytes() {
    let broker = broker().await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let batches: Vec<Bytes> = (0..3)
        .map(|i| big_batch(&format!("pipelined-{i}"), 300 + 250 * i))
        .collect();
    let mut write = Vec::new();
    let mut ids = Vec::new();
    for batch in &batches {
        let (id, request) = client.encode(PRODUCE_VERSION, &produce("t", 0, batch.clone(), 1));
        write.extend_from_slice(&request);
        ids.push(id);
    }
    client.send_bytes(&write).await;
    let mut expected_offset = 0;
    let mut stored = Vec::new();
    for (id, count) in ids.into_iter().zip([300, 550, 800]) {
        let response = client.receive::<ProduceRequest>(PRODUCE_VERSION, id).await;
        assert_eq!(outcome(&response), (0, expected_offset));
        stored.push(expected_offset);
        expected_offset += count;
    }
    let mut everything = Vec::new();
    for (batch, offset) in batches.iter().zip(stored) {
        everything.extend_from_slice(&at_offset(batch, offset));
    }
    assert_eq!(&fetch(&mut client, "t", 0, 0).await[..], &everything[..]);
}

#[tokio::test]
async fn a_client_leaving_in_the_middle_of_a_large_request_has_nothing_of_it_recorded() {
    let broker = broker().await;
    let mut leaving = KafkaClient::connect(broker.local_addr()).await;
    let big = big_batch("left", 900);
    let (_, request) = leaving.encode(PRODUCE_VERSION, &produce("t", 0, big, 1));
    leaving.send_bytes(&request[..request.len() / 2]).await;
    leaving.stream().shutdown().await.unwrap();
    leaving.expect_closed().await;

    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let small = encode_batch(&entries("after", 2, 10), Compression::None);
    let response = client
        .call(PRODUCE_VERSION, &produce("t", 0, small.clone(), 1))
        .await;
    assert_eq!(
        outcome(&response),
        (0, 0),
        "the next record is the partition's first"
    );
    assert_eq!(
        &fetch(&mut client, "t", 0, 0).await[..],
        &at_offset(&small, 0)[..]
    );
}

#[tokio::test]
async fn memory_recycled_after_retention_drops_a_request_never_shows_through_what_is_kept() {
    // 2 MiB per partition: every few requests the oldest go, and their memory is read into
    // again by the next ones (the pool of `large_request.rs`). That the pool hands memory out
    // again is checked by its unit tests; here, that what is kept never shows another
    // request's bytes.
    let broker = broker_with(|config| config.retention_bytes = 2 << 20).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let mut sent: Vec<(i64, Bytes)> = Vec::new();
    for i in 0..12 {
        // Sizes that share a size class, and different bytes each time.
        let batch = big_batch(&format!("round-{i}"), 600 + (i % 3) * 40);
        let expected_offset = if sent.is_empty() {
            0
        } else {
            next_offset(&sent)
        };
        let response = client
            .call(PRODUCE_VERSION, &produce("t", 0, batch.clone(), 1))
            .await;
        let (error, offset) = outcome(&response);
        assert_eq!(error, 0, "round {i} is recorded");
        assert_eq!(offset, expected_offset, "round {i}: offsets stay dense");
        sent.push((offset, batch));
        // What is kept now is exactly the newest batches sent, byte for byte.
        let first_kept = offset_of_first_kept(&mut client).await;
        let expected: Vec<u8> = sent
            .iter()
            .filter(|(o, _)| *o >= first_kept)
            .flat_map(|(o, b)| at_offset(b, *o))
            .collect();
        assert!(!expected.is_empty(), "round {i}: something is kept");
        let fetched = fetch(&mut client, "t", 0, first_kept).await;
        assert_eq!(
            fetched.len(),
            expected.len(),
            "round {i}: the kept batches' size"
        );
        assert!(
            fetched[..] == expected[..],
            "round {i}: the kept batches' bytes"
        );
    }
    assert!(
        offset_of_first_kept(&mut client).await > 0,
        "retention dropped the oldest requests"
    );
}

/// The offset after the last batch sent.
fn next_offset(sent: &[(i64, Bytes)]) -> i64 {
    let (offset, batch) = sent.last().expect("something sent");
    let count = i32::from_be_bytes(batch[57..61].try_into().unwrap());
    offset + i64::from(count)
}

/// The log start offset of partition 0 of `t` (ListOffsets, earliest).
async fn offset_of_first_kept(client: &mut KafkaClient) -> i64 {
    use kafka_protocol::messages::list_offsets_request::{
        ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
    };
    let request = ListOffsetsRequest::default().with_topics(vec![
        ListOffsetsTopic::default()
            .with_name(crate::kafka_protocol::name("t"))
            .with_partitions(vec![
                ListOffsetsPartition::default()
                    .with_partition_index(0)
                    .with_timestamp(-2),
            ]),
    ]);
    let response = client.call(7, &request).await;
    let partition = &response.topics[0].partitions[0];
    assert_eq!(partition.error_code, 0, "ListOffsets earliest answered");
    partition.offset
}

//! The Kafka protocol path over raw TCP: every served API at every served
//! version, KIP-511, CRC and batch validation, idempotence, acks=0, leadership.
//!
//! Requests are encoded and responses decoded with the `kafka-protocol` crate,
//! so these tests check the broker against the protocol's message layouts.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::indexmap::IndexMap;
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::api_versions_response::ApiVersionsResponse;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::init_producer_id_request::InitProducerIdRequest;
use kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::produce_request::{
    PartitionProduceData, ProduceRequest, TopicProduceData,
};
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};
use kafka_protocol::records::{
    Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};
use mock_broker::{BrokerConfig, MockBroker};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMEOUT: Duration = Duration::from_secs(30);

/// A bare Kafka client: one request at a time, or raw bytes.
pub(crate) struct KafkaClient {
    stream: TcpStream,
    next_correlation_id: i32,
}

impl KafkaClient {
    pub(crate) async fn connect(address: SocketAddr) -> KafkaClient {
        KafkaClient {
            stream: TcpStream::connect(address).await.unwrap(),
            next_correlation_id: 1,
        }
    }

    pub(crate) fn encode<R: Request>(&mut self, version: i16, body: &R) -> (i32, BytesMut) {
        let correlation_id = self.next_correlation_id;
        self.next_correlation_id += 1;
        let key = ApiKey::try_from(R::KEY).unwrap();
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(StrBytes::from_static_str("raw-test")));
        let mut buf = BytesMut::new();
        buf.put_i32(0);
        header
            .encode(&mut buf, key.request_header_version(version))
            .unwrap();
        body.encode(&mut buf, version).unwrap();
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        (correlation_id, buf)
    }

    /// The connection itself, for tests that misbehave on it.
    pub(crate) fn stream(&mut self) -> &mut TcpStream {
        &mut self.stream
    }

    pub(crate) async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    pub(crate) async fn send<R: Request>(&mut self, version: i16, body: &R) -> i32 {
        let (id, buf) = self.encode(version, body);
        self.stream.write_all(&buf).await.unwrap();
        id
    }

    /// The next response's bytes, or `None` when the broker closed the connection.
    pub(crate) async fn read_response(&mut self) -> Option<Bytes> {
        tokio::time::timeout(TIMEOUT, async {
            let mut size = [0u8; 4];
            if self.stream.read_exact(&mut size).await.is_err() {
                return None;
            }
            let mut body = vec![0u8; i32::from_be_bytes(size) as usize];
            self.stream.read_exact(&mut body).await.unwrap();
            Some(Bytes::from(body))
        })
        .await
        .expect("the broker answers in time")
    }

    pub(crate) async fn receive<R: Request>(
        &mut self,
        version: i16,
        correlation_id: i32,
    ) -> R::Response {
        let mut bytes = self
            .read_response()
            .await
            .expect("a response, not a closed connection");
        let key = ApiKey::try_from(R::KEY).unwrap();
        let header =
            ResponseHeader::decode(&mut bytes, key.response_header_version(version)).unwrap();
        assert_eq!(header.correlation_id, correlation_id);
        let response = R::Response::decode(&mut bytes, version)
            .unwrap_or_else(|e| panic!("{key:?} v{version} response does not decode: {e:#}"));
        assert_eq!(
            bytes.remaining(),
            0,
            "{key:?} v{version}: bytes left after the response"
        );
        response
    }

    pub(crate) async fn call<R: Request>(&mut self, version: i16, body: &R) -> R::Response {
        let id = self.send(version, body).await;
        self.receive::<R>(version, id).await
    }

    pub(crate) async fn expect_closed(&mut self) {
        assert!(
            self.read_response().await.is_none(),
            "expected the broker to close"
        );
    }
}

async fn broker(config: impl FnOnce(&mut BrokerConfig)) -> MockBroker {
    let mut c = BrokerConfig::ephemeral();
    config(&mut c);
    MockBroker::start(c).await.unwrap()
}

pub(crate) fn name(topic: &str) -> TopicName {
    TopicName(StrBytes::from_string(topic.to_string()))
}

pub(crate) fn records(values: &[&str], producer: Option<(i64, i16, i32)>) -> Bytes {
    let entries: Vec<(Option<Bytes>, Bytes)> = values
        .iter()
        .map(|v| {
            (
                Some(Bytes::from(format!("key-{v}"))),
                Bytes::copy_from_slice(v.as_bytes()),
            )
        })
        .collect();
    batch(&entries, producer, Compression::None)
}

/// One batch of records with these keys and values, by `kafka-protocol`'s encoder.
fn batch(
    entries: &[(Option<Bytes>, Bytes)],
    producer: Option<(i64, i16, i32)>,
    compression: Compression,
) -> Bytes {
    let (id, epoch, base) = producer.unwrap_or((-1, -1, -1));
    let records: Vec<Record> = entries
        .iter()
        .enumerate()
        .map(|(i, (key, value))| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: id,
            producer_epoch: epoch,
            timestamp_type: TimestampType::Creation,
            offset: i as i64,
            // The encoder starts a new batch whenever offset − sequence changes:
            // without a producer, −1, 0, 1, … keeps one batch with base sequence −1.
            sequence: if base < 0 {
                i as i32 - 1
            } else {
                base + i as i32
            },
            timestamp: 1_700_000_000_000,
            key: key.clone(),
            value: Some(value.clone()),
            headers: IndexMap::new(),
        })
        .collect();
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression,
    };
    RecordBatchEncoder::encode(&mut buf, &records, &options).unwrap();
    buf.freeze()
}

pub(crate) fn produce(topic: &str, partition: i32, batch: Bytes, acks: i16) -> ProduceRequest {
    ProduceRequest::default()
        .with_acks(acks)
        .with_timeout_ms(5000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name(topic))
                .with_partition_data(vec![
                    PartitionProduceData::default()
                        .with_index(partition)
                        .with_records(Some(batch)),
                ]),
        ])
}

/// (error code, base offset) of the single partition of a produce response.
pub(crate) fn outcome(response: &kafka_protocol::messages::ProduceResponse) -> (i16, i64) {
    let p = &response.responses[0].partition_responses[0];
    (p.error_code, p.base_offset)
}

fn values(broker: &MockBroker, topic: &str) -> Vec<String> {
    broker
        .store()
        .read_all(topic)
        .unwrap()
        .into_iter()
        .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
        .collect()
}

#[tokio::test]
async fn every_served_api_answers_at_every_served_version() {
    let broker = broker(|_| {}).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;

    for version in 0..=4 {
        let response = client.call(version, &ApiVersionsRequest::default()).await;
        assert_eq!(response.error_code, 0, "ApiVersions v{version}");
        assert!(
            response
                .api_keys
                .iter()
                .any(|k| k.api_key == ApiKey::Produce as i16)
        );
    }
    let mut topic_id = uuid::Uuid::nil();
    for version in 0..=13 {
        let request = MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name("versions"))),
        ]));
        let request = if version >= 4 {
            request.with_allow_auto_topic_creation(true)
        } else {
            request
        };
        let response = client.call(version, &request).await;
        assert_eq!(response.topics[0].error_code, 0, "Metadata v{version}");
        assert_eq!(response.brokers.len(), 1, "Metadata v{version}");
        if version >= 10 {
            topic_id = response.topics[0].topic_id;
        }
    }
    assert!(!topic_id.is_nil(), "Metadata v10+ reports topic ids");
    for version in 3..=13 {
        let mut request = produce("versions", 0, records(&[&format!("v{version}")], None), -1);
        if version >= 13 {
            request.topic_data[0].name = TopicName::default();
            request.topic_data[0].topic_id = topic_id;
        }
        let response = client.call(version, &request).await;
        assert_eq!(
            outcome(&response),
            (0, i64::from(version) - 3),
            "Produce v{version}"
        );
    }
    for version in 0..=5 {
        let response = client
            .call(
                version,
                &InitProducerIdRequest::default()
                    .with_transactional_id(None)
                    .with_producer_id((-1).into()),
            )
            .await;
        assert_eq!(response.error_code, 0, "InitProducerId v{version}");
        assert!(response.producer_id.0 >= 0);
    }
    for version in 4..=12 {
        let request = FetchRequest::default()
            .with_max_bytes(1 << 20)
            .with_topics(vec![
                FetchTopic::default()
                    .with_topic(name("versions"))
                    .with_partitions(vec![
                        FetchPartition::default()
                            .with_partition(0)
                            .with_fetch_offset(0)
                            .with_partition_max_bytes(1 << 20),
                    ]),
            ]);
        let response = client.call(version, &request).await;
        let partition = &response.responses[0].partitions[0];
        assert_eq!(partition.error_code, 0, "Fetch v{version}");
        assert_eq!(partition.high_watermark, 11, "Fetch v{version}");
        let mut batch = partition.records.clone().unwrap();
        let batches = RecordBatchDecoder::decode_all(&mut batch).unwrap();
        // The batches as they were produced, at the offsets the broker assigned.
        let fetched: Vec<_> = batches.iter().flat_map(|b| &b.records).collect();
        assert_eq!(fetched.len(), 11, "Fetch v{version}");
        for (offset, record) in fetched.iter().enumerate() {
            assert_eq!(
                record.offset, offset as i64,
                "Fetch v{version}: dense offsets"
            );
        }
        assert_eq!(fetched[4].value.as_deref(), Some(&b"v7"[..]));
        assert_eq!(fetched[4].offset, 4);
    }
    for version in 0..=6 {
        let request = if version >= 4 {
            FindCoordinatorRequest::default()
                .with_coordinator_keys(vec![StrBytes::from_static_str("group-a")])
        } else {
            FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("group-a"))
        };
        let response = client.call(version, &request).await;
        let node = if version >= 4 {
            response.coordinators[0].node_id.0
        } else {
            response.node_id.0
        };
        assert_eq!(node, 1, "FindCoordinator v{version}");
    }
    for version in 1..=10 {
        let request = ListOffsetsRequest::default().with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(name("versions"))
                .with_partitions(vec![ListOffsetsPartition::default().with_timestamp(-1)]),
        ]);
        let response = client.call(version, &request).await;
        let partition = &response.topics[0].partitions[0];
        assert_eq!(
            (partition.error_code, partition.offset),
            (0, 11),
            "ListOffsets v{version}"
        );
    }
}

#[tokio::test]
async fn api_versions_at_an_unknown_version_gets_the_kip_511_answer() {
    let broker = broker(|_| {}).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    // An ApiVersions v99 request: only the key, version and correlation id are readable.
    let mut raw = BytesMut::new();
    raw.put_i32(10);
    raw.put_i16(ApiKey::ApiVersions as i16);
    raw.put_i16(99);
    raw.put_i32(77);
    raw.put_i16(-1);
    client.stream.write_all(&raw).await.unwrap();
    let mut bytes = client.read_response().await.unwrap();
    let header = ResponseHeader::decode(&mut bytes, 0).unwrap();
    assert_eq!(header.correlation_id, 77);
    let body = ApiVersionsResponse::decode(&mut bytes, 0).unwrap();
    assert_eq!(body.error_code, 35, "UNSUPPORTED_VERSION");
    let range = body
        .api_keys
        .iter()
        .find(|k| k.api_key == ApiKey::ApiVersions as i16)
        .unwrap();
    assert_eq!((range.min_version, range.max_version), (0, 4));
    // The connection stays usable.
    let response = client.call(3, &ApiVersionsRequest::default()).await;
    assert_eq!(response.error_code, 0);
}

#[tokio::test]
async fn unserved_apis_unknown_keys_and_unserved_versions_close_the_connection() {
    let broker = broker(|_| {}).await;
    for (key, version) in [
        (11i16, 5i16),
        (999, 0),
        (ApiKey::Produce as i16, 2),
        (ApiKey::Metadata as i16, 14),
    ] {
        let mut client = KafkaClient::connect(broker.local_addr()).await;
        let mut raw = BytesMut::new();
        raw.put_i32(10);
        raw.put_i16(key);
        raw.put_i16(version);
        raw.put_i32(1);
        raw.put_i16(-1);
        client.stream.write_all(&raw).await.unwrap();
        client.expect_closed().await;
    }
    // The broker still serves others.
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    assert_eq!(
        client
            .call(0, &ApiVersionsRequest::default())
            .await
            .error_code,
        0
    );
}

#[tokio::test]
async fn a_request_over_the_size_limit_is_refused_before_it_is_read() {
    let broker = broker(|c| c.max_frame_bytes = 4096).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    client
        .stream
        .write_all(&(1i32 << 20).to_be_bytes())
        .await
        .unwrap();
    client.expect_closed().await;
}

#[tokio::test]
async fn a_corrupt_batch_gets_corrupt_message_and_nothing_is_recorded() {
    let broker = broker(|_| {}).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let mut batch = records(&["a", "b"], None).to_vec();
    let last = batch.len() - 1;
    batch[last] ^= 0x40;
    let response = client
        .call(9, &produce("crc", 0, Bytes::from(batch), -1))
        .await;
    let partition = &response.responses[0].partition_responses[0];
    assert_eq!(partition.error_code, 2, "CORRUPT_MESSAGE");
    let message = partition.error_message.as_ref().unwrap().to_string();
    assert!(message.contains("CRC mismatch"), "{message}");
    assert_eq!(broker.store().read_all("crc").unwrap().len(), 0);
}

#[tokio::test]
async fn two_batches_for_one_partition_are_an_invalid_record() {
    let broker = broker(|_| {}).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let mut both = BytesMut::new();
    both.put_slice(&records(&["a"], None));
    both.put_slice(&records(&["b"], None));
    let response = client.call(9, &produce("two", 0, both.freeze(), -1)).await;
    assert_eq!(outcome(&response).0, 87, "INVALID_RECORD");
    assert!(broker.store().read_all("two").unwrap().is_empty());
}

#[tokio::test]
async fn a_batch_over_max_message_bytes_is_message_too_large() {
    let broker = broker(|c| c.max_message_bytes = 200).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let big = "x".repeat(500);
    let response = client
        .call(9, &produce("big", 0, records(&[&big], None), 1))
        .await;
    assert_eq!(outcome(&response).0, 10, "MESSAGE_TOO_LARGE");
}

/// A decompression bomb: a small zstd batch whose one record is 16 MiB of zeros.
fn bomb() -> Bytes {
    let zeros = Bytes::from(vec![0u8; 16 * 1024 * 1024]);
    batch(&[(None, zeros)], None, Compression::Zstd)
}

#[tokio::test]
async fn a_batch_decompressing_past_the_limit_is_message_too_large_and_not_recorded() {
    let broker = broker(|c| c.max_decompressed_bytes = 1024 * 1024).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let bomb = bomb();
    assert!(bomb.len() < 64 * 1024, "the bomb is {} bytes", bomb.len());
    let response = client.call(9, &produce("bomb", 0, bomb, 1)).await;
    let partition = &response.responses[0].partition_responses[0];
    assert_eq!(partition.error_code, 10, "MESSAGE_TOO_LARGE");
    let message = partition.error_message.as_ref().unwrap().to_string();
    assert!(
        message.contains("max_decompressed_bytes = 1048576"),
        "{message}"
    );
    assert!(broker.store().read_all("bomb").unwrap().is_empty());
    // The connection goes on serving.
    let response = client
        .call(9, &produce("bomb", 0, records(&["after"], None), 1))
        .await;
    assert_eq!(outcome(&response), (0, 0));
}

#[tokio::test]
async fn idle_connections_are_closed_after_connections_max_idle_ms() {
    let broker = broker(|c| c.connections_max_idle_ms = 200).await;
    // One that never sent a byte.
    let mut silent = KafkaClient::connect(broker.local_addr()).await;
    assert_eq!(silent.read_response().await, None, "closed, not answered");
    // One that was served, then went quiet.
    let mut served = KafkaClient::connect(broker.local_addr()).await;
    let response = served.call(3, &ApiVersionsRequest::default()).await;
    assert_eq!(response.error_code, 0);
    assert_eq!(served.read_response().await, None, "closed once idle");
}

#[tokio::test]
async fn invalid_and_unknown_topics_are_named_errors() {
    let broker = broker(|c| c.auto_create_topics = false).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let request = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(name("missing"))),
        MetadataRequestTopic::default().with_name(Some(name("bad name"))),
    ]));
    let response = client.call(12, &request).await;
    assert_eq!(
        response.topics[0].error_code, 3,
        "UNKNOWN_TOPIC_OR_PARTITION"
    );
    assert_eq!(response.topics[1].error_code, 17, "INVALID_TOPIC_EXCEPTION");
    let response = client
        .call(9, &produce("missing", 0, records(&["a"], None), 1))
        .await;
    assert_eq!(outcome(&response).0, 3);
    let response = client
        .call(9, &produce("bad name", 0, records(&["a"], None), 1))
        .await;
    assert_eq!(outcome(&response).0, 17);
    assert!(broker.store().topics().is_empty());
}

#[tokio::test]
async fn acks_zero_gets_no_response_and_later_responses_keep_their_order() {
    let broker = broker(|_| {}).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    client
        .send(9, &produce("quiet", 0, records(&["a"], None), 0))
        .await;
    client
        .send(9, &produce("quiet", 0, records(&["b"], None), 0))
        .await;
    let id = client
        .send(9, &produce("quiet", 0, records(&["c"], None), 1))
        .await;
    let response = client.receive::<ProduceRequest>(9, id).await;
    assert_eq!(outcome(&response), (0, 2));
    assert_eq!(values(&broker, "quiet"), vec!["a", "b", "c"]);
}

#[tokio::test]
async fn idempotent_retries_are_acknowledged_once_and_gaps_and_stale_epochs_refused() {
    let broker = broker(|_| {}).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let init = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_producer_id((-1).into());
    let response = client.call(4, &init).await;
    let (pid, epoch) = (response.producer_id.0, response.producer_epoch);

    let batch = |values: &[&str], epoch: i16, seq: i32| records(values, Some((pid, epoch, seq)));
    let first = client
        .call(
            9,
            &produce("idem", 0, batch(&["a", "b", "c"], epoch, 0), -1),
        )
        .await;
    assert_eq!(outcome(&first), (0, 0));
    let retry = client
        .call(
            9,
            &produce("idem", 0, batch(&["a", "b", "c"], epoch, 0), -1),
        )
        .await;
    assert_eq!(
        outcome(&retry),
        (0, 0),
        "a retry gets the original base offset"
    );
    let next = client
        .call(9, &produce("idem", 0, batch(&["d"], epoch, 3), -1))
        .await;
    assert_eq!(outcome(&next), (0, 3));
    let gap = client
        .call(9, &produce("idem", 0, batch(&["x"], epoch, 10), -1))
        .await;
    assert_eq!(outcome(&gap).0, 45, "OUT_OF_ORDER_SEQUENCE_NUMBER");
    assert_eq!(
        values(&broker, "idem"),
        vec!["a", "b", "c", "d"],
        "recorded once"
    );

    let bump = client
        .call(
            4,
            &init
                .clone()
                .with_producer_id(pid.into())
                .with_producer_epoch(epoch),
        )
        .await;
    assert_eq!(
        (bump.error_code, bump.producer_id.0, bump.producer_epoch),
        (0, pid, epoch + 1)
    );
    let stale = client
        .call(9, &produce("idem", 0, batch(&["y"], epoch, 4), -1))
        .await;
    assert_eq!(outcome(&stale).0, 47, "INVALID_PRODUCER_EPOCH");
    let fenced = client
        .call(
            4,
            &init
                .clone()
                .with_producer_id(pid.into())
                .with_producer_epoch(epoch),
        )
        .await;
    assert_eq!(fenced.error_code, 90, "PRODUCER_FENCED from v4");
    let fenced = client
        .call(
            3,
            &init.with_producer_id(pid.into()).with_producer_epoch(epoch),
        )
        .await;
    assert_eq!(fenced.error_code, 47, "INVALID_PRODUCER_EPOCH before v4");
    let fresh = client
        .call(9, &produce("idem", 0, batch(&["e"], epoch + 1, 0), -1))
        .await;
    assert_eq!(
        outcome(&fresh),
        (0, 4),
        "the new epoch starts at sequence 0"
    );
    let stored = broker.store().read_all("idem").unwrap();
    let info = stored[4].producer.unwrap();
    assert_eq!((info.id, info.epoch, info.sequence), (pid, epoch + 1, 0));
}

#[tokio::test]
async fn a_transactional_init_producer_id_gets_an_id_and_each_init_fences_the_last() {
    let broker = broker(|_| {}).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let request = InitProducerIdRequest::default()
        .with_transactional_id(Some(StrBytes::from_static_str("txn").into()))
        .with_transaction_timeout_ms(60_000)
        .with_producer_id((-1).into());
    let first = client.call(4, &request).await;
    assert_eq!((first.error_code, first.producer_epoch), (0, 0));
    let second = client.call(4, &request).await;
    assert_eq!(second.error_code, 0);
    assert_eq!(
        (second.producer_id, second.producer_epoch),
        (first.producer_id, 1),
        "the same id, its epoch bumped"
    );
    let idempotent = client
        .call(
            4,
            &InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_producer_id((-1).into()),
        )
        .await;
    assert_ne!(
        idempotent.producer_id, first.producer_id,
        "one id space for idempotent and transactional producers"
    );
}

#[tokio::test]
async fn a_broker_that_does_not_lead_the_partition_says_so() {
    let broker = broker(|c| {
        c.brokers = 3;
        c.partitions = 3;
    })
    .await;
    let addrs = broker.broker_addrs().to_vec();
    let mut client = KafkaClient::connect(addrs[0]).await;
    let response = client
        .call(9, &produce("led", 1, records(&["a"], None), 1))
        .await;
    assert_eq!(outcome(&response).0, 6, "NOT_LEADER_OR_FOLLOWER");
    let mut leader = KafkaClient::connect(addrs[1]).await;
    let response = leader
        .call(9, &produce("led", 1, records(&["a"], None), 1))
        .await;
    assert_eq!(outcome(&response), (0, 0));
    let metadata = client
        .call(12, &MetadataRequest::default().with_topics(None))
        .await;
    let leaders: Vec<i32> = metadata.topics[0]
        .partitions
        .iter()
        .map(|p| p.leader_id.0)
        .collect();
    assert_eq!(leaders, vec![1, 2, 3]);
    assert_eq!(metadata.brokers.len(), 3);
}

#[tokio::test]
async fn frame_and_kafka_clients_share_one_port_and_one_store() {
    let broker = broker(|_| {}).await;
    let mut config = producer::Config::new(broker.local_addr().to_string(), "both");
    config.protocol = producer::Protocol::Frame;
    let producer = producer::Producer::new(config).await.unwrap();
    producer.send_message("from-frame").await.unwrap();
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let response = client
        .call(9, &produce("both", 0, records(&["from-kafka"], None), 1))
        .await;
    assert_eq!(outcome(&response), (0, 1));
    let stored = broker.store().read_all("both").unwrap();
    let protocols: Vec<_> = stored.iter().map(|r| r.client.protocol.name()).collect();
    assert_eq!(protocols, vec!["frame", "kafka"]);
    assert_eq!(stored[1].client.client_id.as_deref(), Some("raw-test"));
}

#[tokio::test]
async fn hostile_array_lengths_close_the_connection_without_harming_the_broker() {
    let broker = broker(|_| {}).await;
    // Metadata v1 whose topic array claims 2^31 - 1 entries: once enough to
    // make the decoder reserve ~154 GB and abort the process.
    for (version, array_length) in [
        (1i16, &0x7FFF_FFFFi32.to_be_bytes()[..]),
        (9, &[0xFF, 0xFF, 0xFF, 0xFF, 0x07][..]),
    ] {
        let mut client = KafkaClient::connect(broker.local_addr()).await;
        let mut body = BytesMut::new();
        body.put_i16(ApiKey::Metadata as i16);
        body.put_i16(version);
        body.put_i32(1);
        body.put_i16(-1); // client id
        if version >= 9 {
            body.put_u8(0); // header tagged fields
        }
        body.put_slice(array_length);
        let mut raw = BytesMut::new();
        raw.put_i32(body.len() as i32);
        raw.put_slice(&body);
        client.stream.write_all(&raw).await.unwrap();
        client.expect_closed().await;
    }
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    assert_eq!(
        client
            .call(0, &ApiVersionsRequest::default())
            .await
            .error_code,
        0
    );
}

#[tokio::test]
async fn list_offsets_finds_earliest_latest_and_by_timestamp() {
    let broker = broker(|_| {}).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let response = client
        .call(9, &produce("times", 0, records(&["a", "b", "c"], None), 1))
        .await;
    assert_eq!(outcome(&response), (0, 0));
    // Every record of `records()` is stamped 1_700_000_000_000.
    let ask = |timestamp: i64| {
        ListOffsetsRequest::default().with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(name("times"))
                .with_partitions(vec![
                    ListOffsetsPartition::default().with_timestamp(timestamp),
                ]),
        ])
    };
    for (timestamp, expected) in [
        (-2, (-1, 0)),
        (-1, (-1, 3)),
        (-3, (1_700_000_000_000, 0)),
        (1_700_000_000_000, (1_700_000_000_000, 0)),
        (1_700_000_000_001, (-1, -1)),
    ] {
        let response = client.call(7, &ask(timestamp)).await;
        let p = &response.topics[0].partitions[0];
        assert_eq!(
            (p.error_code, p.timestamp, p.offset),
            (0, expected.0, expected.1),
            "timestamp {timestamp}"
        );
    }
}

/// Topics and partitions past the broker's limits are refused before anything is allocated,
/// naming the limit: CreateTopics (also with `validate_only`) answers INVALID_PARTITIONS, and a
/// topic past `max_topics` is not auto-created by Metadata.
#[tokio::test]
async fn topics_and_partitions_past_the_limits_are_refused_naming_the_limit() {
    use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
    let broker = broker(|c| c.max_topics = 1).await;
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    for validate_only in [true, false] {
        let request = CreateTopicsRequest::default()
            .with_validate_only(validate_only)
            .with_topics(vec![
                CreatableTopic::default()
                    .with_name(name("huge"))
                    .with_num_partitions(i32::MAX)
                    .with_replication_factor(-1),
            ]);
        let response = client.call(7, &request).await;
        let topic = &response.topics[0];
        assert_eq!(
            topic.error_code,
            kafka_protocol::ResponseError::InvalidPartitions.code(),
            "validate_only {validate_only}"
        );
        let message = topic.error_message.as_ref().map(|m| m.to_string());
        assert!(
            message
                .as_deref()
                .is_some_and(|m| m.contains("--max-partitions-per-topic")),
            "{message:?}"
        );
    }
    assert!(broker.store().topic("huge").is_none());
    // One topic fits; Metadata does not auto-create a second.
    broker.store().create_topic("first", 1);
    let request = MetadataRequest::default()
        .with_topics(Some(vec![
            MetadataRequestTopic::default().with_name(Some(name("second"))),
        ]))
        .with_allow_auto_topic_creation(true);
    let response = client.call(9, &request).await;
    assert_eq!(
        response.topics[0].error_code,
        kafka_protocol::ResponseError::UnknownTopicOrPartition.code()
    );
    assert!(broker.store().topic("second").is_none());
}

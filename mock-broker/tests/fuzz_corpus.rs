//! The fuzz targets' committed corpus (`fuzz/corpus/<target>/`), replayed on stable through the
//! same functions the cargo-fuzz targets call (`fuzz/fuzz_targets/<target>.rs`), so that every
//! input a fuzzer kept, and every crash it found, is a test; and the seed inputs' generator.
//!
//! The seeds are written by the ignored test [`write_seed_corpus`]:
//! `cargo test -p mock-broker --test integration fuzz_corpus::write_seed_corpus -- --ignored`.

use std::fs;
use std::path::{Path, PathBuf};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::metadata_response::{MetadataResponseBroker, MetadataResponseTopic};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Encodable, Request, StrBytes};
use kafka_protocol::records::Compression;
use protocol::frame::{
    self, FrameAcks, Message, PartitionRun, ProduceRequest as FrameProduce,
    ProduceResponse as FrameResponse, Status,
};

use super::fetch_batches::{encode_batch, entries};
use super::kafka_protocol::{name, produce, records};

/// What a fuzz target calls on every input.
type Target = fn(&[u8]);

/// Each fuzz target by name, and the function it calls on every input.
const TARGETS: [(&str, Target); 7] = [
    ("frame_decoder", protocol::fuzzing::frame_decoder),
    ("kafka_session", mock_broker::fuzzing::kafka_session),
    ("frame_session", mock_broker::fuzzing::frame_session),
    ("admin_request", mock_broker::fuzzing::admin_request),
    ("producer_responses", producer::fuzzing::responses),
    ("sasl_exchange", mock_broker::fuzzing::sasl_exchange),
    ("record_file", mock_broker::fuzzing::record_file),
];

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

#[test]
fn every_fuzz_target_has_a_corpus_and_a_replay() {
    let mut targets: Vec<String> = fs::read_dir(fuzz_dir().join("fuzz_targets"))
        .expect("fuzz/fuzz_targets exists")
        .map(|entry| {
            let path = entry.unwrap().path();
            path.file_stem().unwrap().to_string_lossy().into_owned()
        })
        .collect();
    targets.sort();
    let mut known: Vec<String> = TARGETS.iter().map(|(n, _)| n.to_string()).collect();
    known.sort();
    assert_eq!(targets, known, "fuzz/fuzz_targets/*.rs and TARGETS differ");
    for (target, _) in TARGETS {
        let inputs = corpus(target);
        assert!(!inputs.is_empty(), "fuzz/corpus/{target} holds no input");
    }
}

#[test]
fn every_corpus_input_of_every_fuzz_target_replays_without_a_panic() {
    for (target, run) in TARGETS {
        for input in corpus(target) {
            let data = fs::read(&input).unwrap();
            let outcome = std::panic::catch_unwind(|| run(&data));
            assert!(
                outcome.is_ok(),
                "{target} panicked on {}; reproduce with `cargo +nightly fuzz run {target} {}`",
                input.display(),
                input.display()
            );
        }
    }
}

fn corpus(target: &str) -> Vec<PathBuf> {
    let dir = fuzz_dir().join("corpus").join(target);
    let mut inputs: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.is_file())
        .collect();
    inputs.sort();
    inputs
}

/// Writes the seed inputs of every target into `fuzz/corpus/<target>/seed-*`.
#[test]
#[ignore = "writes the seed corpus; run by hand when a request or response kind is added"]
fn write_seed_corpus() {
    for (target, seeds) in [
        ("frame_decoder", frame_decoder_seeds()),
        ("kafka_session", kafka_session_seeds()),
        ("frame_session", frame_session_seeds()),
        ("admin_request", admin_request_seeds()),
        ("producer_responses", producer_response_seeds()),
        ("sasl_exchange", sasl_exchange_seeds()),
        ("record_file", record_file_seeds()),
    ] {
        let dir = fuzz_dir().join("corpus").join(target);
        fs::create_dir_all(&dir).unwrap();
        for (name, data) in seeds {
            fs::write(dir.join(format!("seed-{name}")), data).unwrap();
        }
    }
}

type Seeds = Vec<(String, Vec<u8>)>;

/// One Kafka request with its size prefix, as a client writes it.
fn request<R: Request>(version: i16, body: &R) -> Option<Vec<u8>> {
    let key = ApiKey::try_from(R::KEY).unwrap();
    let header = RequestHeader::default()
        .with_request_api_key(R::KEY)
        .with_request_api_version(version)
        .with_correlation_id(7)
        .with_client_id(Some(StrBytes::from_static_str("fuzz")));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header
        .encode(&mut buf, key.request_header_version(version))
        .ok()?;
    body.encode(&mut buf, version).ok()?;
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    Some(buf.to_vec())
}

/// Every version of `R` with a default body.
fn defaults<R: Request + Default>(seeds: &mut Seeds) {
    let key = ApiKey::try_from(R::KEY).unwrap();
    for version in R::VERSIONS.min..=R::VERSIONS.max {
        if let Some(bytes) = request(version, &R::default()) {
            let mut data = vec![0];
            data.extend(bytes);
            seeds.push((format!("{key:?}-v{version}-default"), data));
        }
    }
}

/// A connection's requests after the fault-rule byte.
fn session(fault: u8, requests: &[Vec<u8>]) -> Vec<u8> {
    let mut data = vec![fault];
    for r in requests {
        data.extend_from_slice(r);
    }
    data
}

fn str(s: &'static str) -> StrBytes {
    StrBytes::from_static_str(s)
}

fn kafka_session_seeds() -> Seeds {
    let mut seeds = Seeds::new();
    defaults::<ApiVersionsRequest>(&mut seeds);
    defaults::<MetadataRequest>(&mut seeds);
    defaults::<ProduceRequest>(&mut seeds);
    defaults::<InitProducerIdRequest>(&mut seeds);
    defaults::<FetchRequest>(&mut seeds);
    defaults::<ListOffsetsRequest>(&mut seeds);
    defaults::<FindCoordinatorRequest>(&mut seeds);
    defaults::<JoinGroupRequest>(&mut seeds);
    defaults::<SyncGroupRequest>(&mut seeds);
    defaults::<HeartbeatRequest>(&mut seeds);
    defaults::<LeaveGroupRequest>(&mut seeds);
    defaults::<OffsetCommitRequest>(&mut seeds);
    defaults::<OffsetFetchRequest>(&mut seeds);
    defaults::<ListGroupsRequest>(&mut seeds);
    defaults::<DescribeGroupsRequest>(&mut seeds);
    defaults::<DeleteGroupsRequest>(&mut seeds);
    defaults::<OffsetDeleteRequest>(&mut seeds);
    defaults::<CreateTopicsRequest>(&mut seeds);
    defaults::<DeleteTopicsRequest>(&mut seeds);
    defaults::<CreatePartitionsRequest>(&mut seeds);
    defaults::<DescribeConfigsRequest>(&mut seeds);
    defaults::<AlterConfigsRequest>(&mut seeds);
    defaults::<IncrementalAlterConfigsRequest>(&mut seeds);
    defaults::<DeleteRecordsRequest>(&mut seeds);
    defaults::<DescribeClusterRequest>(&mut seeds);
    defaults::<OffsetForLeaderEpochRequest>(&mut seeds);
    defaults::<DescribeProducersRequest>(&mut seeds);

    let metadata = MetadataRequest::default().with_topics(None);
    let fetch = FetchRequest::default()
        .with_max_wait_ms(0)
        .with_min_bytes(1)
        .with_max_bytes(1 << 20)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(name("t"))
                .with_partitions(vec![
                    FetchPartition::default()
                        .with_partition(0)
                        .with_fetch_offset(1)
                        .with_partition_max_bytes(1 << 20),
                ]),
        ]);
    let list_offsets = ListOffsetsRequest::default().with_topics(vec![
        ListOffsetsTopic::default()
            .with_name(name("t"))
            .with_partitions(vec![ListOffsetsPartition::default().with_timestamp(-1)]),
    ]);
    for (codec, compression) in [
        ("none", Compression::None),
        ("gzip", Compression::Gzip),
        ("snappy", Compression::Snappy),
        ("lz4", Compression::Lz4),
        ("zstd", Compression::Zstd),
    ] {
        let batch = encode_batch(&entries(codec, 3, 40), compression);
        let requests = [
            request(3, &ApiVersionsRequest::default()).unwrap(),
            request(12, &metadata).unwrap(),
            request(9, &produce("t", 0, batch, 1)).unwrap(),
            request(12, &fetch).unwrap(),
            request(7, &list_offsets).unwrap(),
        ];
        seeds.push((format!("produce-fetch-{codec}"), session(0, &requests)));
    }
    let plain = encode_batch(&entries("f", 2, 10), Compression::None);
    for fault in 1..6u8 {
        let requests = [
            request(9, &produce("t", 1, plain.clone(), 1)).unwrap(),
            request(12, &fetch).unwrap(),
            request(12, &metadata).unwrap(),
        ];
        seeds.push((
            format!("produce-fetch-fault-{fault}"),
            session(fault, &requests),
        ));
    }
    let acks0 = request(9, &produce("t", 2, plain.clone(), 0)).unwrap();
    seeds.push(("produce-acks-0".into(), session(0, &[acks0])));
    let idempotent = [
        request(
            4,
            &InitProducerIdRequest::default().with_transaction_timeout_ms(60_000),
        )
        .unwrap(),
        request(
            9,
            &produce("t", 0, records(&["a", "b"], Some((0, 0, 0))), -1),
        )
        .unwrap(),
        request(9, &produce("t", 0, records(&["c"], Some((0, 0, 2))), -1)).unwrap(),
        request(9, &produce("t", 0, records(&["c"], Some((0, 0, 2))), -1)).unwrap(),
    ];
    seeds.push(("idempotent".into(), session(0, &idempotent)));

    let group = GroupId(str("g"));
    let protocols = vec![
        JoinGroupRequestProtocol::default()
            .with_name(str("range"))
            .with_metadata(Bytes::from_static(&[
                0, 1, 0, 0, 0, 1, 0, 1, b't', 0, 0, 0, 0,
            ])),
    ];
    let join = JoinGroupRequest::default()
        .with_group_id(group.clone())
        .with_session_timeout_ms(10_000)
        .with_rebalance_timeout_ms(10_000)
        .with_member_id(str(""))
        .with_protocol_type(str("consumer"))
        .with_protocols(protocols);
    let groups = [
        request(3, &FindCoordinatorRequest::default().with_key(str("g"))).unwrap(),
        request(5, &join).unwrap(),
        request(5, &join.clone().with_member_id(str("fuzz-member"))).unwrap(),
        request(3, &SyncGroupRequest::default().with_group_id(group.clone())).unwrap(),
        request(4, &HeartbeatRequest::default().with_group_id(group.clone())).unwrap(),
        request(
            8,
            &OffsetCommitRequest::default().with_group_id(group.clone()),
        )
        .unwrap(),
        request(8, &OffsetFetchRequest::default()).unwrap(),
        request(4, &ListGroupsRequest::default()).unwrap(),
        request(
            5,
            &DescribeGroupsRequest::default().with_groups(vec![group.clone()]),
        )
        .unwrap(),
        request(
            4,
            &LeaveGroupRequest::default().with_group_id(group.clone()),
        )
        .unwrap(),
        request(
            2,
            &DeleteGroupsRequest::default().with_groups_names(vec![group]),
        )
        .unwrap(),
    ];
    seeds.push(("groups".into(), session(0, &groups)));

    // A SASL listener (first byte's top bit): before, during and after the exchange.
    let handshake = |mechanism: &'static str| {
        request(
            1,
            &SaslHandshakeRequest::default().with_mechanism(str(mechanism)),
        )
        .unwrap()
    };
    let token = |token: &'static [u8]| {
        request(
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::from_static(token)),
        )
        .unwrap()
    };
    let sasl = [
        request(3, &ApiVersionsRequest::default()).unwrap(),
        handshake("PLAIN"),
        token(b"\0alice\0secret"),
        request(12, &metadata).unwrap(),
        token(b"\0alice\0secret"),
    ];
    seeds.push(("sasl-plain".into(), session(0x80, &sasl)));
    let during = [
        handshake("SCRAM-SHA-256"),
        token(b"n,,n=alice,r=CLIENT"),
        request(9, &produce("t", 0, plain.clone(), 1)).unwrap(),
    ];
    seeds.push(("sasl-scram-then-produce".into(), session(0x80, &during)));
    let before = [request(12, &metadata).unwrap()];
    seeds.push(("sasl-before-handshake".into(), session(0x80, &before)));
    seeds
}

fn frame_produce(correlation_id: u32, acks: FrameAcks, partition: Option<u32>) -> Vec<u8> {
    let request = FrameProduce {
        correlation_id,
        acks,
        client_id: "fuzz".into(),
        topic: "t".into(),
        partition,
        messages: (0..3)
            .map(|i| Message {
                timestamp: Some(1_700_000_000_000 + i),
                key: Some(Bytes::from(format!("key-{i}"))),
                value: Bytes::from(format!("value-{i}")),
                headers: vec![protocol::Header {
                    key: "h".into(),
                    value: (i > 0).then(|| Bytes::from_static(b"v")),
                }],
            })
            .collect(),
    };
    let mut buf = BytesMut::new();
    request.encode(&mut buf).unwrap();
    buf.to_vec()
}

fn frame_response(correlation_id: u32) -> Vec<u8> {
    let runs = vec![
        PartitionRun {
            partition: 0,
            base_offset: 5,
            count: 2,
        },
        PartitionRun {
            partition: 1,
            base_offset: 0,
            count: 1,
        },
    ];
    let mut buf = BytesMut::new();
    FrameResponse::ok(correlation_id, runs)
        .encode(&mut buf)
        .unwrap();
    FrameResponse::error(correlation_id + 1, Status::BrokerBusy, "busy")
        .encode(&mut buf)
        .unwrap();
    buf.to_vec()
}

fn frame_session_seeds() -> Seeds {
    let mut unsupported = frame_produce(9, FrameAcks::Recorded, None);
    unsupported[8] = frame::VERSION + 1;
    let mut seeds: Seeds = vec![
        ("produce-partition".into(), {
            let mut d = vec![0];
            d.extend(frame_produce(1, FrameAcks::Recorded, Some(1)));
            d
        }),
        ("produce-by-key-pipelined".into(), {
            let mut d = vec![0];
            d.extend(frame_produce(1, FrameAcks::Recorded, None));
            d.extend(frame_produce(2, FrameAcks::None, None));
            d.extend(frame_produce(3, FrameAcks::Recorded, Some(2)));
            d
        }),
        ("unsupported-then-produce".into(), {
            let mut d = vec![0];
            d.extend(unsupported);
            d.extend(frame_produce(10, FrameAcks::Recorded, Some(0)));
            d
        }),
        ("response-frame".into(), {
            let mut d = vec![0];
            d.extend(frame_response(4));
            d
        }),
    ];
    for fault in 1..6u8 {
        let mut d = vec![fault];
        d.extend(frame_produce(1, FrameAcks::Recorded, Some(0)));
        d.extend(frame_produce(2, FrameAcks::None, None));
        seeds.push((format!("produce-fault-{fault}"), d));
    }
    seeds
}

fn frame_decoder_seeds() -> Seeds {
    let mut both = frame_produce(1, FrameAcks::Recorded, None);
    both.extend(frame_response(2));
    vec![
        (
            "produce".into(),
            frame_produce(1, FrameAcks::Recorded, Some(0)),
        ),
        (
            "produce-acks-none".into(),
            frame_produce(1, FrameAcks::None, None),
        ),
        ("response".into(), frame_response(3)),
        ("request-and-response".into(), both),
        (
            "kafka-api-versions".into(),
            request(3, &ApiVersionsRequest::default()).unwrap(),
        ),
    ]
}

fn admin_request_seeds() -> Seeds {
    [
        "GET /health",
        "GET /topics",
        "GET /topics/t/records",
        "GET /topics/t/records?partition=1&offset=1&limit=2",
        "GET /topics/t/records?offset=2&limit=3",
        "GET /topics/nope/records?partition=0",
        "DELETE /topics/t",
        "POST /reset",
        "GET /stats",
        "GET /groups",
        "GET /groups/g",
        "POST /groups/g/rebalance",
        "GET /faults",
        "GET /faults/1",
        "DELETE /faults/1",
        "DELETE /faults",
        "PUT /topics",
        "POST /faults\n{\"kind\": \"error\", \"api\": \"produce\", \"topic\": \"t\", \"partition\": 0, \"count\": 3, \"error\": \"NOT_LEADER_OR_FOLLOWER\"}",
        "POST /faults\n{\"kind\": \"latency\", \"latency_ms\": 200, \"jitter_ms\": 50, \"probability\": 0.5, \"seed\": 7}",
        "POST /faults\n{\"kind\": \"stall\", \"at\": \"1s\", \"duration\": \"500ms\"}",
        "POST /faults\n{\"kind\": \"leader_move\", \"topic\": \"t\", \"partition\": 1, \"to\": 1}",
        "POST /faults\n{\"kind\": \"throttle\", \"throttle_ms\": 100, \"protocol\": \"kafka\"}",
    ]
    .iter()
    .enumerate()
    .map(|(i, text)| (format!("{i:02}"), text.as_bytes().to_vec()))
    .collect()
}

/// One Kafka response with its size prefix and header, as a broker writes it.
fn response<R: Encodable>(key: ApiKey, version: i16, body: &R) -> Vec<u8> {
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    ResponseHeader::default()
        .with_correlation_id(1)
        .encode(&mut buf, key.response_header_version(version))
        .unwrap();
    body.encode(&mut buf, version).unwrap();
    let size = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&size.to_be_bytes());
    buf.to_vec()
}

fn producer_response_seeds() -> Seeds {
    let mut seeds = Seeds::new();
    let mut frames = vec![0, 2];
    frames.extend(frame_response(1));
    seeds.push(("frame-2-messages".into(), frames));
    let mut frames = vec![0, 3];
    frames.extend(frame_response(1));
    seeds.push(("frame-3-messages".into(), frames));
    for (i, (key, version)) in producer::fuzzing::spoken_versions().into_iter().enumerate() {
        let body = match key {
            ApiKey::ApiVersions => response(
                key,
                version,
                &ApiVersionsResponse::default().with_api_keys(vec![
                    ApiVersion::default()
                        .with_api_key(0)
                        .with_min_version(3)
                        .with_max_version(12),
                    ApiVersion::default()
                        .with_api_key(3)
                        .with_min_version(1)
                        .with_max_version(12),
                ]),
            ),
            ApiKey::Metadata => response(
                key,
                version,
                &MetadataResponse::default()
                    .with_brokers(vec![
                        MetadataResponseBroker::default()
                            .with_node_id(BrokerId(1))
                            .with_host(str("localhost"))
                            .with_port(9092),
                    ])
                    .with_topics(vec![
                        MetadataResponseTopic::default()
                            .with_name(Some(name("t")))
                            .with_partitions(vec![Default::default()]),
                    ]),
            ),
            ApiKey::Produce => response(
                key,
                version,
                &ProduceResponse::default()
                    .with_throttle_time_ms(5)
                    .with_responses(vec![
                        TopicProduceResponse::default()
                            .with_name(name("t"))
                            .with_partition_responses(vec![
                                PartitionProduceResponse::default()
                                    .with_index(0)
                                    .with_base_offset(42),
                            ]),
                    ]),
            ),
            _ => response(
                key,
                version,
                &InitProducerIdResponse::default().with_producer_id(ProducerId(1000)),
            ),
        };
        let mut data = vec![(2 * i + 1) as u8];
        data.extend(&body);
        data.extend(&body);
        seeds.push((format!("{key:?}-v{version}"), data));
    }
    seeds
}

/// SASL tokens as `mock_broker::fuzzing::sasl_exchange` reads them: each a length byte and
/// that many bytes.
fn tokens(mode: u8, tokens: &[&[u8]]) -> Vec<u8> {
    let mut data = vec![mode];
    for token in tokens {
        data.push(u8::try_from(token.len()).unwrap());
        data.extend_from_slice(token);
    }
    data
}

fn sasl_exchange_seeds() -> Seeds {
    const PLAIN: u8 = 0;
    const SHA256: u8 = 1;
    const SHA512: u8 = 2;
    const PASSWORD: u8 = 0x80;
    vec![
        ("plain".into(), tokens(PLAIN, &[b"\0alice\0secret"])),
        (
            "plain-authzid".into(),
            tokens(PLAIN, &[b"bob\0bob\0pencil"]),
        ),
        (
            "plain-wrong".into(),
            tokens(PLAIN, &[b"\0alice\0pencil", b"\0alice\0secret"]),
        ),
        (
            "plain-twice".into(),
            tokens(PLAIN, &[b"\0bob\0pencil", b"\0bob\0pencil"]),
        ),
        (
            "scram-sha-256".into(),
            tokens(SHA256 | PASSWORD, &[b"n,,n=alice,r=CLIENTNONCE", b"secret"]),
        ),
        (
            "scram-sha-512".into(),
            tokens(
                SHA512 | PASSWORD,
                &[b"n,a=bob,n=bob,r=abc", b"pencil", b"pencil"],
            ),
        ),
        (
            "scram-wrong-password".into(),
            tokens(SHA256 | PASSWORD, &[b"n,,n=bob,r=x", b"secret"]),
        ),
        (
            "scram-raw-final".into(),
            tokens(
                SHA512,
                &[b"n,,n=alice,r=CLIENT", b"c=biws,r=CLIENTFUZZNONCE,p=AAAA"],
            ),
        ),
        (
            "scram-tokenauth".into(),
            tokens(SHA256, &[b"n,,n=alice,r=CLIENT,tokenauth=true"]),
        ),
    ]
}

fn record_file_seeds() -> Seeds {
    let topic = r#"{"kind":"topic","topic":"t","id":"6f1c3f0e-2b8a-4c7e-9d3a-1f2e3d4c5b6a","partitions":2,"replication_factor":1,"config":{"retention.ms":"60000"}}"#;
    let record = |offset: i64, sequence: i32| {
        format!(
            r#"{{"topic":"t","partition":1,"offset":{offset},"timestamp":42,"receive_time":43,"key":"k","value":{{"base64":"//4="}},"headers":{{"h":null}},"header_list":[["h","a"],["h",null]],"producer_id":1000,"producer_epoch":0,"sequence":{sequence},"protocol":"kafka","client_id":"c","client_address":"127.0.0.1:5000","base_offset":0}}"#
        )
    };
    let events = [
        r#"{"kind":"producer","producer_id":1000,"producer_epoch":0}"#,
        r#"{"kind":"partitions","topic":"t","partitions":3}"#,
        r#"{"kind":"topic_config","topic":"t","config":{"cleanup.policy":"delete"}}"#,
        r#"{"kind":"log_start","topic":"t","partition":1,"offset":1}"#,
        r#"{"kind":"offset_commit","group":"g","topic":"t","partition":0,"offset":2,"leader_epoch":-1,"metadata":"","commit_timestamp":99}"#,
        r#"{"kind":"offset_delete","group":"g","topic":"t","partition":0}"#,
        r#"{"kind":"group_deleted","group":"g"}"#,
        r#"{"kind":"topic_deleted","topic":"t"}"#,
        r#"{"kind":"reset"}"#,
    ];
    let mut whole = format!("{topic}\n{}\n{}\n", record(0, 0), record(1, 1));
    for event in events {
        whole.push_str(event);
        whole.push('\n');
    }
    let frame = r#"{"topic":"f","partition":0,"offset":0,"timestamp":null,"receive_time":1,"key":null,"value":"v","headers":{},"header_list":[],"producer_id":null,"producer_epoch":null,"sequence":null,"protocol":"frame","client_id":null,"client_address":"[::1]:9","transaction":"tx","control":false}"#;
    let torn = format!("{topic}\n{}\n{}", record(0, 0), &record(1, 1)[..40]);
    let corrupt = format!("{topic}\n{{\"kind\":\"teleport\"}}\n{}\n", record(0, 0));
    vec![
        ("every-kind".into(), whole.into_bytes()),
        (
            "frame-record-without-topic".into(),
            format!("{frame}\n").into_bytes(),
        ),
        ("torn-last-line".into(), torn.into_bytes()),
        ("corrupt-middle-line".into(), corrupt.into_bytes()),
    ]
}

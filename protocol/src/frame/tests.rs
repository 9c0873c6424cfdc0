//! Codec tests: the documented vectors, round trips, and every malformed case.

use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;

use super::*;

const LIMIT: u32 = DEFAULT_MAX_FRAME_BYTES;

/// Hex with whitespace and `#` comments removed, as written in docs/frame-protocol.md.
fn unhex(text: &str) -> Vec<u8> {
    let digits: String = text
        .lines()
        .map(|line| line.split('#').next().unwrap_or(""))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Request vector 1 of docs/frame-protocol.md.
const REQUEST_VECTOR: &str = "
    4B46524D 00000041 01 01 00000007   # magic, size 65, version 1, produce request, correlation id 7
    01                                 # acks: recorded
    0003 636C69                        # client id \"cli\"
    0004 64656D6F                      # topic \"demo\"
    FFFFFFFF                           # partition -1: broker chooses
    00000001                           # one message
    0000018BCFE56800                   # timestamp 1700000000000
    00000002 6B31                      # key \"k1\"
    00000005 68656C6C6F                # value \"hello\"
    0001                               # one header
    0005 7472616365 00000003 616263    # trace = \"abc\"
";

/// Response vector 2 of docs/frame-protocol.md.
const RESPONSE_VECTOR: &str = "
    4B46524D 0000001E 01 02 00000007   # magic, size 30, version 1, produce response, correlation id 7
    0000                               # status OK
    0000                               # empty error message
    00000001                           # one run
    00000000 0000000000000029 00000001 # partition 0, base offset 41, one message
";

/// Response vector 3 of docs/frame-protocol.md.
const ERROR_RESPONSE_VECTOR: &str = "
    4B46524D 00000018 01 02 00000008   # magic, size 24, version 1, produce response, correlation id 8
    0004                               # status INVALID_TOPIC_NAME
    000A 626164206E616D652021          # error message \"bad name !\" (10 bytes)
    00000000                           # no runs
";

fn vector_request() -> ProduceRequest {
    ProduceRequest {
        correlation_id: 7,
        acks: FrameAcks::Recorded,
        client_id: "cli".into(),
        topic: "demo".into(),
        partition: None,
        messages: vec![Message {
            timestamp: Some(1_700_000_000_000),
            key: Some(Bytes::from_static(b"k1")),
            value: Bytes::from_static(b"hello"),
            headers: vec![Header {
                key: "trace".into(),
                value: Some(Bytes::from_static(b"abc")),
            }],
        }],
    }
}

fn decode_one(bytes: &[u8]) -> Result<Option<Frame>, FrameError> {
    let mut buf = BytesMut::from(bytes);
    let frame = parse(&mut buf, LIMIT)?;
    if frame.is_some() {
        assert!(buf.is_empty(), "parse left {} bytes", buf.len());
    }
    Ok(frame)
}

fn encode(frame: &Frame) -> Vec<u8> {
    let mut buf = BytesMut::new();
    frame.encode(&mut buf).expect("encodes");
    buf.to_vec()
}

#[test]
fn request_vector_decodes_and_reencodes() {
    let bytes = unhex(REQUEST_VECTOR);
    let frame = decode_one(&bytes).unwrap().unwrap();
    assert_eq!(frame, Frame::ProduceRequest(vector_request()));
    assert_eq!(encode(&frame), bytes);
}

#[test]
fn response_vector_decodes_and_reencodes() {
    let bytes = unhex(RESPONSE_VECTOR);
    let frame = decode_one(&bytes).unwrap().unwrap();
    let expected = ProduceResponse::ok(
        7,
        vec![PartitionRun {
            partition: 0,
            base_offset: 41,
            count: 1,
        }],
    );
    assert_eq!(frame, Frame::ProduceResponse(expected));
    assert_eq!(encode(&frame), bytes);
}

#[test]
fn error_response_vector_decodes_and_reencodes() {
    let bytes = unhex(ERROR_RESPONSE_VECTOR);
    let frame = decode_one(&bytes).unwrap().unwrap();
    let expected = ProduceResponse::error(8, Status::InvalidTopicName, "bad name !");
    assert_eq!(frame, Frame::ProduceResponse(expected));
    assert_eq!(encode(&frame), bytes);
}

#[test]
fn docs_contain_the_vectors_tested_here() {
    let docs = include_str!("../../../docs/frame-protocol.md");
    let squash = |s: &str| unhex(s);
    for vector in [
        REQUEST_VECTOR,
        RESPONSE_VECTOR,
        ERROR_RESPONSE_VECTOR,
        PING_VECTOR,
        PONG_VECTOR,
    ] {
        let hex: String = squash(vector).iter().map(|b| format!("{b:02X}")).collect();
        let docs_hex: String = docs
            .split("```hex")
            .skip(1)
            .map(|block| block.split("```").next().unwrap_or(""))
            .map(|block| {
                squash(block)
                    .iter()
                    .map(|b| format!("{b:02X}"))
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("|");
        assert!(
            docs_hex.split('|').any(|d| d == hex),
            "vector {hex} missing from the docs"
        );
    }
}

#[test]
fn magic_read_as_a_kafka_size_is_over_one_gib() {
    assert!(u32::from_be_bytes(MAGIC) > 1 << 30);
    assert!(i32::from_be_bytes(MAGIC) > 1 << 30);
}

#[test]
fn every_prefix_of_a_frame_is_incomplete_not_an_error() {
    let bytes = unhex(REQUEST_VECTOR);
    for len in 0..bytes.len() {
        let mut buf = BytesMut::from(&bytes[..len]);
        assert_eq!(parse(&mut buf, LIMIT), Ok(None), "prefix of {len} bytes");
        assert_eq!(buf.len(), len, "an incomplete frame must not be consumed");
    }
}

#[test]
fn two_frames_in_one_buffer_decode_one_at_a_time() {
    let mut buf = BytesMut::new();
    buf.put_slice(&unhex(REQUEST_VECTOR));
    buf.put_slice(&unhex(RESPONSE_VECTOR));
    buf.put_slice(&unhex(REQUEST_VECTOR)[..5]);
    assert!(matches!(
        parse(&mut buf, LIMIT),
        Ok(Some(Frame::ProduceRequest(_)))
    ));
    assert!(matches!(
        parse(&mut buf, LIMIT),
        Ok(Some(Frame::ProduceResponse(_)))
    ));
    assert_eq!(parse(&mut buf, LIMIT), Ok(None));
    assert_eq!(buf.len(), 5);
}

#[test]
fn wrong_magic_is_rejected_from_the_first_byte() {
    assert!(matches!(
        check(b"G", LIMIT),
        Err(FrameError::BadMagic { .. })
    ));
    let kafka_request = [0, 0, 0, 20, 0, 18, 0, 3];
    let err = check(&kafka_request, LIMIT).unwrap_err();
    assert_eq!(err.status(), Status::MalformedFrame);
    assert!(err.is_fatal());
    assert!(err.to_string().contains("00, 00, 00, 14"), "{err}");
}

#[test]
fn oversized_frame_is_rejected_from_its_header_before_the_body_arrives() {
    let mut header = BytesMut::new();
    header.put_slice(&MAGIC);
    header.put_u32(u32::MAX - 1);
    header.put_u8(VERSION);
    header.put_u8(KIND_PRODUCE_REQUEST);
    header.put_u32(99);
    let err = parse(&mut header, LIMIT).unwrap_err();
    assert_eq!(
        err,
        FrameError::FrameTooLarge {
            correlation_id: 99,
            size: u64::from(u32::MAX - 1) + 8,
            limit: LIMIT,
        }
    );
    assert_eq!(header.len(), HEADER_LEN, "nothing is consumed");
    assert_eq!(err.status(), Status::FrameTooLarge);
}

#[test]
fn frame_exactly_at_the_limit_is_accepted_and_one_byte_over_is_not() {
    let bytes = unhex(REQUEST_VECTOR);
    let len = bytes.len() as u32;
    assert!(check(&bytes, len).unwrap().is_some());
    assert!(matches!(
        check(&bytes, len - 1),
        Err(FrameError::FrameTooLarge { .. })
    ));
}

#[test]
fn size_field_smaller_than_the_header_is_malformed() {
    let mut buf = BytesMut::new();
    buf.put_slice(&MAGIC);
    buf.put_u32(5);
    let err = parse(&mut buf, LIMIT).unwrap_err();
    assert!(
        matches!(
            err,
            FrameError::Malformed {
                correlation_id: None,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn unknown_version_is_skipped_and_reported_as_unsupported() {
    let mut bytes = unhex(REQUEST_VECTOR);
    bytes[8] = 9;
    let mut buf = BytesMut::from(&bytes[..]);
    buf.put_slice(&unhex(RESPONSE_VECTOR));
    let err = parse(&mut buf, LIMIT).unwrap_err();
    assert_eq!(
        err,
        FrameError::Unsupported {
            correlation_id: 7,
            version: 9,
            kind: 1
        }
    );
    assert_eq!(err.status(), Status::UnsupportedVersion);
    assert!(!err.is_fatal());
    assert!(matches!(
        parse(&mut buf, LIMIT),
        Ok(Some(Frame::ProduceResponse(_)))
    ));
}

#[test]
fn unknown_kind_is_unsupported_kind() {
    let mut bytes = unhex(REQUEST_VECTOR);
    bytes[9] = 77;
    let err = decode_one(&bytes).unwrap_err();
    assert_eq!(err.status(), Status::UnsupportedKind);
}

const PING_VECTOR: &str = "4B46524D 00000006 01 03 00000009   # ping, correlation id 9";
const PONG_VECTOR: &str = "4B46524D 00000006 01 04 00000009   # pong, correlation id 9";

#[test]
fn ping_and_pong_are_a_bare_header_of_their_kind() {
    let ping = Frame::Ping(Ping { correlation_id: 9 });
    assert_eq!(encode(&ping), unhex(PING_VECTOR));
    assert_eq!(decode_one(&encode(&ping)).unwrap(), Some(ping));
    let pong = Frame::Pong(Pong { correlation_id: 9 });
    assert_eq!(encode(&pong), unhex(PONG_VECTOR));
    assert_eq!(decode_one(&encode(&pong)).unwrap(), Some(pong.clone()));
    let mut with_body = encode(&Frame::Pong(Pong { correlation_id: 7 }));
    with_body.push(0);
    fix_size(&mut with_body);
    let reason = malformed_reason(&with_body);
    assert!(
        reason.contains("1 bytes left over after the pong header"),
        "{reason}"
    );
}

/// Rewrites the size field after a test changed the body length.
fn fix_size(bytes: &mut [u8]) {
    let size = (bytes.len() - 8) as u32;
    bytes[4..8].copy_from_slice(&size.to_be_bytes());
}

fn malformed_reason(bytes: &[u8]) -> String {
    match decode_one(bytes) {
        Err(FrameError::Malformed {
            correlation_id: Some(7),
            reason,
        }) => reason,
        other => panic!("expected a malformed error, got {other:?}"),
    }
}

#[test]
fn truncated_field_names_the_field() {
    let mut bytes = unhex(REQUEST_VECTOR);
    bytes.truncate(bytes.len() - 2); // cut into the header value
    fix_size(&mut bytes);
    let reason = malformed_reason(&bytes);
    assert!(reason.contains("message 0 header 0 value"), "{reason}");
}

#[test]
fn key_length_beyond_the_frame_is_malformed() {
    let mut bytes = unhex(REQUEST_VECTOR);
    let key_len_at = 14 + 1 + 5 + 6 + 4 + 4 + 8;
    bytes[key_len_at..key_len_at + 4].copy_from_slice(&1000i32.to_be_bytes());
    let reason = malformed_reason(&bytes);
    assert!(
        reason.contains("message 0 key needs 1000 bytes"),
        "{reason}"
    );
}

#[test]
fn negative_lengths_other_than_null_are_malformed() {
    let mut bytes = unhex(REQUEST_VECTOR);
    let key_len_at = 14 + 1 + 5 + 6 + 4 + 4 + 8;
    bytes[key_len_at..key_len_at + 4].copy_from_slice(&(-2i32).to_be_bytes());
    assert!(malformed_reason(&bytes).contains("key length -2"));
}

#[test]
fn message_count_that_cannot_fit_is_rejected_before_allocating() {
    let mut bytes = unhex(REQUEST_VECTOR);
    let count_at = 14 + 1 + 5 + 6 + 4;
    bytes[count_at..count_at + 4].copy_from_slice(&u32::MAX.to_be_bytes());
    assert!(malformed_reason(&bytes).contains("message count 4294967295 cannot fit"));
}

#[test]
fn zero_messages_is_malformed() {
    let mut bytes = unhex(REQUEST_VECTOR);
    let count_at = 14 + 1 + 5 + 6 + 4;
    bytes.truncate(count_at);
    bytes.put_u32(0);
    fix_size(&mut bytes);
    assert!(malformed_reason(&bytes).contains("message count is 0"));
}

#[test]
fn trailing_bytes_after_the_last_message_are_malformed() {
    let mut bytes = unhex(REQUEST_VECTOR);
    bytes.push(0);
    fix_size(&mut bytes);
    assert!(malformed_reason(&bytes).contains("1 bytes left over"));
}

#[test]
fn invalid_acks_and_partition_are_malformed() {
    let mut bytes = unhex(REQUEST_VECTOR);
    bytes[14] = 2;
    assert!(malformed_reason(&bytes).contains("acks 2"));
    let mut bytes = unhex(REQUEST_VECTOR);
    bytes[26..30].copy_from_slice(&(-5i32).to_be_bytes());
    assert!(malformed_reason(&bytes).contains("partition -5"));
}

#[test]
fn non_utf8_topic_is_malformed() {
    let mut bytes = unhex(REQUEST_VECTOR);
    bytes[22] = 0xFF;
    assert!(malformed_reason(&bytes).contains("topic is not valid UTF-8"));
}

#[test]
fn run_count_that_cannot_fit_is_malformed() {
    let mut bytes = unhex(RESPONSE_VECTOR);
    bytes[18..22].copy_from_slice(&1000u32.to_be_bytes());
    assert!(malformed_reason(&bytes).contains("run count 1000"));
}

#[test]
fn encoded_len_matches_the_bytes_written() {
    let request = vector_request();
    let message_len = request.messages[0].encoded_len();
    assert_eq!(message_len, 39);
    let mut buf = BytesMut::new();
    request.encode(&mut buf).unwrap();
    assert_eq!(buf.len(), HEADER_LEN + 1 + 5 + 6 + 4 + 4 + message_len);
}

#[test]
fn a_field_too_long_for_its_prefix_leaves_the_buffer_untouched() {
    let mut request = vector_request();
    request.topic = "t".repeat(70_000);
    let mut buf = BytesMut::from(&b"previous"[..]);
    let err = request.encode(&mut buf).unwrap_err();
    assert!(err.to_string().contains("topic is 70000 bytes"), "{err}");
    assert_eq!(&buf[..], b"previous");
}

#[test]
fn placements_expand_runs_in_request_order() {
    let response = ProduceResponse::ok(
        1,
        vec![
            PartitionRun {
                partition: 2,
                base_offset: 10,
                count: 2,
            },
            PartitionRun {
                partition: 0,
                base_offset: 5,
                count: 1,
            },
        ],
    );
    assert_eq!(response.message_count(), 3);
    assert_eq!(
        response.placements().collect::<Vec<_>>(),
        vec![(2, 10), (2, 11), (0, 5)]
    );
}

fn arb_bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 0..max).prop_map(Bytes::from)
}

fn arb_message() -> impl Strategy<Value = Message> {
    (
        proptest::option::of(0i64..i64::MAX),
        proptest::option::of(arb_bytes(40)),
        arb_bytes(200),
        proptest::collection::vec(
            ("[a-zA-Z0-9 -]{0,12}", proptest::option::of(arb_bytes(20)))
                .prop_map(|(key, value)| Header { key, value }),
            0..4,
        ),
    )
        .prop_map(|(timestamp, key, value, headers)| Message {
            timestamp,
            key,
            value,
            headers,
        })
}

fn arb_request() -> impl Strategy<Value = ProduceRequest> {
    (
        any::<u32>(),
        prop_oneof![Just(FrameAcks::None), Just(FrameAcks::Recorded)],
        "\\PC{0,10}",
        "[a-zA-Z0-9._-]{1,30}",
        proptest::option::of(0u32..=i32::MAX as u32),
        proptest::collection::vec(arb_message(), 1..20),
    )
        .prop_map(
            |(correlation_id, acks, client_id, topic, partition, messages)| ProduceRequest {
                correlation_id,
                acks,
                client_id,
                topic,
                partition,
                messages,
            },
        )
}

fn arb_response() -> impl Strategy<Value = ProduceResponse> {
    (
        any::<u32>(),
        any::<u16>(),
        "\\PC{0,40}",
        proptest::collection::vec(
            (any::<u32>(), any::<i64>(), any::<u32>()).prop_map(
                |(partition, base_offset, count)| PartitionRun {
                    partition,
                    base_offset,
                    count,
                },
            ),
            0..20,
        ),
    )
        .prop_map(
            |(correlation_id, code, error_message, runs)| ProduceResponse {
                correlation_id,
                status: Status::from_code(code),
                error_message,
                runs,
            },
        )
}

proptest! {
    #[test]
    fn produce_requests_round_trip(request in arb_request()) {
        let frame = Frame::ProduceRequest(request);
        let bytes = encode(&frame);
        prop_assert_eq!(decode_one(&bytes).unwrap(), Some(frame));
    }

    #[test]
    fn produce_responses_round_trip(response in arb_response()) {
        let frame = Frame::ProduceResponse(response);
        let bytes = encode(&frame);
        prop_assert_eq!(decode_one(&bytes).unwrap(), Some(frame));
    }

    #[test]
    fn arbitrary_bytes_after_the_magic_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut buf = BytesMut::from(&MAGIC[..]);
        buf.put_slice(&tail);
        let _ = parse(&mut buf, 4096);
    }

    #[test]
    fn corrupting_one_byte_never_panics(index in 0usize..73, byte in any::<u8>()) {
        let mut bytes = unhex(REQUEST_VECTOR);
        bytes[index] = byte;
        let _ = decode_one(&bytes);
    }
}

#[test]
fn a_run_whose_offsets_pass_the_largest_offset_is_malformed() {
    let run = |base_offset, count| {
        let response = ProduceResponse::ok(
            1,
            vec![PartitionRun {
                partition: 0,
                base_offset,
                count,
            }],
        );
        decode_one(&encode(&Frame::ProduceResponse(response)))
    };
    // The last message at i64::MAX is still an offset; one more is not.
    assert!(run(i64::MAX - 1, 2).unwrap().is_some());
    let err = run(i64::MAX, 2).unwrap_err();
    assert!(err.is_fatal());
    assert!(
        err.to_string().contains("runs past the largest offset"),
        "{err}"
    );
}

/// A request of `messages` messages of `headers` empty headers each.
fn request_with_headers(messages: usize, headers: usize) -> BytesMut {
    let mut request = vector_request();
    request.messages = vec![
        Message {
            timestamp: None,
            key: None,
            value: Bytes::new(),
            headers: vec![
                Header {
                    key: String::new(),
                    value: None,
                };
                headers
            ],
        };
        messages
    ];
    let mut buf = BytesMut::new();
    request.encode(&mut buf).unwrap();
    buf
}

#[test]
fn a_frame_within_its_decode_limits_decodes_and_one_past_any_is_refused_naming_it() {
    let fits = DecodeLimits {
        messages: 3,
        headers_per_message: 2,
        headers: 6,
    };
    let mut buf = request_with_headers(3, 2);
    assert!(parse_within(&mut buf, LIMIT, fits).unwrap().is_some());
    let cases = [
        (
            DecodeLimits {
                messages: 2,
                ..fits
            },
            FrameLimit::Messages,
            "the frame carries 3 messages, more than the limit of 2",
        ),
        (
            DecodeLimits {
                headers_per_message: 1,
                ..fits
            },
            FrameLimit::HeadersPerMessage,
            "message 0 carries 2 headers, more than the limit of 1",
        ),
        (
            DecodeLimits { headers: 5, ..fits },
            FrameLimit::Headers,
            "messages 0 to 2 carry more headers than the limit of 5",
        ),
    ];
    for (limits, limit, reason) in cases {
        let mut buf = request_with_headers(3, 2);
        let error = parse_within(&mut buf, LIMIT, limits).unwrap_err();
        assert_eq!(
            error,
            FrameError::OverLimit {
                correlation_id: 7,
                limit,
                reason: reason.into()
            }
        );
        assert_eq!(error.status(), Status::InvalidRequest);
        assert!(error.is_fatal());
        assert!(buf.is_empty(), "the frame was consumed");
    }
}

//! How the broker answers bad, odd and pipelined frames on raw connections.

use bytes::{BufMut, BytesMut};
use mock_broker::{BrokerConfig, MockBroker};
use producer::frame::{Frame, FrameAcks, KIND_PING, MAGIC, Pong, ProduceResponse, Status};
use producer::{Config, Producer};

use crate::raw_client::{RawClient, request};

async fn broker() -> MockBroker {
    MockBroker::start(BrokerConfig::ephemeral()).await.unwrap()
}

/// A frame header claiming `size` bytes follow, with no body.
fn header(size: u32, version: u8, kind: u8, correlation_id: u32) -> BytesMut {
    let mut buf = BytesMut::new();
    buf.put_slice(&MAGIC);
    buf.put_u32(size);
    buf.put_u8(version);
    buf.put_u8(kind);
    buf.put_u32(correlation_id);
    buf
}

#[tokio::test]
async fn a_malformed_frame_is_answered_and_closed_while_another_client_carries_on() {
    let broker = broker().await;
    let producer = Producer::new(Config::new(broker.local_addr().to_string(), "t"))
        .await
        .unwrap();
    producer.send_message("before").await.unwrap();

    let mut bad = RawClient::connect(broker.local_addr()).await;
    let mut frame = header(6 + 3, 1, 1, 5);
    frame.put_slice(&[1, 0, 9]); // acks 1, then a client id length cut short
    bad.send_bytes(&frame).await;
    let response = bad.response().await;
    assert_eq!(response.correlation_id, 5);
    assert_eq!(response.status, Status::MalformedFrame);
    assert!(
        response.error_message.contains("client id needs 9 bytes"),
        "{}",
        response.error_message
    );
    bad.expect_closed().await;

    producer.send_message("after").await.unwrap();
    let values: Vec<_> = broker
        .store()
        .read_all("t")
        .unwrap()
        .into_iter()
        .map(|r| r.value.unwrap())
        .collect();
    assert_eq!(values, vec!["before", "after"]);
}

#[tokio::test]
async fn a_frame_over_the_limit_is_answered_from_its_header_and_closed() {
    let mut config = BrokerConfig::ephemeral();
    config.max_frame_bytes = 1024;
    let broker = MockBroker::start(config).await.unwrap();
    let mut client = RawClient::connect(broker.local_addr()).await;
    client.send_bytes(&header(1 << 30, 1, 1, 42)).await;
    let response = client.response().await;
    assert_eq!(response.correlation_id, 42);
    assert_eq!(response.status, Status::FrameTooLarge);
    assert!(
        response.error_message.contains("limit of 1024"),
        "{}",
        response.error_message
    );
    client.expect_closed().await;
    assert_eq!(broker.store().record_count(), 0);
}

#[tokio::test]
async fn the_error_response_survives_a_client_that_keeps_sending_the_oversized_body() {
    let mut config = BrokerConfig::ephemeral();
    config.max_frame_bytes = 1024;
    let broker = MockBroker::start(config).await.unwrap();
    let mut client = RawClient::connect(broker.local_addr()).await;
    let mut frame = header(512 * 1024, 1, 1, 43);
    frame.put_slice(&vec![0u8; 256 * 1024]);
    client.send_bytes(&frame).await;
    let response = client.response().await;
    assert_eq!(
        (response.correlation_id, response.status),
        (43, Status::FrameTooLarge)
    );
    client.expect_closed().await;
}

#[tokio::test]
async fn an_unsupported_version_is_answered_and_the_connection_stays_open() {
    let broker = broker().await;
    let mut client = RawClient::connect(broker.local_addr()).await;
    let mut frame = header(6 + 4, 9, 1, 7);
    frame.put_u32(0xDEAD_BEEF);
    client.send_bytes(&frame).await;
    let response = client.response().await;
    assert_eq!(
        (response.correlation_id, response.status),
        (7, Status::UnsupportedVersion)
    );

    client
        .send(&request(8, FrameAcks::Recorded, "t", &["ok"]))
        .await;
    let response = client.response().await;
    assert_eq!((response.correlation_id, response.status), (8, Status::Ok));
}

/// A ping is answered with a pong of its correlation id, records nothing, and the connection
/// carries on; a ping with a body is malformed.
#[tokio::test]
async fn a_ping_is_answered_with_a_pong_and_the_connection_stays_open() {
    let broker = broker().await;
    let mut client = RawClient::connect(broker.local_addr()).await;
    client.send_bytes(&header(6, 1, KIND_PING, 41)).await;
    assert_eq!(
        client.next_frame().await,
        Some(Frame::Pong(Pong { correlation_id: 41 }))
    );
    assert!(
        broker.store().topic("t").is_none(),
        "a ping records nothing"
    );
    client
        .send(&request(42, FrameAcks::Recorded, "t", &["ok"]))
        .await;
    let response = client.response().await;
    assert_eq!((response.correlation_id, response.status), (42, Status::Ok));

    let mut with_body = header(6 + 1, 1, KIND_PING, 43);
    with_body.put_u8(0);
    client.send_bytes(&with_body).await;
    let response = client.response().await;
    assert_eq!(
        (response.correlation_id, response.status),
        (43, Status::MalformedFrame)
    );
    client.expect_closed().await;
}

#[tokio::test]
async fn acks_zero_requests_get_no_response_not_even_for_errors() {
    let broker = broker().await;
    let mut client = RawClient::connect(broker.local_addr()).await;
    client.send(&request(1, FrameAcks::None, "t", &["a"])).await;
    client
        .send(&request(2, FrameAcks::None, "bad topic", &["b"]))
        .await;
    client
        .send(&request(3, FrameAcks::Recorded, "t", &["c"]))
        .await;
    let response = client.response().await;
    assert_eq!(
        response.correlation_id, 3,
        "nothing was sent for requests 1 and 2"
    );
    assert_eq!(response.placements().collect::<Vec<_>>(), vec![(0, 1)]);
    let values: Vec<_> = broker
        .store()
        .read_all("t")
        .unwrap()
        .into_iter()
        .map(|r| r.value.unwrap())
        .collect();
    assert_eq!(values, vec!["a", "c"]);
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let broker = broker().await;
    let mut client = RawClient::connect(broker.local_addr()).await;
    let mut burst = BytesMut::new();
    for id in 0..200 {
        request(id, FrameAcks::Recorded, "p", &["x", "y"])
            .encode(&mut burst)
            .unwrap();
    }
    client.send_bytes(&burst).await;
    for id in 0..200u32 {
        let response = client.response().await;
        assert_eq!(response.correlation_id, id);
        assert_eq!(
            response.placements().collect::<Vec<_>>(),
            vec![(0, 2 * i64::from(id)), (0, 2 * i64::from(id) + 1)]
        );
    }
}

#[tokio::test]
async fn a_response_frame_sent_to_the_broker_is_an_invalid_request() {
    let broker = broker().await;
    let mut client = RawClient::connect(broker.local_addr()).await;
    let mut buf = BytesMut::new();
    ProduceResponse::ok(11, vec![]).encode(&mut buf).unwrap();
    client.send_bytes(&buf).await;
    let response = client.response().await;
    assert_eq!(
        (response.correlation_id, response.status),
        (11, Status::InvalidRequest)
    );
    client.expect_closed().await;
}

#[tokio::test]
async fn a_client_speaking_neither_protocol_is_disconnected() {
    let broker = broker().await;
    let mut client = RawClient::connect(broker.local_addr()).await;
    client
        .send_bytes(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    client.expect_closed().await;
}

#[tokio::test]
async fn a_client_leaving_mid_frame_leaves_the_broker_serving() {
    let broker = broker().await;
    let mut half = RawClient::connect(broker.local_addr()).await;
    let mut buf = BytesMut::new();
    request(1, FrameAcks::Recorded, "t", &["lost"])
        .encode(&mut buf)
        .unwrap();
    half.send_bytes(&buf[..buf.len() / 2]).await;
    drop(half);

    let mut whole = RawClient::connect(broker.local_addr()).await;
    whole
        .send(&request(2, FrameAcks::Recorded, "t", &["kept"]))
        .await;
    assert_eq!(whole.response().await.status, Status::Ok);
    let values: Vec<_> = broker
        .store()
        .read_all("t")
        .unwrap()
        .into_iter()
        .map(|r| r.value.unwrap())
        .collect();
    assert_eq!(values, vec!["kept"]);
}

#[tokio::test]
async fn shutdown_answers_every_request_it_recorded() {
    let broker = broker().await;
    let store = broker.store().clone();
    let mut client = RawClient::connect(broker.local_addr()).await;
    let mut burst = BytesMut::new();
    for id in 0..500 {
        request(id, FrameAcks::Recorded, "s", &["v"])
            .encode(&mut burst)
            .unwrap();
    }
    client.send_bytes(&burst).await;
    // Shut down once the broker is demonstrably serving this connection.
    let first = client.response().await;
    assert_eq!(first.correlation_id, 0);
    let shutdown = tokio::spawn(broker.shutdown());
    let mut answered = 1u64;
    while let Some(frame) = client.next_frame().await {
        assert!(
            matches!(frame, producer::frame::Frame::ProduceResponse(ref r) if r.status == Status::Ok)
        );
        answered += 1;
    }
    drop(client); // the broker drains input until the client closes
    shutdown.await.unwrap();
    assert_eq!(
        store.record_count(),
        answered,
        "every recorded request was answered, and only those"
    );
}

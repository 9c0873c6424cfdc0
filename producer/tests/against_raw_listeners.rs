//! The frame-protocol producer against listeners that do not behave like a broker.

use std::time::Duration;

use producer::{Config, Error, Producer, Protocol};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

fn frame_config(address: &str) -> Config {
    let mut config = Config::new(address, "t");
    config.protocol = Protocol::Frame;
    config
}

#[tokio::test]
async fn a_broker_that_never_answers_times_out_naming_the_address() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let mut sink = Vec::new();
                let _ = socket.read_to_end(&mut sink).await;
            });
        }
    });
    let mut config = frame_config(&address);
    config.request_timeout = Duration::from_millis(200);
    config.delivery_timeout = Duration::from_millis(900);
    config.retry_backoff = Duration::from_millis(10);
    let producer = Producer::new(config).await.unwrap();
    let err = producer.send_message("hello").await.unwrap_err();
    assert!(matches!(err, Error::DeliveryTimeout { .. }), "{err}");
    assert!(
        err.to_string().contains(&address),
        "the last error names the broker: {err}"
    );
    assert!(producer.metrics().retries >= 1);
}

/// A listener that answers whatever it is sent with `answer`, then reads until the client leaves.
async fn answering(answer: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                use tokio::io::AsyncWriteExt;
                let mut buf = vec![0u8; 64];
                let _ = socket.read(&mut buf).await;
                let _ = socket.write_all(answer).await;
                let mut sink = Vec::new();
                let _ = socket.read_to_end(&mut sink).await;
            });
        }
    });
    address
}

#[tokio::test]
async fn garbage_from_the_broker_is_retried_then_reported() {
    let address = answering(b"\x00\x01 this is no frame at all \x00").await;
    let mut config = frame_config(&address);
    config.request_timeout = Duration::from_millis(500);
    config.delivery_timeout = Duration::from_millis(1500);
    config.retry_backoff = Duration::from_millis(10);
    let producer = Producer::new(config).await.unwrap();
    let err = producer.send_message("hello").await.unwrap_err();
    assert!(err.to_string().contains("not a frame"), "{err}");
}

/// An HTTP server (the admin API's port, say) is named as such, and the send fails at once
/// instead of waiting out the delivery timeout, over either protocol.
#[tokio::test]
async fn an_http_answer_fails_at_once_saying_the_address_speaks_http() {
    let address = answering(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
    let mut config = frame_config(&address);
    config.delivery_timeout = Duration::from_secs(120);
    let producer = Producer::new(config).await.unwrap();
    let started = std::time::Instant::now();
    let err = producer.send_message("hello").await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::NotABroker {
                answered: protocol::foreign::Foreign::Http,
                ..
            }
        ),
        "{err}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "failed without waiting for the 120 s delivery timeout"
    );
    let text = err.to_string();
    assert!(
        text.contains(&address) && text.contains("answered with HTTP") && text.contains("9644"),
        "{text}"
    );

    let mut config = Config::new(&address, "t");
    config.protocol = Protocol::Kafka;
    let err = Producer::new(config).await.unwrap_err();
    assert!(
        matches!(err, Error::NotABroker { .. }),
        "the Kafka producer's first request tells too: {err}"
    );
}

/// A TLS alert (a listener that expects SSL) is named as such.
#[tokio::test]
async fn a_tls_answer_says_the_listener_expects_tls() {
    let address = answering(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]).await;
    let err = Producer::new(Config::new(&address, "t")).await.unwrap_err();
    assert!(err.to_string().contains("expects TLS"), "{err}");
}

#[tokio::test]
async fn close_returns_once_the_connection_is_closed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let producer = Producer::new(frame_config(&address)).await.unwrap();
    let (mut socket, _) = tokio::time::timeout(Duration::from_secs(10), listener.accept())
        .await
        .expect("the producer connects")
        .unwrap();
    producer.close().await;
    // The producer handle is still alive: only `close` can have closed the connection.
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buf))
        .await
        .expect("the producer's connection is closed when close returns")
        .unwrap();
    assert_eq!(read, 0, "end of stream, nothing more sent");
    assert!(matches!(
        producer.send_message("late").await,
        Err(Error::Closed)
    ));
}

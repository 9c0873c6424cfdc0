//! The producer against listeners that do not behave like a broker: another protocol's
//! answer, and closing. (Each way of breaking the protocol: `against_broken_brokers.rs`.)

use std::time::Duration;

use producer::{Config, Error, Producer, Protocol, frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn frame_config(address: &str) -> Config {
    let mut config = Config::new(address, "t");
    config.protocol = Protocol::Frame;
    config
}

/// A listener that answers whatever it is sent with `answer`, then reads until the client leaves.
async fn answering(answer: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
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

/// An HTTP server (the admin API's port, say) is named as such, and the producer fails at its
/// first exchange instead of waiting out a timeout, over either protocol.
#[tokio::test]
async fn an_http_answer_fails_at_once_saying_the_address_speaks_http() {
    let address = answering(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n").await;
    for protocol in [Protocol::Frame, Protocol::Kafka] {
        let mut config = Config::new(&address, "t");
        config.protocol = protocol;
        config.request_timeout = Duration::from_secs(60);
        config.delivery_timeout = Duration::from_secs(120);
        let started = std::time::Instant::now();
        let err = Producer::new(config).await.unwrap_err();
        assert!(
            matches!(
                err,
                Error::NotABroker {
                    answered: protocol::foreign::Foreign::Http,
                    ..
                }
            ),
            "{protocol:?}: {err}"
        );
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{protocol:?}: failed without waiting for a timeout"
        );
        let text = err.to_string();
        assert!(
            text.contains(&address) && text.contains("answered with HTTP") && text.contains("9644"),
            "{text}"
        );
    }
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
    let accept = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        // The producer's first frame is a ping; a pong lets it start.
        let mut ping = [0u8; frame::HEADER_LEN];
        socket.read_exact(&mut ping).await.unwrap();
        assert_eq!(ping[9], frame::KIND_PING);
        let id = u32::from_be_bytes(ping[10..14].try_into().unwrap());
        let mut pong = bytes::BytesMut::new();
        frame::Pong { correlation_id: id }
            .encode(&mut pong)
            .unwrap();
        socket.write_all(&pong).await.unwrap();
        socket
    });
    let producer = tokio::time::timeout(
        Duration::from_secs(30),
        Producer::new(frame_config(&address)),
    )
    .await
    .expect("the producer connects")
    .unwrap();
    let mut socket = accept.await.unwrap();
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

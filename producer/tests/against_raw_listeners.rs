//! The producer against listeners that do not behave like a broker.

use std::time::Duration;

use producer::{Config, Error, Producer};
use tokio::io::AsyncReadExt;
use tokio::net::TcpListener;

#[tokio::test]
async fn a_broker_that_never_answers_times_out_naming_the_address() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let silent = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut sink = Vec::new();
        let _ = socket.read_to_end(&mut sink).await;
    });
    let mut config = Config::new(address.clone(), "t");
    config.request_timeout = Duration::from_millis(300);
    let producer = Producer::new(config).await.unwrap();
    let err = producer.send_message("hello").await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err}");
    assert!(err.to_string().contains(&address), "{err}");
    drop(producer);
    // Dropping the producer closes the socket, so the listener task ends.
    tokio::time::timeout(Duration::from_secs(30), silent)
        .await
        .expect("dropping the producer closes its connection")
        .unwrap();
}

#[tokio::test]
async fn a_lost_connection_fails_every_request_in_flight() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let (received_tx, received_rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 64];
        let _ = socket.read(&mut buf).await;
        let _ = received_tx.send(());
        // The socket is dropped here, without an answer.
    });
    let producer = Producer::new(Config::new(address.clone(), "t"))
        .await
        .unwrap();
    let sends: Vec<_> = (0..10)
        .map(|i| {
            let producer = producer.clone();
            tokio::spawn(async move { producer.send_message(&format!("m{i}")).await })
        })
        .collect();
    received_rx.await.unwrap();
    for send in sends {
        let err = send.await.unwrap().unwrap_err();
        assert!(matches!(err, Error::ConnectionClosed { .. }), "{err}");
        assert!(err.to_string().contains(&address), "{err}");
    }
}

#[tokio::test]
async fn garbage_from_the_broker_is_a_protocol_error() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0u8; 64];
        let _ = socket.read(&mut buf).await;
        socket
            .write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n")
            .await
            .unwrap();
        let mut sink = Vec::new();
        let _ = socket.read_to_end(&mut sink).await;
    });
    let producer = Producer::new(Config::new(address, "t")).await.unwrap();
    let err = producer.send_message("hello").await.unwrap_err();
    assert!(matches!(err, Error::Protocol { .. }), "{err}");
    assert!(err.to_string().contains("not a frame"), "{err}");
}

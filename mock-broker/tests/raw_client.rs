//! A bare frame-protocol client for tests that must send exactly the bytes they choose.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use producer::frame::{self, Frame, FrameAcks, Message, ProduceRequest, ProduceResponse};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Generous: the machine running the tests may be loaded.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct RawClient {
    stream: TcpStream,
    buffer: BytesMut,
}

impl RawClient {
    pub(crate) async fn connect(address: SocketAddr) -> RawClient {
        RawClient {
            stream: TcpStream::connect(address).await.expect("connects"),
            buffer: BytesMut::new(),
        }
    }

    pub(crate) async fn send_bytes(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("writes");
    }

    pub(crate) async fn send(&mut self, request: &ProduceRequest) {
        let mut buf = BytesMut::new();
        request.encode(&mut buf).unwrap();
        self.send_bytes(&buf).await;
    }

    /// The next frame, or `None` when the broker closed the connection.
    pub(crate) async fn next_frame(&mut self) -> Option<Frame> {
        tokio::time::timeout(TIMEOUT, async {
            loop {
                if let Some(frame) = frame::parse(&mut self.buffer, u32::MAX).expect("valid frame")
                {
                    return Some(frame);
                }
                let n = self.stream.read_buf(&mut self.buffer).await.expect("reads");
                if n == 0 {
                    assert!(self.buffer.is_empty(), "connection closed mid-frame");
                    return None;
                }
            }
        })
        .await
        .expect("the broker answers in time")
    }

    pub(crate) async fn response(&mut self) -> ProduceResponse {
        match self.next_frame().await {
            Some(Frame::ProduceResponse(response)) => response,
            other => panic!("expected a produce response, got {other:?}"),
        }
    }

    pub(crate) async fn expect_closed(&mut self) {
        assert_eq!(
            self.next_frame().await,
            None,
            "expected the broker to close the connection"
        );
    }
}

pub(crate) fn request(
    correlation_id: u32,
    acks: FrameAcks,
    topic: &str,
    values: &[&str],
) -> ProduceRequest {
    ProduceRequest {
        correlation_id,
        acks,
        client_id: "raw".into(),
        topic: topic.into(),
        partition: None,
        messages: values
            .iter()
            .map(|v| Message {
                timestamp: None,
                key: None,
                value: Bytes::copy_from_slice(v.as_bytes()),
                headers: vec![],
            })
            .collect(),
    }
}

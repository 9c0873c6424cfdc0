//! The TCP connection to a broker: the only place the producer's bytes meet the socket.

use std::time::Duration;

use bytes::BytesMut;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::error::Error;
use crate::frame::{self, Frame};

/// Below this much free space the read buffer grows, so reads stay large.
const MIN_READ_SPACE: usize = 4 * 1024;
const READ_CHUNK: usize = 32 * 1024;

/// An open connection to one broker, speaking the frame protocol.
#[derive(Debug)]
pub struct Connection {
    reader: FrameReader,
    writer: FrameWriter,
}

/// The receiving half of a [`Connection`]: turns bytes into frames.
#[derive(Debug)]
pub struct FrameReader {
    stream: OwnedReadHalf,
    buffer: BytesMut,
    address: String,
    max_frame_bytes: u32,
}

/// The sending half of a [`Connection`]: writes encoded frames.
#[derive(Debug)]
pub struct FrameWriter {
    stream: OwnedWriteHalf,
    address: String,
}

impl Connection {
    /// Connects to `address` (`host:port`), giving up after `timeout`.
    ///
    /// `max_frame_bytes` bounds the frames this connection accepts from the broker.
    ///
    /// # Errors
    /// [`Error::Connect`] or [`Error::ConnectTimeout`], naming the address.
    pub async fn connect(
        address: &str,
        timeout: Duration,
        max_frame_bytes: u32,
    ) -> Result<Connection, Error> {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                return Err(Error::Connect {
                    address: address.to_string(),
                    error,
                });
            }
            Err(_) => {
                return Err(Error::ConnectTimeout {
                    address: address.to_string(),
                    timeout,
                });
            }
        };
        // Requests are already batched; Nagle would only add latency.
        stream.set_nodelay(true).map_err(|error| Error::Connect {
            address: address.to_string(),
            error,
        })?;
        let (read, write) = stream.into_split();
        Ok(Connection {
            reader: FrameReader {
                stream: read,
                buffer: BytesMut::with_capacity(READ_CHUNK),
                address: address.to_string(),
                max_frame_bytes,
            },
            writer: FrameWriter {
                stream: write,
                address: address.to_string(),
            },
        })
    }

    /// Splits the connection so that reading and writing can proceed in separate tasks.
    pub fn into_split(self) -> (FrameReader, FrameWriter) {
        (self.reader, self.writer)
    }
}

impl FrameReader {
    /// Reads the next frame; `Ok(None)` when the broker closed the connection between frames.
    ///
    /// # Errors
    /// [`Error::ConnectionClosed`] when the connection fails or ends mid-frame,
    /// [`Error::Protocol`] when the bytes are not a valid frame.
    pub async fn read_frame(&mut self) -> Result<Option<Frame>, Error> {
        loop {
            match frame::parse(&mut self.buffer, self.max_frame_bytes) {
                Ok(Some(frame)) => return Ok(Some(frame)),
                Ok(None) => {}
                Err(e) => {
                    return Err(Error::Protocol {
                        address: self.address.clone(),
                        reason: e.to_string(),
                    });
                }
            }
            if self.buffer.capacity() - self.buffer.len() < MIN_READ_SPACE {
                self.buffer.reserve(READ_CHUNK);
            }
            let read = self.stream.read_buf(&mut self.buffer).await.map_err(|e| {
                Error::ConnectionClosed {
                    address: self.address.clone(),
                    reason: e.to_string(),
                }
            })?;
            if read == 0 {
                if self.buffer.is_empty() {
                    return Ok(None);
                }
                return Err(Error::ConnectionClosed {
                    address: self.address.clone(),
                    reason: format!(
                        "broker closed the connection in the middle of a frame ({} bytes buffered)",
                        self.buffer.len()
                    ),
                });
            }
        }
    }
}

impl FrameWriter {
    /// Writes already-encoded frames.
    ///
    /// # Errors
    /// [`Error::ConnectionClosed`] when the socket fails.
    pub async fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| Error::ConnectionClosed {
                address: self.address.clone(),
                reason: e.to_string(),
            })
    }

    /// Tells the broker no more requests follow; it answers what it has and closes.
    pub async fn shutdown(&mut self) {
        let _ = self.stream.shutdown().await;
    }
}

//! The TCP connection to a broker: the only place the producer's bytes meet the socket.
//!
//! Protocol-neutral: a [`ResponseReader`] splits responses off the stream with
//! the connection's [`Wire`](crate::wire::Wire), a [`RequestWriter`] writes
//! already-encoded requests.

use std::time::Duration;

use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::error::Error;
use crate::wire::{Wire, WireError};

/// Below this much free space the read buffer grows, so reads stay large.
const MIN_READ_SPACE: usize = 4 * 1024;
const READ_CHUNK: usize = 32 * 1024;

/// An open TCP connection to one broker.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    address: String,
}

/// The receiving half of a [`Connection`]: turns bytes into responses.
#[derive(Debug)]
pub(crate) struct ResponseReader<W> {
    stream: OwnedReadHalf,
    buffer: BytesMut,
    address: String,
    max_bytes: u32,
    wire: std::marker::PhantomData<W>,
}

/// The sending half of a [`Connection`]: writes encoded requests.
#[derive(Debug)]
pub(crate) struct RequestWriter {
    stream: OwnedWriteHalf,
    address: String,
}

impl Connection {
    /// Connects to `address` (`host:port`), giving up after `timeout`.
    ///
    /// # Errors
    /// [`Error::Connect`] or [`Error::ConnectTimeout`], naming the address.
    pub(crate) async fn connect(address: &str, timeout: Duration) -> Result<Connection, Error> {
        let stream = match tokio::time::timeout(timeout, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => stream,
            Ok(Err(error)) => {
                return Err(Error::Connect {
                    address: address.to_string(),
                    error: std::sync::Arc::new(error),
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
            error: std::sync::Arc::new(error),
        })?;
        Ok(Connection {
            stream,
            address: address.to_string(),
        })
    }

    /// Splits the connection so that reading and writing can proceed in
    /// separate tasks; responses are framed by `W` and at most `max_bytes` long.
    pub(crate) fn into_split<W: Wire>(self, max_bytes: u32) -> (ResponseReader<W>, RequestWriter) {
        let (read, write) = self.stream.into_split();
        (
            ResponseReader {
                stream: read,
                buffer: BytesMut::with_capacity(READ_CHUNK),
                address: self.address.clone(),
                max_bytes,
                wire: std::marker::PhantomData,
            },
            RequestWriter {
                stream: write,
                address: self.address,
            },
        )
    }
}

impl<W: Wire> ResponseReader<W> {
    /// Reads the next response and its correlation id; `Ok(None)` when the
    /// broker closed the connection between responses.
    ///
    /// # Errors
    /// [`Error::ConnectionClosed`] when the connection fails or ends mid-response,
    /// [`Error::Protocol`] when the bytes are not a valid response.
    pub(crate) async fn read_response(&mut self) -> Result<Option<(u32, W::Response)>, Error> {
        loop {
            match W::parse(&mut self.buffer, self.max_bytes) {
                Ok(Some(response)) => return Ok(Some(response)),
                Ok(None) => {}
                Err(WireError::Foreign(answered)) => {
                    return Err(Error::NotABroker {
                        address: self.address.clone(),
                        answered,
                    });
                }
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
                        "broker closed the connection in the middle of a response ({} bytes buffered)",
                        self.buffer.len()
                    ),
                });
            }
        }
    }
}

impl RequestWriter {
    /// Writes already-encoded requests.
    ///
    /// # Errors
    /// [`Error::ConnectionClosed`] when the socket fails.
    pub(crate) async fn write_all(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|e| Error::ConnectionClosed {
                address: self.address.clone(),
                reason: e.to_string(),
            })
    }

    /// Writes a request given as segments, with vectored writes: large batches
    /// go to the socket from where they are, without being copied together.
    ///
    /// # Errors
    /// [`Error::ConnectionClosed`] when the socket fails.
    pub(crate) async fn write_all_segments(&mut self, segments: &mut [Bytes]) -> Result<(), Error> {
        let mut first = 0;
        while first < segments.len() {
            if segments[first].is_empty() {
                first += 1;
                continue;
            }
            let slices: Vec<IoSlice<'_>> = segments[first..]
                .iter()
                .take(64)
                .map(|s| IoSlice::new(s))
                .collect();
            let mut written =
                self.stream
                    .write_vectored(&slices)
                    .await
                    .map_err(|e| Error::ConnectionClosed {
                        address: self.address.clone(),
                        reason: e.to_string(),
                    })?;
            if written == 0 {
                return Err(Error::ConnectionClosed {
                    address: self.address.clone(),
                    reason: "the socket accepted no bytes".into(),
                });
            }
            while written > 0 {
                let len = segments[first].len();
                if written >= len {
                    written -= len;
                    first += 1;
                } else {
                    segments[first].advance(written);
                    written = 0;
                }
            }
        }
        Ok(())
    }

    /// Tells the broker no more requests follow; it answers what it has and closes.
    pub(crate) async fn shutdown(&mut self) {
        let _ = self.stream.shutdown().await;
    }
}

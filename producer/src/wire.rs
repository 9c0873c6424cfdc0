//! How responses are framed on the wire, for each protocol the producer speaks.
//!
//! A [`Wire`] splits one whole response off the front of a read buffer and
//! says which request it answers; everything else about a connection
//! (pipelining, correlation, failure) is the same for both protocols and
//! lives in `link.rs`.

use bytes::{Buf, Bytes, BytesMut};
use protocol::foreign::{self, Foreign};
use protocol::frame::{self, Frame, FrameError, ProduceResponse};
use protocol::size_prefix::{self, Framed, SizePrefixError};

/// Bytes from a broker that cannot be a response: the connection is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WireError {
    /// A Kafka response's size prefix is out of bounds.
    #[error(transparent)]
    Size(#[from] SizePrefixError),
    /// A frame could not be decoded.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A frame decoded, but it is not a produce response or a pong.
    #[error("expected a produce response or a pong, got {0}")]
    NotAResponse(String),
    /// The peer speaks another protocol altogether.
    #[error("it answered with {0}")]
    Foreign(Foreign),
}

impl WireError {
    /// `self`, or [`WireError::Foreign`] when the bytes that broke the
    /// framing are another protocol's.
    fn recognised(self, buffer: &[u8]) -> WireError {
        match foreign::recognise(buffer) {
            Some(other) => WireError::Foreign(other),
            None => self,
        }
    }
}

/// A protocol's response framing.
pub(crate) trait Wire: Send + Sync + 'static {
    /// A decoded (or still encoded) response.
    type Response: Send + 'static;

    /// Splits one response off `buffer`: its correlation id and the response.
    /// `Ok(None)` while incomplete.
    ///
    /// # Errors
    /// [`WireError`] saying why the bytes cannot be a response.
    fn parse(
        buffer: &mut BytesMut,
        max_bytes: u32,
    ) -> Result<Option<(u32, Self::Response)>, WireError>;
}

/// The frame protocol: responses are decoded produce-response or pong frames.
#[derive(Debug)]
pub(crate) struct FrameWire;

/// A frame a broker answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameResponse {
    /// The answer to a produce request (or to a frame the broker could not handle).
    Produce(ProduceResponse),
    /// The answer to a ping.
    Pong,
}

impl Wire for FrameWire {
    type Response = FrameResponse;

    fn parse(
        buffer: &mut BytesMut,
        max_bytes: u32,
    ) -> Result<Option<(u32, FrameResponse)>, WireError> {
        let parsed =
            frame::parse(buffer, max_bytes).map_err(|e| WireError::from(e).recognised(buffer))?;
        match parsed {
            Some(Frame::ProduceResponse(response)) => Ok(Some((
                response.correlation_id,
                FrameResponse::Produce(response),
            ))),
            Some(Frame::Pong(pong)) => Ok(Some((pong.correlation_id, FrameResponse::Pong))),
            Some(other) => Err(WireError::NotAResponse(format!("{other:?}"))),
            None => Ok(None),
        }
    }
}

/// The Kafka protocol: responses are size-prefixed; the caller decodes the
/// rest of the header and the body, knowing the API and version it asked for.
#[derive(Debug)]
pub(crate) struct KafkaWire;

impl Wire for KafkaWire {
    /// The response after its size prefix and correlation id.
    type Response = Bytes;

    fn parse(buffer: &mut BytesMut, max_bytes: u32) -> Result<Option<(u32, Bytes)>, WireError> {
        let split = size_prefix::split(buffer, Framed::Response, max_bytes)
            .map_err(|e| WireError::from(e).recognised(buffer))?;
        let Some(mut response) = split else {
            return Ok(None);
        };
        let correlation_id = response.get_i32();
        Ok(Some((correlation_id as u32, response)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_responses_are_split_by_size_and_keyed_by_correlation_id() {
        let mut buf = BytesMut::from(&[0, 0, 0, 6, 0, 0, 0, 9, 0xAB, 0xCD, 0, 0][..]);
        let (id, body) = KafkaWire::parse(&mut buf, 1024).unwrap().unwrap();
        assert_eq!((id, &body[..]), (9, &[0xAB, 0xCD][..]));
        assert_eq!(KafkaWire::parse(&mut buf, 1024), Ok(None));
        let mut huge = BytesMut::from(&[0x7F, 0, 0, 0][..]);
        assert!(
            KafkaWire::parse(&mut huge, 1024)
                .unwrap_err()
                .to_string()
                .contains("exceeds")
        );
    }

    #[test]
    fn an_http_or_tls_answer_is_named_as_such() {
        let mut http = BytesMut::from(&b"HTTP/1.1 400 Bad Request\r\n\r\n"[..]);
        assert_eq!(
            KafkaWire::parse(&mut http, 1024),
            Err(WireError::Foreign(Foreign::Http))
        );
        let mut http = BytesMut::from(&b"HTTP/1.1 400 Bad Request\r\n\r\n"[..]);
        assert_eq!(
            FrameWire::parse(&mut http, 1024),
            Err(WireError::Foreign(Foreign::Http))
        );
        let mut alert = BytesMut::from(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28][..]);
        assert_eq!(
            KafkaWire::parse(&mut alert, 1024),
            Err(WireError::Foreign(Foreign::Tls))
        );
    }
}

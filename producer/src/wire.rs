//! How responses are framed on the wire, for each protocol the producer speaks.
//!
//! A [`Wire`] splits one whole response off the front of a read buffer and
//! says which request it answers; everything else about a connection
//! (pipelining, correlation, failure) is the same for both protocols and
//! lives in `link.rs`.

use bytes::{Buf, Bytes, BytesMut};

use crate::frame::{self, Frame, ProduceResponse};

/// A protocol's response framing.
pub(crate) trait Wire: Send + Sync + 'static {
    /// A decoded (or still encoded) response.
    type Response: Send + 'static;

    /// Splits one response off `buffer`: its correlation id and the response.
    /// `Ok(None)` while incomplete.
    ///
    /// # Errors
    /// A sentence saying why the bytes cannot be a response.
    fn parse(
        buffer: &mut BytesMut,
        max_bytes: u32,
    ) -> Result<Option<(u32, Self::Response)>, String>;
}

/// The frame protocol: responses are decoded produce-response frames.
#[derive(Debug)]
pub(crate) struct FrameWire;

impl Wire for FrameWire {
    type Response = ProduceResponse;

    fn parse(
        buffer: &mut BytesMut,
        max_bytes: u32,
    ) -> Result<Option<(u32, ProduceResponse)>, String> {
        match frame::parse(buffer, max_bytes) {
            Ok(Some(Frame::ProduceResponse(response))) => {
                Ok(Some((response.correlation_id, response)))
            }
            Ok(Some(other)) => Err(format!("expected a produce response, got {other:?}")),
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
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

    fn parse(buffer: &mut BytesMut, max_bytes: u32) -> Result<Option<(u32, Bytes)>, String> {
        if buffer.len() < 4 {
            return Ok(None);
        }
        let size = i32::from_be_bytes([buffer[0], buffer[1], buffer[2], buffer[3]]);
        if size < 4 {
            return Err(format!(
                "response size {size} is too small for a correlation id"
            ));
        }
        if size as u64 + 4 > u64::from(max_bytes) {
            return Err(format!(
                "response of {size} bytes exceeds the limit of {max_bytes} bytes"
            ));
        }
        let total = size as usize + 4;
        if buffer.len() < total {
            buffer.reserve(total - buffer.len());
            return Ok(None);
        }
        let mut response = buffer.split_to(total).freeze();
        response.advance(4);
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
                .contains("exceeds")
        );
    }
}

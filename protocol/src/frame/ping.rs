//! Ping (kind 3) and pong (kind 4): the first exchange on a connection, with no body, so that a
//! client learns within a bounded time that the peer speaks frames before it sends any messages.

use bytes::BytesMut;

use super::error::{EncodeError, FrameError};
use super::fixed_header::encode_frame;
use super::layout::{KIND_PING, KIND_PONG};
use super::reader::FieldReader;

/// A client's question "do you speak frames?"; the broker answers with a [`Pong`] of the same
/// correlation id. A broker that predates it answers `UNSUPPORTED_KIND`, which says as much.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ping {
    /// Chosen by the client, echoed by the pong.
    pub correlation_id: u32,
}

/// The broker's answer to a [`Ping`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pong {
    /// The ping's correlation id.
    pub correlation_id: u32,
}

impl Ping {
    /// Appends the whole frame (14 bytes) to `dst`.
    ///
    /// # Errors
    /// None in practice: the frame has no body; the type is the codec's.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        encode_frame(KIND_PING, self.correlation_id, dst, |_| Ok(()))
    }

    pub(super) fn decode_body(r: FieldReader, correlation_id: u32) -> Result<Self, FrameError> {
        r.finish("ping header")?;
        Ok(Ping { correlation_id })
    }
}

impl Pong {
    /// Appends the whole frame (14 bytes) to `dst`.
    ///
    /// # Errors
    /// None in practice: the frame has no body; the type is the codec's.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        encode_frame(KIND_PONG, self.correlation_id, dst, |_| Ok(()))
    }

    pub(super) fn decode_body(r: FieldReader, correlation_id: u32) -> Result<Self, FrameError> {
        r.finish("pong header")?;
        Ok(Pong { correlation_id })
    }
}

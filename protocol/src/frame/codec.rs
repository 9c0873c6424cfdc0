//! A whole frame: decoding one off a buffer by its kind, and encoding one.

use bytes::{Buf, BytesMut};

use super::decode_limits::DecodeLimits;
use super::error::{EncodeError, FrameError};
use super::fixed_header::check;
use super::layout::{
    HEADER_LEN, KIND_PING, KIND_PONG, KIND_PRODUCE_REQUEST, KIND_PRODUCE_RESPONSE, VERSION,
};
use super::ping::{Ping, Pong};
use super::produce_request::ProduceRequest;
use super::produce_response::ProduceResponse;
use super::reader::FieldReader;

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Messages for the broker to record.
    ProduceRequest(ProduceRequest),
    /// The broker's answer to a produce request.
    ProduceResponse(ProduceResponse),
    /// A client's first exchange: does the peer speak frames?
    Ping(Ping),
    /// The broker's answer to a ping.
    Pong(Pong),
}

impl Frame {
    /// The correlation id of the frame.
    pub fn correlation_id(&self) -> u32 {
        match self {
            Frame::ProduceRequest(r) => r.correlation_id,
            Frame::ProduceResponse(r) => r.correlation_id,
            Frame::Ping(p) => p.correlation_id,
            Frame::Pong(p) => p.correlation_id,
        }
    }

    /// Appends the whole frame to `dst`.
    ///
    /// # Errors
    /// [`EncodeError::FieldTooLong`] when a field does not fit its length prefix.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        match self {
            Frame::ProduceRequest(r) => r.encode(dst),
            Frame::ProduceResponse(r) => r.encode(dst),
            Frame::Ping(p) => p.encode(dst),
            Frame::Pong(p) => p.encode(dst),
        }
    }
}

/// Splits one whole frame off the front of `src` and decodes it.
///
/// Returns `Ok(None)` while more bytes are needed; `src` is then untouched.
///
/// # Errors
/// Everything [`check`] reports, without consuming anything; and, after the
/// frame's bytes have been consumed, [`FrameError::Unsupported`] for an
/// unknown version or kind (the stream may go on) or [`FrameError::Malformed`]
/// for a body that does not follow the layout (the stream must be closed).
pub fn parse(src: &mut BytesMut, max_frame_bytes: u32) -> Result<Option<Frame>, FrameError> {
    parse_within(src, max_frame_bytes, DecodeLimits::NONE)
}

/// [`parse`], with a produce frame's message and header counts held to
/// `limits`, each checked before the memory for it is taken.
///
/// # Errors
/// As [`parse`], and [`FrameError::OverLimit`] for a produce frame past one
/// of `limits` (after the frame's bytes have been consumed; the stream must
/// be closed, as for a malformed frame).
pub fn parse_within(
    src: &mut BytesMut,
    max_frame_bytes: u32,
    limits: DecodeLimits,
) -> Result<Option<Frame>, FrameError> {
    let Some(header) = check(src, max_frame_bytes)? else {
        return Ok(None);
    };
    let mut frame = src.split_to(header.frame_len).freeze();
    frame.advance(HEADER_LEN);
    let reader = FieldReader::new(frame, header.correlation_id);
    let id = header.correlation_id;
    match (header.version, header.kind) {
        (VERSION, KIND_PRODUCE_REQUEST) => {
            ProduceRequest::decode_body(reader, id, limits).map(|r| Some(Frame::ProduceRequest(r)))
        }
        (VERSION, KIND_PRODUCE_RESPONSE) => {
            ProduceResponse::decode_body(reader, id).map(|r| Some(Frame::ProduceResponse(r)))
        }
        (VERSION, KIND_PING) => Ping::decode_body(reader, id).map(|p| Some(Frame::Ping(p))),
        (VERSION, KIND_PONG) => Pong::decode_body(reader, id).map(|p| Some(Frame::Pong(p))),
        (version, kind) => Err(FrameError::Unsupported {
            correlation_id: id,
            version,
            kind,
        }),
    }
}

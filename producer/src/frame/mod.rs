//! The frame protocol, version 1: the codec both the producer and the mock broker use.
//!
//! Every frame starts with a 14-byte fixed header that is the same in all versions:
//!
//! | offset | size | field            |
//! |-------:|-----:|------------------|
//! | 0      | 4    | magic `KFRM`     |
//! | 4      | 4    | size (u32): bytes after this field |
//! | 8      | 1    | version          |
//! | 9      | 1    | kind             |
//! | 10     | 4    | correlation id   |
//!
//! Read as a Kafka request size, the magic is 1,262,899,789 bytes (> 1 GiB),
//! far above any request a Kafka broker accepts, so one port can serve both
//! protocols by looking at the first four bytes. `docs/frame-protocol.md`
//! describes every byte of the bodies.
//!
//! Decoding is check-then-parse: [`check`] answers "is a whole frame here?"
//! without allocating, and rejects an oversized frame from its size field
//! before anything is buffered; [`parse`] then splits the frame off the
//! buffer and decodes it, handing out byte fields as slices of it.

mod error;
mod produce_request;
mod produce_response;
mod reader;
mod status;

use bytes::{Buf, BytesMut};

pub use crate::record::Header;
pub use error::FrameError;
pub use produce_request::{FrameAcks, Message, ProduceRequest};
pub use produce_response::{PartitionRun, ProduceResponse};
pub use status::Status;

use reader::FieldReader;

/// The first four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"KFRM";
/// The protocol version this codec speaks.
pub const VERSION: u8 = 1;
/// Length of the fixed header: magic, size, version, kind, correlation id.
pub const HEADER_LEN: usize = 14;
/// Bytes of the fixed header counted by the size field (version, kind, correlation id).
const SIZED_HEADER_LEN: u32 = 6;
/// Kind byte of a [`ProduceRequest`].
pub const KIND_PRODUCE_REQUEST: u8 = 1;
/// Kind byte of a [`ProduceResponse`].
pub const KIND_PRODUCE_RESPONSE: u8 = 2;
/// Default limit on a whole frame, fixed header included: 16 MiB.
pub const DEFAULT_MAX_FRAME_BYTES: u32 = 16 * 1024 * 1024;
/// Default limit on one encoded message: 1 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 1024 * 1024;

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// Messages for the broker to record.
    ProduceRequest(ProduceRequest),
    /// The broker's answer to a produce request.
    ProduceResponse(ProduceResponse),
}

impl Frame {
    /// The correlation id of the frame.
    pub fn correlation_id(&self) -> u32 {
        match self {
            Frame::ProduceRequest(r) => r.correlation_id,
            Frame::ProduceResponse(r) => r.correlation_id,
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
        }
    }
}

/// A frame that cannot be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// A field is longer than its length prefix can express.
    #[error("{field} is {len} bytes long; the frame protocol allows at most {max}")]
    FieldTooLong {
        /// The field, e.g. `message 3 value`.
        field: String,
        /// Its length.
        len: usize,
        /// The most its length prefix allows.
        max: usize,
    },
}

/// The fixed header of a complete frame found by [`check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The frame's version byte.
    pub version: u8,
    /// The frame's kind byte.
    pub kind: u8,
    /// The frame's correlation id.
    pub correlation_id: u32,
    /// The whole frame's length in bytes, fixed header included.
    pub frame_len: usize,
}

/// Whether `prefix` (at least four bytes) starts with the frame magic.
///
/// This is how a broker serving both protocols on one port tells a frame
/// from a Kafka request.
pub fn starts_with_magic(prefix: &[u8]) -> bool {
    prefix.len() >= 4 && prefix[..4] == MAGIC
}

/// Looks for one whole frame at the start of `src` without consuming or allocating.
///
/// Returns `Ok(None)` while more bytes are needed, which is a normal state.
///
/// # Errors
/// - [`FrameError::BadMagic`] when `src` does not start with [`MAGIC`];
/// - [`FrameError::FrameTooLarge`] as soon as the fixed header is in and the
///   size field declares more than `max_frame_bytes`, before the body is buffered;
/// - [`FrameError::Malformed`] when the size field is too small for the fixed header.
pub fn check(src: &[u8], max_frame_bytes: u32) -> Result<Option<FrameHeader>, FrameError> {
    let probe = &src[..src.len().min(4)];
    if probe != &MAGIC[..probe.len()] {
        let mut found = [0u8; 4];
        found[..probe.len()].copy_from_slice(probe);
        return Err(FrameError::BadMagic {
            found,
            expected: MAGIC,
        });
    }
    if src.len() < HEADER_LEN {
        // The size alone can prove the frame malformed before the rest arrives.
        if src.len() >= 8 {
            check_size_field(read_u32(src, 4), None)?;
        }
        return Ok(None);
    }
    let size = read_u32(src, 4);
    let correlation_id = read_u32(src, 10);
    check_size_field(size, Some(correlation_id))?;
    let frame_len = 8 + u64::from(size);
    if frame_len > u64::from(max_frame_bytes) {
        return Err(FrameError::FrameTooLarge {
            correlation_id,
            size: frame_len,
            limit: max_frame_bytes,
        });
    }
    if (src.len() as u64) < frame_len {
        return Ok(None);
    }
    Ok(Some(FrameHeader {
        version: src[8],
        kind: src[9],
        correlation_id,
        frame_len: frame_len as usize,
    }))
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
    let Some(header) = check(src, max_frame_bytes)? else {
        return Ok(None);
    };
    let mut frame = src.split_to(header.frame_len).freeze();
    frame.advance(HEADER_LEN);
    let reader = FieldReader::new(frame, header.correlation_id);
    let id = header.correlation_id;
    match (header.version, header.kind) {
        (VERSION, KIND_PRODUCE_REQUEST) => {
            ProduceRequest::decode_body(reader, id).map(|r| Some(Frame::ProduceRequest(r)))
        }
        (VERSION, KIND_PRODUCE_RESPONSE) => {
            ProduceResponse::decode_body(reader, id).map(|r| Some(Frame::ProduceResponse(r)))
        }
        (version, kind) => Err(FrameError::Unsupported {
            correlation_id: id,
            version,
            kind,
        }),
    }
}

fn check_size_field(size: u32, correlation_id: Option<u32>) -> Result<(), FrameError> {
    if size < SIZED_HEADER_LEN {
        return Err(FrameError::Malformed {
            correlation_id,
            reason: format!(
                "size field {size} is smaller than the {SIZED_HEADER_LEN} header bytes it must count"
            ),
        });
    }
    Ok(())
}

fn read_u32(src: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([src[at], src[at + 1], src[at + 2], src[at + 3]])
}

/// Writes the fixed header, lets `body` append the body, then fills in the size.
fn encode_frame(
    kind: u8,
    correlation_id: u32,
    dst: &mut BytesMut,
    body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<(), EncodeError> {
    use bytes::BufMut;
    let start = dst.len();
    dst.put_slice(&MAGIC);
    dst.put_u32(0);
    dst.put_u8(VERSION);
    dst.put_u8(kind);
    dst.put_u32(correlation_id);
    if let Err(e) = body(dst) {
        dst.truncate(start);
        return Err(e);
    }
    let size = dst.len() - start - 8;
    let Ok(size) = u32::try_from(size) else {
        dst.truncate(start);
        return Err(EncodeError::FieldTooLong {
            field: "frame".into(),
            len: size + 8,
            max: u32::MAX as usize,
        });
    };
    dst[start + 4..start + 8].copy_from_slice(&size.to_be_bytes());
    Ok(())
}

#[cfg(test)]
mod tests;

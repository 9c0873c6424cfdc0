//! The 14-byte fixed header every frame starts with: finding a whole frame in a buffer
//! ([`check`]) without allocating, and writing a frame around its body.

use bytes::BytesMut;

use super::error::{EncodeError, FrameError};
use super::layout::{HEADER_LEN, MAGIC, SIZED_HEADER_LEN, VERSION};

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
pub(crate) fn encode_frame(
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

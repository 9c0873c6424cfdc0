//! Why a frame could not be decoded (and what the peer should be told), or encoded.

use super::decode_limits::FrameLimit;
use super::layout::VERSION;
use super::status::Status;

/// A frame that could not be decoded.
///
/// Each variant says whether the bytes of the frame were consumed (so the
/// connection can go on with the next frame) or whether the stream can no
/// longer be trusted and must be closed: see [`FrameError::is_fatal`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The stream does not start with the frame protocol's magic.
    #[error("not a frame: expected magic {expected:02x?}, found {found:02x?}")]
    BadMagic {
        /// The four bytes found where the magic should be.
        found: [u8; 4],
        /// The protocol's magic.
        expected: [u8; 4],
    },
    /// The size field declares a frame larger than the limit; nothing of it was read.
    #[error("frame of {size} bytes exceeds the limit of {limit} bytes")]
    FrameTooLarge {
        /// The correlation id from the frame's fixed header.
        correlation_id: u32,
        /// The whole frame's size in bytes, as declared.
        size: u64,
        /// The largest frame allowed, in bytes.
        limit: u32,
    },
    /// The frame's version or kind is not one this codec understands; the frame was skipped.
    #[error("unsupported frame version {version} kind {kind}")]
    Unsupported {
        /// The correlation id from the frame's fixed header.
        correlation_id: u32,
        /// The version byte found.
        version: u8,
        /// The kind byte found.
        kind: u8,
    },
    /// A produce frame carries more messages or headers than the decoder's
    /// limits allow; the frame was consumed, but the connection is to be closed.
    #[error("{reason}")]
    OverLimit {
        /// The correlation id from the frame's fixed header.
        correlation_id: u32,
        /// Which limit it passed.
        limit: FrameLimit,
        /// What passed it, with the count and the limit.
        reason: String,
    },
    /// The frame's contents do not follow the layout; the stream cannot be trusted any more.
    #[error("malformed frame: {reason}")]
    Malformed {
        /// The correlation id, when the fixed header could be read.
        correlation_id: Option<u32>,
        /// What was wrong, naming the field and the values involved.
        reason: String,
    },
}

impl FrameError {
    /// The status a broker answers this error with.
    pub fn status(&self) -> Status {
        match self {
            FrameError::BadMagic { .. } | FrameError::Malformed { .. } => Status::MalformedFrame,
            FrameError::FrameTooLarge { .. } => Status::FrameTooLarge,
            FrameError::OverLimit { .. } => Status::InvalidRequest,
            FrameError::Unsupported { version, .. } if *version != VERSION => {
                Status::UnsupportedVersion
            }
            FrameError::Unsupported { .. } => Status::UnsupportedKind,
        }
    }

    /// The correlation id of the offending frame, when it could be read.
    pub fn correlation_id(&self) -> Option<u32> {
        match self {
            FrameError::BadMagic { .. } => None,
            FrameError::FrameTooLarge { correlation_id, .. }
            | FrameError::OverLimit { correlation_id, .. }
            | FrameError::Unsupported { correlation_id, .. } => Some(*correlation_id),
            FrameError::Malformed { correlation_id, .. } => *correlation_id,
        }
    }

    /// Whether the connection must be closed: true unless the frame was skipped whole.
    pub fn is_fatal(&self) -> bool {
        !matches!(self, FrameError::Unsupported { .. })
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

//! Kafka's framing: every request and response is a 4-byte big-endian size, then that many bytes.
//!
//! One splitter serves both directions: the broker splits requests off its read buffer, the
//! producer responses. Both check the size before anything of the body is buffered, so a peer that
//! announces a gigabyte costs nothing.

use bytes::{Buf, Bytes, BytesMut};

/// What is being framed: it sets the smallest valid size and names the messages in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framed {
    /// A request: at least an api key, an api version and a correlation id (8 bytes).
    Request,
    /// A response: at least a correlation id (4 bytes).
    Response,
}

impl Framed {
    /// The smallest size a message of this kind may declare.
    pub const fn min_size(self) -> i32 {
        match self {
            Framed::Request => 8,
            Framed::Response => 4,
        }
    }

    /// The message's name, for errors.
    pub const fn name(self) -> &'static str {
        match self {
            Framed::Request => "request",
            Framed::Response => "response",
        }
    }
}

/// A size prefix that cannot be read past: the connection has to be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SizePrefixError {
    /// The size is negative or too small to hold the header every message starts with.
    #[error("{} size {size} is invalid (a {} header alone takes {} bytes)", .framed.name(), .framed.name(), .framed.min_size())]
    BadSize {
        /// Whether a request or a response declared it.
        framed: Framed,
        /// The declared size.
        size: i32,
    },
    /// The size exceeds the reader's limit; nothing of the body was read.
    #[error("{} of {size} bytes exceeds the limit of {limit} bytes", .framed.name())]
    TooLarge {
        /// Whether a request or a response declared it.
        framed: Framed,
        /// The declared size.
        size: i32,
        /// The largest whole message allowed, size prefix included, in bytes.
        limit: u32,
    },
}

/// Splits one whole message off the front of `src`, without its size prefix.
///
/// Returns `Ok(None)` while more bytes are needed (a normal state); room for the rest of the
/// message is then reserved once, instead of the buffer growing read by read.
///
/// # Errors
/// [`SizePrefixError`] as soon as the four size bytes are in, before the body is buffered:
/// a size below [`Framed::min_size`], or a message (prefix included) above `max_bytes`.
pub fn split(
    src: &mut BytesMut,
    framed: Framed,
    max_bytes: u32,
) -> Result<Option<Bytes>, SizePrefixError> {
    if src.len() < 4 {
        return Ok(None);
    }
    let size = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
    if size < framed.min_size() {
        return Err(SizePrefixError::BadSize { framed, size });
    }
    if size as u64 + 4 > u64::from(max_bytes) {
        return Err(SizePrefixError::TooLarge {
            framed,
            size,
            limit: max_bytes,
        });
    }
    let total = size as usize + 4;
    if src.len() < total {
        src.reserve(total - src.len());
        return Ok(None);
    }
    let mut message = src.split_to(total).freeze();
    message.advance(4);
    Ok(Some(message))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_whole_requests_and_waits_for_partial_ones() {
        let mut buf = BytesMut::from(&[0, 0, 0, 8, 0, 18, 0, 3, 0, 0, 0, 1, 0, 0][..]);
        let request = split(&mut buf, Framed::Request, 1024).unwrap().unwrap();
        assert_eq!(&request[..], &[0, 18, 0, 3, 0, 0, 0, 1]);
        assert_eq!(split(&mut buf, Framed::Request, 1024), Ok(None));
        assert_eq!(buf.len(), 2);
    }

    #[test]
    fn refuses_bad_and_oversized_sizes_before_reading_the_body() {
        let mut buf = BytesMut::from(&[0xFF, 0xFF, 0xFF, 0xFF][..]);
        let err = split(&mut buf, Framed::Request, 1024).unwrap_err();
        assert_eq!(
            err,
            SizePrefixError::BadSize {
                framed: Framed::Request,
                size: -1
            }
        );
        assert_eq!(
            err.to_string(),
            "request size -1 is invalid (a request header alone takes 8 bytes)"
        );
        let mut buf = BytesMut::from(&[0, 0, 0x10, 0][..]);
        let err = split(&mut buf, Framed::Request, 1024).unwrap_err();
        assert_eq!(
            err,
            SizePrefixError::TooLarge {
                framed: Framed::Request,
                size: 4096,
                limit: 1024
            }
        );
        assert_eq!(
            err.to_string(),
            "request of 4096 bytes exceeds the limit of 1024 bytes"
        );
    }

    #[test]
    fn a_response_needs_only_its_correlation_id() {
        let mut buf = BytesMut::from(&[0, 0, 0, 6, 0, 0, 0, 9, 0xAB, 0xCD, 0, 0][..]);
        let response = split(&mut buf, Framed::Response, 1024).unwrap().unwrap();
        assert_eq!(&response[..], &[0, 0, 0, 9, 0xAB, 0xCD]);
        let mut small = BytesMut::from(&[0, 0, 0, 3][..]);
        assert!(matches!(
            split(&mut small, Framed::Response, 1024),
            Err(SizePrefixError::BadSize { size: 3, .. })
        ));
        // A size right at the limit is whole; one byte more is refused.
        let mut at_limit = BytesMut::from(&[0, 0, 0, 4, 1, 2, 3, 4][..]);
        assert!(split(&mut at_limit, Framed::Response, 8).unwrap().is_some());
        let mut over = BytesMut::from(&[0, 0, 0, 5][..]);
        assert!(matches!(
            split(&mut over, Framed::Response, 8),
            Err(SizePrefixError::TooLarge {
                size: 5,
                limit: 8,
                ..
            })
        ));
    }
}

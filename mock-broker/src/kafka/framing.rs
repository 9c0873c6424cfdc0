//! The Kafka request framing: a 4-byte big-endian size, then the request.

use bytes::{Buf, Bytes, BytesMut};

/// Smallest request: api key, api version, correlation id.
const MIN_REQUEST: i32 = 8;

/// A size prefix the broker will not read past; the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FramingError {
    /// The size is negative or too small to hold a request header.
    #[error("request size {0} is invalid (a request header alone takes {MIN_REQUEST} bytes)")]
    BadSize(i32),
    /// The size exceeds the broker's limit; nothing of it is read.
    #[error("request of {size} bytes exceeds the limit of {limit} bytes (max_frame_bytes)")]
    TooLarge {
        /// The declared size.
        size: i32,
        /// The limit.
        limit: u32,
    },
}

/// Splits one whole request off `src`, without its size prefix; `Ok(None)` while incomplete.
///
/// # Errors
/// [`FramingError`] as soon as the size prefix is in, before the body is buffered.
pub(crate) fn parse(src: &mut BytesMut, max_bytes: u32) -> Result<Option<Bytes>, FramingError> {
    if src.len() < 4 {
        return Ok(None);
    }
    let size = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
    if size < MIN_REQUEST {
        return Err(FramingError::BadSize(size));
    }
    if size as u64 + 4 > u64::from(max_bytes) {
        return Err(FramingError::TooLarge {
            size,
            limit: max_bytes,
        });
    }
    let total = size as usize + 4;
    if src.len() < total {
        // Reserve once for the whole request instead of growing chunk by chunk.
        src.reserve(total - src.len());
        return Ok(None);
    }
    let mut request = src.split_to(total).freeze();
    request.advance(4);
    Ok(Some(request))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_whole_requests_and_waits_for_partial_ones() {
        let mut buf = BytesMut::from(&[0, 0, 0, 8, 0, 18, 0, 3, 0, 0, 0, 1, 0, 0][..]);
        let request = parse(&mut buf, 1024).unwrap().unwrap();
        assert_eq!(&request[..], &[0, 18, 0, 3, 0, 0, 0, 1]);
        assert_eq!(parse(&mut buf, 1024), Ok(None));
        assert_eq!(buf.len(), 2);
    }

    #[test]
    fn refuses_bad_and_oversized_sizes_before_reading_the_body() {
        let mut buf = BytesMut::from(&[0xFF, 0xFF, 0xFF, 0xFF][..]);
        assert_eq!(parse(&mut buf, 1024), Err(FramingError::BadSize(-1)));
        let mut buf = BytesMut::from(&[0, 0, 0x10, 0][..]);
        assert_eq!(
            parse(&mut buf, 1024),
            Err(FramingError::TooLarge {
                size: 4096,
                limit: 1024
            })
        );
    }
}

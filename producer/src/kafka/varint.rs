//! The zigzag varints and nullable byte strings records are made of (RecordBatch v2).

use bytes::{BufMut, BytesMut};

/// `value` zigzag-encoded: small magnitudes, of either sign, become small numbers.
#[inline]
fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// How many bytes [`put_varint`] writes for `value`.
#[inline]
pub(crate) fn varint_len(value: i64) -> usize {
    let mut v = zigzag(value);
    let mut len = 1;
    while v >= 0x80 {
        v >>= 7;
        len += 1;
    }
    len
}

/// Appends `value` as a zigzag varint.
#[inline]
pub(crate) fn put_varint(out: &mut BytesMut, value: i64) {
    let mut v = zigzag(value);
    while v >= 0x80 {
        out.put_u8((v as u8) | 0x80);
        v >>= 7;
    }
    out.put_u8(v as u8);
}

/// Appends a nullable byte string: its length as a varint (−1 for none), then its bytes.
#[inline]
pub(crate) fn put_nullable(out: &mut BytesMut, bytes: Option<&[u8]>) {
    match bytes {
        Some(bytes) => {
            put_varint(out, bytes.len() as i64);
            out.put_slice(bytes);
        }
        None => put_varint(out, -1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_are_zigzag_encoded_and_their_length_is_what_is_written() {
        for (value, bytes) in [
            (0i64, &[0x00][..]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (63, &[0x7e]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (300, &[0xd8, 0x04]),
        ] {
            let mut out = BytesMut::new();
            put_varint(&mut out, value);
            assert_eq!(&out[..], bytes, "{value}");
            assert_eq!(varint_len(value), bytes.len(), "{value}");
        }
        for value in [i64::MIN, i64::MAX, -1_000_000, 1 << 40] {
            let mut out = BytesMut::new();
            put_varint(&mut out, value);
            assert_eq!(varint_len(value), out.len(), "{value}");
        }
        let mut out = BytesMut::new();
        put_nullable(&mut out, None);
        put_nullable(&mut out, Some(b"ab"));
        assert_eq!(&out[..], &[0x01, 0x04, b'a', b'b']);
    }
}

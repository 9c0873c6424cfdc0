//! Decompressing a batch's records, with a limit on what comes out.
//!
//! A compressed batch is at most `max_message_bytes`, but what it expands to
//! is up to the sender: a few kilobytes of zstd can claim gigabytes. So the
//! output is read through a limit and the batch refused once it passes it,
//! before the memory is taken. The codecs are the crates `kafka-protocol`
//! uses (flate2, snap, lz4, zstd), read as streams here because the crate's
//! own decompressors have no limit.

use std::io::Read;

use bytes::{Buf, Bytes};

/// Why records could not be decompressed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecompressError {
    /// The bytes are not valid for the codec.
    #[error("cannot decompress the {codec} records: {reason}")]
    Corrupt { codec: &'static str, reason: String },
    /// The records expand past the limit.
    #[error("the {codec} records decompress to more than max_decompressed_bytes = {limit}")]
    TooLarge { codec: &'static str, limit: usize },
    /// The attributes name no codec Kafka has.
    #[error("unknown compression codec {0}")]
    UnknownCodec(i16),
}

/// The records of a batch whose attributes say `codec` (0 none, 1 gzip,
/// 2 snappy, 3 lz4, 4 zstd), decompressed to at most `limit` bytes.
///
/// # Errors
/// [`DecompressError`] naming the codec and what went wrong.
pub(crate) fn decompress(codec: i16, body: Bytes, limit: usize) -> Result<Bytes, DecompressError> {
    match codec {
        0 => Ok(body),
        1 => read_all("gzip", flate2::read::GzDecoder::new(body.reader()), limit),
        2 => snappy(body, limit),
        3 => match lz4::Decoder::new(body.reader()) {
            Ok(decoder) => read_all("lz4", decoder, limit),
            Err(e) => Err(corrupt("lz4", e)),
        },
        4 => match zstd::stream::read::Decoder::new(body.reader()) {
            Ok(decoder) => read_all("zstd", decoder, limit),
            Err(e) => Err(corrupt("zstd", e)),
        },
        other => Err(DecompressError::UnknownCodec(other)),
    }
}

fn corrupt(codec: &'static str, reason: impl std::fmt::Display) -> DecompressError {
    DecompressError::Corrupt {
        codec,
        reason: reason.to_string(),
    }
}

/// Reads a decoder to its end, or to one byte past `limit`.
fn read_all(
    codec: &'static str,
    decoder: impl Read,
    limit: usize,
) -> Result<Bytes, DecompressError> {
    let mut out = Vec::new();
    decoder
        .take((limit as u64).saturating_add(1))
        .read_to_end(&mut out)
        .map_err(|e| corrupt(codec, e))?;
    if out.len() > limit {
        return Err(DecompressError::TooLarge { codec, limit });
    }
    Ok(Bytes::from(out))
}

/// The xerial framing the Java client writes: a 16-byte header, then blocks
/// each prefixed by its compressed length.
const XERIAL_MAGIC: &[u8; 8] = b"\x82SNAPPY\x00";
const XERIAL_HEADER_LEN: usize = 16;

/// Snappy, framed as the Java client writes it, or raw as some clients do
/// (the Java client reads both). Each block states its decompressed length,
/// which is checked before any memory is taken.
fn snappy(mut body: Bytes, limit: usize) -> Result<Bytes, DecompressError> {
    let mut decoder = snap::raw::Decoder::new();
    let mut block = |block: &[u8], out: &mut Vec<u8>| {
        let len = snap::raw::decompress_len(block).map_err(|e| corrupt("snappy", e))?;
        if out.len().saturating_add(len) > limit {
            return Err(DecompressError::TooLarge {
                codec: "snappy",
                limit,
            });
        }
        let start = out.len();
        out.resize(start + len, 0);
        decoder
            .decompress(block, &mut out[start..])
            .map_err(|e| corrupt("snappy", e))?;
        Ok(())
    };
    let mut out = Vec::new();
    if !body.starts_with(XERIAL_MAGIC) {
        block(&body, &mut out)?;
        return Ok(Bytes::from(out));
    }
    if body.len() < XERIAL_HEADER_LEN {
        return Err(corrupt("snappy", "the xerial header is cut short"));
    }
    body.advance(XERIAL_HEADER_LEN);
    while body.has_remaining() {
        if body.remaining() < 4 {
            return Err(corrupt("snappy", "a block length is cut short"));
        }
        let len = body.get_u32() as usize;
        if len > body.remaining() {
            return Err(corrupt(
                "snappy",
                format!(
                    "a block of {len} bytes runs past the {} left",
                    body.remaining()
                ),
            ));
        }
        let compressed = body.split_to(len);
        block(&compressed, &mut out)?;
    }
    Ok(Bytes::from(out))
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, BytesMut};
    use kafka_protocol::compression::{Compressor, Gzip, Lz4, Snappy, Zstd};

    use super::*;

    /// `data` compressed by `kafka-protocol`, the way producers built on it do.
    fn compressed(codec: i16, data: &[u8]) -> Bytes {
        let mut out = BytesMut::new();
        let fill = |buf: &mut BytesMut| {
            buf.put_slice(data);
            Ok(())
        };
        match codec {
            1 => Gzip::compress(&mut out, fill),
            2 => Snappy::compress(&mut out, fill),
            3 => Lz4::compress(&mut out, fill),
            4 => Zstd::compress(&mut out, fill),
            _ => unreachable!(),
        }
        .unwrap();
        out.freeze()
    }

    #[test]
    fn every_codec_round_trips_within_the_limit() {
        // Over 32 KiB, so snappy writes several xerial blocks.
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        for codec in 1..=4 {
            let out = decompress(codec, compressed(codec, &data), data.len()).unwrap();
            assert_eq!(&out[..], &data[..], "codec {codec}");
        }
    }

    #[test]
    fn a_bomb_is_refused_at_the_limit_naming_it() {
        // 64 MiB of zeros compresses to a few kilobytes or less.
        let zeros = vec![0u8; 64 * 1024 * 1024];
        for (codec, name) in [(1, "gzip"), (2, "snappy"), (3, "lz4"), (4, "zstd")] {
            let bomb = compressed(codec, &zeros);
            assert!(bomb.len() < 4 * 1024 * 1024, "{name}: {} bytes", bomb.len());
            let error = decompress(codec, bomb, 1024 * 1024).unwrap_err();
            assert_eq!(
                error,
                DecompressError::TooLarge {
                    codec: name,
                    limit: 1024 * 1024
                }
            );
            assert!(
                error
                    .to_string()
                    .contains("max_decompressed_bytes = 1048576")
            );
        }
    }

    #[test]
    fn raw_snappy_is_read_too() {
        let raw = snap::raw::Encoder::new()
            .compress_vec(b"hello raw")
            .unwrap();
        assert_eq!(&decompress(2, raw.into(), 100).unwrap()[..], b"hello raw");
    }

    #[test]
    fn garbage_and_unknown_codecs_are_refused_by_name() {
        for (codec, name) in [(1, "gzip"), (2, "snappy"), (3, "lz4"), (4, "zstd")] {
            let error = decompress(codec, Bytes::from_static(b"not compressed at all"), 1 << 20)
                .unwrap_err();
            assert!(
                matches!(&error, DecompressError::Corrupt { codec, .. } if *codec == name),
                "{name}: {error}"
            );
        }
        assert_eq!(
            decompress(7, Bytes::new(), 1).unwrap_err().to_string(),
            "unknown compression codec 7"
        );
    }
}

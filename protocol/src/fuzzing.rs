//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz), kept in ordinary code so that
//! `cargo test` on stable replays their committed corpus (`fuzz/corpus/`) through the very same
//! functions. Not part of the crate's API.
//!
//! Each function takes arbitrary bytes and never panics on any input: a panic is a bug the fuzzer
//! found (a decoder that indexes past its input, allocates what the input claims, or decodes
//! something it cannot encode back).

use bytes::BytesMut;

use crate::frame::{self, Frame};
use crate::size_prefix::{self, Framed};

/// The frame limit the fuzz targets decode with: the broker's default.
const MAX_FRAME_BYTES: u32 = frame::DEFAULT_MAX_FRAME_BYTES;

/// The most placements a response's runs are walked for: a run may claim 2^32 messages.
const MAX_PLACEMENTS: u64 = 1 << 16;

/// Splits `data` into frames with [`frame::parse`] (and into Kafka messages with
/// [`size_prefix::split`]) until it runs out or a fatal error ends the stream; every frame that
/// decodes must encode and decode back to itself.
///
/// # Panics
/// Only on a bug in the decoders: a panic inside them, or a decoded frame that does not survive
/// a round trip.
pub fn frame_decoder(data: &[u8]) {
    let _ = crate::foreign::recognise(data);
    for framed in [Framed::Request, Framed::Response] {
        let mut buffer = BytesMut::from(data);
        while let Ok(Some(message)) = size_prefix::split(&mut buffer, framed, MAX_FRAME_BYTES) {
            assert!(message.len() + 4 >= framed.min_size() as usize);
        }
    }
    let mut buffer = BytesMut::from(data);
    loop {
        let before = buffer.len();
        let checked = frame::check(&buffer, MAX_FRAME_BYTES);
        match frame::parse(&mut buffer, MAX_FRAME_BYTES) {
            Ok(None) => {
                assert_eq!(buffer.len(), before, "an incomplete frame consumed bytes");
                assert!(matches!(checked, Ok(None)));
                return;
            }
            Ok(Some(decoded)) => {
                let header = checked
                    .expect("parse decoded what check refused")
                    .expect("parse decoded what check found incomplete");
                assert_eq!(before - buffer.len(), header.frame_len);
                assert_eq!(decoded.correlation_id(), header.correlation_id);
                round_trip(&decoded);
                if let Frame::ProduceResponse(response) = &decoded
                    && response.message_count() <= MAX_PLACEMENTS
                {
                    assert_eq!(
                        response.placements().count() as u64,
                        response.message_count()
                    );
                }
            }
            Err(error) => {
                // Every error has a status and a message the broker can answer with.
                let _ = (error.status(), error.correlation_id(), error.to_string());
                if error.is_fatal() || buffer.len() == before {
                    return;
                }
            }
        }
    }
}

/// A decoded frame encodes, and that encoding decodes to the same frame, with nothing left over.
fn round_trip(decoded: &Frame) {
    let mut encoded = BytesMut::new();
    decoded
        .encode(&mut encoded)
        .expect("a decoded frame encodes");
    let again = frame::parse(&mut encoded, u32::MAX)
        .expect("an encoded frame decodes")
        .expect("an encoded frame is whole");
    assert_eq!(&again, decoded);
    assert!(encoded.is_empty(), "the encoding is longer than its frame");
}

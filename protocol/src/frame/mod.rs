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
//! buffer and decodes it, handing out byte fields as slices of it
//! ([`parse_within`] also holds a produce frame's message and header counts
//! to [`DecodeLimits`]).

mod codec;
mod decode_limits;
mod error;
mod fixed_header;
mod layout;
mod ping;
mod produce_request;
mod produce_response;
mod reader;
mod status;

pub use crate::header::Header;
pub use codec::{Frame, parse, parse_within};
pub use decode_limits::{DecodeLimits, FrameLimit};
pub use error::{EncodeError, FrameError};
pub use fixed_header::{FrameHeader, check, starts_with_magic};
pub use layout::{
    DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_MESSAGE_BYTES, HEADER_LEN, KIND_PING, KIND_PONG,
    KIND_PRODUCE_REQUEST, KIND_PRODUCE_RESPONSE, MAGIC, VERSION,
};
pub use ping::{Ping, Pong};
pub use produce_request::{FrameAcks, Message, ProduceRequest};
pub use produce_response::{PartitionRun, ProduceResponse};
pub use status::Status;

#[cfg(test)]
mod tests;

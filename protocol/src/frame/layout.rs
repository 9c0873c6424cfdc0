//! The fixed layout of the frame protocol: the magic, the version, the header length, the kind
//! bytes, and the default limits.

/// The first four bytes of every frame.
pub const MAGIC: [u8; 4] = *b"KFRM";
/// The protocol version this codec speaks.
pub const VERSION: u8 = 1;
/// Length of the fixed header: magic, size, version, kind, correlation id.
pub const HEADER_LEN: usize = 14;
/// Bytes of the fixed header counted by the size field (version, kind, correlation id).
pub(crate) const SIZED_HEADER_LEN: u32 = 6;
/// Kind byte of a [`ProduceRequest`].
pub const KIND_PRODUCE_REQUEST: u8 = 1;
/// Kind byte of a [`ProduceResponse`].
pub const KIND_PRODUCE_RESPONSE: u8 = 2;
/// Kind byte of a [`Ping`](super::Ping): a connection's first exchange, no body.
pub const KIND_PING: u8 = 3;
/// Kind byte of a [`Pong`](super::Pong): the answer to a ping, no body.
pub const KIND_PONG: u8 = 4;
/// Default limit on a whole frame, fixed header included: 16 MiB.
pub const DEFAULT_MAX_FRAME_BYTES: u32 = 16 * 1024 * 1024;
/// Default limit on one encoded message: 1 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: u32 = 1024 * 1024;

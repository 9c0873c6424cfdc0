//! How many messages and headers a produce frame may carry: checked while the
//! frame is decoded, each count before the memory for it is taken, so that a
//! frame of tiny headers (6 bytes each on the wire) cannot make its decoding
//! cost ten times its size.

/// The counts a produce frame must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeLimits {
    /// The most messages one frame may carry.
    pub messages: u32,
    /// The most headers one message may carry.
    pub headers_per_message: u32,
    /// The most headers the messages of one frame may carry together.
    pub headers: u32,
}

impl DecodeLimits {
    /// No limit beyond what the frame's bytes can hold.
    pub const NONE: DecodeLimits = DecodeLimits {
        messages: u32::MAX,
        headers_per_message: u32::MAX,
        headers: u32::MAX,
    };
}

/// Which of the [`DecodeLimits`] a frame passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameLimit {
    /// [`DecodeLimits::messages`].
    Messages,
    /// [`DecodeLimits::headers_per_message`].
    HeadersPerMessage,
    /// [`DecodeLimits::headers`].
    Headers,
}

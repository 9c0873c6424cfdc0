//! Why a frame protocol connection is closed.

use protocol::frame::{EncodeError, FrameError};

use crate::fault::FaultDisconnect;

/// Why the connection must close, after whatever has been answered is sent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CloseReason {
    /// A frame after which the stream can no longer be trusted.
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// A produce frame past a record or header limit (`max_records_per_batch`, …).
    #[error("{0}")]
    OverLimit(String),
    /// The client sent a response frame.
    #[error("the client sent a response frame")]
    ResponseFrame,
    /// A response the broker cannot encode: a broker bug.
    #[error("could not encode a response: {0}")]
    Encode(#[from] EncodeError),
    /// A `disconnect` fault.
    #[error(transparent)]
    Fault(#[from] FaultDisconnect),
}

impl CloseReason {
    /// What kind of reason it is, for logging each kind apart.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            CloseReason::Frame(_) => "frame: bad frame",
            CloseReason::OverLimit(_) => "frame: past a limit",
            CloseReason::ResponseFrame => "frame: a response frame",
            CloseReason::Encode(_) => "frame: cannot encode",
            CloseReason::Fault(_) => "frame: disconnect fault",
        }
    }
}

//! The project's frame protocol, as the mock broker serves it; mirrors `kafka/`.
//!
//! The connection hands its buffer to a [`Session`] (`session.rs`), which
//! splits it into frames and answers each; `produce.rs` records a produce
//! frame's messages, and `error.rs` says why a connection is closed. The
//! codec itself is `protocol::frame`. This module only declares and re-exports.

mod error;
mod produce;
mod session;

pub(crate) use error::CloseReason;
pub(crate) use session::Session;

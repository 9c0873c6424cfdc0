//! The Kafka wire protocol, as the mock broker serves it.
//!
//! The connection hands its buffer to a [`Session`] (`session.rs`), which
//! splits it into requests and dispatches each to its API's handler, one
//! file per API (`produce.rs`, `fetch.rs`, …) given a [`Ctx`](context::Ctx)
//! (`context.rs`); `response.rs` writes the answer with the fault verdict's
//! error and throttle in it (`fault_response.rs`), and `error.rs` says why a
//! connection is closed. This module only declares and re-exports.

mod api_versions;
mod consumer_group_describe;
mod consumer_group_heartbeat;
mod context;
mod delete_groups;
mod describe_groups;
mod error;
mod fault_response;
mod fetch;
mod fetch_response;
mod find_coordinator;
mod group_coordinator;
mod group_fault_response;
mod heartbeat;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod produce;
mod response;
mod session;
mod sync_group;

pub(crate) use error::CloseReason;
pub(crate) use session::Session;

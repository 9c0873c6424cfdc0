//! The Kafka wire protocol, as the mock broker serves it.
//!
//! The connection hands its buffer to a [`Session`] (`session.rs`), which
//! splits it into requests and dispatches each to its API's handler, one
//! file per API (`produce.rs`, `fetch.rs`, …) given a [`Ctx`](context::Ctx)
//! (`context.rs`); on SASL listeners `authentication.rs` admits
//! requests only once the client has authenticated; `response.rs` writes the answer with the fault verdict's
//! error and throttle in it (`fault_response.rs`), and `error.rs` says why a
//! connection is closed. This module only declares and re-exports.

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod admin_fault_response;
mod alter_configs;
mod api_versions;
mod authentication;
mod consumer_group_describe;
mod consumer_group_heartbeat;
mod context;
mod create_partitions;
mod create_topics;
mod decode_budget;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_producers;
mod describe_transactions;
mod end_txn;
mod error;
mod fault_response;
mod fetch;
mod fetch_response;
mod find_coordinator;
mod group_coordinator;
mod group_fault_response;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod list_transactions;
mod metadata;
mod named_partitions;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
mod response;
mod sasl_authenticate;
mod sasl_fault_response;
mod sasl_handshake;
mod session;
mod sync_group;
mod topic_configs;
mod txn_fault_response;
mod txn_offset_commit;

pub(crate) use error::CloseReason;
pub(crate) use session::Session;

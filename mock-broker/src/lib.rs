//! A mock Kafka broker that records every message it receives.
//!
//! Start one in-process with [`MockBroker::start`], produce to it, then read
//! what it recorded through [`MockBroker::store`]. The `mock-broker` binary
//! wraps the same library.

mod admin;
mod broker;
mod client;
mod clock;
pub mod cluster;
pub mod config;
mod config_catalog;
mod connection;
mod connection_limits;
pub mod fault;
mod file_syncer;
mod frame;
mod fsync_policy;
#[doc(hidden)]
pub mod fuzzing;
mod group;
mod group_service;
pub mod groups;
mod idempotence;
mod kafka;
mod large_request;
pub mod listener;
mod outgoing;
mod record_batch;
mod record_file;
mod record_json;
mod record_line;
mod refusals;
mod replay;
mod request_timer;
mod sasl;
mod server;
mod state;
pub mod stats;
mod step;
pub mod store;
mod tls;
mod txn;
mod txn_service;

pub use broker::{MockBroker, StartError};
pub use config::BrokerConfig;
pub use fsync_policy::FsyncPolicy;
pub use groups::{GroupInfo, GroupSummary};
pub use listener::{ListenerSpec, SecurityProtocol};
/// The store's former name, kept so that `mock_broker::record_store::…` paths still work.
pub use store as record_store;
pub use store::{ClientInfo, Protocol, RecordStore, StoredRecord, TopicInfo, TxnRecordState};
pub use tls::TlsError;

//! A mock Kafka broker that records every message it receives.
//!
//! Start one in-process with [`MockBroker::start`], produce to it, then read
//! what it recorded through [`MockBroker::store`]. The `mock-broker` binary
//! wraps the same library.

mod admin;
mod broker;
pub mod cluster;
pub mod config;
mod connection;
pub mod fault;
mod frame_handler;
mod idempotence;
mod kafka;
mod record_file;
mod record_json;
pub mod record_store;
mod server;
mod state;
pub mod stats;

pub use broker::{MockBroker, StartError};
pub use config::BrokerConfig;
pub use record_store::{ClientInfo, Protocol, RecordStore, StoredRecord, TopicInfo};

//! The Kafka wire protocol, producer side.

pub mod batch_builder;
pub(crate) mod batch_header;
pub(crate) mod broker_connection;
pub(crate) mod cluster;
pub(crate) mod produce_request;
mod varint;

pub use protocol::kafka_error::{error_name, is_retriable};

//! The Kafka wire protocol, producer side.

pub mod batch_builder;
pub(crate) mod broker_connection;
pub(crate) mod cluster;
pub(crate) mod produce_request;

pub use protocol::kafka_error::{error_name, is_retriable};

/// The producer error for a Kafka error code.
pub(crate) fn kafka_error(code: i16, message: Option<String>) -> crate::Error {
    crate::Error::Kafka {
        code,
        name: error_name(code),
        message,
    }
}

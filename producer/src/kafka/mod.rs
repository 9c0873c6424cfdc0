//! The Kafka wire protocol, producer side.

pub mod batch_builder;

//! A Kafka producer library that also speaks the project's frame protocol.

pub mod frame;

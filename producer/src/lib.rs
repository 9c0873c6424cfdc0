//! A Kafka producer library that also speaks the project's own frame protocol.
//!
//! Build a [`Config`], create a [`Producer`], and [`send`](Producer::send)
//! [`Record`]s; every send returns where the broker stored the record.
//! The wire codecs this crate shares with the mock broker live in the
//! `protocol` crate; [`frame`] (the frame protocol), [`key_hash`] (how keys
//! pick partitions) and [`topic_name`] are re-exported from it.
//!
//! Records flow one way through the layers, and each layer imports only the
//! ones below it: `producer` (the API) appends to the `accumulator` (each
//! partition's `batch`es, in `accumulator/queues`); the `sender`'s run loop
//! drains it and sends batches (`sender/kafka_send`, `sender/frame_send`),
//! keeping `idempotence` state, through `kafka` (codecs and the cluster) and
//! `link` (a pipelined connection) down to `connection` (the socket). Every
//! background task is spawned through `tasks`, so that closing the producer
//! waits for them all.

mod accumulator;
mod acks;
pub mod backoff;
mod batch;
mod compression;
pub mod config;
mod connection;
mod delivery;
mod error;
mod frame_handshake;
#[doc(hidden)]
pub mod fuzzing;
mod idempotence;
pub mod kafka;
mod link;
mod metrics;
pub mod partitioner;
mod producer;
mod record;
mod sender;
mod tasks;
mod wire;
mod write_order;

pub use protocol::{foreign, frame, key_hash, topic_name};

pub use acks::Acks;
pub use compression::Compression;
pub use config::{Config, Protocol};
pub use delivery::{BatchId, DeliveryFuture};
pub use error::Error;
pub use metrics::Metrics;
pub use producer::Producer;
pub use record::{Delivery, Header, Record};

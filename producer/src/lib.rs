//! A Kafka producer library that also speaks the project's own frame protocol.
//!
//! Build a [`Config`], create a [`Producer`], and [`send`](Producer::send)
//! [`Record`]s; every send returns where the broker stored the record.
//! The frame protocol ([`frame`]) is the codec this crate shares with the
//! mock broker; [`key_hash`] is how keys pick partitions.

mod accumulator;
mod acks;
pub mod backoff;
pub mod config;
mod connection;
mod delivery;
mod error;
pub mod frame;
pub mod kafka;
pub mod key_hash;
mod link;
mod metrics;
pub mod partitioner;
mod producer;
mod record;
mod sender;
pub mod topic_name;
mod wire;
mod write_order;

pub use acks::Acks;
pub use config::{Config, Protocol};
pub use delivery::DeliveryFuture;
pub use error::Error;
pub use metrics::Metrics;
pub use producer::Producer;
pub use record::{Delivery, Header, Record};

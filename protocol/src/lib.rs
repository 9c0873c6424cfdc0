//! The wire protocols both sides speak, as pure code: no I/O, no runtime.
//!
//! The producer encodes with it and the mock broker decodes with it (and the other way round for
//! responses), so the two can never drift apart:
//! - [`frame`]: the project's own length-prefixed frame protocol, check-then-parse;
//! - [`crc32c`]: the checksum of every Kafka record batch;
//! - [`size_prefix`]: Kafka's 4-byte size framing, for requests and responses;
//! - [`header`]: a record header as both protocols carry it;
//! - [`topic_name`]: Kafka's rules for topic names;
//! - [`key_hash`]: how a key picks its partition (FNV-1a by default, murmur2 as the Java client);
//! - [`kafka_error`]: Kafka error codes by their documented names.
//!
//! Kafka's message types themselves come from the `kafka-protocol` crate.

pub mod crc32c;
pub mod foreign;
pub mod frame;
#[doc(hidden)]
pub mod fuzzing;
pub mod header;
pub mod kafka_error;
pub mod key_hash;
pub mod size_prefix;
pub mod topic_name;

pub use header::Header;

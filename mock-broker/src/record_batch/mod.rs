//! RecordBatch v2, the way Kafka producers send records and the form the log
//! keeps: validated when a batch arrives (`parse.rs`: header, CRC-32C, every
//! record against the header), decompressed with a limit (`decompress.rs`), within record and header
//! counts (`limits.rs`),
//! decoded again whenever somebody reads the records of a stored batch, and
//! written for messages that arrived without one (`encode.rs`). Pure code over `Bytes`: the
//! produce handler and the store both use it. This module only declares and
//! re-exports.

mod decompress;
mod encode;
mod limits;
mod parse;

pub(crate) use encode::{Message, encode_batch, encode_control_batch};
pub(crate) use limits::RecordLimits;
pub(crate) use parse::{
    BatchError, BatchRecord, Summary, ValidBatch, parse_batches, validate_batches,
};

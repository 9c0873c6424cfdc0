//! The recordings: every message the broker received, by topic and partition.
//!
//! The log layer: [`RecordStore`] holds the topics, [`TopicLog`] one topic's
//! partitions, each a `PartitionLog` of `LogEntry`s: the batches as they
//! arrived (a Kafka RecordBatch v2 as the producer sent it, or a frame
//! request's messages), indexed by base offset. [`StoredRecord`] is one
//! recorded message as readers see it, decoded from its entry when read.

mod append_signal;
mod error;
mod limits;
mod log_entry;
mod partition_log;
mod record_store;
mod retention;
mod sink;
mod stored_record;
mod topic_config;
mod topic_log;
mod txn_index;
mod wait_for_records;

pub use error::StoreError;
pub use limits::{
    DEFAULT_MAX_PARTITIONS_PER_TOPIC, DEFAULT_MAX_TOPICS, Dropped, MemoryPolicy, MemoryStats,
    StoreLimits,
};
pub(crate) use log_entry::LogEntry;
pub use record_store::RecordStore;
pub use sink::{RecordSink, StoreEvent};
pub use stored_record::{ClientInfo, NewRecord, ProducerInfo, Protocol, StoredRecord};
pub use topic_config::{MAX_MESSAGE_BYTES, RETENTION_BYTES, RETENTION_MS, TopicConfig};
pub(crate) use topic_log::ReplayedBatch;
pub use topic_log::{FetchView, NewTopic, PartitionInfo, TopicInfo, TopicLog};
pub use txn_index::TxnRecordState;

#[cfg(test)]
mod log_tests;

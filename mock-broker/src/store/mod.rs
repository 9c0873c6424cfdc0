//! The recordings: every message the broker received, by topic and partition.
//!
//! The log layer: [`RecordStore`] holds the topics, [`TopicLog`] one topic's
//! partitions, [`StoredRecord`] one recorded message.

mod error;
mod record_store;
mod sink;
mod stored_record;
mod topic_log;

pub use error::StoreError;
pub use record_store::RecordStore;
pub use sink::RecordSink;
pub use stored_record::{ClientInfo, NewRecord, ProducerInfo, Protocol, StoredRecord};
pub use topic_log::{PartitionInfo, TopicInfo, TopicLog};

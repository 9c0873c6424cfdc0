//! Where appended records go besides memory: the `--record-file`.

use std::collections::BTreeMap;

use super::stored_record::StoredRecord;

/// Writes records somewhere durable as they are appended (the `--record-file`).
///
/// Called with the partition lock held, before the records become visible and
/// before the producer is answered; an error refuses the whole append.
pub trait RecordSink: Send + Sync + std::fmt::Debug {
    /// Persists `records`, just appended to `topic`.
    ///
    /// # Errors
    /// Any I/O failure; the append is then refused and nothing is acknowledged.
    fn write(&self, topic: &str, records: &[StoredRecord]) -> std::io::Result<()>;

    /// Persists a change to the topics that replaying the records alone could
    /// not rebuild. Called after the change; by default, nothing is written.
    ///
    /// # Errors
    /// Any I/O failure; the store logs it (the change has been made already).
    fn event(&self, event: StoreEvent<'_>) -> std::io::Result<()> {
        let _ = event;
        Ok(())
    }
}

/// A change to the store besides appended records.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum StoreEvent<'a> {
    /// A topic was created (by CreateTopics, auto-creation or the Rust API).
    TopicCreated {
        /// Its name.
        topic: &'a str,
        /// Its id.
        id: uuid::Uuid,
        /// Its partition count.
        partitions: u32,
        /// The replication factor it reports.
        replication_factor: i16,
        /// Its configuration overrides.
        config: &'a BTreeMap<String, String>,
    },
    /// A topic grew to `partitions` partitions (CreatePartitions).
    PartitionsAdded {
        /// The topic.
        topic: &'a str,
        /// Its partition count now.
        partitions: u32,
    },
    /// A topic's configuration overrides were replaced (AlterConfigs and friends).
    ConfigChanged {
        /// The topic.
        topic: &'a str,
        /// Every override it has now.
        config: &'a BTreeMap<String, String>,
    },
    /// A partition's log start offset was moved by DeleteRecords.
    LogStartMoved {
        /// The topic.
        topic: &'a str,
        /// The partition.
        partition: u32,
        /// The new log start offset.
        offset: i64,
    },
    /// A topic was deleted, with its records.
    TopicDeleted {
        /// The topic.
        topic: &'a str,
    },
    /// Every topic was deleted (`POST /reset`).
    Reset,
}

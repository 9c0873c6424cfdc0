//! Why the store refused a lookup or an append.

/// Why the store refused a lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record sink (`--record-file`) failed; nothing was appended.
    #[error("cannot write the record file: {0}")]
    Sink(String),
    /// No such topic (and auto-creation is off, for writes).
    #[error("unknown topic {topic:?}")]
    UnknownTopic {
        /// The topic asked for.
        topic: String,
    },
    /// The topic has no such partition.
    #[error("topic {topic:?} has {partitions} partitions; there is no partition {partition}")]
    UnknownPartition {
        /// The topic asked for.
        topic: String,
        /// The partition asked for.
        partition: u32,
        /// How many the topic has.
        partitions: u32,
    },
}

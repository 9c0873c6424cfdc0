//! Why the store refused a lookup or an append.

/// Why the store refused a lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// A replayed batch does not start at its partition's next offset: the
    /// record file misses or repeats records.
    #[error(
        "topic {topic:?} partition {partition}: the batch starts at offset {offset}, but the partition's next offset is {next}"
    )]
    NotNextOffset {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The batch's first offset.
        offset: i64,
        /// The partition's next offset.
        next: i64,
    },
    /// The record sink (`--record-file`) failed; nothing was appended.
    #[error("cannot write the record file: {0}")]
    Sink(String),
    /// The store is at its memory cap (`max_memory`, policy `refuse`), or the
    /// batch alone is larger than the cap; nothing was appended.
    #[error(
        "the broker is at max_memory: {used} of {max} bytes in use, the append needs {needed} more (see --max-memory and --memory-policy)"
    )]
    MemoryFull {
        /// Bytes in use.
        used: u64,
        /// The bytes the append needed.
        needed: u64,
        /// The cap.
        max: u64,
    },
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
    /// A topic of that name exists already.
    #[error("topic {topic:?} already exists")]
    TopicExists {
        /// The topic asked for.
        topic: String,
    },
    /// A topic can only grow: the partition count asked for is not more than it has.
    #[error("topic {topic:?} has {partitions} partitions; it cannot have {requested}")]
    PartitionCount {
        /// The topic asked for.
        topic: String,
        /// How many it has.
        partitions: u32,
        /// How many were asked for.
        requested: u32,
    },
    /// Creating the topic would take the store past `max_topics`.
    #[error(
        "cannot create topic {topic:?}: the broker holds {max} topics, its max_topics (see --max-topics)"
    )]
    TooManyTopics {
        /// The topic asked for.
        topic: String,
        /// The limit.
        max: u32,
    },
    /// The topic would have more partitions than `max_partitions_per_topic`.
    #[error(
        "topic {topic:?} cannot have {requested} partitions: max_partitions_per_topic is {max} (see --max-partitions-per-topic)"
    )]
    TooManyPartitions {
        /// The topic asked for.
        topic: String,
        /// The partitions asked for.
        requested: u32,
        /// The limit.
        max: u32,
    },
    /// An offset past the end of the partition (or negative), where one within it is needed.
    #[error(
        "offset {offset} is out of range for partition {partition} of topic {topic:?}, which ends at {high_watermark}"
    )]
    OffsetOutOfRange {
        /// The topic asked for.
        topic: String,
        /// The partition asked for.
        partition: u32,
        /// The offset asked for.
        offset: i64,
        /// Where the partition ends.
        high_watermark: i64,
    },
}

impl From<super::retention::MemoryFull> for StoreError {
    fn from(full: super::retention::MemoryFull) -> Self {
        StoreError::MemoryFull {
            used: full.used,
            needed: full.needed,
            max: full.max,
        }
    }
}

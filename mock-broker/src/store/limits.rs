//! What the store may keep, and what it counts of what it dropped: the
//! retention limits, the memory cap and its policy, as plain data.

use serde::Serialize;

/// What happens to an append that would take the store past its memory cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemoryPolicy {
    /// Refuse it: Kafka producers get KAFKA_STORAGE_ERROR, frame producers
    /// BROKER_BUSY, and the records already stored stay.
    #[default]
    Refuse,
    /// Drop the oldest batches of the whole broker (moving those partitions'
    /// log start offsets) until it fits.
    DropOldest,
}

impl MemoryPolicy {
    /// The policy's name, as the flag and `/stats` spell it.
    pub fn name(self) -> &'static str {
        match self {
            MemoryPolicy::Refuse => "refuse",
            MemoryPolicy::DropOldest => "drop-oldest",
        }
    }
}

impl std::str::FromStr for MemoryPolicy {
    type Err = String;

    /// `refuse` or `drop-oldest`.
    fn from_str(text: &str) -> Result<Self, String> {
        match text {
            "refuse" => Ok(MemoryPolicy::Refuse),
            "drop-oldest" => Ok(MemoryPolicy::DropOldest),
            other => Err(format!(
                "memory policy {other:?} is not one of \"refuse\", \"drop-oldest\""
            )),
        }
    }
}

/// The store's limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    /// The most bytes of batches one partition keeps (Kafka's `retention.bytes`);
    /// `None` keeps everything. The newest batch is always kept.
    pub retention_bytes: Option<u64>,
    /// How long a batch is kept after it was received, in ms (Kafka's
    /// `retention.ms`); `None` keeps it forever.
    pub retention_ms: Option<i64>,
    /// The most bytes all stored batches may take together.
    pub max_memory: u64,
    /// What happens at `max_memory`.
    pub memory_policy: MemoryPolicy,
    /// The most topics the store holds; creating one more is refused.
    pub max_topics: u32,
    /// The most partitions one topic may have; creating or growing a topic past it is refused.
    pub max_partitions_per_topic: u32,
}

/// The default of [`StoreLimits::max_topics`] (and of the broker's `--max-topics`).
pub const DEFAULT_MAX_TOPICS: u32 = 10_000;

/// The default of [`StoreLimits::max_partitions_per_topic`] (and of the broker's
/// `--max-partitions-per-topic`).
pub const DEFAULT_MAX_PARTITIONS_PER_TOPIC: u32 = 10_000;

impl Default for StoreLimits {
    /// No retention limit and no memory cap (the default topic and partition
    /// limits still apply): what the in-process Rust API gives
    /// unless told otherwise. The broker's own defaults are in `BrokerConfig`.
    fn default() -> Self {
        StoreLimits {
            retention_bytes: None,
            retention_ms: None,
            max_memory: u64::MAX,
            memory_policy: MemoryPolicy::Refuse,
            max_topics: DEFAULT_MAX_TOPICS,
            max_partitions_per_topic: DEFAULT_MAX_PARTITIONS_PER_TOPIC,
        }
    }
}

/// What was dropped from the head of partitions.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Dropped {
    /// Whole batches dropped.
    pub batches: u64,
    /// The records they held.
    pub records: u64,
    /// The bytes they took.
    pub bytes: u64,
}

impl Dropped {
    /// Adds `other` to these counts.
    pub(crate) fn add(&mut self, other: Dropped) {
        self.batches += other.batches;
        self.records += other.records;
        self.bytes += other.bytes;
    }
}

/// The store's memory, as `/stats` serves it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct MemoryStats {
    /// Bytes all stored batches take now.
    pub used_bytes: u64,
    /// The cap (`max_memory`).
    pub max_bytes: u64,
    /// What happens at the cap.
    pub policy: &'static str,
    /// Appends refused at the cap (`refuse`).
    pub refused_batches: u64,
    /// Batches dropped to make room (`drop-oldest`).
    pub evicted: Dropped,
    /// Batches dropped by `retention_bytes` and `retention_ms`.
    pub retention: Dropped,
}

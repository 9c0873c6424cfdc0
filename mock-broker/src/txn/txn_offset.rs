//! Consumer offsets a transaction commits (TxnOffsetCommit), held until it ends.

use std::collections::BTreeMap;

use super::topic_partition::TopicPartition;

/// One offset committed inside a transaction for one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxnOffset {
    /// The next offset the group will read.
    pub(crate) offset: i64,
    /// The leader epoch of the last consumed record, or -1.
    pub(crate) leader_epoch: i32,
    /// The client's metadata string.
    pub(crate) metadata: Option<String>,
    /// When the TxnOffsetCommit arrived (ms since the epoch).
    pub(crate) commit_timestamp_ms: i64,
}

/// A group's offsets committed by one transaction, the latest per partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupOffsets {
    /// The consumer group.
    pub(crate) group_id: String,
    /// The offsets, by partition.
    pub(crate) offsets: BTreeMap<TopicPartition, TxnOffset>,
}

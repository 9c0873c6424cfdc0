//! One transactional id as DescribeTransactions (and the admin API) shows it.

use super::topic_partition::TopicPartition;
use super::txn_state::TxnState;

/// A transactional id's metadata at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TxnDescription {
    /// The transactional id.
    pub(crate) transactional_id: String,
    /// Its state; `state.name()` is what DescribeTransactions answers.
    pub(crate) state: TxnState,
    /// The current producer id.
    pub(crate) producer_id: i64,
    /// The current producer epoch.
    pub(crate) producer_epoch: i16,
    /// The transaction timeout the producer asked for.
    pub(crate) timeout_ms: i32,
    /// When the current (or last) transaction started, or -1 if none has.
    pub(crate) start_ms: i64,
    /// The partitions in the transaction, in order (empty once it completed).
    pub(crate) partitions: Vec<TopicPartition>,
    /// The consumer groups added with AddOffsetsToTxn (not in Kafka's answer,
    /// which shows their `__consumer_offsets` partitions instead).
    pub(crate) groups: Vec<String>,
}

impl TxnDescription {
    /// The partitions grouped by topic, as DescribeTransactions lists them.
    pub(crate) fn topics(&self) -> Vec<(String, Vec<i32>)> {
        let mut topics: Vec<(String, Vec<i32>)> = Vec::new();
        for tp in &self.partitions {
            match topics.last_mut() {
                Some((topic, partitions)) if *topic == tp.topic => partitions.push(tp.partition),
                _ => topics.push((tp.topic.clone(), vec![tp.partition])),
            }
        }
        topics
    }
}

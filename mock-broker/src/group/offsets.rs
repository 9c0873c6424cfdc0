//! A group's committed offsets, by topic and partition.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;

use super::requests::OffsetToCommit;

/// One partition's committed offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommittedOffset {
    /// The offset of the next record to consume.
    pub(crate) offset: i64,
    /// The leader epoch the client gave, -1 if none.
    pub(crate) leader_epoch: i32,
    /// The client's metadata ("" when it sent null).
    pub(crate) metadata: String,
    /// When it was committed, in ms since the epoch.
    pub(crate) commit_timestamp_ms: i64,
}

/// One partition's answer in OffsetFetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FetchedOffset {
    /// Topic name.
    pub(crate) topic: String,
    /// Partition index.
    pub(crate) partition: i32,
    /// The committed offset, -1 when none.
    pub(crate) offset: i64,
    /// Its leader epoch, -1 when none.
    pub(crate) leader_epoch: i32,
    /// Its metadata, "" when none.
    pub(crate) metadata: String,
}

/// One partition's outcome in OffsetCommit or OffsetDelete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PartitionResult {
    /// Topic name.
    pub(crate) topic: String,
    /// Partition index.
    pub(crate) partition: i32,
    /// The error, `None` for success.
    pub(crate) error: Option<ResponseError>,
}

/// The committed offsets of one group.
#[derive(Debug, Clone, Default)]
pub(crate) struct Offsets {
    by_partition: BTreeMap<(String, i32), CommittedOffset>,
}

impl Offsets {
    /// Records a commit, replacing the partition's previous one.
    pub(crate) fn commit(&mut self, topic: &str, partition: i32, committed: CommittedOffset) {
        self.by_partition
            .insert((topic.to_owned(), partition), committed);
    }

    /// Records each offset of a commit whose metadata fits in `max_metadata_bytes`
    /// (OFFSET_METADATA_TOO_LARGE for the others); one result per offset, in order.
    pub(crate) fn commit_all(
        &mut self,
        offsets: &[OffsetToCommit],
        max_metadata_bytes: usize,
        now_ms: i64,
    ) -> Vec<PartitionResult> {
        offsets
            .iter()
            .map(|o| {
                let metadata = o.metadata.clone().unwrap_or_default();
                let error = if metadata.len() > max_metadata_bytes {
                    Some(ResponseError::OffsetMetadataTooLarge)
                } else {
                    let committed = CommittedOffset {
                        offset: o.offset,
                        leader_epoch: o.leader_epoch,
                        metadata,
                        commit_timestamp_ms: now_ms,
                    };
                    self.commit(&o.topic, o.partition, committed);
                    None
                };
                PartitionResult {
                    topic: o.topic.clone(),
                    partition: o.partition,
                    error,
                }
            })
            .collect()
    }

    /// The committed offset of one partition.
    pub(crate) fn get(&self, topic: &str, partition: i32) -> Option<&CommittedOffset> {
        self.by_partition.get(&(topic.to_owned(), partition))
    }

    /// Every committed offset, by topic then partition.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, i32, &CommittedOffset)> {
        self.by_partition
            .iter()
            .map(|((topic, partition), committed)| (topic.as_str(), *partition, committed))
    }

    /// Forgets one partition's offset.
    pub(crate) fn remove(&mut self, topic: &str, partition: i32) {
        self.by_partition.remove(&(topic.to_owned(), partition));
    }

    /// OffsetFetch's answer: the asked partitions (-1 for those without a commit), or all.
    pub(crate) fn fetch(&self, partitions: Option<&[(String, i32)]>) -> Vec<FetchedOffset> {
        let found =
            |topic: &str, partition: i32, committed: Option<&CommittedOffset>| FetchedOffset {
                topic: topic.to_owned(),
                partition,
                offset: committed.map_or(-1, |c| c.offset),
                leader_epoch: committed.map_or(-1, |c| c.leader_epoch),
                metadata: committed.map(|c| c.metadata.clone()).unwrap_or_default(),
            };
        match partitions {
            Some(partitions) => partitions
                .iter()
                .map(|(topic, partition)| found(topic, *partition, self.get(topic, *partition)))
                .collect(),
            None => self
                .iter()
                .map(|(topic, partition, committed)| found(topic, partition, Some(committed)))
                .collect(),
        }
    }
}

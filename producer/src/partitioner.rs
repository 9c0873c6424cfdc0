//! Choosing a record's partition: by key hash, or for keyless records sticky or round-robin.

use std::sync::atomic::{AtomicU32, Ordering};

use serde::{Deserialize, Serialize};

use protocol::key_hash::partition_for_key;
pub use protocol::key_hash::{murmur2, murmur2_partition};

/// How keyed records are spread over partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyHash {
    /// FNV-1a-64 of the key (the project's default; what the mock broker uses too).
    #[default]
    Fnv1a,
    /// Murmur2, as the Java client's default partitioner and librdkafka's `murmur2`.
    Murmur2,
}

/// How keyless records are spread over partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeylessStrategy {
    /// Stay on one partition until a batch is sent, then move on (Java ≥ 2.4, KIP-480).
    #[default]
    Sticky,
    /// Each record to the next partition.
    RoundRobin,
}

/// Picks partitions for one topic.
#[derive(Debug)]
pub struct Partitioner {
    key_hash: KeyHash,
    keyless: KeylessStrategy,
    /// The sticky partition, or the next round-robin one.
    cursor: AtomicU32,
}

impl Partitioner {
    /// A partitioner with these strategies; keyless records start at `start`.
    pub fn new(key_hash: KeyHash, keyless: KeylessStrategy, start: u32) -> Self {
        Partitioner {
            key_hash,
            keyless,
            cursor: AtomicU32::new(start),
        }
    }

    /// The partition for a record with `key` in a topic of `partitions` partitions.
    ///
    /// # Panics
    /// If `partitions` is 0.
    pub fn partition(&self, key: Option<&[u8]>, partitions: u32) -> u32 {
        match (key, self.keyless) {
            (Some(key), _) => match self.key_hash {
                KeyHash::Fnv1a => partition_for_key(key, partitions),
                KeyHash::Murmur2 => murmur2_partition(key, partitions),
            },
            (None, KeylessStrategy::Sticky) => self.cursor.load(Ordering::Relaxed) % partitions,
            (None, KeylessStrategy::RoundRobin) => {
                self.cursor.fetch_add(1, Ordering::Relaxed) % partitions
            }
        }
    }

    /// Tells a sticky partitioner that a batch of `partition` (of `partitions`)
    /// was closed; returns whether that moved it on to the next partition.
    pub fn batch_sent(&self, partition: u32, partitions: u32) -> bool {
        self.keyless == KeylessStrategy::Sticky
            && partitions > 0
            // Only a batch of the current sticky partition moves it on, once.
            && self
                .cursor
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |cursor| {
                    (cursor % partitions == partition)
                        .then(|| (cursor % partitions).wrapping_add(1))
                })
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_records_follow_the_chosen_hash() {
        let fnv = Partitioner::new(KeyHash::Fnv1a, KeylessStrategy::Sticky, 0);
        let java = Partitioner::new(KeyHash::Murmur2, KeylessStrategy::Sticky, 0);
        assert_eq!(
            fnv.partition(Some(b"foobar"), 7),
            partition_for_key(b"foobar", 7)
        );
        assert_eq!(
            java.partition(Some(b"foobar"), 7),
            (-790_332_482i32 & 0x7FFF_FFFF) as u32 % 7
        );
    }

    #[test]
    fn sticky_stays_until_its_batch_is_sent() {
        let p = Partitioner::new(KeyHash::Fnv1a, KeylessStrategy::Sticky, 1);
        assert_eq!([p.partition(None, 3), p.partition(None, 3)], [1, 1]);
        p.batch_sent(1, 3);
        p.batch_sent(1, 3); // a second report of the same batch changes nothing
        assert_eq!(p.partition(None, 3), 2);
        p.batch_sent(0, 3); // not the sticky partition
        assert_eq!(p.partition(None, 3), 2);
        // It keeps cycling past the last partition.
        let mut seen = Vec::new();
        for _ in 0..4 {
            let current = p.partition(None, 3);
            seen.push(current);
            p.batch_sent(current, 3);
        }
        assert_eq!(seen, vec![2, 0, 1, 2]);
    }

    #[test]
    fn round_robin_moves_every_record() {
        let p = Partitioner::new(KeyHash::Fnv1a, KeylessStrategy::RoundRobin, 0);
        let picks: Vec<u32> = (0..4).map(|_| p.partition(None, 3)).collect();
        assert_eq!(picks, vec![0, 1, 2, 0]);
    }
}

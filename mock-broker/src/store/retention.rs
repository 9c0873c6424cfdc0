//! How much the store keeps: Kafka's `retention.bytes` and `retention.ms` per
//! partition, and a cap on the memory of everything stored.
//!
//! Retention drops whole batches from the head of a partition and moves its
//! log start offset, as Kafka deletes whole segments. The memory cap counts
//! the bytes every stored batch holds (each batch owns its bytes: nothing of a
//! connection's read buffer is kept), and past it either refuses the append
//! (`refuse`: the producer is told KAFKA_STORAGE_ERROR, nothing acknowledged is
//! lost) or drops the oldest batches of the whole broker to make room
//! (`drop-oldest`). Either is counted and logged once.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

use super::limits::{Dropped, MemoryPolicy, MemoryStats, StoreLimits};
use super::partition_log::PartitionLog;
use super::topic_config::SharedConfig;

/// The limits in force, what the store holds, and every partition, so that
/// room can be made anywhere; shared by every topic of a store.
#[derive(Debug)]
pub(crate) struct Retention {
    limits: StoreLimits,
    used: AtomicU64,
    refused: AtomicU64,
    counts: Mutex<(Dropped, Dropped)>,
    full_logged: AtomicBool,
    /// Every partition, with its topic's configuration (per-topic retention).
    partitions: Mutex<Vec<Registered>>,
}

/// A partition retention tracks, and its topic's configuration; neither kept alive by it.
type Registered = (Weak<Mutex<PartitionLog>>, Weak<SharedConfig>);

/// An append the memory cap does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MemoryFull {
    /// Bytes in use.
    pub(crate) used: u64,
    /// The bytes the append needs.
    pub(crate) needed: u64,
    /// The cap.
    pub(crate) max: u64,
}

impl Retention {
    /// Limits for a new store.
    pub(crate) fn new(limits: StoreLimits) -> Retention {
        Retention {
            limits,
            used: AtomicU64::new(0),
            refused: AtomicU64::new(0),
            counts: Mutex::default(),
            full_logged: AtomicBool::new(false),
            partitions: Mutex::new(Vec::new()),
        }
    }

    /// The limits in force.
    pub(crate) fn limits(&self) -> &StoreLimits {
        &self.limits
    }

    /// Tracks a new partition of a topic configured by `config`, so that
    /// room can be made in it and retention swept.
    pub(crate) fn register(
        &self,
        partition: &Arc<Mutex<PartitionLog>>,
        config: &Arc<SharedConfig>,
    ) {
        let mut partitions = self.partitions.lock().expect("retention lock");
        partitions.retain(|(p, _)| p.strong_count() > 0);
        partitions.push((Arc::downgrade(partition), Arc::downgrade(config)));
    }

    /// Takes `bytes` of the memory cap for an append, first making room under
    /// `drop-oldest`; call before locking the partition appended to.
    ///
    /// # Errors
    /// [`MemoryFull`] when the append does not fit (under `refuse`, or a batch
    /// larger than the whole cap); nothing is taken then.
    pub(crate) fn admit(&self, bytes: u64) -> Result<(), MemoryFull> {
        loop {
            let used = self.used.load(Ordering::Acquire);
            let fits = used
                .checked_add(bytes)
                .is_some_and(|total| total <= self.limits.max_memory);
            if fits {
                if self
                    .used
                    .compare_exchange(used, used + bytes, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return Ok(());
                }
                continue;
            }
            let full = MemoryFull {
                used,
                needed: bytes,
                max: self.limits.max_memory,
            };
            if self.limits.memory_policy == MemoryPolicy::DropOldest
                && bytes <= self.limits.max_memory
                && self.evict_oldest()
            {
                continue;
            }
            self.refused.fetch_add(1, Ordering::Relaxed);
            if !self.full_logged.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    used = full.used,
                    needed = full.needed,
                    max_memory = full.max,
                    "the store is at max_memory: appends are refused (logged once; see /stats)"
                );
            }
            return Err(full);
        }
    }

    /// Gives back memory an append took but did not use (it failed).
    pub(crate) fn release(&self, bytes: u64) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }

    /// Counts batches dropped by retention, and gives back their memory.
    pub(crate) fn retained(&self, dropped: Dropped) {
        if dropped.batches > 0 {
            self.release(dropped.bytes);
            self.counts.lock().expect("retention lock").1.add(dropped);
        }
    }

    /// Gives back the memory of batches deleted on request (DeleteRecords), which retention does not count.
    pub(crate) fn deleted(&self, dropped: Dropped) {
        self.release(dropped.bytes);
    }

    /// Drops the oldest batch of the store (the partition head received
    /// first); false when nothing is left to drop.
    fn evict_oldest(&self) -> bool {
        let partitions: Vec<Arc<Mutex<PartitionLog>>> = self
            .partitions
            .lock()
            .expect("retention lock")
            .iter()
            .filter_map(|(p, _)| p.upgrade())
            .collect();
        let oldest = partitions
            .iter()
            .filter_map(|p| {
                let log = p.lock().expect("partition lock");
                log.head_receive_time().map(|t| (t, p))
            })
            .min_by_key(|(t, _)| *t);
        let Some((_, partition)) = oldest else {
            return false;
        };
        let dropped = partition.lock().expect("partition lock").drop_head(1);
        if dropped.batches == 0 {
            // Another append emptied it meanwhile: look again.
            return true;
        }
        self.release(dropped.bytes);
        let mut counts = self.counts.lock().expect("retention lock");
        counts.0.add(dropped);
        if counts.0.batches == 1 {
            tracing::warn!(
                max_memory = self.limits.max_memory,
                "the store is at max_memory: the oldest batches are dropped to make room (logged once; see /stats)"
            );
        }
        true
    }

    /// Applies retention to every partition at `now_ms`, each with its topic's limits.
    pub(crate) fn sweep(&self, now_ms: i64) {
        let partitions: Vec<(Arc<Mutex<PartitionLog>>, Arc<SharedConfig>)> = self
            .partitions
            .lock()
            .expect("retention lock")
            .iter()
            .filter_map(|(p, c)| Some((p.upgrade()?, c.upgrade()?)))
            .collect();
        for (partition, config) in partitions {
            let limits = config.get().limits(&self.limits);
            let dropped = partition
                .lock()
                .expect("partition lock")
                .apply_retention(&limits, now_ms);
            self.retained(dropped);
        }
    }

    /// The memory counters.
    pub(crate) fn stats(&self) -> MemoryStats {
        let (evicted, retention) = *self.counts.lock().expect("retention lock");
        MemoryStats {
            used_bytes: self.used.load(Ordering::Acquire),
            max_bytes: self.limits.max_memory,
            policy: self.limits.memory_policy.name(),
            refused_batches: self.refused.load(Ordering::Relaxed),
            evicted,
            retention,
        }
    }
}

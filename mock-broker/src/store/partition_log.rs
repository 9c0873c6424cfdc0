//! One partition's log: its entries (a batch each) in offset order, indexed by
//! base offset, the offset the next record will get, and the log start offset
//! that retention moves.

use std::collections::VecDeque;

use super::limits::{Dropped, StoreLimits};
use super::log_entry::LogEntry;
use super::stored_record::StoredRecord;
use super::txn_index::{AbortedTxn, TxnIndex};

/// One partition's entries.
#[derive(Debug, Default)]
pub(crate) struct PartitionLog {
    entries: VecDeque<LogEntry>,
    next_offset: i64,
    /// The first offset still kept; moves when batches are dropped from the head.
    start_offset: i64,
    /// The memory the entries take, as the store's cap counts it.
    bytes: u64,
    /// Each leader epoch stamped on the log's batches, with the offset it
    /// starts at, ascending (Kafka's leader epoch cache).
    epochs: Vec<(i32, i64)>,
    /// Open and aborted transactions, for `read_committed` readers.
    txn: TxnIndex,
}

impl PartitionLog {
    /// The first offset still kept (Kafka's log start offset): 0 until
    /// retention drops batches (then the offset after the last one dropped)
    /// or records are deleted (then the offset deleted up to).
    pub(crate) fn start_offset(&self) -> i64 {
        self.start_offset
    }

    /// The memory the entries take.
    pub(crate) fn bytes(&self) -> u64 {
        self.bytes
    }

    /// When the oldest kept batch was received, if any is kept.
    pub(crate) fn head_receive_time(&self) -> Option<i64> {
        self.entries.front().map(|e| e.receive_time)
    }

    /// Drops up to `count` batches from the head, moving the log start offset.
    pub(crate) fn drop_head(&mut self, count: usize) -> Dropped {
        let mut dropped = Dropped::default();
        for _ in 0..count {
            let Some(entry) = self.entries.pop_front() else {
                break;
            };
            let memory = entry.memory();
            self.bytes -= memory;
            self.start_offset = entry.next_offset();
            dropped.add(Dropped {
                batches: 1,
                records: u64::from(entry.record_count),
                bytes: memory,
            });
        }
        self.txn.drop_before(self.start_offset);
        dropped
    }

    /// Moves the log start offset up to `offset` (Kafka's DeleteRecords),
    /// dropping the batches wholly before it; a batch `offset` falls inside
    /// stays, its records before `offset` no longer readable. `offset` must
    /// not be past [`PartitionLog::next_offset`].
    pub(crate) fn delete_before(&mut self, offset: i64) -> Dropped {
        debug_assert!(offset <= self.next_offset, "delete past the end");
        let whole = self
            .entries
            .iter()
            .take_while(|entry| entry.next_offset() <= offset)
            .count();
        let dropped = self.drop_head(whole);
        self.start_offset = self.start_offset.max(offset);
        self.txn.drop_before(self.start_offset);
        dropped
    }

    /// Drops the batches `limits` no longer keep at `now_ms`: every batch
    /// received `retention_ms` ago or earlier, then the oldest while the
    /// partition takes more than `retention_bytes` (the newest batch stays).
    pub(crate) fn apply_retention(&mut self, limits: &StoreLimits, now_ms: i64) -> Dropped {
        let mut dropped = Dropped::default();
        if let Some(ms) = limits.retention_ms {
            let expired = self
                .entries
                .iter()
                .take_while(|e| e.receive_time.saturating_add(ms) <= now_ms)
                .count();
            dropped.add(self.drop_head(expired));
        }
        if let Some(max) = limits.retention_bytes {
            while self.bytes > max && self.entries.len() > 1 {
                dropped.add(self.drop_head(1));
            }
        }
        dropped
    }

    /// The end offset of leader epoch `requested` as Kafka's
    /// OffsetForLeaderEpoch answers it, with `current` the partition's leader
    /// epoch now: for the current epoch, the log end offset; for an older
    /// one, the start offset of the first later epoch the log has seen,
    /// paired with the largest epoch at or below `requested`; (-1, -1)
    /// (UNDEFINED) for an epoch later than the current one.
    pub(crate) fn end_offset_for(&self, requested: i32, current: i32) -> (i32, i64) {
        const UNDEFINED: (i32, i64) = (-1, -1);
        if requested < 0 || requested > current {
            return UNDEFINED;
        }
        if requested == current {
            return (current, self.next_offset);
        }
        // The current epoch starts where its first batch is, or at the log
        // end when none was written in it yet.
        let mut epochs = self.epochs.clone();
        if epochs.last().is_none_or(|&(last, _)| current > last) {
            epochs.push((current, self.next_offset));
        }
        let Some(&(_, higher_start)) = epochs.iter().find(|&&(epoch, _)| epoch > requested) else {
            return UNDEFINED;
        };
        match epochs.iter().rev().find(|&&(epoch, _)| epoch <= requested) {
            Some(&(floor, _)) => (floor, higher_start),
            None => (requested, higher_start),
        }
    }

    /// The offset the next record will get (the number of records so far).
    pub(crate) fn next_offset(&self) -> i64 {
        self.next_offset
    }

    /// Appends `entry`, which must start at [`PartitionLog::next_offset`].
    pub(crate) fn push(&mut self, entry: LogEntry) {
        debug_assert_eq!(entry.base_offset, self.next_offset, "entries are dense");
        let epoch = entry.leader_epoch();
        if self.epochs.last().is_none_or(|&(last, _)| epoch > last) {
            self.epochs.push((epoch, entry.base_offset));
        }
        self.next_offset = entry.next_offset();
        self.bytes += entry.memory();
        if let Some((producer_id, _, _)) = entry.producer.filter(|_| entry.transactional) {
            match entry.control {
                Some(commit) => self.txn.marker(producer_id, entry.base_offset, commit),
                None => self.txn.data(producer_id, entry.base_offset),
            }
        }
        self.entries.push_back(entry);
    }

    /// The last stable offset: the first offset of the earliest open
    /// transaction, else the high watermark (never below the log start).
    pub(crate) fn last_stable_offset(&self) -> i64 {
        self.txn
            .first_unstable()
            .map_or(self.next_offset, |first| first.max(self.start_offset))
    }

    /// The aborted transactions overlapping `[from, to)`.
    pub(crate) fn aborted_overlapping(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.txn.aborted_overlapping(from, to)
    }

    /// The index of the entry holding `offset`, or of the first entry after it.
    fn position(&self, offset: i64) -> usize {
        self.entries.partition_point(|e| e.next_offset() <= offset)
    }

    /// Up to `limit` records from offset `from` (or the log start, if later),
    /// in offset order; control records (transaction markers) only if
    /// `include_control`. A transactional record says how its transaction
    /// stands now.
    pub(crate) fn read(
        &self,
        partition: u32,
        from: i64,
        limit: usize,
        include_control: bool,
    ) -> Vec<StoredRecord> {
        let from = from.max(self.start_offset);
        let mut records = Vec::new();
        for entry in self.entries.range(self.position(from)..) {
            if records.len() >= limit {
                break;
            }
            if entry.control.is_some() && !include_control {
                continue;
            }
            let mut decoded = entry.records_from(partition, from);
            decoded.truncate(limit - records.len());
            if let Some((producer_id, _, _)) = entry.producer.filter(|_| entry.transactional) {
                for record in decoded.iter_mut().filter(|r| !r.control) {
                    record.transaction = Some(self.txn.state_of(producer_id, record.offset));
                }
            }
            records.append(&mut decoded);
        }
        records
    }

    /// Every record, in offset order.
    pub(crate) fn read_all(&self, partition: u32) -> Vec<StoredRecord> {
        self.read(partition, 0, usize::MAX, false)
    }

    /// The entries from the one holding `from` on: at least one (when there is
    /// any) if `min_one`, then whole entries while their bytes fit in `budget`.
    /// `size` says how many bytes an entry takes in a response.
    #[cfg(test)]
    pub(crate) fn entries_from(
        &self,
        from: i64,
        budget: usize,
        min_one: bool,
        size: impl Fn(&LogEntry) -> usize,
    ) -> (Vec<LogEntry>, usize) {
        self.entries_between(from, i64::MAX, budget, min_one, size)
    }

    /// As [`PartitionLog::entries_from`], but only entries that start before
    /// `until` (a `read_committed` fetch stops at the last stable offset,
    /// which is always the start of a batch).
    pub(crate) fn entries_between(
        &self,
        from: i64,
        until: i64,
        budget: usize,
        min_one: bool,
        size: impl Fn(&LogEntry) -> usize,
    ) -> (Vec<LogEntry>, usize) {
        let mut taken = Vec::new();
        let mut used = 0usize;
        for entry in self.entries.range(self.position(from)..) {
            if entry.base_offset >= until {
                break;
            }
            let len = size(entry);
            let first = taken.is_empty() && min_one;
            if !first && used + len > budget {
                break;
            }
            used += len;
            taken.push(entry.clone());
        }
        (taken, used)
    }

    /// The first record stamped at or after `timestamp`, as (timestamp, offset).
    pub(crate) fn offset_for_timestamp(&self, timestamp: i64) -> Option<(i64, i64)> {
        self.entries
            .iter()
            .find_map(|entry| entry.first_at_or_after(timestamp))
    }

    /// The first record with the largest timestamp, as (timestamp, offset).
    pub(crate) fn max_timestamp(&self) -> Option<(i64, i64)> {
        // The first entry with the largest timestamp, as Kafka answers (a later
        // tie does not move it; `max_by_key` would return the last one).
        self.entries
            .iter()
            .map(|e| e.max_timestamp)
            .fold(None, |best, candidate| match best {
                Some((max, _)) if max >= candidate.0 => best,
                _ => Some(candidate),
            })
    }
}

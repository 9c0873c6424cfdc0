//! One partition's transactions as the log sees them: which producers have a
//! transaction open (and from which offset), and which transactions were
//! aborted, so that `read_committed` readers stop at the last stable offset
//! and know which records to drop.
//!
//! Kafka's `ProducerStateManager` (ongoing transactions) and its aborted
//! transaction index (`.txnindex`), kept in memory: a transactional batch opens
//! its producer's transaction at its base offset unless one is open already; a
//! control batch (a COMMIT or ABORT marker) closes it, and an abort is indexed
//! as (producer id, first offset, offset of the marker).

use std::collections::{BTreeMap, VecDeque};

/// An aborted transaction of one producer on one partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct AbortedTxn {
    /// The producer whose transaction was aborted.
    pub(crate) producer_id: i64,
    /// The offset of its first record in this partition.
    pub(crate) first_offset: i64,
    /// The offset of the ABORT marker that ended it.
    pub(crate) last_offset: i64,
}

/// How a transactional record stands, as readers see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnRecordState {
    /// Its transaction has not ended yet.
    Open,
    /// Its transaction committed.
    Committed,
    /// Its transaction aborted: `read_committed` consumers drop it.
    Aborted,
}

impl TxnRecordState {
    /// The state's name in the admin API and record file: `open`, `committed`, `aborted`.
    pub fn name(self) -> &'static str {
        match self {
            TxnRecordState::Open => "open",
            TxnRecordState::Committed => "committed",
            TxnRecordState::Aborted => "aborted",
        }
    }
}

/// One partition's open and aborted transactions.
#[derive(Debug, Default)]
pub(crate) struct TxnIndex {
    /// Producer id → the first offset of its open transaction.
    open: BTreeMap<i64, i64>,
    /// Aborted transactions, in the order of their markers (so by `last_offset`).
    aborted: VecDeque<AbortedTxn>,
}

impl TxnIndex {
    /// A transactional data batch of `producer_id` appended at `base_offset`.
    pub(crate) fn data(&mut self, producer_id: i64, base_offset: i64) {
        self.open.entry(producer_id).or_insert(base_offset);
    }

    /// A marker of `producer_id` appended at `offset`: its open transaction ends
    /// (an abort is indexed). A marker with nothing open changes nothing.
    pub(crate) fn marker(&mut self, producer_id: i64, offset: i64, commit: bool) {
        let Some(first_offset) = self.open.remove(&producer_id) else {
            return;
        };
        if !commit {
            self.aborted.push_back(AbortedTxn {
                producer_id,
                first_offset,
                last_offset: offset,
            });
        }
    }

    /// The first offset of the earliest open transaction, if any: the last
    /// stable offset, unless nothing is open (then it is the high watermark).
    pub(crate) fn first_unstable(&self) -> Option<i64> {
        self.open.values().copied().min()
    }

    /// The aborted transactions whose records overlap `[from, to)`, in marker
    /// order: what a `read_committed` Fetch of that range lists.
    pub(crate) fn aborted_overlapping(&self, from: i64, to: i64) -> Vec<AbortedTxn> {
        self.aborted
            .iter()
            .filter(|a| a.last_offset >= from && a.first_offset < to)
            .copied()
            .collect()
    }

    /// How the record of `producer_id` at `offset` (from a transactional
    /// batch) stands.
    pub(crate) fn state_of(&self, producer_id: i64, offset: i64) -> TxnRecordState {
        if self
            .open
            .get(&producer_id)
            .is_some_and(|&first| offset >= first)
        {
            return TxnRecordState::Open;
        }
        let aborted = self.aborted.iter().any(|a| {
            a.producer_id == producer_id && a.first_offset <= offset && offset <= a.last_offset
        });
        if aborted {
            TxnRecordState::Aborted
        } else {
            TxnRecordState::Committed
        }
    }

    /// Forgets the aborted transactions wholly before `start_offset` (the log
    /// start offset moved past their markers).
    pub(crate) fn drop_before(&mut self, start_offset: i64) {
        while self
            .aborted
            .front()
            .is_some_and(|a| a.last_offset < start_offset)
        {
            self.aborted.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earliest_open_transaction_bounds_the_stable_offsets() {
        let mut index = TxnIndex::default();
        assert_eq!(index.first_unstable(), None);
        index.data(7, 3);
        index.data(8, 5);
        index.data(7, 6);
        assert_eq!(index.first_unstable(), Some(3));
        index.marker(7, 9, true);
        assert_eq!(index.first_unstable(), Some(5));
        index.marker(8, 10, false);
        assert_eq!(index.first_unstable(), None);
    }

    #[test]
    fn aborts_are_indexed_and_records_read_their_outcome() {
        let mut index = TxnIndex::default();
        index.data(7, 0);
        index.marker(7, 2, false);
        index.data(7, 3);
        index.marker(7, 4, true);
        index.data(7, 5);
        assert_eq!(index.state_of(7, 1), TxnRecordState::Aborted);
        assert_eq!(index.state_of(7, 3), TxnRecordState::Committed);
        assert_eq!(index.state_of(7, 5), TxnRecordState::Open);
        assert_eq!(
            index.aborted_overlapping(2, 10),
            vec![AbortedTxn {
                producer_id: 7,
                first_offset: 0,
                last_offset: 2
            }]
        );
        assert!(index.aborted_overlapping(3, 10).is_empty());
        assert!(index.aborted_overlapping(0, 0).is_empty());
    }

    #[test]
    fn retention_drops_only_aborts_wholly_before_the_log_start() {
        let mut index = TxnIndex::default();
        index.data(1, 0);
        index.marker(1, 2, false);
        index.data(1, 3);
        index.marker(1, 5, false);
        index.drop_before(3);
        assert_eq!(index.aborted_overlapping(0, 10).len(), 1);
        index.drop_before(5);
        assert_eq!(
            index.aborted_overlapping(0, 10).len(),
            1,
            "marker at 5 kept"
        );
        index.drop_before(6);
        assert!(index.aborted_overlapping(0, 10).is_empty());
    }

    #[test]
    fn a_marker_with_nothing_open_is_ignored() {
        let mut index = TxnIndex::default();
        index.marker(3, 0, false);
        assert!(index.aborted_overlapping(0, 10).is_empty());
        assert_eq!(index.first_unstable(), None);
    }
}

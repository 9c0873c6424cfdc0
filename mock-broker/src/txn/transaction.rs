//! One transactional id's metadata and the transitions its requests make.
//!
//! Kafka's `TransactionMetadata`, without the transaction log: a transition
//! that Kafka prepares, appends to `__transaction_state` and then completes
//! happens here at once. Callers check the producer id, epoch and state first
//! (`coordinator.rs`, `end_rules.rs`); these methods only move the state.

use std::collections::{BTreeMap, BTreeSet};

use kafka_protocol::ResponseError;

use super::completion::Completion;
use super::description::TxnDescription;
use super::marker::Marker;
use super::producer_identity::{
    NO_PRODUCER_EPOCH, NO_PRODUCER_ID, ProducerIdAndEpoch, is_epoch_exhausted,
};
use super::topic_partition::TopicPartition;
use super::txn_offset::{GroupOffsets, TxnOffset};
use super::txn_state::TxnState;

/// The coordinator's record of one transactional id.
#[derive(Debug, Clone)]
pub(crate) struct Transaction {
    transactional_id: String,
    producer_id: i64,
    /// The producer id before the last InitProducerId or rotation, for KIP-360
    /// retries and KIP-890 EndTxn retries across a rotation.
    previous_producer_id: i64,
    /// KIP-890: the id a PrepareCommit/PrepareAbort at an exhausted epoch moves
    /// to once its markers are written; else [`NO_PRODUCER_ID`].
    next_producer_id: i64,
    epoch: i16,
    /// The epoch before the last bump a producer asked for (a KIP-360 retry of
    /// that InitProducerId is answered with the current epoch); -1 after a fence.
    last_epoch: i16,
    timeout_ms: i32,
    state: TxnState,
    partitions: BTreeSet<TopicPartition>,
    /// Groups added with AddOffsetsToTxn and the offsets committed for each.
    groups: BTreeMap<String, BTreeMap<TopicPartition, TxnOffset>>,
    /// When the transaction started (first add), or -1.
    start_ms: i64,
    last_update_ms: i64,
}

impl Transaction {
    /// A transactional id seen for the first time, holding `producer_id` but no
    /// epoch yet: the InitProducerId that created it bumps -1 to 0.
    pub(crate) fn new(
        transactional_id: &str,
        producer_id: i64,
        timeout_ms: i32,
        now_ms: i64,
    ) -> Transaction {
        Transaction {
            transactional_id: transactional_id.to_owned(),
            producer_id,
            previous_producer_id: NO_PRODUCER_ID,
            next_producer_id: NO_PRODUCER_ID,
            epoch: NO_PRODUCER_EPOCH,
            last_epoch: NO_PRODUCER_EPOCH,
            timeout_ms,
            state: TxnState::Empty,
            partitions: BTreeSet::new(),
            groups: BTreeMap::new(),
            start_ms: -1,
            last_update_ms: now_ms,
        }
    }

    /// The current state.
    pub(crate) fn state(&self) -> TxnState {
        self.state
    }

    /// The current producer id and epoch.
    pub(crate) fn producer(&self) -> ProducerIdAndEpoch {
        ProducerIdAndEpoch {
            producer_id: self.producer_id,
            epoch: self.epoch,
        }
    }

    /// The producer id before the last init or rotation.
    pub(crate) fn previous_producer_id(&self) -> i64 {
        self.previous_producer_id
    }

    /// When the current (or last) transaction started, or -1.
    pub(crate) fn start_ms(&self) -> i64 {
        self.start_ms
    }

    /// Whether `partition` was added to the open transaction.
    pub(crate) fn has_partition(&self, partition: &TopicPartition) -> bool {
        self.partitions.contains(partition)
    }

    /// Whether `group_id` was added to the open transaction.
    pub(crate) fn has_group(&self, group_id: &str) -> bool {
        self.groups.contains_key(group_id)
    }

    /// Whether the open transaction holds offsets for `group_id` not yet
    /// committed (Kafka's "unstable" offsets, KIP-447).
    #[cfg(test)]
    pub(crate) fn has_pending_offsets(&self, group_id: &str) -> bool {
        self.groups.get(group_id).is_some_and(|o| !o.is_empty())
    }

    /// The partitions of `group_id` the open transaction holds offsets for.
    pub(crate) fn pending_offsets(&self, group_id: &str) -> impl Iterator<Item = &TopicPartition> {
        self.groups.get(group_id).into_iter().flat_map(|o| o.keys())
    }

    /// When the open transaction times out: the first `now_ms` at which
    /// [`Transaction::is_timed_out`] holds (Kafka aborts once
    /// `start + timeout < now`).
    pub(crate) fn timeout_deadline_ms(&self) -> Option<i64> {
        (self.state == TxnState::Ongoing).then(|| self.start_ms + i64::from(self.timeout_ms) + 1)
    }

    /// Whether the open transaction has outlived its timeout at `now_ms`.
    pub(crate) fn is_timed_out(&self, now_ms: i64) -> bool {
        self.timeout_deadline_ms().is_some_and(|d| now_ms >= d)
    }

    /// When the id expires if left unused (only with no open transaction).
    pub(crate) fn expiry_deadline_ms(&self, expiration_ms: i64) -> Option<i64> {
        self.state
            .is_idle()
            .then(|| self.last_update_ms.saturating_add(expiration_ms))
    }

    /// The id as DescribeTransactions shows it.
    pub(crate) fn describe(&self) -> TxnDescription {
        TxnDescription {
            transactional_id: self.transactional_id.clone(),
            state: self.state,
            producer_id: self.producer_id,
            producer_epoch: self.epoch,
            timeout_ms: self.timeout_ms,
            start_ms: self.start_ms,
            partitions: self.partitions.iter().cloned().collect(),
            groups: self.groups.keys().cloned().collect(),
        }
    }

    /// Refuses a request whose producer id or epoch is not the current one,
    /// or that arrives while markers are being written.
    ///
    /// # Errors
    /// INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED or CONCURRENT_TRANSACTIONS, as Kafka.
    pub(crate) fn check_producer(&self, producer: ProducerIdAndEpoch) -> Result<(), ResponseError> {
        if producer.producer_id != self.producer_id {
            Err(ResponseError::InvalidProducerIdMapping)
        } else if producer.epoch != self.epoch {
            Err(ResponseError::ProducerFenced)
        } else if self.state.is_prepare() {
            Err(ResponseError::ConcurrentTransactions)
        } else {
            Ok(())
        }
    }

    /// Whether a KIP-360 InitProducerId naming `expected` may proceed: the id
    /// was just created, or `expected` names its current producer id, or the
    /// previous one at an exhausted epoch (a retry after a rotation).
    pub(crate) fn accepts_expected(&self, expected: ProducerIdAndEpoch) -> bool {
        self.epoch == NO_PRODUCER_EPOCH
            || expected.producer_id == self.producer_id
            || (expected.producer_id == self.previous_producer_id
                && is_epoch_exhausted(expected.epoch))
    }

    /// InitProducerId with no open transaction: bumps the epoch (fencing every
    /// older producer), or moves to a new producer id at epoch 0 when the epoch
    /// is exhausted. Returns the producer id the id had before, if it changed.
    ///
    /// # Errors
    /// PRODUCER_FENCED when `expected` (KIP-360) is neither the current epoch
    /// nor a retry of the last bump.
    pub(crate) fn reinit(
        &mut self,
        now_ms: i64,
        timeout_ms: i32,
        expected: Option<ProducerIdAndEpoch>,
        allocate_producer_id: &mut dyn FnMut() -> i64,
    ) -> Result<Option<i64>, ResponseError> {
        debug_assert!(self.state.is_idle());
        let old_id = self.producer_id;
        if is_epoch_exhausted(self.epoch) && expected.is_none_or(|e| e.epoch == self.epoch) {
            self.last_epoch = if expected.is_some() {
                self.epoch
            } else {
                NO_PRODUCER_EPOCH
            };
            self.producer_id = allocate_producer_id();
            self.epoch = 0;
        } else {
            let (epoch, last_epoch) = match expected {
                None => (self.epoch + 1, NO_PRODUCER_EPOCH),
                Some(e) if self.epoch == NO_PRODUCER_EPOCH || e.epoch == self.epoch => {
                    (self.epoch + 1, self.epoch)
                }
                // A retry of the InitProducerId that made the current epoch.
                Some(e) if e.epoch == self.last_epoch => (self.epoch, self.last_epoch),
                Some(_) => return Err(ResponseError::ProducerFenced),
            };
            if epoch != self.epoch && is_epoch_exhausted(self.epoch) {
                // Exhausted, and the producer is not the current one: it cannot be the one to rotate.
                return Err(ResponseError::ProducerFenced);
            }
            self.epoch = epoch;
            self.last_epoch = last_epoch;
        }
        self.previous_producer_id = old_id;
        self.next_producer_id = NO_PRODUCER_ID;
        self.timeout_ms = timeout_ms;
        self.state = TxnState::Empty;
        self.partitions.clear();
        self.groups.clear();
        self.start_ms = -1;
        self.last_update_ms = now_ms;
        Ok((self.producer_id != old_id).then_some(old_id))
    }

    /// Starts the transaction if none is open, so that an add joins it.
    fn begin(&mut self, now_ms: i64) {
        if self.state.is_idle() {
            self.start_ms = now_ms;
            self.partitions.clear();
            self.groups.clear();
        }
        self.state = TxnState::Ongoing;
        self.last_update_ms = now_ms;
    }

    /// AddPartitionsToTxn (or a KIP-890 implicit add): the partitions join the
    /// transaction, which starts if none is open.
    pub(crate) fn add_partitions(
        &mut self,
        now_ms: i64,
        partitions: impl IntoIterator<Item = TopicPartition>,
    ) {
        self.begin(now_ms);
        self.partitions.extend(partitions);
    }

    /// AddOffsetsToTxn: the group joins the transaction, which starts if none is open.
    pub(crate) fn add_group(&mut self, now_ms: i64, group_id: &str) {
        self.begin(now_ms);
        self.groups.entry(group_id.to_owned()).or_default();
    }

    /// TxnOffsetCommit: the offsets wait in the transaction (a later one for a
    /// partition replaces an earlier one) until it commits or aborts.
    pub(crate) fn stage_offsets(
        &mut self,
        now_ms: i64,
        group_id: &str,
        offsets: impl IntoIterator<Item = (TopicPartition, TxnOffset)>,
    ) {
        self.last_update_ms = now_ms;
        self.groups
            .entry(group_id.to_owned())
            .or_default()
            .extend(offsets);
    }

    /// EndTxn accepted: moves to PrepareCommit/PrepareAbort and says what to write.
    ///
    /// With `bump_epoch` (KIP-890) the epoch goes up by one, the markers carry
    /// the new epoch, and at an exhausted epoch the id moves to
    /// `next_producer_id` once the markers are written. From an idle state
    /// (a KIP-890 abort of an empty transaction) the transaction starts now and
    /// has nothing to mark.
    pub(crate) fn prepare_end(
        &mut self,
        now_ms: i64,
        commit: bool,
        bump_epoch: bool,
        next_producer_id: i64,
        coordinator_epoch: i32,
    ) -> Completion {
        debug_assert!(self.state == TxnState::Ongoing || (!commit && self.state.is_idle()));
        if self.state.is_idle() {
            self.start_ms = now_ms;
            self.partitions.clear();
            self.groups.clear();
        }
        if bump_epoch {
            self.last_epoch = self.epoch;
            self.epoch += 1;
            self.next_producer_id = next_producer_id;
        }
        self.state = if commit {
            TxnState::PrepareCommit
        } else {
            TxnState::PrepareAbort
        };
        self.last_update_ms = now_ms;
        self.completion(commit, coordinator_epoch)
    }

    /// Fences the producer of the open transaction and aborts it: what an
    /// InitProducerId during a transaction and a timeout do (Kafka's
    /// PrepareEpochFence, passed straight through to PrepareAbort). The
    /// epoch goes up by one only, whatever the transaction version (KAFKA-19367).
    pub(crate) fn fence_and_abort(&mut self, now_ms: i64, coordinator_epoch: i32) -> Completion {
        debug_assert_eq!(self.state, TxnState::Ongoing);
        // An Ongoing epoch is at most i16::MAX - 1: a client never holds i16::MAX.
        self.epoch = self.epoch.saturating_add(1);
        self.last_epoch = NO_PRODUCER_EPOCH;
        self.next_producer_id = NO_PRODUCER_ID;
        self.state = TxnState::PrepareAbort;
        self.last_update_ms = now_ms;
        self.completion(false, coordinator_epoch)
    }

    /// The markers and offsets of the transaction being ended.
    fn completion(&self, commit: bool, coordinator_epoch: i32) -> Completion {
        let markers = self
            .partitions
            .iter()
            .map(|tp| Marker {
                topic: tp.topic.clone(),
                partition: tp.partition,
                producer_id: self.producer_id,
                producer_epoch: self.epoch,
                commit,
                coordinator_epoch,
            })
            .collect();
        let offsets = if commit {
            self.groups
                .iter()
                .filter(|(_, offsets)| !offsets.is_empty())
                .map(|(group_id, offsets)| GroupOffsets {
                    group_id: group_id.clone(),
                    offsets: offsets.clone(),
                })
                .collect()
        } else {
            Vec::new()
        };
        let producer = if self.next_producer_id == NO_PRODUCER_ID {
            self.producer()
        } else {
            ProducerIdAndEpoch {
                producer_id: self.next_producer_id,
                epoch: 0,
            }
        };
        Completion {
            transactional_id: self.transactional_id.clone(),
            commit,
            markers,
            offsets,
            producer,
        }
    }

    /// The markers are written: CompleteCommit/CompleteAbort, the partitions and
    /// groups are let go, and a pending rotation (KIP-890 at an exhausted epoch)
    /// takes effect. Returns the producer id the id had before, if it changed.
    ///
    /// # Errors
    /// INVALID_TXN_STATE when no markers were being written.
    pub(crate) fn complete(&mut self, now_ms: i64) -> Result<Option<i64>, ResponseError> {
        self.state = match self.state {
            TxnState::PrepareCommit => TxnState::CompleteCommit,
            TxnState::PrepareAbort => TxnState::CompleteAbort,
            _ => return Err(ResponseError::InvalidTxnState),
        };
        self.partitions.clear();
        self.groups.clear();
        self.last_update_ms = now_ms;
        if self.next_producer_id == NO_PRODUCER_ID {
            return Ok(None);
        }
        // Kafka keeps the last epoch at the exhausted one the client last saw.
        let old_id = self.producer_id;
        self.previous_producer_id = old_id;
        self.producer_id = self.next_producer_id;
        self.next_producer_id = NO_PRODUCER_ID;
        self.epoch = 0;
        Ok(Some(old_id))
    }
}

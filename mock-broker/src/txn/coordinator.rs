//! The transaction coordinator: every transactional id, and the requests that move them.
//!
//! Kafka's `TransactionCoordinator` and `TransactionStateManager` as pure code:
//! the clock comes in as `now_ms`, producer ids from the caller's allocator,
//! and what must be written to the log comes back as a [`Completion`]. Kafka
//! writes each transition to `__transaction_state` and its markers
//! asynchronously; here a transition takes effect at once, and the glue
//! writes a completion's markers and reports them with
//! [`TxnCoordinator::markers_written`]. Between the two the transaction is in
//! `PrepareCommit`/`PrepareAbort` and answers CONCURRENT_TRANSACTIONS, as
//! Kafka's does while its markers are in flight.
//!
//! Errors are Kafka's coordinator errors; `client_errors::for_client` turns
//! them into what older request versions expect.

use std::collections::{BTreeMap, HashMap};

use kafka_protocol::ResponseError;

use super::completion::Completion;
use super::config::TxnConfig;
use super::description::TxnDescription;
use super::end_rules::{self, EndDecision};
use super::listing::{ListFilter, ListedTxn, Listing};
use super::outcome::{EndTxnOutcome, InitOutcome};
use super::producer_identity::{NO_PRODUCER_ID, ProducerIdAndEpoch, is_epoch_exhausted};
use super::topic_partition::TopicPartition;
use super::transaction::Transaction;
use super::txn_offset::TxnOffset;
use super::txn_state::TxnState;
use super::txn_version::TxnVersion;

/// Verify-only AddPartitionsToTxn's answer: each partition and whether it is
/// in the transaction (`Ok`) or not (its error).
pub(crate) type PartitionVerdicts = Vec<(TopicPartition, Result<(), ResponseError>)>;

/// Every transactional id this broker coordinates.
#[derive(Debug)]
pub(crate) struct TxnCoordinator {
    config: TxnConfig,
    /// Kafka's coordinator epoch (the `__transaction_state` partition's leader
    /// epoch); one coordinator that never moves keeps it at 0.
    coordinator_epoch: i32,
    transactions: BTreeMap<String, Transaction>,
    /// Current producer id → transactional id, for batches that carry only the producer id.
    by_producer_id: HashMap<i64, String>,
}

impl Default for TxnCoordinator {
    /// A coordinator with Kafka's default limits.
    fn default() -> TxnCoordinator {
        TxnCoordinator::new(TxnConfig::default())
    }
}

impl TxnCoordinator {
    /// A coordinator with no transactional ids, at coordinator epoch 0.
    pub(crate) fn new(config: TxnConfig) -> TxnCoordinator {
        TxnCoordinator {
            config,
            coordinator_epoch: 0,
            transactions: BTreeMap::new(),
            by_producer_id: HashMap::new(),
        }
    }

    /// The transaction of `transactional_id`.
    ///
    /// # Errors
    /// INVALID_REQUEST for an empty id; INVALID_PRODUCER_ID_MAPPING for an
    /// unknown one (Kafka's answer to every request but DescribeTransactions).
    fn get_mut(&mut self, transactional_id: &str) -> Result<&mut Transaction, ResponseError> {
        if transactional_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        self.transactions
            .get_mut(transactional_id)
            .ok_or(ResponseError::InvalidProducerIdMapping)
    }

    /// The transaction of `transactional_id`, to read.
    ///
    /// # Errors
    /// As [`TxnCoordinator::get_mut`].
    fn get(&self, transactional_id: &str) -> Result<&Transaction, ResponseError> {
        if transactional_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        self.transactions
            .get(transactional_id)
            .ok_or(ResponseError::InvalidProducerIdMapping)
    }

    /// Keeps the producer id index in step after `transactional_id` moved off `old_id`.
    fn reindex(&mut self, transactional_id: &str, old_id: Option<i64>) {
        let Some(old_id) = old_id else { return };
        self.by_producer_id.remove(&old_id);
        if let Some(txn) = self.transactions.get(transactional_id) {
            self.by_producer_id
                .insert(txn.producer().producer_id, transactional_id.to_owned());
        }
    }

    /// InitProducerId for a transactional id.
    ///
    /// A new id gets a fresh producer id at epoch 0; a known one gets its epoch
    /// bumped, fencing the producer that held it, or a new producer id at epoch 0
    /// once the epoch is exhausted. `expected` is KIP-360's producer id and epoch
    /// (a producer recovering from an error keeps its id if nobody else took it).
    /// With a transaction open, the old producer is fenced and its transaction
    /// aborted: [`InitOutcome::Aborting`].
    ///
    /// # Errors
    /// INVALID_REQUEST (empty id, or an `expected` with a negative id or epoch),
    /// INVALID_TRANSACTION_TIMEOUT (`<= 0` or over `max_timeout_ms`),
    /// PRODUCER_FENCED (`expected` is not the current producer), or
    /// CONCURRENT_TRANSACTIONS (markers are being written).
    pub(crate) fn init_producer_id(
        &mut self,
        now_ms: i64,
        transactional_id: &str,
        transaction_timeout_ms: i32,
        expected: Option<ProducerIdAndEpoch>,
        allocate_producer_id: &mut dyn FnMut() -> i64,
    ) -> Result<InitOutcome, ResponseError> {
        if transactional_id.is_empty() || expected.is_some_and(|e| e.producer_id < 0 || e.epoch < 0)
        {
            return Err(ResponseError::InvalidRequest);
        }
        if transaction_timeout_ms <= 0 || transaction_timeout_ms > self.config.max_timeout_ms {
            return Err(ResponseError::InvalidTransactionTimeout);
        }
        if !self.transactions.contains_key(transactional_id) {
            let producer_id = allocate_producer_id();
            self.transactions.insert(
                transactional_id.to_owned(),
                Transaction::new(
                    transactional_id,
                    producer_id,
                    transaction_timeout_ms,
                    now_ms,
                ),
            );
            self.by_producer_id
                .insert(producer_id, transactional_id.to_owned());
        }
        let coordinator_epoch = self.coordinator_epoch;
        let txn = self.get_mut(transactional_id)?;
        if expected.is_some_and(|e| !txn.accepts_expected(e)) {
            return Err(ResponseError::ProducerFenced);
        }
        match txn.state() {
            TxnState::Ongoing => Ok(InitOutcome::Aborting(
                txn.fence_and_abort(now_ms, coordinator_epoch),
            )),
            state if state.is_idle() => {
                let old_id = txn.reinit(
                    now_ms,
                    transaction_timeout_ms,
                    expected,
                    allocate_producer_id,
                )?;
                let producer = txn.producer();
                self.reindex(transactional_id, old_id);
                Ok(InitOutcome::Ready(producer))
            }
            // PrepareCommit/PrepareAbort; Dead and PrepareEpochFence are never stored.
            _ => Err(ResponseError::ConcurrentTransactions),
        }
    }

    /// AddPartitionsToTxn: the partitions join the transaction, which starts
    /// (Ongoing, start time `now_ms`) if none is open. Unknown topics are the
    /// glue's to refuse before calling.
    ///
    /// # Errors
    /// INVALID_PRODUCER_ID_MAPPING (unknown id, or not its producer id),
    /// PRODUCER_FENCED, CONCURRENT_TRANSACTIONS (markers being written).
    pub(crate) fn add_partitions(
        &mut self,
        now_ms: i64,
        transactional_id: &str,
        producer: ProducerIdAndEpoch,
        partitions: impl IntoIterator<Item = TopicPartition>,
    ) -> Result<(), ResponseError> {
        let txn = self.get_mut(transactional_id)?;
        txn.check_producer(producer)?;
        txn.add_partitions(now_ms, partitions);
        Ok(())
    }

    /// AddPartitionsToTxn v4+ with `verify_only` (KIP-890): whether each
    /// partition is already in the transaction, changing nothing. A partition
    /// that is not answers TRANSACTION_ABORTABLE, as Kafka.
    ///
    /// # Errors
    /// The error every partition answers: INVALID_PRODUCER_ID_MAPPING,
    /// PRODUCER_FENCED or CONCURRENT_TRANSACTIONS.
    pub(crate) fn verify_partitions(
        &self,
        transactional_id: &str,
        producer: ProducerIdAndEpoch,
        partitions: impl IntoIterator<Item = TopicPartition>,
    ) -> Result<PartitionVerdicts, ResponseError> {
        let txn = self.get(transactional_id)?;
        txn.check_producer(producer)?;
        Ok(partitions
            .into_iter()
            .map(|tp| {
                let verdict = if txn.has_partition(&tp) {
                    Ok(())
                } else {
                    Err(ResponseError::TransactionAbortable)
                };
                (tp, verdict)
            })
            .collect())
    }

    /// AddOffsetsToTxn: the group joins the transaction (which starts if none
    /// is open), so that TxnOffsetCommit may commit its offsets in it. Kafka
    /// adds the group's `__consumer_offsets` partition; this broker has none,
    /// so the group id itself is recorded and gets no marker.
    ///
    /// # Errors
    /// As [`TxnCoordinator::add_partitions`].
    pub(crate) fn add_offsets(
        &mut self,
        now_ms: i64,
        transactional_id: &str,
        producer: ProducerIdAndEpoch,
        group_id: &str,
    ) -> Result<(), ResponseError> {
        let txn = self.get_mut(transactional_id)?;
        txn.check_producer(producer)?;
        txn.add_group(now_ms, group_id);
        Ok(())
    }

    /// TxnOffsetCommit: the offsets wait in the transaction until it ends; a
    /// commit hands them back in its [`Completion`], an abort drops them.
    /// `implicit_add` (TxnOffsetCommit v5+, KIP-890 part 2) adds the group if
    /// AddOffsetsToTxn did not. Member and generation checks are the group
    /// coordinator's.
    ///
    /// # Errors
    /// INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED, CONCURRENT_TRANSACTIONS,
    /// or TRANSACTION_ABORTABLE when the group was not added (INVALID_TXN_STATE
    /// for TxnOffsetCommit < v4, see `client_errors`).
    pub(crate) fn txn_offset_commit(
        &mut self,
        now_ms: i64,
        transactional_id: &str,
        producer: ProducerIdAndEpoch,
        group_id: &str,
        offsets: impl IntoIterator<Item = (TopicPartition, TxnOffset)>,
        implicit_add: bool,
    ) -> Result<(), ResponseError> {
        let txn = self.get_mut(transactional_id)?;
        txn.check_producer(producer)?;
        if !txn.has_group(group_id) {
            if !implicit_add {
                return Err(ResponseError::TransactionAbortable);
            }
            txn.add_group(now_ms, group_id);
        }
        txn.stage_offsets(now_ms, group_id, offsets);
        Ok(())
    }

    /// EndTxn: commit or abort the open transaction (see `end_rules` for which
    /// requests end it, which are retries and which are refused).
    ///
    /// `version` [`TxnVersion::V2`] (EndTxn v5+) bumps the epoch on every end,
    /// moving to a new producer id (from `allocate_producer_id`) once the
    /// epoch is exhausted, and allows aborting a transaction that added
    /// nothing. Version 1 refuses an end with nothing added (INVALID_TXN_STATE),
    /// as Kafka; clients do not send one.
    ///
    /// # Errors
    /// INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED, CONCURRENT_TRANSACTIONS,
    /// INVALID_TXN_STATE, as Kafka.
    pub(crate) fn end_txn(
        &mut self,
        now_ms: i64,
        transactional_id: &str,
        producer: ProducerIdAndEpoch,
        commit: bool,
        version: TxnVersion,
        allocate_producer_id: &mut dyn FnMut() -> i64,
    ) -> Result<EndTxnOutcome, ResponseError> {
        let coordinator_epoch = self.coordinator_epoch;
        let txn = self.get_mut(transactional_id)?;
        match end_rules::decide(txn, producer, commit, version)? {
            EndDecision::AlreadyEnded => Ok(EndTxnOutcome::AlreadyEnded(txn.producer())),
            EndDecision::End => {
                let bump = version.bumps_epoch_on_end();
                let next_producer_id = if bump && is_epoch_exhausted(txn.producer().epoch) {
                    allocate_producer_id()
                } else {
                    NO_PRODUCER_ID
                };
                Ok(EndTxnOutcome::Ending(txn.prepare_end(
                    now_ms,
                    commit,
                    bump,
                    next_producer_id,
                    coordinator_epoch,
                )))
            }
        }
    }

    /// The glue wrote a [`Completion`]'s markers (and applied its offsets): the
    /// transaction is CompleteCommit/CompleteAbort and takes requests again.
    ///
    /// # Errors
    /// INVALID_PRODUCER_ID_MAPPING for an unknown id, INVALID_TXN_STATE when
    /// it was not writing markers.
    pub(crate) fn markers_written(
        &mut self,
        now_ms: i64,
        transactional_id: &str,
    ) -> Result<(), ResponseError> {
        let old_id = self.get_mut(transactional_id)?.complete(now_ms)?;
        self.reindex(transactional_id, old_id);
        Ok(())
    }

    /// Whether a transactional batch of `producer` (its id and epoch) may be
    /// appended to `partition`: the partition must be in its open transaction.
    /// `implicit_add` (Produce v12+, KIP-890 part 2) adds it instead, starting
    /// the transaction if none is open.
    ///
    /// # Errors
    /// INVALID_PRODUCER_ID_MAPPING (no transactional id holds that producer
    /// id), PRODUCER_FENCED (INVALID_PRODUCER_EPOCH to a producer, see
    /// `client_errors`), CONCURRENT_TRANSACTIONS, or TRANSACTION_ABORTABLE
    /// when the partition was not added (INVALID_TXN_STATE for Produce < v11).
    pub(crate) fn check_produce(
        &mut self,
        now_ms: i64,
        producer: ProducerIdAndEpoch,
        partition: &TopicPartition,
        implicit_add: bool,
    ) -> Result<(), ResponseError> {
        let transactional_id = self
            .by_producer_id
            .get(&producer.producer_id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?
            .clone();
        let txn = self.get_mut(&transactional_id)?;
        txn.check_producer(producer)?;
        if txn.has_partition(partition) {
            Ok(())
        } else if implicit_add {
            txn.add_partitions(now_ms, [partition.clone()]);
            Ok(())
        } else {
            Err(ResponseError::TransactionAbortable)
        }
    }

    /// Whether an open transaction holds offsets for `group_id` not yet
    /// committed (OffsetFetch with `require_stable` answers UNSTABLE_OFFSET_COMMIT).
    #[cfg(test)]
    pub(crate) fn has_pending_offsets(&self, group_id: &str) -> bool {
        self.transactions
            .values()
            .any(|txn| txn.has_pending_offsets(group_id))
    }

    /// The partitions of `group_id` for which open transactions hold offsets
    /// not yet committed: OffsetFetch with `require_stable` answers
    /// UNSTABLE_OFFSET_COMMIT for these, as Kafka.
    pub(crate) fn pending_offset_partitions(
        &self,
        group_id: &str,
    ) -> std::collections::BTreeSet<TopicPartition> {
        self.transactions
            .values()
            .flat_map(|txn| txn.pending_offsets(group_id))
            .cloned()
            .collect()
    }

    /// The time work is due: aborts transactions open longer than their
    /// timeout (fencing their producers, as Kafka's `abortTimedOutTransactions`)
    /// and forgets ids unused for `transactional_id_expiration_ms`. Returns the
    /// aborts' markers to write, each to be followed by `markers_written`.
    pub(crate) fn tick(&mut self, now_ms: i64) -> Vec<Completion> {
        let coordinator_epoch = self.coordinator_epoch;
        let aborts = self
            .transactions
            .values_mut()
            .filter(|txn| txn.is_timed_out(now_ms))
            .map(|txn| txn.fence_and_abort(now_ms, coordinator_epoch))
            .collect();
        let expiration_ms = self.config.transactional_id_expiration_ms;
        let by_producer_id = &mut self.by_producer_id;
        self.transactions.retain(|_, txn| {
            let expired = txn
                .expiry_deadline_ms(expiration_ms)
                .is_some_and(|deadline| now_ms >= deadline);
            if expired {
                by_producer_id.remove(&txn.producer().producer_id);
            }
            !expired
        });
        aborts
    }

    /// When [`TxnCoordinator::tick`] next has work: the earliest transaction
    /// timeout or id expiry, or `None` with nothing to wait for.
    pub(crate) fn next_deadline(&self) -> Option<i64> {
        let expiration_ms = self.config.transactional_id_expiration_ms;
        self.transactions
            .values()
            .filter_map(|txn| {
                txn.timeout_deadline_ms()
                    .or_else(|| txn.expiry_deadline_ms(expiration_ms))
            })
            .min()
    }

    /// DescribeTransactions for one id.
    ///
    /// # Errors
    /// INVALID_REQUEST for an empty id, TRANSACTIONAL_ID_NOT_FOUND for an unknown one.
    pub(crate) fn describe(&self, transactional_id: &str) -> Result<TxnDescription, ResponseError> {
        if transactional_id.is_empty() {
            return Err(ResponseError::InvalidRequest);
        }
        self.transactions
            .get(transactional_id)
            .map(Transaction::describe)
            .ok_or(ResponseError::TransactionalIdNotFound)
    }

    /// ListTransactions: the ids matching every filter given, ordered by id.
    /// The duration filter (KIP-994) keeps transactions started more than
    /// `duration_filter_ms` before `now_ms`, as Kafka compares it.
    pub(crate) fn list(&self, now_ms: i64, filter: &ListFilter) -> Listing {
        let mut unknown_state_filters = Vec::new();
        let mut states = Vec::new();
        for name in &filter.states {
            match TxnState::from_name(name) {
                Some(state) => states.push(state),
                None => unknown_state_filters.push(name.clone()),
            }
        }
        let transactions = self
            .transactions
            .iter()
            .filter(|(_, txn)| {
                let producer = txn.producer();
                txn.state() != TxnState::Dead
                    && (filter.producer_ids.is_empty()
                        || filter.producer_ids.contains(&producer.producer_id))
                    && (filter.states.is_empty() || states.contains(&txn.state()))
                    && (filter.duration_filter_ms < 0
                        || now_ms - txn.start_ms() > filter.duration_filter_ms)
            })
            .map(|(id, txn)| ListedTxn {
                transactional_id: id.clone(),
                producer_id: txn.producer().producer_id,
                state: txn.state(),
            })
            .collect();
        Listing {
            transactions,
            unknown_state_filters,
        }
    }

    /// Every transactional id as DescribeTransactions shows it, ordered by id
    /// (for the admin API).
    pub(crate) fn snapshot(&self) -> Vec<TxnDescription> {
        self.transactions
            .values()
            .map(Transaction::describe)
            .collect()
    }
}

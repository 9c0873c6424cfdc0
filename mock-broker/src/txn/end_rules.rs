//! Whether an EndTxn ends the transaction, is a retry, or is refused.
//!
//! Kafka's `TransactionCoordinator.endTransaction` (and `endTransactionWithTV1`)
//! as a table over the transaction's state, the request's producer id and
//! epoch, commit or abort, and the client's transaction version. For
//! transaction version 2 ("retry" = the request's epoch is one below the
//! current one, or the last of the previous producer id after a rotation):
//!
//! | state          | abort, retry | abort, current | commit, retry   | commit, current |
//! |----------------|--------------|----------------|-----------------|-----------------|
//! | Empty          | fenced       | ends (empty)   | fenced          | INVALID_TXN_STATE |
//! | CompleteAbort  | NONE         | ends (empty)   | fenced (KAFKA-20785) | INVALID_TXN_STATE |
//! | CompleteCommit | INVALID_TXN_STATE | ends (empty) | NONE         | INVALID_TXN_STATE |
//!
//! Version 1 knows no retries by epoch: the epoch must be the current one; a
//! completed transaction answers NONE to the same end again and
//! INVALID_TXN_STATE to the other; Empty answers INVALID_TXN_STATE.

use kafka_protocol::ResponseError;

use super::producer_identity::{ProducerIdAndEpoch, is_epoch_exhausted};
use super::transaction::Transaction;
use super::txn_state::TxnState;
use super::txn_version::TxnVersion;

/// What an EndTxn that is not refused does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EndDecision {
    /// End the transaction (from Ongoing, or a KIP-890 abort of an empty one).
    End,
    /// The same end already completed: answer NONE, write nothing.
    AlreadyEnded,
}

/// The decision for an EndTxn from `producer` (the request's id and epoch) against `txn`.
///
/// # Errors
/// INVALID_PRODUCER_ID_MAPPING, PRODUCER_FENCED, CONCURRENT_TRANSACTIONS (the
/// same end is writing its markers) or INVALID_TXN_STATE, as Kafka.
pub(crate) fn decide(
    txn: &Transaction,
    producer: ProducerIdAndEpoch,
    commit: bool,
    version: TxnVersion,
) -> Result<EndDecision, ResponseError> {
    let ProducerIdAndEpoch { producer_id, epoch } = producer;
    match version {
        TxnVersion::V1 => decide_v1(txn, producer_id, epoch, commit),
        TxnVersion::V2 => decide_v2(txn, producer_id, epoch, commit),
    }
}

/// Transaction version 1: the epoch must be the current one.
fn decide_v1(
    txn: &Transaction,
    producer_id: i64,
    epoch: i16,
    commit: bool,
) -> Result<EndDecision, ResponseError> {
    let current = txn.producer();
    if producer_id != current.producer_id {
        return Err(ResponseError::InvalidProducerIdMapping);
    }
    if epoch != current.epoch {
        return Err(ResponseError::ProducerFenced);
    }
    same_end_or_not(txn.state(), commit)
}

/// Transaction version 2: every end bumps the epoch, so a retry carries the epoch before.
fn decide_v2(
    txn: &Transaction,
    producer_id: i64,
    epoch: i16,
    commit: bool,
) -> Result<EndDecision, ResponseError> {
    let current = txn.producer();
    let retry_on_overflow = txn.previous_producer_id() == producer_id
        && is_epoch_exhausted(epoch)
        && current.epoch == 0;
    let retry_on_bump = i32::from(current.epoch) == i32::from(epoch) + 1;
    let state = txn.state();
    let valid_epoch = match state {
        TxnState::PrepareCommit | TxnState::PrepareAbort => retry_on_bump,
        TxnState::CompleteCommit | TxnState::CompleteAbort => {
            retry_on_bump || retry_on_overflow || epoch == current.epoch
        }
        _ => epoch == current.epoch,
    };
    if producer_id != current.producer_id && !retry_on_overflow {
        return Err(ResponseError::InvalidProducerIdMapping);
    }
    if !valid_epoch {
        return Err(ResponseError::ProducerFenced);
    }
    let retry = retry_on_bump || retry_on_overflow;
    match state {
        TxnState::Ongoing => Ok(EndDecision::End),
        // KIP-890 lets a producer abort a transaction it never added anything to.
        TxnState::Empty if !commit => Ok(EndDecision::End),
        TxnState::CompleteCommit => match (commit, retry) {
            (true, true) => Ok(EndDecision::AlreadyEnded),
            (false, false) => Ok(EndDecision::End),
            _ => Err(ResponseError::InvalidTxnState),
        },
        TxnState::CompleteAbort => match (commit, retry) {
            (false, true) => Ok(EndDecision::AlreadyEnded),
            (false, false) => Ok(EndDecision::End),
            // A commit that crossed a coordinator abort (a timeout) was fenced by it.
            (true, true) => Err(ResponseError::ProducerFenced),
            (true, false) => Err(ResponseError::InvalidTxnState),
        },
        _ => prepare_or_invalid(state, commit),
    }
}

/// Version 1 once the epoch is accepted: only Ongoing ends; a completed end
/// answers NONE to the same end again.
fn same_end_or_not(state: TxnState, commit: bool) -> Result<EndDecision, ResponseError> {
    match state {
        TxnState::Ongoing => Ok(EndDecision::End),
        TxnState::CompleteCommit if commit => Ok(EndDecision::AlreadyEnded),
        TxnState::CompleteAbort if !commit => Ok(EndDecision::AlreadyEnded),
        _ => prepare_or_invalid(state, commit),
    }
}

/// While markers are written, the same end waits (CONCURRENT_TRANSACTIONS);
/// anything else is INVALID_TXN_STATE.
fn prepare_or_invalid(state: TxnState, commit: bool) -> Result<EndDecision, ResponseError> {
    match state {
        TxnState::PrepareCommit if commit => Err(ResponseError::ConcurrentTransactions),
        TxnState::PrepareAbort if !commit => Err(ResponseError::ConcurrentTransactions),
        _ => Err(ResponseError::InvalidTxnState),
    }
}

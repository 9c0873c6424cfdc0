//! The transaction coordinator: Kafka's transactions as a pure state machine.
//!
//! [`TxnCoordinator`] holds every transactional id's [`Transaction`] and takes
//! the coordinator's requests (InitProducerId, AddPartitionsToTxn,
//! AddOffsetsToTxn, TxnOffsetCommit, EndTxn, DescribeTransactions,
//! ListTransactions) as plain calls with the clock passed in. No I/O: ending a
//! transaction yields a [`Completion`] (the [`Marker`]s to append and the
//! offsets to commit), which the Kafka handlers write to the log and the
//! group coordinator before reporting back. Follows Apache Kafka's
//! `TransactionCoordinator`, `TransactionMetadata` and
//! `TransactionStateManager`, with franz-go's `kfake` as a second reading.

mod client_errors;
mod completion;
mod config;
mod coordinator;
mod description;
mod end_rules;
mod listing;
mod marker;
mod outcome;
mod producer_identity;
mod topic_partition;
mod transaction;
mod txn_offset;
mod txn_state;
mod txn_version;

pub(crate) use client_errors::{TxnApi, for_client};
pub(crate) use completion::Completion;
pub(crate) use config::TxnConfig;
pub(crate) use coordinator::TxnCoordinator;
pub(crate) use description::TxnDescription;
pub(crate) use listing::ListFilter;
pub(crate) use outcome::{EndTxnOutcome, InitOutcome};
pub(crate) use producer_identity::ProducerIdAndEpoch;
pub(crate) use topic_partition::TopicPartition;
pub(crate) use txn_offset::TxnOffset;
#[cfg(test)]
use txn_state::TxnState;
pub(crate) use txn_version::TxnVersion;

#[cfg(test)]
mod coordinator_tests;
#[cfg(test)]
mod end_txn_tests;
#[cfg(test)]
mod invariant_tests;
#[cfg(test)]
mod query_tests;
#[cfg(test)]
mod test_support;
#[cfg(test)]
mod timeout_tests;

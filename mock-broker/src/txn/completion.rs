//! What ending a transaction asks of the rest of the broker.

use super::marker::Marker;
use super::producer_identity::ProducerIdAndEpoch;
use super::txn_offset::GroupOffsets;

/// A transaction the coordinator has decided to end (it is in `PrepareCommit`
/// or `PrepareAbort`): the markers to write and, on commit, the offsets to apply.
///
/// The glue writes every marker, hands `offsets` to the group coordinator,
/// then calls `TxnCoordinator::markers_written`, which moves the transaction
/// to `CompleteCommit` / `CompleteAbort`. Until then the transactional id
/// answers CONCURRENT_TRANSACTIONS, as Kafka does while its markers are in flight.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use = "the markers must be written and `markers_written` called, or the transaction stays in its Prepare state"]
pub(crate) struct Completion {
    /// The transactional id whose transaction ends.
    pub(crate) transactional_id: String,
    /// Commit (true) or abort (false).
    pub(crate) commit: bool,
    /// One marker per partition added to the transaction, in partition order;
    /// empty for a transaction that added none.
    pub(crate) markers: Vec<Marker>,
    /// On commit, the offsets the transaction committed per group, to apply to
    /// the groups; on abort, empty (they are discarded).
    pub(crate) offsets: Vec<GroupOffsets>,
    /// The producer id and epoch the producer uses once this completes (EndTxn
    /// v5+ answers them): a bumped epoch for KIP-890, a new id at epoch 0 when
    /// the epoch was exhausted, else unchanged.
    pub(crate) producer: ProducerIdAndEpoch,
}

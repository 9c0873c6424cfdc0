//! The states of a transaction, as Kafka's coordinator names them.
//!
//! DescribeTransactions and ListTransactions spell a state by its Kafka name
//! ("Empty", "Ongoing", "PrepareCommit", …); ListTransactions filters by those
//! names too, so the names are part of the protocol, not just display text.

/// Where one transactional id's current transaction stands.
///
/// `Dead` and `PrepareEpochFence` are never stored here: Kafka only passes
/// through them (an expired id is removed; a fence goes straight on to
/// `PrepareAbort`), but they are named so that filters naming them are known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum TxnState {
    /// No transaction open: after InitProducerId, before anything is added.
    Empty,
    /// Partitions or groups were added; records may be written.
    Ongoing,
    /// EndTxn(commit) accepted; commit markers are being written.
    PrepareCommit,
    /// EndTxn(abort), a timeout or a fencing InitProducerId; abort markers are being written.
    PrepareAbort,
    /// Commit markers written.
    CompleteCommit,
    /// Abort markers written.
    CompleteAbort,
    /// The transactional id expired and is being removed.
    Dead,
    /// An older producer is being fenced before its open transaction is aborted.
    PrepareEpochFence,
}

impl TxnState {
    /// Every state, in Kafka's id order.
    pub(crate) const ALL: [TxnState; 8] = [
        TxnState::Empty,
        TxnState::Ongoing,
        TxnState::PrepareCommit,
        TxnState::PrepareAbort,
        TxnState::CompleteCommit,
        TxnState::CompleteAbort,
        TxnState::Dead,
        TxnState::PrepareEpochFence,
    ];

    /// The state's name in DescribeTransactions and ListTransactions.
    pub(crate) fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
            TxnState::Dead => "Dead",
            TxnState::PrepareEpochFence => "PrepareEpochFence",
        }
    }

    /// The state a ListTransactions filter names, if Kafka knows the name (case-sensitive, as Kafka).
    pub(crate) fn from_name(name: &str) -> Option<TxnState> {
        TxnState::ALL.into_iter().find(|state| state.name() == name)
    }

    /// Whether markers are being written: a new request must wait (CONCURRENT_TRANSACTIONS).
    pub(crate) fn is_prepare(self) -> bool {
        matches!(self, TxnState::PrepareCommit | TxnState::PrepareAbort)
    }

    /// Whether no transaction is open, so that the next add starts a new one.
    pub(crate) fn is_idle(self) -> bool {
        matches!(
            self,
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
        )
    }
}

impl std::fmt::Display for TxnState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

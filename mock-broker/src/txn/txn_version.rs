//! Which transaction protocol a client speaks: before or after KIP-890 part 2.

/// The client's transaction version, as Kafka's `TransactionVersion` tells them apart.
///
/// The glue picks it from the request version: EndTxn v5+ (and Produce v12+,
/// TxnOffsetCommit v5+) is [`TxnVersion::V2`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TxnVersion {
    /// Transactions as since Kafka 0.11: EndTxn keeps the producer epoch.
    V1,
    /// KIP-890: every EndTxn bumps the epoch (so late batches of the ended
    /// transaction are fenced), an abort of an empty transaction is allowed,
    /// and a retried EndTxn is told apart from the next one by its epoch.
    V2,
}

impl TxnVersion {
    /// The version an EndTxn request of `api_version` speaks (v5+ bumps the epoch).
    pub(crate) fn of_end_txn(api_version: i16) -> TxnVersion {
        if api_version >= 5 {
            TxnVersion::V2
        } else {
            TxnVersion::V1
        }
    }

    /// Whether ending a transaction bumps the producer epoch.
    pub(crate) fn bumps_epoch_on_end(self) -> bool {
        self == TxnVersion::V2
    }
}

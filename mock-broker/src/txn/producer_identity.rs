//! A producer's identity towards the log: its producer id and epoch.

/// Kafka's "no producer id" (`RecordBatch.NO_PRODUCER_ID`).
pub(crate) const NO_PRODUCER_ID: i64 = -1;

/// Kafka's "no producer epoch" (`RecordBatch.NO_PRODUCER_EPOCH`): a transactional id
/// created but not yet handed out.
pub(crate) const NO_PRODUCER_EPOCH: i16 = -1;

/// A producer id and the epoch its current producer holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ProducerIdAndEpoch {
    /// The producer id.
    pub(crate) producer_id: i64,
    /// The epoch; older epochs of the same id are fenced.
    pub(crate) epoch: i16,
}

/// Whether `epoch` leaves no room to bump: Kafka keeps `i16::MAX` in reserve so
/// that the coordinator can always fence, and moves to a new producer id at
/// `i16::MAX - 1`.
pub(crate) fn is_epoch_exhausted(epoch: i16) -> bool {
    epoch >= i16::MAX - 1
}

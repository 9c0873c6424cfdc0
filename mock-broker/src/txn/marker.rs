//! A transaction marker: the control batch that ends a transaction on one partition.

/// One control batch to append: COMMIT or ABORT for a producer's transaction on a partition.
///
/// Writing it is the log's job (a control batch with one control record, the
/// last stable offset, and for an abort the aborted-transaction index); the
/// coordinator only says which ones to write.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct Marker {
    /// The partition's topic.
    pub(crate) topic: String,
    /// The partition's index.
    pub(crate) partition: i32,
    /// The producer whose transaction ends.
    pub(crate) producer_id: i64,
    /// The epoch the marker carries; after a fence or a KIP-890 end this is the
    /// bumped epoch, which fences the producer's later batches on that partition.
    pub(crate) producer_epoch: i16,
    /// COMMIT (true) or ABORT (false).
    pub(crate) commit: bool,
    /// The coordinator epoch (Kafka's control record value carries it).
    pub(crate) coordinator_epoch: i32,
}

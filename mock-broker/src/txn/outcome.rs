//! What InitProducerId and EndTxn answer when they do not fail.

use super::completion::Completion;
use super::producer_identity::ProducerIdAndEpoch;

/// A successful InitProducerId's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum InitOutcome {
    /// Answer NONE with this producer id and epoch.
    Ready(ProducerIdAndEpoch),
    /// A transaction was open: the older producer is fenced (epoch bumped) and
    /// its transaction aborted. Write the markers, call `markers_written`, and
    /// answer CONCURRENT_TRANSACTIONS as Kafka does; the client retries and
    /// its retry bumps the epoch once more and gets [`InitOutcome::Ready`].
    Aborting(Completion),
}

/// A successful EndTxn's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum EndTxnOutcome {
    /// The transaction ends: write its markers, apply its offsets, call
    /// `markers_written`, answer NONE (v5+: with `completion.producer`).
    Ending(Completion),
    /// A retry of an EndTxn that already completed the same way: answer NONE
    /// with this producer id and epoch, write nothing.
    AlreadyEnded(ProducerIdAndEpoch),
}

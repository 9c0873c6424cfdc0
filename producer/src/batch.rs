//! A batch: the records of one partition sent together, in the encoding of
//! the protocol in use, with what the sender needs to retry and settle it.

use std::sync::Arc;

use protocol::frame::Message;
use tokio::time::Instant;

use crate::delivery::Fate;
use crate::delivery::Outcome;
use crate::error::Error;
use crate::kafka::batch_builder::BatchBuilder;
use crate::kafka::batch_header::ProducerFields;
use crate::record::Header;

/// A batch's records in the encoding of the protocol in use.
#[derive(Debug)]
pub(crate) enum BatchBody {
    /// A RecordBatch v2 being built.
    Kafka(BatchBuilder),
    /// A RecordBatch v2 sealed for sending, with the producer fields it carries.
    Sealed(bytes::Bytes, ProducerFields),
    /// Frame-protocol messages.
    Frame {
        messages: Vec<Message>,
        /// Their encoded size, kept as they are pushed (what `batch_size` limits).
        size: usize,
    },
}

/// The records of one partition sent together.
#[derive(Debug)]
pub(crate) struct Batch {
    /// The topic its records go to.
    pub(crate) topic: Arc<str>,
    /// The partition they go to (`u32::MAX`: the frame broker picks).
    pub(crate) partition: u32,
    /// Its records, encoded.
    pub(crate) body: BatchBody,
    /// What its records' delivery futures wait for.
    pub(crate) fate: Fate,
    /// Bytes of `buffer_memory` the batch holds until it completes.
    pub(crate) bytes: usize,
    /// When it was opened: it is due `linger` later.
    pub(crate) created: Instant,
    /// When the batch fails with `DeliveryTimeout` if not acknowledged.
    pub(crate) deadline: Instant,
    /// How many times it was sent.
    pub(crate) attempts: u32,
    /// Not before this instant (retry backoff).
    pub(crate) not_before: Option<Instant>,
    /// Producer id, epoch and base sequence, once assigned (idempotence).
    pub(crate) sequence: Option<(i64, i16, i32)>,
    /// The last retriable error, reported if the batch times out.
    pub(crate) last_error: Option<Error>,
    /// Where the batch stands among its partition's batches: they are sent,
    /// retried and sequenced in this order.
    pub(crate) order: u64,
}

impl Batch {
    /// Fails every record of the batch with `error`.
    pub(crate) fn fail(self, error: &Error) {
        self.fate.settle(Outcome::Failed(error.clone()));
    }

    /// How many records the batch holds.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.fate.len()
    }

    /// Its encoded size so far: what `batch_size` limits.
    #[inline]
    pub(crate) fn size(&self) -> usize {
        match &self.body {
            BatchBody::Kafka(builder) => builder.size(),
            BatchBody::Sealed(bytes, _) => bytes.len(),
            BatchBody::Frame { size, .. } => *size,
        }
    }
}

/// A record on its way into a batch.
#[derive(Debug)]
pub(crate) struct Pending {
    /// Its timestamp, ms since the epoch.
    pub(crate) timestamp: i64,
    /// Its key, if any.
    pub(crate) key: Option<bytes::Bytes>,
    /// Its value (`None`: a tombstone).
    pub(crate) value: Option<bytes::Bytes>,
    /// Its headers.
    pub(crate) headers: Vec<Header>,
    /// The `buffer_memory` it takes until settled.
    pub(crate) bytes: usize,
}

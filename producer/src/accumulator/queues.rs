//! The queues of one topic's partitions: each partition's open batch, the
//! batches waiting to be sent (again), and how many are in flight.

use std::collections::VecDeque;

use crate::batch::{Batch, BatchBody, Pending};
use crate::partitioner::Partitioner;

/// One partition's batches: the one being filled, and those waiting to be sent.
#[derive(Debug, Default)]
pub(super) struct PartitionQueue {
    /// The batch records are appended to, if any.
    pub(super) open: Option<Batch>,
    /// Batches to send (again: retries; or for the first time: full ones),
    /// in the partition's order.
    pub(super) retries: VecDeque<Batch>,
    /// Batches of this partition being sent now.
    pub(super) in_flight: usize,
    /// The `order` of the next batch opened.
    pub(super) next_order: u64,
    /// A batch that failed is being sent again: it goes alone, and nothing
    /// else of the partition goes until it is through (as the Java client
    /// does), or a newer batch could overtake it.
    pub(super) resending: bool,
}

/// The queues of one topic's partitions, and how its records pick one.
#[derive(Debug)]
pub(super) struct TopicQueues {
    /// Picks the partition of records that name none.
    pub(super) partitioner: Partitioner,
    /// The partition count records were last placed with.
    pub(super) partitions: u32,
    /// Each partition's queue, made on first use.
    pub(super) queues: fnv::FnvHashMap<u32, PartitionQueue>,
}

impl TopicQueues {
    /// Closes `partition`'s open batch if `record` does not fit in it: the
    /// full batch waits in line to be sent. Returns whether that moved a
    /// sticky partitioner on.
    #[inline]
    pub(super) fn close_if_full(
        &mut self,
        partition: u32,
        record: &Pending,
        batch_size: usize,
    ) -> bool {
        let Some(queue) = self.queues.get_mut(&partition) else {
            return false;
        };
        let Some(open) = &queue.open else {
            return false;
        };
        let record_size = match &open.body {
            BatchBody::Kafka(builder) => builder.record_size(
                record.timestamp,
                record.key.as_deref(),
                record.value.as_deref(),
                &record.headers,
            ),
            _ => record.bytes,
        };
        if open.len() == 0 || open.size() + record_size <= batch_size {
            return false;
        }
        let full = queue.open.take().expect("checked");
        queue.retries.push_back(full);
        self.partitioner.batch_sent(partition, self.partitions)
    }
}

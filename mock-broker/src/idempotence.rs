//! Idempotent-producer state: producer ids, epochs, and per-partition sequences.
//!
//! Follows Kafka's rules for the cases a producer meets: a retry of one of
//! the last five batches of a partition is acknowledged with its original
//! base offset and not appended again; a gap in the sequence is
//! OUT_OF_ORDER_SEQUENCE_NUMBER; an epoch older than the producer's current
//! one is INVALID_PRODUCER_EPOCH; a newer epoch starts again at sequence 0.

use std::collections::{HashMap, VecDeque};

use kafka_protocol::ResponseError;

/// Batches remembered per partition for duplicate detection, as in Kafka.
pub(crate) const REMEMBERED_BATCHES: usize = 5;

/// Where a partition's sequence stands for one producer.
#[derive(Debug, Clone, Default)]
struct PartitionSequence {
    epoch: i16,
    /// (first sequence, last sequence, base offset) of the last batches, oldest first.
    batches: VecDeque<(i32, i32, i64)>,
    /// The largest timestamp of the last batch appended, ms since the Unix epoch.
    last_timestamp: i64,
}

/// One producer that wrote to a partition, as DescribeProducers reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ActiveProducer {
    /// The producer id.
    pub(crate) id: i64,
    /// Its epoch when it last wrote.
    pub(crate) epoch: i16,
    /// The sequence of the last record it wrote.
    pub(crate) last_sequence: i32,
    /// The largest timestamp of the last batch it wrote.
    pub(crate) last_timestamp: i64,
}

/// What to do with a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// Append it, then call [`Producers::appended`].
    Append,
    /// A retry of a batch already appended at this base offset: acknowledge, do not append.
    Duplicate {
        /// Where the original was appended.
        base_offset: i64,
    },
    /// Refuse it with this error.
    Refuse(ResponseError, &'static str),
}

/// Every producer id handed out, and its partitions' sequences.
#[derive(Debug, Default)]
pub(crate) struct Producers {
    next_id: i64,
    /// Producer id → current epoch.
    epochs: HashMap<i64, i16>,
    /// (producer id, topic id, partition) → sequence state.
    sequences: HashMap<(i64, uuid::Uuid, u32), PartitionSequence>,
}

/// The sequence number after `sequence`, wrapping as Kafka does.
fn next(sequence: i32) -> i32 {
    if sequence == i32::MAX {
        0
    } else {
        sequence + 1
    }
}

impl Producers {
    /// A new producer id at epoch 0.
    pub(crate) fn init(&mut self) -> (i64, i16) {
        let id = self.allocate();
        self.epochs.insert(id, 0);
        (id, 0)
    }

    /// A producer id never handed out before, with no epoch yet: the
    /// transaction coordinator takes its ids from here too, so that idempotent
    /// and transactional producers share one id space.
    pub(crate) fn allocate(&mut self) -> i64 {
        self.next_id += 1;
        1000 + self.next_id
    }

    /// The record file says `id` was handed out with `epoch` (or wrote at it):
    /// the id is never handed out again, and the epoch becomes its current one
    /// unless it has a later one already. Used by the replay.
    pub(crate) fn replayed(&mut self, id: i64, epoch: i16) {
        self.next_id = self.next_id.max(id - 1000);
        if self.epochs.get(&id).is_none_or(|&current| current < epoch) {
            self.register(id, epoch);
        }
    }

    /// The transaction coordinator gave `id` the epoch `epoch`: batches at
    /// that epoch are accepted from sequence 0 on, older epochs are refused.
    pub(crate) fn register(&mut self, id: i64, epoch: i16) {
        if self.epochs.insert(id, epoch) != Some(epoch) {
            self.sequences.retain(|(pid, _, _), _| *pid != id);
        }
    }

    /// Bumps the epoch of a known producer (KIP-360), forgetting its sequences.
    ///
    /// # Errors
    /// The Kafka error for an unknown id or an epoch that is not the current one.
    pub(crate) fn bump(
        &mut self,
        id: i64,
        epoch: i16,
        fenced: ResponseError,
    ) -> Result<(i64, i16), ResponseError> {
        let current = self
            .epochs
            .get_mut(&id)
            .ok_or(ResponseError::InvalidProducerIdMapping)?;
        if *current != epoch {
            return Err(fenced);
        }
        if *current == i16::MAX {
            // Epoch exhausted: hand out a new id, as Kafka does.
            return Ok(self.init());
        }
        *current += 1;
        let bumped = *current;
        self.sequences.retain(|(pid, _, _), _| *pid != id);
        Ok((id, bumped))
    }

    /// Decides what to do with a batch of `count` records starting at `first_sequence`.
    pub(crate) fn check(
        &mut self,
        id: i64,
        epoch: i16,
        partition: (uuid::Uuid, u32),
        first_sequence: i32,
        count: i32,
    ) -> Verdict {
        let Some(&current) = self.epochs.get(&id) else {
            return Verdict::Refuse(
                ResponseError::UnknownProducerId,
                "producer id was not handed out by this broker (InitProducerId first)",
            );
        };
        if epoch < current {
            return Verdict::Refuse(
                ResponseError::InvalidProducerEpoch,
                "producer epoch is older than the producer's current epoch",
            );
        }
        if epoch > current {
            // Only InitProducerId moves epochs; a newer one was never handed out.
            return Verdict::Refuse(
                ResponseError::InvalidProducerEpoch,
                "producer epoch is newer than any this broker handed out",
            );
        }
        let last_sequence = first_sequence.wrapping_add(count - 1);
        let key = (id, partition.0, partition.1);
        let Some(state) = self.sequences.get(&key) else {
            return if first_sequence == 0 {
                Verdict::Append
            } else {
                Verdict::Refuse(
                    ResponseError::OutOfOrderSequenceNumber,
                    "the first batch of a producer epoch must start at sequence 0",
                )
            };
        };
        if let Some(&(_, _, base_offset)) = state
            .batches
            .iter()
            .find(|(first, last, _)| *first == first_sequence && *last == last_sequence)
        {
            return Verdict::Duplicate { base_offset };
        }
        let expected = next(state.batches.back().map_or(-1, |b| b.1));
        if first_sequence == expected {
            Verdict::Append
        } else {
            Verdict::Refuse(
                ResponseError::OutOfOrderSequenceNumber,
                "the batch's base sequence does not follow the last acknowledged one",
            )
        }
    }

    /// Notes the largest timestamp of the batch `id` last appended to `partition`.
    pub(crate) fn stamp(&mut self, id: i64, partition: (uuid::Uuid, u32), timestamp: i64) {
        if let Some(state) = self.sequences.get_mut(&(id, partition.0, partition.1)) {
            state.last_timestamp = timestamp;
        }
    }

    /// The producers that wrote to `partition` in their current epoch, by id.
    pub(crate) fn active(&self, partition: (uuid::Uuid, u32)) -> Vec<ActiveProducer> {
        let mut active: Vec<ActiveProducer> = self
            .sequences
            .iter()
            .filter(|((_, topic, p), _)| (*topic, *p) == partition)
            .filter_map(|((id, _, _), state)| {
                Some(ActiveProducer {
                    id: *id,
                    epoch: state.epoch,
                    last_sequence: state.batches.back()?.1,
                    last_timestamp: state.last_timestamp,
                })
            })
            .collect();
        active.sort_by_key(|p| p.id);
        active
    }

    /// Remembers a batch appended after [`Verdict::Append`].
    pub(crate) fn appended(
        &mut self,
        id: i64,
        epoch: i16,
        partition: (uuid::Uuid, u32),
        first_sequence: i32,
        count: i32,
        base_offset: i64,
    ) {
        let state = self
            .sequences
            .entry((id, partition.0, partition.1))
            .or_insert_with(|| PartitionSequence {
                epoch,
                batches: VecDeque::new(),
                last_timestamp: -1,
            });
        state.epoch = epoch;
        if state.batches.len() == REMEMBERED_BATCHES {
            state.batches.pop_front();
        }
        state.batches.push_back((
            first_sequence,
            first_sequence.wrapping_add(count - 1),
            base_offset,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: (uuid::Uuid, u32) = (uuid::Uuid::nil(), 0);

    fn append(producers: &mut Producers, id: i64, epoch: i16, first: i32, count: i32, base: i64) {
        assert_eq!(producers.check(id, epoch, P, first, count), Verdict::Append);
        producers.appended(id, epoch, P, first, count, base);
    }

    #[test]
    fn in_order_batches_are_appended() {
        let mut producers = Producers::default();
        let (id, epoch) = producers.init();
        append(&mut producers, id, epoch, 0, 3, 0);
        append(&mut producers, id, epoch, 3, 2, 3);
    }

    #[test]
    fn a_retry_of_one_of_the_last_five_batches_is_a_duplicate_with_its_offset() {
        let mut producers = Producers::default();
        let (id, epoch) = producers.init();
        for i in 0..6 {
            append(&mut producers, id, epoch, i * 2, 2, 100 + i64::from(i) * 2);
        }
        assert_eq!(
            producers.check(id, epoch, P, 4, 2),
            Verdict::Duplicate { base_offset: 104 }
        );
        assert_eq!(
            producers.check(id, epoch, P, 10, 2),
            Verdict::Duplicate { base_offset: 110 }
        );
        // The first batch is no longer remembered: it is out of order now.
        assert!(matches!(
            producers.check(id, epoch, P, 0, 2),
            Verdict::Refuse(ResponseError::OutOfOrderSequenceNumber, _)
        ));
    }

    #[test]
    fn a_gap_is_out_of_order() {
        let mut producers = Producers::default();
        let (id, epoch) = producers.init();
        append(&mut producers, id, epoch, 0, 1, 0);
        assert!(matches!(
            producers.check(id, epoch, P, 5, 1),
            Verdict::Refuse(ResponseError::OutOfOrderSequenceNumber, _)
        ));
        assert!(matches!(
            producers.check(id, epoch, (P.0, 1), 3, 1),
            Verdict::Refuse(ResponseError::OutOfOrderSequenceNumber, _)
        ));
    }

    #[test]
    fn a_stale_epoch_is_refused_and_a_bump_restarts_sequences() {
        let mut producers = Producers::default();
        let (id, epoch) = producers.init();
        append(&mut producers, id, epoch, 0, 5, 0);
        let (same, bumped) = producers
            .bump(id, epoch, ResponseError::ProducerFenced)
            .unwrap();
        assert_eq!((same, bumped), (id, 1));
        assert!(matches!(
            producers.check(id, 0, P, 5, 1),
            Verdict::Refuse(ResponseError::InvalidProducerEpoch, _)
        ));
        append(&mut producers, id, 1, 0, 1, 5);
        assert_eq!(
            producers.bump(id, 0, ResponseError::ProducerFenced),
            Err(ResponseError::ProducerFenced)
        );
    }

    #[test]
    fn unknown_producers_are_refused() {
        let mut producers = Producers::default();
        assert!(matches!(
            producers.check(42, 0, P, 0, 1),
            Verdict::Refuse(ResponseError::UnknownProducerId, _)
        ));
        assert_eq!(
            producers.bump(42, 0, ResponseError::ProducerFenced),
            Err(ResponseError::InvalidProducerIdMapping)
        );
    }

    #[test]
    fn a_registered_epoch_restarts_sequences_and_fences_older_ones() {
        let mut producers = Producers::default();
        let id = producers.allocate();
        assert_ne!(producers.init().0, id, "one id space");
        producers.register(id, 0);
        append(&mut producers, id, 0, 0, 3, 0);
        producers.register(id, 1);
        assert!(matches!(
            producers.check(id, 0, P, 3, 1),
            Verdict::Refuse(ResponseError::InvalidProducerEpoch, _)
        ));
        append(&mut producers, id, 1, 0, 1, 3);
    }

    #[test]
    fn a_replayed_producer_keeps_its_epoch_and_batches_and_its_id_is_not_handed_out_again() {
        let mut producers = Producers::default();
        producers.replayed(1005, 2);
        producers.appended(1005, 2, P, 0, 3, 40);
        producers.replayed(1005, 1);
        assert_eq!(
            producers.check(1005, 2, P, 0, 3),
            Verdict::Duplicate { base_offset: 40 }
        );
        assert_eq!(producers.check(1005, 2, P, 3, 1), Verdict::Append);
        assert!(matches!(
            producers.check(1005, 1, P, 3, 1),
            Verdict::Refuse(ResponseError::InvalidProducerEpoch, _)
        ));
        assert_eq!(producers.init(), (1006, 0));
    }

    #[test]
    fn sequences_wrap_after_i32_max() {
        let mut producers = Producers::default();
        let (id, epoch) = producers.init();
        producers.appended(id, epoch, P, i32::MAX - 1, 2, 1);
        assert_eq!(producers.check(id, epoch, P, 0, 1), Verdict::Append);
    }
}

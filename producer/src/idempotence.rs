//! The idempotent producer's state machine: its producer id and epoch, the
//! sequence each partition's next batch gets, and what the broker has
//! acknowledged, with the transitions between them.
//!
//! Pure: no sockets, no tasks. The sender asks it which sequence a batch
//! gets, tells it what was acknowledged, asks it what a sequence error
//! means, and, once a broker granted a new epoch (InitProducerId, KIP-360),
//! tells it so, which restarts every partition's sequences at 0.

use std::collections::HashMap;
use std::sync::Arc;

use kafka_protocol::ResponseError;
use kafka_protocol::error::ParseResponseErrorCode;

/// A batch's producer id, epoch and base sequence, as its header carries them.
pub(crate) type Sequence = (i64, i16, i32);

/// The sequence errors a broker answers an idempotent batch with, which the
/// producer handles itself (as the Java client does).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SequenceError {
    /// OUT_OF_ORDER_SEQUENCE_NUMBER: the batch is not the one the broker expected next.
    OutOfOrder,
    /// UNKNOWN_PRODUCER_ID: the broker lost track of this producer (its records expired).
    UnknownProducerId,
}

impl SequenceError {
    /// The sequence error a Kafka error code stands for, if it is one.
    pub(crate) fn from_code(code: i16) -> Option<SequenceError> {
        match code.err() {
            Some(ResponseError::OutOfOrderSequenceNumber) => Some(SequenceError::OutOfOrder),
            Some(ResponseError::UnknownProducerId) => Some(SequenceError::UnknownProducerId),
            _ => None,
        }
    }

    /// The Kafka error code of this error.
    pub(crate) fn code(self) -> i16 {
        match self {
            SequenceError::OutOfOrder => ResponseError::OutOfOrderSequenceNumber.code(),
            SequenceError::UnknownProducerId => ResponseError::UnknownProducerId.code(),
        }
    }
}

/// What to do with a batch the broker refused with a [`SequenceError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SequenceAction {
    /// An earlier batch of the partition is still unacknowledged and this one
    /// only failed because that one did: resend it, as it is, after that one.
    ResendAfterEarlier,
    /// The broker lost track of the producer: bump the epoch, restart every
    /// partition's sequences at 0 and resend the batch under the new epoch.
    BumpEpoch,
}

/// Where an epoch bump starts from (see [`Idempotence::bump_from`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BumpStart {
    /// The epoch already moved past the one seen: nothing to ask.
    AlreadyPast,
    /// Ask the broker to bump this producer id and epoch.
    Ask {
        /// The current producer id.
        producer_id: i64,
        /// The current epoch.
        epoch: i16,
    },
}

/// Idempotent-producer state: the producer id and epoch, and per-partition sequences.
#[derive(Debug)]
pub(crate) struct Idempotence {
    producer_id: i64,
    epoch: i16,
    /// The sequence the next new batch of a partition gets.
    next_sequence: HashMap<(Arc<str>, u32), i32>,
    /// The sequence the broker expects next for a partition (all before it acknowledged).
    acknowledged: HashMap<(Arc<str>, u32), i32>,
}

/// `base` moved on by `records`, wrapping at `i32::MAX` as Kafka sequences do.
#[inline]
fn after(base: i32, records: usize) -> i32 {
    base.wrapping_add(records as i32) & i32::MAX
}

impl Idempotence {
    /// The state right after InitProducerId granted `producer_id` and `epoch`:
    /// every partition starts at sequence 0.
    pub(crate) fn new(producer_id: i64, epoch: i16) -> Self {
        Idempotence {
            producer_id,
            epoch,
            next_sequence: HashMap::new(),
            acknowledged: HashMap::new(),
        }
    }

    /// The epoch batches are sent under.
    pub(crate) fn epoch(&self) -> i16 {
        self.epoch
    }

    /// The sequence of a new batch of `records` records of a partition: the
    /// partition's next sequence, which moves on past the batch.
    #[inline]
    pub(crate) fn assign(&mut self, topic: &Arc<str>, partition: u32, records: usize) -> Sequence {
        let (id, epoch) = (self.producer_id, self.epoch);
        let next = self
            .next_sequence
            .entry((topic.clone(), partition))
            .or_insert(0);
        let base = *next;
        *next = after(base, records);
        (id, epoch, base)
    }

    /// The broker stored a batch of `records` records sent with `sequence`:
    /// it now expects the sequence after it. An acknowledgement for an older
    /// epoch changes nothing.
    #[inline]
    pub(crate) fn acknowledged(
        &mut self,
        topic: &Arc<str>,
        partition: u32,
        sequence: Sequence,
        records: usize,
    ) {
        let (_, epoch, base) = sequence;
        if self.epoch == epoch {
            self.acknowledged
                .insert((topic.clone(), partition), after(base, records));
        }
    }

    /// What a [`SequenceError`] for a batch sent with `sequence` means.
    ///
    /// OUT_OF_ORDER_SEQUENCE_NUMBER for a batch of the current epoch that is
    /// not the one the broker expects next (an earlier one is unacknowledged)
    /// is that earlier batch's failure: resend after it. Anything else means
    /// the broker lost track of the producer: bump the epoch.
    pub(crate) fn on_sequence_error(
        &self,
        topic: &Arc<str>,
        partition: u32,
        sequence: Option<Sequence>,
        error: SequenceError,
    ) -> SequenceAction {
        let expected = self
            .acknowledged
            .get(&(topic.clone(), partition))
            .copied()
            .unwrap_or(0);
        let behind_another =
            sequence.is_some_and(|(_, epoch, base)| epoch == self.epoch && base != expected);
        if behind_another && error == SequenceError::OutOfOrder {
            SequenceAction::ResendAfterEarlier
        } else {
            SequenceAction::BumpEpoch
        }
    }

    /// Whether the epoch moved past `seen` (a batch sent under `seen` is stale).
    pub(crate) fn moved_past(&self, seen: Option<i16>) -> bool {
        seen.is_some_and(|seen| seen < self.epoch)
    }

    /// How a bump asked for by someone who saw epoch `seen` starts: not at all
    /// when another bump already moved the epoch past it.
    pub(crate) fn bump_from(&self, seen: Option<i16>) -> BumpStart {
        if self.moved_past(seen) {
            BumpStart::AlreadyPast
        } else {
            BumpStart::Ask {
                producer_id: self.producer_id,
                epoch: self.epoch,
            }
        }
    }

    /// A broker granted a new producer id and epoch: every partition's
    /// sequences restart at 0, and nothing is acknowledged under it yet.
    /// (A bump that failed calls nothing: the state stays as it was.)
    pub(crate) fn bumped(&mut self, producer_id: i64, epoch: i16) {
        self.producer_id = producer_id;
        self.epoch = epoch;
        self.next_sequence.clear();
        self.acknowledged.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic() -> Arc<str> {
        Arc::from("t")
    }

    #[test]
    fn a_new_producer_starts_every_partition_at_sequence_zero() {
        let mut state = Idempotence::new(1000, 3);
        assert_eq!((state.producer_id, state.epoch()), (1000, 3));
        assert_eq!(state.assign(&topic(), 0, 5), (1000, 3, 0));
        assert_eq!(state.assign(&topic(), 1, 2), (1000, 3, 0));
        assert_eq!(state.assign(&Arc::from("other"), 0, 1), (1000, 3, 0));
    }

    #[test]
    fn each_batch_of_a_partition_starts_where_the_last_one_ended() {
        let mut state = Idempotence::new(1, 0);
        assert_eq!(state.assign(&topic(), 0, 5), (1, 0, 0));
        assert_eq!(state.assign(&topic(), 0, 3), (1, 0, 5));
        assert_eq!(state.assign(&topic(), 0, 1), (1, 0, 8));
        assert_eq!(state.assign(&topic(), 1, 1), (1, 0, 0), "per partition");
    }

    #[test]
    fn sequences_wrap_at_i32_max() {
        let mut state = Idempotence::new(1, 0);
        state.next_sequence.insert((topic(), 0), i32::MAX - 1);
        assert_eq!(state.assign(&topic(), 0, 3).2, i32::MAX - 1);
        assert_eq!(state.assign(&topic(), 0, 1).2, 1, "MAX - 1 + 3 wraps to 1");
    }

    #[test]
    fn sequence_errors_are_read_from_kafka_codes() {
        for error in [SequenceError::OutOfOrder, SequenceError::UnknownProducerId] {
            assert_eq!(SequenceError::from_code(error.code()), Some(error));
        }
        assert_eq!(
            SequenceError::from_code(ResponseError::OutOfOrderSequenceNumber.code()),
            Some(SequenceError::OutOfOrder)
        );
        assert_eq!(SequenceError::from_code(0), None);
        assert_eq!(
            SequenceError::from_code(ResponseError::InvalidProducerEpoch.code()),
            None
        );
    }

    #[test]
    fn out_of_order_behind_an_unacknowledged_batch_waits_for_it() {
        let mut state = Idempotence::new(1, 0);
        let first = state.assign(&topic(), 0, 5);
        let second = state.assign(&topic(), 0, 5);
        // Nothing acknowledged: the broker expects 0, the second batch starts at 5.
        assert_eq!(
            state.on_sequence_error(&topic(), 0, Some(second), SequenceError::OutOfOrder),
            SequenceAction::ResendAfterEarlier
        );
        // The first batch itself refused: the broker lost track of the producer.
        assert_eq!(
            state.on_sequence_error(&topic(), 0, Some(first), SequenceError::OutOfOrder),
            SequenceAction::BumpEpoch
        );
        // Once the first is acknowledged, the second is the one expected: a refusal means a bump.
        state.acknowledged(&topic(), 0, first, 5);
        assert_eq!(
            state.on_sequence_error(&topic(), 0, Some(second), SequenceError::OutOfOrder),
            SequenceAction::BumpEpoch
        );
    }

    #[test]
    fn unknown_producer_id_always_bumps_the_epoch() {
        let mut state = Idempotence::new(1, 0);
        let _first = state.assign(&topic(), 0, 5);
        let second = state.assign(&topic(), 0, 5);
        assert_eq!(
            state.on_sequence_error(&topic(), 0, Some(second), SequenceError::UnknownProducerId),
            SequenceAction::BumpEpoch
        );
    }

    #[test]
    fn a_batch_of_an_older_epoch_is_never_waited_for() {
        let mut state = Idempotence::new(1, 0);
        let _first = state.assign(&topic(), 0, 5);
        let old = state.assign(&topic(), 0, 5);
        state.bumped(1, 1);
        assert_eq!(
            state.on_sequence_error(&topic(), 0, Some(old), SequenceError::OutOfOrder),
            SequenceAction::BumpEpoch
        );
        assert_eq!(
            state.on_sequence_error(&topic(), 0, None, SequenceError::OutOfOrder),
            SequenceAction::BumpEpoch,
            "a batch without a sequence"
        );
    }

    #[test]
    fn a_bump_restarts_every_partitions_sequences_under_the_new_epoch() {
        let mut state = Idempotence::new(7, 2);
        let first = state.assign(&topic(), 0, 5);
        state.assign(&topic(), 1, 5);
        state.acknowledged(&topic(), 0, first, 5);
        assert_eq!(
            state.bump_from(Some(2)),
            BumpStart::Ask {
                producer_id: 7,
                epoch: 2
            }
        );
        state.bumped(7, 3);
        assert_eq!(state.epoch(), 3);
        assert_eq!(state.assign(&topic(), 0, 1), (7, 3, 0));
        assert_eq!(state.assign(&topic(), 1, 1), (7, 3, 0));
        assert!(state.acknowledged.is_empty());
        // A new producer id (the bump was refused and InitProducerId asked afresh) too.
        state.bumped(8, 0);
        assert_eq!(state.assign(&topic(), 0, 1), (8, 0, 0));
    }

    #[test]
    fn a_bump_asked_for_an_epoch_already_left_behind_asks_nothing() {
        let mut state = Idempotence::new(7, 2);
        state.bumped(7, 3);
        assert!(state.moved_past(Some(2)), "a batch sent under 2 is stale");
        assert!(!state.moved_past(Some(3)));
        assert!(!state.moved_past(None));
        assert_eq!(state.bump_from(Some(2)), BumpStart::AlreadyPast);
        assert_eq!(
            state.bump_from(Some(3)),
            BumpStart::Ask {
                producer_id: 7,
                epoch: 3
            }
        );
        assert_eq!(
            state.bump_from(None),
            BumpStart::Ask {
                producer_id: 7,
                epoch: 3
            },
            "a gap without a known epoch always bumps"
        );
    }

    #[test]
    fn a_failed_bump_leaves_sequences_and_acknowledgements_as_they_were() {
        let mut state = Idempotence::new(7, 2);
        let first = state.assign(&topic(), 0, 5);
        let second = state.assign(&topic(), 0, 5);
        state.acknowledged(&topic(), 0, first, 5);
        // The bump is asked for but the broker cannot be reached: `bumped` is never called.
        assert!(matches!(state.bump_from(Some(2)), BumpStart::Ask { .. }));
        // The batch keeps its sequence (it must not be appended twice under
        // one epoch), and new batches go on after it.
        assert_eq!(state.epoch(), 2);
        assert_eq!(state.assign(&topic(), 0, 1), (7, 2, 10));
        assert_eq!(
            state.on_sequence_error(&topic(), 0, Some(second), SequenceError::OutOfOrder),
            SequenceAction::BumpEpoch,
            "the kept batch is the one expected next"
        );
    }

    #[test]
    fn acknowledgements_of_an_older_epoch_are_ignored() {
        let mut state = Idempotence::new(7, 2);
        let old = state.assign(&topic(), 0, 5);
        state.bumped(7, 3);
        state.acknowledged(&topic(), 0, old, 5);
        assert!(state.acknowledged.is_empty());
        let new = state.assign(&topic(), 0, 5);
        state.acknowledged(&topic(), 0, new, 5);
        assert_eq!(state.acknowledged[&(topic(), 0)], 5);
    }
}

//! The delivery audit: which messages, by id, the broker recorded, compared
//! with those the producers were told were acknowledged.
//!
//! Pure arithmetic over records already read: [`target`](crate::target) reads
//! them from the broker, and the outcome is an [`Audit`] in the run's result. Every phase counts, warmups included, since the
//! broker holds them all.

use std::collections::HashMap;

use crate::message_id::MessageId;

/// A set of sequence numbers of one producer instance, one bit each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SequenceSet {
    words: Vec<u64>,
}

impl SequenceSet {
    /// An empty set.
    pub fn new() -> Self {
        SequenceSet::default()
    }

    /// Adds `sequence`; returns whether it was new.
    pub fn insert(&mut self, sequence: u64) -> bool {
        let (word, bit) = Self::position(sequence);
        if self.words.len() <= word {
            self.words.resize(word + 1, 0);
        }
        let new = self.words[word] & bit == 0;
        self.words[word] |= bit;
        new
    }

    /// Whether `sequence` is in the set.
    pub fn contains(&self, sequence: u64) -> bool {
        let (word, bit) = Self::position(sequence);
        self.words.get(word).is_some_and(|w| w & bit != 0)
    }

    /// How many sequences the set holds.
    pub fn len(&self) -> u64 {
        self.words.iter().map(|w| u64::from(w.count_ones())).sum()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// Adds every sequence of `other`.
    pub fn union(&mut self, other: &SequenceSet) {
        if self.words.len() < other.words.len() {
            self.words.resize(other.words.len(), 0);
        }
        for (mine, theirs) in self.words.iter_mut().zip(&other.words) {
            *mine |= theirs;
        }
    }

    /// Removes every sequence from `first` on; how many there were.
    fn remove_from(&mut self, first: u64) -> u64 {
        let mut removed = 0;
        let (word, _) = Self::position(first);
        if let Some(partial) = self.words.get_mut(word) {
            let keep = (1u64 << (first % 64)) - 1;
            removed += u64::from((*partial & !keep).count_ones());
            *partial &= keep;
        }
        for later in self.words.iter_mut().skip(word + 1) {
            removed += u64::from(later.count_ones());
            *later = 0;
        }
        removed
    }

    /// How many sequences of this set `other` does not hold.
    fn difference_len(&self, other: &SequenceSet) -> u64 {
        self.words
            .iter()
            .enumerate()
            .map(|(i, mine)| {
                let theirs = other.words.get(i).copied().unwrap_or(0);
                u64::from((mine & !theirs).count_ones())
            })
            .sum()
    }

    fn position(sequence: u64) -> (usize, u64) {
        let word = usize::try_from(sequence / 64).expect("a sequence of a message sent in memory");
        (word, 1 << (sequence % 64))
    }
}

/// What the producers sent and were told was acknowledged, per producer instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acknowledged {
    /// Indexed by producer instance: the sequences acknowledged.
    pub acked: Vec<SequenceSet>,
    /// Indexed by producer instance: how many messages it sent (its next sequence).
    pub sent: Vec<u64>,
}

impl Acknowledged {
    /// Acknowledged messages of every instance.
    pub fn count(&self) -> u64 {
        self.acked.iter().map(SequenceSet::len).sum()
    }

    /// Whether `id` could be a message of this run: an instance that exists and a sequence it sent.
    fn sent(&self, id: MessageId) -> bool {
        usize::try_from(id.producer)
            .ok()
            .and_then(|p| self.sent.get(p))
            .is_some_and(|&sent| id.sequence < sent)
    }
}

/// One record the broker holds, as far as the audit cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeenRecord<'a> {
    /// Its partition.
    pub partition: u32,
    /// Its value; `None` for a null value.
    pub value: Option<&'a [u8]>,
}

/// The audit's numbers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Records of the topic the broker holds, foreign ones included.
    pub recorded: u64,
    /// Messages acknowledged to the producers, in every phase.
    pub acked: u64,
    /// Acknowledged messages of which the broker holds no copy.
    pub lost: u64,
    /// Copies beyond the first of each message the broker holds (every extra copy counts).
    pub duplicates: u64,
    /// Records whose sequence is lower than that of the same producer's previous record in the same partition.
    pub reordered: u64,
    /// Messages the broker holds (counted once each) that were never acknowledged.
    pub unacknowledged_recorded: u64,
    /// Records that are not messages of this run (too short, null, or an id no producer sent); skipped.
    pub foreign: u64,
}

impl Counts {
    /// Whether nothing was lost, duplicated or reordered.
    pub fn ok(&self) -> bool {
        self.lost == 0 && self.duplicates == 0 && self.reordered == 0
    }
}

/// Audits `records` against `acknowledged`. Reordering is judged in the
/// order given, which must be offset order within each partition (partitions
/// may come one after another or interleaved).
pub fn audit<'a>(
    acknowledged: &Acknowledged,
    records: impl IntoIterator<Item = SeenRecord<'a>>,
) -> Counts {
    let mut tally = Tally::new(acknowledged.sent.len());
    for record in records {
        tally.observe(record);
    }
    tally.finish(acknowledged)
}

/// The audit kept as records are read, before the run's acknowledgements are
/// all known: what [`audit`] does in one go, fed record by record, so that the
/// records can be dropped once seen (the embedded broker's log is trimmed as
/// it is read on long runs). It keeps one bit per message id seen.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    recorded: u64,
    foreign: u64,
    /// Per producer instance: its records lower than its previous one in their partition.
    reordered: Vec<u64>,
    /// Per producer instance: the sequences seen.
    seen: Vec<SequenceSet>,
    /// Ids seen more than once, once per extra copy.
    duplicates: Vec<MessageId>,
    /// (partition, producer) → the last sequence seen there.
    last: HashMap<(u32, u32), u64>,
}

impl Tally {
    /// A tally for a run of `producers` producer instances.
    pub fn new(producers: usize) -> Tally {
        Tally {
            seen: vec![SequenceSet::new(); producers],
            reordered: vec![0; producers],
            ..Tally::default()
        }
    }

    /// How many records it has seen.
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// Counts one record; records of a partition must come in offset order.
    pub fn observe(&mut self, record: SeenRecord<'_>) {
        self.recorded += 1;
        let id = record.value.and_then(MessageId::parse);
        let Some(id) = id.filter(|id| (id.producer as usize) < self.seen.len()) else {
            self.foreign += 1;
            return;
        };
        if !self.seen[id.producer as usize].insert(id.sequence) {
            self.duplicates.push(id);
        }
        let previous = self
            .last
            .insert((record.partition, id.producer), id.sequence);
        if previous.is_some_and(|previous| id.sequence < previous) {
            self.reordered[id.producer as usize] += 1;
        }
    }

    /// The counts, now that `acknowledged` says what was sent and acknowledged:
    /// ids no producer sent count as foreign.
    pub fn finish(mut self, acknowledged: &Acknowledged) -> Counts {
        let mut counts = Counts {
            recorded: self.recorded,
            acked: acknowledged.count(),
            foreign: self.foreign,
            ..Counts::default()
        };
        // Only this run's instances: another shard's messages are foreign here.
        for (producer, reordered) in self.reordered.iter().enumerate() {
            if acknowledged
                .sent
                .get(producer)
                .is_some_and(|&sent| sent > 0)
            {
                counts.reordered += reordered;
            }
        }
        for id in &self.duplicates {
            if acknowledged.sent(*id) {
                counts.duplicates += 1;
            } else {
                counts.foreign += 1;
            }
        }
        let empty = SequenceSet::new();
        for (producer, seen) in self.seen.iter_mut().enumerate() {
            let sent = acknowledged.sent.get(producer).copied().unwrap_or(0);
            counts.foreign += seen.remove_from(sent);
            let acked = acknowledged.acked.get(producer).unwrap_or(&empty);
            counts.lost += acked.difference_len(seen);
            counts.unacknowledged_recorded += seen.difference_len(acked);
        }
        counts
    }
}

/// The delivery audit's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audit {
    /// The broker's records of the topic were read and checked by message id.
    Checked {
        /// The topic read.
        topic: String,
        /// Where the records were read, as shown to the user (`the embedded broker`).
        source: String,
        /// The numbers.
        counts: Counts,
    },
    /// The records could not be read; why.
    Unavailable(String),
    /// Nothing was read because no admin API is known for the external
    /// broker; why. The audit's thresholds do not apply then, unless
    /// `--strict-audit` makes them fail.
    NotConfigured(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::payload::ValueBuilder;

    /// Producer instances that sent `sent[p]` messages, of which `acked[p]` were acknowledged.
    fn acknowledged(acked: &[&[u64]], sent: &[u64]) -> Acknowledged {
        Acknowledged {
            acked: acked
                .iter()
                .map(|sequences| {
                    let mut set = SequenceSet::new();
                    for &s in *sequences {
                        set.insert(s);
                    }
                    set
                })
                .collect(),
            sent: sent.to_vec(),
        }
    }

    /// Records of messages `(partition, producer, sequence)`, in offset order.
    fn records(messages: &[(u32, u32, u64)]) -> Vec<(u32, bytes::Bytes)> {
        let mut builder = ValueBuilder::new();
        messages
            .iter()
            .map(|&(partition, producer, sequence)| {
                (
                    partition,
                    builder.value(MessageId { producer, sequence }, 20),
                )
            })
            .collect()
    }

    fn run(acknowledged: &Acknowledged, records: &[(u32, bytes::Bytes)]) -> Counts {
        audit(
            acknowledged,
            records.iter().map(|(partition, value)| SeenRecord {
                partition: *partition,
                value: Some(value),
            }),
        )
    }

    #[test]
    fn a_sequence_set_counts_unions_and_grows() {
        let mut a = SequenceSet::new();
        assert!(a.is_empty());
        assert!(a.insert(0));
        assert!(a.insert(200));
        assert!(!a.insert(200), "already there");
        let mut b = SequenceSet::new();
        b.insert(63);
        b.insert(1000);
        a.union(&b);
        assert_eq!(a.len(), 4);
        assert!(a.contains(1000) && a.contains(63) && !a.contains(64));
    }

    #[test]
    fn every_acknowledged_message_recorded_once_in_order_is_ok() {
        let acked = acknowledged(&[&[0, 1, 2], &[0, 1]], &[3, 2]);
        let counts = run(
            &acked,
            &records(&[(0, 0, 0), (1, 1, 0), (0, 0, 1), (1, 0, 2), (0, 1, 1)]),
        );
        assert_eq!(
            counts,
            Counts {
                recorded: 5,
                acked: 5,
                ..Counts::default()
            }
        );
        assert!(counts.ok());
    }

    #[test]
    fn an_acknowledged_message_missing_is_lost_even_when_another_is_duplicated() {
        // The count-based audit saw 3 records for 3 acknowledgements: ok. By id it is not.
        let acked = acknowledged(&[&[0, 1, 2]], &[3]);
        let counts = run(&acked, &records(&[(0, 0, 0), (0, 0, 1), (0, 0, 1)]));
        assert_eq!((counts.lost, counts.duplicates), (1, 1));
        assert!(!counts.ok());
    }

    #[test]
    fn every_extra_copy_is_a_duplicate_wherever_it_lands() {
        let acked = acknowledged(&[&[0, 1]], &[2]);
        let counts = run(
            &acked,
            &records(&[(0, 0, 0), (1, 0, 0), (0, 0, 0), (0, 0, 1)]),
        );
        assert_eq!((counts.lost, counts.duplicates, counts.recorded), (0, 2, 4));
    }

    #[test]
    fn reordering_counts_records_lower_than_the_producers_previous_in_the_partition() {
        let acked = acknowledged(&[&[0, 1, 2, 3], &[0, 1]], &[4, 2]);
        let counts = run(
            &acked,
            &records(&[
                // Partition 0: producer 0 sends 2, 0, 1: 0 is lower than 2, 1 is not lower than 0.
                (0, 0, 2),
                (0, 1, 1),
                (0, 0, 0),
                (0, 1, 0),
                (0, 0, 1),
                // Partition 1: producer 0's 3 after its 2 in partition 0 is not compared with it.
                (1, 0, 3),
            ]),
        );
        assert_eq!(counts.reordered, 2, "producer 0's 0 and producer 1's 0");
        assert_eq!((counts.lost, counts.duplicates), (0, 0));
    }

    #[test]
    fn another_shards_messages_are_foreign_and_their_order_is_not_judged() {
        // Shard 2 of 2 runs instance 1 of 2; instance 0 belongs to shard 1.
        let acked = acknowledged(&[&[], &[0, 1]], &[0, 2]);
        let counts = run(
            &acked,
            &records(&[(0, 0, 1), (0, 1, 0), (0, 0, 0), (0, 1, 1), (0, 0, 1)]),
        );
        assert_eq!(
            counts,
            Counts {
                recorded: 5,
                acked: 2,
                foreign: 3,
                ..Counts::default()
            }
        );
    }

    #[test]
    fn a_duplicate_after_later_messages_is_also_reordered() {
        let acked = acknowledged(&[&[0, 1]], &[2]);
        let counts = run(&acked, &records(&[(0, 0, 0), (0, 0, 1), (0, 0, 0)]));
        assert_eq!((counts.duplicates, counts.reordered), (1, 1));
    }

    #[test]
    fn recorded_messages_never_acknowledged_are_counted_once_and_not_lost() {
        // acks = 0, or a send that timed out although the broker stored it.
        let acked = acknowledged(&[&[0]], &[3]);
        let counts = run(&acked, &records(&[(0, 0, 0), (0, 0, 1), (0, 0, 1)]));
        assert_eq!(
            (
                counts.unacknowledged_recorded,
                counts.duplicates,
                counts.lost
            ),
            (1, 1, 0)
        );
    }

    #[test]
    fn values_that_are_not_messages_of_this_run_are_skipped_and_counted() {
        let acked = acknowledged(&[&[0]], &[1]);
        let message = records(&[(0, 0, 0), (0, 0, 5), (0, 7, 0)]);
        let counts = audit(
            &acked,
            [
                SeenRecord {
                    partition: 0,
                    value: Some(b"{\"amount\":42}"),
                },
                SeenRecord {
                    partition: 0,
                    value: None,
                },
                SeenRecord {
                    partition: 0,
                    value: Some(&message[0].1),
                },
                // A sequence producer 0 never sent, and a producer that does not exist.
                SeenRecord {
                    partition: 0,
                    value: Some(&message[1].1),
                },
                SeenRecord {
                    partition: 0,
                    value: Some(&message[2].1),
                },
            ],
        );
        assert_eq!(
            counts,
            Counts {
                recorded: 5,
                acked: 1,
                foreign: 4,
                ..Counts::default()
            }
        );
    }
}

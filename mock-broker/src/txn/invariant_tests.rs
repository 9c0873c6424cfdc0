//! Random request sequences against the coordinator, with the glue's part
//! played faithfully, checking what must hold whatever clients do: epochs never
//! go back, markers cover exactly the partitions that took batches, a
//! transaction ends once and one way, and its offsets are committed only by a commit.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use proptest::prelude::*;

use super::test_support::{offset, pe, tp};
use super::{
    Completion, EndTxnOutcome, InitOutcome, ProducerIdAndEpoch, TopicPartition, TxnCoordinator,
    TxnVersion,
};

const IDS: [&str; 2] = ["a", "b"];

/// Which producer a request claims to be.
#[derive(Debug, Clone)]
enum Who {
    /// The last producer handed out for the id.
    Current,
    /// The one before it (usually fenced).
    Previous,
    /// Anything.
    Other(i64, i16),
}

/// One step of a client (or of time).
#[derive(Debug, Clone)]
enum Op {
    Init {
        id: usize,
        kip360: Option<Who>,
    },
    Add {
        id: usize,
        who: Who,
        partitions: Vec<i32>,
    },
    Produce {
        id: usize,
        who: Who,
        partition: i32,
        implicit: bool,
    },
    AddOffsets {
        id: usize,
        who: Who,
    },
    CommitOffset {
        id: usize,
        who: Who,
        partition: i32,
        offset: i64,
        implicit: bool,
    },
    End {
        id: usize,
        who: Who,
        commit: bool,
        v2: bool,
    },
    MarkersWritten {
        id: usize,
    },
    Advance {
        ms: i64,
    },
}

fn who() -> impl Strategy<Value = Who> {
    prop_oneof![
        6 => Just(Who::Current),
        1 => Just(Who::Previous),
        1 => (1000i64..1010, -1i16..4).prop_map(|(id, epoch)| Who::Other(id, epoch)),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let id = 0..IDS.len();
    prop_oneof![
        2 => (id.clone(), proptest::option::weighted(0.3, who()))
            .prop_map(|(id, kip360)| Op::Init { id, kip360 }),
        4 => (id.clone(), who(), proptest::collection::vec(0i32..3, 1..3))
            .prop_map(|(id, who, partitions)| Op::Add { id, who, partitions }),
        3 => (id.clone(), who(), 0i32..3, any::<bool>())
            .prop_map(|(id, who, partition, implicit)| Op::Produce { id, who, partition, implicit }),
        1 => (id.clone(), who()).prop_map(|(id, who)| Op::AddOffsets { id, who }),
        2 => (id.clone(), who(), 0i32..2, 0i64..100, any::<bool>()).prop_map(
            |(id, who, partition, offset, implicit)| Op::CommitOffset { id, who, partition, offset, implicit }
        ),
        3 => (id.clone(), who(), any::<bool>(), any::<bool>())
            .prop_map(|(id, who, commit, v2)| Op::End { id, who, commit, v2 }),
        3 => id.prop_map(|id| Op::MarkersWritten { id }),
        2 => (0i64..40_000).prop_map(|ms| Op::Advance { ms }),
    ]
}

/// The glue and a model of what each transaction should contain.
struct World {
    coordinator: TxnCoordinator,
    next_id: i64,
    now_ms: i64,
    /// Producers handed out per id, oldest first.
    handed_out: HashMap<usize, Vec<ProducerIdAndEpoch>>,
    /// Partitions that joined each id's open transaction.
    added: HashMap<usize, BTreeSet<TopicPartition>>,
    /// Offsets committed in each id's open transaction: (group, partition) → offset.
    staged: HashMap<usize, BTreeMap<TopicPartition, i64>>,
    /// Completions whose markers are not written yet.
    pending: HashMap<usize, Completion>,
    /// Per id, the producer ids it has held and the last (id, epoch) seen.
    seen: HashMap<usize, (HashSet<i64>, ProducerIdAndEpoch)>,
}

impl World {
    fn new() -> World {
        World {
            coordinator: TxnCoordinator::default(),
            next_id: 1000,
            now_ms: 0,
            handed_out: HashMap::new(),
            added: HashMap::new(),
            staged: HashMap::new(),
            pending: HashMap::new(),
            seen: HashMap::new(),
        }
    }

    fn producer(&self, id: usize, who: &Who) -> ProducerIdAndEpoch {
        let handed = self.handed_out.get(&id).map(Vec::as_slice).unwrap_or(&[]);
        match who {
            Who::Current => handed.last().copied().unwrap_or(pe(1, 0)),
            Who::Previous => handed.len().checked_sub(2).map_or(pe(1, 0), |i| handed[i]),
            Who::Other(pid, epoch) => pe(*pid, *epoch),
        }
    }

    fn id_of(transactional_id: &str) -> usize {
        IDS.iter().position(|id| *id == transactional_id).unwrap()
    }

    /// The glue receives a completion: it must cover exactly what the model says.
    fn completed(&mut self, completion: Completion) {
        let id = World::id_of(&completion.transactional_id);
        assert!(
            !self.pending.contains_key(&id),
            "a second completion for {id} before the first one's markers were written"
        );
        let added = self.added.remove(&id).unwrap_or_default();
        let marked: BTreeSet<_> = completion
            .markers
            .iter()
            .map(|m| tp(&m.topic, m.partition))
            .collect();
        assert_eq!(
            marked.len(),
            completion.markers.len(),
            "one marker per partition"
        );
        assert_eq!(marked, added, "markers for exactly the partitions added");
        assert!(
            completion
                .markers
                .iter()
                .all(|m| m.commit == completion.commit)
        );
        let staged = self.staged.remove(&id).unwrap_or_default();
        let offsets: BTreeMap<_, _> = completion
            .offsets
            .iter()
            .flat_map(|g| g.offsets.iter().map(|(tp, o)| (tp.clone(), o.offset)))
            .collect();
        if completion.commit {
            assert_eq!(offsets, staged, "a commit hands out the offsets staged");
        } else {
            assert!(offsets.is_empty(), "an abort discards offsets");
        }
        self.handed_out
            .entry(id)
            .or_default()
            .push(completion.producer);
        self.pending.insert(id, completion);
    }

    fn apply(&mut self, op: &Op) {
        let now = self.now_ms;
        match op {
            Op::Init { id, kip360 } => {
                let expected = kip360.as_ref().map(|w| self.producer(*id, w));
                let next_id = &mut self.next_id;
                let mut alloc = || {
                    *next_id += 1;
                    *next_id
                };
                let outcome = self.coordinator.init_producer_id(
                    now,
                    IDS[*id],
                    60_000,
                    expected.filter(|e| e.epoch >= 0),
                    &mut alloc,
                );
                match outcome {
                    Ok(InitOutcome::Ready(p)) => {
                        self.handed_out.entry(*id).or_default().push(p);
                    }
                    Ok(InitOutcome::Aborting(completion)) => self.completed(completion),
                    Err(_) => {}
                }
            }
            Op::Add {
                id,
                who,
                partitions,
            } => {
                let producer = self.producer(*id, who);
                let tps: Vec<_> = partitions.iter().map(|&p| tp("t", p)).collect();
                if self
                    .coordinator
                    .add_partitions(now, IDS[*id], producer, tps.clone())
                    .is_ok()
                {
                    self.added.entry(*id).or_default().extend(tps);
                }
            }
            Op::Produce {
                id,
                who,
                partition,
                implicit,
            } => {
                let producer = self.producer(*id, who);
                let partition = tp("t", *partition);
                let accepted = self
                    .coordinator
                    .check_produce(now, producer, &partition, *implicit)
                    .is_ok();
                if accepted {
                    let owner = self.seen.iter().find_map(|(id, (ids, _))| {
                        ids.contains(&producer.producer_id).then_some(*id)
                    });
                    let owner = owner.expect("an accepted batch's producer id belongs to an id");
                    let added = self.added.entry(owner).or_default();
                    assert!(
                        *implicit || added.contains(&partition),
                        "a batch accepted for a partition never added"
                    );
                    added.insert(partition);
                }
            }
            Op::AddOffsets { id, who } => {
                let producer = self.producer(*id, who);
                let _ = self.coordinator.add_offsets(now, IDS[*id], producer, "g");
            }
            Op::CommitOffset {
                id,
                who,
                partition,
                offset: at,
                implicit,
            } => {
                let producer = self.producer(*id, who);
                let partition = tp("c", *partition);
                if self
                    .coordinator
                    .txn_offset_commit(
                        now,
                        IDS[*id],
                        producer,
                        "g",
                        [(partition.clone(), offset(*at, now))],
                        *implicit,
                    )
                    .is_ok()
                {
                    self.staged.entry(*id).or_default().insert(partition, *at);
                }
            }
            Op::End {
                id,
                who,
                commit,
                v2,
            } => {
                let producer = self.producer(*id, who);
                let version = if *v2 { TxnVersion::V2 } else { TxnVersion::V1 };
                let next_id = &mut self.next_id;
                let mut alloc = || {
                    *next_id += 1;
                    *next_id
                };
                if let Ok(EndTxnOutcome::Ending(completion)) = self
                    .coordinator
                    .end_txn(now, IDS[*id], producer, *commit, version, &mut alloc)
                {
                    assert_eq!(completion.commit, *commit);
                    self.completed(completion);
                }
            }
            Op::MarkersWritten { id } => {
                if let Some(completion) = self.pending.remove(id) {
                    self.coordinator
                        .markers_written(now, IDS[*id])
                        .expect("markers_written after a completion");
                    let state = self.coordinator.describe(IDS[*id]).unwrap().state.name();
                    let expected = if completion.commit {
                        "CompleteCommit"
                    } else {
                        "CompleteAbort"
                    };
                    assert_eq!(state, expected, "ended the way its markers said");
                } else {
                    assert!(self.coordinator.markers_written(now, IDS[*id]).is_err());
                }
            }
            Op::Advance { ms } => {
                self.now_ms += ms;
                for completion in self.coordinator.tick(self.now_ms) {
                    assert!(!completion.commit, "a timeout only aborts");
                    self.completed(completion);
                }
            }
        }
        self.check_epochs();
    }

    /// Epochs never go back for a producer id, and a new producer id starts at epoch 0.
    fn check_epochs(&mut self) {
        for (id, transactional_id) in IDS.iter().enumerate() {
            let Ok(described) = self.coordinator.describe(transactional_id) else {
                continue;
            };
            let now = pe(described.producer_id, described.producer_epoch);
            match self.seen.get_mut(&id) {
                None => {
                    self.seen
                        .insert(id, (HashSet::from([now.producer_id]), now));
                }
                Some((ids, last)) => {
                    if now.producer_id == last.producer_id {
                        assert!(now.epoch >= last.epoch, "{last:?} went back to {now:?}");
                    } else {
                        assert!(ids.insert(now.producer_id), "producer id {now:?} reused");
                        assert_eq!(now.epoch, 0, "a new producer id starts at epoch 0");
                    }
                    *last = now;
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn the_coordinator_keeps_its_invariants_under_any_request_sequence(
        ops in proptest::collection::vec(op(), 1..60)
    ) {
        let mut world = World::new();
        for op in &ops {
            world.apply(op);
        }
    }
}

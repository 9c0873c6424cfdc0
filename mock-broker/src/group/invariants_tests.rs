//! Random sequences of requests and time against the coordinator: whatever happens, a
//! group has at most one leader (a member), generations only grow, states agree with
//! membership, no timer is left overdue after a tick, and every waiting request is
//! answered exactly once unless it was cancelled.

use std::collections::{HashMap, HashSet};

use proptest::prelude::*;

use super::group_config::GroupConfig;
use super::group_state::GroupState;
use super::replies::{Output, Reply};
use super::requests::{CommitRequest, LeavingMember, OffsetToCommit};
use super::test_support::{Broker, heartbeat, join_request, sync_request};
use super::ticket::Ticket;

const GROUP: &str = "g";
const CLIENTS: usize = 4;

/// One step of a run.
#[derive(Debug, Clone)]
enum Op {
    /// Client joins: with its known member id or afresh; as a static member or not.
    Join {
        client: usize,
        afresh: bool,
        is_static: bool,
    },
    /// Client syncs (as leader it assigns to everyone it knows).
    Sync {
        client: usize,
    },
    Heartbeat {
        client: usize,
    },
    Leave {
        client: usize,
    },
    Commit {
        client: usize,
    },
    Advance {
        ms: i64,
    },
    Force,
    /// Cancels the n-th waiting ticket, if there is one.
    Cancel {
        nth: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let client = 0..CLIENTS;
    prop_oneof![
        4 => (client.clone(), any::<bool>(), prop::bool::weighted(0.3))
            .prop_map(|(client, afresh, is_static)| Op::Join { client, afresh, is_static }),
        3 => client.clone().prop_map(|client| Op::Sync { client }),
        2 => client.clone().prop_map(|client| Op::Heartbeat { client }),
        1 => client.clone().prop_map(|client| Op::Leave { client }),
        1 => client.prop_map(|client| Op::Commit { client }),
        3 => prop_oneof![0..2000i64, 0..40_000i64].prop_map(|ms| Op::Advance { ms }),
        1 => Just(Op::Force),
        1 => (0..4usize).prop_map(|nth| Op::Cancel { nth }),
    ]
}

/// What a client knows, and what the test has seen.
#[derive(Default)]
struct World {
    member_ids: HashMap<usize, String>,
    generations: HashMap<usize, i32>,
    waiting: Vec<Ticket>,
    answered: HashSet<Ticket>,
    cancelled: HashSet<Ticket>,
    owner: HashMap<Ticket, usize>,
    last_generation: i32,
}

impl World {
    fn receive(&mut self, out: Vec<Output>) -> Result<(), TestCaseError> {
        for (ticket, reply) in out {
            prop_assert!(self.answered.insert(ticket), "{ticket:?} answered twice");
            prop_assert!(
                !self.cancelled.contains(&ticket),
                "{ticket:?} answered after cancel"
            );
            self.waiting.retain(|t| *t != ticket);
            let client = self.owner[&ticket];
            if let Reply::Join(join) = reply {
                if !join.member_id.is_empty() {
                    self.member_ids.insert(client, join.member_id.clone());
                }
                if join.error.is_none() {
                    self.generations.insert(client, join.generation_id);
                }
            }
        }
        Ok(())
    }

    fn issued(
        &mut self,
        ticket: Ticket,
        client: usize,
        out: Vec<Output>,
    ) -> Result<(), TestCaseError> {
        self.owner.insert(ticket, client);
        self.waiting.push(ticket);
        self.receive(out)
    }
}

fn check(broker: &Broker, world: &mut World) -> Result<(), TestCaseError> {
    for group in broker.coordinator.snapshot() {
        let members: Vec<&str> = group.members.iter().map(|m| m.member_id.as_str()).collect();
        match &group.leader {
            Some(leader) => prop_assert!(
                members.contains(&leader.as_str()),
                "leader {leader} not a member"
            ),
            None => prop_assert!(members.is_empty(), "members without a leader"),
        }
        let unique: HashSet<&str> = members.iter().copied().collect();
        prop_assert_eq!(unique.len(), members.len());
        prop_assert!(
            group.generation_id >= world.last_generation,
            "generation went back"
        );
        world.last_generation = group.generation_id;
        match group.state {
            GroupState::Empty => prop_assert!(members.is_empty()),
            GroupState::CompletingRebalance | GroupState::Stable => {
                prop_assert!(!members.is_empty(), "{:?} without members", group.state)
            }
            GroupState::PreparingRebalance | GroupState::Dead => {}
        }
    }
    if let Some(deadline) = broker.coordinator.next_deadline() {
        prop_assert!(
            deadline > broker.now,
            "a timer at {deadline} is overdue at {}",
            broker.now
        );
    }
    Ok(())
}

fn run(ops: Vec<Op>, initial_delay: i64) -> Result<(), TestCaseError> {
    let mut broker = Broker::with_config(GroupConfig {
        initial_rebalance_delay_ms: initial_delay,
        ..GroupConfig::default()
    });
    let mut world = World::default();
    for op in ops {
        match op {
            Op::Join {
                client,
                afresh,
                is_static,
            } => {
                let known = world.member_ids.get(&client).cloned().unwrap_or_default();
                let member_id = if afresh { String::new() } else { known };
                let mut request = join_request(GROUP, &member_id, &format!("c{client}"));
                if is_static {
                    request.group_instance_id = Some(format!("i{client}"));
                }
                let (ticket, out) = broker.join(&request);
                world.issued(ticket, client, out)?;
            }
            Op::Sync { client } => {
                let member = world.member_ids.get(&client).cloned().unwrap_or_default();
                let generation = world.generations.get(&client).copied().unwrap_or(-1);
                let everyone: Vec<String> = world.member_ids.values().cloned().collect();
                let assignments: Vec<(&str, &str)> =
                    everyone.iter().map(|m| (m.as_str(), "x")).collect();
                let (ticket, out) =
                    broker.sync(&sync_request(GROUP, generation, &member, &assignments));
                world.issued(ticket, client, out)?;
            }
            Op::Heartbeat { client } => {
                let member = world.member_ids.get(&client).cloned().unwrap_or_default();
                let generation = world.generations.get(&client).copied().unwrap_or(-1);
                let _ = broker
                    .coordinator
                    .heartbeat(&heartbeat(GROUP, generation, &member), broker.now);
            }
            Op::Leave { client } => {
                let member = world.member_ids.get(&client).cloned().unwrap_or_default();
                let leaving = [LeavingMember {
                    member_id: member,
                    group_instance_id: None,
                }];
                let (_, out) = broker
                    .coordinator
                    .leave_group(GROUP, &leaving, broker.now)
                    .unwrap();
                world.receive(out)?;
            }
            Op::Commit { client } => {
                let request = CommitRequest {
                    group_id: GROUP.to_owned(),
                    generation_id: world.generations.get(&client).copied().unwrap_or(-1),
                    member_id: world.member_ids.get(&client).cloned().unwrap_or_default(),
                    group_instance_id: None,
                    offsets: vec![OffsetToCommit {
                        topic: "t".to_owned(),
                        partition: 0,
                        offset: 1,
                        leader_epoch: -1,
                        metadata: None,
                    }],
                };
                let results = broker.coordinator.commit_offsets(&request, broker.now);
                prop_assert_eq!(results.len(), 1);
            }
            Op::Advance { ms } => {
                let out = broker.advance(ms);
                world.receive(out)?;
            }
            Op::Force => {
                let (_, out) = broker.coordinator.force_rebalance(GROUP, broker.now);
                world.receive(out)?;
            }
            Op::Cancel { nth } => {
                if let Some(&ticket) = world.waiting.get(nth) {
                    prop_assert!(broker.coordinator.cancel(ticket), "{ticket:?} was waiting");
                    world.waiting.remove(nth);
                    world.cancelled.insert(ticket);
                }
            }
        }
        check(&broker, &mut world)?;
    }
    // Long enough for every round, sync and session to run out.
    let out = broker.advance(1_000_000_000);
    world.receive(out)?;
    check(&broker, &mut world)?;
    prop_assert!(
        world.waiting.is_empty(),
        "never answered: {:?}",
        world.waiting
    );
    let state = broker.coordinator.describe_group(GROUP).state;
    prop_assert!(
        matches!(state, GroupState::Empty | GroupState::Dead),
        "{state:?}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_runs_keep_the_invariants(ops in prop::collection::vec(op(), 1..60)) {
        run(ops, 0)?;
    }

    #[test]
    fn random_runs_with_an_initial_delay_keep_the_invariants(
        ops in prop::collection::vec(op(), 1..60),
    ) {
        run(ops, 3000)?;
    }
}

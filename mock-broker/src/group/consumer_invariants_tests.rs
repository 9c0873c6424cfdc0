//! Random joins, heartbeats (some of whose answers are lost), leaves and time against the
//! consumer protocol: no partition is ever held by two members at once, neither in the
//! coordinator nor by the clients following its answers; epochs only grow; and once every
//! member keeps heartbeating the group becomes Stable with every partition assigned once.

use std::collections::BTreeSet;

use kafka_protocol::ResponseError;
use proptest::prelude::*;

use super::assignment::Assignment;
use super::consumer_group_state::ConsumerGroupState;
use super::consumer_heartbeat::ConsumerHeartbeatRequest;
use super::coordinator::Coordinator;
use super::group_config::GroupConfig;

const GROUP: &str = "g";
const CLIENTS: usize = 4;

fn partitions(topic: &str) -> Option<u32> {
    match topic {
        "t" => Some(6),
        "u" => Some(3),
        _ => None,
    }
}

#[derive(Debug, Clone)]
enum Op {
    Join {
        client: usize,
        both_topics: bool,
        range: bool,
    },
    /// A heartbeat; with `lost`, the client never sees the answer.
    Heartbeat {
        client: usize,
        lost: bool,
    },
    Leave {
        client: usize,
    },
    Wait {
        ms: i64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        1 => (0..CLIENTS, any::<bool>(), any::<bool>())
            .prop_map(|(client, both_topics, range)| Op::Join { client, both_topics, range }),
        4 => (0..CLIENTS, prop::bool::weighted(0.2))
            .prop_map(|(client, lost)| Op::Heartbeat { client, lost }),
        1 => (0..CLIENTS).prop_map(|client| Op::Leave { client }),
        1 => (1..20_000i64).prop_map(|ms| Op::Wait { ms }),
    ]
}

/// What a client believes.
#[derive(Debug, Clone, Default)]
struct Client {
    member_id: String,
    epoch: i32,
    owned: Assignment,
    joined: bool,
    incarnation: u32,
    topics: Vec<String>,
    /// An answer was lost: the next heartbeat is a full one (as clients do after a
    /// timeout), so that the coordinator sends the assignment again.
    send_full: bool,
}

struct Run {
    coordinator: Coordinator,
    now: i64,
    clients: Vec<Client>,
    last_group_epoch: i32,
    last_assignment_epoch: i32,
}

impl Run {
    fn new() -> Self {
        Self {
            coordinator: Coordinator::new(GroupConfig::default()),
            now: 1_700_000_000_000,
            clients: vec![Client::default(); CLIENTS],
            last_group_epoch: 0,
            last_assignment_epoch: 0,
        }
    }

    fn send(&mut self, client: usize, request: &ConsumerHeartbeatRequest, lost: bool) {
        let result = self
            .coordinator
            .consumer_group_heartbeat(request, &partitions, self.now);
        if lost {
            self.clients[client].send_full = true;
            return;
        }
        self.clients[client].send_full = false;
        let c = &mut self.clients[client];
        match result {
            Ok(response) => {
                if response.member_epoch < 0 {
                    *c = Client {
                        incarnation: c.incarnation,
                        ..Client::default()
                    };
                    return;
                }
                c.epoch = response.member_epoch;
                if let Some(assignment) = response.assignment {
                    c.owned = assignment;
                }
            }
            Err(error) => {
                assert!(
                    matches!(
                        error.error,
                        ResponseError::UnknownMemberId | ResponseError::FencedMemberEpoch
                    ),
                    "{request:?}: {error:?}"
                );
                // Fenced: the client drops everything and rejoins with epoch 0.
                c.epoch = 0;
                c.owned = Assignment::new();
            }
        }
    }

    fn apply(&mut self, op: &Op) {
        match *op {
            Op::Join {
                client,
                both_topics,
                range,
            } => {
                if self.clients[client].joined {
                    return;
                }
                let c = &mut self.clients[client];
                c.incarnation += 1;
                c.member_id = format!("m{client}-{}", c.incarnation);
                c.joined = true;
                let topics = if both_topics {
                    vec!["t".into(), "u".into()]
                } else {
                    vec!["t".into()]
                };
                c.topics = topics.clone();
                let request = ConsumerHeartbeatRequest {
                    group_id: GROUP.into(),
                    member_id: c.member_id.clone(),
                    member_epoch: 0,
                    rebalance_timeout_ms: 30_000,
                    subscribed_topic_names: Some(topics),
                    server_assignor: range.then(|| "range".to_owned()),
                    owned: Some(Assignment::new()),
                    ..Default::default()
                };
                self.send(client, &request, false);
            }
            Op::Heartbeat { client, lost } => {
                let c = &self.clients[client];
                if !c.joined {
                    return;
                }
                let full = c.send_full || c.epoch == 0;
                let request = ConsumerHeartbeatRequest {
                    group_id: GROUP.into(),
                    member_id: c.member_id.clone(),
                    member_epoch: c.epoch,
                    rebalance_timeout_ms: if full { 30_000 } else { -1 },
                    subscribed_topic_names: full.then(|| c.topics.clone()),
                    owned: Some(c.owned.clone()),
                    ..Default::default()
                };
                self.send(client, &request, lost);
            }
            Op::Leave { client } => {
                let c = &self.clients[client];
                if !c.joined {
                    return;
                }
                let request = ConsumerHeartbeatRequest {
                    group_id: GROUP.into(),
                    member_id: c.member_id.clone(),
                    member_epoch: -1,
                    rebalance_timeout_ms: -1,
                    ..Default::default()
                };
                self.send(client, &request, false);
                let c = &mut self.clients[client];
                *c = Client {
                    incarnation: c.incarnation,
                    ..Client::default()
                };
            }
            Op::Wait { ms } => {
                self.now += ms;
                self.coordinator.tick(self.now);
            }
        }
        self.check();
    }

    fn check(&mut self) {
        let Ok(group) = self.coordinator.consumer_group_describe(GROUP) else {
            return;
        };
        assert!(
            group.group_epoch >= self.last_group_epoch,
            "group epoch went back"
        );
        assert!(
            group.assignment_epoch >= self.last_assignment_epoch,
            "target epoch went back"
        );
        assert!(group.assignment_epoch <= group.group_epoch);
        self.last_group_epoch = group.group_epoch;
        self.last_assignment_epoch = group.assignment_epoch;
        // The coordinator never lets two members hold a partition.
        let mut held = Assignment::new();
        for member in &group.members {
            assert!(member.member_epoch <= group.assignment_epoch, "{member:?}");
            for (topic, partition) in member
                .assigned
                .iter()
                .chain(member.pending_revocation.iter())
            {
                assert!(
                    !held.contains(topic, partition),
                    "{topic}-{partition} held twice: {group:?}"
                );
                held.insert(topic, partition);
            }
        }
        // Nor do clients that are members, following its answers.
        let members: BTreeSet<&str> = group.members.iter().map(|m| m.member_id.as_str()).collect();
        let mut owned = Assignment::new();
        for c in self
            .clients
            .iter()
            .filter(|c| members.contains(c.member_id.as_str()))
        {
            for (topic, partition) in c.owned.iter() {
                assert!(
                    !owned.contains(topic, partition),
                    "{topic}-{partition} owned by two clients: {:?}",
                    self.clients
                );
                owned.insert(topic, partition);
            }
        }
    }

    /// Every joined client heartbeats, answers seen, until nothing changes.
    fn settle(&mut self) {
        for _ in 0..10 {
            for client in 0..CLIENTS {
                self.apply(&Op::Heartbeat {
                    client,
                    lost: false,
                });
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn no_partition_is_held_twice_and_the_group_settles(ops in prop::collection::vec(op(), 1..60)) {
        let mut run = Run::new();
        for op in &ops {
            run.apply(op);
        }
        run.settle();
        if let Ok(group) = run.coordinator.consumer_group_describe(GROUP) {
            if group.members.is_empty() {
                prop_assert_eq!(group.state, ConsumerGroupState::Empty);
            } else {
                prop_assert_eq!(group.state, ConsumerGroupState::Stable, "{:?}", group);
                let mut assigned = Assignment::new();
                for m in &group.members {
                    for (t, p) in m.assigned.iter() {
                        assigned.insert(t, p);
                    }
                }
                let subscribed: BTreeSet<String> = group
                    .members
                    .iter()
                    .flat_map(|m| m.subscribed_topic_names.iter().cloned())
                    .collect();
                let expected: Assignment = subscribed
                    .iter()
                    .flat_map(|t| (0..partitions(t).unwrap() as i32).map(move |p| (t.as_str(), p)))
                    .collect();
                prop_assert_eq!(assigned, expected);
            }
        }
    }
}

//! KIP-848's consumer protocol through real sockets with a real client: librdkafka (the
//! `rdkafka` crate, ≥ 2.4) with `group.protocol=consumer`. Consumers join with
//! ConsumerGroupHeartbeat, get their partitions from the broker's assignor, commit with
//! OffsetCommit v9 and resume; two split the partitions and the one left takes them all.
//! What the broker holds is checked through the admin API (`GET /groups/{id}`).
//!
//! The broker tells members to heartbeat every 200 ms
//! (`--group-consumer-heartbeat-interval-ms`), so reconciliation takes a few hundred ms,
//! not several 5 s rounds; every wait polls with a generous deadline.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;

use crate::binaries::BrokerProcess;
use crate::consumer_groups::{TIMEOUT, group, produce_keys, wait_for};

/// A broker with `partitions` per topic whose consumer-protocol members heartbeat often.
fn broker(partitions: u32) -> BrokerProcess {
    BrokerProcess::start(&[
        "--partitions",
        &partitions.to_string(),
        "--group-consumer-heartbeat-interval-ms",
        "200",
    ])
}

/// A librdkafka consumer of the consumer protocol, reading from the start, committing only
/// when told.
fn consumer(broker: &BrokerProcess, group: &str, extra: &[(&str, &str)]) -> BaseConsumer {
    let (version, text) = rdkafka::util::get_rdkafka_version();
    assert!(
        version >= 0x0204_0000,
        "librdkafka {text} predates KIP-848 (2.4)"
    );
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &broker.address)
        .set("group.id", group)
        .set("group.protocol", "consumer")
        .set("client.id", "kip848-rdkafka")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false");
    for (name, value) in extra {
        config.set(*name, *value);
    }
    config
        .create()
        .expect("the consumer configuration is valid")
}

/// A consumer polling in its own thread until stopped; its assignment is shared.
struct Running {
    stop: Arc<AtomicBool>,
    assignment: Arc<Mutex<BTreeSet<i32>>>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    fn start(topic: &str, consumer: BaseConsumer) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let assignment = Arc::new(Mutex::new(BTreeSet::new()));
        let topic = topic.to_owned();
        let (thread_stop, thread_assignment) = (stop.clone(), assignment.clone());
        let thread = std::thread::spawn(move || {
            consumer.subscribe(&[&topic]).expect("subscribe");
            while !thread_stop.load(Ordering::Relaxed) {
                if let Some(message) = consumer.poll(Duration::from_millis(100)) {
                    message.expect("no consumer error");
                }
                let assigned = consumer
                    .assignment()
                    .expect("the assignment")
                    .elements()
                    .iter()
                    .map(|e| e.partition())
                    .collect();
                *thread_assignment.lock().unwrap() = assigned;
            }
            // Closing a group consumer leaves the group (member epoch -1).
            drop(consumer);
        });
        Running {
            stop,
            assignment,
            thread: Some(thread),
        }
    }

    fn assignment(&self) -> BTreeSet<i32> {
        self.assignment.lock().unwrap().clone()
    }

    fn close(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            thread.join().expect("the consumer thread does not panic");
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn all(partitions: i32) -> BTreeSet<i32> {
    (0..partitions).collect()
}

/// Reads `count` new messages with `consumer`, none twice and none from `not_again`.
fn read(
    consumer: &BaseConsumer,
    count: usize,
    not_again: &BTreeSet<(i32, i64)>,
) -> BTreeSet<(i32, i64)> {
    let mut read = BTreeSet::new();
    let deadline = Instant::now() + TIMEOUT;
    while read.len() < count {
        assert!(Instant::now() < deadline, "read {} of {count}", read.len());
        if let Some(message) = consumer.poll(Duration::from_millis(100)) {
            let message = message.expect("no consumer error");
            let at = (message.partition(), message.offset());
            assert!(
                !not_again.contains(&at),
                "{at:?} was read before the commit"
            );
            assert!(read.insert(at), "read twice: {at:?}");
        }
    }
    read
}

#[test]
fn a_consumer_protocol_member_reads_everything_commits_and_the_next_resumes_after_it() {
    let broker = broker(3);
    let topic = "kip848-resume";
    produce_keys(&broker, topic, 100);
    let first = consumer(&broker, "kip848-resume", &[]);
    first.subscribe(&[topic]).unwrap();
    let read_first = read(&first, 60, &BTreeSet::new());
    let assigned: BTreeSet<i32> = first
        .assignment()
        .unwrap()
        .elements()
        .iter()
        .map(|e| e.partition())
        .collect();
    assert_eq!(assigned, all(3), "one member gets every partition");
    first
        .commit_consumer_state(CommitMode::Sync)
        .expect("the commit (OffsetCommit v9 with the member epoch) succeeds");
    let mut positions: BTreeMap<i32, i64> = BTreeMap::new();
    for (partition, offset) in &read_first {
        let next = positions.entry(*partition).or_default();
        *next = (*next).max(offset + 1);
    }
    let held = group(&broker, "kip848-resume").expect("the group exists");
    assert_eq!(
        held.committed(topic),
        positions,
        "committed offsets: {held:?}"
    );
    assert_eq!(held.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(
        held.protocol.as_deref(),
        Some("uniform"),
        "the default assignor"
    );
    assert_eq!(held.state, "Stable", "{held:?}");
    assert_eq!(held.members.len(), 1);
    assert_eq!(held.members[0].client_id, "kip848-rdkafka");
    drop(first);
    wait_for(
        "the closed consumer leaves the group",
        || group(&broker, "kip848-resume").filter(|g| g.members.is_empty() && g.state == "Empty"),
        || format!("{:?}", group(&broker, "kip848-resume")),
    );

    let second = consumer(&broker, "kip848-resume", &[]);
    second.subscribe(&[topic]).unwrap();
    let read_second = read(&second, 40, &read_first);
    let everything: BTreeSet<(i32, i64)> = read_first.union(&read_second).copied().collect();
    assert_eq!(everything.len(), 100, "every message read once over both");
    drop(second);
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

fn two_members_split_and_the_one_left_gets_everything(assignor: &str) {
    let broker = broker(4);
    let topic = format!("kip848-split-{assignor}");
    let group_id = format!("kip848-split-{assignor}");
    produce_keys(&broker, &topic, 20);
    let extra = [("group.remote.assignor", assignor)];
    let a = Running::start(&topic, consumer(&broker, &group_id, &extra));
    wait_for(
        "the first member gets every partition",
        || (a.assignment() == all(4)).then_some(()),
        || format!("{:?}", a.assignment()),
    );
    let b = Running::start(&topic, consumer(&broker, &group_id, &extra));
    wait_for(
        "two members split the partitions, each some, none twice",
        || {
            let (x, y) = (a.assignment(), b.assignment());
            let split = !x.is_empty()
                && !y.is_empty()
                && x.is_disjoint(&y)
                && x.union(&y).copied().collect::<BTreeSet<_>>() == all(4);
            split.then_some(())
        },
        || format!("{:?} and {:?}", a.assignment(), b.assignment()),
    );
    let held = wait_for(
        "the group is Stable with two members",
        || group(&broker, &group_id).filter(|g| g.state == "Stable" && g.members.len() == 2),
        || format!("{:?}", group(&broker, &group_id)),
    );
    assert_eq!(held.protocol.as_deref(), Some(assignor), "{held:?}");
    let assigned: Vec<BTreeSet<i32>> = held.members.iter().map(|m| m.partitions(&topic)).collect();
    assert!(
        assigned.iter().all(|p| p.len() == 2) && assigned[0].is_disjoint(&assigned[1]),
        "two partitions each: {held:?}"
    );
    b.close();
    wait_for(
        "the remaining member gets every partition",
        || (a.assignment() == all(4)).then_some(()),
        || format!("{:?}", a.assignment()),
    );
    let held = wait_for(
        "the group is Stable with one member",
        || group(&broker, &group_id).filter(|g| g.state == "Stable" && g.members.len() == 1),
        || format!("{:?}", group(&broker, &group_id)),
    );
    assert_eq!(held.members[0].partitions(&topic), all(4), "{held:?}");
    a.close();
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[test]
fn two_uniform_members_split_the_partitions_and_when_one_leaves_the_other_gets_all() {
    two_members_split_and_the_one_left_gets_everything("uniform");
}

#[test]
fn two_range_members_split_the_partitions_and_when_one_leaves_the_other_gets_all() {
    two_members_split_and_the_one_left_gets_everything("range");
}

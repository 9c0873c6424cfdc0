//! Consumer groups through real sockets, with real clients: the `rdkafka` crate's consumers
//! (librdkafka) join, split partitions, rebalance when a member leaves or dies, commit and
//! resume; static members come back without a rebalance. What the broker holds is checked
//! through the admin API (`GET /groups/{id}`).
//!
//! Every wait polls with a generous deadline ([`TIMEOUT`]): a loaded machine only makes the
//! tests slower, never wrong. kcat plays the member that dies (killed with SIGKILL, so it
//! never leaves); that test skips without kcat, as `real_clients.rs` explains.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::message::Message;
use serde::Deserialize;

use crate::binaries::{BrokerProcess, http_get};
use crate::rdkafka_client::{future_producer, produce};
use crate::real_clients::{kcat, kcat_command, require, sent_messages, topic_info};

/// Long enough for a loaded 2-core machine; a healthy run takes a fraction of it.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);
/// The smallest session timeout the broker accepts (Kafka's `group.min.session.timeout.ms`).
const SESSION_TIMEOUT_MS: &str = "6000";

/// A broker whose groups complete their first rebalance at once, with `partitions` per topic.
pub(crate) fn group_broker(partitions: u32) -> BrokerProcess {
    BrokerProcess::start(&[
        "--partitions",
        &partitions.to_string(),
        "--group-initial-rebalance-delay-ms",
        "0",
    ])
}

/// Produces `count` keyed messages (`k0`, `k1`, …) to `topic` and waits for every delivery.
pub(crate) fn produce_keys(broker: &BrokerProcess, topic: &str, count: usize) {
    produce(
        &future_producer(&broker.address, &[]),
        topic,
        &sent_messages("groups", count),
    );
}

/// A librdkafka group consumer reading from the start, committing only when told.
fn consumer(broker: &BrokerProcess, group: &str, extra: &[(&str, &str)]) -> BaseConsumer {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", &broker.address)
        .set("group.id", group)
        .set("client.id", "groups-rdkafka")
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .set("session.timeout.ms", SESSION_TIMEOUT_MS)
        .set("heartbeat.interval.ms", "500");
    for (name, value) in extra {
        config.set(*name, *value);
    }
    config
        .create()
        .expect("the consumer configuration is valid")
}

// ---------------------------------------------------------------------------------------------
// What the broker holds, as the admin API shows it (docs/admin-api.md).

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct GroupJson {
    pub(crate) state: String,
    pub(crate) protocol_type: Option<String>,
    pub(crate) protocol: Option<String>,
    pub(crate) generation_id: i32,
    pub(crate) leader: Option<String>,
    pub(crate) members: Vec<MemberJson>,
    pub(crate) offsets: Vec<OffsetJson>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct MemberJson {
    pub(crate) member_id: String,
    pub(crate) group_instance_id: Option<String>,
    pub(crate) client_id: String,
    pub(crate) client_host: String,
    pub(crate) assigned: Option<Vec<AssignedJson>>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct AssignedJson {
    pub(crate) topic: String,
    pub(crate) partitions: Vec<i32>,
}

#[derive(Debug, Clone, Deserialize)]
pub(crate) struct OffsetJson {
    pub(crate) topic: String,
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) lag: Option<i64>,
}

impl MemberJson {
    /// The partitions of `topic` assigned to the member.
    pub(crate) fn partitions(&self, topic: &str) -> BTreeSet<i32> {
        self.assigned
            .iter()
            .flatten()
            .filter(|a| a.topic == topic)
            .flat_map(|a| a.partitions.iter().copied())
            .collect()
    }
}

impl GroupJson {
    /// Committed offsets by partition of `topic`.
    pub(crate) fn committed(&self, topic: &str) -> BTreeMap<i32, i64> {
        self.offsets
            .iter()
            .filter(|o| o.topic == topic)
            .map(|o| (o.partition, o.offset))
            .collect()
    }
}

/// The group as `GET /groups/{id}` shows it, `None` for 404.
pub(crate) fn group(broker: &BrokerProcess, id: &str) -> Option<GroupJson> {
    let (status, body) = http_get(&broker.admin, &format!("/groups/{id}"));
    match status {
        200 => Some(
            serde_json::from_str(&body)
                .unwrap_or_else(|e| panic!("GET /groups/{id}: unexpected JSON ({e}): {body}")),
        ),
        404 => None,
        other => panic!("GET /groups/{id}: {other} {body}"),
    }
}

/// Polls `check` until it returns `Some`, or panics after [`TIMEOUT`] saying `what` and the
/// last state `describe` gives.
pub(crate) fn wait_for<T>(
    what: &str,
    mut check: impl FnMut() -> Option<T>,
    describe: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: not within {TIMEOUT:?}; last state: {}",
            describe()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

// ---------------------------------------------------------------------------------------------
// Consumers polling in their own threads, as applications run them.

/// A consumer polling in its own thread until stopped; its assignment is shared.
struct Running {
    stop: Arc<AtomicBool>,
    assignment: Arc<Mutex<BTreeSet<i32>>>,
    thread: Option<JoinHandle<Vec<(i32, i64)>>>,
}

impl Running {
    /// Subscribes `make()`'s consumer to `topic` in a new thread and polls it.
    fn start(topic: &str, make: impl FnOnce() -> BaseConsumer + Send + 'static) -> Running {
        let stop = Arc::new(AtomicBool::new(false));
        let assignment = Arc::new(Mutex::new(BTreeSet::new()));
        let topic = topic.to_owned();
        let (thread_stop, thread_assignment) = (stop.clone(), assignment.clone());
        let thread = std::thread::spawn(move || {
            let consumer = make();
            consumer.subscribe(&[&topic]).expect("subscribe");
            let mut read = Vec::new();
            while !thread_stop.load(Ordering::Relaxed) {
                if let Some(message) = consumer.poll(Duration::from_millis(100)) {
                    let message = message.expect("no consumer error");
                    read.push((message.partition(), message.offset()));
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
            // Dropping a group consumer closes it: it leaves the group.
            drop(consumer);
            read
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

    /// Stops polling and closes the consumer (it leaves the group); what it read.
    fn close(mut self) -> Vec<(i32, i64)> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .take()
            .expect("closed once")
            .join()
            .expect("the consumer thread does not panic")
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

/// Waits until the two consumers split every partition between them, each with some.
fn wait_for_split(a: &Running, b: &Running, partitions: i32) {
    wait_for(
        "two consumers split the partitions",
        || {
            let (x, y) = (a.assignment(), b.assignment());
            let split = !x.is_empty()
                && !y.is_empty()
                && x.is_disjoint(&y)
                && x.union(&y).copied().collect::<BTreeSet<_>>() == all(partitions);
            split.then_some(())
        },
        || format!("{:?} and {:?}", a.assignment(), b.assignment()),
    );
}

// ---------------------------------------------------------------------------------------------
// The tests.

#[test]
fn a_group_consumer_commits_and_the_next_one_resumes_exactly_after_the_commit() {
    let broker = group_broker(3);
    let topic = "groups-resume";
    produce_keys(&broker, topic, 100);
    let first = consumer(&broker, "resume", &[]);
    first.subscribe(&[topic]).unwrap();
    let mut read_first = BTreeSet::new();
    let deadline = Instant::now() + TIMEOUT;
    while read_first.len() < 60 {
        assert!(Instant::now() < deadline, "read {} of 60", read_first.len());
        if let Some(message) = first.poll(Duration::from_millis(100)) {
            let message = message.expect("no consumer error");
            assert!(
                read_first.insert((message.partition(), message.offset())),
                "read twice: {:?}",
                (message.partition(), message.offset())
            );
        }
    }
    first
        .commit_consumer_state(CommitMode::Sync)
        .expect("the commit succeeds");
    // What was read per partition, as the next offsets to read.
    let mut positions: BTreeMap<i32, i64> = BTreeMap::new();
    for (partition, offset) in &read_first {
        let next = positions.entry(*partition).or_default();
        *next = (*next).max(offset + 1);
    }
    let held = group(&broker, "resume").expect("the group exists");
    assert_eq!(
        held.committed(topic),
        positions,
        "committed offsets: {held:?}"
    );
    let high_watermarks: BTreeMap<i32, i64> = topic_info(&broker, topic)
        .partitions
        .iter()
        .map(|p| (p.partition, p.high_watermark))
        .collect();
    for offset in &held.offsets {
        assert_eq!(
            offset.lag,
            Some(high_watermarks[&offset.partition] - offset.offset),
            "lag = high watermark - committed: {held:?}"
        );
    }
    assert_eq!(held.protocol_type.as_deref(), Some("consumer"));
    assert_eq!(held.members.len(), 1);
    assert_eq!(held.members[0].client_id, "groups-rdkafka");
    assert_eq!(held.members[0].client_host, "/127.0.0.1");
    drop(first);
    wait_for(
        "the closed consumer leaves the group",
        || group(&broker, "resume").filter(|g| g.members.is_empty() && g.state == "Empty"),
        || format!("{:?}", group(&broker, "resume")),
    );

    let second = consumer(&broker, "resume", &[]);
    second.subscribe(&[topic]).unwrap();
    let mut read_second = BTreeSet::new();
    let deadline = Instant::now() + TIMEOUT;
    while read_second.len() < 40 {
        assert!(
            Instant::now() < deadline,
            "read {} of 40",
            read_second.len()
        );
        if let Some(message) = second.poll(Duration::from_millis(100)) {
            let message = message.expect("no consumer error");
            let at = (message.partition(), message.offset());
            assert!(
                !read_first.contains(&at),
                "{at:?} was read before the commit, yet read again"
            );
            assert!(read_second.insert(at), "read twice: {at:?}");
        }
    }
    let everything: BTreeSet<(i32, i64)> = read_first.union(&read_second).copied().collect();
    assert_eq!(everything.len(), 100, "every message read once over both");
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

fn two_consumers_split_and_the_one_left_gets_everything(strategy: &str, protocol: &str) {
    let broker = group_broker(4);
    let topic = format!("groups-split-{protocol}");
    let group_id = format!("split-{protocol}");
    produce_keys(&broker, &topic, 20);
    let make = |broker: &BrokerProcess| {
        let bootstrap_consumer = consumer(
            broker,
            &group_id,
            &[("partition.assignment.strategy", strategy)],
        );
        move || bootstrap_consumer
    };
    let a = Running::start(&topic, make(&broker));
    let b = Running::start(&topic, make(&broker));
    wait_for_split(&a, &b, 4);
    let held = wait_for(
        "the group is Stable with two members",
        || group(&broker, &group_id).filter(|g| g.state == "Stable" && g.members.len() == 2),
        || format!("{:?}", group(&broker, &group_id)),
    );
    assert_eq!(held.protocol.as_deref(), Some(protocol), "{held:?}");
    let assigned: Vec<BTreeSet<i32>> = held.members.iter().map(|m| m.partitions(&topic)).collect();
    assert!(
        assigned.iter().all(|a| !a.is_empty()) && assigned[0].is_disjoint(&assigned[1]),
        "the broker holds the leader's assignment: {held:?}"
    );
    b.close();
    wait_for(
        "the remaining consumer gets every partition",
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
fn two_eager_consumers_split_the_partitions_and_when_one_leaves_the_other_gets_all() {
    two_consumers_split_and_the_one_left_gets_everything("range", "range");
}

#[test]
fn two_cooperative_sticky_consumers_split_the_partitions_and_the_survivor_gets_all() {
    two_consumers_split_and_the_one_left_gets_everything(
        "cooperative-sticky",
        "cooperative-sticky",
    );
}

/// kcat killed with SIGKILL when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_member_that_dies_is_expired_by_its_session_timeout_and_the_other_takes_over() {
    let Some(kcat) = require(kcat()) else {
        return;
    };
    let broker = group_broker(4);
    let topic = "groups-dies";
    produce_keys(&broker, topic, 20);
    let bootstrap_consumer = consumer(&broker, "dies", &[]);
    let survivor = Running::start(topic, move || bootstrap_consumer);
    wait_for(
        "the first consumer gets every partition",
        || (survivor.assignment() == all(4)).then_some(()),
        || format!("{:?}", survivor.assignment()),
    );
    let mut command = kcat_command(&kcat);
    command
        .args(["-b", &broker.address, "-G", "dies", topic, "-q"])
        .args(["-X", &format!("session.timeout.ms={SESSION_TIMEOUT_MS}")])
        .args(["-X", "client.id=groups-kcat"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let dying = Killed(command.spawn().expect("kcat starts"));
    wait_for(
        "kcat joins and gets partitions of its own",
        || {
            let held = group(&broker, "dies")?;
            let kcat = held.members.iter().find(|m| m.client_id == "groups-kcat")?;
            let stable = held.state == "Stable" && !kcat.partitions(topic).is_empty();
            let survivor_has = survivor.assignment();
            (stable && survivor_has.len() < 4 && !survivor_has.is_empty()).then_some(())
        },
        || {
            format!(
                "{:?}, rdkafka has {:?}",
                group(&broker, "dies"),
                survivor.assignment()
            )
        },
    );
    // SIGKILL: no LeaveGroup, the connection just goes; only the session timeout tells.
    drop(dying);
    wait_for(
        "the survivor gets every partition back",
        || (survivor.assignment() == all(4)).then_some(()),
        || format!("{:?}, {:?}", survivor.assignment(), group(&broker, "dies")),
    );
    let held = group(&broker, "dies").expect("the group exists");
    assert_eq!(held.members.len(), 1, "kcat was expired: {held:?}");
    assert_eq!(held.members[0].client_id, "groups-rdkafka");
    survivor.close();
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[test]
fn a_static_member_that_comes_back_gets_its_partitions_without_a_rebalance() {
    let broker = group_broker(4);
    let topic = "groups-static";
    produce_keys(&broker, topic, 20);
    let static_consumer = |instance: &str| {
        // Long enough that the closed member is not expired before it comes back.
        consumer(
            &broker,
            "static",
            &[
                ("group.instance.id", instance),
                ("session.timeout.ms", "30000"),
            ],
        )
    };
    let leader = static_consumer("static-a");
    let a = Running::start(topic, move || leader);
    wait_for(
        "the first static member gets every partition",
        || (a.assignment() == all(4)).then_some(()),
        || format!("{:?}", a.assignment()),
    );
    let follower = static_consumer("static-b");
    let b = Running::start(topic, move || follower);
    wait_for_split(&a, &b, 4);
    let before = wait_for(
        "the group is Stable with both",
        || group(&broker, "static").filter(|g| g.state == "Stable" && g.members.len() == 2),
        || format!("{:?}", group(&broker, "static")),
    );
    let b_before = before
        .members
        .iter()
        .find(|m| m.group_instance_id.as_deref() == Some("static-b"))
        .expect("static-b is a member")
        .clone();
    let a_partitions = a.assignment();
    let b_partitions = b.assignment();
    // A static member does not leave when it closes: the group keeps its place.
    b.close();
    let after_close = group(&broker, "static").expect("the group exists");
    assert_eq!(after_close.members.len(), 2, "{after_close:?}");
    assert_eq!(after_close.generation_id, before.generation_id);
    let returning = static_consumer("static-b");
    let b = Running::start(topic, move || returning);
    wait_for(
        "the returning member gets its partitions back",
        || (b.assignment() == b_partitions).then_some(()),
        || format!("{:?} (had {b_partitions:?})", b.assignment()),
    );
    let after = group(&broker, "static").expect("the group exists");
    assert_eq!(
        after.generation_id, before.generation_id,
        "no rebalance: {before:?} then {after:?}"
    );
    assert_eq!(after.leader, before.leader);
    let b_after = after
        .members
        .iter()
        .find(|m| m.group_instance_id.as_deref() == Some("static-b"))
        .expect("static-b is a member");
    assert_ne!(b_after.member_id, b_before.member_id, "a new member id");
    assert_eq!(b_after.partitions(topic), b_before.partitions(topic));
    assert_eq!(
        a.assignment(),
        a_partitions,
        "the other member kept its partitions"
    );
    a.close();
    b.close();
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

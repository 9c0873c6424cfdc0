//! Faults that reach consumer groups, seen by librdkafka (the `rdkafka` crate): errors injected
//! on Heartbeat, JoinGroup, SyncGroup and OffsetCommit make a consumer rejoin or look for its
//! coordinator again, and it still reads everything and commits; a `rebalance` fault makes two
//! consumers go through a revoke/assign cycle and keep consuming without loss; a consumer reads
//! and commits across a three-broker cluster whose coordinator is not the bootstrap broker.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mock_broker::fault::{ApiScope, FaultSpec, FaultState};
use mock_broker::{BrokerConfig, MockBroker};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::RDKafkaErrorCode;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::json;

use crate::admin_api::http_with_body;
use crate::rdkafka_client::{future_producer, produce};
use crate::real_clients::sent_messages;

/// Long enough for a loaded 2-core machine; a healthy run takes a fraction of it.
const TIMEOUT: Duration = Duration::from_secs(60);

async fn cluster(brokers: u32, partitions: u32) -> MockBroker {
    let mut config = BrokerConfig::ephemeral();
    config.brokers = brokers;
    config.partitions = partitions;
    config.admin = Some("127.0.0.1:0".parse().unwrap());
    MockBroker::start(config).await.expect("broker starts")
}

/// Produces `count` keyed messages to `topic` with librdkafka, in a blocking task.
async fn produce_keys(broker: &MockBroker, topic: &str, count: usize) {
    let (bootstrap, topic) = (broker.bootstrap_servers(), topic.to_owned());
    tokio::task::spawn_blocking(move || {
        produce(
            &future_producer(&bootstrap, &[]),
            &topic,
            &sent_messages("group-faults", count),
        );
    })
    .await
    .expect("the producer does not panic");
}

/// Polls `check` (cheap, in-process) until it returns `Some`; panics after [`TIMEOUT`].
async fn wait_for<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {TIMEOUT:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One rebalance callback: `revoke` or `assign`, with the partitions.
type RebalanceEvent = (&'static str, BTreeSet<i32>);

/// Rebalance callbacks, in order.
#[derive(Default, Clone)]
struct Rebalances(Arc<Mutex<Vec<RebalanceEvent>>>);

impl ClientContext for Rebalances {}

impl ConsumerContext for Rebalances {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            let set = partitions
                .elements()
                .iter()
                .map(|e| e.partition())
                .collect();
            self.0.lock().unwrap().push(("revoke", set));
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(partitions) = rebalance {
            let set = partitions
                .elements()
                .iter()
                .map(|e| e.partition())
                .collect();
            self.0.lock().unwrap().push(("assign", set));
        }
    }
}

/// What a [`Member`] commits when it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Commit {
    /// The end of what it read in each partition (a consumer that alone reads the topic).
    WhatItRead,
    /// The positions of its current assignment (members that share partitions).
    Positions,
}

/// A librdkafka group consumer polling in its own thread until stopped; then it commits
/// (retrying a failed commit, as an application would) and closes.
struct Member {
    stop: Arc<AtomicBool>,
    read: Arc<Mutex<Vec<(i32, i64)>>>,
    context: Rebalances,
    thread: Option<JoinHandle<()>>,
}

impl Member {
    fn start(
        bootstrap: &str,
        group: &str,
        topic: &str,
        commit: Commit,
        extra: &[(&str, &str)],
    ) -> Member {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", bootstrap)
            .set("group.id", group)
            .set("client.id", "group-faults-rdkafka")
            .set("auto.offset.reset", "earliest")
            .set("enable.auto.commit", "false")
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "200")
            .set("retry.backoff.ms", "20")
            .set("reconnect.backoff.ms", "20");
        for (name, value) in extra {
            config.set(*name, *value);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let read = Arc::new(Mutex::new(Vec::new()));
        let context = Rebalances::default();
        let (thread_stop, thread_read, topic) = (stop.clone(), read.clone(), topic.to_owned());
        let thread_context = context.clone();
        let thread = std::thread::spawn(move || {
            let consumer: BaseConsumer<Rebalances> = config
                .create_with_context(thread_context)
                .expect("the consumer configuration is valid");
            consumer.subscribe(&[&topic]).expect("subscribe");
            while !thread_stop.load(Ordering::Relaxed) {
                match consumer.poll(Duration::from_millis(50)) {
                    Some(Ok(message)) => thread_read
                        .lock()
                        .unwrap()
                        .push((message.partition(), message.offset())),
                    // librdkafka reports an injected error it recovers from on its own; what
                    // the tests check is that it reads everything and commits all the same.
                    Some(Err(e)) => eprintln!("group-faults consumer: {e}"),
                    None => {}
                }
            }
            let mut ends: std::collections::BTreeMap<i32, i64> = Default::default();
            for (partition, offset) in thread_read.lock().unwrap().iter() {
                let end = ends.entry(*partition).or_default();
                *end = (*end).max(offset + 1);
            }
            let mut offsets = TopicPartitionList::new();
            for (partition, end) in ends {
                offsets
                    .add_partition_offset(&topic, partition, Offset::Offset(end))
                    .unwrap();
            }
            let deadline = Instant::now() + TIMEOUT;
            loop {
                let committed = match commit {
                    Commit::WhatItRead => consumer.commit(&offsets, CommitMode::Sync),
                    Commit::Positions => consumer.commit_consumer_state(CommitMode::Sync),
                };
                match committed {
                    Ok(()) => break,
                    // Auto commit got there first: nothing is left to commit.
                    Err(e) if e.rdkafka_error_code() == Some(RDKafkaErrorCode::NoOffset) => break,
                    Err(e) => {
                        assert!(
                            Instant::now() < deadline,
                            "no commit within {TIMEOUT:?}: {e}"
                        );
                        // Serve the callbacks (a rejoin, a new coordinator) before trying
                        // again; what it reads meanwhile was read before.
                        let _ = consumer.poll(Duration::from_millis(50));
                    }
                }
            }
            drop(consumer);
        });
        Member {
            stop,
            read,
            context,
            thread: Some(thread),
        }
    }

    fn read(&self) -> BTreeSet<(i32, i64)> {
        self.read.lock().unwrap().iter().copied().collect()
    }

    fn rebalances(&self) -> Vec<RebalanceEvent> {
        self.context.0.lock().unwrap().clone()
    }

    /// Stops polling, commits and closes (leaving the group); waits for all that.
    async fn close(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let thread = self.thread.take().expect("closed once");
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .unwrap()
            .expect("the consumer thread does not panic");
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Every (partition, offset) of `topic`.
fn everything(broker: &MockBroker, topic: &str) -> BTreeSet<(i32, i64)> {
    broker
        .store()
        .read_all(topic)
        .expect("the topic exists")
        .iter()
        .map(|r| (r.partition as i32, r.offset))
        .collect()
}

/// The topic's high watermarks, as the committed offsets of a group that read everything.
fn ends(broker: &MockBroker, topic: &str) -> Vec<(i32, i64)> {
    let log = broker.store().topic(topic).expect("the topic exists");
    (0..log.partition_count())
        .map(|p| (p as i32, log.high_watermark(p).unwrap()))
        .filter(|(_, end)| *end > 0)
        .collect()
}

fn committed(broker: &MockBroker, group: &str, topic: &str) -> Vec<(i32, i64)> {
    broker
        .group(group)
        .map(|g| {
            g.offsets
                .iter()
                .filter(|o| o.topic == topic)
                .map(|o| (o.partition, o.offset))
                .collect()
        })
        .unwrap_or_default()
}

fn find_coordinator_requests(broker: &MockBroker) -> u64 {
    broker.stats().snapshot().requests["kafka"]
        .get("FindCoordinator")
        .map_or(0, |versions| versions.values().sum())
}

/// One consumer reads all of a topic under `rules` (added before it starts), commits and
/// closes: every rule fired as often as it may, every message was read, the group reached
/// generation `min_generation` (a rejoin makes a new one), the committed offsets are the ends
/// of the partitions. Returns how many FindCoordinator requests the broker got.
async fn a_consumer_rides_out(rules: Vec<FaultSpec>, group: &str, min_generation: i32) -> u64 {
    let broker = cluster(1, 3).await;
    let topic = format!("{group}-topic");
    produce_keys(&broker, &topic, 30).await;
    // (id, count, whether it fires before the commit at the end).
    let ids: Vec<(u64, u64, bool)> = rules
        .into_iter()
        .map(|rule| {
            let count = rule.count.expect("each rule here has a count");
            let early = rule.api != Some(ApiScope::OffsetCommit);
            let id = broker.faults().add(rule).expect("a valid rule").id;
            (id, count, early)
        })
        .collect();
    let member = Member::start(
        &broker.bootstrap_servers(),
        group,
        &topic,
        Commit::WhatItRead,
        &[],
    );
    let all = everything(&broker, &topic);
    wait_for("the consumer reads every message", || {
        all.is_subset(&member.read()).then_some(())
    })
    .await;
    wait_for(
        "the rules before the commit are used up and the group reaches its generation",
        || {
            let used_up = ids
                .iter()
                .filter(|(_, _, early)| *early)
                .all(|(id, count, _)| broker.faults().get(*id).unwrap().fired == *count);
            let generation = broker.group(group)?.generation_id;
            (used_up && generation >= min_generation).then_some(())
        },
    )
    .await;
    member.close().await;
    for (id, count, _) in ids {
        let fired = broker.faults().get(id).unwrap();
        assert_eq!(
            (fired.fired, fired.state),
            (count, FaultState::Expired),
            "{fired:?}"
        );
    }
    assert_eq!(
        committed(&broker, group, &topic),
        ends(&broker, &topic),
        "the consumer committed everything it read"
    );
    let finds = find_coordinator_requests(&broker);
    broker.shutdown().await;
    finds
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rebalance_in_progress_on_heartbeat_makes_librdkafka_rejoin_and_it_still_commits() {
    let rule = FaultSpec::error("REBALANCE_IN_PROGRESS")
        .with_api(ApiScope::Heartbeat)
        .with_group("heartbeat-faults")
        .with_count(2);
    // It rejoined: a second generation.
    a_consumer_rides_out(vec![rule], "heartbeat-faults", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_errors_on_join_group_make_librdkafka_find_the_coordinator_again() {
    let rules = ["NOT_COORDINATOR", "COORDINATOR_NOT_AVAILABLE"]
        .into_iter()
        .map(|error| {
            FaultSpec::error(error)
                .with_api(ApiScope::JoinGroup)
                .with_count(1)
        })
        .chain([FaultSpec::error("COORDINATOR_LOAD_IN_PROGRESS")
            .with_api(ApiScope::JoinGroup)
            .with_count(2)])
        .collect();
    let finds = a_consumer_rides_out(rules, "join-faults", 1).await;
    assert!(finds >= 2, "it looked for the coordinator again: {finds}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn coordinator_errors_on_offset_commit_make_librdkafka_find_the_coordinator_and_commit() {
    let rules = vec![
        FaultSpec::error("NOT_COORDINATOR")
            .with_api(ApiScope::OffsetCommit)
            .with_count(1),
        FaultSpec::error("COORDINATOR_LOAD_IN_PROGRESS")
            .with_api(ApiScope::OffsetCommit)
            .with_count(1),
        FaultSpec::error("COORDINATOR_NOT_AVAILABLE")
            .with_api(ApiScope::OffsetCommit)
            .with_count(1),
    ];
    let finds = a_consumer_rides_out(rules, "commit-faults", 1).await;
    assert!(finds >= 2, "it looked for the coordinator again: {finds}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_member_id_on_sync_group_makes_librdkafka_rejoin_as_a_new_member() {
    let rule = FaultSpec::error("UNKNOWN_MEMBER_ID")
        .with_api(ApiScope::SyncGroup)
        .with_count(1);
    // It rejoined as a new member: a second generation.
    a_consumer_rides_out(vec![rule], "sync-faults", 2).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rebalance_fault_makes_two_consumers_revoke_and_reassign_and_they_lose_nothing() {
    let broker = cluster(1, 4).await;
    let (topic, group) = ("rebalanced", "rebalanced-group");
    produce_keys(&broker, topic, 40).await;
    // Auto commit: what was read is committed when partitions are revoked.
    let extra = [
        ("enable.auto.commit", "true"),
        ("auto.commit.interval.ms", "100"),
    ];
    let a = Member::start(
        &broker.bootstrap_servers(),
        group,
        topic,
        Commit::Positions,
        &extra,
    );
    let b = Member::start(
        &broker.bootstrap_servers(),
        group,
        topic,
        Commit::Positions,
        &extra,
    );
    let split = |m: &Member| {
        m.rebalances()
            .last()
            .is_some_and(|(kind, set)| *kind == "assign" && !set.is_empty())
    };
    let before = wait_for("both consumers hold partitions in a Stable group", || {
        let held = broker.group(group)?;
        (held.state == "Stable" && held.members.len() == 2 && split(&a) && split(&b))
            .then_some(held)
    })
    .await;
    let (seen_a, seen_b) = (a.rebalances().len(), b.rebalances().len());

    // Through the admin API, as a scenario or a test in another language would.
    let admin = broker.admin_addr().expect("the admin API listens");
    let rule = json!({"kind": "rebalance", "group": group}).to_string();
    let response =
        tokio::task::spawn_blocking(move || http_with_body(admin, "POST", "/faults", &rule))
            .await
            .unwrap();
    assert_eq!(response.status, 201, "{response:?}");
    let id = response.json()["id"].as_u64().unwrap();

    wait_for("both consumers are revoked and assigned again", || {
        let cycled = |m: &Member, seen: usize| {
            let after = m.rebalances()[seen..].to_vec();
            let revoked = after.iter().position(|(kind, _)| *kind == "revoke")?;
            after[revoked..]
                .iter()
                .any(|(kind, set)| *kind == "assign" && !set.is_empty())
                .then_some(())
        };
        cycled(&a, seen_a)?;
        cycled(&b, seen_b)
    })
    .await;
    let info = broker.faults().get(id).unwrap();
    assert_eq!(
        (info.fired, info.state),
        (1, FaultState::Expired),
        "{info:?}"
    );
    let after = broker.group(group).expect("the group exists");
    assert!(
        after.generation_id > before.generation_id,
        "a new generation: {} then {}",
        before.generation_id,
        after.generation_id
    );

    // They keep consuming: what is produced after the rebalance is read too.
    produce_keys(&broker, topic, 40).await;
    let all = everything(&broker, topic);
    assert_eq!(all.len(), 80);
    wait_for("every message is read by one of them", || {
        let read: BTreeSet<_> = a.read().union(&b.read()).copied().collect();
        all.is_subset(&read).then_some(())
    })
    .await;
    a.close().await;
    b.close().await;
    assert_eq!(
        committed(&broker, group, topic),
        ends(&broker, topic),
        "everything read is committed"
    );
    broker.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_librdkafka_group_consumer_reads_and_commits_across_a_three_broker_cluster() {
    let broker = cluster(3, 3).await;
    let topic = "cluster-read";
    // A group coordinated by broker 3, not the first bootstrap broker.
    let group = (0..)
        .map(|i| format!("cluster-readers-{i}"))
        .find(|g| crate::group_requests::expected_coordinator(g, 3) == 3)
        .unwrap();
    produce_keys(&broker, topic, 30).await;
    let member = Member::start(
        &broker.bootstrap_servers(),
        &group,
        topic,
        Commit::WhatItRead,
        &[],
    );
    let all = everything(&broker, topic);
    wait_for("the consumer reads every message", || {
        all.is_subset(&member.read()).then_some(())
    })
    .await;
    member.close().await;
    assert_eq!(committed(&broker, &group, topic), ends(&broker, topic));
    broker.shutdown().await;
}

//! Group consumers we did not write: confluent-kafka and kafka-python (Python) read as members
//! of a group, commit, and the next member resumes after the commit; `kcat -G` reads a topic as
//! a group member. They skip without the clients, as `real_clients.rs` explains.

use std::collections::BTreeSet;
use std::process::Command;

use crate::consumer_groups::{group, group_broker, produce_keys};
use crate::real_clients::{clients_dir, python_with, require, run_client};

/// (partition, offset, key) of every message a member read.
fn consume(
    python: &std::path::Path,
    client: &str,
    bootstrap: &str,
    topic: &str,
    group_id: &str,
    count: usize,
) -> BTreeSet<(i32, i64, String)> {
    let mut command = Command::new(python);
    command
        .current_dir(clients_dir())
        .arg("consume_group.py")
        .args([client, bootstrap, topic, group_id, &count.to_string()]);
    let stdout = run_client(command, "");
    let read: Vec<(i32, i64, String)> = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{client} printed unexpected JSON ({e}): {stdout}"));
    let unique: BTreeSet<_> = read.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        read.len(),
        "{client} read a message twice: {read:?}"
    );
    unique
}

fn python_group_resumes_after_its_commit(client: &str, module: &str) {
    let Some(python) = require(python_with(module)) else {
        return;
    };
    let broker = group_broker(3);
    let topic = format!("groups-{client}");
    let group_id = format!("resume-{client}");
    produce_keys(&broker, &topic, 30);
    let first = consume(&python, client, &broker.address, &topic, &group_id, 20);
    let held = group(&broker, &group_id).expect("the group exists");
    let committed: i64 = held.committed(&topic).values().sum();
    assert_eq!(committed, 20, "20 read and committed: {held:?}");
    let second = consume(&python, client, &broker.address, &topic, &group_id, 10);
    assert!(
        first.is_disjoint(&second),
        "read again after the commit: {first:?} {second:?}"
    );
    let keys: BTreeSet<String> = first
        .iter()
        .chain(&second)
        .map(|(_, _, k)| k.clone())
        .collect();
    assert_eq!(keys.len(), 30, "every message read once over both members");
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[test]
fn a_confluent_kafka_group_consumer_commits_and_the_next_resumes_after_the_commit() {
    python_group_resumes_after_its_commit("confluent-kafka", "confluent_kafka");
}

#[test]
fn a_kafka_python_group_consumer_commits_and_the_next_resumes_after_the_commit() {
    python_group_resumes_after_its_commit("kafka-python", "kafka");
}

//! Group consumers we did not write: confluent-kafka and kafka-python (Python) and kafkajs
//! (`consumer.run({eachMessage})`) read as members of a group, commit, and the next member
//! resumes after the commit; `kcat -G` reads every message of a topic as a group member and
//! commits on close. They skip without the clients, as `real_clients.rs` explains.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use crate::consumer_groups::{group, group_broker, produce_keys};
use crate::real_clients::{
    clients_dir, kcat, kcat_command, node_with_kafkajs, python_with, require, run_client,
    topic_info,
};

/// (partition, offset, key) of every message a member read.
fn consume(
    python: &Path,
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
    read_set(client, command)
}

/// Runs a consumer script printing `[[partition, offset, key], ...]`; what it read, each once.
fn read_set(client: &str, command: Command) -> BTreeSet<(i32, i64, String)> {
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

/// Two members of one group run one after the other with `consume(count)`: the first reads 20
/// of 30 messages and commits, the second reads the other 10 and nothing the first read.
fn group_resumes_after_its_commit(
    client: &str,
    consume: impl Fn(&str, &str, &str, usize) -> BTreeSet<(i32, i64, String)>,
) {
    let broker = group_broker(3);
    let topic = format!("groups-{client}");
    let group_id = format!("resume-{client}");
    produce_keys(&broker, &topic, 30);
    let first = consume(&broker.address, &topic, &group_id, 20);
    let held = group(&broker, &group_id).expect("the group exists");
    let committed: i64 = held.committed(&topic).values().sum();
    assert_eq!(committed, 20, "20 read and committed: {held:?}");
    let second = consume(&broker.address, &topic, &group_id, 10);
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

fn python_group_resumes_after_its_commit(client: &str, module: &str) {
    let Some(python) = require(python_with(module)) else {
        return;
    };
    group_resumes_after_its_commit(client, |bootstrap, topic, group_id, count| {
        consume(&python, client, bootstrap, topic, group_id, count)
    });
}

#[test]
fn a_confluent_kafka_group_consumer_commits_and_the_next_resumes_after_the_commit() {
    python_group_resumes_after_its_commit("confluent-kafka", "confluent_kafka");
}

#[test]
fn a_kafka_python_group_consumer_commits_and_the_next_resumes_after_the_commit() {
    python_group_resumes_after_its_commit("kafka-python", "kafka");
}

#[test]
fn a_kafkajs_group_consumer_commits_and_the_next_resumes_after_the_commit() {
    let Some(node) = require(node_with_kafkajs()) else {
        return;
    };
    group_resumes_after_its_commit("kafkajs", |bootstrap, topic, group_id, count| {
        let mut command = Command::new(&node);
        command
            .current_dir(clients_dir())
            .arg("consume_group_kafkajs.js")
            .args([bootstrap, topic, group_id, &count.to_string()]);
        read_set("kafkajs", command)
    });
}

#[test]
fn kcat_as_a_group_member_reads_every_message_and_commits_them_all_on_close() {
    let Some(kcat) = require(kcat()) else {
        return;
    };
    let broker = group_broker(3);
    let topic = "groups-kcat";
    produce_keys(&broker, topic, 30);
    let mut command = kcat_command(&kcat);
    command
        .args(["-b", &broker.address, "-G", "kcat-reads", topic])
        // -c: exit after 30 messages, closing the consumer, which commits what it read.
        .args(["-c", "30", "-f", "%p %o %k\n", "-q"])
        .args([
            "-X",
            "auto.offset.reset=earliest",
            "-X",
            "client.id=groups-kcat",
        ]);
    let stdout = run_client(command, "");
    let read: BTreeSet<(i32, i64)> = stdout
        .lines()
        .map(|line| {
            let mut fields = line.split(' ');
            let mut next = || fields.next().and_then(|f| f.parse().ok());
            let partition = next().unwrap_or_else(|| panic!("kcat printed {line:?}"));
            let offset = next().unwrap_or_else(|| panic!("kcat printed {line:?}"));
            (partition as i32, offset)
        })
        .collect();
    assert_eq!(read.len(), 30, "every message once: {stdout}");
    let high_watermarks: BTreeMap<i32, i64> = topic_info(&broker, topic)
        .partitions
        .iter()
        .filter(|p| p.high_watermark > 0)
        .map(|p| (p.partition, p.high_watermark))
        .collect();
    let held = group(&broker, "kcat-reads").expect("the group exists");
    assert_eq!(
        held.committed(topic),
        high_watermarks,
        "kcat committed the end of every partition it read: {held:?}"
    );
    assert_eq!(held.state, "Empty", "kcat left on close: {held:?}");
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

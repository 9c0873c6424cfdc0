//! Consumer groups administered by clients we did not write: confluent-kafka's `AdminClient`
//! and kafka-python's `KafkaAdminClient` list the groups (by state), describe one (members,
//! assignment, state), list its committed offsets, alter them, and delete it: refused with
//! NON_EMPTY_GROUP while a member is in, done once it is empty. What they report is checked
//! against what the broker holds (`GET /groups/{id}`). `clients/group_admin.py` drives them; the
//! tests skip without the clients, as `real_clients.rs` explains.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use serde::Deserialize;

use crate::binaries::BrokerProcess;
use crate::consumer_groups::{group, group_broker, produce_keys};
use crate::real_clients::{clients_dir, python_with, require, run_client, topic_info};

/// What `group_admin.py inspect` saw.
#[derive(Debug, Deserialize)]
struct Inspected {
    stable_groups: Vec<String>,
    empty_groups_while_member: Vec<String>,
    described: Described,
    offsets: Vec<(String, i32, i64)>,
    delete_while_member: Option<String>,
    empty_groups_after_close: Vec<String>,
    offsets_after_alter: Vec<(String, i32, i64)>,
}

#[derive(Debug, Deserialize)]
struct Described {
    state: String,
    protocol: String,
    members: Vec<DescribedMember>,
}

#[derive(Debug, Deserialize)]
struct DescribedMember {
    client_id: String,
    host: String,
    assignment: Vec<(String, i32)>,
}

/// What `group_admin.py delete` saw.
#[derive(Debug, Deserialize)]
struct Deleted {
    delete_when_empty: Option<String>,
    empty_groups_after_delete: Vec<String>,
}

fn run_phase<T: serde::de::DeserializeOwned>(
    python: &Path,
    client: &str,
    phase: &str,
    broker: &BrokerProcess,
    topic: &str,
    group_id: &str,
    count: usize,
) -> T {
    let mut command = Command::new(python);
    command
        .current_dir(clients_dir())
        .arg("group_admin.py")
        .args([
            client,
            phase,
            &broker.address,
            topic,
            group_id,
            &count.to_string(),
        ]);
    let stdout = run_client(command, "");
    serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("{client} {phase} printed unexpected JSON ({e}): {stdout}"))
}

fn an_admin_client_lists_describes_alters_and_deletes_a_group(client: &str, module: &str) {
    let Some(python) = require(python_with(module)) else {
        return;
    };
    let broker = group_broker(3);
    let topic = format!("admin-{client}");
    let group_id = format!("administered-{client}");
    produce_keys(&broker, &topic, 30);
    let high_watermarks: BTreeMap<i32, i64> = topic_info(&broker, &topic)
        .partitions
        .iter()
        .map(|p| (p.partition, p.high_watermark))
        .collect();

    let seen: Inspected = run_phase(&python, client, "inspect", &broker, &topic, &group_id, 30);
    assert_eq!(
        seen.stable_groups,
        std::slice::from_ref(&group_id),
        "{seen:?}"
    );
    assert!(
        !seen.empty_groups_while_member.contains(&group_id),
        "a group with a member is not Empty: {seen:?}"
    );
    assert_eq!(seen.described.state, "Stable", "{seen:?}");
    assert_eq!(seen.described.protocol, "range", "{seen:?}");
    let [member] = seen.described.members.as_slice() else {
        panic!("one member: {seen:?}");
    };
    assert_eq!(member.client_id, "group-admin-member");
    assert_eq!(member.host, "/127.0.0.1");
    let every_partition: Vec<(String, i32)> = (0..3).map(|p| (topic.clone(), p)).collect();
    assert_eq!(member.assignment, every_partition, "{seen:?}");
    // The member read everything and committed: the end of each partition it read from.
    for (t, partition, offset) in &seen.offsets {
        assert_eq!(t, &topic);
        let end = high_watermarks[partition];
        assert!(
            *offset == end || *offset == 0,
            "committed {offset} on {partition}, whose end is {end}: {seen:?}"
        );
    }
    let committed_total: i64 = seen.offsets.iter().map(|(_, _, o)| o).sum();
    assert_eq!(committed_total, 30, "{seen:?}");
    assert_eq!(
        seen.delete_while_member.as_deref(),
        Some("NON_EMPTY_GROUP"),
        "{seen:?}"
    );
    assert!(
        seen.empty_groups_after_close.contains(&group_id),
        "{seen:?}"
    );
    // Partition 0 was altered to 1; the broker holds exactly what the client listed.
    let altered: BTreeMap<i32, i64> = seen
        .offsets_after_alter
        .iter()
        .map(|(_, p, o)| (*p, *o))
        .collect();
    assert_eq!(altered.get(&0), Some(&1), "{seen:?}");
    let held = group(&broker, &group_id).expect("the group exists");
    assert_eq!(held.state, "Empty", "{held:?}");
    assert!(held.members.is_empty(), "{held:?}");
    assert_eq!(held.committed(&topic), altered, "{held:?} vs {seen:?}");

    let deleted: Deleted = run_phase(&python, client, "delete", &broker, &topic, &group_id, 30);
    assert_eq!(deleted.delete_when_empty, None, "{deleted:?}");
    assert!(
        !deleted.empty_groups_after_delete.contains(&group_id),
        "{deleted:?}"
    );
    assert!(
        group(&broker, &group_id).is_none(),
        "the broker no longer has the group"
    );
    assert!(broker.terminate(), "mock-broker exits 0 on SIGTERM");
}

#[test]
fn the_confluent_kafka_admin_client_lists_describes_alters_and_deletes_a_group() {
    an_admin_client_lists_describes_alters_and_deletes_a_group(
        "confluent-kafka",
        "confluent_kafka",
    );
}

#[test]
fn the_kafka_python_admin_client_lists_describes_alters_and_deletes_a_group() {
    an_admin_client_lists_describes_alters_and_deletes_a_group("kafka-python", "kafka");
}

//! Group requests as bytes on a socket (the `kafka-protocol` crate's types): OffsetFetch v8+
//! answering several groups in one request, OffsetDelete refused with GROUP_SUBSCRIBED_TO_TOPIC
//! while a member subscribes to the topic and done once it left, and in a three-broker cluster
//! FindCoordinator naming the broker Kafka's hashing picks while the others answer group
//! requests with NOT_COORDINATOR; fault rules scoped by `group`, and the `rebalance` rule.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::consumer_protocol_assignment::{
    ConsumerProtocolAssignment, TopicPartition,
};
use kafka_protocol::messages::consumer_protocol_subscription::ConsumerProtocolSubscription;
use kafka_protocol::messages::describe_groups_request::DescribeGroupsRequest;
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::heartbeat_request::HeartbeatRequest;
use kafka_protocol::messages::join_group_request::{JoinGroupRequest, JoinGroupRequestProtocol};
use kafka_protocol::messages::leave_group_request::LeaveGroupRequest;
use kafka_protocol::messages::list_groups_request::ListGroupsRequest;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequest, OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{
    OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopics,
};
use kafka_protocol::messages::sync_group_request::{SyncGroupRequest, SyncGroupRequestAssignment};
use kafka_protocol::messages::{GroupId, OffsetFetchResponse};
use kafka_protocol::protocol::{Encodable, StrBytes};
use mock_broker::fault::{FaultSpec, FaultState};
use mock_broker::{BrokerConfig, MockBroker};

use crate::kafka_protocol::{KafkaClient, name};

async fn broker(brokers: u32) -> MockBroker {
    let mut config = BrokerConfig::ephemeral();
    config.brokers = brokers;
    MockBroker::start(config).await.expect("broker starts")
}

fn text(s: &str) -> StrBytes {
    StrBytes::from_string(s.to_owned())
}

fn group_id(s: &str) -> GroupId {
    GroupId(text(s))
}

/// A consumer's JoinGroup metadata: ConsumerProtocolSubscription v0 naming `topics`.
fn subscription(topics: &[&str]) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    ConsumerProtocolSubscription::default()
        .with_topics(topics.iter().map(|t| text(t)).collect())
        .encode(&mut buf, 0)
        .unwrap();
    buf.freeze()
}

/// A leader's assignment: ConsumerProtocolAssignment v0 of `partitions` of `topic`.
fn assignment(topic: &str, partitions: Vec<i32>) -> Bytes {
    let mut buf = BytesMut::new();
    buf.put_i16(0);
    ConsumerProtocolAssignment::default()
        .with_assigned_partitions(vec![
            TopicPartition::default()
                .with_topic(name(topic))
                .with_partitions(partitions),
        ])
        .encode(&mut buf, 0)
        .unwrap();
    buf.freeze()
}

pub(crate) fn join_request(group: &str, member_id: &str, topics: &[&str]) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(group_id(group))
        .with_session_timeout_ms(30_000)
        .with_rebalance_timeout_ms(30_000)
        .with_member_id(text(member_id))
        .with_protocol_type(text("consumer"))
        .with_protocols(vec![
            JoinGroupRequestProtocol::default()
                .with_name(text("range"))
                .with_metadata(subscription(topics)),
        ])
}

/// Joins `group` as its only member subscribed to `topic`, taking all of `partitions`:
/// (member id, generation).
async fn join_alone(
    client: &mut KafkaClient,
    group: &str,
    topic: &str,
    partitions: i32,
) -> (StrBytes, i32) {
    // v5 requires a known member id: the first join is answered MEMBER_ID_REQUIRED with one.
    let first = client.call(5, &join_request(group, "", &[topic])).await;
    assert_eq!(first.error_code, ResponseError::MemberIdRequired.code());
    let member_id = first.member_id.to_string();
    let joined = client
        .call(5, &join_request(group, &member_id, &[topic]))
        .await;
    assert_eq!(joined.error_code, 0, "{joined:?}");
    assert_eq!(joined.leader, joined.member_id, "the only member leads");
    let synced = client
        .call(
            3,
            &SyncGroupRequest::default()
                .with_group_id(group_id(group))
                .with_generation_id(joined.generation_id)
                .with_member_id(joined.member_id.clone())
                .with_assignments(vec![
                    SyncGroupRequestAssignment::default()
                        .with_member_id(joined.member_id.clone())
                        .with_assignment(assignment(topic, (0..partitions).collect())),
                ]),
        )
        .await;
    assert_eq!(synced.error_code, 0, "{synced:?}");
    (joined.member_id, joined.generation_id)
}

/// Commits `offsets` ((partition, offset)) of `topic` for `group`, as `member` of
/// `generation` (-1 and "" for a group without members); the error codes per partition.
async fn commit(
    client: &mut KafkaClient,
    group: &str,
    member: (&StrBytes, i32),
    topic: &str,
    offsets: &[(i32, i64)],
) -> Vec<i16> {
    let request = OffsetCommitRequest::default()
        .with_group_id(group_id(group))
        .with_member_id(member.0.clone())
        .with_generation_id_or_member_epoch(member.1)
        .with_topics(vec![
            OffsetCommitRequestTopic::default()
                .with_name(name(topic))
                .with_partitions(
                    offsets
                        .iter()
                        .map(|&(partition, offset)| {
                            OffsetCommitRequestPartition::default()
                                .with_partition_index(partition)
                                .with_committed_offset(offset)
                        })
                        .collect(),
                ),
        ]);
    let response = client.call(8, &request).await;
    response.topics[0]
        .partitions
        .iter()
        .map(|p| p.error_code)
        .collect()
}

/// (group, error, [(topic, partition, offset, error)]) per group of a batched response.
type Batched = Vec<(String, i16, Vec<(String, i32, i64, i16)>)>;

fn batched(response: &OffsetFetchResponse) -> Batched {
    response
        .groups
        .iter()
        .map(|g| {
            let offsets = g
                .topics
                .iter()
                .flat_map(|t| {
                    t.partitions.iter().map(|p| {
                        (
                            t.name.0.to_string(),
                            p.partition_index,
                            p.committed_offset,
                            p.error_code,
                        )
                    })
                })
                .collect();
            (g.group_id.0.to_string(), g.error_code, offsets)
        })
        .collect()
}

#[tokio::test]
async fn offset_fetch_v8_and_v9_answer_several_groups_in_one_request() {
    let broker = broker(1).await;
    broker.store().create_topic("fetched", 2);
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let nobody = (&StrBytes::default(), -1);
    let committed = commit(&mut client, "a", nobody, "fetched", &[(0, 5), (1, 7)]).await;
    assert_eq!(committed, [0, 0]);
    let committed = commit(&mut client, "b", nobody, "fetched", &[(1, 3)]).await;
    assert_eq!(committed, [0]);

    let request = OffsetFetchRequest::default().with_groups(vec![
        // Some partitions of a, one of them never committed.
        OffsetFetchRequestGroup::default()
            .with_group_id(group_id("a"))
            .with_topics(Some(vec![
                OffsetFetchRequestTopics::default()
                    .with_name(name("fetched"))
                    .with_partition_indexes(vec![1, 0]),
            ])),
        // Everything b committed.
        OffsetFetchRequestGroup::default()
            .with_group_id(group_id("b"))
            .with_topics(None),
        // A group the broker never saw.
        OffsetFetchRequestGroup::default()
            .with_group_id(group_id("unknown"))
            .with_topics(None),
    ]);
    for version in [8, 9] {
        let response = client.call(version, &request).await;
        let fetched = batched(&response);
        assert_eq!(
            fetched,
            vec![
                (
                    "a".to_string(),
                    0,
                    vec![
                        ("fetched".to_string(), 1, 7, 0),
                        ("fetched".to_string(), 0, 5, 0)
                    ]
                ),
                ("b".to_string(), 0, vec![("fetched".to_string(), 1, 3, 0)]),
                ("unknown".to_string(), 0, vec![]),
            ],
            "OffsetFetch v{version}"
        );
    }
}

async fn offset_delete(client: &mut KafkaClient, group: &str, topic: &str) -> (i16, Vec<i16>) {
    let request = OffsetDeleteRequest::default()
        .with_group_id(group_id(group))
        .with_topics(vec![
            OffsetDeleteRequestTopic::default()
                .with_name(name(topic))
                .with_partitions(vec![
                    OffsetDeleteRequestPartition::default().with_partition_index(0),
                    OffsetDeleteRequestPartition::default().with_partition_index(1),
                ]),
        ]);
    let response = client.call(0, &request).await;
    let partitions = response
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.error_code))
        .collect();
    (response.error_code, partitions)
}

#[tokio::test]
async fn offset_delete_is_refused_while_a_member_subscribes_to_the_topic_and_done_once_it_left() {
    let broker = broker(1).await;
    broker.store().create_topic("subscribed", 2);
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let (member_id, generation) = join_alone(&mut client, "deleting", "subscribed", 2).await;
    let committed = commit(
        &mut client,
        "deleting",
        (&member_id, generation),
        "subscribed",
        &[(0, 4), (1, 6)],
    )
    .await;
    assert_eq!(committed, [0, 0]);

    let subscribed = ResponseError::GroupSubscribedToTopic.code();
    assert_eq!(
        offset_delete(&mut client, "deleting", "subscribed").await,
        (0, vec![subscribed, subscribed]),
        "a member subscribes to the topic"
    );
    let held = broker.group("deleting").expect("the group exists");
    assert_eq!(held.offsets.len(), 2, "nothing deleted: {held:?}");

    let left = client
        .call(
            3,
            &LeaveGroupRequest::default()
                .with_group_id(group_id("deleting"))
                .with_members(vec![
                    kafka_protocol::messages::leave_group_request::MemberIdentity::default()
                        .with_member_id(member_id),
                ]),
        )
        .await;
    assert_eq!(left.error_code, 0, "{left:?}");
    assert_eq!(broker.group("deleting").unwrap().state, "Empty");
    assert_eq!(
        offset_delete(&mut client, "deleting", "subscribed").await,
        (0, vec![0, 0]),
        "nobody subscribes any more"
    );
    let held = broker.group("deleting").expect("the group exists");
    assert!(held.offsets.is_empty(), "the offsets are gone: {held:?}");
}

/// Java's `String.hashCode`, as Kafka hashes a group id; written here again so that the test
/// does not trust the broker's own.
fn java_hash_code(key: &str) -> i32 {
    key.encode_utf16().fold(0i32, |h, unit| {
        h.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The coordinator Kafka picks among `brokers`: the leader of partition
/// `abs(hashCode) % 50` of `__consumer_offsets`, partition p being led by broker `p % N + 1`.
pub(crate) fn expected_coordinator(group: &str, brokers: i32) -> i32 {
    let hash = java_hash_code(group);
    let partition = if hash == i32::MIN { 0 } else { hash.abs() } % 50;
    partition % brokers + 1
}

#[tokio::test]
async fn in_a_cluster_find_coordinator_names_kafkas_choice_and_the_other_brokers_answer_not_coordinator()
 {
    let broker = broker(3).await;
    let addrs = broker.broker_addrs().to_vec();
    // Group ids whose coordinators cover every broker.
    let groups: Vec<String> = (0..40).map(|i| format!("cluster-group-{i}")).collect();
    let covered: std::collections::BTreeSet<i32> =
        groups.iter().map(|g| expected_coordinator(g, 3)).collect();
    assert_eq!(covered.len(), 3, "the ids reach every broker");

    let mut bootstrap = KafkaClient::connect(addrs[0]).await;
    let mut clients = Vec::new();
    for addr in &addrs {
        clients.push(KafkaClient::connect(*addr).await);
    }
    for group in &groups {
        let expected = expected_coordinator(group, 3);
        let old = bootstrap
            .call(
                3,
                &FindCoordinatorRequest::default()
                    .with_key(text(group))
                    .with_key_type(0),
            )
            .await;
        assert_eq!(
            (old.error_code, old.node_id.0),
            (0, expected),
            "FindCoordinator v3 for {group}"
        );
        assert_eq!(old.port, i32::from(addrs[expected as usize - 1].port()));
        let batched = bootstrap
            .call(
                4,
                &FindCoordinatorRequest::default()
                    .with_coordinator_keys(vec![text(group)])
                    .with_key_type(0),
            )
            .await;
        assert_eq!(
            batched.coordinators[0].node_id.0, expected,
            "FindCoordinator v4 for {group}"
        );

        for (index, client) in clients.iter_mut().enumerate() {
            let node_id = index as i32 + 1;
            let joined = client.call(5, &join_request(group, "", &["t"])).await;
            let beat = client
                .call(
                    3,
                    &HeartbeatRequest::default()
                        .with_group_id(group_id(group))
                        .with_generation_id(1)
                        .with_member_id(text("m")),
                )
                .await;
            if node_id == expected {
                assert_eq!(
                    joined.error_code,
                    ResponseError::MemberIdRequired.code(),
                    "{group} on its coordinator {node_id}"
                );
                assert_ne!(beat.error_code, ResponseError::NotCoordinator.code());
            } else {
                assert_eq!(
                    (joined.error_code, beat.error_code),
                    (
                        ResponseError::NotCoordinator.code(),
                        ResponseError::NotCoordinator.code()
                    ),
                    "{group} on broker {node_id}, coordinated by {expected}"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_fault_rule_scoped_by_group_answers_only_the_requests_naming_that_group() {
    let broker = broker(1).await;
    let load = ResponseError::CoordinatorLoadInProgress.code();
    broker
        .faults()
        .add(FaultSpec::error("COORDINATOR_LOAD_IN_PROGRESS").with_group("faulty"))
        .unwrap();
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    for (group, expected) in [("faulty", load), ("healthy", 0)] {
        let found = client
            .call(3, &FindCoordinatorRequest::default().with_key(text(group)))
            .await;
        assert_eq!(found.error_code, expected, "FindCoordinator {group}");
    }
    for (group, expected) in [
        ("faulty", load),
        ("healthy", ResponseError::MemberIdRequired.code()),
    ] {
        let joined = client.call(5, &join_request(group, "", &["t"])).await;
        assert_eq!(joined.error_code, expected, "JoinGroup {group}");
    }
    // A request naming the group among others is answered with the error whole.
    for (groups, expected) in [(vec!["healthy"], 0), (vec!["healthy", "faulty"], load)] {
        let described = client
            .call(
                5,
                &DescribeGroupsRequest::default()
                    .with_groups(groups.iter().map(|g| group_id(g)).collect()),
            )
            .await;
        let codes: Vec<i16> = described.groups.iter().map(|g| g.error_code).collect();
        assert_eq!(
            codes,
            vec![expected; groups.len()],
            "DescribeGroups {groups:?}"
        );
    }
    // Requests that name no group never match.
    let listed = client.call(4, &ListGroupsRequest::default()).await;
    assert_eq!(listed.error_code, 0);
}

#[tokio::test]
async fn a_rebalance_rule_waits_for_its_group_to_be_stable_then_makes_every_member_rejoin() {
    let broker = broker(1).await;
    broker.store().create_topic("rebalanced", 1);
    // Added before the group exists: it stays in force, trying, until it can act.
    let rule = broker.faults().add(FaultSpec::rebalance("later")).unwrap();
    assert_eq!(
        (rule.fired, rule.state),
        (0, FaultState::Active),
        "{rule:?}"
    );
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let (member_id, generation) = join_alone(&mut client, "later", "rebalanced", 1).await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while broker.faults().get(rule.id).unwrap().fired == 0 {
        assert!(std::time::Instant::now() < deadline, "the rule never fired");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(
        broker.faults().get(rule.id).unwrap().state,
        FaultState::Expired
    );
    assert_eq!(broker.group("later").unwrap().state, "PreparingRebalance");
    let beat = client
        .call(
            3,
            &HeartbeatRequest::default()
                .with_group_id(group_id("later"))
                .with_generation_id(generation)
                .with_member_id(member_id),
        )
        .await;
    assert_eq!(beat.error_code, ResponseError::RebalanceInProgress.code());
}

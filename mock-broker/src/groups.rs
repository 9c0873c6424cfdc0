//! What the Rust API ([`MockBroker::groups`](crate::MockBroker::groups)) and the admin
//! API (`GET /groups`) show of the consumer groups: state, members with their assignments,
//! and committed offsets with their lag behind the high watermark. Groups of both
//! protocols are shown; a consumer-protocol (KIP-848) group has `group_type` `consumer`,
//! its group epoch as `generation_id`, its assignor as `protocol`, and its members' epochs,
//! reconciliation states and target assignments.

use base64::Engine as _;
use bytes::{Buf, Bytes};
use kafka_protocol::messages::ConsumerProtocolAssignment;
use kafka_protocol::protocol::{Decodable, Message};
use serde::Serialize;

use crate::group::{
    Assignment, CommittedOffset, ConsumerGroupDescription, GroupSnapshot, MemberSnapshot,
};
use crate::group_service::GroupService;
use crate::store::RecordStore;

/// One consumer group, as `GET /groups` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GroupSummary {
    /// The group id.
    pub group_id: String,
    /// Its state as Kafka names it: `Empty`, `PreparingRebalance`, `CompletingRebalance`,
    /// `Stable` (classic); `Empty`, `Assigning`, `Reconciling`, `Stable` (consumer).
    pub state: String,
    /// `classic`, or `consumer` for a KIP-848 consumer-protocol group.
    pub group_type: String,
    /// Its protocol type (`consumer` for consumers), once a member joined.
    pub protocol_type: Option<String>,
    /// The protocol (assignor) chosen for the current generation.
    pub protocol: Option<String>,
    /// How many members it has.
    pub members: usize,
}

/// Everything about one consumer group, as `GET /groups/{id}` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GroupInfo {
    /// The group id.
    pub group_id: String,
    /// Its state as Kafka names it.
    pub state: String,
    /// `classic`, or `consumer` for a KIP-848 consumer-protocol group.
    pub group_type: String,
    /// A consumer-protocol group's target assignment epoch (`generation_id` is its group
    /// epoch).
    pub assignment_epoch: Option<i32>,
    /// When it entered that state, in ms since the Unix epoch.
    pub state_since_ms: i64,
    /// Its protocol type, once a member joined.
    pub protocol_type: Option<String>,
    /// The protocol (assignor) chosen for the current generation.
    pub protocol: Option<String>,
    /// The current generation (0 before the first rebalance completes).
    pub generation_id: i32,
    /// The leader's member id.
    pub leader: Option<String>,
    /// The members, in join order.
    pub members: Vec<MemberInfo>,
    /// The committed offsets, by topic then partition.
    pub offsets: Vec<CommittedOffsetInfo>,
}

/// One member of a [`GroupInfo`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MemberInfo {
    /// The member id the broker handed out.
    pub member_id: String,
    /// Its `group.instance.id`, if it is a static member.
    pub group_instance_id: Option<String>,
    /// The client id it joined with.
    pub client_id: String,
    /// The host it joined from, as Kafka reports it (`/127.0.0.1`).
    pub client_host: String,
    /// Its session timeout.
    pub session_timeout_ms: i32,
    /// Its rebalance timeout.
    pub rebalance_timeout_ms: i32,
    /// The protocols (assignors) it supports, most preferred first.
    pub protocols: Vec<String>,
    /// Its assignment for the current generation, decoded, when the group uses the
    /// consumer protocol and it decodes.
    pub assigned: Option<Vec<AssignedTopic>>,
    /// Its assignment as the leader sent it, base64 ("" for consumer-protocol members).
    pub assignment_base64: String,
    /// A consumer-protocol member's epoch.
    pub member_epoch: Option<i32>,
    /// A consumer-protocol member's reconciliation state: `stable`,
    /// `unrevoked_partitions` or `unreleased_partitions`.
    pub member_state: Option<String>,
    /// A consumer-protocol member's subscribed topics.
    pub subscribed_topics: Option<Vec<String>>,
    /// A consumer-protocol member's target assignment.
    pub target: Option<Vec<AssignedTopic>>,
}

/// The partitions of one topic assigned to a member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AssignedTopic {
    /// The topic.
    pub topic: String,
    /// Its partitions, as the assignor listed them.
    pub partitions: Vec<i32>,
}

/// One partition's committed offset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CommittedOffsetInfo {
    /// The topic.
    pub topic: String,
    /// The partition.
    pub partition: i32,
    /// The committed offset: the next record the group will read.
    pub offset: i64,
    /// The leader epoch the client gave, -1 if none.
    pub leader_epoch: i32,
    /// The client's metadata ("" when none).
    pub metadata: String,
    /// When it was committed, in ms since the Unix epoch.
    pub commit_timestamp_ms: i64,
    /// The partition's high watermark, if the partition exists.
    pub high_watermark: Option<i64>,
    /// How far the group is behind: high watermark − committed offset.
    pub lag: Option<i64>,
}

/// Every group, by group id.
pub(crate) fn list(groups: &GroupService) -> Vec<GroupSummary> {
    let (classic, consumer) =
        groups.read(|coordinator| (coordinator.snapshot(), coordinator.consumer_snapshot()));
    let mut listed: Vec<GroupSummary> = classic
        .into_iter()
        .map(|g| GroupSummary {
            state: g.state.name().to_owned(),
            group_type: CLASSIC.to_owned(),
            members: g.members.len(),
            group_id: g.group_id,
            protocol_type: g.protocol_type,
            protocol: g.protocol,
        })
        .chain(consumer.into_iter().map(|g| GroupSummary {
            state: g.state.name().to_owned(),
            group_type: CONSUMER.to_owned(),
            members: g.members.len(),
            group_id: g.group_id,
            protocol_type: Some(CONSUMER.to_owned()),
            protocol: Some(g.assignor.to_owned()),
        }))
        .collect();
    listed.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    listed
}

/// The group type of the classic protocol.
const CLASSIC: &str = "classic";
/// The group type (and protocol type) of KIP-848's consumer protocol.
const CONSUMER: &str = "consumer";

/// Makes every member of a Stable (or CompletingRebalance) group rejoin, as if one asked
/// for a rebalance; false for a group in any other state or unknown.
pub(crate) fn force_rebalance(groups: &GroupService, group_id: &str) -> bool {
    groups.call(|coordinator, now| coordinator.force_rebalance(group_id, now))
}

/// Every group in full, by group id, with lags from `store`.
pub(crate) fn describe_all(groups: &GroupService, store: &RecordStore) -> Vec<GroupInfo> {
    let (classic, consumer) =
        groups.read(|coordinator| (coordinator.snapshot(), coordinator.consumer_snapshot()));
    let mut described: Vec<GroupInfo> = classic
        .into_iter()
        .map(|g| info(g, store))
        .chain(consumer.into_iter().map(|g| consumer_info(g, store)))
        .collect();
    described.sort_by(|a, b| a.group_id.cmp(&b.group_id));
    described
}

fn offset_infos(
    offsets: Vec<(String, i32, CommittedOffset)>,
    store: &RecordStore,
) -> Vec<CommittedOffsetInfo> {
    offsets
        .into_iter()
        .map(|(topic, partition, committed)| {
            let high_watermark = store.topic(&topic).and_then(|log| {
                u32::try_from(partition)
                    .ok()
                    .and_then(|p| log.high_watermark(p).ok())
            });
            CommittedOffsetInfo {
                lag: high_watermark.map(|hw| hw - committed.offset),
                high_watermark,
                topic,
                partition,
                offset: committed.offset,
                leader_epoch: committed.leader_epoch,
                metadata: committed.metadata,
                commit_timestamp_ms: committed.commit_timestamp_ms,
            }
        })
        .collect()
}

fn assigned_topics(assignment: &Assignment) -> Vec<AssignedTopic> {
    assignment
        .topics()
        .map(|(topic, partitions)| AssignedTopic {
            topic: topic.to_owned(),
            partitions: partitions.iter().copied().collect(),
        })
        .collect()
}

fn consumer_info(g: ConsumerGroupDescription, store: &RecordStore) -> GroupInfo {
    GroupInfo {
        group_id: g.group_id,
        state: g.state.name().to_owned(),
        group_type: CONSUMER.to_owned(),
        assignment_epoch: Some(g.assignment_epoch),
        state_since_ms: g.state_since_ms,
        protocol_type: Some(CONSUMER.to_owned()),
        protocol: Some(g.assignor.to_owned()),
        generation_id: g.group_epoch,
        leader: None,
        members: g
            .members
            .into_iter()
            .map(|m| MemberInfo {
                assigned: Some(assigned_topics(&m.assigned)),
                target: Some(assigned_topics(&m.target)),
                member_epoch: Some(m.member_epoch),
                member_state: Some(m.state.name().to_owned()),
                subscribed_topics: Some(m.subscribed_topic_names),
                assignment_base64: String::new(),
                member_id: m.member_id,
                group_instance_id: m.instance_id,
                client_id: m.client_id,
                client_host: m.client_host,
                session_timeout_ms: 0,
                rebalance_timeout_ms: m.rebalance_timeout_ms,
                protocols: Vec::new(),
            })
            .collect(),
        offsets: offset_infos(g.offsets, store),
    }
}

fn info(snapshot: GroupSnapshot, store: &RecordStore) -> GroupInfo {
    let consumer = snapshot.protocol_type.as_deref() == Some("consumer");
    GroupInfo {
        state: snapshot.state.name().to_owned(),
        group_type: CLASSIC.to_owned(),
        assignment_epoch: None,
        state_since_ms: snapshot.state_since_ms,
        members: snapshot
            .members
            .into_iter()
            .map(|m| member(m, consumer))
            .collect(),
        offsets: offset_infos(snapshot.offsets, store),
        group_id: snapshot.group_id,
        protocol_type: snapshot.protocol_type,
        protocol: snapshot.protocol,
        generation_id: snapshot.generation_id,
        leader: snapshot.leader,
    }
}

fn member(m: MemberSnapshot, consumer: bool) -> MemberInfo {
    MemberInfo {
        assigned: if consumer {
            decode_assignment(&m.assignment)
        } else {
            None
        },
        assignment_base64: base64::engine::general_purpose::STANDARD.encode(&m.assignment),
        member_id: m.member_id,
        group_instance_id: m.group_instance_id,
        client_id: m.client_id,
        client_host: m.client_host,
        member_epoch: None,
        member_state: None,
        subscribed_topics: None,
        target: None,
        session_timeout_ms: m.session_timeout_ms,
        rebalance_timeout_ms: m.rebalance_timeout_ms,
        protocols: m.protocols,
    }
}

/// A ConsumerProtocolAssignment's partitions; newer versions than the crate knows are
/// read with its newest schema, a prefix of theirs (as Kafka reads them).
fn decode_assignment(assignment: &Bytes) -> Option<Vec<AssignedTopic>> {
    if assignment.len() < 2 {
        return None;
    }
    let mut buf = assignment.clone();
    let version = buf.get_i16().min(ConsumerProtocolAssignment::VERSIONS.max);
    let decoded = ConsumerProtocolAssignment::decode(&mut buf, version).ok()?;
    Some(
        decoded
            .assigned_partitions
            .into_iter()
            .map(|t| AssignedTopic {
                topic: t.topic.0.to_string(),
                partitions: t.partitions,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::TopicName;
    use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
    use kafka_protocol::protocol::{Encodable, StrBytes};

    use super::*;

    #[test]
    fn consumer_assignments_decode_at_every_version() {
        for version in 0..=3i16 {
            let assignment = ConsumerProtocolAssignment::default().with_assigned_partitions(vec![
                TopicPartition::default()
                    .with_topic(TopicName(StrBytes::from_static_str("t")))
                    .with_partitions(vec![2, 0]),
            ]);
            let mut bytes = bytes::BytesMut::new();
            bytes.extend_from_slice(&version.to_be_bytes());
            assignment.encode(&mut bytes, version).unwrap();
            let decoded = decode_assignment(&bytes.freeze()).unwrap();
            assert_eq!(
                decoded,
                vec![AssignedTopic {
                    topic: "t".into(),
                    partitions: vec![2, 0]
                }],
                "v{version}"
            );
        }
        assert_eq!(decode_assignment(&Bytes::new()), None);
    }
}

//! DescribeGroups: each group's state, protocol and members; an unknown group is Dead.
//! A consumer-protocol (KIP-848) group is described too: its state, `consumer` as the
//! protocol type, its assignor as the protocol, and each member's assignment encoded as a
//! ConsumerProtocolAssignment (Kafka itself answers Dead for such a group; its tools use
//! ConsumerGroupDescribe).

use bytes::{Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::consumer_protocol_assignment::TopicPartition;
use kafka_protocol::messages::describe_groups_request::DescribeGroupsRequest;
use kafka_protocol::messages::describe_groups_response::{
    DescribeGroupsResponse, DescribedGroup, DescribedGroupMember,
};
use kafka_protocol::messages::{ConsumerProtocolAssignment, TopicName};
use kafka_protocol::protocol::{Encodable, StrBytes};

use super::context::Ctx;
use super::group_coordinator::coordinates;
use crate::group::{Assignment, ConsumerGroupDescription};

/// Serves a DescribeGroups.
pub(crate) fn handle(
    request: DescribeGroupsRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> DescribeGroupsResponse {
    let groups = request
        .groups
        .iter()
        .map(|group_id| {
            let group = DescribedGroup::default().with_group_id(group_id.clone());
            if !coordinates(ctx, group_id) {
                return group.with_error_code(ResponseError::NotCoordinator.code());
            }
            let consumer = ctx
                .state
                .groups
                .read(|coordinator| coordinator.consumer_group_describe(group_id).ok());
            if let Some(consumer) = consumer {
                return consumer_group(group, consumer, version);
            }
            let described = ctx
                .state
                .groups
                .read(|coordinator| coordinator.describe_group(group_id));
            let members = described
                .members
                .into_iter()
                .map(|m| {
                    DescribedGroupMember::default()
                        .with_member_id(StrBytes::from_string(m.member_id))
                        .with_group_instance_id(if version >= 4 {
                            m.group_instance_id.map(StrBytes::from_string)
                        } else {
                            None
                        })
                        .with_client_id(StrBytes::from_string(m.client_id))
                        .with_client_host(StrBytes::from_string(m.client_host))
                        .with_member_metadata(m.metadata)
                        .with_member_assignment(m.assignment)
                })
                .collect();
            group
                .with_group_state(StrBytes::from_static_str(described.state.name()))
                .with_protocol_type(StrBytes::from_string(described.protocol_type))
                .with_protocol_data(StrBytes::from_string(described.protocol))
                .with_members(members)
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

/// The answer refusing every group of `request` with `error` (a fault rule puts its own
/// code in).
pub(crate) fn refused(
    request: &DescribeGroupsRequest,
    error: ResponseError,
) -> DescribeGroupsResponse {
    let groups = request
        .groups
        .iter()
        .map(|g| {
            DescribedGroup::default()
                .with_group_id(g.clone())
                .with_error_code(error.code())
        })
        .collect();
    DescribeGroupsResponse::default().with_groups(groups)
}

/// A consumer-protocol group as DescribeGroups shows it.
fn consumer_group(
    group: DescribedGroup,
    described: ConsumerGroupDescription,
    version: i16,
) -> DescribedGroup {
    let members = described
        .members
        .into_iter()
        .map(|m| {
            DescribedGroupMember::default()
                .with_member_id(StrBytes::from_string(m.member_id))
                .with_group_instance_id(if version >= 4 {
                    m.instance_id.map(StrBytes::from_string)
                } else {
                    None
                })
                .with_client_id(StrBytes::from_string(m.client_id))
                .with_client_host(StrBytes::from_string(m.client_host))
                .with_member_assignment(encode_assignment(&m.assigned))
        })
        .collect();
    group
        .with_group_state(StrBytes::from_static_str(described.state.name()))
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocol_data(StrBytes::from_static_str(described.assignor))
        .with_members(members)
}

/// `assignment` as a version-0 ConsumerProtocolAssignment, as classic members receive it.
fn encode_assignment(assignment: &Assignment) -> Bytes {
    let topics = assignment
        .topics()
        .map(|(topic, partitions)| {
            TopicPartition::default()
                .with_topic(TopicName(StrBytes::from_string(topic.to_owned())))
                .with_partitions(partitions.iter().copied().collect())
        })
        .collect();
    let mut bytes = BytesMut::new();
    bytes.extend_from_slice(&0i16.to_be_bytes());
    let encoded = ConsumerProtocolAssignment::default()
        .with_assigned_partitions(topics)
        .encode(&mut bytes, 0);
    match encoded {
        Ok(()) => bytes.freeze(),
        Err(error) => {
            tracing::error!(%error, "a consumer assignment does not encode");
            Bytes::new()
        }
    }
}

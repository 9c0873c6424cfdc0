//! ConsumerGroupDescribe (KIP-848): each consumer-protocol group's state, epochs, assignor
//! and members with their current and target assignments; GROUP_ID_NOT_FOUND for a group
//! that is not one.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::TopicName;
use kafka_protocol::messages::consumer_group_describe_request::ConsumerGroupDescribeRequest;
use kafka_protocol::messages::consumer_group_describe_response::{
    Assignment as DescribedAssignment, ConsumerGroupDescribeResponse, DescribedGroup, Member,
    TopicPartitions,
};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use super::group_coordinator::coordinates;
use crate::group::{Assignment, ConsumerMemberDescription};
use crate::store::RecordStore;

/// `member_type` of a member that uses the consumer protocol (v1+; 0 is classic).
const CONSUMER_MEMBER_TYPE: i8 = 1;

/// Serves a ConsumerGroupDescribe.
pub(crate) fn handle(
    request: ConsumerGroupDescribeRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> ConsumerGroupDescribeResponse {
    let store = &ctx.state.store;
    let groups = request
        .group_ids
        .iter()
        .map(|group_id| {
            let group = DescribedGroup::default().with_group_id(group_id.clone());
            if !coordinates(ctx, group_id) {
                return group.with_error_code(ResponseError::NotCoordinator.code());
            }
            let described = ctx
                .state
                .groups
                .read(|coordinator| coordinator.consumer_group_describe(group_id));
            match described {
                Ok(d) => group
                    .with_group_state(StrBytes::from_static_str(d.state.name()))
                    .with_group_epoch(d.group_epoch)
                    .with_assignment_epoch(d.assignment_epoch)
                    .with_assignor_name(StrBytes::from_static_str(d.assignor))
                    .with_members(
                        d.members
                            .into_iter()
                            .map(|m| member(m, version, store))
                            .collect(),
                    ),
                Err(error) => group
                    .with_error_code(error.error.code())
                    .with_error_message(Some(StrBytes::from_string(error.message))),
            }
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}

fn member(m: ConsumerMemberDescription, version: i16, store: &RecordStore) -> Member {
    let described = Member::default()
        .with_member_id(StrBytes::from_string(m.member_id))
        .with_instance_id(m.instance_id.map(StrBytes::from_string))
        .with_rack_id(m.rack_id.map(StrBytes::from_string))
        .with_member_epoch(m.member_epoch)
        .with_client_id(StrBytes::from_string(m.client_id))
        .with_client_host(StrBytes::from_string(m.client_host))
        .with_subscribed_topic_names(
            m.subscribed_topic_names
                .into_iter()
                .map(|t| TopicName(StrBytes::from_string(t)))
                .collect(),
        )
        .with_assignment(assignment(&m.assigned, store))
        .with_target_assignment(assignment(&m.target, store));
    if version >= 1 {
        described.with_member_type(CONSUMER_MEMBER_TYPE)
    } else {
        described
    }
}

/// An assignment on the wire: topics by id and name (topics since deleted are left out).
fn assignment(assignment: &Assignment, store: &RecordStore) -> DescribedAssignment {
    let topic_partitions = assignment
        .topics()
        .filter_map(|(topic, partitions)| {
            let log = store.topic(topic)?;
            Some(
                TopicPartitions::default()
                    .with_topic_id(log.id())
                    .with_topic_name(TopicName(StrBytes::from_string(topic.to_owned())))
                    .with_partitions(partitions.iter().copied().collect()),
            )
        })
        .collect();
    DescribedAssignment::default().with_topic_partitions(topic_partitions)
}

/// The answer refusing every group of `request` with `error` (a fault rule puts its own
/// code in).
pub(crate) fn refused(
    request: &ConsumerGroupDescribeRequest,
    error: ResponseError,
) -> ConsumerGroupDescribeResponse {
    let groups = request
        .group_ids
        .iter()
        .map(|g| {
            DescribedGroup::default()
                .with_group_id(g.clone())
                .with_error_code(error.code())
        })
        .collect();
    ConsumerGroupDescribeResponse::default().with_groups(groups)
}

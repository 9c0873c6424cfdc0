//! Read-only views of consumer-protocol groups: ConsumerGroupDescribe, DescribeGroups,
//! ListGroups and the admin API.

use super::assignment::Assignment;
use super::assignor::Assignor;
use super::consumer_group::ConsumerGroup;
use super::consumer_group_state::ConsumerGroupState;
use super::consumer_member::MemberState;
use super::offsets::CommittedOffset;

/// Everything about one consumer-protocol group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConsumerGroupDescription {
    /// The group id.
    pub(crate) group_id: String,
    /// Its state.
    pub(crate) state: ConsumerGroupState,
    /// When it entered that state, in ms since the epoch.
    pub(crate) state_since_ms: i64,
    /// The group epoch.
    pub(crate) group_epoch: i32,
    /// The epoch of the target assignment.
    pub(crate) assignment_epoch: i32,
    /// The assignor the group uses.
    pub(crate) assignor: &'static str,
    /// The members, by member id.
    pub(crate) members: Vec<ConsumerMemberDescription>,
    /// The committed offsets: (topic, partition, offset).
    pub(crate) offsets: Vec<(String, i32, CommittedOffset)>,
}

/// One member of a [`ConsumerGroupDescription`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConsumerMemberDescription {
    /// The member id.
    pub(crate) member_id: String,
    /// Its `group.instance.id`, if static.
    pub(crate) instance_id: Option<String>,
    /// Its rack, if given.
    pub(crate) rack_id: Option<String>,
    /// The client id of its last heartbeat.
    pub(crate) client_id: String,
    /// The host of its last heartbeat.
    pub(crate) client_host: String,
    /// Its epoch.
    pub(crate) member_epoch: i32,
    /// Where it is in reconciling.
    pub(crate) state: MemberState,
    /// The topics it subscribes to.
    pub(crate) subscribed_topic_names: Vec<String>,
    /// The server assignor it asked for.
    pub(crate) server_assignor: Option<String>,
    /// The partitions it may own now.
    pub(crate) assigned: Assignment,
    /// The partitions it must give up.
    pub(crate) pending_revocation: Assignment,
    /// Its target assignment.
    pub(crate) target: Assignment,
    /// Its rebalance timeout.
    pub(crate) rebalance_timeout_ms: i32,
}

impl ConsumerGroup {
    /// The group as ConsumerGroupDescribe and the admin API show it.
    pub(crate) fn describe(&self, default_assignor: Assignor) -> ConsumerGroupDescription {
        ConsumerGroupDescription {
            group_id: self.id.clone(),
            state: self.state(),
            state_since_ms: self.state_since_ms,
            group_epoch: self.group_epoch,
            assignment_epoch: self.assignment_epoch,
            assignor: self.preferred_assignor(default_assignor).name(),
            members: self
                .members
                .values()
                .map(|m| ConsumerMemberDescription {
                    member_id: m.id.clone(),
                    instance_id: m.instance_id.clone(),
                    rack_id: m.rack_id.clone(),
                    client_id: m.client_id.clone(),
                    client_host: m.client_host.clone(),
                    member_epoch: m.member_epoch,
                    state: m.state,
                    subscribed_topic_names: m.subscribed_topic_names.iter().cloned().collect(),
                    server_assignor: m.server_assignor.clone(),
                    assigned: m.assigned.clone(),
                    pending_revocation: m.pending_revocation.clone(),
                    target: self.target_of(&m.id),
                    rebalance_timeout_ms: m.rebalance_timeout_ms,
                })
                .collect(),
            offsets: self
                .offsets
                .iter()
                .map(|(topic, partition, committed)| {
                    (topic.to_owned(), partition, committed.clone())
                })
                .collect(),
        }
    }
}

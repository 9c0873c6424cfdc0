//! Read-only views of groups: ListGroups, DescribeGroups and the admin snapshot.

use bytes::Bytes;

use super::group_state::GroupState;
use super::offsets::CommittedOffset;

/// One group in ListGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupListing {
    /// The group id.
    pub(crate) group_id: String,
    /// Its protocol type, "" when none yet.
    pub(crate) protocol_type: String,
    /// Its state.
    pub(crate) state: GroupState,
}

/// One group in DescribeGroups (Kafka's `GroupSummary`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupDescription {
    /// The group id.
    pub(crate) group_id: String,
    /// Its state; `Dead` for a group that does not exist.
    pub(crate) state: GroupState,
    /// Its protocol type, "" when none.
    pub(crate) protocol_type: String,
    /// Its protocol: only when Stable, "" otherwise (as Kafka).
    pub(crate) protocol: String,
    /// Its members.
    pub(crate) members: Vec<MemberDescription>,
}

/// One member in DescribeGroups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberDescription {
    /// The member id.
    pub(crate) member_id: String,
    /// Its `group.instance.id`, if static.
    pub(crate) group_instance_id: Option<String>,
    /// The client id it joined with.
    pub(crate) client_id: String,
    /// The host it joined from.
    pub(crate) client_host: String,
    /// Its metadata for the group's protocol: only when Stable, empty otherwise (as Kafka).
    pub(crate) metadata: Bytes,
    /// Its assignment: only when Stable, empty otherwise (as Kafka).
    pub(crate) assignment: Bytes,
}

/// Everything about one group, for the admin API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupSnapshot {
    /// The group id.
    pub(crate) group_id: String,
    /// Its state.
    pub(crate) state: GroupState,
    /// When it entered that state, in ms since the epoch.
    pub(crate) state_since_ms: i64,
    /// Its protocol type, if any member ever joined.
    pub(crate) protocol_type: Option<String>,
    /// The protocol chosen for the current generation.
    pub(crate) protocol: Option<String>,
    /// The current generation.
    pub(crate) generation_id: i32,
    /// The leader's member id.
    pub(crate) leader: Option<String>,
    /// The members, in join order.
    pub(crate) members: Vec<MemberSnapshot>,
    /// The committed offsets: (topic, partition, offset).
    pub(crate) offsets: Vec<(String, i32, CommittedOffset)>,
}

/// One member in a [`GroupSnapshot`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MemberSnapshot {
    /// The member id.
    pub(crate) member_id: String,
    /// Its `group.instance.id`, if static.
    pub(crate) group_instance_id: Option<String>,
    /// The client id it joined with.
    pub(crate) client_id: String,
    /// The host it joined from.
    pub(crate) client_host: String,
    /// Its session timeout.
    pub(crate) session_timeout_ms: i32,
    /// Its rebalance timeout.
    pub(crate) rebalance_timeout_ms: i32,
    /// The protocols it supports, most preferred first.
    pub(crate) protocols: Vec<String>,
    /// Its assignment for the current generation.
    pub(crate) assignment: Bytes,
}

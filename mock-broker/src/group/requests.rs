//! The group requests the coordinator serves, as plain values the Kafka handlers fill in.

use bytes::Bytes;

/// A JoinGroup request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoinRequest {
    /// The group to join.
    pub(crate) group_id: String,
    /// The member id the client knows, or empty for a new member.
    pub(crate) member_id: String,
    /// `group.instance.id` of a static member (KIP-345).
    pub(crate) group_instance_id: Option<String>,
    /// True from JoinGroup v4: a new dynamic member is first answered MEMBER_ID_REQUIRED (KIP-394).
    pub(crate) require_known_member_id: bool,
    /// True from JoinGroup v9: a static leader replaced in a Stable group is told to skip assignment.
    pub(crate) supports_skip_assignment: bool,
    /// The client id of the connection, recorded on the member.
    pub(crate) client_id: String,
    /// The client's host, recorded on the member.
    pub(crate) client_host: String,
    /// How long a join round may wait for this member (v0: pass the session timeout, as Kafka does).
    pub(crate) rebalance_timeout_ms: i32,
    /// How long the member may go without a heartbeat.
    pub(crate) session_timeout_ms: i32,
    /// The protocol type, e.g. `consumer`; every member of a group must use the same.
    pub(crate) protocol_type: String,
    /// (protocol name, metadata) in the member's order of preference.
    pub(crate) protocols: Vec<(String, Bytes)>,
}

/// A SyncGroup request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyncRequest {
    /// The group.
    pub(crate) group_id: String,
    /// The generation the member joined.
    pub(crate) generation_id: i32,
    /// The member's id.
    pub(crate) member_id: String,
    /// `group.instance.id` of a static member.
    pub(crate) group_instance_id: Option<String>,
    /// The protocol type the member expects (v5+), checked against the group's.
    pub(crate) protocol_type: Option<String>,
    /// The protocol name the member expects (v5+), checked against the group's.
    pub(crate) protocol_name: Option<String>,
    /// The leader's assignment: (member id, assignment); empty from followers.
    pub(crate) assignments: Vec<(String, Bytes)>,
}

/// A Heartbeat request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct HeartbeatRequest {
    /// The group.
    pub(crate) group_id: String,
    /// The generation the member is in.
    pub(crate) generation_id: i32,
    /// The member's id.
    pub(crate) member_id: String,
    /// `group.instance.id` of a static member.
    pub(crate) group_instance_id: Option<String>,
}

/// One member named by a LeaveGroup request (v3+ lists several; older versions one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LeavingMember {
    /// The member id, or empty to remove a static member by its instance id.
    pub(crate) member_id: String,
    /// `group.instance.id` of a static member.
    pub(crate) group_instance_id: Option<String>,
}

/// One partition's offset in an OffsetCommit request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OffsetToCommit {
    /// Topic name.
    pub(crate) topic: String,
    /// Partition index.
    pub(crate) partition: i32,
    /// The offset of the next record to consume.
    pub(crate) offset: i64,
    /// The leader epoch of the last consumed record, -1 if unknown.
    pub(crate) leader_epoch: i32,
    /// Client metadata; `None` (null) is stored as the empty string, as Kafka does.
    pub(crate) metadata: Option<String>,
}

/// An OffsetCommit request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CommitRequest {
    /// The group.
    pub(crate) group_id: String,
    /// The member's generation, or -1 for a commit outside group management.
    pub(crate) generation_id: i32,
    /// The member's id, or empty outside group management.
    pub(crate) member_id: String,
    /// `group.instance.id` of a static member.
    pub(crate) group_instance_id: Option<String>,
    /// The offsets to commit.
    pub(crate) offsets: Vec<OffsetToCommit>,
}

//! The answers to JoinGroup and SyncGroup, which may become ready after their request.

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::ticket::Ticket;

/// A waiting request's ticket with its reply, ready to send.
pub(crate) type Output = (Ticket, Reply);

/// The reply to a request that was given a [`Ticket`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Reply {
    /// The answer to a JoinGroup.
    Join(JoinResponse),
    /// The answer to a SyncGroup.
    Sync(SyncResponse),
}

/// A JoinGroup response's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoinResponse {
    /// The error, `None` for success.
    pub(crate) error: Option<ResponseError>,
    /// The member's id (the new one with MEMBER_ID_REQUIRED; empty when Kafka answers so).
    pub(crate) member_id: String,
    /// The generation the member joined, -1 on error.
    pub(crate) generation_id: i32,
    /// The group's protocol type (null on error).
    pub(crate) protocol_type: Option<String>,
    /// The chosen protocol (null on error).
    pub(crate) protocol_name: Option<String>,
    /// The leader's member id, empty when none.
    pub(crate) leader: String,
    /// JoinGroup v9+: the leader must not run the assignor (static leader replaced while Stable).
    pub(crate) skip_assignment: bool,
    /// For the leader: every member with its metadata for the chosen protocol; empty otherwise.
    pub(crate) members: Vec<JoinedMember>,
}

/// One member as the leader's JoinGroup response lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JoinedMember {
    /// The member's id.
    pub(crate) member_id: String,
    /// Its `group.instance.id`, if static.
    pub(crate) group_instance_id: Option<String>,
    /// Its metadata for the chosen protocol.
    pub(crate) metadata: Bytes,
}

/// A SyncGroup response's contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SyncResponse {
    /// The error, `None` for success.
    pub(crate) error: Option<ResponseError>,
    /// The group's protocol type (v5+; null on error).
    pub(crate) protocol_type: Option<String>,
    /// The group's protocol (v5+; null on error).
    pub(crate) protocol_name: Option<String>,
    /// The member's assignment, empty on error.
    pub(crate) assignment: Bytes,
}

impl JoinResponse {
    /// A failed join: Kafka's `JoinGroupResult(memberId, error)`.
    pub(crate) fn error(member_id: &str, error: ResponseError) -> Self {
        Self {
            error: Some(error),
            member_id: member_id.to_owned(),
            generation_id: -1,
            protocol_type: None,
            protocol_name: None,
            leader: String::new(),
            skip_assignment: false,
            members: Vec::new(),
        }
    }
}

impl SyncResponse {
    /// A failed sync: Kafka's `SyncGroupResult(error)`.
    pub(crate) fn error(error: ResponseError) -> Self {
        Self {
            error: Some(error),
            protocol_type: None,
            protocol_name: None,
            assignment: Bytes::new(),
        }
    }
}

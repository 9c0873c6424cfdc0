//! One member of a classic group: who it is, what it supports, and what it waits for.

use bytes::Bytes;

use super::ticket::Ticket;

/// A member of a group (Kafka's `MemberMetadata`).
#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The member id the coordinator handed out.
    pub(crate) id: String,
    /// `group.instance.id` of a static member.
    pub(crate) instance_id: Option<String>,
    /// The client id it joined with.
    pub(crate) client_id: String,
    /// The host it joined from.
    pub(crate) client_host: String,
    /// How long a join round waits for it.
    pub(crate) rebalance_timeout_ms: i32,
    /// How long it may go without a heartbeat.
    pub(crate) session_timeout_ms: i32,
    /// The protocol type it joined with.
    pub(crate) protocol_type: String,
    /// (protocol name, metadata), most preferred first.
    pub(crate) protocols: Vec<(String, Bytes)>,
    /// Its assignment for the current generation (empty until the leader's SyncGroup).
    pub(crate) assignment: Bytes,
    /// Its JoinGroup waiting for the round to complete.
    pub(crate) awaiting_join: Option<Ticket>,
    /// Its SyncGroup waiting for the leader's assignment.
    pub(crate) awaiting_sync: Option<Ticket>,
    /// Joined in the round still open: its join, not its session, bounds how long it may wait.
    pub(crate) is_new: bool,
    /// When it is dropped unless it shows signs of life (heartbeat, commit, sync, join).
    pub(crate) session_deadline: i64,
}

impl Member {
    /// Its metadata for `protocol`, if it supports it.
    pub(crate) fn metadata(&self, protocol: &str) -> Option<&Bytes> {
        self.protocols
            .iter()
            .find(|(name, _)| name == protocol)
            .map(|(_, metadata)| metadata)
    }

    /// Whether it supports `protocol`.
    pub(crate) fn supports(&self, protocol: &str) -> bool {
        self.metadata(protocol).is_some()
    }

    /// Whether `protocols` are exactly what it joined with, in the same order.
    pub(crate) fn matches(&self, protocols: &[(String, Bytes)]) -> bool {
        self.protocols == protocols
    }

    /// When its session expires, or `None` while it waits in a round (Kafka's
    /// `hasSatisfiedHeartbeat`: a member awaiting join or sync counts as alive, except
    /// a new member, which may still be dropped while it waits for its first round).
    pub(crate) fn expires_at(&self) -> Option<i64> {
        if !self.is_new && (self.awaiting_join.is_some() || self.awaiting_sync.is_some()) {
            None
        } else {
            Some(self.session_deadline)
        }
    }

    /// Starts its session anew from `now` (Kafka's `completeAndScheduleNextHeartbeatExpiration`).
    pub(crate) fn touch(&mut self, now_ms: i64) {
        self.session_deadline = now_ms + i64::from(self.session_timeout_ms);
    }
}

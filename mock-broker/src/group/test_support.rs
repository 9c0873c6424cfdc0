//! What the group tests share: a coordinator with a clock of their own, request
//! builders, and readers for the replies.

use bytes::Bytes;

use super::coordinator::Coordinator;
use super::group_config::GroupConfig;
use super::replies::{JoinResponse, Output, Reply, SyncResponse};
use super::requests::{HeartbeatRequest, JoinRequest, SyncRequest};
use super::ticket::Ticket;

/// The time the tests start at.
pub(crate) const T0: i64 = 1_700_000_000_000;
/// The session timeout members join with.
pub(crate) const SESSION_MS: i32 = 10_000;
/// The rebalance timeout members join with.
pub(crate) const REBALANCE_MS: i32 = 30_000;

/// A coordinator, the time, and a ticket counter.
pub(crate) struct Broker {
    /// The coordinator under test.
    pub(crate) coordinator: Coordinator,
    /// Now, as the tests move it.
    pub(crate) now: i64,
    next_ticket: u64,
}

impl Broker {
    /// A coordinator whose first join rounds do not wait (initial delay 0).
    pub(crate) fn new() -> Self {
        Self::with_config(GroupConfig {
            initial_rebalance_delay_ms: 0,
            ..GroupConfig::default()
        })
    }

    /// A coordinator with `config`.
    pub(crate) fn with_config(config: GroupConfig) -> Self {
        Self {
            coordinator: Coordinator::new(config),
            now: T0,
            next_ticket: 0,
        }
    }

    /// A fresh ticket.
    pub(crate) fn ticket(&mut self) -> Ticket {
        self.next_ticket += 1;
        Ticket(self.next_ticket)
    }

    /// Sends a JoinGroup: its ticket and the outputs.
    pub(crate) fn join(&mut self, request: &JoinRequest) -> (Ticket, Vec<Output>) {
        let ticket = self.ticket();
        let out = self.coordinator.join_group(ticket, request, self.now);
        (ticket, out)
    }

    /// Sends a SyncGroup: its ticket and the outputs.
    pub(crate) fn sync(&mut self, request: &SyncRequest) -> (Ticket, Vec<Output>) {
        let ticket = self.ticket();
        let out = self.coordinator.sync_group(ticket, request, self.now);
        (ticket, out)
    }

    /// Moves the clock on by `ms` and ticks.
    pub(crate) fn advance(&mut self, ms: i64) -> Vec<Output> {
        self.now += ms;
        self.coordinator.tick(self.now)
    }

    /// A new member's whole entry (MEMBER_ID_REQUIRED, then the join with that id): its
    /// member id, the second join's ticket and outputs.
    pub(crate) fn join_new(&mut self, group: &str, client: &str) -> (String, Ticket, Vec<Output>) {
        let (ticket, out) = self.join(&join_request(group, "", client));
        let required = join_reply(&out, ticket);
        assert_eq!(
            required.error,
            Some(kafka_protocol::ResponseError::MemberIdRequired)
        );
        let (ticket, out) = self.join(&join_request(group, &required.member_id, client));
        (required.member_id, ticket, out)
    }

    /// A one-member group brought to Stable: the member id and its generation.
    pub(crate) fn stable_single(&mut self, group: &str, client: &str) -> (String, i32) {
        let (member, ticket, out) = self.join_new(group, client);
        let joined = join_reply(&out, ticket);
        let (ticket, out) = self.sync(&sync_request(
            group,
            joined.generation_id,
            &member,
            &[(&member, "a")],
        ));
        assert_eq!(sync_reply(&out, ticket).error, None);
        (member, joined.generation_id)
    }

    /// Whether the member is in the group.
    pub(crate) fn has_member(&self, group: &str, member: &str) -> bool {
        self.coordinator
            .snapshot()
            .iter()
            .filter(|g| g.group_id == group)
            .flat_map(|g| &g.members)
            .any(|m| m.member_id == member)
    }
}

/// A JoinGroup (v5-like: KIP-394 on) with one protocol, `range`, whose metadata names the client.
pub(crate) fn join_request(group: &str, member_id: &str, client: &str) -> JoinRequest {
    JoinRequest {
        group_id: group.to_owned(),
        member_id: member_id.to_owned(),
        group_instance_id: None,
        require_known_member_id: true,
        supports_skip_assignment: false,
        client_id: client.to_owned(),
        client_host: format!("/10.0.0.{}", client.len()),
        rebalance_timeout_ms: REBALANCE_MS,
        session_timeout_ms: SESSION_MS,
        protocol_type: "consumer".to_owned(),
        protocols: vec![("range".to_owned(), metadata(client))],
    }
}

/// The protocol metadata `client` sends in [`join_request`].
pub(crate) fn metadata(client: &str) -> Bytes {
    Bytes::from(format!("meta-{client}"))
}

/// A SyncGroup; the leader passes (member id, assignment) pairs, followers none.
pub(crate) fn sync_request(
    group: &str,
    generation: i32,
    member: &str,
    assignments: &[(&str, &str)],
) -> SyncRequest {
    SyncRequest {
        group_id: group.to_owned(),
        generation_id: generation,
        member_id: member.to_owned(),
        group_instance_id: None,
        protocol_type: None,
        protocol_name: None,
        assignments: assignments
            .iter()
            .map(|(m, a)| ((*m).to_owned(), Bytes::from((*a).to_owned())))
            .collect(),
    }
}

/// A Heartbeat.
pub(crate) fn heartbeat(group: &str, generation: i32, member: &str) -> HeartbeatRequest {
    HeartbeatRequest {
        group_id: group.to_owned(),
        generation_id: generation,
        member_id: member.to_owned(),
        group_instance_id: None,
    }
}

/// The reply for `ticket` among `out`, if there is one.
pub(crate) fn reply(out: &[Output], ticket: Ticket) -> Option<&Reply> {
    let mut replies = out.iter().filter(|(t, _)| *t == ticket);
    let found = replies.next().map(|(_, r)| r);
    assert!(replies.next().is_none(), "{ticket:?} answered twice");
    found
}

/// The JoinGroup reply for `ticket`.
///
/// # Panics
/// If there is none.
pub(crate) fn join_reply(out: &[Output], ticket: Ticket) -> JoinResponse {
    match reply(out, ticket) {
        Some(Reply::Join(join)) => join.clone(),
        other => panic!("expected a join reply for {ticket:?}, got {other:?} in {out:?}"),
    }
}

/// The SyncGroup reply for `ticket`.
///
/// # Panics
/// If there is none.
pub(crate) fn sync_reply(out: &[Output], ticket: Ticket) -> SyncResponse {
    match reply(out, ticket) {
        Some(Reply::Sync(sync)) => sync.clone(),
        other => panic!("expected a sync reply for {ticket:?}, got {other:?} in {out:?}"),
    }
}

/// A ConsumerProtocolSubscription as a consumer writes it.
pub(crate) fn subscription(version: i16, topics: &[&str]) -> Vec<u8> {
    let mut out = version.to_be_bytes().to_vec();
    out.extend((topics.len() as i32).to_be_bytes());
    for topic in topics {
        out.extend((topic.len() as i16).to_be_bytes());
        out.extend(topic.as_bytes());
    }
    out.extend((-1i32).to_be_bytes());
    if version >= 1 {
        out.extend(0i32.to_be_bytes()); // owned partitions
    }
    out
}

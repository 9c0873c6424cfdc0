//! JoinGroup on one group: new members, rejoining members, static members replacing
//! their previous incarnation (Kafka's `doNewMemberJoinGroup` / `doCurrentMemberJoinGroup`).

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::classic_group::ClassicGroup;
use super::group_config::GroupConfig;
use super::group_state::GroupState;
use super::member::Member;
use super::protocol_selection::select_protocol;
use super::replies::{JoinResponse, Output, Reply, SyncResponse};
use super::requests::JoinRequest;
use super::ticket::Ticket;

impl ClassicGroup {
    /// Serves a JoinGroup whose session timeout and group id were already checked; its
    /// reply goes to `out` now or when the join round completes.
    pub(crate) fn join(
        &mut self,
        ticket: Ticket,
        request: &JoinRequest,
        config: &GroupConfig,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) {
        if request.member_id.is_empty() {
            self.join_new_member(ticket, request, config, now_ms, out);
        } else {
            self.join_current_member(ticket, request, config, now_ms, out);
        }
        if self.state == GroupState::PreparingRebalance {
            self.try_complete_join(config, now_ms, out);
        }
    }

    /// A join without a member id.
    fn join_new_member(
        &mut self,
        ticket: Ticket,
        request: &JoinRequest,
        config: &GroupConfig,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) {
        if !self.supports(&request.protocol_type, &request.protocols) {
            let reply = JoinResponse::error("", ResponseError::InconsistentGroupProtocol);
            out.push((ticket, Reply::Join(reply)));
            return;
        }
        let prefix = request
            .group_instance_id
            .as_deref()
            .unwrap_or(&request.client_id);
        let member_id = format!("{prefix}-{}", uuid::Uuid::new_v4());
        match request.group_instance_id.as_deref() {
            Some(instance_id) => match self.static_member(instance_id) {
                Some(old_id) => {
                    let old_id = old_id.to_owned();
                    self.replace_static_member(
                        ticket, request, &old_id, member_id, config, now_ms, out,
                    );
                }
                None => {
                    self.add_member_and_rebalance(ticket, request, member_id, config, now_ms, out)
                }
            },
            None if request.require_known_member_id => {
                let deadline = now_ms + i64::from(request.session_timeout_ms);
                self.pending_members.insert(member_id.clone(), deadline);
                let reply = JoinResponse::error(&member_id, ResponseError::MemberIdRequired);
                out.push((ticket, Reply::Join(reply)));
            }
            None => self.add_member_and_rebalance(ticket, request, member_id, config, now_ms, out),
        }
    }

    /// A join with a member id: a pending member joins; a current member rejoins.
    fn join_current_member(
        &mut self,
        ticket: Ticket,
        request: &JoinRequest,
        config: &GroupConfig,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) {
        let member_id = request.member_id.as_str();
        let fail = |error, out: &mut Vec<Output>| {
            out.push((ticket, Reply::Join(JoinResponse::error(member_id, error))));
        };
        if !self.supports(&request.protocol_type, &request.protocols) {
            return fail(ResponseError::InconsistentGroupProtocol, out);
        }
        if self.pending_members.contains_key(member_id) {
            if request.group_instance_id.is_some() {
                // Kafka throws here: a pending member id is never a static member's.
                return fail(ResponseError::UnknownServerError, out);
            }
            let member_id = member_id.to_owned();
            return self.add_member_and_rebalance(ticket, request, member_id, config, now_ms, out);
        }
        let index = match self.validate_member(member_id, request.group_instance_id.as_deref()) {
            Ok(index) => index,
            Err(error) => return fail(error, out),
        };
        let same_metadata = self.members[index].matches(&request.protocols);
        match self.state {
            GroupState::PreparingRebalance => {
                self.update_member(index, ticket, request, out);
                self.maybe_prepare_rebalance(config, now_ms, out);
            }
            GroupState::CompletingRebalance if same_metadata => {
                // It probably missed the JoinGroup response: send it again.
                out.push((ticket, Reply::Join(self.current_join_reply(member_id))));
            }
            GroupState::Stable if same_metadata && !self.is_leader(member_id) => {
                let mut reply = self.current_join_reply(member_id);
                reply.members.clear();
                out.push((ticket, Reply::Join(reply)));
            }
            GroupState::CompletingRebalance | GroupState::Stable => {
                // Changed metadata, or the leader asking for a new assignment.
                self.update_member(index, ticket, request, out);
                self.maybe_prepare_rebalance(config, now_ms, out);
            }
            GroupState::Empty | GroupState::Dead => fail(ResponseError::UnknownMemberId, out),
        }
    }

    /// Adds a member that waits for the join round (Kafka's `addMemberAndRebalance`).
    fn add_member_and_rebalance(
        &mut self,
        ticket: Ticket,
        request: &JoinRequest,
        member_id: String,
        config: &GroupConfig,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) {
        if self.state == GroupState::PreparingRebalance && self.generation == 0 {
            self.new_member_added = true;
        }
        self.add(Member {
            id: member_id,
            instance_id: request.group_instance_id.clone(),
            client_id: request.client_id.clone(),
            client_host: request.client_host.clone(),
            rebalance_timeout_ms: request.rebalance_timeout_ms,
            session_timeout_ms: request.session_timeout_ms,
            protocol_type: request.protocol_type.clone(),
            protocols: request.protocols.clone(),
            assignment: Bytes::new(),
            awaiting_join: Some(ticket),
            awaiting_sync: None,
            is_new: true,
            // A new member cannot heartbeat yet: its join is bounded by a timeout of its own.
            session_deadline: now_ms + config.new_member_join_timeout_ms,
        });
        self.maybe_prepare_rebalance(config, now_ms, out);
    }

    /// Takes a rejoining member's protocols and timeouts; it now waits with `ticket`
    /// (Kafka's `updateMember`). A JoinGroup it was already waiting on is answered
    /// REBALANCE_IN_PROGRESS (Kafka drops that one without reply).
    fn update_member(
        &mut self,
        index: usize,
        ticket: Ticket,
        request: &JoinRequest,
        out: &mut Vec<Output>,
    ) {
        let member_id = self.members[index].id.clone();
        let superseded = JoinResponse::error(&member_id, ResponseError::RebalanceInProgress);
        self.answer_join(index, superseded, out);
        let member = &mut self.members[index];
        member.protocols = request.protocols.clone();
        member.rebalance_timeout_ms = request.rebalance_timeout_ms;
        member.session_timeout_ms = request.session_timeout_ms;
        member.awaiting_join = Some(ticket);
    }

    /// A static member rejoining without its member id takes a new one; the old one is
    /// fenced (Kafka's `updateStaticMemberAndRebalance`). In a Stable group whose protocol
    /// would not change it gets the current generation back without a rebalance.
    #[allow(clippy::too_many_arguments)]
    fn replace_static_member(
        &mut self,
        ticket: Ticket,
        request: &JoinRequest,
        old_id: &str,
        new_id: String,
        config: &GroupConfig,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) {
        let Some(index) = self.index(old_id) else {
            return;
        };
        let previous_leader = self.leader.clone().unwrap_or_default();
        let fenced = JoinResponse::error(old_id, ResponseError::FencedInstanceId);
        self.answer_join(index, fenced, out);
        self.answer_sync(
            index,
            SyncResponse::error(ResponseError::FencedInstanceId),
            out,
        );
        self.members[index].id = new_id.clone();
        if self.is_leader(old_id) {
            self.leader = Some(new_id.clone());
        }
        self.members[index].touch(now_ms);
        self.update_member(index, ticket, request, out);
        match self.state {
            GroupState::Stable => {
                if select_protocol(&self.members) == self.protocol_name {
                    let mut reply = self.current_join_reply(&new_id);
                    if request.supports_skip_assignment {
                        // v9+: the leader learns it leads but must not run the assignor.
                        reply.skip_assignment = self.is_leader(&new_id);
                    } else {
                        // Older clients would reassign if told they lead, which a Stable
                        // group would ignore: name the previous leader id instead.
                        reply.members.clear();
                        reply.leader = previous_leader;
                    }
                    self.answer_join(index, reply, out);
                } else {
                    self.maybe_prepare_rebalance(config, now_ms, out);
                }
            }
            // The leader may be assigning to the old member id: start over.
            GroupState::CompletingRebalance => self.prepare_rebalance(config, now_ms, out),
            GroupState::PreparingRebalance | GroupState::Empty | GroupState::Dead => {}
        }
    }
}

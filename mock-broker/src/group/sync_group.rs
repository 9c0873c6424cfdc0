//! SyncGroup on one group: the leader's assignment reaches every member (Kafka's `doSyncGroup`).

use std::collections::HashMap;

use bytes::Bytes;
use kafka_protocol::ResponseError;

use super::classic_group::ClassicGroup;
use super::group_state::GroupState;
use super::replies::{Output, Reply, SyncResponse};
use super::requests::SyncRequest;
use super::ticket::Ticket;

impl ClassicGroup {
    /// Serves a SyncGroup; its reply goes to `out` now, or when the leader's assignment
    /// arrives (a follower syncing first), or REBALANCE_IN_PROGRESS if a round opens first.
    pub(crate) fn sync(
        &mut self,
        ticket: Ticket,
        request: &SyncRequest,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) {
        let fail = |error, out: &mut Vec<Output>| {
            out.push((ticket, Reply::Sync(SyncResponse::error(error))));
        };
        let index = match self.validate_sync(request) {
            Ok(index) => index,
            Err(error) => return fail(error, out),
        };
        match self.state {
            GroupState::Empty | GroupState::Dead => fail(ResponseError::UnknownMemberId, out),
            GroupState::PreparingRebalance => fail(ResponseError::RebalanceInProgress, out),
            GroupState::CompletingRebalance => {
                let superseded = SyncResponse::error(ResponseError::RebalanceInProgress);
                self.answer_sync(index, superseded, out);
                self.members[index].awaiting_sync = Some(ticket);
                self.remove_pending_sync(&request.member_id);
                if self.is_leader(&request.member_id) {
                    self.assign(&request.assignments, now_ms, out);
                }
            }
            GroupState::Stable => {
                self.remove_pending_sync(&request.member_id);
                let reply = self.assignment_reply(index);
                out.push((ticket, Reply::Sync(reply)));
                self.members[index].touch(now_ms);
            }
        }
    }

    /// Kafka's `validateSyncGroup`: the member, its generation, and (v5+) the protocol
    /// type and name it expects.
    fn validate_sync(&self, request: &SyncRequest) -> Result<usize, ResponseError> {
        let index =
            self.validate_member(&request.member_id, request.group_instance_id.as_deref())?;
        if request.generation_id != self.generation {
            return Err(ResponseError::IllegalGeneration);
        }
        let mismatch =
            |given: &Option<String>, ours: &Option<String>| given.is_some() && given != ours;
        if mismatch(&request.protocol_type, &self.protocol_type)
            || mismatch(&request.protocol_name, &self.protocol_name)
        {
            return Err(ResponseError::InconsistentGroupProtocol);
        }
        Ok(index)
    }

    /// Stores the leader's assignment (members it left out get an empty one), answers
    /// every waiting SyncGroup, and the group is Stable.
    fn assign(&mut self, assignments: &[(String, Bytes)], now_ms: i64, out: &mut Vec<Output>) {
        let by_member: HashMap<&str, &Bytes> = assignments
            .iter()
            .map(|(member_id, assignment)| (member_id.as_str(), assignment))
            .collect();
        for index in 0..self.members.len() {
            let assignment = by_member
                .get(self.members[index].id.as_str())
                .map(|a| (*a).clone())
                .unwrap_or_default();
            self.members[index].assignment = assignment;
        }
        for index in 0..self.members.len() {
            let reply = self.assignment_reply(index);
            if self.answer_sync(index, reply, out) {
                self.members[index].touch(now_ms);
            }
        }
        self.transition(GroupState::Stable, now_ms);
    }

    /// A successful SyncGroup answer with a member's assignment.
    fn assignment_reply(&self, index: usize) -> SyncResponse {
        SyncResponse {
            error: None,
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol_name.clone(),
            assignment: self.members[index].assignment.clone(),
        }
    }
}

//! Heartbeat on one group: keeps a member's session alive and tells it when to rejoin.

use kafka_protocol::ResponseError;

use super::classic_group::ClassicGroup;
use super::group_state::GroupState;
use super::requests::HeartbeatRequest;

impl ClassicGroup {
    /// Serves a Heartbeat (Kafka's `handleHeartbeat`): the member's session starts anew;
    /// REBALANCE_IN_PROGRESS while a join round is open, so that the member rejoins.
    ///
    /// # Errors
    /// UNKNOWN_MEMBER_ID or FENCED_INSTANCE_ID for a member that is not (or no longer)
    /// in the group, ILLEGAL_GENERATION for another generation, REBALANCE_IN_PROGRESS.
    pub(crate) fn heartbeat(
        &mut self,
        request: &HeartbeatRequest,
        now_ms: i64,
    ) -> Result<(), ResponseError> {
        let index =
            self.validate_member(&request.member_id, request.group_instance_id.as_deref())?;
        if request.generation_id != self.generation {
            return Err(ResponseError::IllegalGeneration);
        }
        match self.state {
            GroupState::Empty | GroupState::Dead => Err(ResponseError::UnknownMemberId),
            GroupState::CompletingRebalance | GroupState::Stable => {
                self.members[index].touch(now_ms);
                Ok(())
            }
            GroupState::PreparingRebalance => {
                self.members[index].touch(now_ms);
                Err(ResponseError::RebalanceInProgress)
            }
        }
    }
}

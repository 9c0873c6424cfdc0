//! LeaveGroup on one group: members leave (by member id, or static ones by instance id).

use kafka_protocol::ResponseError;

use super::classic_group::ClassicGroup;
use super::group_config::GroupConfig;
use super::replies::Output;
use super::requests::LeavingMember;

impl ClassicGroup {
    /// Removes each named member (Kafka's `handleLeaveGroup`); the group rebalances, or
    /// becomes Empty when the last member leaves. Returns each member's error.
    pub(crate) fn leave(
        &mut self,
        leaving: &[LeavingMember],
        config: &GroupConfig,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) -> Vec<Option<ResponseError>> {
        leaving
            .iter()
            .map(|member| self.leave_one(member, config, now_ms, out).err())
            .collect()
    }

    /// Removes one member.
    fn leave_one(
        &mut self,
        leaving: &LeavingMember,
        config: &GroupConfig,
        now_ms: i64,
        out: &mut Vec<Output>,
    ) -> Result<(), ResponseError> {
        let instance_id = leaving.group_instance_id.as_deref();
        if leaving.member_id.is_empty() {
            // An administrative removal of a static member by its instance id.
            let member_id = instance_id
                .and_then(|id| self.static_member(id))
                .ok_or(ResponseError::UnknownMemberId)?
                .to_owned();
            self.remove_member_and_update(&member_id, config, now_ms, out);
        } else if self.pending_members.contains_key(&leaving.member_id) {
            self.remove_pending_member(&leaving.member_id, config, now_ms, out);
        } else {
            self.validate_member(&leaving.member_id, instance_id)?;
            self.remove_member_and_update(&leaving.member_id, config, now_ms, out);
        }
        Ok(())
    }
}

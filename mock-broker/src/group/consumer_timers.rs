//! The deadlines of a consumer-protocol group: a member that stops heartbeating is fenced
//! when its session expires, and one that does not revoke its partitions within its
//! rebalance timeout is fenced too, so that others may have them.

use super::consumer_group::ConsumerGroup;

impl ConsumerGroup {
    /// Fences every member whose session or revocation deadline has passed by `now_ms`.
    pub(crate) fn expire(&mut self, now_ms: i64) {
        let expired: Vec<String> = self
            .members
            .values()
            .filter(|m| {
                m.session_deadline <= now_ms || m.revocation_deadline.is_some_and(|d| d <= now_ms)
            })
            .map(|m| m.id.clone())
            .collect();
        for member_id in expired {
            tracing::info!(group = %self.id, member = %member_id, "a consumer-protocol member expired: fenced");
            self.fence(&member_id);
        }
        self.note_state(now_ms);
    }

    /// When [`ConsumerGroup::expire`] has something to do next.
    pub(crate) fn next_deadline(&self) -> Option<i64> {
        self.members
            .values()
            .flat_map(|m| std::iter::once(m.session_deadline).chain(m.revocation_deadline))
            .min()
    }
}

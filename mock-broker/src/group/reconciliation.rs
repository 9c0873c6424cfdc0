//! How a consumer-protocol member moves from what it owns toward its target assignment
//! (Kafka's `CurrentAssignmentBuilder`): partitions it must give up are revoked first, at
//! its current epoch; only then does it advance to the target epoch and get new partitions,
//! and only those no other member still owns.

use super::assignment::Assignment;
use super::consumer_member::{ConsumerMember, MemberState};

/// The member after one reconciliation step toward `target` at `target_epoch`.
///
/// `owner_epoch(topic, partition)` says whether another member still holds a partition
/// (assigned or pending revocation); `owned` is what the member's heartbeat says it owns,
/// `None` when the heartbeat did not say (then it is taken to own everything it had).
pub(crate) fn reconcile(
    member: &ConsumerMember,
    target_epoch: i32,
    target: &Assignment,
    owner_epoch: &dyn Fn(&str, i32) -> Option<i32>,
    owned: Option<&Assignment>,
) -> ConsumerMember {
    match member.state {
        MemberState::Stable if member.member_epoch == target_epoch => member.clone(),
        MemberState::Stable | MemberState::UnreleasedPartitions => next_assignment(
            member,
            member.member_epoch,
            target_epoch,
            target,
            owner_epoch,
            owned,
        ),
        MemberState::UnrevokedPartitions => {
            if owns_any(owned, &member.pending_revocation) {
                return member.clone();
            }
            next_assignment(
                member,
                member.member_epoch + 1,
                target_epoch,
                target,
                owner_epoch,
                owned,
            )
        }
    }
}

/// Whether the member (by its heartbeat) still owns any of `partitions`; unknown = yes.
fn owns_any(owned: Option<&Assignment>, partitions: &Assignment) -> bool {
    owned.is_none_or(|owned| owned.overlaps(partitions))
}

/// Kafka's `computeNextAssignment`.
fn next_assignment(
    member: &ConsumerMember,
    epoch: i32,
    target_epoch: i32,
    target: &Assignment,
    owner_epoch: &dyn Fn(&str, i32) -> Option<i32>,
    owned: Option<&Assignment>,
) -> ConsumerMember {
    let kept = member.assigned.intersection(target);
    let to_revoke = member.assigned.difference(&kept);
    let wanted = target.difference(&kept);
    let free: Assignment = wanted
        .iter()
        .filter(|(topic, p)| owner_epoch(topic, *p).is_none())
        .collect();
    let unreleased = free.len() < wanted.len();
    let mut next = member.clone();
    if !to_revoke.is_empty() && owns_any(owned, &to_revoke) {
        next.state = MemberState::UnrevokedPartitions;
        next.update_epoch(epoch);
        next.assigned = kept;
        next.pending_revocation = to_revoke;
        return next;
    }
    let mut assigned = kept;
    for (topic, partition) in free.iter() {
        assigned.insert(topic, partition);
    }
    next.state = if unreleased {
        MemberState::UnreleasedPartitions
    } else {
        MemberState::Stable
    };
    next.update_epoch(target_epoch);
    next.assigned = assigned;
    next.pending_revocation = Assignment::new();
    next
}

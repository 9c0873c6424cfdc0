//! The consumer group coordinator for Kafka's classic group protocol, as pure state.
//!
//! [`Coordinator`] holds every group; each is a [`ClassicGroup`] moving through
//! Empty → PreparingRebalance → CompletingRebalance → Stable as Kafka's `GroupCoordinator`
//! does, with its members, join round, timers and committed offsets. No I/O and no
//! clock: every call takes `now_ms`, requests that must wait (JoinGroup until the round
//! completes, a follower's SyncGroup until the leader's) carry a caller-chosen [`Ticket`],
//! and calls return the `(Ticket, Reply)` outputs that became ready.

mod classic_group;
mod coordinator;
mod group_config;
mod group_state;
mod heartbeat;
mod join_group;
mod leave_group;
mod member;
mod offset_commit;
mod offsets;
mod protocol_selection;
mod rebalance;
mod replies;
mod requests;
mod subscription;
mod sync_group;
mod ticket;
mod views;

pub(crate) use coordinator::Coordinator;
pub(crate) use group_config::GroupConfig;
pub(crate) use offsets::{CommittedOffset, FetchedOffset};
pub(crate) use replies::{JoinResponse, Output, Reply, SyncResponse};
pub(crate) use requests::{
    CommitRequest, HeartbeatRequest, JoinRequest, LeavingMember, OffsetToCommit, SyncRequest,
};
pub(crate) use ticket::Ticket;
pub(crate) use views::{GroupSnapshot, MemberSnapshot};

#[cfg(test)]
mod test_support;

#[cfg(test)]
mod invariants_tests;
#[cfg(test)]
mod offsets_tests;
#[cfg(test)]
mod protocol_tests;
#[cfg(test)]
mod rebalance_tests;
#[cfg(test)]
mod static_membership_tests;
#[cfg(test)]
mod subscription_tests;
#[cfg(test)]
mod views_tests;

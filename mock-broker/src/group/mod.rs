//! The consumer group coordinator, as pure state: Kafka's classic group protocol and the
//! consumer protocol of KIP-848, side by side.
//!
//! [`Coordinator`] holds every group; a classic one is a [`ClassicGroup`] moving through
//! Empty → PreparingRebalance → CompletingRebalance → Stable as Kafka's `GroupCoordinator`
//! does, with its members, join round, timers and committed offsets. A consumer-protocol
//! one is a `ConsumerGroup` (`consumer_group.rs`) driven by ConsumerGroupHeartbeat:
//! group epochs, a target assignment computed by a server-side assignor (`assignor.rs`),
//! and members reconciling toward it (`reconciliation.rs`). No I/O and no
//! clock: every call takes `now_ms`, requests that must wait (JoinGroup until the round
//! completes, a follower's SyncGroup until the leader's) carry a caller-chosen [`Ticket`],
//! and calls return the `(Ticket, Reply)` outputs that became ready.

mod assignment;
mod assignment_spec;
mod assignor;
mod classic_group;
mod consumer_coordinator;
mod consumer_group;
mod consumer_group_state;
mod consumer_heartbeat;
mod consumer_member;
mod consumer_offsets;
mod consumer_timers;
mod consumer_views;
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
mod range_assignor;
mod rebalance;
mod reconciliation;
mod replies;
mod requests;
mod subscription;
mod sync_group;
mod ticket;
mod uniform_assignor;
mod views;

pub(crate) use assignment::Assignment;
pub(crate) use consumer_heartbeat::{ConsumerHeartbeatRequest, ConsumerHeartbeatResponse};
pub(crate) use consumer_views::{ConsumerGroupDescription, ConsumerMemberDescription};
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
mod consumer_group_tests;
#[cfg(test)]
mod consumer_invariants_tests;
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

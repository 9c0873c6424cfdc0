//! The caller's name for a request that may have to wait for its answer.

/// Identifies one JoinGroup or SyncGroup request until its reply is ready.
///
/// The caller picks it (a counter will do) and keeps its own map from tickets to
/// whoever waits; the coordinator hands each ticket back once, with its reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Ticket(pub(crate) u64);

//! What one Kafka request's handler may use, and the helpers handlers share.

use std::sync::Arc;

use crate::state::BrokerState;
use crate::store::ClientInfo;

/// What one request's handler may use.
pub(crate) struct Ctx<'a> {
    /// The broker's shared state.
    pub(crate) state: &'a BrokerState,
    /// The broker the connection was accepted by.
    pub(crate) node_id: i32,
    /// The listener it came in on, as an index into each broker's endpoints.
    pub(crate) endpoint: usize,
    /// Who sent the request.
    pub(crate) client: &'a Arc<ClientInfo>,
    /// When the request was received, ms since the Unix epoch.
    pub(crate) receive_time: i64,
}

/// Whether a partition of a request matches a fault rule's topic and partition (`None` = any).
pub(crate) fn scope_covers(
    scope: (Option<&str>, Option<u32>),
    topic: &str,
    partition: i32,
) -> bool {
    scope.0.is_none_or(|t| t == topic)
        && scope.1.is_none_or(|p| i64::from(p) == i64::from(partition))
}

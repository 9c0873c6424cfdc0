//! The broker settings the group coordinator follows, with Kafka's defaults.

/// Settings of the coordinator (Kafka's `group.*` broker configs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct GroupConfig {
    /// `group.initial.rebalance.delay.ms`: how long the first join round of an empty
    /// group waits for more members (extended while new members keep coming).
    pub(crate) initial_rebalance_delay_ms: i64,
    /// `group.min.session.timeout.ms`: a JoinGroup asking for less is refused.
    pub(crate) min_session_timeout_ms: i32,
    /// `group.max.session.timeout.ms`: a JoinGroup asking for more is refused.
    pub(crate) max_session_timeout_ms: i32,
    /// How long a new member may wait in its first join round before it is dropped
    /// (Kafka's `NewMemberJoinTimeoutMs`, five minutes).
    pub(crate) new_member_join_timeout_ms: i64,
    /// `offset.metadata.max.bytes`: longer commit metadata is OFFSET_METADATA_TOO_LARGE.
    pub(crate) max_offset_metadata_bytes: usize,
    /// `group.consumer.heartbeat.interval.ms`: how often consumer-protocol members
    /// (KIP-848) are told to heartbeat.
    pub(crate) consumer_heartbeat_interval_ms: i32,
    /// `group.consumer.session.timeout.ms`: how long a consumer-protocol member may go
    /// without a heartbeat before it is fenced.
    pub(crate) consumer_session_timeout_ms: i32,
}

impl Default for GroupConfig {
    fn default() -> Self {
        Self {
            initial_rebalance_delay_ms: 3000,
            min_session_timeout_ms: 6000,
            max_session_timeout_ms: 1_800_000,
            new_member_join_timeout_ms: 5 * 60 * 1000,
            max_offset_metadata_bytes: 4096,
            consumer_heartbeat_interval_ms: 5000,
            consumer_session_timeout_ms: 45_000,
        }
    }
}

//! The states of a consumer-protocol group (KIP-848), derived from its epochs and members.

/// Where a consumer-protocol group is, as Kafka names it (`ConsumerGroupState`; a group
/// that does not exist is described as the classic `Dead`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ConsumerGroupState {
    /// No members (it may still hold committed offsets).
    Empty,
    /// The group epoch moved past the target assignment's: a new target is due.
    Assigning,
    /// Some member has not reached the target assignment yet.
    Reconciling,
    /// Every member owns its target assignment at the target epoch.
    Stable,
}

impl ConsumerGroupState {
    /// The state's name as Kafka spells it in ListGroups, DescribeGroups and
    /// ConsumerGroupDescribe.
    pub(crate) fn name(self) -> &'static str {
        match self {
            ConsumerGroupState::Empty => "Empty",
            ConsumerGroupState::Assigning => "Assigning",
            ConsumerGroupState::Reconciling => "Reconciling",
            ConsumerGroupState::Stable => "Stable",
        }
    }

    /// Whether a ListGroups states filter entry names this state (case-insensitive, as Kafka).
    pub(crate) fn is_named(self, filter: &str) -> bool {
        self.name().eq_ignore_ascii_case(filter)
    }
}

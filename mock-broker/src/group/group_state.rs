//! The states of a classic consumer group and which may follow which.

/// Where a group is in its rebalance cycle, as Kafka names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum GroupState {
    /// No members (it may still hold committed offsets).
    Empty,
    /// A join round is open: members must (re)join before it completes.
    PreparingRebalance,
    /// The round completed; waiting for the leader's assignment in SyncGroup.
    CompletingRebalance,
    /// Every member has its assignment for the current generation.
    Stable,
    /// Deleted (or never existed): what DescribeGroups reports for an unknown group.
    Dead,
}

impl GroupState {
    /// The state's name as Kafka spells it in ListGroups and DescribeGroups.
    pub(crate) fn name(self) -> &'static str {
        match self {
            GroupState::Empty => "Empty",
            GroupState::PreparingRebalance => "PreparingRebalance",
            GroupState::CompletingRebalance => "CompletingRebalance",
            GroupState::Stable => "Stable",
            GroupState::Dead => "Dead",
        }
    }

    /// Whether a ListGroups states filter entry names this state (case-insensitive, as Kafka).
    pub(crate) fn is_named(self, filter: &str) -> bool {
        self.name().eq_ignore_ascii_case(filter)
    }

    /// Whether a group may move from `previous` to this state (Kafka's `validPreviousStates`).
    pub(crate) fn may_follow(self, previous: GroupState) -> bool {
        use GroupState::*;
        match self {
            Empty => matches!(previous, PreparingRebalance),
            PreparingRebalance => matches!(previous, Stable | CompletingRebalance | Empty),
            CompletingRebalance => matches!(previous, PreparingRebalance),
            Stable => matches!(previous, CompletingRebalance),
            Dead => true,
        }
    }
}

//! The server-side assignors of the consumer protocol (KIP-848): the coordinator, not a
//! leader, computes every member's target assignment when the group epoch moves.

use std::collections::BTreeMap;

use super::assignment::Assignment;
use super::assignment_spec::AssignmentSpec;
use super::range_assignor::assign_ranges;
use super::uniform_assignor::assign_uniformly;

/// The assignors the coordinator runs, by their Kafka names
/// (`group.consumer.assignors`: `uniform`, the default, and `range`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Assignor {
    /// Kafka's `UniformAssignor`: as few partitions per member as possible, as even as
    /// possible over all subscribed topics, keeping each member's previous partitions.
    Uniform,
    /// Kafka's `RangeAssignor`: per topic, consecutive ranges in member order, so that
    /// co-partitioned topics are assigned alike.
    Range,
}

impl Assignor {
    /// The assignor Kafka calls `name`, if the broker runs it.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        match name {
            "uniform" => Some(Assignor::Uniform),
            "range" => Some(Assignor::Range),
            _ => None,
        }
    }

    /// Its Kafka name.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Assignor::Uniform => "uniform",
            Assignor::Range => "range",
        }
    }

    /// The names of every assignor the broker runs, for error messages.
    pub(crate) const NAMES: &'static str = "uniform, range";

    /// Every member's target assignment (members that get nothing are listed, empty).
    pub(crate) fn assign(self, spec: &AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
        match self {
            Assignor::Uniform => assign_uniformly(spec),
            Assignor::Range => assign_ranges(spec),
        }
    }
}

//! What a server-side assignor works from: the members with their subscriptions, the
//! subscribed topics' partition counts, and the previous target assignment.

use std::collections::{BTreeMap, BTreeSet};

use super::assignment::Assignment;

/// One member as an assignor sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MemberSubscription<'a> {
    /// The member id.
    pub(crate) member_id: &'a str,
    /// Its `group.instance.id`, if static: static members are ordered first by it.
    pub(crate) instance_id: Option<&'a str>,
    /// The topics it subscribes to (some may not exist).
    pub(crate) topics: &'a BTreeSet<String>,
}

/// What an assignor works from.
#[derive(Debug, Clone)]
pub(crate) struct AssignmentSpec<'a> {
    /// Every member of the group.
    pub(crate) members: Vec<MemberSubscription<'a>>,
    /// The partition count of every subscribed topic that exists.
    pub(crate) partition_counts: &'a BTreeMap<String, u32>,
    /// The previous target assignment by member id, which sticky assignors keep to.
    pub(crate) previous: &'a BTreeMap<String, Assignment>,
}

/// The members in the order Kafka's assignors use: static members first, by instance id,
/// then the others by member id.
pub(crate) fn sorted_members<'a>(spec: &AssignmentSpec<'a>) -> Vec<MemberSubscription<'a>> {
    let mut members = spec.members.clone();
    members.sort_by(|a, b| match (a.instance_id, b.instance_id) {
        (Some(x), Some(y)) => x.cmp(y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => a.member_id.cmp(b.member_id),
    });
    members
}

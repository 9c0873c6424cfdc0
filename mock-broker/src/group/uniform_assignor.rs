//! Kafka's server-side `UniformAssignor`, in spirit: every partition of a subscribed topic
//! goes to one of its subscribers, members' partition counts differ by at most one where
//! their subscriptions allow it, and a member keeps what it had in the previous target
//! assignment unless balance needs it elsewhere (sticky).

use std::collections::BTreeMap;

use super::assignment::Assignment;
use super::assignment_spec::{AssignmentSpec, MemberSubscription, sorted_members};

/// The uniform assignment of `spec`.
pub(crate) fn assign_uniformly(spec: &AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    let members = sorted_members(spec);
    let mut assignments: Vec<Assignment> = vec![Assignment::new(); members.len()];
    let exists = |topic: &str, partition: i32| {
        spec.partition_counts
            .get(topic)
            .is_some_and(|&count| i64::from(partition) < i64::from(count))
    };
    // The members' sticky share: what they had, if they still subscribe to it, capped at
    // the even share so that newcomers get some.
    let total: usize = spec
        .partition_counts
        .iter()
        .filter(|(topic, _)| members.iter().any(|m| m.topics.contains(*topic)))
        .map(|(_, &count)| count as usize)
        .sum();
    let cap = if members.is_empty() {
        0
    } else {
        total.div_ceil(members.len())
    };
    let mut taken = Assignment::new();
    for (index, member) in members.iter().enumerate() {
        let Some(previous) = spec.previous.get(member.member_id) else {
            continue;
        };
        for (topic, partition) in previous.iter() {
            if assignments[index].len() >= cap {
                break;
            }
            if member.topics.contains(topic)
                && exists(topic, partition)
                && !taken.contains(topic, partition)
            {
                taken.insert(topic, partition);
                assignments[index].insert(topic, partition);
            }
        }
    }
    // Every other partition to the subscriber with the fewest.
    for (topic, &count) in spec.partition_counts {
        for partition in 0..i32::try_from(count).unwrap_or(i32::MAX) {
            if taken.contains(topic, partition) {
                continue;
            }
            if let Some(index) = fewest(&members, &assignments, topic, usize::MAX) {
                assignments[index].insert(topic, partition);
            }
        }
    }
    balance(&members, &mut assignments);
    members
        .iter()
        .zip(assignments)
        .map(|(m, a)| (m.member_id.to_owned(), a))
        .collect()
}

/// The subscriber of `topic` with the fewest partitions, fewer than `below`; the first in
/// member order among equals.
fn fewest(
    members: &[MemberSubscription<'_>],
    assignments: &[Assignment],
    topic: &str,
    below: usize,
) -> Option<usize> {
    (0..members.len())
        .filter(|&i| members[i].topics.contains(topic) && assignments[i].len() < below)
        .min_by_key(|&i| assignments[i].len())
}

/// Moves partitions from members with more to subscribers with at least two fewer until
/// none can move: each move lowers the sum of squared counts, so this ends.
fn balance(members: &[MemberSubscription<'_>], assignments: &mut [Assignment]) {
    loop {
        let mut moved = false;
        let mut order: Vec<usize> = (0..members.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(assignments[i].len()));
        'donors: for donor in order {
            let donor_count = assignments[donor].len();
            let mut candidates: Vec<(String, i32)> = assignments[donor]
                .iter()
                .map(|(t, p)| (t.to_owned(), p))
                .collect();
            // The highest partitions move first, so that low ones stay put.
            candidates.reverse();
            for (topic, partition) in candidates {
                let below = donor_count.saturating_sub(1);
                if let Some(receiver) = fewest(members, assignments, &topic, below) {
                    assignments[donor].remove(&topic, partition);
                    assignments[receiver].insert(&topic, partition);
                    moved = true;
                    break 'donors;
                }
            }
        }
        if !moved {
            return;
        }
    }
}

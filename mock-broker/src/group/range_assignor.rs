//! Kafka's server-side `RangeAssignor`: for each topic, its subscribers in member order
//! take consecutive ranges, the first `partitions % subscribers` one partition more.

use std::collections::BTreeMap;

use super::assignment::Assignment;
use super::assignment_spec::{AssignmentSpec, sorted_members};

/// Every member's range of every topic it subscribes to.
pub(crate) fn assign_ranges(spec: &AssignmentSpec<'_>) -> BTreeMap<String, Assignment> {
    let members = sorted_members(spec);
    let mut assignments: BTreeMap<String, Assignment> = members
        .iter()
        .map(|m| (m.member_id.to_owned(), Assignment::new()))
        .collect();
    for (topic, &count) in spec.partition_counts {
        let subscribers: Vec<&str> = members
            .iter()
            .filter(|m| m.topics.contains(topic))
            .map(|m| m.member_id)
            .collect();
        if subscribers.is_empty() {
            continue;
        }
        let count = i32::try_from(count).unwrap_or(i32::MAX);
        let n = i32::try_from(subscribers.len()).unwrap_or(i32::MAX);
        let (quota, mut extra) = (count / n, count % n);
        let mut start = 0;
        for member in subscribers {
            let mut take = quota;
            if extra > 0 {
                take += 1;
                extra -= 1;
            }
            let end = (start + take).min(count);
            let assignment = assignments.entry(member.to_owned()).or_default();
            for partition in start..end {
                assignment.insert(topic, partition);
            }
            start = end;
        }
    }
    assignments
}

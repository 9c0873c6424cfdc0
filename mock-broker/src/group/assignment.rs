//! A set of partitions by topic name: what a consumer-protocol member owns, is assigned or
//! must give up (KIP-848). Topic names, not ids: the handlers translate at the edge.

use std::collections::{BTreeMap, BTreeSet};

/// Partitions grouped by topic name, both sorted; no topic maps to an empty set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(crate) struct Assignment(BTreeMap<String, BTreeSet<i32>>);

impl Assignment {
    /// No partitions.
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Adds one partition.
    pub(crate) fn insert(&mut self, topic: &str, partition: i32) {
        self.0
            .entry(topic.to_owned())
            .or_default()
            .insert(partition);
    }

    /// Removes one partition; whether it was there.
    pub(crate) fn remove(&mut self, topic: &str, partition: i32) -> bool {
        let Some(partitions) = self.0.get_mut(topic) else {
            return false;
        };
        let removed = partitions.remove(&partition);
        if partitions.is_empty() {
            self.0.remove(topic);
        }
        removed
    }

    /// Whether it holds `partition` of `topic`.
    pub(crate) fn contains(&self, topic: &str, partition: i32) -> bool {
        self.0.get(topic).is_some_and(|p| p.contains(&partition))
    }

    /// Whether it holds no partition.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many partitions it holds.
    pub(crate) fn len(&self) -> usize {
        self.0.values().map(BTreeSet::len).sum()
    }

    /// Every (topic, partition), by topic then partition.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&str, i32)> + '_ {
        self.0
            .iter()
            .flat_map(|(topic, ps)| ps.iter().map(move |p| (topic.as_str(), *p)))
    }

    /// The topics with their partitions.
    pub(crate) fn topics(&self) -> impl Iterator<Item = (&str, &BTreeSet<i32>)> + '_ {
        self.0.iter().map(|(topic, ps)| (topic.as_str(), ps))
    }

    /// The partitions of both.
    pub(crate) fn intersection(&self, other: &Assignment) -> Assignment {
        self.iter()
            .filter(|(topic, p)| other.contains(topic, *p))
            .collect()
    }

    /// The partitions of `self` not in `other`.
    pub(crate) fn difference(&self, other: &Assignment) -> Assignment {
        self.iter()
            .filter(|(topic, p)| !other.contains(topic, *p))
            .collect()
    }

    /// Whether every partition of `self` is in `other`.
    pub(crate) fn is_subset(&self, other: &Assignment) -> bool {
        self.iter().all(|(topic, p)| other.contains(topic, p))
    }

    /// Whether the two share a partition.
    pub(crate) fn overlaps(&self, other: &Assignment) -> bool {
        self.iter().any(|(topic, p)| other.contains(topic, p))
    }
}

impl<'a> FromIterator<(&'a str, i32)> for Assignment {
    fn from_iter<I: IntoIterator<Item = (&'a str, i32)>>(iter: I) -> Self {
        let mut assignment = Assignment::new();
        for (topic, partition) in iter {
            assignment.insert(topic, partition);
        }
        assignment
    }
}

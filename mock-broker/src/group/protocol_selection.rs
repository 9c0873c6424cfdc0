//! Which protocol a group uses: the one most members prefer among those all support.

use bytes::Bytes;

use super::member::Member;

/// How many of `members` support `protocol`.
fn support_count(members: &[Member], protocol: &str) -> usize {
    members.iter().filter(|m| m.supports(protocol)).count()
}

/// Whether a member with `protocol_type` and `protocols` may join a group of `members`
/// using `group_protocol_type` (Kafka's `supportsProtocols`). An empty group takes any
/// non-empty type with at least one protocol; otherwise the type must match and one of
/// the protocols must be supported by every current member.
pub(crate) fn supports_protocols(
    members: &[Member],
    group_is_empty: bool,
    group_protocol_type: Option<&str>,
    protocol_type: &str,
    protocols: &[(String, Bytes)],
) -> bool {
    if group_is_empty {
        !protocol_type.is_empty() && !protocols.is_empty()
    } else {
        group_protocol_type == Some(protocol_type)
            && protocols
                .iter()
                .any(|(name, _)| support_count(members, name) == members.len())
    }
}

/// The group's protocol: each member votes for its most preferred protocol among those
/// every member supports, and the most votes win (Kafka's `selectProtocol`). Kafka breaks
/// ties arbitrarily; here the protocol voted for first (in join order) wins a tie.
///
/// `None` when there are no members or no protocol is supported by all.
pub(crate) fn select_protocol(members: &[Member]) -> Option<String> {
    let mut tally: Vec<(&str, usize)> = Vec::new();
    for member in members {
        let vote = member
            .protocols
            .iter()
            .map(|(name, _)| name.as_str())
            .find(|name| support_count(members, name) == members.len())?;
        match tally.iter_mut().find(|(name, _)| *name == vote) {
            Some((_, count)) => *count += 1,
            None => tally.push((vote, 1)),
        }
    }
    let mut best: Option<(&str, usize)> = None;
    for (name, count) in tally {
        if best.is_none_or(|(_, most)| count > most) {
            best = Some((name, count));
        }
    }
    best.map(|(name, _)| name.to_owned())
}

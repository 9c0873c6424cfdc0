//! Which broker coordinates a group or a transactional id, as Kafka picks it.
//!
//! Kafka keeps a group's state in a partition of `__consumer_offsets` (a transaction's in
//! `__transaction_state`), both with 50 partitions by default: `abs(key.hashCode()) % 50`
//! with Java's `String.hashCode`. The coordinator is that partition's leader; here, the
//! broker the cluster makes lead that partition (`cluster.rs`). With one broker it is
//! always this one; in cluster mode the others answer group requests with NOT_COORDINATOR.

use super::context::Ctx;
use crate::cluster::Cluster;

/// The internal topic holding group state.
pub(crate) const GROUP_STATE_TOPIC: &str = "__consumer_offsets";
/// The internal topic holding transaction state.
pub(crate) const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";
/// Partitions of either internal topic (Kafka's `offsets.topic.num.partitions` and
/// `transaction.state.log.num.partitions` defaults).
const STATE_PARTITIONS: i32 = 50;

/// Java's `String.hashCode`: over UTF-16 code units, wrapping.
fn java_hash_code(key: &str) -> i32 {
    key.encode_utf16().fold(0i32, |hash, unit| {
        hash.wrapping_mul(31).wrapping_add(i32::from(unit))
    })
}

/// The state partition of `key` (Kafka's `Utils.abs(hashCode) % partitions`, where
/// `Utils.abs(Integer.MIN_VALUE)` is 0).
pub(crate) fn state_partition(key: &str) -> u32 {
    let hash = java_hash_code(key);
    let abs = if hash == i32::MIN { 0 } else { hash.abs() };
    (abs % STATE_PARTITIONS) as u32
}

/// The node id of the broker that coordinates `key` whose state lives in `state_topic`.
pub(crate) fn coordinator(cluster: &Cluster, state_topic: &str, key: &str) -> i32 {
    cluster.leader(state_topic, state_partition(key))
}

/// The node id of the broker that coordinates the group `group_id`.
pub(crate) fn group_coordinator(cluster: &Cluster, group_id: &str) -> i32 {
    coordinator(cluster, GROUP_STATE_TOPIC, group_id)
}

/// Whether the broker `ctx` serves coordinates `group_id`; group requests for other groups
/// are answered NOT_COORDINATOR.
pub(crate) fn coordinates(ctx: &Ctx<'_>, group_id: &str) -> bool {
    group_coordinator(&ctx.state.cluster, group_id) == ctx.node_id
}

/// Whether the broker `ctx` serves coordinates `transactional_id`; transaction requests for
/// other ids are answered NOT_COORDINATOR.
pub(crate) fn coordinates_transaction(ctx: &Ctx<'_>, transactional_id: &str) -> bool {
    coordinator(
        &ctx.state.cluster,
        TRANSACTION_STATE_TOPIC,
        transactional_id,
    ) == ctx.node_id
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_codes_are_javas() {
        // Values from `"…".hashCode()` in Java.
        assert_eq!(java_hash_code(""), 0);
        assert_eq!(java_hash_code("a"), 97);
        assert_eq!(java_hash_code("hello"), 99_162_322);
        assert_eq!(java_hash_code("my-group"), -1_906_497_762);
        assert_eq!(java_hash_code("polygenelubricants"), i32::MIN);
    }

    #[test]
    fn state_partitions_are_kafkas() {
        assert_eq!(state_partition("hello"), 22);
        assert_eq!(state_partition("my-group"), 12);
        assert_eq!(state_partition("polygenelubricants"), 0);
    }
}

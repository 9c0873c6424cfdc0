//! The transaction coordinator's settings, Kafka's broker configs of the same meaning.

/// Limits the coordinator enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TxnConfig {
    /// The longest transaction timeout a producer may ask for (Kafka's
    /// `transaction.max.timeout.ms`); longer is INVALID_TRANSACTION_TIMEOUT.
    pub(crate) max_timeout_ms: i32,
    /// How long a transactional id with no open transaction is kept after its
    /// last use (Kafka's `transactional.id.expiration.ms`).
    pub(crate) transactional_id_expiration_ms: i64,
}

impl Default for TxnConfig {
    /// Kafka's defaults: 15 minutes, 7 days.
    fn default() -> TxnConfig {
        TxnConfig {
            max_timeout_ms: 900_000,
            transactional_id_expiration_ms: 7 * 24 * 60 * 60 * 1000,
        }
    }
}

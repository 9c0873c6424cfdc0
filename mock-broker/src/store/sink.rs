//! Where appended records go besides memory: the `--record-file`.

use super::stored_record::StoredRecord;

/// Writes records somewhere durable as they are appended (the `--record-file`).
///
/// Called with the partition lock held, before the records become visible and
/// before the producer is answered; an error refuses the whole append.
pub trait RecordSink: Send + Sync + std::fmt::Debug {
    /// Persists `records`, just appended to `topic`.
    ///
    /// # Errors
    /// Any I/O failure; the append is then refused and nothing is acknowledged.
    fn write(&self, topic: &str, records: &[StoredRecord]) -> std::io::Result<()>;
}

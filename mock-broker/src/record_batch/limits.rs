//! How many records and headers a batch may hold: checked while the batch is
//! walked, before anything is built from it, so that a small (compressed)
//! batch cannot make reading it back expensive.

/// The record and header counts a batch must stay within.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordLimits {
    /// The most records a batch may declare (`max_records_per_batch`).
    pub(crate) records_per_batch: u32,
    /// The most headers one record may carry (`max_headers_per_record`).
    pub(crate) headers_per_record: u32,
    /// The most headers the records of a batch may carry together (`max_headers_per_batch`).
    pub(crate) headers_per_batch: u32,
}

impl RecordLimits {
    /// No limit: for batches that were checked when they arrived.
    pub(crate) const NONE: RecordLimits = RecordLimits {
        records_per_batch: u32::MAX,
        headers_per_record: u32::MAX,
        headers_per_batch: u32::MAX,
    };
}

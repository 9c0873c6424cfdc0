//! A record header as both protocols carry it: a name and an optional value.

use bytes::Bytes;

/// One application header of a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The header's name.
    pub key: String,
    /// The header's value; `None` is a null value, distinct from an empty one.
    pub value: Option<Bytes>,
}

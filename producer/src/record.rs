//! What users send, and what they get back.

use bytes::Bytes;

/// One message to produce.
///
/// Built with [`Record::new`] and the `with_*` methods:
/// ```
/// use producer::Record;
/// let record = Record::new("payload").with_key("user-42").with_header("trace", "abc");
/// assert_eq!(record.key.as_deref(), Some(&b"user-42"[..]));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Record {
    /// The topic, or `None` for the configured one.
    pub topic: Option<String>,
    /// The partition, or `None` to let the key (or round-robin) choose.
    pub partition: Option<u32>,
    /// The key; keyed records with the same key land in the same partition.
    pub key: Option<Bytes>,
    /// The payload.
    pub value: Bytes,
    /// Application headers, in order.
    pub headers: Vec<Header>,
    /// The record's timestamp in milliseconds since the Unix epoch; `None` stamps it at send time.
    pub timestamp: Option<i64>,
}

/// One application header of a record (the wire type both protocols share).
pub use protocol::Header;

impl Record {
    /// A record with this value and nothing else set.
    pub fn new(value: impl Into<Bytes>) -> Self {
        Record {
            value: value.into(),
            ..Record::default()
        }
    }

    /// Sets the key.
    pub fn with_key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Sends to `topic` instead of the configured one.
    pub fn with_topic(mut self, topic: impl Into<String>) -> Self {
        self.topic = Some(topic.into());
        self
    }

    /// Sends to this partition, whatever the key.
    pub fn with_partition(mut self, partition: u32) -> Self {
        self.partition = Some(partition);
        self
    }

    /// Appends a header.
    pub fn with_header(mut self, key: impl Into<String>, value: impl Into<Bytes>) -> Self {
        self.headers.push(Header {
            key: key.into(),
            value: Some(value.into()),
        });
        self
    }

    /// Sets the timestamp, in milliseconds since the Unix epoch.
    pub fn with_timestamp(mut self, timestamp_ms: i64) -> Self {
        self.timestamp = Some(timestamp_ms);
        self
    }
}

/// Where a record was stored, as reported by the broker.
///
/// With `acks = 0` the broker does not answer, so the offset is not known;
/// the partition is, when this producer chose it (Kafka), as in the Java client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Delivery {
    /// The partition the record was appended to.
    pub partition: Option<u32>,
    /// The record's offset in that partition.
    pub offset: Option<i64>,
    /// The record's timestamp (ms since the Unix epoch), as sent.
    pub timestamp: i64,
}

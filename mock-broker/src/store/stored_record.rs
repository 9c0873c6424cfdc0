//! A recorded message and who sent it: what the store holds and tests read back.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use protocol::Header;

use super::txn_index::TxnRecordState;

/// Which protocol a message arrived over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// The project's frame protocol.
    Frame,
    /// The Kafka wire protocol.
    Kafka,
}

impl Protocol {
    /// The protocol's name as shown in recordings: `frame` or `kafka`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Frame => "frame",
            Protocol::Kafka => "kafka",
        }
    }
}

/// Who sent a message: shared by every message of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's socket address.
    pub address: SocketAddr,
    /// The protocol the connection speaks.
    pub protocol: Protocol,
    /// The client id the producer announced, if any.
    pub client_id: Option<String>,
}

/// The idempotent-producer fields of a Kafka record, when the producer set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerInfo {
    /// The producer id handed out by InitProducerId.
    pub id: i64,
    /// The producer's epoch.
    pub epoch: i16,
    /// This record's sequence number (the batch's base sequence plus its offset delta).
    pub sequence: i32,
}

/// One recorded message, as tests read it back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredRecord {
    /// The partition it was appended to.
    pub partition: u32,
    /// Its offset in that partition; offsets are dense and start at 0.
    pub offset: i64,
    /// The producer's timestamp (ms since the Unix epoch), if it set one.
    pub timestamp: Option<i64>,
    /// When the broker received it (ms since the Unix epoch).
    pub receive_time: i64,
    /// The key, if any.
    pub key: Option<Bytes>,
    /// The value; `None` is Kafka's null value (a tombstone), distinct from an empty one.
    pub value: Option<Bytes>,
    /// The headers, in order; keys may repeat.
    pub headers: Vec<Header>,
    /// Producer id, epoch and sequence, for Kafka records from idempotent producers.
    pub producer: Option<ProducerInfo>,
    /// Who sent it.
    pub client: Arc<ClientInfo>,
    /// For a record of a transaction, how its transaction stands when read
    /// (for a control record, the outcome its marker writes); `None` otherwise.
    pub transaction: Option<TxnRecordState>,
    /// Whether it is a control record (a transaction's COMMIT or ABORT
    /// marker), which consumers skip and listings leave out unless asked.
    pub control: bool,
}

/// A message about to be appended; the store gives it its offset.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// The producer's timestamp, if it set one.
    pub timestamp: Option<i64>,
    /// The key, if any.
    pub key: Option<Bytes>,
    /// The value; `None` is a null value.
    pub value: Option<Bytes>,
    /// The headers.
    pub headers: Vec<Header>,
    /// Producer id, epoch and sequence, if the producer set them.
    pub producer: Option<ProducerInfo>,
}

impl NewRecord {
    /// Bytes of its key, value, header keys and header values: what `/stats` counts.
    pub fn payload_bytes(&self) -> usize {
        self.key.as_ref().map_or(0, Bytes::len)
            + self.value.as_ref().map_or(0, Bytes::len)
            + self
                .headers
                .iter()
                .map(|h| h.key.len() + h.value.as_ref().map_or(0, Bytes::len))
                .sum::<usize>()
    }
}

//! The record file's lines: a recorded message (no `kind`), or one of the
//! other kinds (`"kind": "topic"`, …) that a replay needs besides the records.
//!
//! Lines are written by `record_file.rs` and read back by `replay.rs`; this
//! file says what each kind holds, in one place, for both directions.
//! `docs/durability.md` lists them for users.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use protocol::Header;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::group::CommittedOffset;

/// A line of a kind other than a record: a change replaying the records alone could not rebuild.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub(crate) enum EventLine {
    /// A topic was created.
    Topic {
        /// Its name.
        topic: String,
        /// Its id (a UUID), kept across restarts.
        id: String,
        /// Its partition count.
        partitions: u32,
        /// The replication factor it reports.
        replication_factor: i16,
        /// Its configuration overrides.
        config: BTreeMap<String, String>,
    },
    /// A topic grew to `partitions` partitions.
    Partitions {
        /// The topic.
        topic: String,
        /// Its partition count now.
        partitions: u32,
    },
    /// A topic's configuration overrides were replaced.
    TopicConfig {
        /// The topic.
        topic: String,
        /// Every override it has now.
        config: BTreeMap<String, String>,
    },
    /// DeleteRecords moved a partition's log start offset.
    LogStart {
        /// The topic.
        topic: String,
        /// The partition.
        partition: u32,
        /// The new log start offset.
        offset: i64,
    },
    /// A topic was deleted.
    TopicDeleted {
        /// The topic.
        topic: String,
    },
    /// Every topic was deleted (`POST /reset`), or the broker started `--fresh`.
    Reset {},
    /// InitProducerId handed out a producer id and epoch.
    Producer {
        /// The producer id.
        producer_id: i64,
        /// Its epoch.
        producer_epoch: i16,
    },
    /// A consumer group committed an offset.
    OffsetCommit {
        /// The group.
        group: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
        /// The offset of the next record to consume.
        offset: i64,
        /// The leader epoch the client gave, -1 if none.
        leader_epoch: i32,
        /// The client's metadata.
        metadata: String,
        /// When it was committed, ms since the Unix epoch.
        commit_timestamp: i64,
    },
    /// OffsetDelete removed a group's committed offset.
    OffsetDelete {
        /// The group.
        group: String,
        /// The topic.
        topic: String,
        /// The partition.
        partition: i32,
    },
    /// DeleteGroups deleted a group, with its committed offsets.
    GroupDeleted {
        /// The group.
        group: String,
    },
}

impl EventLine {
    /// The line noting that `group` committed `committed` for `partition` of `topic`.
    pub(crate) fn offset_commit(
        group: &str,
        topic: &str,
        partition: i32,
        committed: &CommittedOffset,
    ) -> EventLine {
        EventLine::OffsetCommit {
            group: group.into(),
            topic: topic.into(),
            partition,
            offset: committed.offset,
            leader_epoch: committed.leader_epoch,
            metadata: committed.metadata.clone(),
            commit_timestamp: committed.commit_timestamp_ms,
        }
    }
}

/// A recorded message read back: the fields of `record_json.rs`'s object that a replay uses.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct RecordLine {
    pub(crate) topic: String,
    pub(crate) partition: u32,
    pub(crate) offset: i64,
    pub(crate) timestamp: Option<i64>,
    pub(crate) receive_time: i64,
    #[serde(deserialize_with = "json_bytes")]
    pub(crate) key: Option<Bytes>,
    #[serde(deserialize_with = "json_bytes")]
    pub(crate) value: Option<Bytes>,
    #[serde(deserialize_with = "header_list")]
    pub(crate) header_list: Vec<Header>,
    pub(crate) producer_id: Option<i64>,
    pub(crate) producer_epoch: Option<i16>,
    pub(crate) sequence: Option<i32>,
    pub(crate) protocol: String,
    pub(crate) client_id: Option<String>,
    pub(crate) client_address: SocketAddr,
    #[serde(default)]
    pub(crate) transaction: Option<String>,
    #[serde(default)]
    pub(crate) control: bool,
    /// The first offset of the append this record arrived in (one Kafka batch,
    /// or one request's records for the partition); absent in files written
    /// before it existed.
    #[serde(default)]
    pub(crate) base_offset: Option<i64>,
}

/// One line of the record file.
#[derive(Debug, Clone)]
pub(crate) enum FileLine {
    /// A recorded message.
    Record(Box<RecordLine>),
    /// Any other kind.
    Event(EventLine),
}

/// Reads one line (without its `\n`).
///
/// # Errors
/// What is wrong with it: not JSON, not an object, an unknown `kind`, a field missing or mistyped.
pub(crate) fn parse_line(line: &[u8]) -> Result<FileLine, String> {
    let value: Value = serde_json::from_slice(line).map_err(|e| format!("not JSON: {e}"))?;
    let Value::Object(object) = &value else {
        return Err("not a JSON object".into());
    };
    if object.contains_key("kind") {
        serde_json::from_value(value)
            .map(FileLine::Event)
            .map_err(|e| format!("not a valid event line: {e}"))
    } else {
        serde_json::from_value(value)
            .map(|r| FileLine::Record(Box::new(r)))
            .map_err(|e| format!("not a valid record line: {e}"))
    }
}

/// Bytes as `record_json.rs` writes them: a string, `null`, or `{"base64": "…"}`.
fn bytes_of(value: Value) -> Result<Option<Bytes>, String> {
    match value {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(Bytes::from(text))),
        Value::Object(mut object) if object.len() == 1 => match object.remove("base64") {
            Some(Value::String(encoded)) => STANDARD
                .decode(encoded)
                .map(|b| Some(Bytes::from(b)))
                .map_err(|e| format!("invalid base64: {e}")),
            _ => Err("expected {\"base64\": \"…\"}".into()),
        },
        other => Err(format!(
            "expected a string, null or {{\"base64\": …}}, found {other}"
        )),
    }
}

fn json_bytes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Bytes>, D::Error> {
    bytes_of(Value::deserialize(d)?).map_err(serde::de::Error::custom)
}

fn header_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Header>, D::Error> {
    let pairs: Vec<(String, Value)> = Vec::deserialize(d)?;
    pairs
        .into_iter()
        .map(|(key, value)| {
            Ok(Header {
                key,
                value: bytes_of(value).map_err(serde::de::Error::custom)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_line_reads_back_bytes_headers_and_producer_fields() {
        let line = br#"{"topic":"t","partition":1,"offset":7,"timestamp":42,"receive_time":43,"key":"k","value":{"base64":"//4="},"headers":{"h":null},"header_list":[["h","a"],["h",null]],"producer_id":1001,"producer_epoch":0,"sequence":3,"protocol":"kafka","client_id":null,"client_address":"127.0.0.1:5000","base_offset":5}"#;
        let FileLine::Record(record) = parse_line(line).unwrap() else {
            panic!("a record");
        };
        assert_eq!((record.partition, record.offset), (1, 7));
        assert_eq!(record.key.as_deref(), Some(&b"k"[..]));
        assert_eq!(record.value.as_deref(), Some(&[0xff, 0xfe][..]));
        assert_eq!(record.header_list.len(), 2);
        assert_eq!(record.header_list[1].value, None);
        assert_eq!(record.producer_id, Some(1001));
        assert_eq!(record.base_offset, Some(5));
        assert!(!record.control);
    }

    #[test]
    fn event_lines_round_trip_and_an_unknown_kind_is_named() {
        let event = EventLine::OffsetCommit {
            group: "g".into(),
            topic: "t".into(),
            partition: 0,
            offset: 12,
            leader_epoch: -1,
            metadata: String::new(),
            commit_timestamp: 99,
        };
        let text = serde_json::to_string(&event).unwrap();
        assert!(text.starts_with(r#"{"kind":"offset_commit","#), "{text}");
        let FileLine::Event(back) = parse_line(text.as_bytes()).unwrap() else {
            panic!("an event");
        };
        assert_eq!(back, event);
        let reset = serde_json::to_string(&EventLine::Reset {}).unwrap();
        assert_eq!(reset, r#"{"kind":"reset"}"#);

        let err = parse_line(br#"{"kind":"teleport"}"#).unwrap_err();
        assert!(err.contains("teleport"), "{err}");
        let err = parse_line(br#"{"topic":"t","partiti"#).unwrap_err();
        assert!(err.starts_with("not JSON"), "{err}");
    }
}

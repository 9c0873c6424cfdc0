//! The JSON form of a recorded message: what the admin API serves and the record file holds.
//!
//! Bytes (keys, values, header values) become a JSON string when they are
//! valid UTF-8, `null` when absent, and `{"base64": "…"}` (standard alphabet,
//! padded) otherwise, so that no byte is lost and text stays readable.

use std::collections::HashMap;
use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use protocol::Header;
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::store::StoredRecord;

/// One recorded message as JSON, borrowing from the record it describes.
#[derive(Debug, Serialize)]
pub(crate) struct RecordJson<'a> {
    topic: &'a str,
    partition: u32,
    offset: i64,
    timestamp: Option<i64>,
    receive_time: i64,
    key: JsonBytes<'a>,
    value: JsonBytes<'a>,
    headers: HeaderMap<'a>,
    header_list: HeaderList<'a>,
    producer_id: Option<i64>,
    producer_epoch: Option<i16>,
    sequence: Option<i32>,
    protocol: &'static str,
    client_id: Option<&'a str>,
    client_address: SocketAddr,
    /// `open`, `committed` or `aborted` for a record of a transaction; absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    transaction: Option<&'static str>,
    /// `true` for a control record (a transaction marker); absent otherwise.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    control: bool,
}

impl<'a> RecordJson<'a> {
    /// The JSON form of `record`, recorded in `topic`.
    pub(crate) fn new(topic: &'a str, record: &'a StoredRecord) -> Self {
        RecordJson {
            topic,
            partition: record.partition,
            offset: record.offset,
            timestamp: record.timestamp,
            receive_time: record.receive_time,
            key: JsonBytes(record.key.as_deref()),
            value: JsonBytes(record.value.as_deref()),
            headers: HeaderMap(&record.headers),
            header_list: HeaderList(&record.headers),
            producer_id: record.producer.map(|p| p.id),
            producer_epoch: record.producer.map(|p| p.epoch),
            sequence: record.producer.map(|p| p.sequence),
            protocol: record.client.protocol.name(),
            client_id: record.client.client_id.as_deref(),
            client_address: record.client.address,
            transaction: record.transaction.map(|t| t.name()),
            control: record.control,
        }
    }
}

/// Optional bytes: a string if UTF-8, `null` if absent, else `{"base64": "…"}`.
#[derive(Debug)]
struct JsonBytes<'a>(Option<&'a [u8]>);

impl Serialize for JsonBytes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            None => serializer.serialize_none(),
            Some(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => serializer.serialize_str(text),
                Err(_) => {
                    let mut map = serializer.serialize_map(Some(1))?;
                    map.serialize_entry("base64", &STANDARD.encode(bytes))?;
                    map.end()
                }
            },
        }
    }
}

/// Headers as an object; when a key repeats, its last value wins.
#[derive(Debug)]
struct HeaderMap<'a>(&'a [Header]);

impl Serialize for HeaderMap<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let headers = self.0;
        // Index of each key's last occurrence; only that one is written.
        let last: HashMap<&str, usize> = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.key.as_str(), i))
            .collect();
        let mut map = serializer.serialize_map(Some(last.len()))?;
        for (i, header) in headers.iter().enumerate() {
            if last[header.key.as_str()] == i {
                map.serialize_entry(&header.key, &JsonBytes(header.value.as_deref()))?;
            }
        }
        map.end()
    }
}

/// Headers as `[key, value]` pairs, in order, duplicates kept.
#[derive(Debug)]
struct HeaderList<'a>(&'a [Header]);

impl Serialize for HeaderList<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for header in self.0 {
            seq.serialize_element(&(&header.key, JsonBytes(header.value.as_deref())))?;
        }
        seq.end()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use serde_json::{Value, json};

    use super::*;
    use crate::store::{ClientInfo, NewRecord, ProducerInfo, Protocol, RecordStore};

    fn header(key: &str, value: Option<&'static [u8]>) -> Header {
        Header {
            key: key.into(),
            value: value.map(Bytes::from_static),
        }
    }

    /// Records `record` through a real store, the only way to build a `StoredRecord`.
    fn stored(record: NewRecord, client_id: Option<&str>) -> StoredRecord {
        let store = RecordStore::new(1, true);
        let client = Arc::new(ClientInfo {
            address: "127.0.0.1:5000".parse().unwrap(),
            protocol: Protocol::Kafka,
            client_id: client_id.map(String::from),
        });
        store
            .topic_for_write("t")
            .unwrap()
            .append(0, [record], 1_700_000_000_123, &client)
            .unwrap();
        store.read("t", 0, 0, 1).unwrap().remove(0)
    }

    fn json_of(record: &StoredRecord) -> Value {
        serde_json::to_value(RecordJson::new("t", record)).unwrap()
    }

    #[test]
    fn utf8_is_a_string_other_bytes_are_base64_and_absent_is_null() {
        let record = stored(
            NewRecord {
                timestamp: None,
                key: None,
                value: Some(Bytes::from_static(&[0xff, 0xfe, 0x00, 0x41])),
                headers: vec![
                    header("text", Some("héllo".as_bytes())),
                    header("binary", Some(&[0xc3, 0x28])),
                    header("null", None),
                    header("empty", Some(b"")),
                ],
                producer: None,
            },
            None,
        );
        let json = json_of(&record);
        assert_eq!(json["key"], Value::Null);
        assert_eq!(json["value"], json!({"base64": "//4AQQ=="}));
        assert_eq!(
            json["headers"],
            json!({"text": "héllo", "binary": {"base64": "wyg="}, "null": null, "empty": ""})
        );
        assert_eq!(json["timestamp"], Value::Null);
        assert_eq!(json["client_id"], Value::Null);
        assert_eq!(json["producer_id"], Value::Null);
        assert_eq!(json["sequence"], Value::Null);

        let tombstone = stored(
            NewRecord {
                timestamp: None,
                key: Some(Bytes::from_static(b"")),
                value: None,
                headers: Vec::new(),
                producer: None,
            },
            None,
        );
        let json = json_of(&tombstone);
        assert_eq!(json["key"], "", "an empty key is not a null one");
        assert_eq!(json["value"], Value::Null);
        assert_eq!(json["headers"], json!({}));
        assert_eq!(json["header_list"], json!([]));
    }

    #[test]
    fn a_repeated_header_key_keeps_its_last_value_in_headers_and_every_value_in_header_list() {
        let record = stored(
            NewRecord {
                timestamp: Some(42),
                key: Some(Bytes::from_static(b"k")),
                value: Some(Bytes::from_static(b"v")),
                headers: vec![
                    header("trace", Some(b"first")),
                    header("other", Some(b"x")),
                    header("trace", Some(b"second")),
                ],
                producer: Some(ProducerInfo {
                    id: 7,
                    epoch: 2,
                    sequence: 11,
                }),
            },
            Some("cli"),
        );
        assert_eq!(
            json_of(&record),
            json!({
                "topic": "t",
                "partition": 0,
                "offset": 0,
                "timestamp": 42,
                "receive_time": 1_700_000_000_123i64,
                "key": "k",
                "value": "v",
                "headers": {"trace": "second", "other": "x"},
                "header_list": [["trace", "first"], ["other", "x"], ["trace", "second"]],
                "producer_id": 7,
                "producer_epoch": 2,
                "sequence": 11,
                "protocol": "kafka",
                "client_id": "cli",
                "client_address": "127.0.0.1:5000",
            })
        );
    }
}

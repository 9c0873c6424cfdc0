//! Reads what an external mock broker recorded through its admin HTTP API
//! (`docs/admin-api.md`), for the delivery audit.
//!
//! Plain HTTP/1.1 GETs with `Connection: close` over a TCP stream: the API is
//! on a trusted loopback address and answers small JSON documents, so a client
//! library would add more than it saves. Parsing is pure and kept apart from
//! the socket.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Records asked for per request when paging through a partition.
const PAGE: u64 = 10_000;

/// How long one request may take, connection included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Why the admin API could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read the admin API at {address}: {reason}")]
pub struct AdminError {
    /// The `host:port` of the API.
    pub address: String,
    /// What went wrong, with the request it concerned.
    pub reason: String,
}

/// One record read back: its partition, offset and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminRecord {
    /// Its partition.
    pub partition: u32,
    /// Its offset in the partition.
    pub offset: i64,
    /// Its value; `None` for a null value.
    pub value: Option<Vec<u8>>,
}

/// The admin API of a mock broker at `host:port`.
#[derive(Debug, Clone)]
pub struct AdminApi {
    address: String,
}

impl AdminApi {
    /// The API at `address` (`host:port`); nothing is connected yet.
    pub fn new(address: impl Into<String>) -> Self {
        AdminApi {
            address: address.into(),
        }
    }

    /// The `host:port` of the API.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The records `topic`'s partitions hold in all (the sum of their high watermarks);
    /// 0 when the topic does not exist.
    ///
    /// # Errors
    /// [`AdminError`] when the API cannot be reached or answers unexpectedly.
    pub async fn record_count(&self, topic: &str) -> Result<u64, AdminError> {
        let partitions = self.partitions(topic).await?;
        Ok(partitions.iter().map(|&(_, hw)| hw).sum())
    }

    /// Every record of `topic` from each partition's offset in `from` (0 for
    /// a partition it lacks), partition by partition, each in offset order;
    /// empty when the topic does not exist.
    ///
    /// # Errors
    /// [`AdminError`] when the API cannot be reached or answers unexpectedly.
    pub async fn read_from(
        &self,
        topic: &str,
        from: &BTreeMap<u32, u64>,
    ) -> Result<Vec<AdminRecord>, AdminError> {
        let mut records = Vec::new();
        for (partition, _) in self.partitions(topic).await? {
            let mut offset = from.get(&partition).copied().unwrap_or(0);
            loop {
                let path = format!(
                    "/topics/{topic}/records?partition={partition}&offset={offset}&limit={PAGE}"
                );
                let body = self.get(&path).await?;
                let page =
                    parse_records(&body).map_err(|reason| self.error("GET", &path, reason))?;
                let got = page.len() as u64;
                records.extend(page);
                if got < PAGE {
                    break;
                }
                offset += got;
            }
        }
        Ok(records)
    }

    /// The high watermark of each partition of `topic`; empty when the topic does not exist.
    ///
    /// # Errors
    /// [`AdminError`] when the API cannot be reached or answers unexpectedly.
    pub async fn end_offsets(&self, topic: &str) -> Result<BTreeMap<u32, u64>, AdminError> {
        Ok(self.partitions(topic).await?.into_iter().collect())
    }

    /// `(partition, high watermark)` of each partition of `topic`.
    async fn partitions(&self, topic: &str) -> Result<Vec<(u32, u64)>, AdminError> {
        let body = self.get("/topics").await?;
        parse_partitions(&body, topic).map_err(|reason| self.error("GET", "/topics", reason))
    }

    /// Puts a fault rule in force (`POST /faults`); the broker's answer: the
    /// rule with its `id`, `fired` and `state`.
    ///
    /// # Errors
    /// [`AdminError`] when the API cannot be reached or refuses the rule (with its reason).
    pub async fn add_fault(&self, rule: &Value) -> Result<Value, AdminError> {
        let body = self
            .request("POST", "/faults", Some(&rule.to_string()))
            .await?;
        serde_json::from_slice(&body)
            .map_err(|e| self.error("POST", "/faults", format!("invalid JSON: {e}")))
    }

    /// A fault rule as the broker reports it now (`GET /faults/{id}`).
    ///
    /// # Errors
    /// [`AdminError`] when the API cannot be reached or the rule does not exist.
    pub async fn fault(&self, id: u64) -> Result<Value, AdminError> {
        let path = format!("/faults/{id}");
        let body = self.get(&path).await?;
        serde_json::from_slice(&body)
            .map_err(|e| self.error("GET", &path, format!("invalid JSON: {e}")))
    }

    /// Removes a fault rule (`DELETE /faults/{id}`).
    ///
    /// # Errors
    /// [`AdminError`] when the API cannot be reached or the rule does not exist.
    pub async fn remove_fault(&self, id: u64) -> Result<(), AdminError> {
        self.request("DELETE", &format!("/faults/{id}"), None)
            .await
            .map(|_| ())
    }

    /// The body of a `200` answer to `GET path`.
    async fn get(&self, path: &str) -> Result<Vec<u8>, AdminError> {
        self.request("GET", path, None).await
    }

    /// The body of a successful (2xx) answer to `method path` with an optional JSON `body`.
    async fn request(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<Vec<u8>, AdminError> {
        let exchange = async {
            let mut stream = TcpStream::connect(&self.address).await?;
            let body = body.unwrap_or_default();
            let request = format!(
                "{method} {path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\n\
                 Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                self.address,
                body.len()
            );
            stream.write_all(request.as_bytes()).await?;
            let mut response = Vec::new();
            stream.read_to_end(&mut response).await?;
            Ok::<_, std::io::Error>(response)
        };
        let response = tokio::time::timeout(REQUEST_TIMEOUT, exchange)
            .await
            .map_err(|_| {
                self.error(
                    method,
                    path,
                    format!("no answer within {REQUEST_TIMEOUT:?}"),
                )
            })?
            .map_err(|e| self.error(method, path, e.to_string()))?;
        parse_response(&response).map_err(|reason| self.error(method, path, reason))
    }

    fn error(&self, method: &str, path: &str, reason: String) -> AdminError {
        AdminError {
            address: self.address.clone(),
            reason: format!("{method} {path}: {reason}"),
        }
    }
}

/// The body of a whole HTTP/1.1 response, which must be 2xx; a chunked body is decoded.
fn parse_response(response: &[u8]) -> Result<Vec<u8>, String> {
    let end = find(response, b"\r\n\r\n").ok_or("the response has no end of headers")?;
    let head = String::from_utf8_lossy(&response[..end]);
    let body = &response[end + 4..];
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if !status
        .split_whitespace()
        .nth(1)
        .is_some_and(|code| code.len() == 3 && code.starts_with('2'))
    {
        let detail = String::from_utf8_lossy(body);
        return Err(format!("answered {status:?}: {detail}"));
    }
    let chunked = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("transfer-encoding")
                && value.to_ascii_lowercase().contains("chunked")
        })
    });
    if chunked {
        dechunk(body)
    } else {
        Ok(body.to_vec())
    }
}

fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let line_end = find(body, b"\r\n").ok_or("a chunk size line is cut short")?;
        let size_text = String::from_utf8_lossy(&body[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("invalid chunk size {size_text:?}"))?;
        body = &body[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = body.get(..size).ok_or("a chunk is cut short")?;
        out.extend_from_slice(chunk);
        body = body.get(size + 2..).ok_or("a chunk is cut short")?;
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn parse_partitions(body: &[u8], topic: &str) -> Result<Vec<(u32, u64)>, String> {
    let topics: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let topics = topics.as_array().ok_or("expected an array of topics")?;
    let Some(found) = topics.iter().find(|t| t["name"] == topic) else {
        return Ok(Vec::new());
    };
    let partitions = found["partitions"]
        .as_array()
        .ok_or_else(|| format!("topic {topic} has no partitions array"))?;
    partitions
        .iter()
        .map(|p| {
            let partition = p["partition"].as_u64().and_then(|n| u32::try_from(n).ok());
            match (partition, p["high_watermark"].as_u64()) {
                (Some(partition), Some(hw)) => Ok((partition, hw)),
                _ => Err(format!("invalid partition {p} of topic {topic}")),
            }
        })
        .collect()
}

fn parse_records(body: &[u8]) -> Result<Vec<AdminRecord>, String> {
    let records: Value = serde_json::from_slice(body).map_err(|e| format!("invalid JSON: {e}"))?;
    let records = records.as_array().ok_or("expected an array of records")?;
    records
        .iter()
        .map(|r| {
            let partition = r["partition"].as_u64().and_then(|n| u32::try_from(n).ok());
            let offset = r["offset"].as_i64();
            match (partition, offset) {
                (Some(partition), Some(offset)) => Ok(AdminRecord {
                    partition,
                    offset,
                    value: json_bytes(&r["value"])?,
                }),
                _ => Err(format!("a record without partition or offset: {r}")),
            }
        })
        .collect()
}

/// Bytes as the admin API writes them: a string of UTF-8, `null`, or `{"base64": "…"}`.
fn json_bytes(field: &Value) -> Result<Option<Vec<u8>>, String> {
    match field {
        Value::Null => Ok(None),
        Value::String(text) => Ok(Some(text.as_bytes().to_vec())),
        Value::Object(map) => match map.get("base64").and_then(Value::as_str) {
            Some(encoded) => base64_decode(encoded).map(Some),
            None => Err(format!("expected {{\"base64\": …}}, got {field}")),
        },
        other => Err(format!("expected bytes, got {other}")),
    }
}

/// Standard base64 with `=` padding (RFC 4648 §4), as the admin API writes it.
fn base64_decode(text: &str) -> Result<Vec<u8>, String> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| format!("invalid base64 {text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_the_documented_examples() {
        assert_eq!(base64_decode("/wD+").unwrap(), [0xFF, 0x00, 0xFE]);
        assert_eq!(base64_decode("wyg=").unwrap(), [0xC3, 0x28]);
        assert_eq!(base64_decode("aGk=").unwrap(), b"hi");
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("a!==").is_err());
        assert!(base64_decode("abc").is_err());
    }

    #[test]
    fn values_are_strings_null_or_base64_objects() {
        let value: Value = serde_json::json!([
            {"partition": 1, "offset": 0, "value": "hi"},
            {"partition": 1, "offset": 1, "value": null},
            {"partition": 2, "offset": 0, "value": {"base64": "/wD+"}},
        ]);
        let records = parse_records(value.to_string().as_bytes()).unwrap();
        let values: Vec<_> = records.iter().map(|r| r.value.clone()).collect();
        assert_eq!(
            values,
            [Some(b"hi".to_vec()), None, Some(vec![0xFF, 0x00, 0xFE])]
        );
        assert_eq!((records[2].partition, records[2].offset), (2, 0));
    }

    #[test]
    fn partitions_of_the_topic_asked_for_and_none_for_an_unknown_one() {
        let body = br#"[{"name":"a","id":"x","partitions":[{"partition":0,"leader":1,"high_watermark":3}]},
                        {"name":"bench","id":"y","partitions":[{"partition":0,"leader":1,"high_watermark":5},
                                                                {"partition":1,"leader":1,"high_watermark":7}]}]"#;
        assert_eq!(parse_partitions(body, "bench").unwrap(), [(0, 5), (1, 7)]);
        assert_eq!(parse_partitions(body, "nope").unwrap(), []);
    }

    #[test]
    fn responses_must_be_200_and_chunked_bodies_are_joined() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n[]";
        assert_eq!(parse_response(plain).unwrap(), b"[]");
        let chunked =
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n[1,\r\n2\r\n2]\r\n0\r\n\r\n";
        assert_eq!(parse_response(chunked).unwrap(), b"[1,2]");
        let refused = b"HTTP/1.1 404 Not Found\r\n\r\n{\"error\":\"unknown topic\"}";
        let why = parse_response(refused).unwrap_err();
        assert!(
            why.contains("404") && why.contains("unknown topic"),
            "{why}"
        );
    }
}

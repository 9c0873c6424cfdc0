//! The produce request: one topic, one or more messages.

use bytes::{BufMut, Bytes, BytesMut};

use super::decode_limits::{DecodeLimits, FrameLimit};
use super::error::{EncodeError, FrameError};
use super::fixed_header::encode_frame;
use super::layout::KIND_PRODUCE_REQUEST;
use super::reader::FieldReader;
use crate::header::Header;

/// Smallest encoded message: timestamp, key length, value length and header count.
const MIN_MESSAGE_LEN: usize = 8 + 4 + 4 + 2;

/// Whether and when the broker answers a produce request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FrameAcks {
    /// No response at all, unless the broker closes the connection over an error.
    None = 0,
    /// A response once every message of the request is recorded.
    Recorded = 1,
}

/// A batch of messages for one topic, as carried by a produce frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceRequest {
    /// Chosen by the client; echoed in the response so that pipelined requests can be matched.
    pub correlation_id: u32,
    /// Whether the broker answers.
    pub acks: FrameAcks,
    /// Who is producing, for the broker's logs and recordings; may be empty.
    pub client_id: String,
    /// The topic every message goes to.
    pub topic: String,
    /// The partition for every message, or `None` to let the broker choose per message.
    pub partition: Option<u32>,
    /// The messages, in the order they are to be appended.
    pub messages: Vec<Message>,
}

/// One message of a produce request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// The producer's timestamp in milliseconds since the Unix epoch, if it set one.
    pub timestamp: Option<i64>,
    /// The key, used to choose the partition when the request does not name one.
    pub key: Option<Bytes>,
    /// The payload.
    pub value: Bytes,
    /// Application headers, in order; keys may repeat.
    pub headers: Vec<Header>,
}

impl Message {
    /// The message's size on the wire, which is what `max_message_bytes` limits.
    pub fn encoded_len(&self) -> usize {
        MIN_MESSAGE_LEN
            + self.key.as_ref().map_or(0, Bytes::len)
            + self.value.len()
            + self
                .headers
                .iter()
                .map(|h| 2 + h.key.len() + 4 + h.value.as_ref().map_or(0, Bytes::len))
                .sum::<usize>()
    }

    fn encode(&self, index: usize, dst: &mut BytesMut) -> Result<(), EncodeError> {
        dst.put_i64(self.timestamp.unwrap_or(-1));
        match &self.key {
            Some(key) => {
                dst.put_i32(len_i32(key.len(), &format_args!("message {index} key"))?);
                dst.put_slice(key);
            }
            None => dst.put_i32(-1),
        }
        dst.put_u32(len_u32(
            self.value.len(),
            &format_args!("message {index} value"),
        )?);
        dst.put_slice(&self.value);
        dst.put_u16(len_u16(
            self.headers.len(),
            &format_args!("message {index} header count"),
        )?);
        for (h, header) in self.headers.iter().enumerate() {
            dst.put_u16(len_u16(
                header.key.len(),
                &format_args!("message {index} header {h} key"),
            )?);
            dst.put_slice(header.key.as_bytes());
            match &header.value {
                Some(value) => {
                    dst.put_i32(len_i32(
                        value.len(),
                        &format_args!("message {index} header {h} value"),
                    )?);
                    dst.put_slice(value);
                }
                None => dst.put_i32(-1),
            }
        }
        Ok(())
    }

    /// Message `i`, its headers counted against `limits` (and `headers_left`
    /// of the frame's) before they are decoded.
    fn decode(
        r: &mut FieldReader,
        i: u32,
        limits: DecodeLimits,
        headers_left: &mut u32,
    ) -> Result<Message, FrameError> {
        let timestamp = r.i64(&format_args!("message {i} timestamp"))?;
        let timestamp = match timestamp {
            -1 => None,
            t if t >= 0 => Some(t),
            t => return Err(r.malformed(format!("message {i} timestamp {t} is negative"))),
        };
        let key_len = r.i32(&format_args!("message {i} key length"))?;
        let key = match key_len {
            -1 => None,
            len if len >= 0 => Some(r.bytes(len as usize, &format_args!("message {i} key"))?),
            len => return Err(r.malformed(format!("message {i} key length {len} is invalid"))),
        };
        let value_len = r.u32(&format_args!("message {i} value length"))?;
        let value = r.bytes(value_len as usize, &format_args!("message {i} value"))?;
        let header_count = r.u16(&format_args!("message {i} header count"))?;
        if u32::from(header_count) > limits.headers_per_message {
            return Err(over_limit(
                r,
                FrameLimit::HeadersPerMessage,
                format!(
                    "message {i} carries {header_count} headers, more than the limit of {}",
                    limits.headers_per_message
                ),
            ));
        }
        *headers_left = headers_left
            .checked_sub(u32::from(header_count))
            .ok_or_else(|| {
                over_limit(
                    r,
                    FrameLimit::Headers,
                    format!(
                        "messages 0 to {i} carry more headers than the limit of {}",
                        limits.headers
                    ),
                )
            })?;
        let mut headers = Vec::with_capacity(usize::from(header_count).min(r.remaining() / 6));
        for h in 0..header_count {
            let key = r.string16(&format_args!("message {i} header {h} key"))?;
            let value_len = r.i32(&format_args!("message {i} header {h} value length"))?;
            let value = match value_len {
                -1 => None,
                len if len >= 0 => {
                    Some(r.bytes(len as usize, &format_args!("message {i} header {h} value"))?)
                }
                len => {
                    return Err(r.malformed(format!(
                        "message {i} header {h} value length {len} is invalid"
                    )));
                }
            };
            headers.push(Header { key, value });
        }
        Ok(Message {
            timestamp,
            key,
            value,
            headers,
        })
    }
}

impl ProduceRequest {
    /// Appends the whole frame (fixed header and body) to `dst`.
    ///
    /// # Errors
    /// [`EncodeError::FieldTooLong`] when a field does not fit its length
    /// prefix; `dst` is then left as it was.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        encode_frame(KIND_PRODUCE_REQUEST, self.correlation_id, dst, |dst| {
            dst.put_u8(self.acks as u8);
            dst.put_u16(len_u16(self.client_id.len(), &"client id")?);
            dst.put_slice(self.client_id.as_bytes());
            dst.put_u16(len_u16(self.topic.len(), &"topic")?);
            dst.put_slice(self.topic.as_bytes());
            dst.put_i32(match self.partition {
                Some(p) => i32::try_from(p).map_err(|_| EncodeError::FieldTooLong {
                    field: "partition".into(),
                    len: p as usize,
                    max: i32::MAX as usize,
                })?,
                None => -1,
            });
            dst.put_u32(len_u32(self.messages.len(), &"message count")?);
            for (i, message) in self.messages.iter().enumerate() {
                message.encode(i, dst)?;
            }
            Ok(())
        })
    }

    pub(super) fn decode_body(
        mut r: FieldReader,
        correlation_id: u32,
        limits: DecodeLimits,
    ) -> Result<Self, FrameError> {
        let acks = match r.u8(&"acks")? {
            0 => FrameAcks::None,
            1 => FrameAcks::Recorded,
            other => return Err(r.malformed(format!("acks {other} is not 0 or 1"))),
        };
        let client_id = r.string16(&"client id")?;
        let topic = r.string16(&"topic")?;
        let partition = match r.i32(&"partition")? {
            -1 => None,
            p if p >= 0 => Some(p as u32),
            p => return Err(r.malformed(format!("partition {p} is negative and not -1"))),
        };
        let count = r.u32(&"message count")?;
        if count == 0 {
            return Err(r.malformed("message count is 0; a produce frame carries at least one"));
        }
        let room = r.remaining() / MIN_MESSAGE_LEN;
        if count as usize > room {
            return Err(r.malformed(format!(
                "message count {count} cannot fit in the {} bytes left in the frame",
                r.remaining()
            )));
        }
        if count > limits.messages {
            return Err(over_limit(
                &r,
                FrameLimit::Messages,
                format!(
                    "the frame carries {count} messages, more than the limit of {}",
                    limits.messages
                ),
            ));
        }
        let mut messages = Vec::with_capacity(count as usize);
        let mut headers_left = limits.headers;
        for i in 0..count {
            messages.push(Message::decode(&mut r, i, limits, &mut headers_left)?);
        }
        r.finish("last message")?;
        Ok(ProduceRequest {
            correlation_id,
            acks,
            client_id,
            topic,
            partition,
            messages,
        })
    }
}

/// The error for a frame past one of its decoder's limits.
fn over_limit(r: &FieldReader, limit: FrameLimit, reason: String) -> FrameError {
    FrameError::OverLimit {
        correlation_id: r.correlation_id(),
        limit,
        reason,
    }
}

pub(super) fn len_u16(len: usize, field: &dyn std::fmt::Display) -> Result<u16, EncodeError> {
    u16::try_from(len).map_err(|_| too_long(len, u16::MAX as usize, field))
}

pub(super) fn len_u32(len: usize, field: &dyn std::fmt::Display) -> Result<u32, EncodeError> {
    u32::try_from(len).map_err(|_| too_long(len, u32::MAX as usize, field))
}

fn len_i32(len: usize, field: &dyn std::fmt::Display) -> Result<i32, EncodeError> {
    i32::try_from(len).map_err(|_| too_long(len, i32::MAX as usize, field))
}

fn too_long(len: usize, max: usize, field: &dyn std::fmt::Display) -> EncodeError {
    EncodeError::FieldTooLong {
        field: field.to_string(),
        len,
        max,
    }
}

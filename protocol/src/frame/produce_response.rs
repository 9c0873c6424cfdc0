//! The produce response: a status and where each message was recorded.

use bytes::{BufMut, BytesMut};

use super::error::{EncodeError, FrameError};
use super::fixed_header::encode_frame;
use super::layout::KIND_PRODUCE_RESPONSE;
use super::produce_request::{len_u16, len_u32};
use super::reader::FieldReader;
use super::status::Status;

/// Encoded size of one [`PartitionRun`].
const RUN_LEN: usize = 4 + 8 + 4;

/// The broker's answer to a produce request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceResponse {
    /// The correlation id of the request this answers.
    pub correlation_id: u32,
    /// [`Status::Ok`] when every message was recorded; otherwise none was.
    pub status: Status,
    /// A human-readable reason for an error status (empty on success).
    pub error_message: String,
    /// Where the messages went, in request order: see [`PartitionRun`].
    pub runs: Vec<PartitionRun>,
}

/// Consecutive messages of a request that were appended to one partition at
/// consecutive offsets.
///
/// A batch that went to a single partition is described by one run; a batch
/// spread over partitions by one run per change of partition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionRun {
    /// The partition the messages were appended to.
    pub partition: u32,
    /// The offset of the run's first message.
    pub base_offset: i64,
    /// How many messages the run covers.
    pub count: u32,
}

impl ProduceResponse {
    /// A success response.
    pub fn ok(correlation_id: u32, runs: Vec<PartitionRun>) -> Self {
        ProduceResponse {
            correlation_id,
            status: Status::Ok,
            error_message: String::new(),
            runs,
        }
    }

    /// An error response: nothing of the request was recorded.
    pub fn error(correlation_id: u32, status: Status, error_message: impl Into<String>) -> Self {
        ProduceResponse {
            correlation_id,
            status,
            error_message: error_message.into(),
            runs: Vec::new(),
        }
    }

    /// The number of messages the runs account for.
    pub fn message_count(&self) -> u64 {
        self.runs.iter().map(|r| u64::from(r.count)).sum()
    }

    /// The partition and offset of each message, in request order.
    pub fn placements(&self) -> impl Iterator<Item = (u32, i64)> + '_ {
        self.runs.iter().flat_map(|run| {
            (0..run.count).map(move |i| (run.partition, run.base_offset + i64::from(i)))
        })
    }

    /// Appends the whole frame (fixed header and body) to `dst`.
    ///
    /// # Errors
    /// [`EncodeError::FieldTooLong`] when the error message or the run list
    /// does not fit its length prefix; `dst` is then left as it was.
    pub fn encode(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        encode_frame(KIND_PRODUCE_RESPONSE, self.correlation_id, dst, |dst| {
            dst.put_u16(self.status.code());
            dst.put_u16(len_u16(self.error_message.len(), &"error message")?);
            dst.put_slice(self.error_message.as_bytes());
            dst.put_u32(len_u32(self.runs.len(), &"run count")?);
            for run in &self.runs {
                dst.put_u32(run.partition);
                dst.put_i64(run.base_offset);
                dst.put_u32(run.count);
            }
            Ok(())
        })
    }

    pub(super) fn decode_body(mut r: FieldReader, correlation_id: u32) -> Result<Self, FrameError> {
        let status = Status::from_code(r.u16(&"status")?);
        let error_message = r.string16(&"error message")?;
        let count = r.u32(&"run count")?;
        if count as usize > r.remaining() / RUN_LEN {
            return Err(r.malformed(format!(
                "run count {count} cannot fit in the {} bytes left in the frame",
                r.remaining()
            )));
        }
        let mut runs = Vec::with_capacity(count as usize);
        for i in 0..count {
            let partition = r.u32(&format_args!("run {i} partition"))?;
            let base_offset = r.i64(&format_args!("run {i} base offset"))?;
            let count = r.u32(&format_args!("run {i} count"))?;
            // Each message's offset must be an i64: a run cannot reach past i64::MAX.
            if base_offset
                .checked_add(i64::from(count.saturating_sub(1)))
                .is_none()
            {
                return Err(r.malformed(format!(
                    "run {i} of {count} messages from offset {base_offset} runs past the largest offset"
                )));
            }
            runs.push(PartitionRun {
                partition,
                base_offset,
                count,
            });
        }
        r.finish("last run")?;
        Ok(ProduceResponse {
            correlation_id,
            status,
            error_message,
            runs,
        })
    }
}

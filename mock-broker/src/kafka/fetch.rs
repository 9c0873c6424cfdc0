//! Fetch: the recordings served back as RecordBatch v2, so clients that gate
//! RecordBatch v2 and zstd on an advertised Fetch get them, and consumers work.
//!
//! Records are re-encoded (uncompressed, one batch per response partition),
//! whatever protocol and compression they arrived with. Long polling is
//! bounded: with nothing to return, the broker waits up to `max_wait_ms`
//! (at most one second) before answering empty.

use std::time::Duration;

use bytes::BytesMut;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::fetch_request::FetchRequest;
use kafka_protocol::messages::fetch_response::{
    FetchResponse, FetchableTopicResponse, PartitionData,
};
use kafka_protocol::protocol::StrBytes;
use kafka_protocol::records::{
    Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType,
};

use super::context::Ctx;
use crate::store::StoredRecord;

/// The longest a fetch with nothing to return waits.
const MAX_WAIT: Duration = Duration::from_secs(1);

/// Answers a Fetch request, waiting briefly when there is nothing to return.
/// Whether the request reads `partition` of `topic` (each `None` = any), for fault rules.
pub(crate) fn touches(request: &FetchRequest, topic: Option<&str>, partition: Option<u32>) -> bool {
    request.topics.iter().any(|t| {
        t.partitions.iter().any(|p| {
            super::context::scope_covers((topic, partition), t.topic.as_str(), p.partition)
        })
    })
}

pub(crate) async fn handle(request: FetchRequest, version: i16, ctx: &Ctx<'_>) -> FetchResponse {
    let response = answer(&request, version, ctx);
    if has_records(&response) || request.max_wait_ms <= 0 {
        return response;
    }
    let wait = Duration::from_millis(request.max_wait_ms as u64).min(MAX_WAIT);
    tokio::time::sleep(wait).await;
    answer(&request, version, ctx)
}

fn has_records(response: &FetchResponse) -> bool {
    response
        .responses
        .iter()
        .flat_map(|t| &t.partitions)
        .any(|p| p.records.as_ref().is_some_and(|r| !r.is_empty()))
}

fn answer(request: &FetchRequest, version: i16, ctx: &Ctx<'_>) -> FetchResponse {
    let mut budget = usize::try_from(request.max_bytes).unwrap_or(0).max(1);
    let responses = request
        .topics
        .iter()
        .map(|topic| {
            let log = ctx.state.store.topic(&topic.topic);
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let mut data = PartitionData::default().with_partition_index(p.partition);
                    let Some(log) = &log else {
                        return data.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let Ok(index) = u32::try_from(p.partition) else {
                        return data.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let Ok(high_watermark) = log.high_watermark(index) else {
                        return data.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    if ctx.state.cluster.leader(log.name(), index) != ctx.node_id {
                        return data.with_error_code(ResponseError::NotLeaderOrFollower.code());
                    }
                    data = data
                        .with_high_watermark(high_watermark)
                        .with_last_stable_offset(high_watermark);
                    if version >= 5 {
                        data = data.with_log_start_offset(0);
                    }
                    if p.fetch_offset < 0 || p.fetch_offset > high_watermark {
                        return data.with_error_code(ResponseError::OffsetOutOfRange.code());
                    }
                    let limit = usize::try_from(p.partition_max_bytes)
                        .unwrap_or(0)
                        .min(budget);
                    let records = read_up_to(
                        log.read(index, p.fetch_offset, 10_000).unwrap_or_default(),
                        limit,
                    );
                    let encoded = encode(&records);
                    budget = budget.saturating_sub(encoded.len());
                    data.with_records(Some(encoded.freeze()))
                })
                .collect();
            FetchableTopicResponse::default()
                .with_topic(topic.topic.clone())
                .with_partitions(partitions)
        })
        .collect();
    FetchResponse::default().with_responses(responses)
}

/// At least one record (so a consumer always progresses), then as many as fit in `limit` bytes.
fn read_up_to(records: Vec<StoredRecord>, limit: usize) -> Vec<StoredRecord> {
    let mut size = 0;
    let mut taken = Vec::new();
    for record in records {
        let len = 32
            + record.key.as_ref().map_or(0, |k| k.len())
            + record.value.as_ref().map_or(0, |v| v.len())
            + record
                .headers
                .iter()
                .map(|h| h.key.len() + 8)
                .sum::<usize>();
        if !taken.is_empty() && size + len > limit {
            break;
        }
        size += len;
        taken.push(record);
    }
    taken
}

fn encode(records: &[StoredRecord]) -> BytesMut {
    let mut buf = BytesMut::new();
    if records.is_empty() {
        return buf;
    }
    let first_offset = records[0].offset;
    let records: Vec<Record> = records
        .iter()
        .map(|r| Record {
            transactional: false,
            control: false,
            delete_horizon: false,
            partition_leader_epoch: 0,
            producer_id: -1,
            producer_epoch: -1,
            timestamp_type: TimestampType::Creation,
            offset: r.offset,
            // The encoder starts a new batch whenever offset − sequence changes;
            // this keeps one batch, with base sequence −1 (none).
            sequence: (r.offset - first_offset) as i32 - 1,
            timestamp: r.timestamp.unwrap_or(r.receive_time),
            key: r.key.clone(),
            value: r.value.clone(),
            headers: r
                .headers
                .iter()
                .map(|h| (StrBytes::from_string(h.key.clone()), h.value.clone()))
                .collect(),
        })
        .collect();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    if let Err(e) = RecordBatchEncoder::encode(&mut buf, &records, &options) {
        tracing::error!(error = %e, "cannot encode fetched records");
        buf.clear();
    }
    buf
}

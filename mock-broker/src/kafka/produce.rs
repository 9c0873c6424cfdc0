//! Produce: validate each partition's batch, apply idempotence (and for a
//! transactional batch, the transaction's checks), record, answer.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::ResponseError;
use kafka_protocol::messages::produce_request::ProduceRequest;
use kafka_protocol::messages::produce_response::{
    BatchIndexAndErrorMessage, PartitionProduceResponse, ProduceResponse, TopicProduceResponse,
};
use kafka_protocol::protocol::StrBytes;
use protocol::topic_name::validate_topic_name;

use super::context::Ctx;
use crate::idempotence::Verdict;
use crate::record_batch::{BatchError, ValidBatch, validate_batches};
use crate::store::{Protocol, StoreError, TopicLog};
use crate::txn::{ProducerIdAndEpoch, TopicPartition, TxnApi, for_client};
use protocol::kafka_error::error_name;

/// A partition's outcome: the base offset, or the error and why.
type Outcome = Result<i64, (ResponseError, String)>;

/// A partition's outcome with its log start offset, as answered.
type Answer = Result<(i64, i64), (ResponseError, String)>;

/// Whether the request writes to `partition` of `topic` (each `None` = any), for fault rules.
pub(crate) fn touches(
    request: &ProduceRequest,
    topic: Option<&str>,
    partition: Option<u32>,
) -> bool {
    request.topic_data.iter().any(|t| {
        t.partition_data
            .iter()
            .any(|p| super::context::scope_covers((topic, partition), t.name.as_str(), p.index))
    })
}

/// Records what the request carries and says where it went; `None` for acks=0.
pub(crate) fn handle(
    request: ProduceRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> Option<ProduceResponse> {
    let acks = request.acks;
    let mut responses = Vec::with_capacity(request.topic_data.len());
    for topic_data in request.topic_data {
        let (topic, name_error) =
            resolve_topic(&topic_data.name, topic_data.topic_id, version, ctx);
        let mut partition_responses = Vec::with_capacity(topic_data.partition_data.len());
        for partition_data in topic_data.partition_data {
            let index = partition_data.index;
            let outcome = match (&topic, &name_error) {
                (_, Some(error)) => Err(error.clone()),
                (Some(topic), None) => {
                    produce_partition(topic, index, partition_data.records, version, ctx).map(
                        |base| {
                            // Only answered from v5: no second look at the partition before.
                            let start = (version >= 5)
                                .then(|| u32::try_from(index).ok())
                                .flatten()
                                .and_then(|p| topic.log_start_offset(p).ok())
                                .unwrap_or(0);
                            (base, start)
                        },
                    )
                }
                (None, None) => unreachable!("resolve_topic returns a topic or an error"),
            };
            if let Err((error, reason)) = &outcome {
                ctx.state
                    .stats
                    .error(Protocol::Kafka, &error_name(error.code()));
                tracing::debug!(peer = %ctx.client.address, topic = %topic_data.name.as_str(), partition = index, error = %error_name(error.code()), %reason, "produce refused");
            }
            partition_responses.push(partition_response(index, outcome, version));
        }
        let mut topic_response =
            TopicProduceResponse::default().with_partition_responses(partition_responses);
        if version >= 13 {
            topic_response = topic_response.with_topic_id(topic_data.topic_id);
        } else {
            topic_response = topic_response.with_name(topic_data.name);
        }
        responses.push(topic_response);
    }
    (acks != 0).then(|| ProduceResponse::default().with_responses(responses))
}

/// The topic a produce names (by name, or by id from v13), creating it when allowed.
fn resolve_topic(
    name: &kafka_protocol::messages::TopicName,
    id: uuid::Uuid,
    version: i16,
    ctx: &Ctx<'_>,
) -> (Option<Arc<TopicLog>>, Option<(ResponseError, String)>) {
    let store = &ctx.state.store;
    if version >= 13 {
        return match store.topic_by_id(id) {
            Some(topic) => (Some(topic), None),
            None => (
                None,
                Some((
                    ResponseError::UnknownTopicId,
                    format!("no topic has id {id}"),
                )),
            ),
        };
    }
    if let Err(reason) = validate_topic_name(name) {
        return (
            None,
            Some((ResponseError::InvalidTopicException, reason.to_string())),
        );
    }
    match store.topic_for_write(name) {
        Ok(topic) => (Some(topic), None),
        Err(e) => (
            None,
            Some((ResponseError::UnknownTopicOrPartition, e.to_string())),
        ),
    }
}

fn produce_partition(
    topic: &Arc<TopicLog>,
    index: i32,
    records: Option<Bytes>,
    version: i16,
    ctx: &Ctx<'_>,
) -> Outcome {
    let partitions = topic.partition_count();
    let partition = u32::try_from(index)
        .ok()
        .filter(|&p| p < partitions)
        .ok_or_else(|| {
            (
                ResponseError::UnknownTopicOrPartition,
                format!(
                    "topic {:?} has {partitions} partitions; there is no partition {index}",
                    topic.name()
                ),
            )
        })?;
    let leader = ctx.state.cluster.leader(topic.name(), partition);
    if leader != ctx.node_id {
        return Err((
            ResponseError::NotLeaderOrFollower,
            format!(
                "broker {} does not lead partition {index}; broker {leader} does",
                ctx.node_id
            ),
        ));
    }
    let records = records.ok_or((
        ResponseError::CorruptMessage,
        "the record set is null".to_string(),
    ))?;
    let size = records.len();
    let limit = match topic.config().max_message_bytes() {
        Some(bytes) => (bytes as usize, "the topic's max.message.bytes"),
        None => (
            ctx.state.config.max_message_bytes as usize,
            "max_message_bytes",
        ),
    };
    if size > limit.0 {
        return Err((
            ResponseError::MessageTooLarge,
            format!(
                "record batch of {size} bytes exceeds {} = {}",
                limit.1, limit.0
            ),
        ));
    }
    let max_decompressed = ctx.state.config.max_decompressed_bytes as usize;
    let limits = ctx.state.config.record_limits();
    let mut batches = validate_batches(records, max_decompressed, limits).map_err(|e| match e {
        BatchError::Corrupt(reason) => (ResponseError::CorruptMessage, reason),
        BatchError::OverLimit { limit, reason } => {
            ctx.state
                .refusals
                .refused(limit, ctx.client.address, &reason);
            (ResponseError::InvalidRecord, reason)
        }
        BatchError::TooLarge(reason) => (ResponseError::MessageTooLarge, reason),
        BatchError::Invalid(reason) => (ResponseError::InvalidRecord, reason),
        e @ BatchError::OldFormat(_) => (ResponseError::UnsupportedForMessageFormat, e.to_string()),
    })?;
    if batches.len() != 1 {
        return Err((
            ResponseError::InvalidRecord,
            format!(
                "a produce request must carry exactly one batch per partition, not {}",
                batches.len()
            ),
        ));
    }
    let batch = batches.pop().expect("one batch");
    if batch.header.is_control() {
        return Err((
            ResponseError::InvalidRecord,
            "control batches are written by the transaction coordinator, not by producers".into(),
        ));
    }
    let bytes = batch.summary.payload_bytes;
    let count = batch.header.record_count as u64;
    let outcome = if batch.header.is_transactional() {
        append_transactional(topic, partition, batch, version, ctx)
    } else if batch.header.producer_id >= 0 {
        append_idempotent(topic, partition, batch, ctx)
    } else {
        append(topic, partition, batch, ctx)
    };
    if outcome.is_ok() {
        ctx.state.stats.recorded(topic.name(), count, bytes);
    }
    outcome
}

/// Appends the batch as it arrived: its records were validated, and are
/// decoded again only when somebody reads them.
fn append(topic: &TopicLog, partition: u32, batch: ValidBatch, ctx: &Ctx<'_>) -> Outcome {
    topic
        .append_kafka_batch(
            partition,
            batch.raw,
            &batch.summary,
            ctx.state.cluster.leadership(topic.name(), partition).epoch,
            ctx.receive_time,
            ctx.client,
        )
        .map_err(|e| match e {
            StoreError::Sink(reason) => (ResponseError::KafkaStorageError, reason),
            e @ StoreError::MemoryFull { .. } => (ResponseError::KafkaStorageError, e.to_string()),
            other => (ResponseError::UnknownServerError, other.to_string()),
        })
}

/// A transactional batch: its partition must be in its producer's open transaction
/// (Produce v12+, KIP-890 part 2, adds it instead), then it is appended as an idempotent
/// one. The coordinator's lock is held from the check to the append, so the
/// transaction cannot end in between and leave the batch after its marker.
fn append_transactional(
    topic: &TopicLog,
    partition: u32,
    batch: ValidBatch,
    version: i16,
    ctx: &Ctx<'_>,
) -> Outcome {
    let header = batch.header;
    let producer = ProducerIdAndEpoch {
        producer_id: header.producer_id,
        epoch: header.producer_epoch,
    };
    let tp = TopicPartition::new(topic.name(), partition as i32);
    ctx.state.txns.call(|coordinator, now| {
        coordinator
            .check_produce(now, producer, &tp, version >= 12)
            .map_err(|error| {
                let error = for_client(error, TxnApi::Produce, version);
                (
                    error,
                    format!(
                        "{} for a transactional batch of producer id {}, epoch {} to {tp}",
                        error_name(error.code()),
                        header.producer_id,
                        header.producer_epoch
                    ),
                )
            })?;
        append_idempotent(topic, partition, batch, ctx)
    })
}

fn append_idempotent(
    topic: &TopicLog,
    partition: u32,
    batch: ValidBatch,
    ctx: &Ctx<'_>,
) -> Outcome {
    let header = batch.header;
    let max_timestamp = batch.summary.max_timestamp.0;
    let key = (topic.id(), partition);
    // Held across check and append, so two connections of one producer cannot interleave.
    let mut producers = ctx.state.producers.lock().expect("producers lock");
    match producers.check(
        header.producer_id,
        header.producer_epoch,
        key,
        header.base_sequence,
        header.record_count,
    ) {
        Verdict::Append => {
            let base = append(topic, partition, batch, ctx)?;
            producers.appended(
                header.producer_id,
                header.producer_epoch,
                key,
                header.base_sequence,
                header.record_count,
                base,
            );
            producers.stamp(header.producer_id, key, max_timestamp);
            Ok(base)
        }
        Verdict::Duplicate { base_offset } => {
            tracing::debug!(
                topic = topic.name(),
                partition,
                base_offset,
                sequence = header.base_sequence,
                "duplicate batch acknowledged, not recorded again"
            );
            Ok(base_offset)
        }
        Verdict::Refuse(error, reason) => Err((
            error,
            format!(
                "{reason} (producer id {}, epoch {}, base sequence {})",
                header.producer_id, header.producer_epoch, header.base_sequence
            ),
        )),
    }
}

fn partition_response(index: i32, outcome: Answer, version: i16) -> PartitionProduceResponse {
    let mut response = PartitionProduceResponse::default().with_index(index);
    match outcome {
        Ok((base_offset, log_start_offset)) => {
            response = response.with_base_offset(base_offset);
            if version >= 5 {
                response = response.with_log_start_offset(log_start_offset);
            }
        }
        Err((error, reason)) => {
            response = response.with_error_code(error.code()).with_base_offset(-1);
            if version >= 8 {
                if matches!(
                    error,
                    ResponseError::CorruptMessage | ResponseError::InvalidRecord
                ) {
                    response = response.with_record_errors(vec![
                        BatchIndexAndErrorMessage::default()
                            .with_batch_index(0)
                            .with_batch_index_error_message(Some(StrBytes::from_string(
                                reason.clone(),
                            ))),
                    ]);
                }
                response = response.with_error_message(Some(StrBytes::from_string(reason)));
            }
        }
    }
    response
}

//! AddPartitionsToTxn: partitions join a producer's transaction (v0–v3: one
//! transaction; v4+: several, each may be `verify_only`, KIP-890).
//!
//! As Kafka: a partition that does not exist answers UNKNOWN_TOPIC_OR_PARTITION and the
//! others of its transaction OPERATION_NOT_ATTEMPTED, nothing added; otherwise every
//! partition answers the coordinator's outcome (mapped for the version, `for_client`).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnTopic,
};
use kafka_protocol::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnResponse, AddPartitionsToTxnResult,
    AddPartitionsToTxnTopicResult,
};

use super::context::Ctx;
use super::group_coordinator::coordinates_transaction;
use super::offset_commit::partition_exists;
use crate::txn::{ProducerIdAndEpoch, TopicPartition, TxnApi, for_client};

/// Serves an AddPartitionsToTxn.
pub(crate) fn handle(
    request: AddPartitionsToTxnRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> AddPartitionsToTxnResponse {
    if version <= 3 {
        let producer = ProducerIdAndEpoch {
            producer_id: request.v3_and_below_producer_id.0,
            epoch: request.v3_and_below_producer_epoch,
        };
        let results = one_transaction(
            &request.v3_and_below_transactional_id.0,
            producer,
            false,
            &request.v3_and_below_topics,
            version,
            ctx,
        );
        return AddPartitionsToTxnResponse::default().with_results_by_topic_v3_and_below(results);
    }
    let results = request
        .transactions
        .iter()
        .map(|txn| {
            let producer = ProducerIdAndEpoch {
                producer_id: txn.producer_id.0,
                epoch: txn.producer_epoch,
            };
            AddPartitionsToTxnResult::default()
                .with_transactional_id(txn.transactional_id.clone())
                .with_topic_results(one_transaction(
                    &txn.transactional_id.0,
                    producer,
                    txn.verify_only,
                    &txn.topics,
                    version,
                    ctx,
                ))
        })
        .collect();
    AddPartitionsToTxnResponse::default().with_results_by_transaction(results)
}

/// The answer for one transaction's partitions.
fn one_transaction(
    transactional_id: &str,
    producer: ProducerIdAndEpoch,
    verify_only: bool,
    topics: &[AddPartitionsToTxnTopic],
    version: i16,
    ctx: &Ctx<'_>,
) -> Vec<AddPartitionsToTxnTopicResult> {
    if !coordinates_transaction(ctx, transactional_id) {
        return answer(topics, |_, _| ResponseError::NotCoordinator.code());
    }
    let exists = |topic: &str, partition: i32| partition_exists(&ctx.state.store, topic, partition);
    if topics
        .iter()
        .any(|t| t.partitions.iter().any(|&p| !exists(&t.name.0, p)))
    {
        return answer(topics, |topic, partition| {
            if exists(topic, partition) {
                ResponseError::OperationNotAttempted.code()
            } else {
                ResponseError::UnknownTopicOrPartition.code()
            }
        });
    }
    let partitions = topics.iter().flat_map(|t| {
        t.partitions
            .iter()
            .map(|&p| TopicPartition::new(t.name.0.as_str(), p))
    });
    let code = |error: ResponseError| for_client(error, TxnApi::AddPartitionsToTxn, version).code();
    if verify_only {
        let verdicts = ctx.state.txns.read(|coordinator| {
            coordinator.verify_partitions(transactional_id, producer, partitions)
        });
        return match verdicts {
            Ok(verdicts) => answer(topics, |topic, partition| {
                verdicts
                    .iter()
                    .find(|(tp, _)| tp.topic == topic && tp.partition == partition)
                    .and_then(|(_, verdict)| verdict.err())
                    .map_or(0, code)
            }),
            Err(error) => answer(topics, |_, _| code(error)),
        };
    }
    let added = ctx.state.txns.call(|coordinator, now| {
        coordinator.add_partitions(now, transactional_id, producer, partitions)
    });
    match added {
        Ok(()) => answer(topics, |_, _| 0),
        Err(error) => {
            tracing::debug!(peer = %ctx.client.address, transactional_id, ?error, "AddPartitionsToTxn refused");
            answer(topics, |_, _| code(error))
        }
    }
}

/// One result per partition of `topics`, in their order, with `code(topic, partition)`.
fn answer(
    topics: &[AddPartitionsToTxnTopic],
    code: impl Fn(&str, i32) -> i16,
) -> Vec<AddPartitionsToTxnTopicResult> {
    topics
        .iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|&p| {
                    AddPartitionsToTxnPartitionResult::default()
                        .with_partition_index(p)
                        .with_partition_error_code(code(&t.name.0, p))
                })
                .collect();
            AddPartitionsToTxnTopicResult::default()
                .with_name(t.name.clone())
                .with_results_by_partition(partitions)
        })
        .collect()
}

/// The answer refusing every partition with `error` (a fault rule puts its own code in).
pub(crate) fn refused(
    request: &AddPartitionsToTxnRequest,
    version: i16,
    error: ResponseError,
) -> AddPartitionsToTxnResponse {
    let code = error.code();
    if version <= 3 {
        return AddPartitionsToTxnResponse::default()
            .with_results_by_topic_v3_and_below(answer(&request.v3_and_below_topics, |_, _| code));
    }
    let results = request
        .transactions
        .iter()
        .map(|txn| {
            AddPartitionsToTxnResult::default()
                .with_transactional_id(txn.transactional_id.clone())
                .with_topic_results(answer(&txn.topics, |_, _| code))
        })
        .collect();
    AddPartitionsToTxnResponse::default()
        .with_error_code(code)
        .with_results_by_transaction(results)
}

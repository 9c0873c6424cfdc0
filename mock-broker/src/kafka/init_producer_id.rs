//! InitProducerId: producer ids and epochs for idempotent and transactional producers.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::init_producer_id_request::InitProducerIdRequest;
use kafka_protocol::messages::init_producer_id_response::InitProducerIdResponse;

use super::context::Ctx;
use super::group_coordinator::coordinates_transaction;
use crate::record_line::EventLine;
use crate::store::Protocol;
use crate::txn::{InitOutcome, ProducerIdAndEpoch, TxnApi, for_client};
use crate::txn_service::complete;
use protocol::kafka_error::error_name;

/// The answer to an InitProducerId that is not served (ILLEGAL_SASL_STATE during SASL
/// authentication): no producer id (-1, epoch -1), none handed out; the caller writes the error.
pub(crate) fn unserved() -> InitProducerIdResponse {
    InitProducerIdResponse::default()
        .with_producer_id(kafka_protocol::messages::ProducerId(-1))
        .with_producer_epoch(-1)
}

/// Hands out a new producer id, or bumps the epoch of the one the request names (KIP-360).
///
/// With a transactional id the transaction coordinator answers: a new id gets a producer
/// id at epoch 0, a known one its epoch bumped (fencing the producer that held it); an
/// open transaction is aborted first and the request answered CONCURRENT_TRANSACTIONS,
/// as Kafka does, so that the client retries.
pub(crate) fn handle(
    request: InitProducerIdRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> InitProducerIdResponse {
    let result = match request.transactional_id.as_ref().map(|id| id.0.as_str()) {
        Some(transactional_id) => transactional(&request, transactional_id, version, ctx)
            .map_err(|e| for_client(e, TxnApi::InitProducerId, version)),
        None => {
            let mut producers = ctx.state.producers.lock().expect("producers lock");
            let result = if request.producer_id.0 >= 0 {
                // PRODUCER_FENCED exists from v4 on; older clients understand INVALID_PRODUCER_EPOCH.
                let fenced = if version >= 4 {
                    ResponseError::ProducerFenced
                } else {
                    ResponseError::InvalidProducerEpoch
                };
                producers.bump(request.producer_id.0, request.producer_epoch, fenced)
            } else {
                Ok(producers.init())
            };
            drop(producers);
            if let Ok((producer_id, producer_epoch)) = result {
                ctx.state.note(&EventLine::Producer {
                    producer_id,
                    producer_epoch,
                });
            }
            result
        }
    };
    match result {
        Ok((id, epoch)) => {
            tracing::debug!(peer = %ctx.client.address, producer_id = id, epoch, "producer id handed out");
            InitProducerIdResponse::default()
                .with_producer_id(id.into())
                .with_producer_epoch(epoch)
        }
        Err(error) => {
            ctx.state
                .stats
                .error(Protocol::Kafka, &error_name(error.code()));
            InitProducerIdResponse::default()
                .with_error_code(error.code())
                .with_producer_id((-1).into())
                .with_producer_epoch(-1)
        }
    }
}

/// InitProducerId for `transactional_id`, through the transaction coordinator.
fn transactional(
    request: &InitProducerIdRequest,
    transactional_id: &str,
    version: i16,
    ctx: &Ctx<'_>,
) -> Result<(i64, i16), ResponseError> {
    if !coordinates_transaction(ctx, transactional_id) {
        return Err(ResponseError::NotCoordinator);
    }
    // KIP-360 (v3+): a producer recovering from an error names its id and epoch.
    let expected = (version >= 3 && request.producer_id.0 >= 0).then_some(ProducerIdAndEpoch {
        producer_id: request.producer_id.0,
        epoch: request.producer_epoch,
    });
    let effects = ctx.state.txn_effects();
    ctx.state.txns.call(|coordinator, now| {
        let mut allocate = || effects.allocate_producer_id();
        match coordinator.init_producer_id(
            now,
            transactional_id,
            request.transaction_timeout_ms,
            expected,
            &mut allocate,
        )? {
            InitOutcome::Ready(producer) => {
                effects.register_producer(producer.producer_id, producer.epoch);
                Ok((producer.producer_id, producer.epoch))
            }
            InitOutcome::Aborting(completion) => {
                tracing::info!(peer = %ctx.client.address, transactional_id, "a new producer fences the old one: its open transaction is aborted");
                complete(coordinator, completion, &effects, now);
                Err(ResponseError::ConcurrentTransactions)
            }
        }
    })
}

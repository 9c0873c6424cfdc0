//! EndTxn: commit or abort a producer's transaction. The markers are written to
//! every partition of the transaction and its offsets committed before the answer,
//! so that a client told NONE finds them in place. v5+ (KIP-890) bumps the
//! producer epoch on every end and answers the new id and epoch.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::end_txn_request::EndTxnRequest;
use kafka_protocol::messages::end_txn_response::EndTxnResponse;

use super::context::Ctx;
use super::group_coordinator::coordinates_transaction;
use crate::txn::{EndTxnOutcome, ProducerIdAndEpoch, TxnApi, TxnVersion, for_client};
use crate::txn_service::complete;

/// Serves an EndTxn.
pub(crate) fn handle(request: EndTxnRequest, version: i16, ctx: &Ctx<'_>) -> EndTxnResponse {
    let transactional_id = request.transactional_id.0.as_str();
    if !coordinates_transaction(ctx, transactional_id) {
        return refused(ResponseError::NotCoordinator);
    }
    let producer = ProducerIdAndEpoch {
        producer_id: request.producer_id.0,
        epoch: request.producer_epoch,
    };
    let effects = ctx.state.txn_effects();
    let result = ctx.state.txns.call(|coordinator, now| {
        let mut allocate = || effects.allocate_producer_id();
        match coordinator.end_txn(
            now,
            transactional_id,
            producer,
            request.committed,
            TxnVersion::of_end_txn(version),
            &mut allocate,
        )? {
            EndTxnOutcome::Ending(completion) => {
                let producer = completion.producer;
                complete(coordinator, completion, &effects, now);
                Ok(producer)
            }
            EndTxnOutcome::AlreadyEnded(producer) => Ok(producer),
        }
    });
    match result {
        Ok(producer) => {
            tracing::debug!(peer = %ctx.client.address, transactional_id, commit = request.committed, "transaction ended");
            let response = EndTxnResponse::default();
            if version >= 5 {
                response
                    .with_producer_id(producer.producer_id.into())
                    .with_producer_epoch(producer.epoch)
            } else {
                response
            }
        }
        Err(error) => {
            tracing::debug!(peer = %ctx.client.address, transactional_id, ?error, "EndTxn refused");
            refused(for_client(error, TxnApi::EndTxn, version))
        }
    }
}

/// The answer refusing the request with `error`.
pub(crate) fn refused(error: ResponseError) -> EndTxnResponse {
    EndTxnResponse::default()
        .with_error_code(error.code())
        .with_producer_id((-1).into())
        .with_producer_epoch(-1)
}

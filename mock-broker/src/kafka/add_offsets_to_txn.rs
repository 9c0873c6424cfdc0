//! AddOffsetsToTxn: a consumer group joins a producer's transaction, so that
//! TxnOffsetCommit may commit the group's offsets in it (consume-transform-produce).

use kafka_protocol::ResponseError;
use kafka_protocol::messages::add_offsets_to_txn_request::AddOffsetsToTxnRequest;
use kafka_protocol::messages::add_offsets_to_txn_response::AddOffsetsToTxnResponse;

use super::context::Ctx;
use super::group_coordinator::coordinates_transaction;
use crate::txn::{ProducerIdAndEpoch, TxnApi, for_client};

/// Serves an AddOffsetsToTxn.
pub(crate) fn handle(
    request: AddOffsetsToTxnRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> AddOffsetsToTxnResponse {
    let transactional_id = request.transactional_id.0.as_str();
    let result = if coordinates_transaction(ctx, transactional_id) {
        let producer = ProducerIdAndEpoch {
            producer_id: request.producer_id.0,
            epoch: request.producer_epoch,
        };
        ctx.state.txns.call(|coordinator, now| {
            coordinator.add_offsets(now, transactional_id, producer, &request.group_id.0)
        })
    } else {
        Err(ResponseError::NotCoordinator)
    };
    match result {
        Ok(()) => AddOffsetsToTxnResponse::default(),
        Err(error) => {
            tracing::debug!(peer = %ctx.client.address, transactional_id, ?error, "AddOffsetsToTxn refused");
            refused(for_client(error, TxnApi::AddOffsetsToTxn, version))
        }
    }
}

/// The answer refusing the request with `error`.
pub(crate) fn refused(error: ResponseError) -> AddOffsetsToTxnResponse {
    AddOffsetsToTxnResponse::default().with_error_code(error.code())
}

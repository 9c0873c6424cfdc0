//! InitProducerId: producer ids and epochs for idempotent producers.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::init_producer_id_request::InitProducerIdRequest;
use kafka_protocol::messages::init_producer_id_response::InitProducerIdResponse;

use super::context::Ctx;
use crate::store::Protocol;
use protocol::kafka_error::error_name;

/// Hands out a new producer id, or bumps the epoch of the one the request names (KIP-360).
///
/// Transactions are not served: a request with a transactional id is refused.
pub(crate) fn handle(
    request: InitProducerIdRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> InitProducerIdResponse {
    let result = if request.transactional_id.is_some() {
        Err(ResponseError::TransactionalIdAuthorizationFailed)
    } else {
        let mut producers = ctx.state.producers.lock().expect("producers lock");
        if request.producer_id.0 >= 0 {
            // PRODUCER_FENCED exists from v4 on; older clients understand INVALID_PRODUCER_EPOCH.
            let fenced = if version >= 4 {
                ResponseError::ProducerFenced
            } else {
                ResponseError::InvalidProducerEpoch
            };
            producers.bump(request.producer_id.0, request.producer_epoch, fenced)
        } else {
            Ok(producers.init())
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

//! ListTransactions: the transactional ids, filtered by state, producer id and (v1+,
//! KIP-994) how long their transaction has run.

use kafka_protocol::messages::TransactionalId;
use kafka_protocol::messages::list_transactions_request::ListTransactionsRequest;
use kafka_protocol::messages::list_transactions_response::{
    ListTransactionsResponse, TransactionState,
};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use crate::txn::ListFilter;

/// Serves a ListTransactions: every id this broker coordinates that matches the filters.
pub(crate) fn handle(
    request: ListTransactionsRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> ListTransactionsResponse {
    let filter = ListFilter {
        states: request
            .state_filters
            .iter()
            .map(ToString::to_string)
            .collect(),
        producer_ids: request.producer_id_filters.iter().map(|p| p.0).collect(),
        duration_filter_ms: if version >= 1 {
            request.duration_filter
        } else {
            -1
        },
    };
    let listing = ctx
        .state
        .txns
        .read(|coordinator| coordinator.list(ctx.receive_time, &filter));
    let states = listing
        .transactions
        .into_iter()
        .filter(|t| super::group_coordinator::coordinates_transaction(ctx, &t.transactional_id))
        .map(|t| {
            TransactionState::default()
                .with_transactional_id(TransactionalId(StrBytes::from_string(t.transactional_id)))
                .with_producer_id(t.producer_id.into())
                .with_transaction_state(StrBytes::from_static_str(t.state.name()))
        })
        .collect();
    ListTransactionsResponse::default()
        .with_unknown_state_filters(
            listing
                .unknown_state_filters
                .into_iter()
                .map(StrBytes::from_string)
                .collect(),
        )
        .with_transaction_states(states)
}

//! DescribeTransactions: each transactional id's state, producer, timeout and partitions.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_transactions_request::DescribeTransactionsRequest;
use kafka_protocol::messages::describe_transactions_response::{
    DescribeTransactionsResponse, TopicData, TransactionState,
};
use kafka_protocol::messages::{TopicName, TransactionalId};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use super::group_coordinator::coordinates_transaction;

/// Serves a DescribeTransactions; ids this broker does not coordinate answer NOT_COORDINATOR.
pub(crate) fn handle(
    request: DescribeTransactionsRequest,
    _version: i16,
    ctx: &Ctx<'_>,
) -> DescribeTransactionsResponse {
    let states = request
        .transactional_ids
        .iter()
        .map(|id| {
            let state = TransactionState::default().with_transactional_id(id.clone());
            if !coordinates_transaction(ctx, &id.0) {
                return not_described(state, ResponseError::NotCoordinator);
            }
            match ctx
                .state
                .txns
                .read(|coordinator| coordinator.describe(&id.0))
            {
                Ok(d) => {
                    let topics = d
                        .topics()
                        .into_iter()
                        .map(|(topic, partitions)| {
                            TopicData::default()
                                .with_topic(TopicName(StrBytes::from_string(topic)))
                                .with_partitions(partitions)
                        })
                        .collect();
                    state
                        .with_transaction_state(StrBytes::from_static_str(d.state.name()))
                        .with_transaction_timeout_ms(d.timeout_ms)
                        .with_transaction_start_time_ms(d.start_ms)
                        .with_producer_id(d.producer_id.into())
                        .with_producer_epoch(d.producer_epoch)
                        .with_topics(topics)
                }
                Err(error) => not_described(state, error),
            }
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}

fn not_described(state: TransactionState, error: ResponseError) -> TransactionState {
    state
        .with_error_code(error.code())
        .with_producer_id((-1).into())
        .with_producer_epoch(-1)
        .with_transaction_start_time_ms(-1)
}

/// The answer refusing every id with `error` (a fault rule puts its own code in).
pub(crate) fn refused(
    request: &DescribeTransactionsRequest,
    error: ResponseError,
) -> DescribeTransactionsResponse {
    let states = request
        .transactional_ids
        .iter()
        .map(|id: &TransactionalId| {
            not_described(
                TransactionState::default().with_transactional_id(id.clone()),
                error,
            )
        })
        .collect();
    DescribeTransactionsResponse::default().with_transaction_states(states)
}

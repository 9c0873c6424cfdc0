//! `GET /transactions`: every transactional id the coordinator knows, as
//! DescribeTransactions shows it (state, producer, timeout, partitions, groups).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::state::BrokerState;
use crate::txn::TxnDescription;

/// One transactional id as JSON.
#[derive(Debug, Serialize)]
pub(super) struct TransactionJson {
    transactional_id: String,
    /// Kafka's name of the state: `Empty`, `Ongoing`, `CompleteCommit`, …
    state: &'static str,
    producer_id: i64,
    producer_epoch: i16,
    timeout_ms: i32,
    /// When the current (or last) transaction started, ms since the epoch, or -1.
    start_ms: i64,
    /// `topic-partition` of every partition in the open transaction.
    partitions: Vec<String>,
    /// Consumer groups added to the open transaction.
    groups: Vec<String>,
}

impl From<TxnDescription> for TransactionJson {
    fn from(d: TxnDescription) -> TransactionJson {
        TransactionJson {
            state: d.state.name(),
            partitions: d.partitions.iter().map(ToString::to_string).collect(),
            transactional_id: d.transactional_id,
            producer_id: d.producer_id,
            producer_epoch: d.producer_epoch,
            timeout_ms: d.timeout_ms,
            start_ms: d.start_ms,
            groups: d.groups,
        }
    }
}

/// `GET /transactions`: every transactional id, ordered by id.
pub(super) async fn list(State(state): State<Arc<BrokerState>>) -> Json<Vec<TransactionJson>> {
    let all = state.txns.read(|coordinator| coordinator.snapshot());
    Json(all.into_iter().map(TransactionJson::from).collect())
}

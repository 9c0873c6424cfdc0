//! `GET /stats`: the broker's counters, the record total and the brokers.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use serde::Serialize;

use crate::state::BrokerState;
use crate::stats::StatsSnapshot;
use crate::store::MemoryStats;

/// The `/stats` body: the counters' fields, then the totals only the broker knows.
#[derive(Debug, Serialize)]
pub(super) struct StatsJson {
    #[serde(flatten)]
    counters: StatsSnapshot,
    records_total: u64,
    memory: MemoryStats,
    brokers: Vec<BrokerJson>,
}

/// One broker of the process.
#[derive(Debug, Serialize)]
struct BrokerJson {
    node_id: i32,
    advertised: String,
    listen: SocketAddr,
}

/// `GET /stats`.
pub(super) async fn get(State(state): State<Arc<BrokerState>>) -> Json<StatsJson> {
    Json(StatsJson {
        counters: state.stats.snapshot(),
        records_total: state.store.record_count(),
        memory: state.store.memory(),
        brokers: state
            .cluster
            .nodes()
            .iter()
            .map(|node| BrokerJson {
                node_id: node.node_id,
                advertised: node.advertised(),
                listen: node.listen,
            })
            .collect(),
    })
}

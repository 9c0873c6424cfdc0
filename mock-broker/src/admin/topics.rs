//! The topic endpoints: list topics, delete one, reset them all.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;

use super::error::ApiError;
use crate::state::BrokerState;

/// One topic as `GET /topics` lists it.
#[derive(Debug, Serialize)]
pub(super) struct TopicJson {
    name: String,
    id: String,
    partitions: Vec<PartitionJson>,
    /// The topic's config overrides (CreateTopics, AlterConfigs), by name.
    configs: BTreeMap<String, String>,
}

/// One partition: who leads it and how far it has been written.
#[derive(Debug, Serialize)]
struct PartitionJson {
    partition: u32,
    leader: i32,
    high_watermark: i64,
    log_start_offset: i64,
}

/// `GET /topics`: every topic, sorted by name.
pub(super) async fn list(State(state): State<Arc<BrokerState>>) -> Json<Vec<TopicJson>> {
    let topics = state
        .store
        .topics()
        .into_iter()
        .map(|topic| TopicJson {
            configs: state
                .store
                .topic(&topic.name)
                .map(|log| log.config().overrides().clone())
                .unwrap_or_default(),
            id: topic.id.to_string(),
            partitions: topic
                .partitions
                .iter()
                .map(|p| PartitionJson {
                    partition: p.partition,
                    leader: state.cluster.leader(&topic.name, p.partition),
                    high_watermark: p.high_watermark,
                    log_start_offset: p.log_start_offset,
                })
                .collect(),
            name: topic.name,
        })
        .collect();
    Json(topics)
}

/// `DELETE /topics/{topic}`: drops the topic and its recordings.
pub(super) async fn delete(
    State(state): State<Arc<BrokerState>>,
    topic: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let Path(topic) = topic?;
    if state.store.delete_topic(&topic) {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found(format!("unknown topic {topic:?}")))
    }
}

/// `POST /reset`: drops every topic and recording.
pub(super) async fn reset(State(state): State<Arc<BrokerState>>) -> StatusCode {
    state.store.reset();
    StatusCode::NO_CONTENT
}

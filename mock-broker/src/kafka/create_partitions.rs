//! CreatePartitions: grows topics to the partition counts asked for (or,
//! with `validate_only`, answers as if); a topic only grows.

use std::collections::HashSet;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_partitions_request::{
    CreatePartitionsRequest, CreatePartitionsTopic,
};
use kafka_protocol::messages::create_partitions_response::{
    CreatePartitionsResponse, CreatePartitionsTopicResult,
};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use crate::store::StoreError;

/// Why a topic does not grow.
type Refusal = (ResponseError, String);

/// Whether the request grows `topic` (`None` = any), for fault rules.
pub(crate) fn touches(request: &CreatePartitionsRequest, topic: Option<&str>) -> bool {
    topic.is_none_or(|wanted| request.topics.iter().any(|t| t.name.as_str() == wanted))
}

/// Adds the partitions (unless `validate_only`) and says how each topic went.
pub(crate) fn handle(
    request: CreatePartitionsRequest,
    _version: i16,
    ctx: &Ctx<'_>,
) -> CreatePartitionsResponse {
    let mut seen = HashSet::new();
    let duplicated: HashSet<&str> = request
        .topics
        .iter()
        .map(|t| t.name.as_str())
        .filter(|name| !seen.insert(*name))
        .collect();
    let mut reported = HashSet::new();
    let mut results = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let name = topic.name.as_str();
        let outcome = if duplicated.contains(name) {
            if !reported.insert(name) {
                continue;
            }
            Err((
                ResponseError::InvalidRequest,
                "Duplicate topic name.".into(),
            ))
        } else {
            grow(topic, request.validate_only, ctx)
        };
        results.push(result(topic, outcome));
    }
    CreatePartitionsResponse::default().with_results(results)
}

/// The answer for one topic.
pub(crate) fn result(
    topic: &CreatePartitionsTopic,
    outcome: Result<(), Refusal>,
) -> CreatePartitionsTopicResult {
    let result = CreatePartitionsTopicResult::default().with_name(topic.name.clone());
    match outcome {
        Ok(()) => result,
        Err((error, message)) => {
            tracing::debug!(topic = %topic.name.as_str(), error = ?error, %message, "CreatePartitions refused");
            result
                .with_error_code(error.code())
                .with_error_message(Some(StrBytes::from_string(message)))
        }
    }
}

fn grow(topic: &CreatePartitionsTopic, validate_only: bool, ctx: &Ctx<'_>) -> Result<(), Refusal> {
    let name = topic.name.as_str();
    let Some(log) = ctx.state.store.topic(name) else {
        return Err((
            ResponseError::UnknownTopicOrPartition,
            format!("The topic '{name}' does not exist."),
        ));
    };
    let current = log.partition_count() as i32;
    if topic.count < current {
        return Err((
            ResponseError::InvalidPartitions,
            format!(
                "The topic {name} currently has {current} partition(s); {} would not be an increase.",
                topic.count
            ),
        ));
    }
    if topic.count == current {
        return Err((
            ResponseError::InvalidPartitions,
            format!("Topic already has {current} partition(s)."),
        ));
    }
    if let Some(assignments) = &topic.assignments {
        let added = topic.count - current;
        if assignments.len() as i32 != added {
            return Err((
                ResponseError::InvalidReplicaAssignment,
                format!(
                    "Attempted to add {added} additional partition(s), but only {} assignment(s) were specified.",
                    assignments.len()
                ),
            ));
        }
        let brokers: HashSet<i32> = ctx
            .state
            .cluster
            .nodes()
            .iter()
            .map(|n| n.node_id)
            .collect();
        for assignment in assignments {
            if assignment.broker_ids.is_empty() {
                return Err((
                    ResponseError::InvalidReplicaAssignment,
                    "The manual partition assignment includes an empty replica list.".into(),
                ));
            }
            if let Some(unknown) = assignment
                .broker_ids
                .iter()
                .find(|b| !brokers.contains(&b.0))
            {
                return Err((
                    ResponseError::InvalidReplicaAssignment,
                    format!(
                        "The manual partition assignment includes broker {}, but no such broker is registered.",
                        unknown.0
                    ),
                ));
            }
        }
    }
    let max = ctx.state.config.max_partitions_per_topic;
    if topic.count as u32 > max {
        return Err((
            ResponseError::InvalidPartitions,
            format!(
                "{} partitions is more than the broker allows per topic ({max}, --max-partitions-per-topic).",
                topic.count
            ),
        ));
    }
    if validate_only {
        return Ok(());
    }
    log.add_partitions(topic.count as u32)
        .map(|_| ())
        .map_err(|e| match e {
            // Another request grew it meanwhile.
            e @ (StoreError::PartitionCount { .. } | StoreError::TooManyPartitions { .. }) => {
                (ResponseError::InvalidPartitions, e.to_string())
            }
            other => (ResponseError::UnknownServerError, other.to_string()),
        })
}

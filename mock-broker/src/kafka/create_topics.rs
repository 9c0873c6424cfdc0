//! CreateTopics: creates each topic as asked (or, with `validate_only`,
//! answers as if), with Kafka's errors for names, partition counts,
//! replication factors, assignments and configs.

use std::collections::{HashMap, HashSet};

use kafka_protocol::ResponseError;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
use kafka_protocol::messages::create_topics_response::{
    CreatableTopicConfigs, CreatableTopicResult, CreateTopicsResponse,
};
use kafka_protocol::protocol::StrBytes;
use protocol::topic_name::validate_topic_name;

use super::context::Ctx;
use super::topic_configs::{check_overrides, describe_topic};
use crate::store::{NewTopic, StoreError, TopicConfig};

/// Why a topic is not created.
type Refusal = (ResponseError, String);

/// Whether the request creates `topic` (`None` = any), for fault rules.
pub(crate) fn touches(request: &CreateTopicsRequest, topic: Option<&str>) -> bool {
    topic.is_none_or(|wanted| request.topics.iter().any(|t| t.name.as_str() == wanted))
}

/// Creates the topics (unless `validate_only`) and says how each went.
pub(crate) fn handle(
    request: CreateTopicsRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> CreateTopicsResponse {
    let mut counts: HashMap<&str, usize> = HashMap::new();
    for topic in &request.topics {
        *counts.entry(topic.name.as_str()).or_default() += 1;
    }
    let duplicated: HashSet<String> = counts
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(name, _)| name.to_string())
        .collect();
    let mut reported = HashSet::new();
    let mut topics = Vec::with_capacity(request.topics.len());
    for topic in &request.topics {
        let name = topic.name.as_str();
        if duplicated.contains(name) {
            // Kafka answers a duplicated name once.
            if reported.insert(name.to_string()) {
                topics.push(refused(
                    topic,
                    (
                        ResponseError::InvalidRequest,
                        "Duplicate topic name.".into(),
                    ),
                ));
            }
            continue;
        }
        let result = match create(topic, request.validate_only, version, ctx) {
            Ok(result) => result,
            Err(refusal) => {
                tracing::debug!(topic = name, error = ?refusal.0, reason = %refusal.1, "CreateTopics refused");
                refused(topic, refusal)
            }
        };
        topics.push(result);
    }
    CreateTopicsResponse::default().with_topics(topics)
}

/// The answer for a topic that is not created.
pub(crate) fn refused(topic: &CreatableTopic, (error, message): Refusal) -> CreatableTopicResult {
    CreatableTopicResult::default()
        .with_name(topic.name.clone())
        .with_error_code(error.code())
        .with_error_message(Some(StrBytes::from_string(message)))
}

fn create(
    topic: &CreatableTopic,
    validate_only: bool,
    version: i16,
    ctx: &Ctx<'_>,
) -> Result<CreatableTopicResult, Refusal> {
    let name = topic.name.as_str();
    let store = &ctx.state.store;
    validate_topic_name(name)
        .map_err(|reason| (ResponseError::InvalidTopicException, reason.to_string()))?;
    let exists = || {
        (
            ResponseError::TopicAlreadyExists,
            format!("Topic '{name}' already exists."),
        )
    };
    if store.topic(name).is_some() {
        return Err(exists());
    }
    let (partitions, replication_factor) = layout(topic, store.default_partitions(), ctx)?;
    // Checked here too, so that validate_only answers as the creation would.
    let max = ctx.state.config.max_partitions_per_topic;
    if partitions > max {
        return Err((
            ResponseError::InvalidPartitions,
            format!(
                "{partitions} partitions is more than the broker allows per topic ({max}, --max-partitions-per-topic)."
            ),
        ));
    }
    let overrides = check_overrides(
        topic
            .configs
            .iter()
            .map(|c| (c.name.as_str(), c.value.as_ref().map(|v| v.as_str()))),
    )?;
    let config = TopicConfig::new(overrides.clone())
        .map_err(|reason| (ResponseError::InvalidConfig, reason))?;
    let mut result = CreatableTopicResult::default().with_name(topic.name.clone());
    if !validate_only {
        let spec = NewTopic {
            partitions,
            replication_factor,
            config,
        };
        let created = store.create_topic_with(name, spec).map_err(|e| match e {
            StoreError::TopicExists { .. } => exists(),
            e @ StoreError::TooManyPartitions { .. } => {
                (ResponseError::InvalidPartitions, e.to_string())
            }
            e @ StoreError::TooManyTopics { .. } => (ResponseError::PolicyViolation, e.to_string()),
            other => (ResponseError::UnknownServerError, other.to_string()),
        })?;
        if version >= 7 {
            result = result.with_topic_id(created.id());
        }
    }
    if version >= 5 {
        let configs = describe_topic(&overrides, &ctx.state.config)
            .into_iter()
            .map(|c| {
                CreatableTopicConfigs::default()
                    .with_name(StrBytes::from_static_str(c.def.name))
                    .with_value(Some(StrBytes::from_string(c.value)))
                    .with_config_source(c.source)
            })
            .collect();
        result = result
            .with_num_partitions(partitions as i32)
            .with_replication_factor(replication_factor)
            .with_configs(Some(configs));
    }
    Ok(result)
}

/// The partition count and replication factor asked for: given as numbers
/// (-1 for the broker's default), or by a manual assignment.
fn layout(
    topic: &CreatableTopic,
    default_partitions: u32,
    ctx: &Ctx<'_>,
) -> Result<(u32, i16), Refusal> {
    let brokers: HashSet<i32> = ctx
        .state
        .cluster
        .nodes()
        .iter()
        .map(|n| n.node_id)
        .collect();
    if !topic.assignments.is_empty() {
        if topic.num_partitions != -1 {
            return Err((
                ResponseError::InvalidRequest,
                "A manual partition assignment was specified, but numPartitions was not set to -1."
                    .into(),
            ));
        }
        if topic.replication_factor != -1 {
            return Err((
                ResponseError::InvalidRequest,
                "A manual partition assignment was specified, but replicationFactor was not set to -1."
                    .into(),
            ));
        }
        let invalid = |reason: String| Err((ResponseError::InvalidReplicaAssignment, reason));
        let mut indexes: Vec<i32> = topic
            .assignments
            .iter()
            .map(|a| a.partition_index)
            .collect();
        indexes.sort_unstable();
        if indexes.iter().enumerate().any(|(i, p)| *p != i as i32) {
            return invalid(format!(
                "partitions should be a consecutive 0-based integer sequence, got {indexes:?}"
            ));
        }
        let replicas = topic.assignments[0].broker_ids.len();
        for assignment in &topic.assignments {
            let ids: Vec<i32> = assignment.broker_ids.iter().map(|b| b.0).collect();
            if ids.is_empty() {
                return invalid(
                    "The manual partition assignment includes an empty replica list.".into(),
                );
            }
            if ids.len() != replicas {
                return invalid("All partitions in the manual partition assignment must have the same number of replicas.".into());
            }
            if let Some(unknown) = ids.iter().find(|id| !brokers.contains(id)) {
                return invalid(format!(
                    "The manual partition assignment includes broker {unknown}, but no such broker is registered."
                ));
            }
            let distinct: HashSet<&i32> = ids.iter().collect();
            if distinct.len() != ids.len() {
                return invalid(
                    "The manual partition assignment includes a broker more than once.".into(),
                );
            }
        }
        return Ok((topic.assignments.len() as u32, replicas as i16));
    }
    let partitions = match topic.num_partitions {
        -1 => default_partitions,
        n if n <= 0 => {
            return Err((
                ResponseError::InvalidPartitions,
                "Number of partitions was set to an invalid non-positive value.".into(),
            ));
        }
        n => n as u32,
    };
    let replication_factor = match topic.replication_factor {
        -1 => 1,
        n if n <= 0 => {
            return Err((
                ResponseError::InvalidReplicationFactor,
                "Replication factor must be larger than 0, or -1 to use the default value.".into(),
            ));
        }
        n if n as usize > brokers.len() => {
            return Err((
                ResponseError::InvalidReplicationFactor,
                format!(
                    "Unable to replicate the partition {n} time(s): The target replication factor of {n} cannot be reached because only {} broker(s) are registered.",
                    brokers.len()
                ),
            ));
        }
        n => n,
    };
    Ok((partitions, replication_factor))
}

//! Metadata: the brokers, and each topic's partitions with their leaders.
//!
//! A topic asked for more than once is described once, as Kafka collects the
//! requested topics into a set: otherwise a request naming a topic of many
//! partitions a million times would get an answer a million times its size.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::TopicName;
use kafka_protocol::messages::metadata_request::MetadataRequest;
use kafka_protocol::messages::metadata_response::{
    MetadataResponse, MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
};
use kafka_protocol::protocol::StrBytes;
use protocol::topic_name::validate_topic_name;

use super::context::Ctx;
use crate::store::TopicLog;

/// Whether the request asks about `topic` (`None` = any; a request for every topic asks about all), for fault rules.
pub(crate) fn touches(request: &MetadataRequest, topic: Option<&str>) -> bool {
    match (&request.topics, topic) {
        (None, _) | (_, None) => true,
        (Some(topics), Some(wanted)) => topics
            .iter()
            .any(|t| t.name.as_ref().is_some_and(|n| n.as_str() == wanted)),
    }
}

/// The answer to a Metadata request that is not served (ILLEGAL_SASL_STATE during SASL
/// authentication): each topic it names, by name or id, neither looked up nor created; the
/// caller writes the error into each.
pub(crate) fn unserved(request: &MetadataRequest) -> MetadataResponse {
    let topics = request.topics.iter().flatten().map(|topic| {
        MetadataResponseTopic::default()
            .with_name(topic.name.clone())
            .with_topic_id(topic.topic_id)
    });
    MetadataResponse::default().with_topics(topics.collect())
}

/// Answers a Metadata request at `version`, auto-creating requested topics when allowed and
/// `may_create` (false when an injected error answers the request: a failed request creates
/// nothing).
pub(crate) fn handle(
    request: MetadataRequest,
    version: i16,
    ctx: &Ctx<'_>,
    may_create: bool,
) -> MetadataResponse {
    let store = &ctx.state.store;
    // v0 has no null: an empty list means every topic. v4+ says whether to create.
    let all = match &request.topics {
        None => true,
        Some(topics) => version == 0 && topics.is_empty(),
    };
    let create =
        may_create && store.auto_create() && (version < 4 || request.allow_auto_topic_creation);
    let topics = if all {
        store
            .topic_logs()
            .iter()
            .map(|t| describe(t, version, ctx))
            .collect()
    } else {
        let mut seen = std::collections::HashSet::new();
        request
            .topics
            .unwrap_or_default()
            .into_iter()
            .filter(|wanted| seen.insert((wanted.name.clone(), wanted.topic_id)))
            .map(|wanted| match wanted.name {
                Some(name) => by_name(name, create, version, ctx),
                None => match store.topic_by_id(wanted.topic_id) {
                    Some(topic) => describe(&topic, version, ctx),
                    None => failed(None, ResponseError::UnknownTopicId, version)
                        .with_topic_id(wanted.topic_id),
                },
            })
            .collect()
    };
    let mut response = MetadataResponse::default()
        .with_brokers(
            ctx.state
                .cluster
                .nodes()
                .iter()
                .map(|node| {
                    // The client's own listener: an SSL client is sent to SSL ports.
                    let (host, port) = node.address_for(ctx.endpoint);
                    MetadataResponseBroker::default()
                        .with_node_id(node.node_id.into())
                        .with_host(StrBytes::from_string(host.to_string()))
                        .with_port(i32::from(port))
                })
                .collect(),
        )
        .with_topics(topics);
    if version >= 1 {
        response = response.with_controller_id(ctx.state.cluster.controller_id().into());
    }
    if version >= 2 {
        response = response.with_cluster_id(Some(StrBytes::from_string(
            ctx.state.cluster.cluster_id().to_string(),
        )));
    }
    response
}

fn by_name(name: TopicName, create: bool, version: i16, ctx: &Ctx<'_>) -> MetadataResponseTopic {
    let store = &ctx.state.store;
    if validate_topic_name(&name).is_err() {
        return failed(Some(name), ResponseError::InvalidTopicException, version);
    }
    let topic = match store.topic(&name) {
        Some(topic) => topic,
        None if create => match store.create_topic_checked(&name, store.default_partitions()) {
            Ok(topic) => topic,
            Err(e) => {
                tracing::warn!(topic = %name.as_str(), error = %e, "cannot auto-create a topic");
                return failed(Some(name), ResponseError::UnknownTopicOrPartition, version);
            }
        },
        None => return failed(Some(name), ResponseError::UnknownTopicOrPartition, version),
    };
    describe(&topic, version, ctx)
}

fn failed(name: Option<TopicName>, error: ResponseError, _version: i16) -> MetadataResponseTopic {
    MetadataResponseTopic::default()
        .with_error_code(error.code())
        .with_name(name)
}

fn describe(topic: &TopicLog, version: i16, ctx: &Ctx<'_>) -> MetadataResponseTopic {
    let nodes = ctx.state.cluster.nodes();
    let partitions = (0..topic.partition_count())
        .map(|p| {
            let leadership = ctx.state.cluster.leadership(topic.name(), p);
            let leader = leadership.leader;
            // The leader, then the brokers after it, as many as the replication factor says.
            let first = nodes.iter().position(|n| n.node_id == leader).unwrap_or(0);
            let replicas: Vec<_> = (0..usize::try_from(topic.replication_factor())
                .unwrap_or(1)
                .clamp(1, nodes.len()))
                .map(|i| nodes[(first + i) % nodes.len()].node_id.into())
                .collect();
            let mut partition = MetadataResponsePartition::default()
                .with_partition_index(p as i32)
                .with_leader_id(leader.into())
                .with_replica_nodes(replicas.clone())
                .with_isr_nodes(replicas);
            if version >= 7 {
                partition = partition.with_leader_epoch(leadership.epoch);
            }
            partition
        })
        .collect();
    let mut described = MetadataResponseTopic::default()
        .with_name(Some(StrBytes::from_string(topic.name().to_string()).into()))
        .with_partitions(partitions);
    if version >= 10 {
        described = described.with_topic_id(topic.id());
    }
    described
}

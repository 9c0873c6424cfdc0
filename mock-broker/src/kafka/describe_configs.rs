//! DescribeConfigs: a topic's configs (its overrides, else its broker's
//! values) or the broker's, with Kafka's sources, synonyms and documentation.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::describe_configs_request::{
    DescribeConfigsRequest, DescribeConfigsResource,
};
use kafka_protocol::messages::describe_configs_response::{
    DescribeConfigsResourceResult, DescribeConfigsResponse, DescribeConfigsResult,
    DescribeConfigsSynonym,
};
use kafka_protocol::protocol::StrBytes;
use protocol::topic_name::validate_topic_name;

use super::context::Ctx;
use super::topic_configs::{BROKER, DEFAULT_CONFIG, STATIC_BROKER_CONFIG, TOPIC, describe_topic};
use crate::config_catalog::{ConfigType, broker_configs};

/// Whether the request asks about `topic` (`None` = any), for fault rules.
pub(crate) fn touches(request: &DescribeConfigsRequest, topic: Option<&str>) -> bool {
    topic.is_none_or(|wanted| {
        request
            .resources
            .iter()
            .any(|r| r.resource_type == TOPIC && r.resource_name.as_str() == wanted)
    })
}

/// One config as the response lists it, before filtering.
struct Entry {
    name: &'static str,
    value: String,
    kind: ConfigType,
    source: i8,
    read_only: bool,
    synonyms: Vec<(&'static str, String, i8)>,
    doc: &'static str,
}

/// Describes each resource asked about.
pub(crate) fn handle(
    request: DescribeConfigsRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> DescribeConfigsResponse {
    let results = request
        .resources
        .iter()
        .map(|resource| {
            let result = DescribeConfigsResult::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            match entries(resource, ctx) {
                Ok(entries) => result.with_configs(
                    entries
                        .into_iter()
                        .filter(|e| wanted(resource, e.name))
                        .map(|e| encode(e, &request, version))
                        .collect(),
                ),
                Err((error, message)) => result
                    .with_error_code(error.code())
                    .with_error_message(Some(StrBytes::from_string(message))),
            }
        })
        .collect();
    DescribeConfigsResponse::default().with_results(results)
}

fn wanted(resource: &DescribeConfigsResource, name: &str) -> bool {
    resource
        .configuration_keys
        .as_ref()
        .is_none_or(|keys| keys.iter().any(|k| k.as_str() == name))
}

fn entries(
    resource: &DescribeConfigsResource,
    ctx: &Ctx<'_>,
) -> Result<Vec<Entry>, (ResponseError, String)> {
    let name = resource.resource_name.as_str();
    match resource.resource_type {
        TOPIC => {
            validate_topic_name(name)
                .map_err(|reason| (ResponseError::InvalidTopicException, reason.to_string()))?;
            let topic = ctx.state.store.topic(name).ok_or_else(|| {
                (
                    ResponseError::UnknownTopicOrPartition,
                    format!("The topic '{name}' does not exist."),
                )
            })?;
            Ok(
                describe_topic(topic.config().overrides(), &ctx.state.config)
                    .into_iter()
                    .map(|c| Entry {
                        name: c.def.name,
                        value: c.value,
                        kind: c.def.kind,
                        source: c.source,
                        read_only: false,
                        synonyms: c.synonyms,
                        doc: c.def.doc,
                    })
                    .collect(),
            )
        }
        BROKER => {
            // Kafka answers for itself, or for the cluster-wide defaults ("").
            if !name.is_empty() && name != ctx.node_id.to_string() {
                return Err((
                    ResponseError::InvalidRequest,
                    format!(
                        "Unexpected broker id, expected {} or empty string, but received {name}",
                        ctx.node_id
                    ),
                ));
            }
            Ok(broker_configs(&ctx.state.config, ctx.node_id)
                .into_iter()
                .map(|c| {
                    let source = if c.is_default {
                        DEFAULT_CONFIG
                    } else {
                        STATIC_BROKER_CONFIG
                    };
                    Entry {
                        name: c.name,
                        synonyms: vec![(c.name, c.value.clone(), source)],
                        value: c.value,
                        kind: c.kind,
                        source,
                        read_only: true,
                        doc: c.doc,
                    }
                })
                .collect())
        }
        other => Err((
            ResponseError::InvalidRequest,
            format!(
                "Unsupported resource type {other}: the mock broker describes topics (2) and brokers (4)"
            ),
        )),
    }
}

fn encode(
    entry: Entry,
    request: &DescribeConfigsRequest,
    version: i16,
) -> DescribeConfigsResourceResult {
    let mut result = DescribeConfigsResourceResult::default()
        .with_name(StrBytes::from_static_str(entry.name))
        .with_value(Some(StrBytes::from_string(entry.value)))
        .with_read_only(entry.read_only)
        .with_config_source(entry.source)
        .with_is_sensitive(false)
        .with_documentation(None);
    if request.include_synonyms {
        result = result.with_synonyms(
            entry
                .synonyms
                .into_iter()
                .map(|(name, value, source)| {
                    DescribeConfigsSynonym::default()
                        .with_name(StrBytes::from_static_str(name))
                        .with_value(Some(StrBytes::from_string(value)))
                        .with_source(source)
                })
                .collect(),
        );
    }
    if version >= 3 {
        result = result.with_config_type(entry.kind.code());
        if request.include_documentation {
            result = result.with_documentation(Some(StrBytes::from_static_str(entry.doc)));
        }
    }
    result
}

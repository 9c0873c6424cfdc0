//! A topic's configs as Kafka describes them (value, source, synonyms), and
//! the check of the overrides a request sets; shared by CreateTopics,
//! DescribeConfigs and both AlterConfigs.

use std::collections::BTreeMap;

use kafka_protocol::ResponseError;
use protocol::topic_name::validate_topic_name;

use super::context::Ctx;
use crate::config::BrokerConfig;
use crate::config_catalog::{TOPIC_CONFIGS, TopicConfigDef, topic_config};
use crate::store::TopicConfig;

/// Kafka's `ConfigSource` for a topic's own override.
pub(crate) const DYNAMIC_TOPIC_CONFIG: i8 = 1;
/// Kafka's `ConfigSource` for a value the broker was configured with.
pub(crate) const STATIC_BROKER_CONFIG: i8 = 4;
/// Kafka's `ConfigSource` for Kafka's default.
pub(crate) const DEFAULT_CONFIG: i8 = 5;

/// One config of a topic: its value and where the value comes from, and its
/// synonyms (the override, then the broker's value), most specific first.
#[derive(Debug, Clone)]
pub(crate) struct DescribedConfig {
    /// The config.
    pub(crate) def: &'static TopicConfigDef,
    /// The value in force.
    pub(crate) value: String,
    /// Where it comes from.
    pub(crate) source: i8,
    /// (name, value, source) of each synonym.
    pub(crate) synonyms: Vec<(&'static str, String, i8)>,
}

/// Every config of a topic with `overrides`, on a broker started with `config`.
pub(crate) fn describe_topic(
    overrides: &BTreeMap<String, String>,
    config: &BrokerConfig,
) -> Vec<DescribedConfig> {
    TOPIC_CONFIGS
        .iter()
        .map(|def| {
            let broker_value = def.broker_value(config);
            let broker_source = if broker_value == def.kafka_default {
                DEFAULT_CONFIG
            } else {
                STATIC_BROKER_CONFIG
            };
            let mut synonyms = Vec::with_capacity(2);
            let (value, source) = match overrides.get(def.name) {
                Some(value) => {
                    synonyms.push((def.name, value.clone(), DYNAMIC_TOPIC_CONFIG));
                    (value.clone(), DYNAMIC_TOPIC_CONFIG)
                }
                None => (broker_value.clone(), broker_source),
            };
            synonyms.push((def.broker_name, broker_value, broker_source));
            DescribedConfig {
                def,
                value,
                source,
                synonyms,
            }
        })
        .collect()
}

/// Checks the overrides a request sets, each (name, value): every name a
/// topic config, every value one it takes; returns them by name.
///
/// # Errors
/// INVALID_CONFIG naming the config (and the value).
pub(crate) fn check_overrides<'a>(
    pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>,
) -> Result<BTreeMap<String, String>, (ResponseError, String)> {
    let mut overrides = BTreeMap::new();
    for (name, value) in pairs {
        let def = known(name)?;
        let Some(value) = value else {
            return Err((
                ResponseError::InvalidConfig,
                format!("Null value not supported for topic configs: {name}"),
            ));
        };
        def.validate(value)
            .map_err(|reason| (ResponseError::InvalidConfig, reason))?;
        overrides.insert(name.to_string(), value.to_string());
    }
    Ok(overrides)
}

/// The topic config called `name`.
///
/// # Errors
/// INVALID_CONFIG for a name Kafka does not have (or the broker does not serve).
pub(crate) fn known(name: &str) -> Result<&'static TopicConfigDef, (ResponseError, String)> {
    topic_config(name).ok_or_else(|| {
        (
            ResponseError::InvalidConfig,
            format!("Unknown topic config name: {name}"),
        )
    })
}

/// Kafka's `ConfigResource.Type` for a topic.
pub(crate) const TOPIC: i8 = 2;
/// Kafka's `ConfigResource.Type` for a broker.
pub(crate) const BROKER: i8 = 4;

/// Replaces the overrides of the resource `(resource_type, name)` with what
/// `change` makes of the current ones (unless `validate_only`); only topics'
/// configs can be altered.
///
/// # Errors
/// The Kafka error and message for the resource.
pub(crate) fn alter_topic(
    ctx: &Ctx<'_>,
    resource_type: i8,
    name: &str,
    validate_only: bool,
    change: impl FnOnce(
        &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, (ResponseError, String)>,
) -> Result<(), (ResponseError, String)> {
    match resource_type {
        TOPIC => {}
        BROKER => {
            return Err((
                ResponseError::InvalidRequest,
                format!(
                    "Cannot update broker {name}'s configs: the mock broker's configs are static"
                ),
            ));
        }
        other => {
            return Err((
                ResponseError::InvalidRequest,
                format!(
                    "Unsupported resource type {other}: the mock broker alters topic (2) configs"
                ),
            ));
        }
    }
    validate_topic_name(name)
        .map_err(|reason| (ResponseError::InvalidTopicException, reason.to_string()))?;
    let topic = ctx.state.store.topic(name).ok_or_else(|| {
        (
            ResponseError::UnknownTopicOrPartition,
            format!("The topic '{name}' does not exist."),
        )
    })?;
    let overrides = change(topic.config().overrides())?;
    let config =
        TopicConfig::new(overrides).map_err(|reason| (ResponseError::InvalidConfig, reason))?;
    if !validate_only {
        tracing::info!(topic = name, overrides = ?config.overrides(), "topic configs altered");
        topic.set_config(config, ctx.receive_time);
    }
    Ok(())
}

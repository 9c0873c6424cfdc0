//! IncrementalAlterConfigs: SET, DELETE, APPEND and SUBTRACT on a topic's
//! overrides (or, with `validate_only`, checked only).

use std::collections::{BTreeMap, HashSet};

use kafka_protocol::ResponseError;
use kafka_protocol::messages::incremental_alter_configs_request::{
    AlterConfigsResource, IncrementalAlterConfigsRequest,
};
use kafka_protocol::messages::incremental_alter_configs_response::{
    AlterConfigsResourceResponse, IncrementalAlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use super::topic_configs::{TOPIC, alter_topic, known};
use crate::config_catalog::{ConfigType, list_items};

const SET: i8 = 0;
const DELETE: i8 = 1;
const APPEND: i8 = 2;
const SUBTRACT: i8 = 3;

/// Whether the request alters `topic` (`None` = any), for fault rules.
pub(crate) fn touches(request: &IncrementalAlterConfigsRequest, topic: Option<&str>) -> bool {
    topic.is_none_or(|wanted| {
        request
            .resources
            .iter()
            .any(|r| r.resource_type == TOPIC && r.resource_name.as_str() == wanted)
    })
}

/// Applies each resource's operations and says how each went.
pub(crate) fn handle(
    request: IncrementalAlterConfigsRequest,
    _version: i16,
    ctx: &Ctx<'_>,
) -> IncrementalAlterConfigsResponse {
    let responses = request
        .resources
        .iter()
        .map(|resource| {
            let name = resource.resource_name.as_str();
            let outcome = alter_topic(ctx, resource.resource_type, name, request.validate_only, |current| {
                apply(resource, current)
            });
            let response = AlterConfigsResourceResponse::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            match outcome {
                Ok(()) => response,
                Err((error, message)) => {
                    tracing::debug!(resource = name, error = ?error, %message, "IncrementalAlterConfigs refused");
                    response
                        .with_error_code(error.code())
                        .with_error_message(Some(StrBytes::from_string(message)))
                }
            }
        })
        .collect();
    IncrementalAlterConfigsResponse::default().with_responses(responses)
}

/// The overrides after `resource`'s operations on `current`.
fn apply(
    resource: &AlterConfigsResource,
    current: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, (ResponseError, String)> {
    let mut names = HashSet::new();
    if resource
        .configs
        .iter()
        .any(|c| !names.insert(c.name.as_str()))
    {
        return Err((
            ResponseError::InvalidRequest,
            "Error due to duplicate config keys".into(),
        ));
    }
    let mut overrides = current.clone();
    for op in &resource.configs {
        let name = op.name.as_str();
        let def = known(name)?;
        let value = op.value.as_ref().map(|v| v.as_str());
        match op.config_operation {
            SET => {
                let value = value.ok_or_else(|| {
                    (
                        ResponseError::InvalidRequest,
                        format!("Null value not supported for : {name}"),
                    )
                })?;
                overrides.insert(name.to_string(), value.to_string());
            }
            DELETE => {
                overrides.remove(name);
            }
            APPEND | SUBTRACT => {
                if def.kind != ConfigType::List {
                    let verb = if op.config_operation == APPEND {
                        "append"
                    } else {
                        "subtract"
                    };
                    return Err((
                        ResponseError::InvalidConfig,
                        format!("Config value {verb} is not allowed for config key: {name}"),
                    ));
                }
                let base = overrides
                    .get(name)
                    .cloned()
                    .unwrap_or_else(|| def.kafka_default.to_string());
                let mut items: Vec<String> =
                    list_items(&base).into_iter().map(str::to_string).collect();
                let given: Vec<&str> = value.map(list_items).unwrap_or_default();
                if op.config_operation == APPEND {
                    for item in given {
                        if !items.iter().any(|i| i == item) {
                            items.push(item.to_string());
                        }
                    }
                } else {
                    items.retain(|i| !given.contains(&i.as_str()));
                }
                overrides.insert(name.to_string(), items.join(","));
            }
            other => {
                return Err((
                    ResponseError::InvalidRequest,
                    format!("Unknown config operation {other} for {name}"),
                ));
            }
        }
        if let Some(value) = overrides.get(name) {
            def.validate(value)
                .map_err(|reason| (ResponseError::InvalidConfig, reason))?;
        }
    }
    Ok(overrides)
}

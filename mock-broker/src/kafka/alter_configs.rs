//! AlterConfigs (the legacy, whole-set form): each topic's overrides become
//! exactly those given (or, with `validate_only`, are checked only).

use kafka_protocol::messages::alter_configs_request::AlterConfigsRequest;
use kafka_protocol::messages::alter_configs_response::{
    AlterConfigsResourceResponse, AlterConfigsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;
use super::topic_configs::{TOPIC, alter_topic, check_overrides};

/// Whether the request alters `topic` (`None` = any), for fault rules.
pub(crate) fn touches(request: &AlterConfigsRequest, topic: Option<&str>) -> bool {
    topic.is_none_or(|wanted| {
        request
            .resources
            .iter()
            .any(|r| r.resource_type == TOPIC && r.resource_name.as_str() == wanted)
    })
}

/// Replaces each resource's overrides and says how each went.
pub(crate) fn handle(
    request: AlterConfigsRequest,
    _version: i16,
    ctx: &Ctx<'_>,
) -> AlterConfigsResponse {
    let responses = request
        .resources
        .iter()
        .map(|resource| {
            let name = resource.resource_name.as_str();
            let outcome = alter_topic(ctx, resource.resource_type, name, request.validate_only, |_| {
                check_overrides(
                    resource
                        .configs
                        .iter()
                        .map(|c| (c.name.as_str(), c.value.as_ref().map(|v| v.as_str()))),
                )
            });
            let response = AlterConfigsResourceResponse::default()
                .with_resource_type(resource.resource_type)
                .with_resource_name(resource.resource_name.clone());
            match outcome {
                Ok(()) => response,
                Err((error, message)) => {
                    tracing::debug!(resource = name, error = ?error, %message, "AlterConfigs refused");
                    response
                        .with_error_code(error.code())
                        .with_error_message(Some(StrBytes::from_string(message)))
                }
            }
        })
        .collect();
    AlterConfigsResponse::default().with_responses(responses)
}

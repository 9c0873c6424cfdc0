//! DeleteTopics: drops each topic named (by name, or from v6 by id) with its
//! recordings and configs.

use std::collections::HashSet;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::TopicName;
use kafka_protocol::messages::delete_topics_request::DeleteTopicsRequest;
use kafka_protocol::messages::delete_topics_response::{
    DeletableTopicResult, DeleteTopicsResponse,
};
use kafka_protocol::protocol::StrBytes;

use super::context::Ctx;

/// The topics a request names, as (name, id): v6 lists states, earlier versions names.
pub(crate) fn named(
    request: &DeleteTopicsRequest,
    version: i16,
) -> Vec<(Option<TopicName>, uuid::Uuid)> {
    if version >= 6 {
        request
            .topics
            .iter()
            .map(|t| (t.name.clone(), t.topic_id))
            .collect()
    } else {
        request
            .topic_names
            .iter()
            .map(|name| (Some(name.clone()), uuid::Uuid::nil()))
            .collect()
    }
}

/// Whether the request deletes `topic` by name (`None` = any), for fault rules.
pub(crate) fn touches(request: &DeleteTopicsRequest, version: i16, topic: Option<&str>) -> bool {
    topic.is_none_or(|wanted| {
        named(request, version)
            .iter()
            .any(|(name, _)| name.as_ref().is_some_and(|n| n.as_str() == wanted))
    })
}

/// Deletes the topics and says how each went.
pub(crate) fn handle(
    request: DeleteTopicsRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> DeleteTopicsResponse {
    let store = &ctx.state.store;
    let topics = named(&request, version);
    let mut seen = HashSet::new();
    let duplicated: HashSet<String> = topics
        .iter()
        .filter_map(|(name, _)| name.as_ref().map(|n| n.to_string()))
        .filter(|name| !seen.insert(name.clone()))
        .collect();
    let responses = topics
        .into_iter()
        .map(|(name, id)| {
            let mut result = DeletableTopicResult::default().with_name(name.clone());
            if version >= 6 {
                result = result.with_topic_id(id);
            }
            let outcome: Result<(TopicName, uuid::Uuid), (ResponseError, String)> = match &name {
                Some(_) if !id.is_nil() => Err((
                    ResponseError::InvalidRequest,
                    "a topic to delete is named by its name or its id, not both".into(),
                )),
                Some(name) if duplicated.contains(name.as_str()) => Err((
                    ResponseError::InvalidRequest,
                    "Duplicate topic name.".into(),
                )),
                Some(name) => match store.topic(name) {
                    Some(topic) => Ok((name.clone(), topic.id())),
                    None => Err((
                        ResponseError::UnknownTopicOrPartition,
                        "This server does not host this topic-partition.".into(),
                    )),
                },
                None => match store.topic_by_id(id) {
                    Some(topic) => Ok((StrBytes::from_string(topic.name().to_string()).into(), id)),
                    None => Err((
                        ResponseError::UnknownTopicId,
                        format!("no topic has id {id}"),
                    )),
                },
            };
            match outcome {
                Ok((name, id)) => {
                    store.delete_topic(&name);
                    result = result.with_name(Some(name));
                    if version >= 6 {
                        result = result.with_topic_id(id);
                    }
                }
                Err((error, message)) => {
                    result = result.with_error_code(error.code());
                    if version >= 5 {
                        result = result.with_error_message(Some(StrBytes::from_string(message)));
                    }
                }
            }
            result
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}

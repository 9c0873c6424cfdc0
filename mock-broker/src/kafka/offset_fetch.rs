//! OffsetFetch: a group's committed offsets, for the partitions asked or all of them;
//! from v8 for several groups at once.
//!
//! `require_stable` (v7+): a partition for which an open transaction holds offsets not
//! yet committed (TxnOffsetCommit before EndTxn) answers UNSTABLE_OFFSET_COMMIT with no
//! offset, as Kafka, and the client asks again.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::TopicName;
use kafka_protocol::messages::offset_fetch_request::OffsetFetchRequest;
use kafka_protocol::messages::offset_fetch_response::{
    OffsetFetchResponse, OffsetFetchResponseGroup, OffsetFetchResponsePartition,
    OffsetFetchResponsePartitions, OffsetFetchResponseTopic, OffsetFetchResponseTopics,
};
use kafka_protocol::protocol::StrBytes;

use super::context::{Ctx, scope_covers};
use super::group_coordinator::coordinates;
use crate::group::FetchedOffset;
use crate::txn::TopicPartition;

/// Whether the request names `partition` of `topic` (each `None` = any), for fault rules;
/// a request for all of a group's offsets names none.
pub(crate) fn touches(
    request: &OffsetFetchRequest,
    topic: Option<&str>,
    partition: Option<u32>,
) -> bool {
    let single = request.topics.iter().flatten().any(|t| {
        t.partition_indexes
            .iter()
            .any(|p| scope_covers((topic, partition), &t.name.0, *p))
    });
    let batched = request.groups.iter().any(|g| {
        g.topics.iter().flatten().any(|t| {
            t.partition_indexes
                .iter()
                .any(|p| scope_covers((topic, partition), &t.name.0, *p))
        })
    });
    single || batched
}

/// One group's committed offsets, topic by topic, each with its error
/// (UNSTABLE_OFFSET_COMMIT) if it has one.
type TopicOffsets = Vec<(String, Vec<(FetchedOffset, Option<ResponseError>)>)>;

/// The committed offsets of `group_id` for `asked` ((topic, partitions); `None`: all),
/// fetched by `member` (v9+: its member id and epoch, which a consumer-protocol group checks);
/// with `require_stable`, partitions with pending transactional offsets carry
/// UNSTABLE_OFFSET_COMMIT instead.
fn fetch(
    ctx: &Ctx<'_>,
    group_id: &str,
    member: Option<(&str, i32)>,
    asked: Option<Vec<(String, Vec<i32>)>>,
    require_stable: bool,
) -> Result<TopicOffsets, ResponseError> {
    if !coordinates(ctx, group_id) {
        return Err(ResponseError::NotCoordinator);
    }
    let partitions: Option<Vec<(String, i32)>> = asked.as_ref().map(|topics| {
        topics
            .iter()
            .flat_map(|(topic, ps)| ps.iter().map(move |p| (topic.clone(), *p)))
            .collect()
    });
    let fetched = ctx.state.groups.read(|coordinator| {
        coordinator.fetch_member_offsets(group_id, member, partitions.as_deref())
    })?;
    let pending = if require_stable {
        ctx.state
            .txns
            .read(|coordinator| coordinator.pending_offset_partitions(group_id))
    } else {
        Default::default()
    };
    let fetched = fetched.into_iter().map(|mut offset| {
        if pending.contains(&TopicPartition::new(
            offset.topic.as_str(),
            offset.partition,
        )) {
            offset.offset = -1;
            offset.leader_epoch = -1;
            offset.metadata.clear();
            (offset, Some(ResponseError::UnstableOffsetCommit))
        } else {
            (offset, None)
        }
    });
    let mut by_topic: TopicOffsets = Vec::new();
    match asked {
        // In the request's order and shape, even for a topic named twice.
        Some(topics) => {
            let mut fetched = fetched.into_iter();
            for (topic, ps) in topics {
                let offsets = fetched.by_ref().take(ps.len()).collect();
                by_topic.push((topic, offsets));
            }
        }
        None => {
            for offset in fetched {
                match by_topic.last_mut() {
                    Some((topic, offsets)) if *topic == offset.0.topic => offsets.push(offset),
                    _ => by_topic.push((offset.0.topic.clone(), vec![offset])),
                }
            }
        }
    }
    Ok(by_topic)
}

/// Serves an OffsetFetch.
pub(crate) fn handle(
    request: OffsetFetchRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> OffsetFetchResponse {
    if version >= 8 {
        let groups = request
            .groups
            .iter()
            .map(|group| {
                let asked = group.topics.as_ref().map(|topics| {
                    topics
                        .iter()
                        .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
                        .collect()
                });
                let response =
                    OffsetFetchResponseGroup::default().with_group_id(group.group_id.clone());
                let member = group
                    .member_id
                    .as_ref()
                    .map(|id| (id.as_str(), group.member_epoch));
                match fetch(
                    ctx,
                    &group.group_id.0,
                    member,
                    asked,
                    request.require_stable,
                ) {
                    Ok(topics) => response.with_topics(batched_topics(topics)),
                    Err(error) => response.with_error_code(error.code()),
                }
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let asked = request.topics.as_ref().map(|topics| {
        topics
            .iter()
            .map(|t| (t.name.0.to_string(), t.partition_indexes.clone()))
            .collect()
    });
    match fetch(
        ctx,
        &request.group_id.0,
        None,
        asked,
        version >= 7 && request.require_stable,
    ) {
        Ok(topics) => OffsetFetchResponse::default().with_topics(single_topics(topics, version)),
        Err(error) => refused(&request, version, error),
    }
}

/// The answer refusing `request` with `error`: at the top (v2+) or per group (v8+), and in
/// every partition named (a fault rule puts its own code in).
pub(crate) fn refused(
    request: &OffsetFetchRequest,
    version: i16,
    error: ResponseError,
) -> OffsetFetchResponse {
    let code = error.code();
    if version >= 8 {
        let groups = request
            .groups
            .iter()
            .map(|g| {
                OffsetFetchResponseGroup::default()
                    .with_group_id(g.group_id.clone())
                    .with_error_code(code)
            })
            .collect();
        return OffsetFetchResponse::default().with_groups(groups);
    }
    let topics = request
        .topics
        .iter()
        .flatten()
        .map(|t| {
            let partitions = t
                .partition_indexes
                .iter()
                .map(|p| {
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(*p)
                        .with_committed_offset(-1)
                        .with_metadata(Some(StrBytes::default()))
                        .with_error_code(code)
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(t.name.clone())
                .with_partitions(partitions)
        })
        .collect();
    let response = OffsetFetchResponse::default().with_topics(topics);
    if version >= 2 {
        response.with_error_code(code)
    } else {
        response
    }
}

fn topic_name(name: String) -> TopicName {
    TopicName(StrBytes::from_string(name))
}

/// Topics as v1–v7 answer them.
fn single_topics(topics: TopicOffsets, version: i16) -> Vec<OffsetFetchResponseTopic> {
    topics
        .into_iter()
        .map(|(topic, offsets)| {
            let partitions = offsets
                .into_iter()
                .map(|(o, error)| {
                    OffsetFetchResponsePartition::default()
                        .with_partition_index(o.partition)
                        .with_committed_offset(o.offset)
                        .with_committed_leader_epoch(if version >= 5 { o.leader_epoch } else { -1 })
                        .with_error_code(error.map_or(0, |e| e.code()))
                        .with_metadata(Some(StrBytes::from_string(o.metadata)))
                })
                .collect();
            OffsetFetchResponseTopic::default()
                .with_name(topic_name(topic))
                .with_partitions(partitions)
        })
        .collect()
}

/// Topics as v8+ answer them, inside their group.
fn batched_topics(topics: TopicOffsets) -> Vec<OffsetFetchResponseTopics> {
    topics
        .into_iter()
        .map(|(topic, offsets)| {
            let partitions = offsets
                .into_iter()
                .map(|(o, error)| {
                    OffsetFetchResponsePartitions::default()
                        .with_partition_index(o.partition)
                        .with_committed_offset(o.offset)
                        .with_committed_leader_epoch(o.leader_epoch)
                        .with_error_code(error.map_or(0, |e| e.code()))
                        .with_metadata(Some(StrBytes::from_string(o.metadata)))
                })
                .collect();
            OffsetFetchResponseTopics::default()
                .with_name(topic_name(topic))
                .with_partitions(partitions)
        })
        .collect()
}

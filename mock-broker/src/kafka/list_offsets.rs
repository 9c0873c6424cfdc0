//! ListOffsets: earliest, latest (the last stable offset for read_committed) and
//! by-timestamp offsets of the recordings.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::list_offsets_request::ListOffsetsRequest;
use kafka_protocol::messages::list_offsets_response::{
    ListOffsetsPartitionResponse, ListOffsetsResponse, ListOffsetsTopicResponse,
};

use super::context::Ctx;

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;

/// Answers a ListOffsets request.
/// Whether the request asks about `partition` of `topic` (each `None` = any), for fault rules.
pub(crate) fn touches(
    request: &ListOffsetsRequest,
    topic: Option<&str>,
    partition: Option<u32>,
) -> bool {
    request.topics.iter().any(|t| {
        t.partitions.iter().any(|p| {
            super::context::scope_covers((topic, partition), t.name.as_str(), p.partition_index)
        })
    })
}

pub(crate) fn handle(
    request: ListOffsetsRequest,
    version: i16,
    ctx: &Ctx<'_>,
) -> ListOffsetsResponse {
    // read_committed (v2+): latest is the last stable offset, as Kafka answers.
    let read_committed = version >= 2 && request.isolation_level == super::fetch::READ_COMMITTED;
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let log = ctx.state.store.topic(&topic.name);
            let partitions = topic
                .partitions
                .into_iter()
                .map(|p| {
                    let response = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index);
                    let Some(log) = &log else {
                        return response
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let Some(index) = u32::try_from(p.partition_index)
                        .ok()
                        .filter(|&i| i < log.partition_count())
                    else {
                        return response
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let leadership = ctx.state.cluster.leadership(log.name(), index);
                    if leadership.leader != ctx.node_id {
                        return response.with_error_code(ResponseError::NotLeaderOrFollower.code());
                    }
                    // Earliest and latest need no records; timestamp lookups scan in place.
                    let (timestamp, offset) = match p.timestamp {
                        LATEST if read_committed => {
                            (-1, log.last_stable_offset(index).unwrap_or(0))
                        }
                        LATEST => (-1, log.high_watermark(index).unwrap_or(0)),
                        EARLIEST => (-1, log.log_start_offset(index).unwrap_or(0)),
                        MAX_TIMESTAMP => {
                            log.max_timestamp(index).ok().flatten().unwrap_or((-1, -1))
                        }
                        t if t >= 0 => log
                            .offset_for_timestamp(index, t)
                            .ok()
                            .flatten()
                            .unwrap_or((-1, -1)),
                        _ => {
                            return response
                                .with_error_code(ResponseError::UnsupportedVersion.code());
                        }
                    };
                    let mut response = response.with_timestamp(timestamp).with_offset(offset);
                    if version >= 4 {
                        response = response.with_leader_epoch(leadership.epoch);
                    }
                    response
                })
                .collect();
            ListOffsetsTopicResponse::default()
                .with_name(topic.name)
                .with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

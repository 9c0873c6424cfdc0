//! How fault rules change Kafka responses: an injected error code in every
//! place the response has one, and `throttle_time_ms` where the version has it.

use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::produce_response::{PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{
    ApiVersionsResponse, FetchRequest, FetchResponse, FindCoordinatorResponse,
    InitProducerIdResponse, ListOffsetsResponse, MetadataResponse, ProduceRequest, ProduceResponse,
};

/// [`FaultableResponse::set_throttle`] for a response with a `throttle_time_ms` field, which
/// every response a fault can throttle has.
macro_rules! throttle_field {
    () => {
        fn set_throttle(&mut self, ms: i32) {
            self.throttle_time_ms = ms;
        }
    };
}
pub(crate) use throttle_field;

/// A response a fault rule can change.
pub(crate) trait FaultableResponse {
    /// The first version with `throttle_time_ms`.
    const THROTTLE_SINCE: i16;

    /// Sets `throttle_time_ms`.
    fn set_throttle(&mut self, ms: i32);

    /// Puts `code` everywhere the response at `version` reports an error.
    fn set_error(&mut self, code: i16, version: i16);

    /// Sets `throttle_time_ms` if `version` has it.
    fn throttle(&mut self, ms: i32, version: i16) {
        if version >= Self::THROTTLE_SINCE {
            self.set_throttle(ms);
        }
    }
}

impl FaultableResponse for ProduceResponse {
    const THROTTLE_SINCE: i16 = 1;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for topic in &mut self.responses {
            for partition in &mut topic.partition_responses {
                partition.error_code = code;
                partition.base_offset = -1;
            }
        }
    }
}

impl FaultableResponse for MetadataResponse {
    const THROTTLE_SINCE: i16 = 3;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for topic in &mut self.topics {
            topic.error_code = code;
            topic.partitions.clear();
        }
    }
}

impl FaultableResponse for ApiVersionsResponse {
    const THROTTLE_SINCE: i16 = 1;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
    }
}

impl FaultableResponse for InitProducerIdResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
        self.producer_id = (-1).into();
        self.producer_epoch = -1;
    }
}

impl FaultableResponse for FetchResponse {
    const THROTTLE_SINCE: i16 = 1;
    throttle_field!();
    fn set_error(&mut self, code: i16, version: i16) {
        if version >= 7 {
            self.error_code = code;
        }
        for topic in &mut self.responses {
            for partition in &mut topic.partitions {
                partition.error_code = code;
                partition.records = None;
            }
        }
    }
}

impl FaultableResponse for FindCoordinatorResponse {
    const THROTTLE_SINCE: i16 = 1;
    throttle_field!();
    fn set_error(&mut self, code: i16, version: i16) {
        if version <= 3 {
            self.error_code = code;
            self.node_id = (-1).into();
        }
        for coordinator in &mut self.coordinators {
            coordinator.error_code = code;
            coordinator.node_id = (-1).into();
        }
    }
}

impl FaultableResponse for ListOffsetsResponse {
    const THROTTLE_SINCE: i16 = 2;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for topic in &mut self.topics {
            for partition in &mut topic.partitions {
                partition.error_code = code;
                partition.offset = -1;
                partition.timestamp = -1;
            }
        }
    }
}

/// The answer to `request` when a fault refuses every partition with `code`,
/// recording nothing; `None` for acks=0.
pub(crate) fn produce_error(
    request: &ProduceRequest,
    version: i16,
    code: i16,
) -> Option<ProduceResponse> {
    let responses = request
        .topic_data
        .iter()
        .map(|topic| {
            let partitions = topic
                .partition_data
                .iter()
                .map(|p| {
                    PartitionProduceResponse::default()
                        .with_index(p.index)
                        .with_error_code(code)
                        .with_base_offset(-1)
                        .with_log_start_offset(-1)
                })
                .collect();
            let response = TopicProduceResponse::default().with_partition_responses(partitions);
            if version >= 13 {
                response.with_topic_id(topic.topic_id)
            } else {
                response.with_name(topic.name.clone())
            }
        })
        .collect();
    (request.acks != 0).then(|| ProduceResponse::default().with_responses(responses))
}

/// The answer to `request` when a fault refuses it with `code`, without waiting for records.
pub(crate) fn fetch_error(request: &FetchRequest, version: i16, code: i16) -> FetchResponse {
    let responses = request
        .topics
        .iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    PartitionData::default()
                        .with_partition_index(p.partition)
                        .with_error_code(code)
                        .with_high_watermark(-1)
                })
                .collect();
            let response = FetchableTopicResponse::default().with_partitions(partitions);
            if version >= 13 {
                response.with_topic_id(topic.topic_id)
            } else {
                response.with_topic(topic.topic.clone())
            }
        })
        .collect();
    let mut response = FetchResponse::default().with_responses(responses);
    if version >= 7 {
        response.error_code = code;
    }
    response
}

//! How fault rules change the admin APIs' responses (an injected error code
//! on every resource, topic or partition, and `throttle_time_ms`), and what
//! the APIs that change the broker answer when a fault refuses them before
//! they act: every item of the request, untouched, for the error to be put on.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::create_topics_response::CreatableTopicResult;
use kafka_protocol::messages::delete_records_response::{
    DeleteRecordsPartitionResult, DeleteRecordsTopicResult,
};
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{
    AlterConfigsRequest, AlterConfigsResponse, CreatePartitionsRequest, CreatePartitionsResponse,
    CreateTopicsRequest, CreateTopicsResponse, DeleteRecordsRequest, DeleteRecordsResponse,
    DeleteTopicsRequest, DeleteTopicsResponse, DescribeClusterResponse, DescribeConfigsResponse,
    DescribeProducersResponse, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse,
    OffsetForLeaderEpochResponse,
};
use kafka_protocol::messages::{alter_configs_response, incremental_alter_configs_response};

use super::delete_topics::named;
use super::fault_response::{FaultableResponse, throttle_field};

impl FaultableResponse for CreateTopicsResponse {
    const THROTTLE_SINCE: i16 = 2;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for topic in &mut self.topics {
            topic.error_code = code;
            topic.error_message = None;
            topic.topic_id = uuid::Uuid::nil();
            topic.num_partitions = -1;
            topic.replication_factor = -1;
            topic.configs = Some(Vec::new());
        }
    }
}

impl FaultableResponse for DeleteTopicsResponse {
    const THROTTLE_SINCE: i16 = 1;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for topic in &mut self.responses {
            topic.error_code = code;
            topic.error_message = None;
        }
    }
}

impl FaultableResponse for CreatePartitionsResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for topic in &mut self.results {
            topic.error_code = code;
            topic.error_message = None;
        }
    }
}

impl FaultableResponse for DescribeConfigsResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for resource in &mut self.results {
            resource.error_code = code;
            resource.error_message = None;
            resource.configs.clear();
        }
    }
}

impl FaultableResponse for AlterConfigsResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for resource in &mut self.responses {
            resource.error_code = code;
            resource.error_message = None;
        }
    }
}

impl FaultableResponse for IncrementalAlterConfigsResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for resource in &mut self.responses {
            resource.error_code = code;
            resource.error_message = None;
        }
    }
}

impl FaultableResponse for DeleteRecordsResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for topic in &mut self.topics {
            for partition in &mut topic.partitions {
                partition.error_code = code;
                partition.low_watermark = -1;
            }
        }
    }
}

impl FaultableResponse for DescribeClusterResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        self.error_code = code;
        self.error_message = None;
        self.brokers.clear();
    }
}

impl FaultableResponse for OffsetForLeaderEpochResponse {
    const THROTTLE_SINCE: i16 = 2;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for topic in &mut self.topics {
            for partition in &mut topic.partitions {
                partition.error_code = code;
                partition.leader_epoch = -1;
                partition.end_offset = -1;
            }
        }
    }
}

impl FaultableResponse for DescribeProducersResponse {
    const THROTTLE_SINCE: i16 = 0;
    throttle_field!();
    fn set_error(&mut self, code: i16, _version: i16) {
        for topic in &mut self.topics {
            for partition in &mut topic.partitions {
                partition.error_code = code;
                partition.error_message = None;
                partition.active_producers.clear();
            }
        }
    }
}

/// CreateTopics refused whole: every topic named, nothing created.
pub(crate) fn create_topics_refused(request: &CreateTopicsRequest) -> CreateTopicsResponse {
    CreateTopicsResponse::default().with_topics(
        request
            .topics
            .iter()
            .map(|t| CreatableTopicResult::default().with_name(t.name.clone()))
            .collect(),
    )
}

/// DeleteTopics refused whole: every topic named, nothing deleted.
pub(crate) fn delete_topics_refused(
    request: &DeleteTopicsRequest,
    version: i16,
) -> DeleteTopicsResponse {
    DeleteTopicsResponse::default().with_responses(
        named(request, version)
            .into_iter()
            .map(|(name, id)| {
                DeletableTopicResult::default()
                    .with_name(name)
                    .with_topic_id(id)
            })
            .collect(),
    )
}

/// CreatePartitions refused whole: every topic named, none grown.
pub(crate) fn create_partitions_refused(
    request: &CreatePartitionsRequest,
) -> CreatePartitionsResponse {
    CreatePartitionsResponse::default().with_results(
        request
            .topics
            .iter()
            .map(|t| CreatePartitionsTopicResult::default().with_name(t.name.clone()))
            .collect(),
    )
}

/// AlterConfigs refused whole: every resource named, nothing altered.
pub(crate) fn alter_configs_refused(request: &AlterConfigsRequest) -> AlterConfigsResponse {
    AlterConfigsResponse::default().with_responses(
        request
            .resources
            .iter()
            .map(|r| {
                alter_configs_response::AlterConfigsResourceResponse::default()
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone())
            })
            .collect(),
    )
}

/// IncrementalAlterConfigs refused whole: every resource named, nothing altered.
pub(crate) fn incremental_alter_configs_refused(
    request: &IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    IncrementalAlterConfigsResponse::default().with_responses(
        request
            .resources
            .iter()
            .map(|r| {
                incremental_alter_configs_response::AlterConfigsResourceResponse::default()
                    .with_resource_type(r.resource_type)
                    .with_resource_name(r.resource_name.clone())
            })
            .collect(),
    )
}

/// DeleteRecords refused whole: every partition named, nothing deleted.
pub(crate) fn delete_records_refused(request: &DeleteRecordsRequest) -> DeleteRecordsResponse {
    DeleteRecordsResponse::default().with_topics(
        request
            .topics
            .iter()
            .map(|t| {
                DeleteRecordsTopicResult::default()
                    .with_name(t.name.clone())
                    .with_partitions(
                        t.partitions
                            .iter()
                            .map(|p| {
                                DeleteRecordsPartitionResult::default()
                                    .with_partition_index(p.partition_index)
                            })
                            .collect(),
                    )
            })
            .collect(),
    )
}

//! ApiVersions: what the broker serves, and the KIP-511 answer to versions it does not.

use kafka_protocol::ResponseError;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};

/// Kafka's error code for success, `NONE`.
const NONE: i16 = 0;

/// Every API the broker serves, with the versions it serves.
///
/// Only what is really served is advertised, because clients gate features
/// on it: librdkafka sends RecordBatch v2 only when Produce ≥ 3 and Fetch ≥ 4
/// are advertised, zstd only with Produce ≥ 7 and Fetch ≥ 10, and idempotence
/// only with InitProducerId, lz4 only with FindCoordinator. Fetch and
/// ListOffsets are served from the recordings (see `fetch.rs`), and
/// FindCoordinator names the group or transaction coordinator (see
/// `find_coordinator.rs`), which is
/// what makes those features available.
pub(crate) const SERVED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 13),
    (ApiKey::Fetch, 4, 12),
    (ApiKey::ListOffsets, 1, 10),
    (ApiKey::Metadata, 0, 13),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    // v0 and v1 are not in the message types; v9 carries KIP-848's member epochs.
    (ApiKey::OffsetCommit, 2, 9),
    // v0 is not in the message types; v8+ batch several groups.
    (ApiKey::OffsetFetch, 1, 9),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DescribeGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::DescribeCluster, 0, 1),
    (ApiKey::OffsetForLeaderEpoch, 2, 4),
    (ApiKey::DescribeProducers, 0, 0),
    (ApiKey::AddPartitionsToTxn, 0, 5),
    (ApiKey::AddOffsetsToTxn, 0, 4),
    // v5 is KIP-890's implicit add of the group.
    (ApiKey::TxnOffsetCommit, 0, 4),
    // v5 (KIP-890) bumps the producer epoch on every end.
    (ApiKey::EndTxn, 0, 5),
    (ApiKey::DescribeTransactions, 0, 0),
    // v2 filters by a transactional id pattern (a Java regex).
    (ApiKey::ListTransactions, 0, 1),
    // KIP-848's consumer protocol: v1 has client-generated member ids (and regexes,
    // which are refused).
    (ApiKey::ConsumerGroupHeartbeat, 0, 1),
    (ApiKey::ConsumerGroupDescribe, 0, 1),
    // On every listener, as Kafka lists them; without SASL they answer ILLEGAL_SASL_STATE.
    // v0 of the handshake is followed by raw tokens, v1 by SaslAuthenticate.
    (ApiKey::SaslHandshake, 0, 1),
    (ApiKey::SaslAuthenticate, 0, 2),
];

/// The versions of `key` the broker serves, if it serves it.
pub(crate) fn served(key: ApiKey) -> Option<(i16, i16)> {
    SERVED
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|&(_, min, max)| (min, max))
}

fn api_list() -> Vec<ApiVersion> {
    SERVED
        .iter()
        .map(|&(key, min, max)| {
            ApiVersion::default()
                .with_api_key(key as i16)
                .with_min_version(min)
                .with_max_version(max)
        })
        .collect()
}

/// The answer to a supported ApiVersions request.
pub(crate) fn response() -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(NONE)
        .with_api_keys(api_list())
}

/// The KIP-511 answer to an ApiVersions request at a version the broker does
/// not speak: UNSUPPORTED_VERSION with a v0 body listing what is served, so
/// the client can retry at a version both sides know.
pub(crate) fn unsupported_version_response() -> ApiVersionsResponse {
    ApiVersionsResponse::default()
        .with_error_code(ResponseError::UnsupportedVersion.code())
        .with_api_keys(api_list())
}

#[cfg(test)]
mod tests {
    use super::*;

    use kafka_protocol::messages::*;
    use kafka_protocol::protocol::{Message, VersionRange};

    /// What the crate's request and response types can both encode and decode.
    fn codable<Req: Message, Resp: Message>() -> VersionRange {
        Req::VERSIONS.intersect(&Resp::VERSIONS)
    }

    #[test]
    fn served_versions_are_versions_the_crate_can_decode_and_encode() {
        // ApiKey::valid_versions() is not enough: it says InitProducerId 0-6
        // while the message types stop at 5.
        for &(key, min, max) in SERVED {
            let codable = match key {
                ApiKey::Produce => codable::<ProduceRequest, ProduceResponse>(),
                ApiKey::Fetch => codable::<FetchRequest, FetchResponse>(),
                ApiKey::ListOffsets => codable::<ListOffsetsRequest, ListOffsetsResponse>(),
                ApiKey::Metadata => codable::<MetadataRequest, MetadataResponse>(),
                ApiKey::ApiVersions => codable::<ApiVersionsRequest, ApiVersionsResponse>(),
                ApiKey::InitProducerId => {
                    codable::<InitProducerIdRequest, InitProducerIdResponse>()
                }
                ApiKey::FindCoordinator => {
                    codable::<FindCoordinatorRequest, FindCoordinatorResponse>()
                }
                ApiKey::JoinGroup => codable::<JoinGroupRequest, JoinGroupResponse>(),
                ApiKey::SyncGroup => codable::<SyncGroupRequest, SyncGroupResponse>(),
                ApiKey::Heartbeat => codable::<HeartbeatRequest, HeartbeatResponse>(),
                ApiKey::LeaveGroup => codable::<LeaveGroupRequest, LeaveGroupResponse>(),
                ApiKey::OffsetCommit => codable::<OffsetCommitRequest, OffsetCommitResponse>(),
                ApiKey::OffsetFetch => codable::<OffsetFetchRequest, OffsetFetchResponse>(),
                ApiKey::ListGroups => codable::<ListGroupsRequest, ListGroupsResponse>(),
                ApiKey::DescribeGroups => {
                    codable::<DescribeGroupsRequest, DescribeGroupsResponse>()
                }
                ApiKey::DeleteGroups => codable::<DeleteGroupsRequest, DeleteGroupsResponse>(),
                ApiKey::OffsetDelete => codable::<OffsetDeleteRequest, OffsetDeleteResponse>(),
                ApiKey::CreateTopics => codable::<CreateTopicsRequest, CreateTopicsResponse>(),
                ApiKey::DeleteTopics => codable::<DeleteTopicsRequest, DeleteTopicsResponse>(),
                ApiKey::CreatePartitions => {
                    codable::<CreatePartitionsRequest, CreatePartitionsResponse>()
                }
                ApiKey::DescribeConfigs => {
                    codable::<DescribeConfigsRequest, DescribeConfigsResponse>()
                }
                ApiKey::AlterConfigs => codable::<AlterConfigsRequest, AlterConfigsResponse>(),
                ApiKey::IncrementalAlterConfigs => {
                    codable::<IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse>()
                }
                ApiKey::DeleteRecords => codable::<DeleteRecordsRequest, DeleteRecordsResponse>(),
                ApiKey::DescribeCluster => {
                    codable::<DescribeClusterRequest, DescribeClusterResponse>()
                }
                ApiKey::OffsetForLeaderEpoch => {
                    codable::<OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse>()
                }
                ApiKey::DescribeProducers => {
                    codable::<DescribeProducersRequest, DescribeProducersResponse>()
                }
                ApiKey::AddPartitionsToTxn => {
                    codable::<AddPartitionsToTxnRequest, AddPartitionsToTxnResponse>()
                }
                ApiKey::AddOffsetsToTxn => {
                    codable::<AddOffsetsToTxnRequest, AddOffsetsToTxnResponse>()
                }
                ApiKey::TxnOffsetCommit => {
                    codable::<TxnOffsetCommitRequest, TxnOffsetCommitResponse>()
                }
                ApiKey::EndTxn => codable::<EndTxnRequest, EndTxnResponse>(),
                ApiKey::DescribeTransactions => {
                    codable::<DescribeTransactionsRequest, DescribeTransactionsResponse>()
                }
                ApiKey::ListTransactions => {
                    codable::<ListTransactionsRequest, ListTransactionsResponse>()
                }
                ApiKey::ConsumerGroupHeartbeat => {
                    codable::<ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse>()
                }
                ApiKey::ConsumerGroupDescribe => {
                    codable::<ConsumerGroupDescribeRequest, ConsumerGroupDescribeResponse>()
                }
                ApiKey::SaslHandshake => codable::<SaslHandshakeRequest, SaslHandshakeResponse>(),
                ApiKey::SaslAuthenticate => {
                    codable::<SaslAuthenticateRequest, SaslAuthenticateResponse>()
                }
                other => panic!("{other:?} is served but not checked here"),
            };
            assert!(
                min >= codable.min && max <= codable.max,
                "{key:?} {min}..={max} vs {codable:?}"
            );
        }
    }

    #[test]
    fn features_clients_gate_on_are_advertised() {
        assert!(
            served(ApiKey::Produce).unwrap().1 >= 7,
            "zstd needs Produce >= 7"
        );
        assert!(
            served(ApiKey::Fetch).unwrap().1 >= 10,
            "zstd needs Fetch >= 10"
        );
        assert!(
            served(ApiKey::InitProducerId).is_some(),
            "idempotence needs InitProducerId"
        );
    }
}

//! Every API the broker serves answers a fault rule (as kfake's test asserts): for each API that
//! ApiVersions lists (the broker's `SERVED` table), a rule injecting an error for that API makes
//! a request of it come back with that error code, and a `disconnect` rule closes the connection
//! instead of answering. An API served without an entry in [`minimal`] fails the test by name:
//! whoever adds an API adds its minimal request there.

use bytes::Bytes;
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::delete_groups_request::DeleteGroupsRequest;
use kafka_protocol::messages::describe_groups_request::DescribeGroupsRequest;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use kafka_protocol::messages::find_coordinator_request::FindCoordinatorRequest;
use kafka_protocol::messages::heartbeat_request::HeartbeatRequest;
use kafka_protocol::messages::init_producer_id_request::InitProducerIdRequest;
use kafka_protocol::messages::leave_group_request::{LeaveGroupRequest, MemberIdentity};
use kafka_protocol::messages::list_groups_request::ListGroupsRequest;
use kafka_protocol::messages::list_offsets_request::{
    ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
};
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequest, OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::offset_fetch_request::{OffsetFetchRequest, OffsetFetchRequestTopic};
use kafka_protocol::messages::sync_group_request::SyncGroupRequest;
use kafka_protocol::messages::{ApiKey, GroupId, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Request, StrBytes};
use mock_broker::fault::{ApiScope, FaultSpec, FaultState, When};
use mock_broker::{BrokerConfig, MockBroker};

use crate::group_requests::join_request;
use crate::kafka_protocol::{KafkaClient, name, produce, records};

/// The error every rule injects: one no request here would get otherwise.
const INJECTED: &str = "POLICY_VIOLATION";
const INJECTED_CODE: i16 = 44;

const TOPIC: &str = "faulted";
const GROUP: &str = "faulted-group";

/// One API's minimal valid request, encoded, and how to read its response.
struct Minimal {
    version: i16,
    /// The rule scope naming this API.
    scope: ApiScope,
    /// Encodes the request for `client` (a fresh correlation id each time).
    encode: fn(&mut KafkaClient, i16) -> (i32, bytes::BytesMut),
    /// Decodes the response body (after its header) and prints it with `{:?}`.
    debug: fn(Bytes, i16) -> String,
}

fn encode<R: Request>(client: &mut KafkaClient, version: i16, body: R) -> (i32, bytes::BytesMut) {
    client.encode(version, &body)
}

fn debug<R: Request>(mut body: Bytes, version: i16) -> String
where
    R::Response: std::fmt::Debug,
{
    let response = R::Response::decode(&mut body, version).unwrap_or_else(|e| {
        panic!(
            "{:?} v{version}: the response does not decode: {e:#}",
            R::KEY
        )
    });
    format!("{response:?}")
}

fn group() -> GroupId {
    GroupId(StrBytes::from_static_str(GROUP))
}

fn txn_id() -> kafka_protocol::messages::TransactionalId {
    kafka_protocol::messages::TransactionalId(StrBytes::from_static_str("faulted-txn"))
}

fn member() -> StrBytes {
    StrBytes::from_static_str("member-1")
}

/// Builds a [`Minimal`] for request type `$request` at `$version`, scoped by `$scope`, whose
/// body `$body` names [`TOPIC`] or [`GROUP`] where the API has a place for an error.
macro_rules! minimal {
    ($request:ty, $version:expr, $scope:expr, $body:expr) => {
        Minimal {
            version: $version,
            scope: $scope,
            encode: |client, version| encode::<$request>(client, version, $body),
            debug: debug::<$request>,
        }
    };
}

/// THE TABLE: a minimal request for every API the broker serves.
fn minimal(key: ApiKey) -> Option<Minimal> {
    Some(match key {
        ApiKey::Produce => minimal!(
            kafka_protocol::messages::ProduceRequest,
            9,
            ApiScope::Produce,
            produce(TOPIC, 0, records(&["v"], None), -1)
        ),
        ApiKey::Fetch => minimal!(
            FetchRequest,
            12,
            ApiScope::Fetch,
            FetchRequest::default()
                .with_max_bytes(1 << 20)
                .with_topics(vec![
                    FetchTopic::default()
                        .with_topic(name(TOPIC))
                        .with_partitions(vec![
                            FetchPartition::default().with_partition_max_bytes(1 << 20)
                        ]),
                ])
        ),
        ApiKey::ListOffsets => minimal!(
            ListOffsetsRequest,
            7,
            ApiScope::ListOffsets,
            ListOffsetsRequest::default().with_topics(vec![
                ListOffsetsTopic::default()
                    .with_name(name(TOPIC))
                    .with_partitions(vec![ListOffsetsPartition::default().with_timestamp(-1)]),
            ])
        ),
        ApiKey::Metadata => minimal!(
            MetadataRequest,
            12,
            ApiScope::Metadata,
            MetadataRequest::default().with_topics(Some(vec![
                MetadataRequestTopic::default().with_name(Some(name(TOPIC))),
            ]))
        ),
        ApiKey::ApiVersions => minimal!(
            ApiVersionsRequest,
            3,
            ApiScope::ApiVersions,
            ApiVersionsRequest::default()
        ),
        ApiKey::InitProducerId => minimal!(
            InitProducerIdRequest,
            4,
            ApiScope::InitProducerId,
            InitProducerIdRequest::default()
                .with_transactional_id(None)
                .with_producer_id((-1).into())
        ),
        ApiKey::FindCoordinator => minimal!(
            FindCoordinatorRequest,
            3,
            ApiScope::FindCoordinator,
            FindCoordinatorRequest::default().with_key(StrBytes::from_static_str(GROUP))
        ),
        ApiKey::JoinGroup => minimal!(
            kafka_protocol::messages::JoinGroupRequest,
            5,
            ApiScope::JoinGroup,
            join_request(GROUP, "", &[TOPIC])
        ),
        ApiKey::SyncGroup => minimal!(
            SyncGroupRequest,
            3,
            ApiScope::SyncGroup,
            SyncGroupRequest::default()
                .with_group_id(group())
                .with_generation_id(1)
                .with_member_id(member())
        ),
        ApiKey::Heartbeat => minimal!(
            HeartbeatRequest,
            3,
            ApiScope::Heartbeat,
            HeartbeatRequest::default()
                .with_group_id(group())
                .with_generation_id(1)
                .with_member_id(member())
        ),
        ApiKey::LeaveGroup => minimal!(
            LeaveGroupRequest,
            3,
            ApiScope::LeaveGroup,
            LeaveGroupRequest::default()
                .with_group_id(group())
                .with_members(vec![MemberIdentity::default().with_member_id(member())])
        ),
        ApiKey::OffsetCommit => minimal!(
            OffsetCommitRequest,
            8,
            ApiScope::OffsetCommit,
            OffsetCommitRequest::default()
                .with_group_id(group())
                .with_generation_id_or_member_epoch(-1)
                .with_topics(vec![
                    OffsetCommitRequestTopic::default()
                        .with_name(name(TOPIC))
                        .with_partitions(vec![
                            OffsetCommitRequestPartition::default().with_committed_offset(1)
                        ]),
                ])
        ),
        ApiKey::OffsetFetch => minimal!(
            OffsetFetchRequest,
            7,
            ApiScope::OffsetFetch,
            OffsetFetchRequest::default()
                .with_group_id(group())
                .with_topics(Some(vec![
                    OffsetFetchRequestTopic::default()
                        .with_name(name(TOPIC))
                        .with_partition_indexes(vec![0]),
                ]))
        ),
        ApiKey::ListGroups => minimal!(
            ListGroupsRequest,
            4,
            ApiScope::ListGroups,
            ListGroupsRequest::default()
        ),
        ApiKey::DescribeGroups => minimal!(
            DescribeGroupsRequest,
            5,
            ApiScope::DescribeGroups,
            DescribeGroupsRequest::default().with_groups(vec![group()])
        ),
        ApiKey::DeleteGroups => minimal!(
            DeleteGroupsRequest,
            2,
            ApiScope::DeleteGroups,
            DeleteGroupsRequest::default().with_groups_names(vec![group()])
        ),
        ApiKey::OffsetDelete => minimal!(
            OffsetDeleteRequest,
            0,
            ApiScope::OffsetDelete,
            OffsetDeleteRequest::default()
                .with_group_id(group())
                .with_topics(vec![
                    OffsetDeleteRequestTopic::default()
                        .with_name(name(TOPIC))
                        .with_partitions(vec![
                            OffsetDeleteRequestPartition::default().with_partition_index(0)
                        ]),
                ])
        ),
        ApiKey::CreateTopics => minimal!(
            kafka_protocol::messages::CreateTopicsRequest,
            5,
            ApiScope::CreateTopics,
            kafka_protocol::messages::CreateTopicsRequest::default().with_topics(vec![
                kafka_protocol::messages::create_topics_request::CreatableTopic::default()
                    .with_name(name("created-by-the-table"))
                    .with_num_partitions(1)
                    .with_replication_factor(1),
            ])
        ),
        ApiKey::DeleteTopics => minimal!(
            kafka_protocol::messages::DeleteTopicsRequest,
            4,
            ApiScope::DeleteTopics,
            kafka_protocol::messages::DeleteTopicsRequest::default()
                .with_topic_names(vec![name("no-such-topic")])
        ),
        ApiKey::CreatePartitions => minimal!(
            kafka_protocol::messages::CreatePartitionsRequest,
            1,
            ApiScope::CreatePartitions,
            kafka_protocol::messages::CreatePartitionsRequest::default()
                .with_validate_only(true)
                .with_topics(vec![
                    kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic::default()
                        .with_name(name(TOPIC))
                        .with_count(2),
                ])
        ),
        ApiKey::DescribeConfigs => minimal!(
            kafka_protocol::messages::DescribeConfigsRequest,
            2,
            ApiScope::DescribeConfigs,
            kafka_protocol::messages::DescribeConfigsRequest::default().with_resources(vec![
                kafka_protocol::messages::describe_configs_request::DescribeConfigsResource::default()
                    .with_resource_type(2)
                    .with_resource_name(StrBytes::from_static_str(TOPIC)),
            ])
        ),
        ApiKey::AlterConfigs => minimal!(
            kafka_protocol::messages::AlterConfigsRequest,
            1,
            ApiScope::AlterConfigs,
            kafka_protocol::messages::AlterConfigsRequest::default()
                .with_validate_only(true)
                .with_resources(vec![
                    kafka_protocol::messages::alter_configs_request::AlterConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(StrBytes::from_static_str(TOPIC)),
                ])
        ),
        ApiKey::IncrementalAlterConfigs => minimal!(
            kafka_protocol::messages::IncrementalAlterConfigsRequest,
            1,
            ApiScope::IncrementalAlterConfigs,
            kafka_protocol::messages::IncrementalAlterConfigsRequest::default()
                .with_validate_only(true)
                .with_resources(vec![
                    kafka_protocol::messages::incremental_alter_configs_request::AlterConfigsResource::default()
                        .with_resource_type(2)
                        .with_resource_name(StrBytes::from_static_str(TOPIC)),
                ])
        ),
        ApiKey::DeleteRecords => minimal!(
            kafka_protocol::messages::DeleteRecordsRequest,
            1,
            ApiScope::DeleteRecords,
            kafka_protocol::messages::DeleteRecordsRequest::default().with_topics(vec![
                kafka_protocol::messages::delete_records_request::DeleteRecordsTopic::default()
                    .with_name(name(TOPIC))
                    .with_partitions(vec![
                        kafka_protocol::messages::delete_records_request::DeleteRecordsPartition::default()
                            .with_offset(0),
                    ]),
            ])
        ),
        ApiKey::DescribeCluster => minimal!(
            kafka_protocol::messages::DescribeClusterRequest,
            0,
            ApiScope::DescribeCluster,
            kafka_protocol::messages::DescribeClusterRequest::default()
        ),
        ApiKey::OffsetForLeaderEpoch => minimal!(
            kafka_protocol::messages::OffsetForLeaderEpochRequest,
            3,
            ApiScope::OffsetForLeaderEpoch,
            kafka_protocol::messages::OffsetForLeaderEpochRequest::default().with_topics(vec![
                kafka_protocol::messages::offset_for_leader_epoch_request::OffsetForLeaderTopic::default()
                    .with_topic(name(TOPIC))
                    .with_partitions(vec![
                        kafka_protocol::messages::offset_for_leader_epoch_request::OffsetForLeaderPartition::default()
                            .with_current_leader_epoch(-1)
                            .with_leader_epoch(0),
                    ]),
            ])
        ),
        ApiKey::DescribeProducers => minimal!(
            kafka_protocol::messages::DescribeProducersRequest,
            0,
            ApiScope::DescribeProducers,
            kafka_protocol::messages::DescribeProducersRequest::default().with_topics(vec![
                kafka_protocol::messages::describe_producers_request::TopicRequest::default()
                    .with_name(name(TOPIC))
                    .with_partition_indexes(vec![0]),
            ])
        ),
        ApiKey::AddPartitionsToTxn => minimal!(
            kafka_protocol::messages::AddPartitionsToTxnRequest,
            3,
            ApiScope::AddPartitionsToTxn,
            kafka_protocol::messages::AddPartitionsToTxnRequest::default()
                .with_v3_and_below_transactional_id(txn_id())
                .with_v3_and_below_producer_id(1.into())
                .with_v3_and_below_topics(vec![
                    kafka_protocol::messages::add_partitions_to_txn_request::AddPartitionsToTxnTopic::default()
                        .with_name(name(TOPIC))
                        .with_partitions(vec![0]),
                ])
        ),
        ApiKey::AddOffsetsToTxn => minimal!(
            kafka_protocol::messages::AddOffsetsToTxnRequest,
            3,
            ApiScope::AddOffsetsToTxn,
            kafka_protocol::messages::AddOffsetsToTxnRequest::default()
                .with_transactional_id(txn_id())
                .with_producer_id(1.into())
                .with_group_id(group())
        ),
        ApiKey::TxnOffsetCommit => minimal!(
            kafka_protocol::messages::TxnOffsetCommitRequest,
            3,
            ApiScope::TxnOffsetCommit,
            kafka_protocol::messages::TxnOffsetCommitRequest::default()
                .with_transactional_id(txn_id())
                .with_group_id(group())
                .with_producer_id(1.into())
                .with_topics(vec![
                    kafka_protocol::messages::txn_offset_commit_request::TxnOffsetCommitRequestTopic::default()
                        .with_name(name(TOPIC))
                        .with_partitions(vec![
                            kafka_protocol::messages::txn_offset_commit_request::TxnOffsetCommitRequestPartition::default()
                                .with_committed_offset(1),
                        ]),
                ])
        ),
        ApiKey::EndTxn => minimal!(
            kafka_protocol::messages::EndTxnRequest,
            3,
            ApiScope::EndTxn,
            kafka_protocol::messages::EndTxnRequest::default()
                .with_transactional_id(txn_id())
                .with_producer_id(1.into())
        ),
        ApiKey::DescribeTransactions => minimal!(
            kafka_protocol::messages::DescribeTransactionsRequest,
            0,
            ApiScope::DescribeTransactions,
            kafka_protocol::messages::DescribeTransactionsRequest::default()
                .with_transactional_ids(vec![txn_id()])
        ),
        ApiKey::ListTransactions => minimal!(
            kafka_protocol::messages::ListTransactionsRequest,
            0,
            ApiScope::ListTransactions,
            kafka_protocol::messages::ListTransactionsRequest::default()
        ),
        ApiKey::ConsumerGroupHeartbeat => minimal!(
            kafka_protocol::messages::ConsumerGroupHeartbeatRequest,
            0,
            ApiScope::ConsumerGroupHeartbeat,
            kafka_protocol::messages::ConsumerGroupHeartbeatRequest::default()
                .with_group_id(GroupId(StrBytes::from_static_str("faulted-consumer-group")))
                .with_member_epoch(0)
                .with_rebalance_timeout_ms(30_000)
                .with_subscribed_topic_names(Some(vec![name(TOPIC)]))
                .with_topic_partitions(Some(Vec::new()))
        ),
        ApiKey::ConsumerGroupDescribe => minimal!(
            kafka_protocol::messages::ConsumerGroupDescribeRequest,
            0,
            ApiScope::ConsumerGroupDescribe,
            kafka_protocol::messages::ConsumerGroupDescribeRequest::default()
                .with_group_ids(vec![group()])
        ),
        // On this PLAINTEXT listener both answer ILLEGAL_SASL_STATE, as Kafka's do; the rule's
        // error replaces it.
        ApiKey::SaslHandshake => minimal!(
            kafka_protocol::messages::SaslHandshakeRequest,
            1,
            ApiScope::SaslHandshake,
            kafka_protocol::messages::SaslHandshakeRequest::default()
                .with_mechanism(StrBytes::from_static_str("PLAIN"))
        ),
        ApiKey::SaslAuthenticate => minimal!(
            kafka_protocol::messages::SaslAuthenticateRequest,
            2,
            ApiScope::SaslAuthenticate,
            kafka_protocol::messages::SaslAuthenticateRequest::default()
                .with_auth_bytes(bytes::Bytes::from_static(b"\0alice\0secret"))
        ),
        _ => return None,
    })
}

/// Sends `entry`'s request on a new connection: the response as `{:?}`, or `None` when the
/// broker closed the connection instead.
async fn send(broker: &MockBroker, key: ApiKey, entry: &Minimal) -> Option<String> {
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let (correlation_id, bytes) = (entry.encode)(&mut client, entry.version);
    client.send_bytes(&bytes).await;
    let mut response = client.read_response().await?;
    let header = ResponseHeader::decode(&mut response, key.response_header_version(entry.version))
        .expect("a response header");
    assert_eq!(header.correlation_id, correlation_id, "{key:?}");
    Some((entry.debug)(response, entry.version))
}

/// Whether `debug` has an `error_code` field holding exactly `code`.
fn has_error_code(debug: &str, code: i16) -> bool {
    debug
        .match_indices(&format!("error_code: {code}"))
        .any(|(at, matched)| {
            !debug[at + matched.len()..]
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_digit())
        })
}

#[tokio::test]
async fn every_served_api_answers_an_error_rule_with_its_code_and_a_disconnect_rule_by_closing() {
    let mut config = BrokerConfig::ephemeral();
    config.partitions = 1;
    let broker = MockBroker::start(config).await.expect("broker starts");
    broker.store().create_topic(TOPIC, 1);
    let mut client = KafkaClient::connect(broker.local_addr()).await;
    let served = client
        .call(3, &ApiVersionsRequest::default())
        .await
        .api_keys;
    assert!(served.len() >= 17, "{served:?}");

    for api in &served {
        let key = ApiKey::try_from(api.api_key).expect("a known API key");
        let entry = minimal(key).unwrap_or_else(|| {
            panic!(
                "{key:?} is served (ApiVersions lists it) but has no minimal request in `minimal` \
                 (mock-broker/tests/fault_every_api.rs): add one, so that faults are tested on it"
            )
        });
        assert!(
            (api.min_version..=api.max_version).contains(&entry.version),
            "{key:?}: the table's v{} is not served ({}-{})",
            entry.version,
            api.min_version,
            api.max_version
        );

        let plain = send(&broker, key, &entry)
            .await
            .unwrap_or_else(|| panic!("{key:?} without a rule is answered"));
        assert!(
            !has_error_code(&plain, INJECTED_CODE),
            "{key:?} answers {INJECTED} without a rule: {plain}"
        );

        let rule = broker
            .faults()
            .add(
                FaultSpec::error(INJECTED)
                    .with_api(entry.scope)
                    .with_count(1),
            )
            .unwrap();
        let faulted = send(&broker, key, &entry)
            .await
            .unwrap_or_else(|| panic!("{key:?} with an error rule is answered"));
        assert!(
            has_error_code(&faulted, INJECTED_CODE),
            "{key:?} v{}: an error rule for {:?} puts no error_code {INJECTED_CODE} in {faulted}",
            entry.version,
            entry.scope
        );
        let info = broker.faults().get(rule.id).unwrap();
        assert_eq!(
            (info.fired, info.state),
            (1, FaultState::Expired),
            "{key:?}"
        );

        let rule = broker
            .faults()
            .add(
                FaultSpec::disconnect(When::Before)
                    .with_api(entry.scope)
                    .with_count(1),
            )
            .unwrap();
        assert_eq!(
            send(&broker, key, &entry).await,
            None,
            "{key:?}: a disconnect rule closes the connection"
        );
        assert_eq!(broker.faults().get(rule.id).unwrap().fired, 1, "{key:?}");
    }
    broker.shutdown().await;
}

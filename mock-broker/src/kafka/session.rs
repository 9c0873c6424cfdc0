//! One Kafka connection's session: splits the buffer into requests and
//! dispatches each to its API's handler.
//!
//! [`handle`] decodes the header, checks the API and version against what is
//! served ([`api_versions::SERVED`]), consults
//! the fault rules, runs the API's handler, and appends the encoded response.
//! Requests the broker cannot answer correctly (an API it does not serve, a
//! version outside the served range, a body that does not decode) close the
//! connection with a logged reason, as Kafka does; the one exception is
//! ApiVersions, which always gets an answer (KIP-511).

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::ResponseError;
use kafka_protocol::messages::{
    AddOffsetsToTxnRequest, AddPartitionsToTxnRequest, ApiKey, ApiVersionsRequest,
    ConsumerGroupDescribeRequest, ConsumerGroupHeartbeatRequest, DeleteGroupsRequest,
    DescribeGroupsRequest, DescribeTransactionsRequest, EndTxnRequest, FetchRequest,
    FindCoordinatorRequest, HeartbeatRequest, InitProducerIdRequest, JoinGroupRequest,
    LeaveGroupRequest, ListGroupsRequest, ListOffsetsRequest, ListTransactionsRequest,
    MetadataRequest, OffsetCommitRequest, OffsetDeleteRequest, OffsetFetchRequest, ProduceRequest,
    RequestHeader, SyncGroupRequest, TxnOffsetCommitRequest,
};
use kafka_protocol::messages::{
    AlterConfigsRequest, CreatePartitionsRequest, CreateTopicsRequest, DeleteRecordsRequest,
    DeleteTopicsRequest, DescribeClusterRequest, DescribeConfigsRequest, DescribeProducersRequest,
    IncrementalAlterConfigsRequest, OffsetForLeaderEpochRequest, SaslAuthenticateRequest,
    SaslHandshakeRequest,
};
use kafka_protocol::protocol::Decodable;
use protocol::size_prefix::{self, Framed};

use super::authentication::{Admission, Authentication};
use super::context::Ctx;
use super::decode_budget::{decode_within, element_budget, exceeded};
use super::error::CloseReason;
use super::fetch_response::FetchAnswer;
use super::named_partitions::NamedPartitions;
use super::response::{Responder, write_response};
use super::{
    add_offsets_to_txn, add_partitions_to_txn, admin_fault_response, alter_configs,
    create_partitions, create_topics, delete_records, delete_topics, describe_cluster,
    describe_configs, describe_producers, describe_transactions, end_txn,
    incremental_alter_configs, list_transactions, offset_for_leader_epoch, txn_offset_commit,
};
use super::{
    api_versions, fault_response, fetch, find_coordinator, init_producer_id, list_offsets,
    metadata, produce, sasl_authenticate, sasl_handshake,
};
use super::{consumer_group_describe, consumer_group_heartbeat};
use super::{
    delete_groups, describe_groups, heartbeat, join_group, leave_group, list_groups, offset_commit,
    offset_delete, offset_fetch, sync_group,
};
use crate::client::ClientSlot;
use crate::clock::now_ms;
use crate::fault::{ApiScope, FaultDisconnect, FaultReply, Names, ProtocolScope, RequestName};
use crate::outgoing::Outgoing;
use crate::state::BrokerState;
use crate::step::Step;
use crate::store::Protocol;

/// Per-connection state.
#[derive(Debug)]
pub(crate) struct Session {
    peer: SocketAddr,
    node_id: i32,
    /// The listener the client came in on (an index into each broker's endpoints).
    endpoint: usize,
    client: ClientSlot,
    auth: Authentication,
}

impl Session {
    /// A session for the client at `peer`, accepted by broker `node_id` on listener
    /// `endpoint`, which requires SASL authentication first if `sasl`.
    pub(crate) fn on_listener(peer: SocketAddr, node_id: i32, endpoint: usize, sasl: bool) -> Self {
        Session {
            peer,
            node_id,
            endpoint,
            client: ClientSlot::new(peer, Protocol::Kafka),
            auth: Authentication::for_listener(sasl),
        }
    }

    /// Handles the next whole request in `buffer`, if there is one,
    /// appending its response to `out`.
    pub(crate) async fn next(
        &mut self,
        buffer: &mut BytesMut,
        out: &mut Outgoing,
        state: &BrokerState,
    ) -> Step<CloseReason> {
        if crate::large_request::announced(buffer, state.config.max_frame_bytes).is_some() {
            // The connection reads the rest of it into memory of its own: no room is reserved
            // for it in the buffer.
            return Step::Incomplete;
        }
        let request =
            match size_prefix::split(buffer, Framed::Request, state.config.max_frame_bytes) {
                Ok(Some(request)) => request,
                Ok(None) => return Step::Incomplete,
                Err(e) => {
                    let reason = match protocol::foreign::recognise(buffer) {
                        Some(foreign) => CloseReason::Foreign(foreign),
                        None => e.into(),
                    };
                    return Step::Close(reason, None);
                }
            };
        self.answer(request, out, state).await
    }

    /// Handles one whole request (without its size prefix), appending its response to `out`:
    /// what [`next`](Self::next) does with each request it splits off, and what a connection
    /// does with a request it read into memory of its own ([`crate::large_request`]).
    pub(crate) async fn answer(
        &mut self,
        request: Bytes,
        out: &mut Outgoing,
        state: &BrokerState,
    ) -> Step<CloseReason> {
        if self.auth.expects_raw_token() {
            return self.raw_token(&request, out, state);
        }
        match handle(request, self, state, now_ms(), out).await {
            Ok(hold) => Step::Answered(hold),
            Err(reason) => Step::Close(reason, None),
        }
    }
}

impl Session {
    /// A SASL token without a Kafka header, as clients send them after a v0 SaslHandshake:
    /// answered with the server's token, size-prefixed alike. A failure closes the
    /// connection without an answer, as Kafka does in this flow.
    fn raw_token(
        &mut self,
        token: &[u8],
        out: &mut Outgoing,
        state: &BrokerState,
    ) -> Step<CloseReason> {
        let answer = self.auth.token(token, &state.credentials, self.peer);
        if let Some(reason) = answer.close {
            return Step::Close(reason, None);
        }
        let writer = out.writer();
        bytes::BufMut::put_u32(writer, answer.token.len() as u32);
        bytes::BufMut::put_slice(writer, &answer.token);
        Step::Answered(None)
    }
}

/// Handles one request (without its size prefix), appending any response to `out`.
///
/// Returns how long a fault rule wants the response held back, if at all.
///
/// # Errors
/// The reason to close the connection, after whatever `out` holds is sent.
pub(crate) async fn handle(
    mut request: Bytes,
    session: &mut Session,
    state: &BrokerState,
    receive_time: i64,
    out: &mut Outgoing,
) -> Result<Option<Duration>, CloseReason> {
    let raw_key = i16::from_be_bytes([request[0], request[1]]);
    let version = i16::from_be_bytes([request[2], request[3]]);
    let correlation_id = i32::from_be_bytes([request[4], request[5], request[6], request[7]]);
    let Ok(api_key) = ApiKey::try_from(raw_key) else {
        return Err(CloseReason::UnknownApiKey {
            key: raw_key,
            correlation_id,
        });
    };
    state
        .stats
        .request(Protocol::Kafka, api_name(api_key), version);
    if api_key == ApiKey::ApiVersions && !(0..=4).contains(&version) {
        // KIP-511: v0 header and body, listing what is served, whatever was asked.
        let body = api_versions::unsupported_version_response();
        write_response(out.writer(), correlation_id, 0, 0, &body)?;
        return Ok(None);
    }
    let Some((min, max)) = api_versions::served(api_key) else {
        return Err(CloseReason::NotServed {
            api: api_key,
            correlation_id,
        });
    };
    if !(min..=max).contains(&version) {
        return Err(CloseReason::UnsupportedVersion {
            api: api_key,
            version,
            min,
            max,
            correlation_id,
        });
    }
    let header = RequestHeader::decode(&mut request, api_key.request_header_version(version))
        .map_err(|error| CloseReason::HeaderDecode {
            api: api_key,
            version,
            error,
        })?;
    // During a SASL exchange a request of another API gets its own response with
    // ILLEGAL_SASL_STATE, through the fault path (no handler runs), then the close.
    let sasl_refusal = match session.auth.admit(api_key)? {
        Admission::Serve => None,
        Admission::IllegalSaslState(reason) => Some(reason),
    };
    let imposed = sasl_refusal
        .as_ref()
        .map(|_| ResponseError::IllegalSaslState.code());
    let client = session
        .client
        .get(header.client_id.as_ref().map(|s| s.as_str()));
    let ctx = Ctx {
        state,
        node_id: session.node_id,
        endpoint: session.endpoint,
        client,
        receive_time,
    };
    let reply = Responder {
        out,
        correlation_id,
        header_version: api_key.response_header_version(version),
        version,
        api_key,
        state,
        peer: session.peer,
    };
    let node_id = session.node_id;
    let peer = session.peer;
    // Every body is decoded within an element budget, so that a request listing far more
    // partitions (topics, groups, ids) than max_partitions_per_request is refused while it is
    // decoded, before its arrays are allocated (`decode_budget.rs`).
    let budget = element_budget(state.config.max_partitions_per_request);
    let decode_error = |error: anyhow::Error| match exceeded(&error) {
        Some(budget) => {
            let reason = CloseReason::TooManyElements {
                api: api_key,
                budget,
                limit: state.config.max_partitions_per_request,
                correlation_id,
            };
            state
                .refusals
                .refused("max_partitions_per_request", peer, &reason.to_string());
            reason
        }
        None => CloseReason::Decode {
            api: api_key,
            version,
            error,
        },
    };
    // Checked once decoded, before anything is answered: the response would be many times
    // larger. Every request naming partitions or topics is counted (`named_partitions.rs`).
    let partition_limit = |count: usize| -> Result<(), CloseReason> {
        let limit = state.config.max_partitions_per_request;
        if count <= limit as usize {
            return Ok(());
        }
        let reason = CloseReason::TooManyPartitions {
            api: api_key,
            count,
            limit,
            correlation_id,
        };
        state
            .refusals
            .refused("max_partitions_per_request", peer, &reason.to_string());
        Err(reason)
    };
    let request_name = RequestName::Kafka {
        api: api_key,
        correlation_id,
    };
    let fault = |api: ApiScope,
                 touches: &dyn Fn(Option<&str>, Option<u32>) -> bool|
     -> Result<FaultReply, FaultDisconnect> {
        if let Some(code) = imposed {
            return Ok(FaultReply::imposed(code, request_name));
        }
        FaultReply::consult(
            &state.faults,
            ProtocolScope::Kafka,
            node_id,
            api,
            touches,
            request_name,
        )
    };
    // Group and transaction requests also match rules scoped by `group` and `transactional_id`:
    // `names` says whether one names a group or a transactional id.
    let named_fault = |api: ApiScope,
                       touches: &dyn Fn(Option<&str>, Option<u32>) -> bool,
                       names: Names<'_>|
     -> Result<FaultReply, FaultDisconnect> {
        if let Some(code) = imposed {
            return Ok(FaultReply::imposed(code, request_name));
        }
        FaultReply::consult_group(
            &state.faults,
            ProtocolScope::Kafka,
            node_id,
            api,
            touches,
            names,
            request_name,
        )
    };
    let group_fault = |api: ApiScope,
                       touches: &dyn Fn(Option<&str>, Option<u32>) -> bool,
                       group: &dyn Fn(&str) -> bool|
     -> Result<FaultReply, FaultDisconnect> {
        named_fault(
            api,
            touches,
            Names {
                group,
                transaction: &|_| false,
            },
        )
    };
    let txn_fault = |api: ApiScope,
                     touches: &dyn Fn(Option<&str>, Option<u32>) -> bool,
                     transaction: &dyn Fn(&str) -> bool|
     -> Result<FaultReply, FaultDisconnect> {
        named_fault(
            api,
            touches,
            Names {
                group: &|_| false,
                transaction,
            },
        )
    };
    let untargeted = |_: Option<&str>, _: Option<u32>| false;
    let answered = match api_key {
        ApiKey::ApiVersions => {
            decode_within(budget, || ApiVersionsRequest::decode(&mut request, version))
                .map_err(decode_error)?;
            let fault = fault(ApiScope::ApiVersions, &untargeted)?;
            reply.send(fault, Some(api_versions::response()))
        }
        ApiKey::Metadata => {
            let body = decode_within(budget, || MetadataRequest::decode(&mut request, version))
                .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::Metadata, &|topic, _| {
                metadata::touches(&body, topic)
            })?;
            // Refused during SASL authentication: no topic is auto-created. Nor is one when
            // an injected error answers the request (it goes into every topic described).
            let response = match imposed {
                Some(_) => metadata::unserved(&body),
                None => metadata::handle(body, version, &ctx, fault.kafka_error().is_none()),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::Produce => {
            let body = decode_within(budget, || ProduceRequest::decode(&mut request, version))
                .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::Produce, &|topic, partition| {
                produce::touches(&body, topic, partition)
            })?;
            // An injected error records nothing, so the handler does not run.
            let response = match fault.kafka_error() {
                Some(code) => fault_response::produce_error(&body, version, code),
                None => produce::handle(body, version, &ctx),
            };
            reply.send(fault, response)
        }
        ApiKey::InitProducerId => {
            let body = decode_within(budget, || {
                InitProducerIdRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            let fault = txn_fault(ApiScope::InitProducerId, &untargeted, &|t| {
                body.transactional_id
                    .as_ref()
                    .is_some_and(|id| id.0.as_str() == t)
            })?;
            // Refused during SASL authentication: no producer id is handed out.
            let response = match imposed {
                Some(_) => init_producer_id::unserved(),
                None => init_producer_id::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::Fetch => {
            let body = decode_within(budget, || FetchRequest::decode(&mut request, version))
                .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::Fetch, &|topic, partition| {
                fetch::touches(&body, topic, partition)
            })?;
            let response = match fault.kafka_error() {
                Some(code) => FetchAnswer {
                    response: fault_response::fetch_error(&body, version, code),
                    records: Vec::new(),
                },
                None => fetch::handle(body, version, &ctx).await,
            };
            reply.send(fault, Some(response))
        }
        ApiKey::FindCoordinator => {
            let body = decode_within(budget, || {
                FindCoordinatorRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = named_fault(
                ApiScope::FindCoordinator,
                &untargeted,
                Names {
                    group: &|group| find_coordinator::names_group(&body, version, group),
                    transaction: &|id| find_coordinator::names_transaction(&body, version, id),
                },
            )?;
            reply.send(fault, Some(find_coordinator::handle(body, version, &ctx)))
        }
        ApiKey::ListOffsets => {
            let body = decode_within(budget, || ListOffsetsRequest::decode(&mut request, version))
                .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::ListOffsets, &|topic, partition| {
                list_offsets::touches(&body, topic, partition)
            })?;
            reply.send(fault, Some(list_offsets::handle(body, version, &ctx)))
        }
        // Group requests: a faulted one never reaches the coordinator; its `refused`
        // skeleton gets the rule's code.
        ApiKey::JoinGroup => {
            let body = decode_within(budget, || JoinGroupRequest::decode(&mut request, version))
                .map_err(decode_error)?;
            let fault = group_fault(ApiScope::JoinGroup, &untargeted, &|g| {
                body.group_id.0.as_str() == g
            })?;
            let response = match fault.kafka_error() {
                Some(code) => join_group::refused(&body, version, injected(code)),
                None => join_group::handle(body, version, &ctx).await,
            };
            reply.send(fault, Some(response))
        }
        ApiKey::SyncGroup => {
            let body = decode_within(budget, || SyncGroupRequest::decode(&mut request, version))
                .map_err(decode_error)?;
            let fault = group_fault(ApiScope::SyncGroup, &untargeted, &|g| {
                body.group_id.0.as_str() == g
            })?;
            let response = match fault.kafka_error() {
                Some(code) => sync_group::refused(version, injected(code)),
                None => sync_group::handle(body, version, &ctx).await,
            };
            reply.send(fault, Some(response))
        }
        ApiKey::Heartbeat => {
            let body = decode_within(budget, || HeartbeatRequest::decode(&mut request, version))
                .map_err(decode_error)?;
            let fault = group_fault(ApiScope::Heartbeat, &untargeted, &|g| {
                body.group_id.0.as_str() == g
            })?;
            let response = match fault.kafka_error() {
                Some(code) => heartbeat::refused(injected(code)),
                None => heartbeat::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::LeaveGroup => {
            let body = decode_within(budget, || LeaveGroupRequest::decode(&mut request, version))
                .map_err(decode_error)?;
            let fault = group_fault(ApiScope::LeaveGroup, &untargeted, &|g| {
                body.group_id.0.as_str() == g
            })?;
            let response = match fault.kafka_error() {
                Some(code) => leave_group::refused(injected(code)),
                None => leave_group::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::OffsetCommit => {
            let body = decode_within(budget, || {
                OffsetCommitRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = group_fault(
                ApiScope::OffsetCommit,
                &|topic, partition| offset_commit::touches(&body, topic, partition),
                &|g| body.group_id.0.as_str() == g,
            )?;
            let response = match fault.kafka_error() {
                Some(code) => offset_commit::refused(&body, injected(code)),
                None => offset_commit::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::OffsetFetch => {
            let body = decode_within(budget, || OffsetFetchRequest::decode(&mut request, version))
                .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = group_fault(
                ApiScope::OffsetFetch,
                &|topic, partition| offset_fetch::touches(&body, topic, partition),
                &|g| {
                    body.group_id.0.as_str() == g
                        || body.groups.iter().any(|x| x.group_id.0.as_str() == g)
                },
            )?;
            let response = match fault.kafka_error() {
                Some(code) => offset_fetch::refused(&body, version, injected(code)),
                None => offset_fetch::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::ListGroups => {
            let body = decode_within(budget, || ListGroupsRequest::decode(&mut request, version))
                .map_err(decode_error)?;
            let fault = fault(ApiScope::ListGroups, &untargeted)?;
            let response = match fault.kafka_error() {
                Some(_) => Default::default(),
                None => list_groups::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::DescribeGroups => {
            let body = decode_within(budget, || {
                DescribeGroupsRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = group_fault(ApiScope::DescribeGroups, &untargeted, &|g| {
                body.groups.iter().any(|x| x.0.as_str() == g)
            })?;
            let response = match fault.kafka_error() {
                Some(code) => describe_groups::refused(&body, injected(code)),
                None => describe_groups::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::DeleteGroups => {
            let body = decode_within(budget, || {
                DeleteGroupsRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = group_fault(ApiScope::DeleteGroups, &untargeted, &|g| {
                body.groups_names.iter().any(|x| x.0.as_str() == g)
            })?;
            let response = match fault.kafka_error() {
                Some(code) => delete_groups::refused(&body, injected(code)),
                None => delete_groups::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::OffsetDelete => {
            let body = decode_within(budget, || {
                OffsetDeleteRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = group_fault(
                ApiScope::OffsetDelete,
                &|topic, partition| offset_delete::touches(&body, topic, partition),
                &|g| body.group_id.0.as_str() == g,
            )?;
            let response = match fault.kafka_error() {
                Some(code) => offset_delete::refused(&body, injected(code)),
                None => offset_delete::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        // The admin APIs: those that change the broker do not run when a fault refuses them.
        ApiKey::CreateTopics => {
            let body = decode_within(budget, || {
                CreateTopicsRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::CreateTopics, &|topic, _| {
                create_topics::touches(&body, topic)
            })?;
            let response = match fault.kafka_error() {
                Some(_) => admin_fault_response::create_topics_refused(&body),
                None => create_topics::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::DeleteTopics => {
            let body = decode_within(budget, || {
                DeleteTopicsRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::DeleteTopics, &|topic, _| {
                delete_topics::touches(&body, version, topic)
            })?;
            let response = match fault.kafka_error() {
                Some(_) => admin_fault_response::delete_topics_refused(&body, version),
                None => delete_topics::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::CreatePartitions => {
            let body = decode_within(budget, || {
                CreatePartitionsRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::CreatePartitions, &|topic, _| {
                create_partitions::touches(&body, topic)
            })?;
            let response = match fault.kafka_error() {
                Some(_) => admin_fault_response::create_partitions_refused(&body),
                None => create_partitions::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::DescribeConfigs => {
            let body = decode_within(budget, || {
                DescribeConfigsRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::DescribeConfigs, &|topic, _| {
                describe_configs::touches(&body, topic)
            })?;
            reply.send(fault, Some(describe_configs::handle(body, version, &ctx)))
        }
        ApiKey::AlterConfigs => {
            let body = decode_within(budget, || {
                AlterConfigsRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::AlterConfigs, &|topic, _| {
                alter_configs::touches(&body, topic)
            })?;
            let response = match fault.kafka_error() {
                Some(_) => admin_fault_response::alter_configs_refused(&body),
                None => alter_configs::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::IncrementalAlterConfigs => {
            let body = decode_within(budget, || {
                IncrementalAlterConfigsRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::IncrementalAlterConfigs, &|topic, _| {
                incremental_alter_configs::touches(&body, topic)
            })?;
            let response = match fault.kafka_error() {
                Some(_) => admin_fault_response::incremental_alter_configs_refused(&body),
                None => incremental_alter_configs::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::DeleteRecords => {
            let body = decode_within(budget, || {
                DeleteRecordsRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::DeleteRecords, &|topic, partition| {
                delete_records::touches(&body, topic, partition)
            })?;
            let response = match fault.kafka_error() {
                Some(_) => admin_fault_response::delete_records_refused(&body),
                None => delete_records::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::DescribeCluster => {
            let body = decode_within(budget, || {
                DescribeClusterRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            let fault = fault(ApiScope::DescribeCluster, &untargeted)?;
            reply.send(fault, Some(describe_cluster::handle(body, version, &ctx)))
        }
        ApiKey::OffsetForLeaderEpoch => {
            let body = decode_within(budget, || {
                OffsetForLeaderEpochRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::OffsetForLeaderEpoch, &|topic, partition| {
                offset_for_leader_epoch::touches(&body, topic, partition)
            })?;
            reply.send(
                fault,
                Some(offset_for_leader_epoch::handle(body, version, &ctx)),
            )
        }
        ApiKey::DescribeProducers => {
            let body = decode_within(budget, || {
                DescribeProducersRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = fault(ApiScope::DescribeProducers, &|topic, partition| {
                describe_producers::touches(&body, topic, partition)
            })?;
            reply.send(fault, Some(describe_producers::handle(body, version, &ctx)))
        }
        // Transaction requests: a faulted one never reaches the coordinator either.
        ApiKey::AddPartitionsToTxn => {
            let body = decode_within(budget, || {
                AddPartitionsToTxnRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = txn_fault(ApiScope::AddPartitionsToTxn, &untargeted, &|t| {
                body.v3_and_below_transactional_id.0.as_str() == t
                    || body
                        .transactions
                        .iter()
                        .any(|txn| txn.transactional_id.0.as_str() == t)
            })?;
            let response = match fault.kafka_error() {
                Some(code) => add_partitions_to_txn::refused(&body, version, injected(code)),
                None => add_partitions_to_txn::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::AddOffsetsToTxn => {
            let body = decode_within(budget, || {
                AddOffsetsToTxnRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            let fault = named_fault(
                ApiScope::AddOffsetsToTxn,
                &untargeted,
                Names {
                    group: &|g| body.group_id.0.as_str() == g,
                    transaction: &|t| body.transactional_id.0.as_str() == t,
                },
            )?;
            let response = match fault.kafka_error() {
                Some(code) => add_offsets_to_txn::refused(injected(code)),
                None => add_offsets_to_txn::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::TxnOffsetCommit => {
            let body = decode_within(budget, || {
                TxnOffsetCommitRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = named_fault(
                ApiScope::TxnOffsetCommit,
                &|topic, partition| txn_offset_commit::touches(&body, topic, partition),
                Names {
                    group: &|g| body.group_id.0.as_str() == g,
                    transaction: &|t| body.transactional_id.0.as_str() == t,
                },
            )?;
            let response = match fault.kafka_error() {
                Some(code) => txn_offset_commit::refused(&body, injected(code)),
                None => txn_offset_commit::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::EndTxn => {
            let body = decode_within(budget, || EndTxnRequest::decode(&mut request, version))
                .map_err(decode_error)?;
            let fault = txn_fault(ApiScope::EndTxn, &untargeted, &|t| {
                body.transactional_id.0.as_str() == t
            })?;
            let response = match fault.kafka_error() {
                Some(code) => end_txn::refused(injected(code)),
                None => end_txn::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::DescribeTransactions => {
            let body = decode_within(budget, || {
                DescribeTransactionsRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = txn_fault(ApiScope::DescribeTransactions, &untargeted, &|t| {
                body.transactional_ids.iter().any(|id| id.0.as_str() == t)
            })?;
            let response = match fault.kafka_error() {
                Some(code) => describe_transactions::refused(&body, injected(code)),
                None => describe_transactions::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::ListTransactions => {
            let body = decode_within(budget, || {
                ListTransactionsRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            let fault = fault(ApiScope::ListTransactions, &untargeted)?;
            let response = match fault.kafka_error() {
                Some(_) => Default::default(),
                None => list_transactions::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::ConsumerGroupHeartbeat => {
            let body = decode_within(budget, || {
                ConsumerGroupHeartbeatRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            let fault = group_fault(ApiScope::ConsumerGroupHeartbeat, &untargeted, &|g| {
                body.group_id.0.as_str() == g
            })?;
            let response = match fault.kafka_error() {
                Some(code) => consumer_group_heartbeat::refused(injected(code)),
                None => consumer_group_heartbeat::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::ConsumerGroupDescribe => {
            let body = decode_within(budget, || {
                ConsumerGroupDescribeRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            partition_limit(body.named_partitions())?;
            let fault = group_fault(ApiScope::ConsumerGroupDescribe, &untargeted, &|g| {
                body.group_ids.iter().any(|x| x.0.as_str() == g)
            })?;
            let response = match fault.kafka_error() {
                Some(code) => consumer_group_describe::refused(&body, injected(code)),
                None => consumer_group_describe::handle(body, version, &ctx),
            };
            reply.send(fault, Some(response))
        }
        ApiKey::SaslHandshake => {
            let body = decode_within(budget, || {
                SaslHandshakeRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            let fault = fault(ApiScope::SaslHandshake, &untargeted)?;
            // A faulted handshake leaves the connection where it was.
            let (response, close) = match fault.kafka_error() {
                Some(code) => (sasl_handshake::response(Some(code)), None),
                None => sasl_handshake::handle(&body, version, &mut session.auth),
            };
            let hold = reply.send(fault, Some(response))?;
            close.map_or(Ok(hold), Err)
        }
        ApiKey::SaslAuthenticate => {
            let body = decode_within(budget, || {
                SaslAuthenticateRequest::decode(&mut request, version)
            })
            .map_err(decode_error)?;
            let fault = fault(ApiScope::SaslAuthenticate, &untargeted)?;
            let (response, close) = match fault.kafka_error() {
                Some(_) => (Default::default(), None),
                None => sasl_authenticate::handle(
                    &body,
                    &mut session.auth,
                    &state.credentials,
                    session.peer,
                ),
            };
            let hold = reply.send(fault, Some(response))?;
            close.map_or(Ok(hold), Err)
        }
        other => Err(CloseReason::NoHandler { api: other }),
    };
    match sasl_refusal {
        Some(reason) => answered.and(Err(reason)),
        None => answered,
    }
}

/// A fault rule's Kafka error code as the error a handler's `refused` answer takes; the
/// responder then writes the rule's own code, so an unknown one is kept too.
fn injected(code: i16) -> ResponseError {
    ResponseError::try_from_code(code).unwrap_or(ResponseError::UnknownServerError)
}

/// The API's name as Kafka spells it (`Produce`, `ApiVersions`, …), made
/// once per API rather than for every request.
fn api_name(key: ApiKey) -> &'static str {
    static NAMES: [std::sync::OnceLock<String>; 128] = [const { std::sync::OnceLock::new() }; 128];
    match NAMES.get(key as usize) {
        Some(name) => name.get_or_init(|| format!("{key:?}")),
        None => "Unknown",
    }
}

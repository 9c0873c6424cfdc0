//! The Kafka wire protocol, as the mock broker serves it.
//!
//! `connection.rs` hands each size-delimited request to [`handle`], which
//! decodes the header, checks the API and version against what is served
//! ([`api_versions::SERVED`]), runs the API's handler, and appends the
//! encoded response. Requests the broker cannot answer correctly (an API it
//! does not serve, a version outside the served range, a body that does not
//! decode) close the connection with a logged reason, as Kafka does; the one
//! exception is ApiVersions, which always gets an answer (KIP-511).

pub(crate) mod api_versions;
mod decompress;
mod fault_response;
mod fetch;
mod find_coordinator;
mod init_producer_id;
mod list_offsets;
mod metadata;
mod produce;
pub(crate) mod record_batch;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, FetchRequest, FindCoordinatorRequest, InitProducerIdRequest,
    ListOffsetsRequest, MetadataRequest, ProduceRequest, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable};

use crate::fault::{ApiScope, ProtocolScope, RequestFacts, Verdict, When};
use crate::state::BrokerState;
use crate::store::{ClientInfo, Protocol};
use fault_response::FaultableResponse;

/// What one request's handler may use.
pub(crate) struct Ctx<'a> {
    pub(crate) state: &'a BrokerState,
    /// The broker the connection was accepted by.
    pub(crate) node_id: i32,
    pub(crate) client: &'a Arc<ClientInfo>,
    /// When the request was received, ms since the Unix epoch.
    pub(crate) receive_time: i64,
}

/// Per-connection state.
#[derive(Debug)]
pub(crate) struct Session {
    peer: SocketAddr,
    node_id: i32,
    client: Option<Arc<ClientInfo>>,
}

impl Session {
    pub(crate) fn new(peer: SocketAddr, node_id: i32) -> Self {
        Session {
            peer,
            node_id,
            client: None,
        }
    }

    /// The connection's client description, refreshed when the client id changes.
    fn client(&mut self, client_id: Option<&str>) -> Arc<ClientInfo> {
        let stale = self
            .client
            .as_ref()
            .is_none_or(|c| c.client_id.as_deref() != client_id);
        if stale {
            self.client = Some(Arc::new(ClientInfo {
                address: self.peer,
                protocol: Protocol::Kafka,
                client_id: client_id.map(str::to_string),
            }));
        }
        self.client.clone().expect("just set")
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
    out: &mut BytesMut,
) -> Result<Option<Duration>, String> {
    let raw_key = i16::from_be_bytes([request[0], request[1]]);
    let version = i16::from_be_bytes([request[2], request[3]]);
    let correlation_id = i32::from_be_bytes([request[4], request[5], request[6], request[7]]);
    let Ok(api_key) = ApiKey::try_from(raw_key) else {
        return Err(format!(
            "unknown API key {raw_key} (correlation id {correlation_id})"
        ));
    };
    state
        .stats
        .request(Protocol::Kafka, api_name(api_key), version);
    if api_key == ApiKey::ApiVersions && !(0..=4).contains(&version) {
        // KIP-511: v0 header and body, listing what is served, whatever was asked.
        let body = api_versions::unsupported_version_response();
        write_response(out, correlation_id, 0, 0, &body)?;
        return Ok(None);
    }
    let Some((min, max)) = api_versions::served(api_key) else {
        return Err(format!(
            "{api_key:?} is not served by the mock broker (correlation id {correlation_id})"
        ));
    };
    if !(min..=max).contains(&version) {
        return Err(format!(
            "{api_key:?} v{version} is not served; versions {min} to {max} are (correlation id {correlation_id})"
        ));
    }
    let header = RequestHeader::decode(&mut request, api_key.request_header_version(version))
        .map_err(|e| format!("cannot decode the {api_key:?} v{version} request header: {e:#}"))?;
    let client = session.client(header.client_id.as_ref().map(|s| s.as_str()));
    let ctx = Ctx {
        state,
        node_id: session.node_id,
        client: &client,
        receive_time,
    };
    let reply = Reply {
        out,
        correlation_id,
        header_version: api_key.response_header_version(version),
        version,
        api_key,
        state,
        peer: session.peer,
    };
    let decode_error =
        |e: anyhow::Error| format!("cannot decode the {api_key:?} v{version} request: {e:#}");
    let faults = |api: ApiScope, touches: &dyn Fn(Option<&str>, Option<u32>) -> bool| {
        if !state.faults.any_per_request() {
            return Verdict::default();
        }
        let facts = RequestFacts {
            protocol: ProtocolScope::Kafka,
            broker: session.node_id,
            api,
            touches,
        };
        state.faults.on_request(&facts)
    };
    let untargeted = |_: Option<&str>, _: Option<u32>| false;
    match api_key {
        ApiKey::ApiVersions => {
            ApiVersionsRequest::decode(&mut request, version).map_err(decode_error)?;
            let verdict = faults(ApiScope::ApiVersions, &untargeted);
            reply.check_before(&verdict)?;
            reply.send(verdict, Some(api_versions::response()))
        }
        ApiKey::Metadata => {
            let body = MetadataRequest::decode(&mut request, version).map_err(decode_error)?;
            let verdict = faults(ApiScope::Metadata, &|topic, _| {
                metadata::touches(&body, topic)
            });
            reply.check_before(&verdict)?;
            reply.send(verdict, Some(metadata::handle(body, version, &ctx)))
        }
        ApiKey::Produce => {
            let body = ProduceRequest::decode(&mut request, version).map_err(decode_error)?;
            let verdict = faults(ApiScope::Produce, &|topic, partition| {
                produce::touches(&body, topic, partition)
            });
            reply.check_before(&verdict)?;
            // An injected error records nothing, so the handler does not run.
            let response = match verdict.error.and_then(|e| e.kafka) {
                Some(code) => fault_response::produce_error(&body, version, code),
                None => produce::handle(body, version, &ctx),
            };
            reply.send(verdict, response)
        }
        ApiKey::InitProducerId => {
            let body =
                InitProducerIdRequest::decode(&mut request, version).map_err(decode_error)?;
            let verdict = faults(ApiScope::InitProducerId, &untargeted);
            reply.check_before(&verdict)?;
            reply.send(verdict, Some(init_producer_id::handle(body, version, &ctx)))
        }
        ApiKey::Fetch => {
            let body = FetchRequest::decode(&mut request, version).map_err(decode_error)?;
            let verdict = faults(ApiScope::Fetch, &|topic, partition| {
                fetch::touches(&body, topic, partition)
            });
            reply.check_before(&verdict)?;
            let response = match verdict.error.and_then(|e| e.kafka) {
                Some(code) => fault_response::fetch_error(&body, version, code),
                None => fetch::handle(body, version, &ctx).await,
            };
            reply.send(verdict, Some(response))
        }
        ApiKey::FindCoordinator => {
            let body =
                FindCoordinatorRequest::decode(&mut request, version).map_err(decode_error)?;
            let verdict = faults(ApiScope::FindCoordinator, &untargeted);
            reply.check_before(&verdict)?;
            reply.send(verdict, Some(find_coordinator::handle(body, version, &ctx)))
        }
        ApiKey::ListOffsets => {
            let body = ListOffsetsRequest::decode(&mut request, version).map_err(decode_error)?;
            let verdict = faults(ApiScope::ListOffsets, &|topic, partition| {
                list_offsets::touches(&body, topic, partition)
            });
            reply.check_before(&verdict)?;
            reply.send(verdict, Some(list_offsets::handle(body, version, &ctx)))
        }
        other => Err(format!("{other:?} is advertised but has no handler")),
    }
}

/// Where and how one request's response is written, faults applied.
struct Reply<'a> {
    out: &'a mut BytesMut,
    correlation_id: i32,
    header_version: i16,
    version: i16,
    api_key: ApiKey,
    state: &'a BrokerState,
    peer: SocketAddr,
}

impl Reply<'_> {
    /// Closes the connection now if a `disconnect when = "before"` fired.
    fn check_before(&self, verdict: &Verdict) -> Result<(), String> {
        if verdict.disconnect == Some(When::Before) {
            return Err(format!(
                "fault: disconnect before handling {:?} (correlation id {})",
                self.api_key, self.correlation_id
            ));
        }
        Ok(())
    }

    /// Writes `response` (none for acks=0) with the verdict's error and
    /// throttle applied, or closes the connection instead for a
    /// `disconnect when = "after"`.
    fn send<R: Encodable + FaultableResponse>(
        self,
        verdict: Verdict,
        response: Option<R>,
    ) -> Result<Option<Duration>, String> {
        if verdict.disconnect == Some(When::After) {
            return Err(format!(
                "fault: disconnect after handling {:?} (correlation id {}), before answering",
                self.api_key, self.correlation_id
            ));
        }
        let Some(mut response) = response else {
            return Ok(verdict.delay);
        };
        if let Some(code) = verdict.error.and_then(|e| e.kafka) {
            response.set_error(code, self.version);
            let name = protocol::kafka_error::error_name(code);
            self.state.stats.error(Protocol::Kafka, &name);
            tracing::debug!(peer = %self.peer, api = ?self.api_key, error = %name, "fault: answered with an error");
        }
        if let Some(ms) = verdict.throttle_ms {
            response.throttle(ms, self.version);
        }
        write_response(
            self.out,
            self.correlation_id,
            self.header_version,
            self.version,
            &response,
        )?;
        Ok(verdict.delay)
    }
}

/// Whether a partition of a request matches a fault rule's topic and partition (`None` = any).
fn scope_covers(scope: (Option<&str>, Option<u32>), topic: &str, partition: i32) -> bool {
    scope.0.is_none_or(|t| t == topic)
        && scope.1.is_none_or(|p| i64::from(p) == i64::from(partition))
}

/// Appends a size-prefixed response: header at `header_version`, body at `version`.
fn write_response<R: Encodable>(
    out: &mut BytesMut,
    correlation_id: i32,
    header_version: i16,
    version: i16,
    body: &R,
) -> Result<(), String> {
    let start = out.len();
    out.put_i32(0);
    let encoded = ResponseHeader::default()
        .with_correlation_id(correlation_id)
        .encode(out, header_version)
        .and_then(|()| body.encode(out, version));
    if let Err(e) = encoded {
        out.truncate(start);
        // A response the broker cannot encode is a broker bug: say so loudly.
        tracing::error!(correlation_id, version, error = %e, "cannot encode a response");
        return Err(format!(
            "cannot encode the response to correlation id {correlation_id}: {e:#}"
        ));
    }
    let size = (out.len() - start - 4) as i32;
    out[start..start + 4].copy_from_slice(&size.to_be_bytes());
    Ok(())
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

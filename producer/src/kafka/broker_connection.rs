//! One Kafka broker connection: versions negotiated once, then typed,
//! pipelined requests over a [`Link`].

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::error::ParseResponseErrorCode;
use kafka_protocol::messages::api_versions_response::ApiVersionsResponse;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ProduceRequest, ProduceResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, Request, StrBytes};

use super::produce_request::{self, TopicBatches};
use crate::connection::Connection;
use crate::error::Error;
use crate::link::Link;
use crate::tasks::Tasks;
use crate::wire::KafkaWire;

/// The versions of each API this producer can speak.
pub(crate) const SPOKEN: &[(ApiKey, i16, i16)] = &[
    (ApiKey::ApiVersions, 0, 3),
    (ApiKey::Metadata, 1, 12),
    (ApiKey::Produce, 3, 12),
    (ApiKey::InitProducerId, 0, 5),
];

/// The largest response accepted (Kafka's default `socket.request.max.bytes`).
pub(crate) const MAX_RESPONSE_BYTES: u32 = 100 * 1024 * 1024;

/// The answer to an enqueued Produce request (see [`BrokerConnection::enqueue_produce`]).
pub(crate) type ProduceAnswer<'a> =
    Pin<Box<dyn Future<Output = Result<Option<ProduceResponse>, Error>> + Send + 'a>>;

/// A connection to one broker with the API versions both sides speak.
#[derive(Debug)]
pub(crate) struct BrokerConnection {
    link: Link<KafkaWire>,
    address: String,
    client_id: StrBytes,
    versions: HashMap<i16, i16>,
    next_correlation_id: AtomicI32,
}

impl BrokerConnection {
    /// Connects and negotiates versions with ApiVersions, each within
    /// `connect_timeout`; the connection's tasks run among the producer's `tasks`.
    ///
    /// # Errors
    /// [`Error::Connect`] / [`Error::ConnectTimeout`], [`Error::NoAnswer`], or
    /// [`Error::Protocol`] when the broker lacks an API version the producer needs.
    pub(crate) async fn connect(
        address: &str,
        client_id: &str,
        connect_timeout: Duration,
        tasks: &Tasks,
    ) -> Result<BrokerConnection, Error> {
        let connection = Connection::connect(address, connect_timeout).await?;
        let mut broker = BrokerConnection {
            link: Link::start(connection, address.to_string(), MAX_RESPONSE_BYTES, tasks),
            address: address.to_string(),
            client_id: StrBytes::from_string(client_id.to_string()),
            versions: HashMap::from([(ApiKey::ApiVersions as i16, 3)]),
            next_correlation_id: AtomicI32::new(1),
        };
        let request = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("kafka-test-bench"))
            .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
        // The first exchange is part of setting the connection up: a peer that
        // stays silent is named within the connect timeout, not a request timeout.
        let no_answer = |e| match e {
            Error::Timeout { .. } => Error::NoAnswer {
                address: address.to_string(),
                request: "ApiVersions",
                timeout: connect_timeout,
            },
            e => e,
        };
        let response = match broker.request(&request, connect_timeout).await {
            Ok(response) if response.error_code.is_ok() => response,
            // KIP-511: the broker does not speak v3 and answered in v0 (error 35,
            // or a body that does not decode as v3). v0 every broker speaks.
            first @ (Ok(_) | Err(Error::Protocol { .. })) => {
                broker.versions.insert(ApiKey::ApiVersions as i16, 0);
                match (
                    broker
                        .request(&ApiVersionsRequest::default(), connect_timeout)
                        .await,
                    first,
                ) {
                    (Ok(response), _) => response,
                    // Closed after an answer that did not decode: that answer is the news.
                    (Err(Error::ConnectionClosed { .. }), Err(undecodable)) => {
                        return Err(undecodable);
                    }
                    (Err(e), _) => return Err(no_answer(e)),
                }
            }
            Err(e) => return Err(no_answer(e)),
        };
        broker.versions = negotiate(&response, address)?;
        tracing::debug!(broker = address, versions = ?broker.versions, "negotiated API versions");
        Ok(broker)
    }

    /// The broker's address.
    pub(crate) fn address(&self) -> &str {
        &self.address
    }

    /// The version of `key` both sides speak, if any.
    pub(crate) fn version(&self, key: ApiKey) -> Option<i16> {
        self.versions.get(&(key as i16)).copied()
    }

    fn encode<R: Request>(&self, body: &R) -> Result<(i32, i16, Bytes), Error> {
        let key = ApiKey::try_from(R::KEY).expect("R::KEY is a known API");
        let version = self
            .version(key)
            .ok_or_else(|| self.protocol(format!("the broker does not serve {key:?}")))?;
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let header = RequestHeader::default()
            .with_request_api_key(R::KEY)
            .with_request_api_version(version)
            .with_correlation_id(correlation_id)
            .with_client_id(Some(self.client_id.clone()));
        // Sized up front: a Produce request is megabytes, and growing the
        // buffer by doubling would copy every batch several times.
        let size = body.compute_size(version).unwrap_or(0);
        let mut buf = BytesMut::with_capacity(64 + size);
        buf.put_i32(0);
        header
            .encode(&mut buf, key.request_header_version(version))
            .and_then(|()| body.encode(&mut buf, version))
            .map_err(|e| self.protocol(format!("cannot encode {key:?} v{version}: {e:#}")))?;
        let size = (buf.len() - 4) as i32;
        buf[..4].copy_from_slice(&size.to_be_bytes());
        Ok((correlation_id, version, buf.freeze()))
    }

    /// Sends `body` at the negotiated version and decodes the response.
    ///
    /// # Errors
    /// [`Error::Timeout`] after `timeout`; [`Error::ConnectionClosed`]; [`Error::Protocol`].
    pub(crate) async fn request<R: Request>(
        &self,
        body: &R,
        timeout: Duration,
    ) -> Result<R::Response, Error> {
        let (correlation_id, version, bytes) = self.encode(body)?;
        let raw = tokio::time::timeout(
            timeout,
            self.link.round_trip(correlation_id as u32, vec![bytes]),
        )
        .await
        .map_err(|_| Error::Timeout {
            address: self.address.clone(),
            timeout,
        })??;
        self.decode::<R>(raw, version)
    }

    /// Puts a Produce request carrying `topics`' sealed batches (not copied)
    /// in the connection's write queue, behind every request enqueued before
    /// it. The returned future is its answer: the decoded response, or `None`
    /// with `acks = 0` once the request is written.
    ///
    /// # Errors
    /// [`Error::ConnectionClosed`]; [`Error::Protocol`]. The answer fails
    /// with those, or [`Error::Timeout`] after `timeout`.
    pub(crate) async fn enqueue_produce(
        &self,
        acks: i16,
        topics: &[TopicBatches],
        timeout: Duration,
    ) -> Result<ProduceAnswer<'_>, Error> {
        let version = self
            .version(ApiKey::Produce)
            .ok_or_else(|| self.protocol("the broker does not serve Produce".into()))?
            .min(produce_request::MAX_VERSION);
        let correlation_id = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        let timeout_ms = timeout.as_millis().min(i32::MAX as u128) as i32;
        let segments = produce_request::encode(
            version,
            correlation_id,
            self.client_id.as_str(),
            acks,
            timeout_ms,
            topics,
        );
        if acks == 0 {
            let written = self.link.enqueue_only(segments).await?;
            return Ok(Box::pin(async move { written.await.map(|()| None) }));
        }
        let response = self.link.enqueue(correlation_id as u32, segments).await?;
        Ok(Box::pin(async move {
            let raw = tokio::time::timeout(timeout, response)
                .await
                .map_err(|_| Error::Timeout {
                    address: self.address.clone(),
                    timeout,
                })??;
            self.decode::<ProduceRequest>(raw, version).map(Some)
        }))
    }

    fn decode<R: Request>(&self, raw: Bytes, version: i16) -> Result<R::Response, Error> {
        decode_response::<R>(raw, version).map_err(|reason| self.protocol(reason))
    }

    fn protocol(&self, reason: String) -> Error {
        Error::Protocol {
            address: self.address.clone(),
            reason,
        }
    }
}

/// Decodes the response to an `R` request sent at `version`, from what follows its correlation
/// id (the wire read that).
///
/// # Errors
/// A sentence naming the API, the version and what did not decode.
pub(crate) fn decode_response<R: Request>(
    mut raw: Bytes,
    version: i16,
) -> Result<R::Response, String> {
    let key = ApiKey::try_from(R::KEY).expect("R::KEY is a known API");
    // A v1 header adds tagged fields after the correlation id.
    if key.response_header_version(version) >= 1 {
        let mut with_id = BytesMut::with_capacity(raw.len() + 4);
        with_id.put_i32(0);
        with_id.put_slice(&raw);
        let mut with_id = with_id.freeze();
        ResponseHeader::decode(&mut with_id, 1)
            .map_err(|e| format!("cannot decode the {key:?} response header: {e:#}"))?;
        raw = with_id;
    }
    R::Response::decode(&mut raw, version)
        .map_err(|e| format!("cannot decode the {key:?} v{version} response: {e:#}"))
}

/// The highest version of each API that both the broker and this producer speak.
pub(crate) fn negotiate(
    response: &ApiVersionsResponse,
    address: &str,
) -> Result<HashMap<i16, i16>, Error> {
    if response.error_code.is_err() {
        return Err(Error::Protocol {
            address: address.to_string(),
            reason: format!("ApiVersions failed with error code {}", response.error_code),
        });
    }
    let mut versions = HashMap::new();
    for &(key, min, max) in SPOKEN {
        let Some(theirs) = response.api_keys.iter().find(|k| k.api_key == key as i16) else {
            continue;
        };
        let high = max.min(theirs.max_version);
        if high >= min.max(theirs.min_version) {
            versions.insert(key as i16, high);
        }
    }
    for required in [ApiKey::Metadata, ApiKey::Produce] {
        if !versions.contains_key(&(required as i16)) {
            return Err(Error::Protocol {
                address: address.to_string(),
                reason: format!(
                    "the broker serves no version of {required:?} this producer speaks (RecordBatch v2 needs Produce v3 or newer)"
                ),
            });
        }
    }
    Ok(versions)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::api_versions_response::ApiVersion;

    use super::*;

    fn offer(apis: &[(ApiKey, i16, i16)]) -> ApiVersionsResponse {
        ApiVersionsResponse::default().with_api_keys(
            apis.iter()
                .map(|&(k, min, max)| {
                    ApiVersion::default()
                        .with_api_key(k as i16)
                        .with_min_version(min)
                        .with_max_version(max)
                })
                .collect(),
        )
    }

    #[test]
    fn picks_the_highest_version_both_sides_speak() {
        let versions = negotiate(
            &offer(&[
                (ApiKey::Produce, 0, 9),
                (ApiKey::Metadata, 0, 20),
                (ApiKey::InitProducerId, 0, 1),
            ]),
            "b:1",
        )
        .unwrap();
        assert_eq!(versions[&(ApiKey::Produce as i16)], 9);
        assert_eq!(versions[&(ApiKey::Metadata as i16)], 12);
        assert_eq!(versions[&(ApiKey::InitProducerId as i16)], 1);
    }

    #[test]
    fn a_broker_without_record_batch_v2_is_refused_by_name() {
        let err = negotiate(
            &offer(&[(ApiKey::Produce, 0, 2), (ApiKey::Metadata, 0, 5)]),
            "old:9092",
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("old:9092") && text.contains("Produce"),
            "{text}"
        );
    }
}

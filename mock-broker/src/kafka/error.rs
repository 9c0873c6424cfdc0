//! Why a Kafka connection is closed: requests the broker cannot answer
//! correctly, as Kafka does, and `disconnect` faults.

use kafka_protocol::messages::ApiKey;
use protocol::size_prefix::SizePrefixError;

use crate::fault::FaultDisconnect;

/// Why the connection must close, after whatever has been answered is sent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CloseReason {
    /// A request larger than `max_frame_bytes`.
    #[error("{0} (max_frame_bytes)")]
    TooLarge(SizePrefixError),
    /// A size prefix that cannot be a request.
    #[error(transparent)]
    Framing(SizePrefixError),
    /// A client speaking another protocol (HTTP, TLS) connected to the Kafka port.
    #[error("{}", foreign_client(.0))]
    Foreign(protocol::foreign::Foreign),
    /// An API key Kafka does not define.
    #[error("unknown API key {key} (correlation id {correlation_id})")]
    UnknownApiKey {
        /// The key the request carries.
        key: i16,
        /// The request's correlation id.
        correlation_id: i32,
    },
    /// An API the broker does not serve.
    #[error("{api:?} is not served by the mock broker (correlation id {correlation_id})")]
    NotServed {
        /// The API asked for.
        api: ApiKey,
        /// The request's correlation id.
        correlation_id: i32,
    },
    /// A version of a served API outside the served range.
    #[error(
        "{api:?} v{version} is not served; versions {min} to {max} are (correlation id {correlation_id})"
    )]
    UnsupportedVersion {
        /// The API asked for.
        api: ApiKey,
        /// The version asked for.
        version: i16,
        /// The oldest version served.
        min: i16,
        /// The newest version served.
        max: i16,
        /// The request's correlation id.
        correlation_id: i32,
    },
    /// A request header that does not decode.
    #[error("cannot decode the {api:?} v{version} request header: {error:#}")]
    HeaderDecode {
        /// The request's API.
        api: ApiKey,
        /// The request's version.
        version: i16,
        /// What the decoder said.
        error: anyhow::Error,
    },
    /// A request body that does not decode.
    #[error("cannot decode the {api:?} v{version} request: {error:#}")]
    Decode {
        /// The request's API.
        api: ApiKey,
        /// The request's version.
        version: i16,
        /// What the decoder said.
        error: anyhow::Error,
    },
    /// A request naming more partitions (or topics, groups, transactional ids) than
    /// `max_partitions_per_request`.
    #[error(
        "{api:?} request names {count} partitions (topics, groups or transactional ids, where it names no partitions); the limit max_partitions_per_request is {limit} (correlation id {correlation_id})"
    )]
    TooManyPartitions {
        /// The request's API.
        api: ApiKey,
        /// The partitions it names, over all its topics.
        count: usize,
        /// The limit.
        limit: u32,
        /// The request's correlation id.
        correlation_id: i32,
    },
    /// A request holding more array elements than its decoding may read: refused while it
    /// was decoded, before its arrays were allocated (`decode_budget.rs`).
    #[error(
        "{api:?} request holds more than {budget} array elements (topics, partitions, groups or ids), more than a request within the limit max_partitions_per_request ({limit}) can; refused while decoding it (correlation id {correlation_id})"
    )]
    TooManyElements {
        /// The request's API.
        api: ApiKey,
        /// The element budget it ran out of.
        budget: usize,
        /// The limit the budget follows from.
        limit: u32,
        /// The request's correlation id.
        correlation_id: i32,
    },
    /// An API listed in ApiVersions without a handler: a broker bug.
    #[error("{api:?} is advertised but has no handler")]
    NoHandler {
        /// The API asked for.
        api: ApiKey,
    },
    /// A response the broker cannot encode: a broker bug.
    #[error("cannot encode the response to correlation id {correlation_id}: {error:#}")]
    Encode {
        /// The request's correlation id.
        correlation_id: i32,
        /// What the encoder said.
        error: anyhow::Error,
    },
    /// A `disconnect` fault.
    #[error(transparent)]
    Fault(#[from] FaultDisconnect),
    /// A request other than the SASL steps (and ApiVersions before the handshake) on a
    /// SASL listener before authentication completed, in Kafka's words.
    #[error(
        "unexpected Kafka request of type {api:?} during {during} (a SASL listener serves nothing else before the client authenticates; is the client configured for SASL?)"
    )]
    Unauthenticated {
        /// The API asked for.
        api: ApiKey,
        /// `SASL handshake` or `SASL authentication`.
        during: &'static str,
    },
    /// A request other than SaslAuthenticate after a v1 SaslHandshake: answered with
    /// ILLEGAL_SASL_STATE, then closed, as Kafka does.
    #[error(
        "unexpected Kafka request of type {api:?} during SASL authentication (answered ILLEGAL_SASL_STATE; after a SaslHandshake only SaslAuthenticate is served until the exchange completes)"
    )]
    IllegalSaslState {
        /// The API asked for.
        api: ApiKey,
    },
    /// A SaslHandshake naming a mechanism the broker does not serve.
    #[error(
        "SASL mechanism {asked:?} requested by the client is not served (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 are)"
    )]
    UnsupportedMechanism {
        /// The mechanism asked for.
        asked: String,
    },
    /// A SASL exchange that failed (its SaslAuthenticate error response is sent first).
    #[error("SASL {mechanism} authentication failed: {reason}")]
    AuthenticationFailed {
        /// The mechanism.
        mechanism: crate::sasl::Mechanism,
        /// Why, for the log only.
        reason: String,
    },
}

/// Kafka's `connection.failed.authentication.delay.ms` default: how long a connection
/// whose authentication failed stays open after the failure is answered.
const FAILED_AUTHENTICATION_DELAY: std::time::Duration = std::time::Duration::from_millis(100);

impl CloseReason {
    /// What kind of reason it is, for logging each kind apart.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            CloseReason::TooLarge(_) => "kafka: request too large",
            CloseReason::Framing(_) => "kafka: bad size prefix",
            CloseReason::Foreign(protocol::foreign::Foreign::Tls) => "kafka: a TLS client",
            CloseReason::Foreign(_) => "kafka: an HTTP client",
            CloseReason::UnknownApiKey { .. } => "kafka: unknown API key",
            CloseReason::NotServed { .. } => "kafka: API not served",
            CloseReason::UnsupportedVersion { .. } => "kafka: version not served",
            CloseReason::HeaderDecode { .. } => "kafka: header does not decode",
            CloseReason::Decode { .. } => "kafka: request does not decode",
            CloseReason::TooManyPartitions { .. } | CloseReason::TooManyElements { .. } => {
                "kafka: too many partitions"
            }
            CloseReason::NoHandler { .. } => "kafka: no handler",
            CloseReason::Encode { .. } => "kafka: cannot encode",
            CloseReason::Fault(_) => "kafka: disconnect fault",
            CloseReason::Unauthenticated { .. } => "kafka: request before SASL authentication",
            CloseReason::IllegalSaslState { .. } => "kafka: request during SASL authentication",
            CloseReason::UnsupportedMechanism { .. } => "kafka: SASL mechanism not served",
            CloseReason::AuthenticationFailed { .. } => "kafka: SASL authentication failed",
        }
    }

    /// How long to wait between the last response and the close, as Kafka waits after a
    /// failed authentication (its `connection.failed.authentication.delay.ms`, 100 ms):
    /// a client that stops reading at the close (kafka-python over TLS does) still gets
    /// the error that says why.
    pub(crate) fn close_delay(&self) -> Option<std::time::Duration> {
        matches!(
            self,
            CloseReason::AuthenticationFailed { .. }
                | CloseReason::UnsupportedMechanism { .. }
                | CloseReason::IllegalSaslState { .. }
        )
        .then_some(FAILED_AUTHENTICATION_DELAY)
    }
}

impl From<SizePrefixError> for CloseReason {
    fn from(error: SizePrefixError) -> Self {
        match error {
            SizePrefixError::TooLarge { .. } => CloseReason::TooLarge(error),
            error => CloseReason::Framing(error),
        }
    }
}

/// What a client speaking `foreign` got wrong.
fn foreign_client(foreign: &protocol::foreign::Foreign) -> &'static str {
    match foreign {
        protocol::foreign::Foreign::Tls => {
            "a TLS client connected to this plaintext listener (the client is configured for SSL or SASL_SSL; TLS is served on the listeners given as --listener SSL://ADDR or SASL_SSL://ADDR)"
        }
        _ => {
            "an HTTP client connected to the Kafka port (the admin API is served on its own address, --admin)"
        }
    }
}

//! The producer's error type.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use protocol::frame::{EncodeError, Status};

/// Everything that can go wrong when producing, in a form callers can match on.
///
/// `Clone`, because one failed batch fails each of its records.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The TCP connection to the broker could not be established.
    #[error("cannot connect to broker at {address}: {error}")]
    Connect {
        /// The address as configured.
        address: String,
        /// Why the operating system refused. (Not `source`: the message says it already.)
        error: Arc<std::io::Error>,
    },
    /// The TCP connection was not established within `connect_timeout`.
    #[error("connecting to broker at {address} timed out after {timeout:?}")]
    ConnectTimeout {
        /// The address as configured.
        address: String,
        /// The configured connect timeout.
        timeout: Duration,
    },
    /// The broker did not answer within `request_timeout`; the record may or may not be stored.
    #[error("broker at {address} did not answer within {timeout:?}")]
    Timeout {
        /// The broker's address.
        address: String,
        /// The configured request timeout.
        timeout: Duration,
    },
    /// The peer accepted the connection but did not answer its first request (the frame
    /// protocol's ping, Kafka's ApiVersions) within `connect_timeout`: it is not a broker, or
    /// not one speaking this producer's protocol, or it is stuck.
    #[error(
        "{address} did not answer the first request ({request}) within {timeout:?}: is it a broker speaking this producer's protocol?"
    )]
    NoAnswer {
        /// The address.
        address: String,
        /// The request that went unanswered.
        request: &'static str,
        /// The configured connect timeout, which bounds the first exchange.
        timeout: Duration,
    },
    /// The broker refused the request; nothing of it was stored.
    #[error("broker refused the request: {status}{}", detail(.message))]
    Broker {
        /// The status code; [`Status::name`] gives its documented name.
        status: Status,
        /// The broker's explanation, possibly empty.
        message: String,
    },
    /// A Kafka broker refused the records with a non-retriable error; they were not stored.
    #[error("broker refused the records: {name} ({code}){}", detail(message.as_deref().unwrap_or("")))]
    Kafka {
        /// The Kafka error code.
        code: i16,
        /// Its documented name, e.g. `INVALID_TOPIC_EXCEPTION`.
        name: String,
        /// The broker's error message, when it sent one.
        message: Option<String>,
    },
    /// The record was not acknowledged within `delivery_timeout`, retries included.
    #[error("record not delivered within delivery_timeout ({timeout:?}){}", last.as_deref().map(|l| format!("; last error: {l}")).unwrap_or_default())]
    DeliveryTimeout {
        /// The configured delivery timeout.
        timeout: Duration,
        /// The last error seen while retrying, if any, as it was: match on it to tell a broker
        /// that broke the protocol from one that was unreachable or refused.
        last: Option<Box<Error>>,
    },
    /// [`Producer::try_send`](crate::Producer::try_send) found the buffer full (`buffer_memory`).
    #[error("the producer's buffer is full ({used} of {limit} bytes of buffer_memory in use)")]
    BufferFull {
        /// Bytes held by records not yet acknowledged.
        used: usize,
        /// The configured `buffer_memory`.
        limit: usize,
    },
    /// A record is larger than `max_message_bytes`; it was not sent.
    #[error("message of {size} bytes exceeds max_message_bytes = {limit}")]
    MessageTooLarge {
        /// The record's encoded size.
        size: usize,
        /// The configured limit.
        limit: u32,
    },
    /// A request is larger than `max_frame_bytes`, or a field exceeds what the protocol can carry; it was not sent.
    #[error("request of {size} bytes exceeds max_frame_bytes = {limit}")]
    FrameTooLarge {
        /// The encoded request size.
        size: usize,
        /// The configured limit.
        limit: u32,
    },
    /// A field of the record cannot be encoded (for example a header name over 64 KiB).
    #[error("record cannot be encoded: {0}")]
    Encode(#[from] EncodeError),
    /// The connection was lost or closed; requests in flight on it failed and may or may not be stored.
    #[error("connection to broker at {address} closed: {reason}")]
    ConnectionClosed {
        /// The broker's address.
        address: String,
        /// What closed it.
        reason: String,
    },
    /// The broker sent something that is not a valid response.
    #[error("broker at {address} broke the protocol: {reason}")]
    Protocol {
        /// The broker's address.
        address: String,
        /// What was wrong with its answer.
        reason: String,
    },
    /// The peer at the broker's address speaks another protocol (HTTP, TLS):
    /// a wrong port, or a listener that expects SSL. Not retried: sends fail
    /// at once instead of waiting out `delivery_timeout`.
    #[error(
        "{address} is not a broker speaking this producer's protocol: it answered with {answered}{}",
        hint(.answered)
    )]
    NotABroker {
        /// The address.
        address: String,
        /// What it answered with (`HTTP`, `TLS`).
        answered: protocol::foreign::Foreign,
    },
    /// The configuration is invalid.
    #[error("invalid producer configuration{}: {reason}", in_file(.file))]
    InvalidConfig {
        /// The file it came from, if any.
        file: Option<PathBuf>,
        /// The key, the value and what is allowed.
        reason: String,
    },
    /// [`Producer::close`](crate::Producer::close) was called; no more records are accepted.
    #[error("the producer is closed")]
    Closed,
}

impl Error {
    /// The error for a Kafka error code the broker answered with, named.
    pub(crate) fn kafka(code: i16, message: Option<String>) -> Error {
        Error::Kafka {
            code,
            name: protocol::kafka_error::error_name(code),
            message,
        }
    }

    /// A short, stable name for what went wrong, for counting errors: the
    /// broker's error name when a broker refused (`NOT_LEADER_OR_FOLLOWER`,
    /// `MESSAGE_TOO_LARGE`, …), otherwise the variant in snake case
    /// (`connection_closed`, `delivery_timeout`, …).
    pub fn kind(&self) -> String {
        let name = match self {
            Error::Broker { status, .. } => status.name(),
            Error::Kafka { name, .. } => return name.clone(),
            Error::Connect { .. } => "connect",
            Error::ConnectTimeout { .. } => "connect_timeout",
            Error::Timeout { .. } => "timeout",
            Error::NoAnswer { .. } => "no_answer",
            Error::DeliveryTimeout { .. } => "delivery_timeout",
            Error::BufferFull { .. } => "buffer_full",
            Error::MessageTooLarge { .. } => "message_too_large",
            Error::FrameTooLarge { .. } => "frame_too_large",
            Error::Encode(_) => "encode",
            Error::ConnectionClosed { .. } => "connection_closed",
            Error::Protocol { .. } => "protocol",
            Error::NotABroker { .. } => "not_a_broker",
            Error::InvalidConfig { .. } => "invalid_config",
            Error::Closed => "closed",
        };
        name.to_string()
    }

    /// The name [`Metrics::errors`](crate::Metrics) counts a failed exchange with a broker
    /// under: `NOT_A_BROKER`, `NO_ANSWER` (its first request went unanswered), `BROKEN_PROTOCOL`
    /// (garbage, a bad size, a correlation id no request carries), `REQUEST_TIMEOUT`, else
    /// `CONNECTION` (refused, reset, closed).
    pub(crate) fn exchange_name(&self) -> &'static str {
        match self {
            Error::NotABroker { .. } => "NOT_A_BROKER",
            Error::NoAnswer { .. } => "NO_ANSWER",
            Error::Protocol { .. } => "BROKEN_PROTOCOL",
            Error::Timeout { .. } => "REQUEST_TIMEOUT",
            _ => "CONNECTION",
        }
    }

    /// The broker's status code, when the broker refused the request.
    pub fn status(&self) -> Option<Status> {
        match self {
            Error::Broker { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn detail(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

fn in_file(file: &Option<PathBuf>) -> String {
    file.as_ref()
        .map(|f| format!(" in {}", f.display()))
        .unwrap_or_default()
}

/// What to check when a broker's address answered with another protocol.
fn hint(answered: &protocol::foreign::Foreign) -> &'static str {
    match answered {
        protocol::foreign::Foreign::Http => {
            " (is this the admin HTTP API's port? the mock broker serves Kafka and frames on 9092, HTTP on 9644)"
        }
        protocol::foreign::Foreign::Tls => {
            " (the listener expects TLS; this producer speaks plaintext)"
        }
        _ => "",
    }
}

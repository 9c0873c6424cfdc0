//! The error a rule of kind `error` answers with, in each protocol.

use kafka_protocol::ResponseError;
use kafka_protocol::error::ParseResponseErrorCode as _;
use protocol::frame::Status;

use super::spec::ErrorValue;

/// A rule's error as each protocol says it; `None` where a protocol has no such error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InjectedError {
    /// The Kafka error code.
    pub(crate) kafka: Option<i16>,
    /// The frame protocol status.
    pub(crate) frame: Option<Status>,
}

/// Why a rule's `error` value names no error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum UnknownError {
    /// A number that is not a Kafka error code.
    #[error(
        "{0} is not a Kafka error code; expected a code such as 6 (NOT_LEADER_OR_FOLLOWER) or an error name"
    )]
    NotAKafkaCode(i16),
    /// A name neither protocol defines.
    #[error(
        "{0:?} is neither a Kafka error name (such as \"NOT_LEADER_OR_FOLLOWER\", \
         \"REQUEST_TIMED_OUT\") nor a frame protocol status (such as \"BROKER_BUSY\")"
    )]
    UnknownName(String),
}

/// Resolves a rule's `error` value.
///
/// # Errors
/// [`UnknownError`], naming the value and what is allowed.
pub(crate) fn resolve(value: &ErrorValue) -> Result<InjectedError, UnknownError> {
    match value {
        ErrorValue::Code(code) => {
            if matches!(code.err(), None | Some(ResponseError::Unknown(_))) {
                return Err(UnknownError::NotAKafkaCode(*code));
            }
            let name = protocol::kafka_error::error_name(*code);
            Ok(InjectedError {
                kafka: Some(*code),
                frame: frame_status(&name),
            })
        }
        ErrorValue::Name(name) => {
            let name = name.trim().to_ascii_uppercase();
            let kafka = protocol::kafka_error::error_code(&name);
            let frame = frame_status(&name);
            if kafka.is_none() && frame.is_none() {
                return Err(UnknownError::UnknownName(name));
            }
            Ok(InjectedError { kafka, frame })
        }
    }
}

/// The frame status of this name, if it is an error status.
fn frame_status(name: &str) -> Option<Status> {
    (1..=u16::MAX)
        .map(Status::from_code)
        .take_while(|s| !matches!(s, Status::Unknown(_)))
        .find(|s| s.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(n: &str) -> ErrorValue {
        ErrorValue::Name(n.into())
    }

    #[test]
    fn kafka_names_resolve_to_codes_case_insensitively() {
        let e = resolve(&name("not_leader_or_follower")).unwrap();
        assert_eq!(e.kafka, Some(6));
        assert_eq!(e.frame, None);
        assert_eq!(resolve(&ErrorValue::Code(7)).unwrap().kafka, Some(7));
    }

    #[test]
    fn names_both_protocols_share_resolve_in_both() {
        let e = resolve(&name("UNKNOWN_TOPIC_OR_PARTITION")).unwrap();
        assert_eq!(e.kafka, Some(3));
        assert_eq!(e.frame, Some(Status::UnknownTopicOrPartition));
        let e = resolve(&name("BROKER_BUSY")).unwrap();
        assert_eq!(e.kafka, None);
        assert_eq!(e.frame, Some(Status::BrokerBusy));
    }

    #[test]
    fn unknown_names_and_codes_are_refused_with_examples() {
        let err = resolve(&name("NOT_AN_ERROR")).unwrap_err().to_string();
        assert!(err.contains("\"NOT_AN_ERROR\" is neither"), "{err}");
        let err = resolve(&ErrorValue::Code(0)).unwrap_err().to_string();
        assert!(err.contains("0 is not a Kafka error code"), "{err}");
        assert!(resolve(&ErrorValue::Code(31000)).is_err());
    }
}

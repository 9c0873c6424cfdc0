//! The Kafka wire protocol, producer side.

pub mod batch_builder;
pub(crate) mod broker_connection;
pub(crate) mod cluster;
pub(crate) mod produce_request;

use kafka_protocol::error::ParseResponseErrorCode;

/// The documented name of a Kafka error code, e.g. `NOT_LEADER_OR_FOLLOWER`.
pub fn error_name(code: i16) -> String {
    match code.err() {
        None => "NONE".into(),
        Some(kafka_protocol::ResponseError::Unknown(code)) => format!("UNKNOWN_ERROR_{code}"),
        Some(error) => {
            let camel = format!("{error:?}");
            let mut name = String::with_capacity(camel.len() + 8);
            for (i, c) in camel.chars().enumerate() {
                if c.is_ascii_uppercase() && i > 0 {
                    name.push('_');
                }
                name.push(c.to_ascii_uppercase());
            }
            name
        }
    }
}

/// Whether Kafka says a client may retry after this error code.
pub fn is_retriable(code: i16) -> bool {
    code.err().is_some_and(|e| e.is_retriable())
}

/// The producer error for a Kafka error code.
pub(crate) fn kafka_error(code: i16, message: Option<String>) -> crate::Error {
    crate::Error::Kafka {
        code,
        name: error_name(code),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_have_their_documented_names_and_retriability() {
        assert_eq!(error_name(6), "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(error_name(45), "OUT_OF_ORDER_SEQUENCE_NUMBER");
        assert!(is_retriable(6));
        assert!(!is_retriable(17));
    }
}

//! Kafka error codes by their documented names, for logs, recordings and fault rules.

use kafka_protocol::ResponseError;
use kafka_protocol::error::ParseResponseErrorCode;

/// The documented name of a Kafka error code, e.g. `NOT_LEADER_OR_FOLLOWER`.
pub fn error_name(code: i16) -> String {
    match code.err() {
        None => "NONE".into(),
        Some(ResponseError::Unknown(code)) => format!("UNKNOWN_ERROR_{code}"),
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

/// The error code of a documented name (`NOT_LEADER_OR_FOLLOWER`), or `None` for a name Kafka
/// does not define.
pub fn error_code(name: &str) -> Option<i16> {
    // Kafka's codes run from -1 (UNKNOWN_SERVER_ERROR) up; 200 leaves room for new ones.
    (-1..=200).find(|&code| code != 0 && error_name(code) == name)
}

/// Whether Kafka says a client may retry after this error code.
pub fn is_retriable(code: i16) -> bool {
    code.err().is_some_and(|e| e.is_retriable())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_codes_have_their_documented_names_and_retriability() {
        assert_eq!(error_name(0), "NONE");
        assert_eq!(error_name(6), "NOT_LEADER_OR_FOLLOWER");
        assert_eq!(error_name(45), "OUT_OF_ORDER_SEQUENCE_NUMBER");
        assert_eq!(error_name(-1), "UNKNOWN_SERVER_ERROR");
        assert!(is_retriable(6));
        assert!(!is_retriable(17));
    }

    #[test]
    fn names_lead_back_to_their_codes() {
        assert_eq!(error_code("NOT_LEADER_OR_FOLLOWER"), Some(6));
        assert_eq!(error_code("UNKNOWN_SERVER_ERROR"), Some(-1));
        assert_eq!(error_code("NO_SUCH_ERROR"), None);
        assert_eq!(error_code("NONE"), None);
    }
}

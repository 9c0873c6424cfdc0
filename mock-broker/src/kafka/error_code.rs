//! Kafka error codes as the broker uses them: the number and the documented name.

use kafka_protocol::ResponseError;

/// The documented name of a Kafka error, e.g. `NOT_LEADER_OR_FOLLOWER`.
pub(crate) fn name(error: ResponseError) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_documented_ones() {
        assert_eq!(
            name(ResponseError::NotLeaderOrFollower),
            "NOT_LEADER_OR_FOLLOWER"
        );
        assert_eq!(name(ResponseError::CorruptMessage), "CORRUPT_MESSAGE");
        assert_eq!(
            name(ResponseError::OutOfOrderSequenceNumber),
            "OUT_OF_ORDER_SEQUENCE_NUMBER"
        );
    }
}

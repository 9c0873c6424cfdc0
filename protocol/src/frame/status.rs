//! Status codes carried by frame-protocol responses.

use std::fmt;

/// The outcome of a produce request, as reported by the broker.
///
/// Codes this version does not know are kept as [`Status::Unknown`] so that a
/// newer broker never makes an older client fail to decode a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Status {
    /// Every message of the request was recorded.
    Ok,
    /// The frame could not be decoded; the broker closes the connection after answering.
    MalformedFrame,
    /// The broker does not speak this frame version.
    UnsupportedVersion,
    /// The broker does not know this frame kind in this version.
    UnsupportedKind,
    /// The topic name is empty, too long, or uses characters Kafka does not allow.
    InvalidTopicName,
    /// One message is larger than the broker's `max_message_bytes`.
    MessageTooLarge,
    /// The frame is larger than the broker's `max_frame_bytes`; the connection is closed.
    FrameTooLarge,
    /// The broker cannot take the request now; the client may retry later.
    BrokerBusy,
    /// The request names a partition the topic does not have, or a topic that
    /// does not exist while topic auto-creation is off.
    UnknownTopicOrPartition,
    /// The request is well formed but not allowed (for example a response frame sent to the broker).
    InvalidRequest,
    /// The broker failed while handling the request.
    InternalError,
    /// A code this version of the protocol does not define.
    Unknown(u16),
}

impl Status {
    /// The code written on the wire.
    pub fn code(self) -> u16 {
        match self {
            Status::Ok => 0,
            Status::MalformedFrame => 1,
            Status::UnsupportedVersion => 2,
            Status::UnsupportedKind => 3,
            Status::InvalidTopicName => 4,
            Status::MessageTooLarge => 5,
            Status::FrameTooLarge => 6,
            Status::BrokerBusy => 7,
            Status::UnknownTopicOrPartition => 8,
            Status::InvalidRequest => 9,
            Status::InternalError => 10,
            Status::Unknown(code) => code,
        }
    }

    /// The status for a code read off the wire.
    pub fn from_code(code: u16) -> Status {
        match code {
            0 => Status::Ok,
            1 => Status::MalformedFrame,
            2 => Status::UnsupportedVersion,
            3 => Status::UnsupportedKind,
            4 => Status::InvalidTopicName,
            5 => Status::MessageTooLarge,
            6 => Status::FrameTooLarge,
            7 => Status::BrokerBusy,
            8 => Status::UnknownTopicOrPartition,
            9 => Status::InvalidRequest,
            10 => Status::InternalError,
            other => Status::Unknown(other),
        }
    }

    /// The documented name of the status, as used in logs and error messages.
    pub fn name(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::MalformedFrame => "MALFORMED_FRAME",
            Status::UnsupportedVersion => "UNSUPPORTED_VERSION",
            Status::UnsupportedKind => "UNSUPPORTED_KIND",
            Status::InvalidTopicName => "INVALID_TOPIC_NAME",
            Status::MessageTooLarge => "MESSAGE_TOO_LARGE",
            Status::FrameTooLarge => "FRAME_TOO_LARGE",
            Status::BrokerBusy => "BROKER_BUSY",
            Status::UnknownTopicOrPartition => "UNKNOWN_TOPIC_OR_PARTITION",
            Status::InvalidRequest => "INVALID_REQUEST",
            Status::InternalError => "INTERNAL_ERROR",
            Status::Unknown(_) => "UNKNOWN",
        }
    }

    /// Whether a client may send the same request again and expect it to succeed.
    pub fn is_retriable(self) -> bool {
        matches!(self, Status::BrokerBusy)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_maps_back_to_itself() {
        for code in 0..=20u16 {
            assert_eq!(Status::from_code(code).code(), code);
        }
        assert_eq!(Status::from_code(4), Status::InvalidTopicName);
        assert_eq!(Status::from_code(999), Status::Unknown(999));
    }

    #[test]
    fn display_shows_name_and_code() {
        assert_eq!(Status::MessageTooLarge.to_string(), "MESSAGE_TOO_LARGE (5)");
    }
}

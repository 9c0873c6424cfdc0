//! SaslHandshake: the client picks a SASL mechanism (see `authentication.rs`).

use kafka_protocol::messages::{SaslHandshakeRequest, SaslHandshakeResponse};
use kafka_protocol::protocol::StrBytes;

use super::authentication::{Authentication, HandshakeAnswer};
use super::error::CloseReason;
use crate::sasl::Mechanism;

/// Answers a SaslHandshake at `version`, moving the connection's stage on; the reason to
/// close the connection after the answer, if it must.
pub(crate) fn handle(
    request: &SaslHandshakeRequest,
    version: i16,
    auth: &mut Authentication,
) -> (SaslHandshakeResponse, Option<CloseReason>) {
    let HandshakeAnswer { error, close } = auth.handshake(request.mechanism.as_str(), version);
    (response(error.map(|e| e.code())), close)
}

/// A response with `error` (none = NONE), listing the mechanisms served unless the
/// request came at the wrong time (Kafka's request handler lists none then).
pub(crate) fn response(error: Option<i16>) -> SaslHandshakeResponse {
    let illegal_state = error == Some(kafka_protocol::ResponseError::IllegalSaslState.code());
    SaslHandshakeResponse::default()
        .with_error_code(error.unwrap_or(0))
        .with_mechanisms(if illegal_state {
            Vec::new()
        } else {
            Mechanism::ALL
                .iter()
                .map(|m| StrBytes::from_static_str(m.name()))
                .collect()
        })
}

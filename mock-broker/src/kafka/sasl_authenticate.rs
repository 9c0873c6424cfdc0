//! SaslAuthenticate: one token of the SASL exchange (see `authentication.rs`).

use std::net::SocketAddr;

use bytes::Bytes;
use kafka_protocol::messages::{SaslAuthenticateRequest, SaslAuthenticateResponse};
use kafka_protocol::protocol::StrBytes;

use super::authentication::{Authentication, TokenAnswer};
use super::error::CloseReason;
use crate::sasl::Credentials;

/// Answers a SaslAuthenticate, moving the connection's exchange on; the reason to close
/// the connection after the answer, if it must (a failed exchange).
pub(crate) fn handle(
    request: &SaslAuthenticateRequest,
    auth: &mut Authentication,
    credentials: &Credentials,
    peer: SocketAddr,
) -> (SaslAuthenticateResponse, Option<CloseReason>) {
    let TokenAnswer {
        error,
        token,
        close,
    } = auth.token(&request.auth_bytes, credentials, peer);
    let response = match error {
        None => SaslAuthenticateResponse::default().with_auth_bytes(Bytes::from(token)),
        Some((error, message)) => SaslAuthenticateResponse::default()
            .with_error_code(error.code())
            .with_error_message(Some(StrBytes::from_string(message))),
    };
    // No re-authentication (KIP-368): session_lifetime_ms stays 0.
    (response, close)
}

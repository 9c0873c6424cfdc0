//! A connection's SASL stage on a SASL listener, as Kafka's `SaslServerAuthenticator` has
//! it: what may be asked before authentication completes, and the handshake and token
//! steps that complete it (the exchange itself is the pure `crate::sasl`).
//!
//! Before the SaslHandshake only ApiVersions and SaslHandshake are served, and anything else
//! closes the connection unanswered. After it only SaslAuthenticate is served (handshake v1),
//! or raw size-prefixed tokens (handshake v0, the pre-KIP-152 flow); any other request is
//! answered with its API's response carrying ILLEGAL_SASL_STATE, then the connection closes,
//! as a failed exchange does after its SaslAuthenticate error. On listeners without SASL, and once
//! authenticated, SaslHandshake and SaslAuthenticate are answered ILLEGAL_SASL_STATE, as
//! Kafka's request handler answers them.

use std::net::SocketAddr;

use kafka_protocol::ResponseError;
use kafka_protocol::messages::ApiKey;

use super::error::CloseReason;
use crate::sasl::{Credentials, Exchange, Failure, Mechanism, Progress};

/// Where a connection is in authenticating.
#[derive(Debug)]
pub(crate) enum Authentication {
    /// A listener without SASL: nothing to authenticate.
    NotRequired,
    /// A SASL listener, before the SaslHandshake.
    AwaitingHandshake,
    /// The mechanism is chosen; the exchange runs on SaslAuthenticate requests, or on
    /// raw tokens after a v0 handshake.
    Authenticating {
        /// The exchange so far.
        exchange: Exchange,
        /// Whether tokens come raw (handshake v0) rather than in SaslAuthenticate.
        raw: bool,
    },
    /// Authenticated; everything is served.
    Authenticated,
}

/// How a request the connection may not make yet is refused.
#[derive(Debug)]
pub(crate) enum Admission {
    /// Served as on any connection.
    Serve,
    /// Answered with its API's response carrying ILLEGAL_SASL_STATE (no handler runs), then
    /// the connection closes for this reason: a request other than SaslAuthenticate after a
    /// v1 SaslHandshake, as Kafka's `SaslServerAuthenticator` answers it.
    IllegalSaslState(CloseReason),
}

/// The answer to a SaslHandshake: the error code and whether the connection then closes.
pub(crate) struct HandshakeAnswer {
    /// NONE, UNSUPPORTED_SASL_MECHANISM or ILLEGAL_SASL_STATE.
    pub(crate) error: Option<ResponseError>,
    /// Why the connection closes after the answer, if it does.
    pub(crate) close: Option<CloseReason>,
}

/// The answer to a SaslAuthenticate (or a raw token).
pub(crate) struct TokenAnswer {
    /// SASL_AUTHENTICATION_FAILED or ILLEGAL_SASL_STATE, with Kafka's message; `None` on success.
    pub(crate) error: Option<(ResponseError, String)>,
    /// The server's token (a SCRAM challenge or server-final message).
    pub(crate) token: Vec<u8>,
    /// Why the connection closes after the answer, if it does.
    pub(crate) close: Option<CloseReason>,
}

impl Authentication {
    /// The stage a new connection starts in on a listener with (`sasl`) or without SASL.
    pub(crate) fn for_listener(sasl: bool) -> Authentication {
        if sasl {
            Authentication::AwaitingHandshake
        } else {
            Authentication::NotRequired
        }
    }

    /// Whether the next frame is a raw token rather than a Kafka request.
    pub(crate) fn expects_raw_token(&self) -> bool {
        matches!(self, Authentication::Authenticating { raw: true, .. })
    }

    /// Whether a request for `api` may be served now, or how it is refused.
    ///
    /// # Errors
    /// [`CloseReason::Unauthenticated`] before the handshake: Kafka closes the connection
    /// without an answer.
    pub(crate) fn admit(&self, api: ApiKey) -> Result<Admission, CloseReason> {
        match self {
            Authentication::NotRequired | Authentication::Authenticated => Ok(Admission::Serve),
            Authentication::AwaitingHandshake => {
                if matches!(api, ApiKey::ApiVersions | ApiKey::SaslHandshake) {
                    Ok(Admission::Serve)
                } else {
                    Err(CloseReason::Unauthenticated {
                        api,
                        during: "SASL handshake",
                    })
                }
            }
            // After a v0 handshake every frame is a raw token; no request reaches here.
            Authentication::Authenticating { .. } if api == ApiKey::SaslAuthenticate => {
                Ok(Admission::Serve)
            }
            Authentication::Authenticating { .. } => {
                Ok(Admission::IllegalSaslState(CloseReason::IllegalSaslState {
                    api,
                }))
            }
        }
    }

    /// A SaslHandshake at `version` asking for `mechanism`.
    pub(crate) fn handshake(&mut self, mechanism: &str, version: i16) -> HandshakeAnswer {
        if !matches!(self, Authentication::AwaitingHandshake) {
            return HandshakeAnswer {
                error: Some(ResponseError::IllegalSaslState),
                close: None,
            };
        }
        match Mechanism::from_name(mechanism) {
            Some(mechanism) => {
                *self = Authentication::Authenticating {
                    exchange: Exchange::new(mechanism),
                    raw: version == 0,
                };
                HandshakeAnswer {
                    error: None,
                    close: None,
                }
            }
            None => HandshakeAnswer {
                error: Some(ResponseError::UnsupportedSaslMechanism),
                close: Some(CloseReason::UnsupportedMechanism {
                    asked: mechanism.to_string(),
                }),
            },
        }
    }

    /// A token from the client: in a SaslAuthenticate request, or raw after a v0 handshake.
    pub(crate) fn token(
        &mut self,
        token: &[u8],
        credentials: &Credentials,
        peer: SocketAddr,
    ) -> TokenAnswer {
        let Authentication::Authenticating { exchange, .. } = self else {
            return TokenAnswer {
                error: Some((
                    ResponseError::IllegalSaslState,
                    "SaslAuthenticate request received after successful authentication".into(),
                )),
                token: Vec::new(),
                close: None,
            };
        };
        let mechanism = exchange.mechanism();
        match exchange.step(token, credentials, crate::sasl::random_nonce) {
            Ok(Progress::Challenge(challenge)) => TokenAnswer {
                error: None,
                token: challenge,
                close: None,
            },
            Ok(Progress::Complete { user, reply }) => {
                tracing::debug!(%peer, %user, %mechanism, "client authenticated");
                *self = Authentication::Authenticated;
                TokenAnswer {
                    error: None,
                    token: reply,
                    close: None,
                }
            }
            Err(Failure { told, reason }) => TokenAnswer {
                close: Some(CloseReason::AuthenticationFailed { mechanism, reason }),
                error: Some((ResponseError::SaslAuthenticationFailed, told)),
                token: Vec::new(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> SocketAddr {
        "127.0.0.1:1".parse().unwrap()
    }

    fn users() -> Credentials {
        Credentials::load(&["alice:secret".into()], None).unwrap()
    }

    #[test]
    fn before_the_handshake_only_api_versions_and_the_handshake_are_served() {
        let stage = Authentication::for_listener(true);
        assert!(matches!(
            stage.admit(ApiKey::ApiVersions),
            Ok(Admission::Serve)
        ));
        assert!(matches!(
            stage.admit(ApiKey::SaslHandshake),
            Ok(Admission::Serve)
        ));
        for api in [ApiKey::Metadata, ApiKey::Produce, ApiKey::SaslAuthenticate] {
            let reason = stage.admit(api).unwrap_err().to_string();
            assert!(reason.contains("during SASL handshake"), "{reason}");
        }
        assert!(matches!(
            Authentication::for_listener(false).admit(ApiKey::Produce),
            Ok(Admission::Serve)
        ));
    }

    #[test]
    fn plain_over_saslauthenticate_then_everything_is_served() {
        let mut stage = Authentication::for_listener(true);
        let answer = stage.handshake("PLAIN", 1);
        assert!(answer.error.is_none() && answer.close.is_none());
        assert!(matches!(
            stage.admit(ApiKey::SaslAuthenticate),
            Ok(Admission::Serve)
        ));
        for api in [ApiKey::ApiVersions, ApiKey::SaslHandshake, ApiKey::Produce] {
            let Ok(Admission::IllegalSaslState(reason)) = stage.admit(api) else {
                panic!("{api:?} during the exchange is answered ILLEGAL_SASL_STATE");
            };
            assert!(
                reason.to_string().contains("during SASL authentication"),
                "{reason}"
            );
        }
        let answer = stage.token(b"\0alice\0secret", &users(), peer());
        assert!(answer.error.is_none() && answer.close.is_none());
        assert!(matches!(stage, Authentication::Authenticated));
        assert!(matches!(stage.admit(ApiKey::Produce), Ok(Admission::Serve)));
        let again = stage.handshake("PLAIN", 1);
        assert_eq!(again.error, Some(ResponseError::IllegalSaslState));
        assert!(again.close.is_none());
    }

    #[test]
    fn a_wrong_password_is_answered_then_closes() {
        let mut stage = Authentication::for_listener(true);
        stage.handshake("PLAIN", 1);
        let answer = stage.token(b"\0alice\0guess", &users(), peer());
        let (error, message) = answer.error.unwrap();
        assert_eq!(error, ResponseError::SaslAuthenticationFailed);
        assert_eq!(
            message,
            "Authentication failed: Invalid username or password"
        );
        assert!(answer.close.is_some());
        assert!(!matches!(
            stage.admit(ApiKey::Produce),
            Ok(Admission::Serve)
        ));
    }

    #[test]
    fn an_unknown_mechanism_is_refused_and_closes() {
        let mut stage = Authentication::for_listener(true);
        let answer = stage.handshake("GSSAPI", 1);
        assert_eq!(answer.error, Some(ResponseError::UnsupportedSaslMechanism));
        assert!(answer.close.unwrap().to_string().contains("GSSAPI"));
    }

    #[test]
    fn a_v0_handshake_takes_raw_tokens() {
        let mut stage = Authentication::for_listener(true);
        stage.handshake("PLAIN", 0);
        assert!(stage.expects_raw_token());
        let answer = stage.token(b"\0alice\0secret", &users(), peer());
        assert!(answer.error.is_none());
        assert!(!stage.expects_raw_token());
    }
}

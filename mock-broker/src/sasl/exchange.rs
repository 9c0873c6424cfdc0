//! One connection's SASL exchange, as a state machine: mechanism chosen → client-first →
//! server-first → client-final → done, or failed at any step.
//!
//! PLAIN completes on its one token; SCRAM answers the client-first message with the
//! server-first, and completes on the client-final. The messages a client is told on
//! failure are Kafka's: the specific ones PLAIN gives, otherwise the general
//! "invalid credentials" sentence (which says nothing about whether the user exists).

use super::credentials::Credentials;
use super::mechanism::Mechanism;
use super::plain::{self, PlainRefusal};
use super::scram::{ClientFirst, ScramHash, ServerFirst};

/// Where an exchange is.
#[derive(Debug)]
enum Stage {
    /// The mechanism is chosen; the client's first token is next.
    Started,
    /// SCRAM: the server-first message was sent; the client-final is next.
    ServerFirstSent(Box<ServerFirst>),
    /// Authenticated.
    Done,
    /// Refused; nothing more is accepted.
    Failed,
}

/// One connection's authentication with one mechanism.
#[derive(Debug)]
pub(crate) struct Exchange {
    mechanism: Mechanism,
    stage: Stage,
}

/// What a token led to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Progress {
    /// More is needed: send this challenge, then the client answers it.
    Challenge(Vec<u8>),
    /// Authenticated as `user`; send `reply` (empty for PLAIN, the server-final for SCRAM).
    Complete {
        /// The authenticated user.
        user: String,
        /// The last token for the client.
        reply: Vec<u8>,
    },
}

/// A refused exchange: what the client is told, and why, for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    /// The error message in the SaslAuthenticate response.
    pub(crate) told: String,
    /// The detail, which a client must not learn (whether the user exists).
    pub(crate) reason: String,
}

impl Exchange {
    /// An exchange with the `mechanism` the client chose in its SaslHandshake.
    pub(crate) fn new(mechanism: Mechanism) -> Exchange {
        Exchange {
            mechanism,
            stage: Stage::Started,
        }
    }

    /// The mechanism in use.
    pub(crate) fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    /// Takes the client's next token; `server_nonce` makes SCRAM's part of the nonce
    /// (random in the broker, fixed in tests).
    ///
    /// # Errors
    /// [`Failure`] when the token is refused; the exchange is then over.
    pub(crate) fn step(
        &mut self,
        token: &[u8],
        credentials: &Credentials,
        server_nonce: impl FnOnce() -> String,
    ) -> Result<Progress, Failure> {
        let stage = std::mem::replace(&mut self.stage, Stage::Failed);
        let result = match (stage, self.mechanism) {
            (Stage::Started, Mechanism::Plain) => plain::authenticate(token, credentials)
                .map(|user| Progress::Complete {
                    user,
                    reply: Vec::new(),
                })
                .map_err(|refusal| match refusal {
                    PlainRefusal::Malformed(reason) => self.general_failure(reason),
                    PlainRefusal::Told(told, reason) => Failure {
                        told: told.to_string(),
                        reason,
                    },
                }),
            (Stage::Started, Mechanism::ScramSha256 | Mechanism::ScramSha512) => {
                self.client_first(token, credentials, server_nonce)
            }
            (Stage::ServerFirstSent(first), mechanism) => {
                let hash = scram_hash(mechanism);
                match credentials.scram(first.user(), hash) {
                    Some(credential) => first
                        .finish(hash, credential, token)
                        .map(|reply| Progress::Complete {
                            user: first.user().to_string(),
                            reply,
                        })
                        .map_err(|reason| self.general_failure(reason)),
                    None => Err(self.general_failure(format!(
                        "user {:?} was removed during the exchange",
                        first.user()
                    ))),
                }
            }
            (Stage::Done, _) => Err(Failure {
                told: "SaslAuthenticate request received after successful authentication".into(),
                reason: "a token after the exchange completed".into(),
            }),
            (Stage::Failed, _) => {
                Err(self.general_failure("a token after the exchange failed".into()))
            }
        };
        // A challenge left the stage it leads to (`client_first` set it).
        match &result {
            Ok(Progress::Complete { .. }) => self.stage = Stage::Done,
            Err(_) => self.stage = Stage::Failed,
            Ok(Progress::Challenge(_)) => {}
        }
        result
    }

    fn client_first(
        &mut self,
        token: &[u8],
        credentials: &Credentials,
        server_nonce: impl FnOnce() -> String,
    ) -> Result<Progress, Failure> {
        let first = ClientFirst::parse(token).map_err(|reason| self.general_failure(reason))?;
        if first.token_auth {
            return Err(self.general_failure(format!(
                "user {:?} asked for delegation-token authentication, which is not served",
                first.user
            )));
        }
        let Some(credential) = credentials.scram(&first.user, scram_hash(self.mechanism)) else {
            return Err(self.general_failure(format!("no such user {:?}", first.user)));
        };
        if !first.authzid.is_empty() && first.authzid != first.user {
            return Err(Failure {
                told: "Authentication failed: Client requested an authorization id that is different from username".into(),
                reason: format!("user {:?} asked to act as {:?}", first.user, first.authzid),
            });
        }
        let server_first = ServerFirst::new(first, &server_nonce(), credential);
        let challenge = server_first.message().to_vec();
        self.stage = Stage::ServerFirstSent(Box::new(server_first));
        Ok(Progress::Challenge(challenge))
    }

    /// Kafka's message for every refusal it does not explain to the client.
    fn general_failure(&self, reason: String) -> Failure {
        Failure {
            told: format!(
                "Authentication failed during authentication due to invalid credentials with SASL mechanism {}",
                self.mechanism
            ),
            reason,
        }
    }
}

fn scram_hash(mechanism: Mechanism) -> ScramHash {
    match mechanism {
        Mechanism::ScramSha512 => ScramHash::Sha512,
        Mechanism::ScramSha256 | Mechanism::Plain => ScramHash::Sha256,
    }
}

/// A server nonce: 32 random letters and digits, as Kafka's are.
pub(crate) fn random_nonce() -> String {
    use rand::Rng as _;
    rand::rng()
        .sample_iter(rand::distr::Alphanumeric)
        .take(32)
        .map(char::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sasl::scram_client::client_final;

    fn users() -> Credentials {
        Credentials::load(&["alice:secret".into()], None).unwrap()
    }

    fn fixed() -> String {
        "SERVERNONCE".into()
    }

    #[test]
    fn plain_completes_on_its_one_token() {
        let mut exchange = Exchange::new(Mechanism::Plain);
        assert_eq!(
            exchange.step(b"\0alice\0secret", &users(), fixed),
            Ok(Progress::Complete {
                user: "alice".into(),
                reply: Vec::new()
            })
        );
        let again = exchange
            .step(b"\0alice\0secret", &users(), fixed)
            .unwrap_err();
        assert!(
            again.told.contains("after successful authentication"),
            "{again:?}"
        );
    }

    #[test]
    fn scram_goes_through_client_first_server_first_client_final() {
        for (mechanism, hash) in [
            (Mechanism::ScramSha256, ScramHash::Sha256),
            (Mechanism::ScramSha512, ScramHash::Sha512),
        ] {
            let users = users();
            let mut exchange = Exchange::new(mechanism);
            let Ok(Progress::Challenge(server_first)) =
                exchange.step(b"n,,n=alice,r=CLIENT", &users, fixed)
            else {
                panic!("{mechanism}: no challenge");
            };
            let server_first = String::from_utf8(server_first).unwrap();
            assert!(
                server_first.starts_with("r=CLIENTSERVERNONCE,s="),
                "{server_first}"
            );
            assert!(server_first.ends_with(",i=4096"), "{server_first}");
            let last = client_final(hash, "secret", "n=alice,r=CLIENT", &server_first).unwrap();
            match exchange.step(last.as_bytes(), &users, fixed) {
                Ok(Progress::Complete { user, reply }) => {
                    assert_eq!(user, "alice");
                    assert!(reply.starts_with(b"v="), "{reply:?}");
                }
                other => panic!("{mechanism}: {other:?}"),
            }
        }
    }

    #[test]
    fn scram_with_a_wrong_password_fails_with_kafkas_general_message_and_stays_failed() {
        let users = users();
        let mut exchange = Exchange::new(Mechanism::ScramSha256);
        let Ok(Progress::Challenge(server_first)) =
            exchange.step(b"n,,n=alice,r=CLIENT", &users, fixed)
        else {
            panic!("no challenge");
        };
        let server_first = String::from_utf8(server_first).unwrap();
        let last = client_final(
            ScramHash::Sha256,
            "guess",
            "n=alice,r=CLIENT",
            &server_first,
        )
        .unwrap();
        let failure = exchange.step(last.as_bytes(), &users, fixed).unwrap_err();
        assert_eq!(
            failure.told,
            "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
        );
        assert!(
            failure.reason.contains("invalid client credentials"),
            "{failure:?}"
        );
        let good = client_final(
            ScramHash::Sha256,
            "secret",
            "n=alice,r=CLIENT",
            &server_first,
        )
        .unwrap();
        assert!(exchange.step(good.as_bytes(), &users, fixed).is_err());
    }

    #[test]
    fn an_unknown_scram_user_is_not_told_apart_from_a_wrong_password() {
        let mut exchange = Exchange::new(Mechanism::ScramSha512);
        let failure = exchange
            .step(b"n,,n=mallory,r=X", &users(), fixed)
            .unwrap_err();
        assert!(
            failure.told.ends_with("SASL mechanism SCRAM-SHA-512"),
            "{failure:?}"
        );
        assert!(failure.reason.contains("mallory"), "{failure:?}");
    }

    #[test]
    fn a_scram_client_sending_a_wrong_nonce_fails() {
        let users = users();
        let mut exchange = Exchange::new(Mechanism::ScramSha256);
        let Ok(Progress::Challenge(server_first)) =
            exchange.step(b"n,,n=alice,r=CLIENT", &users, fixed)
        else {
            panic!("no challenge");
        };
        let server_first = String::from_utf8(server_first).unwrap();
        let forged = server_first.replacen("SERVERNONCE", "OTHERNONCE", 1);
        let last = client_final(ScramHash::Sha256, "secret", "n=alice,r=CLIENT", &forged).unwrap();
        let failure = exchange.step(last.as_bytes(), &users, fixed).unwrap_err();
        assert!(failure.reason.contains("nonce"), "{failure:?}");
    }

    #[test]
    fn garbage_tokens_fail_every_mechanism() {
        for mechanism in Mechanism::ALL {
            let mut exchange = Exchange::new(mechanism);
            let failure = exchange
                .step(b"\x00\xff garbage", &users(), fixed)
                .unwrap_err();
            assert!(
                failure.told.starts_with("Authentication failed"),
                "{failure:?}"
            );
        }
    }

    #[test]
    fn random_nonces_are_printable_and_differ() {
        let (a, b) = (random_nonce(), random_nonce());
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}

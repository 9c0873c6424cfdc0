//! SASL authentication as Kafka's SASL listeners do it, as pure code: no socket, no clock.
//!
//! The users come from the configuration ([`Credentials`], `credentials.rs`), each with
//! a clear password for PLAIN and salted SCRAM credentials for SCRAM-SHA-256 and
//! SCRAM-SHA-512 (`scram.rs`, RFC 5802/7677). One connection's exchange is an
//! [`Exchange`] (`exchange.rs`): mechanism chosen → client-first → server-first →
//! client-final → done or failed. The Kafka session (`kafka/authentication.rs`) feeds it
//! the tokens of SaslHandshake and SaslAuthenticate requests.

mod credentials;
mod exchange;
mod mechanism;
mod plain;
mod scram;
mod scram_client;

pub(crate) use credentials::{Credentials, check_entry};
pub(crate) use exchange::{Exchange, Failure, Progress, random_nonce};
pub(crate) use mechanism::Mechanism;
pub(crate) use scram::ScramHash;
pub(crate) use scram_client::client_final;

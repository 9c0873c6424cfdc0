//! Listeners by security protocol, as Kafka's `listeners` setting names them:
//! `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT`, `SASL_SSL`, each with its own address.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// How a listener's clients connect: with or without TLS, with or without SASL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecurityProtocol {
    /// Neither TLS nor authentication.
    Plaintext,
    /// TLS, no authentication.
    Ssl,
    /// SASL authentication over plain TCP.
    SaslPlaintext,
    /// SASL authentication over TLS.
    SaslSsl,
}

impl SecurityProtocol {
    /// Every protocol, by the name Kafka gives it.
    pub const ALL: [SecurityProtocol; 4] = [
        SecurityProtocol::Plaintext,
        SecurityProtocol::Ssl,
        SecurityProtocol::SaslPlaintext,
        SecurityProtocol::SaslSsl,
    ];

    /// Kafka's name: `PLAINTEXT`, `SSL`, `SASL_PLAINTEXT`, `SASL_SSL`.
    pub fn name(self) -> &'static str {
        match self {
            SecurityProtocol::Plaintext => "PLAINTEXT",
            SecurityProtocol::Ssl => "SSL",
            SecurityProtocol::SaslPlaintext => "SASL_PLAINTEXT",
            SecurityProtocol::SaslSsl => "SASL_SSL",
        }
    }

    /// Whether connections are wrapped in TLS.
    pub fn tls(self) -> bool {
        matches!(self, SecurityProtocol::Ssl | SecurityProtocol::SaslSsl)
    }

    /// Whether clients must authenticate with SASL before anything else is served.
    pub fn sasl(self) -> bool {
        matches!(
            self,
            SecurityProtocol::SaslPlaintext | SecurityProtocol::SaslSsl
        )
    }
}

impl fmt::Display for SecurityProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One listener: a security protocol and the address it accepts connections on.
///
/// Written as Kafka writes listeners: `SASL_SSL://127.0.0.1:9094`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenerSpec {
    /// How clients connect to it.
    pub protocol: SecurityProtocol,
    /// Where it listens; with `brokers` > 1, broker *i* listens on the port *i* − 1 after it.
    pub address: SocketAddr,
}

impl FromStr for ListenerSpec {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let (name, address) = text.split_once("://").ok_or_else(|| {
            format!("listener {text:?} is not PROTOCOL://ADDRESS, like SASL_SSL://127.0.0.1:9094")
        })?;
        let protocol = SecurityProtocol::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
            .ok_or_else(|| {
                format!(
                    "listener {text:?}: {name:?} is not a security protocol; expected PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
                )
            })?;
        let address = address.parse().map_err(|_| {
            format!("listener {text:?}: {address:?} is not an address like 127.0.0.1:9094")
        })?;
        Ok(ListenerSpec { protocol, address })
    }
}

impl fmt::Display for ListenerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", self.protocol, self.address)
    }
}

impl Serialize for ListenerSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ListenerSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listeners_are_written_as_kafka_writes_them() {
        let spec: ListenerSpec = "SASL_SSL://127.0.0.1:9094".parse().unwrap();
        assert_eq!(spec.protocol, SecurityProtocol::SaslSsl);
        assert_eq!(spec.address.port(), 9094);
        assert_eq!(spec.to_string(), "SASL_SSL://127.0.0.1:9094");
        assert!(spec.protocol.tls() && spec.protocol.sasl());
        let spec: ListenerSpec = "sasl_plaintext://[::1]:0".parse().unwrap();
        assert!(!spec.protocol.tls() && spec.protocol.sasl());
    }

    #[test]
    fn bad_listeners_name_what_is_wrong() {
        let error = "127.0.0.1:9094".parse::<ListenerSpec>().unwrap_err();
        assert!(error.contains("PROTOCOL://ADDRESS"), "{error}");
        let error = "TLS://127.0.0.1:9094".parse::<ListenerSpec>().unwrap_err();
        assert!(
            error.contains("\"TLS\" is not a security protocol"),
            "{error}"
        );
        let error = "SSL://localhost".parse::<ListenerSpec>().unwrap_err();
        assert!(error.contains("\"localhost\""), "{error}");
    }
}

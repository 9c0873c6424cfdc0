//! The SASL mechanisms the broker accepts, by the names Kafka gives them.

use std::fmt;

/// A SASL mechanism the broker's SASL listeners accept (Kafka's `sasl.enabled.mechanisms`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Mechanism {
    /// RFC 4616: the password in the clear (so only sensible over TLS).
    Plain,
    /// RFC 7677: SCRAM with SHA-256.
    ScramSha256,
    /// SCRAM with SHA-512, as Kafka names it.
    ScramSha512,
}

impl Mechanism {
    /// Every mechanism, in the order SaslHandshake lists them.
    pub(crate) const ALL: [Mechanism; 3] = [
        Mechanism::Plain,
        Mechanism::ScramSha256,
        Mechanism::ScramSha512,
    ];

    /// The name clients ask for: `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512`.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::ScramSha256 => "SCRAM-SHA-256",
            Mechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }

    /// The mechanism named `name` (exactly, as Kafka compares them).
    pub(crate) fn from_name(name: &str) -> Option<Mechanism> {
        Mechanism::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_are_case_sensitive() {
        for mechanism in Mechanism::ALL {
            assert_eq!(Mechanism::from_name(mechanism.name()), Some(mechanism));
        }
        assert_eq!(Mechanism::from_name("plain"), None);
        assert_eq!(Mechanism::from_name("GSSAPI"), None);
    }
}

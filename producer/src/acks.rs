//! How many acknowledgements a produce request waits for.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// The `acks` setting, as in every Kafka client.
///
/// In TOML it is written `0`, `1`, `-1` or `"all"` (a string form of each
/// number is accepted too, so `acks = "1"` pasted from a properties file works).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Acks {
    /// Fire and forget: the send completes once the request is written to the socket.
    None,
    /// The send completes once the leader has recorded the message.
    Leader,
    /// The send completes once all in-sync replicas have it (the mock broker
    /// has no replicas, so there it means the same as [`Acks::Leader`]).
    #[default]
    All,
}

impl Acks {
    /// The value of the Kafka `acks` field.
    pub fn as_i16(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }

    /// Parses the forms users write: `0`, `1`, `-1`, `all` (any case).
    ///
    /// # Errors
    /// A sentence naming the value and what is allowed.
    pub fn parse(text: &str) -> Result<Acks, String> {
        match text.trim().to_ascii_lowercase().as_str() {
            "0" => Ok(Acks::None),
            "1" => Ok(Acks::Leader),
            "-1" | "all" => Ok(Acks::All),
            other => Err(format!(
                "invalid acks value {other:?}: expected 0, 1, -1 or \"all\""
            )),
        }
    }
}

impl fmt::Display for Acks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Acks::None => f.write_str("0"),
            Acks::Leader => f.write_str("1"),
            Acks::All => f.write_str("all"),
        }
    }
}

impl std::str::FromStr for Acks {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Acks::parse(s)
    }
}

impl Serialize for Acks {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Acks::All => serializer.serialize_str("all"),
            other => serializer.serialize_i64(i64::from(other.as_i16())),
        }
    }
}

impl<'de> Deserialize<'de> for Acks {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct AcksVisitor;
        impl Visitor<'_> for AcksVisitor {
            type Value = Acks;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("0, 1, -1 or \"all\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Acks, E> {
                Acks::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Acks, E> {
                Acks::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Acks, E> {
                Acks::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(AcksVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Holder {
        acks: Acks,
    }

    fn from_toml(text: &str) -> Result<Acks, String> {
        toml::from_str::<Holder>(text)
            .map(|h| h.acks)
            .map_err(|e| e.message().to_string())
    }

    #[test]
    fn accepts_integers_and_strings() {
        assert_eq!(from_toml("acks = 0"), Ok(Acks::None));
        assert_eq!(from_toml("acks = 1"), Ok(Acks::Leader));
        assert_eq!(from_toml("acks = -1"), Ok(Acks::All));
        assert_eq!(from_toml("acks = \"all\""), Ok(Acks::All));
        assert_eq!(from_toml("acks = \"ALL\""), Ok(Acks::All));
        assert_eq!(from_toml("acks = \"1\""), Ok(Acks::Leader));
    }

    #[test]
    fn rejects_other_values_naming_the_value() {
        let err = from_toml("acks = 2").unwrap_err();
        assert!(err.contains("\"2\"") && err.contains("\"all\""), "{err}");
        assert!(
            from_toml("acks = \"some\"")
                .unwrap_err()
                .contains("\"some\"")
        );
        assert!(from_toml("acks = 1.5").is_err());
    }
}

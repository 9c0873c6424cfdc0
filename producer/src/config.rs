//! The producer's settings, in code or from a TOML file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Acks;
use crate::error::Error;
use crate::frame::{DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_MESSAGE_BYTES};
use crate::topic_name::validate_topic_name;

/// Everything a [`Producer`](crate::Producer) needs to know.
///
/// TOML keys are the field names, with `_ms` for durations in milliseconds;
/// the Kafka property names (`bootstrap.servers`, `client.id`, `acks`,
/// `request.timeout.ms`, …) are accepted as aliases so existing producer
/// properties can be pasted. Unknown keys are rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Config {
    /// `host:port` of the broker. Default `127.0.0.1:9092`.
    #[serde(alias = "bootstrap.servers", alias = "bootstrap_servers")]
    pub broker_address: String,
    /// The topic [`Producer::send_message`](crate::Producer::send_message) and records without a topic go to.
    pub topic: String,
    /// Sent to the broker so its logs and recordings say who produced. Default `producer`.
    #[serde(alias = "client.id")]
    pub client_id: String,
    /// How many acknowledgements to wait for. Default `all` (as the Java client since 3.0).
    pub acks: Acks,
    /// How long to wait for the broker's answer to one request. Default 30 s.
    #[serde(
        rename = "request_timeout_ms",
        alias = "request.timeout.ms",
        with = "millis"
    )]
    pub request_timeout: Duration,
    /// How long to wait for the TCP connection to be established. Default 10 s.
    #[serde(
        rename = "connect_timeout_ms",
        alias = "socket.connection.setup.timeout.ms",
        with = "millis"
    )]
    pub connect_timeout: Duration,
    /// The largest message the producer sends; larger ones fail locally. Default 1 MiB.
    pub max_message_bytes: u32,
    /// The largest frame (request) the producer sends. Default 16 MiB.
    #[serde(alias = "max.request.size")]
    pub max_frame_bytes: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            broker_address: "127.0.0.1:9092".into(),
            topic: "default".into(),
            client_id: "producer".into(),
            acks: Acks::All,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        }
    }
}

impl Config {
    /// A default configuration for `broker_address` and `topic`.
    pub fn new(broker_address: impl Into<String>, topic: impl Into<String>) -> Self {
        Config {
            broker_address: broker_address.into(),
            topic: topic.into(),
            ..Config::default()
        }
    }

    /// Reads a configuration from a TOML file; missing keys take their defaults.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the file, and the line and key at fault.
    pub fn from_toml_file(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| Error::InvalidConfig {
            file: Some(path.to_path_buf()),
            reason: format!("cannot read the file: {e}"),
        })?;
        Self::parse(&text, Some(path))
    }

    /// Reads a configuration from TOML text; missing keys take their defaults.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the line and key at fault.
    pub fn from_toml_str(text: &str) -> Result<Self, Error> {
        Self::parse(text, None)
    }

    fn parse(text: &str, file: Option<&Path>) -> Result<Self, Error> {
        let config: Config = toml::from_str(text).map_err(|e| Error::InvalidConfig {
            file: file.map(Path::to_path_buf),
            reason: describe_toml_error(text, &e),
        })?;
        config.validate().map_err(|e| match e {
            Error::InvalidConfig { reason, .. } => Error::InvalidConfig {
                file: file.map(PathBuf::from),
                reason,
            },
            other => other,
        })?;
        Ok(config)
    }

    /// Checks the values that types alone cannot.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] naming the key, the value and what is allowed.
    pub fn validate(&self) -> Result<(), Error> {
        let invalid = |reason: String| Error::InvalidConfig { file: None, reason };
        if self.broker_address.trim().is_empty() {
            return Err(invalid(
                "broker_address is empty; expected host:port".into(),
            ));
        }
        validate_topic_name(&self.topic).map_err(|e| invalid(format!("topic: {e}")))?;
        for (key, value) in [
            ("request_timeout_ms", self.request_timeout),
            ("connect_timeout_ms", self.connect_timeout),
        ] {
            if value.is_zero() {
                return Err(invalid(format!("{key} is 0; expected at least 1")));
            }
        }
        if self.max_message_bytes == 0 {
            return Err(invalid(
                "max_message_bytes is 0; expected at least 1".into(),
            ));
        }
        if self.max_frame_bytes < crate::frame::HEADER_LEN as u32 + 64 {
            return Err(invalid(format!(
                "max_frame_bytes is {}; expected at least {}",
                self.max_frame_bytes,
                crate::frame::HEADER_LEN + 64
            )));
        }
        Ok(())
    }
}

/// One line: where in the text, and what serde said.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {}", error.message())
        }
        None => error.message().to_string(),
    }
}

/// Durations as whole milliseconds in TOML.
mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_millis() as u64)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        u64::deserialize(d).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_keys_take_the_defaults() {
        let config = Config::from_toml_str("topic = \"orders\"").unwrap();
        assert_eq!(config.topic, "orders");
        assert_eq!(config.broker_address, "127.0.0.1:9092");
        assert_eq!(config.acks, Acks::All);
        assert_eq!(config.request_timeout, Duration::from_secs(30));
    }

    #[test]
    fn kafka_property_names_are_accepted() {
        let config = Config::from_toml_str(
            "\"bootstrap.servers\" = \"10.0.0.1:9092\"\n\"client.id\" = \"app\"\nacks = 1\n\"request.timeout.ms\" = 500",
        )
        .unwrap();
        assert_eq!(config.broker_address, "10.0.0.1:9092");
        assert_eq!(config.client_id, "app");
        assert_eq!(config.acks, Acks::Leader);
        assert_eq!(config.request_timeout, Duration::from_millis(500));
    }

    #[test]
    fn unknown_key_is_rejected_naming_the_key_the_line_and_the_file() {
        let dir = std::env::temp_dir().join(format!("producer-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("producer.toml");
        std::fs::write(&path, "topic = \"t\"\nlinger_mss = 5\n").unwrap();
        let err = Config::from_toml_file(&path).unwrap_err().to_string();
        assert!(err.contains("producer.toml"), "{err}");
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("linger_mss"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn invalid_values_name_the_key_and_what_is_allowed() {
        let err = Config::from_toml_str("acks = 3").unwrap_err().to_string();
        assert!(err.contains("acks") && err.contains("\"all\""), "{err}");
        let err = Config::from_toml_str("topic = \"no spaces\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("topic") && err.contains("' '"), "{err}");
        let err = Config::from_toml_str("request_timeout_ms = 0")
            .unwrap_err()
            .to_string();
        assert!(err.contains("request_timeout_ms is 0"), "{err}");
    }

    #[test]
    fn a_missing_file_is_named() {
        let err = Config::from_toml_file("/nonexistent/p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("/nonexistent/p.toml"), "{err}");
    }
}

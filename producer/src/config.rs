//! The producer's settings, in code or from a TOML file.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Acks;
use crate::compression::Compression;
use crate::error::Error;
use crate::partitioner::{KeyHash, KeylessStrategy};
use protocol::frame::{DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_MESSAGE_BYTES};
use protocol::topic_name::validate_topic_name;

/// Which wire protocol the producer speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// The Kafka protocol: works with Kafka, Redpanda, librdkafka's mock cluster and the mock broker.
    #[default]
    Kafka,
    /// The project's frame protocol: the mock broker only.
    Frame,
}

/// Everything a [`Producer`](crate::Producer) needs to know.
///
/// TOML keys are the field names, with `_ms` for durations in milliseconds;
/// the Kafka property names (`bootstrap.servers`, `client.id`, `acks`,
/// `linger.ms`, `batch.size`, `enable.idempotence`, `compression.type`, …)
/// are accepted as aliases so existing producer properties can be pasted.
/// Unknown keys are rejected. Defaults follow the Java client where it has
/// the setting. `docs/producer-config.md` lists every key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct Config {
    /// `kafka` or `frame`. Default `kafka`.
    pub protocol: Protocol,
    /// `host:port` of the broker; for Kafka a comma-separated bootstrap list. Default `127.0.0.1:9092`.
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
    /// How long a batch waits for more records before it is sent. Default 5 ms (Java ≥ 4.0).
    #[serde(rename = "linger_ms", alias = "linger.ms", with = "millis")]
    pub linger: Duration,
    /// A batch is sent once it holds this many bytes. Default 16384.
    #[serde(alias = "batch.size")]
    pub batch_size: usize,
    /// Requests in flight per broker connection. Default 5.
    #[serde(alias = "max.in.flight.requests.per.connection")]
    pub max_in_flight: u32,
    /// How many times a batch is sent again after a retriable error. Default 2147483647
    /// (retries end at `delivery_timeout_ms`).
    pub retries: u32,
    /// The first retry's backoff; later ones double, with ±20% jitter. Default 100 ms.
    #[serde(
        rename = "retry_backoff_ms",
        alias = "retry.backoff.ms",
        with = "millis"
    )]
    pub retry_backoff: Duration,
    /// The longest retry backoff. Default 1000 ms.
    #[serde(
        rename = "retry_backoff_max_ms",
        alias = "retry.backoff.max.ms",
        with = "millis"
    )]
    pub retry_backoff_max: Duration,
    /// How long a record may take, retries included, before it fails. Default 120000 ms.
    #[serde(
        rename = "delivery_timeout_ms",
        alias = "delivery.timeout.ms",
        with = "millis"
    )]
    pub delivery_timeout: Duration,
    /// Idempotent producing (no duplicates from retries). Default: on when acks = all (Kafka only).
    #[serde(alias = "enable.idempotence")]
    pub idempotent: Option<bool>,
    /// `none`, `gzip`, `snappy`, `lz4` or `zstd` (Kafka only). Default `none`.
    #[serde(alias = "compression.type")]
    pub compression: Compression,
    /// Bytes of records held until settled; `send` waits when they are used up. Default 32 MiB.
    #[serde(alias = "buffer.memory")]
    pub buffer_memory: usize,
    /// Metadata is refreshed at least this often. Default 300000 ms.
    #[serde(
        rename = "metadata_max_age_ms",
        alias = "metadata.max.age.ms",
        with = "millis"
    )]
    pub metadata_max_age: Duration,
    /// How keyed records pick a partition: `fnv1a` (default) or `murmur2` (the Java client's).
    pub partitioner: KeyHash,
    /// How keyless records pick a partition: `sticky` (default, Java ≥ 2.4) or `round_robin`.
    pub keyless_partitioner: KeylessStrategy,
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
            protocol: Protocol::Kafka,
            linger: Duration::from_millis(5),
            batch_size: 16 * 1024,
            max_in_flight: 5,
            retries: i32::MAX as u32,
            retry_backoff: Duration::from_millis(100),
            retry_backoff_max: Duration::from_secs(1),
            delivery_timeout: Duration::from_secs(120),
            idempotent: None,
            compression: Compression::None,
            buffer_memory: 32 * 1024 * 1024,
            metadata_max_age: Duration::from_secs(300),
            partitioner: KeyHash::Fnv1a,
            keyless_partitioner: KeylessStrategy::Sticky,
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

    /// Whether the producer runs idempotent: as configured, else on when acks = all (Kafka only).
    pub fn is_idempotent(&self) -> bool {
        self.protocol == Protocol::Kafka && self.idempotent.unwrap_or(self.acks == Acks::All)
    }

    /// The bootstrap addresses of `broker_address`.
    pub fn bootstrap_servers(&self) -> Vec<String> {
        self.broker_address
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
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
        if self.max_frame_bytes < protocol::frame::HEADER_LEN as u32 + 64 {
            return Err(invalid(format!(
                "max_frame_bytes is {}; expected at least {}",
                self.max_frame_bytes,
                protocol::frame::HEADER_LEN + 64
            )));
        }
        if self.idempotent == Some(true) {
            if self.protocol == Protocol::Frame {
                return Err(invalid(
                    "idempotent = true needs protocol = \"kafka\"; the frame protocol has no producer ids".into(),
                ));
            }
            if self.acks != Acks::All {
                return Err(invalid(format!(
                    "idempotent = true needs acks = \"all\" (got acks = {}), as in the Java client",
                    self.acks
                )));
            }
            if self.max_in_flight > 5 {
                return Err(invalid(format!(
                    "idempotent = true allows at most 5 requests in flight (got max_in_flight = {})",
                    self.max_in_flight
                )));
            }
        }
        for (key, value) in [
            ("batch_size", self.batch_size),
            ("buffer_memory", self.buffer_memory),
            ("max_in_flight", self.max_in_flight as usize),
        ] {
            if value == 0 {
                return Err(invalid(format!("{key} is 0; expected at least 1")));
            }
        }
        if self.delivery_timeout < self.linger + self.request_timeout {
            return Err(invalid(format!(
                "delivery_timeout_ms ({}) must be at least linger_ms + request_timeout_ms ({})",
                self.delivery_timeout.as_millis(),
                (self.linger + self.request_timeout).as_millis()
            )));
        }
        if self.bootstrap_servers().is_empty() {
            return Err(invalid("broker_address names no host:port".into()));
        }
        Ok(())
    }
}

/// One line for a TOML error: the line it is on in `text`, and what serde said
/// (naming the key). Shared by every TOML file the project reads.
pub fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
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

    /// Writes `value` as whole milliseconds.
    pub(super) fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(value.as_millis() as u64)
    }

    /// Reads whole milliseconds.
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
    fn pasted_java_producer_properties_are_understood() {
        let config = Config::from_toml_str(
            r#"
            "bootstrap.servers" = "a:9092,b:9092"
            "linger.ms" = 20
            "batch.size" = 65536
            acks = "all"
            "enable.idempotence" = true
            "compression.type" = "zstd"
            retries = 3
            "delivery.timeout.ms" = 60000
            "max.in.flight.requests.per.connection" = 5
            "buffer.memory" = 1048576
            "#,
        )
        .unwrap();
        assert_eq!(config.bootstrap_servers(), vec!["a:9092", "b:9092"]);
        assert_eq!(config.linger, Duration::from_millis(20));
        assert_eq!(config.batch_size, 65536);
        assert!(config.is_idempotent());
        assert_eq!(config.compression, Compression::Zstd);
        assert_eq!(config.retries, 3);
        assert_eq!(config.delivery_timeout, Duration::from_secs(60));
        assert_eq!(config.buffer_memory, 1 << 20);
    }

    #[test]
    fn idempotence_defaults_on_with_acks_all_and_conflicts_are_named() {
        assert!(Config::default().is_idempotent());
        assert!(!Config::from_toml_str("acks = 1").unwrap().is_idempotent());
        let err = Config::from_toml_str("acks = 1\nidempotent = true")
            .unwrap_err()
            .to_string();
        assert!(err.contains("idempotent = true needs acks"), "{err}");
        let err = Config::from_toml_str("compression = \"brotli\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("brotli") && err.contains("zstd"), "{err}");
        let err = Config::from_toml_str("delivery_timeout_ms = 100")
            .unwrap_err()
            .to_string();
        assert!(err.contains("delivery_timeout_ms (100)"), "{err}");
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

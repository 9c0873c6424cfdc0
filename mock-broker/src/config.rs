//! The broker's settings, from defaults, a TOML file and command-line flags.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use protocol::frame::{DEFAULT_MAX_FRAME_BYTES, DEFAULT_MAX_MESSAGE_BYTES, HEADER_LEN};
use serde::Deserialize;

use crate::fsync_policy::FsyncPolicy;
use crate::listener::ListenerSpec;
use crate::store::{MemoryPolicy, StoreLimits};

/// Everything the broker can be told.
///
/// The TOML keys of `--config FILE` are the field names; unknown keys are rejected.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[non_exhaustive]
pub struct BrokerConfig {
    /// Where to accept connections. Default `127.0.0.1:9092`; port 0 picks a free port.
    /// With `brokers` > 1, broker *i* listens on the port after broker *i − 1*'s
    /// (with port 0, each picks its own free port).
    pub listen: SocketAddr,
    /// How many brokers to run in this process (cluster mode). Default 1.
    pub brokers: u32,
    /// The host (or host:port of the first broker) that Metadata advertises to
    /// clients, when it differs from `listen` (e.g. in a container). Default: the listen address.
    pub advertise: Option<String>,
    /// The cluster id Metadata reports. Default `mock-broker-cluster`.
    pub cluster_id: String,
    /// Where the admin HTTP API listens, or `"off"`. Default `127.0.0.1:9644`.
    #[serde(deserialize_with = "admin_address")]
    pub admin: Option<SocketAddr>,
    /// Append every recorded message to this file as one JSON line. Default: none.
    pub record_file: Option<PathBuf>,
    /// When the record file is fsynced: `always` (a response waits for the
    /// fsync covering what its request wrote), `interval` (in the background,
    /// every `fsync_interval_ms`) or `never`. Default `interval`.
    pub fsync: FsyncPolicy,
    /// How often `fsync = "interval"` syncs the record file, in ms. Default 1000.
    pub fsync_interval_ms: u64,
    /// Start empty: the record file is truncated instead of replayed. Default
    /// false: an existing record file is replayed, and the broker continues
    /// where it stopped.
    pub fresh: bool,
    /// Partitions of auto-created topics. Default 1.
    pub partitions: u32,
    /// The most topics the broker holds: creating one more (auto-creation or
    /// CreateTopics) is refused. Default 10000.
    pub max_topics: u32,
    /// The most partitions a topic may have (at creation, auto-created, or
    /// grown by CreatePartitions). Default 10000.
    pub max_partitions_per_topic: u32,
    /// Whether producing to an unknown topic creates it. Default true.
    pub auto_create_topics: bool,
    /// The largest message accepted, in bytes. Default 1 MiB.
    pub max_message_bytes: u32,
    /// The largest frame accepted, in bytes, fixed header included. Default 16 MiB.
    pub max_frame_bytes: u32,
    /// The most a compressed Kafka batch may expand to, in bytes; a batch
    /// past it is refused with MESSAGE_TOO_LARGE before the memory is taken.
    /// Default 64 MiB.
    pub max_decompressed_bytes: u32,
    /// The most records one batch may declare (Kafka batch or frame): past
    /// it the batch is refused with INVALID_RECORD (frames: INVALID_REQUEST),
    /// read from the batch header before anything is decompressed. Default
    /// 100000: ten times librdkafka's `batch.num.messages`.
    pub max_records_per_batch: u32,
    /// The most headers one record may carry; past it the batch is refused
    /// as for `max_records_per_batch`. Default 1000.
    pub max_headers_per_record: u32,
    /// The most headers all records of one batch may carry together, so that
    /// reading a stored batch back stays small. Default 100000.
    pub max_headers_per_batch: u32,
    /// The most partitions one request may name (over all its topics, groups
    /// and transactions; a topic named without partitions counts one): Produce,
    /// Fetch, ListOffsets, OffsetCommit, OffsetFetch, TxnOffsetCommit,
    /// OffsetDelete, DeleteRecords, OffsetForLeaderEpoch, DescribeProducers,
    /// AddPartitionsToTxn, CreateTopics, CreatePartitions, DeleteTopics,
    /// Metadata and the config APIs. Past it the connection is closed before
    /// anything is answered, so that a request cannot make a response many
    /// times its own size. Default 100000.
    pub max_partitions_per_request: u32,
    /// Connections served at once; a client past it is refused (its
    /// connection closed at once, the refusal logged and counted). Default 1024.
    pub max_connections: usize,
    /// Connections served at once from one client IP address, as Kafka's
    /// `max.connections.per.ip`; past it the connection is closed at once,
    /// logged and counted. Default 1024 (as `max_connections`: every local
    /// client shares 127.0.0.1, so a lower default would refuse a load test
    /// before the broker-wide limit does).
    pub max_connections_per_ip: usize,
    /// A connection that sends nothing for this long is closed, as Kafka's
    /// `connections.max.idle.ms` does; 0 never closes one. Default 600000 (10 minutes).
    pub connections_max_idle_ms: u64,
    /// A connection that has not completed its first request this long after
    /// it was accepted is closed; 0 never. Default 10000 (10 s).
    pub first_request_timeout_ms: u64,
    /// A request must arrive whole this long after its first byte, or the
    /// connection is closed (a trickled "slowloris" request); 0 never.
    /// Default 30000 (30 s, as Kafka's `request.timeout.ms`).
    pub request_timeout_ms: u64,
    /// On SSL and SASL_SSL listeners, a client that has not completed the TLS handshake this
    /// long after it was accepted is closed, the refusal counted and logged; 0 never.
    /// Default 10000 (10 s).
    pub tls_handshake_timeout_ms: u64,
    /// The most bytes of batches one partition keeps, as Kafka's
    /// `retention.bytes`: past it the oldest whole batches are dropped and the
    /// log start offset moves (the newest batch always stays); -1 keeps
    /// everything. Default -1.
    pub retention_bytes: i64,
    /// How long a batch is kept after the broker received it, in ms, as
    /// Kafka's `retention.ms` (which counts from the records' timestamps
    /// instead); -1 keeps batches forever. Default 604800000 (7 days, as Kafka).
    pub retention_ms: i64,
    /// The most bytes all stored batches may take together. Default
    /// 4294967296 (4 GiB).
    pub max_memory: u64,
    /// What happens to an append past `max_memory`: `refuse` (Kafka producers
    /// get KAFKA_STORAGE_ERROR, frame producers BROKER_BUSY) or `drop-oldest`
    /// (the broker's oldest batches are dropped to make room). Default `refuse`.
    pub memory_policy: MemoryPolicy,
    /// Fault rules in force from the start (`[[faults]]` tables; see `docs/faults.md`).
    /// Their `at` counts from when the broker starts. Default: none.
    pub faults: Vec<crate::fault::FaultSpec>,
    /// Kafka's `group.initial.rebalance.delay.ms`: how long the first join round of an
    /// empty consumer group waits for more members (extended while more keep coming), in
    /// ms. Default 3000, as Kafka; [`BrokerConfig::ephemeral`] uses 0.
    pub group_initial_rebalance_delay_ms: u64,
    /// How long a shutdown waits for connections to finish what they were
    /// answering (and the admin API's open connections to go), in ms; past
    /// it they are closed and the broker stops anyway. Default 5000.
    pub shutdown_grace_ms: u64,
    /// Kafka's `group.consumer.heartbeat.interval.ms`: how often consumer-protocol
    /// (KIP-848) members are told to heartbeat, in ms. Default 5000, as Kafka.
    pub group_consumer_heartbeat_interval_ms: u32,
    /// Kafka's `group.consumer.session.timeout.ms`: how long a consumer-protocol member may
    /// go without a heartbeat before it is fenced, in ms. Default 45000, as Kafka.
    pub group_consumer_session_timeout_ms: u32,
    /// More listeners beside `listen` (which is PLAINTEXT), as Kafka's `listeners` writes
    /// them: `SSL://127.0.0.1:9093`, `SASL_SSL://127.0.0.1:9094`, … Every listener serves
    /// the same brokers; Metadata advertises the address of the listener a client came
    /// in on. With `brokers` > 1, broker *i* listens on the port *i* − 1 after each one.
    /// Default: none.
    pub listeners: Vec<ListenerSpec>,
    /// The users of the SASL listeners, `NAME:PASSWORD` each (PLAIN, SCRAM-SHA-256 and
    /// SCRAM-SHA-512 all accept them). Default: none.
    pub sasl_users: Vec<String>,
    /// A file of more SASL users, one `NAME:PASSWORD` a line (`#` starts a comment line).
    /// Default: none.
    pub sasl_users_file: Option<PathBuf>,
    /// The PEM certificate chain of the SSL and SASL_SSL listeners (leaf first). Default: none.
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `tls_cert` (PKCS#8, PKCS#1 or SEC1). Default: none.
    pub tls_key: Option<PathBuf>,
    /// Instead of `tls_cert`/`tls_key`: make a CA and a certificate it signs (for
    /// `localhost`, `127.0.0.1`, `::1` and the listen and advertised hosts) at startup,
    /// and write the CA's PEM to `tls_ca_file` for clients to trust. Default false.
    pub tls_self_signed: bool,
    /// Where `tls_self_signed` writes the CA certificate (PEM). Default: a file named
    /// after the process id in the temp directory; the path is logged and printed.
    pub tls_ca_file: Option<PathBuf>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9092)),
            brokers: 1,
            advertise: None,
            cluster_id: "mock-broker-cluster".into(),
            admin: Some(SocketAddr::from(([127, 0, 0, 1], 9644))),
            record_file: None,
            fsync: FsyncPolicy::Interval,
            fsync_interval_ms: 1000,
            fresh: false,
            partitions: 1,
            max_topics: crate::store::DEFAULT_MAX_TOPICS,
            max_partitions_per_topic: crate::store::DEFAULT_MAX_PARTITIONS_PER_TOPIC,
            auto_create_topics: true,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            max_decompressed_bytes: 64 * 1024 * 1024,
            max_records_per_batch: 100_000,
            max_headers_per_record: 1_000,
            max_headers_per_batch: 100_000,
            max_partitions_per_request: 100_000,
            max_connections: 1024,
            max_connections_per_ip: 1024,
            connections_max_idle_ms: 600_000,
            first_request_timeout_ms: 10_000,
            request_timeout_ms: 30_000,
            tls_handshake_timeout_ms: 10_000,
            retention_bytes: -1,
            retention_ms: 604_800_000,
            max_memory: DEFAULT_MAX_MEMORY,
            memory_policy: MemoryPolicy::Refuse,
            faults: Vec::new(),
            group_initial_rebalance_delay_ms: 3000,
            shutdown_grace_ms: 5000,
            group_consumer_heartbeat_interval_ms: 5000,
            group_consumer_session_timeout_ms: 45_000,
            listeners: Vec::new(),
            sasl_users: Vec::new(),
            sasl_users_file: None,
            tls_cert: None,
            tls_key: None,
            tls_self_signed: false,
            tls_ca_file: None,
        }
    }
}

/// A configuration that cannot be used, with the key and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid broker configuration{}: {reason}", .file.as_ref().map(|f| format!(" in {f}")).unwrap_or_default())]
pub struct ConfigError {
    /// The file the value came from, if any.
    pub file: Option<String>,
    /// What is wrong.
    pub reason: String,
}

impl BrokerConfig {
    /// How long an idle connection is kept, if it is closed at all.
    pub fn idle_timeout(&self) -> Option<std::time::Duration> {
        (self.connections_max_idle_ms > 0)
            .then(|| std::time::Duration::from_millis(self.connections_max_idle_ms))
    }

    /// How long a new connection may take to complete its first request, if limited.
    pub fn first_request_timeout(&self) -> Option<std::time::Duration> {
        (self.first_request_timeout_ms > 0)
            .then(|| std::time::Duration::from_millis(self.first_request_timeout_ms))
    }

    /// How long a request may take to arrive whole from its first byte, if limited.
    pub fn request_timeout(&self) -> Option<std::time::Duration> {
        (self.request_timeout_ms > 0)
            .then(|| std::time::Duration::from_millis(self.request_timeout_ms))
    }

    /// How long a client may take to complete the TLS handshake, if limited.
    pub fn tls_handshake_timeout(&self) -> Option<std::time::Duration> {
        (self.tls_handshake_timeout_ms > 0)
            .then(|| std::time::Duration::from_millis(self.tls_handshake_timeout_ms))
    }

    /// A default configuration listening on `127.0.0.1:0` without the admin API, for tests.
    ///
    /// Its consumer groups complete their first rebalance at once
    /// (`group_initial_rebalance_delay_ms` 0): a test's consumers join one after another
    /// anyway, and three seconds per group would only slow every test down.
    pub fn ephemeral() -> Self {
        BrokerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            admin: None,
            group_initial_rebalance_delay_ms: 0,
            ..BrokerConfig::default()
        }
    }

    /// Reads a TOML file; missing keys take their defaults.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file, the line and the key.
    pub fn from_toml_file(path: &Path) -> Result<Self, ConfigError> {
        let file = Some(path.display().to_string());
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: file.clone(),
            reason: format!("cannot read the file: {e}"),
        })?;
        let config: BrokerConfig = toml::from_str(&text).map_err(|e| ConfigError {
            file: file.clone(),
            reason: describe_toml_error(&text, &e),
        })?;
        config
            .validate()
            .map_err(|reason| ConfigError { file, reason })?;
        Ok(config)
    }

    /// Checks the values types alone cannot.
    ///
    /// # Errors
    /// A sentence naming the key, the value and what is allowed.
    pub fn validate(&self) -> Result<(), String> {
        if self.brokers == 0 || self.brokers > 64 {
            return Err(format!("brokers is {}; expected 1 to 64", self.brokers));
        }
        if self.listen.port() != 0 && u32::from(self.listen.port()) + self.brokers - 1 > 65535 {
            return Err(format!(
                "listen port {} leaves no room for {} brokers on consecutive ports",
                self.listen.port(),
                self.brokers
            ));
        }
        if self.cluster_id.is_empty() {
            return Err("cluster_id is empty".into());
        }
        if let Some(advertise) = &self.advertise
            && advertise.trim().is_empty()
        {
            return Err("advertise is empty; expected HOST or HOST:PORT".into());
        }
        if self.partitions == 0 {
            return Err("partitions is 0; expected at least 1".into());
        }
        if self.max_topics == 0 || self.max_partitions_per_topic == 0 {
            return Err(format!(
                "max_topics is {} and max_partitions_per_topic {}; expected at least 1 each",
                self.max_topics, self.max_partitions_per_topic
            ));
        }
        if self.partitions > self.max_partitions_per_topic {
            return Err(format!(
                "partitions is {}; expected at most max_partitions_per_topic ({})",
                self.partitions, self.max_partitions_per_topic
            ));
        }
        if self.group_consumer_heartbeat_interval_ms == 0
            || self.group_consumer_heartbeat_interval_ms >= self.group_consumer_session_timeout_ms
            || i32::try_from(self.group_consumer_session_timeout_ms).is_err()
        {
            return Err(format!(
                "group_consumer_heartbeat_interval_ms is {} and group_consumer_session_timeout_ms {}; expected 0 < interval < session timeout <= {}",
                self.group_consumer_heartbeat_interval_ms,
                self.group_consumer_session_timeout_ms,
                i32::MAX
            ));
        }
        if self.max_message_bytes == 0 {
            return Err("max_message_bytes is 0; expected at least 1".into());
        }
        let min_frame = HEADER_LEN as u32 + 64;
        if self.max_frame_bytes < min_frame {
            return Err(format!(
                "max_frame_bytes is {}; expected at least {min_frame}",
                self.max_frame_bytes
            ));
        }
        if self.max_decompressed_bytes == 0 {
            return Err("max_decompressed_bytes is 0; expected at least 1".into());
        }
        if self.retention_bytes < -1 {
            return Err(format!(
                "retention_bytes is {}; expected -1 (keep everything) or a size in bytes",
                self.retention_bytes
            ));
        }
        if self.retention_ms < -1 || self.retention_ms == 0 {
            return Err(format!(
                "retention_ms is {}; expected -1 (keep forever) or at least 1",
                self.retention_ms
            ));
        }
        if self.max_memory < MIN_MAX_MEMORY {
            return Err(format!(
                "max_memory is {}; expected at least {MIN_MAX_MEMORY} (1 MiB)",
                self.max_memory
            ));
        }
        if self.fsync_interval_ms == 0 {
            return Err("fsync_interval_ms is 0; expected at least 1".into());
        }
        if self.max_connections == 0 || self.max_connections_per_ip == 0 {
            return Err(format!(
                "max_connections is {} and max_connections_per_ip {}; expected at least 1 each",
                self.max_connections, self.max_connections_per_ip
            ));
        }
        for (key, value) in [
            ("max_records_per_batch", self.max_records_per_batch),
            ("max_headers_per_batch", self.max_headers_per_batch),
            (
                "max_partitions_per_request",
                self.max_partitions_per_request,
            ),
        ] {
            if value == 0 || value > i32::MAX as u32 {
                return Err(format!("{key} is {value}; expected 1 to {}", i32::MAX));
            }
        }
        self.validate_listeners()?;
        for (index, spec) in self.faults.iter().enumerate() {
            crate::fault::FaultRule::new(spec, self.brokers)
                .map_err(|e| format!("faults[{index}].{}: {}", e.key, e.reason))?;
        }
        Ok(())
    }
}

impl BrokerConfig {
    /// Checks the listeners and what their security protocols need.
    fn validate_listeners(&self) -> Result<(), String> {
        for listener in &self.listeners {
            let port = listener.address.port();
            if port != 0 && u32::from(port) + self.brokers - 1 > 65535 {
                return Err(format!(
                    "listener {listener} leaves no room for {} brokers on consecutive ports",
                    self.brokers
                ));
            }
        }
        let tls = self.listeners.iter().find(|l| l.protocol.tls());
        match (&self.tls_cert, &self.tls_key) {
            (Some(_), None) | (None, Some(_)) => {
                return Err("tls_cert and tls_key go together; give both or neither".into());
            }
            (Some(_), Some(_)) if self.tls_self_signed => {
                return Err(
                    "tls_self_signed and tls_cert/tls_key are two ways to the same thing; give one"
                        .into(),
                );
            }
            (None, None) if !self.tls_self_signed => {
                if let Some(listener) = tls {
                    return Err(format!(
                        "listener {listener} needs a certificate: tls_cert and tls_key (--tls-cert FILE --tls-key FILE), or tls_self_signed (--tls-self-signed)"
                    ));
                }
            }
            _ => {}
        }
        if let Some(listener) = self.listeners.iter().find(|l| l.protocol.sasl())
            && self.sasl_users.is_empty()
            && self.sasl_users_file.is_none()
        {
            return Err(format!(
                "listener {listener} needs users: sasl_users (--sasl-user NAME:PASSWORD) or sasl_users_file (--sasl-users-file FILE)"
            ));
        }
        for entry in &self.sasl_users {
            crate::sasl::check_entry(entry, "sasl_users (--sasl-user)")
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    }

    /// The record and header counts a produced batch must stay within.
    pub(crate) fn record_limits(&self) -> crate::record_batch::RecordLimits {
        crate::record_batch::RecordLimits {
            records_per_batch: self.max_records_per_batch,
            headers_per_record: self.max_headers_per_record,
            headers_per_batch: self.max_headers_per_batch,
        }
    }

    /// The message and header counts a produce frame must stay within, the
    /// same as a Kafka batch's.
    pub(crate) fn frame_limits(&self) -> protocol::frame::DecodeLimits {
        protocol::frame::DecodeLimits {
            messages: self.max_records_per_batch,
            headers_per_message: self.max_headers_per_record,
            headers: self.max_headers_per_batch,
        }
    }

    /// What the store keeps, from the retention and memory settings.
    pub fn store_limits(&self) -> StoreLimits {
        StoreLimits {
            retention_bytes: u64::try_from(self.retention_bytes).ok(),
            retention_ms: (self.retention_ms > 0).then_some(self.retention_ms),
            max_memory: self.max_memory,
            memory_policy: self.memory_policy,
            max_topics: self.max_topics,
            max_partitions_per_topic: self.max_partitions_per_topic,
        }
    }
}

/// The default `max_memory`: 4 GiB, room for a million 1 KB messages several
/// times over, and well inside a development machine.
pub const DEFAULT_MAX_MEMORY: u64 = 4 << 30;

/// The smallest `max_memory` accepted: 1 MiB.
const MIN_MAX_MEMORY: u64 = 1 << 20;

/// Parses the `admin` setting: an address, or `off`.
///
/// # Errors
/// A sentence naming the value and what is allowed.
pub fn parse_admin(text: &str) -> Result<Option<SocketAddr>, String> {
    match text.trim() {
        "off" | "none" | "" => Ok(None),
        addr => addr.parse().map(Some).map_err(|_| {
            format!("admin {addr:?} is neither an address like 127.0.0.1:9644 nor \"off\"")
        }),
    }
}

fn admin_address<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<SocketAddr>, D::Error> {
    let text = String::deserialize(d)?;
    parse_admin(&text).map_err(serde::de::Error::custom)
}

/// A TOML error as a sentence that starts with its line: `line 3: unknown field ...`.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    match error.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {}", error.message())
        }
        None => error.message().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(name: &str, text: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("broker-config-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("broker.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn reads_a_file_and_defaults_the_rest() {
        let path = write("ok", "listen = \"127.0.0.1:19092\"\npartitions = 4\n");
        let config = BrokerConfig::from_toml_file(&path).unwrap();
        assert_eq!(config.listen.port(), 19092);
        assert_eq!(config.partitions, 4);
        assert_eq!(config.max_message_bytes, 1024 * 1024);
    }

    #[test]
    fn unknown_key_names_the_file_line_and_key() {
        let path = write("unknown", "partitions = 2\npartitons = 3\n");
        let err = BrokerConfig::from_toml_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("broker.toml") && err.contains("line 2") && err.contains("partitons"),
            "{err}"
        );
    }

    #[test]
    fn fsync_fresh_and_the_interval_are_read_and_checked() {
        let path = write(
            "fsync",
            "fsync = \"always\"\nfsync_interval_ms = 50\nfresh = true\n",
        );
        let config = BrokerConfig::from_toml_file(&path).unwrap();
        assert_eq!(config.fsync, FsyncPolicy::Always);
        assert_eq!(config.fsync_interval_ms, 50);
        assert!(config.fresh);
        assert_eq!(BrokerConfig::default().fsync, FsyncPolicy::Interval);
        let path = write("fsync-bad", "fsync = \"sometimes\"\n");
        let err = BrokerConfig::from_toml_file(&path).unwrap_err().to_string();
        assert!(err.contains("sometimes") && err.contains("always"), "{err}");
        let path = write("fsync-zero", "fsync_interval_ms = 0\n");
        let err = BrokerConfig::from_toml_file(&path).unwrap_err().to_string();
        assert!(err.contains("fsync_interval_ms is 0"), "{err}");
    }

    #[test]
    fn admin_can_be_an_address_or_off() {
        let path = write("admin", "admin = \"off\"\n");
        assert_eq!(BrokerConfig::from_toml_file(&path).unwrap().admin, None);
        let path = write("admin2", "admin = \"127.0.0.1:1234\"\n");
        assert_eq!(
            BrokerConfig::from_toml_file(&path)
                .unwrap()
                .admin
                .unwrap()
                .port(),
            1234
        );
        let path = write("admin3", "admin = \"nope\"\n");
        let err = BrokerConfig::from_toml_file(&path).unwrap_err().to_string();
        assert!(err.contains("\"nope\"") && err.contains("off"), "{err}");
    }

    #[test]
    fn fault_rules_are_read_and_checked() {
        let path = write(
            "faults",
            "brokers = 2\n[[faults]]\nkind = \"latency\"\nlatency_ms = 5\n[[faults]]\nkind = \"down\"\nbroker = 2\nduration = \"1s\"\n",
        );
        let config = BrokerConfig::from_toml_file(&path).unwrap();
        assert_eq!(config.faults.len(), 2);
        let path = write(
            "bad-fault",
            "[[faults]]\nkind = \"latency\"\nlatency_ms = 5\n[[faults]]\nkind = \"down\"\n",
        );
        let err = BrokerConfig::from_toml_file(&path).unwrap_err().to_string();
        assert!(
            err.contains("broker.toml")
                && err.contains("faults[1].duration: is required for kind = \"down\""),
            "{err}"
        );
        let path = write(
            "typo-fault",
            "[[faults]]\nkind = \"latency\"\nlatncy_ms = 5\n",
        );
        let err = BrokerConfig::from_toml_file(&path).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("latncy_ms"), "{err}");
    }

    #[test]
    fn listeners_and_their_security_settings_are_read_from_toml() {
        let path = write(
            "security",
            "listeners = [\"SASL_SSL://127.0.0.1:9094\", \"SSL://127.0.0.1:9093\"]\nsasl_users = [\"alice:secret\"]\ntls_self_signed = true\n",
        );
        let config = BrokerConfig::from_toml_file(&path).unwrap();
        assert_eq!(config.listeners.len(), 2);
        assert_eq!(config.listeners[0].to_string(), "SASL_SSL://127.0.0.1:9094");
        let path = write("bad-listener", "listeners = [\"TLS://127.0.0.1:9093\"]\n");
        let err = BrokerConfig::from_toml_file(&path).unwrap_err().to_string();
        assert!(err.contains("line 1") && err.contains("\"TLS\""), "{err}");
    }

    #[test]
    fn secured_listeners_need_their_certificate_and_users() {
        let mut config = BrokerConfig::ephemeral();
        config.listeners = vec!["SSL://127.0.0.1:0".parse().unwrap()];
        let err = config.validate().unwrap_err();
        assert!(
            err.contains("SSL://127.0.0.1:0 needs a certificate")
                && err.contains("--tls-self-signed"),
            "{err}"
        );
        config.tls_cert = Some("cert.pem".into());
        let err = config.validate().unwrap_err();
        assert!(err.contains("tls_cert and tls_key go together"), "{err}");
        config.tls_key = Some("key.pem".into());
        assert_eq!(config.validate(), Ok(()));
        config.tls_self_signed = true;
        assert!(config.validate().unwrap_err().contains("give one"));

        let mut config = BrokerConfig::ephemeral();
        config.listeners = vec!["SASL_PLAINTEXT://127.0.0.1:0".parse().unwrap()];
        let err = config.validate().unwrap_err();
        assert!(
            err.contains("needs users") && err.contains("--sasl-user"),
            "{err}"
        );
        config.sasl_users = vec!["alice".into()];
        let err = config.validate().unwrap_err();
        assert!(err.contains("\"alice\" is not NAME:PASSWORD"), "{err}");
        config.sasl_users = vec!["alice:secret".into()];
        assert_eq!(config.validate(), Ok(()));
    }

    #[test]
    fn the_limits_are_read_from_the_file_and_zero_counts_refused_by_key() {
        let path = write(
            "limits",
            "max_records_per_batch = 10\nmax_headers_per_record = 0\nmax_connections_per_ip = 3\nfirst_request_timeout_ms = 0\nrequest_timeout_ms = 500\nmax_partitions_per_request = 7\ntls_handshake_timeout_ms = 250\n",
        );
        let config = BrokerConfig::from_toml_file(&path).unwrap();
        assert_eq!(config.max_records_per_batch, 10);
        assert_eq!(config.max_headers_per_record, 0);
        assert_eq!(config.max_connections_per_ip, 3);
        assert_eq!(config.first_request_timeout(), None);
        assert_eq!(
            config.request_timeout(),
            Some(std::time::Duration::from_millis(500))
        );
        assert_eq!(config.max_partitions_per_request, 7);
        assert_eq!(
            config.tls_handshake_timeout(),
            Some(std::time::Duration::from_millis(250))
        );
        assert_eq!(BrokerConfig::default().tls_handshake_timeout_ms, 10_000);
        for (key, expected) in [
            (
                "max_records_per_batch",
                "max_records_per_batch is 0; expected 1 to",
            ),
            (
                "max_headers_per_batch",
                "max_headers_per_batch is 0; expected 1 to",
            ),
            (
                "max_partitions_per_request",
                "max_partitions_per_request is 0",
            ),
            (
                "max_connections_per_ip",
                "max_connections_per_ip 0; expected at least 1",
            ),
        ] {
            let path = write(key, &format!("{key} = 0\n"));
            let err = BrokerConfig::from_toml_file(&path).unwrap_err().to_string();
            assert!(err.contains(expected), "{key}: {err}");
        }
    }

    #[test]
    fn zero_partitions_is_rejected() {
        let path = write("zero", "partitions = 0\n");
        let err = BrokerConfig::from_toml_file(&path).unwrap_err().to_string();
        assert!(err.contains("partitions is 0"), "{err}");
    }
}

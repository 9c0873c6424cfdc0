//! `mock-broker`: run the mock broker until Ctrl-C or SIGTERM.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use mock_broker::{BrokerConfig, MockBroker};
use tracing_subscriber::EnvFilter;

/// A mock Kafka broker that records every message it receives.
///
/// Flags override the values of `--config`; both override the defaults.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// TOML file with broker settings (the flag names with `_` instead of `-`).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to accept connections on [default: 127.0.0.1:9092].
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Brokers to run in this process, on consecutive ports from --listen [default: 1].
    #[arg(long, value_name = "N")]
    brokers: Option<u32>,
    /// Host (or host:port of the first broker) advertised to Kafka clients [default: the listen address].
    #[arg(long, value_name = "HOST[:PORT]")]
    advertise: Option<String>,
    /// Cluster id reported in Kafka metadata [default: mock-broker-cluster].
    #[arg(long, value_name = "ID")]
    cluster_id: Option<String>,
    /// Admin HTTP API address, or "off" [default: 127.0.0.1:9644].
    #[arg(long, value_name = "ADDR|off")]
    admin: Option<String>,
    /// Append every recorded message to FILE as one JSON line.
    #[arg(long, value_name = "FILE")]
    record_file: Option<PathBuf>,
    /// When the record file is fsynced: "always" (responses wait for it), "interval", "never"
    /// [default: interval].
    #[arg(long, value_name = "POLICY")]
    fsync: Option<mock_broker::FsyncPolicy>,
    /// How often --fsync interval syncs the record file, in ms [default: 1000].
    #[arg(long, value_name = "MS")]
    fsync_interval_ms: Option<u64>,
    /// Start empty: truncate the record file instead of replaying it.
    #[arg(long)]
    fresh: bool,
    /// Partitions of auto-created topics [default: 1].
    #[arg(long, value_name = "N")]
    partitions: Option<u32>,
    /// Largest message accepted, in bytes [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    max_message_bytes: Option<u32>,
    /// Largest frame accepted, in bytes [default: 16777216].
    #[arg(long, value_name = "BYTES")]
    max_frame_bytes: Option<u32>,
    /// Most bytes a compressed Kafka batch may expand to [default: 67108864].
    #[arg(long, value_name = "BYTES")]
    max_decompressed_bytes: Option<u32>,
    /// Close connections idle this long, in ms; 0 never [default: 600000].
    #[arg(long, value_name = "MS")]
    connections_max_idle_ms: Option<u64>,
    /// Connections served at once; past it a newcomer is refused (closed, logged, counted) [default: 1024].
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,
    /// Connections served at once from one client IP (Kafka's max.connections.per.ip) [default: 1024].
    #[arg(long, value_name = "N")]
    max_connections_per_ip: Option<usize>,
    /// Close a connection that has not completed a request this long after it was accepted, in ms;
    /// 0 never [default: 10000].
    #[arg(long, value_name = "MS")]
    first_request_timeout_ms: Option<u64>,
    /// Close a connection whose request has not arrived whole this long after its first byte,
    /// in ms; 0 never [default: 30000].
    #[arg(long, value_name = "MS")]
    request_timeout_ms: Option<u64>,
    /// Close a connection to an SSL or SASL_SSL listener that has not completed the TLS
    /// handshake this long after it was accepted, in ms; 0 never [default: 10000].
    #[arg(long, value_name = "MS")]
    tls_handshake_timeout_ms: Option<u64>,
    /// Most records one batch (or frame) may carry [default: 100000].
    #[arg(long, value_name = "N")]
    max_records_per_batch: Option<u32>,
    /// Most headers one record may carry [default: 1000].
    #[arg(long, value_name = "N")]
    max_headers_per_record: Option<u32>,
    /// Most partitions one request may name (Produce, Fetch, ListOffsets, OffsetCommit, …; topics
    /// for requests that name no partitions); past it the connection is closed [default: 100000].
    #[arg(long, value_name = "N")]
    max_partitions_per_request: Option<u32>,
    /// Most headers the records of one batch (or frame) may carry together [default: 100000].
    #[arg(long, value_name = "N")]
    max_headers_per_batch: Option<u32>,
    /// The most topics the broker holds [default: 10000].
    #[arg(long, value_name = "N")]
    max_topics: Option<u32>,
    /// The most partitions a topic may have [default: 10000].
    #[arg(long, value_name = "N")]
    max_partitions_per_topic: Option<u32>,
    /// Bytes of batches each partition keeps; the oldest whole batches go past it; -1 keeps all [default: -1].
    #[arg(long, value_name = "BYTES", allow_negative_numbers = true)]
    retention_bytes: Option<i64>,
    /// How long a batch is kept after it arrived, in ms; -1 forever [default: 604800000, 7 days].
    #[arg(long, value_name = "MS", allow_negative_numbers = true)]
    retention_ms: Option<i64>,
    /// Most bytes all stored batches may take [default: 4294967296, 4 GiB].
    #[arg(long, value_name = "BYTES")]
    max_memory: Option<u64>,
    /// At --max-memory: "refuse" appends (KAFKA_STORAGE_ERROR) or "drop-oldest" batches [default: refuse].
    #[arg(long, value_name = "POLICY")]
    memory_policy: Option<mock_broker::store::MemoryPolicy>,
    /// How long the first rebalance of an empty consumer group waits for more members, in ms
    /// (Kafka's group.initial.rebalance.delay.ms) [default: 3000].
    #[arg(long, value_name = "MS")]
    group_initial_rebalance_delay_ms: Option<u64>,
    /// How long SIGTERM or Ctrl-C waits for connections to finish before closing them, in ms;
    /// a second signal exits at once [default: 5000].
    #[arg(long, value_name = "MS")]
    shutdown_grace_ms: Option<u64>,
    /// How often consumer-protocol (KIP-848) members are told to heartbeat, in ms
    /// (Kafka's group.consumer.heartbeat.interval.ms) [default: 5000].
    #[arg(long, value_name = "MS")]
    group_consumer_heartbeat_interval_ms: Option<u32>,
    /// How long a consumer-protocol member may go without a heartbeat before it is fenced,
    /// in ms (Kafka's group.consumer.session.timeout.ms) [default: 45000].
    #[arg(long, value_name = "MS")]
    group_consumer_session_timeout_ms: Option<u32>,
    /// Refuse produce requests for topics that do not exist instead of creating them.
    #[arg(long)]
    no_auto_create_topics: bool,
    /// Another listener, as Kafka writes them: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
    /// with an address, e.g. SASL_SSL://127.0.0.1:9094; repeatable [default: none].
    #[arg(long, value_name = "PROTOCOL://ADDR")]
    listener: Vec<mock_broker::ListenerSpec>,
    /// A user of the SASL listeners (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512); repeatable.
    #[arg(long, value_name = "NAME:PASSWORD")]
    sasl_user: Vec<String>,
    /// A file of SASL users, one NAME:PASSWORD a line.
    #[arg(long, value_name = "FILE")]
    sasl_users_file: Option<PathBuf>,
    /// PEM certificate chain of the SSL and SASL_SSL listeners.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Make a CA and a certificate it signs at startup, for local use; the CA's PEM is
    /// written to --tls-ca-file (default: a file in the temp directory) and printed.
    #[arg(long, conflicts_with_all = ["tls_cert", "tls_key"])]
    tls_self_signed: bool,
    /// Where --tls-self-signed writes the CA certificate (PEM).
    #[arg(long, value_name = "FILE")]
    tls_ca_file: Option<PathBuf>,
}

impl Args {
    /// Defaults, then the file, then the flags.
    fn resolve(&self) -> anyhow::Result<BrokerConfig> {
        let mut config = match &self.config {
            Some(path) => BrokerConfig::from_toml_file(path)?,
            None => BrokerConfig::default(),
        };
        if let Some(listen) = self.listen {
            config.listen = listen;
        }
        if let Some(brokers) = self.brokers {
            config.brokers = brokers;
        }
        if let Some(advertise) = &self.advertise {
            config.advertise = Some(advertise.clone());
        }
        if let Some(cluster_id) = &self.cluster_id {
            config.cluster_id = cluster_id.clone();
        }
        if let Some(admin) = &self.admin {
            config.admin = mock_broker::config::parse_admin(admin)
                .map_err(|e| anyhow::anyhow!("--admin: {e}"))?;
        }
        if let Some(path) = &self.record_file {
            config.record_file = Some(path.clone());
        }
        if let Some(policy) = self.fsync {
            config.fsync = policy;
        }
        if let Some(ms) = self.fsync_interval_ms {
            config.fsync_interval_ms = ms;
        }
        if self.fresh {
            config.fresh = true;
        }
        if let Some(partitions) = self.partitions {
            config.partitions = partitions;
        }
        if let Some(bytes) = self.max_message_bytes {
            config.max_message_bytes = bytes;
        }
        if let Some(bytes) = self.max_frame_bytes {
            config.max_frame_bytes = bytes;
        }
        if let Some(bytes) = self.max_decompressed_bytes {
            config.max_decompressed_bytes = bytes;
        }
        if let Some(ms) = self.connections_max_idle_ms {
            config.connections_max_idle_ms = ms;
        }
        if let Some(n) = self.max_connections {
            config.max_connections = n;
        }
        if let Some(n) = self.max_connections_per_ip {
            config.max_connections_per_ip = n;
        }
        if let Some(ms) = self.first_request_timeout_ms {
            config.first_request_timeout_ms = ms;
        }
        if let Some(ms) = self.request_timeout_ms {
            config.request_timeout_ms = ms;
        }
        if let Some(ms) = self.tls_handshake_timeout_ms {
            config.tls_handshake_timeout_ms = ms;
        }
        if let Some(n) = self.max_records_per_batch {
            config.max_records_per_batch = n;
        }
        if let Some(n) = self.max_headers_per_record {
            config.max_headers_per_record = n;
        }
        if let Some(n) = self.max_partitions_per_request {
            config.max_partitions_per_request = n;
        }
        if let Some(n) = self.max_headers_per_batch {
            config.max_headers_per_batch = n;
        }
        if let Some(n) = self.max_topics {
            config.max_topics = n;
        }
        if let Some(n) = self.max_partitions_per_topic {
            config.max_partitions_per_topic = n;
        }
        if let Some(bytes) = self.retention_bytes {
            config.retention_bytes = bytes;
        }
        if let Some(ms) = self.retention_ms {
            config.retention_ms = ms;
        }
        if let Some(bytes) = self.max_memory {
            config.max_memory = bytes;
        }
        if let Some(policy) = self.memory_policy {
            config.memory_policy = policy;
        }
        if let Some(ms) = self.group_initial_rebalance_delay_ms {
            config.group_initial_rebalance_delay_ms = ms;
        }
        if let Some(ms) = self.shutdown_grace_ms {
            config.shutdown_grace_ms = ms;
        }
        if let Some(ms) = self.group_consumer_heartbeat_interval_ms {
            config.group_consumer_heartbeat_interval_ms = ms;
        }
        if let Some(ms) = self.group_consumer_session_timeout_ms {
            config.group_consumer_session_timeout_ms = ms;
        }
        if self.no_auto_create_topics {
            config.auto_create_topics = false;
        }
        // Lists given as flags replace the file's.
        if !self.listener.is_empty() {
            config.listeners = self.listener.clone();
        }
        if !self.sasl_user.is_empty() {
            config.sasl_users = self.sasl_user.clone();
        }
        if let Some(path) = &self.sasl_users_file {
            config.sasl_users_file = Some(path.clone());
        }
        if self.tls_cert.is_some() {
            config.tls_cert = self.tls_cert.clone();
            config.tls_key = self.tls_key.clone();
            config.tls_self_signed = false;
        }
        if self.tls_self_signed {
            config.tls_self_signed = true;
            config.tls_cert = None;
            config.tls_key = None;
        }
        if let Some(path) = &self.tls_ca_file {
            config.tls_ca_file = Some(path.clone());
        }
        config
            .validate()
            .map_err(|reason| anyhow::anyhow!("invalid broker configuration: {reason}"))?;
        Ok(config)
    }
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    let config = match args.resolve() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("mock-broker: {e:#}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("mock-broker: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mock-broker: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(config: BrokerConfig) -> anyhow::Result<()> {
    // Listen for signals before announcing the addresses: a script that reads
    // the first line and sends SIGTERM at once must get a graceful shutdown,
    // not the default action of the signal.
    let mut signals = ShutdownSignals::install().context("cannot listen for shutdown signals")?;
    let broker = MockBroker::start(config).await?;
    // Machine-readable lines on stdout, so scripts and tests can find the ports.
    // The first line is always the bootstrap address.
    println!("mock-broker listening on {}", broker.bootstrap_servers());
    if let Some(admin) = broker.admin_addr() {
        println!("admin API on http://{admin}");
    }
    for (protocol, addrs) in broker.listeners() {
        let addrs: Vec<String> = addrs.iter().map(ToString::to_string).collect();
        println!("{protocol} listener on {}", addrs.join(","));
    }
    if let Some(path) = broker.tls_ca_file() {
        println!("TLS CA certificate in {}", path.display());
    }
    signals.recv().await;
    tracing::info!("shutting down: no new connections, finishing requests in flight");
    tokio::select! {
        () = broker.shutdown() => {}
        () = signals.recv() => tracing::warn!("a second signal: exiting at once"),
    }
    Ok(())
}

/// The signals that ask for a graceful shutdown: SIGINT (Ctrl-C) and SIGTERM.
struct ShutdownSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl ShutdownSignals {
    /// Replaces the default actions of the signals from now on.
    fn install() -> std::io::Result<ShutdownSignals> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(ShutdownSignals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(ShutdownSignals {})
        }
    }

    /// Waits for the first of the signals.
    async fn recv(&mut self) {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => {}
                _ = self.terminate.recv() => {}
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

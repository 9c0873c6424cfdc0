//! The public handle of a running broker: start it, inspect it, stop it.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::cluster::Cluster;
use crate::config::BrokerConfig;
use crate::fault::Faults;
use crate::groups::{GroupInfo, GroupSummary};
use crate::listener::SecurityProtocol;
use crate::replay::Replayed;
use crate::server::{self, Listening};
use crate::state::BrokerState;
use crate::stats::Stats;
use crate::store::{ClientInfo, Protocol, RecordStore};

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid.
    #[error("invalid broker configuration: {0}")]
    Config(String),
    /// A listen address could not be bound.
    #[error("cannot listen on {address}: {error}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// Why the operating system refused.
        // Not `source`: the message already says it, and chains would say it twice.
        error: std::io::Error,
    },
    /// The TLS listeners' certificate cannot be read or made.
    #[error("cannot set up TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    /// The record file could not be replayed: a line in its middle is unreadable,
    /// or what it holds does not fit the configured limits.
    #[error("{0}")]
    Replay(String),
    /// The record file could not be opened.
    #[error("cannot open the record file {path}: {error}")]
    RecordFile {
        /// The path asked for.
        path: PathBuf,
        /// Why it could not be opened.
        // Not `source`: the message already says it, and chains would say it twice.
        error: std::io::Error,
    },
}

/// A running broker (or cluster of brokers): addresses, recordings, and the means to stop it.
///
/// Tests start one on port 0 with [`BrokerConfig::ephemeral`]:
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use mock_broker::{BrokerConfig, MockBroker};
/// let broker = MockBroker::start(BrokerConfig::ephemeral()).await.unwrap();
/// println!("broker at {}", broker.local_addr());
/// assert!(broker.store().topics().is_empty());
/// broker.shutdown().await;
/// # }
/// ```
/// Dropping it without [`shutdown`](MockBroker::shutdown) stops it too, without waiting.
#[derive(Debug)]
pub struct MockBroker {
    addrs: Vec<SocketAddr>,
    /// The `listeners` of the configuration, bound: each one's protocol and every broker's address.
    listeners: Vec<(SecurityProtocol, Vec<SocketAddr>)>,
    tls_ca_file: Option<PathBuf>,
    admin_addr: Option<SocketAddr>,
    state: Arc<BrokerState>,
    shutdown: CancellationToken,
    server: Option<JoinHandle<()>>,
}

impl MockBroker {
    /// Binds every listen address (and the admin API's) and starts serving in the background.
    ///
    /// # Errors
    /// [`StartError::Config`], [`StartError::Bind`], [`StartError::RecordFile`] or
    /// [`StartError::Replay`].
    pub async fn start(config: BrokerConfig) -> Result<MockBroker, StartError> {
        config.validate().map_err(StartError::Config)?;
        let tls = crate::tls::setup(&config)?;
        let mut listeners = Vec::new();
        for i in 0..config.brokers {
            listeners.push(bind(nth_port(config.listen, i), SecurityProtocol::Plaintext).await?);
        }
        let addrs: Vec<SocketAddr> = listeners
            .iter()
            .map(|l| l.local_addr().expect("a bound socket has an address"))
            .collect();
        // The other listeners, each on every broker.
        let mut extra = Vec::new();
        for spec in &config.listeners {
            let mut bound = Vec::new();
            for i in 0..config.brokers {
                bound.push(bind(nth_port(spec.address, i), spec.protocol).await?);
            }
            extra.push((spec.protocol, bound));
        }
        let admin = match config.admin {
            Some(address) => Some(bind(address, SecurityProtocol::Plaintext).await?),
            None => None,
        };
        let admin_addr = admin.as_ref().map(|l| l.local_addr().expect("bound"));
        let mut cluster = Cluster::new(
            config.cluster_id.clone(),
            &addrs,
            config.advertise.as_deref(),
        )
        .map_err(StartError::Config)?;
        let mut bound = listeners
            .into_iter()
            .zip(cluster.nodes().iter().map(|n| n.node_id))
            .map(|(listener, node_id)| Listening {
                listener,
                node_id,
                endpoint: 0,
                protocol: SecurityProtocol::Plaintext,
            })
            .collect::<Vec<_>>();
        let mut listener_addrs = Vec::new();
        for (protocol, sockets) in extra {
            let addrs: Vec<SocketAddr> = sockets
                .iter()
                .map(|l| l.local_addr().expect("a bound socket has an address"))
                .collect();
            let endpoint = cluster.add_listener(protocol, &addrs);
            let node_ids: Vec<i32> = cluster.nodes().iter().map(|n| n.node_id).collect();
            for (listener, node_id) in sockets.into_iter().zip(node_ids) {
                bound.push(Listening {
                    listener,
                    node_id,
                    endpoint,
                    protocol,
                });
            }
            listener_addrs.push((protocol, addrs));
        }
        let store = RecordStore::with_limits(
            config.partitions,
            config.auto_create_topics,
            config.store_limits(),
        );
        let mut state = BrokerState::new(config, cluster, store).map_err(StartError::Config)?;
        if let Some(path) = state.config.record_file.clone() {
            open_record_file(&mut state, &path)?;
        }
        let (acceptor, tls_ca_file) = match tls {
            Some(setup) => match setup.ca {
                Some((path, pem)) => {
                    state.tls_ca_pem = Some(pem);
                    (Some(setup.acceptor), Some(path))
                }
                None => (Some(setup.acceptor), None),
            },
            None => (None, None),
        };
        let state = Arc::new(state);
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(server::run(
            bound,
            acceptor,
            admin,
            state.clone(),
            shutdown.clone(),
        ));
        for node in state.cluster.nodes() {
            tracing::info!(node_id = node.node_id, address = %node.listen, advertised = %node.advertised(), "mock broker listening");
            for endpoint in &node.endpoints[1..] {
                tracing::info!(node_id = node.node_id, listener = %endpoint.protocol, address = %endpoint.listen, advertised = %format!("{}:{}", endpoint.host, endpoint.port), "mock broker listening");
            }
        }
        if listener_addrs.iter().any(|(p, _)| p.sasl()) {
            tracing::info!(
                users = state.credentials.len(),
                "SASL listeners accept PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512"
            );
        }
        if let Some(path) = &tls_ca_file {
            tracing::info!(path = %path.display(), "self-signed TLS: clients trust the CA certificate in this file");
        }
        if let Some(admin) = admin_addr {
            tracing::info!(address = %admin, "admin API listening");
        }
        Ok(MockBroker {
            addrs,
            listeners: listener_addrs,
            tls_ca_file,
            admin_addr,
            state,
            shutdown,
            server: Some(server),
        })
    }

    /// The address of the first broker, where clients bootstrap.
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs[0]
    }

    /// Every broker's address, in node-id order.
    pub fn broker_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }

    /// A bootstrap list naming every broker, `host:port,host:port,…`.
    pub fn bootstrap_servers(&self) -> String {
        let addrs: Vec<String> = self.addrs.iter().map(ToString::to_string).collect();
        addrs.join(",")
    }

    /// The first broker's address on the first listener of `protocol` (PLAINTEXT: `listen`).
    pub fn listener_addr(&self, protocol: SecurityProtocol) -> Option<SocketAddr> {
        if protocol == SecurityProtocol::Plaintext {
            return Some(self.addrs[0]);
        }
        self.listeners
            .iter()
            .find(|(p, _)| *p == protocol)
            .map(|(_, addrs)| addrs[0])
    }

    /// Every listener beyond `listen`: its protocol and every broker's address on it.
    pub fn listeners(&self) -> &[(SecurityProtocol, Vec<SocketAddr>)] {
        &self.listeners
    }

    /// The CA certificate (PEM) of `tls_self_signed`, for clients to trust.
    pub fn tls_ca_file(&self) -> Option<&std::path::Path> {
        self.tls_ca_file.as_deref()
    }

    /// The admin API's address, when it runs.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    /// The recordings, for inspection by tests.
    pub fn store(&self) -> &RecordStore {
        &self.state.store
    }

    /// The counters `/stats` serves.
    pub fn stats(&self) -> &Stats {
        &self.state.stats
    }

    /// The brokers and partition leadership.
    pub fn cluster(&self) -> &Cluster {
        &self.state.cluster
    }

    /// The fault rules: add, list and remove them (see [`crate::fault`]).
    pub fn faults(&self) -> &Faults {
        &self.state.faults
    }

    /// Waits until `topic` holds at least `min` records, or until `timeout` passes, then
    /// returns every record it holds: woken by the appends, so a test need not sleep
    /// (see [`RecordStore::wait_for_records`]).
    pub async fn wait_for_records(
        &self,
        topic: &str,
        min: usize,
        timeout: std::time::Duration,
    ) -> Vec<crate::store::StoredRecord> {
        self.state.store.wait_for_records(topic, min, timeout).await
    }

    /// Every consumer group, by group id: state, protocol and member count.
    pub fn groups(&self) -> Vec<GroupSummary> {
        crate::groups::list(&self.state.groups)
    }

    /// One consumer group in full (members, assignments, committed offsets with their
    /// lag), if the broker has it.
    pub fn group(&self, group_id: &str) -> Option<GroupInfo> {
        crate::groups::describe_all(&self.state.groups, &self.state.store)
            .into_iter()
            .find(|g| g.group_id == group_id)
    }

    /// Makes every member of a Stable group rejoin (a rebalance, as if a member asked for
    /// one); false when the group is unknown or not Stable (or waiting for its assignment).
    pub fn rebalance_group(&self, group_id: &str) -> bool {
        crate::groups::force_rebalance(&self.state.groups, group_id)
    }

    /// Stops accepting, lets every connection finish the requests it has
    /// received and answer them, then returns; connections still open after
    /// `shutdown_grace_ms` (an idle HTTP keep-alive, a request never
    /// finished) are closed then.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(mut server) = self.server.take() {
            let grace = std::time::Duration::from_millis(self.state.config.shutdown_grace_ms);
            if tokio::time::timeout(grace, &mut server).await.is_err() {
                tracing::warn!(
                    ?grace,
                    "connections still open at the end of the shutdown grace period; closing them"
                );
                server.abort();
                let _ = server.await;
            }
        }
        if let Some(file) = &self.state.record_file
            && let Err(e) = file.sync()
        {
            tracing::error!(error = %e, "cannot fsync the record file at shutdown");
        }
        tracing::info!(address = %self.local_addr(), records = self.state.store.record_count(), "mock broker stopped");
    }
}

impl Drop for MockBroker {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Replays the record file at `path` into `state` (or, with `fresh`, empties it),
/// then records into it: the store's sink, and what connections wait on for `--fsync`.
fn open_record_file(state: &mut BrokerState, path: &std::path::Path) -> Result<(), StartError> {
    let cannot_open = |error| StartError::RecordFile {
        path: path.to_path_buf(),
        error,
    };
    let replayed = if state.config.fresh {
        match std::fs::OpenOptions::new().write(true).open(path) {
            Ok(file) => file.set_len(0).map_err(cannot_open)?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(cannot_open(e)),
        }
        Replayed::default()
    } else {
        crate::replay::replay(path, state).map_err(|e| StartError::Replay(e.to_string()))?
    };
    if replayed.lines > 0 {
        tracing::info!(path = %path.display(), lines = replayed.lines, records = replayed.records, topics = state.store.topics().len(), "replayed the record file");
    }
    let file = crate::record_file::RecordFile::open(
        path,
        state.config.fsync,
        std::time::Duration::from_millis(state.config.fsync_interval_ms),
    )
    .map_err(cannot_open)?;
    let file = Arc::new(file);
    state.store.set_sink(file.clone());
    state.record_file = Some(file);
    // Nothing will end the transactions the file leaves open (the coordinator's
    // state is not in it): abort them, as Kafka's coordinator does on expiry.
    let client = Arc::new(ClientInfo {
        address: SocketAddr::from(([0, 0, 0, 0], 0)),
        protocol: Protocol::Kafka,
        client_id: Some("mock-broker-replay".into()),
    });
    for (topic, partition, producer_id, epoch) in replayed.open_transactions {
        let Some(log) = state.store.topic(&topic) else {
            continue;
        };
        tracing::warn!(%topic, partition, producer_id, "aborting a transaction the record file left open");
        log.append_marker(
            partition,
            producer_id,
            epoch,
            false,
            0,
            0,
            crate::clock::now_ms(),
            &client,
        )
        .map_err(|e| {
            StartError::Replay(format!(
                "cannot abort a transaction left open in {topic} partition {partition}: {e}"
            ))
        })?;
    }
    Ok(())
}

/// Broker `i`'s address on a listener whose first broker is on `address`: the ports
/// follow one another (port 0: each picks its own).
fn nth_port(mut address: SocketAddr, i: u32) -> SocketAddr {
    if address.port() != 0 {
        address.set_port(address.port() + i as u16);
    }
    address
}

async fn bind(address: SocketAddr, protocol: SecurityProtocol) -> Result<TcpListener, StartError> {
    if let Some(warning) = exposure_warning(address, protocol) {
        tracing::warn!(%address, listener = %protocol, "{warning}");
    }
    TcpListener::bind(address)
        .await
        .map_err(|error| StartError::Bind { address, error })
}

/// What to tell the user when `address` lets other machines in to a listener without
/// authentication (PLAINTEXT, SSL, the admin API): anyone who reaches it may read and
/// write every topic. SASL listeners authenticate, so they are not warned about.
fn exposure_warning(address: SocketAddr, protocol: SecurityProtocol) -> Option<&'static str> {
    (!address.ip().is_loopback() && !protocol.sasl()).then_some(
        "listening beyond this machine without authentication: anyone who reaches this address can read and write every topic and change every setting",
    )
}

#[cfg(test)]
mod tests {
    use super::exposure_warning;
    use crate::listener::SecurityProtocol::{Plaintext, SaslPlaintext, SaslSsl, Ssl};

    #[test]
    fn only_addresses_beyond_loopback_without_authentication_are_warned_about() {
        assert!(exposure_warning("127.0.0.1:9092".parse().unwrap(), Plaintext).is_none());
        assert!(exposure_warning("[::1]:9092".parse().unwrap(), Plaintext).is_none());
        assert!(exposure_warning("0.0.0.0:9092".parse().unwrap(), Plaintext).is_some());
        assert!(exposure_warning("192.168.1.5:9644".parse().unwrap(), Plaintext).is_some());
        assert!(exposure_warning("0.0.0.0:9093".parse().unwrap(), Ssl).is_some());
        assert!(exposure_warning("0.0.0.0:9094".parse().unwrap(), SaslPlaintext).is_none());
        assert!(exposure_warning("0.0.0.0:9095".parse().unwrap(), SaslSsl).is_none());
    }
}

//! Accepts connections and runs the broker until it is told to stop.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::BrokerConfig;
use crate::connection;
use crate::record_store::RecordStore;

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct BrokerState {
    pub(crate) config: BrokerConfig,
    pub(crate) store: RecordStore,
}

/// Why the broker could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration is invalid.
    #[error("invalid broker configuration: {0}")]
    Config(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: SocketAddr,
        /// Why the operating system refused.
        source: std::io::Error,
    },
}

/// A running broker: its address, its recordings, and the means to stop it.
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
    local_addr: SocketAddr,
    store: RecordStore,
    shutdown: CancellationToken,
    server: Option<JoinHandle<()>>,
}

impl MockBroker {
    /// Binds `config.listen` and starts serving in the background.
    ///
    /// # Errors
    /// [`StartError::Config`] or [`StartError::Bind`].
    pub async fn start(config: BrokerConfig) -> Result<MockBroker, StartError> {
        config.validate().map_err(StartError::Config)?;
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| StartError::Bind {
                    address: config.listen,
                    source,
                })?;
        let local_addr = listener.local_addr().map_err(|source| StartError::Bind {
            address: config.listen,
            source,
        })?;
        let store = RecordStore::new(config.partitions, config.auto_create_topics);
        let state = Arc::new(BrokerState {
            config,
            store: store.clone(),
        });
        let shutdown = CancellationToken::new();
        let server = tokio::spawn(run(listener, state, shutdown.clone()));
        tracing::info!(address = %local_addr, "mock broker listening");
        Ok(MockBroker {
            local_addr,
            store,
            shutdown,
            server: Some(server),
        })
    }

    /// The address the broker accepts connections on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The recordings, for inspection by tests.
    pub fn store(&self) -> &RecordStore {
        &self.store
    }

    /// Stops accepting, lets every connection finish the requests it has
    /// received and answer them, then returns.
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(server) = self.server.take() {
            let _ = server.await;
        }
        tracing::info!(address = %self.local_addr, records = self.store.record_count(), "mock broker stopped");
    }
}

impl Drop for MockBroker {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The accept loop: a permit is taken before each accept, so at most
/// `max_connections` clients are served at once; shutdown stops accepting and
/// waits for every connection to finish.
async fn run(listener: TcpListener, state: Arc<BrokerState>, shutdown: CancellationToken) {
    let limit = Arc::new(Semaphore::new(state.config.max_connections));
    let connections = TaskTracker::new();
    loop {
        let permit = tokio::select! {
            permit = limit.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
            _ = shutdown.cancelled() => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Usually out of file descriptors: wait for some to be released.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        tracing::debug!(%peer, "client connected");
        let state = state.clone();
        let shutdown = shutdown.clone();
        connections.spawn(async move {
            if let Err(e) = connection::serve(stream, peer, state, shutdown).await {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
            tracing::debug!(%peer, "client disconnected");
            drop(permit);
        });
    }
    drop(listener);
    connections.close();
    connections.wait().await;
}

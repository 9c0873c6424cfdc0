//! Accepts connections for every broker of the process and runs until told to stop.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::connection::{self, Arrival};
use crate::connection_limits::ConnectionLimits;
use crate::listener::SecurityProtocol;
use crate::state::BrokerState;

/// One bound listener of one broker.
pub(crate) struct Listening {
    /// The socket accepting connections.
    pub(crate) listener: TcpListener,
    /// The broker it belongs to.
    pub(crate) node_id: i32,
    /// Which of the broker's endpoints it is.
    pub(crate) endpoint: usize,
    /// Its security protocol.
    pub(crate) protocol: SecurityProtocol,
}

/// Runs every accept loop and the admin API; on shutdown waits for all connections to finish.
///
/// `tls` is the acceptor of the SSL and SASL_SSL listeners (there is one if they exist).
pub(crate) async fn run(
    listeners: Vec<Listening>,
    tls: Option<TlsAcceptor>,
    admin: Option<TcpListener>,
    state: Arc<BrokerState>,
    shutdown: CancellationToken,
) {
    let limit = ConnectionLimits::new(
        state.config.max_connections,
        state.config.max_connections_per_ip,
    );
    let tasks = TaskTracker::new();
    for listening in listeners {
        let tls = if listening.protocol.tls() {
            Some(tls.clone().expect("TLS listeners come with an acceptor"))
        } else {
            None
        };
        tasks.spawn(accept_loop(
            listening,
            tls,
            state.clone(),
            limit.clone(),
            tasks.clone(),
            shutdown.clone(),
        ));
    }
    if let Some(admin) = admin {
        tasks.spawn(crate::admin::serve(admin, state.clone(), shutdown.clone()));
    }
    if state.config.retention_ms > 0 {
        let retention_state = state.clone();
        let retention_shutdown = shutdown.clone();
        tasks.spawn(async move {
            apply_retention(&retention_state, retention_shutdown).await;
        });
    }
    let clock_state = state.clone();
    let clock_shutdown = shutdown.clone();
    tasks.spawn(async move {
        clock_state.faults.run_clock(clock_shutdown).await;
    });
    let groups_state = state.clone();
    let groups_shutdown = shutdown.clone();
    tasks.spawn(async move {
        groups_state.groups.run_timer(groups_shutdown).await;
    });
    let txns_state = state.clone();
    let txns_shutdown = shutdown.clone();
    tasks.spawn(async move {
        txns_state
            .txns
            .run_timer(txns_state.txn_effects(), txns_shutdown)
            .await;
    });
    tasks.close();
    tasks.wait().await;
}

/// Applies `retention_ms` to every partition once a second, until shutdown
/// (appends apply it to their own partition as they go).
async fn apply_retention(state: &BrokerState, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => state.store.apply_retention(crate::clock::now_ms()),
            _ = shutdown.cancelled() => return,
        }
    }
}

/// One listener's accept loop: a connection past `max_connections` (over all
/// brokers and listeners) or `max_connections_per_ip` is closed at once, the
/// refusal counted and logged.
async fn accept_loop(
    listening: Listening,
    tls: Option<TlsAcceptor>,
    state: Arc<BrokerState>,
    limit: Arc<ConnectionLimits>,
    connections: TaskTracker,
    shutdown: CancellationToken,
) {
    let Listening {
        listener,
        node_id,
        endpoint,
        protocol,
    } = listening;
    let condition = state.faults.condition(node_id);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Usually out of file descriptors: wait for some to be released.
                    tracing::warn!(node_id, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.cancelled() => break,
        };
        if condition.borrow().down {
            // A `down` fault: the client sees its connection closed at once.
            tracing::debug!(node_id, %peer, "broker is down (fault); dropping the new connection");
            drop(stream);
            continue;
        }
        let slot = match limit.admit(peer.ip()) {
            Ok(slot) => slot,
            Err(refused) => {
                state.refusals.refused(
                    refused.limit(),
                    peer,
                    &format!("closing a new connection: {refused}"),
                );
                drop(stream);
                continue;
            }
        };
        tracing::debug!(node_id, %peer, listener = %protocol, "client connected");
        let _ = stream.set_nodelay(true);
        let state = state.clone();
        let shutdown = shutdown.clone();
        let tls = tls.clone();
        let arrival = Arrival {
            peer,
            node_id,
            endpoint,
            protocol,
        };
        connections.spawn(async move {
            let _open = state.stats.connection_opened();
            let served = match tls {
                None => connection::serve(stream, arrival, state.clone(), shutdown).await,
                Some(tls) => match crate::tls::accept(&tls, stream, peer, protocol, &state).await {
                    Some(stream) => {
                        connection::serve(stream, arrival, state.clone(), shutdown).await
                    }
                    None => Ok(()),
                },
            };
            if let Err(e) = served {
                tracing::debug!(node_id, %peer, error = %e, "connection ended with an error");
            }
            tracing::debug!(node_id, %peer, "client disconnected");
            drop(slot);
        });
    }
}

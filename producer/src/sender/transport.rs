//! How batches reach brokers: the frame protocol's one connection, or a
//! Kafka cluster with a lane of ordered, bounded requests per broker.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::Semaphore;

use crate::config::Config;
use crate::connection::Connection;
use crate::error::Error;
use crate::frame_handshake::greet;
use crate::kafka::cluster::Cluster;
use crate::link::Link;
use crate::tasks::Tasks;
use crate::wire::FrameWire;
use crate::write_order::WriteOrder;

/// The partition value of frame-protocol batches whose broker picks each message's partition.
pub(crate) const BROKER_CHOOSES: u32 = u32::MAX;

/// How batches reach brokers.
#[derive(Debug)]
pub(crate) enum Transport {
    /// The frame protocol, to one broker.
    Frame(FrameTransport),
    /// Kafka, to each partition's leader.
    Kafka(Box<Cluster>),
}

/// The frame protocol's single connection, reopened after a loss.
#[derive(Debug)]
pub(crate) struct FrameTransport {
    /// The broker's address, as configured.
    pub(crate) address: String,
    /// The open connection, if any: opened on first use and after a loss.
    pub(crate) link: tokio::sync::Mutex<Option<Arc<Link<FrameWire>>>>,
    /// The correlation id of the next produce frame.
    pub(crate) next_correlation_id: AtomicU32,
    /// Batches enqueue their requests in the order they were dispatched.
    pub(crate) order: WriteOrder,
}

/// Requests to one Kafka broker: at most `max_in_flight` at once, enqueued
/// on its connection in the order they were dispatched.
#[derive(Debug)]
pub(crate) struct BrokerLane {
    /// One permit per request that may be in flight.
    pub(crate) slots: Semaphore,
    /// Requests enqueue on the connection in this order.
    pub(crate) order: WriteOrder,
}

impl BrokerLane {
    /// A lane with room for `max_in_flight` requests at once.
    pub(crate) fn new(max_in_flight: usize) -> Self {
        BrokerLane {
            slots: Semaphore::new(max_in_flight),
            order: WriteOrder::default(),
        }
    }
}

impl FrameTransport {
    /// The transport to `config.broker_address`, its connection opened now
    /// (its tasks among `tasks`).
    ///
    /// # Errors
    /// The connection error naming the address.
    pub(crate) async fn connect(config: &Config, tasks: &Tasks) -> Result<FrameTransport, Error> {
        let transport = FrameTransport {
            address: config.broker_address.clone(),
            link: tokio::sync::Mutex::new(None),
            next_correlation_id: AtomicU32::new(1),
            order: WriteOrder::default(),
        };
        transport.link(config, tasks).await?;
        Ok(transport)
    }

    /// The open connection, opened now (its tasks among `tasks`) if there is none: a new
    /// connection is used once the broker has answered its ping within `connect_timeout`.
    ///
    /// # Errors
    /// The connection error naming the address.
    pub(crate) async fn link(
        &self,
        config: &Config,
        tasks: &Tasks,
    ) -> Result<Arc<Link<FrameWire>>, Error> {
        let mut link = self.link.lock().await;
        if let Some(link) = link.as_ref() {
            return Ok(link.clone());
        }
        let connection = Connection::connect(&self.address, config.connect_timeout).await?;
        let fresh = Arc::new(Link::start(
            connection,
            self.address.clone(),
            config.max_frame_bytes,
            tasks,
        ));
        let ping = self.next_correlation_id.fetch_add(1, Ordering::Relaxed);
        // On failure the fresh link is dropped here, which closes it.
        greet(&fresh, &self.address, ping, config.connect_timeout).await?;
        *link = Some(fresh.clone());
        Ok(fresh)
    }

    /// Forgets a connection that broke, so the next use opens another.
    pub(crate) async fn forget(&self, broken: &Arc<Link<FrameWire>>) {
        let mut link = self.link.lock().await;
        if link.as_ref().is_some_and(|l| Arc::ptr_eq(l, broken)) {
            *link = None;
        }
    }
}

//! What the producer handle and the sender's tasks share.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};

use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;

use super::transport::{BrokerLane, Transport};
use crate::accumulator::Accumulator;
use crate::backoff::Backoff;
use crate::config::Config;
use crate::idempotence::Idempotence;
use crate::metrics::Counters;
use crate::tasks::Tasks;

/// What the producer handle and the sender task share.
#[derive(Debug)]
pub(crate) struct Shared {
    /// The configuration the producer runs with.
    pub(crate) config: Config,
    /// The records waiting to be sent, per partition.
    pub(crate) accumulator: Mutex<Accumulator>,
    /// Wakes the run loop: a batch filled or opened, a flush began, a batch settled.
    pub(crate) wake: Notify,
    /// How many `flush` calls are waiting: while any is, open batches go at once.
    pub(crate) flushing: AtomicUsize,
    /// How batches reach brokers.
    pub(crate) transport: Transport,
    /// `buffer_memory`, in bytes: records take permits and give them back when settled.
    pub(crate) buffer: Arc<Semaphore>,
    /// What the producer counts, for [`Metrics`](crate::Metrics).
    pub(crate) counters: Counters,
    /// The idempotent producer's sequences, when it is one.
    pub(crate) idempotence: Option<Mutex<Idempotence>>,
    /// The delay before a batch is retried.
    pub(crate) backoff: Mutex<Backoff>,
    /// Each broker's requests in flight and their order.
    pub(crate) lanes: Mutex<HashMap<i32, Arc<BrokerLane>>>,
    /// Brokers that asked for quiet (`throttle_time_ms`, KIP-219): nothing is
    /// sent to them before this instant.
    pub(crate) throttled: Mutex<HashMap<i32, Instant>>,
    /// Every background task: stopped when the producer is closed or dropped.
    pub(crate) tasks: Tasks,
    /// Set while an epoch bump is under way.
    pub(crate) bumping: tokio::sync::Mutex<()>,
}

impl Shared {
    /// The accumulator, locked.
    pub(crate) fn acc(&self) -> std::sync::MutexGuard<'_, Accumulator> {
        self.accumulator.lock().expect("accumulator lock")
    }

    /// The request lane of broker `node`, made on first use.
    pub(crate) fn lane(&self, node: i32) -> Arc<BrokerLane> {
        self.lanes
            .lock()
            .expect("lanes lock")
            .entry(node)
            .or_insert_with(|| Arc::new(BrokerLane::new(self.config.max_in_flight as usize)))
            .clone()
    }

    /// When broker `node` accepts requests again, if it asked for quiet (`throttle_time_ms`).
    pub(crate) fn throttled_until(&self, node: i32) -> Option<Instant> {
        self.throttled
            .lock()
            .expect("throttle lock")
            .get(&node)
            .copied()
            .filter(|until| *until > Instant::now())
    }
}

//! Stopping a run early (Ctrl-C): first *request* that no more sends start,
//! then, after a grace period, *abandon* the sends still in flight.
//!
//! The issuers check the request before each send (an atomic load); waits
//! that could last (a full window, a full producer buffer, in-flight
//! deliveries, closing producers) race with the matching future.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// How long after a stop request in-flight sends are waited for before they are abandoned.
pub const GRACE: Duration = Duration::from_secs(5);

/// A run's stop switch; cheap to clone, every clone the same switch.
#[derive(Debug, Clone, Default)]
pub struct Stop {
    inner: Arc<StopInner>,
}

#[derive(Debug, Default)]
struct StopInner {
    /// Mirrors `requested` for the per-send check, which must not take a lock.
    requested_flag: AtomicBool,
    requested: CancellationToken,
    abandoned: CancellationToken,
}

impl Stop {
    /// A switch nobody has pulled.
    pub fn new() -> Self {
        Stop::default()
    }

    /// Asks the run to start no more sends and to skip its remaining phases.
    pub fn request(&self) {
        self.inner.requested_flag.store(true, Ordering::Relaxed);
        self.inner.requested.cancel();
    }

    /// Whether [`Stop::request`] was called.
    pub fn is_requested(&self) -> bool {
        self.inner.requested_flag.load(Ordering::Relaxed)
    }

    /// Resolves once [`Stop::request`] is called.
    pub async fn requested(&self) {
        self.inner.requested.cancelled().await;
    }

    /// Asks the run to stop waiting for sends in flight (and implies a request).
    pub fn abandon(&self) {
        self.request();
        self.inner.abandoned.cancel();
    }

    /// Whether [`Stop::abandon`] was called.
    pub fn is_abandoned(&self) -> bool {
        self.inner.abandoned.is_cancelled()
    }

    /// Resolves once [`Stop::abandon`] is called.
    pub async fn abandoned(&self) {
        self.inner.abandoned.cancelled().await;
    }
}

/// Awaits `future` unless `stop` is requested first (then `None`).
pub(crate) async fn until_stopped<T>(future: impl Future<Output = T>, stop: &Stop) -> Option<T> {
    tokio::select! {
        biased;
        value = future => Some(value),
        () = stop.requested() => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn abandoning_implies_a_request_and_wakes_both_waits() {
        let stop = Stop::new();
        assert!(!stop.is_requested() && !stop.is_abandoned());
        let clone = stop.clone();
        let waiter = tokio::spawn(async move {
            clone.requested().await;
            clone.abandoned().await;
        });
        stop.abandon();
        waiter.await.unwrap();
        assert!(stop.is_requested() && stop.is_abandoned());
    }
}

//! How a fetch waiting for data learns that some arrived: every append is
//! announced, and announcing costs one atomic load while nobody waits.

use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Notify;
use tokio::sync::futures::Notified;

/// Announces appends to whoever waits for one; shared by every topic of a store.
#[derive(Debug, Default)]
pub(crate) struct AppendSignal {
    notify: Notify,
    waiters: AtomicUsize,
}

impl AppendSignal {
    /// Wakes every [`Waiter`] created before this call.
    pub(crate) fn announce(&self) {
        if self.waiters.load(Ordering::SeqCst) > 0 {
            self.notify.notify_waiters();
        }
    }

    /// A waiter for the next append. Create it *before* looking for data, so
    /// that an append between the look and the wait is not missed.
    pub(crate) fn waiter(&self) -> Waiter<'_> {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        Waiter {
            notified: self.notify.notified(),
            _counted: Counted(self),
        }
    }
}

/// One wait for the next append; counted (so that appends announce) while it exists.
#[derive(Debug)]
pub(crate) struct Waiter<'a> {
    notified: Notified<'a>,
    _counted: Counted<'a>,
}

impl Waiter<'_> {
    /// Resolves at the first append announced after the waiter was created.
    pub(crate) async fn appended(self) {
        let Waiter { notified, _counted } = self;
        notified.await;
    }
}

/// Holds a waiter's place in the count until it is dropped.
#[derive(Debug)]
struct Counted<'a>(&'a AppendSignal);

impl Drop for Counted<'_> {
    fn drop(&mut self) {
        self.0.waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

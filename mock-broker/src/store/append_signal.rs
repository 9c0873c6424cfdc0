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

#[cfg(test)]
mod tests {
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use super::*;

    /// Polls `future` once, without a runtime.
    fn poll_once(future: std::pin::Pin<&mut impl Future<Output = ()>>) -> Poll<()> {
        future.poll(&mut Context::from_waker(Waker::noop()))
    }

    #[test]
    fn an_append_after_the_waiter_was_made_wakes_it_even_before_it_waits() {
        let signal = AppendSignal::default();
        // A fetch makes its waiter, looks (finds nothing), and an append lands before it awaits.
        let waiter = signal.waiter();
        signal.announce();
        let mut appended = pin!(waiter.appended());
        assert_eq!(poll_once(appended.as_mut()), Poll::Ready(()));
        assert_eq!(
            signal.waiters.load(Ordering::SeqCst),
            0,
            "the wait is counted no more"
        );
    }

    #[test]
    fn a_waiter_is_not_woken_by_an_append_announced_before_it_was_made() {
        let signal = AppendSignal::default();
        signal.announce();
        let waiter = signal.waiter();
        assert_eq!(signal.waiters.load(Ordering::SeqCst), 1);
        let mut appended = pin!(waiter.appended());
        assert_eq!(poll_once(appended.as_mut()), Poll::Pending);
        signal.announce();
        assert_eq!(poll_once(appended.as_mut()), Poll::Ready(()));
    }

    #[test]
    fn a_dropped_waiter_stops_counting() {
        let signal = AppendSignal::default();
        drop(signal.waiter());
        assert_eq!(signal.waiters.load(Ordering::SeqCst), 0);
    }
}

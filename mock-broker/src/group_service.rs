//! The group coordinator as the broker runs it: the pure [`Coordinator`] behind a lock,
//! the requests waiting on it, and the timer task that drives its deadlines.
//!
//! Every call goes through [`GroupService::call`], which hands each output the call made
//! ready (a reply for this request or for any other waiting one) to its waiter before the
//! lock is released, so no reply is ever lost between two calls. JoinGroup and SyncGroup
//! wait with [`GroupService::wait`]: their ticket's sender is registered before the call,
//! and a drop guard cancels the ticket if the waiting handler goes away. [`GroupService::run_timer`]
//! calls [`Coordinator::tick`] at [`Coordinator::next_deadline`], woken whenever a call
//! may have moved that deadline.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use kafka_protocol::ResponseError;
use tokio::sync::{Notify, oneshot};
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::group::{Coordinator, GroupConfig, Output, Reply, Ticket};

/// The broker's group coordinator and everyone waiting on it.
#[derive(Debug)]
pub(crate) struct GroupService {
    inner: Mutex<Inner>,
    next_ticket: AtomicU64,
    /// Wakes the timer task: a call may have moved the next deadline.
    deadline_moved: Notify,
    /// Cancelled at shutdown: waiting requests give up.
    shutdown: CancellationToken,
}

#[derive(Debug)]
struct Inner {
    coordinator: Coordinator,
    waiters: HashMap<Ticket, oneshot::Sender<Reply>>,
}

/// A request waiting for its reply; dropping it before the reply cancels the ticket.
#[derive(Debug)]
pub(crate) struct Waiting<'a> {
    service: &'a GroupService,
    ticket: Ticket,
    reply: oneshot::Receiver<Reply>,
    done: bool,
}

impl GroupService {
    /// A coordinator without groups, following `config`.
    pub(crate) fn with_config(config: GroupConfig) -> Self {
        Self {
            inner: Mutex::new(Inner {
                coordinator: Coordinator::new(config),
                waiters: HashMap::new(),
            }),
            next_ticket: AtomicU64::new(1),
            deadline_moved: Notify::new(),
            shutdown: CancellationToken::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("group coordinator lock")
    }

    /// Runs `f` on the coordinator at the current time; the outputs it returns (besides
    /// its own result) are delivered to their waiters before the lock is released.
    pub(crate) fn call<T>(&self, f: impl FnOnce(&mut Coordinator, i64) -> (T, Vec<Output>)) -> T {
        let result = {
            let mut inner = self.lock();
            let (result, outputs) = f(&mut inner.coordinator, now_ms());
            inner.deliver(outputs);
            result
        };
        self.deadline_moved.notify_one();
        result
    }

    /// Reads the coordinator (no outputs, no timers touched).
    pub(crate) fn read<T>(&self, f: impl FnOnce(&Coordinator) -> T) -> T {
        f(&self.lock().coordinator)
    }

    /// Registers a new ticket, then runs `f` with it (a JoinGroup or SyncGroup); the
    /// returned [`Waiting`] resolves to the ticket's reply, now or from a later call.
    pub(crate) fn wait(
        &self,
        f: impl FnOnce(&mut Coordinator, Ticket, i64) -> Vec<Output>,
    ) -> Waiting<'_> {
        let ticket = Ticket(self.next_ticket.fetch_add(1, Ordering::Relaxed));
        let (sender, reply) = oneshot::channel();
        {
            let mut inner = self.lock();
            inner.waiters.insert(ticket, sender);
            let outputs = f(&mut inner.coordinator, ticket, now_ms());
            inner.deliver(outputs);
        }
        self.deadline_moved.notify_one();
        Waiting {
            service: self,
            ticket,
            reply,
            done: false,
        }
    }

    /// Calls [`Coordinator::tick`] whenever its next deadline comes, until `shutdown`; then
    /// waiting requests give up.
    pub(crate) async fn run_timer(&self, shutdown: CancellationToken) {
        loop {
            let moved = self.deadline_moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            let next = {
                let mut inner = self.lock();
                let outputs = inner.coordinator.tick(now_ms());
                inner.deliver(outputs);
                inner.coordinator.next_deadline()
            };
            let wait = async {
                match next {
                    Some(at) => {
                        let ms = u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0);
                        // A millisecond late, so that the deadline has passed by the clock too.
                        tokio::time::sleep(Duration::from_millis(ms + 1)).await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut moved => {}
                () = wait => {}
                () = shutdown.cancelled() => break,
            }
        }
        self.shutdown.cancel();
    }
}

impl Inner {
    /// Sends each output to its waiter (one that went away is simply gone).
    fn deliver(&mut self, outputs: Vec<Output>) {
        for (ticket, reply) in outputs {
            match self.waiters.remove(&ticket) {
                Some(sender) => {
                    let _ = sender.send(reply);
                }
                None => tracing::warn!(?ticket, "a group reply for a ticket nobody waits on"),
            }
        }
    }
}

impl Waiting<'_> {
    /// The reply; COORDINATOR_NOT_AVAILABLE when the broker shuts down first.
    ///
    /// # Errors
    /// The error to answer with when no reply came.
    pub(crate) async fn reply(mut self) -> Result<Reply, ResponseError> {
        let reply = tokio::select! {
            reply = &mut self.reply => reply.map_err(|_| ResponseError::CoordinatorNotAvailable),
            () = self.service.shutdown.cancelled() => Err(ResponseError::CoordinatorNotAvailable),
        };
        self.done = reply.is_ok();
        reply
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let mut inner = self.service.lock();
        inner.waiters.remove(&self.ticket);
        inner.coordinator.cancel(self.ticket);
    }
}

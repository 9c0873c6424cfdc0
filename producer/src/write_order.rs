//! Keeping requests to one connection in the order their batches were dispatched.
//!
//! Each request is sent by a task of its own, and the runtime may run those
//! tasks in any order. Without an order of their own, a partition's batches
//! could reach the broker out of order even with no retry at all. So the
//! dispatcher hands each request a ticket, in dispatch order, and a request
//! enqueues itself on the connection only in its ticket's turn.

use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::watch;

/// The write order of one connection.
#[derive(Debug)]
pub(crate) struct WriteOrder {
    next_ticket: AtomicU64,
    /// The ticket whose request may enqueue now.
    turn: watch::Sender<u64>,
}

/// A request's turn to enqueue; the next ticket's turn comes when it is dropped,
/// whether the request was enqueued or gave up.
#[derive(Debug)]
pub(crate) struct Turn<'a>(&'a watch::Sender<u64>);

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        self.0.send_modify(|turn| *turn += 1);
    }
}

impl Default for WriteOrder {
    fn default() -> Self {
        WriteOrder {
            next_ticket: AtomicU64::new(0),
            turn: watch::Sender::new(0),
        }
    }
}

impl WriteOrder {
    /// Takes the next place in the order; called in dispatch order.
    pub(crate) fn ticket(&self) -> u64 {
        self.next_ticket.fetch_add(1, Ordering::Relaxed)
    }

    /// Waits until every ticket before `ticket` has had its turn.
    pub(crate) async fn turn(&self, ticket: u64) -> Turn<'_> {
        let mut turn = self.turn.subscribe();
        let _ = turn.wait_for(|now| *now == ticket).await;
        Turn(&self.turn)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn requests_enqueue_in_ticket_order_whatever_order_their_tasks_run_in() {
        let order = Arc::new(WriteOrder::default());
        let enqueued = Arc::new(Mutex::new(Vec::new()));
        let tickets: Vec<u64> = (0..64).map(|_| order.ticket()).collect();
        // Spawned last ticket first: without turns they would mostly enqueue backwards.
        let tasks: Vec<_> = tickets
            .into_iter()
            .rev()
            .map(|ticket| {
                let (order, enqueued) = (order.clone(), enqueued.clone());
                tokio::spawn(async move {
                    let _turn = order.turn(ticket).await;
                    enqueued.lock().unwrap().push(ticket);
                })
            })
            .collect();
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*enqueued.lock().unwrap(), (0..64).collect::<Vec<u64>>());
    }
}

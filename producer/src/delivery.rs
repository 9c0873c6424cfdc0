//! How records learn their fate.
//!
//! The records of one batch are acknowledged or fail together, so they share
//! one outcome: the batch holds a [`Fate`] that is settled once, and each
//! record's [`DeliveryFuture`] reads the outcome at its own index. A record
//! costs no allocation and no channel of its own; settling a batch costs one
//! store and one wake per future that is being awaited.

use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use tokio::sync::Notify;

use crate::error::Error;
use crate::record::Delivery;

/// What happened to a batch.
#[derive(Debug)]
pub(crate) enum Outcome {
    /// Stored; the first record at `base_offset`, the others after it.
    /// `None` when not known: the offset with acks = 0, the partition when
    /// the frame broker chose it and did not say (acks = 0).
    Stored {
        partition: Option<u32>,
        base_offset: Option<i64>,
    },
    /// Stored, at the place the broker reported for each record (the frame
    /// protocol, where the broker may choose the partition).
    Placed(Vec<(Option<u32>, i64)>),
    /// Not stored, and never will be.
    Failed(Error),
}

/// A batch's outcome and when it was decided.
#[derive(Debug)]
struct Settled {
    outcome: Outcome,
    /// Read once per batch, as it settles.
    at: Instant,
}

/// The outcome the records of one batch wait for.
#[derive(Debug, Default)]
struct Shared {
    outcome: OnceLock<Settled>,
    /// Wakers of the futures being awaited, each at the slot its future remembers.
    waiting: Mutex<Vec<Waker>>,
}

impl Shared {
    /// Sets the outcome (the first one set wins) and wakes every waiting future.
    fn settle(&self, outcome: Outcome) {
        let _ = self.outcome.set(Settled {
            outcome,
            at: Instant::now(),
        });
        // Taken after the outcome is set: a future that registers later sees the outcome.
        let waiting = std::mem::take(&mut *self.waiting.lock().expect("waiting lock"));
        for waker in waiting {
            waker.wake();
        }
    }
}

/// A batch's side of its records' deliveries: counts them, and settles
/// their futures once. Dropped unsettled (the producer is gone), it fails
/// them with [`Error::Closed`], so no future waits forever.
#[derive(Debug)]
pub(crate) struct Fate {
    shared: Arc<Shared>,
    records: usize,
    unsettled: Unsettled,
}

impl Fate {
    /// The fate of a new, empty batch; its records count as unsettled for `flush`.
    pub(crate) fn new(unsettled: &Unsettled) -> Fate {
        Fate {
            shared: Arc::default(),
            records: 0,
            unsettled: unsettled.clone(),
        }
    }

    /// Adds a record stamped `timestamp`, and returns the future of its delivery.
    pub(crate) fn add(&mut self, timestamp: i64) -> DeliveryFuture {
        self.unsettled.add(1);
        let index = self.records;
        self.records += 1;
        DeliveryFuture {
            shared: self.shared.clone(),
            index,
            timestamp,
            slot: None,
        }
    }

    /// How many records share this fate.
    pub(crate) fn len(&self) -> usize {
        self.records
    }

    /// Settles every record of the batch.
    pub(crate) fn settle(self, outcome: Outcome) {
        self.shared.settle(outcome);
        // `drop` gives the records back to `flush`.
    }
}

impl Drop for Fate {
    fn drop(&mut self) {
        if self.shared.outcome.get().is_none() {
            self.shared.settle(Outcome::Failed(Error::Closed));
        }
        self.unsettled.settled(self.records);
    }
}

/// The outcome of one [`Producer::send`](crate::Producer::send): resolves
/// once the broker acknowledged the record (with `acks` 0, once it was
/// written), or with the error that ended its delivery.
///
/// Awaiting it is optional: the record is sent whether or not anyone waits.
#[derive(Debug)]
pub struct DeliveryFuture {
    shared: Arc<Shared>,
    /// The record's place in its batch.
    index: usize,
    timestamp: i64,
    /// Where this future's waker is in `waiting`, once registered.
    slot: Option<usize>,
}

/// Which batch a record went into: records of one batch settle at the same
/// moment with the same outcome, so a caller awaiting many deliveries can
/// await one per batch and read the others at once (see
/// [`DeliveryFuture::batch`]).
///
/// It keeps the batch's shared outcome allocated (not its records), so two
/// ids compare equal exactly when they name the same batch, however long
/// they are kept.
#[derive(Debug, Clone)]
pub struct BatchId(Weak<Shared>);

impl PartialEq for BatchId {
    fn eq(&self, other: &BatchId) -> bool {
        self.0.ptr_eq(&other.0)
    }
}

impl Eq for BatchId {}

impl Hash for BatchId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.as_ptr().hash(state);
    }
}

impl DeliveryFuture {
    /// The batch the record went into; every record of it settles when this one does.
    pub fn batch(&self) -> BatchId {
        BatchId(Arc::downgrade(&self.shared))
    }

    /// Whether the record went into `batch` (cheaper than comparing [`DeliveryFuture::batch`]).
    pub fn is_in(&self, batch: &BatchId) -> bool {
        std::ptr::eq(Arc::as_ptr(&self.shared), batch.0.as_ptr())
    }

    /// When the producer learned the record's fate: the broker's answer read (or, with
    /// `acks` 0, the batch written), or the failure decided. `None` while it is unsettled.
    ///
    /// For a caller that measures latency but learns of settled deliveries late (it awaits
    /// one delivery per batch, or hands futures from thread to thread in chunks): the moment
    /// here does not include that delay. One clock reading per batch, taken as it settles.
    pub fn settled_at(&self) -> Option<Instant> {
        self.shared.outcome.get().map(|settled| settled.at)
    }

    fn read(&self, settled: &Settled) -> Result<Delivery, Error> {
        let outcome = &settled.outcome;
        let (partition, offset) = match outcome {
            Outcome::Stored {
                partition,
                base_offset,
            } => (*partition, base_offset.map(|base| base + self.index as i64)),
            Outcome::Placed(places) => match places.get(self.index) {
                Some(&(partition, offset)) => (partition, Some(offset)),
                None => (None, None),
            },
            Outcome::Failed(error) => return Err(error.clone()),
        };
        Ok(Delivery {
            partition,
            offset,
            timestamp: self.timestamp,
        })
    }
}

impl Future for DeliveryFuture {
    type Output = Result<Delivery, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(outcome) = this.shared.outcome.get() {
            return Poll::Ready(this.read(outcome));
        }
        let mut waiting = this.shared.waiting.lock().expect("waiting lock");
        // Looked at again under the lock: `settle` sets the outcome before it
        // takes the wakers, so either it is visible now or this waker is taken.
        if let Some(outcome) = this.shared.outcome.get() {
            drop(waiting);
            return Poll::Ready(this.read(outcome));
        }
        match this.slot {
            Some(slot) => {
                if !waiting[slot].will_wake(cx.waker()) {
                    waiting[slot] = cx.waker().clone();
                }
            }
            None => {
                this.slot = Some(waiting.len());
                waiting.push(cx.waker().clone());
            }
        }
        Poll::Pending
    }
}

/// Counts records enqueued but not settled, so that `flush` can wait for them.
#[derive(Debug, Default, Clone)]
pub(crate) struct Unsettled(Arc<UnsettledCount>);

#[derive(Debug, Default)]
struct UnsettledCount {
    count: AtomicUsize,
    idle: Notify,
}

impl Unsettled {
    fn add(&self, records: usize) {
        self.0.count.fetch_add(records, Ordering::AcqRel);
    }

    fn settled(&self, records: usize) {
        if records > 0 && self.0.count.fetch_sub(records, Ordering::AcqRel) == records {
            self.0.idle.notify_waiters();
        }
    }

    /// Waits until every record counted so far is settled.
    pub(crate) async fn wait_idle(&self) {
        loop {
            let notified = self.0.idle.notified();
            if self.0.count.load(Ordering::Acquire) == 0 {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(future: &mut DeliveryFuture) -> Option<Result<Delivery, Error>> {
        let waker = Waker::noop();
        match Pin::new(future).poll(&mut Context::from_waker(waker)) {
            Poll::Ready(result) => Some(result),
            Poll::Pending => None,
        }
    }

    #[test]
    fn each_record_reads_its_own_offset_and_timestamp() {
        let unsettled = Unsettled::default();
        let mut fate = Fate::new(&unsettled);
        let mut first = fate.add(10);
        let mut second = fate.add(20);
        assert!(ready(&mut first).is_none(), "pending until settled");
        assert_eq!(unsettled.0.count.load(Ordering::Relaxed), 2);
        fate.settle(Outcome::Stored {
            partition: Some(3),
            base_offset: Some(100),
        });
        assert_eq!(unsettled.0.count.load(Ordering::Relaxed), 0);
        let first = ready(&mut first).expect("settled").expect("stored");
        let second = ready(&mut second).expect("settled").expect("stored");
        assert_eq!(
            (first.partition, first.offset, first.timestamp),
            (Some(3), Some(100), 10)
        );
        assert_eq!(
            (second.partition, second.offset, second.timestamp),
            (Some(3), Some(101), 20)
        );
    }

    #[test]
    fn records_of_one_batch_share_its_id_and_settle_together() {
        let unsettled = Unsettled::default();
        let mut fate = Fate::new(&unsettled);
        let mut other_fate = Fate::new(&unsettled);
        let first = fate.add(0);
        let mut second = fate.add(0);
        let elsewhere = other_fate.add(0);
        let batch = first.batch();
        assert!(second.is_in(&batch) && first.is_in(&batch));
        assert_eq!(second.batch(), batch);
        assert!(!elsewhere.is_in(&batch));
        assert_ne!(elsewhere.batch(), batch);
        fate.settle(Outcome::Stored {
            partition: Some(0),
            base_offset: Some(7),
        });
        drop(first);
        assert_eq!(
            ready(&mut second).expect("settled").expect("stored").offset,
            Some(8)
        );
        // The id still names the batch after its futures are gone: a new
        // batch never takes its identity.
        drop(second);
        let mut later = Fate::new(&unsettled);
        assert!(!later.add(0).is_in(&batch));
    }

    #[test]
    fn the_moment_a_batch_settled_is_read_from_each_of_its_records() {
        let unsettled = Unsettled::default();
        let mut fate = Fate::new(&unsettled);
        let first = fate.add(0);
        let second = fate.add(0);
        assert_eq!(first.settled_at(), None, "unsettled");
        let before = Instant::now();
        fate.settle(Outcome::Failed(Error::Closed));
        let after = Instant::now();
        let at = first.settled_at().expect("settled");
        assert!(before <= at && at <= after, "stamped as it settled");
        assert_eq!(second.settled_at(), Some(at), "one moment per batch");
        // A fate dropped unsettled is stamped too.
        let mut dropped = Fate::new(&unsettled);
        let third = dropped.add(0);
        drop(dropped);
        assert!(third.settled_at().is_some_and(|at| at >= after));
    }

    #[test]
    fn a_fate_dropped_unsettled_fails_its_records_as_closed() {
        let unsettled = Unsettled::default();
        let mut fate = Fate::new(&unsettled);
        let mut future = fate.add(0);
        drop(fate);
        assert!(matches!(ready(&mut future), Some(Err(Error::Closed))));
        assert_eq!(unsettled.0.count.load(Ordering::Relaxed), 0);
    }

    #[tokio::test]
    async fn futures_awaited_from_other_tasks_wake_when_the_batch_settles() {
        let unsettled = Unsettled::default();
        let mut fate = Fate::new(&unsettled);
        let waiters: Vec<_> = (0..8).map(|i| tokio::spawn(fate.add(i))).collect();
        tokio::task::yield_now().await;
        fate.settle(Outcome::Failed(Error::Closed));
        for waiter in waiters {
            assert!(matches!(waiter.await.expect("task"), Err(Error::Closed)));
        }
        unsettled.wait_idle().await;
    }
}

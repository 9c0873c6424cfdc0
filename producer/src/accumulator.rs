//! Records waiting to be sent, batched per partition.
//!
//! `send` appends to the open batch of the record's partition; the sender
//! drains batches that are full (`batch_size`), old enough (`linger`), being
//! flushed, or due for a retry. A partition with a batch waiting to be
//! retried sends nothing newer until that batch is through, so records keep
//! their order per partition.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::delivery::{DeliveryFuture, Fate, Outcome, Unsettled};
use crate::error::Error;
use crate::frame::Message;
use crate::kafka::batch_builder::BatchBuilder;
use crate::record::Header;

/// A batch's records in the encoding of the protocol in use.
#[derive(Debug)]
pub(crate) enum BatchBody {
    /// A RecordBatch v2 being built.
    Kafka(BatchBuilder),
    /// A RecordBatch v2 sealed for sending, with the producer fields it carries.
    Sealed(bytes::Bytes, crate::kafka::batch_builder::ProducerFields),
    /// Frame-protocol messages.
    Frame(Vec<Message>),
}

/// The records of one partition sent together.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: u32,
    pub(crate) body: BatchBody,
    /// What its records' delivery futures wait for.
    pub(crate) fate: Fate,
    /// Bytes of `buffer_memory` the batch holds until it completes.
    pub(crate) bytes: usize,
    pub(crate) created: Instant,
    /// When the batch fails with `DeliveryTimeout` if not acknowledged.
    pub(crate) deadline: Instant,
    /// How many times it was sent.
    pub(crate) attempts: u32,
    /// Not before this instant (retry backoff).
    pub(crate) not_before: Option<Instant>,
    /// Producer id, epoch and base sequence, once assigned (idempotence).
    pub(crate) sequence: Option<(i64, i16, i32)>,
    /// The last retriable error, reported if the batch times out.
    pub(crate) last_error: Option<String>,
    /// Where the batch stands among its partition's batches: they are sent,
    /// retried and sequenced in this order.
    pub(crate) order: u64,
}

impl Batch {
    /// Fails every record of the batch with `error`.
    pub(crate) fn fail(self, error: &Error) {
        self.fate.settle(Outcome::Failed(error.clone()));
    }

    /// How many records the batch holds.
    pub(crate) fn len(&self) -> usize {
        self.fate.len()
    }

    fn size(&self) -> usize {
        match &self.body {
            BatchBody::Kafka(builder) => builder.size(),
            BatchBody::Sealed(bytes, _) => bytes.len(),
            BatchBody::Frame(messages) => messages.iter().map(Message::encoded_len).sum(),
        }
    }
}

/// A record on its way into a batch.
#[derive(Debug)]
pub(crate) struct Pending {
    pub(crate) timestamp: i64,
    pub(crate) key: Option<bytes::Bytes>,
    pub(crate) value: Option<bytes::Bytes>,
    pub(crate) headers: Vec<Header>,
    pub(crate) bytes: usize,
}

#[derive(Debug, Default)]
struct PartitionQueue {
    open: Option<Batch>,
    /// Batches to send again, oldest first.
    retries: VecDeque<Batch>,
    /// Batches of this partition being sent now.
    in_flight: usize,
    /// The `order` of the next batch opened.
    next_order: u64,
}

/// The most a new batch's buffer reserves up front, whatever `batch_size` says.
const MAX_PREALLOCATED: usize = 1024 * 1024;

/// Batching settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchSettings {
    pub(crate) batch_size: usize,
    pub(crate) linger: Duration,
    pub(crate) delivery_timeout: Duration,
    /// Batches of one partition in flight at once.
    pub(crate) max_in_flight_per_partition: usize,
    pub(crate) kafka: bool,
}

/// Every partition's queue.
#[derive(Debug)]
pub(crate) struct Accumulator {
    settings: BatchSettings,
    /// Counts the records not yet settled, for `flush`.
    unsettled: Unsettled,
    /// FNV rather than SipHash: looked up for every record.
    queues: fnv::FnvHashMap<(Arc<str>, u32), PartitionQueue>,
}

impl Accumulator {
    pub(crate) fn new(settings: BatchSettings, unsettled: Unsettled) -> Self {
        Accumulator {
            settings,
            unsettled,
            queues: fnv::FnvHashMap::default(),
        }
    }

    /// Appends a record; returns the future of its delivery, and true when the
    /// sender should look again: the record opened a new batch (with a new
    /// linger deadline) or filled one.
    pub(crate) fn append(
        &mut self,
        topic: &Arc<str>,
        partition: u32,
        record: Pending,
    ) -> (DeliveryFuture, bool) {
        let settings = self.settings;
        let unsettled = &self.unsettled;
        let queue = self.queues.entry((topic.clone(), partition)).or_default();
        let record_size = match queue.open.as_ref().map(|b| &b.body) {
            Some(BatchBody::Kafka(builder)) => builder.record_size(
                record.timestamp,
                record.key.as_deref(),
                record.value.as_deref(),
                &record.headers,
            ),
            _ => record.bytes,
        };
        // A record that does not fit starts a new batch; the full one waits in line.
        if let Some(open) = &queue.open
            && open.len() > 0
            && open.size() + record_size > settings.batch_size
        {
            let full = queue.open.take().expect("checked");
            queue.retries.push_back(full);
        }
        let opened = queue.open.is_none();
        let order = queue.next_order;
        if opened {
            queue.next_order += 1;
        }
        let batch = queue.open.get_or_insert_with(|| {
            // The clock is read when a batch opens, not for every record.
            let now = Instant::now();
            Batch {
                topic: topic.clone(),
                partition,
                body: if settings.kafka {
                    BatchBody::Kafka(BatchBuilder::with_capacity(
                        record.timestamp,
                        settings.batch_size.min(MAX_PREALLOCATED),
                    ))
                } else {
                    BatchBody::Frame(Vec::new())
                },
                fate: Fate::new(unsettled),
                bytes: 0,
                created: now,
                deadline: now + settings.delivery_timeout,
                attempts: 0,
                not_before: None,
                sequence: None,
                last_error: None,
                order,
            }
        });
        match &mut batch.body {
            BatchBody::Kafka(builder) => {
                builder.push(
                    record.timestamp,
                    record.key.as_deref(),
                    record.value.as_deref(),
                    &record.headers,
                );
            }
            BatchBody::Frame(messages) => messages.push(Message {
                timestamp: Some(record.timestamp),
                key: record.key,
                value: record.value.unwrap_or_default(),
                headers: record.headers,
            }),
            BatchBody::Sealed(..) => unreachable!("only batches that were drained are sealed"),
        }
        batch.bytes += record.bytes;
        let delivery = batch.fate.add(record.timestamp);
        (delivery, opened || batch.size() >= settings.batch_size)
    }

    /// Takes every batch that may be sent now, and says when to look again.
    ///
    /// With `flush`, open batches are taken whatever their age.
    pub(crate) fn drain(&mut self, now: Instant, flush: bool) -> (Vec<Batch>, Option<Instant>) {
        let settings = self.settings;
        let mut ready = Vec::new();
        let mut next: Option<Instant> = None;
        let mut wake_at = |t: Instant| next = Some(next.map_or(t, |n: Instant| n.min(t)));
        for queue in self.queues.values_mut() {
            // Retries and full batches first, in order, while the partition has room.
            while queue.in_flight < settings.max_in_flight_per_partition {
                let Some(front) = queue.retries.front() else {
                    break;
                };
                if let Some(at) = front.not_before
                    && at > now
                {
                    wake_at(at);
                    break;
                }
                // A batch sent before and failing must be through before the next goes.
                if front.attempts > 0 && queue.in_flight > 0 {
                    break;
                }
                let batch = queue.retries.pop_front().expect("front exists");
                queue.in_flight += 1;
                ready.push(batch);
            }
            let blocked = !queue.retries.is_empty()
                || queue.in_flight >= settings.max_in_flight_per_partition;
            if let Some(open) = &queue.open {
                let due = open.created + settings.linger;
                if !blocked && (flush || due <= now || open.size() >= settings.batch_size) {
                    let batch = queue.open.take().expect("checked");
                    queue.in_flight += 1;
                    ready.push(batch);
                } else if !blocked {
                    wake_at(due);
                }
            }
        }
        (ready, next)
    }

    /// A sent batch is done (acknowledged or failed for good).
    pub(crate) fn finished(&mut self, topic: &Arc<str>, partition: u32) {
        if let Some(queue) = self.queues.get_mut(&(topic.clone(), partition)) {
            queue.in_flight = queue.in_flight.saturating_sub(1);
        }
    }

    /// Puts a sent batch back to be retried at `not_before`, before anything newer of its partition.
    pub(crate) fn retry(&mut self, mut batch: Batch, not_before: Instant) {
        batch.not_before = Some(not_before);
        let queue = self
            .queues
            .entry((batch.topic.clone(), batch.partition))
            .or_default();
        queue.in_flight = queue.in_flight.saturating_sub(1);
        // In the partition's order, whether or not the batches were ever sent:
        // a batch that failed to reach the broker must not fall behind a newer
        // one, or an idempotent producer's sequences would arrive out of order.
        let at = queue
            .retries
            .iter()
            .position(|b| b.order > batch.order)
            .unwrap_or(queue.retries.len());
        queue.retries.insert(at, batch);
    }

    /// Removes batches whose delivery deadline has passed and are not in flight.
    pub(crate) fn expired(&mut self, now: Instant) -> Vec<Batch> {
        let mut expired = Vec::new();
        for queue in self.queues.values_mut() {
            if queue.open.as_ref().is_some_and(|b| b.deadline <= now) {
                expired.extend(queue.open.take());
            }
            let (gone, kept): (Vec<Batch>, Vec<Batch>) =
                queue.retries.drain(..).partition(|b| b.deadline <= now);
            queue.retries = kept.into();
            expired.extend(gone);
        }
        expired
    }

    /// Forgets the sequence of every batch not yet acknowledged (after an epoch bump).
    pub(crate) fn reset_sequences(&mut self) {
        for queue in self.queues.values_mut() {
            for batch in queue.retries.iter_mut().chain(queue.open.iter_mut()) {
                batch.sequence = None;
            }
        }
    }

    /// Whether any record is waiting to be sent.
    pub(crate) fn is_empty(&self) -> bool {
        self.queues
            .values()
            .all(|q| q.open.is_none() && q.retries.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accumulator() -> Accumulator {
        Accumulator::new(
            BatchSettings {
                batch_size: 1,
                linger: Duration::from_millis(5),
                delivery_timeout: Duration::from_secs(60),
                max_in_flight_per_partition: 5,
                kafka: false,
            },
            Unsettled::default(),
        )
    }

    fn record(value: &'static str) -> Pending {
        Pending {
            timestamp: 0,
            key: None,
            value: Some(bytes::Bytes::from_static(value.as_bytes())),
            headers: Vec::new(),
            bytes: value.len(),
        }
    }

    fn values(batches: &[Batch]) -> Vec<String> {
        batches
            .iter()
            .map(|b| match &b.body {
                BatchBody::Frame(messages) => {
                    String::from_utf8(messages[0].value.to_vec()).unwrap()
                }
                _ => unreachable!("frame batches"),
            })
            .collect()
    }

    #[test]
    fn batches_that_never_reached_the_broker_are_retried_in_their_order() {
        let mut acc = accumulator();
        let topic: Arc<str> = Arc::from("t");
        for value in ["a", "b", "c"] {
            let (_delivery, _) = acc.append(&topic, 0, record(value));
        }
        let now = Instant::now();
        let (ready, _) = acc.drain(now, true);
        assert_eq!(
            values(&ready),
            ["a", "b", "c"],
            "one record per batch, in order"
        );
        // The connection failed before any was sent: the failures come back one by one.
        for batch in ready {
            assert_eq!(batch.attempts, 0);
            acc.retry(batch, now);
        }
        let (ready, _) = acc.drain(now, true);
        assert_eq!(values(&ready), ["a", "b", "c"]);
    }

    #[test]
    fn a_batch_that_was_sent_goes_alone_before_anything_newer() {
        let mut acc = accumulator();
        let topic: Arc<str> = Arc::from("t");
        for value in ["a", "b"] {
            let (_delivery, _) = acc.append(&topic, 0, record(value));
        }
        let now = Instant::now();
        let (mut ready, _) = acc.drain(now, true);
        for batch in &mut ready {
            batch.attempts = 1;
        }
        let b = ready.pop().unwrap();
        let a = ready.pop().unwrap();
        acc.retry(a, now);
        let (_delivery, _) = acc.append(&topic, 0, record("c"));
        // "b" is still in flight: "a" waits for it, and nothing newer overtakes "a".
        let (ready, _) = acc.drain(now, true);
        assert!(ready.is_empty(), "{:?}", values(&ready));
        acc.retry(b, now);
        let (ready, _) = acc.drain(now, true);
        assert_eq!(values(&ready), ["a"]);
    }
}

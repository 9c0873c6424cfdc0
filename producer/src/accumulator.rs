//! Records waiting to be sent, batched per partition.
//!
//! `send` appends to the open batch of the record's partition; the sender
//! drains batches that are full (`batch_size`), old enough (`linger`), being
//! flushed, or due for a retry. A partition with a batch waiting to be
//! retried sends nothing newer until that batch is through, so records keep
//! their order per partition.

mod queues;

use std::sync::Arc;
use std::time::Duration;

use protocol::frame::Message;
use tokio::time::Instant;

use self::queues::{PartitionQueue, TopicQueues};
use crate::batch::{Batch, BatchBody, Pending};
use crate::delivery::{DeliveryFuture, Fate, Unsettled};
use crate::kafka::batch_builder::BatchBuilder;
use crate::partitioner::{KeyHash, KeylessStrategy, Partitioner};

/// Where a record goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    /// To this partition.
    Partition(u32),
    /// To the partition the topic's partitioner picks among this many.
    Choose(u32),
}

/// The most a new batch's buffer reserves up front, whatever `batch_size` says.
const MAX_PREALLOCATED: usize = 1024 * 1024;

/// Batching settings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BatchSettings {
    /// The size at which a batch is full (`batch_size`).
    pub(crate) batch_size: usize,
    /// How long an open batch waits for more records (`linger`).
    pub(crate) linger: Duration,
    /// How long a batch may take to be acknowledged, retries included.
    pub(crate) delivery_timeout: Duration,
    /// Batches of one partition in flight at once.
    pub(crate) max_in_flight_per_partition: usize,
    /// Whether batches are Kafka RecordBatches (else frame-protocol messages).
    pub(crate) kafka: bool,
    /// How a new topic's partitioner picks: keyed, and keyless records.
    pub(crate) partitioning: (KeyHash, KeylessStrategy),
}

/// Every partition's queue.
#[derive(Debug)]
pub(crate) struct Accumulator {
    settings: BatchSettings,
    /// Counts the records not yet settled, for `flush`.
    unsettled: Unsettled,
    /// Each topic's queues, in the order the topics were first used.
    topics: Vec<TopicQueues>,
    /// Where each topic is in `topics`; FNV rather than SipHash, as it is
    /// looked up for every record.
    by_name: fnv::FnvHashMap<Arc<str>, usize>,
    /// Where the first topic's keyless records start; each later topic
    /// starts one further, so that producers and topics do not all start on
    /// partition 0.
    first_start: u32,
}

impl Accumulator {
    /// An empty accumulator; keyless records of its first topic start at partition `start`.
    pub(crate) fn new(settings: BatchSettings, unsettled: Unsettled, start: u32) -> Self {
        Accumulator {
            settings,
            unsettled,
            topics: Vec::new(),
            by_name: fnv::FnvHashMap::default(),
            first_start: start,
        }
    }

    /// Where `topic`'s queues are in `topics`, made on first use: one lookup,
    /// and no clone of the name, for a topic already known.
    fn topic_index(&mut self, topic: &Arc<str>) -> usize {
        if let Some(&index) = self.by_name.get(&**topic) {
            return index;
        }
        let (key_hash, keyless) = self.settings.partitioning;
        let index = self.topics.len();
        let start = self.first_start.wrapping_add(index as u32);
        self.topics.push(TopicQueues {
            partitioner: Partitioner::new(key_hash, keyless, start),
            partitions: 0,
            queues: fnv::FnvHashMap::default(),
        });
        self.by_name.insert(topic.clone(), index);
        index
    }

    /// The queue of one partition, made on first use.
    fn queue(&mut self, topic: &Arc<str>, partition: u32) -> &mut PartitionQueue {
        let index = self.topic_index(topic);
        self.topics[index].queues.entry(partition).or_default()
    }

    fn queues(&mut self) -> impl Iterator<Item = &mut PartitionQueue> {
        self.topics.iter_mut().flat_map(|t| t.queues.values_mut())
    }

    /// Appends a record; returns the future of its delivery, and true when the
    /// sender should look again: the record opened a new batch (with a new
    /// linger deadline) or filled one.
    pub(crate) fn append(
        &mut self,
        topic: &Arc<str>,
        target: Target,
        record: Pending,
    ) -> (DeliveryFuture, bool) {
        let settings = self.settings;
        let index = self.topic_index(topic);
        let unsettled = &self.unsettled;
        let entry = &mut self.topics[index];
        let mut partition = match target {
            Target::Partition(partition) => partition,
            Target::Choose(partitions) => {
                entry.partitions = partitions;
                entry
                    .partitioner
                    .partition(record.key.as_deref(), partitions)
            }
        };
        if entry.close_if_full(partition, &record, settings.batch_size)
            && matches!(target, Target::Choose(_))
            && record.key.is_none()
        {
            // Sticky (KIP-480): the record that closed its partition's batch
            // goes on to the next partition with the records after it.
            partition = entry.partitioner.partition(None, entry.partitions);
            entry.close_if_full(partition, &record, settings.batch_size);
        }
        let queue = entry.queues.entry(partition).or_default();
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
                    let builder = BatchBuilder::with_capacity(
                        record.timestamp,
                        settings.batch_size.min(MAX_PREALLOCATED),
                    );
                    BatchBody::Kafka(builder)
                } else {
                    BatchBody::Frame {
                        messages: Vec::new(),
                        size: 0,
                    }
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
            BatchBody::Frame { messages, size } => {
                let message = Message {
                    timestamp: Some(record.timestamp),
                    key: record.key,
                    value: record.value.unwrap_or_default(),
                    headers: record.headers,
                };
                *size += message.encoded_len();
                messages.push(message);
            }
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
        for topic in &mut self.topics {
            for (&partition, queue) in topic.queues.iter_mut() {
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
                    // A batch sent before and failing waits for what is in flight,
                    // then goes alone.
                    if queue.resending || (front.attempts > 0 && queue.in_flight > 0) {
                        break;
                    }
                    let batch = queue.retries.pop_front().expect("front exists");
                    queue.resending = batch.attempts > 0;
                    queue.in_flight += 1;
                    ready.push(batch);
                }
                let blocked = queue.resending
                    || !queue.retries.is_empty()
                    || queue.in_flight >= settings.max_in_flight_per_partition;
                if let Some(open) = &queue.open {
                    let due = open.created + settings.linger;
                    if !blocked && (flush || due <= now || open.size() >= settings.batch_size) {
                        let batch = queue.open.take().expect("checked");
                        queue.in_flight += 1;
                        ready.push(batch);
                        // A sticky partitioner moves on once its partition's batch is sent (KIP-480).
                        topic.partitioner.batch_sent(partition, topic.partitions);
                    } else if !blocked {
                        wake_at(due);
                    }
                }
            }
        }
        (ready, next)
    }

    /// A sent batch is done (acknowledged or failed for good).
    pub(crate) fn finished(&mut self, topic: &Arc<str>, partition: u32) {
        if let Some(queue) = self
            .by_name
            .get(&**topic)
            .and_then(|&index| self.topics[index].queues.get_mut(&partition))
        {
            queue.in_flight = queue.in_flight.saturating_sub(1);
            queue.resending = false;
        }
    }

    /// Puts a sent batch back to be retried at `not_before`, before anything newer of its partition.
    pub(crate) fn retry(&mut self, mut batch: Batch, not_before: Instant) {
        batch.not_before = Some(not_before);
        let queue = self.queue(&batch.topic, batch.partition);
        queue.in_flight = queue.in_flight.saturating_sub(1);
        queue.resending = false;
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
        for queue in self.queues() {
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
        for queue in self.queues() {
            for batch in queue.retries.iter_mut().chain(queue.open.iter_mut()) {
                batch.sequence = None;
            }
        }
    }

    /// Whether any record is waiting to be sent.
    pub(crate) fn is_empty(&self) -> bool {
        self.topics
            .iter()
            .flat_map(|t| t.queues.values())
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
                partitioning: (KeyHash::Fnv1a, KeylessStrategy::Sticky),
            },
            Unsettled::default(),
            0,
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
                BatchBody::Frame { messages, .. } => {
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
            let (_delivery, _) = acc.append(&topic, Target::Partition(0), record(value));
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
    fn keyless_records_stick_to_a_partition_until_its_batch_closes() {
        let mut acc = Accumulator::new(
            BatchSettings {
                // The 61-byte header and two 11-byte records.
                batch_size: 85,
                linger: Duration::from_secs(60),
                delivery_timeout: Duration::from_secs(60),
                max_in_flight_per_partition: 5,
                kafka: true,
                partitioning: (KeyHash::Fnv1a, KeylessStrategy::Sticky),
            },
            Unsettled::default(),
            0,
        );
        let topic: Arc<str> = Arc::from("t");
        // Records of 4-byte values: two fit in a batch, and the third closes the
        // batch and goes on to the next partition.
        for value in ["aaaa", "bbbb", "cccc", "dddd", "eeee"] {
            let (_delivery, _) = acc.append(&topic, Target::Choose(3), record(value));
        }
        // Draining sends partition 2's open batch: the next record goes to partition 0.
        let (ready, _) = acc.drain(Instant::now(), true);
        let (_delivery, _) = acc.append(&topic, Target::Choose(3), record("ffff"));
        let (last, _) = acc.drain(Instant::now(), true);
        let mut placed: Vec<(u32, usize)> = ready
            .iter()
            .chain(&last)
            .map(|b| (b.partition, b.len()))
            .collect();
        placed.sort();
        assert_eq!(placed, [(0, 1), (0, 2), (1, 2), (2, 1)]);
    }

    #[test]
    fn a_batch_that_was_sent_goes_alone_before_anything_newer() {
        let mut acc = accumulator();
        let topic: Arc<str> = Arc::from("t");
        for value in ["a", "b"] {
            let (_delivery, _) = acc.append(&topic, Target::Partition(0), record(value));
        }
        let now = Instant::now();
        let (mut ready, _) = acc.drain(now, true);
        for batch in &mut ready {
            batch.attempts = 1;
        }
        let b = ready.pop().unwrap();
        let a = ready.pop().unwrap();
        acc.retry(a, now);
        let (_delivery, _) = acc.append(&topic, Target::Partition(0), record("c"));
        // "b" is still in flight: "a" waits for it, and nothing newer overtakes "a".
        let (ready, _) = acc.drain(now, true);
        assert!(ready.is_empty(), "{:?}", values(&ready));
        acc.retry(b, now);
        let (ready, _) = acc.drain(now, true);
        assert_eq!(values(&ready), ["a"]);
        // While "a" is sent again, nothing else of the partition goes, not even
        // the never-sent "c": it would overtake "a" if "a" failed once more.
        let (ready, _) = acc.drain(now, true);
        assert!(ready.is_empty(), "{:?}", values(&ready));
        acc.finished(&topic, 0);
        let (ready, _) = acc.drain(now, true);
        assert_eq!(values(&ready), ["b"], "the next resent batch, alone too");
        acc.finished(&topic, 0);
        let (ready, _) = acc.drain(now, true);
        assert_eq!(values(&ready), ["c"]);
    }
}

//! The high-level producer: what applications and the load generator call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kafka_protocol::ResponseError;
use tokio::sync::{Notify, Semaphore, TryAcquireError};
use tokio::time::Instant;

use crate::accumulator::{Accumulator, BatchSettings, Target};
use crate::backoff::Backoff;
use crate::batch::Pending;
use crate::config::{Config, Protocol};
use crate::delivery::{DeliveryFuture, Unsettled};
use crate::error::Error;
use crate::idempotence::Idempotence;
use crate::kafka::cluster::{Cluster, ConnectSettings, CountCache};
use crate::metrics::{Counters, Metrics};
use crate::sender::{self, BROKER_CHOOSES, FrameTransport, Shared, Transport};
use crate::tasks::Tasks;
use crate::{Delivery, Record};

/// The error a record gets for a topic or partition the cluster does not have.
const UNKNOWN_TOPIC_OR_PARTITION: i16 = ResponseError::UnknownTopicOrPartition.code();

/// Sends records to Kafka (or the mock broker), batched per partition and pipelined.
///
/// Cloning is cheap and every clone shares the same batches and connections,
/// so many tasks can send at once. [`send`](Producer::send) enqueues a record
/// and returns a [`DeliveryFuture`], so one task can have thousands of
/// records in flight:
///
/// ```no_run
/// # async fn demo() -> Result<(), producer::Error> {
/// use producer::{Config, Producer, Record};
/// let producer = Producer::new(Config::new("127.0.0.1:9092", "demo")).await?;
/// let mut deliveries = Vec::new();
/// for i in 0..1000 {
///     deliveries.push(producer.send(Record::new(format!("event {i}")).with_key("user-42")).await?);
/// }
/// for delivery in deliveries {
///     let delivery = delivery.await?;
///     println!("stored at partition {:?} offset {:?}", delivery.partition, delivery.offset);
/// }
/// producer.send_message("hello").await?; // the simple, wait-for-the-ack form
/// producer.close().await;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Producer {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    shared: Arc<Shared>,
    closed: AtomicBool,
    unsettled: Unsettled,
    /// The configured topic's name, shared by every record sent to it.
    default_topic: Arc<str>,
    /// The configured topic's partition count, read without the cluster's lock.
    default_topic_count: CountCache,
}

impl Drop for Inner {
    fn drop(&mut self) {
        // The last handle is gone: stop the sender; unsent records fail with `Closed`.
        self.shared.tasks.stop();
    }
}

impl Producer {
    /// Validates `config` and connects: for Kafka, fetches cluster metadata from
    /// the bootstrap list (and a producer id, when idempotent); for the frame
    /// protocol, opens the connection.
    ///
    /// # Errors
    /// [`Error::InvalidConfig`], or the connection error naming the address.
    pub async fn new(config: Config) -> Result<Producer, Error> {
        config.validate()?;
        let tasks = Tasks::default();
        let kafka = config.protocol == Protocol::Kafka;
        let transport = if kafka {
            let settings = ConnectSettings {
                client_id: config.client_id.clone(),
                connect_timeout: config.connect_timeout,
                request_timeout: config.request_timeout,
                tasks: tasks.clone(),
            };
            Transport::Kafka(Box::new(
                Cluster::connect(config.bootstrap_servers(), settings).await?,
            ))
        } else {
            // Connect now, so a wrong address fails here and not at the first send.
            Transport::Frame(FrameTransport::connect(&config, &tasks).await?)
        };
        let idempotence = match (&transport, config.is_idempotent()) {
            (Transport::Kafka(cluster), true) => {
                let (producer_id, epoch) =
                    sender::init_producer_id(cluster, config.request_timeout).await?;
                tracing::debug!(producer_id, epoch, "idempotent producer");
                Some(Mutex::new(Idempotence::new(producer_id, epoch)))
            }
            _ => None,
        };
        let settings = BatchSettings {
            batch_size: config.batch_size,
            linger: config.linger,
            delivery_timeout: config.delivery_timeout,
            max_in_flight_per_partition: if idempotence.is_some() {
                config.max_in_flight.min(5) as usize
            } else {
                config.max_in_flight as usize
            },
            kafka,
            partitioning: (config.partitioner, config.keyless_partitioner),
        };
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64);
        let unsettled = Unsettled::default();
        let shared = Arc::new(Shared {
            accumulator: Mutex::new(Accumulator::new(settings, unsettled.clone(), seed as u32)),
            wake: Notify::new(),
            flushing: AtomicUsize::new(0),
            transport,
            buffer: Arc::new(Semaphore::new(config.buffer_memory)),
            counters: Counters::default(),
            idempotence,
            backoff: Mutex::new(Backoff::new(
                config.retry_backoff,
                config.retry_backoff_max,
                seed,
            )),
            lanes: Mutex::new(HashMap::new()),
            throttled: Mutex::new(HashMap::new()),
            tasks,
            bumping: tokio::sync::Mutex::new(()),
            config,
        });
        shared.tasks.spawn(sender::run(shared.clone()));
        if kafka {
            shared
                .tasks
                .spawn_until_stopped(sender::refresh_metadata_periodically(shared.clone()));
        }
        tracing::info!(broker = %shared.config.broker_address, protocol = ?shared.config.protocol, client_id = %shared.config.client_id, "producer ready");
        let default_topic: Arc<str> = Arc::from(shared.config.topic.as_str());
        Ok(Producer {
            inner: Arc::new(Inner {
                shared,
                closed: AtomicBool::new(false),
                unsettled,
                default_topic,
                default_topic_count: CountCache::default(),
            }),
        })
    }

    /// The configuration this producer runs with.
    pub fn config(&self) -> &Config {
        &self.inner.shared.config
    }

    /// Sends `message` as the value of a keyless record to the configured
    /// topic and waits for the acknowledgement: the original design's API.
    ///
    /// # Errors
    /// As [`Producer::send`], and then as the delivery.
    pub async fn send_message(&self, message: &str) -> Result<Delivery, Error> {
        self.send(Record::new(Bytes::copy_from_slice(message.as_bytes())))
            .await?
            .await
    }

    /// Enqueues a record, waiting while `buffer_memory` is used up, and returns
    /// the future of its delivery.
    ///
    /// # Errors
    /// Refused before enqueueing: [`Error::Closed`], [`Error::MessageTooLarge`],
    /// or, for Kafka, a topic the cluster refuses ([`Error::Kafka`]).
    pub async fn send(&self, record: Record) -> Result<DeliveryFuture, Error> {
        self.enqueue(record, true).await
    }

    /// Like [`send`](Producer::send), but fails with [`Error::BufferFull`]
    /// instead of waiting for buffer space. (It still waits for metadata the
    /// first time a Kafka topic is used.)
    ///
    /// # Errors
    /// As [`Producer::send`], and [`Error::BufferFull`].
    pub async fn try_send(&self, record: Record) -> Result<DeliveryFuture, Error> {
        self.enqueue(record, false).await
    }

    async fn enqueue(&self, record: Record, wait: bool) -> Result<DeliveryFuture, Error> {
        let inner = &*self.inner;
        let shared = &inner.shared;
        if inner.closed.load(Ordering::Acquire) {
            return Err(Error::Closed);
        }
        let config = &shared.config;
        let size = record.key.as_ref().map_or(0, Bytes::len)
            + record.value.len()
            + record
                .headers
                .iter()
                .map(|h| h.key.len() + h.value.as_ref().map_or(0, Bytes::len))
                .sum::<usize>()
            + 32;
        if size > config.max_message_bytes as usize || size > config.buffer_memory {
            return Err(Error::MessageTooLarge {
                size,
                limit: config.max_message_bytes.min(config.buffer_memory as u32),
            });
        }
        // The configured topic's name is shared, not copied, for every record.
        let topic: Arc<str> = match record.topic.as_deref() {
            None => inner.default_topic.clone(),
            Some(topic) if topic == &*inner.default_topic => inner.default_topic.clone(),
            Some(topic) => Arc::from(topic),
        };
        let target = match (record.partition, &shared.transport) {
            (Some(partition), _) => {
                self.check_partition(&topic, partition).await?;
                Target::Partition(partition)
            }
            (None, Transport::Kafka(cluster)) => {
                let cached = if Arc::ptr_eq(&topic, &inner.default_topic) {
                    cluster.partition_count_cached(&topic, &inner.default_topic_count)
                } else {
                    None
                };
                Target::Choose(match cached {
                    Some(known) => known?,
                    None => {
                        partition_count(
                            cluster,
                            &topic,
                            config.request_timeout.max(Duration::from_secs(1)),
                        )
                        .await?
                    }
                })
            }
            // The frame protocol has no metadata: the broker picks by key hash or round-robin.
            (None, Transport::Frame(_)) => Target::Partition(BROKER_CHOOSES),
        };
        let permits = u32::try_from(size).expect("bounded by max_message_bytes");
        match shared.buffer.try_acquire_many(permits) {
            Ok(taken) => taken.forget(),
            Err(TryAcquireError::NoPermits) if wait => shared
                .buffer
                .acquire_many(permits)
                .await
                .map_err(|_| Error::Closed)?
                .forget(),
            Err(TryAcquireError::NoPermits) => {
                return Err(Error::BufferFull {
                    used: config.buffer_memory - shared.buffer.available_permits(),
                    limit: config.buffer_memory,
                });
            }
            Err(TryAcquireError::Closed) => return Err(Error::Closed),
        }
        let timestamp = record.timestamp.unwrap_or_else(now_ms);
        let pending = Pending {
            timestamp,
            key: record.key,
            value: Some(record.value),
            headers: record.headers,
            bytes: size,
        };
        let (delivery, full) = shared
            .accumulator
            .lock()
            .expect("accumulator lock")
            .append(&topic, target, pending);
        if full || config.linger.is_zero() {
            shared.wake.notify_one();
        }
        Ok(delivery)
    }

    /// Refuses, as the Java client does, a Kafka record naming a partition its topic lacks.
    async fn check_partition(&self, topic: &str, partition: u32) -> Result<(), Error> {
        let shared = &self.inner.shared;
        let Transport::Kafka(cluster) = &shared.transport else {
            return Ok(()); // the frame broker answers UNKNOWN_TOPIC_OR_PARTITION itself
        };
        let partitions = partition_count(
            cluster,
            topic,
            shared.config.request_timeout.max(Duration::from_secs(1)),
        )
        .await?;
        if partition >= partitions {
            return Err(Error::kafka(
                UNKNOWN_TOPIC_OR_PARTITION,
                Some(format!(
                    "topic {topic:?} has {partitions} partitions; there is no partition {partition}"
                )),
            ));
        }
        Ok(())
    }

    /// Sends every record enqueued so far without waiting for `linger`, and
    /// waits until each is settled (acknowledged or failed).
    pub async fn flush(&self) {
        let shared = &self.inner.shared;
        shared.flushing.fetch_add(1, Ordering::AcqRel);
        shared.wake.notify_one();
        self.inner.unsettled.wait_idle().await;
        shared.flushing.fetch_sub(1, Ordering::AcqRel);
    }

    /// Stops accepting records, flushes, and stops the background tasks
    /// (the sender, metadata refreshes, every connection's reader and
    /// writer), returning once they have all ended: the producer's
    /// connections are closed by then.
    ///
    /// Later sends, through any clone, fail with [`Error::Closed`].
    pub async fn close(&self) {
        self.inner.closed.store(true, Ordering::Release);
        self.flush().await;
        self.inner.shared.tasks.stop_and_wait().await;
        tracing::info!(broker = %self.inner.shared.config.broker_address, "producer closed");
    }

    /// A snapshot of the producer's counters.
    pub fn metrics(&self) -> Metrics {
        let shared = &self.inner.shared;
        let used = shared
            .config
            .buffer_memory
            .saturating_sub(shared.buffer.available_permits());
        shared.counters.snapshot(used as u64)
    }
}

/// The partition count of `topic`, asking the cluster (and so creating it,
/// where the broker allows) until `timeout`.
async fn partition_count(cluster: &Cluster, topic: &str, timeout: Duration) -> Result<u32, Error> {
    // The common case, a topic already known, reads no clock.
    if let Some(known) = cluster.partition_count(topic) {
        return known;
    }
    let deadline = Instant::now() + timeout;
    let mut backoff = Backoff::new(Duration::from_millis(20), Duration::from_millis(500), 7);
    loop {
        if let Err(e) = cluster.refresh(&[topic]).await {
            tracing::debug!(%topic, error = %e, "metadata refresh failed");
        }
        if let Some(known) = cluster.partition_count(topic) {
            return known;
        }
        if Instant::now() >= deadline {
            return Err(Error::kafka(
                UNKNOWN_TOPIC_OR_PARTITION,
                Some(format!(
                    "topic {topic:?} not present in metadata after {timeout:?}"
                )),
            ));
        }
        tokio::time::sleep(backoff.next_delay()).await;
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

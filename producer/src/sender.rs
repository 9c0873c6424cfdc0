//! The background task that sends batches and settles their records.
//!
//! It drains the accumulator, routes Kafka batches to their partitions'
//! leaders (one Produce request per broker carries every ready batch it
//! leads), sends frame-protocol batches as produce frames, and settles each
//! record: acknowledged with its offset, retried after a retriable error
//! (with backoff, until `retries` or `delivery_timeout` runs out), or failed
//! with the broker's error.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::InitProducerIdRequest;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Acks;
use crate::accumulator::{Accumulator, Batch, BatchBody};
use crate::backoff::Backoff;
use crate::compression::CompressionError;
use crate::config::Config;
use crate::connection::Connection;
use crate::delivery::Outcome;
use crate::error::Error;
use crate::kafka::batch_header::{ProducerFields, reseal};
use crate::kafka::cluster::Cluster;
use crate::kafka::produce_request::{PartitionBatch, TopicBatches};
use crate::kafka::{error_name, is_retriable};
use crate::link::Link;
use crate::metrics::Counters;
use crate::wire::FrameWire;
use crate::write_order::WriteOrder;
use protocol::frame::{self, FrameAcks, Status};

/// The partition value of frame-protocol batches whose broker picks each message's partition.
pub(crate) const BROKER_CHOOSES: u32 = u32::MAX;

/// How batches reach brokers.
#[derive(Debug)]
pub(crate) enum Transport {
    Frame(FrameTransport),
    Kafka(Box<Cluster>),
}

/// The frame protocol's single connection, reopened after a loss.
#[derive(Debug)]
pub(crate) struct FrameTransport {
    pub(crate) address: String,
    pub(crate) link: tokio::sync::Mutex<Option<Arc<Link<FrameWire>>>>,
    pub(crate) next_correlation_id: AtomicU32,
    /// Batches enqueue their requests in the order they were dispatched.
    pub(crate) order: WriteOrder,
}

/// Requests to one Kafka broker: at most `max_in_flight` at once, enqueued
/// on its connection in the order they were dispatched.
#[derive(Debug)]
pub(crate) struct BrokerLane {
    slots: Semaphore,
    order: WriteOrder,
}

impl FrameTransport {
    async fn link(&self, config: &Config) -> Result<Arc<Link<FrameWire>>, Error> {
        let mut link = self.link.lock().await;
        if let Some(link) = link.as_ref() {
            return Ok(link.clone());
        }
        let connection = Connection::connect(&self.address, config.connect_timeout).await?;
        let fresh = Arc::new(Link::start(
            connection,
            self.address.clone(),
            config.max_frame_bytes,
        ));
        *link = Some(fresh.clone());
        Ok(fresh)
    }

    async fn forget(&self, broken: &Arc<Link<FrameWire>>) {
        let mut link = self.link.lock().await;
        if link.as_ref().is_some_and(|l| Arc::ptr_eq(l, broken)) {
            *link = None;
        }
    }
}

/// Idempotent-producer state: the producer id and epoch, and per-partition sequences.
#[derive(Debug)]
pub(crate) struct Idempotence {
    pub(crate) producer_id: i64,
    pub(crate) epoch: i16,
    /// The sequence the next new batch of a partition gets.
    next_sequence: HashMap<(Arc<str>, u32), i32>,
    /// The sequence the broker expects next for a partition (all before it acknowledged).
    acknowledged: HashMap<(Arc<str>, u32), i32>,
}

impl Idempotence {
    pub(crate) fn new(producer_id: i64, epoch: i16) -> Self {
        Idempotence {
            producer_id,
            epoch,
            next_sequence: HashMap::new(),
            acknowledged: HashMap::new(),
        }
    }
}

/// What the producer handle and the sender task share.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) accumulator: Mutex<Accumulator>,
    pub(crate) wake: Notify,
    pub(crate) flushing: AtomicUsize,
    pub(crate) transport: Transport,
    /// `buffer_memory`, in bytes: records take permits and give them back when settled.
    pub(crate) buffer: Arc<Semaphore>,
    pub(crate) counters: Counters,
    pub(crate) idempotence: Option<Mutex<Idempotence>>,
    pub(crate) backoff: Mutex<Backoff>,
    /// Each broker's requests in flight and their order.
    pub(crate) lanes: Mutex<HashMap<i32, Arc<BrokerLane>>>,
    /// Brokers that asked for quiet (`throttle_time_ms`, KIP-219): nothing is
    /// sent to them before this instant.
    pub(crate) throttled: Mutex<HashMap<i32, Instant>>,
    pub(crate) cancel: CancellationToken,
    /// Set while an epoch bump is under way.
    pub(crate) bumping: tokio::sync::Mutex<()>,
}

impl Shared {
    fn acc(&self) -> std::sync::MutexGuard<'_, Accumulator> {
        self.accumulator.lock().expect("accumulator lock")
    }

    fn lane(&self, node: i32) -> Arc<BrokerLane> {
        self.lanes
            .lock()
            .expect("lanes lock")
            .entry(node)
            .or_insert_with(|| {
                Arc::new(BrokerLane {
                    slots: Semaphore::new(self.config.max_in_flight as usize),
                    order: WriteOrder::default(),
                })
            })
            .clone()
    }
}

/// Runs until the producer is closed or dropped.
pub(crate) async fn run(shared: Arc<Shared>) {
    let mut requests = JoinSet::new();
    loop {
        let now = Instant::now();
        let flush = shared.flushing.load(Ordering::Acquire) > 0;
        let (expired, ready, next, idle) = {
            let mut acc = shared.acc();
            let expired = acc.expired(now);
            let (ready, next) = acc.drain(now, flush);
            let idle = acc.is_empty();
            (expired, ready, next, idle)
        };
        for batch in expired {
            let last = batch.last_error.clone();
            let epoch = batch.sequence.map(|s| s.1);
            fail_waiting(
                &shared,
                batch,
                &Error::DeliveryTimeout {
                    timeout: shared.config.delivery_timeout,
                    last,
                },
            );
            if epoch.is_some() {
                sequence_gap(&shared, epoch);
            }
        }
        if !ready.is_empty() {
            dispatch(&shared, ready, &mut requests);
        }
        // With batches waiting but none due, look again soon for deadlines.
        let wait_until = next.unwrap_or(
            now + if idle {
                Duration::from_secs(3600)
            } else {
                Duration::from_millis(100)
            },
        );
        tokio::select! {
            _ = shared.cancel.cancelled() => break,
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep_until(wait_until) => {}
            Some(_) = requests.join_next(), if !requests.is_empty() => {}
        }
    }
    requests.abort_all();
}

fn dispatch(shared: &Arc<Shared>, batches: Vec<Batch>, requests: &mut JoinSet<()>) {
    match &shared.transport {
        Transport::Frame(transport) => {
            for batch in batches {
                let ticket = transport.order.ticket();
                requests.spawn(send_frame(shared.clone(), batch, ticket));
            }
        }
        Transport::Kafka(cluster) => {
            // Each node's requests, in order; a request carries at most one
            // batch per partition (a broker keeps one entry per partition of a
            // request, and its answer could not be told apart), so a
            // partition's next batch goes in the node's next request.
            let mut by_node: HashMap<i32, Vec<Vec<Batch>>> = HashMap::new();
            let mut refresh = false;
            for mut batch in batches {
                match cluster.leader(&batch.topic, batch.partition) {
                    Some(node) if let Some(until) = throttled_until(shared, node) => {
                        // KIP-219: nothing goes to a throttling broker before its time.
                        // The loop looks again and sleeps until then.
                        shared.acc().retry(batch, until);
                        shared.wake.notify_one();
                    }
                    Some(node) => {
                        assign_sequence(shared, &mut batch);
                        let requests = by_node.entry(node).or_default();
                        let has_partition = |request: &Vec<Batch>| {
                            request
                                .iter()
                                .any(|b| b.partition == batch.partition && b.topic == batch.topic)
                        };
                        match requests.last_mut() {
                            Some(request) if !has_partition(request) => request.push(batch),
                            _ => requests.push(vec![batch]),
                        }
                    }
                    None => {
                        refresh = true;
                        let reason = format!(
                            "no leader known for {} partition {}",
                            batch.topic, batch.partition
                        );
                        retry_later(shared, batch, reason, false);
                    }
                }
            }
            if refresh {
                spawn_refresh(shared);
            }
            for (node, groups) in by_node {
                let lane = shared.lane(node);
                for group in groups {
                    let ticket = lane.order.ticket();
                    requests.spawn(send_kafka(
                        shared.clone(),
                        node,
                        group,
                        lane.clone(),
                        ticket,
                    ));
                }
            }
        }
    }
}

/// When broker `node` accepts requests again, if it asked for quiet (`throttle_time_ms`).
fn throttled_until(shared: &Shared, node: i32) -> Option<Instant> {
    shared
        .throttled
        .lock()
        .expect("throttle lock")
        .get(&node)
        .copied()
        .filter(|until| *until > Instant::now())
}

fn spawn_refresh(shared: &Arc<Shared>) {
    let shared = shared.clone();
    tokio::spawn(async move {
        if let Transport::Kafka(cluster) = &shared.transport {
            if let Err(e) = cluster.refresh(&[]).await {
                tracing::debug!(error = %e, "metadata refresh failed");
            }
            shared.wake.notify_one();
        }
    });
}

fn assign_sequence(shared: &Shared, batch: &mut Batch) {
    let Some(idempotence) = &shared.idempotence else {
        return;
    };
    if batch.sequence.is_some() {
        return;
    }
    let mut state = idempotence.lock().expect("idempotence lock");
    let (id, epoch) = (state.producer_id, state.epoch);
    let next = state
        .next_sequence
        .entry((batch.topic.clone(), batch.partition))
        .or_insert(0);
    let base = *next;
    *next = next.wrapping_add(batch.len() as i32) & i32::MAX;
    batch.sequence = Some((id, epoch, base));
}

/// Why a batch could not be made into a RecordBatch to send.
#[derive(Debug, thiserror::Error)]
enum EncodeBatchError {
    /// The codec failed.
    #[error(transparent)]
    Compression(#[from] CompressionError),
    /// The batch holds frame-protocol messages.
    #[error("a frame batch cannot be sent over Kafka")]
    NotKafka,
}

/// The batch's bytes for sending: sealed once (in place when uncompressed),
/// reused by retries, rewritten only when an epoch bump changed its sequence.
fn encode_batch(shared: &Shared, batch: &mut Batch) -> Result<Bytes, EncodeBatchError> {
    let producer = batch.sequence.map_or(
        ProducerFields::NONE,
        |(producer_id, producer_epoch, base_sequence)| ProducerFields {
            producer_id,
            producer_epoch,
            base_sequence,
        },
    );
    let body = std::mem::replace(
        &mut batch.body,
        BatchBody::Frame {
            messages: Vec::new(),
            size: 0,
        },
    );
    let bytes = match body {
        BatchBody::Kafka(builder) => builder.seal(producer, shared.config.compression)?,
        BatchBody::Sealed(bytes, sealed_as) if sealed_as == producer => bytes,
        BatchBody::Sealed(bytes, _) => reseal(&bytes, producer),
        BatchBody::Frame { .. } => return Err(EncodeBatchError::NotKafka),
    };
    batch.body = BatchBody::Sealed(bytes.clone(), producer);
    Ok(bytes)
}

async fn send_kafka(
    shared: Arc<Shared>,
    node: i32,
    mut batches: Vec<Batch>,
    lane: Arc<BrokerLane>,
    ticket: u64,
) {
    let Transport::Kafka(cluster) = &shared.transport else {
        return;
    };
    // Every return before the request is enqueued passes the turn on too.
    let turn = lane.order.turn(ticket).await;
    let _permit = lane.slots.acquire().await.expect("never closed");
    if let Some(until) = throttled_until(&shared, node) {
        // Throttled while waiting for the slot: back in line, in order.
        let mut acc = shared.acc();
        for batch in batches {
            acc.retry(batch, until);
        }
        drop(acc);
        shared.wake.notify_one();
        return;
    }
    let connection = match cluster.connection(node).await {
        Ok(connection) => connection,
        Err(e) => {
            shared.counters.error("CONNECTION");
            spawn_refresh(&shared);
            for batch in batches {
                retry_later(&shared, batch, e.to_string(), true);
            }
            return;
        }
    };
    let mut topics: Vec<TopicBatches> = Vec::new();
    let mut bytes_sent = 0u64;
    let mut encoded = Vec::with_capacity(batches.len());
    for mut batch in batches.drain(..) {
        match encode_batch(&shared, &mut batch) {
            Ok(records) => {
                bytes_sent += records.len() as u64;
                let data = PartitionBatch {
                    partition: batch.partition as i32,
                    records,
                };
                match topics.iter_mut().find(|t| t.topic == *batch.topic) {
                    Some(topic) => topic.partitions.push(data),
                    None => topics.push(TopicBatches {
                        topic: batch.topic.to_string(),
                        partitions: vec![data],
                    }),
                }
                encoded.push(batch);
            }
            Err(e) => fail(
                &shared,
                batch,
                &Error::Protocol {
                    address: connection.address().to_string(),
                    reason: e.to_string(),
                },
            ),
        }
    }
    if encoded.is_empty() {
        return;
    }
    for batch in &mut encoded {
        batch.attempts += 1;
    }
    let counters = &shared.counters;
    Counters::add(&counters.requests, 1);
    Counters::add(&counters.batches_sent, encoded.len() as u64);
    Counters::add(&counters.in_flight, 1);
    let result = match connection
        .enqueue_produce(
            shared.config.acks.as_i16(),
            &topics,
            shared.config.request_timeout,
        )
        .await
    {
        Ok(answer) => {
            drop(turn);
            answer.await
        }
        Err(e) => Err(e),
    };
    counters.in_flight.fetch_sub(1, Ordering::Relaxed);
    let response = match result {
        Ok(Some(response)) => response,
        // acks = 0: written is all there is to know.
        Ok(None) => {
            for batch in encoded {
                complete(&shared, batch, -1, bytes_sent);
            }
            return;
        }
        Err(e) => {
            counters.error(if matches!(e, Error::Timeout { .. }) {
                "REQUEST_TIMEOUT"
            } else {
                "CONNECTION"
            });
            cluster.drop_connection(node, &connection);
            spawn_refresh(&shared);
            for batch in encoded {
                retry_later(&shared, batch, e.to_string(), true);
            }
            return;
        }
    };
    let mut refresh = false;
    let per_batch_bytes = bytes_sent / encoded.len() as u64;
    for batch in encoded {
        let answer = response
            .responses
            .iter()
            .filter(|t| t.name.0.as_str() == &*batch.topic)
            .flat_map(|t| &t.partition_responses)
            .find(|p| p.index == batch.partition as i32);
        let Some(answer) = answer else {
            retry_later(
                &shared,
                batch,
                "the broker's response left the partition out".into(),
                true,
            );
            continue;
        };
        let code = answer.error_code;
        let message = answer.error_message.as_ref().map(|m| m.to_string());
        let stale_epoch = code == 47
            && match batch.sequence {
                Some(s) => epoch_after_bumps(&shared).await > s.1,
                None => false,
            };
        match code {
            0 => complete(&shared, batch, answer.base_offset, per_batch_bytes),
            // An older broker's answer to a retry it had already appended.
            46 => complete(&shared, batch, -1, per_batch_bytes),
            45 | 59 if shared.idempotence.is_some() => {
                counters.error(&error_name(code));
                sequence_trouble(&shared, batch, code).await;
            }
            47 if stale_epoch => {
                // Sent under an epoch that has since been bumped: resend under the new one.
                let mut batch = batch;
                batch.sequence = None;
                retry_later(&shared, batch, error_name(code), false);
            }
            code if is_retriable(code) => {
                counters.error(&error_name(code));
                if matches!(code, 3 | 5 | 6) {
                    refresh = true;
                }
                let reason = format!(
                    "{} ({code}){}",
                    error_name(code),
                    message.map(|m| format!(": {m}")).unwrap_or_default()
                );
                retry_later(&shared, batch, reason, true);
            }
            code => {
                counters.error(&error_name(code));
                let epoch = batch.sequence.map(|s| s.1);
                fail(&shared, batch, &Error::kafka(code, message));
                if epoch.is_some() {
                    // Its sequence numbers will never be appended: restart them.
                    sequence_gap(&shared, epoch);
                }
            }
        }
    }
    if refresh {
        spawn_refresh(&shared);
    }
    if response.throttle_time_ms > 0 {
        // The broker asked this client to send it nothing for that long (KIP-219).
        let until = Instant::now() + Duration::from_millis(response.throttle_time_ms as u64);
        let mut throttled = shared.throttled.lock().expect("throttle lock");
        let entry = throttled.entry(node).or_insert(until);
        *entry = (*entry).max(until);
    }
}

/// The epoch once any bump under way is done: a batch refused for an old
/// epoch may have raced the bump that made it old.
async fn epoch_after_bumps(shared: &Shared) -> i16 {
    drop(shared.bumping.lock().await);
    current_epoch(shared)
}

fn current_epoch(shared: &Shared) -> i16 {
    shared
        .idempotence
        .as_ref()
        .map_or(-1, |i| i.lock().expect("idempotence lock").epoch)
}

/// OUT_OF_ORDER_SEQUENCE_NUMBER or UNKNOWN_PRODUCER_ID, handled as the Java client does.
///
/// When an earlier batch of the partition is still unacknowledged, this batch
/// only failed because that one did: resend it after it. Otherwise the
/// broker lost track of the producer: bump the epoch (InitProducerId with the
/// current id and epoch, KIP-360), restart every partition's sequences at 0,
/// and resend.
async fn sequence_trouble(shared: &Arc<Shared>, mut batch: Batch, code: i16) {
    let idempotence = shared.idempotence.as_ref().expect("checked by the caller");
    let behind_another = {
        let state = idempotence.lock().expect("idempotence lock");
        let expected = state
            .acknowledged
            .get(&(batch.topic.clone(), batch.partition))
            .copied()
            .unwrap_or(0);
        batch
            .sequence
            .is_some_and(|(_, epoch, base)| epoch == state.epoch && base != expected)
    };
    if behind_another && code == 45 {
        retry_later(shared, batch, error_name(code), false);
        return;
    }
    let sent_epoch = batch.sequence.map(|s| s.1);
    if bump_epoch(shared, sent_epoch).await {
        batch.sequence = None;
        retry_later(shared, batch, error_name(code), false);
    } else {
        // The bump failed (the broker may be unreachable): keep the batch's
        // sequence, so that it is not appended twice under one epoch, and try
        // again after a backoff, counted against its retries.
        let reason = format!("{} and the epoch bump failed", error_name(code));
        retry_later(shared, batch, reason, true);
    }
}

/// A sequenced batch failed for good, leaving a gap the broker would refuse
/// every later batch of its partition for: bump the epoch in the background,
/// which restarts every partition's sequences (as the Java client does for
/// idempotent producers).
fn sequence_gap(shared: &Arc<Shared>, epoch: Option<i16>) {
    let shared = shared.clone();
    tokio::spawn(async move {
        bump_epoch(&shared, epoch).await;
        shared.wake.notify_one();
    });
}

/// Bumps the producer epoch unless it already moved past `seen`; whether the
/// epoch is now past `seen` (false when the bump failed).
pub(crate) async fn bump_epoch(shared: &Arc<Shared>, seen: Option<i16>) -> bool {
    let (Some(idempotence), Transport::Kafka(cluster)) = (&shared.idempotence, &shared.transport)
    else {
        return false;
    };
    let _one = shared.bumping.lock().await;
    let (id, epoch) = {
        let state = idempotence.lock().expect("idempotence lock");
        (state.producer_id, state.epoch)
    };
    if seen.is_some_and(|s| s < epoch) {
        return true;
    }
    let request = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id(id.into())
        .with_producer_epoch(epoch);
    let result = match cluster.any_connection().await {
        Ok(connection) => {
            connection
                .request(&request, shared.config.request_timeout)
                .await
        }
        Err(e) => Err(e),
    };
    let (new_id, new_epoch) = match result {
        Ok(r) if r.error_code == 0 => (r.producer_id.0, r.producer_epoch),
        Ok(r) => {
            tracing::warn!(code = r.error_code, error = %error_name(r.error_code), "epoch bump refused; asking for a new producer id");
            match init_producer_id(cluster, shared.config.request_timeout).await {
                Ok(fresh) => fresh,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot get a new producer id");
                    return false;
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "epoch bump failed");
            return false;
        }
    };
    tracing::info!(
        producer_id = new_id,
        epoch = new_epoch,
        "producer epoch bumped; sequences restart at 0"
    );
    {
        let mut state = idempotence.lock().expect("idempotence lock");
        state.producer_id = new_id;
        state.epoch = new_epoch;
        state.next_sequence.clear();
        state.acknowledged.clear();
    }
    shared.acc().reset_sequences();
    true
}

/// A new producer id and epoch from any broker.
///
/// # Errors
/// Connection errors, or the broker's error code.
pub(crate) async fn init_producer_id(
    cluster: &Cluster,
    timeout: Duration,
) -> Result<(i64, i16), Error> {
    let connection = cluster.any_connection().await?;
    let request = InitProducerIdRequest::default()
        .with_transactional_id(None)
        .with_transaction_timeout_ms(60_000)
        .with_producer_id((-1).into())
        .with_producer_epoch(-1);
    let response = connection.request(&request, timeout).await?;
    if response.error_code != 0 {
        return Err(Error::kafka(response.error_code, None));
    }
    Ok((response.producer_id.0, response.producer_epoch))
}

async fn send_frame(shared: Arc<Shared>, mut batch: Batch, ticket: u64) {
    let Transport::Frame(transport) = &shared.transport else {
        return;
    };
    // Every return before the request is enqueued passes the turn on too.
    let turn = transport.order.turn(ticket).await;
    let link = match transport.link(&shared.config).await {
        Ok(link) => link,
        Err(e) => {
            shared.counters.error("CONNECTION");
            retry_later(&shared, batch, e.to_string(), true);
            return;
        }
    };
    let BatchBody::Frame { messages, size } = &mut batch.body else {
        return;
    };
    let size = *size;
    let correlation_id = transport
        .next_correlation_id
        .fetch_add(1, Ordering::Relaxed);
    let acks = if shared.config.acks == Acks::None {
        FrameAcks::None
    } else {
        FrameAcks::Recorded
    };
    // The messages are lent to the request for encoding, not copied, and
    // stay with the batch for a retry.
    let request = frame::ProduceRequest {
        correlation_id,
        acks,
        client_id: shared.config.client_id.clone(),
        topic: batch.topic.to_string(),
        partition: (batch.partition != BROKER_CHOOSES).then_some(batch.partition),
        messages: std::mem::take(messages),
    };
    // 64: the frame header and the fixed fields (27 bytes), with room to spare.
    let mut buf =
        BytesMut::with_capacity(64 + request.client_id.len() + request.topic.len() + size);
    let encoded = request.encode(&mut buf);
    *messages = request.messages;
    if let Err(e) = encoded {
        fail(&shared, batch, &Error::Encode(e));
        return;
    }
    let bytes = buf.len() as u64;
    batch.attempts += 1;
    let counters = &shared.counters;
    Counters::add(&counters.requests, 1);
    Counters::add(&counters.batches_sent, 1);
    Counters::add(&counters.in_flight, 1);
    let result = match acks {
        FrameAcks::None => match link.enqueue_only(vec![buf.freeze()]).await {
            Ok(written) => {
                drop(turn);
                written.await.map(|()| None)
            }
            Err(e) => Err(e),
        },
        FrameAcks::Recorded => tokio::time::timeout(shared.config.request_timeout, async {
            let response = link.enqueue(correlation_id, vec![buf.freeze()]).await;
            drop(turn);
            response?.await
        })
        .await
        .unwrap_or_else(|_| {
            Err(Error::Timeout {
                address: transport.address.clone(),
                timeout: shared.config.request_timeout,
            })
        })
        .map(Some),
    };
    counters.in_flight.fetch_sub(1, Ordering::Relaxed);
    match result {
        Ok(None) => complete(&shared, batch, -1, bytes),
        Ok(Some(response)) if response.status == Status::Ok => {
            let placements: Vec<(u32, i64)> = response.placements().collect();
            if placements.len() != batch.len() {
                let reason = format!(
                    "response places {} of {} messages",
                    placements.len(),
                    batch.len()
                );
                fail(
                    &shared,
                    batch,
                    &Error::Protocol {
                        address: transport.address.clone(),
                        reason,
                    },
                );
                return;
            }
            let places = placements.into_iter().map(|(p, o)| (Some(p), o)).collect();
            settle(&shared, batch, bytes, Outcome::Placed(places));
        }
        Ok(Some(response)) if response.status.is_retriable() => {
            counters.error(response.status.name());
            let reason = format!("{}: {}", response.status, response.error_message);
            retry_later(&shared, batch, reason, true);
        }
        Ok(Some(response)) => {
            counters.error(response.status.name());
            fail(
                &shared,
                batch,
                &Error::Broker {
                    status: response.status,
                    message: response.error_message,
                },
            );
        }
        Err(e) => {
            counters.error(if matches!(e, Error::Timeout { .. }) {
                "REQUEST_TIMEOUT"
            } else {
                "CONNECTION"
            });
            transport.forget(&link).await;
            retry_later(&shared, batch, e.to_string(), true);
        }
    }
}

/// Acknowledges every record of `batch`, the first at `base_offset` (−1: unknown).
fn complete(shared: &Shared, batch: Batch, base_offset: i64, bytes: u64) {
    let outcome = Outcome::Stored {
        partition: (batch.partition != BROKER_CHOOSES).then_some(batch.partition),
        base_offset: (base_offset >= 0 && shared.config.acks != Acks::None).then_some(base_offset),
    };
    settle(shared, batch, bytes, outcome);
}

/// Settles a batch the broker stored, and gives back its buffer and its partition's turn.
fn settle(shared: &Shared, batch: Batch, bytes: u64, outcome: Outcome) {
    if let (Some(idempotence), Some((_, epoch, base))) = (&shared.idempotence, batch.sequence) {
        let mut state = idempotence.lock().expect("idempotence lock");
        if state.epoch == epoch {
            state.acknowledged.insert(
                (batch.topic.clone(), batch.partition),
                base.wrapping_add(batch.len() as i32) & i32::MAX,
            );
        }
    }
    let counters = &shared.counters;
    Counters::add(&counters.records_sent, batch.len() as u64);
    Counters::add(&counters.bytes_sent, bytes);
    let (topic, partition, bytes) = (batch.topic, batch.partition, batch.bytes);
    batch.fate.settle(outcome);
    shared.buffer.add_permits(bytes);
    shared.acc().finished(&topic, partition);
    shared.wake.notify_one();
}

/// Fails every record of a batch that is waiting in the accumulator (not in flight).
fn fail_waiting(shared: &Shared, batch: Batch, error: &Error) {
    tracing::debug!(topic = %batch.topic, partition = batch.partition, records = batch.len(), %error, "batch failed");
    let bytes = batch.bytes;
    batch.fail(error);
    shared.buffer.add_permits(bytes);
    shared.wake.notify_one();
}

/// Puts a batch back for another try after the backoff, or fails it when out of time or retries.
///
/// `counts` says whether this is a retry of a failed send (it counts against
/// `retries` and is logged) rather than a batch that could not be sent yet.
fn retry_later(shared: &Arc<Shared>, mut batch: Batch, reason: String, counts: bool) {
    let now = Instant::now();
    let out_of_time = now >= batch.deadline;
    if out_of_time || (counts && batch.attempts > shared.config.retries) {
        let last = if out_of_time {
            reason
        } else {
            format!(
                "retries exhausted after {} attempts: {reason}",
                batch.attempts
            )
        };
        let epoch = batch.sequence.map(|s| s.1);
        fail(
            shared,
            batch,
            &Error::DeliveryTimeout {
                timeout: shared.config.delivery_timeout,
                last: Some(last),
            },
        );
        if epoch.is_some() {
            sequence_gap(shared, epoch);
        }
        return;
    }
    if counts {
        Counters::add(&shared.counters.retries, 1);
        tracing::debug!(topic = %batch.topic, partition = batch.partition, attempt = batch.attempts, sequence = ?batch.sequence, records = batch.len(), %reason, "retrying batch");
    }
    let delay = shared
        .backoff
        .lock()
        .expect("backoff lock")
        .delay_for_attempt(batch.attempts.max(1));
    let delay = delay.min(batch.deadline.saturating_duration_since(now));
    batch.last_error = Some(reason);
    shared.acc().retry(batch, now + delay);
    shared.wake.notify_one();
}

/// Fails every record of a batch that was drained (and so counts as in flight).
fn fail(shared: &Shared, batch: Batch, error: &Error) {
    tracing::debug!(topic = %batch.topic, partition = batch.partition, records = batch.len(), %error, "batch failed");
    let (topic, partition, bytes) = (batch.topic.clone(), batch.partition, batch.bytes);
    batch.fail(error);
    shared.buffer.add_permits(bytes);
    shared.acc().finished(&topic, partition);
    shared.wake.notify_one();
}

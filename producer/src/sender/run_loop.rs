//! The sender's run loop: it drains the accumulator, fails batches whose
//! delivery timeout passed, and dispatches ready batches: one task per
//! frame batch, one task per Kafka request (a request carries at most one
//! batch per partition, all led by one broker).

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use kafka_protocol::ResponseError;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::epoch_bump::sequence_gap;
use super::frame_send::send_frame;
use super::kafka_send::send_kafka;
use super::metadata::spawn_refresh;
use super::settlement::{fail_waiting, retry_later};
use super::shared::Shared;
use super::transport::Transport;
use crate::batch::Batch;
use crate::error::Error;

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
            let last = batch.last_error.clone().map(Box::new);
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
            _ = shared.tasks.stopped() => break,
            _ = shared.wake.notified() => {}
            _ = tokio::time::sleep_until(wait_until) => {}
            Some(_) = requests.join_next(), if !requests.is_empty() => {}
        }
    }
    requests.abort_all();
    // The run loop ends once its requests have: `close` waits for it.
    while requests.join_next().await.is_some() {}
}

/// Sends each ready batch: a task per frame batch, or per Kafka request to
/// a partition's leader; batches without a known leader wait for metadata.
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
                    Some(node) if let Some(until) = shared.throttled_until(node) => {
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
                        let reason = Error::kafka(
                            ResponseError::LeaderNotAvailable.code(),
                            Some(format!(
                                "no leader known for {} partition {}",
                                batch.topic, batch.partition
                            )),
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

/// Gives a batch of an idempotent producer its sequence, unless it kept one
/// from an earlier try (it must be resent as it was).
fn assign_sequence(shared: &Shared, batch: &mut Batch) {
    let Some(idempotence) = &shared.idempotence else {
        return;
    };
    if batch.sequence.is_some() {
        return;
    }
    let mut state = idempotence.lock().expect("idempotence lock");
    batch.sequence = Some(state.assign(&batch.topic, batch.partition, batch.len()));
}

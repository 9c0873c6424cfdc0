//! A closed-loop phase (rate 0): each lane's issuer starts a send whenever
//! the lane's window has room. The issuers run on threads of their own, at
//! most one per core, each driving some of the lanes, as in open loop.
//!
//! On a runtime worker an issuer whose sends are always ready never yields
//! to the producer's own tasks; and what it wakes (the producer's sender,
//! the collector) waits in that worker's queue. On a thread of its own it
//! leaves the workers to those tasks, and the phase ran about 5% faster.

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio::runtime::Handle;

use super::error::RunError;
use super::handoff::{CHUNK, Handoff};
use super::lane::{InFlight, Lane, Started, Streams, ready_now};
use super::layout::lay_out;
use crate::recorder::Recorder;
use crate::schedule::TaskPlan;
use crate::stop::until_stopped;

/// Runs a closed-loop phase's plans; returns each lane for the next phase
/// with its measurements, in the order given. Every lane's collector is a
/// task; the issuers run on at most one thread per core. (Open-loop lanes
/// are driven by [`open_loop`](super::open_loop).)
pub(super) async fn run(
    lanes: Vec<Lane>,
    plans: Vec<TaskPlan>,
    start: Instant,
    streams: &Streams,
) -> Result<Vec<(Lane, Recorder)>, RunError> {
    let (groups, collectors) = lay_out(
        lanes,
        plans,
        start,
        streams,
        |position, lane, plan, handoff| {
            (position, issue(lane, plan, start, handoff, streams.clone()))
        },
    );
    let handle = Handle::current();
    let issuers: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let handle = handle.clone();
            tokio::task::spawn_blocking(move || {
                handle.block_on(join_all(
                    group
                        .into_iter()
                        .map(|(position, issuing)| async move { (position, issuing.await) }),
                ))
            })
        })
        .collect();
    let mut issued = Vec::with_capacity(collectors.len());
    for issuer in issuers {
        issued.extend(issuer.await.map_err(RunError::Task)?);
    }
    issued.sort_by_key(|(position, _)| *position);
    let mut measured = Vec::with_capacity(issued.len());
    for ((_, (mut lane, issued)), collector) in issued.into_iter().zip(collectors) {
        // The issuer dropped its handoff, so the collector ends once the
        // sends still in flight have settled.
        let (mut recorder, acked) = collector.await.map_err(RunError::Task)?;
        recorder.merge(&issued);
        lane.acked.union(&acked);
        measured.push((lane, recorder));
    }
    Ok(measured)
}

/// Starts a send whenever the window has room, until the quota, the
/// deadline or a stop request.
///
/// The per-message path takes no wait it does not need: a permit and the
/// producer's `send` are first tried without waiting, and only when one is
/// not ready is it awaited (against the stop request), after handing the
/// sends gathered so far to the collector. Sends are counted (their lag is
/// always zero) a chunk at a time, when they are handed over.
async fn issue(
    mut lane: Lane,
    plan: TaskPlan,
    start: Instant,
    mut handoff: Handoff,
    streams: Streams,
) -> (Lane, Recorder) {
    let stop = &streams.stop;
    let lane_counters = Arc::clone(&lane.counters);
    let deadline = plan.deadline.map(|d| start + d);
    let mut issued = Recorder::new();
    let mut intervals = streams.intervals(start);
    let mut count = 0u64;
    // Sends not yet counted in `issued` and the live counters.
    let mut uncounted = 0u64;
    let count_sent = |uncounted: &mut u64, issued: &mut Recorder| {
        issued.record_sent_n(Duration::ZERO, *uncounted);
        lane_counters.sent_many(*uncounted, Duration::ZERO);
        *uncounted = 0;
    };
    while plan.quota.is_none_or(|quota| count < quota) && !stop.is_requested() {
        let permit = match &lane.window {
            None => None,
            Some(window) => match window.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    handoff.flush();
                    count_sent(&mut uncounted, &mut issued);
                    match until_stopped(window.clone().acquire_owned(), stop).await {
                        Some(permit) => Some(permit.expect("the window is never closed")),
                        None => break,
                    }
                }
            },
        };
        let now = Instant::now();
        if deadline.is_some_and(|deadline| now >= deadline) {
            break;
        }
        let sequence = lane.messages.next_sequence;
        let size = lane.messages.sizes.next_size();
        let mut send = pin!(lane.producer.send(lane.messages.next_record(size, now)));
        let enqueued = match ready_now(send.as_mut()).await {
            Some(enqueued) => enqueued,
            None => {
                handoff.flush();
                count_sent(&mut uncounted, &mut issued);
                match until_stopped(send, stop).await {
                    Some(enqueued) => enqueued,
                    None => break,
                }
            }
        };
        handoff.push(
            InFlight {
                started: Started {
                    sequence,
                    due: now,
                    sent: now,
                    bytes: size as u64,
                },
                enqueued: enqueued.map_err(Box::new),
                permit,
            },
            now,
        );
        intervals.record_sent(now);
        uncounted += 1;
        if uncounted >= CHUNK as u64 {
            count_sent(&mut uncounted, &mut issued);
            // Lets the other lanes on this thread have their turn.
            tokio::task::yield_now().await;
        }
        count += 1;
    }
    count_sent(&mut uncounted, &mut issued);
    drop(handoff);
    intervals.finish();
    (lane, issued)
}

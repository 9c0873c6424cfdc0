//! A closed-loop phase (rate 0): each lane's issuer is a task that starts a
//! send whenever the lane's window has room.

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::collector::collect;
use super::error::RunError;
use super::handoff::{CHUNK, Handoff};
use super::lane::{InFlight, Lane, Started, Streams, ready_now};
use crate::recorder::Recorder;
use crate::schedule::TaskPlan;
use crate::stop::until_stopped;

/// Runs a closed-loop phase's plan; returns the lane for the next phase
/// and its measurements. (Open-loop lanes are driven by
/// [`open_loop`](super::open_loop).)
pub(super) async fn run(
    lane: Lane,
    plan: TaskPlan,
    start: Instant,
    streams: Streams,
) -> Result<(Lane, Recorder), RunError> {
    let counters = Arc::clone(&lane.counters);
    let (in_flight, received) = mpsc::unbounded_channel();
    let issuer = tokio::spawn(issue(
        lane,
        plan,
        start,
        Handoff::new(in_flight),
        streams.clone(),
    ));
    let (mut recorder, acked) = collect(received, start, &streams, &counters).await;
    let (mut lane, issued) = issuer.await.map_err(RunError::Task)?;
    recorder.merge(&issued);
    lane.acked.union(&acked);
    Ok((lane, recorder))
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
        let mut send = pin!(lane.producer.send(lane.messages.next_record(size)));
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
        handoff.push(InFlight {
            started: Started {
                sequence,
                due: now,
                sent: now,
                bytes: size as u64,
            },
            enqueued,
            permit,
        });
        intervals.record_sent(now);
        uncounted += 1;
        if uncounted >= CHUNK as u64 {
            count_sent(&mut uncounted, &mut issued);
        }
        count += 1;
    }
    count_sent(&mut uncounted, &mut issued);
    drop(handoff);
    intervals.finish();
    (lane, issued)
}

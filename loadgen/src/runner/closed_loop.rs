//! A closed-loop phase (rate 0): each lane's issuer is a task that starts a
//! send whenever the lane's window has room.

use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::collector::collect;
use super::error::RunError;
use super::handoff::Handoff;
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
/// sends gathered so far to the collector.
async fn issue(
    mut lane: Lane,
    plan: TaskPlan,
    start: Instant,
    mut handoff: Handoff,
    streams: Streams,
) -> (Lane, Recorder) {
    let stop = &streams.stop;
    let deadline = plan.deadline.map(|d| start + d);
    let mut issued = Recorder::new();
    let mut intervals = streams.intervals(start);
    let mut count = 0u64;
    while plan.quota.is_none_or(|quota| count < quota) && !stop.is_requested() {
        let permit = match &lane.window {
            None => None,
            Some(window) => match window.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    handoff.flush();
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
        let (sequence, record) = lane.next_record();
        let bytes = record.value.len() as u64;
        let mut send = pin!(lane.producer.send(record));
        let enqueued = match ready_now(send.as_mut()).await {
            Some(enqueued) => enqueued,
            None => {
                handoff.flush();
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
                bytes,
            },
            enqueued,
            permit,
        });
        issued.record_sent(Duration::ZERO);
        intervals.record_sent(now);
        lane.counters.sent(Duration::ZERO);
        count += 1;
    }
    drop(handoff);
    intervals.finish();
    (lane, issued)
}

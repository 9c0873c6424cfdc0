//! A closed-loop phase (rate 0): each lane's issuer is a task that starts a
//! send whenever the lane's window has room.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::collector::collect;
use super::error::RunError;
use super::lane::{InFlight, Lane, Started, Streams};
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
    let issuer = tokio::spawn(issue(lane, plan, start, in_flight, streams.clone()));
    let (mut recorder, acked) = collect(received, start, &streams, &counters).await;
    let (mut lane, issued) = issuer.await.map_err(RunError::Task)?;
    recorder.merge(&issued);
    lane.acked.union(&acked);
    Ok((lane, recorder))
}

/// Starts a send whenever the window has room, until the quota, the
/// deadline or a stop request.
async fn issue(
    mut lane: Lane,
    plan: TaskPlan,
    start: Instant,
    in_flight: mpsc::UnboundedSender<InFlight>,
    streams: Streams,
) -> (Lane, Recorder) {
    let stop = &streams.stop;
    let deadline = plan.deadline.map(|d| start + d);
    let mut issued = Recorder::new();
    let mut intervals = streams.intervals(start);
    let mut count = 0u64;
    while plan.quota.is_none_or(|quota| count < quota) && !stop.is_requested() {
        let Some(permit) = until_stopped(lane.window.clone().acquire_owned(), stop).await else {
            break;
        };
        let permit = permit.expect("the window is never closed");
        let now = Instant::now();
        if deadline.is_some_and(|deadline| now >= deadline) {
            break;
        }
        let (sequence, record) = lane.next_record();
        let bytes = record.value.len() as u64;
        let Some(enqueued) = until_stopped(lane.producer.send(record), stop).await else {
            break;
        };
        let started = Started {
            sequence,
            due: now,
            sent: now,
            bytes,
        };
        let _ = in_flight.send(InFlight {
            started,
            enqueued,
            permit,
        });
        issued.record_sent(Duration::ZERO);
        intervals.record_sent(now);
        lane.counters.sent(Duration::ZERO);
        count += 1;
    }
    intervals.finish();
    (lane, issued)
}

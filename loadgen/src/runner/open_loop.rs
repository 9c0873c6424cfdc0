//! An open-loop phase (rate above 0): issuer threads, at most one per core,
//! each starting its lanes' messages when they are due, waited for with a
//! [`Pacer`].

use std::pin::pin;
use std::time::{Duration, Instant};

use tokio::runtime::Handle;

use super::error::RunError;
use super::handoff::Handoff;
use super::lane::{InFlight, Lane, Started, Streams, ready_now};
use super::layout::lay_out;
use crate::interval::IntervalRecorder;
use crate::pacer::Pacer;
use crate::recorder::Recorder;
use crate::schedule::{Schedule, TaskPlan};
use crate::stop::{Stop, until_stopped};

/// Above this wait, the issuer sleeps in slices of it to notice a stop request.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// Runs an open-loop phase, laid out as [`lay_out`] does: every lane's
/// collector a task, the lanes issued by at most one thread per core, each
/// interleaving its lanes by due time.
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
            let schedule = plan.schedule.expect("open loop");
            Issuing {
                position,
                due: schedule.due(0),
                schedule,
                quota: plan.quota.unwrap_or(0),
                next: 0,
                intervals: streams.intervals(start),
                issued: Recorder::new(),
                handoff,
                lane,
            }
        },
    );
    let handle = Handle::current();
    let issuers: Vec<_> = groups
        .into_iter()
        .map(|group| {
            let (handle, streams) = (handle.clone(), streams.clone());
            tokio::task::spawn_blocking(move || issue_open_loop(group, start, &handle, &streams))
        })
        .collect();
    let mut issued: Vec<Issued> = Vec::with_capacity(collectors.len());
    for issuer in issuers {
        issued.extend(issuer.await.map_err(RunError::Task)?);
    }
    issued.sort_by_key(|issuing| issuing.position);
    let mut measured = Vec::with_capacity(issued.len());
    for (issuing, collector) in issued.into_iter().zip(collectors) {
        let Issued {
            mut lane,
            issued,
            handoff,
            ..
        } = issuing;
        // The collector ends once the sends still in flight have settled.
        drop(handoff);
        let (mut recorder, acked) = collector.await.map_err(RunError::Task)?;
        recorder.merge(&issued);
        lane.acked.union(&acked);
        measured.push((lane, recorder));
    }
    Ok(measured)
}

/// One lane's part in an open-loop phase, on the issuer thread that drives it.
struct Issuing {
    /// The lane's place among the phase's lanes.
    position: usize,
    schedule: Schedule,
    quota: u64,
    /// The next message's place in the lane's schedule.
    next: u64,
    /// When the next message is due, from the phase start (`schedule.due(next)`).
    due: Duration,
    intervals: IntervalRecorder,
    issued: Recorder,
    handoff: Handoff,
    lane: Lane,
}

/// A lane whose issuer is done with the phase.
struct Issued {
    position: usize,
    lane: Lane,
    issued: Recorder,
    /// Dropped once the issuer is done, so that the collector can end.
    handoff: Handoff,
}

/// Starts each message of `lanes` when it is due (whichever lane's is due
/// first), or at once when behind, until every quota or a stop request. It
/// never skips a message, and hands each lane's records to its producer in
/// sequence order.
fn issue_open_loop(
    mut lanes: Vec<Issuing>,
    start: Instant,
    handle: &Handle,
    streams: &Streams,
) -> Vec<Issued> {
    let stop = &streams.stop;
    let mut pacer = Pacer::new();
    while let Some(position) = lanes
        .iter()
        .enumerate()
        .filter(|(_, issuing)| issuing.next < issuing.quota)
        .min_by_key(|(_, issuing)| issuing.due)
        .map(|(position, _)| position)
    {
        let due = start + lanes[position].due;
        if due > Instant::now() {
            // Every lane's collector learns of its sends before the thread waits.
            for issuing in &mut lanes {
                issuing.handoff.flush();
            }
        }
        let issuing = &mut lanes[position];
        if !wait_unless_stopped(&mut pacer, due, stop) || !issuing.issue(due, handle, stop) {
            break;
        }
        issuing.next += 1;
        issuing.due = issuing.schedule.due(issuing.next);
    }
    lanes
        .into_iter()
        .map(|issuing| {
            issuing.intervals.finish();
            Issued {
                position: issuing.position,
                lane: issuing.lane,
                issued: issuing.issued,
                handoff: issuing.handoff,
            }
        })
        .collect()
}

impl Issuing {
    /// Starts the lane's next send, due at `due`: waits for room in its
    /// window, enqueues the record, and hands its delivery to the collector.
    /// `false` when a stop request came first.
    fn issue(&mut self, due: Instant, handle: &Handle, stop: &Stop) -> bool {
        let lane = &mut self.lane;
        let permit = match &lane.window {
            None => None,
            Some(window) => match window.clone().try_acquire_owned() {
                Ok(permit) => Some(permit),
                Err(_) => {
                    self.handoff.flush();
                    match handle.block_on(until_stopped(window.clone().acquire_owned(), stop)) {
                        Some(permit) => Some(permit.expect("the window is never closed")),
                        None => return false,
                    }
                }
            },
        };
        let sent = Instant::now();
        let sequence = lane.messages.next_sequence;
        let size = lane.messages.sizes.next_size();
        let mut send = pin!(lane.producer.send(lane.messages.next_record(size, sent)));
        let enqueued = match handle.block_on(ready_now(send.as_mut())) {
            Some(enqueued) => enqueued,
            None => {
                self.handoff.flush();
                match handle.block_on(until_stopped(send, stop)) {
                    Some(enqueued) => enqueued,
                    None => return false,
                }
            }
        };
        let started = Started {
            sequence,
            due,
            sent,
            bytes: size as u64,
        };
        self.handoff.push(
            InFlight {
                started,
                enqueued: enqueued.map_err(Box::new),
                permit,
            },
            sent,
        );
        let lag = sent.saturating_duration_since(due);
        self.issued.record_sent(lag);
        self.intervals.record_due(due);
        self.intervals.record_sent(sent);
        lane.counters.sent(lag);
        true
    }
}

/// Waits until `due` with `pacer`, in slices when it is far off so that a
/// stop request is noticed; `false` when one was.
fn wait_unless_stopped(pacer: &mut Pacer, due: Instant, stop: &Stop) -> bool {
    while due.saturating_duration_since(Instant::now()) > STOP_CHECK {
        if stop.is_requested() {
            return false;
        }
        std::thread::sleep(STOP_CHECK / 2);
    }
    pacer.wait_until(due);
    !stop.is_requested()
}

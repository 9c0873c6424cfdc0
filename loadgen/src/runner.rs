//! Runs a scenario: starts its broker, connects its producer instances, drives
//! each phase, and hands back what was measured.
//!
//! Each producer instance is a *lane*: its producer (one connection), its
//! window of `in_flight` sends, and its message sequence. In every phase a lane
//! has an *issuer*, which starts sends on schedule, and a *collector*, which
//! records each send's outcome:
//! - open loop (rate > 0): issuers are blocking threads, at most one per core,
//!   each driving some of the lanes and starting whichever lane's message is
//!   due first; they wait until it is due with a [`Pacer`], because tokio's
//!   timer has 1 ms resolution and would add up to a millisecond of pacing
//!   error to every corrected latency; when an issuer is behind it does not
//!   wait, and it never skips a message;
//! - closed loop (rate 0): the issuer is a task that starts a send whenever
//!   the window has room.
//!
//! The issuer hands each record to the producer itself, in sequence order, so
//! that a lane's messages reach the producer in order and any reordering the
//! audit finds is the producer's or the broker's, not loadgen's; each send's
//! delivery is then awaited by the lane's collector, which polls all of the
//! lane's outstanding deliveries together, up to `in_flight` of them.
//!
//! Besides its phase [`Recorder`], each issuer and collector keeps an
//! [`IntervalRecorder`] of the run's seconds and bumps its lane's [`Live`]
//! counters; a collector task merges the seconds and shows progress. A
//! [`Stop`] request (Ctrl-C) makes issuers start no more sends and skips the
//! remaining phases; after its grace period, sends still in flight are abandoned.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use producer::{DeliveryFuture, Header, Producer, Record};
use tokio::runtime::Handle;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::audit::{Acknowledged, Audit, SequenceSet};
use crate::faults::{self, FaultsError};
use crate::interval::{IntervalEvent, IntervalRecorder, IntervalSink};
use crate::interval_collector;
use crate::live::{LaneCounters, Live};
use crate::message_id::MessageId;
use crate::pacer::Pacer;
use crate::payload::{KeyPicker, ValueBuilder, headers};
use crate::progress::Progress;
use crate::recorder::Recorder;
use crate::run_result::{PhaseResult, RunResult};
use crate::scenario::{Phase, Scenario};
use crate::schedule::{Schedule, TaskPlan};
use crate::stop::{GRACE, Stop};
use crate::target::{Broker, TargetError};
use crate::value_size::SizePicker;

/// Why a run stopped before its end.
///
/// Each message includes its cause; none is repeated as an error source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The broker could not be started or reached.
    #[error(transparent)]
    Target(#[from] TargetError),
    /// A producer instance's task panicked: a bug in loadgen.
    #[error("a producer instance's task failed: {0}")]
    Task(tokio::task::JoinError),
    /// A stop request came before the first phase started.
    #[error("interrupted before the first phase started")]
    Interrupted,
    /// The broker refused a `[[faults]]` rule, or has no admin API to set it through.
    #[error(transparent)]
    Faults(#[from] FaultsError),
}

/// How a run is watched and stopped from outside it.
#[derive(Debug, Default)]
pub struct Controls {
    /// Pulled by the Ctrl-C handler.
    pub stop: Stop,
    /// The live display, if any.
    pub progress: Option<Progress>,
}

/// Runs `scenario` to the end. Send failures are counted, not fatal.
///
/// # Errors
/// [`RunError::Target`] when the broker cannot be started or reached;
/// [`RunError::Task`] on a bug.
pub async fn run(scenario: &Scenario) -> Result<RunResult, RunError> {
    run_with(scenario, Controls::default()).await
}

/// Runs `scenario` to the end, or until `controls.stop` is requested, showing
/// `controls.progress`. Send failures are counted, not fatal.
///
/// # Errors
/// As [`run`], and [`RunError::Interrupted`] when the stop request comes
/// before the first phase started.
pub async fn run_with(scenario: &Scenario, controls: Controls) -> Result<RunResult, RunError> {
    let stop = controls.stop.clone();
    let broker = until_stopped(Broker::start(&scenario.target, &scenario.workload), &stop)
        .await
        .ok_or(RunError::Interrupted)??;
    let outcome = run_against(scenario, &broker, controls).await;
    broker.shutdown().await;
    outcome
}

async fn run_against(
    scenario: &Scenario,
    broker: &Broker,
    controls: Controls,
) -> Result<RunResult, RunError> {
    let Controls { stop, progress } = controls;
    let workload = &scenario.workload;
    let live = Live::new(workload.producers);
    let mut lanes = Vec::new();
    for index in 0..workload.producers {
        let mut config = scenario.producer.clone();
        config.protocol = scenario.target.protocol.producer_protocol();
        config.topic = workload.topic.clone();
        config.client_id = format!("{}-{index}", config.client_id);
        let producer = until_stopped(broker.connect(config), &stop)
            .await
            .ok_or(RunError::Interrupted)??;
        lanes.push(Lane {
            index,
            producer,
            values: ValueBuilder::new(),
            sizes: SizePicker::new(workload.message_size, workload.seed, index),
            keys: KeyPicker::new(workload.keys, workload.seed, index),
            headers: headers(workload.headers),
            window: Arc::new(Semaphore::new(workload.in_flight as usize)),
            next_sequence: 0,
            acked: SequenceSet::new(),
            counters: live.lane(index),
        });
    }
    tracing::info!(broker = %broker, producers = lanes.len(), "connected");
    if stop.is_requested() {
        return Err(RunError::Interrupted);
    }

    // The audit reads only what this run adds to the topic.
    let start_offsets = broker.end_offsets(&workload.topic).await;
    let applied = faults::apply(broker, &scenario.faults).await?;
    let origin = Instant::now();
    let started = SystemTime::now();
    let (sink, events) = IntervalSink::channel();
    let collector = tokio::spawn(interval_collector::collect(
        events,
        origin,
        live,
        scenario.phases.clone(),
        progress,
    ));
    let mut phases = Vec::new();
    for (index, phase) in scenario.phases.iter().enumerate() {
        if stop.is_requested() {
            break;
        }
        sink.send(IntervalEvent::PhaseStarted { index });
        let run = PhaseRun {
            origin,
            sink: &sink,
            stop: &stop,
        };
        let (result, returned) = run_phase(phase, lanes, run).await?;
        lanes = returned;
        phases.push(result);
    }
    let seconds = origin.elapsed().as_secs_f64().ceil() as u64;
    drop(sink);
    let interrupted = stop.is_requested();
    for lane in &lanes {
        let close = lane.producer.close();
        // After a stop request, closing (which flushes) is not waited for past the grace period.
        tokio::select! {
            biased;
            () = close => {}
            () = stop.abandoned() => {}
        }
    }
    let faults = faults::finish(broker, applied).await;
    let mut producer = producer::Metrics::default();
    for lane in &lanes {
        producer.add(&lane.producer.metrics());
    }
    let acknowledged = Acknowledged {
        acked: lanes.iter().map(|lane| lane.acked.clone()).collect(),
        sent: lanes.iter().map(|lane| lane.next_sequence).collect(),
    };
    let audit = broker.audit(&workload.topic, &acknowledged, &start_offsets);
    let audit: Audit = if interrupted {
        tokio::time::timeout(GRACE, audit)
            .await
            .unwrap_or_else(|_| {
                Audit::Unavailable(format!(
                    "interrupted, and the audit did not finish within {GRACE:?}"
                ))
            })
    } else {
        audit.await
    };
    let intervals = collector
        .await
        .map_err(RunError::Task)?
        .into_intervals(seconds);
    Ok(RunResult {
        broker: broker.to_string(),
        phases,
        audit,
        started,
        intervals,
        interrupted,
        faults,
        producer,
    })
}

/// Awaits `future` unless `stop` is requested first (then `None`).
async fn until_stopped<T>(future: impl Future<Output = T>, stop: &Stop) -> Option<T> {
    tokio::select! {
        biased;
        value = future => Some(value),
        () = stop.requested() => None,
    }
}

/// What every phase of a run shares.
#[derive(Debug, Clone, Copy)]
struct PhaseRun<'a> {
    /// The run's start, from which seconds are counted.
    origin: Instant,
    sink: &'a IntervalSink,
    stop: &'a Stop,
}

async fn run_phase(
    phase: &Phase,
    lanes: Vec<Lane>,
    run: PhaseRun<'_>,
) -> Result<(PhaseResult, Vec<Lane>), RunError> {
    tracing::info!(
        phase = %phase.name,
        length = %phase.length,
        rate = %phase.rate,
        recorded = phase.record,
        "phase started"
    );
    let tasks = u32::try_from(lanes.len()).expect("the lane count came from a u32");
    let start = Instant::now();
    let streams = Streams {
        origin: run.origin,
        sink: run.sink.clone(),
        stop: run.stop.clone(),
    };
    let plans: Vec<TaskPlan> = lanes
        .iter()
        .map(|lane| TaskPlan::new(phase.length, phase.rate, tasks, lane.index))
        .collect();
    let measured = if plans.iter().all(|plan| plan.schedule.is_some()) {
        open_loop(lanes, plans, start, &streams).await?
    } else {
        let running: Vec<_> = lanes
            .into_iter()
            .zip(plans)
            .map(|(lane, plan)| tokio::spawn(lane.run_closed_loop(plan, start, streams.clone())))
            .collect();
        let mut measured = Vec::with_capacity(running.len());
        for task in running {
            measured.push(task.await.map_err(RunError::Task)??);
        }
        measured
    };
    let mut recorder = Recorder::new();
    let mut lanes = Vec::with_capacity(measured.len());
    for (lane, lane_measured) in measured {
        recorder.merge(&lane_measured);
        lanes.push(lane);
    }
    let elapsed = start.elapsed();
    tracing::info!(
        phase = %phase.name,
        acked = recorder.acked(),
        errors = recorder.error_count(),
        elapsed = ?elapsed,
        "phase finished"
    );
    let result = PhaseResult {
        name: phase.name.clone(),
        record: phase.record,
        rate: phase.rate,
        elapsed,
        recorder,
        interrupted: run.stop.is_requested(),
    };
    Ok((result, lanes))
}

/// What a lane's issuer and collector need besides the lane: where their
/// seconds go and the stop switch.
#[derive(Debug, Clone)]
struct Streams {
    origin: Instant,
    sink: IntervalSink,
    stop: Stop,
}

impl Streams {
    fn intervals(&self, phase_start: Instant) -> IntervalRecorder {
        IntervalRecorder::new(self.origin, phase_start, self.sink.clone())
    }
}

/// Above this wait, the issuer sleeps in slices of it to notice a stop request.
const STOP_CHECK: Duration = Duration::from_millis(100);

/// One producer instance and what it keeps between phases.
#[derive(Debug)]
struct Lane {
    index: u32,
    producer: Producer,
    values: ValueBuilder,
    sizes: SizePicker,
    keys: KeyPicker,
    headers: Vec<Header>,
    /// Permits for sends in flight; every permit is back when a phase ends.
    window: Arc<Semaphore>,
    next_sequence: u64,
    /// The sequences acknowledged so far, in every phase, for the audit.
    acked: SequenceSet,
    /// Running totals for the progress display.
    counters: Arc<LaneCounters>,
}

/// The start of one send.
#[derive(Debug, Clone, Copy)]
struct Started {
    sequence: u64,
    due: Instant,
    sent: Instant,
    /// Bytes of the message's value.
    bytes: u64,
}

/// A send handed to its lane's collector, which awaits its delivery.
#[derive(Debug)]
struct InFlight {
    started: Started,
    enqueued: Result<DeliveryFuture, producer::Error>,
    /// The send's place in the lane's window, given back when it settles.
    permit: OwnedSemaphorePermit,
}

impl Lane {
    /// Runs a closed-loop phase's plan; returns the lane for the next phase
    /// and its measurements. (Open-loop lanes are driven by [`open_loop`].)
    async fn run_closed_loop(
        self,
        plan: TaskPlan,
        start: Instant,
        streams: Streams,
    ) -> Result<(Lane, Recorder), RunError> {
        let counters = Arc::clone(&self.counters);
        let (in_flight, received) = mpsc::unbounded_channel();
        let issuer = tokio::spawn(self.closed_loop(plan, start, in_flight, streams.clone()));
        let (mut recorder, acked) = collect(received, start, &streams, &counters).await;
        let (mut lane, issued) = issuer.await.map_err(RunError::Task)?;
        recorder.merge(&issued);
        lane.acked.union(&acked);
        Ok((lane, recorder))
    }

    /// Starts a send whenever the window has room, until the quota, the
    /// deadline or a stop request.
    async fn closed_loop(
        mut self,
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
            let Some(permit) = until_stopped(self.window.clone().acquire_owned(), stop).await
            else {
                break;
            };
            let permit = permit.expect("the window is never closed");
            let now = Instant::now();
            if deadline.is_some_and(|deadline| now >= deadline) {
                break;
            }
            let (sequence, record) = self.next_record();
            let bytes = record.value.len() as u64;
            let Some(enqueued) = until_stopped(self.producer.send(record), stop).await else {
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
            self.counters.sent(Duration::ZERO);
            count += 1;
        }
        intervals.finish();
        (self, issued)
    }

    /// The lane's next message: its sequence and its record.
    fn next_record(&mut self) -> (u64, Record) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let id = MessageId {
            producer: self.index,
            sequence,
        };
        let size = self.sizes.next_size();
        let mut record = Record::new(self.values.value(id, size));
        if let Some(key) = self.keys.key(sequence) {
            record = record.with_key(key);
        }
        record.headers.clone_from(&self.headers);
        (sequence, record)
    }
}

/// A send whose delivery has settled.
struct Settled {
    started: Started,
    result: Result<(), producer::Error>,
    permit: OwnedSemaphorePermit,
}

/// Awaits the delivery of each of a lane's sends and records its outcome,
/// until the issuer is done and every send has settled or, after a stop
/// request's grace period, is abandoned. Returns the measurements and the
/// sequences acknowledged.
///
/// The deliveries are awaited together here rather than by a task each: the
/// records of a batch settle at once, and one task polling them all costs
/// far less than waking a task per record, which at a million records a
/// second crowded the runtime's queues and slowed the broker sharing them.
async fn collect(
    mut received: mpsc::UnboundedReceiver<InFlight>,
    start: Instant,
    streams: &Streams,
    counters: &LaneCounters,
) -> (Recorder, SequenceSet) {
    let mut recorder = Recorder::new();
    let mut intervals = streams.intervals(start);
    let mut acked = SequenceSet::new();
    let mut deliveries = FuturesUnordered::new();
    let mut issuing = true;
    let abandoned = streams.stop.abandoned();
    tokio::pin!(abandoned);
    while issuing || !deliveries.is_empty() {
        tokio::select! {
            biased;
            Some(settled) = deliveries.next(), if !deliveries.is_empty() => {
                let Settled { started, result, permit } = settled;
                let done = Instant::now();
                drop(permit);
                match result {
                    Ok(()) => {
                        acked.insert(started.sequence);
                        let since_due = done.saturating_duration_since(started.due);
                        let since_sent = done.saturating_duration_since(started.sent);
                        recorder.record_ack(since_due, since_sent, started.bytes);
                        intervals.record_ack(done, since_due, since_sent, started.bytes);
                        counters.acked();
                    }
                    Err(e) => {
                        recorder.record_error(&e);
                        intervals.record_error(done);
                        counters.failed();
                    }
                }
            }
            sent = received.recv(), if issuing => match sent {
                Some(InFlight { started, enqueued, permit }) => deliveries.push(async move {
                    // Settles when the broker has acknowledged the record.
                    let result = match enqueued {
                        Ok(delivery) => delivery.await.map(drop),
                        Err(e) => Err(e),
                    };
                    Settled { started, result, permit }
                }),
                None => issuing = false,
            },
            () = &mut abandoned => break,
        }
    }
    intervals.finish();
    (recorder, acked)
}

/// Runs an open-loop phase: every lane's collector is a task, and the lanes
/// are issued by at most one thread per core, each interleaving its lanes by
/// due time. A thread per lane would be simpler, but with more lanes than
/// cores its issuer threads would compete for the cores with the runtime's
/// workers, which run the collectors and (embedded) the broker.
async fn open_loop(
    lanes: Vec<Lane>,
    plans: Vec<TaskPlan>,
    start: Instant,
    streams: &Streams,
) -> Result<Vec<(Lane, Recorder)>, RunError> {
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, lanes.len().max(1));
    let mut groups: Vec<Vec<Issuing>> = (0..threads).map(|_| Vec::new()).collect();
    let mut collectors = Vec::with_capacity(lanes.len());
    for (position, (lane, plan)) in lanes.into_iter().zip(plans).enumerate() {
        let (in_flight, received) = mpsc::unbounded_channel();
        let counters = Arc::clone(&lane.counters);
        let collector_streams = streams.clone();
        collectors.push(tokio::spawn(async move {
            collect(received, start, &collector_streams, &counters).await
        }));
        let schedule = plan.schedule.expect("open loop");
        groups[position % threads].push(Issuing {
            position,
            due: schedule.due(0),
            schedule,
            quota: plan.quota.unwrap_or(0),
            next: 0,
            intervals: streams.intervals(start),
            issued: Recorder::new(),
            in_flight,
            lane,
        });
    }
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
            in_flight,
            ..
        } = issuing;
        // The collector ends once the sends still in flight have settled.
        drop(in_flight);
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
    in_flight: mpsc::UnboundedSender<InFlight>,
    lane: Lane,
}

/// A lane whose issuer is done with the phase.
struct Issued {
    position: usize,
    lane: Lane,
    issued: Recorder,
    /// Dropped once the issuer is done, so that the collector can end.
    in_flight: mpsc::UnboundedSender<InFlight>,
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
    while let Some(issuing) = lanes
        .iter_mut()
        .filter(|issuing| issuing.next < issuing.quota)
        .min_by_key(|issuing| issuing.due)
    {
        let due = start + issuing.due;
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
                in_flight: issuing.in_flight,
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
        let permit = match lane.window.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => {
                match handle.block_on(until_stopped(lane.window.clone().acquire_owned(), stop)) {
                    Some(permit) => permit.expect("the window is never closed"),
                    None => return false,
                }
            }
        };
        let sent = Instant::now();
        let (sequence, record) = lane.next_record();
        let bytes = record.value.len() as u64;
        let Some(enqueued) = handle.block_on(until_stopped(lane.producer.send(record), stop))
        else {
            return false;
        };
        let started = Started {
            sequence,
            due,
            sent,
            bytes,
        };
        let _ = self.in_flight.send(InFlight {
            started,
            enqueued,
            permit,
        });
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

//! Runs a scenario: starts its broker, connects its producer instances, drives
//! each phase, and hands back what was measured.
//!
//! Each producer instance is a *lane*: its producer (one connection), its
//! window of `in_flight` sends, and its message sequence. In every phase a lane
//! has an *issuer*, which starts sends on schedule, and a *collector*, which
//! records each send's outcome:
//! - open loop (rate > 0): the issuer is a blocking thread that waits until
//!   each message is due with a [`Pacer`], because tokio's timer has 1 ms
//!   resolution and would add up to a millisecond of pacing error to every
//!   corrected latency; when the issuer is behind it does not wait, and it
//!   never skips a message;
//! - closed loop (rate 0): the issuer is a task that starts a send whenever
//!   the window has room.
//!
//! The issuer hands each record to the producer itself, in sequence order, so
//! that a lane's messages reach the producer in order and any reordering the
//! audit finds is the producer's or the broker's, not loadgen's; each send's
//! delivery is then awaited by a task of its own, so up to `in_flight` are
//! outstanding per lane.

use std::sync::Arc;
use std::time::{Duration, Instant};

use producer::{DeliveryFuture, Header, Producer, Record};
use tokio::runtime::Handle;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};

use crate::audit::{Acknowledged, SequenceSet};
use crate::pacer::Pacer;
use crate::payload::{KeyPicker, MessageId, ValueBuilder, headers};
use crate::recorder::Recorder;
use crate::scenario::{Phase, Rate, Scenario};
use crate::schedule::{Schedule, TaskPlan};
use crate::target::{Audit, Broker, TargetError};
use crate::value_size::SizePicker;

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The broker, as shown to the user (`embedded broker at 127.0.0.1:40531`).
    pub broker: String,
    /// Each phase, in order.
    pub phases: Vec<PhaseResult>,
    /// What the broker recorded, checked by message id.
    pub audit: Audit,
}

/// What one phase measured, all producer instances merged.
#[derive(Debug, Clone)]
pub struct PhaseResult {
    /// The phase's name.
    pub name: String,
    /// Whether it counts in the totals.
    pub record: bool,
    /// Its rate, messages per second or a ramp; 0 for closed loop.
    pub rate: Rate,
    /// From its start until the last outcome of its sends.
    pub elapsed: Duration,
    /// Its counters and histograms.
    pub recorder: Recorder,
}

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
}

impl RunResult {
    /// The recorded phases merged, and their summed durations.
    pub fn recorded_total(&self) -> (Recorder, Duration) {
        let mut total = Recorder::new();
        let mut elapsed = Duration::ZERO;
        for phase in self.phases.iter().filter(|p| p.record) {
            total.merge(&phase.recorder);
            elapsed += phase.elapsed;
        }
        (total, elapsed)
    }

    /// Acknowledged sends in every phase, warmups included: what the broker should hold.
    pub fn acked_in_all_phases(&self) -> u64 {
        self.phases.iter().map(|p| p.recorder.acked()).sum()
    }

    /// Failed sends in every phase, warmups included.
    pub fn errors_in_all_phases(&self) -> u64 {
        self.phases.iter().map(|p| p.recorder.error_count()).sum()
    }
}

/// Runs `scenario` to the end. Send failures are counted, not fatal.
///
/// # Errors
/// [`RunError::Target`] when the broker cannot be started or reached;
/// [`RunError::Task`] on a bug.
pub async fn run(scenario: &Scenario) -> Result<RunResult, RunError> {
    let broker = Broker::start(&scenario.target, &scenario.workload).await?;
    let outcome = run_against(scenario, &broker).await;
    broker.shutdown().await;
    outcome
}

async fn run_against(scenario: &Scenario, broker: &Broker) -> Result<RunResult, RunError> {
    let workload = &scenario.workload;
    let mut lanes = Vec::new();
    for index in 0..workload.producers {
        let mut config = scenario.producer.clone();
        config.protocol = scenario.target.protocol.producer_protocol();
        config.topic = workload.topic.clone();
        config.client_id = format!("{}-{index}", config.client_id);
        let producer = broker.connect(config).await?;
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
        });
    }
    tracing::info!(broker = %broker, producers = lanes.len(), "connected");

    let mut phases = Vec::new();
    for phase in &scenario.phases {
        let (result, returned) = run_phase(phase, lanes).await?;
        lanes = returned;
        phases.push(result);
    }
    for lane in &lanes {
        lane.producer.close().await;
    }
    let acknowledged = Acknowledged {
        acked: lanes.iter().map(|lane| lane.acked.clone()).collect(),
        sent: lanes.iter().map(|lane| lane.next_sequence).collect(),
    };
    let audit: Audit = broker.audit(&workload.topic, &acknowledged).await;
    Ok(RunResult {
        broker: broker.to_string(),
        phases,
        audit,
    })
}

async fn run_phase(phase: &Phase, lanes: Vec<Lane>) -> Result<(PhaseResult, Vec<Lane>), RunError> {
    tracing::info!(
        phase = %phase.name,
        length = %phase.length,
        rate = %phase.rate,
        recorded = phase.record,
        "phase started"
    );
    let tasks = u32::try_from(lanes.len()).expect("the lane count came from a u32");
    let start = Instant::now();
    let running: Vec<_> = lanes
        .into_iter()
        .map(|lane| {
            let plan = TaskPlan::new(phase.length, phase.rate, tasks, lane.index);
            tokio::spawn(lane.run(plan, start))
        })
        .collect();
    let mut recorder = Recorder::new();
    let mut lanes = Vec::with_capacity(running.len());
    for task in running {
        let (lane, measured) = task.await.map_err(RunError::Task)??;
        recorder.merge(&measured);
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
    };
    Ok((result, lanes))
}

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

/// The end of one send.
#[derive(Debug)]
struct Outcome {
    started: Started,
    done: Instant,
    result: Result<(), producer::Error>,
}

impl Lane {
    /// Runs one phase's plan; returns the lane for the next phase and its measurements.
    async fn run(self, plan: TaskPlan, start: Instant) -> Result<(Lane, Recorder), RunError> {
        let (outcomes, mut received) = mpsc::unbounded_channel();
        let issuer = match plan.schedule {
            Some(schedule) => {
                let handle = Handle::current();
                let quota = plan.quota.unwrap_or(0);
                tokio::task::spawn_blocking(move || {
                    self.open_loop(schedule, quota, start, &outcomes, &handle)
                })
            }
            None => tokio::spawn(self.closed_loop(plan, start, outcomes)),
        };
        // The channel closes once the issuer and every send it started are done.
        let mut recorder = Recorder::new();
        let mut acked = SequenceSet::new();
        while let Some(outcome) = received.recv().await {
            match outcome.result {
                Ok(()) => {
                    acked.insert(outcome.started.sequence);
                    recorder.record_ack(
                        outcome.done.saturating_duration_since(outcome.started.due),
                        outcome.done.saturating_duration_since(outcome.started.sent),
                        outcome.started.bytes,
                    );
                }
                Err(e) => recorder.record_error(&e),
            }
        }
        let (mut lane, issued) = issuer.await.map_err(RunError::Task)?;
        recorder.merge(&issued);
        lane.acked.union(&acked);
        Ok((lane, recorder))
    }

    /// Starts each message when it is due, or at once when behind.
    fn open_loop(
        mut self,
        schedule: Schedule,
        quota: u64,
        start: Instant,
        outcomes: &mpsc::UnboundedSender<Outcome>,
        handle: &Handle,
    ) -> (Lane, Recorder) {
        let mut issued = Recorder::new();
        let mut pacer = Pacer::new();
        for i in 0..quota {
            let due = start + schedule.due(i);
            pacer.wait_until(due);
            let permit = match self.window.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => handle
                    .block_on(self.window.clone().acquire_owned())
                    .expect("the window is never closed"),
            };
            let sent = Instant::now();
            let (sequence, record) = self.next_record();
            let bytes = record.value.len() as u64;
            let enqueued = handle.block_on(self.producer.send(record));
            let started = Started {
                sequence,
                due,
                sent,
                bytes,
            };
            await_delivery(started, enqueued, permit, outcomes, handle);
            issued.record_sent(sent.saturating_duration_since(due));
        }
        (self, issued)
    }

    /// Starts a send whenever the window has room, until the quota or the deadline.
    async fn closed_loop(
        mut self,
        plan: TaskPlan,
        start: Instant,
        outcomes: mpsc::UnboundedSender<Outcome>,
    ) -> (Lane, Recorder) {
        let handle = Handle::current();
        let deadline = plan.deadline.map(|d| start + d);
        let mut issued = Recorder::new();
        let mut count = 0u64;
        while plan.quota.is_none_or(|quota| count < quota) {
            let permit = self
                .window
                .clone()
                .acquire_owned()
                .await
                .expect("the window is never closed");
            let now = Instant::now();
            if deadline.is_some_and(|deadline| now >= deadline) {
                break;
            }
            let (sequence, record) = self.next_record();
            let bytes = record.value.len() as u64;
            let enqueued = self.producer.send(record).await;
            let started = Started {
                sequence,
                due: now,
                sent: now,
                bytes,
            };
            await_delivery(started, enqueued, permit, &outcomes, &handle);
            issued.record_sent(Duration::ZERO);
            count += 1;
        }
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

/// Awaits the delivery of an enqueued message as its own task, which holds
/// `permit` until the send completes and then reports the outcome.
fn await_delivery(
    started: Started,
    enqueued: Result<DeliveryFuture, producer::Error>,
    permit: OwnedSemaphorePermit,
    outcomes: &mpsc::UnboundedSender<Outcome>,
    handle: &Handle,
) {
    let outcomes = outcomes.clone();
    handle.spawn(async move {
        // The future settles when the broker has acknowledged the record.
        let result = match enqueued {
            Ok(delivery) => delivery.await.map(drop),
            Err(e) => Err(e),
        };
        let done = Instant::now();
        let _ = outcomes.send(Outcome {
            started,
            done,
            result,
        });
        drop(permit);
    });
}

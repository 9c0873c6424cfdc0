//! Runs a scenario: starts its broker, connects its producer instances, drives
//! each phase, and hands back what was measured.
//!
//! Each producer instance is a *lane*: its producer (one connection), its
//! window of sends (the producer's `buffer_memory`, or `in_flight`
//! messages), and its message sequence. In every phase a lane
//! has an *issuer*, which starts sends on schedule, and a *collector*, which
//! records each send's outcome:
//! - open loop (rate > 0): issuers are blocking threads, at most one per core,
//!   each driving some of the lanes and starting whichever lane's message is
//!   due first; they wait until it is due with a
//!   [`Pacer`](crate::pacer::Pacer), because tokio's timer has 1 ms
//!   resolution and would add up to a millisecond of pacing error to every
//!   corrected latency; when an issuer is behind it does not
//!   wait, and it never skips a message;
//! - closed loop (rate 0): the issuer is a task that starts a send whenever
//!   the window has room.
//!
//! The issuer hands each record to the producer itself, in sequence order, so
//! that a lane's messages reach the producer in order and any reordering the
//! audit finds is the producer's or the broker's, not loadgen's. It hands
//! its sends to the lane's collector in chunks (`handoff`), which awaits
//! one delivery per producer batch and reads the rest of the batch at once.
//!
//! Besides its phase [`Recorder`](crate::recorder::Recorder), each issuer and
//! collector keeps an [`IntervalRecorder`](crate::interval::IntervalRecorder)
//! of the run's seconds and bumps its lane's [`Live`] counters; a collector task merges the seconds and shows progress. A
//! [`Stop`] request (Ctrl-C) makes issuers start no more sends and skips the
//! remaining phases; after its grace period, sends still in flight are abandoned.
//! A watch on the live counters abandons the run at once when no send has
//! succeeded for `[target] max_failing` (`progress_watch`): the run then ends
//! with [`RunError::NoProgress`].
//!
//! This module starts the broker, connects the lanes and runs the phases in
//! order; `phase` runs one phase, `open_loop` and `closed_loop` its issuers,
//! `handoff` passes their sends on, `collector` the collectors, over the
//! `lane` each keeps between phases. The
//! [`RunResult`] it returns is defined in [`run_result`](crate::run_result).

mod closed_loop;
mod collector;
mod error;
mod handoff;
mod lane;
mod layout;
mod open_loop;
mod phase;
mod progress_watch;

use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use crate::audit::{Acknowledged, Audit, SequenceSet};
use crate::faults;
use crate::interval::{IntervalEvent, IntervalSink};
use crate::interval_collector;
use crate::live::Live;
use crate::payload::{KeyPicker, ValueBuilder, headers};
use crate::progress::Progress;
use crate::run_result::RunResult;
use crate::scenario::{Scenario, Window};
use crate::stop::{GRACE, Stop, until_stopped};
use crate::target::Broker;
use crate::value_size::SizePicker;
use lane::{Lane, Messages, WallClock};
use phase::{PhaseRun, run_phase};

pub use error::RunError;
pub use progress_watch::Stuck;

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
/// [`RunError::Target`] when the broker cannot be started or reached, or is
/// no broker; [`RunError::NoProgress`] when no send succeeded for `[target]
/// max_failing`; [`RunError::Task`] on a bug.
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
    // A shard runs its group of the producer instances, under their own indices.
    let mine = scenario.shard.producers(workload.producers);
    let live = Live::new(mine.end - mine.start);
    let mut lanes = Vec::new();
    for (local, index) in mine.clone().enumerate() {
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
            messages: Messages {
                producer: index,
                values: ValueBuilder::new(),
                sizes: SizePicker::new(workload.message_size, workload.seed, index),
                keys: KeyPicker::new(workload.keys, workload.seed, index),
                headers: headers(workload.headers),
                next_sequence: 0,
                clock: WallClock::now(),
            },
            window: match workload.in_flight {
                Window::Messages(n) => Some(Arc::new(Semaphore::new(n as usize))),
                Window::BufferMemory => None,
            },
            acked: SequenceSet::new(),
            counters: live.lane(local as u32),
        });
    }
    tracing::info!(broker = %broker, producers = lanes.len(), "connected");
    if stop.is_requested() {
        return Err(RunError::Interrupted);
    }

    // The audit reads only what this run adds to the topic.
    let start_offsets = broker.end_offsets(&workload.topic).await;
    // On long embedded runs the audit counts and trims the log as it grows.
    let live_audit =
        broker.live_audit(&workload.topic, &start_offsets, workload.producers as usize);
    let applied = faults::apply(broker, &scenario.faults).await?;
    // Gives up (abandoning the run through `stop`) when no send succeeds for `max_failing`.
    let watching = CancellationToken::new();
    let watchdog = tokio::spawn(progress_watch::watch(
        live.clone(),
        lanes.iter().map(|lane| lane.producer.clone()).collect(),
        scenario.target.max_failing,
        stop.clone(),
        watching.clone(),
    ));
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
        sink.send(IntervalEvent::PhaseStarted {
            index,
            at: Instant::now(),
        });
        let run = PhaseRun {
            origin,
            sink: &sink,
            stop: &stop,
            tasks: workload.producers,
        };
        let (result, returned) = run_phase(phase, lanes, run).await?;
        lanes = returned;
        phases.push(result);
    }
    let seconds = origin.elapsed().as_secs_f64().ceil() as u64;
    drop(sink);
    watching.cancel();
    let stuck = watchdog.await.map_err(RunError::Task)?;
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
    if let Some(stuck) = stuck {
        // The progress display ends (its last line, its bar cleared) before the reason is printed.
        collector.await.map_err(RunError::Task)?;
        return Err(RunError::NoProgress {
            broker: broker.to_string(),
            limit: scenario.target.max_failing,
            stuck,
        });
    }
    let mut producer = producer::Metrics::default();
    for lane in &lanes {
        producer.add(&lane.producer.metrics());
    }
    // Indexed by producer instance of the whole run: another shard's instances
    // sent nothing here, so their messages count as foreign.
    let mut acknowledged = Acknowledged {
        acked: vec![SequenceSet::new(); workload.producers as usize],
        sent: vec![0; workload.producers as usize],
    };
    for lane in &lanes {
        acknowledged.acked[lane.index as usize] = lane.acked.clone();
        acknowledged.sent[lane.index as usize] = lane.messages.next_sequence;
    }
    let audit = broker.audit(&workload.topic, &acknowledged, &start_offsets, live_audit);
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

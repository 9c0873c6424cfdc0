//! One phase of a run: its lanes' plans, driven open or closed loop, and
//! their measurements merged into a [`PhaseResult`].

use std::time::Instant;

use super::error::RunError;
use super::lane::{Lane, Streams};
use super::{closed_loop, open_loop};
use crate::interval::IntervalSink;
use crate::recorder::Recorder;
use crate::run_result::PhaseResult;
use crate::scenario::Phase;
use crate::schedule::TaskPlan;
use crate::stop::Stop;

/// What every phase of a run shares.
#[derive(Debug, Clone, Copy)]
pub(super) struct PhaseRun<'a> {
    /// The run's start, from which seconds are counted.
    pub(super) origin: Instant,
    pub(super) sink: &'a IntervalSink,
    pub(super) stop: &'a Stop,
    /// Producer instances of the whole run, all shards together: each lane
    /// takes its place among them in every phase's schedule.
    pub(super) tasks: u32,
}

/// Runs `phase` on every lane; returns what it measured and the lanes, for
/// the next phase.
pub(super) async fn run_phase(
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
    let tasks = run.tasks;
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
        open_loop::run(lanes, plans, start, &streams).await?
    } else {
        closed_loop::run(lanes, plans, start, &streams).await?
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

//! The task that gathers every stream's seconds into the run's
//! [`IntervalSeries`] and, once a second, drives the live [`Progress`].
//!
//! It reads the lanes' [`Live`] counters and the seconds they rotate out;
//! it never touches the send path.

use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::MissedTickBehavior;

use crate::interval::{IntervalEvent, second_histogram, second_since};
use crate::interval_series::IntervalSeries;
use crate::live::{Live, LiveTotals};
use crate::progress::{Progress, Snapshot};
use crate::scenario::{Phase, PhaseLength, Rate};

/// Seconds this far behind the clock are closed (compressed); later parts still merge.
const KEEP_OPEN_SECONDS: u64 = 5;
/// How long after a second ends its progress line is printed.
const TICK_DELAY: Duration = Duration::from_millis(100);

/// The phase being run, as the collector follows it.
#[derive(Debug)]
struct CurrentPhase {
    index: usize,
    started: Instant,
    sent_before: u64,
    corrected: Histogram<u64>,
}

/// Gathers `events` until every sender is gone; shows progress if `progress` is set.
pub async fn collect(
    mut events: UnboundedReceiver<IntervalEvent>,
    origin: Instant,
    live: Live,
    phases: Vec<Phase>,
    progress: Option<Progress>,
) -> IntervalSeries {
    let mut series = IntervalSeries::new();
    let second = Duration::from_secs(1);
    // A little after each second ends, so that the lanes have rotated it out.
    let mut tick = tokio::time::interval_at((origin + second + TICK_DELAY).into(), second);
    tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut current: Option<CurrentPhase> = None;
    let mut last = (origin, LiveTotals::default());
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                match &event {
                    IntervalEvent::PhaseStarted { index } => {
                        current = Some(CurrentPhase {
                            index: *index,
                            started: Instant::now(),
                            sent_before: live.totals().sent,
                            corrected: second_histogram(),
                        });
                        if let (Some(progress), Some(phase)) = (&progress, phases.get(*index)) {
                            progress.phase_started(*index, phases.len(), &phase.name);
                        }
                    }
                    IntervalEvent::Latency { corrected, .. } => {
                        if let Some(phase) = &mut current {
                            phase.corrected.add(corrected).expect("second histograms add");
                        }
                    }
                    IntervalEvent::Counts { .. } => {}
                }
                series.add(event);
            }
            _ = tick.tick() => {
                let now = Instant::now();
                let totals = live.totals();
                if let (Some(progress), Some(phase)) = (&progress, &current) {
                    if let Some(plan) = phases.get(phase.index) {
                        progress.tick(&snapshot(plan, phase, origin, now, last, totals));
                    }
                }
                last = (now, totals);
                series.close_before(second_since(origin, now).saturating_sub(KEEP_OPEN_SECONDS));
            }
        }
    }
    if let Some(progress) = &progress {
        progress.finish();
    }
    series
}

fn snapshot(
    plan: &Phase,
    phase: &CurrentPhase,
    origin: Instant,
    now: Instant,
    (then, before): (Instant, LiveTotals),
    totals: LiveTotals,
) -> Snapshot {
    let since = now.saturating_duration_since(then).as_secs_f64();
    let achieved = if since > 0.0 {
        totals.acked.saturating_sub(before.acked) as f64 / since
    } else {
        0.0
    };
    let done = match plan.length {
        PhaseLength::Duration(d) => {
            now.saturating_duration_since(phase.started).as_secs_f64() / d.as_secs_f64()
        }
        PhaseLength::Messages(n) => totals.sent.saturating_sub(phase.sent_before) as f64 / n as f64,
    };
    Snapshot {
        elapsed: now.saturating_duration_since(origin),
        phase: plan.name.clone(),
        rate: match plan.rate {
            Rate::Constant(rate) => rate,
            // A ramp's target where the phase is now.
            Rate::Ramp { from, to } => {
                (from as f64 + (to as f64 - from as f64) * done.clamp(0.0, 1.0)).round() as u64
            }
        },
        achieved,
        p99_micros: (!phase.corrected.is_empty()).then(|| phase.corrected.value_at_quantile(0.99)),
        errors: totals.errors,
        lag_micros: totals.lag_micros,
        done,
    }
}

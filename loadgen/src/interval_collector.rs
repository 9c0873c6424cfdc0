//! The task that gathers every stream's seconds into the run's
//! [`IntervalSeries`] and, once a second, drives the live [`Progress`].
//!
//! It reads the lanes' [`Live`] counters and the seconds they rotate out;
//! it never touches the send path.

use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedReceiver;
use tokio::time::MissedTickBehavior;

use crate::interval::{IntervalEvent, second_since};
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
}

/// Gathers `events` until every sender is gone; shows progress if `progress` is set.
///
/// A progress line is printed a little after each second of the run ends,
/// labelled with the phases that ran in that second, with the p99 of the
/// acknowledgements of that second merged by then; and a last one when the
/// run ends, for the partial second since the previous line.
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
    // When each phase started, in order, from the run's start.
    let mut starts: Vec<(usize, Duration)> = Vec::new();
    let width = phase_width(&phases);
    // The time the next line covers starts here (from the run's start).
    let mut covered_to = Duration::ZERO;
    let mut last = (origin, LiveTotals::default());
    loop {
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                match &event {
                    IntervalEvent::PhaseStarted { index, at } => {
                        current = Some(CurrentPhase {
                            index: *index,
                            started: *at,
                            sent_before: live.totals().sent,
                        });
                        starts.push((*index, at.saturating_duration_since(origin)));
                        if let (Some(progress), Some(phase)) = (&progress, phases.get(*index)) {
                            progress.phase_started(*index, phases.len(), &phase.name);
                        }
                    }
                    IntervalEvent::Latency { .. } | IntervalEvent::Counts { .. } => {}
                }
                series.add(event);
            }
            _ = tick.tick() => {
                let now = Instant::now();
                let totals = live.totals();
                // The whole seconds that ended since the previous line.
                let to = Duration::from_secs(now.saturating_duration_since(origin).as_secs());
                if let (Some(progress), Some(phase)) = (&progress, &current) {
                    let line = Line { from: covered_to, to, width };
                    let seen = Seen { plans: &phases, starts: &starts, series: &series };
                    progress.tick(&snapshot(seen, phase, line, now, last, totals));
                }
                covered_to = to;
                last = (now, totals);
                series.close_before(second_since(origin, now).saturating_sub(KEEP_OPEN_SECONDS));
            }
        }
    }
    if let Some(progress) = &progress {
        // The last, partial second (or more, when the run ended just before a tick).
        let now = Instant::now();
        let to = now.saturating_duration_since(origin);
        if let Some(phase) = current.as_ref().filter(|_| to > covered_to) {
            let line = Line {
                from: covered_to,
                to,
                width,
            };
            let seen = Seen {
                plans: &phases,
                starts: &starts,
                series: &series,
            };
            progress.tick(&snapshot(seen, phase, line, now, last, live.totals()));
        }
        progress.finish();
    }
    series
}

/// The time one progress line covers, from the run's start, and the phase column's width.
#[derive(Debug, Clone, Copy)]
struct Line {
    from: Duration,
    to: Duration,
    width: usize,
}

/// The widest label a line can have: a phase's name, or two adjacent ones joined.
fn phase_width(phases: &[Phase]) -> usize {
    let single = phases.iter().map(|p| p.name.chars().count());
    let joined = phases
        .windows(2)
        .map(|w| w[0].name.chars().count() + 1 + w[1].name.chars().count());
    single.chain(joined).max().unwrap_or(0)
}

/// The phases (by index) that ran in `[from, to)`, given when each started
/// (a phase runs from its start to the next one's): those that ran a tenth
/// of that time or more, so that the milliseconds between a phase's end and
/// a second's do not count; else the one that ran longest.
fn phases_in(starts: &[(usize, Duration)], from: Duration, to: Duration) -> Vec<usize> {
    let overlaps: Vec<(usize, Duration)> = starts
        .iter()
        .enumerate()
        .map(|(i, &(index, start))| {
            let end = starts.get(i + 1).map_or(Duration::MAX, |&(_, next)| next);
            (index, end.min(to).saturating_sub(start.max(from)))
        })
        .filter(|&(_, overlap)| !overlap.is_zero())
        .collect();
    let enough = (to.saturating_sub(from)) / 10;
    let mut ran: Vec<usize> = overlaps
        .iter()
        .filter(|&&(_, overlap)| overlap >= enough)
        .map(|&(index, _)| index)
        .collect();
    if ran.is_empty() {
        ran.extend(overlaps.iter().max_by_key(|&&(_, o)| o).map(|&(i, _)| i));
    }
    ran
}

/// What the collector knows of the run so far, for a progress line.
#[derive(Debug, Clone, Copy)]
struct Seen<'a> {
    /// The scenario's phases.
    plans: &'a [Phase],
    /// When each phase that began started, from the run's start.
    starts: &'a [(usize, Duration)],
    /// The seconds merged so far.
    series: &'a IntervalSeries,
}

fn snapshot(
    Seen {
        plans,
        starts,
        series,
    }: Seen<'_>,
    phase: &CurrentPhase,
    line: Line,
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
    let current = &plans[phase.index];
    let done = match current.length {
        PhaseLength::Duration(d) => {
            now.saturating_duration_since(phase.started).as_secs_f64() / d.as_secs_f64()
        }
        PhaseLength::Messages(n) => totals.sent.saturating_sub(phase.sent_before) as f64 / n as f64,
    };
    let mut ran = phases_in(starts, line.from, line.to);
    if ran.is_empty() {
        ran.push(phase.index);
    }
    let names: Vec<&str> = ran
        .iter()
        .filter_map(|&i| plans.get(i).map(|p| p.name.as_str()))
        .collect();
    let latest = ran.last().and_then(|&i| plans.get(i)).unwrap_or(current);
    Snapshot {
        elapsed: line.to,
        phase: names.join("+"),
        phase_width: line.width,
        rate: match latest.rate {
            Rate::Constant(rate) => rate,
            // A ramp's target where the phase is now.
            Rate::Ramp { from, to } => {
                (from as f64 + (to as f64 - from as f64) * done.clamp(0.0, 1.0)).round() as u64
            }
        },
        achieved,
        // The seconds the line covers, the last, partial one included.
        p99_micros: series.corrected_quantile(
            line.from.as_secs()..line.to.as_secs_f64().ceil() as u64,
            0.99,
        ),
        errors: totals.errors,
        lag_micros: totals.lag_micros,
        done,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    #[test]
    fn a_second_is_labelled_with_the_phases_that_ran_in_it() {
        let ms = Duration::from_millis;
        // A warmup of 0.5 s, then a main phase from 0.5 s; a third from 3 s.
        let starts = [(0, ms(0)), (1, ms(500)), (2, ms(3000))];
        assert_eq!(phases_in(&starts, ms(0), ms(1000)), [0, 1]);
        assert_eq!(phases_in(&starts, ms(1000), ms(2000)), [1]);
        assert_eq!(
            phases_in(&starts, ms(2000), ms(3000)),
            [1],
            "2 ends where 3 starts"
        );
        assert_eq!(
            phases_in(&starts, ms(3000), ms(3400)),
            [2],
            "the last partial second"
        );
        assert_eq!(phases_in(&starts[..1], ms(0), ms(1000)), [0]);
        let late = [(0, ms(0)), (1, ms(1009))];
        assert_eq!(
            phases_in(&late, ms(1000), ms(2000)),
            [1],
            "9 ms of the warmup do not make it warmup+steady"
        );
        assert_eq!(
            phases_in(&late, ms(1000), ms(1005)),
            [0],
            "the one that ran longest"
        );
        assert!(phases_in(&[], ms(0), ms(1000)).is_empty());
    }

    #[test]
    fn the_phase_column_fits_two_adjacent_names() {
        let mut scenario = Scenario::command_line_default();
        let phase = scenario.phases[0].clone();
        scenario.phases = ["warmup", "steady", "x"]
            .into_iter()
            .map(|name| Phase {
                name: name.into(),
                ..phase.clone()
            })
            .collect();
        assert_eq!(phase_width(&scenario.phases), "warmup+steady".len());
        assert_eq!(phase_width(&scenario.phases[2..]), 1);
    }
}

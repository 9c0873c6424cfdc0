//! What a run measured: the [`RunResult`] the [`runner`](crate::runner)
//! fills in and the reports and threshold verdicts read.
//!
//! Plain data and the sums the readers share; nothing here runs or prints.

use std::time::{Duration, SystemTime};

use mock_broker::fault::FaultSpec;
use serde::Serialize;

use crate::audit::Audit;
use crate::interval_series::Interval;
use crate::recorder::Recorder;
use crate::scenario::Rate;

/// Everything a run measured.
#[derive(Debug, Clone)]
pub struct RunResult {
    /// The broker, as shown to the user (`embedded broker at 127.0.0.1:40531`).
    pub broker: String,
    /// Each phase, in order.
    pub phases: Vec<PhaseResult>,
    /// What the broker recorded, checked by message id.
    pub audit: Audit,
    /// When the first phase started, by the wall clock.
    pub started: SystemTime,
    /// Each second from the first phase's start to the end of the last, every
    /// producer instance merged.
    pub intervals: Vec<Interval>,
    /// Whether a stop request (Ctrl-C) cut the run short: the last phase is
    /// the one it interrupted, and later phases did not run.
    pub interrupted: bool,
    /// The scenario's `[[faults]]`, with how often each fired.
    pub faults: Vec<FaultOutcome>,
    /// The producer instances' counters over the whole run, warmup included,
    /// added up: requests, batches, records per request, retries, errors.
    pub producer: producer::Metrics,
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
    /// Whether a stop request came while it ran, so it may not have sent all its messages.
    pub interrupted: bool,
}

/// One rule after the run: its keys and how often it fired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaultOutcome {
    /// The rule as the scenario gave it (durations scaled).
    #[serde(flatten)]
    pub spec: FaultSpec,
    /// How often it fired during the run; `None` when it could not be read back.
    pub fired: Option<u64>,
    /// `pending`, `active` or `expired` when the run ended, as the broker says.
    pub state: Option<String>,
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

    /// Each phase's start and end in seconds since the run's start. Phases run
    /// back to back, each from the end of the one before (the runner starts
    /// the next as soon as the last send of the previous has settled), so
    /// these are the sums of the phases' durations.
    pub fn phase_spans(&self) -> Vec<(f64, f64)> {
        let mut start = 0.0;
        self.phases
            .iter()
            .map(|p| {
                let span = (start, start + p.elapsed.as_secs_f64());
                start = span.1;
                span
            })
            .collect()
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

//! Live progress on stderr while a run goes: a progress bar for the current
//! phase (on a terminal) and a line per second, the last partial one
//! included, labelled with the phase that second belongs to, in aligned
//! columns: the achieved and target rates, that second's p99, the errors and,
//! when behind, the schedule lag.
//!
//! [`progress_line`] is the pure formatting; [`Progress`] only prints.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::format::millis;

/// When to show progress (`--progress`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// Bar and lines when stderr is a terminal; nothing otherwise.
    #[default]
    Auto,
    /// Bar and lines on a terminal; plain lines otherwise (for CI logs).
    Always,
    /// Nothing.
    Never,
}

/// Schedule lag below this is pacing noise, not "behind".
const BEHIND_MICROS: u64 = 1000;

/// What one per-second line shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// Since the run started, at the end of the time the line covers: whole
    /// seconds, then the run's real end for the last, partial second.
    pub elapsed: Duration,
    /// The phase the covered time belongs to, or the phases joined with `+`
    /// when one ended in it (`warmup+steady`).
    pub phase: String,
    /// The width the phase column is padded to, so that the lines align.
    pub phase_width: usize,
    /// The target rate in msgs/s of the latest of those phases; 0 for closed loop.
    pub rate: u64,
    /// Acknowledgements per second since the previous line.
    pub achieved: f64,
    /// The corrected p99 of the acknowledgements in the time the line covers
    /// (as far as the lanes have handed them over), in µs.
    pub p99_micros: Option<u64>,
    /// Failed sends since the run started.
    pub errors: u64,
    /// How late the latest send of the furthest-behind instance started, in µs.
    pub lag_micros: u64,
    /// How much of the current phase is done, from 0 to 1.
    pub done: f64,
}

/// The per-second line, in aligned columns:
/// `[  12.00s] steady     4998 msgs/s of 5000      p99     6.055 ms  errors 0`,
/// with `  behind 120.000 ms` when the schedule lag is 1 ms or more.
pub fn progress_line(s: &Snapshot) -> String {
    let target = if s.rate > 0 {
        format!("of {}", s.rate)
    } else {
        "closed loop".to_string()
    };
    let p99 = s.p99_micros.map_or_else(|| "-".to_string(), millis);
    let mut line = format!(
        "[{:>7.2}s] {:<width$}  {:>7.0} msgs/s {target:<11}  p99 {p99:>9} ms  errors {}",
        s.elapsed.as_secs_f64(),
        s.phase,
        s.achieved,
        s.errors,
        width = s.phase_width,
    );
    if s.lag_micros >= BEHIND_MICROS {
        line.push_str(&format!("  behind {} ms", millis(s.lag_micros)));
    }
    line
}

/// Where the progress bar lives once shown, so that log lines can be
/// printed without tearing it (see [`BarSlot::suspend`]).
#[derive(Debug, Clone, Default)]
pub struct BarSlot(Arc<OnceLock<ProgressBar>>);

impl BarSlot {
    /// An empty slot.
    pub fn new() -> Self {
        BarSlot::default()
    }

    /// Runs `f` with the bar (if any) cleared from the screen, then redraws it.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match self.0.get() {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }
}

/// Stderr for log lines: each is written with the progress bar (if any)
/// cleared, so that logs and bar do not tear each other. For
/// `tracing_subscriber`'s `with_writer`.
#[derive(Debug, Clone)]
pub struct LogWriter(pub BarSlot);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // The fmt layer writes each event whole, so an event is never split around a redraw.
        self.0
            .suspend(|| std::io::stderr().write_all(buf))
            .map(|()| buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// The bar's resolution: a phase is this many steps.
const BAR_STEPS: u64 = 1000;

/// Prints progress to stderr: through the bar on a terminal, else as plain lines.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    /// The display `mode` asks for, given whether stderr is a terminal; `None` for nothing.
    /// The bar, when there is one, is put in `slot`.
    pub fn new(mode: ProgressMode, stderr_is_terminal: bool, slot: &BarSlot) -> Option<Progress> {
        match (mode, stderr_is_terminal) {
            (ProgressMode::Never, _) | (ProgressMode::Auto, false) => None,
            (ProgressMode::Always, false) => Some(Progress { bar: None }),
            (_, true) => {
                let bar =
                    ProgressBar::with_draw_target(Some(BAR_STEPS), ProgressDrawTarget::stderr());
                bar.set_style(
                    ProgressStyle::with_template("{prefix} [{wide_bar}] {percent:>3}%")
                        .expect("a valid template")
                        .progress_chars("=> "),
                );
                let _ = slot.0.set(bar.clone());
                Some(Progress { bar: Some(bar) })
            }
        }
    }

    /// Shows that phase `index` of `count` (from 0), `name`, began.
    pub fn phase_started(&self, index: usize, count: usize, name: &str) {
        if let Some(bar) = &self.bar {
            bar.set_prefix(format!("phase {}/{count} {name}", index + 1));
            bar.set_position(0);
        }
    }

    /// Prints the line for `snapshot` and moves the bar.
    pub fn tick(&self, snapshot: &Snapshot) {
        let line = progress_line(snapshot);
        match &self.bar {
            Some(bar) => {
                bar.set_position((snapshot.done.clamp(0.0, 1.0) * BAR_STEPS as f64) as u64);
                bar.println(line);
            }
            None => eprintln!("{line}"),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot() -> Snapshot {
        Snapshot {
            elapsed: Duration::from_secs(12),
            phase: "steady".into(),
            phase_width: 13,
            rate: 5000,
            achieved: 4998.4,
            p99_micros: Some(6055),
            errors: 0,
            lag_micros: 40,
            done: 0.5,
        }
    }

    #[test]
    fn the_line_shows_achieved_against_target_p99_and_errors() {
        assert_eq!(
            progress_line(&snapshot()),
            "[  12.00s] steady            4998 msgs/s of 5000      p99     6.055 ms  errors 0"
        );
    }

    #[test]
    fn the_line_says_closed_loop_no_p99_yet_and_how_far_behind() {
        let s = Snapshot {
            rate: 0,
            p99_micros: None,
            errors: 3,
            lag_micros: 120_000,
            ..snapshot()
        };
        assert_eq!(
            progress_line(&s),
            "[  12.00s] steady            4998 msgs/s closed loop  p99         - ms  errors 3  behind 120.000 ms"
        );
    }

    #[test]
    fn lines_keep_their_columns_whatever_the_phase_and_numbers() {
        let lines = [
            Snapshot {
                elapsed: Duration::from_secs(1),
                phase: "warmup+steady".into(),
                achieved: 950.0,
                p99_micros: Some(250_000),
                ..snapshot()
            },
            snapshot(),
            Snapshot {
                elapsed: Duration::from_millis(2510),
                rate: 100_000,
                achieved: 99_999.0,
                ..snapshot()
            },
        ]
        .map(|s| progress_line(&s));
        for column in ["msgs/s", "p99", " ms  errors"] {
            let at: Vec<Option<usize>> = lines.iter().map(|l| l.find(column)).collect();
            assert!(
                at.windows(2).all(|w| w[0] == w[1] && w[0].is_some()),
                "{column}: {lines:#?}"
            );
        }
        assert!(
            lines[2].starts_with("[   2.51s] steady "),
            "the last, partial second: {}",
            lines[2]
        );
    }

    #[test]
    fn auto_shows_nothing_off_a_terminal_and_always_shows_plain_lines() {
        let slot = BarSlot::new();
        assert!(Progress::new(ProgressMode::Auto, false, &slot).is_none());
        assert!(Progress::new(ProgressMode::Never, true, &slot).is_none());
        let plain = Progress::new(ProgressMode::Always, false, &slot).unwrap();
        assert!(plain.bar.is_none());
        assert_eq!(slot.suspend(|| 7), 7, "no bar: runs directly");
    }
}

//! The command line as typed, and how its flags override a scenario.
//!
//! Flags are parsed and range-checked here; [`Overrides::apply`] then turns a
//! validated scenario into another validated scenario, so the runner only
//! ever sees a [`Scenario`].

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use producer::Acks;

use crate::progress::ProgressMode;
use crate::scenario::{
    BrokerSpec, MIN_MESSAGE_SIZE, MessageSize, Phase, PhaseLength, Rate, Scenario, ScenarioError,
    Window,
};

/// Replays load scenarios against the mock broker (or a running broker) and reports latency.
#[derive(Debug, Parser)]
#[command(name = "loadgen", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and print a latency summary.
    ///
    /// Exit status: 0 when every threshold is met (without `[thresholds]`: every
    /// send succeeded), 1 when one is not (any send failed), 2 when the
    /// scenario is invalid or the broker cannot be reached, 130 when Ctrl-C
    /// interrupted it (the summary of what ran is printed).
    Run(Box<RunArgs>),
    /// Check scenario files without running them.
    Validate(ValidateArgs),
}

/// `loadgen run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Scenario file; without one, the flags describe a one-phase run
    /// (10000 messages, closed loop, 1 producer, 100-byte values, embedded broker).
    #[arg(value_name = "SCENARIO")]
    pub scenario: Option<PathBuf>,
    /// Also write the report as JSON to PATH (created, or replaced, before the run starts).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Also write the corrected latency of the recorded phases to PATH, in
    /// HdrHistogram's percentile-distribution format (.hgrm, values in ms).
    #[arg(long, value_name = "PATH")]
    pub hgrm: Option<PathBuf>,
    /// Also write an HdrHistogram interval log to PATH: per second of the run,
    /// the corrected and the uncorrected latency histogram (µs).
    #[arg(long, value_name = "PATH")]
    pub hlog: Option<PathBuf>,
    /// Also write a self-contained HTML report with latency and throughput charts to PATH.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Live progress on stderr: `auto` (bar and a line per second on a
    /// terminal), `always` (plain lines when not a terminal) or `never`.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ProgressMode::Auto)]
    pub progress: ProgressMode,
    /// Multiply the duration of every timed phase by F (0 < F <= 1000), for
    /// short CI runs; phases of N messages are unchanged. Overrides the
    /// environment variable LOADGEN_DURATION_SCALE.
    #[arg(long, value_name = "F", allow_hyphen_values = true)]
    pub duration_scale: Option<String>,
    /// Flags that override the scenario.
    #[command(flatten)]
    pub overrides: Overrides,
}

/// `loadgen validate`.
#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Scenario files to check.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

/// Flags of `loadgen run` that change the scenario.
#[derive(Debug, Default, Args)]
pub struct Overrides {
    /// Broker: `embedded` (in-process mock broker) or HOST:PORT of a running one.
    #[arg(long, value_name = "embedded|HOST:PORT")]
    pub broker: Option<BrokerSpec>,
    /// Replace the phases with one phase of N messages.
    #[arg(long, value_name = "N", conflicts_with = "duration",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub messages: Option<u64>,
    /// Replace the phases with one phase lasting D (such as `5s`).
    #[arg(long, value_name = "D", value_parser = crate::scenario::parse_duration)]
    pub duration: Option<Duration>,
    /// Messages per second across all producers, in every phase; 0 = as fast as possible.
    #[arg(long, value_name = "R")]
    pub rate: Option<u64>,
    /// Bytes of each message's value (at least 16, the message id).
    #[arg(long, value_name = "BYTES",
          value_parser = clap::value_parser!(u32).range(i64::from(MIN_MESSAGE_SIZE)..))]
    pub size: Option<u32>,
    /// Producer instances, each with its own connection (at most 1000).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::scenario::MAX_PRODUCERS)))]
    pub producers: Option<u32>,
    /// Topic to produce to.
    #[arg(long, value_name = "T", value_parser = parse_topic)]
    pub topic: Option<String>,
    /// Partitions of the topic on the embedded broker (at most 10000).
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::scenario::MAX_PARTITIONS)))]
    pub partitions: Option<u32>,
    /// Acknowledgements to wait for: 0, 1, -1 or all.
    #[arg(long, value_name = "A", allow_hyphen_values = true)]
    pub acks: Option<Acks>,
    /// Sends each producer keeps outstanding at most (at most 1000000);
    /// without it, as many as the producer's buffer_memory holds.
    #[arg(long, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::scenario::MAX_IN_FLIGHT)))]
    pub in_flight: Option<u32>,
}

/// The environment variable read for the duration scale when `--duration-scale` is not given.
pub const DURATION_SCALE_ENV: &str = "LOADGEN_DURATION_SCALE";

/// The largest duration scale accepted.
pub const MAX_DURATION_SCALE: f64 = 1000.0;

/// Why `loadgen run`'s arguments cannot be turned into a scenario.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResolveError {
    /// The scenario file cannot be read or is invalid.
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    /// `--duration-scale` or `LOADGEN_DURATION_SCALE` is not a number in range.
    #[error("invalid {source_name} {value:?}: expected a number greater than 0 and at most 1000")]
    DurationScale {
        /// `--duration-scale` or `LOADGEN_DURATION_SCALE`.
        source_name: &'static str,
        /// The value as given.
        value: String,
    },
    /// A phase's scaled duration is longer than [`MAX_DURATION`](crate::scenario::MAX_DURATION).
    #[error(
        "--duration-scale {scale}: phase {phase:?} would last longer than 30 days, the longest phase loadgen runs"
    )]
    ScaledTooLong {
        /// The scale.
        scale: f64,
        /// The phase's name.
        phase: String,
    },
}

impl RunArgs {
    /// The scenario to run: the file's (or the built-in default), with the
    /// flags applied, then every timed phase scaled by the duration scale
    /// (`--duration-scale`, else the environment variable `LOADGEN_DURATION_SCALE`).
    ///
    /// # Errors
    /// [`ResolveError`] when the file cannot be read or is invalid, or the
    /// duration scale is not a number in `(0, 1000]`.
    pub fn resolve(&self) -> Result<Scenario, ResolveError> {
        self.resolve_with_env(std::env::var_os(DURATION_SCALE_ENV))
    }

    /// [`RunArgs::resolve`] with `env` as the value of `LOADGEN_DURATION_SCALE`.
    fn resolve_with_env(&self, env: Option<OsString>) -> Result<Scenario, ResolveError> {
        let scale = self.duration_scale(env)?;
        let scenario = match &self.scenario {
            Some(path) => Scenario::from_toml_file(path)?,
            None => Scenario::command_line_default(),
        };
        let scenario = self.overrides.apply(scenario);
        match scale {
            Some(scale) => scale_durations(scenario, scale),
            None => Ok(scenario),
        }
    }

    /// The duration scale: the flag's, else the variable's (an empty variable
    /// counts as unset), else none.
    fn duration_scale(&self, env: Option<OsString>) -> Result<Option<f64>, ResolveError> {
        if let Some(flag) = &self.duration_scale {
            return parse_duration_scale("--duration-scale", flag).map(Some);
        }
        match env {
            None => Ok(None),
            Some(value) if value.is_empty() => Ok(None),
            Some(value) => match value.to_str() {
                Some(text) => parse_duration_scale(DURATION_SCALE_ENV, text).map(Some),
                None => Err(ResolveError::DurationScale {
                    source_name: DURATION_SCALE_ENV,
                    value: value.to_string_lossy().into_owned(),
                }),
            },
        }
    }
}

/// `text` as a duration scale: a finite number in `(0, 1000]`.
fn parse_duration_scale(source_name: &'static str, text: &str) -> Result<f64, ResolveError> {
    match text.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && f > 0.0 && f <= MAX_DURATION_SCALE => Ok(f),
        _ => Err(ResolveError::DurationScale {
            source_name,
            value: text.to_string(),
        }),
    }
}

/// `scenario` with every timed phase's duration multiplied by `scale`, to the
/// nearest nanosecond and at least 1 ns; phases of N messages are unchanged.
///
/// # Errors
/// [`ResolveError::ScaledTooLong`] when a scaled duration overflows.
pub fn scale_durations(mut scenario: Scenario, scale: f64) -> Result<Scenario, ResolveError> {
    for phase in &mut scenario.phases {
        if let PhaseLength::Duration(d) = phase.length {
            // Exact for every duration below 2^53 ns (104 days), as f64.
            let nanos = (d.as_nanos() as f64 * scale).round();
            if nanos > crate::scenario::MAX_DURATION.as_nanos() as f64 {
                return Err(ResolveError::ScaledTooLong {
                    scale,
                    phase: phase.name.clone(),
                });
            }
            let nanos = nanos as u64;
            phase.length = PhaseLength::Duration(Duration::from_nanos(nanos.max(1)));
        }
    }
    // Faults keep their place in the (scaled) run.
    for fault in &mut scenario.faults {
        for d in [&mut fault.at, &mut fault.duration].into_iter().flatten() {
            let nanos = (d.0.as_nanos() as f64 * scale)
                .round()
                .min(u64::MAX as f64 / 2.0);
            d.0 = Duration::from_nanos((nanos as u64).max(1));
        }
    }
    Ok(scenario)
}

impl Overrides {
    /// `scenario` with every flag given applied.
    ///
    /// `--messages` / `--duration` replace the phases with one recorded phase,
    /// which keeps the name and rate of the scenario's first recorded phase;
    /// `--rate` then sets the rate of every remaining phase.
    pub fn apply(&self, mut scenario: Scenario) -> Scenario {
        let length = match (self.messages, self.duration) {
            (Some(n), _) => Some(PhaseLength::Messages(n)),
            (None, Some(d)) => Some(PhaseLength::Duration(d)),
            (None, None) => None,
        };
        if let Some(length) = length {
            let first_recorded = scenario
                .phases
                .iter()
                .find(|p| p.record)
                .or(scenario.phases.first())
                .cloned();
            let (name, rate) = first_recorded
                .map(|p| (p.name, p.rate))
                .unwrap_or_else(|| ("main".into(), Rate::CLOSED_LOOP));
            scenario.phases = vec![Phase {
                name,
                length,
                rate,
                record: true,
            }];
        }
        if let Some(rate) = self.rate {
            for phase in &mut scenario.phases {
                phase.rate = Rate::Constant(rate);
            }
        }
        let workload = &mut scenario.workload;
        if let Some(broker) = &self.broker {
            scenario.target.broker = broker.clone();
        }
        if let Some(size) = self.size {
            workload.message_size = MessageSize::Fixed(size);
        }
        if let Some(producers) = self.producers {
            workload.producers = producers;
        }
        if let Some(topic) = &self.topic {
            workload.topic = topic.clone();
        }
        if let Some(partitions) = self.partitions {
            workload.partitions = partitions;
        }
        if let Some(in_flight) = self.in_flight {
            workload.in_flight = Window::Messages(in_flight);
        }
        if let Some(acks) = self.acks {
            scenario.producer.acks = acks;
        }
        scenario
    }
}

fn parse_topic(name: &str) -> Result<String, String> {
    producer::topic_name::validate_topic_name(name)?;
    Ok(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<RunArgs, clap::Error> {
        let cli = Cli::try_parse_from(["loadgen", "run"].iter().chain(args))?;
        match cli.command {
            Command::Run(run) => Ok(*run),
            Command::Validate(_) => unreachable!("parsed run"),
        }
    }

    #[test]
    fn without_a_file_the_flags_shape_the_default_scenario() {
        let scenario = parse(&["--messages", "500", "--rate", "100", "--producers", "3"])
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(scenario.target.broker, BrokerSpec::Embedded);
        assert_eq!(scenario.workload.topic, "bench");
        assert_eq!(scenario.workload.producers, 3);
        assert_eq!(scenario.workload.message_size, MessageSize::Fixed(100));
        assert_eq!(scenario.phases.len(), 1);
        assert_eq!(scenario.phases[0].length, PhaseLength::Messages(500));
        assert_eq!(scenario.phases[0].rate, Rate::Constant(100));
    }

    #[test]
    fn the_default_scenario_is_ten_thousand_messages_closed_loop() {
        let scenario = parse(&[]).unwrap().resolve().unwrap();
        assert_eq!(scenario.phases[0].length, PhaseLength::Messages(10_000));
        assert_eq!(scenario.phases[0].rate, Rate::CLOSED_LOOP);
        assert_eq!(scenario.workload.producers, 1);
    }

    #[test]
    fn messages_replace_the_phases_keeping_the_first_recorded_phases_name_and_rate() {
        let smoke = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/smoke.toml");
        let scenario = parse(&[smoke, "--messages", "2000", "--broker", "10.0.0.1:9092"])
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(scenario.phases.len(), 1);
        assert_eq!(scenario.phases[0].name, "steady");
        assert_eq!(scenario.phases[0].length, PhaseLength::Messages(2000));
        assert_eq!(scenario.phases[0].rate, Rate::Constant(5000));
        assert!(scenario.phases[0].record);
        assert_eq!(
            scenario.target.broker,
            BrokerSpec::External("10.0.0.1:9092".into())
        );
    }

    #[test]
    fn rate_alone_changes_every_phase() {
        let smoke = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/smoke.toml");
        let scenario = parse(&[smoke, "--rate", "0", "--acks", "-1"])
            .unwrap()
            .resolve()
            .unwrap();
        assert!(scenario.phases.len() > 1);
        assert!(scenario.phases.iter().all(|p| p.rate == Rate::CLOSED_LOOP));
        assert_eq!(scenario.producer.acks, Acks::All);
    }

    #[test]
    fn out_of_range_flags_are_refused_naming_the_flag() {
        for (args, flag) in [
            (&["--size", "8"][..], "--size"),
            (&["--producers", "0"][..], "--producers"),
            (&["--messages", "0"][..], "--messages"),
            (&["--duration", "0s"][..], "--duration"),
            (&["--broker", "nowhere"][..], "--broker"),
            (&["--topic", "a b"][..], "--topic"),
            (&["--acks", "2"][..], "--acks"),
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(flag), "{args:?}: {err}");
        }
        let err = parse(&["--messages", "1", "--duration", "1s"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot be used with"), "{err}");
    }

    fn smoke_durations(args: &[&str], env: Option<&str>) -> Vec<PhaseLength> {
        let smoke = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/smoke.toml");
        let args: Vec<&str> = std::iter::once(smoke).chain(args.iter().copied()).collect();
        parse(&args)
            .unwrap()
            .resolve_with_env(env.map(OsString::from))
            .unwrap()
            .phases
            .into_iter()
            .map(|p| p.length)
            .collect()
    }

    #[test]
    fn the_duration_scale_multiplies_every_timed_phase() {
        let ms = |n| PhaseLength::Duration(Duration::from_millis(n));
        // smoke: warmup 1s, steady 3s.
        assert_eq!(smoke_durations(&[], None), [ms(1000), ms(3000)]);
        assert_eq!(
            smoke_durations(&["--duration-scale", "0.1"], None),
            [ms(100), ms(300)]
        );
        assert_eq!(
            smoke_durations(&["--duration-scale", "2.5"], None),
            [ms(2500), ms(7500)]
        );
        assert_eq!(
            smoke_durations(&["--duration-scale", "1000"], None),
            [ms(1_000_000), ms(3_000_000)]
        );
        // The variable applies without the flag; the flag wins over it, even an invalid one.
        assert_eq!(smoke_durations(&[], Some("0.5")), [ms(500), ms(1500)]);
        assert_eq!(
            smoke_durations(&["--duration-scale", "2"], Some("junk")),
            [ms(2000), ms(6000)]
        );
        assert_eq!(smoke_durations(&[], Some("")), [ms(1000), ms(3000)]);
        // After --duration, of the one phase.
        assert_eq!(
            smoke_durations(&["--duration", "2s", "--duration-scale", "0.25"], None),
            [ms(500)]
        );
        // Never to zero: at least 1 ns.
        assert_eq!(
            smoke_durations(&["--duration", "1ns", "--duration-scale", "0.1"], None),
            [PhaseLength::Duration(Duration::from_nanos(1))]
        );
    }

    #[test]
    fn the_duration_scale_leaves_phases_of_messages_alone() {
        assert_eq!(
            smoke_durations(&["--messages", "700", "--duration-scale", "0.1"], None),
            [PhaseLength::Messages(700)]
        );
    }

    #[test]
    fn an_invalid_duration_scale_is_refused_naming_its_source_and_value() {
        let smoke = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/smoke.toml");
        for bad in ["0", "-1", "1000.5", "abc", "NaN", "inf", ""] {
            let err = parse(&[smoke, "--duration-scale", bad])
                .unwrap()
                .resolve_with_env(None)
                .unwrap_err()
                .to_string();
            assert_eq!(
                err,
                format!(
                    "invalid --duration-scale {bad:?}: expected a number greater than 0 and at most 1000"
                )
            );
            if !bad.is_empty() {
                let err = parse(&[smoke])
                    .unwrap()
                    .resolve_with_env(Some(bad.into()))
                    .unwrap_err()
                    .to_string();
                assert_eq!(
                    err,
                    format!(
                        "invalid LOADGEN_DURATION_SCALE {bad:?}: expected a number greater than 0 and at most 1000"
                    )
                );
            }
        }
    }
}

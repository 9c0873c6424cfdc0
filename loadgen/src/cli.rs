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
    BrokerSpec, MIN_MESSAGE_SIZE, MessageSize, MinThroughput, Phase, PhaseLength, Rate, Scenario,
    ScenarioError, Window,
};
use crate::shard::Shard;

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
    /// scenario is invalid, the broker cannot be reached or is no broker, or
    /// no send succeeded for `--max-failing`, 130 when Ctrl-C interrupted it
    /// (the summary of what ran is printed).
    Run(Box<RunArgs>),
    /// Check scenario files without running them.
    Validate(ValidateArgs),
    /// Merge the JSON reports of a scenario's shards (`run --shard K/N --json`)
    /// into the report of the whole run, and judge it.
    ///
    /// Exit status as `run`: 0 when every threshold is met, 1 when one is
    /// not, 2 when the reports cannot be read or do not fit together.
    Merge(MergeArgs),
    /// Compare two JSON reports side by side; exit 1 when CURRENT regressed
    /// from BASELINE by more than `--max-regression` allows, 2 on bad input.
    Compare(CompareArgs),
}

/// `loadgen merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// The JSON reports of every shard of one run, in any order.
    #[arg(value_name = "REPORT", required = true)]
    pub reports: Vec<PathBuf>,
    /// Write the merged report as JSON to PATH.
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
    /// Write the merged corrected latency of the recorded phases to PATH (.hgrm, ms).
    #[arg(long, value_name = "PATH")]
    pub hgrm: Option<PathBuf>,
    /// Write the merged report as a self-contained HTML page to PATH.
    #[arg(long, value_name = "PATH")]
    pub html: Option<PathBuf>,
    /// Fail `max_lost` and `max_duplicates` when the shards were not audited.
    #[arg(long)]
    pub strict_audit: bool,
}

/// `loadgen compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The JSON report to compare against.
    #[arg(value_name = "BASELINE")]
    pub baseline: PathBuf,
    /// The JSON report of the run to judge.
    #[arg(value_name = "CURRENT")]
    pub current: PathBuf,
    /// How much worse each metric may get, as `METRIC=N%` separated by
    /// commas: `p99=10%,throughput=5%`. Metrics: p50, p90, p99, p999, p9999,
    /// max, mean (corrected latency of the recorded phases), throughput
    /// (msgs/s), throughput_mb (MB/s). Without it the table is only printed.
    #[arg(long, value_name = "LIST")]
    pub max_regression: Option<crate::compare::Allowances>,
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
    /// Fail `max_lost` and `max_duplicates` when the audit cannot run (an
    /// external broker without an admin API); by default they do not apply then.
    #[arg(long)]
    pub strict_audit: bool,
    /// Run shard K of N (such as `2/3`): this process's group of the
    /// producer instances, with their share of every phase's rate and
    /// messages and their own message ids, so that N processes together run
    /// the scenario once; `loadgen merge` adds up their JSON reports.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
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
    /// HOST:PORT of the external mock broker's admin HTTP API, for the
    /// delivery audit and `[[faults]]` (overrides `[target] admin`).
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_admin)]
    pub admin: Option<String>,
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
    /// How long connecting to the broker may take, and then again its answer
    /// to the first request (Kafka: ApiVersions; frames: a ping), such as `3s`:
    /// an address that is no broker is named within it. Sets `[producer]
    /// connect_timeout_ms` (default 10s).
    #[arg(long, value_name = "D", value_parser = crate::scenario::parse_duration)]
    pub connect_timeout: Option<Duration>,
    /// Give up with exit status 2 when no send has succeeded for D while
    /// sends failed or waited (such as `30s`). Sets `[target] max_failing` (default 5s).
    #[arg(long, value_name = "D", value_parser = crate::scenario::parse_duration)]
    pub max_failing: Option<Duration>,
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
    /// `--admin` or `[target] admin` names an admin API, and the broker is the embedded one.
    #[error(
        "{admin_from} {address} is the admin API of an external broker, and the broker is the embedded one \
         (read in-process); give --broker HOST:PORT too, or drop {admin_from}"
    )]
    AdminWithEmbedded {
        /// `--admin` or `[target] admin`.
        admin_from: &'static str,
        /// The address given.
        address: String,
    },
    /// `min_throughput` is a share of the target rate, and a recorded phase runs closed loop.
    #[error(
        "[thresholds] min_throughput \"{share}\" is a share of the target rate, and {rate_from} makes \
         recorded phase {phase:?} run closed loop, which has no target rate; \
         give min_throughput in msgs/s or the phase a rate"
    )]
    ShareWithoutTarget {
        /// The threshold as written, such as `99%`.
        share: String,
        /// `--rate 0` or `[[phases]] rate`.
        rate_from: &'static str,
        /// The closed-loop phase.
        phase: String,
    },
    /// More shards than producer instances.
    #[error(
        "--shard {shard}: {producers_from} is {producers}, and each of the {} shards runs at least one \
         producer instance; use at most {producers} shards or more producers",
        shard.count()
    )]
    TooManyShards {
        /// The shard asked for.
        shard: Shard,
        /// The scenario's producer instances.
        producers: u32,
        /// `--producers` or `[workload] producers`.
        producers_from: &'static str,
    },
    /// `[[faults]]` on an external broker without an admin API to set them through.
    #[error(
        "the scenario has [[faults]], which are set through a mock broker's admin API, and {broker_from} \
         {address} comes with none; give --admin HOST:PORT, or run against the embedded broker"
    )]
    FaultsWithoutAdmin {
        /// `--broker` or `[target] broker`.
        broker_from: &'static str,
        /// The external broker.
        address: String,
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

    /// The duration scale [`RunArgs::resolve`] applies, for the reports to record.
    ///
    /// # Errors
    /// [`ResolveError::DurationScale`] as for [`RunArgs::resolve`].
    pub fn resolved_duration_scale(&self) -> Result<Option<f64>, ResolveError> {
        self.duration_scale(std::env::var_os(DURATION_SCALE_ENV))
    }

    /// [`RunArgs::resolve`] with `env` as the value of `LOADGEN_DURATION_SCALE`.
    fn resolve_with_env(&self, env: Option<OsString>) -> Result<Scenario, ResolveError> {
        let scale = self.duration_scale(env)?;
        let scenario = match &self.scenario {
            Some(path) => Scenario::from_toml_file(path)?,
            None => Scenario::command_line_default(),
        };
        let mut scenario = self.overrides.apply(scenario);
        self.check_admin(&scenario)?;
        check_share_of_target(&scenario, self.overrides.rate.is_some())?;
        if let Some(shard) = self.shard {
            let producers = scenario.workload.producers;
            if shard.count() > producers {
                return Err(ResolveError::TooManyShards {
                    shard,
                    producers,
                    producers_from: if self.overrides.producers.is_some() {
                        "--producers"
                    } else {
                        "[workload] producers"
                    },
                });
            }
            scenario.shard = shard;
            // The fault rules are put in force once, by the first shard.
            if shard.index() > 1 {
                scenario.faults.clear();
            }
        }
        match scale {
            Some(scale) => scale_durations(scenario, scale),
            None => Ok(scenario),
        }
    }

    /// An admin API only beside an external broker, and one for `[[faults]]` there.
    fn check_admin(&self, scenario: &Scenario) -> Result<(), ResolveError> {
        let admin_from = if self.overrides.admin.is_some() {
            "--admin"
        } else {
            "[target] admin"
        };
        let broker_from = if self.overrides.broker.is_some() {
            "--broker"
        } else {
            "[target] broker"
        };
        match (&scenario.target.broker, &scenario.target.admin) {
            (BrokerSpec::Embedded, Some(address)) => Err(ResolveError::AdminWithEmbedded {
                admin_from,
                address: address.clone(),
            }),
            (BrokerSpec::External(address), None) if !scenario.faults.is_empty() => {
                Err(ResolveError::FaultsWithoutAdmin {
                    broker_from,
                    address: address.clone(),
                })
            }
            _ => Ok(()),
        }
    }

    /// The flags (and the environment variable) that changed the scenario,
    /// as typed, in the order of `--help`: `("--rate", "1200000")`.
    pub fn overridden(&self) -> Vec<(String, String)> {
        self.overridden_with_env(std::env::var_os(DURATION_SCALE_ENV))
    }

    /// [`RunArgs::overridden`] with `env` as the value of `LOADGEN_DURATION_SCALE`.
    fn overridden_with_env(&self, env: Option<OsString>) -> Vec<(String, String)> {
        let o = &self.overrides;
        let mut given: Vec<(String, String)> = [
            ("--broker", o.broker.as_ref().map(ToString::to_string)),
            ("--admin", o.admin.clone()),
            ("--messages", o.messages.map(|n| n.to_string())),
            (
                "--duration",
                o.duration
                    .map(|d| humantime::format_duration(d).to_string()),
            ),
            ("--rate", o.rate.map(|r| r.to_string())),
            ("--size", o.size.map(|n| n.to_string())),
            ("--producers", o.producers.map(|n| n.to_string())),
            ("--topic", o.topic.clone()),
            ("--partitions", o.partitions.map(|n| n.to_string())),
            ("--acks", o.acks.map(|a| a.to_string())),
            ("--in-flight", o.in_flight.map(|n| n.to_string())),
            ("--shard", self.shard.map(|s| s.to_string())),
        ]
        .into_iter()
        .filter_map(|(flag, value)| value.map(|v| (flag.to_string(), v)))
        .collect();
        match (&self.duration_scale, env) {
            (Some(scale), _) => given.push(("--duration-scale".into(), scale.clone())),
            (None, Some(value)) if !value.is_empty() => given.push((
                DURATION_SCALE_ENV.into(),
                value.to_string_lossy().into_owned(),
            )),
            _ => {}
        }
        given
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

/// A `min_throughput` given as a share of the target rate needs every
/// recorded phase to have a rate.
fn check_share_of_target(scenario: &Scenario, rate_flag: bool) -> Result<(), ResolveError> {
    let Some(min @ MinThroughput::ShareOfTarget(_)) =
        scenario.thresholds.as_ref().and_then(|t| t.min_throughput)
    else {
        return Ok(());
    };
    match scenario
        .phases
        .iter()
        .find(|p| p.record && !p.rate.is_open_loop())
    {
        Some(phase) => Err(ResolveError::ShareWithoutTarget {
            share: min.to_string(),
            rate_from: if rate_flag {
                "--rate 0"
            } else {
                "[[phases]] rate"
            },
            phase: phase.name.clone(),
        }),
        None => Ok(()),
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
        if let Some(admin) = &self.admin {
            scenario.target.admin = Some(admin.clone());
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
        if let Some(timeout) = self.connect_timeout {
            scenario.producer.connect_timeout = timeout;
        }
        if let Some(max_failing) = self.max_failing {
            scenario.target.max_failing = max_failing;
        }
        scenario
    }
}

fn parse_admin(address: &str) -> Result<String, String> {
    match address.parse::<BrokerSpec>() {
        Ok(BrokerSpec::External(address)) => Ok(address),
        _ => Err(format!(
            "{address:?} is not an admin API address; expected host:port"
        )),
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
            _ => unreachable!("parsed run"),
        }
    }

    /// What resolving `args` (which parse) into a scenario fails with.
    fn resolve_err(args: &[&str]) -> String {
        parse(args)
            .unwrap()
            .resolve_with_env(None)
            .unwrap_err()
            .to_string()
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
    fn the_connect_timeout_and_max_failing_flags_set_their_keys() {
        let scenario = parse(&["--connect-timeout", "3s", "--max-failing", "1m"])
            .unwrap()
            .resolve()
            .unwrap();
        assert_eq!(scenario.producer.connect_timeout, Duration::from_secs(3));
        assert_eq!(scenario.target.max_failing, Duration::from_secs(60));
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
            (&["--connect-timeout", "0s"][..], "--connect-timeout"),
            (&["--max-failing", "soon"][..], "--max-failing"),
        ] {
            let err = parse(args).unwrap_err().to_string();
            assert!(err.contains(flag), "{args:?}: {err}");
        }
        let err = parse(&["--messages", "1", "--duration", "1s"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("cannot be used with"), "{err}");
    }

    #[test]
    fn admin_sets_the_external_brokers_admin_api_and_is_refused_beside_the_embedded_one() {
        let smoke = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/smoke.toml");
        let scenario = parse(&[
            smoke,
            "--broker",
            "10.0.0.1:9092",
            "--admin",
            "10.0.0.1:9644",
        ])
        .unwrap()
        .resolve_with_env(None)
        .unwrap();
        assert_eq!(scenario.target.admin.as_deref(), Some("10.0.0.1:9644"));
        let err = resolve_err(&[smoke, "--admin", "10.0.0.1:9644"]);
        assert!(
            err.starts_with("--admin 10.0.0.1:9644 is the admin API of an external broker, and the broker is the embedded one"),
            "{err}"
        );
        let err = parse(&["--admin", "nowhere"]).unwrap_err().to_string();
        assert!(
            err.contains("--admin") && err.contains("host:port"),
            "{err}"
        );
    }

    #[test]
    fn faults_against_an_external_broker_need_an_admin_api() {
        let stall = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scenarios/faults-stall.toml"
        );
        let err = resolve_err(&[stall, "--broker", "10.0.0.1:9092"]);
        assert!(
            err.contains("[[faults]]") && err.contains("--broker 10.0.0.1:9092 comes with none"),
            "{err}"
        );
        parse(&[stall, "--broker", "10.0.0.1:9092", "--admin", "10.0.0.1:1"])
            .unwrap()
            .resolve_with_env(None)
            .unwrap();
    }

    #[test]
    fn a_share_of_the_target_rate_is_refused_for_a_closed_loop_run_naming_both_settings() {
        let bench = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scenarios/bench/loadgen-rate.toml"
        );
        let err = resolve_err(&[bench, "--rate", "0"]);
        assert_eq!(
            err,
            "[thresholds] min_throughput \"99%\" is a share of the target rate, and --rate 0 makes \
             recorded phase \"steady\" run closed loop, which has no target rate; \
             give min_throughput in msgs/s or the phase a rate"
        );
        parse(&[bench, "--rate", "1200000"])
            .unwrap()
            .resolve_with_env(None)
            .unwrap();
    }

    #[test]
    fn a_shard_is_the_scenario_with_its_part_marked_and_faults_only_in_the_first() {
        let stall = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../scenarios/faults-stall.toml"
        );
        let first = parse(&[stall, "--shard", "1/2"])
            .unwrap()
            .resolve_with_env(None)
            .unwrap();
        assert_eq!(first.shard, Shard::new(1, 2).unwrap());
        assert_eq!(first.faults.len(), 1);
        let second = parse(&[stall, "--shard", "2/2"])
            .unwrap()
            .resolve_with_env(None)
            .unwrap();
        assert!(second.faults.is_empty());
        let err = resolve_err(&[stall, "--shard", "3/3"]);
        assert!(
            err.starts_with("--shard 3/3: [workload] producers is 2, and each of the 3 shards"),
            "{err}"
        );
        let err = parse(&["--shard", "4/3"]).unwrap_err().to_string();
        assert!(
            err.contains("--shard") && err.contains("1 <= K <= N"),
            "{err}"
        );
    }

    #[test]
    fn the_overriding_flags_and_variable_are_listed_as_typed() {
        let smoke = concat!(env!("CARGO_MANIFEST_DIR"), "/../scenarios/smoke.toml");
        let args = parse(&[
            smoke,
            "--rate",
            "1200000",
            "--duration",
            "1m 30s",
            "--shard",
            "1/2",
        ])
        .unwrap();
        let pairs = |list: Vec<(String, String)>| -> Vec<String> {
            list.into_iter().map(|(f, v)| format!("{f} {v}")).collect()
        };
        assert_eq!(
            pairs(args.overridden_with_env(Some("0.1".into()))),
            [
                "--duration 1m 30s",
                "--rate 1200000",
                "--shard 1/2",
                "LOADGEN_DURATION_SCALE 0.1"
            ]
        );
        let args = parse(&[smoke, "--duration-scale", "0.5"]).unwrap();
        assert_eq!(
            pairs(args.overridden_with_env(Some("0.1".into()))),
            ["--duration-scale 0.5"]
        );
        assert!(
            parse(&[smoke])
                .unwrap()
                .overridden_with_env(None)
                .is_empty()
        );
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
            let err = resolve_err(&[smoke, "--duration-scale", bad]);
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

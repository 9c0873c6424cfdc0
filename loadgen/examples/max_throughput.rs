//! loadgen's closed-loop throughput beside the producer driven bare and
//! beside librdkafka's `rdkafka_performance`, all three producing into
//! librdkafka's mock cluster, alternating, in the same run.
//!
//! ```text
//! sh ../shared/anchors/build.sh     # builds /tmp/anchors/rk_mock and /tmp/anchors/rk_perf
//! cargo run --release -p loadgen --example max_throughput -- --repeat 5
//! ```
//! Each run gets a fresh mock cluster (`rk_mock 1 PARTITIONS`, topic
//! `bench`). The three sides send the same messages with the same settings,
//! those of `scenarios/bench/max-throughput.toml` (by default 1,000,000 of
//! 100 B, acks=all, linger 5 ms, no idempotence, 1 MiB batches):
//! - **loadgen** runs the scenario, its broker replaced by the mock cluster,
//!   and counts the messages acknowledged in the phase over the phase's time;
//! - **producer** is what loadgen drives, alone: one `Producer` with the
//!   scenario's `[producer]` settings, driven by the loop of the producer's
//!   own bench (`producer --example bench`): it sends as fast as the
//!   producer takes records, timing each from its send call, and awaits
//!   every delivery in send order beside the sending loop, recording its
//!   latency in a histogram;
//! - **rk_perf** is `rk_perf ADDR bench N SIZE acks=all linger.ms=5 batch.size=…
//!   enable.idempotence=false`.
//!
//! Each run's rates are printed, then the best and the median of the
//! `--repeat` runs of each side, with the ratios loadgen / producer and
//! loadgen / rk_perf. On a busy machine the best is the fairer figure: a
//! side is only ever slowed by what else runs.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use hdrhistogram::Histogram;
use loadgen::scenario::{BrokerSpec, MessageSize, PhaseLength, Protocol, Scenario};
use producer::{Acks, Producer, Record};

/// loadgen, the bare producer and rdkafka_performance into librdkafka's mock cluster.
#[derive(Debug, Parser)]
struct Args {
    /// The scenario loadgen runs; its first phase must be closed loop with a message count.
    #[arg(long, default_value = "scenarios/bench/max-throughput.toml")]
    scenario: PathBuf,
    /// Where `rk_mock` and `rk_perf` are (`sh ../shared/anchors/build.sh` puts them in /tmp/anchors).
    #[arg(long, default_value = "/tmp/anchors")]
    anchors: PathBuf,
    /// Runs of each side, alternating; the best is reported.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
    /// Messages per run, instead of the scenario's first phase's count.
    #[arg(long)]
    messages: Option<u64>,
    /// Run only this side (for profiling it): `loadgen`, `producer` or `rk_perf`.
    #[arg(long, value_parser = ["loadgen", "producer", "rk_perf"])]
    only: Option<String>,
}

/// The sides, in the order they run and are printed.
const SIDES: [&str; 3] = ["loadgen", "producer", "rk_perf"];

/// One side's measured run.
#[derive(Debug, Clone, Copy)]
struct Measured {
    messages: u64,
    seconds: f64,
}

impl Measured {
    fn rate(self) -> f64 {
        self.messages as f64 / self.seconds
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut scenario = Scenario::from_toml_file(&args.scenario)?;
    if let (Some(messages), Some(phase)) = (args.messages, scenario.phases.first_mut()) {
        phase.length = PhaseLength::Messages(messages);
    }
    let Some(phase) = scenario.phases.first() else {
        bail!("{}: the scenario has no phase", args.scenario.display());
    };
    let PhaseLength::Messages(messages) = phase.length else {
        bail!(
            "{}: the first phase must count messages (`messages = N`), not a duration",
            args.scenario.display()
        );
    };
    if phase.rate.is_open_loop() {
        bail!(
            "{}: the first phase must be closed loop (rate = 0)",
            args.scenario.display()
        );
    }
    if scenario.target.protocol != Protocol::Kafka {
        bail!(
            "{}: librdkafka's mock cluster speaks only the Kafka protocol",
            args.scenario.display()
        );
    }
    let MessageSize::Fixed(size) = scenario.workload.message_size else {
        bail!(
            "{}: rk_perf sends one size: message_size must be a number",
            args.scenario.display()
        );
    };
    let size = size as usize;
    let rk_mock = args.anchors.join("rk_mock");
    let rk_perf = args.anchors.join("rk_perf");
    for anchor in [&rk_mock, &rk_perf] {
        if !anchor.is_file() {
            bail!(
                "{} not found: build it with `sh ../shared/anchors/build.sh` (from the repository root), or pass --anchors DIR",
                anchor.display()
            );
        }
    }
    let partitions = scenario.workload.partitions;
    let config = &scenario.producer;
    let acks = match config.acks {
        Acks::None => "0",
        Acks::Leader => "1",
        Acks::All => "all",
    };
    let rk_args = [
        format!("acks={acks}"),
        format!("linger.ms={}", config.linger.as_millis()),
        format!("batch.size={}", config.batch_size.min(2_147_483_647)),
        format!("enable.idempotence={}", config.idempotent.unwrap_or(false)),
    ];
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    println!(
        "{messages} messages of {size} B per run, {partitions} partition(s), {}, {} runs each, alternating",
        rk_args.join(" "),
        args.repeat.max(1)
    );
    println!(
        "{:<4} {:>13} {:>13} {:>13}",
        "run", "loadgen", "producer", "rk_perf"
    );
    let mut all: [Vec<f64>; 3] = Default::default();
    for run in 1..=args.repeat.max(1) {
        let mut rates = [f64::NAN; 3];
        for (side, runs) in all.iter_mut().enumerate() {
            if args.only.as_deref().is_some_and(|only| only != SIDES[side]) {
                continue;
            }
            let mock = Mock::start(&rk_mock, partitions)?;
            let measured = match side {
                0 => runtime.block_on(run_loadgen(&scenario, &mock.address))?,
                1 => runtime.block_on(run_producer(&scenario, &mock.address, messages, size))?,
                _ => run_rk_perf(&rk_perf, &mock.address, messages, size, &rk_args)?,
            };
            drop(mock);
            rates[side] = measured.rate();
            runs.push(measured.rate());
        }
        println!(
            "{run:<4} {:>13} {:>13} {:>13}",
            shown(rates[0]),
            shown(rates[1]),
            shown(rates[2])
        );
    }
    for (name, pick) in [("best", best as fn(&mut [f64]) -> f64), ("median", median)] {
        let [loadgen, producer, rk] = all.clone().map(|mut runs| pick(&mut runs));
        let ratio = |a: f64, b: f64| match a / b {
            r if r.is_nan() => "-".to_string(),
            r => format!("{r:.2}x"),
        };
        println!(
            "{name:<6} {:>11} {:>13} {:>13}   loadgen / producer {}   loadgen / rk_perf {}   producer / rk_perf {}",
            shown(loadgen),
            shown(producer),
            shown(rk),
            ratio(loadgen, producer),
            ratio(loadgen, rk),
            ratio(producer, rk)
        );
    }
    Ok(())
}

/// A rate in msgs/s, or "-" for a side that did not run (`--only`).
fn shown(rate: f64) -> String {
    if rate.is_nan() {
        "-".to_string()
    } else {
        format!("{rate:.0}")
    }
}

/// The highest of `rates`; NaN when there are none.
fn best(rates: &mut [f64]) -> f64 {
    rates.iter().copied().fold(f64::NAN, f64::max)
}

/// The median of `rates` (the upper one of an even count); NaN when there are none.
fn median(rates: &mut [f64]) -> f64 {
    rates.sort_by(f64::total_cmp);
    rates.get(rates.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A fresh librdkafka mock cluster, stopped when dropped.
struct Mock {
    child: Child,
    address: String,
}

impl Mock {
    fn start(rk_mock: &Path, partitions: u32) -> anyhow::Result<Mock> {
        let mut child = Command::new(rk_mock)
            .args(["1", &partitions.to_string()])
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", rk_mock.display()))?;
        let stdout = child.stdout.take().expect("piped");
        let mut address = String::new();
        BufReader::new(stdout)
            .read_line(&mut address)
            .with_context(|| format!("{} printed no address", rk_mock.display()))?;
        let address = address.trim().to_string();
        if address.is_empty() {
            let _ = child.kill();
            bail!("{} exited without printing its address", rk_mock.display());
        }
        Ok(Mock { child, address })
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the scenario against `address`; the first phase's acknowledged messages over its time.
async fn run_loadgen(scenario: &Scenario, address: &str) -> anyhow::Result<Measured> {
    let mut scenario = scenario.clone();
    scenario.target.broker = BrokerSpec::External(address.to_string());
    scenario.phases.truncate(1);
    let result = loadgen::runner::run(&scenario).await?;
    let phase = &result.phases[0];
    if phase.recorder.error_count() > 0 {
        bail!(
            "loadgen: {} sends failed: {:?}",
            phase.recorder.error_count(),
            phase.recorder.errors()
        );
    }
    Ok(Measured {
        messages: phase.recorder.acked(),
        seconds: phase.elapsed.as_secs_f64(),
    })
}

/// Sends `messages` values of `size` bytes with the scenario's producer
/// settings, as fast as the producer takes them, awaiting each delivery in
/// send order beside the sending loop and recording its latency: the loop
/// of `producer/examples/bench.rs`.
async fn run_producer(
    scenario: &Scenario,
    address: &str,
    messages: u64,
    size: usize,
) -> anyhow::Result<Measured> {
    let mut config = scenario.producer.clone();
    config.broker_address = address.to_string();
    config.topic = scenario.workload.topic.clone();
    let producer = Producer::new(config).await?;
    let payload = bytes::Bytes::from(vec![b'x'; size]);
    let (tx, mut rx) =
        tokio::sync::mpsc::unbounded_channel::<(Instant, producer::DeliveryFuture)>();
    let waiter = tokio::spawn(async move {
        let mut latency =
            Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds");
        let mut acked = 0u64;
        while let Some((sent, delivery)) = rx.recv().await {
            if delivery.await.is_ok() {
                acked += 1;
                latency.saturating_record(sent.elapsed().as_micros() as u64);
            }
        }
        acked
    });
    let start = Instant::now();
    for _ in 0..messages {
        let sent = Instant::now();
        let delivery = producer.send(Record::new(payload.clone())).await?;
        tx.send((sent, delivery))
            .expect("the waiter runs until the sender is dropped");
    }
    drop(tx);
    let acked = waiter.await?;
    let seconds = start.elapsed().as_secs_f64();
    producer.close().await;
    if acked != messages {
        bail!("producer: {} of {messages} sends failed", messages - acked);
    }
    Ok(Measured {
        messages: acked,
        seconds,
    })
}

/// Runs `rk_perf` and reads its `msgs=` and `secs=` fields.
fn run_rk_perf(
    rk_perf: &Path,
    address: &str,
    messages: u64,
    size: usize,
    settings: &[String],
) -> anyhow::Result<Measured> {
    let output = Command::new(rk_perf)
        .args([address, "bench", &messages.to_string(), &size.to_string()])
        .args(settings)
        .stderr(Stdio::inherit())
        .output()
        .with_context(|| format!("cannot run {}", rk_perf.display()))?;
    let line = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        bail!("{} failed ({}): {line}", rk_perf.display(), output.status);
    }
    let field = |name: &str| -> anyhow::Result<f64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .with_context(|| format!("rk_perf printed no {name}=: {line}"))?
            .parse::<f64>()
            .with_context(|| format!("rk_perf's {name}= is not a number: {line}"))
    };
    let (msgs, secs, errors) = (field("msgs")?, field("secs")?, field("errors")?);
    if errors > 0.0 || msgs as u64 != messages {
        bail!("rk_perf delivered {msgs} of {messages} messages, {errors} errors: {line}");
    }
    Ok(Measured {
        messages: msgs as u64,
        seconds: secs.max(Duration::from_micros(1).as_secs_f64()),
    })
}

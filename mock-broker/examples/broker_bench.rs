//! The mock broker's cost beside librdkafka's mock cluster, both fed by librdkafka's producer in
//! the same run, and the mock broker's cost over its own frame protocol.
//!
//! ```text
//! cargo build --release -p mock-broker
//! cargo run --release -p mock-broker --example broker_bench -- --messages 1000000 --sizes 100,1000 --repeat 2
//! ```
//!
//! Each broker runs in a process of its own, started afresh for every run, so its CPU and memory
//! can be read from `/proc`:
//!
//! - the mock broker is `target/release/mock-broker` (built beside this example; build it first),
//!   started with `--listen 127.0.0.1:0 --partitions 1 --admin off`;
//! - librdkafka's mock cluster (one broker, topic `bench` with one partition) is this example
//!   re-executed with a hidden `--serve-rdkafka-mock` flag; it lives until its stdin closes.
//!
//! A run produces `--messages` messages of each `--sizes` bytes to topic `bench` with librdkafka
//! (`ThreadedProducer`, acks=all, linger.ms=5, no compression, batch.size left at its default,
//! the same settings as `rk_perf BOOTSTRAP bench N SIZE acks=all linger.ms=5`) as fast as it
//! accepts them, and is timed from the first send to the last delivery report; any delivery error
//! fails the run. For each size the brokers alternate (mock broker, mock cluster, mock broker over
//! the frame protocol; then again for `--repeat`), and each figure's best over a side's runs is
//! reported (the most msgs/s, beside the fewest as "worst"; the least CPU; the least RSS):
//!
//! - msgs/s: messages over the wall-clock time of the run;
//! - broker CPU ns/msg: the broker process's CPU time during the run (the sum of the first field of
//!   `/proc/PID/task/*/schedstat`, read before the producer is created and after the last
//!   delivery) over the messages; "msgs/s/core" is 1e9 over it, what one core of broker takes;
//! - RSS: `VmRSS` of `/proc/PID/status` after the last delivery;
//! - fresh memory: the CPU time this example takes to write as many bytes as the run's values
//!   into memory it has just allocated (best of `--repeat`), per message, two ways: into a
//!   `Vec` (each page faulted in as it is first written) and into anonymous mappings of 1 MB
//!   populated 256 KiB ahead of the writes (`MADV_POPULATE_WRITE`, as the broker reads a large
//!   request). The cheaper of the two is what keeping every message costs a broker at least, on
//!   this machine, whatever else it does, and what a broker reusing its memory (librdkafka's
//!   mock, or this one with `--retention-bytes`) does not pay.
//!
//! The frame-protocol rows use this workspace's `producer` crate (`Protocol::Frame`, acks=all,
//! linger 5 ms, 1,000,000-byte batches as librdkafka's default `batch.size`) into a fresh mock
//! broker. The startup time is spawn → the address printed on stdout → a TCP connect to it
//! succeeds; the idle RSS is read right then, before any traffic.
//!
//! librdkafka's mock cluster keeps only the newest 100,000 messages or 5 MiB of each partition
//! (`rdkafka_mock.c`), while the mock broker keeps everything it receives, so RSS compares a
//! bounded log with a complete one. `--verbose` prints every run as it ends.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use anyhow::{Context as _, anyhow, bail};
use clap::Parser;
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::DeliveryResult;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{BaseRecord, Producer as _, ProducerContext, ThreadedProducer};

/// Compare the mock broker with librdkafka's mock cluster under librdkafka's producer.
#[derive(Debug, Parser)]
struct Args {
    /// Messages per run.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Message sizes in bytes, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    sizes: Vec<usize>,
    /// Runs per broker and size; the best of them is reported.
    #[arg(long, default_value_t = 2)]
    repeat: usize,
    /// Print every run as it ends.
    #[arg(long)]
    verbose: bool,
    /// One more flag for `mock-broker` (repeatable), e.g.
    /// `--broker-arg=--retention-bytes=5242880` to keep 5 MiB per partition
    /// as librdkafka's mock cluster does.
    #[arg(long = "broker-arg", value_name = "FLAG", allow_hyphen_values = true)]
    broker_args: Vec<String>,
    /// Serve librdkafka's mock cluster until stdin closes (how this example starts it).
    #[arg(long, hide = true)]
    serve_rdkafka_mock: bool,
}

/// How long a broker may take to print its address and accept a connection.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a run may take to deliver everything once the last message is sent.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(180);
const TOPIC: &str = "bench";

fn main() -> ExitCode {
    let args = Args::parse();
    let result = if args.serve_rdkafka_mock {
        serve_rdkafka_mock()
    } else {
        bench(&args)
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("broker_bench: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The child process: librdkafka's mock cluster, one broker, `bench` with one partition.
fn serve_rdkafka_mock() -> anyhow::Result<()> {
    let cluster = MockCluster::new(1).context("cannot create librdkafka's mock cluster")?;
    cluster
        .create_topic(TOPIC, 1, 1)
        .context("cannot create the topic in librdkafka's mock cluster")?;
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "rdkafka mock listening on {}",
        cluster.bootstrap_servers()
    )?;
    stdout.flush()?;
    // Until the parent closes our stdin (or dies, which closes it too).
    std::io::copy(&mut std::io::stdin(), &mut std::io::sink())?;
    drop(cluster);
    Ok(())
}

/// Which broker, over which protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    /// The mock broker, fed by librdkafka.
    Ours,
    /// librdkafka's mock cluster, fed by librdkafka.
    Mock,
    /// The mock broker, fed by this workspace's producer over the frame protocol.
    Frame,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Ours => "mock-broker  kafka",
            Side::Mock => "rdkafka mock kafka",
            Side::Frame => "mock-broker  frame",
        }
    }
}

/// One run's measurements.
#[derive(Debug, Clone, Copy)]
struct Run {
    seconds: f64,
    messages: usize,
    cpu_ns: u64,
    rss_kib: u64,
    startup: Duration,
    idle_rss_kib: u64,
    /// CPU that `/proc/PID/stat` counted beyond the threads' schedstat (threads that exited).
    cpu_missed_ns: u64,
}

impl Run {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
    fn cpu_per_msg(&self) -> f64 {
        self.cpu_ns as f64 / self.messages as f64
    }
}

/// The best of a side's runs, each figure on its own.
#[derive(Debug, Clone, Copy)]
struct Best {
    rate: f64,
    worst_rate: f64,
    cpu_per_msg: f64,
    rss_kib: u64,
    startup: Duration,
    idle_rss_kib: u64,
}

fn best(runs: &[Run]) -> Best {
    let rates = runs.iter().map(Run::rate);
    Best {
        rate: rates.clone().fold(0.0, f64::max),
        worst_rate: rates.fold(f64::INFINITY, f64::min),
        cpu_per_msg: runs
            .iter()
            .map(Run::cpu_per_msg)
            .fold(f64::INFINITY, f64::min),
        rss_kib: runs.iter().map(|r| r.rss_kib).min().unwrap_or(0),
        startup: runs.iter().map(|r| r.startup).min().unwrap_or_default(),
        idle_rss_kib: runs.iter().map(|r| r.idle_rss_kib).min().unwrap_or(0),
    }
}

fn bench(args: &Args) -> anyhow::Result<()> {
    if args.messages == 0 || args.sizes.is_empty() || args.repeat == 0 {
        bail!("--messages, --sizes and --repeat must be at least 1");
    }
    let this = std::env::current_exe().context("cannot find this example's own path")?;
    let broker = this
        .parent()
        .and_then(|examples| examples.parent())
        .map(|dir| dir.join("mock-broker"))
        .ok_or_else(|| anyhow!("cannot find the target directory above {}", this.display()))?;
    if !broker.is_file() {
        bail!(
            "the mock broker binary {} does not exist: run `cargo build --release -p mock-broker` first \
             (with the same profile as this example)",
            broker.display()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime for the frame producer")?;

    println!(
        "{} messages per run to one partition, acks=all, linger.ms=5, no compression, librdkafka {}; \
         best of {} runs per broker and size",
        args.messages,
        rdkafka::util::get_rdkafka_version().1,
        args.repeat
    );
    println!(
        "mock broker: {} {}",
        broker.display(),
        args.broker_args.join(" ")
    );
    println!();
    println!(
        "{:>6}  {:<18} {:>11} {:>11} {:>8} {:>10} {:>11} {:>9}",
        "size", "broker", "msgs/s", "worst", "MB/s", "CPU ns/msg", "msgs/s/core", "RSS MiB"
    );

    let mut all: Vec<(Side, Run)> = Vec::new();
    for &size in &args.sizes {
        let mut runs: Vec<(Side, Run)> = Vec::new();
        for round in 0..args.repeat {
            for side in [Side::Ours, Side::Mock, Side::Frame] {
                let run = match side {
                    Side::Ours => {
                        let server = Server::mock_broker(&broker, &args.broker_args)?;
                        server.measure(|bootstrap| run_librdkafka(bootstrap, args.messages, size))
                    }
                    Side::Mock => {
                        let server = Server::rdkafka_mock(&this)?;
                        server.measure(|bootstrap| run_librdkafka(bootstrap, args.messages, size))
                    }
                    Side::Frame => {
                        let server = Server::mock_broker(&broker, &args.broker_args)?;
                        server.measure(|bootstrap| {
                            runtime.block_on(run_frame(bootstrap, args.messages, size))
                        })
                    }
                }
                .with_context(|| {
                    format!(
                        "{} run {} of {size}-byte messages failed",
                        side.label(),
                        round + 1
                    )
                })?;
                if args.verbose {
                    println!(
                        "{size:>6}  {:<18} {:>11.0} {:>11} {:>8.1} {:>10.0} {:>11.0} {:>9.1}   run {}, {:.2} s{}",
                        side.label(),
                        run.rate(),
                        "",
                        run.rate() * size as f64 / 1e6,
                        run.cpu_per_msg(),
                        1e9 / run.cpu_per_msg(),
                        run.rss_kib as f64 / 1024.0,
                        round + 1,
                        run.seconds,
                        if run.cpu_missed_ns > 0 {
                            format!(
                                ", exited threads' CPU missed: {} ms",
                                run.cpu_missed_ns / 1_000_000
                            )
                        } else {
                            String::new()
                        }
                    );
                }
                runs.push((side, run));
            }
        }
        let of = |side: Side| -> Vec<Run> {
            runs.iter()
                .filter(|(s, _)| *s == side)
                .map(|(_, r)| *r)
                .collect()
        };
        let (ours, mock, frame) = (
            best(&of(Side::Ours)),
            best(&of(Side::Mock)),
            best(&of(Side::Frame)),
        );
        for (side, b) in [(Side::Ours, ours), (Side::Mock, mock), (Side::Frame, frame)] {
            println!(
                "{size:>6}  {:<18} {:>11.0} {:>11.0} {:>8.1} {:>10.0} {:>11.0} {:>9.1}",
                side.label(),
                b.rate,
                b.worst_rate,
                b.rate * size as f64 / 1e6,
                b.cpu_per_msg,
                1e9 / b.cpu_per_msg,
                b.rss_kib as f64 / 1024.0
            );
        }
        println!(
            "{size:>6}  ratio mock-broker / rdkafka mock (kafka): throughput {:.2}x, CPU per message {:.2}x, RSS {:.2}x",
            ours.rate / mock.rate,
            ours.cpu_per_msg / mock.cpu_per_msg,
            ours.rss_kib as f64 / mock.rss_kib as f64
        );
        let payload = (args.messages * size) as f64;
        println!(
            "{size:>6}  received {:.1} MB of values ({} x {size} B); RSS / bytes received: mock-broker kafka {:.2}, frame {:.2}",
            payload / 1e6,
            args.messages,
            ours.rss_kib as f64 * 1024.0 / payload,
            frame.rss_kib as f64 * 1024.0 / payload
        );
        println!(
            "{size:>6}  one core of mock-broker takes {:.0} msgs/s over Kafka, {:.0} msgs/s over the frame protocol ({:.2}x)",
            1e9 / ours.cpu_per_msg,
            1e9 / frame.cpu_per_msg,
            ours.cpu_per_msg / frame.cpu_per_msg
        );
        let fresh = |populated: bool| -> anyhow::Result<f64> {
            let least = (0..args.repeat.max(1))
                .map(|_| fresh_memory_ns(args.messages * size, populated))
                .collect::<anyhow::Result<Vec<u64>>>()?
                .into_iter()
                .min()
                .unwrap_or_default();
            Ok(least as f64 / args.messages as f64)
        };
        let (faulted, populated) = (fresh(false)?, fresh(true)?);
        println!(
            "{size:>6}  fresh memory: writing {:.1} MB into newly allocated memory costs {faulted:.0} ns of CPU per message \
             faulted in, {populated:.0} ns populated ahead ({:.2}x rdkafka mock's CPU per message): what keeping every message costs at least",
            payload / 1e6,
            faulted.min(populated) / mock.cpu_per_msg
        );
        all.extend(runs);
    }

    let side_runs = |side: Side| -> Vec<Run> {
        all.iter()
            .filter(|(s, _)| *s == side || (side == Side::Ours && *s == Side::Frame))
            .map(|(_, r)| *r)
            .collect()
    };
    let (ours, mock) = (best(&side_runs(Side::Ours)), best(&side_runs(Side::Mock)));
    println!();
    println!(
        "startup, spawn -> address printed -> TCP connect succeeds (best of {} / {} starts): mock-broker {:.1} ms, \
         rdkafka mock {:.1} ms (this example re-executed, librdkafka loaded)",
        side_runs(Side::Ours).len(),
        side_runs(Side::Mock).len(),
        ours.startup.as_secs_f64() * 1e3,
        mock.startup.as_secs_f64() * 1e3
    );
    println!(
        "idle RSS, fresh process before any traffic (least): mock-broker {:.1} MiB, rdkafka mock {:.1} MiB",
        ours.idle_rss_kib as f64 / 1024.0,
        mock.idle_rss_kib as f64 / 1024.0
    );
    println!(
        "note: librdkafka's mock cluster keeps only the newest 100,000 messages or 5 MiB per partition; \
         mock-broker keeps all it receives"
    );
    let missed: u64 = all.iter().map(|(_, r)| r.cpu_missed_ns).sum();
    if missed > 0 {
        println!(
            "warning: threads that exited during runs took {} ms of CPU that schedstat does not show",
            missed / 1_000_000
        );
    }
    Ok(())
}

/// A broker in a process of its own, killed when dropped.
struct Server {
    what: String,
    child: Child,
    bootstrap: String,
    startup: Duration,
    idle_rss_kib: u64,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    fn mock_broker(binary: &std::path::Path, extra: &[String]) -> anyhow::Result<Server> {
        let mut command = Command::new(binary);
        command
            .args([
                "--listen",
                "127.0.0.1:0",
                "--partitions",
                "1",
                "--admin",
                "off",
            ])
            .args(extra)
            .env("RUST_LOG", "warn");
        Server::start(format!("mock broker {}", binary.display()), command)
    }

    fn rdkafka_mock(this: &std::path::Path) -> anyhow::Result<Server> {
        let mut command = Command::new(this);
        command.arg("--serve-rdkafka-mock");
        Server::start(
            format!(
                "librdkafka mock cluster ({} --serve-rdkafka-mock)",
                this.display()
            ),
            command,
        )
    }

    /// Spawns, reads the address from the first line of stdout, waits until it accepts.
    fn start(what: String, mut command: Command) -> anyhow::Result<Server> {
        let spawned = Instant::now();
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start the {what}"))?;
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut pipe = child.stderr.take().expect("stderr is piped");
        let sink = Arc::clone(&stderr);
        std::thread::spawn(move || {
            let mut buffer = [0; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buffer) {
                let mut text = sink.lock().expect("stderr lock");
                if text.len() < 64 * 1024 {
                    text.push_str(&String::from_utf8_lossy(&buffer[..n]));
                }
            }
        });
        let stdout = child.stdout.take().expect("stdout is piped");
        let (line_tx, line_rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let _ = line_tx.send(lines.next());
            // Keep reading so the broker never blocks on a full pipe.
            for _ in lines {}
        });
        let mut server = Server {
            what,
            child,
            bootstrap: String::new(),
            startup: Duration::ZERO,
            idle_rss_kib: 0,
            stderr,
        };
        let line = match line_rx.recv_timeout(STARTUP_TIMEOUT) {
            Ok(Some(Ok(line))) => line,
            Ok(Some(Err(e))) => return Err(server.failed(format!("cannot read its stdout: {e}"))),
            Ok(None) | Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(server.failed("it closed stdout without printing its address".into()));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err(
                    server.failed(format!("it printed no address within {STARTUP_TIMEOUT:?}"))
                );
            }
        };
        let Some(bootstrap) = line.split(" listening on ").nth(1) else {
            return Err(server.failed(format!(
                "its first line {line:?} is not \"... listening on ADDRESS\""
            )));
        };
        server.bootstrap = bootstrap.trim().to_string();
        let first = server
            .bootstrap
            .split(',')
            .next()
            .unwrap_or_default()
            .to_string();
        loop {
            match TcpStream::connect(&first) {
                Ok(_) => break,
                Err(e) if spawned.elapsed() > STARTUP_TIMEOUT => {
                    return Err(server.failed(format!("{first} refuses connections: {e}")));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(1)),
            }
        }
        server.startup = spawned.elapsed();
        server.idle_rss_kib = rss_kib(server.child.id())
            .with_context(|| format!("cannot read the memory of the {}", server.what))?;
        Ok(server)
    }

    /// An error naming this server, its address, its exit status and what it wrote to stderr.
    fn failed(&mut self, reason: String) -> anyhow::Error {
        let status = match self.child.try_wait() {
            Ok(Some(status)) => format!("; it exited: {status}"),
            _ => String::new(),
        };
        let stderr = self.stderr.lock().expect("stderr lock").trim().to_string();
        let address = if self.bootstrap.is_empty() {
            String::new()
        } else {
            format!(" at {}", self.bootstrap)
        };
        anyhow!(
            "the {}{address}: {reason}{status}{}",
            self.what,
            if stderr.is_empty() {
                String::new()
            } else {
                format!("; its stderr:\n{stderr}")
            }
        )
    }

    /// Runs `produce` against this server and reads its CPU and memory around it.
    fn measure(
        mut self,
        produce: impl FnOnce(&str) -> anyhow::Result<(usize, Duration)>,
    ) -> anyhow::Result<Run> {
        let pid = self.child.id();
        let before =
            cpu(pid).with_context(|| format!("cannot read the CPU of the {}", self.what))?;
        let (messages, elapsed) = match produce(&self.bootstrap) {
            Ok(done) => done,
            Err(e) => {
                let reason = format!("{e:#}");
                return Err(self.failed(reason));
            }
        };
        let after =
            cpu(pid).with_context(|| format!("cannot read the CPU of the {}", self.what))?;
        let rss_kib =
            rss_kib(pid).with_context(|| format!("cannot read the memory of the {}", self.what))?;
        if let Ok(Some(status)) = self.child.try_wait() {
            return Err(self.failed(format!("it exited during the run: {status}")));
        }
        let cpu_ns = after.schedstat_ns.saturating_sub(before.schedstat_ns);
        let stat_ns = after.stat_ns.saturating_sub(before.stat_ns);
        // /proc/PID/stat counts in ticks of 10 ms per thread; only a clear excess means threads exited.
        let slack = 50_000_000 + cpu_ns / 20;
        let cpu_missed_ns = stat_ns.saturating_sub(cpu_ns + slack);
        Ok(Run {
            seconds: elapsed.as_secs_f64(),
            messages,
            cpu_ns,
            rss_kib,
            startup: self.startup,
            idle_rss_kib: self.idle_rss_kib,
            cpu_missed_ns,
        })
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A process's CPU time two ways.
struct Cpu {
    /// Sum over its live threads of `/proc/PID/task/TID/schedstat`'s first field (ns on CPU).
    schedstat_ns: u64,
    /// `utime + stime` of `/proc/PID/stat` (includes threads that exited), in ns.
    stat_ns: u64,
}

fn cpu(pid: u32) -> anyhow::Result<Cpu> {
    let dir = format!("/proc/{pid}/task");
    let mut schedstat_ns = 0;
    for entry in std::fs::read_dir(&dir).with_context(|| format!("cannot list {dir}"))? {
        let path = entry?.path().join("schedstat");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            // The thread ended after the listing.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        schedstat_ns += text
            .split_whitespace()
            .next()
            .and_then(|field| field.parse::<u64>().ok())
            .with_context(|| format!("{} is not a schedstat line: {text:?}", path.display()))?;
    }
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    // The fields after the command name, which is in parentheses and may hold spaces.
    let fields: Vec<&str> = text
        .rsplit_once(')')
        .map(|(_, rest)| rest.split_whitespace().collect())
        .unwrap_or_default();
    // utime and stime are fields 14 and 15; `fields[0]` is field 3 (state).
    let ticks: u64 = fields
        .get(11..13)
        .and_then(|two| two.iter().map(|f| f.parse::<u64>().ok()).sum())
        .with_context(|| format!("{path} has no utime and stime: {text:?}"))?;
    // USER_HZ is 100 on Linux.
    Ok(Cpu {
        schedstat_ns,
        stat_ns: ticks * 10_000_000,
    })
}

/// CPU time (ns) this thread takes to write `bytes` bytes into memory it has just allocated:
/// the page faults and zeroing every byte a broker keeps costs it once, before any work of its
/// own, and which a broker that reuses its memory (a bounded log) does not pay. On a VM it
/// includes the hypervisor's share of a first touch. `populated`: into 1 MB anonymous mappings
/// populated 256 KiB ahead of the writes, as the broker reads large requests; else into a `Vec`.
fn fresh_memory_ns(bytes: usize, populated: bool) -> anyhow::Result<u64> {
    let on_cpu = || -> anyhow::Result<u64> {
        let path = "/proc/thread-self/schedstat";
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {path}"))?;
        text.split_whitespace()
            .next()
            .and_then(|field| field.parse().ok())
            .with_context(|| format!("{path} is not a schedstat line: {text:?}"))
    };
    const MAPPING: usize = 1 << 20;
    const STEP: usize = 256 * 1024;
    let before = on_cpu()?;
    if !populated {
        let mut memory: Vec<u8> = Vec::new();
        memory.resize(bytes, 1);
        std::hint::black_box(&memory);
        let after = on_cpu()?;
        drop(memory);
        return Ok(after.saturating_sub(before));
    }
    let mut kept = Vec::with_capacity(bytes / MAPPING + 1);
    let mut left = bytes;
    while left > 0 {
        let len = left.min(MAPPING);
        let mut memory = memmap2::MmapOptions::new()
            .len(len)
            .map_anon()
            .context("cannot map anonymous memory")?;
        for start in (0..len).step_by(STEP) {
            let end = (start + STEP).min(len);
            memory
                .advise_range(memmap2::Advice::PopulateWrite, start, end - start)
                .context("MADV_POPULATE_WRITE")?;
            memory[start..end].fill(1);
        }
        kept.push(memory);
        left -= len;
    }
    std::hint::black_box(&kept);
    let after = on_cpu()?;
    drop(kept);
    Ok(after.saturating_sub(before))
}

fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {path}"))?;
    text.lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .with_context(|| format!("{path} has no VmRSS line"))
}

/// Counts librdkafka's delivery reports and keeps its first error.
#[derive(Default)]
struct Deliveries {
    delivered: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl Deliveries {
    fn note_error(&self, error: String) {
        self.first_error
            .lock()
            .expect("error lock")
            .get_or_insert(error);
    }
}

impl ClientContext for Deliveries {
    fn error(&self, error: KafkaError, reason: &str) {
        self.note_error(format!("librdkafka: {error}: {reason}"));
    }
}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();
    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.note_error(format!("librdkafka failed to deliver: {e}"));
            }
        }
    }
}

/// librdkafka's producer, as `rk_perf BOOTSTRAP bench N SIZE acks=all linger.ms=5`.
fn run_librdkafka(
    bootstrap: &str,
    messages: usize,
    size: usize,
) -> anyhow::Result<(usize, Duration)> {
    let producer: ThreadedProducer<Deliveries> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("compression.type", "none")
        .set("queue.buffering.max.messages", "2000000")
        .set("queue.buffering.max.kbytes", "2097151")
        .set("message.timeout.ms", "60000")
        .create_with_context(Deliveries::default())
        .context("cannot create librdkafka's producer")?;
    let context = producer.context().clone();
    let failure = |what: &str| {
        let first = context.first_error.lock().expect("error lock").clone();
        anyhow!(
            "{what}: {} delivered, {} failed of {messages}{}",
            context.delivered.load(Ordering::Relaxed),
            context.failed.load(Ordering::Relaxed),
            first
                .map(|e| format!("; first error: {e}"))
                .unwrap_or_default()
        )
    };
    let payload = vec![b'x'; size];
    let start = Instant::now();
    for _ in 0..messages {
        let mut record = BaseRecord::<(), [u8]>::to(TOPIC).payload(&payload[..]);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                // A full local queue: wait a little, as rdkafka_performance does.
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_micros(100));
                }
                Err((e, _)) => return Err(failure(&format!("librdkafka refused a message: {e}"))),
            }
            if context.failed.load(Ordering::Relaxed) > 0 {
                return Err(failure("delivery failed"));
            }
        }
    }
    if let Err(e) = producer.flush(FLUSH_TIMEOUT) {
        return Err(failure(&format!("flush did not finish: {e}")));
    }
    // flush returns once the queue is empty; the last reports may still be in the polling thread.
    let deadline = Instant::now() + Duration::from_secs(10);
    while context.delivered.load(Ordering::Relaxed) + context.failed.load(Ordering::Relaxed)
        < messages as u64
    {
        if Instant::now() > deadline {
            return Err(failure("delivery reports missing after flush"));
        }
        std::thread::sleep(Duration::from_micros(100));
    }
    let elapsed = start.elapsed();
    if context.failed.load(Ordering::Relaxed) > 0 {
        return Err(failure("delivery failed"));
    }
    Ok((messages, elapsed))
}

/// This workspace's producer over the frame protocol.
async fn run_frame(
    bootstrap: &str,
    messages: usize,
    size: usize,
) -> anyhow::Result<(usize, Duration)> {
    use producer::{Acks, Config, Producer, Protocol, Record};
    let mut config = Config::new(bootstrap, TOPIC);
    config.protocol = Protocol::Frame;
    config.acks = Acks::All;
    config.idempotent = Some(false);
    config.linger = Duration::from_millis(5);
    config.batch_size = 1_000_000;
    config.buffer_memory = 256 * 1024 * 1024;
    let producer = Producer::new(config)
        .await
        .context("the frame producer cannot start")?;
    let payload = bytes::Bytes::from(vec![b'x'; size]);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<producer::DeliveryFuture>();
    // Deliveries are awaited in send order beside the sending loop.
    let waiter = tokio::spawn(async move {
        let (mut failed, mut first_error) = (0_usize, None);
        while let Some(delivery) = rx.recv().await {
            if let Err(e) = delivery.await {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
        (failed, first_error)
    });
    let start = Instant::now();
    for _ in 0..messages {
        let delivery = producer
            .send(Record::new(payload.clone()))
            .await
            .context("the frame producer refused a message")?;
        if tx.send(delivery).is_err() {
            bail!("the delivery waiter ended early");
        }
    }
    drop(tx);
    let (failed, first_error) = waiter.await.context("the delivery waiter panicked")?;
    let elapsed = start.elapsed();
    producer.close().await;
    if failed > 0 {
        bail!(
            "{failed} of {messages} frame messages failed; first error: {}",
            first_error.unwrap_or_default()
        );
    }
    Ok((messages, elapsed))
}

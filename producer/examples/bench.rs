//! Throughput and delivery latency of this producer beside librdkafka's, both
//! producing into librdkafka's mock cluster in the same run.
//!
//! ```text
//! cargo run --release -p producer --example bench -- --messages 1000000
//! ```
//! Both producers use acks=all, linger 5 ms, 1 MiB batches, no idempotence
//! (librdkafka's default) and no compression; each message is timed from its
//! send call to its acknowledgement.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::Parser;
use hdrhistogram::Histogram;
use producer::{Acks, Config, Producer, Record};
use rdkafka::ClientConfig;
use rdkafka::ClientContext;
use rdkafka::message::DeliveryResult;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::{
    BaseRecord, DefaultProducerContext, Producer as _, ProducerContext, ThreadedProducer,
};

/// Compare this producer with librdkafka's on librdkafka's mock cluster.
#[derive(Debug, Parser)]
struct Args {
    /// Messages per run.
    #[arg(long, default_value_t = 1_000_000)]
    messages: usize,
    /// Message sizes to run, comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    sizes: Vec<usize>,
    /// Partitions of the topic.
    #[arg(long, default_value_t = 3)]
    partitions: i32,
    /// Runs per producer and size; with more than one, medians are reported
    /// (the two producers alternate, so both see the same machine).
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// Run only this producer (for profiling one side): `this` or `librdkafka`.
    #[arg(long)]
    only: Option<String>,
}

/// One run's result.
struct Run {
    seconds: f64,
    latency: Histogram<u64>,
    messages: usize,
    size: usize,
}

impl Run {
    fn rate(&self) -> f64 {
        self.messages as f64 / self.seconds
    }
    fn ms(&self, q: f64) -> f64 {
        self.latency.value_at_quantile(q) as f64 / 1000.0
    }
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600_000_000, 3).expect("valid bounds")
}

fn main() {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!(
        "{} messages per run, acks=all, linger 5 ms, 1 MiB batches, {} partitions, librdkafka {}",
        args.messages,
        args.partitions,
        rdkafka::util::get_rdkafka_version().1
    );
    println!(
        "{:>6}  {:<12} {:>12} {:>10} {:>9} {:>9}",
        "size", "producer", "msgs/s", "MB/s", "p50 ms", "p99 ms"
    );
    for &size in &args.sizes {
        if let Some(only) = &args.only {
            let run = match only.as_str() {
                "this" => runtime.block_on(run_ours(args.messages, size, args.partitions)),
                _ => run_librdkafka(args.messages, size, args.partitions),
            };
            println!(
                "{:>6}  {:<12} {:>12.0} {:>10.1} {:>9.2} {:>9.2}",
                size,
                only,
                run.rate(),
                run.rate() * run.size as f64 / 1e6,
                run.ms(0.5),
                run.ms(0.99)
            );
            continue;
        }
        let mut ours = Vec::new();
        let mut theirs = Vec::new();
        for _ in 0..args.repeat.max(1) {
            ours.push(runtime.block_on(run_ours(args.messages, size, args.partitions)));
            theirs.push(run_librdkafka(args.messages, size, args.partitions));
        }
        let summary = |runs: &[Run]| {
            let mut rates: Vec<f64> = runs.iter().map(Run::rate).collect();
            let mut p50: Vec<f64> = runs.iter().map(|r| r.ms(0.5)).collect();
            let mut p99: Vec<f64> = runs.iter().map(|r| r.ms(0.99)).collect();
            (median(&mut rates), median(&mut p50), median(&mut p99))
        };
        let (our_rate, our_p50, our_p99) = summary(&ours);
        let (their_rate, their_p50, their_p99) = summary(&theirs);
        for (name, rate, p50, p99) in [
            ("this", our_rate, our_p50, our_p99),
            ("librdkafka", their_rate, their_p50, their_p99),
        ] {
            println!(
                "{:>6}  {:<12} {:>12.0} {:>10.1} {:>9.2} {:>9.2}",
                size,
                name,
                rate,
                rate * size as f64 / 1e6,
                p50,
                p99
            );
        }
        println!(
            "{:>6}  ratio        throughput {:.2}x   p99 {:.2}x (this / librdkafka{})",
            size,
            our_rate / their_rate,
            our_p99 / their_p99,
            if args.repeat > 1 {
                format!(", medians of {} runs", args.repeat)
            } else {
                String::new()
            }
        );
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn cluster(partitions: i32) -> MockCluster<'static, DefaultProducerContext> {
    let cluster = MockCluster::new(1).expect("mock cluster");
    cluster.create_topic("bench", partitions, 1).expect("topic");
    cluster
}

async fn run_ours(messages: usize, size: usize, partitions: i32) -> Run {
    let cluster = cluster(partitions);
    let mut config = Config::new(cluster.bootstrap_servers(), "bench");
    config.acks = Acks::All;
    config.idempotent = Some(false);
    config.linger = Duration::from_millis(5);
    config.batch_size = 1024 * 1024;
    config.buffer_memory = 256 * 1024 * 1024;
    let producer = Producer::new(config).await.expect("producer connects");
    let payload = bytes::Bytes::from(vec![b'x'; size]);
    let (tx, mut rx) =
        tokio::sync::mpsc::unbounded_channel::<(Instant, producer::DeliveryFuture)>();
    // Acknowledgements are awaited in send order beside the sending loop.
    let waiter = tokio::spawn(async move {
        let mut latency = histogram();
        while let Some((sent, delivery)) = rx.recv().await {
            delivery.await.expect("delivered");
            latency
                .record(sent.elapsed().as_micros() as u64)
                .expect("in range");
        }
        latency
    });
    let start = Instant::now();
    for _ in 0..messages {
        let sent = Instant::now();
        let delivery = producer
            .send(Record::new(payload.clone()))
            .await
            .expect("enqueued");
        tx.send((sent, delivery)).expect("waiter runs");
    }
    drop(tx);
    let latency = waiter.await.expect("waiter");
    let seconds = start.elapsed().as_secs_f64();
    producer.close().await;
    Run {
        seconds,
        latency,
        messages,
        size,
    }
}

/// Records each message's latency when librdkafka reports its delivery.
struct Timing {
    origin: Instant,
    /// Nanoseconds from `origin` to each message's send call.
    sent: Vec<AtomicU64>,
    latency: Mutex<Histogram<u64>>,
}

impl ClientContext for Timing {}

impl ProducerContext for Timing {
    type DeliveryOpaque = usize;
    fn delivery(&self, result: &DeliveryResult<'_>, index: usize) {
        if let Err((e, _)) = result {
            panic!("librdkafka failed to deliver: {e}");
        }
        let now = self.origin.elapsed().as_nanos() as u64;
        let micros = now.saturating_sub(self.sent[index].load(Ordering::Relaxed)) / 1000;
        self.latency
            .lock()
            .expect("latency lock")
            .record(micros.max(1))
            .expect("in range");
    }
}

fn run_librdkafka(messages: usize, size: usize, partitions: i32) -> Run {
    let cluster = cluster(partitions);
    let timing = Timing {
        origin: Instant::now(),
        sent: (0..messages).map(|_| AtomicU64::new(0)).collect(),
        latency: Mutex::new(histogram()),
    };
    let producer: ThreadedProducer<Timing> = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("acks", "all")
        .set("linger.ms", "5")
        .set("batch.size", "1048576")
        .set("queue.buffering.max.messages", "2000000")
        .set("queue.buffering.max.kbytes", "2097151")
        .create_with_context(timing)
        .expect("librdkafka producer");
    let payload = vec![b'x'; size];
    let context = producer.context().clone();
    let start = Instant::now();
    for i in 0..messages {
        context.sent[i].store(
            context.origin.elapsed().as_nanos() as u64,
            Ordering::Relaxed,
        );
        let mut record =
            BaseRecord::<(), [u8], usize>::with_opaque_to("bench", i).payload(&payload[..]);
        // A full local queue makes librdkafka refuse: wait a little, as rdkafka_performance does.
        while let Err((_, back)) = producer.send(record) {
            record = back;
            std::thread::sleep(Duration::from_micros(100));
        }
    }
    producer.flush(Duration::from_secs(120)).expect("flush");
    let seconds = start.elapsed().as_secs_f64();
    let latency = context.latency.lock().expect("latency lock").clone();
    Run {
        seconds,
        latency,
        messages,
        size,
    }
}

//! Fault injection seen by librdkafka (the `rdkafka` crate): a Kafka client we
//! did not write must ride out the faults the way it would with a real cluster.

use std::sync::mpsc;
use std::time::{Duration, Instant};

use mock_broker::fault::{ApiScope, FaultSpec, FaultState, When};
use mock_broker::{BrokerConfig, MockBroker};
use rdkafka::ClientConfig;
use rdkafka::client::ClientContext;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::statistics::Statistics;

use crate::faults::{assert_exactly_once, fired};

const TIMEOUT: Duration = Duration::from_secs(60);

async fn cluster(brokers: u32, partitions: u32) -> MockBroker {
    let mut config = BrokerConfig::ephemeral();
    config.brokers = brokers;
    config.partitions = partitions;
    MockBroker::start(config).await.expect("broker starts")
}

fn producer_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("enable.idempotence", "true")
        .set("linger.ms", "1")
        .set("retry.backoff.ms", "20")
        .set("reconnect.backoff.ms", "20")
        .set("topic.metadata.refresh.interval.ms", "500")
        .set("message.timeout.ms", TIMEOUT.as_millis().to_string());
    config
}

/// Sends values `range` keyed over three keys and waits for every delivery report.
fn deliver<C: ClientContext + 'static>(
    producer: &FutureProducer<C>,
    topic: &str,
    range: std::ops::Range<u32>,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut pending = Vec::new();
        for i in range {
            let (value, key) = (format!("{i:05}"), format!("k{}", i % 3));
            let record = FutureRecord::to(topic).key(&key).payload(&value);
            pending.push((i, producer.send_result(record).expect("enqueued")));
        }
        for (i, delivery) in pending {
            let result = tokio::time::timeout(TIMEOUT * 2, delivery)
                .await
                .expect("a delivery report in time")
                .expect("the report is not dropped");
            assert!(
                result.is_ok(),
                "message {i}: {:?}",
                result.err().map(|e| e.0)
            );
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_leader_errors_make_librdkafka_refresh_metadata_and_deliver_everything() {
    let broker = cluster(1, 3).await;
    let rule = broker
        .faults()
        .add(
            FaultSpec::error("NOT_LEADER_OR_FOLLOWER")
                .with_api(ApiScope::Produce)
                .with_count(3),
        )
        .unwrap();
    let producer: FutureProducer = producer_config(&broker.bootstrap_servers())
        .create()
        .unwrap();
    tokio::task::spawn_blocking(move || deliver(&producer, "rdkafka-errors", 0..60))
        .await
        .unwrap();
    assert_eq!(fired(&broker, rule.id), (3, FaultState::Expired));
    assert_exactly_once(&broker, "rdkafka-errors", 0..60);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_idempotent_rides_out_lost_answers_a_leader_move_and_an_outage_exactly_once() {
    let broker = cluster(3, 3).await;
    let lost_answers = broker
        .faults()
        .add(
            FaultSpec::disconnect(When::After)
                .with_api(ApiScope::Produce)
                .with_count(2),
        )
        .unwrap();
    let producer: FutureProducer = producer_config(&broker.bootstrap_servers())
        .create()
        .unwrap();
    let topic = "rdkafka-faults";
    let p = producer.clone();
    tokio::task::spawn_blocking(move || deliver(&p, topic, 0..150))
        .await
        .unwrap();

    let moved = broker
        .faults()
        .add(FaultSpec::leader_move(topic, 0, 3))
        .unwrap();
    assert_eq!(broker.cluster().leader(topic, 0), 3);
    let p = producer.clone();
    tokio::task::spawn_blocking(move || deliver(&p, topic, 150..300))
        .await
        .unwrap();

    let outage = Duration::from_millis(800);
    let started = Instant::now();
    broker
        .faults()
        .add(FaultSpec::down(outage).with_broker(2))
        .unwrap();
    let p = producer.clone();
    tokio::task::spawn_blocking(move || deliver(&p, topic, 300..450))
        .await
        .unwrap();
    // Broker 2 leads partition 1, which one key in three goes to.
    assert!(started.elapsed() >= outage);

    assert_exactly_once(&broker, topic, 0..450);
    assert_eq!(broker.faults().get(lost_answers.id).unwrap().fired, 2);
    assert_eq!(broker.faults().get(moved.id).unwrap().fired, 1);
}

/// Hands librdkafka's statistics to the test.
struct StatsContext(std::sync::Mutex<mpsc::Sender<Statistics>>);

impl ClientContext for StatsContext {
    fn stats(&self, statistics: Statistics) {
        let _ = self.0.lock().unwrap().send(statistics);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_reports_the_throttle_time_the_broker_asks_for() {
    let broker = cluster(1, 1).await;
    broker
        .faults()
        .add(FaultSpec::throttle(300).with_api(ApiScope::Produce))
        .unwrap();
    let bootstrap = broker.bootstrap_servers();
    let throttle = tokio::task::spawn_blocking(move || {
        let (tx, rx) = mpsc::channel();
        let mut config = producer_config(&bootstrap);
        config.set("statistics.interval.ms", "100");
        let producer: FutureProducer<StatsContext> = config
            .create_with_context(StatsContext(std::sync::Mutex::new(tx)))
            .unwrap();
        deliver(&producer, "throttled", 0..5);
        // Statistics arrive every 100 ms; wait for one that has seen the throttled responses.
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let stats = rx
                .recv_timeout(remaining)
                .expect("statistics from librdkafka");
            let max = stats
                .brokers
                .values()
                .filter_map(|b| b.throttle.as_ref())
                .map(|w| w.max)
                .max()
                .unwrap_or(0);
            if max > 0 {
                return max;
            }
        }
    })
    .await
    .unwrap();
    assert_eq!(throttle, 300, "librdkafka's largest throttle time, in ms");
    assert_exactly_once(&broker, "throttled", 0..5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn librdkafka_waits_out_added_latency_and_a_stall_and_delivers_everything() {
    let broker = cluster(1, 3).await;
    let producer: FutureProducer = producer_config(&broker.bootstrap_servers())
        .create()
        .unwrap();
    let p = producer.clone();
    tokio::task::spawn_blocking(move || deliver(&p, "slow", 0..30))
        .await
        .unwrap();

    broker
        .faults()
        .add(
            FaultSpec::latency(300)
                .with_api(ApiScope::Produce)
                .with_count(1),
        )
        .unwrap();
    let started = Instant::now();
    let p = producer.clone();
    tokio::task::spawn_blocking(move || deliver(&p, "slow", 30..31))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );

    let stall = Duration::from_millis(500);
    let started = Instant::now();
    broker.faults().add(FaultSpec::stall(stall)).unwrap();
    let p = producer.clone();
    tokio::task::spawn_blocking(move || deliver(&p, "slow", 31..60))
        .await
        .unwrap();
    assert!(started.elapsed() >= stall, "{:?}", started.elapsed());
    assert_exactly_once(&broker, "slow", 0..60);
}

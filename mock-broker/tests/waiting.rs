//! Waiting for records without sleeping (issue 12): `MockBroker::wait_for_records` and the admin
//! API's `GET /topics/{t}/records?min=N&wait_ms=T` answer as soon as the records are there,
//! woken by the appends, and with what there is when the time is up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use mock_broker::record_store::NewRecord;
use mock_broker::{BrokerConfig, ClientInfo, MockBroker, Protocol};

use crate::admin_api::http_with_body;

/// Far longer than any of these waits should take: a wait that ends well before it was woken.
const LONG: Duration = Duration::from_secs(60);

async fn broker() -> MockBroker {
    let mut config = BrokerConfig::ephemeral();
    config.partitions = 2;
    config.admin = Some("127.0.0.1:0".parse().unwrap());
    MockBroker::start(config).await.expect("broker starts")
}

fn now_ms() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since_epoch.as_millis()).unwrap()
}

/// Appends `values` to `partition` of `topic`, as a producer's request would.
fn append(broker: &MockBroker, topic: &str, partition: u32, values: &[&str]) {
    let client = Arc::new(ClientInfo {
        address: "127.0.0.1:9".parse().unwrap(),
        protocol: Protocol::Kafka,
        client_id: None,
    });
    let records: Vec<NewRecord> = values
        .iter()
        .map(|v| NewRecord {
            timestamp: None,
            key: None,
            value: Some(Bytes::copy_from_slice(v.as_bytes())),
            headers: Vec::new(),
            producer: None,
        })
        .collect();
    broker
        .store()
        .topic_for_write(topic)
        .unwrap()
        .append(partition, records, now_ms(), &client)
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_for_records_returns_as_soon_as_another_task_appends_the_last_one() {
    let broker = Arc::new(broker().await);
    let writer = broker.clone();
    let started = Instant::now();
    let waiting = {
        let broker = broker.clone();
        tokio::spawn(async move { broker.wait_for_records("awaited", 3, LONG).await })
    };
    // The topic does not exist yet when the wait starts.
    tokio::spawn(async move {
        append(&writer, "awaited", 0, &["a", "b"]);
        append(&writer, "awaited", 1, &["c"]);
    });
    let records = waiting.await.unwrap();
    assert_eq!(records.len(), 3);
    assert!(
        started.elapsed() < LONG / 2,
        "woken by the append, not by the deadline: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn wait_for_records_returns_what_there_is_when_the_time_is_up() {
    let broker = broker().await;
    append(&broker, "short", 0, &["only"]);
    let started = Instant::now();
    let records = broker
        .wait_for_records("short", 2, Duration::from_millis(200))
        .await;
    assert_eq!(records.len(), 1);
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_answers_a_waiting_request_as_soon_as_the_records_arrive() {
    let broker = Arc::new(broker().await);
    let admin = broker.admin_addr().expect("the admin API listens");
    append(&broker, "polled", 1, &["x", "y"]);
    // Partition 1 from offset 1: one record now, two wanted.
    let path = "/topics/polled/records?partition=1&offset=1&min=2&wait_ms=60000";
    let started = Instant::now();
    let request = tokio::task::spawn_blocking(move || http_with_body(admin, "GET", path, ""));
    let writer = broker.clone();
    tokio::spawn(async move { append(&writer, "polled", 1, &["z"]) });
    let response = request.await.unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    let values: Vec<String> = response
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(values, ["y", "z"]);
    assert!(started.elapsed() < LONG / 2, "{:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_answers_with_what_there_is_at_the_deadline_and_names_bad_parameters() {
    let broker = broker().await;
    let admin = broker.admin_addr().expect("the admin API listens");
    append(&broker, "deadline", 0, &["one"]);
    let started = Instant::now();
    let response = tokio::task::spawn_blocking(move || {
        http_with_body(
            admin,
            "GET",
            "/topics/deadline/records?min=5&wait_ms=300",
            "",
        )
    })
    .await
    .unwrap();
    assert_eq!(response.status, 200, "{response:?}");
    assert_eq!(response.json().as_array().unwrap().len(), 1);
    assert!(started.elapsed() >= Duration::from_millis(300));

    // A topic that never appears: 404 once the wait is over, as without waiting.
    let response = tokio::task::spawn_blocking(move || {
        http_with_body(admin, "GET", "/topics/never/records?wait_ms=50", "")
    })
    .await
    .unwrap();
    assert_eq!(response.error(404), "unknown topic \"never\"");

    for (query, error) in [
        (
            "wait_ms=soon",
            "invalid wait_ms \"soon\": expected milliseconds to wait, 0 or more (at most 60000 are waited)",
        ),
        (
            "min=x&wait_ms=10",
            "invalid min \"x\": expected a number of records, 0 or more",
        ),
        (
            "min=3",
            "query parameter min applies only with wait_ms: say how long to wait for it",
        ),
    ] {
        let path = format!("/topics/deadline/records?{query}");
        let response = tokio::task::spawn_blocking(move || http_with_body(admin, "GET", &path, ""))
            .await
            .unwrap();
        assert_eq!(response.error(400), error, "{query}");
    }
}

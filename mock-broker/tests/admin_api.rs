//! The admin HTTP API over real HTTP, and the record file, against an in-process broker.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use mock_broker::{BrokerConfig, MockBroker, StartError};
use producer::{Config, Producer, Record};
use serde_json::{Value, json};

/// Generous: the machine running the tests may be loaded.
const TIMEOUT: Duration = Duration::from_secs(60);

/// One HTTP response, read whole.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    /// The header lines, lower-cased.
    headers: String,
    pub(crate) body: String,
}

impl Response {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", self.body))
    }

    /// The `error` of a JSON error body, after checking the status.
    pub(crate) fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "{self:?}");
        assert!(
            self.headers.contains("content-type: application/json"),
            "{self:?}"
        );
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {self:?}"))
            .to_string()
    }
}

/// A bare HTTP/1.1 request on its own connection, so the tests need no HTTP client dependency.
pub(crate) fn http(admin: SocketAddr, method: &str, path: &str) -> Response {
    http_with_body(admin, method, path, "")
}

/// [`http`] with a JSON body.
pub(crate) fn http_with_body(admin: SocketAddr, method: &str, path: &str, body: &str) -> Response {
    let mut stream = std::net::TcpStream::connect(admin).expect("admin API accepts");
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {admin}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("not an HTTP response: {response:?}"));
    let (status_line, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    let headers = headers.to_ascii_lowercase();
    assert!(
        !headers.contains("transfer-encoding: chunked"),
        "this helper reads whole bodies only: {response:?}"
    );
    Response {
        status: status_line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status in {status_line:?}")),
        headers,
        body: body.to_string(),
    }
}

/// The broker under test with its admin API on a port of its own.
struct Bench {
    broker: MockBroker,
    admin: SocketAddr,
}

impl Bench {
    async fn start(mut config: BrokerConfig) -> Bench {
        config.admin = Some("127.0.0.1:0".parse().unwrap());
        let broker = MockBroker::start(config).await.expect("broker starts");
        let admin = broker.admin_addr().expect("the admin API runs");
        Bench { broker, admin }
    }

    async fn request(&self, method: &'static str, path: &str) -> Response {
        let (admin, path) = (self.admin, path.to_string());
        // The helper blocks; the broker's tasks keep running meanwhile.
        tokio::task::spawn_blocking(move || http(admin, method, &path))
            .await
            .unwrap()
    }

    /// GETs `path`, expecting 200 and a JSON body.
    async fn get(&self, path: &str) -> Value {
        let response = self.request("GET", path).await;
        assert_eq!(response.status, 200, "GET {path}: {response:?}");
        assert!(
            response.headers.contains("content-type: application/json"),
            "{response:?}"
        );
        response.json()
    }

    /// A frame-protocol producer (these tests check frame counters too).
    async fn producer(&self, topic: &str) -> Producer {
        let mut config = Config::new(self.broker.local_addr().to_string(), topic);
        config.protocol = producer::Protocol::Frame;
        Producer::new(config).await.expect("producer connects")
    }
}

/// `(partition, offset, value)` of each record `GET /topics/t/records{query}` returns.
async fn records(bench: &Bench, query: &str) -> Vec<(u64, u64, String)> {
    bench
        .get(&format!("/topics/t/records{query}"))
        .await
        .as_array()
        .expect("an array of records")
        .iter()
        .map(|r| {
            (
                r["partition"].as_u64().unwrap(),
                r["offset"].as_u64().unwrap(),
                r["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A directory of its own for one test.
fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("admin-api-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[tokio::test]
async fn topics_lists_each_topic_with_its_id_partition_leaders_and_high_watermarks() {
    let mut config = BrokerConfig::ephemeral();
    config.brokers = 2;
    config.partitions = 3;
    let bench = Bench::start(config).await;
    let producer = bench.producer("orders").await;
    for partition in [0, 0, 2] {
        producer
            .send(Record::new("x").with_partition(partition))
            .await
            .unwrap()
            .await
            .unwrap();
    }
    producer
        .send(Record::new("y").with_topic("audit").with_partition(1))
        .await
        .unwrap()
        .await
        .unwrap();

    let topics = bench.get("/topics").await;
    let orders_id = bench
        .broker
        .store()
        .topic("orders")
        .unwrap()
        .id()
        .to_string();
    let audit_id = bench
        .broker
        .store()
        .topic("audit")
        .unwrap()
        .id()
        .to_string();
    assert_ne!(orders_id, audit_id);
    assert_eq!(
        topics,
        json!([
            {
                "name": "audit",
                "configs": {},
                "id": audit_id,
                "partitions": [
                    {"partition": 0, "leader": 1, "high_watermark": 0, "log_start_offset": 0},
                    {"partition": 1, "leader": 2, "high_watermark": 1, "log_start_offset": 0},
                    {"partition": 2, "leader": 1, "high_watermark": 0, "log_start_offset": 0},
                ],
            },
            {
                "name": "orders",
                "configs": {},
                "id": orders_id,
                "partitions": [
                    {"partition": 0, "leader": 1, "high_watermark": 2, "log_start_offset": 0},
                    {"partition": 1, "leader": 2, "high_watermark": 0, "log_start_offset": 0},
                    {"partition": 2, "leader": 1, "high_watermark": 1, "log_start_offset": 0},
                ],
            },
        ])
    );
    assert_eq!(
        uuid::Uuid::parse_str(&orders_id).unwrap().get_version_num(),
        4
    );
}

#[tokio::test]
async fn records_carry_key_value_headers_and_sender_with_non_utf8_bytes_in_base64() {
    let bench = Bench::start(BrokerConfig::ephemeral()).await;
    let producer = bench.producer("t").await;
    producer
        .send(
            Record::new(vec![0xff, 0x00, 0xfe])
                .with_key("user-1")
                .with_header("trace", "first")
                .with_header("bin", vec![0xc3, 0x28])
                .with_header("trace", "second")
                .with_timestamp(1_700_000_000_000),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    producer
        .send(Record::new("plain text"))
        .await
        .unwrap()
        .await
        .unwrap();

    let records = bench.get("/topics/t/records").await;
    let records = records.as_array().unwrap();
    assert_eq!(records.len(), 2);
    let mut first = records[0].clone();
    let receive_time = first["receive_time"].take();
    let client_address = first["client_address"].take();
    assert_eq!(
        first,
        json!({
            "topic": "t",
            "partition": 0,
            "offset": 0,
            "timestamp": 1_700_000_000_000i64,
            "receive_time": null,
            "key": "user-1",
            "value": {"base64": "/wD+"},
            "headers": {"trace": "second", "bin": {"base64": "wyg="}},
            "header_list": [["trace", "first"], ["bin", {"base64": "wyg="}], ["trace", "second"]],
            "producer_id": null,
            "producer_epoch": null,
            "sequence": null,
            "protocol": "frame",
            "client_id": "producer",
            "client_address": null,
        })
    );
    let stored = &bench.broker.store().read("t", 0, 0, 1).unwrap()[0];
    assert_eq!(receive_time, json!(stored.receive_time));
    assert_eq!(client_address, json!(stored.client.address.to_string()));
    assert_eq!(records[1]["offset"], 1);
    assert_eq!(records[1]["key"], Value::Null);
    assert_eq!(records[1]["value"], "plain text");
    assert_eq!(records[1]["headers"], json!({}));
    assert_eq!(records[1]["header_list"], json!([]));
}

#[tokio::test]
async fn records_are_filtered_by_partition_offset_and_limit() {
    let mut config = BrokerConfig::ephemeral();
    config.partitions = 2;
    let bench = Bench::start(config).await;
    let producer = bench.producer("t").await;
    for (partition, value) in [(0, "a0"), (1, "b0"), (0, "a1"), (0, "a2"), (1, "b1")] {
        producer
            .send(Record::new(value).with_partition(partition))
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let p = |partition: u64, offset: u64, value: &str| (partition, offset, value.to_string());

    let everything = vec![
        p(0, 0, "a0"),
        p(0, 1, "a1"),
        p(0, 2, "a2"),
        p(1, 0, "b0"),
        p(1, 1, "b1"),
    ];
    assert_eq!(records(&bench, "").await, everything);
    assert_eq!(records(&bench, "?partition=1").await, &everything[3..]);
    assert_eq!(
        records(&bench, "?partition=0&offset=1").await,
        &everything[1..3]
    );
    assert_eq!(
        records(&bench, "?partition=0&offset=1&limit=1").await,
        &everything[1..2]
    );
    assert_eq!(
        records(&bench, "?offset=1").await,
        vec![p(0, 1, "a1"), p(0, 2, "a2"), p(1, 1, "b1")]
    );
    assert_eq!(records(&bench, "?limit=4").await, &everything[..4]);
    assert_eq!(records(&bench, "?limit=0").await, vec![]);
    assert_eq!(records(&bench, "?offset=3").await, vec![]);
}

#[tokio::test]
async fn unknown_topics_partitions_and_routes_are_404_and_bad_parameters_400_all_in_json() {
    let mut config = BrokerConfig::ephemeral();
    config.partitions = 2;
    let bench = Bench::start(config).await;
    bench.producer("t").await.send_message("x").await.unwrap();

    let response = bench.request("GET", "/topics/nope/records").await;
    assert_eq!(response.error(404), "unknown topic \"nope\"");
    let response = bench.request("GET", "/topics/t/records?partition=5").await;
    let error = response.error(404);
    assert!(error.contains("there is no partition 5"), "{error}");

    let response = bench
        .request("GET", "/topics/t/records?partition=abc")
        .await;
    assert_eq!(
        response.error(400),
        "invalid partition \"abc\": expected a partition number, 0 or more"
    );
    let response = bench.request("GET", "/topics/t/records?limit=-1").await;
    let error = response.error(400);
    assert!(
        error.contains("limit") && error.contains("\"-1\""),
        "{error}"
    );
    let response = bench.request("GET", "/topics/t/records?partiton=1").await;
    assert!(response.error(400).contains("\"partiton\""));

    let response = bench.request("GET", "/no/such/thing").await;
    assert_eq!(response.error(404), "no such endpoint: GET /no/such/thing");
    let response = bench.request("DELETE", "/topics/nope").await;
    assert_eq!(response.error(404), "unknown topic \"nope\"");

    let response = bench.request("POST", "/topics").await;
    assert_eq!(response.error(405), "/topics does not accept POST");
    assert!(response.headers.contains("allow: get"), "{response:?}");
    let response = bench.request("GET", "/reset").await;
    assert_eq!(response.error(405), "/reset does not accept GET");

    let health = bench.request("GET", "/health").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));
}

#[tokio::test]
async fn stats_count_requests_records_errors_connections_and_name_the_brokers() {
    let bench = Bench::start(BrokerConfig::ephemeral()).await;
    let producer = bench.producer("s").await;
    for value in ["a", "b", "c"] {
        producer.send_message(value).await.unwrap();
    }
    producer
        .send(Record::new("refused").with_topic("bad topic"))
        .await
        .unwrap()
        .await
        .unwrap_err();

    let stats = bench.get("/stats").await;
    assert_eq!(stats["requests"]["frame"]["Produce"]["1"], 4, "{stats}");
    assert_eq!(stats["errors"]["frame"]["INVALID_TOPIC_NAME"], 1, "{stats}");
    assert_eq!(stats["topics"]["s"]["records"], 3, "{stats}");
    assert!(
        stats["topics"]["s"]["bytes"].as_u64().unwrap() >= 3,
        "{stats}"
    );
    assert_eq!(stats["records_total"], 3, "{stats}");
    assert!(
        stats["connections"]["total"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    assert!(
        stats["connections"]["open"].as_u64().unwrap() >= 1,
        "{stats}"
    );
    let address = bench.broker.local_addr().to_string();
    assert_eq!(
        stats["brokers"],
        json!([{"node_id": 1, "advertised": address, "listen": address}])
    );
}

#[tokio::test]
async fn delete_drops_one_topic_and_reset_drops_them_all() {
    let bench = Bench::start(BrokerConfig::ephemeral()).await;
    let producer = bench.producer("a").await;
    producer.send_message("1").await.unwrap();
    producer
        .send(Record::new("2").with_topic("b"))
        .await
        .unwrap()
        .await
        .unwrap();

    let response = bench.request("DELETE", "/topics/a").await;
    assert_eq!((response.status, response.body.as_str()), (204, ""));
    assert_eq!(
        bench.request("GET", "/topics/a/records").await.error(404),
        "unknown topic \"a\""
    );
    assert_eq!(bench.request("DELETE", "/topics/a").await.status, 404);
    let names: Vec<Value> = bench
        .get("/topics")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("b")]);

    let response = bench.request("POST", "/reset").await;
    assert_eq!((response.status, response.body.as_str()), (204, ""));
    assert_eq!(bench.get("/topics").await, json!([]));
    assert_eq!(bench.get("/stats").await["records_total"], 0);
    assert_eq!(bench.broker.store().record_count(), 0);
}

#[tokio::test]
async fn the_record_file_holds_one_json_line_per_record_exactly_as_the_api_serves_it() {
    let dir = temp_dir("record-file");
    let path = dir.join("records.jsonl");
    let mut config = BrokerConfig::ephemeral();
    config.partitions = 2;
    config.record_file = Some(path.clone());
    let bench = Bench::start(config).await;
    let producer = bench.producer("t").await;
    producer
        .send(
            Record::new(vec![0x80, 0x81])
                .with_key("k")
                .with_partition(1)
                .with_header("h", "1")
                .with_header("h", "2"),
        )
        .await
        .unwrap()
        .await
        .unwrap();
    for value in ["a", "b", "c"] {
        producer
            .send(Record::new(value).with_partition(0))
            .await
            .unwrap()
            .await
            .unwrap();
    }
    producer
        .send(Record::new("other").with_topic("u"))
        .await
        .unwrap()
        .await
        .unwrap();

    // Each record is in the file before the producer is acknowledged.
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.ends_with('\n'), "{text}");
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}")))
        .collect();
    // Topic lines come first; record lines are the API's objects plus the
    // append's `base_offset` (each record here arrived alone).
    let kinds: Vec<&str> = lines.iter().filter_map(|l| l["kind"].as_str()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "topic").count(), 2, "{text}");
    let from_file: Vec<Value> = lines
        .iter()
        .filter(|l| l.get("kind").is_none())
        .map(|l| {
            let mut record = l.clone();
            let base = record.as_object_mut().unwrap().remove("base_offset");
            assert_eq!(base.as_ref(), Some(&record["offset"]), "{l}");
            record
        })
        .collect();
    let mut from_api = Vec::new();
    for topic in ["t", "u"] {
        let records = bench.get(&format!("/topics/{topic}/records")).await;
        from_api.extend(records.as_array().unwrap().iter().cloned());
    }
    assert_eq!(from_api.len(), 5);
    // The file is in arrival order, the API in topic, partition and offset order.
    let order = |r: &Value| {
        (
            r["topic"].as_str().unwrap().to_string(),
            r["partition"].as_u64().unwrap(),
            r["offset"].as_u64().unwrap(),
        )
    };
    let mut sorted_file = from_file.clone();
    sorted_file.sort_by_key(order);
    assert_eq!(sorted_file, from_api);
    assert_eq!(order(&from_file[0]), ("t".to_string(), 1, 0));
    assert_eq!(from_file[0]["value"], json!({"base64": "gIE="}));
    assert_eq!(from_file[0]["header_list"], json!([["h", "1"], ["h", "2"]]));

    drop(bench);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_record_file_that_cannot_be_opened_stops_the_broker_from_starting() {
    let dir = temp_dir("missing-dir");
    let path = dir.join("no-such-directory").join("records.jsonl");
    let mut config = BrokerConfig::ephemeral();
    config.record_file = Some(path.clone());
    let err = MockBroker::start(config).await.unwrap_err();
    let message = err.to_string();
    match err {
        StartError::RecordFile { path: named, .. } => assert_eq!(named, path),
        other => panic!("expected a record file error, got {other:?}"),
    }
    assert!(message.contains(&path.display().to_string()), "{message}");
    std::fs::remove_dir_all(dir).unwrap();
}

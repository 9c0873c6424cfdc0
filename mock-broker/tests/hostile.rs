//! Hostile clients against the real `mock-broker` binary, one test per attack
//! (see `docs/limits.md`): each time the broker stays up, its memory stays
//! under the stated bound, a well-behaved client is served during and after,
//! nothing of the bad request is recorded and what was recorded before is
//! intact. The tests wait on events (a closed connection, a `/stats`
//! counter, a log line), never on a sleep; time limits are made short by flags.

use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchRequest, FetchTopic};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::admin_api::http;
use crate::binaries::BrokerProcess;
use crate::kafka_protocol::{KafkaClient, name, outcome, produce, records};

/// Generous: the machine running the tests may be loaded.
const DEADLINE: Duration = Duration::from_secs(60);

/// INVALID_RECORD, Kafka's answer to a batch past a record or header limit.
const INVALID_RECORD: i16 = 87;

/// The most a hostile produce may raise the broker's peak memory: twice the
/// default `max_decompressed_bytes` (64 MiB; the decompressed records are read
/// into a buffer that may double as it grows) and the request itself
/// (`docs/limits.md`). Before the header limits, reading back the header bomb
/// below cost about 443 MB.
const PRODUCE_RSS_BOUND_KIB: u64 = (2 * 64 + 16 + 16) * 1024;

/// A `mock-broker` process with its log in a file, watched through its admin API and log.
struct Broker {
    process: BrokerProcess,
    log: PathBuf,
    addr: SocketAddr,
    admin: SocketAddr,
}

impl Broker {
    /// Starts the binary with `args`, its log in a file of its own named after `test`.
    fn start(test: &str, args: &[&str]) -> Broker {
        Broker::start_reading(test, args, 0)
    }

    /// A scratch directory of its own for `test`.
    fn dir(test: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hostile-{}-{test}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    /// Starts it like [`Broker::start`], also reading the `more` lines the binary prints
    /// after the two addresses (the further listeners, the TLS CA file).
    fn start_reading(test: &str, args: &[&str], more: usize) -> Broker {
        let log = Broker::dir(test).join("broker.log");
        let process = BrokerProcess::start_reading(args, &log, more);
        let addr = process.address.parse().expect("one broker address");
        let admin = process
            .admin
            .strip_prefix("http://")
            .and_then(|a| a.parse().ok())
            .expect("the admin address");
        Broker {
            process,
            log,
            addr,
            admin,
        }
    }

    fn stats(&self) -> Value {
        http(self.admin, "GET", "/stats").json()
    }

    /// Refusals counted for `limit` in `/stats`.
    fn refused(&self, limit: &str) -> u64 {
        self.stats()["refused"][limit].as_u64().unwrap_or(0)
    }

    /// Waits until `condition` holds, checking every few milliseconds, for at most [`DEADLINE`].
    async fn wait_until(&self, what: &str, mut condition: impl FnMut(&Broker) -> bool) {
        let start = Instant::now();
        while !condition(self) {
            assert!(
                start.elapsed() < DEADLINE,
                "waited {DEADLINE:?} for {what}; log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for a log line holding every one of `parts`.
    async fn wait_for_log_line(&self, parts: &[&str]) -> String {
        let mut found = String::new();
        self.wait_until(&format!("a log line with {parts:?}"), |broker| match broker
            .log()
            .lines()
            .find(|line| parts.iter().all(|part| line.contains(part)))
        {
            Some(line) => {
                found = line.to_string();
                true
            }
            None => false,
        })
        .await;
        found
    }

    /// The values recorded in `topic`, in order.
    fn values(&self, topic: &str) -> Vec<String> {
        let response = http(self.admin, "GET", &format!("/topics/{topic}/records"));
        if response.status == 404 {
            return Vec::new();
        }
        response
            .json()
            .as_array()
            .expect("an array of records")
            .iter()
            .map(|r| r["value"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// A well-behaved client produces `value` to `topic` and is answered with success.
    async fn serve_well_behaved(&self, topic: &str, value: &str) {
        let mut client = KafkaClient::connect(self.addr).await;
        let response = client
            .call(9, &produce(topic, 0, records(&[value], None), 1))
            .await;
        assert_eq!(outcome(&response).0, 0, "{value} is recorded");
    }

    /// The most resident memory the broker has had, in KiB (`VmHWM` of
    /// `/proc/PID/status`), where there is a `/proc`: what a request cost at
    /// its peak, even if it was given back since.
    fn peak_rss_kib(&self) -> Option<u64> {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.process.pid())).ok()?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().strip_suffix("kB"))
            .and_then(|kib| kib.trim().parse().ok())
    }

    /// Runs `attack` and checks that the broker's peak memory rose by less than `bound_kib`.
    async fn within_memory<T>(&self, bound_kib: u64, attack: impl Future<Output = T>) -> T {
        let before = self.peak_rss_kib();
        let result = attack.await;
        if let (Some(before), Some(after)) = (before, self.peak_rss_kib()) {
            let grown = after.saturating_sub(before);
            assert!(
                grown < bound_kib,
                "the broker's peak memory rose by {grown} KiB, past {bound_kib} KiB"
            );
        }
        result
    }
}

/// Whether the broker closes `stream` (end of stream or reset) within [`DEADLINE`], whatever it
/// sends first.
async fn closed(stream: &mut TcpStream) -> bool {
    let mut scratch = [0u8; 4096];
    tokio::time::timeout(DEADLINE, async {
        loop {
            match stream.read(&mut scratch).await {
                Ok(0) | Err(_) => return true,
                Ok(_) => {}
            }
        }
    })
    .await
    .unwrap_or(false)
}

fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn put_varint(buf: &mut Vec<u8>, value: i64) {
    let mut v = zigzag(value);
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// One record (offset delta `index`, no key, `value`) with `headers` headers of empty key and null value.
fn put_record(buf: &mut Vec<u8>, index: i64, value: &[u8], headers: i64) {
    let mut body = Vec::with_capacity(8 + value.len() + 2 * headers as usize);
    body.push(0); // attributes
    put_varint(&mut body, 0); // timestamp delta
    put_varint(&mut body, index);
    put_varint(&mut body, -1); // null key
    put_varint(&mut body, value.len() as i64);
    body.extend_from_slice(value);
    put_varint(&mut body, headers);
    for _ in 0..headers {
        body.extend_from_slice(&[0, 1]); // key length 0, value length -1
    }
    put_varint(buf, body.len() as i64);
    buf.extend_from_slice(&body);
}

/// A RecordBatch v2 of `count` records whose bytes are `records`, gzip-compressed.
fn gzip_batch(records: &[u8], count: i32) -> Bytes {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(records).unwrap();
    let compressed = encoder.finish().unwrap();
    let mut batch = BytesMut::new();
    batch.put_i64(0); // base offset
    batch.put_i32((61 - 12 + compressed.len()) as i32);
    batch.put_i32(-1); // partition leader epoch
    batch.put_i8(2); // magic
    batch.put_u32(0); // CRC, below
    batch.put_i16(1); // attributes: gzip
    batch.put_i32(count - 1);
    batch.put_i64(1_700_000_000_000);
    batch.put_i64(1_700_000_000_000);
    batch.put_i64(-1); // producer id
    batch.put_i16(-1);
    batch.put_i32(-1);
    batch.put_i32(count);
    batch.put_slice(&compressed);
    let crc = protocol::crc32c::crc32c(&batch[21..]);
    batch[17..21].copy_from_slice(&crc.to_be_bytes());
    batch.freeze()
}

/// Sends a hostile produce of `batch` to `topic` and checks the common
/// promises: the partition's answer is INVALID_RECORD naming `limit`, the
/// refusal is counted, the broker grew by less than the bound, nothing was
/// recorded but what came before, and a well-behaved client is served after.
async fn refuse_produce(broker: &Broker, topic: &str, batch: Bytes, limit: &str) {
    broker.serve_well_behaved(topic, "before").await;
    let mut hostile = KafkaClient::connect(broker.addr).await;
    let response = broker
        .within_memory(
            PRODUCE_RSS_BOUND_KIB,
            hostile.call(9, &produce(topic, 0, batch, 1)),
        )
        .await;
    let partition = &response.responses[0].partition_responses[0];
    let message = partition
        .error_message
        .as_ref()
        .map(|m| m.to_string())
        .unwrap_or_default();
    assert_eq!(partition.error_code, INVALID_RECORD, "{message}");
    assert!(message.contains(limit), "{message}");
    assert_eq!(broker.refused(limit), 1);
    broker.wait_for_log_line(&["refused", limit]).await;
    // The same connection, and a new one, go on being served.
    let response = hostile
        .call(9, &produce(topic, 0, records(&["after"], None), 1))
        .await;
    assert_eq!(outcome(&response).0, 0);
    broker.serve_well_behaved(topic, "later").await;
    assert_eq!(broker.values(topic), ["before", "after", "later"]);
}

#[tokio::test]
async fn a_gzip_batch_of_millions_of_headers_is_refused_naming_max_headers_per_record() {
    let broker = Broker::start("headers", &[]);
    // 8 M empty headers on one record: 16 MB that gzip turns into a few kilobytes.
    let mut records = Vec::new();
    put_record(&mut records, 0, b"v", 8_000_000);
    let batch = gzip_batch(&records, 1);
    assert!(batch.len() < 64 * 1024, "the bomb is {} bytes", batch.len());
    refuse_produce(&broker, "headers", batch, "max_headers_per_record").await;
}

#[tokio::test]
async fn a_batch_of_200_000_tiny_records_is_refused_naming_max_records_per_batch() {
    let broker = Broker::start("records", &[]);
    // Twice the default limit, within max_message_bytes once compressed.
    let mut records = Vec::new();
    for i in 0..200_000 {
        put_record(&mut records, i, b"", 0);
    }
    let batch = gzip_batch(&records, 200_000);
    assert!(batch.len() < 1 << 20, "the batch is {} bytes", batch.len());
    refuse_produce(&broker, "records", batch, "max_records_per_batch").await;
}

#[tokio::test]
async fn a_batch_of_many_records_each_under_the_header_limit_is_refused_by_max_headers_per_batch() {
    let broker = Broker::start("batch-headers", &[]);
    // 1000 records of 1000 headers: each within max_headers_per_record, a million in all.
    let mut records = Vec::new();
    for i in 0..1000 {
        put_record(&mut records, i, b"", 1000);
    }
    let batch = gzip_batch(&records, 1000);
    refuse_produce(&broker, "batch-headers", batch, "max_headers_per_batch").await;
}

#[tokio::test]
async fn a_fetch_listing_one_partition_three_hundred_times_is_answered_once_within_max_bytes() {
    let broker = Broker::start("fetch", &[]);
    let value = "x".repeat(100_000);
    broker.serve_well_behaved("fetch", &value).await;
    let partition = FetchPartition::default()
        .with_partition(0)
        .with_fetch_offset(0)
        .with_partition_max_bytes(1 << 20);
    let request = FetchRequest::default()
        .with_max_wait_ms(0)
        .with_max_bytes(1)
        .with_topics(vec![
            FetchTopic::default()
                .with_topic(name("fetch"))
                .with_partitions(vec![partition; 300]),
        ]);
    let mut client = KafkaClient::connect(broker.addr).await;
    let response = broker
        .within_memory(16 * 1024, async {
            let id = client.send(12, &request).await;
            client.receive::<FetchRequest>(12, id).await
        })
        .await;
    let partitions = &response.responses[0].partitions;
    assert_eq!(partitions.len(), 1, "the partition is answered once");
    let served = partitions[0].records.as_ref().map_or(0, Bytes::len);
    // At least one batch (KIP-74), and only that one: max_bytes is 1. The
    // batch holds one record of 100 kB key ("key-" and the value) and 100 kB value.
    assert!(
        (200_000..300_000).contains(&served),
        "{served} bytes of records"
    );
    broker.serve_well_behaved("fetch", "after").await;
    assert_eq!(broker.values("fetch").len(), 2);
}

#[tokio::test]
async fn idle_connections_fill_max_connections_then_a_newcomer_is_refused_and_counted() {
    let broker = Broker::start(
        "max-connections",
        &["--max-connections", "10", "--first-request-timeout-ms", "0"],
    );
    // The well-behaved client takes its place first, then nine idle ones fill the rest.
    let mut client = KafkaClient::connect(broker.addr).await;
    let response = client
        .call(9, &produce("busy", 0, records(&["before"], None), 1))
        .await;
    assert_eq!(outcome(&response).0, 0);
    let mut idle = Vec::new();
    for _ in 0..9 {
        idle.push(TcpStream::connect(broker.addr).await.unwrap());
    }
    broker
        .wait_until("ten open connections", |b| {
            b.stats()["connections"]["open"] == 10
        })
        .await;
    let mut newcomer = TcpStream::connect(broker.addr).await.unwrap();
    assert!(
        closed(&mut newcomer).await,
        "the newcomer is refused at once"
    );
    assert_eq!(broker.refused("max_connections"), 1);
    let line = broker
        .wait_for_log_line(&["refused", "max_connections"])
        .await;
    assert!(line.contains("10 connections are open"), "{line}");
    // The client that was in goes on being served.
    let response = client
        .call(9, &produce("busy", 0, records(&["during"], None), 1))
        .await;
    assert_eq!(outcome(&response).0, 0);
    // Once idle ones leave, newcomers are served again.
    idle.clear();
    broker
        .wait_until("the idle connections to be gone", |b| {
            b.stats()["connections"]["open"] == 1
        })
        .await;
    broker.serve_well_behaved("busy", "after").await;
    assert_eq!(broker.values("busy"), ["before", "during", "after"]);
}

#[tokio::test]
async fn connections_that_never_complete_a_request_are_closed_after_first_request_timeout_ms() {
    let broker = Broker::start("first-request", &["--first-request-timeout-ms", "1000"]);
    broker.serve_well_behaved("t", "before").await;
    let mut silent = TcpStream::connect(broker.addr).await.unwrap();
    let mut partial = TcpStream::connect(broker.addr).await.unwrap();
    partial.write_all(&[0, 0, 0, 100, 0, 18]).await.unwrap();
    assert!(closed(&mut silent).await, "a silent connection is closed");
    assert!(closed(&mut partial).await, "a half-sent request is closed");
    assert_eq!(broker.refused("first_request_timeout_ms"), 2);
    let line = broker
        .wait_for_log_line(&["refused", "first_request_timeout_ms"])
        .await;
    assert!(line.contains("no request completed"), "{line}");
    // A client that sends its first request at once is not affected.
    broker.serve_well_behaved("t", "after").await;
    assert_eq!(broker.values("t"), ["before", "after"]);
}

#[tokio::test]
async fn tls_handshakes_that_fail_or_stall_are_refused_counted_and_logged() {
    let ca = Broker::dir("tls-handshake").join("ca.pem");
    let broker = Broker::start_reading(
        "tls-handshake",
        &[
            "--listener",
            "SSL://127.0.0.1:0",
            "--tls-self-signed",
            "--tls-ca-file",
            ca.to_str().unwrap(),
            "--tls-handshake-timeout-ms",
            "1000",
        ],
        2,
    );
    let ssl: SocketAddr = broker
        .process
        .more
        .iter()
        .find_map(|line| line.strip_prefix("SSL listener on "))
        .expect("the SSL listener's address is printed")
        .parse()
        .unwrap();
    broker.serve_well_behaved("t", "before").await;

    // A Kafka request where a ClientHello belongs: refused at its first byte.
    let mut garbage = KafkaClient::connect(ssl).await;
    garbage.send(3, &ApiVersionsRequest::default()).await;
    let peer = garbage.stream().local_addr().unwrap();
    assert!(
        closed(garbage.stream()).await,
        "a client without TLS is closed"
    );
    assert_eq!(broker.refused("tls_handshake"), 1);
    let line = broker
        .wait_for_log_line(&["refused", "tls_handshake", &peer.to_string()])
        .await;
    assert!(line.contains("does not speak TLS"), "{line}");

    // A handshake record header promising 160 bytes that never come, and a silent client:
    // both closed when tls_handshake_timeout_ms runs out.
    let mut stalled = TcpStream::connect(ssl).await.unwrap();
    stalled
        .write_all(&[0x16, 0x03, 0x01, 0x00, 0xa0, 0x01])
        .await
        .unwrap();
    let mut silent = TcpStream::connect(ssl).await.unwrap();
    assert!(closed(&mut stalled).await, "a stalled handshake is closed");
    assert!(closed(&mut silent).await, "a silent TLS client is closed");
    assert_eq!(
        broker.refused("tls_handshake_timeout_ms"),
        2,
        "{}",
        broker.stats()
    );
    // Logged once for both: one line per limit and client IP address every 10 seconds.
    let line = broker
        .wait_for_log_line(&["refused", "tls_handshake_timeout_ms"])
        .await;
    assert!(line.contains("did not complete within"), "{line}");

    broker.serve_well_behaved("t", "after").await;
    assert_eq!(broker.values("t"), ["before", "after"]);
}

#[tokio::test]
async fn a_request_trickled_byte_by_byte_is_closed_after_request_timeout_ms_naming_the_peer() {
    let broker = Broker::start("slowloris", &["--request-timeout-ms", "1000"]);
    broker.serve_well_behaved("t", "before").await;
    let mut slow = KafkaClient::connect(broker.addr).await;
    // A first request answered, so only the request timeout is in play.
    let response = slow.call(3, &ApiVersionsRequest::default()).await;
    assert_eq!(response.error_code, 0);
    let (_, request) = slow.encode(9, &produce("t", 0, records(&["slow"], None), 1));
    let stream = slow.stream();
    let peer = stream.local_addr().unwrap();
    let start = Instant::now();
    // The trickle itself is the attack: a byte every 100 ms, until the broker hangs up.
    let mut sent = 0;
    let closed_early = loop {
        if sent == request.len() {
            break false;
        }
        if stream.write_all(&request[sent..=sent]).await.is_err() {
            break true;
        }
        sent += 1;
        let mut byte = [0u8; 1];
        match tokio::time::timeout(Duration::from_millis(100), stream.read(&mut byte)).await {
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(_)) => panic!("the broker answered a trickled request"),
            Err(_) => {}
        }
        assert!(start.elapsed() < DEADLINE, "never closed");
    };
    assert!(
        closed_early,
        "the {} bytes of the request all went out before the broker closed",
        request.len()
    );
    let line = broker
        .wait_for_log_line(&["request_timeout_ms", &peer.to_string()])
        .await;
    assert!(line.contains("not arrived whole"), "{line}");
    assert_eq!(broker.refused("request_timeout_ms"), 1);
    broker.serve_well_behaved("t", "after").await;
    assert_eq!(broker.values("t"), ["before", "after"]);
}

/// A connection to `addr` from the local address `from` (any port).
async fn connect_from(from: IpAddr, addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    socket.connect(addr).await.unwrap()
}

#[tokio::test]
async fn one_address_past_max_connections_per_ip_is_refused_while_another_is_served() {
    let broker = Broker::start("per-ip", &["--max-connections-per-ip", "3"]);
    let crowd = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(connect_from(crowd, broker.addr).await);
    }
    broker
        .wait_until("three open connections", |b| {
            b.stats()["connections"]["open"] == 3
        })
        .await;
    let mut fourth = connect_from(crowd, broker.addr).await;
    assert!(
        closed(&mut fourth).await,
        "the fourth from 127.0.0.2 is refused"
    );
    assert_eq!(broker.refused("max_connections_per_ip"), 1);
    let line = broker
        .wait_for_log_line(&["refused", "max_connections_per_ip", "127.0.0.2"])
        .await;
    assert!(line.contains("3 connections from 127.0.0.2"), "{line}");
    // 127.0.0.1 is another address: served.
    broker.serve_well_behaved("t", "other address").await;
    held.clear();
    broker
        .wait_until("the crowd to be gone", |b| {
            b.stats()["connections"]["open"] == 0
        })
        .await;
    let mut again = KafkaClient::connect(broker.addr).await;
    let response = again.call(3, &ApiVersionsRequest::default()).await;
    assert_eq!(response.error_code, 0);
}

#[tokio::test]
async fn oversized_and_negative_size_prefixes_close_only_their_own_connection() {
    let broker = Broker::start("size-prefix", &[]);
    broker.serve_well_behaved("t", "before").await;
    for prefix in [i32::MAX, -1, i32::MIN, 3] {
        let mut stream = TcpStream::connect(broker.addr).await.unwrap();
        let closed = broker
            .within_memory(4 * 1024, async {
                stream.write_all(&prefix.to_be_bytes()).await.unwrap();
                stream.write_all(&[0u8; 64]).await.unwrap();
                closed(&mut stream).await
            })
            .await;
        assert!(closed, "size {prefix} closes the connection");
    }
    // Two kinds of reason (too large; a size no request can have), each logged once for the
    // address rather than once per connection (unless 10 s passed in between).
    let lines = broker
        .log()
        .lines()
        .filter(|line| line.contains("closing the connection"))
        .count();
    assert!((2..4).contains(&lines), "{lines} lines:\n{}", broker.log());
    broker.serve_well_behaved("t", "after").await;
    assert_eq!(broker.values("t"), ["before", "after"]);
}

#[tokio::test]
async fn garbage_after_a_valid_request_gets_that_request_answered_then_the_connection_closed() {
    let broker = Broker::start("garbage", &[]);
    broker.serve_well_behaved("t", "before").await;
    let mut client = KafkaClient::connect(broker.addr).await;
    let (_, mut bytes) = client.encode(9, &produce("t", 0, records(&["valid"], None), 1));
    // A size that holds, then an api key nobody has.
    bytes.put_i32(12);
    bytes.put_slice(&[0xFF; 12]);
    client.send_bytes(&bytes).await;
    let answered = client.read_response().await;
    assert!(answered.is_some(), "the valid request is answered");
    client.expect_closed().await;
    broker.serve_well_behaved("t", "after").await;
    assert_eq!(broker.values("t"), ["before", "valid", "after"]);
}

#[tokio::test]
async fn a_produce_naming_half_a_million_partitions_is_closed_by_max_partitions_per_request() {
    use kafka_protocol::messages::produce_request::{
        PartitionProduceData, ProduceRequest, TopicProduceData,
    };
    let broker = Broker::start("partitions", &[]);
    broker.serve_well_behaved("t", "before").await;
    // 3 MB of request that, answered, would be a 44 MB response and cost the
    // broker over 60 times its size at the peak; decoding it whole cost about
    // 12 times, before the element budget refused it while it was decoded
    // (docs/limits.md).
    let partitions = (0..500_000)
        .map(|i| PartitionProduceData::default().with_index(i))
        .collect();
    let request = ProduceRequest::default()
        .with_acks(1)
        .with_timeout_ms(5000)
        .with_topic_data(vec![
            TopicProduceData::default()
                .with_name(name("t"))
                .with_partition_data(partitions),
        ]);
    let mut client = KafkaClient::connect(broker.addr).await;
    let (_, bytes) = client.encode(9, &request);
    let answered = broker
        // Its read buffer (up to twice the request while it grows), nothing decoded.
        .within_memory(3 * bytes.len() as u64 / 1024, async {
            client.send_bytes(&bytes).await;
            client.read_response().await
        })
        .await;
    assert_eq!(answered, None, "closed, not answered");
    assert_eq!(broker.refused("max_partitions_per_request"), 1);
    let line = broker
        .wait_for_log_line(&["refused", "max_partitions_per_request"])
        .await;
    assert!(
        line.contains("holds more than 210000 array elements"),
        "{line}"
    );
    broker.serve_well_behaved("t", "after").await;
    assert_eq!(broker.values("t"), ["before", "after"]);
}

#[tokio::test]
async fn every_request_naming_partitions_or_topics_is_held_to_max_partitions_per_request() {
    use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreateTopicsRequest};
    use kafka_protocol::messages::delete_records_request::{
        DeleteRecordsPartition, DeleteRecordsRequest, DeleteRecordsTopic,
    };
    use kafka_protocol::messages::delete_topics_request::{DeleteTopicState, DeleteTopicsRequest};
    use kafka_protocol::messages::describe_groups_request::DescribeGroupsRequest;
    use kafka_protocol::messages::describe_transactions_request::DescribeTransactionsRequest;
    use kafka_protocol::messages::list_offsets_request::{
        ListOffsetsPartition, ListOffsetsRequest, ListOffsetsTopic,
    };
    use kafka_protocol::messages::offset_commit_request::{
        OffsetCommitRequest, OffsetCommitRequestPartition, OffsetCommitRequestTopic,
    };
    use kafka_protocol::messages::offset_fetch_request::{
        OffsetFetchRequest, OffsetFetchRequestGroup, OffsetFetchRequestTopics,
    };
    use kafka_protocol::messages::offset_for_leader_epoch_request::{
        OffsetForLeaderEpochRequest, OffsetForLeaderPartition, OffsetForLeaderTopic,
    };
    use kafka_protocol::messages::{GroupId, TransactionalId};
    use kafka_protocol::protocol::StrBytes;

    const LIMIT: i32 = 100;
    let broker = Broker::start(
        "partitions-every-api",
        &["--max-partitions-per-request", "100"],
    );
    broker.serve_well_behaved("t", "before").await;
    let group = || GroupId(StrBytes::from_static_str("g"));
    let list_offsets = |n: i32| {
        ListOffsetsRequest::default().with_topics(vec![
            ListOffsetsTopic::default()
                .with_name(name("t"))
                .with_partitions(
                    (0..n)
                        .map(|i| {
                            ListOffsetsPartition::default()
                                .with_partition_index(i)
                                .with_timestamp(-1)
                        })
                        .collect(),
                ),
        ])
    };
    // One past the limit, for each API: closed unanswered, nothing done.
    let n = LIMIT + 1;
    let mut requests: Vec<(&str, BytesMut)> = Vec::new();
    let mut encoder = KafkaClient::connect(broker.addr).await;
    requests.push(("ListOffsets", encoder.encode(7, &list_offsets(n)).1));
    requests.push((
        "OffsetCommit",
        encoder
            .encode(
                8,
                &OffsetCommitRequest::default()
                    .with_group_id(group())
                    .with_generation_id_or_member_epoch(-1)
                    .with_topics(vec![
                        OffsetCommitRequestTopic::default()
                            .with_name(name("t"))
                            .with_partitions(
                                (0..n)
                                    .map(|i| {
                                        OffsetCommitRequestPartition::default()
                                            .with_partition_index(i)
                                            .with_committed_offset(1)
                                    })
                                    .collect(),
                            ),
                    ]),
            )
            .1,
    ));
    requests.push((
        "OffsetFetch",
        encoder
            .encode(
                8,
                &OffsetFetchRequest::default().with_groups(vec![
                    OffsetFetchRequestGroup::default()
                        .with_group_id(group())
                        .with_topics(Some(vec![
                            OffsetFetchRequestTopics::default()
                                .with_name(name("t"))
                                .with_partition_indexes((0..n).collect()),
                        ])),
                ]),
            )
            .1,
    ));
    requests.push((
        "DeleteRecords",
        encoder
            .encode(
                2,
                &DeleteRecordsRequest::default().with_topics(vec![
                    DeleteRecordsTopic::default()
                        .with_name(name("t"))
                        .with_partitions(
                            (0..n)
                                .map(|i| {
                                    DeleteRecordsPartition::default()
                                        .with_partition_index(i)
                                        .with_offset(-1)
                                })
                                .collect(),
                        ),
                ]),
            )
            .1,
    ));
    requests.push((
        "CreateTopics",
        encoder
            .encode(
                5,
                &CreateTopicsRequest::default().with_topics(
                    (0..n)
                        .map(|i| {
                            CreatableTopic::default()
                                .with_name(name(&format!("c{i}")))
                                .with_num_partitions(1)
                                .with_replication_factor(1)
                        })
                        .collect(),
                ),
            )
            .1,
    ));
    requests.push((
        "DeleteTopics",
        encoder
            .encode(
                6,
                &DeleteTopicsRequest::default().with_topics(
                    (0..n)
                        .map(|_| DeleteTopicState::default().with_name(Some(name("t"))))
                        .collect(),
                ),
            )
            .1,
    ));
    requests.push((
        "OffsetForLeaderEpoch",
        encoder
            .encode(
                4,
                &OffsetForLeaderEpochRequest::default().with_topics(vec![
                    OffsetForLeaderTopic::default()
                        .with_topic(name("t"))
                        .with_partitions(
                            (0..n)
                                .map(|i| OffsetForLeaderPartition::default().with_partition(i))
                                .collect(),
                        ),
                ]),
            )
            .1,
    ));
    // Groups and transactional ids count one per name.
    requests.push((
        "DescribeGroups",
        encoder
            .encode(
                5,
                &DescribeGroupsRequest::default().with_groups(
                    (0..n)
                        .map(|i| GroupId(StrBytes::from(format!("g{i}"))))
                        .collect(),
                ),
            )
            .1,
    ));
    requests.push((
        "DescribeTransactions",
        encoder
            .encode(
                0,
                &DescribeTransactionsRequest::default().with_transactional_ids(
                    (0..n)
                        .map(|i| TransactionalId(StrBytes::from(format!("tx{i}"))))
                        .collect(),
                ),
            )
            .1,
    ));
    for (api, bytes) in &requests {
        let mut client = KafkaClient::connect(broker.addr).await;
        client.send_bytes(bytes).await;
        assert_eq!(
            client.read_response().await,
            None,
            "{api}: closed, not answered"
        );
    }
    assert_eq!(
        broker.refused("max_partitions_per_request"),
        requests.len() as u64
    );
    let line = broker
        .wait_for_log_line(&["refused", "max_partitions_per_request", "ListOffsets"])
        .await;
    assert!(line.contains("names 101 partitions"), "{line}");
    assert_eq!(
        http(broker.admin, "GET", "/topics/c0/records").status,
        404,
        "no topic was created"
    );
    // At the limit, answered.
    let mut client = KafkaClient::connect(broker.addr).await;
    let response = client.call(7, &list_offsets(LIMIT)).await;
    assert_eq!(response.topics[0].partitions.len(), LIMIT as usize);
    broker.serve_well_behaved("t", "after").await;
    assert_eq!(broker.values("t"), ["before", "after"], "nothing deleted");
}

/// A produce frame of `messages` messages (no key, empty value) of `headers` empty headers each,
/// written by hand: building it as a `ProduceRequest` would cost the test what it costs the broker.
fn frame_of_headers(correlation_id: u32, acks: u8, messages: u32, headers: u16) -> BytesMut {
    let mut body = BytesMut::new();
    body.put_u8(acks);
    body.put_u16(0); // client id
    body.put_u16(1);
    body.put_slice(b"t");
    body.put_i32(0); // partition
    body.put_u32(messages);
    for _ in 0..messages {
        body.put_i64(-1); // no timestamp
        body.put_i32(-1); // no key
        body.put_u32(0); // empty value
        body.put_u16(headers);
        for _ in 0..headers {
            body.put_u16(0); // empty key
            body.put_i32(-1); // null value
        }
    }
    let mut frame = BytesMut::new();
    frame.put_slice(&producer::frame::MAGIC);
    frame.put_u32((body.len() + 6) as u32);
    frame.put_u8(producer::frame::VERSION);
    frame.put_u8(producer::frame::KIND_PRODUCE_REQUEST);
    frame.put_u32(correlation_id);
    frame.put_slice(&body);
    frame
}

#[tokio::test]
async fn a_frame_of_millions_of_headers_is_refused_before_they_are_decoded_even_with_acks_none() {
    use producer::frame::Status;

    use crate::raw_client::RawClient;
    let broker = Broker::start("frame-headers", &[]);
    broker.serve_well_behaved("t", "before").await;
    // 16 MB of 6-byte headers: decoded, 2.8 M of them took ten times that (163 MiB).
    let bomb = frame_of_headers(9, 0, 42, u16::MAX);
    assert!(bomb.len() > 16_000_000);
    let mut hostile = RawClient::connect(broker.addr).await;
    let response = broker
        .within_memory(48 * 1024, async {
            hostile.send_bytes(&bomb).await;
            hostile.response().await
        })
        .await;
    assert_eq!(
        (response.correlation_id, response.status),
        (9, Status::InvalidRequest)
    );
    assert_eq!(
        response.error_message,
        "message 0 carries 65535 headers, more than the limit of 1000 (max_headers_per_record)"
    );
    hostile.expect_closed().await;
    assert_eq!(broker.refused("max_headers_per_record"), 1);
    broker
        .wait_for_log_line(&["refused", "max_headers_per_record"])
        .await;
    broker.serve_well_behaved("t", "after").await;
    assert_eq!(broker.values("t"), ["before", "after"]);
}

#[tokio::test]
async fn a_metadata_request_naming_one_topic_ten_thousand_times_describes_it_once() {
    use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
    let broker = Broker::start("metadata", &["--partitions", "1000"]);
    broker.serve_well_behaved("wide", "before").await;
    // Described each time, the answer would hold ten million partitions (over 250 MB).
    let request =
        MetadataRequest::default().with_topics(Some(vec![
            MetadataRequestTopic::default()
                .with_name(Some(name("wide")));
            10_000
        ]));
    let mut client = KafkaClient::connect(broker.addr).await;
    let response = broker
        .within_memory(16 * 1024, client.call(9, &request))
        .await;
    assert_eq!(response.topics.len(), 1, "described once");
    assert_eq!(response.topics[0].partitions.len(), 1000);
    broker.serve_well_behaved("wide", "after").await;
    assert_eq!(broker.values("wide"), ["before", "after"]);
}

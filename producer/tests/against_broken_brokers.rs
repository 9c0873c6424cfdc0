//! The producer against peers that break the protocol, over real TCP, in both protocols: a
//! scripted listener misbehaves in each way a broken broker (or the wrong server) can, and the
//! producer must fail with a typed error naming it, within a bounded time, without hanging or
//! panicking; a broker that misbehaves once and then behaves gets its records delivered.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use mock_broker::{BrokerConfig, MockBroker};
use producer::{Config, Error, Producer, Protocol};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Everything a broken peer does instead of answering properly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Misbehaviour {
    /// Bytes that are no response: noise for frames, a well-sized Kafka response whose body is noise.
    Garbage,
    /// A well-formed response to a correlation id no request carries.
    WrongCorrelationId,
    /// The start of a response, then the connection closed.
    Truncated,
    /// A size prefix of nearly 2 GiB (frames: 4 GiB).
    HugeSize,
    /// A negative size prefix (frames: a size field below the header's 6 bytes).
    NegativeSize,
    /// Accepts, reads, never answers.
    Silence,
    /// An HTTP server's answer.
    Http,
    /// A TLS alert: a listener that expects TLS.
    Tls,
    /// Closes the connection at once.
    Close,
}

use Misbehaviour::*;

const ALL: [Misbehaviour; 9] = [
    Garbage,
    WrongCorrelationId,
    Truncated,
    HugeSize,
    NegativeSize,
    Silence,
    Http,
    Tls,
    Close,
];

const BOTH: [Protocol; 2] = [Protocol::Frame, Protocol::Kafka];

/// One request or response read whole off a socket, framed per `protocol`; `None` at the end.
async fn read_message(socket: &mut TcpStream, protocol: Protocol) -> Option<Vec<u8>> {
    let head_len = if protocol == Protocol::Frame { 8 } else { 4 };
    let mut head = vec![0u8; head_len];
    socket.read_exact(&mut head).await.ok()?;
    let size = u32::from_be_bytes(head[head_len - 4..].try_into().unwrap()) as usize;
    let mut message = head;
    message.resize(head_len + size, 0);
    socket.read_exact(&mut message[head_len..]).await.ok()?;
    Some(message)
}

/// The correlation id of a request read by [`read_message`].
fn correlation_id(request: &[u8], protocol: Protocol) -> u32 {
    let at = if protocol == Protocol::Frame { 10 } else { 8 };
    u32::from_be_bytes(request[at..at + 4].try_into().unwrap())
}

/// Whether a request read by [`read_message`] is a produce request.
fn is_produce(request: &[u8], protocol: Protocol) -> bool {
    match protocol {
        Protocol::Frame => request[9] == protocol::frame::KIND_PRODUCE_REQUEST,
        _ => request[4..6] == [0, 0],
    }
}

/// What `misbehaviour` sends in answer to request `id`; `None`: it sends nothing and the
/// connection stays open. The connection is closed after the bytes unless it is silent.
fn answer(misbehaviour: Misbehaviour, protocol: Protocol, id: u32) -> Option<Vec<u8>> {
    let frame = protocol == Protocol::Frame;
    let frame_header = |size: u32, kind: u8, id: u32| {
        let mut bytes = b"KFRM".to_vec();
        bytes.extend_from_slice(&size.to_be_bytes());
        bytes.extend_from_slice(&[1, kind]);
        bytes.extend_from_slice(&id.to_be_bytes());
        bytes
    };
    let kafka_header = |size: u32, id: u32| {
        let mut bytes = size.to_be_bytes().to_vec();
        bytes.extend_from_slice(&id.to_be_bytes());
        bytes
    };
    Some(match misbehaviour {
        Garbage if frame => b"\x00\x01 this is no frame at all, just noise \x00".to_vec(),
        Garbage => {
            let mut bytes = kafka_header(16, id);
            bytes.extend_from_slice(&[0xEE; 12]);
            bytes
        }
        // A pong (frames) or an empty body (Kafka) for someone else.
        WrongCorrelationId if frame => frame_header(6, protocol::frame::KIND_PONG, id + 1000),
        WrongCorrelationId => kafka_header(4, id + 1000),
        Truncated if frame => {
            let mut bytes = frame_header(100, protocol::frame::KIND_PRODUCE_RESPONSE, id);
            bytes.extend_from_slice(&[0; 10]);
            bytes
        }
        Truncated => {
            let mut bytes = kafka_header(100, id);
            bytes.extend_from_slice(&[0; 10]);
            bytes
        }
        HugeSize if frame => frame_header(u32::MAX - 8, protocol::frame::KIND_PONG, id),
        HugeSize => kafka_header(i32::MAX as u32, id),
        NegativeSize if frame => frame_header(2, protocol::frame::KIND_PONG, id),
        NegativeSize => kafka_header(-10i32 as u32, id),
        Silence => return None,
        Http => b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n".to_vec(),
        Tls => vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28],
        Close => Vec::new(),
    })
}

/// Acts out `misbehaviour` on a connection whose request `request` it has read.
async fn misbehave(
    mut socket: TcpStream,
    misbehaviour: Misbehaviour,
    protocol: Protocol,
    request: &[u8],
) {
    match answer(misbehaviour, protocol, correlation_id(request, protocol)) {
        Some(bytes) => {
            let _ = socket.write_all(&bytes).await;
            // Closed when dropped; reading first lets the client see the bytes before a reset.
            let _ = socket.shutdown().await;
            let mut sink = Vec::new();
            let _ =
                tokio::time::timeout(Duration::from_secs(30), socket.read_to_end(&mut sink)).await;
        }
        None => {
            let mut sink = Vec::new();
            let _ = socket.read_to_end(&mut sink).await;
        }
    }
}

/// A listener on port 0 that misbehaves on every connection, at the first request.
async fn broken_listener(misbehaviour: Misbehaviour, protocol: Protocol) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                if misbehaviour == Close {
                    return;
                }
                if let Some(request) = read_message(&mut socket, protocol).await {
                    misbehave(socket, misbehaviour, protocol, &request).await;
                }
            });
        }
    });
    address
}

fn config(address: &str, protocol: Protocol) -> Config {
    let mut config = Config::new(address, "t");
    config.protocol = protocol;
    config.connect_timeout = Duration::from_secs(2);
    config
}

/// Whether `error` is the typed error `misbehaviour` must produce, and says why it is not.
fn check(misbehaviour: Misbehaviour, error: &Error) -> Result<(), String> {
    let text = error.to_string();
    let fits = match misbehaviour {
        Garbage => matches!(error, Error::Protocol { reason, .. }
            if reason.contains("not a frame") || reason.contains("cannot decode")),
        WrongCorrelationId => matches!(error, Error::Protocol { reason, .. }
            if reason.contains("which no request on this connection carries")),
        Truncated => matches!(error, Error::ConnectionClosed { reason, .. }
            if reason.contains("in the middle of a response")),
        HugeSize => matches!(error, Error::Protocol { reason, .. } if reason.contains("exceeds")),
        NegativeSize => matches!(error, Error::Protocol { reason, .. }
            if reason.contains("invalid") || reason.contains("smaller than")),
        Silence => matches!(error, Error::NoAnswer { .. }),
        Http => matches!(
            error,
            Error::NotABroker {
                answered: protocol::foreign::Foreign::Http,
                ..
            }
        ),
        Tls => matches!(
            error,
            Error::NotABroker {
                answered: protocol::foreign::Foreign::Tls,
                ..
            }
        ),
        Close => matches!(error, Error::ConnectionClosed { .. }),
    };
    if fits {
        Ok(())
    } else {
        Err(format!(
            "{misbehaviour:?}: unexpected error {error:?} ({text})"
        ))
    }
}

/// Each misbehaviour at the first exchange (the frame protocol's ping, Kafka's ApiVersions)
/// fails `Producer::new` with the error that names it: at once, or after `connect_timeout`
/// for silence, never after a request or delivery timeout.
#[tokio::test]
async fn each_misbehaviour_at_the_first_exchange_fails_with_its_own_error() {
    let mut failures = Vec::new();
    for protocol in BOTH {
        for misbehaviour in ALL {
            let address = broken_listener(misbehaviour, protocol).await;
            let mut config = config(&address, protocol);
            config.request_timeout = Duration::from_secs(60);
            config.delivery_timeout = Duration::from_secs(120);
            let started = Instant::now();
            let outcome = tokio::time::timeout(Duration::from_secs(50), Producer::new(config))
                .await
                .unwrap_or_else(|_| panic!("{protocol:?} {misbehaviour:?}: Producer::new hangs"));
            let elapsed = started.elapsed();
            let Err(error) = outcome else {
                failures.push(format!("{protocol:?} {misbehaviour:?}: connected"));
                continue;
            };
            if let Err(e) = check(misbehaviour, &error) {
                failures.push(format!("{protocol:?} {e}"));
            }
            assert!(
                error.to_string().contains(&address),
                "{protocol:?} {misbehaviour:?}: the error names the address: {error}"
            );
            if misbehaviour == Silence {
                assert!(
                    elapsed >= Duration::from_secs(2),
                    "{protocol:?}: silence is waited out for connect_timeout, not less: {elapsed:?}"
                );
            }
            assert!(
                elapsed < Duration::from_secs(40),
                "{protocol:?} {misbehaviour:?}: bounded by connect_timeout (2 s), not the 60 s request timeout: {elapsed:?}"
            );
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

/// A proxy in front of a real mock broker that answers the first produce request it forwards
/// with `misbehaviour` instead of the broker's answer (the records are stored), and passes
/// everything else through, on every later connection too.
struct Proxy {
    address: String,
    broker: MockBroker,
}

impl Proxy {
    async fn start(misbehaviour: Misbehaviour, protocol: Protocol) -> Proxy {
        Proxy::misbehaving(misbehaviour, protocol, 1).await
    }

    /// A proxy that answers the first `times` produce requests with `misbehaviour`.
    async fn misbehaving(misbehaviour: Misbehaviour, protocol: Protocol, times: u32) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        let mut broker_config = BrokerConfig::ephemeral();
        // Kafka's metadata must send the producer back through the proxy.
        broker_config.advertise = Some(address.clone());
        broker_config.partitions = 1;
        let broker = MockBroker::start(broker_config).await.unwrap();
        let upstream = broker.local_addr().to_string();
        let armed = Arc::new(AtomicU32::new(times));
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let armed = armed.clone();
                tokio::spawn(async move {
                    let server = TcpStream::connect(&upstream).await.unwrap();
                    relay(client, server, protocol, misbehaviour, &armed).await;
                });
            }
        });
        Proxy { address, broker }
    }
}

/// Passes requests and their answers between `client` and `server` one at a time; while `armed`
/// counts more than 0, a produce request's answer is replaced by `misbehaviour` (and it counts down).
async fn relay(
    mut client: TcpStream,
    mut server: TcpStream,
    protocol: Protocol,
    misbehaviour: Misbehaviour,
    armed: &AtomicU32,
) {
    while let Some(request) = read_message(&mut client, protocol).await {
        if server.write_all(&request).await.is_err() {
            return;
        }
        let Some(response) = read_message(&mut server, protocol).await else {
            return;
        };
        if is_produce(&request, protocol)
            && armed
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            misbehave(client, misbehaviour, protocol, &request).await;
            return;
        }
        if client.write_all(&response).await.is_err() {
            return;
        }
    }
}

/// Once connected, a broker that breaks the protocol in answer to a produce request (which it
/// stored) and then behaves: the retriable misbehaviours are retried on a new connection, and an
/// idempotent Kafka producer's record is stored exactly once; another protocol's answer fails
/// the send with `NotABroker`, and the next send goes through a new connection.
#[tokio::test]
async fn a_broker_that_misbehaves_once_then_behaves_gets_each_record_exactly_once() {
    for misbehaviour in ALL {
        let proxy = Proxy::start(misbehaviour, Protocol::Kafka).await;
        let mut config = config(&proxy.address, Protocol::Kafka);
        config.idempotent = Some(true);
        config.request_timeout = Duration::from_secs(2);
        config.delivery_timeout = Duration::from_secs(60);
        config.retry_backoff = Duration::from_millis(10);
        let producer = Producer::new(config).await.unwrap();
        let started = Instant::now();
        let first = producer.send_message("first").await;
        let second = producer.send_message("second").await;
        let elapsed = started.elapsed();
        let stored: Vec<String> = proxy
            .broker
            .store()
            .read("t", 0, 0, 100)
            .unwrap()
            .iter()
            .map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap())
            .collect();
        let metrics = producer.metrics();
        producer.close().await;
        proxy.broker.shutdown().await;
        assert!(second.is_ok(), "{misbehaviour:?}: {second:?}");
        match misbehaviour {
            Http | Tls => {
                let error = first.expect_err("another protocol's answer fails the send");
                check(misbehaviour, &error).unwrap();
                assert_eq!(metrics.errors.get("NOT_A_BROKER"), Some(&1));
                // Stored before the answer went bad; not retried.
                assert_eq!(stored, ["first", "second"], "{misbehaviour:?}");
            }
            _ => {
                assert!(first.is_ok(), "{misbehaviour:?}: {first:?}");
                assert_eq!(
                    stored,
                    ["first", "second"],
                    "{misbehaviour:?}: the retry was deduplicated"
                );
                assert!(metrics.retries >= 1, "{misbehaviour:?}: {metrics:?}");
                assert!(
                    metrics
                        .last_error
                        .as_deref()
                        .is_some_and(|e| e.contains(&proxy.address)),
                    "{misbehaviour:?}: the last error names the broker: {metrics:?}"
                );
                let counted = match misbehaviour {
                    Silence => "REQUEST_TIMEOUT",
                    Truncated | Close => "CONNECTION",
                    _ => "BROKEN_PROTOCOL",
                };
                assert_eq!(
                    metrics.errors.get(counted),
                    Some(&1),
                    "{misbehaviour:?}: {metrics:?}"
                );
            }
        }
        assert!(
            elapsed < Duration::from_secs(40),
            "{misbehaviour:?}: bounded by the 2 s request timeout: {elapsed:?}"
        );
    }
}

/// The frame protocol has no idempotence: a record whose answer went bad is sent again on a new
/// connection and stored twice (at least once), and the producer goes on.
#[tokio::test]
async fn the_frame_producer_retries_a_broken_answer_on_a_new_connection() {
    for misbehaviour in ALL {
        let proxy = Proxy::start(misbehaviour, Protocol::Frame).await;
        let mut config = config(&proxy.address, Protocol::Frame);
        config.request_timeout = Duration::from_secs(2);
        config.delivery_timeout = Duration::from_secs(60);
        config.retry_backoff = Duration::from_millis(10);
        let producer = Producer::new(config).await.unwrap();
        let first = producer.send_message("first").await;
        let second = producer.send_message("second").await;
        let stored: Vec<String> = proxy
            .broker
            .store()
            .read("t", 0, 0, 100)
            .unwrap()
            .iter()
            .map(|r| String::from_utf8(r.value.clone().unwrap().to_vec()).unwrap())
            .collect();
        producer.close().await;
        proxy.broker.shutdown().await;
        assert!(second.is_ok(), "{misbehaviour:?}: {second:?}");
        match misbehaviour {
            Http | Tls => {
                check(misbehaviour, &first.expect_err("fails at once")).unwrap();
                assert_eq!(stored, ["first", "second"], "{misbehaviour:?}");
            }
            _ => {
                assert!(first.is_ok(), "{misbehaviour:?}: {first:?}");
                assert_eq!(stored, ["first", "first", "second"], "{misbehaviour:?}");
            }
        }
    }
}

/// Without retries the send fails with the error itself, typed: a mangled answer is a
/// `Protocol` error, not a delivery timeout.
#[tokio::test]
async fn without_retries_a_mangled_answer_fails_the_send_with_the_protocol_error() {
    for protocol in BOTH {
        let proxy = Proxy::start(Garbage, protocol).await;
        let mut config = config(&proxy.address, protocol);
        config.idempotent = Some(false);
        config.retries = 0;
        let producer = Producer::new(config).await.unwrap();
        let error = producer.send_message("first").await.unwrap_err();
        check(Garbage, &error).unwrap_or_else(|e| panic!("{protocol:?}: {e}"));
        assert!(
            producer.send_message("second").await.is_ok(),
            "{protocol:?}: the next send goes through a new connection"
        );
        producer.close().await;
        proxy.broker.shutdown().await;
    }
}

/// A broker that breaks the protocol in answer to every produce request: the record is retried
/// until `delivery_timeout`, then fails with `DeliveryTimeout` whose `last` is the typed error.
#[tokio::test]
async fn a_broker_that_always_misbehaves_fails_the_record_with_its_error_as_the_last() {
    for protocol in BOTH {
        for misbehaviour in [WrongCorrelationId, Silence] {
            let proxy = Proxy::misbehaving(misbehaviour, protocol, u32::MAX).await;
            let mut config = config(&proxy.address, protocol);
            config.request_timeout = Duration::from_millis(500);
            config.delivery_timeout = Duration::from_secs(3);
            config.retry_backoff = Duration::from_millis(10);
            let producer = Producer::new(config).await.unwrap();
            let started = Instant::now();
            let error = producer.send_message("doomed").await.unwrap_err();
            let elapsed = started.elapsed();
            producer.close().await;
            proxy.broker.shutdown().await;
            let Error::DeliveryTimeout {
                last: Some(last), ..
            } = &error
            else {
                panic!("{protocol:?} {misbehaviour:?}: {error:?}");
            };
            match misbehaviour {
                Silence => assert!(
                    matches!(**last, Error::Timeout { .. }),
                    "{protocol:?}: {last:?}"
                ),
                _ => check(misbehaviour, last).unwrap_or_else(|e| panic!("{protocol:?}: {e}")),
            }
            assert!(
                elapsed < Duration::from_secs(30),
                "{protocol:?} {misbehaviour:?}: bounded by the 3 s delivery timeout: {elapsed:?}"
            );
        }
    }
}

//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz), kept in ordinary code so that
//! `cargo test` on stable replays their committed corpus (`fuzz/corpus/`) through the very same
//! functions. Not part of the crate's API.
//!
//! Each function hands arbitrary bytes to the code that reads what a peer or a file gives: the
//! real sessions and handlers against a fresh in-memory [`BrokerState`] (no socket), the admin
//! API's router, the SASL exchange, or the record file's replay. None panics on any input; a
//! panic is a bug the fuzzer found, in a decoder, a handler, an encoder whose output does not
//! frame, or a check the function makes (an exchange that authenticates without the password, a
//! replay that takes a torn line).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::pin::pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll, Waker};

use bytes::{Buf, BytesMut};
use protocol::frame::{self as frame_codec, Frame, FrameAcks, Message, ProduceRequest};
use protocol::size_prefix::{self, Framed};
use tower::ServiceExt;

use crate::cluster::Cluster;
use crate::config::BrokerConfig;
use crate::fault::FaultSpec;
use crate::outgoing::Outgoing;
use crate::record_line::{FileLine, parse_line};
use crate::replay::{ReplayError, replay};
use crate::sasl::{Credentials, Exchange, Mechanism, Progress, ScramHash, client_final};
use crate::state::BrokerState;
use crate::step::Step;
use crate::store::RecordStore;
use crate::{admin, frame, kafka};

/// Where the fuzzed client seems to connect from.
const PEER: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 40000));

/// The one broker's listen address, as its metadata advertises it.
const LISTEN: SocketAddr = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9092));

/// The fault rules an input's first byte can put in force (`None`: no rule), so that the
/// fault answers of every API are fuzzed too.
const FAULTS: [Option<&str>; 6] = [
    None,
    Some(r#"{"kind": "error", "error": "NOT_LEADER_OR_FOLLOWER"}"#),
    Some(r#"{"kind": "error", "error": "COORDINATOR_NOT_AVAILABLE"}"#),
    Some(r#"{"kind": "throttle", "throttle_ms": 100}"#),
    Some(r#"{"kind": "disconnect", "when": "after"}"#),
    Some(r#"{"kind": "latency", "latency_ms": 5}"#),
];

/// The Kafka request path: the input's first byte picks a fault rule ([`FAULTS`], its low
/// seven bits) and, with its top bit set, a SASL listener (users [`SASL_USERS`]) rather than a
/// PLAINTEXT one; the rest is what a client sends on one connection. Requests are split off by their size prefix and handled
/// by the real session (header, body decode, every handler, RecordBatch validation and
/// decompression, the store) against a fresh broker, until the bytes run out or the session
/// closes the connection.
///
/// A request that has to wait (a Fetch with too little to return, a JoinGroup waiting for its
/// group) is dropped where it waits, as when its client goes away, and the next one is handled.
///
/// # Panics
/// Only on a bug: a panic in the session, or a response that is not one whole size-prefixed
/// message.
pub fn kafka_session(data: &[u8]) {
    let Some((&fault, data)) = data.split_first() else {
        return;
    };
    let sasl = fault & 0x80 != 0;
    let mut state = fresh_state(fault & 0x7f);
    if sasl {
        state.credentials = sasl_credentials().clone();
    }
    // Fetch and the group APIs make tokio timers; they need a runtime to register with.
    let _runtime = runtime().enter();
    let mut session = kafka::Session::on_listener(PEER, node_id(&state), 0, sasl);
    let mut buffer = BytesMut::from(data);
    loop {
        let before = buffer.len();
        let mut out = Outgoing::default();
        let step = poll_once(session.next(&mut buffer, &mut out, &state));
        match step {
            Poll::Pending => {}
            Poll::Ready(Step::Incomplete) => return,
            Poll::Ready(Step::Answered(_)) => check_kafka_responses(out),
            Poll::Ready(Step::Close(..)) => {
                check_kafka_responses(out);
                return;
            }
        }
        if buffer.len() == before {
            return;
        }
    }
}

/// The frame protocol's session: the input's first byte picks a fault rule ([`FAULTS`]), the rest
/// is what a client sends on one connection, handled frame by frame against a fresh broker until
/// the bytes run out or the session closes the connection.
///
/// # Panics
/// Only on a bug: a panic in the session, or a response that is not a whole produce-response
/// frame.
pub fn frame_session(data: &[u8]) {
    let Some((&fault, data)) = data.split_first() else {
        return;
    };
    let state = fresh_state(fault);
    let mut session = frame::Session::new(PEER, node_id(&state));
    let mut buffer = BytesMut::from(data);
    loop {
        let before = buffer.len();
        let mut out = BytesMut::new();
        let step = session.next(&mut buffer, &mut out, &state);
        while !out.is_empty() {
            match frame_codec::parse(&mut out, u32::MAX) {
                Ok(Some(Frame::ProduceResponse(_) | Frame::Pong(_))) => {}
                other => {
                    panic!(
                        "the broker wrote a frame that is not a produce response or a pong: {other:?}"
                    )
                }
            }
        }
        match step {
            Step::Incomplete | Step::Close(..) => return,
            Step::Answered(_) if buffer.len() == before => return,
            Step::Answered(_) => {}
        }
    }
}

/// One admin API request, `METHOD URI` on the first line and the body after it, served by the
/// admin router in-process (no socket) on a broker holding topic `t` (two partitions, three
/// records each): the path and query parsing (`/topics/{topic}/records?partition=&offset=&limit=`,
/// `/faults/{id}`, …), the fault rule JSON of `POST /faults`, and the JSON written back.
///
/// # Panics
/// Only on a bug: a panic in a handler or an extractor.
pub fn admin_request(data: &[u8]) {
    let (head, body) = match data.iter().position(|&b| b == b'\n') {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let Ok(head) = std::str::from_utf8(head) else {
        return;
    };
    let Some((method, uri)) = head.split_once(' ') else {
        return;
    };
    let Ok(request) = axum::http::Request::builder()
        .method(method)
        .uri(uri)
        .body(axum::body::Body::from(body.to_vec()))
    else {
        return;
    };
    let state = Arc::new(fresh_state(0));
    seed_records(&state);
    runtime().block_on(async {
        let response = admin::router(state)
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        // The whole body, so that every byte of the JSON is written.
        let _ = axum::body::to_bytes(response.into_body(), usize::MAX).await;
    });
}

/// The users the SASL target's exchanges authenticate against: (name, password).
const SASL_USERS: [(&str, &str); 2] = [("alice", "secret"), ("bob", "pencil")];

/// One connection's SASL exchange through the pure state machine ([`Exchange`]), as the
/// tokens of its SaslAuthenticate requests (or raw tokens after a v0 handshake) feed it.
///
/// The input's first byte picks the mechanism (its low two bits, modulo three: PLAIN,
/// SCRAM-SHA-256, SCRAM-SHA-512) and, with its top bit set, that a SCRAM token answering the
/// server-first challenge is taken as a password from which the client-final message is
/// computed as a real client would (so that the proof checks are reached with both right and
/// wrong passwords); otherwise every token is used as it is. The rest is the tokens, each a
/// length byte and that many bytes (fewer at the end).
///
/// # Panics
/// On a bug: a panic in the exchange, a server-first message that is not
/// `r=NONCE,s=SALT,i=N`, or an exchange that completes without proof of the password: a
/// PLAIN token whose user and password are not one of [`SASL_USERS`], or a SCRAM client-final
/// message without the proof only that user's password gives.
pub fn sasl_exchange(data: &[u8]) {
    let Some((&mode, mut rest)) = data.split_first() else {
        return;
    };
    let mechanism = Mechanism::ALL[usize::from(mode & 0x03) % Mechanism::ALL.len()];
    let hash = match mechanism {
        Mechanism::ScramSha512 => ScramHash::Sha512,
        Mechanism::ScramSha256 | Mechanism::Plain => ScramHash::Sha256,
    };
    let password_mode = mode & 0x80 != 0;
    let mut exchange = Exchange::new(mechanism);
    // SCRAM, once the client-first was answered: (client-first-bare, server-first).
    let mut answered: Option<(String, String)> = None;
    while let Some((&length, tail)) = rest.split_first() {
        let (token, tail) = tail.split_at(usize::from(length).min(tail.len()));
        rest = tail;
        let token = match &answered {
            Some((bare, server_first)) if password_mode => {
                client_final(hash, &String::from_utf8_lossy(token), bare, server_first)
                    .expect("the server-first message is r=NONCE,s=SALT,i=N")
                    .into_bytes()
            }
            _ => token.to_vec(),
        };
        match exchange.step(&token, sasl_credentials(), || "FUZZNONCE".into()) {
            Ok(Progress::Challenge(challenge)) => {
                let server_first =
                    String::from_utf8(challenge).expect("the server-first message is ASCII");
                let text = String::from_utf8_lossy(&token);
                let bare = text.splitn(3, ',').nth(2).unwrap_or_default().to_string();
                answered = Some((bare, server_first));
            }
            Ok(Progress::Complete { user, .. }) => {
                let Some(&(_, password)) = SASL_USERS.iter().find(|(name, _)| *name == user) else {
                    panic!("authenticated as {user:?}, who is no user");
                };
                match &answered {
                    None => {
                        let text = String::from_utf8_lossy(&token);
                        let parts: Vec<&str> = text.splitn(3, '\0').collect();
                        assert!(
                            parts.len() == 3 && parts[1] == user && parts[2] == password,
                            "PLAIN authenticated {user:?} with the token {text:?}"
                        );
                    }
                    Some((bare, server_first)) => {
                        let right = client_final(hash, password, bare, server_first)
                            .expect("the server-first message is r=NONCE,s=SALT,i=N");
                        let proof = right.rsplit_once(",p=").expect("a proof").1;
                        let sent = String::from_utf8_lossy(&token);
                        assert!(
                            sent.contains(&format!("p={proof}")),
                            "{mechanism} authenticated {user:?} without the proof of its password: {sent:?}"
                        );
                    }
                }
            }
            Err(_) => {}
        }
    }
}

/// The SCRAM iteration count of the fuzzing users. Kafka's 4,096 costs each exchange that
/// reaches the proof (and the target's own client-final computations) milliseconds, which held
/// the SASL target at about 500 inputs a second; the count is only a cost, no branch of the
/// exchange depends on its size, so the fuzzer spends its time on the parsing instead.
const FUZZ_SCRAM_ITERATIONS: u32 = 8;

/// The credentials of [`SASL_USERS`], derived once.
fn sasl_credentials() -> &'static Credentials {
    static CREDENTIALS: OnceLock<Credentials> = OnceLock::new();
    CREDENTIALS.get_or_init(|| {
        let mut credentials = Credentials::default();
        for (name, password) in SASL_USERS {
            credentials.add_with_iterations(name.into(), password.into(), FUZZ_SCRAM_ITERATIONS);
        }
        credentials
    })
}

/// The record file (`--record-file`) replayed at startup: the input is the file's content,
/// written to a scratch file and replayed into a fresh broker as a restart does.
///
/// # Panics
/// On a bug: a panic in the line parser or the replay, or a replay that takes a line it should
/// not. A replay that succeeds must have applied exactly the lines before the cut (all of them
/// when nothing was cut), each of which reads as a line, and counted the records among them;
/// what it cut off must be one last line (a torn write), and the file must be left as that
/// prefix. A refused file must be refused at one of its lines, never by an I/O error.
pub fn record_file(data: &[u8]) {
    static INPUTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let input = INPUTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!(
        "mock-broker-fuzz-record-file-{}-{input}.jsonl",
        std::process::id()
    ));
    std::fs::write(&path, data).expect("the scratch record file is written");
    let state = fresh_state(0);
    let outcome = replay(&path, &state);
    let left = std::fs::read(&path).expect("the scratch record file is read back");
    let _ = std::fs::remove_file(&path);
    match outcome {
        Ok(done) => {
            let kept = match done.truncated_at {
                Some(at) => {
                    let at = usize::try_from(at).expect("a cut inside the input");
                    assert!(
                        at == 0 || data[at - 1] == b'\n',
                        "the cut at byte {at} is not at the start of a line"
                    );
                    let cut = &data[at..];
                    assert!(
                        !cut[..cut.len().saturating_sub(1)].contains(&b'\n'),
                        "the replay cut off more than the last line: {:?}",
                        String::from_utf8_lossy(cut)
                    );
                    &data[..at]
                }
                None => data,
            };
            assert_eq!(left, kept, "the file is not left as what was replayed");
            let lines: Vec<&[u8]> = kept.split_inclusive(|&b| b == b'\n').collect();
            let mut records = 0;
            for line in &lines {
                let line = line
                    .strip_suffix(b"\n")
                    .expect("a kept line ends with a newline");
                match parse_line(line) {
                    Ok(FileLine::Record(_)) => records += 1,
                    Ok(FileLine::Event(_)) => {}
                    Err(e) => panic!(
                        "the replay took a line that does not read ({e}): {:?}",
                        String::from_utf8_lossy(line)
                    ),
                }
            }
            assert_eq!(done.lines, lines.len() as u64, "lines applied");
            assert_eq!(done.records, records, "records applied");
        }
        Err(ReplayError::Line { line, .. }) => {
            let count = data.split_inclusive(|&b| b == b'\n').count() as u64;
            assert!(
                (1..=count).contains(&line),
                "refused at line {line} of {count}"
            );
            assert_eq!(left, data, "a refused file was changed");
        }
        Err(e) => panic!("the replay failed without naming a line: {e}"),
    }
}

/// A broker as `MockBroker::start` makes one, without its sockets: three partitions per
/// auto-created topic, groups that rebalance at once, decompression capped at 1 MiB (the limit
/// works the same at any size, and big outputs would only slow the fuzzer), and the fault rule
/// `FAULTS[fault]` (modulo their number) in force.
fn fresh_state(fault: u8) -> BrokerState {
    let config = BrokerConfig {
        partitions: 3,
        max_decompressed_bytes: 1 << 20,
        ..BrokerConfig::ephemeral()
    };
    let cluster = Cluster::new(config.cluster_id.clone(), &[LISTEN], None)
        .expect("a cluster without advertise is valid");
    let store = RecordStore::with_limits(
        config.partitions,
        config.auto_create_topics,
        config.store_limits(),
    );
    let state = BrokerState::new(config, cluster, store).expect("the fuzzing config is valid");
    if let Some(rule) = FAULTS[usize::from(fault) % FAULTS.len()] {
        let spec: FaultSpec = serde_json::from_str(rule).expect("the FAULTS rules parse");
        state.faults.add(spec).expect("the FAULTS rules are valid");
    }
    state
}

/// Records three messages in each of partitions 0 and 1 of topic `t`, through the frame session.
fn seed_records(state: &BrokerState) {
    let mut session = frame::Session::new(PEER, node_id(state));
    state.store.create_topic("t", 2);
    for partition in 0..2 {
        let message = Message {
            timestamp: Some(1_700_000_000_000),
            key: Some(bytes::Bytes::from_static(b"k")),
            value: bytes::Bytes::from_static(b"value"),
            headers: vec![protocol::Header {
                key: "h".into(),
                value: None,
            }],
        };
        let request = ProduceRequest {
            correlation_id: partition,
            acks: FrameAcks::Recorded,
            client_id: "fuzz".into(),
            topic: "t".into(),
            partition: Some(partition),
            messages: vec![message; 3],
        };
        let mut buffer = BytesMut::new();
        Frame::ProduceRequest(request)
            .encode(&mut buffer)
            .expect("a small frame encodes");
        let step = session.next(&mut buffer, &mut BytesMut::new(), state);
        assert!(
            matches!(step, Step::Answered(_)),
            "seeding failed: {step:?}"
        );
    }
}

fn node_id(state: &BrokerState) -> i32 {
    state.cluster.nodes()[0].node_id
}

/// Polls `future` once: it either finishes without waiting, or waits (for a timer, an append, a
/// group) and is dropped by the caller, as a connection's request is when its client leaves.
fn poll_once<F: Future>(future: F) -> Poll<F::Output> {
    let future = pin!(future);
    future.poll(&mut Context::from_waker(Waker::noop()))
}

/// What the Kafka session wrote for one request: whole size-prefixed responses, nothing more.
fn check_kafka_responses(mut out: Outgoing) {
    let mut bytes = BytesMut::from(out.copy_to_bytes(out.remaining()));
    while !bytes.is_empty() {
        match size_prefix::split(&mut bytes, Framed::Response, u32::MAX) {
            Ok(Some(_)) => {}
            other => panic!("the broker wrote a response that does not frame: {other:?}"),
        }
    }
}

/// One runtime for every input: its timers are registered by the Kafka session, and the admin
/// router runs on it.
fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime builds")
    })
}

//! A SASL listener over real TCP, spoken to byte by byte: the exchanges clients use (v1
//! handshake then SaslAuthenticate, and the v0 handshake's raw tokens) and the hostile side:
//! requests before authenticating, an unknown mechanism, garbage tokens, a wrong password, a
//! SCRAM client-final with a forged nonce, a frame-protocol client. Each failure must be
//! answered as Kafka answers it and then close the connection.

use std::net::SocketAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use kafka_protocol::messages::{
    ApiVersionsRequest, MetadataRequest, SaslAuthenticateRequest, SaslAuthenticateResponse,
    SaslHandshakeRequest, metadata_request::MetadataRequestTopic,
};
use kafka_protocol::protocol::StrBytes;
use mock_broker::{BrokerConfig, ListenerSpec, MockBroker, SecurityProtocol};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::kafka_protocol::{KafkaClient, name, produce, records};

const SASL_AUTHENTICATION_FAILED: i16 = 58;
const ILLEGAL_SASL_STATE: i16 = 34;
const UNSUPPORTED_SASL_MECHANISM: i16 = 33;

/// A broker with a SASL_PLAINTEXT listener beside its PLAINTEXT one, and user alice.
async fn sasl_broker() -> (MockBroker, SocketAddr) {
    let mut config = BrokerConfig::ephemeral();
    config.listeners.push(
        "SASL_PLAINTEXT://127.0.0.1:0"
            .parse::<ListenerSpec>()
            .unwrap(),
    );
    config.sasl_users = vec!["alice:secret".into()];
    let broker = MockBroker::start(config).await.expect("broker starts");
    let address = broker
        .listener_addr(SecurityProtocol::SaslPlaintext)
        .expect("the SASL listener is bound");
    (broker, address)
}

async fn handshake(client: &mut KafkaClient, mechanism: &'static str) -> Vec<String> {
    let response = client
        .call(
            1,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str(mechanism)),
        )
        .await;
    assert_eq!(response.error_code, 0, "{response:?}");
    response.mechanisms.iter().map(|m| m.to_string()).collect()
}

async fn authenticate(client: &mut KafkaClient, token: &[u8]) -> SaslAuthenticateResponse {
    client
        .call(
            2,
            &SaslAuthenticateRequest::default().with_auth_bytes(Bytes::copy_from_slice(token)),
        )
        .await
}

/// A Metadata request answered on this connection: what only an authenticated client gets.
async fn metadata_is_served(client: &mut KafkaClient) {
    let response = client.call(12, &MetadataRequest::default()).await;
    assert_eq!(response.brokers.len(), 1, "{response:?}");
}

#[tokio::test]
async fn plain_authenticates_then_every_request_is_served_and_metadata_names_the_sasl_port() {
    let (broker, address) = sasl_broker().await;
    let mut client = KafkaClient::connect(address).await;
    let versions = client.call(3, &ApiVersionsRequest::default()).await;
    assert!(
        versions.api_keys.iter().any(|k| k.api_key == 17)
            && versions.api_keys.iter().any(|k| k.api_key == 36),
        "ApiVersions lists SaslHandshake and SaslAuthenticate: {versions:?}"
    );
    let mechanisms = handshake(&mut client, "PLAIN").await;
    assert_eq!(mechanisms, ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]);
    let response = authenticate(&mut client, b"\0alice\0secret").await;
    assert_eq!(response.error_code, 0, "{response:?}");
    let metadata = client.call(12, &MetadataRequest::default()).await;
    assert_eq!(
        metadata.brokers[0].port,
        i32::from(address.port()),
        "Metadata advertises the listener the client came in on"
    );
    // Kafka's request handler answers a second exchange ILLEGAL_SASL_STATE, and keeps serving.
    let again = authenticate(&mut client, b"\0alice\0secret").await;
    assert_eq!(again.error_code, ILLEGAL_SASL_STATE, "{again:?}");
    metadata_is_served(&mut client).await;
    broker.shutdown().await;
}

#[tokio::test]
async fn requests_before_the_handshake_close_the_connection_unanswered() {
    let (broker, address) = sasl_broker().await;
    let mut before_handshake = KafkaClient::connect(address).await;
    before_handshake.send(12, &MetadataRequest::default()).await;
    before_handshake.expect_closed().await;
    // The PLAINTEXT listener of the same broker needs no authentication.
    let mut plaintext = KafkaClient::connect(broker.local_addr()).await;
    metadata_is_served(&mut plaintext).await;
    broker.shutdown().await;
}

#[tokio::test]
async fn other_requests_during_the_exchange_are_answered_illegal_sasl_state_then_closed() {
    // As Kafka's SaslServerAuthenticator: the request's own response with ILLEGAL_SASL_STATE.
    let (broker, address) = sasl_broker().await;
    let mut api_versions = KafkaClient::connect(address).await;
    handshake(&mut api_versions, "SCRAM-SHA-256").await;
    let response = api_versions.call(3, &ApiVersionsRequest::default()).await;
    assert_eq!(response.error_code, ILLEGAL_SASL_STATE, "{response:?}");
    api_versions.expect_closed().await;

    let mut second_handshake = KafkaClient::connect(address).await;
    handshake(&mut second_handshake, "PLAIN").await;
    let response = second_handshake
        .call(
            1,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
        )
        .await;
    assert_eq!(response.error_code, ILLEGAL_SASL_STATE, "{response:?}");
    second_handshake.expect_closed().await;

    // Midway through SCRAM: a Produce is answered per partition, and records nothing.
    let mut client = KafkaClient::connect(address).await;
    handshake(&mut client, "SCRAM-SHA-256").await;
    let challenge = authenticate(&mut client, b"n,,n=alice,r=CLIENTNONCE").await;
    assert_eq!(challenge.error_code, 0, "{challenge:?}");
    let request = produce("t", 0, records(&["x"], None), 1);
    let response = client.call(9, &request).await;
    let partition = &response.responses[0].partition_responses[0];
    assert_eq!(partition.error_code, ILLEGAL_SASL_STATE, "{response:?}");
    client.expect_closed().await;
    // A Metadata naming a topic: each topic answered with the error, none auto-created.
    let mut client = KafkaClient::connect(address).await;
    handshake(&mut client, "PLAIN").await;
    let request = MetadataRequest::default().with_topics(Some(vec![
        MetadataRequestTopic::default().with_name(Some(name("m"))),
    ]));
    let response = client.call(12, &request).await;
    assert_eq!(response.topics.len(), 1, "{response:?}");
    assert_eq!(response.topics[0].error_code, ILLEGAL_SASL_STATE);
    client.expect_closed().await;
    for topic in ["t", "m"] {
        assert!(
            broker.store().topic(topic).is_none(),
            "nothing was recorded, not even an auto-created topic {topic:?}"
        );
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn an_unknown_mechanism_is_refused_with_the_served_ones_then_closed() {
    let (broker, address) = sasl_broker().await;
    let mut client = KafkaClient::connect(address).await;
    let response = client
        .call(
            1,
            &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("GSSAPI")),
        )
        .await;
    assert_eq!(response.error_code, UNSUPPORTED_SASL_MECHANISM);
    assert_eq!(response.mechanisms.len(), 3, "{response:?}");
    client.expect_closed().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn a_wrong_password_or_garbage_token_gets_kafkas_message_then_the_connection_closes() {
    let (broker, address) = sasl_broker().await;
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "PLAIN",
            b"\0alice\0guess",
            "Authentication failed: Invalid username or password",
        ),
        (
            "PLAIN",
            b"\xff\xfe garbage",
            "Authentication failed during authentication due to invalid credentials with SASL mechanism PLAIN",
        ),
        (
            "SCRAM-SHA-256",
            b"\x00\x01\x02 not a client-first message",
            "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256",
        ),
        (
            "SCRAM-SHA-256",
            b"n,,n=mallory,r=abc",
            "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256",
        ),
    ];
    for (mechanism, token, message) in cases {
        let mut client = KafkaClient::connect(address).await;
        handshake(&mut client, mechanism).await;
        let response = authenticate(&mut client, token).await;
        assert_eq!(
            response.error_code, SASL_AUTHENTICATION_FAILED,
            "{mechanism} {token:?}"
        );
        assert_eq!(
            response.error_message.as_deref(),
            Some(message),
            "{mechanism} {token:?}"
        );
        client.expect_closed().await;
    }
    broker.shutdown().await;
}

/// The client's side of SCRAM-SHA-256 (RFC 5802), written here apart from the broker's.
struct ScramClient {
    password: &'static str,
    first_bare: String,
}

impl ScramClient {
    fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
        mac.update(data);
        mac.finalize().into_bytes().to_vec()
    }

    /// The client-final message for `server_first`, claiming `nonce` (the server's, unless forged).
    fn client_final(&self, server_first: &str, nonce: &str) -> String {
        let fields: Vec<&str> = server_first.split(',').collect();
        let salt = BASE64
            .decode(fields[1].strip_prefix("s=").unwrap())
            .unwrap();
        let iterations: u32 = fields[2].strip_prefix("i=").unwrap().parse().unwrap();
        let salted =
            pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(self.password.as_bytes(), &salt, iterations);
        let client_key = Self::hmac(&salted, b"Client Key");
        let stored_key = Sha256::digest(&client_key);
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{server_first},{without_proof}", self.first_bare);
        let signature = Self::hmac(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&signature)
            .map(|(k, s)| k ^ s)
            .collect();
        format!("{without_proof},p={}", BASE64.encode(proof))
    }
}

/// Runs SCRAM-SHA-256 up to the client-final message, which `forge` may change the nonce of.
async fn scram(
    address: SocketAddr,
    password: &'static str,
    forge: impl Fn(&str) -> String,
) -> (KafkaClient, SaslAuthenticateResponse) {
    let mut client = KafkaClient::connect(address).await;
    handshake(&mut client, "SCRAM-SHA-256").await;
    let scram = ScramClient {
        password,
        first_bare: "n=alice,r=clientnonce".into(),
    };
    let first = authenticate(&mut client, format!("n,,{}", scram.first_bare).as_bytes()).await;
    assert_eq!(first.error_code, 0, "{first:?}");
    let server_first = std::str::from_utf8(&first.auth_bytes).unwrap().to_string();
    let nonce = server_first
        .split(',')
        .next()
        .and_then(|f| f.strip_prefix("r="))
        .unwrap()
        .to_string();
    assert!(
        nonce.starts_with("clientnonce") && nonce.len() > 11,
        "{server_first}"
    );
    let last = scram.client_final(&server_first, &forge(&nonce));
    let response = authenticate(&mut client, last.as_bytes()).await;
    (client, response)
}

#[tokio::test]
async fn scram_authenticates_and_the_server_proves_it_knows_the_password_too() {
    let (broker, address) = sasl_broker().await;
    let (mut client, response) = scram(address, "secret", |nonce| nonce.to_string()).await;
    assert_eq!(response.error_code, 0, "{response:?}");
    let server_final = std::str::from_utf8(&response.auth_bytes).unwrap();
    assert!(server_final.starts_with("v="), "{server_final}");
    metadata_is_served(&mut client).await;
    broker.shutdown().await;
}

#[tokio::test]
async fn a_scram_client_with_a_wrong_password_or_a_forged_nonce_is_refused_and_closed() {
    let (broker, address) = sasl_broker().await;
    let forged = |nonce: &str| format!("{}forged", &nonce[..nonce.len() - 1]);
    for (password, forge) in [
        (
            "guess",
            &(|nonce: &str| nonce.to_string()) as &dyn Fn(&str) -> String,
        ),
        ("secret", &forged),
    ] {
        let (mut client, response) = scram(address, password, forge).await;
        assert_eq!(
            response.error_code, SASL_AUTHENTICATION_FAILED,
            "{response:?}"
        );
        assert_eq!(
            response.error_message.as_deref(),
            Some(
                "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-256"
            )
        );
        client.expect_closed().await;
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn a_v0_handshake_is_followed_by_raw_tokens() {
    let (broker, address) = sasl_broker().await;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut client = KafkaClient::connect(address).await;
    // The handshake itself is a Kafka request; what follows is not.
    let (_, request) = client.encode(
        0,
        &SaslHandshakeRequest::default().with_mechanism(StrBytes::from_static_str("PLAIN")),
    );
    stream.write_all(&request).await.unwrap();
    let mut size = [0u8; 4];
    stream.read_exact(&mut size).await.unwrap();
    let mut response = vec![0u8; u32::from_be_bytes(size) as usize];
    stream.read_exact(&mut response).await.unwrap();
    // correlation id, then error code 0.
    assert_eq!(&response[4..6], &[0, 0], "{response:?}");
    let token = b"\0alice\0secret";
    stream
        .write_all(&(token.len() as u32).to_be_bytes())
        .await
        .unwrap();
    stream.write_all(token).await.unwrap();
    stream.read_exact(&mut size).await.unwrap();
    assert_eq!(
        u32::from_be_bytes(size),
        0,
        "PLAIN's answer is an empty token"
    );
    let (_, metadata) = client.encode(12, &MetadataRequest::default());
    stream.write_all(&metadata).await.unwrap();
    stream.read_exact(&mut size).await.unwrap();
    assert!(
        u32::from_be_bytes(size) > 8,
        "Metadata is answered after the raw exchange"
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn a_frame_protocol_client_cannot_bypass_sasl() {
    let (broker, address) = sasl_broker().await;
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    let mut hello = protocol::frame::MAGIC.to_vec();
    hello.extend_from_slice(&[0u8; 60]);
    stream.write_all(&hello).await.unwrap();
    let mut rest = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(30),
        stream.read_to_end(&mut rest),
    )
    .await
    .expect("the broker closes the connection");
    assert!(
        read.is_err() || rest.is_empty(),
        "nothing is answered: {rest:?}"
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn in_a_cluster_metadata_on_a_sasl_listener_names_every_brokers_sasl_port() {
    let mut config = BrokerConfig::ephemeral();
    config.brokers = 3;
    config.listeners.push(
        "SASL_PLAINTEXT://127.0.0.1:0"
            .parse::<ListenerSpec>()
            .unwrap(),
    );
    config.sasl_users = vec!["alice:secret".into()];
    let broker = MockBroker::start(config).await.expect("broker starts");
    let (protocol, sasl_ports) = &broker.listeners()[0];
    assert_eq!(*protocol, SecurityProtocol::SaslPlaintext);
    assert_eq!(sasl_ports.len(), 3);
    let mut client = KafkaClient::connect(sasl_ports[1]).await;
    handshake(&mut client, "PLAIN").await;
    assert_eq!(
        authenticate(&mut client, b"\0alice\0secret")
            .await
            .error_code,
        0
    );
    let metadata = client.call(12, &MetadataRequest::default()).await;
    let advertised: Vec<u16> = metadata.brokers.iter().map(|b| b.port as u16).collect();
    let expected: Vec<u16> = sasl_ports.iter().map(SocketAddr::port).collect();
    assert_eq!(advertised, expected);
    // The PLAINTEXT listener still advertises the PLAINTEXT ports.
    let mut plaintext = KafkaClient::connect(broker.local_addr()).await;
    let metadata = plaintext.call(12, &MetadataRequest::default()).await;
    let advertised: Vec<u16> = metadata.brokers.iter().map(|b| b.port as u16).collect();
    let expected: Vec<u16> = broker.broker_addrs().iter().map(SocketAddr::port).collect();
    assert_eq!(advertised, expected);
    broker.shutdown().await;
}

//! Real clients (kcat, confluent-kafka, kafka-python, kafkajs) over the broker binary's SSL, SASL_PLAINTEXT
//! (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and SASL_SSL listeners: each produces and reads its
//! messages back, trusting the CA that `--tls-self-signed` wrote; a wrong password fails with
//! the authentication error the client reports, Kafka's message in it. Missing clients skip
//! (or fail under `MOCK_BROKER_REQUIRE_CLIENTS=1`), as in `real_clients.rs`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::binaries::{BrokerProcess, http_get};
use crate::real_clients::{
    clients_dir, kcat, kcat_command, node_with_kafkajs, python_with, require, run_client,
    run_to_completion,
};

/// Messages each client sends on each listener.
const COUNT: usize = 5;
const USER: &str = "alice";
const PASSWORD: &str = "secret";

/// The broker binary with a listener of every secured kind, user alice, and a self-signed CA.
struct SecuredBroker {
    process: BrokerProcess,
    ssl: String,
    sasl_plaintext: String,
    sasl_ssl: String,
    ca: PathBuf,
    log: PathBuf,
}

impl SecuredBroker {
    fn start(name: &str) -> SecuredBroker {
        let dir =
            std::env::temp_dir().join(format!("mock-broker-secured-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ca = dir.join("ca.pem");
        let log = dir.join("broker.log");
        let user = format!("{USER}:{PASSWORD}");
        let process = BrokerProcess::start_reading(
            &[
                "--listener",
                "SSL://127.0.0.1:0",
                "--listener",
                "SASL_PLAINTEXT://127.0.0.1:0",
                "--listener",
                "SASL_SSL://127.0.0.1:0",
                "--sasl-user",
                &user,
                "--tls-self-signed",
                "--tls-ca-file",
                ca.to_str().unwrap(),
                "--group-initial-rebalance-delay-ms",
                "0",
            ],
            &log,
            4,
        );
        let address = |prefix: &str| {
            process
                .more
                .iter()
                .find_map(|line| line.strip_prefix(prefix))
                .unwrap_or_else(|| panic!("no line {prefix:?} in {:?}", process.more))
                .to_string()
        };
        let ssl = address("SSL listener on ");
        let sasl_plaintext = address("SASL_PLAINTEXT listener on ");
        let sasl_ssl = address("SASL_SSL listener on ");
        assert_eq!(address("TLS CA certificate in "), ca.display().to_string());
        SecuredBroker {
            process,
            ssl,
            sasl_plaintext,
            sasl_ssl,
            ca,
            log,
        }
    }

    /// The address of `protocol`'s listener.
    fn address(&self, protocol: &str) -> &str {
        match protocol {
            "SSL" => &self.ssl,
            "SASL_PLAINTEXT" => &self.sasl_plaintext,
            "SASL_SSL" => &self.sasl_ssl,
            other => panic!("no {other} listener"),
        }
    }

    /// Waits until the broker's log holds `text`.
    fn wait_for_log(&self, text: &str) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if log.contains(text) {
                return log;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "{text:?} not in the broker's log: {log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// One way in: a listener and, on SASL listeners, a mechanism.
#[derive(Debug, Clone, Copy)]
struct Case {
    protocol: &'static str,
    mechanism: Option<&'static str>,
}

/// Every listener kind, and every mechanism on SASL_PLAINTEXT.
const CASES: [Case; 5] = [
    Case {
        protocol: "SSL",
        mechanism: None,
    },
    Case {
        protocol: "SASL_PLAINTEXT",
        mechanism: Some("PLAIN"),
    },
    Case {
        protocol: "SASL_PLAINTEXT",
        mechanism: Some("SCRAM-SHA-256"),
    },
    Case {
        protocol: "SASL_PLAINTEXT",
        mechanism: Some("SCRAM-SHA-512"),
    },
    Case {
        protocol: "SASL_SSL",
        mechanism: Some("SCRAM-SHA-256"),
    },
];

/// Wrong passwords, and the message Kafka gives each mechanism's failure.
const WRONG: [(Case, &str); 2] = [
    (
        Case {
            protocol: "SASL_PLAINTEXT",
            mechanism: Some("SCRAM-SHA-512"),
        },
        "Authentication failed during authentication due to invalid credentials with SASL mechanism SCRAM-SHA-512",
    ),
    (
        Case {
            protocol: "SASL_SSL",
            mechanism: Some("PLAIN"),
        },
        "Authentication failed: Invalid username or password",
    ),
];

impl Case {
    fn topic(&self, client: &str) -> String {
        format!(
            "{client}-{}-{}",
            self.protocol.to_lowercase(),
            self.mechanism.unwrap_or("none").to_lowercase()
        )
    }

    /// librdkafka's properties for this case (kcat's -X, confluent-kafka's config).
    fn librdkafka(&self, ca: &Path, password: &str) -> Vec<String> {
        let mut properties = vec![format!("security.protocol={}", self.protocol)];
        if self.protocol.ends_with("SSL") {
            properties.push(format!("ssl.ca.location={}", ca.display()));
        }
        if let Some(mechanism) = self.mechanism {
            properties.push(format!("sasl.mechanisms={mechanism}"));
            properties.push(format!("sasl.username={USER}"));
            properties.push(format!("sasl.password={password}"));
        }
        properties
    }

    /// `secure_kafka_python.py`'s options for this case.
    fn kafka_python(&self, ca: &Path, password: &str) -> Vec<String> {
        let mut options = vec![format!("security_protocol={}", self.protocol)];
        if self.protocol.ends_with("SSL") {
            options.push(format!("ssl_cafile={}", ca.display()));
        }
        if let Some(mechanism) = self.mechanism {
            options.push(format!("sasl_mechanism={mechanism}"));
            options.push(format!("sasl_plain_username={USER}"));
            options.push(format!("sasl_plain_password={password}"));
        }
        options
    }

    /// `secure_kafkajs.js`'s options for this case.
    fn kafkajs(&self, ca: &Path, password: &str) -> Vec<String> {
        let mut options = Vec::new();
        if self.protocol.ends_with("SSL") {
            options.push(format!("ca={}", ca.display()));
        }
        if let Some(mechanism) = self.mechanism {
            options.push(format!("mechanism={}", mechanism.to_lowercase()));
            options.push(format!("username={USER}"));
            options.push(format!("password={password}"));
        }
        options
    }
}

fn values() -> Vec<String> {
    (0..COUNT).map(|i| format!("v{i}")).collect()
}

/// The `{"consumed": [...]}` a script printed last.
fn consumed(stdout: &str) -> Vec<String> {
    let line = stdout.lines().last().unwrap_or_default();
    let parsed: serde_json::Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"));
    parsed["consumed"]
        .as_array()
        .unwrap_or_else(|| panic!("no consumed list: {stdout}"))
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// Runs `command` expecting it to fail, and returns its stderr and stdout.
fn failing(command: Command, stdin: &str) -> String {
    let description = format!("{command:?}");
    let output = run_to_completion(command, stdin);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stderr),
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(!output.status.success(), "{description} succeeded: {text}");
    text
}

#[test]
fn kcat_produces_and_consumes_over_every_secured_listener_and_reports_a_wrong_password() {
    let Some(kcat) = require(kcat()) else { return };
    let broker = SecuredBroker::start("kcat");
    let kcat_with = |address: &str, properties: &[String]| {
        let mut command = kcat_command(&kcat);
        command.args(["-b", address]);
        for property in properties {
            command.args(["-X", property]);
        }
        command
    };
    for case in CASES {
        let topic = case.topic("kcat");
        let properties = case.librdkafka(&broker.ca, PASSWORD);
        let address = broker.address(case.protocol);
        let mut produce = kcat_with(address, &properties);
        produce.args(["-P", "-t", &topic]);
        run_client(produce, &(values().join("\n") + "\n"));
        let mut consume = kcat_with(address, &properties);
        consume.args([
            "-C",
            "-t",
            &topic,
            "-o",
            "beginning",
            "-e",
            "-q",
            "-f",
            "%s\n",
        ]);
        let read: Vec<String> = run_client(consume, "")
            .lines()
            .map(str::to_string)
            .collect();
        assert_eq!(read, values(), "{case:?}");
        // Metadata sends the client back to the listener it came in on.
        let mut metadata = kcat_with(address, &properties);
        metadata.args(["-L", "-J"]);
        let listed: serde_json::Value =
            serde_json::from_str(run_client(metadata, "").trim()).expect("kcat -L -J prints JSON");
        assert_eq!(listed["brokers"][0]["name"], address, "{case:?}: {listed}");
    }
    for (case, message) in WRONG {
        let mut produce = kcat_with(
            broker.address(case.protocol),
            &case.librdkafka(&broker.ca, "wrong"),
        );
        produce.args(["-P", "-t", &case.topic("kcat-wrong")]);
        let said = failing(produce, "refused\n");
        assert!(said.contains(message), "{case:?}: {said}");
    }
    // The admin API serves the CA clients trust.
    let (status, pem) = http_get(&broker.process.admin, "/tls/ca.pem");
    assert_eq!(status, 200);
    assert_eq!(pem, std::fs::read_to_string(&broker.ca).unwrap());
    // A client without TLS on the TLS listener is named in the broker's log.
    let mut plain = kcat_with(&broker.ssl, &[]);
    plain.args(["-P", "-t", "plain-on-tls"]);
    failing(plain, "refused\n");
    broker.wait_for_log("a client that does not speak TLS connected to the SSL listener");
    assert!(broker.process.terminate());
}

#[test]
fn confluent_kafka_produces_and_consumes_over_every_secured_listener_and_reports_a_wrong_password()
{
    let Some(python) = require(python_with("confluent_kafka")) else {
        return;
    };
    script_client_over_every_listener(
        &python,
        "secure_confluent.py",
        "confluent",
        Case::librdkafka,
        "authentication failed",
    );
}

#[test]
fn kafka_python_produces_and_consumes_over_every_secured_listener_and_reports_a_wrong_password() {
    let Some(python) = require(python_with("kafka")) else {
        return;
    };
    script_client_over_every_listener(
        &python,
        "secure_kafka_python.py",
        "kafka-python",
        Case::kafka_python,
        "SaslAuthenticationFailedError",
    );
}

#[test]
fn kafkajs_produces_and_consumes_over_every_secured_listener_and_reports_a_wrong_password() {
    let Some(node) = require(node_with_kafkajs()) else {
        return;
    };
    script_client_over_every_listener(
        &node,
        "secure_kafkajs.js",
        "kafkajs",
        Case::kafkajs,
        "KafkaJSSASLAuthenticationError",
    );
}

/// One script client (`PROGRAM SCRIPT ADDRESS TOPIC COUNT OPTIONS…`, in the clients'
/// directory) through every secured listener of a fresh broker: with the right password it
/// produces and reads back `COUNT` values; with a wrong one it fails, saying `failure` and
/// Kafka's message. `options` gives the client's settings for a listener, CA and password.
fn script_client_over_every_listener(
    program: &Path,
    script: &str,
    client: &str,
    options: fn(&Case, &Path, &str) -> Vec<String>,
    failure: &str,
) {
    let broker = SecuredBroker::start(client);
    let command = |case: &Case, topic: String, password: &str| {
        let mut command = Command::new(program);
        command
            .current_dir(clients_dir())
            .arg(script)
            .args([broker.address(case.protocol), &topic, &COUNT.to_string()])
            .args(options(case, &broker.ca, password));
        command
    };
    for case in CASES {
        let consumer = command(&case, case.topic(client), PASSWORD);
        assert_eq!(consumed(&run_client(consumer, "")), values(), "{case:?}");
    }
    for (case, message) in WRONG {
        let wrong = command(&case, case.topic(&format!("{client}-wrong")), "wrong");
        let said = failing(wrong, "");
        assert!(
            said.contains(failure) && said.contains(message),
            "{case:?}: {said}"
        );
    }
    assert!(broker.process.terminate());
}

/// A CA and a certificate it signs for 127.0.0.1, as PEM files: (chain, key, CA).
fn pem_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "test CA");
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let leaf = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &ca)
        .unwrap();
    let (chain_file, key_file, ca_file) = (
        dir.join("chain.pem"),
        dir.join("key.pem"),
        dir.join("ca.pem"),
    );
    std::fs::write(&chain_file, leaf.pem() + &ca.pem()).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();
    std::fs::write(&ca_file, ca.pem()).unwrap();
    (chain_file, key_file, ca_file)
}

#[test]
fn kcat_reaches_an_ssl_listener_whose_certificate_comes_from_pem_files() {
    let Some(kcat) = require(kcat()) else { return };
    let dir = std::env::temp_dir().join(format!("mock-broker-pem-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (chain, key, ca) = pem_files(&dir);
    let broker = BrokerProcess::start_reading(
        &[
            "--listener",
            "SSL://127.0.0.1:0",
            "--tls-cert",
            chain.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
        &dir.join("broker.log"),
        1,
    );
    let address = broker.more[0]
        .strip_prefix("SSL listener on ")
        .unwrap_or_else(|| panic!("{:?}", broker.more))
        .to_string();
    let ca_property = format!("ssl.ca.location={}", ca.display());
    let mut produce = kcat_command(&kcat);
    produce.args([
        "-b",
        &address,
        "-X",
        "security.protocol=SSL",
        "-X",
        &ca_property,
        "-P",
        "-t",
        "pem",
    ]);
    run_client(produce, "over-tls\n");
    let mut consume = kcat_command(&kcat);
    consume.args([
        "-b",
        &address,
        "-X",
        "security.protocol=SSL",
        "-X",
        &ca_property,
        "-C",
        "-t",
        "pem",
        "-o",
        "beginning",
        "-e",
        "-q",
        "-f",
        "%s\n",
    ]);
    assert_eq!(run_client(consume, "").trim(), "over-tls");
    let (status, body) = http_get(&broker.admin, "/tls/ca.pem");
    assert_eq!(status, 404, "no CA was made: {body}");
    assert!(body.contains("--tls-self-signed"), "{body}");
    assert!(broker.terminate());
}

#[test]
fn the_binary_names_what_a_secured_listener_lacks_at_startup() {
    let dir = std::env::temp_dir().join(format!("mock-broker-lacks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.pem");
    let cases: [(&[&str], i32, &str); 3] = [
        (
            &["--listener", "SSL://127.0.0.1:0"],
            2,
            "needs a certificate",
        ),
        (
            &["--listener", "SASL_SSL://127.0.0.1:0", "--tls-self-signed"],
            2,
            "needs users",
        ),
        (
            &[
                "--listener",
                "SSL://127.0.0.1:0",
                "--tls-cert",
                missing.to_str().unwrap(),
                "--tls-key",
                missing.to_str().unwrap(),
            ],
            1,
            "cannot set up TLS: tls_cert",
        ),
    ];
    for (args, code, said) in cases {
        let output = Command::new(env!("CARGO_BIN_EXE_mock-broker"))
            .args(["--listen", "127.0.0.1:0", "--admin", "off"])
            .args(args)
            .output()
            .expect("mock-broker runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(said), "{args:?}: {stderr}");
    }
}

//! `[[faults]]` in scenarios, run by the real `loadgen` binary against the
//! embedded broker, and through an external mock broker's admin API.

use super::{loadgen, read_json, scratch_file, stderr, stdout};

/// A 2-producer Kafka load at `rate` msgs/s for `seconds`, with `producer` and
/// `faults` tables appended as given.
fn scenario(test: &str, rate: u32, seconds: u32, producer: &str, rest: &str) -> std::path::PathBuf {
    scenario_with_window(test, rate, seconds, 1024, producer, rest)
}

/// [`scenario`] with `in_flight` sends outstanding per producer instance at most.
fn scenario_with_window(
    test: &str,
    rate: u32,
    seconds: u32,
    in_flight: u32,
    producer: &str,
    rest: &str,
) -> std::path::PathBuf {
    scratch_file(
        test,
        "scenario.toml",
        &format!(
            "name = \"{test}\"\n\
             [producer]\n{producer}\nlinger_ms = 5\nretry_backoff_ms = 20\n\
             [workload]\npartitions = 3\nproducers = 2\nmessage_size = 100\nin_flight = {in_flight}\n\
             keys = {{ kind = \"uniform\", count = 100 }}\n\
             [[phases]]\nname = \"steady\"\nduration = \"{seconds}s\"\nrate = {rate}\n\
             {rest}"
        ),
    )
}

/// Runs the scenario, which must exit 0, and returns its JSON report.
fn run(path: &std::path::Path) -> serde_json::Value {
    let json = path.with_file_name("report.json");
    let output = loadgen(&[
        "run",
        path.to_str().unwrap(),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "exit {:?}\n{}\n{}",
        output.status,
        stdout(&output),
        stderr(&output)
    );
    read_json(&json)
}

const LOST_ANSWERS: &str = "[[faults]]\nkind = \"disconnect\"\nwhen = \"after\"\napi = \"produce\"\n\
                            probability = 0.05\nseed = 42\n";

#[test]
fn lost_answers_leave_an_idempotent_producer_with_nothing_lost_or_duplicated() {
    let path = scenario(
        "faults-idempotent",
        4000,
        3,
        "acks = \"all\"\nidempotent = true",
        LOST_ANSWERS,
    );
    let report = run(&path);
    let audit = &report["audit"];
    assert_eq!(
        (audit["lost"].as_u64(), audit["duplicates"].as_u64()),
        (Some(0), Some(0)),
        "{audit}"
    );
    assert_eq!(audit["reordered"], 0, "{audit}");
    assert_eq!(report["total"]["errors"], 0);
    let fired = report["faults"][0]["fired"].as_u64().unwrap();
    assert!(
        fired > 0,
        "5% of several hundred produce requests: {}",
        report["faults"]
    );
    assert_eq!(report["faults"][0]["kind"], "disconnect");
    // The producers saw the lost connections, and retried past them.
    let producer = &report["producer"];
    assert!(
        producer["errors"]["CONNECTION"].as_u64().unwrap_or(0) > 0,
        "{producer}"
    );
    assert!(producer["retries"].as_u64().unwrap() > 0, "{producer}");
}

#[test]
fn lost_answers_make_a_plain_producer_duplicate_and_the_audit_counts_them() {
    let path = scenario(
        "faults-plain",
        4000,
        3,
        "acks = 1\nidempotent = false",
        LOST_ANSWERS,
    );
    let report = run(&path);
    let audit = &report["audit"];
    assert_eq!(audit["lost"], 0, "{audit}");
    assert!(audit["duplicates"].as_u64().unwrap() > 0, "{audit}");
    assert!(report["faults"][0]["fired"].as_u64().unwrap() > 0);
}

#[test]
fn a_stall_shows_in_the_corrected_p99_and_much_less_in_the_uncorrected_one() {
    // A small window: during the stall, 2 × 64 sends start and wait (under 1% of
    // the run, so they stay out of the uncorrected p99); the rest are due but not
    // sent until it ends, which only the corrected latency counts.
    let path = scenario_with_window(
        "faults-stall",
        10_000,
        3,
        64,
        "acks = \"all\"",
        "[[faults]]\nkind = \"stall\"\nat = \"1s\"\nduration = \"500ms\"\n",
    );
    let report = run(&path);
    let corrected = report["total"]["latency_us"]["p99"].as_u64().unwrap();
    let uncorrected = report["total"]["uncorrected_latency_us"]["p99"]
        .as_u64()
        .unwrap();
    assert!(corrected >= 250_000, "corrected p99 {corrected} µs");
    assert!(
        uncorrected < corrected,
        "uncorrected p99 {uncorrected} µs, corrected {corrected} µs"
    );
    assert_eq!(report["faults"][0]["fired"], 1);
    assert_eq!(report["audit"]["lost"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_reach_an_external_mock_broker_through_its_admin_api_and_are_removed_after() {
    let mut config = mock_broker::BrokerConfig::ephemeral();
    config.admin = Some("127.0.0.1:0".parse().unwrap());
    config.partitions = 3;
    let broker = mock_broker::MockBroker::start(config).await.unwrap();
    let path = scenario(
        "faults-external",
        2000,
        2,
        "acks = \"all\"",
        &format!(
            "[target]\nbroker = \"{}\"\nadmin = \"{}\"\n\
             [[faults]]\nkind = \"error\"\nerror = \"NOT_LEADER_OR_FOLLOWER\"\napi = \"produce\"\ncount = 3\n",
            broker.local_addr(),
            broker.admin_addr().unwrap()
        ),
    );
    let report = tokio::task::spawn_blocking(move || run(&path))
        .await
        .unwrap();
    assert_eq!(report["faults"][0]["fired"], 3, "{}", report["faults"]);
    assert_eq!(report["faults"][0]["state"], "expired");
    assert_eq!(report["audit"]["lost"], 0);
    assert_eq!(report["audit"]["duplicates"], 0);
    assert!(
        broker.faults().list().is_empty(),
        "loadgen removes the rules it added"
    );
    assert_eq!(broker.stats().snapshot().faults["error"], 3);
}

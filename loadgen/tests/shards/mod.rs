//! Several loadgen processes running one scenario against one running mock
//! broker (over TCP, in this test's process), `loadgen merge` adding their
//! reports up, and `loadgen compare` holding two reports against each other.

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;

use super::{
    TIMEOUT, loadgen, read_json, reason, scratch_file, smoke_with_thresholds, stderr, stdout,
};

/// A mock broker on port 0 with its admin API, serving over real TCP from a
/// runtime of its own while the loadgen processes run; stopped when dropped.
struct BrokerProcess {
    address: String,
    admin: String,
    _broker: mock_broker::MockBroker,
    _runtime: tokio::runtime::Runtime,
}

impl BrokerProcess {
    fn start() -> BrokerProcess {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the broker");
        let mut config = mock_broker::BrokerConfig::ephemeral();
        config.admin = Some("127.0.0.1:0".parse().unwrap());
        config.partitions = 3;
        let broker = runtime
            .block_on(mock_broker::MockBroker::start(config))
            .expect("the mock broker starts");
        BrokerProcess {
            address: broker.local_addr().to_string(),
            admin: broker
                .admin_addr()
                .expect("the admin API is on")
                .to_string(),
            _broker: broker,
            _runtime: runtime,
        }
    }
}

/// Starts `loadgen` with `args`; the output is collected by [`finish`].
fn spawn_loadgen(args: &[String]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("LOADGEN_DURATION_SCALE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("loadgen starts")
}

fn finish(child: Child) -> std::process::Output {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    rx.recv_timeout(TIMEOUT)
        .expect("loadgen finishes in time")
        .expect("loadgen's output")
}

fn decode(text: &serde_json::Value) -> hdrhistogram::Histogram<u64> {
    loadgen::histogram_text::decode(text.as_str().expect("a string")).expect("a histogram")
}

#[test]
fn three_shards_against_one_broker_merge_into_the_whole_run_exactly() {
    let broker = BrokerProcess::start();
    // Only limits no timing can miss: the audit's and the errors'.
    let scenario = smoke_with_thresholds(
        "shards",
        "max_error_rate = 0.0\nmax_lost = 0\nmax_duplicates = 0\n",
    );
    let dir = scenario.parent().unwrap().to_path_buf();
    let report = |k: u32| dir.join(format!("shard-{k}.json"));
    // smoke at a fifth of its length: 0.2 s warmup and 0.6 s at 5000 msgs/s.
    let shards: Vec<Child> = (1..=3)
        .map(|k| {
            spawn_loadgen(&[
                "run".into(),
                scenario.display().to_string(),
                "--producers".into(),
                "6".into(),
                "--duration-scale".into(),
                "0.2".into(),
                "--topic".into(),
                "sharded".into(),
                "--broker".into(),
                broker.address.clone(),
                "--admin".into(),
                broker.admin.clone(),
                "--shard".into(),
                format!("{k}/3"),
                "--json".into(),
                report(k).display().to_string(),
            ])
        })
        .collect();
    let outputs: Vec<_> = shards.into_iter().map(finish).collect();
    for (k, output) in outputs.iter().enumerate() {
        assert!(
            output.status.success(),
            "shard {}: {}\n{}",
            k + 1,
            stdout(output),
            stderr(output)
        );
        assert!(
            stdout(output).starts_with(&format!(
                "shard {}/3: producer instances {} to {} of 6",
                k + 1,
                2 * k,
                2 * k + 1
            )),
            "{}",
            stdout(output)
        );
    }
    let reports: Vec<serde_json::Value> = (1..=3).map(|k| read_json(&report(k))).collect();
    let sum = |f: &dyn Fn(&serde_json::Value) -> u64| reports.iter().map(f).sum::<u64>();
    // Each shard's audit found its own messages whole, the others' foreign.
    for r in &reports {
        assert_eq!(
            (
                &r["audit"]["lost"],
                &r["audit"]["duplicates"],
                &r["audit"]["reordered"]
            ),
            (&0.into(), &0.into(), &0.into()),
            "{}",
            r["audit"]
        );
    }

    let merged = dir.join("merged.json");
    let hgrm = dir.join("merged.hgrm");
    let html = dir.join("merged.html");
    let output = loadgen(&[
        "merge",
        report(2).to_str().unwrap(),
        report(3).to_str().unwrap(),
        report(1).to_str().unwrap(),
        "--json",
        merged.to_str().unwrap(),
        "--hgrm",
        hgrm.to_str().unwrap(),
        "--html",
        html.to_str().unwrap(),
    ]);
    assert!(
        output.status.success(),
        "{}\n{}",
        stdout(&output),
        stderr(&output)
    );
    let m = read_json(&merged);
    // The whole run: 1000 warmup and 3000 recorded messages, as without shards.
    assert_eq!(m["phases"][0]["sent"], 1000);
    assert_eq!(m["phases"][1]["sent"], 3000);
    for key in ["sent", "acked", "errors"] {
        assert_eq!(
            m["total"][key].as_u64().unwrap(),
            sum(&|r| r["total"][key].as_u64().unwrap()),
            "{key}"
        );
    }
    assert_eq!(m["shard"]["count"], 1);
    // The audit covers every shard: every message once, none lost, no id twice.
    assert_eq!(
        (
            &m["audit"]["recorded"],
            &m["audit"]["acked"],
            &m["audit"]["lost"],
            &m["audit"]["duplicates"]
        ),
        (&4000.into(), &4000.into(), &0.into(), &0.into()),
        "{}",
        m["audit"]
    );
    // The merged histogram is the one of all values: the shards' added up.
    let mut union = decode(&reports[0]["merge"]["phases"][1]["corrected"]);
    for r in &reports[1..] {
        union
            .add(decode(&r["merge"]["phases"][1]["corrected"]))
            .unwrap();
    }
    let merged_histogram = decode(&m["merge"]["phases"][1]["corrected"]);
    assert_eq!(merged_histogram, union);
    assert_eq!(merged_histogram.len(), 3000);
    assert_eq!(
        m["total"]["latency_us"]["p99"].as_u64().unwrap(),
        union.value_at_quantile(0.99)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.contains("<h1>loadgen report: smoke</h1>") && page.contains("6 producers, "),
        "the merged page describes the whole run"
    );
    let hgrm_text = std::fs::read_to_string(&hgrm).unwrap();
    assert!(
        hgrm_text.contains("Total count    =         3000"),
        "{hgrm_text}"
    );
    assert!(
        stdout(&output).contains("audit: 4000 recorded by 3 shards through the admin API at"),
        "{}",
        stdout(&output)
    );
    // The phases as the scenario set them, not as long as each lasted.
    assert!(
        stdout(&output)
            .contains("\nphases: warmup 200ms, steady 600ms (durations scaled by 0.2)\n"),
        "{}",
        stdout(&output)
    );

    // Not every shard: refused, naming the missing one.
    let output = loadgen(&[
        "merge",
        report(1).to_str().unwrap(),
        report(2).to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        reason(&output).ends_with("shard 3/3 is missing: merge takes the reports of all 3 shards"),
        "{}",
        reason(&output)
    );
    let output = loadgen(&[
        "merge",
        report(1).to_str().unwrap(),
        report(1).to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        reason(&output).contains("shard 1/3 is also"),
        "{}",
        reason(&output)
    );
}

#[test]
fn compare_prints_both_reports_side_by_side_and_exits_1_on_a_regression() {
    let fast = scratch_file(
        "compare",
        "baseline.json",
        r#"{"total": {"throughput_msgs_per_s": 5000.0, "throughput_mb_per_s": 0.5,
            "latency_us": {"p50": 100, "p90": 200, "p99": 1000, "p999": 2000, "p9999": 3000, "max": 3000, "mean": 150.0}}}"#,
    );
    let slow = fast.with_file_name("current.json");
    std::fs::write(
        &slow,
        r#"{"total": {"throughput_msgs_per_s": 4900.0, "throughput_mb_per_s": 0.49,
            "latency_us": {"p50": 100, "p90": 200, "p99": 1200, "p999": 2000, "p9999": 3000, "max": 3000, "mean": 150.0}}}"#,
    )
    .unwrap();
    let (fast, slow) = (fast.to_str().unwrap(), slow.to_str().unwrap());
    let gate = "p99=10%,throughput=5%";
    let output = loadgen(&["compare", fast, slow, "--max-regression", gate]);
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    let table = stdout(&output);
    assert!(
        table.contains(
            "p99                      1000 µs           1200 µs    +20.0%  10% worse: REGRESSION"
        ),
        "{table}"
    );
    assert!(
        table
            .contains("throughput           5000 msgs/s       4900 msgs/s     -2.0%  5% worse: ok"),
        "{table}"
    );
    assert_eq!(
        reason(&output),
        "loadgen: error: p99 regressed: 1200 µs against 1000 µs (+20.0%, allowed 10% worse)"
    );
    // The same report is no regression.
    let output = loadgen(&["compare", fast, fast, "--max-regression", gate]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Bad input exits 2 with a clear reason.
    let output = loadgen(&["compare", fast, slow, "--max-regression", "p98=10%"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("unknown metric \"p98\"; known: p50, p90, p99"),
        "{}",
        stderr(&output)
    );
    let output = loadgen(&["compare", fast, "/nonexistent/current.json"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        reason(&output)
            .starts_with("loadgen: error: cannot read report /nonexistent/current.json: "),
        "{}",
        reason(&output)
    );
}

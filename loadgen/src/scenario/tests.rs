//! Reading whole scenario files: the shipped scenarios, every key of the
//! schema, and errors that name the file, the line and the key.

use std::path::{Path, PathBuf};
use std::time::Duration;

use producer::Acks;

use super::*;
use crate::scenario::test_support::{MINIMAL, error, parse};

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios")
}

#[test]
fn every_shipped_scenario_is_valid() {
    let mut count = 0;
    for entry in std::fs::read_dir(scenarios_dir()).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            Scenario::from_toml_file(&path).unwrap_or_else(|e| panic!("{e}"));
            count += 1;
        }
    }
    assert!(count >= 1, "scenarios/ holds at least smoke.toml");
}

#[test]
fn smoke_is_a_short_embedded_open_loop_run_with_an_unrecorded_warmup() {
    let smoke = Scenario::from_toml_file(scenarios_dir().join("smoke.toml")).unwrap();
    assert_eq!(smoke.name, "smoke");
    assert_eq!(smoke.target.broker, BrokerSpec::Embedded);
    assert_eq!(smoke.target.protocol, Protocol::Frame);
    assert_eq!(smoke.producer.acks, Acks::Leader);
    assert_eq!(smoke.producer.client_id, DEFAULT_CLIENT_ID);
    let w = &smoke.workload;
    assert_eq!(
        (
            w.topic.as_str(),
            w.partitions,
            w.producers,
            w.message_size,
            w.in_flight
        ),
        (
            "bench",
            3,
            2,
            MessageSize::Fixed(100),
            Window::Messages(256)
        )
    );
    assert_eq!(w.keys, Keys::None);
    assert_eq!(smoke.phases.len(), 2);
    assert!(!smoke.phases[0].record);
    assert!(smoke.phases[1].record);
    let total: Duration = smoke
        .phases
        .iter()
        .map(|p| match p.length {
            PhaseLength::Duration(d) => d,
            PhaseLength::Messages(_) => panic!("smoke phases are timed"),
        })
        .sum();
    assert!(total <= Duration::from_secs(5), "{total:?}");
    assert!(
        smoke
            .phases
            .iter()
            .all(|p| matches!(p.rate, Rate::Constant(rate) if rate > 0 && rate <= 10_000))
    );
}

#[test]
fn missing_tables_take_the_documented_defaults() {
    let s = parse(MINIMAL).unwrap();
    assert_eq!(s.target.broker, BrokerSpec::Embedded);
    assert_eq!(s.workload, Workload::default());
    assert_eq!(s.workload.in_flight, Window::BufferMemory);
    assert_eq!(s.producer.acks, Acks::All);
    assert_eq!(s.producer.client_id, "loadgen");
    assert_eq!(s.target.protocol, Protocol::Kafka);
    assert_eq!(s.producer.protocol, producer::Protocol::Kafka);
    assert_eq!(s.phases[0].rate, Rate::CLOSED_LOOP);
    assert_eq!(s.workload.seed, 0);
    assert!(s.phases[0].record);
    assert_eq!(s.target.max_failing, Duration::from_secs(5));
    assert_eq!(s.producer.connect_timeout, Duration::from_secs(10));
}

#[test]
fn every_key_of_the_schema_is_read() {
    let s = parse(
        "name = \"n\"\ndescription = \"d\"\n\
         [target]\nbroker = \"broker.example:9093\"\nprotocol = \"frame\"\n\
         admin = \"broker.example:9644\"\nmax_failing = \"1m\"\n\
         [producer]\nacks = 0\nclient_id = \"me\"\nrequest_timeout_ms = 500\n\
         [workload]\ntopic = \"t.1\"\npartitions = 4\nproducers = 3\nmessage_size = 16\n\
         keys = { kind = \"uniform\", count = 50 }\nheaders = 2\nin_flight = 8\nseed = 42\n\
         [[phases]]\nname = \"a\"\nduration = \"1m 30s\"\nrate = 10\nrecord = false\n\
         [[phases]]\nname = \"b\"\nmessages = 7\n\
         [[phases]]\nname = \"c\"\nduration = \"5s\"\nrate = { from = 10000, to = 0 }\n",
    )
    .unwrap();
    assert_eq!(s.description, "d");
    assert_eq!(s.target.max_failing, Duration::from_secs(60));
    assert_eq!(
        s.target.broker,
        BrokerSpec::External("broker.example:9093".into())
    );
    assert_eq!(s.target.admin.as_deref(), Some("broker.example:9644"));
    assert_eq!(s.producer.acks, Acks::None);
    assert_eq!(s.producer.client_id, "me");
    assert_eq!(s.producer.request_timeout, Duration::from_millis(500));
    assert_eq!(
        s.workload,
        Workload {
            topic: "t.1".into(),
            partitions: 4,
            producers: 3,
            message_size: MessageSize::Fixed(16),
            keys: Keys::Uniform { count: 50 },
            headers: 2,
            in_flight: Window::Messages(8),
            seed: 42,
        }
    );
    assert_eq!(
        s.phases,
        [
            Phase {
                name: "a".into(),
                length: PhaseLength::Duration(Duration::from_secs(90)),
                rate: Rate::Constant(10),
                record: false,
            },
            Phase {
                name: "b".into(),
                length: PhaseLength::Messages(7),
                rate: Rate::CLOSED_LOOP,
                record: true,
            },
            Phase {
                name: "c".into(),
                length: PhaseLength::Duration(Duration::from_secs(5)),
                rate: Rate::Ramp {
                    from: 10_000,
                    to: 0,
                },
                record: true,
            },
        ]
    );
}

#[test]
fn unknown_keys_are_rejected_anywhere_naming_line_and_key() {
    let cases = [
        (
            "[target]\nbroker_list = \"embedded\"\n",
            "line 6: target.broker_list: unknown field `broker_list`",
        ),
        (
            "[producer]\nlinger_mss = 5\n",
            "line 6: producer.linger_mss: unknown field `linger_mss`",
        ),
        (
            "[workload]\nmessage_sise = 5\n",
            "line 6: workload.message_sise: unknown field `message_sise`",
        ),
        (
            "[workload]\nkeys = { kind = \"uniform\", count = 5, seed = 1 }\n",
            "workload.keys.seed: unknown field `seed`",
        ),
        (
            "[[phases]]\nname = \"q\"\nmessages = 1\nramp = true\n",
            "line 8: phases[1].ramp: unknown field `ramp`",
        ),
    ];
    for (extra, expected) in cases {
        let err = error(&format!("{MINIMAL}{extra}"));
        assert!(err.contains(expected), "expected {expected:?} in {err}");
    }
    let err = error(&format!("nmae = \"x\"\n{MINIMAL}"));
    assert!(err.contains("line 1: nmae: unknown field `nmae`"), "{err}");
}

#[test]
fn invalid_values_name_the_key_and_what_is_allowed() {
    let cases = [
        (
            "[workload]\nmessage_size = 8\n",
            "workload.message_size: 8 bytes is too small; expected at least 16",
        ),
        (
            "[workload]\nmessage_size = \"big\"\n",
            "line 6: workload.message_size: invalid type: string \"big\", expected a size in bytes, \
             or { min = A, max = B, distribution = \"uniform\" | \"normal\" | \"exponential\" }",
        ),
        (
            "[workload]\nmessage_size = 1.5\n",
            "workload.message_size: invalid type: floating point `1.5`",
        ),
        (
            "[workload]\nmessage_size = -100\n",
            "workload.message_size: invalid value: integer `-100`, expected a size in bytes",
        ),
        (
            "[workload]\nproducers = 0\n",
            "workload.producers: 0 is not allowed; expected an integer of at least 1",
        ),
        (
            "[workload]\npartitions = 4294967295\n",
            "workload.partitions: 4294967295 is too many; expected at most 10000 (the embedded broker's max_partitions_per_topic)",
        ),
        (
            "[workload]\nproducers = 100000\n",
            "workload.producers: 100000 is too many; expected at most 1000",
        ),
        (
            "[workload]\nin_flight = 4000000000\n",
            "workload.in_flight: 4000000000 is too many; expected at most 1000000",
        ),
        (
            "[workload]\nheaders = 5000\n",
            "workload.headers: 5000 is too many; expected at most 1000",
        ),
        (
            "[workload]\ntopic = \"a b\"\n",
            "workload.topic: topic name \"a b\" contains ' '",
        ),
        (
            "[workload]\nkeys = \"random\"\n",
            "workload.keys: invalid value: string \"random\", expected \"none\" or { kind = \"sequential\" | \"uniform\" | \"zipf\", count = N }",
        ),
        (
            "[workload]\nkeys = { kind = \"pareto\", count = 5 }\n",
            "workload.keys.kind: unknown variant `pareto`, expected one of `sequential`, `uniform`, `zipf`",
        ),
        (
            "[workload]\nkeys = { kind = \"sequential\", count = 0 }\n",
            "workload.keys.count: 0 is not allowed",
        ),
        (
            "[target]\nbroker = \"localhost\"\n",
            "line 6: target.broker: \"localhost\" is not a broker; expected \"embedded\" or host:port",
        ),
        (
            "[target]\nadmin = \"embedded\"\n",
            "line 6: target.admin: \"embedded\" is not an admin API address; expected host:port",
        ),
        (
            "[target]\nprotocol = \"frame\"\n[producer]\nidempotent = true\n",
            "line 8: producer.idempotent: idempotent = true needs protocol = \"kafka\"; the frame protocol \
             has no producer ids; settings involved: producer.idempotent (line 8), target.protocol (line 6)",
        ),
        (
            "[producer]\n\"enable.idempotence\" = true\nacks = 1\n",
            "line 6: producer.\"enable.idempotence\": idempotent = true needs acks = \"all\" (got acks = 1), \
             as in the Java client; settings involved: producer.\"enable.idempotence\" (line 6), producer.acks (line 7)",
        ),
        (
            "[target]\nprotocol = \"frame\"\n[producer]\ncompression = \"zstd\"\n",
            "line 8: producer.compression: compression = \"zstd\" is not applied over the frame protocol, \
             which sends messages uncompressed, and target.protocol (line 6) is \"frame\"; remove compression, \
             or set protocol = \"kafka\"",
        ),
        (
            "[target]\nmax_failing = \"0s\"\n",
            "line 6: target.max_failing: \"0s\" is zero; expected a positive duration",
        ),
        (
            "[target]\nmax_failing = 5\n",
            "target.max_failing: invalid type: integer `5`, expected a duration string",
        ),
        (
            "[target]\nprotocol = \"http\"\n",
            "target.protocol: \"http\" is not a protocol; expected \"kafka\" or \"frame\"",
        ),
        (
            "[producer]\nacks = 3\n",
            "line 6: producer.acks: invalid acks value \"3\": expected 0, 1, -1 or \"all\"",
        ),
        (
            "[producer]\nrequest_timeout_ms = 0\n",
            "line 6: producer.request_timeout_ms: request_timeout_ms is 0; expected at least 1",
        ),
        (
            "[[phases]]\nname = \"q\"\nduration = \"fast\"\n",
            "line 7: phases[1].duration: \"fast\" is not a duration",
        ),
        (
            "[[phases]]\nname = \"q\"\nduration = 3\n",
            "phases[1].duration: invalid type: integer `3`, expected a duration string such as \"3s\"",
        ),
        (
            "[[phases]]\nname = \"q\"\nduration = \"0s\"\n",
            "phases[1].duration: \"0s\" is zero; expected a positive duration",
        ),
        (
            "[[phases]]\nname = \"q\"\nduration = \"114000000000years\"\n",
            "phases[1].duration: \"114000000000years\" is longer than 30 days, the longest duration loadgen runs",
        ),
        (
            "[[phases]]\nname = \"q\"\nmessages = 100000000001\n",
            "phases[1].messages: 100000000001 is too many; expected at most 100000000000",
        ),
        (
            "[[phases]]\nname = \"q\"\nmessages = 5\nduration = \"1s\"\n",
            "line 5: phases[1]: phase \"q\" sets both duration and messages; set exactly one",
        ),
        (
            "[[phases]]\nname = \"q\"\n",
            "phases[1]: phase \"q\" sets neither duration nor messages; set exactly one",
        ),
        (
            "[[phases]]\nname = \"p\"\nmessages = 1\n",
            "line 5: phases[1].name: phase name \"p\" is used twice",
        ),
    ];
    for (extra, expected) in cases {
        let err = error(&format!("{MINIMAL}{extra}"));
        assert!(err.contains(expected), "expected {expected:?} in {err}");
    }
}

#[test]
fn broker_and_topic_must_not_be_set_in_the_producer_table() {
    let err = error(&format!(
        "{MINIMAL}[producer]\nacks = 1\nbroker_address = \"h:1\"\n"
    ));
    assert!(
        err.contains("line 7: producer.broker_address: `broker_address` must not be set in [producer]: it comes from [target] broker"),
        "{err}"
    );
    let err = error(&format!(
        "{MINIMAL}[producer]\n\"bootstrap.servers\" = \"h:1\"\n"
    ));
    assert!(err.contains("producer.\"bootstrap.servers\""), "{err}");
    let err = error(&format!("{MINIMAL}[producer]\nprotocol = \"kafka\"\n"));
    assert!(
        err.contains("producer.protocol: `protocol` must not be set in [producer]: it comes from [target] protocol"),
        "{err}"
    );
    let err = error(&format!("{MINIMAL}[producer]\ntopic = \"x\"\n"));
    assert!(
        err.contains(
            "producer.topic: `topic` must not be set in [producer]: it comes from [workload] topic"
        ),
        "{err}"
    );
}

#[test]
fn fault_rules_are_read_checked_and_named_by_index_and_key() {
    let s = parse(&format!(
        "{MINIMAL}[target]\nbrokers = 3\n\
         [[faults]]\nkind = \"disconnect\"\nwhen = \"after\"\nprobability = 0.05\nseed = 1\n\
         [[faults]]\nkind = \"leader_move\"\ntopic = \"bench\"\npartition = 0\nto = 3\nat = \"2s\"\n"
    ))
    .unwrap();
    assert_eq!(s.target.brokers, 3);
    assert_eq!(s.faults.len(), 2);
    assert_eq!(s.faults[1].at.unwrap().0, Duration::from_secs(2));

    let err = error(&format!(
        "{MINIMAL}[[faults]]\nkind = \"latency\"\nlatency_ms = 5\n[[faults]]\nkind = \"stall\"\n"
    ));
    assert!(
        err.contains("faults[1].duration: is required for kind = \"stall\""),
        "{err}"
    );
    assert!(err.contains("line 8"), "the second rule's line: {err}");
    let err = error(&format!(
        "{MINIMAL}[[faults]]\nkind = \"leader_move\"\ntopic = \"t\"\npartition = 0\nto = 2\n"
    ));
    assert!(
        err.contains("faults[0].to: broker 2 does not exist; node ids are 1 to 1"),
        "{err}"
    );
    let err = error(&format!(
        "{MINIMAL}[[faults]]\nkind = \"latency\"\nlatncy_ms = 5\n"
    ));
    assert!(
        err.contains("line 7: faults[0].latncy_ms: unknown field `latncy_ms`"),
        "{err}"
    );
    let err = error(&format!(
        "{MINIMAL}[target]\nbroker = \"kafka:9092\"\n[[faults]]\nkind = \"down\"\nduration = \"1s\"\n"
    ));
    assert!(
        err.contains("faults: [[faults]] are set through a mock broker's admin API"),
        "{err}"
    );
    assert!(
        err.ends_with(
            "settings involved: target.broker (line 6), target.admin (not set: its default)"
        ),
        "{err}"
    );
    // With an admin API, node ids are the external broker's business.
    let s = parse(&format!(
        "{MINIMAL}[target]\nbroker = \"kafka:9092\"\nadmin = \"kafka:9644\"\n\
         [[faults]]\nkind = \"down\"\nduration = \"1s\"\nbroker = 7\n"
    ))
    .unwrap();
    assert_eq!(s.faults[0].broker, Some(7));
}

#[test]
fn reserved_keys_say_they_are_not_implemented_yet() {
    let err = error(&format!("{MINIMAL}[audit]\nby_id = true\n"));
    assert!(
        err.contains("line 5: audit: `audit` is reserved for a later version"),
        "{err}"
    );
}

#[test]
fn every_threshold_key_is_read_and_all_are_optional() {
    let s = parse(&format!(
        "{MINIMAL}[thresholds]\np99_ms = 250\np999_ms = 12.5\nmax_error_rate = 0.0\n\
         max_lost = 0\nmax_duplicates = 3\nmin_throughput = 4000\n"
    ))
    .unwrap();
    assert_eq!(
        s.thresholds,
        Some(Thresholds {
            p99_ms: Some(250.0),
            p999_ms: Some(12.5),
            max_error_rate: Some(0.0),
            max_lost: Some(0),
            max_duplicates: Some(3),
            min_throughput: Some(MinThroughput::PerSecond(4000.0)),
        })
    );
    let s = parse(&format!(
        "{MINIMAL}[thresholds]\nmin_throughput = \"99.5%\"\n"
    ))
    .unwrap();
    assert_eq!(
        s.thresholds.unwrap().min_throughput,
        Some(MinThroughput::ShareOfTarget(0.995))
    );
    let s = parse(&format!("{MINIMAL}[thresholds]\n")).unwrap();
    assert_eq!(s.thresholds, Some(Default::default()));
    assert_eq!(parse(MINIMAL).unwrap().thresholds, None);
}

#[test]
fn invalid_thresholds_name_the_line_and_the_key() {
    let cases = [
        (
            "[thresholds]\np99_msx = 5\n",
            "line 6: thresholds.p99_msx: unknown field `p99_msx`, expected one of `p99_ms`",
        ),
        (
            "[thresholds]\np99_ms = 0\n",
            "line 6: thresholds.p99_ms: 0 is not allowed; expected a positive number",
        ),
        (
            "[thresholds]\np999_ms = \"5ms\"\n",
            "line 6: thresholds.p999_ms: invalid type: string \"5ms\", expected f64",
        ),
        (
            "[thresholds]\nmax_error_rate = 1.5\n",
            "line 6: thresholds.max_error_rate: 1.5 is not allowed; expected a share from 0.0 to 1.0",
        ),
        (
            "[thresholds]\nmax_lost = -1\n",
            "line 6: thresholds.max_lost: invalid value: integer `-1`, expected u64",
        ),
        (
            "[thresholds]\nmax_duplicates = 0.5\n",
            "line 6: thresholds.max_duplicates: invalid type: floating point `0.5`, expected u64",
        ),
        (
            "[thresholds]\nmin_throughput = -10\n",
            "line 6: thresholds.min_throughput: -10 is not allowed; expected a positive number",
        ),
        (
            "[thresholds]\nmin_throughput = \"101%\"\n",
            "line 6: thresholds.min_throughput: \"101%\" is not allowed; expected a positive number \
             of msgs/s or a share of the target rate from \"0%\" (excluded) to \"100%\"",
        ),
        (
            "[thresholds]\nmin_throughput = \"fast\"\n",
            "line 6: thresholds.min_throughput: \"fast\" is not allowed",
        ),
    ];
    for (extra, expected) in cases {
        let err = error(&format!("{MINIMAL}{extra}"));
        assert!(err.contains(expected), "expected {expected:?} in {err}");
    }
}

#[test]
fn a_scenario_needs_a_name_and_a_recorded_phase() {
    let err = error("[[phases]]\nname = \"p\"\nmessages = 1\n");
    assert!(err.contains("missing field `name`"), "{err}");
    let err = error("name = \"x\"\n");
    assert!(err.contains(": phases: no [[phases]]"), "{err}");
    let err = error("name = \"x\"\n[[phases]]\nname = \"p\"\nmessages = 1\nrecord = false\n");
    assert!(err.contains("at least one phase must be recorded"), "{err}");
}

#[test]
fn toml_syntax_errors_name_the_line() {
    let err = error("name = \"x\"\n[workload\n");
    assert!(err.contains("line 2"), "{err}");
}

#[test]
fn a_missing_file_is_named() {
    let err = Scenario::from_toml_file("/nonexistent/s.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cannot read scenario /nonexistent/s.toml"),
        "{err}"
    );
}

//! The registry's tests: rules firing on requests, scopes, the clock of time-based kinds.

use std::net::SocketAddr;
use std::time::Duration;

use super::*;
use crate::fault::spec::{ApiScope, FaultKindName, ProtocolScope, When};

fn faults(brokers: u16) -> Faults {
    let listens: Vec<SocketAddr> = (1..=brokers)
        .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
        .collect();
    let cluster = Cluster::new("c".into(), &listens, None).unwrap();
    Faults::new(Arc::new(cluster), Arc::new(Stats::default()))
}

fn produce_to(topic: &'static str, partition: u32, broker: i32) -> impl Fn(&Faults) -> Verdict {
    move |faults| {
        let touches = |t: Option<&str>, p: Option<u32>| {
            t.is_none_or(|t| t == topic) && p.is_none_or(|p| p == partition)
        };
        faults.on_request(&RequestFacts {
            protocol: ProtocolScope::Kafka,
            broker,
            api: ApiScope::Produce,
            touches: &touches,
            names_group: &|_| false,
            names_transaction: &|_| false,
        })
    }
}

#[test]
fn a_count_rule_fires_on_the_next_n_matching_requests_then_expires() {
    let faults = faults(1);
    let rule = faults
        .add(
            FaultSpec::error("NOT_LEADER_OR_FOLLOWER")
                .with_topic("t")
                .with_count(2),
        )
        .unwrap();
    assert_eq!(rule.state, FaultState::Active);
    assert!(faults.any_per_request());
    assert_eq!(produce_to("other", 0, 1)(&faults), Verdict::default());
    for _ in 0..2 {
        assert_eq!(produce_to("t", 0, 1)(&faults).error.unwrap().kafka, Some(6));
    }
    assert_eq!(produce_to("t", 0, 1)(&faults), Verdict::default());
    let info = faults.get(rule.id).unwrap();
    assert_eq!((info.fired, info.state), (2, FaultState::Expired));
    assert!(
        !faults.any_per_request(),
        "an expired rule costs requests nothing"
    );
    assert_eq!(faults.stats.snapshot().faults["error"], 2);
}

#[test]
fn probability_with_a_seed_fires_the_same_requests_every_time() {
    let pattern = || {
        let faults = faults(1);
        faults
            .add(FaultSpec::disconnect(When::After).with_probability(0.3, Some(42)))
            .unwrap();
        (0..200)
            .map(|_| produce_to("t", 0, 1)(&faults).disconnect.is_some())
            .collect::<Vec<_>>()
    };
    let first = pattern();
    assert_eq!(first, pattern());
    let fired = first.iter().filter(|f| **f).count();
    assert!((30..=90).contains(&fired), "{fired} of 200 at p = 0.3");
}

#[test]
fn scope_limits_rules_to_their_broker_partition_and_protocol() {
    let faults = faults(3);
    faults
        .add(FaultSpec::throttle(100).with_broker(2).with_partition(1))
        .unwrap();
    assert_eq!(produce_to("t", 1, 1)(&faults).throttle_ms, None);
    assert_eq!(produce_to("t", 0, 2)(&faults).throttle_ms, None);
    assert_eq!(produce_to("t", 1, 2)(&faults).throttle_ms, Some(100));
    let frame = faults.on_request(&RequestFacts {
        protocol: ProtocolScope::Frame,
        broker: 2,
        api: ApiScope::Produce,
        touches: &|_, _| true,
        names_group: &|_| false,
        names_transaction: &|_| false,
    });
    assert_eq!(frame.throttle_ms, None, "frames have no throttle field");
}

#[test]
fn a_group_scope_matches_only_requests_naming_the_group() {
    let faults = faults(1);
    faults
        .add(FaultSpec::throttle(100).with_group("g"))
        .unwrap();
    let heartbeat = |group: &'static str| RequestFacts {
        protocol: ProtocolScope::Kafka,
        broker: 1,
        api: ApiScope::Heartbeat,
        touches: &|_, _| false,
        names_group: if group == "g" {
            &|g| g == "g"
        } else {
            &|g| g == "other"
        },
        names_transaction: &|_| false,
    };
    assert_eq!(faults.on_request(&heartbeat("g")).throttle_ms, Some(100));
    assert_eq!(faults.on_request(&heartbeat("other")).throttle_ms, None);
    assert_eq!(
        produce_to("t", 0, 1)(&faults).throttle_ms,
        None,
        "a produce request names no group"
    );
}

#[test]
fn a_transactional_id_scope_matches_only_requests_naming_that_id() {
    let faults = faults(1);
    faults
        .add(
            FaultSpec::error("CONCURRENT_TRANSACTIONS")
                .with_transactional_id("t1")
                .with_api(ApiScope::EndTxn)
                .with_count(2),
        )
        .unwrap();
    let end_txn = |names: &'static dyn Fn(&str) -> bool| RequestFacts {
        protocol: ProtocolScope::Kafka,
        broker: 1,
        api: ApiScope::EndTxn,
        touches: &|_, _| false,
        names_group: &|_| false,
        names_transaction: names,
    };
    assert_eq!(
        faults.on_request(&end_txn(&|t| t == "t2")).error,
        None,
        "another transactional id"
    );
    assert_eq!(
        faults.on_request(&end_txn(&|_| false)).error,
        None,
        "a request naming no transactional id"
    );
    for _ in 0..2 {
        let verdict = faults.on_request(&end_txn(&|t| t == "t1"));
        assert_eq!(verdict.error.unwrap().kafka, Some(51));
    }
    assert_eq!(
        faults.on_request(&end_txn(&|t| t == "t1")).error,
        None,
        "the count is spent"
    );
}

#[test]
fn a_transactional_id_scope_and_a_group_scope_must_both_match() {
    let faults = faults(1);
    faults
        .add(
            FaultSpec::throttle(100)
                .with_transactional_id("t1")
                .with_group("g"),
        )
        .unwrap();
    let txn_offset_commit =
        |group: &'static dyn Fn(&str) -> bool, txn: &'static dyn Fn(&str) -> bool| RequestFacts {
            protocol: ProtocolScope::Kafka,
            broker: 1,
            api: ApiScope::TxnOffsetCommit,
            touches: &|_, _| false,
            names_group: group,
            names_transaction: txn,
        };
    let both = txn_offset_commit(&|g| g == "g", &|t| t == "t1");
    assert_eq!(faults.on_request(&both).throttle_ms, Some(100));
    let other_group = txn_offset_commit(&|g| g == "h", &|t| t == "t1");
    assert_eq!(faults.on_request(&other_group).throttle_ms, None);
    let other_id = txn_offset_commit(&|g| g == "g", &|t| t == "t2");
    assert_eq!(faults.on_request(&other_id).throttle_ms, None);
}

#[test]
fn a_rebalance_rule_without_a_coordinator_stays_active_and_unfired() {
    let faults = faults(1);
    let rule = faults.add(FaultSpec::rebalance("g")).unwrap();
    assert_eq!((rule.fired, rule.state), (0, FaultState::Active));
    assert_eq!(rule.spec.kind, FaultKindName::Rebalance);
}

#[test]
fn latencies_add_up_and_jitter_stays_within_its_bounds() {
    let faults = faults(1);
    faults.add(FaultSpec::latency(100)).unwrap();
    faults
        .add(FaultSpec::latency(50).with_jitter_ms(20))
        .unwrap();
    for _ in 0..100 {
        let delay = produce_to("t", 0, 1)(&faults).delay.unwrap();
        assert!(
            (Duration::from_millis(130)..=Duration::from_millis(170)).contains(&delay),
            "{delay:?}"
        );
    }
}

#[test]
fn time_based_faults_start_and_end_on_the_clock_and_set_each_brokers_condition() {
    let faults = faults(2);
    let stall = faults
        .add(FaultSpec::stall(Duration::from_secs(2)).with_at(Duration::from_secs(1)))
        .unwrap();
    let down = faults
        .add(FaultSpec::down(Duration::from_secs(5)).with_broker(2))
        .unwrap();
    let (one, two) = (faults.condition(1), faults.condition(2));
    assert_eq!(stall.state, FaultState::Pending);
    assert_eq!(
        down.state,
        FaultState::Active,
        "due at once, so in force on return"
    );
    assert_eq!(*one.borrow(), Condition::default());
    assert!(two.borrow().down);

    let start = faults.registry().rules[0].added;
    let next = faults.advance(start + Duration::from_millis(1500));
    assert_eq!(
        *one.borrow(),
        Condition {
            stalled: true,
            down: false
        }
    );
    assert_eq!(
        *two.borrow(),
        Condition {
            stalled: true,
            down: true
        }
    );
    assert_eq!(
        next,
        Some(start + Duration::from_secs(3)),
        "the stall ends next"
    );

    faults.advance(start + Duration::from_secs(3));
    assert_eq!(*one.borrow(), Condition::default());
    assert!(!two.borrow().stalled);
    assert_eq!(faults.get(stall.id).unwrap().state, FaultState::Expired);
    assert!(faults.remove(down.id));
    assert!(!two.borrow().down, "removing an outage ends it");
    assert_eq!(faults.stats.snapshot().faults["stall"], 1);
}

#[test]
fn a_leader_move_with_a_duration_moves_back_when_it_ends() {
    let faults = faults(3);
    let rule = faults
        .add(FaultSpec::leader_move("t", 0, 3).with_duration(Duration::from_secs(1)))
        .unwrap();
    assert_eq!(faults.cluster.leadership("t", 0).leader, 3);
    let start = faults.registry().rules[0].added;
    faults.advance(start + Duration::from_secs(1));
    let back = faults.cluster.leadership("t", 0);
    assert_eq!((back.leader, back.epoch), (1, 2));
    assert_eq!(faults.get(rule.id).unwrap().state, FaultState::Expired);
    // Without a duration the move stays.
    let rule = faults.add(FaultSpec::leader_move("t", 1, 1)).unwrap();
    assert_eq!(rule.state, FaultState::Expired);
    assert_eq!(faults.cluster.leader("t", 1), 1);
    assert_eq!(rule.spec.kind, FaultKindName::LeaderMove);
}

#[test]
fn state_names_are_the_serialized_ones() {
    for state in [FaultState::Pending, FaultState::Active, FaultState::Expired] {
        assert_eq!(serde_json::to_value(state).unwrap(), state.as_str());
    }
}

#[test]
fn invalid_rules_are_refused_and_not_added() {
    let faults = faults(1);
    let err = faults
        .add(FaultSpec::down(Duration::from_secs(1)).with_broker(2))
        .unwrap_err();
    assert_eq!(err.key, "broker");
    assert!(faults.list().is_empty());
    assert_eq!(faults.clear(), 0);
}

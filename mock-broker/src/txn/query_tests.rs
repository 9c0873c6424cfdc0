//! DescribeTransactions, ListTransactions and the admin snapshot.

use kafka_protocol::ResponseError;

use super::test_support::{Harness, TIMEOUT_MS, tp};
use super::{ListFilter, TxnState, TxnVersion};

#[test]
fn states_are_spelled_as_kafka_spells_them() {
    let names: Vec<_> = TxnState::ALL.iter().map(|s| s.name()).collect();
    assert_eq!(
        names,
        [
            "Empty",
            "Ongoing",
            "PrepareCommit",
            "PrepareAbort",
            "CompleteCommit",
            "CompleteAbort",
            "Dead",
            "PrepareEpochFence"
        ]
    );
    for state in TxnState::ALL {
        assert_eq!(TxnState::from_name(state.name()), Some(state));
    }
    assert_eq!(TxnState::from_name("ongoing"), None);
}

#[test]
fn describe_shows_the_producer_the_timeout_the_start_and_the_partitions_by_topic() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(50, "a", p, &[("u", 2), ("t", 1), ("t", 0)]).unwrap();
    let described = h.coordinator.describe("a").unwrap();
    assert_eq!(described.transactional_id, "a");
    assert_eq!(described.state.name(), "Ongoing");
    assert_eq!(
        (described.producer_id, described.producer_epoch),
        (p.producer_id, 0)
    );
    assert_eq!(described.timeout_ms, TIMEOUT_MS);
    assert_eq!(described.start_ms, 50);
    assert_eq!(
        described.topics(),
        [("t".to_owned(), vec![0, 1]), ("u".to_owned(), vec![2])]
    );
}

#[test]
fn describe_of_an_unknown_id_is_not_found() {
    let h = Harness::new();
    assert_eq!(
        h.coordinator.describe("nobody"),
        Err(ResponseError::TransactionalIdNotFound)
    );
    assert_eq!(
        h.coordinator.describe(""),
        Err(ResponseError::InvalidRequest)
    );
}

/// Three ids: "empty" (Empty), "open" (Ongoing since 100), "done" (CompleteCommit, started at 10).
fn three_ids() -> Harness {
    let mut h = Harness::new();
    h.init(0, "empty");
    let open = h.init(0, "open");
    h.add(100, "open", open, &[("t", 0)]).unwrap();
    let done = h.init(0, "done");
    h.add(10, "done", done, &[("t", 1)]).unwrap();
    let commit = h.ending(20, "done", done, true, TxnVersion::V1);
    h.written(21, &commit);
    h
}

/// The ids a listing names.
fn ids(h: &Harness, now_ms: i64, filter: &ListFilter) -> Vec<String> {
    h.coordinator
        .list(now_ms, filter)
        .transactions
        .into_iter()
        .map(|t| t.transactional_id)
        .collect()
}

#[test]
fn list_without_filters_names_every_id_in_order() {
    let h = three_ids();
    let listing = h.coordinator.list(200, &ListFilter::default());
    let rows: Vec<_> = listing
        .transactions
        .iter()
        .map(|t| (t.transactional_id.as_str(), t.state.name()))
        .collect();
    assert_eq!(
        rows,
        [
            ("done", "CompleteCommit"),
            ("empty", "Empty"),
            ("open", "Ongoing")
        ]
    );
    assert!(listing.unknown_state_filters.is_empty());
}

#[test]
fn list_filters_by_state_and_reports_unknown_state_names() {
    let h = three_ids();
    let filter = ListFilter {
        states: vec!["Ongoing".into(), "Empty".into(), "Bogus".into()],
        ..ListFilter::default()
    };
    assert_eq!(ids(&h, 200, &filter), ["empty", "open"]);
    assert_eq!(
        h.coordinator.list(200, &filter).unknown_state_filters,
        ["Bogus"]
    );
}

#[test]
fn list_filters_by_producer_id() {
    let h = three_ids();
    let open = h.coordinator.describe("open").unwrap().producer_id;
    let filter = ListFilter {
        producer_ids: vec![open, 424_242],
        ..ListFilter::default()
    };
    assert_eq!(ids(&h, 200, &filter), ["open"]);
}

#[test]
fn list_filters_by_duration_keeping_transactions_running_longer() {
    let h = three_ids();
    let ongoing_longer_than = |ms| ListFilter {
        states: vec!["Ongoing".into()],
        duration_filter_ms: ms,
        ..ListFilter::default()
    };
    // "open" started at 100: at 200 it has run 100 ms.
    assert_eq!(ids(&h, 200, &ongoing_longer_than(99)), ["open"]);
    assert!(ids(&h, 200, &ongoing_longer_than(100)).is_empty());
    assert_eq!(ids(&h, 200, &ongoing_longer_than(-1)), ["open"]);
}

#[test]
fn the_snapshot_describes_every_id_in_order() {
    let h = three_ids();
    let snapshot = h.coordinator.snapshot();
    let rows: Vec<_> = snapshot
        .iter()
        .map(|d| (d.transactional_id.as_str(), d.partitions.clone()))
        .collect();
    assert_eq!(
        rows,
        [
            ("done", vec![]),
            ("empty", vec![]),
            ("open", vec![tp("t", 0)])
        ]
    );
}

//! Transaction timeouts and transactional id expiry, driven by `tick` at the times the tests pass.

use kafka_protocol::ResponseError;

use super::test_support::{Harness, TIMEOUT_MS, marked, pe};
use super::{TxnConfig, TxnCoordinator, TxnVersion};

#[test]
fn a_transaction_open_longer_than_its_timeout_is_aborted_with_a_fencing_epoch() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(1_000, "a", p, &[("t", 0)]).unwrap();
    let deadline = 1_000 + i64::from(TIMEOUT_MS) + 1;
    assert_eq!(h.coordinator.next_deadline(), Some(deadline));
    // Kafka aborts once start + timeout < now: not at exactly start + timeout.
    assert!(h.coordinator.tick(deadline - 1).is_empty());
    assert_eq!(h.state("a"), "Ongoing");

    let aborts = h.coordinator.tick(deadline);
    assert_eq!(aborts.len(), 1);
    assert_eq!(marked(&aborts[0]), [("t".into(), 0, 1, false)]);
    assert_eq!(aborts[0].producer, pe(p.producer_id, 1));
    assert_eq!(h.state("a"), "PrepareAbort");
    // A preparing transaction is not aborted twice.
    assert!(h.coordinator.tick(deadline + 10).is_empty());
    h.written(deadline + 1, &aborts[0]);
    assert_eq!(h.state("a"), "CompleteAbort");
}

#[test]
fn the_producer_of_a_timed_out_transaction_is_fenced() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(0, "a", p, &[("t", 0)]).unwrap();
    for abort in h.coordinator.tick(i64::from(TIMEOUT_MS) + 1) {
        h.written(i64::from(TIMEOUT_MS) + 2, &abort);
    }
    assert_eq!(
        h.add(70_000, "a", p, &[("t", 0)]),
        Err(ResponseError::ProducerFenced)
    );
    assert_eq!(
        h.end(70_000, "a", p, true, TxnVersion::V1),
        Err(ResponseError::ProducerFenced)
    );
    // Its successor starts over with a new epoch.
    assert_eq!(h.init(70_001, "a"), pe(p.producer_id, 2));
}

#[test]
fn ids_without_an_open_transaction_expire_after_the_expiration_time() {
    let mut coordinator = TxnCoordinator::new(TxnConfig {
        max_timeout_ms: 900_000,
        transactional_id_expiration_ms: 1_000_000,
    });
    let mut ids = 1000;
    let mut alloc = || {
        ids += 1;
        ids
    };
    coordinator
        .init_producer_id(0, "idle", TIMEOUT_MS, None, &mut alloc)
        .unwrap();
    coordinator
        .init_producer_id(0, "busy", TIMEOUT_MS, None, &mut alloc)
        .unwrap();
    coordinator
        .add_partitions(
            10,
            "busy",
            pe(1002, 0),
            [super::TopicPartition::new("t", 0)],
        )
        .unwrap();
    // The busy one's timeout comes first; then the idle one's expiry.
    assert_eq!(
        coordinator.next_deadline(),
        Some(10 + i64::from(TIMEOUT_MS) + 1)
    );
    let aborts = coordinator.tick(10 + i64::from(TIMEOUT_MS) + 1);
    assert_eq!(aborts.len(), 1);
    coordinator.markers_written(70_011, "busy").unwrap();
    assert_eq!(coordinator.next_deadline(), Some(1_000_000));
    assert!(coordinator.tick(999_999).is_empty());
    assert!(coordinator.describe("idle").is_ok());
    let _ = coordinator.tick(1_000_000);
    assert_eq!(
        coordinator.describe("idle").unwrap_err(),
        ResponseError::TransactionalIdNotFound
    );
    assert!(coordinator.describe("busy").is_ok());
    assert_eq!(
        coordinator.check_produce(
            1_000_001,
            pe(1001, 0),
            &super::TopicPartition::new("t", 0),
            true
        ),
        Err(ResponseError::InvalidProducerIdMapping)
    );
}

#[test]
fn nothing_to_wait_for_without_transactional_ids() {
    let coordinator = TxnCoordinator::default();
    assert_eq!(coordinator.next_deadline(), None);
}

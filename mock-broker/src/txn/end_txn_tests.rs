//! EndTxn: the markers each end asks for, retries, refusals, and KIP-890's epoch bumps.

use kafka_protocol::ResponseError;

use super::test_support::{Harness, marked, pe, tp};
use super::{EndTxnOutcome, TxnApi, TxnVersion, for_client};

use TxnVersion::{V1, V2};

#[test]
fn commit_asks_for_a_commit_marker_per_partition_and_completes_once_they_are_written() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(1, "a", p, &[("t", 1), ("t", 0), ("u", 3)]).unwrap();
    let commit = h.ending(2, "a", p, true, V1);
    assert!(commit.commit);
    assert_eq!(
        marked(&commit),
        [
            ("t".into(), 0, 0, true),
            ("t".into(), 1, 0, true),
            ("u".into(), 3, 0, true)
        ]
    );
    assert!(
        commit
            .markers
            .iter()
            .all(|m| m.producer_id == p.producer_id)
    );
    assert!(commit.markers.iter().all(|m| m.coordinator_epoch == 0));
    // Version 1 keeps the epoch.
    assert_eq!(commit.producer, p);
    assert_eq!(h.state("a"), "PrepareCommit");
    // Kafka still lists the partitions while their markers are written.
    assert_eq!(h.coordinator.describe("a").unwrap().partitions.len(), 3);
    h.written(3, &commit);
    assert_eq!(h.state("a"), "CompleteCommit");
    assert!(h.coordinator.describe("a").unwrap().partitions.is_empty());
}

#[test]
fn abort_asks_for_abort_markers() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(1, "a", p, &[("t", 0)]).unwrap();
    let abort = h.ending(2, "a", p, false, V1);
    assert_eq!(marked(&abort), [("t".into(), 0, 0, false)]);
    h.written(3, &abort);
    assert_eq!(h.state("a"), "CompleteAbort");
}

#[test]
fn the_same_end_again_after_it_completed_is_answered_ok_and_the_opposite_is_invalid() {
    for commit in [true, false] {
        let mut h = Harness::new();
        let p = h.init(0, "a");
        h.add(1, "a", p, &[("t", 0)]).unwrap();
        let end = h.ending(2, "a", p, commit, V1);
        h.written(3, &end);
        assert_eq!(
            h.end(4, "a", p, commit, V1),
            Ok(EndTxnOutcome::AlreadyEnded(p))
        );
        assert_eq!(
            h.end(4, "a", p, !commit, V1),
            Err(ResponseError::InvalidTxnState)
        );
    }
}

#[test]
fn the_same_end_while_markers_are_written_waits_and_the_opposite_is_invalid() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(1, "a", p, &[("t", 0)]).unwrap();
    let _commit = h.ending(2, "a", p, true, V1);
    assert_eq!(
        h.end(3, "a", p, true, V1),
        Err(ResponseError::ConcurrentTransactions)
    );
    assert_eq!(
        h.end(3, "a", p, false, V1),
        Err(ResponseError::InvalidTxnState)
    );
}

#[test]
fn version_1_refuses_to_end_a_transaction_that_never_started() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    for commit in [true, false] {
        assert_eq!(
            h.end(1, "a", p, commit, V1),
            Err(ResponseError::InvalidTxnState)
        );
    }
}

#[test]
fn a_transaction_with_only_offsets_ends_without_markers() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.coordinator.add_offsets(1, "a", p, "g").unwrap();
    let commit = h.ending(2, "a", p, true, V1);
    assert!(commit.markers.is_empty());
    h.written(3, &commit);
    assert_eq!(h.state("a"), "CompleteCommit");
}

#[test]
fn end_txn_refuses_stale_epochs_other_producer_ids_and_unknown_ids() {
    let mut h = Harness::new();
    let old = h.init(0, "a");
    let new = h.init(0, "a");
    h.add(1, "a", new, &[("t", 0)]).unwrap();
    assert_eq!(
        h.end(2, "a", old, true, V1),
        Err(ResponseError::ProducerFenced)
    );
    assert_eq!(
        for_client(ResponseError::ProducerFenced, TxnApi::EndTxn, 1),
        ResponseError::InvalidProducerEpoch
    );
    assert_eq!(
        h.end(2, "a", pe(new.producer_id + 5, 1), true, V1),
        Err(ResponseError::InvalidProducerIdMapping)
    );
    assert_eq!(
        h.end(2, "b", new, true, V1),
        Err(ResponseError::InvalidProducerIdMapping)
    );
    assert_eq!(
        h.end(2, "", new, true, V1),
        Err(ResponseError::InvalidRequest)
    );
    for version in [V1, V2] {
        assert_eq!(
            h.end(2, "a", pe(new.producer_id, 9), true, version),
            Err(ResponseError::ProducerFenced)
        );
    }
}

#[test]
fn version_2_bumps_the_epoch_on_every_end_and_fences_late_batches() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(1, "a", p, &[("t", 0)]).unwrap();
    let commit = h.ending(2, "a", p, true, V2);
    // The markers carry the new epoch, so the ended transaction's late batches are fenced.
    assert_eq!(marked(&commit), [("t".into(), 0, 1, true)]);
    assert_eq!(commit.producer, pe(p.producer_id, 1));
    h.written(3, &commit);
    assert_eq!(
        h.coordinator.check_produce(4, p, &tp("t", 0), true),
        Err(ResponseError::ProducerFenced)
    );
    let next = commit.producer;
    h.add(4, "a", next, &[("t", 0)]).unwrap();
    let abort = h.ending(5, "a", next, false, V2);
    assert_eq!(abort.producer, pe(p.producer_id, 2));
}

#[test]
fn version_2_tells_a_retry_by_its_epoch_before_the_bump() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(1, "a", p, &[("t", 0)]).unwrap();
    let commit = h.ending(2, "a", p, true, V2);
    // Retried while the markers are written: wait.
    assert_eq!(
        h.end(3, "a", p, true, V2),
        Err(ResponseError::ConcurrentTransactions)
    );
    h.written(3, &commit);
    // Retried after: answered with the producer to use from now on.
    assert_eq!(
        h.end(4, "a", p, true, V2),
        Ok(EndTxnOutcome::AlreadyEnded(commit.producer))
    );
    assert_eq!(
        h.end(4, "a", p, false, V2),
        Err(ResponseError::InvalidTxnState)
    );
    // A commit at the new epoch, with nothing added since, is no transaction.
    assert_eq!(
        h.end(4, "a", commit.producer, true, V2),
        Err(ResponseError::InvalidTxnState)
    );
}

#[test]
fn version_2_allows_aborting_a_transaction_that_added_nothing() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    assert_eq!(
        h.end(1, "a", p, true, V2),
        Err(ResponseError::InvalidTxnState)
    );
    let abort = h.ending(1, "a", p, false, V2);
    assert!(abort.markers.is_empty());
    assert_eq!(abort.producer, pe(p.producer_id, 1));
    assert_eq!(h.coordinator.describe("a").unwrap().start_ms, 1);
    h.written(2, &abort);
    assert_eq!(h.state("a"), "CompleteAbort");
    // Again at the new epoch: another empty abort.
    let again = h.ending(3, "a", abort.producer, false, V2);
    assert_eq!(again.producer, pe(p.producer_id, 2));
}

#[test]
fn version_2_refuses_a_commit_that_crossed_a_coordinator_abort_as_fenced() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(0, "a", p, &[("t", 0)]).unwrap();
    let mut aborts = h.coordinator.tick(60_001);
    let abort = aborts.pop().expect("the timed-out transaction is aborted");
    h.written(60_002, &abort);
    // KAFKA-20785: fenced, which a client recovers from, not INVALID_TXN_STATE.
    assert_eq!(
        h.end(60_003, "a", p, true, V2),
        Err(ResponseError::ProducerFenced)
    );
}

#[test]
fn version_2_at_an_exhausted_epoch_moves_to_a_new_producer_id_once_the_markers_are_written() {
    let mut h = Harness::new();
    let mut p = h.init(0, "a");
    while p.epoch < i16::MAX - 1 {
        p = h.init(0, "a");
    }
    h.add(1, "a", p, &[("t", 0)]).unwrap();
    let commit = h.ending(2, "a", p, true, V2);
    // The markers are the old id's last word, at the reserved epoch.
    assert_eq!(commit.markers[0].producer_id, p.producer_id);
    assert_eq!(commit.markers[0].producer_epoch, i16::MAX);
    assert_ne!(commit.producer.producer_id, p.producer_id);
    assert_eq!(commit.producer.epoch, 0);
    h.written(3, &commit);
    let described = h.coordinator.describe("a").unwrap();
    assert_eq!(
        (described.producer_id, described.producer_epoch),
        (commit.producer.producer_id, 0)
    );
    // A retry with the old id and epoch is recognised.
    assert_eq!(
        h.end(4, "a", p, true, V2),
        Ok(EndTxnOutcome::AlreadyEnded(commit.producer))
    );
    // The new id takes batches.
    h.coordinator
        .check_produce(5, commit.producer, &tp("t", 0), true)
        .unwrap();
}

#[test]
fn markers_written_without_markers_outstanding_is_invalid() {
    let mut h = Harness::new();
    h.init(0, "a");
    assert_eq!(
        h.coordinator.markers_written(1, "a"),
        Err(ResponseError::InvalidTxnState)
    );
    assert_eq!(
        h.coordinator.markers_written(1, "b"),
        Err(ResponseError::InvalidProducerIdMapping)
    );
}

//! InitProducerId, AddPartitionsToTxn (and its verify-only form), AddOffsetsToTxn,
//! TxnOffsetCommit and the produce-side check, as Kafka's coordinator answers them.

use kafka_protocol::ResponseError;

use super::test_support::{Harness, TIMEOUT_MS, marked, offset, pe, tp};
use super::{InitOutcome, TxnApi, TxnCoordinator, TxnState, TxnVersion, for_client};

#[test]
fn a_new_transactional_id_gets_a_fresh_producer_id_at_epoch_0() {
    let mut h = Harness::new();
    assert_eq!(h.init(0, "a"), pe(1001, 0));
    assert_eq!(h.init(0, "b"), pe(1002, 0));
    assert_eq!(h.state("a"), "Empty");
    assert_eq!(h.coordinator.describe("a").unwrap().timeout_ms, TIMEOUT_MS);
}

#[test]
fn init_again_bumps_the_epoch_and_fences_the_older_producer() {
    let mut h = Harness::new();
    let old = h.init(0, "a");
    let new = h.init(1, "a");
    assert_eq!(new, pe(old.producer_id, 1));
    assert_eq!(
        h.add(2, "a", old, &[("t", 0)]),
        Err(ResponseError::ProducerFenced)
    );
    assert_eq!(h.add(2, "a", new, &[("t", 0)]), Ok(()));
    // Clients before KIP-588 know the same refusal as INVALID_PRODUCER_EPOCH.
    assert_eq!(
        for_client(ResponseError::ProducerFenced, TxnApi::AddPartitionsToTxn, 1),
        ResponseError::InvalidProducerEpoch
    );
    assert_eq!(
        for_client(ResponseError::ProducerFenced, TxnApi::AddPartitionsToTxn, 2),
        ResponseError::ProducerFenced
    );
    assert_eq!(
        for_client(ResponseError::ProducerFenced, TxnApi::InitProducerId, 3),
        ResponseError::InvalidProducerEpoch
    );
    assert_eq!(
        for_client(ResponseError::ProducerFenced, TxnApi::EndTxn, 1),
        ResponseError::InvalidProducerEpoch
    );
}

#[test]
fn init_during_an_ongoing_transaction_fences_aborts_it_and_asks_the_client_to_retry() {
    let mut h = Harness::new();
    let old = h.init(0, "a");
    h.add(1, "a", old, &[("t", 0), ("t", 1)]).unwrap();

    let Ok(InitOutcome::Aborting(abort)) = h.try_init(2, "a", None) else {
        panic!("an init during a transaction aborts it");
    };
    // The markers carry the fencing epoch, so the old producer's late batches are refused.
    assert_eq!(
        marked(&abort),
        [("t".into(), 0, 1, false), ("t".into(), 1, 1, false)]
    );
    assert!(abort.offsets.is_empty());
    assert_eq!(h.state("a"), "PrepareAbort");
    assert_eq!(
        h.add(3, "a", old, &[("t", 0)]),
        Err(ResponseError::ProducerFenced)
    );
    // While the markers are written the retry waits, as in Kafka.
    assert_eq!(
        h.try_init(3, "a", None),
        Err(ResponseError::ConcurrentTransactions)
    );
    h.written(4, &abort);
    assert_eq!(h.state("a"), "CompleteAbort");
    // The retry bumps once more: Kafka's fencing epoch is never handed to a client.
    assert_eq!(h.init(5, "a"), pe(old.producer_id, 2));
    assert_eq!(h.state("a"), "Empty");
}

#[test]
fn an_exhausted_epoch_moves_the_transactional_id_to_a_new_producer_id_at_epoch_0() {
    let mut h = Harness::new();
    let first = h.init(0, "a");
    let mut producer = first;
    while producer.epoch < i16::MAX - 1 {
        producer = h.init(0, "a");
    }
    assert_eq!(producer, pe(first.producer_id, i16::MAX - 1));
    let rotated = h.init(1, "a");
    assert_eq!(rotated.epoch, 0);
    assert_ne!(rotated.producer_id, first.producer_id);
    // Batches of the old id no longer belong to any transactional id.
    assert_eq!(
        h.coordinator.check_produce(2, producer, &tp("t", 0), true),
        Err(ResponseError::InvalidProducerIdMapping)
    );
    h.coordinator
        .check_produce(2, rotated, &tp("t", 0), true)
        .unwrap();
}

#[test]
fn a_timeout_outside_1_to_the_maximum_is_refused() {
    let mut h = Harness::new();
    let mut ids = 0;
    let mut init = |coordinator: &mut TxnCoordinator, timeout_ms| {
        coordinator
            .init_producer_id(0, "a", timeout_ms, None, &mut || {
                ids += 1;
                ids
            })
            .map(|_| ())
    };
    for bad in [0, -1, 900_001, i32::MAX] {
        assert_eq!(
            init(&mut h.coordinator, bad),
            Err(ResponseError::InvalidTransactionTimeout),
            "timeout {bad}"
        );
    }
    assert_eq!(init(&mut h.coordinator, 900_000), Ok(()));
    assert_eq!(init(&mut h.coordinator, 1), Ok(()));
    assert_eq!(h.try_init(0, "", None), Err(ResponseError::InvalidRequest));
}

#[test]
fn kip_360_keeps_the_producer_id_for_its_current_producer_and_fences_stale_ones() {
    let mut h = Harness::new();
    let first = h.init(0, "a");
    let second = h.init(0, "a"); // another producer took over: epoch 1
    // The current producer recovers: same id, next epoch.
    let Ok(InitOutcome::Ready(recovered)) = h.try_init(1, "a", Some(second)) else {
        panic!("the current producer may bump its own epoch");
    };
    assert_eq!(recovered, pe(first.producer_id, 2));
    // A retry of that call (its answer was lost) gets the same epoch again.
    assert_eq!(
        h.try_init(2, "a", Some(second)),
        Ok(InitOutcome::Ready(recovered))
    );
    // The first producer is stale.
    assert_eq!(
        h.try_init(3, "a", Some(first)),
        Err(ResponseError::ProducerFenced)
    );
    assert_eq!(
        h.try_init(3, "a", Some(pe(77, 0))),
        Err(ResponseError::ProducerFenced)
    );
    assert_eq!(
        h.try_init(3, "a", Some(pe(77, -1))),
        Err(ResponseError::InvalidRequest)
    );
    // An id the coordinator never saw is created whatever the producer names.
    let Ok(InitOutcome::Ready(fresh)) = h.try_init(4, "b", Some(pe(77, 3))) else {
        panic!("a new transactional id accepts any expected producer");
    };
    assert_eq!(fresh.epoch, 0);
}

#[test]
fn the_first_add_starts_the_transaction_and_later_adds_join_it() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(100, "a", p, &[("t", 1)]).unwrap();
    h.add(200, "a", p, &[("t", 0), ("u", 0)]).unwrap();
    let described = h.coordinator.describe("a").unwrap();
    assert_eq!(described.state, TxnState::Ongoing);
    assert_eq!(described.start_ms, 100);
    assert_eq!(described.partitions, [tp("t", 0), tp("t", 1), tp("u", 0)]);
}

#[test]
fn add_partitions_refuses_unknown_ids_other_producers_stale_epochs_and_ending_transactions() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    assert_eq!(
        h.add(1, "nobody", p, &[("t", 0)]),
        Err(ResponseError::InvalidProducerIdMapping)
    );
    assert_eq!(
        h.add(1, "a", pe(p.producer_id + 1, 0), &[("t", 0)]),
        Err(ResponseError::InvalidProducerIdMapping)
    );
    assert_eq!(
        h.add(1, "a", pe(p.producer_id, 1), &[("t", 0)]),
        Err(ResponseError::ProducerFenced)
    );
    assert_eq!(
        h.add(1, "", p, &[("t", 0)]),
        Err(ResponseError::InvalidRequest)
    );
    h.add(1, "a", p, &[("t", 0)]).unwrap();
    let commit = h.ending(2, "a", p, true, TxnVersion::V1);
    assert_eq!(
        h.add(3, "a", p, &[("t", 1)]),
        Err(ResponseError::ConcurrentTransactions)
    );
    h.written(4, &commit);
    assert_eq!(h.add(5, "a", p, &[("t", 1)]), Ok(()));
}

#[test]
fn verify_only_answers_for_each_partition_whether_it_is_in_the_transaction() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(1, "a", p, &[("t", 0)]).unwrap();
    let verdicts = h
        .coordinator
        .verify_partitions("a", p, [tp("t", 0), tp("t", 1)])
        .unwrap();
    assert_eq!(
        verdicts,
        [
            (tp("t", 0), Ok(())),
            (tp("t", 1), Err(ResponseError::TransactionAbortable))
        ]
    );
    // Verifying adds nothing.
    assert_eq!(
        h.coordinator.describe("a").unwrap().partitions,
        [tp("t", 0)]
    );
    assert_eq!(
        h.coordinator
            .verify_partitions("a", pe(p.producer_id, 5), [tp("t", 0)]),
        Err(ResponseError::ProducerFenced)
    );
}

#[test]
fn committed_offsets_wait_in_the_transaction_and_are_handed_out_on_commit() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.coordinator.add_offsets(10, "a", p, "g").unwrap();
    assert_eq!(h.state("a"), "Ongoing");
    assert_eq!(h.coordinator.describe("a").unwrap().start_ms, 10);
    h.coordinator
        .txn_offset_commit(11, "a", p, "g", [(tp("t", 0), offset(5, 11))], false)
        .unwrap();
    h.coordinator
        .txn_offset_commit(
            12,
            "a",
            p,
            "g",
            [(tp("t", 0), offset(7, 12)), (tp("t", 1), offset(3, 12))],
            false,
        )
        .unwrap();
    assert!(h.coordinator.has_pending_offsets("g"));
    assert!(!h.coordinator.has_pending_offsets("other"));

    let commit = h.ending(13, "a", p, true, TxnVersion::V1);
    assert_eq!(commit.offsets.len(), 1);
    assert_eq!(commit.offsets[0].group_id, "g");
    let offsets: Vec<_> = commit.offsets[0]
        .offsets
        .iter()
        .map(|(tp, o)| (tp.clone(), o.offset))
        .collect();
    // The later commit of a partition replaces the earlier one.
    assert_eq!(offsets, [(tp("t", 0), 7), (tp("t", 1), 3)]);
    // A group's offsets carry no marker: this broker has no __consumer_offsets log.
    assert!(commit.markers.is_empty());
    h.written(14, &commit);
    assert!(!h.coordinator.has_pending_offsets("g"));
}

#[test]
fn aborted_offsets_are_discarded() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.coordinator.add_offsets(1, "a", p, "g").unwrap();
    h.coordinator
        .txn_offset_commit(2, "a", p, "g", [(tp("t", 0), offset(5, 2))], false)
        .unwrap();
    let abort = h.ending(3, "a", p, false, TxnVersion::V1);
    assert!(abort.offsets.is_empty());
    h.written(4, &abort);
    // The next transaction starts without them.
    h.coordinator.add_offsets(5, "a", p, "g").unwrap();
    let commit = h.ending(6, "a", p, true, TxnVersion::V1);
    assert!(commit.offsets.is_empty());
}

#[test]
fn txn_offset_commit_needs_its_group_added_unless_added_implicitly() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(1, "a", p, &[("t", 0)]).unwrap();
    let refused =
        h.coordinator
            .txn_offset_commit(2, "a", p, "g", [(tp("t", 0), offset(1, 2))], false);
    assert_eq!(refused, Err(ResponseError::TransactionAbortable));
    assert_eq!(
        for_client(
            ResponseError::TransactionAbortable,
            TxnApi::TxnOffsetCommit,
            3
        ),
        ResponseError::InvalidTxnState
    );
    assert_eq!(
        h.coordinator.txn_offset_commit(
            2,
            "a",
            pe(p.producer_id, 1),
            "g",
            [(tp("t", 0), offset(1, 2))],
            false
        ),
        Err(ResponseError::ProducerFenced)
    );
    // KIP-890 part 2 (TxnOffsetCommit v5+) adds the group itself.
    h.coordinator
        .txn_offset_commit(2, "a", p, "g", [(tp("t", 0), offset(1, 2))], true)
        .unwrap();
    assert_eq!(h.coordinator.describe("a").unwrap().groups, ["g"]);
}

#[test]
fn a_transactional_batch_must_go_to_a_partition_added_to_the_transaction() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    h.add(1, "a", p, &[("t", 0)]).unwrap();
    assert_eq!(
        h.coordinator.check_produce(2, p, &tp("t", 0), false),
        Ok(())
    );
    let not_added = h.coordinator.check_produce(2, p, &tp("t", 1), false);
    assert_eq!(not_added, Err(ResponseError::TransactionAbortable));
    // Produce before v11 knows this as INVALID_TXN_STATE.
    assert_eq!(
        for_client(ResponseError::TransactionAbortable, TxnApi::Produce, 10),
        ResponseError::InvalidTxnState
    );
    assert_eq!(
        for_client(ResponseError::TransactionAbortable, TxnApi::Produce, 11),
        ResponseError::TransactionAbortable
    );
    assert_eq!(
        h.coordinator
            .check_produce(2, pe(999, 0), &tp("t", 0), false),
        Err(ResponseError::InvalidProducerIdMapping)
    );
    let stale = h
        .coordinator
        .check_produce(2, pe(p.producer_id, 7), &tp("t", 0), false);
    assert_eq!(stale, Err(ResponseError::ProducerFenced));
    assert_eq!(
        for_client(ResponseError::ProducerFenced, TxnApi::Produce, 12),
        ResponseError::InvalidProducerEpoch
    );
}

#[test]
fn produce_v12_adds_the_partition_implicitly_and_may_start_the_transaction() {
    let mut h = Harness::new();
    let p = h.init(0, "a");
    assert_eq!(h.coordinator.check_produce(5, p, &tp("t", 1), true), Ok(()));
    let described = h.coordinator.describe("a").unwrap();
    assert_eq!(described.state, TxnState::Ongoing);
    assert_eq!(described.start_ms, 5);
    assert_eq!(described.partitions, [tp("t", 1)]);
    let commit = h.ending(6, "a", p, true, TxnVersion::V1);
    assert_eq!(marked(&commit), [("t".into(), 1, 0, true)]);
    h.written(7, &commit);
    // Ending lets the partitions go: the next batch needs an add again.
    assert_eq!(
        h.coordinator.check_produce(8, p, &tp("t", 1), false),
        Err(ResponseError::TransactionAbortable)
    );
}

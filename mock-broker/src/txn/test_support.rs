//! What the transaction tests share: a coordinator with a producer id allocator.

use kafka_protocol::ResponseError;

use super::{
    Completion, EndTxnOutcome, InitOutcome, ProducerIdAndEpoch, TopicPartition, TxnCoordinator,
    TxnOffset, TxnVersion,
};

/// The timeout every test producer asks for.
pub(super) const TIMEOUT_MS: i32 = 60_000;

/// A coordinator and the producer ids it hands out (1001, 1002, …).
pub(super) struct Harness {
    pub(super) coordinator: TxnCoordinator,
    next_id: i64,
}

impl Harness {
    /// A coordinator with Kafka's default limits.
    pub(super) fn new() -> Harness {
        Harness {
            coordinator: TxnCoordinator::default(),
            next_id: 1000,
        }
    }

    /// InitProducerId with the test timeout.
    pub(super) fn try_init(
        &mut self,
        now_ms: i64,
        transactional_id: &str,
        expected: Option<ProducerIdAndEpoch>,
    ) -> Result<InitOutcome, ResponseError> {
        let next_id = &mut self.next_id;
        self.coordinator.init_producer_id(
            now_ms,
            transactional_id,
            TIMEOUT_MS,
            expected,
            &mut || {
                *next_id += 1;
                *next_id
            },
        )
    }

    /// InitProducerId that must answer a producer.
    pub(super) fn init(&mut self, now_ms: i64, transactional_id: &str) -> ProducerIdAndEpoch {
        match self.try_init(now_ms, transactional_id, None) {
            Ok(InitOutcome::Ready(producer)) => producer,
            other => panic!("InitProducerId({transactional_id}) answered {other:?}"),
        }
    }

    /// EndTxn.
    pub(super) fn end(
        &mut self,
        now_ms: i64,
        transactional_id: &str,
        producer: ProducerIdAndEpoch,
        commit: bool,
        version: TxnVersion,
    ) -> Result<EndTxnOutcome, ResponseError> {
        let next_id = &mut self.next_id;
        self.coordinator.end_txn(
            now_ms,
            transactional_id,
            producer,
            commit,
            version,
            &mut || {
                *next_id += 1;
                *next_id
            },
        )
    }

    /// EndTxn that must end the transaction; returns what to write.
    pub(super) fn ending(
        &mut self,
        now_ms: i64,
        transactional_id: &str,
        producer: ProducerIdAndEpoch,
        commit: bool,
        version: TxnVersion,
    ) -> Completion {
        match self.end(now_ms, transactional_id, producer, commit, version) {
            Ok(EndTxnOutcome::Ending(completion)) => completion,
            other => panic!("EndTxn({transactional_id}, commit {commit}) answered {other:?}"),
        }
    }

    /// The glue's part after a completion: the markers are written.
    pub(super) fn written(&mut self, now_ms: i64, completion: &Completion) {
        self.coordinator
            .markers_written(now_ms, &completion.transactional_id)
            .expect("markers_written after a completion");
    }

    /// AddPartitionsToTxn.
    pub(super) fn add(
        &mut self,
        now_ms: i64,
        transactional_id: &str,
        producer: ProducerIdAndEpoch,
        partitions: &[(&str, i32)],
    ) -> Result<(), ResponseError> {
        self.coordinator.add_partitions(
            now_ms,
            transactional_id,
            producer,
            partitions.iter().map(|&(t, p)| tp(t, p)),
        )
    }

    /// The state DescribeTransactions answers for `transactional_id`.
    pub(super) fn state(&self, transactional_id: &str) -> &'static str {
        self.coordinator
            .describe(transactional_id)
            .expect("a known transactional id")
            .state
            .name()
    }
}

/// Partition `partition` of `topic`.
pub(super) fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

/// Producer id `producer_id` at `epoch`.
pub(super) fn pe(producer_id: i64, epoch: i16) -> ProducerIdAndEpoch {
    ProducerIdAndEpoch { producer_id, epoch }
}

/// An offset committed at `now_ms` with no metadata.
pub(super) fn offset(offset: i64, now_ms: i64) -> TxnOffset {
    TxnOffset {
        offset,
        leader_epoch: -1,
        metadata: None,
        commit_timestamp_ms: now_ms,
    }
}

/// The (topic, partition, epoch, commit) of each marker, for compact assertions.
pub(super) fn marked(completion: &Completion) -> Vec<(String, i32, i16, bool)> {
    completion
        .markers
        .iter()
        .map(|m| (m.topic.clone(), m.partition, m.producer_epoch, m.commit))
        .collect()
}

//! The transaction coordinator as the broker runs it: the pure [`TxnCoordinator`]
//! behind a lock, the timer task that aborts transactions past their timeout, and
//! [`complete`], which carries out what ending a transaction asks: a marker (a
//! control batch) in each of its partitions' logs, its offsets committed to the
//! groups, its producer's new epoch registered for the idempotence checks, and
//! then `markers_written`.
//!
//! Producer ids come from the idempotent producers' allocator (`idempotence.rs`),
//! one id space for both. Lock order, everywhere: this lock, then the producers',
//! then a partition's (or the group coordinator's); a transactional produce holds
//! this lock from its check to its append, so that no batch of a transaction can
//! land after the transaction's marker.

use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::now_ms;
use crate::cluster::Cluster;
use crate::group::CommittedOffset;
use crate::group_service::GroupService;
use crate::idempotence::Producers;
use crate::record_file::RecordFile;
use crate::record_line::EventLine;
use crate::store::{ClientInfo, Protocol, RecordStore};
use crate::txn::{Completion, TxnConfig, TxnCoordinator};

/// The broker's transaction coordinator.
#[derive(Debug)]
pub(crate) struct TxnService {
    coordinator: Mutex<TxnCoordinator>,
    /// Wakes the timer task: a call may have moved the next deadline.
    deadline_moved: Notify,
}

/// The parts of the broker ending a transaction writes to.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxnEffects<'a> {
    /// Where the markers go.
    pub(crate) store: &'a RecordStore,
    /// Where committed offsets go.
    pub(crate) groups: &'a GroupService,
    /// The producer ids and epochs the idempotence checks know.
    pub(crate) producers: &'a Mutex<Producers>,
    /// Partition leaders, for the leader epoch a marker is stamped with.
    pub(crate) cluster: &'a Cluster,
    /// The record file, where producer epochs and committed offsets are noted for a replay.
    pub(crate) record_file: Option<&'a RecordFile>,
}

impl TxnEffects<'_> {
    /// A producer id from the id space idempotent producers share.
    pub(crate) fn allocate_producer_id(&self) -> i64 {
        self.producers.lock().expect("producers lock").allocate()
    }

    /// Makes `epoch` the current epoch of `producer_id` for the idempotence checks.
    pub(crate) fn register_producer(&self, producer_id: i64, epoch: i16) {
        self.producers
            .lock()
            .expect("producers lock")
            .register(producer_id, epoch);
        if let Some(file) = self.record_file {
            file.note(&EventLine::Producer {
                producer_id,
                producer_epoch: epoch,
            });
        }
    }
}

impl TxnService {
    /// A coordinator without transactional ids, following `config`.
    pub(crate) fn new(config: TxnConfig) -> TxnService {
        TxnService {
            coordinator: Mutex::new(TxnCoordinator::new(config)),
            deadline_moved: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, TxnCoordinator> {
        self.coordinator
            .lock()
            .expect("transaction coordinator lock")
    }

    /// Runs `f` on the coordinator at the current time, then wakes the timer
    /// (the call may have started or ended a transaction).
    pub(crate) fn call<T>(&self, f: impl FnOnce(&mut TxnCoordinator, i64) -> T) -> T {
        let result = f(&mut self.lock(), now_ms());
        self.deadline_moved.notify_one();
        result
    }

    /// Reads the coordinator.
    pub(crate) fn read<T>(&self, f: impl FnOnce(&TxnCoordinator) -> T) -> T {
        f(&self.lock())
    }

    /// Calls [`TxnCoordinator::tick`] whenever its next deadline comes, writing
    /// the aborts of transactions past their timeout, until `shutdown`.
    pub(crate) async fn run_timer(&self, effects: TxnEffects<'_>, shutdown: CancellationToken) {
        loop {
            let moved = self.deadline_moved.notified();
            tokio::pin!(moved);
            moved.as_mut().enable();
            let next = {
                let mut coordinator = self.lock();
                let now = now_ms();
                for completion in coordinator.tick(now) {
                    tracing::info!(
                        transactional_id = %completion.transactional_id,
                        "transaction timed out: aborted by the coordinator"
                    );
                    complete(&mut coordinator, completion, &effects, now);
                }
                coordinator.next_deadline()
            };
            let wait = async {
                match next {
                    Some(at) => {
                        let ms = u64::try_from(at.saturating_sub(now_ms())).unwrap_or(0);
                        // A millisecond late, so that the deadline has passed by the clock too.
                        tokio::time::sleep(Duration::from_millis(ms + 1)).await;
                    }
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = &mut moved => {}
                () = wait => {}
                () = shutdown.cancelled() => break,
            }
        }
    }
}

/// Who the admin API and the record file say wrote a marker.
fn coordinator_client() -> &'static Arc<ClientInfo> {
    static CLIENT: OnceLock<Arc<ClientInfo>> = OnceLock::new();
    CLIENT.get_or_init(|| {
        Arc::new(ClientInfo {
            address: ([0, 0, 0, 0], 0).into(),
            protocol: Protocol::Kafka,
            client_id: Some("transaction-coordinator".to_string()),
        })
    })
}

/// Carries out `completion`: writes its markers, commits its offsets (a
/// commit's; an abort has none), registers its producer's epoch, and tells
/// the coordinator the markers are written.
///
/// A marker that cannot be written (its topic deleted, the memory cap) is
/// logged and skipped: Kafka would retry it forever, which would leave the
/// transactional id stuck; here its partition keeps the transaction open.
pub(crate) fn complete(
    coordinator: &mut TxnCoordinator,
    completion: Completion,
    effects: &TxnEffects<'_>,
    now_ms: i64,
) {
    for marker in &completion.markers {
        let partition = u32::try_from(marker.partition).unwrap_or(u32::MAX);
        let written = effects
            .store
            .topic(&marker.topic)
            .ok_or_else(|| format!("topic {:?} no longer exists", marker.topic))
            .and_then(|topic| {
                let leader_epoch = effects.cluster.leadership(&marker.topic, partition).epoch;
                topic
                    .append_marker(
                        partition,
                        marker.producer_id,
                        marker.producer_epoch,
                        marker.commit,
                        marker.coordinator_epoch,
                        leader_epoch,
                        now_ms,
                        coordinator_client(),
                    )
                    .map_err(|e| e.to_string())
            });
        if let Err(reason) = written {
            tracing::error!(
                transactional_id = %completion.transactional_id,
                topic = %marker.topic,
                partition = marker.partition,
                %reason,
                "a transaction marker could not be written"
            );
        }
    }
    for group in &completion.offsets {
        let offsets: Vec<(String, i32, CommittedOffset)> = group
            .offsets
            .iter()
            .map(|(tp, offset)| {
                (
                    tp.topic.clone(),
                    tp.partition,
                    CommittedOffset {
                        offset: offset.offset,
                        leader_epoch: offset.leader_epoch,
                        metadata: offset.metadata.clone().unwrap_or_default(),
                        commit_timestamp_ms: offset.commit_timestamp_ms,
                    },
                )
            })
            .collect();
        if let Some(file) = effects.record_file {
            for (topic, partition, committed) in &offsets {
                file.note(&EventLine::offset_commit(
                    &group.group_id,
                    topic,
                    *partition,
                    committed,
                ));
            }
        }
        effects.groups.call(|groups, now| {
            groups.commit_transactional(&group.group_id, offsets, now);
            ((), Vec::new())
        });
    }
    effects.register_producer(completion.producer.producer_id, completion.producer.epoch);
    tracing::debug!(
        transactional_id = %completion.transactional_id,
        commit = completion.commit,
        markers = completion.markers.len(),
        "transaction ended"
    );
    if let Err(error) = coordinator.markers_written(now_ms, &completion.transactional_id) {
        tracing::error!(transactional_id = %completion.transactional_id, ?error, "markers_written refused");
    }
}

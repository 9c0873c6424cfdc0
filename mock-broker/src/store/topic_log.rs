//! One topic's partitions: appends (all or nothing, each partition under its
//! own lock), reads and offset lookups.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use bytes::{BufMut, Bytes, BytesMut};

use super::append_signal::AppendSignal;
use super::error::StoreError;
use super::limits::Dropped;
use super::limits::StoreLimits;
use super::log_entry::LogEntry;
use super::partition_log::PartitionLog;
use super::retention::Retention;
use super::sink::{RecordSink, StoreEvent};
use super::stored_record::{ClientInfo, NewRecord, ProducerInfo, StoredRecord};
use super::topic_config::{SharedConfig, TopicConfig};
use super::txn_index::AbortedTxn;
use crate::record_batch::{Message, Summary, encode_batch, encode_control_batch};

/// Kafka batches at least this large are kept as slices of their request, without a copy.
const SHARE_FROM: usize = 64 * 1024;

/// A topic and how far each of its partitions has been written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    /// The topic's name.
    pub name: String,
    /// The topic's id (Kafka's topic UUID), random per created topic.
    pub id: uuid::Uuid,
    /// Its partitions, in order.
    pub partitions: Vec<PartitionInfo>,
}

/// One partition's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartitionInfo {
    /// The partition's index.
    pub partition: u32,
    /// The offset the next record will get (the number of records so far).
    pub high_watermark: i64,
    /// The first offset still kept: 0 until retention drops batches.
    pub log_start_offset: i64,
}

/// What a topic is created with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    /// How many partitions (at least one).
    pub partitions: u32,
    /// The replication factor reported for it (the mock broker keeps one copy whatever it is).
    pub replication_factor: i16,
    /// Its configuration overrides.
    pub config: TopicConfig,
}

impl NewTopic {
    /// `partitions` partitions, replication factor 1, no overrides.
    pub fn with_partitions(partitions: u32) -> NewTopic {
        NewTopic {
            partitions,
            replication_factor: 1,
            config: TopicConfig::default(),
        }
    }
}

/// What a Fetch reads of one partition, all under one look at it.
#[derive(Debug, Clone, Default)]
pub struct FetchView {
    /// The entries served, whole, from the one holding the fetch offset.
    pub(crate) entries: Vec<LogEntry>,
    /// The bytes they take in a response.
    pub(crate) size: usize,
    /// The offset the next record will get.
    pub high_watermark: i64,
    /// The first offset of the earliest open transaction, else the high watermark.
    pub last_stable_offset: i64,
    /// The first offset still kept.
    pub log_start_offset: i64,
    /// For `read_committed`: the aborted transactions overlapping what is served.
    pub(crate) aborted: Vec<AbortedTxn>,
}

/// A batch read back from the record file, to put where it was ([`TopicLog::replay`]).
#[derive(Debug)]
pub(crate) struct ReplayedBatch {
    /// The partition it was appended to.
    pub(crate) partition: u32,
    /// The offset of its first record.
    pub(crate) base_offset: i64,
    /// Its records, in offset order (at least one).
    pub(crate) records: Vec<NewRecord>,
    /// Whether it belonged to a transaction.
    pub(crate) transactional: bool,
    /// Whether it is a transaction marker (its one record the control record).
    pub(crate) control: bool,
    /// When the broker first received it.
    pub(crate) receive_time: i64,
    /// Who sent it.
    pub(crate) client: Arc<ClientInfo>,
}

/// One topic's partitions.
///
/// Partitions can be added (Kafka's CreatePartitions) but never removed:
/// the list sits behind a lock that readers hold only to clone a partition's
/// handle, and each partition keeps its own lock.
#[derive(Debug)]
pub struct TopicLog {
    name: String,
    id: uuid::Uuid,
    replication_factor: i16,
    /// Set once: at creation, or after a replay for the topics it created.
    sink: OnceLock<Arc<dyn RecordSink>>,
    partitions: RwLock<Vec<Arc<Mutex<PartitionLog>>>>,
    config: Arc<SharedConfig>,
    round_robin: AtomicU32,
    appended: Arc<AppendSignal>,
    retention: Arc<Retention>,
}

impl TopicLog {
    /// An empty topic as `spec` describes it, writing to `sink` too if there is one.
    /// Every append is announced on `appended`, for fetches waiting for data;
    /// `retention` says how much is kept, and counts it.
    pub(crate) fn new(
        name: &str,
        spec: NewTopic,
        id: uuid::Uuid,
        sink: Option<Arc<dyn RecordSink>>,
        appended: Arc<AppendSignal>,
        retention: Arc<Retention>,
    ) -> TopicLog {
        let config = Arc::new(SharedConfig::new(spec.config));
        let partitions: Vec<Arc<Mutex<PartitionLog>>> = (0..spec.partitions)
            .map(|_| Arc::new(Mutex::new(PartitionLog::default())))
            .collect();
        for partition in &partitions {
            retention.register(partition, &config);
        }
        let cell = OnceLock::new();
        if let Some(sink) = sink {
            let _ = cell.set(sink);
        }
        TopicLog {
            name: name.to_string(),
            id,
            replication_factor: spec.replication_factor,
            sink: cell,
            partitions: RwLock::new(partitions),
            config,
            round_robin: AtomicU32::new(0),
            appended,
            retention,
        }
    }

    /// Writes to `sink` from now on, unless the topic has one already.
    pub(crate) fn set_sink(&self, sink: Arc<dyn RecordSink>) {
        let _ = self.sink.set(sink);
    }

    /// Tells the sink, if there is one, about `event`; a failure is logged.
    fn announce(&self, event: StoreEvent<'_>) {
        if let Some(sink) = self.sink.get()
            && let Err(e) = sink.event(event)
        {
            tracing::error!(error = %e, ?event, "cannot write a topic change to the record file; a replay will not know it");
        }
    }

    /// The replication factor the topic was created with.
    pub fn replication_factor(&self) -> i16 {
        self.replication_factor
    }

    /// The topic's configuration overrides.
    pub fn config(&self) -> Arc<TopicConfig> {
        self.config.get()
    }

    /// Replaces the topic's configuration overrides, and applies the new
    /// retention limits to every partition at once (at `now_ms`), rather
    /// than at the next append or sweep.
    pub fn set_config(&self, config: TopicConfig, now_ms: i64) {
        self.announce(StoreEvent::ConfigChanged {
            topic: &self.name,
            config: config.overrides(),
        });
        self.config.set(config);
        let limits = self.limits();
        let mut dropped = Dropped::default();
        for partition in self.partition_handles() {
            dropped.add(
                partition
                    .lock()
                    .expect("partition lock")
                    .apply_retention(&limits, now_ms),
            );
        }
        self.retention.retained(dropped);
    }

    /// Grows the topic to `count` partitions (Kafka's CreatePartitions); the
    /// new ones are empty. Returns the count it had before.
    ///
    /// # Errors
    /// [`StoreError::PartitionCount`] when `count` is not more than it has;
    /// [`StoreError::TooManyPartitions`] past `max_partitions_per_topic`.
    pub fn add_partitions(&self, count: u32) -> Result<u32, StoreError> {
        let max = self.retention.limits().max_partitions_per_topic;
        if count > max {
            return Err(StoreError::TooManyPartitions {
                topic: self.name.clone(),
                requested: count,
                max,
            });
        }
        let mut partitions = self.partitions.write().expect("partitions lock");
        let before = partitions.len() as u32;
        if count <= before {
            return Err(StoreError::PartitionCount {
                topic: self.name.clone(),
                partitions: before,
                requested: count,
            });
        }
        for _ in before..count {
            let partition = Arc::new(Mutex::new(PartitionLog::default()));
            self.retention.register(&partition, &self.config);
            partitions.push(partition);
        }
        drop(partitions);
        tracing::info!(topic = %self.name, from = before, to = count, "added partitions");
        self.announce(StoreEvent::PartitionsAdded {
            topic: &self.name,
            partitions: count,
        });
        Ok(before)
    }

    /// The store's limits with the topic's overrides applied.
    fn limits(&self) -> StoreLimits {
        self.config.get().limits(self.retention.limits())
    }

    /// Every partition's handle, in order.
    fn partition_handles(&self) -> Vec<Arc<Mutex<PartitionLog>>> {
        self.partitions.read().expect("partitions lock").clone()
    }

    /// The topic's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The topic's id.
    pub fn id(&self) -> uuid::Uuid {
        self.id
    }

    /// How many partitions the topic has.
    pub fn partition_count(&self) -> u32 {
        self.partitions.read().expect("partitions lock").len() as u32
    }

    /// The next `count` places in the topic's round-robin order at once, for a request's
    /// keyless messages: the first of them (the caller counts on, modulo the partition count).
    /// One atomic step per request instead of one per message.
    pub(crate) fn take_round_robin(&self, count: u32) -> u32 {
        self.round_robin.fetch_add(count, Ordering::Relaxed)
    }

    fn partition(&self, partition: u32) -> Result<Arc<Mutex<PartitionLog>>, StoreError> {
        let partitions = self.partitions.read().expect("partitions lock");
        partitions
            .get(partition as usize)
            .cloned()
            .ok_or_else(|| StoreError::UnknownPartition {
                topic: self.name.clone(),
                partition,
                partitions: partitions.len() as u32,
            })
    }

    /// Appends `records` to `partition` at consecutive offsets; returns the first offset.
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`] or [`StoreError::Sink`]; nothing is appended then.
    pub fn append(
        &self,
        partition: u32,
        records: impl IntoIterator<Item = NewRecord>,
        receive_time: i64,
        client: &Arc<ClientInfo>,
    ) -> Result<i64, StoreError> {
        let groups = vec![(partition, records.into_iter().collect())];
        Ok(self.append_groups(groups, receive_time, client)?[0])
    }

    /// Appends each group of records to its partition, all or nothing, and
    /// returns each group's first offset, in the order given.
    ///
    /// Every partition involved is locked (in ascending order, so concurrent
    /// appends cannot deadlock) before offsets are assigned. With a
    /// [`RecordSink`], all the records are written there in one call first,
    /// so the file holds each partition in offset order and never holds a
    /// record the store refused.
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`] or [`StoreError::Sink`]; nothing is appended then.
    ///
    /// # Panics
    /// If a partition appears in two groups.
    pub fn append_groups(
        &self,
        groups: Vec<(u32, Vec<NewRecord>)>,
        receive_time: i64,
        client: &Arc<ClientInfo>,
    ) -> Result<Vec<i64>, StoreError> {
        let mut order: Vec<usize> = (0..groups.len()).collect();
        order.sort_by_key(|&i| groups[i].0);
        assert!(
            order.windows(2).all(|w| groups[w[0]].0 != groups[w[1]].0),
            "each partition appears at most once in one append"
        );
        let slots = order
            .iter()
            .map(|&i| self.partition(groups[i].0))
            .collect::<Result<Vec<_>, _>>()?;
        // Written into batches before any lock is taken.
        let written: Vec<Vec<Written>> = groups
            .iter()
            .map(|(_, records)| write_batches(records, receive_time))
            .collect();
        let memory: u64 = written
            .iter()
            .flatten()
            .map(|w| LogEntry::memory_of(w.bytes.len()))
            .sum();
        self.retention.admit(memory).map_err(StoreError::from)?;
        let mut locked = Vec::with_capacity(groups.len());
        for slot in &slots {
            locked.push(slot.lock().expect("partition lock"));
        }
        let mut bases = vec![0i64; groups.len()];
        let mut built: Vec<(u32, Vec<LogEntry>)> = Vec::with_capacity(groups.len());
        let mut written: Vec<Option<Vec<Written>>> = written.into_iter().map(Some).collect();
        for (slot, &i) in order.iter().enumerate() {
            let partition = groups[i].0;
            let mut offset = locked[slot].next_offset();
            // An empty group appends nothing, as before; its base offset is still reported.
            bases[i] = offset;
            let mut entries = Vec::new();
            for w in written[i].take().expect("each group once") {
                let mut bytes = w.bytes;
                bytes[0..8].copy_from_slice(&offset.to_be_bytes());
                bytes[12..16].copy_from_slice(&0i32.to_be_bytes());
                let entry = LogEntry::new(
                    bytes.freeze(),
                    None,
                    &w.summary,
                    offset,
                    receive_time,
                    client,
                    true,
                );
                offset = entry.next_offset();
                entries.push(entry);
            }
            built.push((partition, entries));
        }
        if let Some(sink) = self.sink.get() {
            let all: Vec<StoredRecord> = built
                .iter()
                .flat_map(|(partition, entries)| {
                    entries
                        .iter()
                        .flat_map(move |entry| entry.records_from(*partition, entry.base_offset))
                })
                .collect();
            if let Err(e) = sink.write(&self.name, &all) {
                // Still locked: nobody has seen these records.
                self.retention.release(memory);
                tracing::error!(topic = %self.name, error = %e, "record file write failed; append refused");
                return Err(StoreError::Sink(e.to_string()));
            }
        }
        let mut dropped = Dropped::default();
        let limits = self.limits();
        for (log, (_, entries)) in locked.iter_mut().zip(built) {
            let any = !entries.is_empty();
            for entry in entries {
                log.push(entry);
            }
            if any {
                dropped.add(log.apply_retention(&limits, receive_time));
            }
        }
        drop(locked);
        self.retention.retained(dropped);
        self.appended.announce();
        Ok(bases)
    }

    /// Appends a validated Kafka batch (`bytes`, whose records add up to `summary`) to
    /// `partition` as it is, stamped with the partition's `leader_epoch`;
    /// returns its base offset.
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`] or [`StoreError::Sink`]; nothing is appended then.
    pub(crate) fn append_kafka_batch(
        &self,
        partition: u32,
        bytes: Bytes,
        summary: &Summary,
        leader_epoch: i32,
        receive_time: i64,
        client: &Arc<ClientInfo>,
    ) -> Result<i64, StoreError> {
        let slot = self.partition(partition)?;
        let memory = LogEntry::memory_of(bytes.len());
        self.retention.admit(memory).map_err(StoreError::from)?;
        // A small batch gets bytes of its own: keeping a slice would keep the
        // connection's whole read buffer, which then could not be reused. A
        // large one takes most of the request buffer it arrived in (reserved
        // for that request), so it is kept as it is, without a copy.
        let mut owned = (bytes.len() < SHARE_FROM).then(|| BytesMut::from(&bytes[..]));
        let mut log = slot.lock().expect("partition lock");
        let base_offset = log.next_offset();
        // As Kafka stores it: the base offset and leader epoch the broker
        // assigned (neither is covered by the CRC), so Fetch serves it as is.
        let (bytes, head) = match owned.as_mut() {
            Some(owned) => {
                owned[0..8].copy_from_slice(&base_offset.to_be_bytes());
                owned[12..16].copy_from_slice(&leader_epoch.to_be_bytes());
                (owned.split().freeze(), None)
            }
            None => {
                let mut head = BytesMut::with_capacity(16);
                head.put_i64(base_offset);
                head.put_slice(&bytes[8..12]);
                head.put_i32(leader_epoch);
                (bytes, Some(head.freeze()))
            }
        };
        let entry = LogEntry::new(
            bytes,
            head,
            summary,
            base_offset,
            receive_time,
            client,
            false,
        );
        if let Some(sink) = self.sink.get() {
            // Decoded again only for the record file.
            let stored = entry.records_from(partition, base_offset);
            if let Err(e) = sink.write(&self.name, &stored) {
                // Still locked: nobody has seen these records.
                self.retention.release(memory);
                tracing::error!(topic = %self.name, error = %e, "record file write failed; append refused");
                return Err(StoreError::Sink(e.to_string()));
            }
        }
        log.push(entry);
        let dropped = log.apply_retention(&self.limits(), receive_time);
        drop(log);
        self.retention.retained(dropped);
        self.appended.announce();
        Ok(base_offset)
    }

    /// Puts a batch read back from the record file into `batch.partition`, at
    /// its own offsets, as one or more entries (one per run of records from one
    /// producer); without the sink, since the file holds it already. Retention
    /// (`now_ms` for `retention.ms`) and the memory cap apply as to any append.
    ///
    /// # Errors
    /// [`StoreError::NotNextOffset`] when the batch does not start at the
    /// partition's next offset; [`StoreError::UnknownPartition`] or
    /// [`StoreError::MemoryFull`]; nothing is appended then.
    pub(crate) fn replay(&self, batch: ReplayedBatch, now_ms: i64) -> Result<(), StoreError> {
        if batch.records.is_empty() {
            return Ok(());
        }
        let slot = self.partition(batch.partition)?;
        let written = write_batches(&batch.records, batch.receive_time);
        let memory: u64 = written
            .iter()
            .map(|w| LogEntry::memory_of(w.bytes.len()))
            .sum();
        self.retention.admit(memory).map_err(StoreError::from)?;
        let mut log = slot.lock().expect("partition lock");
        if log.next_offset() != batch.base_offset {
            self.retention.release(memory);
            return Err(StoreError::NotNextOffset {
                topic: self.name.clone(),
                partition: batch.partition,
                offset: batch.base_offset,
                next: log.next_offset(),
            });
        }
        let attributes: i16 =
            if batch.transactional { 0x10 } else { 0 } | if batch.control { 0x20 } else { 0 };
        let mut offset = batch.base_offset;
        for mut w in written {
            w.bytes[0..8].copy_from_slice(&offset.to_be_bytes());
            w.bytes[12..16].copy_from_slice(&0i32.to_be_bytes());
            if attributes != 0 {
                w.bytes[21..23].copy_from_slice(&attributes.to_be_bytes());
                let crc = protocol::crc32c::crc32c(&w.bytes[21..]);
                w.bytes[17..21].copy_from_slice(&crc.to_be_bytes());
            }
            let entry = LogEntry::new(
                w.bytes.freeze(),
                None,
                &w.summary,
                offset,
                batch.receive_time,
                &batch.client,
                true,
            );
            offset = entry.next_offset();
            log.push(entry);
        }
        let dropped = log.apply_retention(&self.limits(), now_ms);
        drop(log);
        self.retention.retained(dropped);
        Ok(())
    }

    /// Up to `limit` records of `partition` from offset `from`, in offset
    /// order, without control records (transaction markers).
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    pub fn read(
        &self,
        partition: u32,
        from: i64,
        limit: usize,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        self.read_records(partition, from, limit, false)
    }

    /// As [`TopicLog::read`], with control records too if `include_control`.
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    pub fn read_records(
        &self,
        partition: u32,
        from: i64,
        limit: usize,
        include_control: bool,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let slot = self.partition(partition)?;
        let log = slot.lock().expect("partition lock");
        Ok(log.read(partition, from, limit, include_control))
    }

    /// Appends a transaction marker to `partition`: a control batch (RecordBatch
    /// v2 with the transactional and control flags) of `producer_id` at
    /// `producer_epoch`, COMMIT or ABORT, carrying `coordinator_epoch`, as
    /// Kafka's coordinator writes it. It ends the producer's open transaction
    /// in the partition; returns its offset.
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`], [`StoreError::Sink`] or the memory cap.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn append_marker(
        &self,
        partition: u32,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
        leader_epoch: i32,
        receive_time: i64,
        client: &Arc<ClientInfo>,
    ) -> Result<i64, StoreError> {
        let bytes = encode_control_batch(
            producer_id,
            producer_epoch,
            commit,
            coordinator_epoch,
            receive_time,
        );
        let summary = Summary {
            max_timestamp: (receive_time, 0),
            payload_bytes: 0,
        };
        self.append_kafka_batch(
            partition,
            bytes.freeze(),
            &summary,
            leader_epoch,
            receive_time,
            client,
        )
    }

    /// What a Fetch from `from` serves of `partition`: entries as
    /// [`TopicLog::entries_from`] takes them, only up to the last stable offset
    /// and with the aborted transactions they overlap when `read_committed`,
    /// and the partition's offsets, all read under one lock.
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    pub(crate) fn fetch_view(
        &self,
        partition: u32,
        from: i64,
        read_committed: bool,
        budget: usize,
        min_one: bool,
        size: impl Fn(&LogEntry) -> usize,
    ) -> Result<FetchView, StoreError> {
        let slot = self.partition(partition)?;
        let log = slot.lock().expect("partition lock");
        let high_watermark = log.next_offset();
        let last_stable_offset = log.last_stable_offset();
        let log_start_offset = log.start_offset();
        let mut view = FetchView {
            high_watermark,
            last_stable_offset,
            log_start_offset,
            ..FetchView::default()
        };
        if from < log_start_offset || from > high_watermark {
            return Ok(view);
        }
        let until = if read_committed {
            last_stable_offset
        } else {
            i64::MAX
        };
        let (entries, size) = log.entries_between(from, until, budget, min_one, size);
        if read_committed {
            let end = entries.last().map_or(from, LogEntry::next_offset);
            view.aborted = log.aborted_overlapping(from, end);
        }
        view.entries = entries;
        view.size = size;
        Ok(view)
    }

    /// The last stable offset of `partition`: the first offset of its earliest
    /// open transaction, else its high watermark (what `read_committed`
    /// readers may read up to).
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    pub fn last_stable_offset(&self, partition: u32) -> Result<i64, StoreError> {
        let slot = self.partition(partition)?;
        let log = slot.lock().expect("partition lock");
        Ok(log.last_stable_offset())
    }

    /// The entries of `partition` from the one holding `from` on: at least one
    /// (when there is any) if `min_one`, then whole entries while their `size`
    /// fits in `budget`; and the bytes they take. Cheap: entries share their bytes.
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    #[cfg(test)]
    pub(crate) fn entries_from(
        &self,
        partition: u32,
        from: i64,
        budget: usize,
        min_one: bool,
        size: impl Fn(&LogEntry) -> usize,
    ) -> Result<(Vec<LogEntry>, usize), StoreError> {
        let slot = self.partition(partition)?;
        let log = slot.lock().expect("partition lock");
        Ok(log.entries_from(from, budget, min_one, size))
    }

    /// The first record of `partition` stamped at or after `timestamp` (the
    /// producer's timestamp, else the receive time), as (timestamp, offset);
    /// batches stamped earlier are skipped by their index entry, undecoded.
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    pub fn offset_for_timestamp(
        &self,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        let slot = self.partition(partition)?;
        let log = slot.lock().expect("partition lock");
        Ok(log.offset_for_timestamp(timestamp))
    }

    /// The first record of `partition` with the largest timestamp, as (timestamp, offset).
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    pub fn max_timestamp(&self, partition: u32) -> Result<Option<(i64, i64)>, StoreError> {
        let slot = self.partition(partition)?;
        let log = slot.lock().expect("partition lock");
        Ok(log.max_timestamp())
    }

    /// The first offset `partition` still keeps (its log start offset).
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    pub fn log_start_offset(&self, partition: u32) -> Result<i64, StoreError> {
        Ok(self
            .partition(partition)?
            .lock()
            .expect("partition lock")
            .start_offset())
    }

    /// Deletes the records of `partition` before `offset` (Kafka's
    /// DeleteRecords): the log start offset moves up to `offset` (never
    /// back), and the batches wholly before it are dropped and their memory
    /// given back. `offset` -1 means the high watermark. Returns the new log
    /// start offset.
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`]; [`StoreError::OffsetOutOfRange`]
    /// for an offset past the high watermark or below -1.
    pub fn delete_records(&self, partition: u32, offset: i64) -> Result<i64, StoreError> {
        let slot = self.partition(partition)?;
        let mut log = slot.lock().expect("partition lock");
        let high_watermark = log.next_offset();
        let offset = if offset == -1 { high_watermark } else { offset };
        if !(0..=high_watermark).contains(&offset) {
            return Err(StoreError::OffsetOutOfRange {
                topic: self.name().to_string(),
                partition,
                offset,
                high_watermark,
            });
        }
        let dropped = log.delete_before(offset);
        let start = log.start_offset();
        drop(log);
        self.retention.deleted(dropped);
        self.announce(StoreEvent::LogStartMoved {
            topic: &self.name,
            partition,
            offset: start,
        });
        Ok(start)
    }

    /// The end offset of leader epoch `requested` in `partition`, whose
    /// leader epoch is `current` now, as (epoch, end offset); see Kafka's OffsetForLeaderEpoch.
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    pub(crate) fn end_offset_for(
        &self,
        partition: u32,
        requested: i32,
        current: i32,
    ) -> Result<(i32, i64), StoreError> {
        let slot = self.partition(partition)?;
        let log = slot.lock().expect("partition lock");
        Ok(log.end_offset_for(requested, current))
    }

    /// The next offset of `partition` (its record count).
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    pub fn high_watermark(&self, partition: u32) -> Result<i64, StoreError> {
        Ok(self
            .partition(partition)?
            .lock()
            .expect("partition lock")
            .next_offset())
    }

    /// Every record, partition by partition, each in offset order.
    pub(crate) fn read_all(&self) -> Vec<StoredRecord> {
        self.partition_handles()
            .iter()
            .enumerate()
            .flat_map(|(i, p)| p.lock().expect("partition lock").read_all(i as u32))
            .collect()
    }

    /// The topic's name, id and high watermarks.
    pub(crate) fn info(&self) -> TopicInfo {
        TopicInfo {
            name: self.name.clone(),
            id: self.id,
            partitions: self
                .partition_handles()
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let log = p.lock().expect("partition lock");
                    PartitionInfo {
                        partition: i as u32,
                        high_watermark: log.next_offset(),
                        log_start_offset: log.start_offset(),
                    }
                })
                .collect(),
        }
    }
}

impl Drop for TopicLog {
    /// A deleted topic gives its memory back to the store's cap.
    fn drop(&mut self) {
        let bytes: u64 = self
            .partitions
            .get_mut()
            .map(|partitions| {
                partitions
                    .iter()
                    .map(|p| p.lock().map(|log| log.bytes()).unwrap_or(0))
                    .sum()
            })
            .unwrap_or(0);
        self.retention.release(bytes);
    }
}

/// One batch written from messages, before it is appended.
struct Written {
    bytes: BytesMut,
    summary: Summary,
}

/// `records` as RecordBatch v2s: one batch, unless their producer fields
/// (set through the Rust API) change within them, since a batch carries one
/// producer id, epoch and base sequence; then a batch per run of records
/// whose fields follow on.
fn write_batches(records: &[NewRecord], receive_time: i64) -> Vec<Written> {
    let mut batches = Vec::new();
    let mut start = 0;
    while start < records.len() {
        let first = records[start].producer;
        let mut end = start + 1;
        while end < records.len() && follows(first, records[end].producer, end - start) {
            end += 1;
        }
        let run = &records[start..end];
        let messages: Vec<Message<'_>> = run
            .iter()
            .map(|r| Message {
                timestamp: r.timestamp,
                key: r.key.as_deref(),
                value: r.value.as_deref(),
                headers: &r.headers,
            })
            .collect();
        let producer = first.map(|p| (p.id, p.epoch, p.sequence));
        let mut summary = Summary {
            max_timestamp: (i64::MIN, 0),
            payload_bytes: 0,
        };
        for (i, r) in run.iter().enumerate() {
            // A message without a timestamp counts with its receive time.
            let stamp = r.timestamp.unwrap_or(receive_time);
            if stamp > summary.max_timestamp.0 {
                summary.max_timestamp = (stamp, i as u32);
            }
            summary.payload_bytes += r.payload_bytes() as u64;
        }
        batches.push(Written {
            bytes: encode_batch(&messages, producer),
            summary,
        });
        start = end;
    }
    batches
}

/// Whether a record `distance` after one with `first` producer fields can share its batch.
fn follows(first: Option<ProducerInfo>, next: Option<ProducerInfo>, distance: usize) -> bool {
    match (first, next) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            a.id == b.id
                && a.epoch == b.epoch
                && a.sequence >= 0
                && b.sequence == a.sequence.wrapping_add(distance as i32)
        }
        _ => false,
    }
}

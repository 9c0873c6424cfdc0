//! One topic's partitions: appends (all or nothing, each partition under its
//! own lock), reads and offset lookups.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use super::error::StoreError;
use super::sink::RecordSink;
use super::stored_record::{ClientInfo, NewRecord, StoredRecord};

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
}

/// One topic's partitions.
#[derive(Debug)]
pub struct TopicLog {
    name: String,
    id: uuid::Uuid,
    sink: Option<Arc<dyn RecordSink>>,
    partitions: Vec<Mutex<Vec<StoredRecord>>>,
    round_robin: AtomicU32,
}

impl TopicLog {
    /// An empty topic of `partitions` partitions, writing to `sink` too if there is one.
    pub(crate) fn new(name: &str, partitions: u32, sink: Option<Arc<dyn RecordSink>>) -> TopicLog {
        TopicLog {
            name: name.to_string(),
            id: uuid::Uuid::new_v4(),
            sink,
            partitions: (0..partitions).map(|_| Mutex::new(Vec::new())).collect(),
            round_robin: AtomicU32::new(0),
        }
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
        self.partitions.len() as u32
    }

    /// The next partition in the topic's round-robin order, for keyless messages.
    pub fn next_round_robin(&self) -> u32 {
        self.round_robin.fetch_add(1, Ordering::Relaxed) % self.partition_count()
    }

    fn partition(&self, partition: u32) -> Result<&Mutex<Vec<StoredRecord>>, StoreError> {
        self.partitions
            .get(partition as usize)
            .ok_or_else(|| StoreError::UnknownPartition {
                topic: self.name.clone(),
                partition,
                partitions: self.partition_count(),
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
        let mut locked = Vec::with_capacity(groups.len());
        for &i in &order {
            locked.push(self.partition(groups[i].0)?.lock().expect("partition lock"));
        }
        let mut bases = vec![0i64; groups.len()];
        let mut built: Vec<Vec<StoredRecord>> = vec![Vec::new(); groups.len()];
        let mut groups: Vec<Option<(u32, Vec<NewRecord>)>> = groups.into_iter().map(Some).collect();
        for (slot, &i) in order.iter().enumerate() {
            let (partition, records) = groups[i].take().expect("each group once");
            let base_offset = locked[slot].len() as i64;
            bases[i] = base_offset;
            built[slot] = records
                .into_iter()
                .enumerate()
                .map(|(n, r)| StoredRecord {
                    partition,
                    offset: base_offset + n as i64,
                    timestamp: r.timestamp,
                    receive_time,
                    key: r.key,
                    value: r.value,
                    headers: r.headers,
                    producer: r.producer,
                    client: client.clone(),
                })
                .collect();
        }
        if let Some(sink) = &self.sink {
            let all: Vec<StoredRecord> = built.iter().flatten().cloned().collect();
            if let Err(e) = sink.write(&self.name, &all) {
                // Still locked: nobody has seen these records.
                tracing::error!(topic = %self.name, error = %e, "record file write failed; append refused");
                return Err(StoreError::Sink(e.to_string()));
            }
        }
        for (log, records) in locked.iter_mut().zip(built) {
            log.extend(records);
        }
        Ok(bases)
    }

    /// Up to `limit` records of `partition` from offset `from`, in offset order.
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    pub fn read(
        &self,
        partition: u32,
        from: i64,
        limit: usize,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let records = self.partition(partition)?.lock().expect("partition lock");
        let start = usize::try_from(from.max(0))
            .unwrap_or(usize::MAX)
            .min(records.len());
        Ok(records[start..].iter().take(limit).cloned().collect())
    }

    /// The first record of `partition` stamped at or after `timestamp` (the
    /// producer's timestamp, else the receive time), as (timestamp, offset);
    /// scanned in place, without copying records.
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    pub fn offset_for_timestamp(
        &self,
        partition: u32,
        timestamp: i64,
    ) -> Result<Option<(i64, i64)>, StoreError> {
        let log = self.partition(partition)?.lock().expect("partition lock");
        Ok(log
            .iter()
            .map(|r| (r.timestamp.unwrap_or(r.receive_time), r.offset))
            .find(|&(stamp, _)| stamp >= timestamp))
    }

    /// The first record of `partition` with the largest timestamp, as (timestamp, offset).
    ///
    /// # Errors
    /// [`StoreError::UnknownPartition`].
    pub fn max_timestamp(&self, partition: u32) -> Result<Option<(i64, i64)>, StoreError> {
        let log = self.partition(partition)?.lock().expect("partition lock");
        // The first record with the largest timestamp, as Kafka answers (a later
        // tie does not move it; `max_by_key` would return the last one).
        Ok(log
            .iter()
            .map(|r| (r.timestamp.unwrap_or(r.receive_time), r.offset))
            .fold(
                None,
                |best: Option<(i64, i64)>, (stamp, offset)| match best {
                    Some((max, _)) if max >= stamp => best,
                    _ => Some((stamp, offset)),
                },
            ))
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
            .len() as i64)
    }

    /// Every record, partition by partition, each in offset order.
    pub(crate) fn read_all(&self) -> Vec<StoredRecord> {
        self.partitions
            .iter()
            .flat_map(|p| p.lock().expect("partition lock").clone())
            .collect()
    }

    /// The topic's name, id and high watermarks.
    pub(crate) fn info(&self) -> TopicInfo {
        TopicInfo {
            name: self.name.clone(),
            id: self.id,
            partitions: self
                .partitions
                .iter()
                .enumerate()
                .map(|(i, p)| PartitionInfo {
                    partition: i as u32,
                    high_watermark: p.lock().expect("partition lock").len() as i64,
                })
                .collect(),
        }
    }
}

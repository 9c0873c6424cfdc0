//! The broker's memory: every recorded message, by topic and partition.
//!
//! Each partition has its own lock, so producers writing to different
//! partitions never contend. Keys, values and headers are `Bytes` slices of
//! the frame they arrived in: recording copies no payload.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use bytes::Bytes;
use protocol::Header;

/// Which protocol a message arrived over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// The project's frame protocol.
    Frame,
    /// The Kafka wire protocol.
    Kafka,
}

impl Protocol {
    /// The protocol's name as shown in recordings: `frame` or `kafka`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Frame => "frame",
            Protocol::Kafka => "kafka",
        }
    }
}

/// Who sent a message: shared by every message of one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientInfo {
    /// The client's socket address.
    pub address: SocketAddr,
    /// The protocol the connection speaks.
    pub protocol: Protocol,
    /// The client id the producer announced, if any.
    pub client_id: Option<String>,
}

/// The idempotent-producer fields of a Kafka record, when the producer set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerInfo {
    /// The producer id handed out by InitProducerId.
    pub id: i64,
    /// The producer's epoch.
    pub epoch: i16,
    /// This record's sequence number (the batch's base sequence plus its offset delta).
    pub sequence: i32,
}

/// Writes records somewhere durable as they are appended (the `--record-file`).
///
/// Called with the partition lock held, before the records become visible and
/// before the producer is answered; an error refuses the whole append.
pub trait RecordSink: Send + Sync + std::fmt::Debug {
    /// Persists `records`, just appended to `topic`.
    ///
    /// # Errors
    /// Any I/O failure; the append is then refused and nothing is acknowledged.
    fn write(&self, topic: &str, records: &[StoredRecord]) -> std::io::Result<()>;
}

/// One recorded message, as tests read it back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StoredRecord {
    /// The partition it was appended to.
    pub partition: u32,
    /// Its offset in that partition; offsets are dense and start at 0.
    pub offset: i64,
    /// The producer's timestamp (ms since the Unix epoch), if it set one.
    pub timestamp: Option<i64>,
    /// When the broker received it (ms since the Unix epoch).
    pub receive_time: i64,
    /// The key, if any.
    pub key: Option<Bytes>,
    /// The value; `None` is Kafka's null value (a tombstone), distinct from an empty one.
    pub value: Option<Bytes>,
    /// The headers, in order; keys may repeat.
    pub headers: Vec<Header>,
    /// Producer id, epoch and sequence, for Kafka records from idempotent producers.
    pub producer: Option<ProducerInfo>,
    /// Who sent it.
    pub client: Arc<ClientInfo>,
}

/// A message about to be appended; the store gives it its offset.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// The producer's timestamp, if it set one.
    pub timestamp: Option<i64>,
    /// The key, if any.
    pub key: Option<Bytes>,
    /// The value; `None` is a null value.
    pub value: Option<Bytes>,
    /// The headers.
    pub headers: Vec<Header>,
    /// Producer id, epoch and sequence, if the producer set them.
    pub producer: Option<ProducerInfo>,
}

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

/// Why the store refused a lookup.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The record sink (`--record-file`) failed; nothing was appended.
    #[error("cannot write the record file: {0}")]
    Sink(String),
    /// No such topic (and auto-creation is off, for writes).
    #[error("unknown topic {topic:?}")]
    UnknownTopic {
        /// The topic asked for.
        topic: String,
    },
    /// The topic has no such partition.
    #[error("topic {topic:?} has {partitions} partitions; there is no partition {partition}")]
    UnknownPartition {
        /// The topic asked for.
        topic: String,
        /// The partition asked for.
        partition: u32,
        /// How many the topic has.
        partitions: u32,
    },
}

/// Every topic the broker knows; cheap to clone, all clones share the data.
#[derive(Debug, Clone)]
pub struct RecordStore {
    inner: Arc<StoreInner>,
}

#[derive(Debug)]
struct StoreInner {
    topics: RwLock<HashMap<String, Arc<TopicLog>>>,
    default_partitions: u32,
    auto_create: bool,
    sink: RwLock<Option<Arc<dyn RecordSink>>>,
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

impl RecordStore {
    /// An empty store whose auto-created topics get `default_partitions` partitions.
    ///
    /// # Panics
    /// If `default_partitions` is 0.
    pub fn new(default_partitions: u32, auto_create: bool) -> Self {
        assert!(default_partitions > 0, "topics have at least one partition");
        RecordStore {
            inner: Arc::new(StoreInner {
                topics: RwLock::new(HashMap::new()),
                default_partitions,
                auto_create,
                sink: RwLock::new(None),
            }),
        }
    }

    /// Sends every record appended from now on to `sink` as well (topics created from now on).
    pub fn set_sink(&self, sink: Arc<dyn RecordSink>) {
        *self.inner.sink.write().expect("sink lock") = Some(sink);
    }

    /// The partition count topics get when auto-created.
    pub fn default_partitions(&self) -> u32 {
        self.inner.default_partitions
    }

    /// Whether producing to (or asking metadata for) an unknown topic creates it.
    pub fn auto_create(&self) -> bool {
        self.inner.auto_create
    }

    /// Drops a topic and its recordings; returns whether it existed.
    pub fn delete_topic(&self, name: &str) -> bool {
        let removed = self.inner.topics.write().expect("topics lock").remove(name);
        if removed.is_some() {
            tracing::info!(topic = name, "deleted topic");
        }
        removed.is_some()
    }

    /// Drops every topic and recording.
    pub fn reset(&self) {
        self.inner.topics.write().expect("topics lock").clear();
        tracing::info!("deleted every topic");
    }

    /// The topic, created with the default partition count if auto-creation is on.
    ///
    /// # Errors
    /// [`StoreError::UnknownTopic`] when it does not exist and auto-creation is off.
    pub fn topic_for_write(&self, name: &str) -> Result<Arc<TopicLog>, StoreError> {
        if let Some(topic) = self.topic(name) {
            return Ok(topic);
        }
        if !self.inner.auto_create {
            return Err(StoreError::UnknownTopic {
                topic: name.to_string(),
            });
        }
        Ok(self.create_topic(name, self.inner.default_partitions))
    }

    /// Creates `name` with `partitions` partitions, or returns it if it exists already.
    ///
    /// # Panics
    /// If `partitions` is 0.
    pub fn create_topic(&self, name: &str, partitions: u32) -> Arc<TopicLog> {
        assert!(partitions > 0, "topics have at least one partition");
        let mut topics = self.inner.topics.write().expect("topics lock");
        topics
            .entry(name.to_string())
            .or_insert_with(|| {
                tracing::info!(topic = name, partitions, "created topic");
                Arc::new(TopicLog {
                    name: name.to_string(),
                    id: uuid::Uuid::new_v4(),
                    sink: self.inner.sink.read().expect("sink lock").clone(),
                    partitions: (0..partitions).map(|_| Mutex::new(Vec::new())).collect(),
                    round_robin: AtomicU32::new(0),
                })
            })
            .clone()
    }

    /// The topic, if it exists.
    pub fn topic(&self, name: &str) -> Option<Arc<TopicLog>> {
        self.inner
            .topics
            .read()
            .expect("topics lock")
            .get(name)
            .cloned()
    }

    /// The topic with this id, if it exists.
    pub fn topic_by_id(&self, id: uuid::Uuid) -> Option<Arc<TopicLog>> {
        self.inner
            .topics
            .read()
            .expect("topics lock")
            .values()
            .find(|t| t.id == id)
            .cloned()
    }

    /// Every topic, sorted by name.
    pub fn topic_logs(&self) -> Vec<Arc<TopicLog>> {
        let mut topics: Vec<Arc<TopicLog>> = self
            .inner
            .topics
            .read()
            .expect("topics lock")
            .values()
            .cloned()
            .collect();
        topics.sort_by(|a, b| a.name.cmp(&b.name));
        topics
    }

    /// Every topic with its partitions' high watermarks, sorted by name.
    pub fn topics(&self) -> Vec<TopicInfo> {
        let topics: Vec<Arc<TopicLog>> = self
            .inner
            .topics
            .read()
            .expect("topics lock")
            .values()
            .cloned()
            .collect();
        let mut infos: Vec<TopicInfo> = topics.iter().map(|t| t.info()).collect();
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        infos
    }

    /// Up to `limit` records of `topic`/`partition` from offset `from`, in offset order.
    ///
    /// # Errors
    /// [`StoreError::UnknownTopic`] or [`StoreError::UnknownPartition`].
    pub fn read(
        &self,
        topic: &str,
        partition: u32,
        from: i64,
        limit: usize,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let log = self.topic(topic).ok_or_else(|| StoreError::UnknownTopic {
            topic: topic.to_string(),
        })?;
        let records = log.partition(partition)?.lock().expect("partition lock");
        let start = usize::try_from(from.max(0))
            .unwrap_or(usize::MAX)
            .min(records.len());
        Ok(records[start..].iter().take(limit).cloned().collect())
    }

    /// Every record of `topic`, partition by partition, each in offset order.
    ///
    /// # Errors
    /// [`StoreError::UnknownTopic`].
    pub fn read_all(&self, topic: &str) -> Result<Vec<StoredRecord>, StoreError> {
        let log = self.topic(topic).ok_or_else(|| StoreError::UnknownTopic {
            topic: topic.to_string(),
        })?;
        Ok(log
            .partitions
            .iter()
            .flat_map(|p| p.lock().expect("partition lock").clone())
            .collect())
    }

    /// How many records the store holds in all.
    pub fn record_count(&self) -> u64 {
        self.topics()
            .iter()
            .flat_map(|t| &t.partitions)
            .map(|p| p.high_watermark as u64)
            .sum()
    }
}

impl TopicLog {
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

    fn info(&self) -> TopicInfo {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Arc<ClientInfo> {
        Arc::new(ClientInfo {
            address: "127.0.0.1:5000".parse().unwrap(),
            protocol: Protocol::Frame,
            client_id: None,
        })
    }

    fn new_record(value: &'static str) -> NewRecord {
        NewRecord {
            timestamp: None,
            key: None,
            value: Some(Bytes::from_static(value.as_bytes())),
            headers: Vec::new(),
            producer: None,
        }
    }

    #[test]
    fn offsets_are_dense_per_partition() {
        let store = RecordStore::new(2, true);
        let topic = store.topic_for_write("t").unwrap();
        let c = client();
        assert_eq!(
            topic.append(0, [new_record("a"), new_record("b")], 1, &c),
            Ok(0)
        );
        assert_eq!(topic.append(1, [new_record("c")], 1, &c), Ok(0));
        assert_eq!(topic.append(0, [new_record("d")], 1, &c), Ok(2));
        let p0 = store.read("t", 0, 0, 10).unwrap();
        let values: Vec<_> = p0
            .iter()
            .map(|r| (r.offset, r.value.clone().unwrap()))
            .collect();
        assert_eq!(
            values,
            vec![(0, "a".into()), (1, "b".into()), (2, "d".into())]
        );
        assert_eq!(
            store.read("t", 0, 1, 1).unwrap()[0].value.as_deref(),
            Some(&b"b"[..])
        );
        assert_eq!(store.read("t", 0, 99, 10).unwrap(), vec![]);
        assert_eq!(store.record_count(), 4);
    }

    #[test]
    fn unknown_topics_and_partitions_are_named() {
        let store = RecordStore::new(1, false);
        assert_eq!(
            store.topic_for_write("x").unwrap_err().to_string(),
            "unknown topic \"x\""
        );
        store.create_topic("x", 3);
        let err = store.read("x", 3, 0, 1).unwrap_err().to_string();
        assert!(
            err.contains("has 3 partitions; there is no partition 3"),
            "{err}"
        );
    }

    #[derive(Debug, Default)]
    struct FailingSink;
    impl RecordSink for FailingSink {
        fn write(&self, _: &str, _: &[StoredRecord]) -> std::io::Result<()> {
            Err(std::io::Error::other("disk full"))
        }
    }

    #[test]
    fn a_failing_sink_refuses_the_append_and_leaves_nothing_behind() {
        let store = RecordStore::new(1, true);
        store.set_sink(Arc::new(FailingSink));
        let topic = store.topic_for_write("t").unwrap();
        let err = topic
            .append(0, [new_record("a")], 1, &client())
            .unwrap_err();
        assert_eq!(err, StoreError::Sink("disk full".into()));
        assert_eq!(store.record_count(), 0);
    }

    #[derive(Debug, Default)]
    struct CountingSink(Mutex<Vec<usize>>);
    impl RecordSink for CountingSink {
        fn write(&self, _: &str, records: &[StoredRecord]) -> std::io::Result<()> {
            self.0.lock().unwrap().push(records.len());
            Ok(())
        }
    }

    #[test]
    fn groups_are_appended_in_one_sink_write_with_offsets_per_partition() {
        let store = RecordStore::new(3, true);
        let sink = Arc::new(CountingSink::default());
        store.set_sink(sink.clone());
        let topic = store.topic_for_write("t").unwrap();
        topic.append(2, [new_record("x")], 1, &client()).unwrap();
        let groups = vec![
            (2, vec![new_record("a"), new_record("b")]),
            (0, vec![new_record("c")]),
        ];
        assert_eq!(topic.append_groups(groups, 1, &client()), Ok(vec![1, 0]));
        assert_eq!(*sink.0.lock().unwrap(), vec![1, 3]);
        assert_eq!(store.read("t", 2, 0, 10).unwrap().len(), 3);
    }

    #[test]
    fn a_failing_sink_refuses_every_group() {
        let store = RecordStore::new(2, true);
        store.set_sink(Arc::new(FailingSink));
        let topic = store.topic_for_write("t").unwrap();
        let groups = vec![(0, vec![new_record("a")]), (1, vec![new_record("b")])];
        assert!(topic.append_groups(groups, 1, &client()).is_err());
        assert_eq!(store.record_count(), 0);
    }

    #[test]
    fn delete_and_reset_drop_recordings() {
        let store = RecordStore::new(1, true);
        let c = client();
        store
            .topic_for_write("a")
            .unwrap()
            .append(0, [new_record("x")], 1, &c)
            .unwrap();
        store
            .topic_for_write("b")
            .unwrap()
            .append(0, [new_record("y")], 1, &c)
            .unwrap();
        assert!(store.delete_topic("a"));
        assert!(!store.delete_topic("a"));
        assert_eq!(store.topics().len(), 1);
        store.reset();
        assert!(store.topics().is_empty());
    }

    #[test]
    fn topics_are_listed_by_name_with_high_watermarks() {
        let store = RecordStore::new(1, true);
        let c = client();
        store
            .topic_for_write("b")
            .unwrap()
            .append(0, [new_record("x")], 1, &c)
            .unwrap();
        store.topic_for_write("a").unwrap();
        let topics = store.topics();
        assert_eq!(topics[0].name, "a");
        assert_eq!(topics[1].partitions[0].high_watermark, 1);
    }
}

//! The broker's memory: every topic, created on demand, and its recordings.
//!
//! Each partition has its own lock, so producers writing to different
//! partitions never contend. Keys, values and headers are `Bytes` slices of
//! the frame they arrived in: recording copies no payload.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::append_signal::AppendSignal;
use super::error::StoreError;
use super::limits::{MemoryStats, StoreLimits};
use super::retention::Retention;
use super::sink::{RecordSink, StoreEvent};
use super::stored_record::StoredRecord;
use super::topic_log::{NewTopic, TopicInfo, TopicLog};

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
    appended: Arc<AppendSignal>,
    retention: Arc<Retention>,
}

impl RecordStore {
    /// An empty store whose auto-created topics get `default_partitions` partitions.
    ///
    /// # Panics
    /// If `default_partitions` is 0.
    pub fn new(default_partitions: u32, auto_create: bool) -> Self {
        Self::with_limits(default_partitions, auto_create, StoreLimits::default())
    }

    /// An empty store that keeps what `limits` allow.
    ///
    /// # Panics
    /// If `default_partitions` is 0.
    pub fn with_limits(default_partitions: u32, auto_create: bool, limits: StoreLimits) -> Self {
        assert!(default_partitions > 0, "topics have at least one partition");
        RecordStore {
            inner: Arc::new(StoreInner {
                topics: RwLock::new(HashMap::new()),
                default_partitions,
                auto_create,
                sink: RwLock::new(None),
                appended: Arc::default(),
                retention: Arc::new(Retention::new(limits)),
            }),
        }
    }

    /// Sends every record appended from now on to `sink` as well (topics created from now on).
    /// Topics that exist already (replayed from the record file) write there from now on too.
    pub fn set_sink(&self, sink: Arc<dyn RecordSink>) {
        *self.inner.sink.write().expect("sink lock") = Some(sink.clone());
        for topic in self.inner.topics.read().expect("topics lock").values() {
            topic.set_sink(sink.clone());
        }
    }

    /// Tells the sink, if there is one, about `event`; a failure is logged.
    fn announce(&self, event: StoreEvent<'_>) {
        let sink = self.inner.sink.read().expect("sink lock").clone();
        if let Some(sink) = sink
            && let Err(e) = sink.event(event)
        {
            tracing::error!(error = %e, ?event, "cannot write a topic change to the record file; a replay will not know it");
        }
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
            self.announce(StoreEvent::TopicDeleted { topic: name });
        }
        removed.is_some()
    }

    /// Drops every topic and recording.
    pub fn reset(&self) {
        self.inner.topics.write().expect("topics lock").clear();
        tracing::info!("deleted every topic");
        self.announce(StoreEvent::Reset);
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
        self.create_topic_checked(name, self.inner.default_partitions)
    }

    /// Creates `name` with `partitions` partitions within the store's topic
    /// and partition limits, or returns it if it exists already.
    ///
    /// # Errors
    /// [`StoreError::TooManyTopics`] or [`StoreError::TooManyPartitions`].
    ///
    /// # Panics
    /// If `partitions` is 0.
    pub fn create_topic_checked(
        &self,
        name: &str,
        partitions: u32,
    ) -> Result<Arc<TopicLog>, StoreError> {
        assert!(partitions > 0, "topics have at least one partition");
        let mut topics = self.inner.topics.write().expect("topics lock");
        if let Some(topic) = topics.get(name) {
            return Ok(topic.clone());
        }
        self.check_room(name, partitions, topics.len())?;
        let topic = self.new_topic(name, NewTopic::with_partitions(partitions));
        topics.insert(name.to_string(), topic.clone());
        Ok(topic)
    }

    /// Whether one more topic of `partitions` partitions fits beside `held` topics.
    fn check_room(&self, name: &str, partitions: u32, held: usize) -> Result<(), StoreError> {
        let limits = self.inner.retention.limits();
        if partitions > limits.max_partitions_per_topic {
            return Err(StoreError::TooManyPartitions {
                topic: name.to_string(),
                requested: partitions,
                max: limits.max_partitions_per_topic,
            });
        }
        if held >= limits.max_topics as usize {
            return Err(StoreError::TooManyTopics {
                topic: name.to_string(),
                max: limits.max_topics,
            });
        }
        Ok(())
    }

    /// Creates `name` with `partitions` partitions, or returns it if it exists already.
    ///
    /// # Panics
    /// If `partitions` is 0, or the topic would break the store's topic or
    /// partition limits ([`RecordStore::create_topic_checked`] returns those
    /// as errors).
    pub fn create_topic(&self, name: &str, partitions: u32) -> Arc<TopicLog> {
        self.create_topic_checked(name, partitions)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Creates `name` as `spec` describes it (Kafka's CreateTopics).
    ///
    /// # Errors
    /// [`StoreError::TopicExists`] when a topic of that name exists; it is left as it is;
    /// [`StoreError::TooManyTopics`] or [`StoreError::TooManyPartitions`] past the store's limits.
    ///
    /// # Panics
    /// If `spec.partitions` is 0.
    pub fn create_topic_with(
        &self,
        name: &str,
        spec: NewTopic,
    ) -> Result<Arc<TopicLog>, StoreError> {
        assert!(spec.partitions > 0, "topics have at least one partition");
        let mut topics = self.inner.topics.write().expect("topics lock");
        if topics.contains_key(name) {
            return Err(StoreError::TopicExists {
                topic: name.to_string(),
            });
        }
        self.check_room(name, spec.partitions, topics.len())?;
        let topic = self.new_topic(name, spec);
        topics.insert(name.to_string(), topic.clone());
        Ok(topic)
    }

    fn new_topic(&self, name: &str, spec: NewTopic) -> Arc<TopicLog> {
        self.new_topic_with_id(name, spec, uuid::Uuid::new_v4())
    }

    fn new_topic_with_id(&self, name: &str, spec: NewTopic, id: uuid::Uuid) -> Arc<TopicLog> {
        tracing::info!(topic = name, partitions = spec.partitions, "created topic");
        let sink = self.inner.sink.read().expect("sink lock").clone();
        let topic = Arc::new(TopicLog::new(
            name,
            spec,
            id,
            sink,
            self.inner.appended.clone(),
            self.inner.retention.clone(),
        ));
        self.announce(StoreEvent::TopicCreated {
            topic: name,
            id,
            partitions: topic.partition_count(),
            replication_factor: topic.replication_factor(),
            config: topic.config().overrides(),
        });
        topic
    }

    /// Creates `name` again as the record file says it was: `spec`, with the
    /// topic id it had; a topic of that name is replaced. Used by the replay,
    /// before the sink is set, within the store's limits.
    ///
    /// # Errors
    /// [`StoreError::TooManyTopics`] or [`StoreError::TooManyPartitions`].
    pub(crate) fn restore_topic(
        &self,
        name: &str,
        spec: NewTopic,
        id: uuid::Uuid,
    ) -> Result<Arc<TopicLog>, StoreError> {
        let mut topics = self.inner.topics.write().expect("topics lock");
        topics.remove(name);
        self.check_room(name, spec.partitions, topics.len())?;
        let topic = self.new_topic_with_id(name, spec, id);
        topics.insert(name.to_string(), topic.clone());
        Ok(topic)
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
            .find(|t| t.id() == id)
            .cloned()
    }

    /// The limits in force.
    pub fn limits(&self) -> StoreLimits {
        *self.inner.retention.limits()
    }

    /// The memory the store's batches take, its cap, and what was dropped or refused.
    pub fn memory(&self) -> MemoryStats {
        self.inner.retention.stats()
    }

    /// Drops every batch `retention_ms` no longer keeps at `now_ms`; the
    /// broker calls it every second (appends apply retention to their own
    /// partition as they go).
    pub fn apply_retention(&self, now_ms: i64) {
        self.inner.retention.sweep(now_ms);
    }

    /// Announces every append, for fetches waiting for data.
    pub(crate) fn appended(&self) -> &AppendSignal {
        &self.inner.appended
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
        topics.sort_by(|a, b| a.name().cmp(b.name()));
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
        log.read(partition, from, limit)
    }

    /// As [`RecordStore::read`], with control records (transaction markers)
    /// too if `include_control`.
    ///
    /// # Errors
    /// [`StoreError::UnknownTopic`] or [`StoreError::UnknownPartition`].
    pub fn read_records(
        &self,
        topic: &str,
        partition: u32,
        from: i64,
        limit: usize,
        include_control: bool,
    ) -> Result<Vec<StoredRecord>, StoreError> {
        let log = self.topic(topic).ok_or_else(|| StoreError::UnknownTopic {
            topic: topic.to_string(),
        })?;
        log.read_records(partition, from, limit, include_control)
    }

    /// Every record of `topic`, partition by partition, each in offset order.
    ///
    /// # Errors
    /// [`StoreError::UnknownTopic`].
    pub fn read_all(&self, topic: &str) -> Result<Vec<StoredRecord>, StoreError> {
        let log = self.topic(topic).ok_or_else(|| StoreError::UnknownTopic {
            topic: topic.to_string(),
        })?;
        Ok(log.read_all())
    }

    /// How many records the store holds in all (what retention dropped is not counted).
    pub fn record_count(&self) -> u64 {
        self.topics()
            .iter()
            .flat_map(|t| &t.partitions)
            .map(|p| (p.high_watermark - p.log_start_offset) as u64)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use bytes::Bytes;

    use super::*;
    use crate::store::{ClientInfo, NewRecord, Protocol};

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
    fn added_partitions_take_records_and_a_topic_never_shrinks() {
        let store = RecordStore::new(1, false);
        let topic = store.create_topic("t", 2);
        let c = client();
        topic.append(1, [new_record("a")], 1, &c).unwrap();
        assert_eq!(topic.add_partitions(4), Ok(2));
        assert_eq!(topic.partition_count(), 4);
        assert_eq!(topic.append(3, [new_record("b")], 1, &c), Ok(0));
        assert_eq!(store.read("t", 1, 0, 10).unwrap().len(), 1, "kept");
        assert!(matches!(
            topic.add_partitions(4),
            Err(StoreError::PartitionCount { partitions: 4, .. })
        ));
        assert!(matches!(
            store.create_topic_with("t", NewTopic::with_partitions(1)),
            Err(StoreError::TopicExists { .. })
        ));
    }

    #[test]
    fn a_topics_retention_bytes_override_applies_to_its_partitions_only() {
        let store = RecordStore::new(1, false);
        let small = store.create_topic("small", 1);
        let large = store.create_topic("large", 1);
        let c = client();
        let config = crate::store::TopicConfig::new(
            [("retention.bytes".to_string(), "1".to_string())].into(),
        )
        .unwrap();
        small.set_config(config, 1);
        for topic in [&small, &large] {
            for value in ["a", "b", "c"] {
                topic.append(0, [new_record(value)], 1, &c).unwrap();
            }
        }
        assert_eq!(
            small.log_start_offset(0),
            Ok(2),
            "only the newest batch stays"
        );
        assert_eq!(large.log_start_offset(0), Ok(0));
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

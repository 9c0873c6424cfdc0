//! What the producer knows of a Kafka cluster: its brokers, each topic's
//! partition leaders, and one connection per broker.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kafka_protocol::error::ParseResponseErrorCode;
use kafka_protocol::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kafka_protocol::messages::{MetadataResponse, TopicName};
use kafka_protocol::protocol::StrBytes;
use tokio::time::Instant;

use super::broker_connection::BrokerConnection;
use crate::error::Error;
use crate::tasks::Tasks;

/// How to reach brokers.
#[derive(Debug, Clone)]
pub(crate) struct ConnectSettings {
    /// The client id every request carries.
    pub(crate) client_id: String,
    /// How long opening a connection may take.
    pub(crate) connect_timeout: Duration,
    /// How long a request may wait for its answer.
    pub(crate) request_timeout: Duration,
    /// The producer's background tasks, which connections' tasks join.
    pub(crate) tasks: Tasks,
}

/// A topic's partitions and their leaders (node id, or −1 while none).
#[derive(Debug, Clone)]
pub(crate) enum TopicState {
    /// Each partition's leader, by partition index.
    Known(Vec<i32>),
    /// The broker refused the topic for good (e.g. an invalid name).
    Failed(Error),
}

#[derive(Debug, Default)]
struct State {
    brokers: HashMap<i32, String>,
    /// FNV rather than SipHash: looked up for every record sent.
    topics: fnv::FnvHashMap<String, TopicState>,
    connections: HashMap<i32, Arc<BrokerConnection>>,
    refreshed: Option<Instant>,
}

/// The cluster as last seen.
#[derive(Debug)]
pub(crate) struct Cluster {
    bootstrap: Vec<String>,
    settings: ConnectSettings,
    state: Mutex<State>,
    /// Bumped, under the state's lock, by every metadata response applied:
    /// what a [`CountCache`] is checked against.
    generation: AtomicU64,
    /// One metadata refresh at a time.
    refreshing: tokio::sync::Mutex<()>,
}

impl Cluster {
    /// Connects to the first bootstrap broker that answers and learns the brokers.
    ///
    /// # Errors
    /// The last broker's error, when none answers.
    pub(crate) async fn connect(
        bootstrap: Vec<String>,
        settings: ConnectSettings,
    ) -> Result<Cluster, Error> {
        let cluster = Cluster {
            bootstrap,
            settings,
            state: Mutex::new(State::default()),
            generation: AtomicU64::new(0),
            refreshing: tokio::sync::Mutex::new(()),
        };
        cluster.refresh(&[]).await?;
        Ok(cluster)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("cluster lock")
    }

    /// The partition count of `topic` (or why it has none), without copying its leaders:
    /// this runs for every record sent.
    pub(crate) fn partition_count(&self, topic: &str) -> Option<Result<u32, Error>> {
        match self.lock().topics.get(topic)? {
            TopicState::Known(leaders) if leaders.is_empty() => None,
            TopicState::Known(leaders) => Some(Ok(leaders.len() as u32)),
            TopicState::Failed(error) => Some(Err(error.clone())),
        }
    }

    /// As [`Cluster::partition_count`], read from `cache` without the lock while
    /// no metadata response has been applied since `cache` was filled: a send
    /// to the producer's own topic takes no lock for it.
    pub(crate) fn partition_count_cached(
        &self,
        topic: &str,
        cache: &CountCache,
    ) -> Option<Result<u32, Error>> {
        let cached = cache.0.load(Ordering::Acquire);
        let generation = self.generation.load(Ordering::Acquire) as u32;
        if cached != 0 && (cached >> 32) as u32 == generation {
            return Some(Ok(cached as u32));
        }
        let state = self.lock();
        let count = match state.topics.get(topic)? {
            TopicState::Known(leaders) if leaders.is_empty() => return None,
            TopicState::Known(leaders) => leaders.len() as u32,
            TopicState::Failed(error) => return Some(Err(error.clone())),
        };
        // Read under the lock, as it is bumped: the count and its generation agree.
        let generation = self.generation.load(Ordering::Relaxed) as u32;
        cache.0.store(
            (u64::from(generation) << 32) | u64::from(count),
            Ordering::Release,
        );
        Some(Ok(count))
    }

    /// The leader of a partition, if known.
    pub(crate) fn leader(&self, topic: &str, partition: u32) -> Option<i32> {
        match self.lock().topics.get(topic) {
            Some(TopicState::Known(leaders)) => {
                leaders.get(partition as usize).copied().filter(|&l| l >= 0)
            }
            _ => None,
        }
    }

    /// The topics metadata has been asked for.
    pub(crate) fn known_topics(&self) -> Vec<String> {
        self.lock().topics.keys().cloned().collect()
    }

    /// When metadata was last refreshed.
    pub(crate) fn refreshed(&self) -> Option<Instant> {
        self.lock().refreshed
    }

    /// A connection to broker `node`, opened if needed.
    ///
    /// # Errors
    /// [`Error::Connect`] and friends, or [`Error::Protocol`] for an unknown node.
    pub(crate) async fn connection(&self, node: i32) -> Result<Arc<BrokerConnection>, Error> {
        let address = {
            let state = self.lock();
            if let Some(connection) = state.connections.get(&node) {
                return Ok(connection.clone());
            }
            state
                .brokers
                .get(&node)
                .cloned()
                .ok_or_else(|| Error::Protocol {
                    address: self.bootstrap.join(","),
                    reason: format!("metadata names no broker {node}"),
                })?
        };
        let s = &self.settings;
        let connection = Arc::new(
            BrokerConnection::connect(&address, &s.client_id, s.connect_timeout, &s.tasks).await?,
        );
        tracing::debug!(node, broker = %address, "connected to broker");
        Ok(self
            .lock()
            .connections
            .entry(node)
            .or_insert(connection)
            .clone())
    }

    /// Forgets a broken connection, so the next use reconnects.
    pub(crate) fn drop_connection(&self, node: i32, broken: &Arc<BrokerConnection>) {
        let mut state = self.lock();
        if state
            .connections
            .get(&node)
            .is_some_and(|c| Arc::ptr_eq(c, broken))
        {
            state.connections.remove(&node);
        }
    }

    /// Any usable connection: an open one, else a known broker, else a bootstrap address.
    ///
    /// # Errors
    /// The last error, when no broker answers.
    pub(crate) async fn any_connection(&self) -> Result<Arc<BrokerConnection>, Error> {
        let (open, nodes) = {
            let state = self.lock();
            (
                state.connections.values().next().cloned(),
                state.brokers.keys().copied().collect::<Vec<_>>(),
            )
        };
        if let Some(connection) = open {
            return Ok(connection);
        }
        let mut last = None;
        for node in nodes {
            match self.connection(node).await {
                Ok(connection) => return Ok(connection),
                Err(e) => last = Some(e),
            }
        }
        let s = &self.settings;
        for address in &self.bootstrap {
            match BrokerConnection::connect(address, &s.client_id, s.connect_timeout, &s.tasks)
                .await
            {
                Ok(connection) => return Ok(Arc::new(connection)),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| Error::InvalidConfig {
            file: None,
            reason: "no bootstrap servers".into(),
        }))
    }

    /// Asks for metadata of `topics` plus every topic already known (creating them if the broker allows).
    ///
    /// # Errors
    /// When no broker answers.
    pub(crate) async fn refresh(&self, topics: &[&str]) -> Result<(), Error> {
        let _one_at_a_time = self.refreshing.lock().await;
        let mut names: Vec<String> = self.known_topics();
        for topic in topics {
            if !names.iter().any(|n| n == topic) {
                names.push(topic.to_string());
            }
        }
        let request = MetadataRequest::default()
            .with_topics(Some(
                names
                    .iter()
                    .map(|n| {
                        MetadataRequestTopic::default()
                            .with_name(Some(TopicName(StrBytes::from_string(n.clone()))))
                    })
                    .collect(),
            ))
            .with_allow_auto_topic_creation(true);
        let connection = self.any_connection().await?;
        let response = match connection
            .request(&request, self.settings.request_timeout)
            .await
        {
            Ok(response) => response,
            Err(e) => {
                self.forget(&connection);
                return Err(e);
            }
        };
        self.apply(response);
        Ok(())
    }

    fn forget(&self, broken: &Arc<BrokerConnection>) {
        self.lock()
            .connections
            .retain(|_, c| !Arc::ptr_eq(c, broken));
    }

    fn apply(&self, response: MetadataResponse) {
        let mut state = self.lock();
        state.brokers = response
            .brokers
            .iter()
            .map(|b| (b.node_id.0, format!("{}:{}", b.host.as_str(), b.port)))
            .collect();
        let brokers = state.brokers.clone();
        // Connections to brokers that left the cluster are dropped.
        state
            .connections
            .retain(|node, _| brokers.contains_key(node));
        for topic in response.topics {
            let Some(name) = topic.name else { continue };
            let name = name.0.to_string();
            let entry = match topic.error_code.err() {
                None => {
                    let mut leaders = vec![-1; topic.partitions.len()];
                    for p in &topic.partitions {
                        if let Some(slot) = usize::try_from(p.partition_index)
                            .ok()
                            .and_then(|i| leaders.get_mut(i))
                        {
                            *slot = if p.error_code.is_ok() {
                                p.leader_id.0
                            } else {
                                -1
                            };
                        }
                    }
                    Some(TopicState::Known(leaders))
                }
                // Being created, or not yet everywhere: ask again later.
                Some(e) if e.is_retriable() => None,
                Some(_) => Some(TopicState::Failed(Error::kafka(topic.error_code, None))),
            };
            match entry {
                Some(entry) => {
                    state.topics.insert(name, entry);
                }
                None => {
                    state.topics.remove(&name);
                }
            }
        }
        state.refreshed = Some(Instant::now());
        self.generation.fetch_add(1, Ordering::Release);
    }
}

/// One topic's partition count as last read, tagged with the metadata
/// generation it was read at (the upper 32 bits; the count below, 0 when
/// nothing is cached). Only the count of a generation still current is used.
#[derive(Debug, Default)]
pub(crate) struct CountCache(AtomicU64);

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::BrokerId;
    use kafka_protocol::messages::metadata_response::{
        MetadataResponsePartition, MetadataResponseTopic,
    };

    use super::*;

    fn cluster() -> Cluster {
        Cluster {
            bootstrap: Vec::new(),
            settings: ConnectSettings {
                client_id: "test".into(),
                connect_timeout: Duration::from_secs(1),
                request_timeout: Duration::from_secs(1),
                tasks: Tasks::default(),
            },
            state: Mutex::new(State::default()),
            generation: AtomicU64::new(0),
            refreshing: tokio::sync::Mutex::new(()),
        }
    }

    /// A metadata response naming `topic` with `partitions` partitions, all led by node 1.
    fn metadata(topic: &str, partitions: i32) -> MetadataResponse {
        let partitions = (0..partitions)
            .map(|i| {
                MetadataResponsePartition::default()
                    .with_partition_index(i)
                    .with_leader_id(BrokerId(1))
            })
            .collect();
        MetadataResponse::default().with_topics(vec![
            MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_string(topic.into()))))
                .with_partitions(partitions),
        ])
    }

    #[test]
    fn a_cached_partition_count_is_used_only_until_the_next_metadata_response() {
        let cluster = cluster();
        let cache = CountCache::default();
        assert!(cluster.partition_count_cached("t", &cache).is_none());
        cluster.apply(metadata("t", 2));
        assert_eq!(
            cluster
                .partition_count_cached("t", &cache)
                .unwrap()
                .unwrap(),
            2
        );
        // Read again from the cache: the same.
        assert_eq!(
            cluster
                .partition_count_cached("t", &cache)
                .unwrap()
                .unwrap(),
            2
        );
        // CreatePartitions grew the topic: the next response is seen at once.
        cluster.apply(metadata("t", 5));
        assert_eq!(
            cluster
                .partition_count_cached("t", &cache)
                .unwrap()
                .unwrap(),
            5
        );
        // The topic went away: nothing cached is used.
        cluster.apply(MetadataResponse::default().with_topics(vec![
            MetadataResponseTopic::default()
                .with_name(Some(TopicName(StrBytes::from_static_str("t"))))
                .with_error_code(3),
        ]));
        assert!(cluster.partition_count_cached("t", &cache).is_none());
    }
}

//! A fault rule as users write it: one flat table of keys, the same in the
//! broker's TOML config, the admin API's JSON, the in-process API and loadgen
//! scenarios. [`FaultRule::new`](super::FaultRule::new) checks it.

use std::fmt;
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A fault rule before validation: every key of `docs/faults.md`.
///
/// Build one with a constructor and the `with_*` methods, or deserialize it:
/// ```
/// use mock_broker::fault::FaultSpec;
/// let spec: FaultSpec = toml::from_str("kind = \"latency\"\nlatency_ms = 200\napi = \"produce\"").unwrap();
/// assert_eq!(spec, FaultSpec::latency(200).with_api(mock_broker::fault::ApiScope::Produce));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct FaultSpec {
    /// What the broker does.
    pub kind: FaultKindName,
    /// Only this broker (node id, 1-based); default every broker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker: Option<i32>,
    /// Only requests of this API; default any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api: Option<ApiScope>,
    /// Only requests that touch this topic; default any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// Only requests that touch this partition; default any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
    /// Only requests that name this consumer group; for `rebalance`, the group to rebalance.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Only requests that name this transactional id (the transaction APIs, and FindCoordinator
    /// for a transaction coordinator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transactional_id: Option<String>,
    /// Only requests of this protocol; default both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<ProtocolScope>,
    /// Fire on the next `count` matching requests, then expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Fire on each matching request with this chance (0 < p ≤ 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probability: Option<f64>,
    /// Seed of the `probability` dice, for reproducible runs; default random.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// How long after the rule is added it starts; default at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<FaultDuration>,
    /// How long it lasts once started; default until removed (required for `stall` and `down`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<FaultDuration>,
    /// `latency`: the delay added to each matching response, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// `latency`: the delay varies uniformly by up to this much either way, in ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter_ms: Option<u64>,
    /// `error`: a Kafka error name or code, or a frame protocol status name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorValue>,
    /// `disconnect`: close before handling the request or after recording it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    /// `throttle`: the `throttle_time_ms` put in matching Kafka responses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throttle_ms: Option<u32>,
    /// `leader_move`: the broker (node id) that leads the partition from then on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i32>,
}

/// The kinds of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKindName {
    /// Delay responses.
    Latency,
    /// Answer with an error, recording nothing.
    Error,
    /// Close the connection before or after handling the request.
    Disconnect,
    /// Stop reading from every connection for a while.
    Stall,
    /// Refuse and drop connections for a while.
    Down,
    /// Ask Kafka clients to slow down (`throttle_time_ms`).
    Throttle,
    /// Move a partition's leadership to another broker.
    LeaderMove,
    /// Make every member of a consumer group rejoin.
    Rebalance,
}

impl FaultKindName {
    /// The name used in rules, logs and `/stats`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKindName::Latency => "latency",
            FaultKindName::Error => "error",
            FaultKindName::Disconnect => "disconnect",
            FaultKindName::Stall => "stall",
            FaultKindName::Down => "down",
            FaultKindName::Throttle => "throttle",
            FaultKindName::LeaderMove => "leader_move",
            FaultKindName::Rebalance => "rebalance",
        }
    }

    /// Whether the fault acts on matching requests (rather than over a stretch of time).
    pub fn is_per_request(self) -> bool {
        matches!(
            self,
            FaultKindName::Latency
                | FaultKindName::Error
                | FaultKindName::Disconnect
                | FaultKindName::Throttle
        )
    }
}

impl fmt::Display for FaultKindName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The APIs a rule can be limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiScope {
    /// Produce (Kafka) or a produce frame.
    Produce,
    /// Kafka Metadata.
    Metadata,
    /// Kafka ApiVersions.
    ApiVersions,
    /// Kafka InitProducerId.
    InitProducerId,
    /// Kafka Fetch.
    Fetch,
    /// Kafka ListOffsets.
    ListOffsets,
    /// Kafka FindCoordinator.
    FindCoordinator,
    /// Kafka JoinGroup.
    JoinGroup,
    /// Kafka SyncGroup.
    SyncGroup,
    /// Kafka Heartbeat.
    Heartbeat,
    /// Kafka LeaveGroup.
    LeaveGroup,
    /// Kafka OffsetCommit.
    OffsetCommit,
    /// Kafka OffsetFetch.
    OffsetFetch,
    /// Kafka ListGroups.
    ListGroups,
    /// Kafka DescribeGroups.
    DescribeGroups,
    /// Kafka DeleteGroups.
    DeleteGroups,
    /// Kafka OffsetDelete.
    OffsetDelete,
    /// Kafka CreateTopics.
    CreateTopics,
    /// Kafka DeleteTopics.
    DeleteTopics,
    /// Kafka CreatePartitions.
    CreatePartitions,
    /// Kafka DescribeConfigs.
    DescribeConfigs,
    /// Kafka AlterConfigs.
    AlterConfigs,
    /// Kafka IncrementalAlterConfigs.
    IncrementalAlterConfigs,
    /// Kafka DeleteRecords.
    DeleteRecords,
    /// Kafka DescribeCluster.
    DescribeCluster,
    /// Kafka OffsetForLeaderEpoch.
    OffsetForLeaderEpoch,
    /// Kafka DescribeProducers.
    DescribeProducers,
    /// Kafka AddPartitionsToTxn.
    AddPartitionsToTxn,
    /// Kafka AddOffsetsToTxn.
    AddOffsetsToTxn,
    /// Kafka TxnOffsetCommit.
    TxnOffsetCommit,
    /// Kafka EndTxn.
    EndTxn,
    /// Kafka DescribeTransactions.
    DescribeTransactions,
    /// Kafka ListTransactions.
    ListTransactions,
    /// Kafka ConsumerGroupHeartbeat (KIP-848).
    ConsumerGroupHeartbeat,
    /// Kafka ConsumerGroupDescribe (KIP-848).
    ConsumerGroupDescribe,
    /// Kafka SaslHandshake.
    SaslHandshake,
    /// Kafka SaslAuthenticate.
    SaslAuthenticate,
    /// Every request (the same as leaving `api` out).
    Any,
}

/// The protocols a rule can be limited to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProtocolScope {
    /// The Kafka wire protocol.
    Kafka,
    /// The frame protocol.
    Frame,
}

/// When a `disconnect` closes the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum When {
    /// Before the request is handled: nothing is recorded.
    #[default]
    Before,
    /// After the request is handled and recorded, before the response is sent.
    After,
}

/// An error named in a rule: a name (`"NOT_LEADER_OR_FOLLOWER"`, `"BROKER_BUSY"`) or a Kafka code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ErrorValue {
    /// A Kafka error code.
    Code(i16),
    /// A Kafka error name or a frame protocol status name.
    Name(String),
}

/// A duration written as a string like `"500ms"` or `"2s"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct FaultDuration(pub Duration);

impl Serialize for FaultDuration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(self.0))
    }
}

impl<'de> Deserialize<'de> for FaultDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(text.trim())
            .map(FaultDuration)
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "invalid duration {text:?} ({e}); expected a string like \"500ms\" or \"2s\""
                ))
            })
    }
}

impl From<Duration> for FaultDuration {
    fn from(d: Duration) -> Self {
        FaultDuration(d)
    }
}

impl FaultSpec {
    /// A rule of `kind` with no other key set.
    pub fn new(kind: FaultKindName) -> FaultSpec {
        FaultSpec {
            kind,
            broker: None,
            api: None,
            topic: None,
            partition: None,
            group: None,
            transactional_id: None,
            protocol: None,
            count: None,
            probability: None,
            seed: None,
            at: None,
            duration: None,
            latency_ms: None,
            jitter_ms: None,
            error: None,
            when: None,
            throttle_ms: None,
            to: None,
        }
    }

    /// Delays matching responses by `latency_ms`.
    pub fn latency(latency_ms: u64) -> FaultSpec {
        FaultSpec {
            latency_ms: Some(latency_ms),
            ..FaultSpec::new(FaultKindName::Latency)
        }
    }

    /// Answers matching requests with `error` (a Kafka error or frame status name).
    pub fn error(error: &str) -> FaultSpec {
        FaultSpec {
            error: Some(ErrorValue::Name(error.to_string())),
            ..FaultSpec::new(FaultKindName::Error)
        }
    }

    /// Closes the connection on matching requests, `when` before or after handling them.
    pub fn disconnect(when: When) -> FaultSpec {
        FaultSpec {
            when: Some(when),
            ..FaultSpec::new(FaultKindName::Disconnect)
        }
    }

    /// Stops reading from connections for `duration`.
    pub fn stall(duration: Duration) -> FaultSpec {
        FaultSpec::new(FaultKindName::Stall).with_duration(duration)
    }

    /// Refuses and drops connections for `duration`.
    pub fn down(duration: Duration) -> FaultSpec {
        FaultSpec::new(FaultKindName::Down).with_duration(duration)
    }

    /// Puts `throttle_ms` in matching Kafka responses.
    pub fn throttle(throttle_ms: u32) -> FaultSpec {
        FaultSpec {
            throttle_ms: Some(throttle_ms),
            ..FaultSpec::new(FaultKindName::Throttle)
        }
    }

    /// Moves the leadership of `partition` of `topic` to broker `to`.
    pub fn leader_move(topic: &str, partition: u32, to: i32) -> FaultSpec {
        FaultSpec {
            topic: Some(topic.to_string()),
            partition: Some(partition),
            to: Some(to),
            ..FaultSpec::new(FaultKindName::LeaderMove)
        }
    }

    /// Makes every member of consumer group `group` rejoin, as soon as the group is Stable.
    pub fn rebalance(group: &str) -> FaultSpec {
        FaultSpec::new(FaultKindName::Rebalance).with_group(group)
    }

    /// Limits the rule to requests naming consumer group `group` (for `rebalance`: the group).
    pub fn with_group(mut self, group: &str) -> FaultSpec {
        self.group = Some(group.to_string());
        self
    }

    /// Limits the rule to requests naming transactional id `transactional_id`.
    pub fn with_transactional_id(mut self, transactional_id: &str) -> FaultSpec {
        self.transactional_id = Some(transactional_id.to_string());
        self
    }

    /// Limits the rule to broker `node_id`.
    pub fn with_broker(mut self, node_id: i32) -> FaultSpec {
        self.broker = Some(node_id);
        self
    }

    /// Limits the rule to requests of `api`.
    pub fn with_api(mut self, api: ApiScope) -> FaultSpec {
        self.api = Some(api);
        self
    }

    /// Limits the rule to requests touching `topic`.
    pub fn with_topic(mut self, topic: &str) -> FaultSpec {
        self.topic = Some(topic.to_string());
        self
    }

    /// Limits the rule to requests touching `partition`.
    pub fn with_partition(mut self, partition: u32) -> FaultSpec {
        self.partition = Some(partition);
        self
    }

    /// Limits the rule to requests of `protocol`.
    pub fn with_protocol(mut self, protocol: ProtocolScope) -> FaultSpec {
        self.protocol = Some(protocol);
        self
    }

    /// Fires on the next `count` matching requests only.
    pub fn with_count(mut self, count: u64) -> FaultSpec {
        self.count = Some(count);
        self
    }

    /// Fires on each matching request with chance `probability`, drawn from dice seeded with `seed`.
    pub fn with_probability(mut self, probability: f64, seed: Option<u64>) -> FaultSpec {
        self.probability = Some(probability);
        self.seed = seed;
        self
    }

    /// Starts `at` after the rule is added.
    pub fn with_at(mut self, at: Duration) -> FaultSpec {
        self.at = Some(FaultDuration(at));
        self
    }

    /// Lasts `duration` once started.
    pub fn with_duration(mut self, duration: Duration) -> FaultSpec {
        self.duration = Some(FaultDuration(duration));
        self
    }

    /// Varies a `latency` by up to `jitter_ms` either way.
    pub fn with_jitter_ms(mut self, jitter_ms: u64) -> FaultSpec {
        self.jitter_ms = Some(jitter_ms);
        self
    }
}

//! The Kafka configs the broker knows by name: the common topic configs with
//! Kafka's types, defaults, documentation and validation, and the broker
//! configs DescribeConfigs reports.
//!
//! Defaults are Apache Kafka 3.9's. A topic without an override takes its
//! broker's value (the broker config named as its synonym), which is Kafka's
//! default unless the mock broker was started otherwise (`retention_ms`,
//! `retention_bytes`, `max_message_bytes`). Which overrides change what the
//! broker does is the store's business (`store/topic_config.rs`).

use crate::config::BrokerConfig;

/// A config's type, as DescribeConfigs v3+ reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ConfigType {
    Boolean,
    String,
    Int,
    Long,
    Double,
    List,
}

impl ConfigType {
    /// Kafka's code for the type (`DescribeConfigsResourceResult.config_type`).
    pub(crate) fn code(self) -> i8 {
        match self {
            ConfigType::Boolean => 1,
            ConfigType::String => 2,
            ConfigType::Int => 3,
            ConfigType::Long => 5,
            ConfigType::Double => 6,
            ConfigType::List => 7,
        }
    }

    fn name(self) -> &'static str {
        match self {
            ConfigType::Boolean => "BOOLEAN",
            ConfigType::String => "STRING",
            ConfigType::Int => "INT",
            ConfigType::Long => "LONG",
            ConfigType::Double => "DOUBLE",
            ConfigType::List => "LIST",
        }
    }
}

/// What values a config takes beyond its type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Valid {
    /// Any value of the type.
    Any,
    /// A number at least this.
    AtLeast(i64),
    /// A number within these bounds.
    Between(f64, f64),
    /// One of these strings (each item of a list).
    OneOf(&'static [&'static str]),
}

/// One topic config Kafka has.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TopicConfigDef {
    /// The topic config's name.
    pub(crate) name: &'static str,
    /// The broker config a topic without an override takes its value from.
    pub(crate) broker_name: &'static str,
    /// Its type.
    pub(crate) kind: ConfigType,
    /// Kafka's default value.
    pub(crate) kafka_default: &'static str,
    /// What values it takes.
    pub(crate) valid: Valid,
    /// Kafka's documentation of it, shortened.
    pub(crate) doc: &'static str,
}

const MAX_LONG: &str = "9223372036854775807";

/// The topic configs served, in Kafka's (alphabetical) order.
pub(crate) const TOPIC_CONFIGS: &[TopicConfigDef] = &[
    TopicConfigDef {
        name: "cleanup.policy",
        broker_name: "log.cleanup.policy",
        kind: ConfigType::List,
        kafka_default: "delete",
        valid: Valid::OneOf(&["compact", "delete"]),
        doc: "The retention policy to use on log segments: \"delete\" discards old segments, \"compact\" keeps the latest value per key. Stored and reported; the mock broker always deletes.",
    },
    TopicConfigDef {
        name: "compression.type",
        broker_name: "compression.type",
        kind: ConfigType::String,
        kafka_default: "producer",
        valid: Valid::OneOf(&["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"]),
        doc: "The final compression type for the topic; \"producer\" keeps the codec the producer set. Stored and reported; the mock broker keeps batches as produced.",
    },
    TopicConfigDef {
        name: "delete.retention.ms",
        broker_name: "log.cleaner.delete.retention.ms",
        kind: ConfigType::Long,
        kafka_default: "86400000",
        valid: Valid::AtLeast(0),
        doc: "The amount of time to retain delete tombstone markers for log compacted topics.",
    },
    TopicConfigDef {
        name: "file.delete.delay.ms",
        broker_name: "log.segment.delete.delay.ms",
        kind: ConfigType::Long,
        kafka_default: "60000",
        valid: Valid::AtLeast(0),
        doc: "The time to wait before deleting a file from the filesystem.",
    },
    TopicConfigDef {
        name: "flush.messages",
        broker_name: "log.flush.interval.messages",
        kind: ConfigType::Long,
        kafka_default: MAX_LONG,
        valid: Valid::AtLeast(1),
        doc: "The number of messages written to a log partition before an fsync is forced.",
    },
    TopicConfigDef {
        name: "flush.ms",
        broker_name: "log.flush.interval.ms",
        kind: ConfigType::Long,
        kafka_default: MAX_LONG,
        valid: Valid::AtLeast(0),
        doc: "The time interval after which an fsync of data written to the log is forced.",
    },
    TopicConfigDef {
        name: "index.interval.bytes",
        broker_name: "log.index.interval.bytes",
        kind: ConfigType::Int,
        kafka_default: "4096",
        valid: Valid::AtLeast(0),
        doc: "How frequently Kafka adds an index entry to its offset index.",
    },
    TopicConfigDef {
        name: "max.compaction.lag.ms",
        broker_name: "log.cleaner.max.compaction.lag.ms",
        kind: ConfigType::Long,
        kafka_default: MAX_LONG,
        valid: Valid::AtLeast(1),
        doc: "The maximum time a message will remain ineligible for compaction in the log.",
    },
    TopicConfigDef {
        name: "max.message.bytes",
        broker_name: "message.max.bytes",
        kind: ConfigType::Int,
        kafka_default: "1048588",
        valid: Valid::AtLeast(0),
        doc: "The largest record batch size allowed by Kafka (after compression if compression is enabled). Honoured: a larger batch is refused with MESSAGE_TOO_LARGE.",
    },
    TopicConfigDef {
        name: "message.timestamp.after.max.ms",
        broker_name: "log.message.timestamp.after.max.ms",
        kind: ConfigType::Long,
        kafka_default: MAX_LONG,
        valid: Valid::AtLeast(0),
        doc: "The maximum allowed difference between a record's timestamp and the broker's time when the record is in the future.",
    },
    TopicConfigDef {
        name: "message.timestamp.before.max.ms",
        broker_name: "log.message.timestamp.before.max.ms",
        kind: ConfigType::Long,
        kafka_default: MAX_LONG,
        valid: Valid::AtLeast(0),
        doc: "The maximum allowed difference between a record's timestamp and the broker's time when the record is in the past.",
    },
    TopicConfigDef {
        name: "message.timestamp.type",
        broker_name: "log.message.timestamp.type",
        kind: ConfigType::String,
        kafka_default: "CreateTime",
        valid: Valid::OneOf(&["CreateTime", "LogAppendTime"]),
        doc: "Whether the timestamp in the message is message create time or log append time.",
    },
    TopicConfigDef {
        name: "min.cleanable.dirty.ratio",
        broker_name: "log.cleaner.min.cleanable.ratio",
        kind: ConfigType::Double,
        kafka_default: "0.5",
        valid: Valid::Between(0.0, 1.0),
        doc: "How frequently the log compactor will attempt to clean the log.",
    },
    TopicConfigDef {
        name: "min.compaction.lag.ms",
        broker_name: "log.cleaner.min.compaction.lag.ms",
        kind: ConfigType::Long,
        kafka_default: "0",
        valid: Valid::AtLeast(0),
        doc: "The minimum time a message will remain uncompacted in the log.",
    },
    TopicConfigDef {
        name: "min.insync.replicas",
        broker_name: "min.insync.replicas",
        kind: ConfigType::Int,
        kafka_default: "1",
        valid: Valid::AtLeast(1),
        doc: "The minimum number of replicas that must acknowledge a write for it to be considered successful with acks=all.",
    },
    TopicConfigDef {
        name: "preallocate",
        broker_name: "log.preallocate",
        kind: ConfigType::Boolean,
        kafka_default: "false",
        valid: Valid::Any,
        doc: "True if we should preallocate the file on disk when creating a new log segment.",
    },
    TopicConfigDef {
        name: "retention.bytes",
        broker_name: "log.retention.bytes",
        kind: ConfigType::Long,
        kafka_default: "-1",
        valid: Valid::Any,
        doc: "The maximum size a partition can grow to before old log segments are discarded; -1 keeps everything. Honoured per partition: the oldest whole batches are dropped.",
    },
    TopicConfigDef {
        name: "retention.ms",
        broker_name: "log.retention.ms",
        kind: ConfigType::Long,
        kafka_default: "604800000",
        valid: Valid::AtLeast(-1),
        doc: "The maximum time a log is retained before old log segments are discarded; -1 keeps it forever. Honoured: batches received this long ago are dropped.",
    },
    TopicConfigDef {
        name: "segment.bytes",
        broker_name: "log.segment.bytes",
        kind: ConfigType::Int,
        kafka_default: "1073741824",
        valid: Valid::AtLeast(14),
        doc: "The segment file size for the log.",
    },
    TopicConfigDef {
        name: "segment.index.bytes",
        broker_name: "log.index.size.max.bytes",
        kind: ConfigType::Int,
        kafka_default: "10485760",
        valid: Valid::AtLeast(4),
        doc: "The size of the index that maps offsets to file positions.",
    },
    TopicConfigDef {
        name: "segment.jitter.ms",
        broker_name: "log.roll.jitter.ms",
        kind: ConfigType::Long,
        kafka_default: "0",
        valid: Valid::AtLeast(0),
        doc: "The maximum random jitter subtracted from the scheduled segment roll time.",
    },
    TopicConfigDef {
        name: "segment.ms",
        broker_name: "log.roll.ms",
        kind: ConfigType::Long,
        kafka_default: "604800000",
        valid: Valid::AtLeast(1),
        doc: "The period of time after which Kafka will force the log to roll.",
    },
    TopicConfigDef {
        name: "unclean.leader.election.enable",
        broker_name: "unclean.leader.election.enable",
        kind: ConfigType::Boolean,
        kafka_default: "false",
        valid: Valid::Any,
        doc: "Whether replicas not in the ISR may be elected as leader as a last resort.",
    },
];

/// The topic config called `name`, if Kafka has it (among those served).
pub(crate) fn topic_config(name: &str) -> Option<&'static TopicConfigDef> {
    TOPIC_CONFIGS.iter().find(|def| def.name == name)
}

impl TopicConfigDef {
    /// Checks `value` against the config's type and valid values.
    ///
    /// # Errors
    /// Kafka's sentence: `Invalid value V for configuration NAME: why`.
    pub(crate) fn validate(&self, value: &str) -> Result<(), String> {
        let invalid = |why: String| {
            Err(format!(
                "Invalid value {value} for configuration {}: {why}",
                self.name
            ))
        };
        let trimmed = value.trim();
        match self.kind {
            ConfigType::Boolean => {
                if !trimmed.eq_ignore_ascii_case("true") && !trimmed.eq_ignore_ascii_case("false") {
                    return invalid("Expected value to be either true or false".into());
                }
            }
            ConfigType::Int | ConfigType::Long => {
                let number = if self.kind == ConfigType::Int {
                    trimmed.parse::<i32>().map(i64::from).ok()
                } else {
                    trimmed.parse::<i64>().ok()
                };
                let Some(number) = number else {
                    return invalid(format!("Not a number of type {}", self.kind.name()));
                };
                if let Valid::AtLeast(min) = self.valid
                    && number < min
                {
                    return invalid(format!("Value must be at least {min}"));
                }
            }
            ConfigType::Double => {
                let Ok(number) = trimmed.parse::<f64>() else {
                    return invalid("Not a number of type DOUBLE".into());
                };
                if let Valid::Between(min, max) = self.valid
                    && !(min..=max).contains(&number)
                {
                    return invalid(format!("Value must be between {min} and {max}"));
                }
            }
            ConfigType::String => {
                if let Valid::OneOf(allowed) = self.valid
                    && !allowed.contains(&trimmed)
                {
                    return invalid(format!("String must be one of: {}", allowed.join(", ")));
                }
            }
            ConfigType::List => {
                if let Valid::OneOf(allowed) = self.valid {
                    let items = list_items(trimmed);
                    if let Some(bad) = items.iter().find(|item| !allowed.contains(item)) {
                        return invalid(format!("{bad:?} is not one of: {}", allowed.join(", ")));
                    }
                }
            }
        }
        Ok(())
    }

    /// The value a topic without an override has: its broker's.
    pub(crate) fn broker_value(&self, config: &BrokerConfig) -> String {
        match self.name {
            "retention.ms" => config.retention_ms.to_string(),
            "retention.bytes" => config.retention_bytes.to_string(),
            "max.message.bytes" => config.max_message_bytes.to_string(),
            _ => self.kafka_default.to_string(),
        }
    }
}

/// The items of a list config's value (comma-separated, blanks dropped).
pub(crate) fn list_items(value: &str) -> Vec<&str> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .collect()
}

/// One broker config DescribeConfigs reports.
#[derive(Debug, Clone)]
pub(crate) struct BrokerConfigValue {
    /// Kafka's name for it.
    pub(crate) name: &'static str,
    /// Its type.
    pub(crate) kind: ConfigType,
    /// The mock broker's value.
    pub(crate) value: String,
    /// Whether it is Kafka's default (else the broker was configured so).
    pub(crate) is_default: bool,
    /// Kafka's documentation of it, shortened.
    pub(crate) doc: &'static str,
}

/// The broker configs of broker `node_id`: the topic configs' broker
/// synonyms, and the broker's own settings Kafka has names for.
pub(crate) fn broker_configs(config: &BrokerConfig, node_id: i32) -> Vec<BrokerConfigValue> {
    let own = |name, kind, value: String, kafka_default: &str, doc| BrokerConfigValue {
        name,
        kind,
        is_default: value == kafka_default,
        value,
        doc,
    };
    let mut configs = vec![
        own(
            "auto.create.topics.enable",
            ConfigType::Boolean,
            config.auto_create_topics.to_string(),
            "true",
            "Enable auto creation of topics on the server.",
        ),
        own(
            "broker.id",
            ConfigType::Int,
            node_id.to_string(),
            "-1",
            "The broker id for this server.",
        ),
        own(
            "connections.max.idle.ms",
            ConfigType::Long,
            config.connections_max_idle_ms.to_string(),
            "600000",
            "Idle connections timeout: the server socket processor threads close the connections that idle more than this.",
        ),
        own(
            "default.replication.factor",
            ConfigType::Int,
            "1".into(),
            "1",
            "The replication factor for automatically created topics, and for topics created with -1 as the replication factor.",
        ),
        own(
            "num.partitions",
            ConfigType::Int,
            config.partitions.to_string(),
            "1",
            "The default number of log partitions per topic.",
        ),
    ];
    for def in TOPIC_CONFIGS {
        // `compression.type` and the like are both a topic and a broker name.
        let value = def.broker_value(config);
        configs.push(BrokerConfigValue {
            name: def.broker_name,
            kind: def.kind,
            is_default: value == def.kafka_default,
            value,
            doc: def.doc,
        });
    }
    configs.sort_by_key(|c| c.name);
    configs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked_against_type_and_range_with_kafkas_sentences() {
        let retention = topic_config("retention.ms").unwrap();
        assert_eq!(retention.validate("-1"), Ok(()));
        assert_eq!(
            retention.validate("abc").unwrap_err(),
            "Invalid value abc for configuration retention.ms: Not a number of type LONG"
        );
        assert_eq!(
            retention.validate("-5").unwrap_err(),
            "Invalid value -5 for configuration retention.ms: Value must be at least -1"
        );
        let policy = topic_config("cleanup.policy").unwrap();
        assert_eq!(policy.validate("compact,delete"), Ok(()));
        assert!(policy.validate("shred").is_err());
        assert!(
            topic_config("compression.type")
                .unwrap()
                .validate("brotli")
                .is_err()
        );
        assert!(
            topic_config("preallocate")
                .unwrap()
                .validate("yes")
                .is_err()
        );
        assert!(
            topic_config("max.message.bytes")
                .unwrap()
                .validate("99999999999")
                .is_err()
        );
        assert!(topic_config("no.such.config").is_none());
    }

    #[test]
    fn topics_default_to_the_brokers_values() {
        let config = BrokerConfig {
            retention_ms: 1000,
            ..BrokerConfig::default()
        };
        assert_eq!(
            topic_config("retention.ms").unwrap().broker_value(&config),
            "1000"
        );
        let brokers = broker_configs(&config, 1);
        let retention = brokers
            .iter()
            .find(|c| c.name == "log.retention.ms")
            .unwrap();
        assert!(!retention.is_default);
        let policy = brokers
            .iter()
            .find(|c| c.name == "log.cleanup.policy")
            .unwrap();
        assert!(policy.is_default && policy.value == "delete");
    }
}

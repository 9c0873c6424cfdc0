//! A topic's configuration overrides (Kafka's dynamic topic configs), and
//! the ones among them the store honours: `retention.ms`, `retention.bytes`
//! and `max.message.bytes`.
//!
//! The store keeps every override as text, as Kafka does; which names exist
//! and which values are valid is decided before they get here
//! (`config_catalog.rs`), so that the store knows only what changes its own
//! behaviour.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use super::limits::StoreLimits;

/// Kafka's name of the per-topic retention time.
pub const RETENTION_MS: &str = "retention.ms";
/// Kafka's name of the per-topic retention size (per partition).
pub const RETENTION_BYTES: &str = "retention.bytes";
/// Kafka's name of the largest record batch a topic accepts.
pub const MAX_MESSAGE_BYTES: &str = "max.message.bytes";

/// A topic's overrides, by name, and what the store makes of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TopicConfig {
    overrides: BTreeMap<String, String>,
    /// `retention.ms`: `Some(None)` keeps forever.
    retention_ms: Option<Option<i64>>,
    /// `retention.bytes`: `Some(None)` keeps everything.
    retention_bytes: Option<Option<u64>>,
    max_message_bytes: Option<u32>,
}

impl TopicConfig {
    /// The overrides `overrides` (config name → value).
    ///
    /// # Errors
    /// A sentence naming the config and the value when one the store
    /// honours is not a number it can use.
    pub fn new(overrides: BTreeMap<String, String>) -> Result<TopicConfig, String> {
        let number = |name: &str| -> Result<Option<i64>, String> {
            overrides
                .get(name)
                .map(|value| {
                    value.trim().parse::<i64>().map_err(|_| {
                        format!("Invalid value {value} for configuration {name}: not a number")
                    })
                })
                .transpose()
        };
        let retention_ms = number(RETENTION_MS)?.map(|ms| (ms >= 0).then_some(ms));
        let retention_bytes = number(RETENTION_BYTES)?.map(|bytes| u64::try_from(bytes).ok());
        let max_message_bytes = number(MAX_MESSAGE_BYTES)?
            .map(|bytes| {
                u32::try_from(bytes).map_err(|_| {
                    format!(
                        "Invalid value {bytes} for configuration {MAX_MESSAGE_BYTES}: expected 0 to {}",
                        u32::MAX
                    )
                })
            })
            .transpose()?;
        Ok(TopicConfig {
            overrides,
            retention_ms,
            retention_bytes,
            max_message_bytes,
        })
    }

    /// Every override, by name.
    pub fn overrides(&self) -> &BTreeMap<String, String> {
        &self.overrides
    }

    /// The largest record batch the topic accepts, if overridden.
    pub fn max_message_bytes(&self) -> Option<u32> {
        self.max_message_bytes
    }

    /// The store's `limits` with this topic's retention overrides applied.
    pub fn limits(&self, limits: &StoreLimits) -> StoreLimits {
        StoreLimits {
            retention_ms: self.retention_ms.unwrap_or(limits.retention_ms),
            retention_bytes: self.retention_bytes.unwrap_or(limits.retention_bytes),
            ..*limits
        }
    }
}

/// A topic's configuration as the topic and the store's retention share it:
/// replaced whole when altered, read without holding the lock.
#[derive(Debug, Default)]
pub(crate) struct SharedConfig(RwLock<Arc<TopicConfig>>);

impl SharedConfig {
    /// Shares `config`.
    pub(crate) fn new(config: TopicConfig) -> SharedConfig {
        SharedConfig(RwLock::new(Arc::new(config)))
    }

    /// The configuration in force.
    pub(crate) fn get(&self) -> Arc<TopicConfig> {
        self.0.read().expect("topic config lock").clone()
    }

    /// Replaces the configuration.
    pub(crate) fn set(&self, config: TopicConfig) {
        *self.0.write().expect("topic config lock") = Arc::new(config);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> Result<TopicConfig, String> {
        TopicConfig::new(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn overrides_replace_the_store_limits_and_negative_values_mean_unlimited() {
        let store = StoreLimits {
            retention_ms: Some(1000),
            retention_bytes: Some(5000),
            ..StoreLimits::default()
        };
        let limits = config(&[("retention.bytes", "100"), ("retention.ms", "-1")])
            .unwrap()
            .limits(&store);
        assert_eq!(limits.retention_bytes, Some(100));
        assert_eq!(limits.retention_ms, None);
        let limits = config(&[("retention.bytes", "-1")]).unwrap().limits(&store);
        assert_eq!(limits.retention_bytes, None);
        assert_eq!(limits.retention_ms, Some(1000));
        assert_eq!(TopicConfig::default().limits(&store), store);
    }

    #[test]
    fn a_value_the_store_cannot_use_is_named() {
        let err = config(&[("retention.ms", "soon")]).unwrap_err();
        assert!(
            err.contains("soon") && err.contains("retention.ms"),
            "{err}"
        );
        assert_eq!(
            config(&[("max.message.bytes", "100")])
                .unwrap()
                .max_message_bytes(),
            Some(100)
        );
    }
}

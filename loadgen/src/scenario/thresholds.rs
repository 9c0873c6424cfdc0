//! The scenario's `[thresholds]` table: the pass/fail limits of a run, as
//! read and checked from TOML.
//!
//! Only the limits; [`verdict`](crate::verdict) checks them against what a
//! run measured.

use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::fields;

/// The `[thresholds]` table: every key optional; a run passes when each set limit is met.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Thresholds {
    /// Highest allowed p99 of the corrected latency of the recorded phases, in ms.
    #[serde(default, deserialize_with = "fields::optional_positive_f64")]
    pub p99_ms: Option<f64>,
    /// Highest allowed p99.9 of the corrected latency of the recorded phases, in ms.
    #[serde(default, deserialize_with = "fields::optional_positive_f64")]
    pub p999_ms: Option<f64>,
    /// Highest allowed share of failed sends among those started in the recorded phases.
    #[serde(default, deserialize_with = "share")]
    pub max_error_rate: Option<f64>,
    /// Most acknowledged messages the broker may be missing (the audit's `lost`).
    #[serde(default)]
    pub max_lost: Option<u64>,
    /// Most extra copies of messages the broker may hold (the audit's `duplicates`).
    #[serde(default)]
    pub max_duplicates: Option<u64>,
    /// Lowest allowed throughput of the recorded phases, acknowledged msgs/s.
    #[serde(default, deserialize_with = "fields::optional_positive_f64")]
    pub min_throughput: Option<f64>,
}

/// A share from 0.0 to 1.0, such as an error rate.
fn share<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value = f64::deserialize(d)?;
    if (0.0..=1.0).contains(&value) {
        Ok(Some(value))
    } else {
        Err(de::Error::custom(format!(
            "{value} is not allowed; expected a share from 0.0 to 1.0"
        )))
    }
}

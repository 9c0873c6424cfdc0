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
    /// Lowest allowed throughput of the recorded phases, acknowledged msgs/s:
    /// a number, or a share of the target rate such as `"99%"`.
    #[serde(default, deserialize_with = "min_throughput")]
    pub min_throughput: Option<MinThroughput>,
}

/// `min_throughput`: msgs/s, or a share of the recorded phases' target rate,
/// which follows `--rate` (and a shard's part of it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MinThroughput {
    /// Acknowledged messages per second.
    PerSecond(f64),
    /// A share (0 < share <= 1) of the target rate, written as a percentage.
    ShareOfTarget(f64),
}

impl MinThroughput {
    /// The limit in msgs/s for recorded phases whose target rate is
    /// `target` msgs/s (`None` in closed loop, which has no target).
    ///
    /// # Errors
    /// A share of the target rate without a target, naming both settings.
    pub fn limit(self, target: Option<f64>) -> Result<f64, String> {
        match (self, target) {
            (MinThroughput::PerSecond(limit), _) => Ok(limit),
            (MinThroughput::ShareOfTarget(share), Some(target)) => Ok(share * target),
            (MinThroughput::ShareOfTarget(share), None) => Err(format!(
                "[thresholds] min_throughput \"{}%\" is a share of the target rate, and the recorded \
                 phases run closed loop (rate 0), which has none; give the phases a rate or min_throughput in msgs/s",
                crate::format::number(share * 100.0)
            )),
        }
    }
}

impl std::fmt::Display for MinThroughput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MinThroughput::PerSecond(limit) => f.write_str(&crate::format::number(*limit)),
            MinThroughput::ShareOfTarget(share) => {
                write!(f, "{}%", crate::format::number(share * 100.0))
            }
        }
    }
}

/// A positive number of msgs/s, or a string `"N%"` with 0 < N <= 100.
fn min_throughput<'de, D: Deserializer<'de>>(d: D) -> Result<Option<MinThroughput>, D::Error> {
    d.deserialize_any(MinThroughputVisitor).map(Some)
}

struct MinThroughputVisitor;

impl MinThroughputVisitor {
    fn per_second<E: de::Error>(value: f64) -> Result<MinThroughput, E> {
        if value.is_finite() && value > 0.0 {
            Ok(MinThroughput::PerSecond(value))
        } else {
            Err(E::custom(format!(
                "{value} is not allowed; expected a positive number of msgs/s or a share of the target rate such as \"99%\""
            )))
        }
    }
}

impl de::Visitor<'_> for MinThroughputVisitor {
    type Value = MinThroughput;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a positive number of msgs/s or a share of the target rate such as \"99%\"")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<MinThroughput, E> {
        Self::per_second(v as f64)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<MinThroughput, E> {
        Self::per_second(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<MinThroughput, E> {
        Self::per_second(v)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<MinThroughput, E> {
        let percent = text
            .trim()
            .strip_suffix('%')
            .and_then(|n| n.trim().parse::<f64>().ok())
            .filter(|p| p.is_finite() && *p > 0.0 && *p <= 100.0);
        match percent {
            Some(p) => Ok(MinThroughput::ShareOfTarget(p / 100.0)),
            None => Err(E::custom(format!(
                "{text:?} is not allowed; expected a positive number of msgs/s or a share of the \
                 target rate from \"0%\" (excluded) to \"100%\", such as \"99%\""
            ))),
        }
    }
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

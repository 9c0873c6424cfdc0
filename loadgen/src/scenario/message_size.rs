//! `workload.message_size`: one size for every value, or a distribution that
//! each value's size is drawn from. Sizes count the whole value, the 16-byte
//! message id included.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Unexpected, Visitor};

use super::fields;
use crate::format::number;
use crate::message_id::ID_LEN;

/// The smallest `message_size`: the message id.
pub const MIN_MESSAGE_SIZE: u32 = ID_LEN as u32;

/// How many bytes each message's value has.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MessageSize {
    /// Every value has this many bytes.
    Fixed(u32),
    /// Each value's size is drawn from `distribution`, within `min..=max` bytes.
    Distributed {
        /// The smallest size, at least [`MIN_MESSAGE_SIZE`].
        min: u32,
        /// The largest size, at least `min`.
        max: u32,
        /// The shape of the draws.
        distribution: SizeDistribution,
    },
}

/// The shape of a [`MessageSize::Distributed`], its parameters resolved.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SizeDistribution {
    /// Every size from `min` to `max` equally likely.
    Uniform,
    /// A normal distribution, rounded and clamped to `min..=max`.
    Normal {
        /// Bytes; within `min..=max`.
        mean: f64,
        /// Bytes; at least 0.
        stddev: f64,
    },
    /// `min` plus an exponential distribution of mean `mean - min`, rounded and clamped to `max`.
    Exponential {
        /// Bytes, before clamping; within `min..=max`.
        mean: f64,
    },
}

impl Default for MessageSize {
    fn default() -> Self {
        MessageSize::Fixed(100)
    }
}

/// `100-byte values`, or `values of 50 to 5000 bytes, normal (mean 2525, stddev 825)`
/// (means and deviations to 3 decimals).
impl fmt::Display for MessageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MessageSize::Fixed(size) => write!(f, "{size}-byte values"),
            MessageSize::Distributed {
                min,
                max,
                distribution,
            } => write!(f, "values of {min} to {max} bytes, {distribution}"),
        }
    }
}

impl fmt::Display for SizeDistribution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeDistribution::Uniform => f.write_str("uniform"),
            SizeDistribution::Normal { mean, stddev } => {
                write!(
                    f,
                    "normal (mean {}, stddev {})",
                    number(*mean),
                    number(*stddev)
                )
            }
            SizeDistribution::Exponential { mean } => {
                write!(f, "exponential (mean {})", number(*mean))
            }
        }
    }
}

/// An integer of at least [`MIN_MESSAGE_SIZE`], or an inline table
/// `{ min, max, distribution, mean, stddev }`.
impl<'de> Deserialize<'de> for MessageSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct SizeVisitor;

        impl<'de> Visitor<'de> for SizeVisitor {
            type Value = MessageSize;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a size in bytes, or { min = A, max = B, distribution = \"uniform\" | \"normal\" | \"exponential\" }",
                )
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<MessageSize, E> {
                let size = u32::try_from(v)
                    .map_err(|_| E::invalid_value(Unexpected::Unsigned(v), &self))?;
                at_least_the_id(size).map(MessageSize::Fixed)
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<MessageSize, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<MessageSize, A::Error> {
                let table = SizeTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                table.resolve().map_err(de::Error::custom)
            }
        }

        d.deserialize_any(SizeVisitor)
    }
}

fn at_least_the_id<E: de::Error>(size: u32) -> Result<u32, E> {
    if size < MIN_MESSAGE_SIZE {
        return Err(E::custom(format!(
            "{size} bytes is too small; expected at least {MIN_MESSAGE_SIZE} (the message id takes 16 bytes)"
        )));
    }
    Ok(size)
}

fn min_size<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    at_least_the_id(u32::deserialize(d)?)
}

fn optional_finite<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    let value = f64::deserialize(d)?;
    if value.is_finite() {
        Ok(Some(value))
    } else {
        Err(de::Error::custom(format!(
            "{value} is not allowed; expected a number of bytes"
        )))
    }
}

/// The table as written, before its keys are checked against each other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SizeTable {
    #[serde(deserialize_with = "min_size")]
    min: u32,
    max: u32,
    #[serde(default)]
    distribution: Kind,
    #[serde(default, deserialize_with = "optional_finite")]
    mean: Option<f64>,
    #[serde(default, deserialize_with = "fields::optional_positive_f64")]
    stddev: Option<f64>,
}

#[derive(Deserialize, Default, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Kind {
    #[default]
    Uniform,
    Normal,
    Exponential,
}

impl SizeTable {
    /// The size the table describes, with the defaults of `mean` and `stddev` filled in.
    fn resolve(self) -> Result<MessageSize, String> {
        let (min, max) = (self.min, self.max);
        if max < min {
            return Err(format!("max {max} is below min {min}; expected min <= max"));
        }
        let (low, high) = (f64::from(min), f64::from(max));
        if let Some(mean) = self.mean.filter(|mean| !(low..=high).contains(mean)) {
            return Err(format!(
                "mean {mean} is outside min {min} to max {max}; expected min <= mean <= max"
            ));
        }
        let distribution = match self.distribution {
            Kind::Uniform => {
                if self.mean.is_some() {
                    return Err(
                        "mean applies to distribution = \"normal\" or \"exponential\"; \
                         a uniform distribution's mean is (min + max) / 2"
                            .into(),
                    );
                }
                SizeDistribution::Uniform
            }
            Kind::Normal => SizeDistribution::Normal {
                mean: self.mean.unwrap_or((low + high) / 2.0),
                stddev: self.stddev.unwrap_or((high - low) / 6.0),
            },
            Kind::Exponential => SizeDistribution::Exponential {
                mean: self.mean.unwrap_or(low + (high - low) / 4.0),
            },
        };
        if self.stddev.is_some() && !matches!(distribution, SizeDistribution::Normal { .. }) {
            return Err("stddev applies to distribution = \"normal\" only".into());
        }
        Ok(MessageSize::Distributed {
            min,
            max,
            distribution,
        })
    }
}

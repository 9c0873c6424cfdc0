//! The checks of scenario values that several tables share (counts,
//! topic names, durations, positive numbers), run as they are read from TOML.
//!
//! Checks run inside deserialization so that a rejected value's error carries
//! the value's position, from which the caller names the line and the key.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

pub(super) fn at_least_one<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    match u32::deserialize(d)? {
        0 => Err(de::Error::custom(
            "0 is not allowed; expected an integer of at least 1",
        )),
        n => Ok(n),
    }
}

pub(super) fn topic_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    producer::topic_name::validate_topic_name(&name).map_err(de::Error::custom)?;
    Ok(name)
}

/// Parses a string value with `FromStr`, reporting its error as is.
pub(super) fn from_str<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    String::deserialize(d)?.parse().map_err(de::Error::custom)
}

/// Reads a duration string with [`parse_duration`].
struct DurationVisitor;

impl Visitor<'_> for DurationVisitor {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration string such as \"3s\" or \"500ms\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse_duration(v).map_err(E::custom)
    }
}

pub(super) fn optional_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    d.deserialize_str(DurationVisitor).map(Some)
}

pub(super) fn positive_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match u64::deserialize(d)? {
        0 => Err(de::Error::custom(
            "0 is not allowed; expected an integer of at least 1",
        )),
        n => Ok(n),
    }
}

pub(super) fn optional_positive_u64<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<u64>, D::Error> {
    positive_u64(d).map(Some)
}

/// A finite number above 0, such as a zipf exponent or a standard deviation.
pub(super) fn optional_positive_f64<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<f64>, D::Error> {
    let value = f64::deserialize(d)?;
    if value.is_finite() && value > 0.0 {
        Ok(Some(value))
    } else {
        Err(de::Error::custom(format!(
            "{value} is not allowed; expected a positive number"
        )))
    }
}

/// Parses a positive duration written for humans: `"3s"`, `"500ms"`, `"1m 30s"`.
///
/// # Errors
/// A sentence naming the text and what is allowed.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    match humantime::parse_duration(text) {
        Ok(d) if d.is_zero() => Err(format!("{text:?} is zero; expected a positive duration")),
        Ok(d) => Ok(d),
        Err(e) => Err(format!(
            "{text:?} is not a duration ({e}); expected a string such as \"3s\" or \"500ms\""
        )),
    }
}

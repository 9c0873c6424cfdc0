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

use super::window::Window;

/// The most partitions loadgen creates its topic with: the embedded broker's
/// `max_partitions_per_topic` default.
pub const MAX_PARTITIONS: u32 = 10_000;
/// The most producer instances a run starts (each has its connection and tasks).
pub const MAX_PRODUCERS: u32 = 1_000;
/// The most sends one producer instance keeps outstanding.
pub const MAX_IN_FLIGHT: u32 = 1_000_000;
/// The most headers per message.
pub const MAX_HEADERS: u32 = 1_000;
/// The longest duration loadgen accepts (a phase, a fault's `at`, `--duration`).
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 24 * 3600);
/// The most messages a phase may send: the audit keeps a bit per message (125 MB per billion).
pub const MAX_PHASE_MESSAGES: u64 = 100_000_000_000;

/// A count in `min..=max`; the error names the value and the range.
fn count_in<'de, D: Deserializer<'de>>(
    d: D,
    min: u32,
    max: u32,
    why: &str,
) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if n < min {
        return Err(de::Error::custom(format!(
            "{n} is not allowed; expected an integer of at least {min}"
        )));
    }
    if n > max {
        return Err(de::Error::custom(format!(
            "{n} is too many; expected at most {max} ({why})"
        )));
    }
    Ok(n)
}

pub(super) fn partitions<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    count_in(
        d,
        1,
        MAX_PARTITIONS,
        "the embedded broker's max_partitions_per_topic",
    )
}

pub(super) fn producers<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    count_in(
        d,
        1,
        MAX_PRODUCERS,
        "each producer instance has its own connections and tasks",
    )
}

pub(super) fn in_flight<'de, D: Deserializer<'de>>(d: D) -> Result<Window, D::Error> {
    count_in(
        d,
        1,
        MAX_IN_FLIGHT,
        "outstanding sends per producer instance",
    )
    .map(Window::Messages)
}

pub(super) fn headers<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    count_in(d, 0, MAX_HEADERS, "headers per message")
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

/// A duration string, read with [`parse_duration`].
pub(super) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_str(DurationVisitor)
}

pub(super) fn optional_duration<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Duration>, D::Error> {
    d.deserialize_str(DurationVisitor).map(Some)
}

/// A phase's `messages`: at least 1, at most [`MAX_PHASE_MESSAGES`].
pub(super) fn optional_phase_messages<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<u64>, D::Error> {
    match positive_u64(d)? {
        n if n > MAX_PHASE_MESSAGES => Err(de::Error::custom(format!(
            "{n} is too many; expected at most {MAX_PHASE_MESSAGES} (the audit keeps a bit per message)"
        ))),
        n => Ok(Some(n)),
    }
}

pub(super) fn positive_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match u64::deserialize(d)? {
        0 => Err(de::Error::custom(
            "0 is not allowed; expected an integer of at least 1",
        )),
        n => Ok(n),
    }
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
        Ok(d) if d > MAX_DURATION => Err(format!(
            "{text:?} is longer than 30 days, the longest duration loadgen runs"
        )),
        Ok(d) => Ok(d),
        Err(e) => Err(format!(
            "{text:?} is not a duration ({e}); expected a string such as \"3s\" or \"500ms\""
        )),
    }
}

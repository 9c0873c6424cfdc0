//! How each scenario value is read from TOML and checked.
//!
//! Checks run inside deserialization so that a rejected value's error carries
//! the value's position, from which the caller names the line and the key.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Unexpected, Visitor};

use super::{BrokerSpec, Keys, Phase, PhaseLength, Protocol, Rate, parse_duration};

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

/// `[target] admin`: a `host:port`, as an external broker is written.
pub(super) fn admin_address<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    match text.parse::<BrokerSpec>() {
        Ok(BrokerSpec::External(address)) => Ok(Some(address)),
        _ => Err(de::Error::custom(format!(
            "{text:?} is not an admin API address; expected host:port"
        ))),
    }
}

/// `[target] brokers`: 1 to 64, as the mock broker allows.
pub(super) fn embedded_brokers<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if (1..=64).contains(&n) {
        Ok(n)
    } else {
        Err(de::Error::custom(format!(
            "{n} brokers; expected 1 to 64 (the embedded mock broker's cluster size)"
        )))
    }
}

/// Parses a string value with `FromStr`, reporting its error as is.
fn from_str<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr<Err = String>,
{
    String::deserialize(d)?.parse().map_err(de::Error::custom)
}

impl<'de> Deserialize<'de> for BrokerSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str(d)
    }
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        from_str(d)
    }
}

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

fn optional_duration<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    d.deserialize_str(DurationVisitor).map(Some)
}

fn positive_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match u64::deserialize(d)? {
        0 => Err(de::Error::custom(
            "0 is not allowed; expected an integer of at least 1",
        )),
        n => Ok(n),
    }
}

fn optional_positive_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    positive_u64(d).map(Some)
}

/// `"none"`, or an inline table `{ kind = "sequential" | "uniform" | "zipf", count = N }`
/// with, for zipf only, `exponent = s`.
impl<'de> Deserialize<'de> for Keys {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct KeysVisitor;

        impl<'de> Visitor<'de> for KeysVisitor {
            type Value = Keys;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "\"none\" or { kind = \"sequential\" | \"uniform\" | \"zipf\", count = N } with N at least 1",
                )
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Keys, E> {
                match v {
                    "none" => Ok(Keys::None),
                    other => Err(E::invalid_value(Unexpected::Str(other), &self)),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Keys, A::Error> {
                let table = KeysTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                let count = table.count;
                match (table.kind, table.exponent) {
                    (KeyKind::Sequential, None) => Ok(Keys::Sequential { count }),
                    (KeyKind::Uniform, None) => Ok(Keys::Uniform { count }),
                    (KeyKind::Zipf, exponent) => Ok(Keys::Zipf {
                        count,
                        exponent: exponent.unwrap_or(DEFAULT_ZIPF_EXPONENT),
                    }),
                    (KeyKind::Sequential | KeyKind::Uniform, Some(_)) => Err(de::Error::custom(
                        "exponent applies to kind = \"zipf\" only",
                    )),
                }
            }
        }

        d.deserialize_any(KeysVisitor)
    }
}

/// The zipf exponent when `workload.keys` sets none: classic Zipf, key `n` twice as frequent as key `2n + 1`.
const DEFAULT_ZIPF_EXPONENT: f64 = 1.0;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeysTable {
    kind: KeyKind,
    #[serde(deserialize_with = "positive_u64")]
    count: u64,
    #[serde(default, deserialize_with = "optional_positive_f64")]
    exponent: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum KeyKind {
    Sequential,
    Uniform,
    Zipf,
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

/// A `[[phases]]` table as written, before `duration` and `messages` are reconciled.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PhaseToml {
    name: String,
    #[serde(default, deserialize_with = "optional_duration")]
    duration: Option<Duration>,
    #[serde(default, deserialize_with = "optional_positive_u64")]
    messages: Option<u64>,
    #[serde(default)]
    rate: Rate,
    #[serde(default = "yes")]
    record: bool,
}

fn yes() -> bool {
    true
}

impl TryFrom<PhaseToml> for Phase {
    type Error = String;

    fn try_from(raw: PhaseToml) -> Result<Phase, String> {
        if raw.name.trim().is_empty() {
            return Err("a phase's name is empty; expected a short name such as \"steady\"".into());
        }
        let length = match (raw.duration, raw.messages) {
            (Some(d), None) => PhaseLength::Duration(d),
            (None, Some(n)) => PhaseLength::Messages(n),
            (Some(_), Some(_)) => {
                return Err(format!(
                    "phase {:?} sets both duration and messages; set exactly one",
                    raw.name
                ));
            }
            (None, None) => {
                return Err(format!(
                    "phase {:?} sets neither duration nor messages; set exactly one",
                    raw.name
                ));
            }
        };
        Ok(Phase {
            name: raw.name,
            length,
            rate: raw.rate,
            record: raw.record,
        })
    }
}

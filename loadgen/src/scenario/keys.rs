//! `workload.keys`: which keys messages carry.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Unexpected, Visitor};

use super::fields;

/// The keys messages carry (`workload.keys`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Keys {
    /// No key: the broker spreads messages round-robin.
    #[default]
    None,
    /// Key `n mod count` for a producer instance's `n`-th message.
    Sequential {
        /// How many distinct keys.
        count: u64,
    },
    /// A key drawn uniformly from `count` keys, by a generator seeded per producer instance.
    Uniform {
        /// How many distinct keys.
        count: u64,
    },
    /// Key `n` drawn from `count` keys with probability proportional to
    /// `1 / (n + 1)^exponent`, so `key-0` is the most frequent; seeded per producer instance.
    Zipf {
        /// How many distinct keys.
        count: u64,
        /// How steeply the frequency falls with the key's rank; above 0.
        exponent: f64,
    },
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
    #[serde(deserialize_with = "fields::positive_u64")]
    count: u64,
    #[serde(default, deserialize_with = "fields::optional_positive_f64")]
    exponent: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum KeyKind {
    Sequential,
    Uniform,
    Zipf,
}

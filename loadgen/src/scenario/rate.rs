//! A phase's `rate`: one number of messages per second, or a linear ramp
//! `{ from = A, to = B }` over the phase.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Unexpected, Visitor};

/// How fast a phase sends, all producer instances together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    /// This many messages per second throughout; 0 = closed loop (as fast as
    /// the `in_flight` window allows).
    Constant(u64),
    /// Open loop at a rate that changes linearly over the phase, from `from`
    /// messages per second at its start to `to` at its end; at least one is above 0.
    Ramp {
        /// Messages per second at the start of the phase.
        from: u64,
        /// Messages per second at the end of the phase.
        to: u64,
    },
}

impl Rate {
    /// Closed loop: rate 0.
    pub const CLOSED_LOOP: Rate = Rate::Constant(0);

    /// Whether messages are sent on a schedule (any rate but 0).
    pub fn is_open_loop(self) -> bool {
        self != Rate::CLOSED_LOOP
    }
}

impl Default for Rate {
    fn default() -> Self {
        Rate::CLOSED_LOOP
    }
}

/// `5000`, or a ramp as `10000→100000`.
impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Rate::Constant(rate) => write!(f, "{rate}"),
            Rate::Ramp { from, to } => write!(f, "{from}→{to}"),
        }
    }
}

/// A non-negative integer, or an inline table `{ from = A, to = B }`.
impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct RateVisitor;

        impl<'de> Visitor<'de> for RateVisitor {
            type Value = Rate;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "messages per second as an integer of at least 0, or { from = A, to = B }",
                )
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Rate, E> {
                Ok(Rate::Constant(v))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Rate, E> {
                match u64::try_from(v) {
                    Ok(v) => Ok(Rate::Constant(v)),
                    Err(_) => Err(E::invalid_value(Unexpected::Signed(v), &self)),
                }
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Rate, A::Error> {
                let ramp = RampTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                if ramp.from == 0 && ramp.to == 0 {
                    return Err(de::Error::custom(
                        "a ramp from 0 to 0 sends nothing; expected from or to above 0 \
                         (for closed loop, write rate = 0)",
                    ));
                }
                Ok(Rate::Ramp {
                    from: ramp.from,
                    to: ramp.to,
                })
            }
        }

        d.deserialize_any(RateVisitor)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RampTable {
    from: u64,
    to: u64,
}

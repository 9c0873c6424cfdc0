//! One `[[phases]]` entry: how long it lasts, how fast it sends, and whether
//! it counts in the totals.

use std::fmt;
use std::time::Duration;

use serde::Deserialize;

use super::fields;
use super::rate::Rate;

/// One `[[phases]]` entry: a stretch of load at one rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Phase {
    /// Name shown in logs and the summary; unique within the scenario.
    pub name: String,
    /// When the phase ends.
    pub length: PhaseLength,
    /// Messages per second across all producer instances, or a ramp; 0 = as
    /// fast as the `in_flight` window allows (closed loop).
    pub rate: Rate,
    /// Whether the phase counts in the totals; `false` for a warmup.
    pub record: bool,
}

/// How long a phase lasts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhaseLength {
    /// For this long (open loop: the messages scheduled within it).
    Duration(Duration),
    /// This many messages in all producer instances together.
    Messages(u64),
}

impl fmt::Display for PhaseLength {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PhaseLength::Duration(d) => write!(f, "{}", humantime::format_duration(*d)),
            PhaseLength::Messages(n) => write!(f, "{n} messages"),
        }
    }
}

/// A `[[phases]]` table as written, before `duration` and `messages` are reconciled.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct PhaseToml {
    name: String,
    #[serde(default, deserialize_with = "fields::optional_duration")]
    duration: Option<Duration>,
    #[serde(default, deserialize_with = "fields::optional_phase_messages")]
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

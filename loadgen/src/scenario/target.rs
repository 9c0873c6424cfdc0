//! The `[target]` table: which broker a scenario loads, over which protocol,
//! where its admin API is, and how long its sends may all fail.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, Deserializer};

use super::fields;

/// The `[target]` table: where the load goes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Target {
    /// The broker: started in-process, or one already running.
    pub broker: BrokerSpec,
    /// The protocol spoken to it.
    pub protocol: Protocol,
    /// `host:port` of the admin API of an external mock broker, for faults and
    /// the audit; the embedded broker is read in-process and does not use it.
    #[serde(deserialize_with = "admin_address")]
    pub admin: Option<String>,
    /// Brokers the embedded mock broker runs (cluster mode, partition leaders
    /// spread over them); 1 by default. Not used with an external broker.
    #[serde(deserialize_with = "embedded_brokers")]
    pub brokers: u32,
    /// How long sends may all fail (or all wait without an acknowledgement)
    /// before the run gives up with exit status 2, naming the broker and the
    /// last error: a broker that went away, or an address that is no broker,
    /// does not keep a run going for its whole length.
    #[serde(deserialize_with = "fields::duration")]
    pub max_failing: Duration,
}

/// `[target] max_failing` when the scenario does not set it.
pub const DEFAULT_MAX_FAILING: Duration = Duration::from_secs(5);

impl Default for Target {
    fn default() -> Self {
        Target {
            broker: BrokerSpec::default(),
            protocol: Protocol::default(),
            admin: None,
            brokers: 1,
            max_failing: DEFAULT_MAX_FAILING,
        }
    }
}

/// Which broker a scenario runs against.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum BrokerSpec {
    /// A [`mock_broker::MockBroker`] started in-process on `127.0.0.1:0`.
    #[default]
    Embedded,
    /// A broker already running at this `host:port`.
    External(String),
}

/// The wire protocol the producers speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// The Kafka protocol: the embedded broker, a mock broker, or any Kafka cluster.
    #[default]
    Kafka,
    /// The project's frame protocol (`docs/frame-protocol.md`): the mock broker only.
    Frame,
}

impl Protocol {
    /// The producer library's setting for this protocol.
    pub fn producer_protocol(self) -> producer::Protocol {
        match self {
            Protocol::Kafka => producer::Protocol::Kafka,
            Protocol::Frame => producer::Protocol::Frame,
        }
    }
}

impl FromStr for BrokerSpec {
    type Err = String;

    /// `embedded`, or `host:port` with a non-empty host and a port from 1 to 65535.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text == "embedded" {
            return Ok(BrokerSpec::Embedded);
        }
        let valid = text.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p > 0)
        });
        if valid {
            Ok(BrokerSpec::External(text.to_string()))
        } else {
            Err(format!(
                "{text:?} is not a broker; expected \"embedded\" or host:port"
            ))
        }
    }
}

impl fmt::Display for BrokerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerSpec::Embedded => f.write_str("embedded"),
            BrokerSpec::External(address) => f.write_str(address),
        }
    }
}

impl FromStr for Protocol {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text {
            "frame" => Ok(Protocol::Frame),
            "kafka" => Ok(Protocol::Kafka),
            other => Err(format!(
                "{other:?} is not a protocol; expected \"kafka\" or \"frame\""
            )),
        }
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Protocol::Frame => f.write_str("frame"),
            Protocol::Kafka => f.write_str("kafka"),
        }
    }
}

impl<'de> Deserialize<'de> for BrokerSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fields::from_str(d)
    }
}

impl<'de> Deserialize<'de> for Protocol {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fields::from_str(d)
    }
}

/// `[target] admin`: a `host:port`, as an external broker is written.
fn admin_address<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let text = String::deserialize(d)?;
    match text.parse::<BrokerSpec>() {
        Ok(BrokerSpec::External(address)) => Ok(Some(address)),
        _ => Err(de::Error::custom(format!(
            "{text:?} is not an admin API address; expected host:port"
        ))),
    }
}

/// `[target] brokers`: 1 to 64, as the mock broker allows.
fn embedded_brokers<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u32::deserialize(d)?;
    if (1..=64).contains(&n) {
        Ok(n)
    } else {
        Err(de::Error::custom(format!(
            "{n} brokers; expected 1 to 64 (the embedded mock broker's cluster size)"
        )))
    }
}

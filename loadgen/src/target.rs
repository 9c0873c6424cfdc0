//! The broker a run loads: a mock broker started in-process, or one already running.

use std::fmt;
use std::time::Duration;

use mock_broker::{BrokerConfig, MockBroker};
use producer::Producer;

use crate::scenario::{BrokerSpec, Workload};

/// How long the audit waits for the embedded broker to record messages whose
/// sends completed without an acknowledgement (`acks = 0`).
const AUDIT_SETTLE: Duration = Duration::from_secs(10);

/// A broker ready to take connections.
#[derive(Debug)]
pub enum Broker {
    /// Started by [`Broker::start`], stopped by [`Broker::shutdown`].
    Embedded(MockBroker),
    /// Somebody else's broker at this `host:port`.
    External(String),
}

/// Why a run could not reach its broker.
///
/// Each message includes its cause; none is repeated as an error source.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// The embedded broker could not start.
    #[error("cannot start the embedded broker: {0}")]
    Start(mock_broker::StartError),
    /// A producer instance could not connect.
    #[error("target broker unreachable: {error}")]
    Unreachable {
        /// The address tried.
        address: String,
        /// The producer's error, which names the address and the cause.
        error: producer::Error,
    },
}

/// What the broker says it recorded, compared with what the producers were told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Audit {
    /// The embedded broker's count of the topic's records.
    Recorded {
        /// The topic counted.
        topic: String,
        /// Records the broker holds for it.
        recorded: u64,
    },
    /// The broker is external: its recordings cannot be read yet.
    Unavailable,
}

impl Broker {
    /// Starts the embedded broker on `127.0.0.1:0` with the workload's topic
    /// created with its partitions, or just names the external one.
    ///
    /// # Errors
    /// [`TargetError::Start`] when the embedded broker cannot start.
    pub async fn start(spec: &BrokerSpec, workload: &Workload) -> Result<Broker, TargetError> {
        match spec {
            BrokerSpec::Embedded => {
                let mut config = BrokerConfig::ephemeral();
                config.partitions = workload.partitions;
                let broker = MockBroker::start(config)
                    .await
                    .map_err(TargetError::Start)?;
                broker
                    .store()
                    .create_topic(&workload.topic, workload.partitions);
                Ok(Broker::Embedded(broker))
            }
            BrokerSpec::External(address) => {
                if workload.partitions > 1 {
                    tracing::warn!(
                        broker = %address,
                        partitions = workload.partitions,
                        "[workload] partitions is not applied to an external broker"
                    );
                }
                Ok(Broker::External(address.clone()))
            }
        }
    }

    /// The `host:port` producers connect to.
    pub fn address(&self) -> String {
        match self {
            Broker::Embedded(broker) => broker.local_addr().to_string(),
            Broker::External(address) => address.clone(),
        }
    }

    /// Connects one producer instance configured by `config`, with this broker's address.
    ///
    /// # Errors
    /// [`TargetError::Unreachable`] naming the address.
    pub async fn connect(&self, mut config: producer::Config) -> Result<Producer, TargetError> {
        let address = self.address();
        config.broker_address = address.clone();
        Producer::new(config)
            .await
            .map_err(|error| TargetError::Unreachable { address, error })
    }

    /// Counts what the embedded broker recorded for `topic`; call it after the
    /// producers are closed. `acked` is what the producers were told, so that
    /// records of unacknowledged sends (`acks = 0`) still in the broker's
    /// socket buffer get a moment to land.
    pub async fn audit(&self, topic: &str, acked: u64) -> Audit {
        let Broker::Embedded(broker) = self else {
            return Audit::Unavailable;
        };
        let count = || {
            broker
                .store()
                .topics()
                .into_iter()
                .filter(|t| t.name == topic)
                .flat_map(|t| t.partitions)
                .map(|p| u64::try_from(p.high_watermark).unwrap_or(0))
                .sum::<u64>()
        };
        let give_up = tokio::time::Instant::now() + AUDIT_SETTLE;
        let mut recorded = count();
        while recorded < acked && tokio::time::Instant::now() < give_up {
            tokio::time::sleep(Duration::from_millis(10)).await;
            recorded = count();
        }
        Audit::Recorded {
            topic: topic.to_string(),
            recorded,
        }
    }

    /// Stops the embedded broker, letting it answer what it has received.
    pub async fn shutdown(self) {
        if let Broker::Embedded(broker) = self {
            broker.shutdown().await;
        }
    }
}

impl fmt::Display for Broker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Broker::Embedded(broker) => write!(f, "embedded broker at {}", broker.local_addr()),
            Broker::External(address) => write!(f, "external broker at {address}"),
        }
    }
}

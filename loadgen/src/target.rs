//! The broker a run loads: a mock broker started in-process, or one already running.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use mock_broker::{BrokerConfig, MockBroker};
use producer::Producer;

use crate::admin::{AdminApi, AdminError};
use crate::audit::{self, Acknowledged, Audit, SeenRecord, Tally};
use crate::live_audit::{LiveAudit, TRIM_ABOVE};
use crate::scenario::{BrokerSpec, Target, Workload};

/// How long the audit waits for the embedded broker to record messages whose
/// sends completed without an acknowledgement (`acks = 0`).
const AUDIT_SETTLE: Duration = Duration::from_secs(10);

/// A broker ready to take connections.
#[derive(Debug)]
pub enum Broker {
    /// Started by [`Broker::start`], stopped by [`Broker::shutdown`].
    Embedded(MockBroker),
    /// Somebody else's broker at this `host:port`, with the admin API its
    /// records are read through, if the scenario names one.
    External(String, Option<AdminApi>),
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
    /// A producer instance could not connect, or the first exchange showed the
    /// address is no broker (another protocol, garbage, no answer).
    #[error("cannot produce to the target: {error}")]
    Unreachable {
        /// The address tried.
        address: String,
        /// The producer's error, which names the address and the cause.
        error: producer::Error,
    },
}

impl Broker {
    /// Starts the embedded broker on `127.0.0.1:0` with the workload's topic
    /// created with its partitions, or just names the external one.
    ///
    /// # Errors
    /// [`TargetError::Start`] when the embedded broker cannot start.
    pub async fn start(target: &Target, workload: &Workload) -> Result<Broker, TargetError> {
        match &target.broker {
            BrokerSpec::Embedded => {
                let mut config = BrokerConfig::ephemeral();
                config.partitions = workload.partitions;
                config.brokers = target.brokers;
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
                let admin = target.admin.as_deref().map(AdminApi::new);
                if admin.is_none() {
                    tracing::warn!(
                        broker = %address,
                        "no admin API for the external broker (--admin HOST:PORT or [target] admin): \
                         the delivery audit and [[faults]] need one; max_lost and max_duplicates do not \
                         apply (--strict-audit fails them)"
                    );
                }
                Ok(Broker::External(address.clone(), admin))
            }
        }
    }

    /// The `host:port` producers connect to.
    pub fn address(&self) -> String {
        match self {
            Broker::Embedded(broker) => broker.local_addr().to_string(),
            Broker::External(address, _) => address.clone(),
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

    /// Where each partition of `topic` ends now (its high watermark), so that
    /// the audit reads only what a run adds after it; empty when the topic
    /// does not exist yet or its records cannot be read.
    pub async fn end_offsets(&self, topic: &str) -> BTreeMap<u32, u64> {
        match self {
            Broker::Embedded(broker) => broker
                .store()
                .topic(topic)
                .map(|log| {
                    (0..log.partition_count())
                        .map(|p| (p, log.high_watermark(p).unwrap_or(0).max(0) as u64))
                        .collect()
                })
                .unwrap_or_default(),
            Broker::External(_, Some(admin)) => {
                admin.end_offsets(topic).await.unwrap_or_else(|e| {
                    tracing::warn!(error = %e, "cannot read where the topic ends; the audit will read it whole");
                    BTreeMap::new()
                })
            }
            Broker::External(_, None) => BTreeMap::new(),
        }
    }

    /// For the embedded broker, starts counting and trimming `topic` while the
    /// run goes once the broker holds more than [`TRIM_ABOVE`] bytes (see
    /// `live_audit.rs`), from `from` (what [`Broker::end_offsets`] said), for
    /// a run of `producers` instances; `None` for an external broker, which is
    /// read once at the end.
    pub fn live_audit(
        &self,
        topic: &str,
        from: &BTreeMap<u32, u64>,
        producers: usize,
    ) -> Option<LiveAudit> {
        match self {
            Broker::Embedded(broker) => Some(LiveAudit::start(
                broker.store().clone(),
                topic.to_string(),
                from.clone(),
                producers,
                TRIM_ABOVE,
            )),
            Broker::External(..) => None,
        }
    }

    /// Audits what the broker recorded for `topic` after the offsets in
    /// `from` (what [`Broker::end_offsets`] said before the run) against what
    /// the producers were told; call it after the producers are closed.
    /// Records of sends that completed without an acknowledgement (`acks =
    /// 0`) may still be on their way, so it first waits, up to
    /// [`AUDIT_SETTLE`], until the broker holds at least as many new records
    /// as were acknowledged. With `live`, the records it already counted
    /// (and deleted) are part of the audit, and the rest is read from where it
    /// stopped.
    pub async fn audit(
        &self,
        topic: &str,
        acknowledged: &Acknowledged,
        from: &BTreeMap<u32, u64>,
        live: Option<LiveAudit>,
    ) -> Audit {
        let before: u64 = from.values().sum();
        match self {
            Broker::Embedded(broker) => {
                let store = broker.store();
                let count = || {
                    store
                        .topic(topic)
                        .map(|log| {
                            (0..log.partition_count())
                                .map(|p| log.high_watermark(p).unwrap_or(0).max(0) as u64)
                                .sum::<u64>()
                        })
                        .unwrap_or(0)
                };
                let give_up = tokio::time::Instant::now() + AUDIT_SETTLE;
                while count().saturating_sub(before) < acknowledged.count()
                    && tokio::time::Instant::now() < give_up
                {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                let Some(log) = store.topic(topic) else {
                    return Audit::Unavailable(format!(
                        "the embedded broker has no topic {topic:?}"
                    ));
                };
                let (mut tally, next) = match live {
                    Some(live) => {
                        let progress = live.stop();
                        if progress.trimmed > 0 {
                            tracing::info!(
                                records = progress.trimmed,
                                "the audit counted and deleted records during the run"
                            );
                        }
                        (progress.tally, progress.next)
                    }
                    None => (Tally::new(acknowledged.sent.len()), from.clone()),
                };
                for partition in 0..log.partition_count() {
                    let start = next.get(&partition).copied().unwrap_or(0);
                    match log.read(
                        partition,
                        i64::try_from(start).unwrap_or(i64::MAX),
                        usize::MAX,
                    ) {
                        Ok(read) => {
                            for record in &read {
                                tally.observe(SeenRecord {
                                    partition: record.partition,
                                    value: record.value.as_deref(),
                                });
                            }
                        }
                        Err(e) => return Audit::Unavailable(format!("the embedded broker: {e}")),
                    }
                }
                Audit::Checked {
                    topic: topic.to_string(),
                    source: "the embedded broker".to_string(),
                    counts: tally.finish(acknowledged),
                }
            }
            Broker::External(_, None) => Audit::NotConfigured(
                "no admin API to read its records from (--admin HOST:PORT or [target] admin)"
                    .to_string(),
            ),
            Broker::External(_, Some(admin)) => {
                match Self::audit_through(admin, topic, acknowledged, from, before).await {
                    Ok(audit) => audit,
                    Err(e) => Audit::Unavailable(e.to_string()),
                }
            }
        }
    }

    async fn audit_through(
        admin: &AdminApi,
        topic: &str,
        acknowledged: &Acknowledged,
        from: &BTreeMap<u32, u64>,
        before: u64,
    ) -> Result<Audit, AdminError> {
        let give_up = tokio::time::Instant::now() + AUDIT_SETTLE;
        while admin.record_count(topic).await?.saturating_sub(before) < acknowledged.count()
            && tokio::time::Instant::now() < give_up
        {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let records = admin.read_from(topic, from).await?;
        let seen = records.iter().map(|r| SeenRecord {
            partition: r.partition,
            value: r.value.as_deref(),
        });
        Ok(Audit::Checked {
            topic: topic.to_string(),
            source: format!("the admin API at {}", admin.address()),
            counts: audit::audit(acknowledged, seen),
        })
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
            Broker::External(address, _) => write!(f, "external broker at {address}"),
        }
    }
}

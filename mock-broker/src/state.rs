//! What every connection shares: the layer below everything that serves.
//!
//! The connections (`connection.rs`), both protocols' sessions (`kafka/`,
//! `frame/`) and the admin API (`admin/`) all reach the broker's state through
//! [`BrokerState`]; nothing here knows about them. The recordings
//! (`store/`), the idempotent producers (`idempotence.rs`), the fault rules
//! (`fault/`), the cluster, the counters and the consumer groups
//! (`group_service.rs` around the pure `group/`) and the transactions
//! (`txn_service.rs` around the pure `txn/`) and the SASL users (`sasl/`) sit
//! here, side by side.

use std::sync::{Arc, Mutex};

use crate::cluster::Cluster;
use crate::config::BrokerConfig;
use crate::fault::Faults;
use crate::group::GroupConfig;
use crate::group_service::GroupService;
use crate::idempotence::Producers;
use crate::large_request::MappingPool;
use crate::record_file::RecordFile;
use crate::record_line::EventLine;
use crate::refusals::Refusals;
use crate::sasl::Credentials;
use crate::stats::Stats;
use crate::store::RecordStore;
use crate::txn::TxnConfig;
use crate::txn_service::{TxnEffects, TxnService};

/// What every connection shares.
#[derive(Debug)]
pub(crate) struct BrokerState {
    /// The configuration the broker started with.
    pub(crate) config: BrokerConfig,
    /// Every recorded message.
    pub(crate) store: RecordStore,
    /// The counters `/stats` serves.
    pub(crate) stats: Arc<Stats>,
    /// Refusals because a limit was reached: counted in `stats`, logged now and then.
    pub(crate) refusals: Refusals,
    /// The brokers and partition leadership.
    pub(crate) cluster: Arc<Cluster>,
    /// Idempotent producers' ids, epochs and sequences.
    pub(crate) producers: Mutex<Producers>,
    /// The fault rules in force.
    pub(crate) faults: Faults,
    /// The consumer groups and their committed offsets.
    pub(crate) groups: Arc<GroupService>,
    /// The transaction coordinator.
    pub(crate) txns: TxnService,
    /// The users of the SASL listeners.
    pub(crate) credentials: Credentials,
    /// The CA certificate (PEM) that `tls_self_signed` made, which the admin API serves.
    pub(crate) tls_ca_pem: Option<String>,
    /// The `--record-file`, also the store's sink: connections wait on it for
    /// durability (`--fsync always`) before answering. Set by `MockBroker::start`
    /// after the replay, before anything is served.
    pub(crate) record_file: Option<Arc<RecordFile>>,
    /// Memory of large requests the log let go of, for the next ones (`large_request.rs`).
    pub(crate) mappings: Arc<MappingPool>,
}

impl BrokerState {
    /// The state of a broker configured by `config`, serving `cluster` and recording into
    /// `store`: empty counters, groups, transactions and producers, and `config`'s fault rules
    /// in force. The one place a `BrokerState` is put together.
    ///
    /// # Errors
    /// A fault rule of `config` that does not hold (naming it); `validate` checks them first.
    pub(crate) fn new(
        config: BrokerConfig,
        cluster: Cluster,
        store: RecordStore,
    ) -> Result<BrokerState, String> {
        let cluster = Arc::new(cluster);
        let stats = Arc::new(Stats::default());
        let groups = Arc::new(GroupService::with_config(GroupConfig {
            initial_rebalance_delay_ms: i64::try_from(config.group_initial_rebalance_delay_ms)
                .unwrap_or(i64::MAX),
            consumer_heartbeat_interval_ms: i32::try_from(
                config.group_consumer_heartbeat_interval_ms,
            )
            .unwrap_or(i32::MAX),
            consumer_session_timeout_ms: i32::try_from(config.group_consumer_session_timeout_ms)
                .unwrap_or(i32::MAX),
            ..GroupConfig::default()
        }));
        let faults = Faults::new(cluster.clone(), stats.clone()).with_groups(groups.clone());
        for spec in &config.faults {
            faults.add(spec.clone()).map_err(|e| e.to_string())?;
        }
        let credentials = Credentials::load(&config.sasl_users, config.sasl_users_file.as_deref())
            .map_err(|e| e.to_string())?;
        Ok(BrokerState {
            refusals: Refusals::new(stats.clone()),
            groups,
            config,
            store,
            stats,
            cluster,
            producers: Default::default(),
            faults,
            txns: TxnService::new(TxnConfig::default()),
            credentials,
            tls_ca_pem: None,
            record_file: None,
            mappings: Arc::default(),
        })
    }

    /// Notes `event` in the record file, if there is one, for a replay.
    pub(crate) fn note(&self, event: &EventLine) {
        if let Some(file) = &self.record_file {
            file.note(event);
        }
    }

    /// Waits until what this connection wrote to the record file is durable, as
    /// `--fsync` asks (only `always` waits); at once without a record file.
    ///
    /// # Errors
    /// The fsync failure that makes it impossible: responses must not be sent.
    pub(crate) async fn durable(&self) -> Result<(), Arc<str>> {
        match &self.record_file {
            Some(file) => file.durable().await,
            None => Ok(()),
        }
    }

    /// The parts ending a transaction writes to (markers, offsets, producer epochs).
    pub(crate) fn txn_effects(&self) -> TxnEffects<'_> {
        TxnEffects {
            store: &self.store,
            groups: &self.groups,
            producers: &self.producers,
            cluster: &self.cluster,
            record_file: self.record_file.as_deref(),
        }
    }
}

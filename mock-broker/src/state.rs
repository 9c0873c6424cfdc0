//! What every connection shares: the layer below everything that serves.
//!
//! The connections (`connection.rs`), both protocols' sessions (`kafka/`,
//! `frame/`) and the admin API (`admin/`) all reach the broker's state through
//! [`BrokerState`]; nothing here knows about them. The recordings
//! (`store/`), the idempotent producers (`idempotence.rs`), the fault rules
//! (`fault/`), the cluster and the counters sit here, side by side; the group
//! coordinator and the transaction coordinator, when they come, will live
//! beside the store here too.

use std::sync::{Arc, Mutex};

use crate::cluster::Cluster;
use crate::config::BrokerConfig;
use crate::fault::Faults;
use crate::idempotence::Producers;
use crate::stats::Stats;
use crate::store::RecordStore;

/// What every connection shares.
///
/// A group coordinator and a transaction coordinator will be fields here,
/// beside the store and the producers, each in its own module of this layer.
#[derive(Debug)]
pub(crate) struct BrokerState {
    /// The configuration the broker started with.
    pub(crate) config: BrokerConfig,
    /// Every recorded message.
    pub(crate) store: RecordStore,
    /// The counters `/stats` serves.
    pub(crate) stats: Arc<Stats>,
    /// The brokers and partition leadership.
    pub(crate) cluster: Arc<Cluster>,
    /// Idempotent producers' ids, epochs and sequences.
    pub(crate) producers: Mutex<Producers>,
    /// The fault rules in force.
    pub(crate) faults: Faults,
}

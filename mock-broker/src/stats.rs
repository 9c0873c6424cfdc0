//! Counters of what the broker has seen, served by the admin API's `/stats`.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::store::Protocol;

/// Connection, request, record and error counters, shared by every connection.
#[derive(Debug, Default)]
pub struct Stats {
    connections_open: AtomicU64,
    connections_total: AtomicU64,
    counters: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    /// protocol → API name → version → count.
    requests: BTreeMap<&'static str, BTreeMap<String, BTreeMap<i16, u64>>>,
    /// protocol → error name → count.
    errors: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// topic → records and bytes recorded.
    topics: BTreeMap<String, TopicCounters>,
    /// fault kind → times fired.
    faults: BTreeMap<&'static str, u64>,
    /// limit (configuration key) → refusals.
    refused: BTreeMap<&'static str, u64>,
}

/// What has been recorded for one topic.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TopicCounters {
    /// Records recorded.
    pub records: u64,
    /// Bytes of keys, values and headers recorded.
    pub bytes: u64,
}

/// A point-in-time copy of the counters, as `/stats` serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatsSnapshot {
    /// Connections open now, and accepted since start.
    pub connections: ConnectionCounts,
    /// Requests by protocol (`kafka`, `frame`), API name and version.
    pub requests: BTreeMap<&'static str, BTreeMap<String, BTreeMap<i16, u64>>>,
    /// Error responses by protocol and error name (e.g. `CORRUPT_MESSAGE`).
    pub errors: BTreeMap<&'static str, BTreeMap<String, u64>>,
    /// Records and bytes recorded, by topic.
    pub topics: BTreeMap<String, TopicCounters>,
    /// Faults fired, by kind (`latency`, `error`, …).
    pub faults: BTreeMap<&'static str, u64>,
    /// Connections and requests refused because a limit was reached, by the
    /// limit's configuration key (e.g. `max_connections_per_ip`).
    pub refused: BTreeMap<&'static str, u64>,
}

/// Connection counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ConnectionCounts {
    /// Open now.
    pub open: u64,
    /// Accepted since the broker started.
    pub total: u64,
}

/// Counts a connection as open until dropped.
#[derive(Debug)]
pub struct ConnectionGuard<'a>(&'a Stats);

impl Drop for ConnectionGuard<'_> {
    fn drop(&mut self) {
        self.0.connections_open.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Stats {
    fn counters(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.counters.lock().expect("stats lock")
    }

    /// Counts a new connection; it counts as open until the guard is dropped.
    pub fn connection_opened(&self) -> ConnectionGuard<'_> {
        self.connections_total.fetch_add(1, Ordering::Relaxed);
        self.connections_open.fetch_add(1, Ordering::Relaxed);
        ConnectionGuard(self)
    }

    /// Counts one request of `api` at `version`.
    pub fn request(&self, protocol: Protocol, api: &str, version: i16) {
        let mut counters = self.counters();
        let by_api = counters.requests.entry(protocol.name()).or_default();
        // Look up before allocating: this runs for every request.
        match by_api.get_mut(api) {
            Some(versions) => *versions.entry(version).or_default() += 1,
            None => {
                by_api.insert(api.to_string(), BTreeMap::from([(version, 1)]));
            }
        }
    }

    /// Counts one error response (or refused request) named `error`.
    pub fn error(&self, protocol: Protocol, error: &str) {
        let mut counters = self.counters();
        let by_name = counters.errors.entry(protocol.name()).or_default();
        match by_name.get_mut(error) {
            Some(count) => *count += 1,
            None => {
                by_name.insert(error.to_string(), 1);
            }
        }
    }

    /// Counts one firing of a fault of `kind`.
    pub fn fault_fired(&self, kind: &'static str) {
        *self.counters().faults.entry(kind).or_default() += 1;
    }

    /// Counts one refusal by the limit configured as `limit`.
    pub fn refused(&self, limit: &'static str) {
        *self.counters().refused.entry(limit).or_default() += 1;
    }

    /// Counts `records` records of `bytes` bytes recorded in `topic`.
    pub fn recorded(&self, topic: &str, records: u64, bytes: u64) {
        let mut counters = self.counters();
        let entry = match counters.topics.get_mut(topic) {
            Some(entry) => entry,
            None => counters.topics.entry(topic.to_string()).or_default(),
        };
        entry.records += records;
        entry.bytes += bytes;
    }

    /// A copy of every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let counters = self.counters();
        StatsSnapshot {
            connections: ConnectionCounts {
                open: self.connections_open.load(Ordering::Relaxed),
                total: self.connections_total.load(Ordering::Relaxed),
            },
            requests: counters.requests.clone(),
            errors: counters.errors.clone(),
            topics: counters.topics.clone(),
            faults: counters.faults.clone(),
            refused: counters.refused.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_connections_requests_errors_and_records() {
        let stats = Stats::default();
        let first = stats.connection_opened();
        {
            let _second = stats.connection_opened();
        }
        stats.request(Protocol::Kafka, "Produce", 9);
        stats.request(Protocol::Kafka, "Produce", 9);
        stats.request(Protocol::Frame, "Produce", 1);
        stats.error(Protocol::Kafka, "CORRUPT_MESSAGE");
        stats.recorded("t", 3, 300);
        stats.recorded("t", 1, 50);
        stats.fault_fired("latency");
        stats.fault_fired("latency");
        stats.refused("max_connections");
        let snap = stats.snapshot();
        assert_eq!(snap.connections, ConnectionCounts { open: 1, total: 2 });
        assert_eq!(snap.requests["kafka"]["Produce"][&9], 2);
        assert_eq!(snap.requests["frame"]["Produce"][&1], 1);
        assert_eq!(snap.errors["kafka"]["CORRUPT_MESSAGE"], 1);
        assert_eq!(
            snap.topics["t"],
            TopicCounters {
                records: 4,
                bytes: 350
            }
        );
        assert_eq!(snap.faults["latency"], 2);
        assert_eq!(snap.refused["max_connections"], 1);
        drop(first);
        assert_eq!(stats.snapshot().connections.open, 0);
    }
}

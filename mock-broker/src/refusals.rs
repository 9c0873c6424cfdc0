//! Refusals because a limit was reached: each counted in `/stats` (by the
//! limit's configuration key) and logged, at most once per limit and client
//! IP address every [`LOG_INTERVAL`], so that a hostile client cannot flood
//! the log (the line says how many refusals it stands for). Connections
//! closed for breaking the protocol are logged the same way.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::stats::Stats;

/// How often one limit's refusals of one client IP are logged at most.
pub(crate) const LOG_INTERVAL: Duration = Duration::from_secs(10);

/// The most (limit, IP) pairs remembered; past it, refusals of new pairs are
/// logged without being remembered (more lines, never unbounded memory).
const MAX_REMEMBERED: usize = 4096;

/// Counts and logs refusals; shared by every connection.
#[derive(Debug)]
pub(crate) struct Refusals {
    stats: Arc<Stats>,
    throttle: Mutex<Throttle>,
}

impl Refusals {
    /// Refusals counted in `stats`.
    pub(crate) fn new(stats: Arc<Stats>) -> Refusals {
        Refusals {
            stats,
            throttle: Mutex::new(Throttle::new(LOG_INTERVAL, MAX_REMEMBERED)),
        }
    }

    /// Counts a refusal of `peer` by `limit` (its configuration key) and logs
    /// `reason` unless this limit refused this IP address less than
    /// [`LOG_INTERVAL`] ago.
    pub(crate) fn refused(&self, limit: &'static str, peer: SocketAddr, reason: &str) {
        self.stats.refused(limit);
        let logged = self
            .throttle
            .lock()
            .expect("refusals lock")
            .allow((limit, peer.ip()), Instant::now());
        if let Some(unlogged) = logged {
            tracing::warn!(%peer, limit, unlogged_since_last_line = unlogged, "refused: {reason}");
        }
    }

    /// Logs that the connection of `peer` is being closed for `reason` (a
    /// request the broker will not take), unless a connection of the same
    /// client IP address was, for the same `kind` of reason, less than
    /// [`LOG_INTERVAL`] ago: a client that reconnects to break the protocol
    /// again and again fills no log.
    pub(crate) fn closing(
        &self,
        peer: SocketAddr,
        kind: &'static str,
        reason: &dyn std::fmt::Display,
    ) {
        let logged = self
            .throttle
            .lock()
            .expect("refusals lock")
            .allow((kind, peer.ip()), Instant::now());
        if let Some(unlogged) = logged {
            tracing::warn!(%peer, %reason, unlogged_since_last_line = unlogged, "closing the connection");
        }
    }
}

/// Which refusals are logged: the first of each key, then one per interval.
#[derive(Debug)]
struct Throttle {
    interval: Duration,
    capacity: usize,
    /// Per key: when it was last logged, and refusals since then not logged.
    last: HashMap<(&'static str, IpAddr), (Instant, u64)>,
}

impl Throttle {
    fn new(interval: Duration, capacity: usize) -> Throttle {
        Throttle {
            interval,
            capacity,
            last: HashMap::new(),
        }
    }

    /// `Some(refusals not logged since the last line)` when this one is to be logged.
    fn allow(&mut self, key: (&'static str, IpAddr), now: Instant) -> Option<u64> {
        if let Some((at, unlogged)) = self.last.get_mut(&key) {
            if now.duration_since(*at) < self.interval {
                *unlogged += 1;
                return None;
            }
            let before = *unlogged;
            *at = now;
            *unlogged = 0;
            return Some(before);
        }
        if self.last.len() >= self.capacity {
            let interval = self.interval;
            self.last
                .retain(|_, (at, _)| now.duration_since(*at) < interval);
        }
        if self.last.len() < self.capacity {
            self.last.insert(key, (now, 0));
        }
        Some(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn each_limit_and_address_is_logged_once_per_interval_with_what_was_left_out() {
        let mut throttle = Throttle::new(Duration::from_secs(10), 16);
        let t0 = Instant::now();
        assert_eq!(throttle.allow(("x", A), t0), Some(0));
        assert_eq!(throttle.allow(("x", A), t0 + Duration::from_secs(1)), None);
        assert_eq!(throttle.allow(("x", A), t0 + Duration::from_secs(2)), None);
        assert_eq!(throttle.allow(("x", B), t0), Some(0), "another address");
        assert_eq!(throttle.allow(("y", A), t0), Some(0), "another limit");
        assert_eq!(
            throttle.allow(("x", A), t0 + Duration::from_secs(10)),
            Some(2)
        );
        assert_eq!(throttle.allow(("x", A), t0 + Duration::from_secs(11)), None);
    }

    #[test]
    fn past_its_capacity_it_forgets_old_keys_and_logs_rather_than_grow() {
        let mut throttle = Throttle::new(Duration::from_secs(10), 2);
        let t0 = Instant::now();
        assert_eq!(throttle.allow(("a", A), t0), Some(0));
        assert_eq!(throttle.allow(("b", A), t0), Some(0));
        // Full of recent keys: a new one is logged every time, not remembered.
        assert_eq!(throttle.allow(("c", A), t0), Some(0));
        assert_eq!(throttle.allow(("c", A), t0), Some(0));
        assert_eq!(throttle.last.len(), 2);
        // Once the old ones are past the interval they make room.
        let later = t0 + Duration::from_secs(10);
        assert_eq!(throttle.allow(("c", A), later), Some(0));
        assert_eq!(throttle.allow(("c", A), later), None);
        assert_eq!(throttle.last.len(), 1);
    }
}

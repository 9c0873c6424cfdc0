//! How many connections are served at once, in all and from one client IP
//! address (`max_connections`, `max_connections_per_ip`): a newcomer past
//! either is refused at once (as Kafka refuses one past
//! `max.connections.per.ip`), not left waiting unanswered.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// The connections being served, counted in all and by client address.
#[derive(Debug)]
pub(crate) struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    /// Only addresses with a connection open: at most `max_total` entries.
    by_ip: HashMap<IpAddr, usize>,
}

/// Why a connection was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Refused {
    /// `max_connections` connections are open.
    #[error("{0} connections are open, the limit max_connections")]
    Total(usize),
    /// `max_connections_per_ip` connections from this address are open.
    #[error("{count} connections from {ip} are open, the limit max_connections_per_ip")]
    PerIp { ip: IpAddr, count: usize },
}

impl Refused {
    /// The configuration key of the limit.
    pub(crate) fn limit(&self) -> &'static str {
        match self {
            Refused::Total(_) => "max_connections",
            Refused::PerIp { .. } => "max_connections_per_ip",
        }
    }
}

/// A connection's place within the limits, given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl ConnectionLimits {
    /// At most `max_total` connections, and `max_per_ip` from one address.
    pub(crate) fn new(max_total: usize, max_per_ip: usize) -> Arc<ConnectionLimits> {
        Arc::new(ConnectionLimits {
            max_total,
            max_per_ip,
            open: Mutex::default(),
        })
    }

    /// A slot for a connection from `ip`, or why there is none.
    ///
    /// # Errors
    /// [`Refused`] naming the limit reached.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refused> {
        let mut open = self.open.lock().expect("connection limits lock");
        if open.total >= self.max_total {
            return Err(Refused::Total(open.total));
        }
        let from_ip = open.by_ip.get(&ip).copied().unwrap_or(0);
        if from_ip >= self.max_per_ip {
            return Err(Refused::PerIp { ip, count: from_ip });
        }
        open.total += 1;
        open.by_ip.insert(ip, from_ip + 1);
        Ok(Slot {
            limits: self.clone(),
            ip,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.limits.open.lock().expect("connection limits lock");
        open.total -= 1;
        if let Some(count) = open.by_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.by_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 0, 0, 2));

    #[test]
    fn one_address_is_refused_past_its_limit_while_others_are_admitted() {
        let limits = ConnectionLimits::new(10, 2);
        let a1 = limits.admit(A).unwrap();
        let _a2 = limits.admit(A).unwrap();
        assert_eq!(
            limits.admit(A).unwrap_err(),
            Refused::PerIp { ip: A, count: 2 }
        );
        let _b = limits.admit(B).unwrap();
        drop(a1);
        let _a3 = limits.admit(A).unwrap();
    }

    #[test]
    fn every_address_is_refused_past_the_total_and_a_closed_connection_makes_room() {
        let limits = ConnectionLimits::new(2, 2);
        let a = limits.admit(A).unwrap();
        let _b = limits.admit(B).unwrap();
        let refused = limits.admit(B).unwrap_err();
        assert_eq!(refused, Refused::Total(2));
        assert_eq!(refused.limit(), "max_connections");
        drop(a);
        let _b2 = limits.admit(B).unwrap();
        assert!(
            !limits.open.lock().unwrap().by_ip.contains_key(&A),
            "forgotten at 0"
        );
    }
}

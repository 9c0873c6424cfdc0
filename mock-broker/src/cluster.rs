//! The brokers this process runs, how clients reach them, and who leads which partition.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::listener::SecurityProtocol;

/// One broker of the cluster as Metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerNode {
    /// The broker's node id (1, 2, … in listen-port order).
    pub node_id: i32,
    /// The address it accepts connections on.
    pub listen: SocketAddr,
    /// The host clients are told to connect to.
    pub host: String,
    /// The port clients are told to connect to.
    pub port: u16,
    /// Every listener of the broker, the PLAINTEXT one of `listen` first (index 0).
    pub endpoints: Vec<Endpoint>,
}

/// One listener of a broker: its security protocol, and where clients reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// How clients connect to it.
    pub protocol: SecurityProtocol,
    /// The address it accepts connections on.
    pub listen: SocketAddr,
    /// The host clients are told to connect to.
    pub host: String,
    /// The port clients are told to connect to.
    pub port: u16,
}

impl BrokerNode {
    /// `host:port` as advertised.
    pub fn advertised(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The host and port Metadata gives a client that came in on listener `endpoint`
    /// (an index into [`BrokerNode::endpoints`]): clients stay on their listener.
    pub fn address_for(&self, endpoint: usize) -> (&str, u16) {
        match self.endpoints.get(endpoint) {
            Some(e) => (&e.host, e.port),
            None => (&self.host, self.port),
        }
    }
}

/// The brokers and partition leadership: partition *p* of every topic is led
/// by broker `p mod N`, unless a `leader_move` fault moved it.
#[derive(Debug)]
pub struct Cluster {
    cluster_id: String,
    nodes: Vec<BrokerNode>,
    /// The host of `advertise`, if it named one: every listener advertises it.
    advertised_host: Option<String>,
    /// Partitions whose leader was moved: (topic, partition) → leader and epoch.
    moved: RwLock<HashMap<(String, u32), Leadership>>,
    /// Whether `moved` has any entry, so that lookups skip the lock until then.
    any_moved: AtomicBool,
}

/// Who leads a partition, and how many times its leadership changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Leadership {
    /// The leader's node id.
    pub leader: i32,
    /// The leader epoch: 0, plus one per move.
    pub epoch: i32,
}

impl Cluster {
    /// A cluster of the brokers listening on `listens`, advertised per `advertise`
    /// (`HOST`, or `HOST:PORT` for the first broker with the others on the following ports).
    ///
    /// # Errors
    /// A sentence naming the `advertise` value when it cannot be parsed.
    pub fn new(
        cluster_id: String,
        listens: &[SocketAddr],
        advertise: Option<&str>,
    ) -> Result<Cluster, String> {
        let (host, first_port) = match advertise {
            None => (None, None),
            Some(text) => match text.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && !host.ends_with(':') => {
                    let port: u16 = port.parse().map_err(|_| {
                        format!("advertise {text:?}: {port:?} is not a port number")
                    })?;
                    (Some(host.to_string()), Some(port))
                }
                _ => (Some(text.to_string()), None),
            },
        };
        let nodes = listens
            .iter()
            .enumerate()
            .map(|(i, listen)| {
                let host = advertised_host(host.as_deref(), *listen);
                let port = match first_port {
                    Some(port) => port.saturating_add(i as u16),
                    None => listen.port(),
                };
                BrokerNode {
                    node_id: i as i32 + 1,
                    listen: *listen,
                    endpoints: vec![Endpoint {
                        protocol: SecurityProtocol::Plaintext,
                        listen: *listen,
                        host: host.clone(),
                        port,
                    }],
                    host,
                    port,
                }
            })
            .collect();
        Ok(Cluster {
            cluster_id,
            nodes,
            advertised_host: host,
            moved: RwLock::default(),
            any_moved: AtomicBool::new(false),
        })
    }

    /// Adds a listener to every broker: `listens[i]` is broker *i*'s address for it. It
    /// advertises the `advertise` host, if one was given, and its own port; returns the
    /// listener's endpoint index.
    ///
    /// # Panics
    /// When `listens` does not have one address per broker.
    pub fn add_listener(&mut self, protocol: SecurityProtocol, listens: &[SocketAddr]) -> usize {
        assert_eq!(listens.len(), self.nodes.len(), "one address per broker");
        for (node, listen) in self.nodes.iter_mut().zip(listens) {
            node.endpoints.push(Endpoint {
                protocol,
                listen: *listen,
                host: advertised_host(self.advertised_host.as_deref(), *listen),
                port: listen.port(),
            });
        }
        self.nodes[0].endpoints.len() - 1
    }

    /// The id Metadata reports for the cluster.
    pub fn cluster_id(&self) -> &str {
        &self.cluster_id
    }

    /// Every broker, in node-id order.
    pub fn nodes(&self) -> &[BrokerNode] {
        &self.nodes
    }

    /// The broker Metadata names as controller.
    pub fn controller_id(&self) -> i32 {
        self.nodes[0].node_id
    }

    /// The node id of the broker that leads `partition` of `topic`.
    pub fn leader(&self, topic: &str, partition: u32) -> i32 {
        self.leadership(topic, partition).leader
    }

    /// The leader of `partition` of `topic` and its epoch.
    pub fn leadership(&self, topic: &str, partition: u32) -> Leadership {
        if self.any_moved.load(Ordering::Acquire) {
            let moved = self.moved.read().expect("leadership lock");
            if let Some(leadership) = moved.get(&(topic.to_string(), partition)) {
                return *leadership;
            }
        }
        Leadership {
            leader: self.nodes[partition as usize % self.nodes.len()].node_id,
            epoch: 0,
        }
    }

    /// Makes broker `to` lead `partition` of `topic`, bumping the leader epoch;
    /// returns the previous leader.
    pub fn move_leader(&self, topic: &str, partition: u32, to: i32) -> i32 {
        let before = self.leadership(topic, partition);
        let mut moved = self.moved.write().expect("leadership lock");
        moved.insert(
            (topic.to_string(), partition),
            Leadership {
                leader: to,
                epoch: before.epoch + 1,
            },
        );
        self.any_moved.store(true, Ordering::Release);
        before.leader
    }
}

/// The host advertised for a listener on `listen`: `advertise`'s host if given, else
/// the listen address (127.0.0.1 for 0.0.0.0, which no client can connect to).
fn advertised_host(advertise: Option<&str>, listen: SocketAddr) -> String {
    match advertise {
        Some(host) => host.to_string(),
        None if listen.ip().is_unspecified() => "127.0.0.1".to_string(),
        None => listen.ip().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listens(ports: &[u16]) -> Vec<SocketAddr> {
        ports
            .iter()
            .map(|p| SocketAddr::from(([127, 0, 0, 1], *p)))
            .collect()
    }

    #[test]
    fn nodes_advertise_their_listen_address_by_default() {
        let cluster = Cluster::new("c".into(), &listens(&[9092, 9093]), None).unwrap();
        assert_eq!(cluster.nodes()[1].advertised(), "127.0.0.1:9093");
        assert_eq!(cluster.nodes()[1].node_id, 2);
    }

    #[test]
    fn advertise_overrides_host_and_optionally_ports() {
        let cluster =
            Cluster::new("c".into(), &listens(&[9092, 9093]), Some("kafka.local")).unwrap();
        assert_eq!(cluster.nodes()[1].advertised(), "kafka.local:9093");
        let cluster = Cluster::new("c".into(), &listens(&[9092, 9093]), Some("h:19092")).unwrap();
        assert_eq!(cluster.nodes()[1].advertised(), "h:19093");
        let err = Cluster::new("c".into(), &listens(&[1]), Some("h:x")).unwrap_err();
        assert!(err.contains("\"x\" is not a port"), "{err}");
    }

    #[test]
    fn each_listener_advertises_its_own_port_and_the_advertised_host() {
        let mut cluster =
            Cluster::new("c".into(), &listens(&[9092, 9093]), Some("h:19092")).unwrap();
        let sasl = cluster.add_listener(SecurityProtocol::SaslSsl, &listens(&[9094, 9095]));
        assert_eq!(sasl, 1);
        let second = &cluster.nodes()[1];
        assert_eq!(second.address_for(0), ("h", 19093));
        assert_eq!(second.address_for(sasl), ("h", 9095));
        assert_eq!(second.endpoints[sasl].protocol, SecurityProtocol::SaslSsl);
    }

    #[test]
    fn leadership_is_spread_over_the_brokers() {
        let cluster = Cluster::new("c".into(), &listens(&[1, 2, 3]), None).unwrap();
        let leaders: Vec<_> = (0..6).map(|p| cluster.leader("t", p)).collect();
        assert_eq!(leaders, vec![1, 2, 3, 1, 2, 3]);
    }

    #[test]
    fn a_moved_partition_has_a_new_leader_and_a_higher_epoch() {
        let cluster = Cluster::new("c".into(), &listens(&[1, 2, 3]), None).unwrap();
        assert_eq!(cluster.move_leader("t", 0, 3), 1);
        assert_eq!(
            cluster.leadership("t", 0),
            Leadership {
                leader: 3,
                epoch: 1
            }
        );
        assert_eq!(
            cluster.leadership("u", 0),
            Leadership {
                leader: 1,
                epoch: 0
            }
        );
        assert_eq!(cluster.move_leader("t", 0, 1), 3);
        assert_eq!(
            cluster.leadership("t", 0),
            Leadership {
                leader: 1,
                epoch: 2
            }
        );
    }
}

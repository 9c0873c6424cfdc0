//! The brokers this process runs, how clients reach them, and who leads which partition.

use std::net::SocketAddr;

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
}

impl BrokerNode {
    /// `host:port` as advertised.
    pub fn advertised(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// The brokers and partition leadership: partition *p* is led by broker `p mod N`.
#[derive(Debug, Clone)]
pub struct Cluster {
    cluster_id: String,
    nodes: Vec<BrokerNode>,
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
                let host = host.clone().unwrap_or_else(|| {
                    if listen.ip().is_unspecified() {
                        // 0.0.0.0 is not an address a client can connect to.
                        "127.0.0.1".to_string()
                    } else {
                        listen.ip().to_string()
                    }
                });
                let port = match first_port {
                    Some(port) => port.saturating_add(i as u16),
                    None => listen.port(),
                };
                BrokerNode {
                    node_id: i as i32 + 1,
                    listen: *listen,
                    host,
                    port,
                }
            })
            .collect();
        Ok(Cluster { cluster_id, nodes })
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

    /// The node id of the broker that leads `partition` (of any topic).
    pub fn leader(&self, partition: u32) -> i32 {
        self.nodes[partition as usize % self.nodes.len()].node_id
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
    fn leadership_is_spread_over_the_brokers() {
        let cluster = Cluster::new("c".into(), &listens(&[1, 2, 3]), None).unwrap();
        let leaders: Vec<_> = (0..6).map(|p| cluster.leader(p)).collect();
        assert_eq!(leaders, vec![1, 2, 3, 1, 2, 3]);
    }
}

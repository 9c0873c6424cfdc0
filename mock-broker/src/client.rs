//! Who is on the other end of a connection, as recordings name it; both
//! protocols' sessions keep one [`ClientSlot`].

use std::net::SocketAddr;
use std::sync::Arc;

use crate::store::{ClientInfo, Protocol};

/// A connection's client description, shared by every record it sends and
/// rebuilt only when the client id changes.
#[derive(Debug)]
pub(crate) struct ClientSlot {
    address: SocketAddr,
    protocol: Protocol,
    client: Option<Arc<ClientInfo>>,
}

impl ClientSlot {
    /// Nothing known yet about the client at `address`, speaking `protocol`.
    pub(crate) fn new(address: SocketAddr, protocol: Protocol) -> ClientSlot {
        ClientSlot {
            address,
            protocol,
            client: None,
        }
    }

    /// The description for a request that carries `client_id`.
    pub(crate) fn get(&mut self, client_id: Option<&str>) -> &Arc<ClientInfo> {
        if self
            .client
            .as_ref()
            .is_none_or(|c| c.client_id.as_deref() != client_id)
        {
            self.client = Some(Arc::new(ClientInfo {
                address: self.address,
                protocol: self.protocol,
                client_id: client_id.map(str::to_string),
            }));
        }
        self.client.as_ref().expect("just set")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_description_is_kept_until_the_client_id_changes() {
        let mut slot = ClientSlot::new("127.0.0.1:5000".parse().unwrap(), Protocol::Kafka);
        let first = slot.get(Some("a")).clone();
        assert_eq!(first.client_id.as_deref(), Some("a"));
        assert_eq!(first.protocol, Protocol::Kafka);
        assert!(Arc::ptr_eq(&first, slot.get(Some("a"))));
        let second = slot.get(None).clone();
        assert_eq!(second.client_id, None);
        assert!(!Arc::ptr_eq(&first, &second));
    }
}

//! mt-trafmon patch: counts the open connections, in all and per client
//! address, so that the accept loop can refuse what is over the limits.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use crate::Limits;

/// The open connections of one server.
pub struct Connections {
    limits: Limits,
    open: Arc<Mutex<Open>>,
}

#[derive(Default)]
struct Open {
    total: usize,
    per_client: HashMap<IpAddr, usize>,
}

/// One admitted connection; dropping it frees its place.
pub struct Slot {
    open: Arc<Mutex<Open>>,
    client: Option<IpAddr>,
}

impl Connections {
    pub fn new(limits: Limits) -> Connections {
        Connections {
            limits,
            open: Arc::new(Mutex::new(Open::default())),
        }
    }

    /// A place for a new connection from `peer`, or None when over a limit.
    pub fn admit(&self, peer: &Option<SocketAddr>) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if open.total >= self.limits.max_connections {
            return None;
        }
        let client = peer.map(|p| p.ip().to_canonical());
        if let Some(client) = client {
            let count = open.per_client.entry(client).or_insert(0);
            if *count >= self.limits.max_per_client {
                return None;
            }
            *count += 1;
        }
        open.total += 1;
        Some(Slot {
            open: self.open.clone(),
            client,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total -= 1;
        if let Some(client) = self.client {
            if let Some(count) = open.per_client.get_mut(&client) {
                *count -= 1;
                if *count == 0 {
                    open.per_client.remove(&client);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_client_and_in_all() {
        let connections = Connections::new(Limits {
            max_connections: 3,
            max_per_client: 2,
            timeout: None,
        });
        let a: Option<SocketAddr> = Some("127.0.0.1:1".parse().unwrap());
        let b: Option<SocketAddr> = Some("[::ffff:127.0.0.2]:1".parse().unwrap());
        let a1 = connections.admit(&a).unwrap();
        let _a2 = connections.admit(&a).unwrap();
        assert!(connections.admit(&a).is_none(), "third from one client");
        let _b1 = connections.admit(&b).unwrap();
        assert!(connections.admit(&b).is_none(), "fourth in all");
        drop(a1);
        assert!(connections.admit(&b).is_some(), "a freed place is reused");
    }
}

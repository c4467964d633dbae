//! mt-trafmon patch: counts the open connections, in all and per client
//! address, so that the accept loop can refuse what is over the limits,
//! and knows which of them are waiting for a request head (idle, or still
//! sending one): when every place is taken, the one that has waited
//! longest is closed to make room for a newcomer, so connections that
//! send nothing useful (slowloris, from any number of addresses) cannot
//! keep a real client out. Connections whose request is being answered
//! are never closed this way.

use std::collections::HashMap;
use std::net::{IpAddr, Shutdown, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::connection::Connection;
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
    slots: HashMap<u64, State>,
    next: u64,
}

struct State {
    /// Since when it waits for a request head; `None` while a request of
    /// it is answered (or once it was closed to make room).
    waiting: Option<Instant>,
    /// Another handle on its socket, to close it to make room.
    socket: Connection,
}

/// One admitted connection; dropping it frees its place.
pub struct Slot {
    open: Arc<Mutex<Open>>,
    client: Option<IpAddr>,
    id: u64,
}

impl Connections {
    pub fn new(limits: Limits) -> Connections {
        Connections {
            limits,
            open: Arc::new(Mutex::new(Open::default())),
        }
    }

    /// A place for a new connection from `peer` (`socket` is another handle
    /// on it), waiting for its first request head; None when its client is
    /// at its limit, or every place is taken by a connection whose request
    /// is being answered. When every place is taken, the connection that
    /// has waited longest for a head is shut down to make room; its place
    /// is free once its thread has noticed, so at most `max_connections / 8`
    /// more can be open meanwhile.
    pub fn admit(&self, peer: &Option<SocketAddr>, socket: Connection) -> Option<Slot> {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        let client = peer.map(|p| p.ip().to_canonical());
        if let Some(client) = client {
            if open.per_client.get(&client).copied().unwrap_or(0) >= self.limits.max_per_client {
                return None;
            }
        }
        if open.total >= self.limits.max_connections {
            let slack = self.limits.max_connections / 8;
            if open.total >= self.limits.max_connections.saturating_add(slack) {
                return None;
            }
            let oldest = open
                .slots
                .iter_mut()
                .filter(|(_, state)| state.waiting.is_some())
                .min_by_key(|(_, state)| state.waiting)?;
            oldest.1.waiting = None;
            oldest.1.socket.shutdown(Shutdown::Both).ok();
        }
        if let Some(client) = client {
            *open.per_client.entry(client).or_insert(0) += 1;
        }
        open.total += 1;
        let id = open.next;
        open.next += 1;
        open.slots.insert(
            id,
            State {
                waiting: Some(Instant::now()),
                socket,
            },
        );
        Some(Slot {
            open: self.open.clone(),
            client,
            id,
        })
    }
}

impl Slot {
    /// Its connection waits for a request head from now on (it may be
    /// closed to make room).
    pub fn waiting(&self) {
        self.set(Some(Instant::now()));
    }

    /// A request of its connection is being answered.
    pub fn busy(&self) {
        self.set(None);
    }

    fn set(&self, waiting: Option<Instant>) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(state) = open.slots.get_mut(&self.id) {
            state.waiting = waiting;
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.total -= 1;
        open.slots.remove(&self.id);
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
    use std::io::Read;
    use std::net::{TcpListener, TcpStream};

    fn limits(max_connections: usize, max_per_client: usize) -> Limits {
        Limits {
            max_connections,
            max_per_client,
            ..Limits::default()
        }
    }

    /// A connected pair: the server's side (as a `Connection`) and the client's.
    fn pair(listener: &TcpListener) -> (Connection, TcpStream) {
        let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (server, _) = listener.accept().unwrap();
        (Connection::from(server), client)
    }

    #[test]
    fn limits_per_client_and_in_all() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let connections = Connections::new(limits(3, 2));
        let a: Option<SocketAddr> = Some("127.0.0.1:1".parse().unwrap());
        let b: Option<SocketAddr> = Some("[::ffff:127.0.0.2]:1".parse().unwrap());
        let a1 = connections.admit(&a, pair(&listener).0).unwrap();
        let a2 = connections.admit(&a, pair(&listener).0).unwrap();
        assert!(connections.admit(&a, pair(&listener).0).is_none(), "third from one client");
        let b1 = connections.admit(&b, pair(&listener).0).unwrap();
        for slot in [&a1, &a2, &b1] {
            slot.busy();
        }
        assert!(
            connections.admit(&b, pair(&listener).0).is_none(),
            "fourth in all, while all three are answered"
        );
        drop(a1);
        assert!(connections.admit(&b, pair(&listener).0).is_some(), "a freed place is reused");
    }

    #[test]
    fn the_longest_waiting_connection_makes_room() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let connections = Connections::new(limits(8, 8));
        let peer = |n: u8| Some(SocketAddr::from(([127, 0, 0, n], 1)));
        let mut clients = Vec::new();
        let mut slots = Vec::new();
        for n in 0..8 {
            let (server, client) = pair(&listener);
            slots.push(connections.admit(&peer(n), server).unwrap());
            clients.push(client);
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        slots[0].busy();
        slots[1].waiting();
        // Full: the newcomer closes the one waiting longest, number 2 (0 is
        // busy, 1 waits again since just now).
        let newcomer = connections.admit(&peer(9), pair(&listener).0);
        assert!(newcomer.is_some());
        let closed = |client: &mut TcpStream| {
            client
                .set_read_timeout(Some(std::time::Duration::from_millis(200)))
                .unwrap();
            matches!(client.read(&mut [0u8; 1]), Ok(0))
        };
        assert!(closed(&mut clients[2]), "the longest waiting is closed");
        assert!(!closed(&mut clients[0]), "a busy one is kept");
        assert!(!closed(&mut clients[1]), "one that waits since just now is kept");
        // The closed one's thread has not let go of its place yet, and the
        // slack (1 of 8) is used up: no more until it does.
        assert!(connections.admit(&peer(10), pair(&listener).0).is_none());
        drop(slots.remove(2));
        assert!(connections.admit(&peer(10), pair(&listener).0).is_some());
        assert!(closed(&mut clients[3]), "the next longest waiting");
    }
}

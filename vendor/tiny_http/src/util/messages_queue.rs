//! mt-trafmon patch: the queue of requests between the connections'
//! threads and the server's workers is fair between client addresses:
//! pops take each address's oldest element in turn (round robin), so one
//! address with many connections, each with a request waiting, delays
//! another address's request by at most one of its own. The queue holds
//! at most one request per open connection (a connection reads its next
//! request only once the previous one is answered), so it is bounded by
//! the connection limits.

use std::collections::VecDeque;
use std::net::IpAddr;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

pub struct MessagesQueue<T>
where
    T: Send,
{
    queue: Mutex<Queue<T>>,
    condvar: Condvar,
}

struct Queue<T> {
    /// Per client, its elements in order; clients in turn order.
    clients: VecDeque<(Option<IpAddr>, VecDeque<T>)>,
    /// Pending `unblock` calls.
    unblocks: usize,
}

impl<T> Queue<T> {
    /// The next element in turn: the front client's oldest, after which
    /// that client goes to the back of the turn if it has more.
    fn pop(&mut self) -> Option<T> {
        let (client, mut elements) = self.clients.pop_front()?;
        let value = elements.pop_front();
        if !elements.is_empty() {
            self.clients.push_back((client, elements));
        }
        value
    }
}

impl<T> MessagesQueue<T>
where
    T: Send,
{
    pub fn with_capacity(capacity: usize) -> Arc<MessagesQueue<T>> {
        Arc::new(MessagesQueue {
            queue: Mutex::new(Queue {
                clients: VecDeque::with_capacity(capacity),
                unblocks: 0,
            }),
            condvar: Condvar::new(),
        })
    }

    /// Pushes an element from `client` to the queue.
    pub fn push(&self, client: Option<IpAddr>, value: T) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        match queue.clients.iter_mut().find(|(c, _)| *c == client) {
            Some((_, elements)) => elements.push_back(value),
            None => queue.clients.push_back((client, VecDeque::from([value]))),
        }
        self.condvar.notify_one();
    }

    /// Unblock one thread stuck in pop loop.
    pub fn unblock(&self) {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.unblocks += 1;
        self.condvar.notify_one();
    }

    /// Pops an element. Blocks until one is available.
    /// Returns None in case unblock() was issued.
    pub fn pop(&self) -> Option<T> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if queue.unblocks > 0 {
                queue.unblocks -= 1;
                return None;
            }
            if let Some(value) = queue.pop() {
                return Some(value);
            }
            queue = self.condvar.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Tries to pop an element without blocking.
    pub fn try_pop(&self) -> Option<T> {
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if queue.unblocks > 0 {
            queue.unblocks -= 1;
            return None;
        }
        queue.pop()
    }

    /// Tries to pop an element without blocking
    /// more than the specified timeout duration
    /// or unblock() was issued
    pub fn pop_timeout(&self, timeout: Duration) -> Option<T> {
        let deadline = Instant::now() + timeout;
        let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if queue.unblocks > 0 {
                queue.unblocks -= 1;
                return None;
            }
            if let Some(value) = queue.pop() {
                return Some(value);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            queue = self
                .condvar
                .wait_timeout(queue, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_take_turns() {
        let queue = MessagesQueue::with_capacity(4);
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        for n in 0..5 {
            queue.push(a, ("a", n));
        }
        queue.push(b, ("b", 0));
        queue.push(b, ("b", 1));
        queue.push(None, ("unix", 0));
        let order: Vec<_> = std::iter::from_fn(|| queue.try_pop()).collect();
        assert_eq!(
            order,
            [
                ("a", 0),
                ("b", 0),
                ("unix", 0),
                ("a", 1),
                ("b", 1),
                ("a", 2),
                ("a", 3),
                ("a", 4)
            ]
        );
    }

    #[test]
    fn unblock_ends_one_wait() {
        let queue = MessagesQueue::<u8>::with_capacity(1);
        queue.unblock();
        assert_eq!(queue.pop(), None);
        assert_eq!(queue.pop_timeout(Duration::from_millis(10)), None);
        queue.push(None, 7);
        assert_eq!(queue.pop_timeout(Duration::from_secs(1)), Some(7));
    }
}

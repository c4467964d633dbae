//! The HTTP server: binds the listening socket (`::` means every IPv4 and
//! IPv6 address), runs `tiny_http` (our patched copy, see
//! `vendor/tiny_http/PATCHED.md`) with its limits on connections, request
//! size and time, a fixed pool of [`WORKERS`] threads that answer requests
//! through [`routes::route`], a heavy lane of [`HEAVY_WORKERS`] thread(s)
//! for the requests [`routes::heavy`] names, a background thread that resolves the
//! allow-lists' host names again every minute, and one that learns each
//! file's query cache (`query::learn`: the map of unknown seconds and the
//! days) and keeps it up to date. A new [`State`] (a changed config) is
//! swapped in whole; its host names are resolved in the background.
//!
//! Every answer carries the security headers of [`SECURITY_HEADERS`], also
//! tiny_http's own error answers (`400`, `408`, `413`, `414`, `417`, `431`,
//! `505`); `HEAD` gets the headers of `GET` without the body (tiny_http
//! drops it). A header value with a control character is never sent.
//!
//! Light requests never wait behind heavy ones: a worker hands a heavy
//! request (a series reads days of rows and builds an answer of hundreds
//! of KB) to the heavy lane's queue and takes the next request at once.
//! The lane builds one heavy answer at a time, so the memory of heavy
//! answers is bounded too. Its queue holds at most [`HEAVY_QUEUE`]
//! requests, [`HEAVY_PER_CLIENT`] from one address; more are answered
//! `503` with `Retry-After` at once, which frees their connections for
//! reading (a connection waiting for an answer is never closed to make
//! room for another).
//!
//! Idle, no thread of the server wakes up: workers block on the request
//! queue and [`Server::stop`] unblocks each of them; the heavy lane blocks
//! on its queue, which the stop closes once the workers have ended; the
//! resolver sleeps its whole interval on a [`Stop`] that the stop sets.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLock};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::State;
use super::routes::{self, Body, Req};
use crate::query;
use crate::stop::Stop;

/// Worker threads answering requests (and handing heavy ones to the
/// heavy lane).
pub const WORKERS: usize = 4;
/// Threads answering heavy requests ([`routes::heavy`]). One: a heavy
/// answer takes a core for tens of ms (hundreds on a Pi), so the
/// collectors and the light requests keep the other cores, and only one
/// heavy answer is being built at a time.
pub const HEAVY_WORKERS: usize = 1;
/// Heavy requests waiting for the heavy lane, at most; more are answered
/// `503` with `Retry-After: 1`. Sixteen 10,000-point series take about
/// half a second on a PC and a few seconds on a Pi, within the page's 8 s.
pub const HEAVY_QUEUE: usize = 16;
/// Heavy requests from one client address waiting for the heavy lane, at
/// most (so that one address cannot take all of [`HEAVY_QUEUE`]).
pub const HEAVY_PER_CLIENT: usize = 4;
/// While the answers made but not written yet (clients that read slowly,
/// or not at all, hold theirs up to [`WRITE_DEADLINE`]) take more bytes
/// than this, heavy requests are answered `503` with `Retry-After`, so
/// that such clients cannot make the server hold answers without bound
/// (a 10,000-point series answer is about 400 KB, the page's usually a
/// tenth of that).
pub const HELD_ANSWER_BYTES: usize = 1 << 20;
/// Connections open at once, in all and from one address. One more from
/// an address at its limit is closed on accept; when all are taken, the
/// connection that has waited longest for a request head (idle, or
/// sending one slowly) is closed to make room, so that slow or idle
/// connections from any number of addresses cannot keep others out.
pub const MAX_CONNECTIONS: usize = 256;
/// See [`MAX_CONNECTIONS`].
pub const MAX_PER_CLIENT: usize = 32;
/// How long a connection may wait for a request's first byte (or one
/// write of an answer to go through) before it is closed.
pub const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request may take from its first byte to the end of its head
/// (and body), however slowly its bytes come (else `408`).
pub const HEAD_DEADLINE: Duration = Duration::from_secs(10);
/// How long writing one answer may take in all.
pub const WRITE_DEADLINE: Duration = Duration::from_secs(30);
/// The longest request body read (into memory, before a worker sees the
/// request) but for [`MAX_SETUP_BODY`]; the other routes ignore bodies.
/// Longer ones, or of unknown length, are `413`.
pub const MAX_BODY: usize = 1024;
/// The longest body of a `POST` to `/api/setup/` (the settings page's
/// JSON), given by tiny_http's `Limits::large_post`. Such bodies are read
/// before the allow-list is checked, so at most [`MAX_LARGE_BODIES`] are
/// held at once (256 KiB; a request with one more is `503`); every other
/// request's body is at most [`MAX_BODY`] (256 KiB for 256 connections).
pub const MAX_SETUP_BODY: usize = 64 << 10;
/// See [`MAX_SETUP_BODY`].
pub use tiny_http::MAX_LARGE_BODIES;
/// How often the allow-lists' host names are resolved again.
pub const RESOLVE_EVERY: Duration = Duration::from_secs(60);
/// Rows one step of learning a query cache reads (a few ms on a PC).
pub const LEARN_ROWS: i64 = 1 << 16;
/// The pause after each step of learning.
const LEARN_PAUSE: Duration = Duration::from_millis(2);
/// How often learned query caches are brought up to date. Queries bring
/// them up to date too (ten minutes of new rows cost a request about a
/// millisecond), so this only keeps a long-idle cache from falling far
/// behind. Each round reads every file's header and newest rows: at 64
/// files and every 60 s it was 2.2 CPU-s/h, more than the collector's
/// 3.1 at 64 interfaces would leave in the 5 CPU-s/h of an idle daemon.
const LEARN_IDLE: Duration = Duration::from_secs(600);

/// Headers on every answer.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    (
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    ),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
];

/// A running server.
pub struct Server {
    http: Arc<tiny_http::Server>,
    state: Shared,
    stop: Stop,
    threads: Vec<JoinHandle<()>>,
    lane: Arc<Lane>,
    heavy: Vec<JoinHandle<()>>,
    address: SocketAddr,
}

/// The state the workers read, swapped whole by [`Server::set_state`].
type Shared = Arc<RwLock<Arc<State>>>;

impl Server {
    /// Binds `listen:port` and starts the threads.
    pub fn start(listen: IpAddr, port: u16, state: Arc<State>) -> io::Result<Server> {
        let listener = bind(listen, port)?;
        let address = listener.local_addr()?;
        let limits = tiny_http::Limits {
            max_connections: MAX_CONNECTIONS,
            max_per_client: MAX_PER_CLIENT,
            timeout: Some(CONNECTION_TIMEOUT),
            head_deadline: Some(HEAD_DEADLINE),
            write_deadline: Some(WRITE_DEADLINE),
            max_body: MAX_BODY,
            large_post: Some(("/api/setup/", MAX_SETUP_BODY)),
            error_headers: SECURITY_HEADERS
                .iter()
                .filter_map(|(name, value)| tiny_http::Header::from_bytes(*name, *value).ok())
                .collect(),
        };
        let http = tiny_http::Server::from_listener_with_limits(listener, None, limits)
            .map_err(io::Error::other)?;
        let http = Arc::new(http);
        let stop = Stop::new();
        let shared: Shared = Arc::new(RwLock::new(state.clone()));
        let lane = Arc::new(Lane::default());
        let mut heavy = Vec::new();
        for n in 0..HEAVY_WORKERS {
            let (http, shared, lane) = (http.clone(), shared.clone(), lane.clone());
            heavy.push(
                thread::Builder::new()
                    .name(format!("web heavy {n}"))
                    .spawn(move || {
                        while let Some(request) = lane.take() {
                            if http.held_answer_bytes() > HELD_ANSWER_BYTES {
                                respond(request, routes::busy());
                            } else {
                                answer(request, &shared);
                            }
                        }
                    })?,
            );
        }
        let mut threads = Vec::new();
        for n in 0..WORKERS {
            let (http, shared, stop, lane) =
                (http.clone(), shared.clone(), stop.clone(), lane.clone());
            threads.push(
                thread::Builder::new()
                    .name(format!("web {n}"))
                    .spawn(move || work(&http, &shared, &stop, &lane))?,
            );
        }
        let (resolver_state, resolver_stop) = (shared.clone(), stop.clone());
        threads.push(
            thread::Builder::new()
                .name("web resolve".into())
                .spawn(move || resolve(&resolver_state, &resolver_stop))?,
        );
        let (learner_state, learner_stop) = (shared.clone(), stop.clone());
        threads.push(
            thread::Builder::new()
                .name("web learn".into())
                .spawn(move || learn(&learner_state, &learner_stop))?,
        );
        log::info!("web: serving http://{address}/");
        let server = Server {
            http,
            state: shared,
            stop,
            threads,
            lane,
            heavy,
            address,
        };
        server.set_state(state);
        Ok(server)
    }

    /// Answers from now on with `state` (a changed config); resolves its
    /// host names in the background. Its interfaces' query caches are
    /// learned by the server's learner thread.
    pub fn set_state(&self, state: Arc<State>) {
        if state.allow.is_empty() {
            log::warn!("web: web.allow is empty, so every client is denied");
        }
        *self.state.write().unwrap_or_else(PoisonError::into_inner) = state.clone();
        let spawned = thread::Builder::new()
            .name("web resolve new".into())
            .spawn(move || state.resolve_hosts(super::system_resolve));
        if let Err(e) = spawned {
            log::warn!("web: cannot resolve the allow-lists' host names: {e}");
        }
    }

    /// The state it answers from.
    pub fn state(&self) -> Arc<State> {
        self.state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The address it listens on (with the port the system picked for 0).
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Stops answering and closes the socket; a request in progress is
    /// finished first.
    pub fn stop(self) {
        self.stop.set();
        // Each unblock ends one worker's wait (after the requests already
        // queued).
        for _ in 0..WORKERS {
            self.http.unblock();
        }
        for thread in self.threads {
            let _ = thread.join();
        }
        // No worker hands on a heavy request any more; the lane answers
        // those already waiting, then ends.
        self.lane.close();
        for thread in self.heavy {
            let _ = thread.join();
        }
    }
}

/// A listening socket on `listen:port`. For `::` the socket also takes
/// IPv4 (dual stack); where the system has no IPv6, `::` falls back to
/// `0.0.0.0`.
fn bind(listen: IpAddr, port: u16) -> io::Result<TcpListener> {
    use rustix::net::{AddressFamily, SocketType, ipproto, sockopt};
    let family = match listen {
        IpAddr::V4(_) => AddressFamily::INET,
        IpAddr::V6(_) => AddressFamily::INET6,
    };
    let socket = match rustix::net::socket(family, SocketType::STREAM, Some(ipproto::TCP)) {
        Err(e) if listen.is_unspecified() && family == AddressFamily::INET6 => {
            log::warn!("web: no IPv6 here ({e}); listening on IPv4 only");
            return bind(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
        }
        result => result?,
    };
    sockopt::set_socket_reuseaddr(&socket, true)?;
    if family == AddressFamily::INET6 {
        sockopt::set_ipv6_v6only(&socket, !listen.is_unspecified())?;
    }
    rustix::net::bind(&socket, &SocketAddr::new(listen, port))?;
    rustix::net::listen(&socket, 128)?;
    Ok(TcpListener::from(socket))
}

/// Answers requests, blocked on the queue in between, until
/// [`Server::stop`] sets `stop` and unblocks it. Heavy requests go to the
/// heavy lane (or are answered `503` when its queue is full).
fn work(http: &tiny_http::Server, shared: &Shared, stop: &Stop, lane: &Lane) {
    loop {
        let request = match http.recv() {
            Ok(request) => request,
            Err(_) if stop.is_set() => return,
            Err(e) => {
                log::warn!("web: {e}");
                continue;
            }
        };
        if !routes::heavy(request.url()) {
            answer(request, shared);
        } else if let Some(request) = lane.offer(request) {
            respond(request, routes::busy());
        }
    }
}

/// The heavy requests waiting for the heavy lane (see [`HEAVY_QUEUE`]).
#[derive(Default)]
struct Lane {
    queue: Mutex<LaneQueue>,
    ready: Condvar,
}

#[derive(Default)]
struct LaneQueue {
    /// Oldest first.
    waiting: VecDeque<tiny_http::Request>,
    /// Set by [`Server::stop`]: no more requests are taken.
    closed: bool,
}

/// The client address a request came from (the TCP peer).
fn peer(request: &tiny_http::Request) -> Option<IpAddr> {
    request.remote_addr().map(|a| a.ip().to_canonical())
}

impl Lane {
    /// Queues `request` (`None`), or gives it back when the queue is full
    /// (in all, or for the request's client address) or closed.
    fn offer(&self, request: tiny_http::Request) -> Option<tiny_http::Request> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        let client = peer(&request);
        let same = queue.waiting.iter().filter(|r| peer(r) == client).count();
        if queue.closed || queue.waiting.len() >= HEAVY_QUEUE || same >= HEAVY_PER_CLIENT {
            return Some(request);
        }
        queue.waiting.push_back(request);
        self.ready.notify_one();
        None
    }

    /// The oldest waiting request, blocking while there is none; `None`
    /// once closed and empty.
    fn take(&self) -> Option<tiny_http::Request> {
        let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(request) = queue.waiting.pop_front() {
                return Some(request);
            }
            if queue.closed {
                return None;
            }
            queue = self
                .ready
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Takes no more requests; [`Lane::take`] ends once the queue is empty.
    fn close(&self) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .closed = true;
        self.ready.notify_all();
    }
}

/// Answers one request through [`routes::route`] with the state of now.
fn answer(mut request: tiny_http::Request, shared: &Shared) {
    // tiny_http has read the body into memory (at most MAX_SETUP_BODY).
    let mut body = Vec::new();
    if request.method() == &tiny_http::Method::Post {
        use io::Read;
        let _ = request
            .as_reader()
            .take(MAX_SETUP_BODY as u64)
            .read_to_end(&mut body);
    }
    let all = |name: &'static str| {
        request
            .headers()
            .iter()
            .filter(move |h| h.field.equiv(name))
            .map(|h| h.value.as_str())
    };
    let header = |name: &'static str| all(name).next();
    // Several X-Forwarded-For lines are one list (RFC 9110, 5.3).
    let forwarded_for = all("X-Forwarded-For")
        .next()
        .is_some()
        .then(|| all("X-Forwarded-For").collect::<Vec<_>>().join(","));
    let Some(peer) = request.remote_addr().map(|a| a.ip()) else {
        return;
    };
    let method = request.method().as_str().to_string();
    let state = shared
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone();
    let reply = routes::route(
        &state,
        &Req {
            method: &method,
            url: request.url(),
            peer,
            host: header("Host"),
            forwarded_for: forwarded_for.as_deref(),
            accept_encoding: header("Accept-Encoding"),
            if_none_match: header("If-None-Match"),
            setup: super::setup::Fields {
                cookie: header("Cookie"),
                origin: header("Origin"),
                referer: header("Referer"),
                content_type: header("Content-Type"),
                body: &body,
            },
        },
    );
    respond(request, reply);
}

/// Sends `reply` with the security headers. A body made for the request
/// (a series answer is ~400 KB) is handed to the connection's thread as it
/// is, not copied, and sent with its length, never chunked (unless the
/// client asks for chunks with `TE`). A compiled-in file (at most 16 KB
/// gzipped) is copied and sent the same way: one way of sending in the
/// binary.
fn respond(request: tiny_http::Request, reply: routes::Reply) {
    let routes::Reply {
        status,
        content_type,
        body,
        headers,
        cache,
    } = reply;
    let headers: Vec<tiny_http::Header> =
        [("Content-Type", content_type), ("Cache-Control", cache)]
            .into_iter()
            .chain(SECURITY_HEADERS)
            .chain(headers.iter().map(|(k, v)| (*k, v.as_str())))
            .filter_map(|(name, value)| {
                if value.bytes().any(|b| b.is_ascii_control()) {
                    log::warn!("web: {name} header with a control character not sent");
                    return None;
                }
                tiny_http::Header::from_bytes(name, value).ok()
            })
            .collect();
    let peer = peer(&request);
    let bytes = match body {
        Body::Owned(mut bytes) => {
            // Held until written: no spare capacity (up to as much again).
            bytes.shrink_to_fit();
            bytes
        }
        Body::Static(bytes) => bytes.to_vec(),
    };
    let length = bytes.len();
    let response = tiny_http::Response::new(
        status.into(),
        headers,
        io::Cursor::new(bytes),
        Some(length),
        None,
    );
    let sent = request.respond_data(response);
    if let Err(e) = sent {
        log::debug!("web: answering {peer:?}: {e}");
    }
}

/// Resolves the host names of the current state's allow-lists again every
/// [`RESOLVE_EVERY`] (the first time is done by [`Server::set_state`]).
fn resolve(shared: &Shared, stop: &Stop) {
    while !stop.sleep(RESOLVE_EVERY) {
        let state = shared
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if !state.allow.hosts().is_empty() || !state.proxies.hosts().is_empty() {
            state.resolve_hosts(super::system_resolve);
        }
    }
}

/// Learns each file's query cache (the map of unknown seconds, then the
/// days) in steps of [`LEARN_ROWS`] rows, each holding the file's lock for
/// reading, so that long views become exact and fast soon after the start
/// without a request waiting for it; then keeps it up to date every
/// [`LEARN_IDLE`]. Sleeps on `stop`, so a stop ends it at once.
fn learn(shared: &Shared, stop: &Stop) {
    loop {
        let state = shared
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let mut learned = true;
        for served in &state.interfaces {
            if !served.rrd.exists() {
                continue;
            }
            let result = state.files.reading(&served.rrd, || {
                let mut cache = served.cache.lock().unwrap_or_else(PoisonError::into_inner);
                query::learn(&mut cache, &served.rrd, LEARN_ROWS)
            });
            let done = match result {
                Ok(done) => done,
                Err(e) => {
                    log::debug!("web: learning the query cache of {}: {e}", served.id);
                    true
                }
            };
            learned &= done;
            // Room for the collectors' writes and the requests.
            if !done && stop.sleep(LEARN_PAUSE) {
                return;
            }
        }
        if learned && stop.sleep(LEARN_IDLE) {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(client: [u8; 4], path: &str) -> tiny_http::Request {
        tiny_http::TestRequest::new()
            .with_remote_addr(SocketAddr::from((client, 40000)))
            .with_path(path)
            .into()
    }

    #[test]
    fn the_heavy_queue_is_bounded_in_all_and_per_address() {
        let lane = Lane::default();
        for n in 0..HEAVY_PER_CLIENT {
            assert!(
                lane.offer(request([10, 0, 0, 1], &format!("/{n}")))
                    .is_none()
            );
        }
        let refused = lane.offer(request([10, 0, 0, 1], "/over"));
        assert_eq!(refused.map(|r| r.url().to_string()), Some("/over".into()));
        // Others still get places, up to the queue's size.
        for n in HEAVY_PER_CLIENT..HEAVY_QUEUE {
            let client = [10, 0, 1, n as u8];
            assert!(lane.offer(request(client, "/other")).is_none());
        }
        assert!(lane.offer(request([10, 0, 0, 200], "/full")).is_some());
        // Oldest first; a taken request frees its address's place.
        assert_eq!(lane.take().map(|r| r.url().to_string()), Some("/0".into()));
        assert!(lane.offer(request([10, 0, 0, 1], "/again")).is_none());
        // Closed: nothing more is queued, what waits is still taken.
        lane.close();
        assert!(lane.offer(request([10, 0, 0, 201], "/late")).is_some());
        let rest: Vec<String> = std::iter::from_fn(|| lane.take())
            .map(|r| r.url().to_string())
            .collect();
        assert_eq!(rest.len(), HEAVY_QUEUE);
        assert_eq!(rest.last().map(String::as_str), Some("/again"));
    }

    #[test]
    fn an_ipv4_client_on_the_ipv6_socket_is_one_address() {
        let lane = Lane::default();
        let mapped = SocketAddr::from(([0, 0, 0, 0, 0, 0xffff, 0x0a00, 0x0001], 40000));
        for _ in 0..HEAVY_PER_CLIENT {
            let request: tiny_http::Request = tiny_http::TestRequest::new()
                .with_remote_addr(mapped)
                .into();
            assert!(lane.offer(request).is_none());
        }
        assert!(lane.offer(request([10, 0, 0, 1], "/")).is_some());
    }
}

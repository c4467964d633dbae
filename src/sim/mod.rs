//! A simulated MikroTik router that speaks the real RouterOS API (TCP,
//! binary sentences) on a loopback address, for the tests, the
//! `routeros-sim` binary and `mt-trafmon --demo`.
//!
//! It owns the listening socket, one blocking thread per session, the
//! injectable [`Clock`] and the [`Fault`]s a test can switch on. It answers
//! `/login` (both methods), `/interface/print`, `/interface/monitor-traffic`
//! (once or streaming), `/interface/reset-counters`, `/cancel`,
//! `/system/resource/print`, `/system/identity/print` and `/quit`, with the
//! reply sequences documented in `docs/routeros-api.md`; every behaviour that is
//! not documented there is marked as an assumption where it is made.
//!
//! For tests it injects faults at known times (a [`Fault`] per sentence,
//! reboots, counter resets, interfaces removed, re-created and renamed,
//! commands refused) and keeps the truth: every counter row it answered
//! ([`Simulator::answers`]), with the epoch that tells two rows of the same
//! counter apart from rows across a reset, and the number of logins.
//!
//! It deliberately does not: listen on anything but a loopback address,
//! use async I/O, speak API-SSL, or implement any other RouterOS menu. The
//! pure parts live in submodules: `traffic` (bytes per second and
//! counters), `query` (print filters), `duration` (time values), `login`
//! (login decisions) and `router` (the router's state and rows); only
//! `session` and this module touch sockets.

mod duration;
mod login;
mod query;
mod router;
mod session;
mod traffic;

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use router::Router;

/// A source of the current time, as Unix time in (fractional) seconds.
///
/// The simulator reads it for counters, rates and the uptime. Stream
/// pacing (`monitor-traffic` without `once`) uses real elapsed time instead,
/// so a stream keeps flowing while a test holds a [`ManualClock`] still.
pub trait Clock: Send + Sync {
    /// The current Unix time in seconds.
    fn now(&self) -> f64;
}

/// The system's wall clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

/// A clock that moves only when told to; share it through an [`Arc`].
#[derive(Debug)]
pub struct ManualClock {
    /// The time as the bits of an `f64`.
    bits: AtomicU64,
}

/// Which login method the simulated router speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginMode {
    /// RouterOS 6.43 and later (all of 7.x): name and password in clear; a
    /// bare `/login` still gets a challenge whose answer is refused.
    Modern,
    /// Before 6.43: only the MD5 challenge-response.
    Legacy,
}

/// A misbehaviour to inject, set with [`Simulator::set_fault`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Fault {
    /// Behave.
    #[default]
    None,
    /// Close each session's socket once it has received this many sentences,
    /// without answering the last one (0: close new connections at once).
    DropAfter(usize),
    /// Accept connections and read, but never answer anything.
    Silent,
    /// Wait this long before writing each reply sentence.
    Slow(Duration),
    /// Answer the next command with junk bytes (starting with the reserved
    /// control byte 0xF8) and close.
    Garbage,
    /// Answer the next command with `!fatal <reason>` and close.
    Fatal(String),
    /// Write every reply in random pieces of 1 to 3 bytes.
    Fragment,
    /// Answer every command but `/login` with this many `!trap`s, then
    /// `!done` (the session stays).
    Traps(usize),
}

/// A counter row the simulator answered: what a client measured, and
/// when (the simulator's clock when it read the counters).
#[derive(Clone, Debug, PartialEq)]
pub struct Answer {
    /// The simulator's clock.
    pub at: f64,
    /// The interface's name then.
    pub name: String,
    /// Its `.id`.
    pub id: String,
    /// Counts the restarts of its counters (reset, reboot, re-creation):
    /// two answers with the same id and epoch are continuous.
    pub epoch: u64,
    /// `rx-byte`.
    pub rx: u64,
    /// `tx-byte`.
    pub tx: u64,
}

/// The most answers kept (older ones are forgotten).
const MAX_ANSWERS: usize = 100_000;

/// An API user of the simulated router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// The login name.
    pub name: String,
    /// The password, compared byte for byte.
    pub password: String,
    /// What the user's group may do.
    pub policies: Policies,
}

/// The RouterOS group policies the simulator checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policies {
    /// May log in over the API.
    pub api: bool,
    /// May read configuration and statistics (`print`, `monitor-traffic`).
    pub read: bool,
    /// May change things (`reset-counters`).
    pub write: bool,
}

/// How to start a [`Simulator`].
#[derive(Clone)]
pub struct Options {
    /// The address to listen on; it must be a loopback address (127.0.0.0/8
    /// or `::1`).
    pub listen: IpAddr,
    /// The TCP port; 0 picks a free one (see [`Simulator::addr`]).
    pub port: u16,
    /// The API users.
    pub users: Vec<User>,
    /// The login method.
    pub login: LoginMode,
    /// Send `!empty` before `!done` when a print matches nothing, as
    /// RouterOS 7.18 and later do.
    pub empty_replies: bool,
    /// The most sessions open at once (RouterOS `/ip service` `max-sessions`,
    /// default 20).
    pub max_sessions: usize,
    /// The seed of the simulated traffic and of the challenges.
    pub seed: u64,
    /// The clock for counters, rates and the uptime.
    pub clock: Arc<dyn Clock>,
    /// Interfaces after the five: `vlan1`, `vlan2`, … with the LAN port's
    /// traffic (default none).
    pub extra_interfaces: usize,
}

/// A running simulated router. Dropping it shuts it down.
pub struct Simulator {
    shared: Arc<Shared>,
    addr: SocketAddr,
    accept: Option<JoinHandle<()>>,
}

impl Clock for SystemClock {
    fn now(&self) -> f64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => since.as_secs_f64(),
            Err(before) => -before.duration().as_secs_f64(),
        }
    }
}

impl ManualClock {
    /// A clock standing at `start` (Unix seconds).
    pub fn new(start: f64) -> ManualClock {
        ManualClock {
            bits: AtomicU64::new(start.to_bits()),
        }
    }

    /// Moves the clock to `t`, forwards or backwards.
    pub fn set(&self, t: f64) {
        self.bits.store(t.to_bits(), Ordering::SeqCst);
    }

    /// Moves the clock by `secs` (negative moves it back).
    pub fn advance(&self, secs: f64) {
        // A compare-and-swap loop, so concurrent advances all count.
        let mut current = self.bits.load(Ordering::SeqCst);
        loop {
            let next = (f64::from_bits(current) + secs).to_bits();
            match self
                .bits
                .compare_exchange(current, next, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return,
                Err(actual) => current = actual,
            }
        }
    }
}

impl Clock for ManualClock {
    fn now(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::SeqCst))
    }
}

impl fmt::Display for Fault {
    /// The form [`Fault::from_str`] reads.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::None => f.write_str("none"),
            Fault::DropAfter(n) => write!(f, "drop-after={n}"),
            Fault::Silent => f.write_str("silent"),
            Fault::Slow(delay) => write!(f, "slow={}", delay.as_millis()),
            Fault::Garbage => f.write_str("garbage"),
            Fault::Fatal(reason) => write!(f, "fatal={reason}"),
            Fault::Fragment => f.write_str("fragment"),
            Fault::Traps(n) => write!(f, "traps={n}"),
        }
    }
}

impl FromStr for Fault {
    type Err = String;

    /// Reads `none`, `silent`, `garbage`, `fragment`, `drop-after=N`,
    /// `slow=MS`, `fatal=REASON` or `traps=N`.
    fn from_str(text: &str) -> Result<Fault, String> {
        let number = |value: &str| {
            value
                .parse::<u64>()
                .map_err(|_| format!("{text:?}: expected a whole number after '='"))
        };
        match text.split_once('=') {
            None => match text {
                "none" => Ok(Fault::None),
                "silent" => Ok(Fault::Silent),
                "garbage" => Ok(Fault::Garbage),
                "fragment" => Ok(Fault::Fragment),
                _ => Err(format!("unknown fault {text:?}")),
            },
            Some(("drop-after", value)) => Ok(Fault::DropAfter(
                usize::try_from(number(value)?).map_err(|e| e.to_string())?,
            )),
            Some(("slow", value)) => Ok(Fault::Slow(Duration::from_millis(number(value)?))),
            Some(("traps", value)) => Ok(Fault::Traps(
                usize::try_from(number(value)?).map_err(|e| e.to_string())?,
            )),
            Some(("fatal", reason)) if !reason.is_empty() => Ok(Fault::Fatal(reason.to_string())),
            Some(_) => Err(format!(
                "unknown fault {text:?} (none, silent, garbage, fragment, drop-after=N, slow=MS, fatal=REASON, traps=N)"
            )),
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            listen: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 0,
            users: Options::default_users(),
            login: LoginMode::Modern,
            empty_replies: true,
            max_sessions: 20,
            seed: 1,
            clock: Arc::new(SystemClock),
            extra_interfaces: 0,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("listen", &self.listen)
            .field("port", &self.port)
            .field("users", &self.users)
            .field("login", &self.login)
            .field("empty_replies", &self.empty_replies)
            .field("max_sessions", &self.max_sessions)
            .field("seed", &self.seed)
            .field("clock", &self.clock.now())
            .field("extra_interfaces", &self.extra_interfaces)
            .finish()
    }
}

impl Options {
    /// Four users, all with the password `secret`: `admin` (api, read,
    /// write), `reader` (api, read), `noapi` (read, write; no api) and
    /// `noread` (api only).
    pub fn default_users() -> Vec<User> {
        let user = |name: &str, api, read, write| User {
            name: name.to_string(),
            password: "secret".to_string(),
            policies: Policies { api, read, write },
        };
        vec![
            user("admin", true, true, true),
            user("reader", true, true, false),
            user("noapi", false, true, true),
            user("noread", true, false, false),
        ]
    }
}

impl Simulator {
    /// Binds the listening socket and starts the accept thread; returns at
    /// once.
    ///
    /// # Errors
    ///
    /// `InvalidInput` when `options.listen` is not a loopback address
    /// (nothing is bound then); otherwise whatever binding the socket or
    /// spawning the thread returns.
    pub fn start(options: Options) -> io::Result<Simulator> {
        if !options.listen.is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "the simulator listens only on loopback addresses, not {}",
                    options.listen
                ),
            ));
        }
        let listener = TcpListener::bind((options.listen, options.port))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let now = options.clock.now();
        let mut router = Router::new(options.seed, now);
        router.add_vlans(options.extra_interfaces, now);
        let shared = Arc::new(Shared {
            router: Mutex::new(router),
            options,
            fault: Mutex::new(Fault::None),
            sessions: Mutex::new(HashMap::new()),
            stopping: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            answers: Mutex::new(VecDeque::new()),
            logins: AtomicU64::new(0),
            denied: Mutex::new(Vec::new()),
        });
        let accept_shared = Arc::clone(&shared);
        let accept = thread::Builder::new()
            .name("routeros-sim-accept".into())
            .spawn(move || accept_loop(&accept_shared, &listener))?;
        log::debug!("routeros-sim listening on {addr}");
        Ok(Simulator {
            shared,
            addr,
            accept: Some(accept),
        })
    }

    /// The address the simulator listens on (with the port actually bound).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Switches the fault; it applies to every session's next sentence or
    /// reply and to new sessions.
    pub fn set_fault(&self, fault: Fault) {
        *lock(&self.shared.fault) = fault;
    }

    /// Simulates a reboot: drops every session, sets every counter to zero
    /// and restarts the uptime at zero.
    pub fn reboot(&self) {
        self.shared.close_sessions();
        let now = self.shared.now();
        lock(&self.shared.router).reboot(now);
    }

    /// Closes every session, as a network blip would; counters and uptime
    /// go on.
    pub fn drop_sessions(&self) {
        self.shared.close_sessions();
    }

    /// Sets every counter to zero; sessions and uptime stay.
    pub fn reset_counters(&self) {
        let now = self.shared.now();
        lock(&self.shared.router).reset_all(now);
    }

    /// Removes the interface called `name`, as deleting it in WinBox
    /// would; false if there is none.
    pub fn remove_interface(&self, name: &str) -> bool {
        lock(&self.shared.router).remove(name)
    }

    /// Re-creates the removed interface called `name`: a new `.id`, the
    /// same traffic, counters from zero; false if none was removed.
    pub fn recreate_interface(&self, name: &str) -> bool {
        let now = self.shared.now();
        lock(&self.shared.router).recreate(name, now)
    }

    /// Renames an interface; its `.id` and counters stay. False if there
    /// is none called `from` or `to` is taken.
    pub fn rename_interface(&self, from: &str, to: &str) -> bool {
        lock(&self.shared.router).rename(from, to)
    }

    /// Answers `command` (e.g. `/system/resource/print`) from now on with
    /// the trap of a missing policy, as for a user whose group may not.
    pub fn deny(&self, command: &str) {
        lock(&self.shared.denied).push(command.as_bytes().to_vec());
    }

    /// The counter rows answered for the interface called `name` (at the
    /// time), oldest first.
    pub fn answers(&self, name: &str) -> Vec<Answer> {
        lock(&self.shared.answers)
            .iter()
            .filter(|a| a.name == name)
            .cloned()
            .collect()
    }

    /// Successful logins so far.
    pub fn logins(&self) -> u64 {
        self.shared.logins.load(Ordering::SeqCst)
    }

    /// The number of sessions currently open.
    pub fn session_count(&self) -> usize {
        lock(&self.shared.sessions).len()
    }

    /// The byte counters (rx-byte, tx-byte) of `interface` at the clock's
    /// current time, or `None` for an unknown name.
    pub fn counters(&self, interface: &str) -> Option<(u64, u64)> {
        let now = self.shared.now();
        let mut router = lock(&self.shared.router);
        let index = router.find(interface.as_bytes())?;
        router.counters(index, now).map(|b| (b.rx, b.tx))
    }

    /// The rates (rx, tx) in bits per second that `monitor-traffic` reports
    /// for `interface` at the clock's current time.
    pub fn rates(&self, interface: &str) -> Option<(u64, u64)> {
        let now = self.shared.now();
        let router = lock(&self.shared.router);
        let index = router.find(interface.as_bytes())?;
        router.rates(index, now).map(|b| (b.rx, b.tx))
    }

    /// The bytes (rx, tx) `interface` moves in whole second `second` (Unix
    /// time), past or future: the truth behind its counters and rates.
    pub fn second_bytes(&self, interface: &str, second: i64) -> Option<(u64, u64)> {
        let router = lock(&self.shared.router);
        let index = router.find(interface.as_bytes())?;
        router.second_bytes(index, second).map(|b| (b.rx, b.tx))
    }

    /// The interface names in `.id` order.
    pub fn interface_names(&self) -> Vec<String> {
        lock(&self.shared.router).names()
    }

    /// Stops accepting, closes every session and joins all threads.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(accept) = self.accept.take() {
            if accept.join().is_err() {
                log::error!("the simulator's accept thread panicked");
            }
        }
        self.shared.close_sessions();
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What the accept thread and the sessions share.
pub(crate) struct Shared {
    pub(crate) options: Options,
    pub(crate) fault: Mutex<Fault>,
    pub(crate) router: Mutex<Router>,
    sessions: Mutex<HashMap<u64, SessionHandle>>,
    pub(crate) stopping: AtomicBool,
    next_id: AtomicU64,
    answers: Mutex<VecDeque<Answer>>,
    pub(crate) logins: AtomicU64,
    pub(crate) denied: Mutex<Vec<Vec<u8>>>,
}

/// The accept thread's hold on one session.
struct SessionHandle {
    /// A clone of the session's socket, to shut it down from outside.
    socket: TcpStream,
    /// Tells the session to end.
    closed: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Shared {
    /// The simulated clock's time.
    pub(crate) fn now(&self) -> f64 {
        self.options.clock.now()
    }

    /// The current fault.
    pub(crate) fn fault(&self) -> Fault {
        lock(&self.fault).clone()
    }

    /// Keeps the counter rows of `rows` (as answered at `now`).
    pub(crate) fn record(&self, now: f64, rows: &[crate::routeros::wire::Attrs]) {
        use crate::routeros::wire::parse_decimal;
        let router = lock(&self.router);
        let mut answers = lock(&self.answers);
        for row in rows {
            let field = |name: &str| row.get(name).unwrap_or_default();
            let (Some(rx), Some(tx)) = (
                parse_decimal::<u64>(field("rx-byte")),
                parse_decimal::<u64>(field("tx-byte")),
            ) else {
                continue;
            };
            answers.push_back(Answer {
                at: now,
                name: String::from_utf8_lossy(field("name")).into_owned(),
                id: String::from_utf8_lossy(field(".id")).into_owned(),
                epoch: router.epoch(field(".id")).unwrap_or_default(),
                rx,
                tx,
            });
            if answers.len() > MAX_ANSWERS {
                answers.pop_front();
            }
        }
    }

    /// Removes a finished session from the table (a no-op when a reboot or
    /// shutdown took it out already).
    pub(crate) fn forget(&self, id: u64) {
        lock(&self.sessions).remove(&id);
    }

    /// Ends every session: flags it, shuts its socket down and joins its
    /// thread. The table lock is not held while joining, because a finishing
    /// session takes it to remove itself.
    fn close_sessions(&self) {
        let handles: Vec<SessionHandle> = lock(&self.sessions).drain().map(|(_, h)| h).collect();
        for handle in &handles {
            handle.closed.store(true, Ordering::SeqCst);
            // The socket may already be closed by the peer; nothing to do then.
            let _ = handle.socket.shutdown(Shutdown::Both);
        }
        for mut handle in handles {
            if let Some(thread) = handle.thread.take() {
                if thread.join().is_err() {
                    log::error!("a simulator session thread panicked");
                }
            }
        }
    }
}

/// Locks a mutex, ignoring poisoning: the data behind these locks stays
/// consistent even if a holder panicked, and the simulator must keep going.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// How long the accept thread sleeps when no connection is waiting.
const ACCEPT_POLL: Duration = Duration::from_millis(10);

fn accept_loop(shared: &Arc<Shared>, listener: &TcpListener) {
    while !shared.stopping.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, peer)) => admit(shared, stream, peer),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => thread::sleep(ACCEPT_POLL),
            Err(e) => {
                log::warn!("routeros-sim: accept failed: {e}");
                thread::sleep(ACCEPT_POLL);
            }
        }
    }
}

/// Starts a session for a new connection, or closes it at once when
/// `max_sessions` are open.
///
/// What RouterOS does with the connection above `max-sessions` is not
/// documented (`docs/routeros-api.md`, section 7); accepting and closing it at
/// once without a word is an assumption.
fn admit(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let mut sessions = lock(&shared.sessions);
    if sessions.len() >= shared.options.max_sessions {
        log::debug!(
            "routeros-sim: refusing {peer}: {} sessions open",
            sessions.len()
        );
        let _ = stream.shutdown(Shutdown::Both);
        return;
    }
    let socket = match stream
        .set_nonblocking(false)
        .and_then(|()| stream.try_clone())
    {
        Ok(socket) => socket,
        Err(e) => {
            log::warn!("routeros-sim: cannot set up a session for {peer}: {e}");
            return;
        }
    };
    let id = shared.next_id.fetch_add(1, Ordering::SeqCst);
    let closed = Arc::new(AtomicBool::new(false));
    let session_shared = Arc::clone(shared);
    let session_closed = Arc::clone(&closed);
    let spawned = thread::Builder::new()
        .name(format!("routeros-sim-session-{id}"))
        .spawn(move || {
            session::run(&session_shared, stream, id, &session_closed);
            session_shared.forget(id);
        });
    match spawned {
        Ok(thread) => {
            sessions.insert(
                id,
                SessionHandle {
                    socket,
                    closed,
                    thread: Some(thread),
                },
            );
        }
        Err(e) => {
            log::warn!("routeros-sim: cannot start a session thread for {peer}: {e}");
            let _ = socket.shutdown(Shutdown::Both);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_read_and_print_the_same_form() {
        for (text, fault) in [
            ("none", Fault::None),
            ("silent", Fault::Silent),
            ("garbage", Fault::Garbage),
            ("fragment", Fault::Fragment),
            ("drop-after=3", Fault::DropAfter(3)),
            ("slow=250", Fault::Slow(Duration::from_millis(250))),
            ("fatal=out of memory", Fault::Fatal("out of memory".into())),
            ("traps=3", Fault::Traps(3)),
        ] {
            assert_eq!(text.parse::<Fault>(), Ok(fault.clone()));
            assert_eq!(fault.to_string(), text);
        }
        for bad in [
            "",
            "slow",
            "slow=x",
            "drop-after=-1",
            "fatal=",
            "loud",
            "silent=1",
        ] {
            assert!(bad.parse::<Fault>().is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_simulator_can_move_between_threads() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<Simulator>();
        send_and_sync::<Options>();
        send_and_sync::<ManualClock>();
    }

    #[test]
    fn manual_clock_moves_both_ways() {
        let clock = ManualClock::new(100.0);
        clock.advance(2.5);
        assert_eq!(clock.now(), 102.5);
        clock.advance(-10.0);
        assert_eq!(clock.now(), 92.5);
        clock.set(7.0);
        assert_eq!(clock.now(), 7.0);
    }

    #[test]
    fn non_loopback_addresses_are_refused_before_binding() {
        for listen in ["0.0.0.0", "192.0.2.1", "::"] {
            let options = Options {
                listen: listen.parse().unwrap(),
                ..Options::default()
            };
            let error = Simulator::start(options).err().map(|e| e.kind());
            assert_eq!(error, Some(io::ErrorKind::InvalidInput), "{listen}");
        }
    }
}

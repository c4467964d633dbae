//! The blocking RouterOS API client: one TCP socket per session, login, and
//! the few commands mt-trafmon needs (interface list, byte counters,
//! `monitor-traffic` once or streaming, `/cancel`, system resource).
//!
//! This is the only module that opens a socket to a router. Every call has
//! a deadline (the connect timeout, then one deadline of `io_timeout` for
//! the whole reply to a command, however the router trickles it), every
//! reply is bounded (rows, traps, bytes, sentences of other commands
//! skipped; [`MAX_ROWS`] and the constants beside it), every failure is a
//! typed [`Error`] whose message says what to do, with the router's own
//! text escaped ([`crate::text::escape`]) and cut short, and no input from
//! the network can panic it: bytes go through the pure
//! [`wire`](super::wire) codec. Every command is tagged, so a late reply to
//! an earlier command is recognised and skipped instead of being taken for
//! the answer to the current one.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use super::login::{from_hex, legacy_response};
use super::wire::{self, Attrs, Command, Decoder, Limits, Reply, ReplyKind};
use crate::text::{escape, escape_bytes, shortest};

/// The plain (non-TLS) API port.
pub const DEFAULT_PORT: u16 = 8728;
/// Most rows kept of one reply: the interface list of a big router has a
/// few hundred.
pub const MAX_ROWS: usize = 4096;
/// Rows allowed beyond the ones asked for, in commands that name their
/// interfaces.
const ROW_SLACK: usize = 16;
/// Most `!trap`s in one reply (RouterOS sends one or two).
pub const MAX_TRAPS: usize = 16;
/// Most bytes of rows kept of one reply.
pub const MAX_REPLY_BYTES: u64 = 4 << 20;
/// Most sentences of other commands skipped while waiting for one reply.
const MAX_SKIPPED: usize = 4096;
/// The decoder's limits for replies: a row of the interface list with every
/// property is about 2 KiB.
const REPLY_LIMITS: Limits = Limits {
    max_word: 64 << 10,
    max_sentence: 256 << 10,
    max_words: 1024,
};
/// Longest router text kept in an error message, in characters.
const MAX_SHOWN: usize = 300;
/// Traps shown in an error message; the others are counted.
const TRAPS_SHOWN: usize = 3;
/// Interface names shown in an unknown-interface message.
const NAMES_SHOWN: usize = 32;

/// Deadlines of a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Options {
    /// How long to wait for the TCP connection, per address tried.
    pub connect_timeout: Duration,
    /// How long any one read or write may block.
    pub io_timeout: Duration,
}

impl Default for Options {
    /// 5 s to connect, 10 s per read or write (the original's socket
    /// timeout).
    fn default() -> Options {
        Options {
            connect_timeout: Duration::from_secs(5),
            io_timeout: Duration::from_secs(10),
        }
    }
}

/// Why a session or a command failed. Each message names the cause and, when
/// there is one, the fix.
#[derive(Debug)]
pub enum Error {
    /// The host name did not resolve.
    Resolve {
        /// The name as given.
        host: String,
        /// The resolver's message.
        detail: String,
    },
    /// The host answered but nothing listens on the port.
    Refused {
        /// The address tried.
        addr: String,
    },
    /// The host did not answer the connection attempt, or no route leads
    /// to it.
    Unreachable {
        /// The address tried.
        addr: String,
        /// What the system said.
        detail: String,
    },
    /// Connected, but the router did not answer in time.
    Timeout {
        /// The router's address.
        addr: String,
        /// What was awaited.
        waiting_for: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The router refused the user name or password.
    BadCredentials {
        /// The user name sent.
        user: String,
        /// The router's message.
        message: String,
    },
    /// The user exists but its group lacks the `api` policy.
    NotAllowed {
        /// The user name sent.
        user: String,
        /// The router's message.
        message: String,
    },
    /// A command needs a policy (usually `read`) that the user lacks.
    Permission {
        /// The command refused.
        command: String,
        /// The router's message.
        message: String,
    },
    /// An interface name the router does not have.
    UnknownInterface {
        /// The name asked for.
        name: String,
        /// The names the router has.
        available: Vec<String>,
    },
    /// The router closed the connection (or reset it).
    Closed {
        /// The router's address.
        addr: String,
        /// What was going on.
        during: String,
    },
    /// The router ended the session with `!fatal`.
    Fatal {
        /// The reason it gave (escaped, cut short).
        reason: String,
    },
    /// A command failed with `!trap` for a reason not listed above.
    Trap {
        /// The command.
        command: String,
        /// The trap category, when given.
        category: Option<u32>,
        /// The router's message (several traps joined with "; ").
        message: String,
    },
    /// The port answered with TLS: it is an API-SSL port.
    TlsMismatch {
        /// The address tried.
        addr: String,
    },
    /// The router sent something the protocol does not allow.
    Protocol {
        /// The router's address.
        addr: String,
        /// What was wrong.
        detail: String,
        /// The last bytes received, as hex.
        recent: String,
    },
    /// Any other socket error.
    Io {
        /// The router's address.
        addr: String,
        /// The error.
        source: io::Error,
    },
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Resolve { host, detail } => write!(
                f,
                "cannot resolve router host name {host:?}: {detail}; check the name or use an IP address"
            ),
            Error::Refused { addr } => write!(
                f,
                "connection to {addr} refused: nothing listens there; check that the router's API service is enabled (/ip service enable api) and the port is right (8728)"
            ),
            Error::Unreachable { addr, detail } => write!(
                f,
                "router {addr} unreachable: {detail}; check the address and that this machine can reach it"
            ),
            Error::Timeout {
                addr,
                waiting_for,
                after,
            } => write!(
                f,
                "router {addr} did not answer within {} s while waiting for {waiting_for}; it may be overloaded, or a firewall may drop API traffic",
                shortest(after.as_secs_f64())
            ),
            Error::BadCredentials { user, message } => write!(
                f,
                "router refused the login of user {user:?} ({message}); check the user name and password"
            ),
            Error::NotAllowed { user, message } => write!(
                f,
                "user {user:?} may not use the API ({message}); give the user's group the 'api' policy"
            ),
            Error::Permission { command, message } => write!(
                f,
                "router refused {command} ({message}); give the user's group the 'read' policy"
            ),
            Error::UnknownInterface { name, available } => {
                let shown: Vec<String> = available
                    .iter()
                    .take(NAMES_SHOWN)
                    .map(|n| escape(n).into_owned())
                    .collect();
                write!(
                    f,
                    "the router has no interface \"{}\"; it has: {}",
                    escape(name),
                    shown.join(", ")
                )?;
                match available.len() > NAMES_SHOWN {
                    true => write!(f, ", … ({} in all)", available.len()),
                    false => Ok(()),
                }
            }
            Error::Closed { addr, during } => {
                write!(f, "router {addr} closed the connection while {during}")
            }
            Error::Fatal { reason } => write!(f, "router ended the session: {reason}"),
            Error::Trap {
                command,
                category,
                message,
            } => match category.and_then(trap_category_meaning) {
                Some(meaning) => write!(f, "{command} failed: {message} ({meaning})"),
                None => write!(f, "{command} failed: {message}"),
            },
            Error::TlsMismatch { addr } => write!(
                f,
                "{addr} answered with TLS: that is the API-SSL port; use the plain API port (8728)"
            ),
            Error::Protocol {
                addr,
                detail,
                recent,
            } => write!(
                f,
                "protocol error from router {addr}: {detail} (last bytes received: {recent})"
            ),
            Error::Io { addr, source } => write!(f, "connection to router {addr} failed: {source}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The documented meanings of `!trap` categories.
fn trap_category_meaning(category: u32) -> Option<&'static str> {
    Some(match category {
        0 => "missing item or command",
        1 => "argument value failure",
        2 => "execution of command interrupted",
        3 => "scripting related failure",
        4 => "general failure",
        5 => "API related failure",
        6 => "TTY related failure",
        7 => "value generated with :return",
        _ => return None,
    })
}

/// An interface as `/interface/print` lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interface {
    /// The name commands refer to it by.
    pub name: String,
    /// `ether`, `bridge`, `vlan`, `wlan`, …
    pub kind: String,
    /// Whether the link is up.
    pub running: bool,
    /// Whether it is administratively disabled.
    pub disabled: bool,
    /// The comment, decoded lossily (WinBox may write a Windows code page).
    pub comment: Option<String>,
}

/// An interface's 64-bit byte counters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counters {
    /// The interface name.
    pub name: String,
    /// The router's internal id (`.id`, e.g. `*1`): it changes when an
    /// interface is deleted and re-created under the same name.
    pub id: Option<String>,
    /// Bytes received since the counters were last reset.
    pub rx_bytes: u64,
    /// Bytes sent since the counters were last reset.
    pub tx_bytes: u64,
}

/// An interface's rates as `monitor-traffic` reports them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rates {
    /// The interface name.
    pub name: String,
    /// Received bits per second.
    pub rx_bps: u64,
    /// Sent bits per second.
    pub tx_bps: u64,
}

/// What `/system/resource/print` says about the router.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Time since the router booted; a smaller value than before means it
    /// rebooted.
    pub uptime: Duration,
    /// RouterOS version, e.g. `7.19.4 (stable)`.
    pub version: String,
    /// Hardware model.
    pub board_name: String,
}

/// A command's answer: its `!re` rows and the attributes of its `!done`.
/// An `!empty` reply yields no rows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Response {
    /// The data rows, in order.
    pub rows: Vec<Attrs>,
    /// What `!done` carried (e.g. `ret`).
    pub done: Attrs,
}

/// A connected session with a router.
#[derive(Debug)]
pub struct Client {
    stream: TcpStream,
    addr: String,
    options: Options,
    decoder: Decoder,
    next_tag: u64,
    /// The first bytes the router sent, to recognise a TLS server.
    first_bytes: Vec<u8>,
    /// The last bytes the router sent, for protocol error messages.
    recent: Vec<u8>,
    /// The read timeout set on the socket now.
    read_timeout: Duration,
    /// The bytes of the last command sent (kept for the next one's).
    out: Vec<u8>,
    /// The last counters request, and the interfaces it asks for: the
    /// collector asks the same one every second.
    counters_request: Option<(Vec<String>, Command)>,
}

const RECENT_BYTES: usize = 32;

impl Client {
    /// Connects to `host` (an IPv4 or IPv6 address, bracketed or not, or a
    /// host name) on `port`, trying each resolved address in turn.
    pub fn connect(host: &str, port: u16, options: Options) -> Result<Client, Error> {
        let bare = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        let addrs: Vec<SocketAddr> = match bare.parse::<IpAddr>() {
            Ok(ip) => vec![SocketAddr::new(ip, port)],
            Err(_) => (bare, port)
                .to_socket_addrs()
                .map_err(|e| Error::Resolve {
                    host: host.to_string(),
                    detail: e.to_string(),
                })?
                .collect(),
        };
        let mut last_error = Error::Resolve {
            host: host.to_string(),
            detail: "no addresses".to_string(),
        };
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, options.connect_timeout) {
                Ok(stream) => return Client::from_stream(stream, addr.to_string(), options),
                Err(e) => last_error = connect_error(addr.to_string(), e, options.connect_timeout),
            }
        }
        Err(last_error)
    }

    fn from_stream(stream: TcpStream, addr: String, options: Options) -> Result<Client, Error> {
        let setup = stream
            .set_read_timeout(Some(options.io_timeout))
            .and_then(|()| stream.set_write_timeout(Some(options.io_timeout)))
            .and_then(|()| stream.set_nodelay(true));
        if let Err(source) = setup {
            return Err(Error::Io { addr, source });
        }
        Ok(Client {
            stream,
            addr,
            options,
            decoder: Decoder::with_limits(REPLY_LIMITS),
            next_tag: 1,
            first_bytes: Vec::new(),
            recent: Vec::new(),
            read_timeout: options.io_timeout,
            out: Vec::new(),
            counters_request: None,
        })
    }

    /// The router's address as connected (`ip:port`).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Logs in with the RouterOS 6.43+ method (name and password in one
    /// sentence). A router older than 6.43 answers that with a challenge
    /// (`=ret=`); the MD5 challenge response follows then.
    pub fn login(&mut self, user: &str, password: &str) -> Result<(), Error> {
        let plain = Command::new("/login")
            .attr("name", user)
            .attr("password", password);
        let response = self.run(plain).map_err(|e| login_error(user, e))?;
        let Some(challenge) = response.done.get("ret") else {
            return Ok(());
        };
        let challenge = from_hex(challenge).ok_or_else(|| Error::Protocol {
            addr: self.addr.clone(),
            detail: format!("login challenge is not hex: {}", wire::quote(challenge)),
            recent: wire::hex(&self.recent),
        })?;
        let legacy = Command::new("/login")
            .attr("name", user)
            .attr("response", legacy_response(password.as_bytes(), &challenge));
        self.run(legacy).map(drop).map_err(|e| login_error(user, e))
    }

    /// Sends a command (tagged by the client) and collects its replies up to
    /// its `!done`, within one `io_timeout` for the whole reply and at most
    /// [`MAX_ROWS`] rows. One or more `!trap`s make it fail, after the
    /// `!done` has been read so the session stays usable.
    pub fn run(&mut self, command: Command) -> Result<Response, Error> {
        self.run_bounded(&command, MAX_ROWS)
    }

    /// [`Client::run`] with at most `max_rows` rows (and [`MAX_TRAPS`]
    /// traps, [`MAX_REPLY_BYTES`] of rows, [`MAX_SKIPPED`] sentences of
    /// other commands); more is a protocol error.
    fn run_bounded(&mut self, command: &Command, max_rows: usize) -> Result<Response, Error> {
        let path = String::from_utf8_lossy(&command.path);
        let name = escape(&path);
        let tag = self.send(command)?;
        let deadline = self.deadline();
        let mut response = Response::default();
        let mut traps = Vec::new();
        let (mut bytes, mut skipped) = (0u64, 0usize);
        loop {
            let (reply, size) = self.read_reply(&name, deadline)?;
            if reply.tag.as_deref() != Some(tag.as_slice()) {
                skipped += 1;
                if skipped > MAX_SKIPPED {
                    return Err(self.too_many(&name, MAX_SKIPPED, "replies to other commands"));
                }
                continue;
            }
            match reply.kind {
                ReplyKind::Re(attrs) => {
                    bytes += size;
                    if response.rows.len() >= max_rows {
                        return Err(self.too_many(&name, max_rows, "rows"));
                    }
                    if bytes > MAX_REPLY_BYTES {
                        return Err(self.too_many(
                            &name,
                            MAX_REPLY_BYTES as usize,
                            "bytes of rows",
                        ));
                    }
                    response.rows.push(attrs);
                }
                ReplyKind::Empty(_) | ReplyKind::Unknown { .. } => {}
                ReplyKind::Trap(trap) => {
                    if traps.len() >= MAX_TRAPS {
                        return Err(self.too_many(&name, MAX_TRAPS, "traps"));
                    }
                    traps.push(trap);
                }
                ReplyKind::Done(attrs) => {
                    response.done = attrs;
                    break;
                }
                ReplyKind::Fatal(_) => unreachable!("read_reply turns !fatal into an error"),
            }
        }
        match traps_error(&name, &traps) {
            Some(error) => Err(error),
            None => Ok(response),
        }
    }

    /// Every interface: name, type, running and disabled state, comment.
    pub fn interfaces(&mut self) -> Result<Vec<Interface>, Error> {
        let command = Command::new("/interface/print")
            .attr(".proplist", "name,type,running,disabled,comment");
        let response = self.run(command)?;
        let mut interfaces = Vec::new();
        for row in &response.rows {
            let Some(name) = row.get_lossy("name") else {
                continue;
            };
            interfaces.push(Interface {
                name: name.into_owned(),
                kind: row.get_lossy("type").unwrap_or_default().into_owned(),
                running: self.boolean(row, "running")?,
                disabled: self.boolean(row, "disabled")?,
                comment: row.get_lossy("comment").map(|c| c.into_owned()),
            });
        }
        Ok(interfaces)
    }

    /// The 64-bit byte counters of the named interfaces, read in one
    /// request, in the order of `names`; `None` for a name the router does
    /// not list (deleted, renamed, or never there), so that one missing
    /// interface does not stop the others.
    pub fn counters(&mut self, names: &[&str]) -> Result<Vec<Option<Counters>>, Error> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let (asked, command) = match self.counters_request.take() {
            Some((asked, command)) if asked == names => (asked, command),
            _ => (
                names.iter().map(|name| name.to_string()).collect(),
                counters_command(names),
            ),
        };
        let response = self.run_bounded(&command, names.len() + ROW_SLACK);
        self.counters_request = Some((asked, command));
        let response = response?;
        let mut counters = Vec::with_capacity(names.len());
        for name in names {
            let Some(row) = response
                .rows
                .iter()
                .find(|row| row.get("name") == Some(name.as_bytes()))
            else {
                counters.push(None);
                continue;
            };
            counters.push(Some(Counters {
                name: name.to_string(),
                id: row.get_lossy(".id").map(|id| id.into_owned()),
                rx_bytes: self.number(row, "rx-byte")?,
                tx_bytes: self.number(row, "tx-byte")?,
            }));
        }
        Ok(counters)
    }

    /// One `monitor-traffic` sample of the named interfaces, in the order of
    /// `names`.
    pub fn monitor_traffic_once(&mut self, names: &[&str]) -> Result<Vec<Rates>, Error> {
        let command = Command::new("/interface/monitor-traffic")
            .attr("interface", names.join(","))
            .attr("once", "");
        let response = match self.run_bounded(&command, names.len() + ROW_SLACK) {
            Err(Error::Trap { .. }) => return Err(self.unknown_interface(names)),
            other => other?,
        };
        if response.rows.len() != names.len() {
            return Err(self.protocol(format!(
                "monitor-traffic returned {} rows for {} interfaces",
                response.rows.len(),
                names.len()
            )));
        }
        names
            .iter()
            .zip(&response.rows)
            .map(|(name, row)| self.rates(name, row))
            .collect()
    }

    /// Starts a streaming `monitor-traffic` that reports every `interval`
    /// until cancelled. Read rows with [`Monitor::next`]; end it with
    /// [`Monitor::cancel`]. Dropping the monitor without cancelling leaves
    /// the stream running on the router; its rows are then skipped by later
    /// commands on this session.
    pub fn monitor_traffic(
        &mut self,
        names: &[&str],
        interval: Duration,
    ) -> Result<Monitor<'_>, Error> {
        let command = Command::new("/interface/monitor-traffic")
            .attr("interface", names.join(","))
            .attr("interval", format!("{}ms", interval.as_millis().max(1)));
        let tag = self.send(&command)?;
        Ok(Monitor {
            client: self,
            tag,
            names: names.iter().map(|n| n.to_string()).collect(),
            next_index: 0,
            finished: false,
        })
    }

    /// The router's uptime, version and board.
    pub fn resource(&mut self) -> Result<Resource, Error> {
        let command =
            Command::new("/system/resource/print").attr(".proplist", "uptime,version,board-name");
        let response = self.run_bounded(&command, ROW_SLACK)?;
        let Some(row) = response.rows.first() else {
            return Err(self.protocol("/system/resource/print returned no row".to_string()));
        };
        let uptime_text = row.get("uptime").unwrap_or_default();
        let uptime = parse_uptime(uptime_text).ok_or_else(|| {
            self.protocol(format!(
                "uptime {} is not a duration",
                wire::quote(uptime_text)
            ))
        })?;
        Ok(Resource {
            uptime,
            version: row.get_lossy("version").unwrap_or_default().into_owned(),
            board_name: row.get_lossy("board-name").unwrap_or_default().into_owned(),
        })
    }

    /// Logs off with `/quit` (the router answers `!fatal` and closes) and
    /// closes the socket. Errors are of no use at this point and ignored.
    pub fn quit(mut self) {
        if self
            .write(&wire::Sentence::new(&["/quit"]).to_bytes())
            .is_ok()
        {
            let deadline = self.deadline();
            let _ = self.read_reply("/quit", deadline);
        }
    }

    /// Sends `command` with the session's next tag (whatever its own), and
    /// returns that tag.
    fn send(&mut self, command: &Command) -> Result<Vec<u8>, Error> {
        let tag = self.next_tag.to_string().into_bytes();
        self.next_tag += 1;
        let mut out = std::mem::take(&mut self.out);
        out.clear();
        command.encode_tagged(&tag, &mut out);
        let sent = self.write(&out);
        self.out = out;
        sent.map(|()| tag)
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), Error> {
        self.stream
            .write_all(bytes)
            .map_err(|e| self.io_error(e, "sending a command"))
    }

    /// When a reply that starts now must be complete.
    fn deadline(&self) -> Instant {
        let now = Instant::now();
        now.checked_add(self.options.io_timeout).unwrap_or(now)
    }

    /// The error for a reply with more of something than allowed.
    fn too_many(&self, command: &str, limit: usize, what: &str) -> Error {
        self.protocol(format!(
            "the answer to {command} has more than {limit} {what}"
        ))
    }

    /// The next reply sentence on the session, whatever its tag, and its
    /// size in bytes, before `deadline`. `!fatal` becomes [`Error::Fatal`];
    /// an untagged reply other than `!fatal` is a protocol error, since
    /// every command this client sends is tagged.
    fn read_reply(&mut self, command: &str, deadline: Instant) -> Result<(Reply, u64), Error> {
        loop {
            match self.decoder.next() {
                Ok(Some(sentence)) => {
                    let size = sentence.words.iter().map(|w| w.len() as u64).sum();
                    let reply =
                        Reply::parse(&sentence).map_err(|e| self.protocol(e.to_string()))?;
                    return match (&reply.kind, &reply.tag) {
                        (ReplyKind::Fatal(reason), _) => Err(Error::Fatal {
                            reason: shown(escape_bytes(reason)),
                        }),
                        (_, None) => {
                            Err(self.protocol(format!("untagged reply {sentence} to {command}")))
                        }
                        (_, Some(_)) => Ok((reply, size)),
                    };
                }
                Ok(None) => {}
                Err(e) => return Err(self.protocol(e.to_string())),
            }
            // Only now, and not for a sentence already decoded: an idle
            // collector wakes for each reply with cold caches.
            let mut buffer = [0u8; 8192];
            let left = deadline.saturating_duration_since(Instant::now());
            let waiting = || format!("waiting for the answer to {command}");
            if left.is_zero() {
                return Err(self.io_error(io::ErrorKind::TimedOut.into(), &waiting()));
            }
            // A read waits at most the socket's timeout, so the one set
            // stays while it ends by the deadline. Set in steps of 100 ms,
            // it changes at most every 100 ms of waiting, and not at all
            // while replies come quickly: no system call per reply.
            if self.read_timeout > left {
                let timeout = read_timeout_within(left);
                if let Err(e) = self.stream.set_read_timeout(Some(timeout)) {
                    return Err(self.io_error(e, &waiting()));
                }
                self.read_timeout = timeout;
            }
            let read = self.stream.read(&mut buffer);
            let n = match read {
                Ok(0) => return Err(self.closed(command)),
                Ok(n) => n,
                Err(e) => return Err(self.io_error(e, &waiting())),
            };
            let bytes = &buffer[..n];
            if self.first_bytes.len() < 3 {
                let want = (3 - self.first_bytes.len()).min(n);
                self.first_bytes.extend_from_slice(&bytes[..want]);
            }
            self.recent.extend_from_slice(bytes);
            let excess = self.recent.len().saturating_sub(RECENT_BYTES);
            self.recent.drain(..excess);
            self.decoder.feed(bytes);
        }
    }

    /// Whether the first bytes received look like a TLS record (handshake or
    /// alert, version 3.x): the port is an API-SSL one.
    fn looks_like_tls(&self) -> bool {
        matches!(self.first_bytes.as_slice(), [0x15 | 0x16, 0x03, ..])
    }

    fn closed(&self, command: &str) -> Error {
        if self.looks_like_tls() {
            return Error::TlsMismatch {
                addr: self.addr.clone(),
            };
        }
        let during = if self.decoder.in_sentence() {
            format!("in the middle of the answer to {command}")
        } else {
            format!("waiting for the answer to {command}")
        };
        Error::Closed {
            addr: self.addr.clone(),
            during,
        }
    }

    fn protocol(&self, detail: String) -> Error {
        if self.looks_like_tls() {
            return Error::TlsMismatch {
                addr: self.addr.clone(),
            };
        }
        Error::Protocol {
            addr: self.addr.clone(),
            detail: shown(escape(&detail).into_owned()),
            recent: wire::hex(&self.recent),
        }
    }

    fn io_error(&self, error: io::Error, during: &str) -> Error {
        match error.kind() {
            io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => Error::Timeout {
                addr: self.addr.clone(),
                waiting_for: during
                    .strip_prefix("waiting for ")
                    .unwrap_or(during)
                    .to_string(),
                after: self.options.io_timeout,
            },
            io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof => Error::Closed {
                addr: self.addr.clone(),
                during: during.to_string(),
            },
            _ => Error::Io {
                addr: self.addr.clone(),
                source: error,
            },
        }
    }

    /// The error for names the router did not report: which one is missing,
    /// with the router's list, or the list call's own error.
    fn unknown_interface(&mut self, names: &[&str]) -> Error {
        let available = match self.interfaces() {
            Ok(interfaces) => interfaces
                .into_iter()
                .map(|i| escape(&i.name).into_owned())
                .collect::<Vec<_>>(),
            Err(e) => return e,
        };
        match names.iter().find(|n| !available.iter().any(|a| a == *n)) {
            Some(name) => Error::UnknownInterface {
                name: name.to_string(),
                available,
            },
            None => self.protocol(format!(
                "router rejected interfaces {} that it lists",
                names.join(", ")
            )),
        }
    }

    fn rates(&self, name: &str, row: &Attrs) -> Result<Rates, Error> {
        if let Some(reported) = row.get("name") {
            if reported != name.as_bytes() {
                return Err(self.protocol(format!(
                    "monitor-traffic row for {} where {name:?} was expected",
                    wire::quote(reported)
                )));
            }
        }
        Ok(Rates {
            name: name.to_string(),
            rx_bps: self.number(row, "rx-bits-per-second")?,
            tx_bps: self.number(row, "tx-bits-per-second")?,
        })
    }

    fn number(&self, row: &Attrs, name: &str) -> Result<u64, Error> {
        let value = row.get(name).unwrap_or_default();
        wire::parse_decimal(value).ok_or_else(|| {
            self.protocol(format!(
                "attribute {name} should be a number, got {}",
                wire::quote(value)
            ))
        })
    }

    /// A RouterOS boolean: `true`/`yes` or `false`/`no` (API replies use the
    /// former, older examples the latter); absent means false.
    fn boolean(&self, row: &Attrs, name: &str) -> Result<bool, Error> {
        match row.get(name) {
            None | Some(b"false" | b"no") => Ok(false),
            Some(b"true" | b"yes") => Ok(true),
            Some(other) => Err(self.protocol(format!(
                "attribute {name} should be true or false, got {}",
                wire::quote(other)
            ))),
        }
    }
}

/// The request for the counters of `names`: one `?name=` query each,
/// or-ed together.
fn counters_command(names: &[&str]) -> Command {
    let mut command =
        Command::new("/interface/print").attr(".proplist", ".id,name,rx-byte,tx-byte");
    for name in names {
        command = command.query(format!("name={name}"));
    }
    if names.len() > 1 {
        command = command.query(format!("#{}", "|".repeat(names.len() - 1)));
    }
    command
}

/// A running streaming `monitor-traffic`.
#[derive(Debug)]
pub struct Monitor<'a> {
    client: &'a mut Client,
    tag: Vec<u8>,
    names: Vec<String>,
    /// Which name the next row without a `name` attribute belongs to.
    next_index: usize,
    finished: bool,
}

impl Monitor<'_> {
    /// The next row, `Ok(None)` once the router ended the stream. Rows come
    /// in the order of the names given, one per interface per interval.
    #[allow(clippy::should_implement_trait)] // Fallible, so not an Iterator.
    pub fn next(&mut self) -> Result<Option<Rates>, Error> {
        const COMMAND: &str = "/interface/monitor-traffic";
        let mut traps = 0;
        let mut skipped = 0;
        let deadline = self.client.deadline();
        while !self.finished {
            let (reply, _) = self.client.read_reply(COMMAND, deadline)?;
            if reply.tag.as_deref() != Some(self.tag.as_slice()) {
                skipped += 1;
                if skipped > MAX_SKIPPED {
                    let what = "replies to other commands";
                    return Err(self.client.too_many(COMMAND, MAX_SKIPPED, what));
                }
                continue;
            }
            match reply.kind {
                ReplyKind::Re(row) => {
                    let name = match row.get_lossy("name") {
                        Some(name) => name.into_owned(),
                        None => self.names[self.next_index % self.names.len().max(1)].clone(),
                    };
                    self.next_index = self
                        .names
                        .iter()
                        .position(|n| *n == name)
                        .map_or(0, |i| i + 1);
                    return self.client.rates(&name, &row).map(Some);
                }
                ReplyKind::Trap(_) => {
                    traps += 1;
                    if traps > MAX_TRAPS {
                        return Err(self.client.too_many(COMMAND, MAX_TRAPS, "traps"));
                    }
                }
                ReplyKind::Done(_) => self.finished = true,
                ReplyKind::Empty(_) | ReplyKind::Unknown { .. } | ReplyKind::Fatal(_) => {}
            }
        }
        if traps == 0 {
            return Ok(None);
        }
        let names: Vec<&str> = self.names.iter().map(String::as_str).collect();
        Err(self.client.unknown_interface(&names))
    }

    /// Stops the stream with `/cancel` and reads up to both `!done`s (the
    /// cancelled command's `interrupted` trap is expected and skipped).
    pub fn cancel(self) -> Result<(), Error> {
        if self.finished {
            return Ok(());
        }
        let cancel_tag = self
            .client
            .send(&Command::new("/cancel").attr("tag", &self.tag))?;
        let (mut stream_done, mut cancel_done) = (false, false);
        let deadline = self.client.deadline();
        while !(stream_done && cancel_done) {
            let (reply, _) = self.client.read_reply("/cancel", deadline)?;
            let is_done = matches!(reply.kind, ReplyKind::Done(_));
            match reply.tag {
                Some(tag) if tag == self.tag => stream_done |= is_done,
                Some(tag) if tag == cancel_tag => cancel_done |= is_done,
                _ => {}
            }
        }
        Ok(())
    }
}

/// Parses a RouterOS duration as `/system/resource` reports uptime:
/// `1w2d3h4m5s` (any units omitted), optionally with `hh:mm:ss` in place of
/// hours, minutes and seconds (`2w1d05:06:07`, older versions).
pub fn parse_uptime(text: &[u8]) -> Option<Duration> {
    if text.is_empty() {
        return None;
    }
    let mut seconds: u64 = 0;
    let mut number: Option<u64> = None;
    let mut rest = text;
    while let Some((&c, tail)) = rest.split_first() {
        if let [h1, h2, b':', m1, m2, b':', s1, s2, after @ ..] = rest {
            if number.is_some() {
                return None;
            }
            let two = |a: u8, b: u8| wire::parse_decimal::<u64>(&[a, b]);
            let (h, m, s) = (two(*h1, *h2)?, two(*m1, *m2)?, two(*s1, *s2)?);
            if m >= 60 || s >= 60 {
                return None;
            }
            seconds = seconds.checked_add(h * 3600 + m * 60 + s)?;
            rest = after;
            continue;
        }
        rest = tail;
        if c.is_ascii_digit() {
            let digit = u64::from(c - b'0');
            number = Some(number.unwrap_or(0).checked_mul(10)?.checked_add(digit)?);
            continue;
        }
        let unit = match c {
            b'w' => 7 * 86400,
            b'd' => 86400,
            b'h' => 3600,
            b'm' => 60,
            b's' => 1,
            _ => return None,
        };
        seconds = seconds.checked_add(number.take()?.checked_mul(unit)?)?;
    }
    if number.is_some() {
        return None;
    }
    Some(Duration::from_secs(seconds))
}

/// Maps a failed connection attempt to the error a person can act on.
/// The socket read timeout for `left` (not zero) until a deadline: `left`
/// rounded down to a tenth of a second, or `left` itself below 0.2 s.
fn read_timeout_within(left: Duration) -> Duration {
    const STEP: u64 = 100_000_000;
    if left.as_nanos() < u128::from(2 * STEP) {
        return left;
    }
    // Below STEP, so the cast keeps the value.
    left - Duration::from_nanos((left.as_nanos() % u128::from(STEP)) as u64)
}

fn connect_error(addr: String, error: io::Error, timeout: Duration) -> Error {
    match error.kind() {
        io::ErrorKind::ConnectionRefused => Error::Refused { addr },
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Error::Unreachable {
            addr,
            detail: format!("no answer within {} s", shortest(timeout.as_secs_f64())),
        },
        io::ErrorKind::HostUnreachable | io::ErrorKind::NetworkUnreachable => Error::Unreachable {
            addr,
            detail: error.to_string(),
        },
        _ => Error::Io {
            addr,
            source: error,
        },
    }
}

/// Router text cut to [`MAX_SHOWN`] characters.
fn shown(text: String) -> String {
    match text.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// The error for a command's traps, if it had any: the first few messages
/// (escaped, cut short), and how many more there were.
fn traps_error(command: &str, traps: &[wire::Trap]) -> Option<Error> {
    let first = traps.first()?;
    let mut message = traps
        .iter()
        .take(TRAPS_SHOWN)
        .map(|t| shown(escape_bytes(&t.message)))
        .collect::<Vec<_>>()
        .join("; ");
    if traps.len() > TRAPS_SHOWN {
        message.push_str(&format!("; and {} more", traps.len() - TRAPS_SHOWN));
    }
    if message.contains("not enough permissions") {
        return Some(Error::Permission {
            command: command.to_string(),
            message,
        });
    }
    Some(Error::Trap {
        command: command.to_string(),
        category: first.category,
        message,
    })
}

/// Reads a failed `/login` for what it means.
fn login_error(user: &str, error: Error) -> Error {
    let Error::Trap { message, .. } = error else {
        return error;
    };
    let user = user.to_string();
    if message.contains("not allowed") {
        Error::NotAllowed { user, message }
    } else {
        Error::BadCredentials { user, message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_timeouts_end_by_the_deadline_in_steps_of_a_tenth() {
        let ms = Duration::from_millis;
        assert_eq!(read_timeout_within(ms(9_999)), ms(9_900));
        assert_eq!(
            read_timeout_within(Duration::from_nanos(10_000_000_000)),
            ms(10_000)
        );
        assert_eq!(read_timeout_within(ms(250)), ms(200));
        assert_eq!(read_timeout_within(ms(199)), ms(199));
        assert_eq!(
            read_timeout_within(Duration::from_nanos(1)),
            Duration::from_nanos(1)
        );
        for nanos in [200_000_000u64, 200_000_001, 1_234_567_890, 599_999_999_999] {
            let left = Duration::from_nanos(nanos);
            let set = read_timeout_within(left);
            assert!(
                set <= left && left - set < ms(100) && !set.is_zero(),
                "{left:?}"
            );
        }
    }

    #[test]
    fn uptimes() {
        let check = |text: &str, seconds: Option<u64>| {
            assert_eq!(
                parse_uptime(text.as_bytes()),
                seconds.map(Duration::from_secs),
                "{text}"
            );
        };
        check("5s", Some(5));
        check("4m12s", Some(252));
        check(
            "1w2d3h4m5s",
            Some(7 * 86400 + 2 * 86400 + 3 * 3600 + 4 * 60 + 5),
        );
        check("3w", Some(21 * 86400));
        check("2w1d05:06:07", Some(15 * 86400 + 5 * 3600 + 6 * 60 + 7));
        check("05:06:07", Some(5 * 3600 + 6 * 60 + 7));
        check("", None);
        check("12", None);
        check("1x", None);
        check("s", None);
        check("1d05:66:07", None);
        check("99999999999999999999w", None);
    }

    #[test]
    fn trap_classification() {
        let trap = |message: &str| wire::Trap {
            category: None,
            message: message.as_bytes().to_vec(),
        };
        assert!(traps_error("/x", &[]).is_none());
        assert!(matches!(
            traps_error("/interface/print", &[trap("not enough permissions (9)")]),
            Some(Error::Permission { .. })
        ));
        let two = traps_error(
            "/adress",
            &[
                wire::Trap {
                    category: Some(0),
                    message: b"no such command or directory (adress)".to_vec(),
                },
                trap("no such command prefix"),
            ],
        )
        .unwrap();
        assert_eq!(
            two.to_string(),
            "/adress failed: no such command or directory (adress); no such command prefix (missing item or command)"
        );
        let login = |message: &str| {
            login_error(
                "u",
                Error::Trap {
                    command: "/login".into(),
                    category: None,
                    message: message.into(),
                },
            )
        };
        assert!(matches!(
            login("invalid user name or password (6)"),
            Error::BadCredentials { .. }
        ));
        assert!(matches!(
            login("cannot log in"),
            Error::BadCredentials { .. }
        ));
        assert!(matches!(
            login("std failure: not allowed (9)"),
            Error::NotAllowed { .. }
        ));
    }
}

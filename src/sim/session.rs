//! One API session of the simulated router: a small blocking event loop
//! that reads sentences, answers commands, paces `monitor-traffic` streams
//! and applies the current [`Fault`] to every sentence it reads and writes.
//!
//! The loop reads with a short timeout, so a session can take a `/cancel`
//! while a stream runs and notices a reboot or shutdown within one poll.
//! Decisions about logins, filters, time values and rows are made by the
//! pure sibling modules; this module only moves sentences. It never panics
//! on input: a protocol error ends this session alone, with a `!fatal`.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use super::duration::parse_duration;
use super::login::{self, Outcome};
use super::{Fault, Shared, lock, query, traffic};
use crate::routeros::wire::{Attrs, Command, Decoder, Reply, ReplyKind, Sentence, Trap};

/// Serves one connection until the peer leaves, a command or fault ends
/// it, or the simulator closes it (`closed`, or shutdown).
pub(crate) fn run(shared: &Shared, stream: TcpStream, id: u64, closed: &AtomicBool) {
    let peer = stream.peer_addr().ok();
    log::debug!("routeros-sim session {id}: opened by {peer:?}");
    let mut session = Session {
        shared,
        stream,
        closed,
        decoder: Decoder::new(),
        received: 0,
        user: None,
        challenge: None,
        streams: Vec::new(),
        rng: traffic::mix(shared.options.seed ^ id.rotate_left(32)),
    };
    match session.serve() {
        Ok(()) => log::debug!("routeros-sim session {id}: closed"),
        Err(e) => log::debug!("routeros-sim session {id}: ended: {e}"),
    }
    // The peer may have gone already; there is nothing left to tell it.
    let _ = session.stream.shutdown(Shutdown::Both);
}

/// The longest a session blocks in `read` before it checks its streams and
/// whether it was closed.
const POLL: Duration = Duration::from_millis(25);

/// The bytes of [`Fault::Garbage`]: a reserved control byte first, so any
/// decoder fails at once, then some noise.
const GARBAGE: &[u8] = b"\xf8\xff\x07garbage\x00\xfe";

/// The shortest and longest `=interval=` of a stream (RESTRAML
/// `interface.monitor-traffic`).
const MIN_INTERVAL: Duration = Duration::from_millis(20);
const MAX_INTERVAL: Duration = Duration::from_secs(5);

struct Session<'a> {
    shared: &'a Shared,
    stream: TcpStream,
    closed: &'a AtomicBool,
    decoder: Decoder,
    /// Sentences received so far, for [`Fault::DropAfter`].
    received: usize,
    /// The index of the logged-in user.
    user: Option<usize>,
    /// The last login challenge issued and not yet answered.
    challenge: Option<Vec<u8>>,
    streams: Vec<Stream>,
    rng: u64,
}

/// A running `monitor-traffic` without `once`.
struct Stream {
    tag: Option<Vec<u8>>,
    interfaces: Vec<usize>,
    interval: Duration,
    next_at: Instant,
    ends_at: Option<Instant>,
    /// Emissions so far; each row carries it as `=.section=`.
    section: u64,
}

/// Whether the session goes on after a sentence.
enum Flow {
    Continue,
    Close,
}

impl Session<'_> {
    fn serve(&mut self) -> io::Result<()> {
        self.stream.set_nodelay(true)?;
        if self.shared.fault() == Fault::DropAfter(0) {
            return Ok(());
        }
        let mut buffer = vec![0u8; 16 * 1024];
        loop {
            if self.ending() {
                return Ok(());
            }
            self.stream.set_read_timeout(Some(self.next_wakeup()))?;
            match self.stream.read(&mut buffer) {
                Ok(0) => return Ok(()),
                Ok(n) => {
                    self.decoder.feed(&buffer[..n]);
                    if let Flow::Close = self.drain_decoder()? {
                        return Ok(());
                    }
                }
                Err(e) if is_timeout(&e) => {}
                Err(e) => return Err(e),
            }
            if let Flow::Close = self.emit_streams()? {
                return Ok(());
            }
        }
    }

    /// Handles every complete sentence the decoder holds.
    fn drain_decoder(&mut self) -> io::Result<Flow> {
        loop {
            match self.decoder.next() {
                Ok(Some(sentence)) => {
                    if let Flow::Close = self.on_sentence(&sentence)? {
                        return Ok(Flow::Close);
                    }
                }
                Ok(None) => return Ok(Flow::Continue),
                // The stream cannot be resynchronised after a bad length
                // prefix; answering `!fatal` and closing is an assumption.
                Err(error) => return self.fatal(format!("protocol error: {error}")),
            }
        }
    }

    fn ending(&self) -> bool {
        self.closed.load(Ordering::SeqCst) || self.shared.stopping.load(Ordering::SeqCst)
    }

    /// How long to block in `read`: until the next stream event, at most [`POLL`].
    fn next_wakeup(&self) -> Duration {
        let now = Instant::now();
        self.streams
            .iter()
            .map(|s| s.ends_at.map_or(s.next_at, |end| end.min(s.next_at)))
            .map(|at| at.saturating_duration_since(now))
            .fold(POLL, Duration::min)
            .max(Duration::from_millis(1))
    }

    fn on_sentence(&mut self, sentence: &Sentence) -> io::Result<Flow> {
        self.received += 1;
        match self.shared.fault() {
            Fault::DropAfter(n) if self.received >= n => return Ok(Flow::Close),
            Fault::Silent => return Ok(Flow::Continue),
            Fault::Garbage => {
                self.stream.write_all(GARBAGE)?;
                return Ok(Flow::Close);
            }
            Fault::Fatal(reason) => return self.fatal(reason),
            _ => {}
        }
        match Command::parse(sentence) {
            Ok(command) => self.dispatch(&command),
            // A sentence that is not a command: `!fatal` and close is an
            // assumption (RouterOS's reaction is not documented).
            Err(error) => self.fatal(format!("protocol error: {error}")),
        }
    }

    fn dispatch(&mut self, command: &Command) -> io::Result<Flow> {
        let tag = command.tag.clone();
        let path = command.path.as_slice();
        let Some(user) = self.user else {
            return match path {
                b"/login" => self.login(command),
                _ => self.fatal("not logged in"),
            };
        };
        // The index comes from the same user list, so it is always found.
        let Some(policies) = self.shared.options.users.get(user).map(|u| u.policies) else {
            return self.fatal("not logged in");
        };
        let needs_read = matches!(
            path,
            b"/interface/print"
                | b"/interface/getall"
                | b"/interface/monitor-traffic"
                | b"/system/resource/print"
                | b"/system/identity/print"
        );
        let needs_write = path == b"/interface/reset-counters";
        let denied = lock(&self.shared.denied).iter().any(|d| d == path);
        if (needs_read && !policies.read) || (needs_write && !policies.write) || denied {
            return self.trap_done(tag, None, NO_PERMISSION);
        }
        if let Fault::Traps(count) = self.shared.fault() {
            if path != b"/login" {
                for _ in 0..count {
                    let trap = Trap {
                        category: Some(4),
                        message: b"failure: simulated trap storm".to_vec(),
                    };
                    self.send(tag.clone(), ReplyKind::Trap(trap))?;
                }
                return self.send(tag, ReplyKind::Done(Attrs::default()));
            }
        }
        match path {
            b"/login" => self.login(command),
            b"/quit" => self.fatal("session terminated on request"),
            b"/cancel" => self.cancel(command),
            b"/interface/reset-counters" => self.reset_counters(command),
            b"/interface/print" | b"/interface/getall" => {
                let now = self.shared.now();
                let rows = lock(&self.shared.router).interface_rows(now);
                self.print(command, rows, Some(now))
            }
            b"/interface/monitor-traffic" => self.monitor(command),
            b"/system/resource/print" => {
                let now = self.shared.now();
                let row = lock(&self.shared.router).resource_row(now);
                self.print(command, vec![row], None)
            }
            b"/system/identity/print" => {
                let row = lock(&self.shared.router).identity_row();
                self.print(command, vec![row], None)
            }
            _ => self.unknown(command),
        }
    }

    fn login(&mut self, command: &Command) -> io::Result<Flow> {
        let fresh = self.random_challenge();
        let options = &self.shared.options;
        let outcome = login::answer(
            options.login,
            &options.users,
            &command.attrs,
            &mut self.challenge,
            fresh,
        );
        let tag = command.tag.clone();
        match outcome {
            Outcome::LoggedIn(user) => {
                self.user = Some(user);
                self.shared.logins.fetch_add(1, Ordering::SeqCst);
                self.send(tag, ReplyKind::Done(Attrs::default()))
            }
            Outcome::Challenge(hex) => {
                let mut attrs = Attrs::default();
                attrs.push("ret", hex);
                self.send(tag, ReplyKind::Done(attrs))
            }
            // The socket stays open after a failed login, and a session that
            // was logged in stays logged in as before: both assumptions (no
            // transcript shows either, docs/routeros-api.md section 3).
            Outcome::Refused(message) => self.trap_done(tag, None, message),
        }
    }

    /// Answers a print: the rows that pass the queries, cut to `.proplist`;
    /// `!empty` first when none does and the router is 7.18 or later. With
    /// `counters_at`, the counter rows answered are recorded as read then.
    fn print(
        &mut self,
        command: &Command,
        rows: Vec<Attrs>,
        counters_at: Option<f64>,
    ) -> io::Result<Flow> {
        let tag = command.tag.clone();
        let proplist = command.attrs.get(".proplist");
        let mut selected = Vec::new();
        let mut answered = Vec::new();
        for row in rows {
            match query::matches(&command.queries, &row) {
                Ok(true) => {
                    selected.push(query::project(&row, proplist));
                    answered.push(row);
                }
                Ok(false) => {}
                // The reaction to a malformed `?#` word is not documented;
                // this trap is an assumption.
                Err(error) => {
                    let message =
                        format!("invalid query: {}", String::from_utf8_lossy(&error.word));
                    return self.trap_done(tag, Some(1), &message);
                }
            }
        }
        let counted = proplist.is_none_or(|p| p.split(|&b| b == b',').any(|n| n == b"rx-byte"));
        if let (Some(now), true) = (counters_at, counted) {
            self.shared.record(now, &answered);
        }
        if selected.is_empty() && self.shared.options.empty_replies {
            self.send(tag.clone(), ReplyKind::Empty(Attrs::default()))?;
        }
        for row in selected {
            self.send(tag.clone(), ReplyKind::Re(row))?;
        }
        self.send(tag, ReplyKind::Done(Attrs::default()))
    }

    fn monitor(&mut self, command: &Command) -> io::Result<Flow> {
        let tag = command.tag.clone();
        let names = command.attrs.get("interface").unwrap_or_default();
        let mut interfaces = Vec::new();
        {
            let router = lock(&self.shared.router);
            for name in names.split(|&b| b == b',') {
                match router.find(name) {
                    Some(index) => interfaces.push(index),
                    None => {
                        interfaces.clear();
                        break;
                    }
                }
            }
        }
        if interfaces.is_empty() {
            // API-DOC shows this text for an unknown interface in
            // `/ip/address/add`; the exact text `monitor-traffic` sends is not
            // documented, so using it here (also for a missing
            // `=interface=`) is an assumption.
            return self.trap_done(tag, Some(1), "input does not match any value of interface");
        }
        // A valueless attribute only needs to be present (WIKI-CMD): `=once`,
        // `=once=`, `=once=yes` and `=once=true` all mean once.
        if command.attrs.get("once").is_some() {
            let now = self.shared.now();
            let rows: Vec<Attrs> = {
                let router = lock(&self.shared.router);
                interfaces
                    .iter()
                    .filter_map(|&i| router.monitor_row(i, now))
                    .collect()
            };
            for row in rows {
                self.send(tag.clone(), ReplyKind::Re(row))?;
            }
            return self.send(tag, ReplyKind::Done(Attrs::default()));
        }
        // The default interval of one second and the texts of these two
        // traps are assumptions (none is documented).
        let interval = match command.attrs.get("interval").map(parse_duration) {
            None => Duration::from_secs(1),
            Some(Some(interval)) if (MIN_INTERVAL..=MAX_INTERVAL).contains(&interval) => interval,
            Some(_) => {
                return self.trap_done(
                    tag,
                    Some(1),
                    "value of interval out of range (00:00:00.020..00:00:05)",
                );
            }
        };
        let duration = match command.attrs.get("duration").map(parse_duration) {
            None => None,
            Some(Some(duration)) => Some(duration),
            Some(None) => return self.trap_done(tag, Some(1), "invalid value of duration"),
        };
        let now = Instant::now();
        self.streams.push(Stream {
            tag,
            interfaces,
            interval,
            next_at: now,
            ends_at: duration.map(|d| now + d),
            section: 0,
        });
        Ok(Flow::Continue)
    }

    /// Emits the rows of every stream that is due and ends the streams whose
    /// `=duration=` has passed.
    fn emit_streams(&mut self) -> io::Result<Flow> {
        let mut index = 0;
        while index < self.streams.len() {
            let now = Instant::now();
            let stream = &self.streams[index];
            if stream.ends_at.is_some_and(|end| now >= end) {
                let finished = self.streams.remove(index);
                self.send(finished.tag, ReplyKind::Done(Attrs::default()))?;
                continue;
            }
            if now >= stream.next_at {
                let (tag, section) = (stream.tag.clone(), stream.section);
                let clock = self.shared.now();
                let rows: Vec<Attrs> = {
                    let router = lock(&self.shared.router);
                    stream
                        .interfaces
                        .iter()
                        .filter_map(|&i| router.monitor_row(i, clock))
                        .collect()
                };
                let stream = &mut self.streams[index];
                stream.section += 1;
                stream.next_at += stream.interval;
                if stream.next_at <= now {
                    stream.next_at = now + stream.interval;
                }
                for mut row in rows {
                    row.push(".section", section.to_string());
                    self.send(tag.clone(), ReplyKind::Re(row))?;
                }
            }
            index += 1;
        }
        Ok(Flow::Continue)
    }

    /// `/cancel [=tag=T]`: stops the stream tagged T, or every stream. Each
    /// stopped command gets `!trap =category=2 =message=interrupted`, then
    /// the `/cancel` gets its `!done`, then each stopped command its `!done`
    /// (API-DOC, `cancel-replies-doc.hex`).
    fn cancel(&mut self, command: &Command) -> io::Result<Flow> {
        let target = command.attrs.get("tag").filter(|t| !t.is_empty());
        let (cancelled, kept): (Vec<Stream>, Vec<Stream>) = std::mem::take(&mut self.streams)
            .into_iter()
            .partition(|s| target.is_none_or(|t| s.tag.as_deref() == Some(t)));
        self.streams = kept;
        // A `=tag=` that names no running command gets a plain `!done`: an
        // assumption, the real answer is not documented.
        for stream in &cancelled {
            let trap = Trap {
                category: Some(2),
                message: b"interrupted".to_vec(),
            };
            self.send(stream.tag.clone(), ReplyKind::Trap(trap))?;
        }
        self.send(command.tag.clone(), ReplyKind::Done(Attrs::default()))?;
        for stream in cancelled {
            self.send(stream.tag, ReplyKind::Done(Attrs::default()))?;
        }
        Ok(Flow::Continue)
    }

    fn reset_counters(&mut self, command: &Command) -> io::Result<Flow> {
        let tag = command.tag.clone();
        let numbers = command.attrs.get("numbers").unwrap_or_default();
        let now = self.shared.now();
        let found: Option<Vec<usize>> = {
            let router = lock(&self.shared.router);
            names_or_ids(numbers).map(|key| router.find(key)).collect()
        };
        match found {
            Some(indexes) if !indexes.is_empty() => {
                let mut router = lock(&self.shared.router);
                for index in indexes {
                    router.reset(index, now);
                }
            }
            // The text for an unknown or missing item is an assumption.
            _ => return self.trap_done(tag, Some(1), "no such item"),
        }
        self.send(tag, ReplyKind::Done(Attrs::default()))
    }

    /// An unknown command: two traps and a `!done`, as
    /// `trap-unknown-command.hex` shows; the message names the last segment
    /// of the path.
    fn unknown(&mut self, command: &Command) -> io::Result<Flow> {
        let tag = command.tag.clone();
        let last = command
            .path
            .split(|&b| b == b'/')
            .rfind(|segment| !segment.is_empty())
            .unwrap_or_default();
        let first = Trap {
            category: Some(0),
            message: [b"no such command or directory (", last, b")"].concat(),
        };
        self.send(tag.clone(), ReplyKind::Trap(first))?;
        self.trap_done(tag, None, "no such command prefix")
    }

    /// `!trap` with the message (and category), then `!done`.
    fn trap_done(
        &mut self,
        tag: Option<Vec<u8>>,
        category: Option<u32>,
        message: &str,
    ) -> io::Result<Flow> {
        let trap = Trap {
            category,
            message: message.as_bytes().to_vec(),
        };
        self.send(tag.clone(), ReplyKind::Trap(trap))?;
        self.send(tag, ReplyKind::Done(Attrs::default()))
    }

    /// `!fatal` with a bare reason word (never tagged), then the session ends.
    fn fatal(&mut self, reason: impl Into<String>) -> io::Result<Flow> {
        let reason: String = reason.into();
        self.send(None, ReplyKind::Fatal(reason.into_bytes()))?;
        Ok(Flow::Close)
    }

    fn send(&mut self, tag: Option<Vec<u8>>, kind: ReplyKind) -> io::Result<Flow> {
        let bytes = Reply { tag, kind }.to_sentence().to_bytes();
        match self.shared.fault() {
            Fault::Silent => {}
            Fault::Slow(delay) => {
                self.pause(delay)?;
                self.stream.write_all(&bytes)?;
            }
            Fault::Fragment => {
                let mut rest = bytes.as_slice();
                while !rest.is_empty() {
                    let size = (1 + self.next_random() % 3) as usize;
                    let (piece, after) = rest.split_at(size.min(rest.len()));
                    self.stream.write_all(piece)?;
                    self.stream.flush()?;
                    rest = after;
                }
            }
            _ => self.stream.write_all(&bytes)?,
        }
        Ok(Flow::Continue)
    }

    /// Sleeps for `delay` in small steps, giving up when the session is closed.
    fn pause(&self, delay: Duration) -> io::Result<()> {
        let until = Instant::now() + delay;
        loop {
            if self.ending() {
                return Err(io::Error::other("session closed while waiting"));
            }
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            thread::sleep(left.min(Duration::from_millis(10)));
        }
    }

    fn next_random(&mut self) -> u64 {
        self.rng = self.rng.wrapping_add(0x9E37_79B9_7F4A_7C15);
        traffic::mix(self.rng)
    }

    fn random_challenge(&mut self) -> [u8; 16] {
        let mut challenge = [0u8; 16];
        challenge[..8].copy_from_slice(&self.next_random().to_be_bytes());
        challenge[8..].copy_from_slice(&self.next_random().to_be_bytes());
        challenge
    }
}

/// The trap message for a command the user's policies do not allow.
const NO_PERMISSION: &str = "not enough permissions (9)";

/// The comma-separated keys of `=numbers=` (names or `.id`s), empty ones
/// left out.
fn names_or_ids(numbers: &[u8]) -> impl Iterator<Item = &[u8]> {
    numbers.split(|&b| b == b',').filter(|key| !key.is_empty())
}

fn is_timeout(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
    )
}

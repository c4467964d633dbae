//! mt-trafmon patch: rewritten. One connection's life, on a thread of its
//! own: read a request head (and a small body), hand the `Request` to the
//! server's queue, wait until it is answered, write the answer, and only
//! then read the next request. So a client that pipelines requests without
//! reading the answers has one request in the server at a time, and the
//! workers never write to a socket: a client that does not read can stall
//! only its own connection's thread.
//!
//! Everything a client sends is bounded in size and time:
//! - the request line is at most [`MAX_REQUEST_LINE`] bytes (else `414`),
//!   the header lines at most [`MAX_HEADER_BYTES`] and [`MAX_HEADERS`]
//!   (else `431`);
//! - a body is read into memory only up to `Limits::max_body` bytes (or
//!   `Limits::large_post`'s for a `POST` to its path prefix, at most
//!   [`MAX_LARGE_BODIES`] of those held at once, else `503`); a
//!   longer one, or one of unknown length (`Transfer-Encoding`), is `413`
//!   without reading it, and two different `Content-Length`s are `400`;
//! - before a request's first byte the connection may be idle for
//!   `Limits::timeout`; from its first byte, the head and body must arrive
//!   within `Limits::head_deadline` in all, however the bytes trickle in
//!   (else `408`);
//! - writing an answer may take `Limits::write_deadline` in all;
//! - versions other than HTTP/1.0 and 1.1 are `505`; control characters
//!   in the request line or a header line, a line ending in a bare LF,
//!   a header name with spaces, a folded line or two `Host` lines are
//!   `400`; a header value
//!   that is not ASCII is ignored (a cookie another site on this host set
//!   must not break the page), except in the headers that decide how the
//!   request is read or answered (`400`).
//!
//! An error answer carries `Limits::error_headers`, closes the connection,
//! and reads what the client still sends for a moment (a bounded
//! lingering close), so that the answer is not lost to a reset.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ascii::AsciiString;

use crate::common::{HTTPVersion, Header, HeaderField, Method, StatusCode};
use crate::connection::Connection;
use crate::request::AnswerWrite;
use crate::util::{MessagesQueue, Slot};
use crate::{Limits, Message};

/// The longest request line (method, URL, version).
pub const MAX_REQUEST_LINE: usize = 8192;
/// The most header bytes (all lines).
pub const MAX_HEADER_BYTES: usize = 16384;
/// The most header lines of one request.
pub const MAX_HEADERS: usize = 100;
/// Empty lines skipped before a request line (RFC 9112, section 2.2).
const MAX_EMPTY_LINES: usize = 4;
/// After an error answer, what the client still sends is read and thrown
/// away for this long, or up to [`LINGER_BYTES`], before closing.
const LINGER: Duration = Duration::from_secs(2);
/// See [`LINGER`].
const LINGER_BYTES: usize = 65536;
/// How often a thread waiting for its request's answer checks whether the
/// server is closing.
const CLOSE_POLL: Duration = Duration::from_millis(500);
/// Headers whose value must be ASCII (else `400`): they decide how the
/// request is read, routed or answered.
const STRICT_HEADERS: [&str; 6] = [
    "Host",
    "Content-Length",
    "Transfer-Encoding",
    "Expect",
    "Connection",
    "X-Forwarded-For",
];

/// Why a request is not handed on.
#[derive(Debug, PartialEq)]
enum Refusal {
    /// The client closed, went idle too long, or the socket failed: close
    /// without an answer.
    Close,
    /// Answer with this status, then close.
    Answer(u16),
}

/// A request head.
struct Head {
    method: Method,
    path: String,
    version: HTTPVersion,
    headers: Vec<Header>,
}

impl Head {
    fn header(&self, name: &'static str) -> impl Iterator<Item = &str> {
        self.headers
            .iter()
            .filter(move |h| h.field.equiv(name))
            .map(|h| h.value.as_str())
    }
}

/// The socket, reading with the current idle timeout and deadline.
struct Socket {
    connection: Connection,
    idle: Option<Duration>,
    deadline: Option<Instant>,
}

/// The time left until `deadline`, at most `limit`; `Err(TimedOut)` when
/// it has passed.
fn time_left(limit: Option<Duration>, deadline: Option<Instant>) -> io::Result<Option<Duration>> {
    let Some(deadline) = deadline else {
        return Ok(limit);
    };
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(io::Error::new(ErrorKind::TimedOut, "deadline passed"));
    }
    Ok(Some(limit.map_or(left, |l| l.min(left))))
}

impl Read for Socket {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.connection
            .set_read_timeout(time_left(self.idle, self.deadline)?)?;
        self.connection.read(buf).map_err(|e| match e.kind() {
            ErrorKind::WouldBlock => io::Error::new(ErrorKind::TimedOut, e),
            _ => e,
        })
    }
}

impl Socket {
    /// Writes all of `bytes`, each write waiting at most the idle timeout,
    /// all of them done by `deadline`.
    fn write_by(&mut self, mut bytes: &[u8], deadline: Option<Instant>) -> io::Result<()> {
        while !bytes.is_empty() {
            self.connection
                .set_write_timeout(time_left(self.idle, deadline)?)?;
            match self.connection.write(bytes) {
                Ok(0) => return Err(ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

/// Where a `Request` writes its answer: memory, handed on drop to the
/// connection's thread, which writes it to the socket. A body appended
/// whole (`AnswerWrite::append`) is kept as it is, not copied.
struct Answer {
    bytes: Vec<u8>,
    body: Vec<u8>,
    done: mpsc::Sender<Held>,
    held: Arc<AtomicUsize>,
}

impl Write for Answer {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !self.body.is_empty() {
            let body = std::mem::take(&mut self.body);
            self.bytes.extend_from_slice(&body);
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A body appended whole up to this size is copied after the head, so that
/// the answer goes out in one write.
const COPIED_BODY: usize = 65536;

impl AnswerWrite for Answer {
    fn append(&mut self, body: Vec<u8>) -> io::Result<()> {
        if self.body.is_empty() && body.len() > COPIED_BODY {
            self.body = body;
            return Ok(());
        }
        self.write_all(&body)
    }
}

impl Drop for Answer {
    fn drop(&mut self) {
        let held = Held::new(
            self.held.clone(),
            std::mem::take(&mut self.bytes),
            std::mem::take(&mut self.body),
        );
        // If the connection's thread is gone, the answer is dropped here.
        self.done.send(held).ok();
    }
}

/// An answer until it is written (or dropped), counted in the server's
/// held answer bytes (`Server::held_answer_bytes`).
struct Held {
    bytes: Vec<u8>,
    body: Vec<u8>,
    count: Arc<AtomicUsize>,
}

impl Held {
    fn new(count: Arc<AtomicUsize>, bytes: Vec<u8>, body: Vec<u8>) -> Held {
        count.fetch_add(bytes.len() + body.len(), Ordering::Relaxed);
        Held { bytes, body, count }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.count
            .fetch_sub(self.bytes.len() + self.body.len(), Ordering::Relaxed);
    }
}

/// Serves one connection until it ends (see the module header). `slot`
/// is its place among the server's connections, told whether it waits
/// for a request head (and may be closed to make room) or is busy; `held`
/// counts the bytes of answers not written yet.
pub(crate) fn serve(
    connection: Connection,
    peer: Option<SocketAddr>,
    slot: Slot,
    queue: &MessagesQueue<Message>,
    limits: &Limits,
    close: &AtomicBool,
    held: &Arc<AtomicUsize>,
) {
    let client = peer.map(|p| p.ip().to_canonical());
    // A large answer is written as its head, then its body: Nagle's
    // algorithm would hold the body's last segment until the client
    // acknowledges the head (up to its delayed-ACK time, 40 ms and more).
    connection.set_nodelay().ok();
    let socket = Socket {
        connection,
        idle: limits.timeout,
        deadline: None,
    };
    let mut input = BufReader::with_capacity(4096, socket);
    loop {
        slot.waiting();
        let request = read_head(&mut input, limits).and_then(|head| {
            let (body, large) = read_body(&mut input, &head, limits)?;
            Ok((head, body, large))
        });
        let (head, body, large) = match request {
            Ok(request) => request,
            Err(Refusal::Close) => return,
            Err(Refusal::Answer(status)) => {
                refuse(&mut input, status, limits);
                return;
            }
        };
        slot.busy();
        input.get_mut().deadline = None;
        let keep_alive = keep_alive(&head);
        let (done, answered) = mpsc::channel();
        let answer = Answer {
            bytes: Vec::new(),
            body: Vec::new(),
            done,
            held: held.clone(),
        };
        let mut request = crate::request::new_request(
            false,
            head.method,
            head.path,
            head.version,
            head.headers,
            peer,
            body,
            answer,
        );
        request.hold(large);
        if close.load(Ordering::Relaxed) {
            return;
        }
        queue.push(client, Message::NewRequest(request));
        let answer = loop {
            match answered.recv_timeout(CLOSE_POLL) {
                Ok(answer) => break answer,
                Err(RecvTimeoutError::Timeout) if !close.load(Ordering::Relaxed) => {}
                Err(_) => return,
            }
        };
        let deadline = limits.write_deadline.map(|d| Instant::now() + d);
        let socket = input.get_mut();
        let written = socket
            .write_by(&answer.bytes, deadline)
            .and_then(|()| socket.write_by(&answer.body, deadline));
        drop(answer);
        if written.is_err() {
            return;
        }
        if !keep_alive {
            slot.waiting();
            linger(&mut input);
            return;
        }
    }
}

/// Reads a request head: waits up to the idle timeout for its first byte,
/// then up to the head deadline for all of it.
fn read_head(input: &mut BufReader<Socket>, limits: &Limits) -> Result<Head, Refusal> {
    input.get_mut().deadline = None;
    loop {
        match input.fill_buf() {
            Ok([]) => return Err(Refusal::Close),
            Ok(_) => break,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return Err(Refusal::Close),
        }
    }
    input.get_mut().deadline = limits.head_deadline.map(|d| Instant::now() + d);
    let mut line = Vec::new();
    let mut empty = 0;
    loop {
        read_line(input, MAX_REQUEST_LINE, 414, &mut line)?;
        if !line.is_empty() {
            break;
        }
        empty += 1;
        if empty > MAX_EMPTY_LINES {
            return Err(Refusal::Answer(400));
        }
    }
    let (method, path, version) = parse_request_line(&line)?;
    let mut headers = Vec::new();
    let mut budget = MAX_HEADER_BYTES;
    let mut lines = 0;
    loop {
        read_line(input, budget, 431, &mut line)?;
        if line.is_empty() {
            break;
        }
        lines += 1;
        if lines > MAX_HEADERS {
            return Err(Refusal::Answer(431));
        }
        budget = budget.saturating_sub(line.len() + 2);
        if let Some(header) = parse_header(&line)? {
            headers.push(header);
        }
    }
    Ok(Head {
        method,
        path,
        version,
        headers,
    })
}

/// Reads one line that ends in CRLF into `line` (without the CRLF); more
/// than `limit` bytes is `too_long`, a bare LF `400`.
fn read_line(
    input: &mut BufReader<Socket>,
    limit: usize,
    too_long: u16,
    line: &mut Vec<u8>,
) -> Result<(), Refusal> {
    line.clear();
    loop {
        let available = match input.fill_buf() {
            Ok([]) => return Err(Refusal::Close),
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if e.kind() == ErrorKind::TimedOut => return Err(Refusal::Answer(408)),
            Err(_) => return Err(Refusal::Close),
        };
        let (taken, ends) = match available.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (available.len(), false),
        };
        if line.len() + taken > limit + 2 {
            return Err(Refusal::Answer(too_long));
        }
        line.extend_from_slice(&available[..taken]);
        input.consume(taken);
        if ends {
            line.pop();
            if line.pop() != Some(b'\r') {
                return Err(Refusal::Answer(400));
            }
            return Ok(());
        }
    }
}

/// `METHOD SP TARGET SP HTTP/d.d`, nothing else.
fn parse_request_line(line: &[u8]) -> Result<(Method, String, HTTPVersion), Refusal> {
    let bad = Refusal::Answer(400);
    let text = std::str::from_utf8(line).map_err(|_| Refusal::Answer(400))?;
    let parts: Vec<&str> = text.splitn(4, ' ').collect();
    let &[method, target, version] = &parts[..] else {
        return Err(bad);
    };
    let version = parse_version(version)?;
    if method.is_empty() || !method.bytes().all(is_token_byte) {
        return Err(bad);
    }
    if target.is_empty() || !target.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
        return Err(bad);
    }
    let method = method.parse().map_err(|_| Refusal::Answer(400))?;
    Ok((method, target.to_owned(), version))
}

/// `HTTP/1.0` and `HTTP/1.1`; other versions (`HTTP/2.0`, `HTTP/0.9`,
/// `HTTP/2`) are `505`, anything else `400`.
fn parse_version(text: &str) -> Result<HTTPVersion, Refusal> {
    let digits = text.strip_prefix("HTTP/").ok_or(Refusal::Answer(400))?;
    let digit = |b: u8| b.is_ascii_digit().then(|| b - b'0');
    let version = match *digits.as_bytes() {
        [major] => digit(major).map(|m| HTTPVersion(m, 0)),
        [major, b'.', minor] => digit(major).zip(digit(minor)).map(|(a, b)| HTTPVersion(a, b)),
        _ => None,
    };
    match version {
        Some(v) if v == HTTPVersion(1, 0) || v == HTTPVersion(1, 1) => Ok(v),
        Some(_) => Err(Refusal::Answer(505)),
        None => Err(Refusal::Answer(400)),
    }
}

/// RFC 9110's `tchar`.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// `name: value`; `None` for a non-ASCII value of a header that does not
/// matter here (see the module header).
fn parse_header(line: &[u8]) -> Result<Option<Header>, Refusal> {
    let bad = || Refusal::Answer(400);
    let colon = line.iter().position(|&b| b == b':').ok_or_else(bad)?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().copied().all(is_token_byte) {
        return Err(bad());
    }
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = value.iter().position(|b| !ows(b)).unwrap_or(value.len());
    let end = value.iter().rposition(|b| !ows(b)).map_or(start, |e| e + 1);
    let value = &value[start..end];
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(bad());
    }
    let field = HeaderField::from_bytes(name.to_vec()).map_err(|_| bad())?;
    let value = match AsciiString::from_ascii(value.to_vec()) {
        Ok(value) => value,
        Err(_) if STRICT_HEADERS.iter().any(|s| field.equiv(s)) => return Err(bad()),
        Err(_) => return Ok(None),
    };
    Ok(Some(Header { field, value }))
}

/// Bodies over `Limits::max_body` (`large_post`'s) held at once in all
/// connections, from reading them until their request is dropped
/// (mt-trafmon patch: 256 connections could otherwise hold 256 of them).
static LARGE_BODIES: AtomicUsize = AtomicUsize::new(0);
/// The most large bodies held at once; a request with one more is `503`.
pub const MAX_LARGE_BODIES: usize = 4;

/// One large body held (see [`LARGE_BODIES`]); given back when dropped
/// with its request.
pub(crate) struct LargeBody(());

impl LargeBody {
    fn take() -> Option<LargeBody> {
        LARGE_BODIES
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| {
                (n < MAX_LARGE_BODIES).then_some(n + 1)
            })
            .ok()
            .map(|_| LargeBody(()))
    }
}

impl Drop for LargeBody {
    fn drop(&mut self) {
        LARGE_BODIES.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The body, read whole if it is at most `max_body` bytes (or
/// `large_post`'s while fewer than [`MAX_LARGE_BODIES`] are held, else
/// `503`; mt-trafmon patch), with its hold on a large body; answers
/// `Expect: 100-continue` first. Two `Host` lines are `400` (RFC 9112,
/// section 3.2).
fn read_body(
    input: &mut BufReader<Socket>,
    head: &Head,
    limits: &Limits,
) -> Result<(Vec<u8>, Option<LargeBody>), Refusal> {
    if head.header("Host").count() > 1 {
        return Err(Refusal::Answer(400));
    }
    if head.header("Transfer-Encoding").next().is_some() {
        return Err(Refusal::Answer(413));
    }
    let mut length = None;
    for value in head.header("Content-Length") {
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Refusal::Answer(400));
        }
        let n = value.parse::<u64>().unwrap_or(u64::MAX);
        if length.is_some_and(|l| l != n) {
            return Err(Refusal::Answer(400));
        }
        length = Some(n);
    }
    let length = length.unwrap_or(0);
    let max_body = match limits.large_post {
        Some((prefix, max)) if head.method == Method::Post && head.path.starts_with(prefix) => max,
        _ => limits.max_body,
    };
    if length > max_body as u64 {
        return Err(Refusal::Answer(413));
    }
    let large = match length > limits.max_body as u64 {
        true => Some(LargeBody::take().ok_or(Refusal::Answer(503))?),
        false => None,
    };
    let length = length as usize;
    match head.header("Expect").next() {
        None => {}
        Some(v) if v.eq_ignore_ascii_case("100-continue") => {
            if length > 0 {
                let deadline = input.get_ref().deadline;
                input
                    .get_mut()
                    .write_by(b"HTTP/1.1 100 Continue\r\n\r\n", deadline)
                    .map_err(|_| Refusal::Close)?;
            }
        }
        Some(_) => return Err(Refusal::Answer(417)),
    }
    let mut body = vec![0; length];
    input.read_exact(&mut body).map_err(|e| match e.kind() {
        ErrorKind::TimedOut => Refusal::Answer(408),
        _ => Refusal::Close,
    })?;
    Ok((body, large))
}

/// Whether the connection stays open after this request: HTTP/1.1
/// without `Connection: close` (or `upgrade`, which is not supported).
fn keep_alive(head: &Head) -> bool {
    head.version == HTTPVersion(1, 1)
        && !head.header("Connection").any(|value| {
            value.split(',').any(|token| {
                let token = token.trim();
                token.eq_ignore_ascii_case("close") || token.eq_ignore_ascii_case("upgrade")
            })
        })
}

/// Answers `status` with a short text and the error headers, then closes.
fn refuse(input: &mut BufReader<Socket>, status: u16, limits: &Limits) {
    let reason = StatusCode(status).default_reason_phrase();
    let why = match status {
        408 => "The request did not arrive in time.".to_string(),
        413 => "The request body is too large, or of unknown length.".to_string(),
        414 => format!("The request line is over {} bytes.", MAX_REQUEST_LINE),
        417 => "Only Expect: 100-continue is understood.".to_string(),
        431 => format!(
            "The request head is over {} bytes or {} lines.",
            MAX_HEADER_BYTES, MAX_HEADERS
        ),
        503 => "Too many large requests at once; try again.".to_string(),
        505 => "Only HTTP/1.0 and HTTP/1.1 are served.".to_string(),
        _ => "The request is malformed.".to_string(),
    };
    let body = format!("{} {}\n{}\n", status, reason, why);
    let mut answer = format!(
        "HTTP/1.1 {} {}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n",
        status,
        reason,
        body.len()
    );
    for header in &limits.error_headers {
        answer.push_str(&format!("{}\r\n", header));
    }
    answer.push_str("\r\n");
    answer.push_str(&body);
    let deadline = Instant::now() + limits.timeout.unwrap_or(LINGER);
    if input
        .get_mut()
        .write_by(answer.as_bytes(), Some(deadline))
        .is_ok()
    {
        linger(input);
    }
}

/// Closes the sending side, then reads what the client still sends for
/// [`LINGER`] or up to [`LINGER_BYTES`], so that a last answer is not
/// lost to the reset that closing with unread data would send.
fn linger(input: &mut BufReader<Socket>) {
    let socket = input.get_mut();
    socket.connection.shutdown(Shutdown::Write).ok();
    socket.deadline = Some(Instant::now() + LINGER);
    let mut thrown = 0;
    let mut buf = [0u8; 4096];
    while thrown < LINGER_BYTES {
        match input.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => thrown += n,
        }
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn request_lines() {
        let (method, path, version) = parse_request_line(b"GET /hello?a=b HTTP/1.1").unwrap();
        assert_eq!((method, path.as_str(), version), (Method::Get, "/hello?a=b", HTTPVersion(1, 1)));
        assert!(parse_request_line(b"HEAD / HTTP/1.0").is_ok());
        for (line, status) in [
            (&b"GET /hello"[..], 400),
            (b"qsd qsd qsd", 400),
            (b"GET  / HTTP/1.1", 400),
            (b"GET / HTTP/1.1 x", 400),
            (b"GET /\r HTTP/1.1", 400),
            (b"GET /\x01 HTTP/1.1", 400),
            (b"GET /caf\xc3\xa9 HTTP/1.1", 400),
            (b"G(T / HTTP/1.1", 400),
            (b"GET / HTTP/1.10", 400),
            (b"GET / HTTP/2.0", 505),
            (b"GET / HTTP/2", 505),
            (b"PRI * HTTP/2.0", 505),
            (b"GET / HTTP/0.9", 505),
        ] {
            let got = parse_request_line(line).err();
            assert_eq!(got, Some(Refusal::Answer(status)), "{:?}", line);
        }
    }

    #[test]
    fn header_lines() {
        let header = parse_header(b"Content-Type:  text/html \t").unwrap().unwrap();
        assert!(header.field.equiv("content-type"));
        assert_eq!(header.value.as_str(), "text/html");
        assert_eq!(parse_header(b"Time: 20: 34").unwrap().unwrap().value.as_str(), "20: 34");
        assert!(parse_header(b"Cookie: caf\xc3\xa9").unwrap().is_none(), "ignored");
        for line in [
            &b"Host: caf\xc3\xa9"[..],
            b"Transfer-Encoding : chunked",
            b" Transfer-Encoding: chunked",
            b"Transfer Encoding: chunked",
            b": empty name",
            b"no colon",
            b"X: a\rb",
            b"X: a\x00b",
            b"X: \x7f",
        ] {
            assert_eq!(parse_header(line).err(), Some(Refusal::Answer(400)), "{:?}", line);
        }
    }
}

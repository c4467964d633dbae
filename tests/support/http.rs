//! HTTP clients on loopback for the web tests and the hostile-input
//! measurement (`examples/measure_hostile.rs` includes this file): a
//! connection from a chosen 127.x source address (to act as another
//! client), one exchange with a deadline, a GET with its latency, the
//! daemon's resident memory, a seeded generator of random and mutated
//! requests, and the attackers of issue 10 (slowloris, pipelined flood).
//! Every loop here is bounded by a count or a deadline.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// A connection to `address` from the loopback address `source`.
pub fn connect_from(source: IpAddr, address: SocketAddr) -> io::Result<TcpStream> {
    use rustix::net::{AddressFamily, SocketType, ipproto};
    let family = match source {
        IpAddr::V4(_) => AddressFamily::INET,
        IpAddr::V6(_) => AddressFamily::INET6,
    };
    let socket = rustix::net::socket(family, SocketType::STREAM, Some(ipproto::TCP))?;
    rustix::net::bind(&socket, &SocketAddr::new(source, 0))?;
    rustix::net::connect(&socket, &address)?;
    Ok(TcpStream::from(socket))
}

/// The loopback address 127.0.0.`n`.
pub fn lo(n: u8) -> IpAddr {
    IpAddr::from([127, 0, 0, n])
}

/// Sends `request` from `source`, closes the sending side and reads the
/// answer until the server closes, for at most `limit` (and 1 MiB).
pub fn exchange(
    source: IpAddr,
    address: SocketAddr,
    request: &[u8],
    limit: Duration,
) -> io::Result<Vec<u8>> {
    let mut stream = connect_from(source, address)?;
    let deadline = Instant::now() + limit;
    stream.set_write_timeout(Some(limit))?;
    let written = stream.write_all(request);
    let _ = stream.shutdown(std::net::Shutdown::Write);
    let mut answer = Vec::new();
    let mut buf = [0u8; 16384];
    while answer.len() < 1 << 20 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(io::Error::new(io::ErrorKind::TimedOut, "no end of answer"));
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if answer.is_empty() => return Err(e),
            Err(_) => break,
        }
    }
    if answer.is_empty() {
        written?;
    }
    Ok(answer)
}

/// An answer split up.
#[derive(Debug)]
pub struct Answer {
    /// The status code (0 if unreadable).
    pub status: u16,
    /// The status line and the header lines.
    pub head: String,
    /// Everything after the head.
    pub body: Vec<u8>,
    /// From connecting to the end of the answer.
    pub took: Duration,
}

impl Answer {
    /// Splits raw answer bytes.
    pub fn parse(raw: &[u8], took: Duration) -> Answer {
        let end = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or(raw.len());
        let head = String::from_utf8_lossy(&raw[..end]).into_owned();
        let body = raw.get(end + 4..).unwrap_or_default().to_vec();
        let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        Answer {
            status,
            head,
            body,
            took,
        }
    }

    /// The value of header `name` (case-insensitive), if present.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.split("\r\n").skip(1).find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// `GET path` with `Host: 127.0.0.1` from `source`, on a connection of its own.
pub fn get_from(source: IpAddr, address: SocketAddr, path: &str) -> io::Result<Answer> {
    let started = Instant::now();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    let raw = exchange(source, address, request.as_bytes(), Duration::from_secs(5))?;
    Ok(Answer::parse(&raw, started.elapsed()))
}

/// Sends `GET path` on a keep-alive connection and reads its whole answer
/// (`Content-Length` or chunked, at most 16 MiB); returns the status.
pub fn get_keep_alive(stream: &mut io::BufReader<TcpStream>, path: &str) -> io::Result<u16> {
    use std::io::BufRead;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    stream.get_mut().write_all(request.as_bytes())?;
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_string());
    let mut line = String::new();
    let mut read_line = |stream: &mut io::BufReader<TcpStream>| -> io::Result<String> {
        line.clear();
        if stream.by_ref().take(65536).read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        Ok(line.trim_end().to_string())
    };
    let status_line = read_line(stream)?;
    let status = status_line
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("no status"))?;
    let (mut length, mut chunked) = (0usize, false);
    loop {
        let header = read_line(stream)?;
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':').ok_or_else(|| bad("header"))?;
        if name.eq_ignore_ascii_case("Content-Length") {
            length = value.trim().parse().map_err(|_| bad("length"))?;
        } else if name.eq_ignore_ascii_case("Transfer-Encoding") {
            chunked = value.trim().eq_ignore_ascii_case("chunked");
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let size = read_line(stream)?;
            let size = usize::from_str_radix(size.trim(), 16).map_err(|_| bad("chunk size"))?;
            if size == 0 {
                read_line(stream)?;
                break;
            }
            if body.len() + size > 16 << 20 {
                return Err(bad("answer over 16 MiB"));
            }
            let start = body.len();
            body.resize(start + size, 0);
            stream.read_exact(&mut body[start..])?;
            read_line(stream)?;
        }
    } else {
        if length > 16 << 20 {
            return Err(bad("answer over 16 MiB"));
        }
        body.resize(length, 0);
        stream.read_exact(&mut body)?;
    }
    Ok(status)
}

/// The security headers every answer must carry (`web::server::SECURITY_HEADERS`).
pub const SECURITY_HEADERS: [&str; 4] = [
    "Content-Security-Policy: default-src 'none'",
    "X-Content-Type-Options: nosniff",
    "X-Frame-Options: DENY",
    "Referrer-Policy: no-referrer",
];

/// Which of [`SECURITY_HEADERS`] `head` lacks.
pub fn missing_security_headers(head: &str) -> Vec<&'static str> {
    SECURITY_HEADERS
        .into_iter()
        .filter(|h| !head.contains(h))
        .collect()
}

/// Resident memory of process `pid` in KiB (VmRSS), if it runs.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// A small seeded generator (xorshift64*), so a failing run can be
/// repeated with its seed.
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed` (0 is taken as 1).
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// The next number.
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Well-formed and nearly well-formed requests that the mutations start from.
const SEEDS: [&str; 16] = [
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept-Encoding: gzip\r\n\r\n",
    "HEAD /app.js HTTP/1.1\r\nHost: localhost\r\nIf-None-Match: \"x\"\r\n\r\n",
    "GET /api/series?start=1&end=3601&points=10 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "GET /healthz HTTP/1.0\r\n\r\n",
    "GET /?graph=1&range=1h&width=800 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\n\r\nhello",
    "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 9223372036854775808\r\n\r\n",
    "PUT /x HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\nbody",
    "GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n",
    "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "GET /api/rrdtool?range=1h&style=mirror HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.2, ::1\r\n\r\n",
    "GET /api/interfaces HTTP/1.1\r\nHost: evil.example\r\nConnection: keep-alive\r\n\r\n",
    "GET /live HTTP/1.1\r\nHost: [::1]:8080\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    "GET /nope HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\r\n",
];

/// Bytes that break parsers: line ends, NUL, DEL, non-ASCII, separators.
const NASTY: &[u8] = b"\r\n\0\x7f\x80\xff \t:;,%?#/\\\"'=&[]{}";

/// Number-like text to put where numbers are.
const NUMBERS: [&str; 10] = [
    "0",
    "-1",
    "+5",
    "18446744073709551616",
    "9223372036854775808",
    "1099511627776",
    "4294967296",
    "2147483648",
    "1e9",
    "0x10",
];

/// A random request: a seed mutated 1 to 4 times (byte flips, nasty bytes,
/// cuts, repeats, numbers, long runs), sometimes several requests pipelined.
pub fn random_request(rng: &mut Rng) -> Vec<u8> {
    let mut out = Vec::new();
    let count = if rng.below(5) == 0 {
        2 + rng.below(4)
    } else {
        1
    };
    for _ in 0..count {
        let mut request = rng.pick(&SEEDS).as_bytes().to_vec();
        for _ in 0..1 + rng.below(4) {
            mutate(rng, &mut request);
        }
        out.extend_from_slice(&request);
    }
    out
}

fn mutate(rng: &mut Rng, request: &mut Vec<u8>) {
    let at = rng.below(request.len() + 1);
    match rng.below(9) {
        0 if !request.is_empty() => {
            let i = rng.below(request.len());
            request[i] ^= 1 << rng.below(8);
        }
        1 => request.insert(at, *rng.pick(NASTY)),
        2 => request.truncate(at),
        3 => {
            let end = (at + rng.below(64)).min(request.len());
            request.drain(at..end);
        }
        4 => {
            let end = (at + rng.below(64)).min(request.len());
            let piece = request[at..end].to_vec();
            for _ in 0..rng.below(50) {
                request.splice(at..at, piece.iter().copied());
            }
        }
        5 => {
            let number = rng.pick(&NUMBERS).as_bytes();
            request.splice(at..at, number.iter().copied());
        }
        6 => {
            let run = [b'a', b' ', b'\r', b'%', b'/'][rng.below(5)];
            let length = [10, 1000, 9000, 17_000][rng.below(4)];
            request.splice(at..at, std::iter::repeat_n(run, length));
        }
        7 => {
            let header = [
                "Content-Length: 3\r\n",
                "Content-Length: 99999999999\r\n",
                "Transfer-Encoding: chunked\r\n",
                "Expect: 100-continue\r\n",
                "Host: evil.example\r\n",
                "Host: \r\n",
                "Connection: close\r\n",
                "X-Forwarded-For: 1.2.3.4\r\n",
                " folded\r\n",
            ];
            let line = rng.pick(&header).as_bytes();
            let line_start = request
                .windows(2)
                .position(|w| w == b"\r\n")
                .map_or(request.len(), |p| p + 2);
            request.splice(line_start..line_start, line.iter().copied());
        }
        _ => {
            for _ in 0..1 + rng.below(8) {
                request.insert(at.min(request.len()), (rng.next() & 0xff) as u8);
            }
        }
    }
}

/// Counts what a group of attacking clients did.
#[derive(Default)]
pub struct Tally {
    /// Requests (or request heads begun) sent.
    pub sent: AtomicU64,
    /// Connections the server closed.
    pub closed: AtomicU64,
}

/// Slowloris: `per_source` connections from each of `sources`, each
/// sending a request head one byte per `interval` without ever ending it;
/// a connection the server closes is opened again. Runs until `stop`.
pub fn slowloris(
    sources: Vec<IpAddr>,
    per_source: usize,
    address: SocketAddr,
    interval: Duration,
    stop: Arc<AtomicBool>,
    tally: Arc<Tally>,
) -> thread::JoinHandle<()> {
    const HEAD: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    thread::spawn(move || {
        let mut open: Vec<(IpAddr, Option<TcpStream>, usize)> = sources
            .iter()
            .flat_map(|s| (0..per_source).map(|_| (*s, None, 0)))
            .collect();
        while !stop.load(Ordering::Relaxed) {
            let tick = Instant::now();
            for (source, stream, sent) in open.iter_mut() {
                if stream.is_none() {
                    *stream = connect_from(*source, address).ok();
                    *sent = 0;
                    if let Some(s) = stream {
                        let _ = s.set_nonblocking(true);
                        tally.sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let Some(s) = stream else { continue };
                let byte = HEAD.get(*sent).copied().unwrap_or(b'z');
                let mut probe = [0u8; 512];
                let gone = s.read(&mut probe).is_ok()
                    || matches!(s.write(&[byte]), Err(e) if e.kind() != io::ErrorKind::WouldBlock);
                if gone {
                    tally.closed.fetch_add(1, Ordering::Relaxed);
                    *stream = None;
                } else {
                    *sent += 1;
                }
            }
            let left = interval.saturating_sub(tick.elapsed());
            let until = Instant::now() + left;
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                thread::sleep(Duration::from_millis(20));
            }
        }
    })
}

/// Writes `count` pipelined `GET path` requests from `source` on one
/// connection without reading any answer, and keeps the connection open
/// (still not reading) until `stop` is set; gives up writing when a write
/// has blocked for `patience`. Returns how many it sent.
pub fn pipelined(
    source: IpAddr,
    address: SocketAddr,
    path: &str,
    count: usize,
    patience: Duration,
    stop: &AtomicBool,
) -> u64 {
    let Ok(mut stream) = connect_from(source, address) else {
        return 0;
    };
    let _ = stream.set_write_timeout(Some(patience));
    let one = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let batch = one.repeat(100);
    let mut sent = 0;
    while sent < count as u64 && !stop.load(Ordering::Relaxed) {
        if stream.write_all(batch.as_bytes()).is_err() {
            break;
        }
        sent += 100;
    }
    while !stop.load(Ordering::Relaxed) {
        thread::sleep(Duration::from_millis(50));
    }
    sent
}

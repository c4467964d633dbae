//! Hostile clients against the real `mt-trafmon` binary's web server on
//! loopback, while it collects from the simulator (issue 10): one test per
//! attack that used to stop, stall or flood the daemon (a huge
//! `Content-Length`, `HTTP/2.0` request lines, a pipelined flood,
//! slowloris from many addresses, `X-Forwarded-For` over several lines,
//! DNS rebinding through the `Host` header, control characters reaching
//! `Location`, tiny_http's own error answers without the security
//! headers), and a suite of thousands of random and mutated requests with
//! slow and pipelined clients at once, asserting that the process lives,
//! its memory stays bounded, another client is answered and the collector
//! writes every second. One test runs the server in this process, to hold
//! series requests in it: light requests never wait behind heavy ones.
//!
//! Other clients act from other loopback addresses (127.0.0.x), so the
//! limits per address apply as they would on a LAN.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod support;

use mt_trafmon::collector::{self, SystemClock};
use mt_trafmon::config;
use mt_trafmon::files::Files;
use mt_trafmon::sim::{Options, Simulator};
use mt_trafmon::store::{self, Profile};
use mt_trafmon::web::State;
use mt_trafmon::web::server::{
    HEAVY_PER_CLIENT, HEAVY_QUEUE, HEAVY_WORKERS, MAX_LARGE_BODIES, MAX_SETUP_BODY, Server, WORKERS,
};
use support::http::{
    self, Answer, Rng, Tally, exchange, get_from, lo, missing_security_headers, rss_kib,
};
use support::{Killed, TestDir, free_port, rrdtool};

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");

/// A daemon collecting from its own simulator, serving on 127.0.0.1.
struct Web {
    daemon: Killed,
    address: SocketAddr,
    dir: TestDir,
    config: PathBuf,
    _sim: Simulator,
}

impl Web {
    /// Starts one with `web` added to its `[web]` table and waits until
    /// its first samples are served.
    fn start(name: &str, web: &str) -> Web {
        let dir = TestDir::new(name);
        let sim = Simulator::start(Options::default()).unwrap();
        let port = free_port();
        let config = dir.path("mt-trafmon.toml");
        std::fs::write(&config, Web::config(&dir, &sim, port, web)).unwrap();
        let log = std::fs::File::create(dir.path("daemon.log")).unwrap();
        let child = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let mut web = Web {
            daemon: Killed(child),
            address: SocketAddr::from(([127, 0, 0, 1], port)),
            dir,
            config,
            _sim: sim,
        };
        let started = Instant::now();
        loop {
            assert!(web.alive(), "the daemon ended: {}", web.log());
            if get_from(lo(1), web.address, "/healthz").is_ok_and(|a| a.status == 200) {
                break;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "no fresh samples: {}",
                web.log()
            );
            thread::sleep(Duration::from_millis(100));
        }
        web
    }

    fn config(dir: &TestDir, sim: &Simulator, port: u16, web: &str) -> String {
        format!(
            "[storage]\ndata_dir = {:?}\nprofile = \"compact\"\n\
             [[router]]\nname = \"sim\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"reader\"\npassword = \"secret\"\n\
             [[router.interface]]\nname = \"ether1\"\n\
             [web]\nlisten = \"127.0.0.1\"\nport = {port}\n{web}",
            dir.0.display().to_string(),
            sim.addr().port()
        )
    }

    fn alive(&mut self) -> bool {
        self.daemon.0.try_wait().unwrap().is_none()
    }

    /// Asserts that the daemon runs and no thread of it panicked (in a
    /// release build any panic ends the process; debug builds unwind).
    fn assert_unharmed(&mut self) {
        assert!(self.alive(), "the daemon ended: {}", self.log());
        let log = self.log();
        assert!(!log.contains("panicked"), "a thread panicked: {log}");
    }

    fn pid(&self) -> u32 {
        self.daemon.0.id()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path("daemon.log")).unwrap_or_default()
    }

    /// Sends `request` from `source` and parses the answer (empty if the
    /// server closed without one).
    fn send(&self, source: IpAddr, request: &[u8]) -> Answer {
        let started = Instant::now();
        let raw = exchange(source, self.address, request, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("{:?}: {e}", String::from_utf8_lossy(request)));
        Answer::parse(&raw, started.elapsed())
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

fn assert_error_answer(answer: &Answer, status: u16, what: &str) {
    assert_eq!(answer.status, status, "{what}: {}", answer.head);
    let missing = missing_security_headers(&answer.head);
    assert!(
        missing.is_empty(),
        "{what}: {missing:?} missing in {}",
        answer.head
    );
}

/// Issue 10, item 1: a request body's length was allocated at once, so one
/// header killed the process (capacity overflow, or allocation failure),
/// also from a denied address.
#[test]
fn a_huge_content_length_is_413_and_the_process_lives() {
    let mut web = Web::start("body", "allow = [\"127.0.0.1\", \"127.0.0.2\"]\n");
    let requests: [&[u8]; 6] = [
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 9223372036854775808\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1099511627776\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2147483648\r\n\r\nabc",
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\nxxxxxxxx",
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\n",
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: 100-continue\r\nContent-Length: 99999999\r\n\r\n",
    ];
    // 127.0.0.3 is denied, 127.0.0.2 allowed.
    for source in [lo(3), lo(2)] {
        for request in requests {
            let what = String::from_utf8_lossy(request);
            let answer = web.send(source, request);
            let health = get_from(lo(2), web.address, "/healthz");
            assert!(web.alive(), "killed by {what:?}: {}", web.log());
            assert_eq!(health.unwrap().status, 200, "after {what:?}");
            assert_error_answer(&answer, 413, &what);
        }
    }
    let bad_length = web.send(
        lo(2),
        b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    );
    assert_error_answer(&bad_length, 400, "two different lengths");
    // A small body is read and the request answered as usual.
    let small = web.send(
        lo(2),
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 4\r\nConnection: close\r\n\r\nbody",
    );
    assert_eq!(small.status, 405, "{}", small.head);
    assert_eq!(
        get_from(lo(2), web.address, "/healthz").unwrap().status,
        200
    );
    web.assert_unharmed();
}

/// A settings page's body may be 64 KiB and is read before the allow-list
/// is checked: 256 connections (32 from each of 8 addresses) would hold
/// 16 MiB. At most `MAX_LARGE_BODIES` are held at once, the next is `503`,
/// and the places come back when the held ones end.
#[test]
fn large_bodies_are_held_a_few_at_a_time() {
    use std::io::Write;
    let mut web = Web::start("large", "allow = [\"127.0.0.1\"]\n");
    let length = MAX_SETUP_BODY - 100;
    let head = format!(
        "POST /api/setup/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    );
    let mut whole = head.clone().into_bytes();
    whole.resize(head.len() + length, b' ');
    // From a denied address: heads sent, bodies not finished; two more
    // than may be held, so that once two of them are refused, the others
    // hold every place (whatever order the server read them in).
    let mut held = Vec::new();
    for _ in 0..MAX_LARGE_BODIES + 2 {
        let mut stream = http::connect_from(lo(3), web.address).unwrap();
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(b"{").unwrap();
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        held.push((stream, Vec::new()));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        for (stream, answer) in &mut held {
            let mut buf = [0u8; 4096];
            if let Ok(n) = std::io::Read::read(stream, &mut buf) {
                answer.extend_from_slice(&buf[..n]);
            }
        }
        let refused = held.iter().filter(|(_, a)| !a.is_empty()).count();
        if refused == 2 {
            for (stream, answer) in held.iter_mut().filter(|(_, a)| !a.is_empty()) {
                // The rest of the answer (the server closes after it).
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .unwrap();
                let _ = std::io::Read::read_to_end(stream, answer);
                assert_error_answer(
                    &Answer::parse(answer, Duration::ZERO),
                    503,
                    "a large body more",
                );
            }
            break;
        }
        assert!(refused < 2, "{refused} of the large bodies refused");
        assert!(
            Instant::now() < deadline,
            "not all large bodies read: {}",
            web.log()
        );
    }
    let answer = web.send(lo(4), &whole);
    assert_error_answer(&answer, 503, "one large body more");
    drop(held);
    loop {
        let answer = web.send(lo(1), &whole);
        if answer.status != 503 {
            // Read and routed: no admin password in this config.
            assert_ne!(answer.status, 0, "no answer");
            break;
        }
        assert!(Instant::now() < deadline, "the places did not come back");
        thread::sleep(Duration::from_millis(50));
    }
    web.assert_unharmed();
}

/// Issue 10, item 2: the 505 answer deadlocked its connection's thread,
/// so 32 such requests locked an address out for good.
#[test]
fn http2_request_lines_get_505_and_give_their_connection_back() {
    let mut web = Web::start("http2", "");
    let lines: [&[u8]; 4] = [
        b"GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET / HTTP/3.0\r\nHost: 127.0.0.1\r\n\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GET / HTTP/0.9\r\n\r\n",
    ];
    for i in 0..40 {
        let request = lines[i % lines.len()];
        let started = Instant::now();
        let raw = exchange(lo(3), web.address, request, Duration::from_secs(3));
        let raw = raw.unwrap_or_else(|e| panic!("request {i} {request:?}: {e}"));
        let answer = Answer::parse(&raw, started.elapsed());
        assert_error_answer(&answer, 505, &format!("request {i}"));
    }
    assert!(web.alive());
    let after = get_from(lo(3), web.address, "/healthz").unwrap();
    assert_eq!(after.status, 200, "the address is not locked out");
    web.assert_unharmed();
}

/// Issue 10, item 3: pipelined requests were read and queued without
/// limit (RSS +500 MB with 40,000), and others waited behind them.
#[test]
fn a_pipelined_flood_keeps_memory_bounded_and_others_answered() {
    let mut web = Web::start("pipelined", "");
    let before = rss_kib(web.pid()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let floods: Vec<_> = [lo(3), lo(4)]
        .into_iter()
        .map(|source| {
            let (address, stop) = (web.address, stop.clone());
            thread::spawn(move || {
                http::pipelined(
                    source,
                    address,
                    "/healthz",
                    30_000,
                    Duration::from_secs(3),
                    &stop,
                )
            })
        })
        .collect();
    let mut peak = before;
    let mut slowest = Duration::ZERO;
    for _ in 0..20 {
        let answer = get_from(lo(2), web.address, "/api/live").unwrap();
        assert_eq!(answer.status, 200, "{}", answer.head);
        slowest = slowest.max(answer.took);
        peak = peak.max(rss_kib(web.pid()).unwrap_or(0));
        thread::sleep(Duration::from_millis(200));
    }
    stop.store(true, Ordering::Relaxed);
    let sent: u64 = floods.into_iter().map(|f| f.join().unwrap()).sum();
    assert!(web.alive(), "{}", web.log());
    println!(
        "RSS {before} KiB before, {peak} KiB peak, {sent} pipelined, slowest other {slowest:?}"
    );
    assert!(sent >= 2_000, "the flood was sent: {sent} requests");
    assert!(
        peak - before < 8 * 1024,
        "RSS {before} KiB before, {peak} KiB peak, with {sent} pipelined requests"
    );
    assert!(
        slowest < Duration::from_secs(3),
        "another client waited {slowest:?}"
    );
    web.assert_unharmed();
}

/// Issue 10, item 4: slowloris from 8 addresses × 32 connections sending
/// a byte a second took every connection (the deadline for a whole head
/// is tested with the error answers below).
#[test]
fn slowloris_from_many_addresses_does_not_starve_others() {
    let mut web = Web::start("slowloris", "");
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let attack = http::slowloris(
        (10..18).map(lo).collect(),
        32,
        web.address,
        Duration::from_secs(1),
        stop.clone(),
        tally.clone(),
    );
    thread::sleep(Duration::from_secs(2));
    let mut answered = 0;
    let mut slowest = Duration::ZERO;
    for _ in 0..12 {
        if let Ok(answer) = get_from(lo(2), web.address, "/api/live") {
            if answer.status == 200 {
                answered += 1;
                slowest = slowest.max(answer.took);
            }
        }
        thread::sleep(Duration::from_secs(1));
    }
    stop.store(true, Ordering::Relaxed);
    attack.join().unwrap();
    let opened = tally.sent.load(Ordering::Relaxed);
    assert!(opened >= 256, "the attack opened {opened} connections");
    assert_eq!(answered, 12, "another client answered 12 of 12 times");
    assert!(slowest < Duration::from_secs(4), "slowest {slowest:?}");
    web.assert_unharmed();
}

/// Issue 10, item 6: only the first `X-Forwarded-For` line was read, so
/// behind a proxy that adds a line of its own, the client's spoofed first
/// line won.
#[test]
fn forwarded_for_lines_are_one_list() {
    let mut web = Web::start(
        "forwarded",
        "allow = [\"127.0.0.1\", \"10.0.0.1\"]\ntrusted_proxies = [\"127.0.0.1\"]\n",
    );
    let ask = |lines: &str| {
        let request = format!("GET /api/live HTTP/1.1\r\nHost: 127.0.0.1\r\n{lines}\r\n");
        web.send(lo(1), request.as_bytes())
    };
    let spoofed = ask("X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 192.0.2.7\r\n");
    assert_eq!(
        spoofed.status, 403,
        "the proxy's line wins: {}",
        spoofed.head
    );
    assert!(String::from_utf8_lossy(&spoofed.body).contains("192.0.2.7"));
    let real = ask("X-Forwarded-For: 192.0.2.7\r\nX-Forwarded-For: 10.0.0.1\r\n");
    assert_eq!(real.status, 200, "{}", real.head);
    let one_line = ask("X-Forwarded-For: 10.0.0.1, 192.0.2.7\r\n");
    assert_eq!(one_line.status, 403, "{}", one_line.head);
    let through_proxies = ask("X-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 127.0.0.1\r\n");
    assert_eq!(through_proxies.status, 200, "{}", through_proxies.head);
    web.assert_unharmed();
}

/// Issue 10, item 7: any `Host` was answered, so a web page could read the
/// JSON through a name rebound to this machine. `web.hostnames` adds names,
/// applied without a restart.
#[test]
fn only_known_host_names_are_answered() {
    let mut web = Web::start("hosts", "");
    let ask = |host: &str| {
        let request =
            format!("GET /api/live HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        web.send(lo(2), request.as_bytes())
    };
    let port = web.address.port();
    let machine = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let machine = machine.trim();
    let accepted = [
        "127.0.0.1".to_string(),
        format!("127.0.0.1:{port}"),
        "[::1]".to_string(),
        format!("[::1]:{port}"),
        "192.168.88.20".into(),
        "localhost".into(),
        format!("LocalHost:{port}"),
        machine.to_string(),
        format!("{machine}.local:{port}"),
        format!("{machine}.local."),
    ];
    for host in &accepted {
        let answer = ask(host);
        assert_eq!(answer.status, 200, "Host: {host}: {}", answer.head);
    }
    for host in [
        "evil.example",
        "traffic.example:8080",
        "127.0.0.1.evil.example",
        "[::1",
    ] {
        let answer = ask(host);
        assert_eq!(answer.status, 421, "Host: {host}: {}", answer.head);
        assert!(
            String::from_utf8_lossy(&answer.body).contains("web.hostnames"),
            "the answer names the key"
        );
        assert!(missing_security_headers(&answer.head).is_empty());
    }
    let config = std::fs::read_to_string(&web.config).unwrap();
    std::fs::write(
        &web.config,
        config.replace("[web]\n", "[web]\nhostnames = [\"traffic.example\"]\n"),
    )
    .unwrap();
    let started = Instant::now();
    while ask("traffic.example:8080").status != 200 {
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "web.hostnames applied"
        );
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(ask("evil.example").status, 421);
    web.assert_unharmed();
}

/// Issue 10, item 8: a raw CR of the request reached `Location:`, and
/// tiny_http's own error answers lacked the security headers.
#[test]
fn no_control_character_reaches_a_header_and_error_answers_are_hardened() {
    let mut web = Web::start("headers", "");
    // The 408 needs the head deadline to pass: started first, read last.
    // The head comes a byte every half second: the deadline counts from
    // its first byte, however the bytes trickle in (issue 10, item 4).
    let address = web.address;
    let slow = thread::spawn(move || trickle(address));
    for request in [
        &b"GET /?graph=1&range=1h\rSet-Cookie:%20a=b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"[..],
        b"GET /?graph=1&range=1h\nSet-Cookie:%20a=b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /?graph=1&range=%0d%0aSet-Cookie:%20a=b&x=\x01 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /?graph=1&range=%0d%0aSet-Cookie:%20a=b&end=%7f HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    ] {
        let answer = web.send(lo(2), request);
        let what = String::from_utf8_lossy(request);
        assert!(
            answer.status == 303 || answer.status == 400,
            "{what}: {}",
            answer.head
        );
        assert!(missing_security_headers(&answer.head).is_empty(), "{what}");
        let bare = answer
            .head
            .replace("\r\n", "")
            .contains(|c: char| c.is_control());
        assert!(!bare, "{what}: control characters in {:?}", answer.head);
        assert!(
            !answer.head.to_ascii_lowercase().contains("\r\nset-cookie"),
            "{what}: {:?}",
            answer.head
        );
        if let Some(location) = answer.header("Location") {
            assert!(location.starts_with("/?"), "{location}");
            assert!(location.contains("range="), "{location}");
        }
    }
    let redirect = web.send(
        lo(2),
        b"GET /?graph=1&range=24h&_=17&style=mirror&title=a%20b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    );
    assert_eq!(redirect.status, 303);
    assert_eq!(
        redirect.header("Location"),
        Some("/?range=24h&style=mirror&title=a%20b")
    );
    let long_url = format!(
        "GET /{} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "a".repeat(9000)
    );
    let big_header = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "b".repeat(17_000)
    );
    for (request, status) in [
        (
            &b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n"[..],
            400,
        ),
        (b"GET / HTTP/1.1\r\nBad Header\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nX: \x01\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: caf\xc3\xa9\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nExpect: tea\r\n\r\n", 417),
        (long_url.as_bytes(), 414),
        (big_header.as_bytes(), 431),
        (b"GET / HTTP/1.2\r\n\r\n", 505),
    ] {
        let answer = web.send(lo(2), request);
        assert_error_answer(&answer, status, &String::from_utf8_lossy(request));
    }
    // A non-ASCII value of a header that does not matter here (a cookie
    // of another site on this host) is ignored, not refused.
    let cookie = web.send(
        lo(2),
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: caf\xc3\xa9\r\n\r\n",
    );
    assert_eq!(cookie.status, 200, "{}", cookie.head);
    let (took, raw) = slow.join().unwrap();
    assert!(
        took >= Duration::from_secs(9) && took < Duration::from_secs(14),
        "a head sent a byte every 0.5 s was cut off after {took:?}"
    );
    let answer = Answer::parse(&raw, took);
    assert_error_answer(&answer, 408, "a head never finished");
    web.assert_unharmed();
}

/// Sends a request head from 127.0.0.2 a byte every half second, never
/// ending it, until the server closes (at most 30 s); returns when it
/// closed, from the first byte, and what it answered.
fn trickle(address: SocketAddr) -> (Duration, Vec<u8>) {
    use std::io::{ErrorKind, Read, Write};
    let mut stream = http::connect_from(lo(2), address).unwrap();
    stream.set_nonblocking(true).unwrap();
    let first = Instant::now();
    let head = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    let mut answer = Vec::new();
    for i in 0..60 {
        let byte = head.get(i).copied().unwrap_or(b'z');
        match stream.write(&[byte]) {
            Err(e) if e.kind() != ErrorKind::WouldBlock => break,
            _ => {}
        }
        thread::sleep(Duration::from_millis(500));
        let mut buf = [0u8; 4096];
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => answer.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::WouldBlock => {}
            Err(_) => break,
        }
    }
    (first.elapsed(), answer)
}

/// The suite: random and mutated requests from 4 addresses, slowloris
/// from 8 more, 2 pipelined floods, all at once for at least 15 s, while
/// another client asks for `/api/live` twice a second.
#[test]
fn hostile_suite_random_slow_and_pipelined_clients() {
    let mut web = Web::start("suite", "");
    let seed = std::env::var("HOSTILE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_2026_u64);
    println!("HOSTILE_SEED={seed}");
    let began = now();
    let before = rss_kib(web.pid()).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Tally::default());
    let slow = http::slowloris(
        (30..38).map(lo).collect(),
        32,
        web.address,
        Duration::from_secs(1),
        stop.clone(),
        tally.clone(),
    );
    let floods: Vec<_> = [(lo(40), "/healthz"), (lo(41), "/api/live")]
        .into_iter()
        .map(|(source, path)| {
            let (address, stop) = (web.address, stop.clone());
            thread::spawn(move || {
                http::pipelined(source, address, path, 50_000, Duration::from_secs(2), &stop)
            })
        })
        .collect();
    let answered = Arc::new(AtomicU64::new(0));
    let random: Vec<_> = (0..4u8)
        .map(|t| {
            let (address, answered) = (web.address, answered.clone());
            let mut rng = Rng::new(seed.wrapping_add(u64::from(t) * 0x9e37_79b9));
            thread::spawn(move || {
                let mut failures = Vec::new();
                for i in 0..750 {
                    let request = http::random_request(&mut rng);
                    let Ok(raw) = exchange(lo(50 + t), address, &request, Duration::from_secs(15))
                    else {
                        continue;
                    };
                    if raw.is_empty() {
                        continue;
                    }
                    answered.fetch_add(1, Ordering::Relaxed);
                    let mut answer = Answer::parse(&raw, Duration::ZERO);
                    if answer.status == 100 {
                        answer = Answer::parse(&answer.body, Duration::ZERO);
                    }
                    let version_ok = answer.head.starts_with("HTTP/1.1 ")
                        || answer.head.starts_with("HTTP/1.0 ");
                    let missing = missing_security_headers(&answer.head);
                    let control = answer
                        .head
                        .replace("\r\n", "")
                        .contains(|c: char| c.is_control());
                    if !version_ok || !missing.is_empty() || control {
                        let request = String::from_utf8_lossy(&request[..request.len().min(300)]);
                        failures.push(format!(
                            "thread {t} request {i} {request:?} -> {:?} (missing {missing:?})",
                            answer.head
                        ));
                    }
                }
                failures
            })
        })
        .collect();
    let mut peak = before;
    let mut latencies = Vec::new();
    let mut random_done = false;
    while !random_done || now() - began < 15.0 {
        assert!(web.alive(), "the daemon ended: {}", web.log());
        peak = peak.max(rss_kib(web.pid()).unwrap_or(0));
        let answer = get_from(lo(2), web.address, "/api/live");
        let answer = answer.unwrap_or_else(|e| panic!("another client: {e}"));
        assert_eq!(answer.status, 200, "another client: {}", answer.head);
        latencies.push(answer.took);
        thread::sleep(Duration::from_millis(500));
        random_done = random.iter().all(|r| r.is_finished());
        assert!(now() - began < 150.0, "the suite takes too long");
    }
    let failures: Vec<String> = random.into_iter().flat_map(|r| r.join().unwrap()).collect();
    stop.store(true, Ordering::Relaxed);
    let pipelined: u64 = floods.into_iter().map(|f| f.join().unwrap()).sum();
    slow.join().unwrap();
    let ended = now();
    assert!(web.alive(), "the daemon ended: {}", web.log());
    assert!(
        failures.is_empty(),
        "{} bad answers, the first ones:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
    latencies.sort();
    println!(
        "{} random answers, {pipelined} pipelined, {} slow connections; RSS {before} -> peak {peak} KiB; \
         another client: median {:?}, max {:?}",
        answered.load(Ordering::Relaxed),
        tally.sent.load(Ordering::Relaxed),
        latencies[latencies.len() / 2],
        latencies.last().unwrap()
    );
    assert!(
        answered.load(Ordering::Relaxed) >= 1000,
        "answers to random requests"
    );
    assert!(
        peak - before < 16 * 1024,
        "RSS {before} KiB before, {peak} KiB peak"
    );
    // The collector wrote every second of the attack (rows ending in
    // (began + 1, ended - 2]; the last seconds may not be written yet).
    let rrd = web.dir.path("sim-ether1.rrd");
    let (from, to) = (began as i64 + 1, ended as i64 - 2);
    let fetched = rrdtool(&[
        "fetch",
        rrd.to_str().unwrap(),
        "AVERAGE",
        "-r",
        "1",
        "-s",
        &from.to_string(),
        "-e",
        &to.to_string(),
    ]);
    let rows: Vec<&str> = fetched
        .lines()
        .filter(|l| l.contains(':') && !l.trim_start().starts_with("rx"))
        .collect();
    assert!(rows.len() as i64 >= to - from, "{fetched}");
    let unknown: Vec<&&str> = rows.iter().filter(|r| r.contains("nan")).collect();
    assert!(
        unknown.is_empty(),
        "unknown seconds during the attack: {unknown:?}"
    );
    let log = web.log();
    assert!(
        !log.contains("backfilled"),
        "the collector fell behind during the attack: {log}"
    );
    web.assert_unharmed();
}

/// Issue 10, light requests behind heavy ones: the workers answered series
/// (tens of ms each, hundreds under load) and light requests alike, so a
/// series flood made `/api/live` wait for a worker. Here every series is
/// held (the test takes the file's lock for writing, as a long collector
/// write would) while more series requests arrive than there are workers
/// and places in the heavy lane: those beyond the places must be answered
/// `503` with `Retry-After` at once, and the page, `/api/live`, `/healthz`
/// and `/metrics` must be answered meanwhile. On the old server the four
/// workers waited for the lock and nothing was answered until it was let
/// go. Once it is, every held series is answered.
#[test]
fn light_requests_never_wait_behind_held_heavy_ones() {
    let dir = TestDir::new("heavy-lane");
    let rrd = dir.path("sim-ether1.rrd");
    store::create(&rrd, Profile::Compact, now() as i64 - 3600).unwrap();
    let text = format!(
        "[storage]\ndata_dir = {:?}\nprofile = \"compact\"\n\
         [[router]]\nname = \"sim\"\nhost = \"127.0.0.1\"\nuser = \"u\"\npassword = \"p\"\n\
         [[router.interface]]\nname = \"ether1\"\nrrd = {:?}\n",
        dir.0.display().to_string(),
        rrd.display().to_string()
    );
    let config = config::parse(&text, Path::new("test.toml")).unwrap();
    // Health entries, so that the light routes read no file.
    let health: Vec<_> = config
        .routers
        .iter()
        .flat_map(collector::health_entries)
        .collect();
    let files = Files::new();
    let clock = Arc::new(SystemClock::new(None));
    let state = State::new(&config, &health, files.clone(), clock, None);
    let server = Server::start(IpAddr::from([127, 0, 0, 1]), 0, Arc::new(state)).unwrap();
    let address = server.address();

    let (release, released) = mpsc::channel::<()>();
    let (held, holding) = mpsc::channel();
    let holder = {
        let rrd = rrd.clone();
        thread::spawn(move || {
            files.writing(&rrd, || {
                held.send(()).unwrap();
                let _ = released.recv();
            })
        })
    };
    holding.recv().unwrap();

    // More series than the workers and the heavy lane's places, from 8
    // addresses, each on a connection of its own.
    let end = now() as i64;
    let request = format!(
        "GET /api/series?iface=sim/ether1&start={}&end={end}&points=10000 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
        end - 3000
    );
    let heavy = 8 * HEAVY_PER_CLIENT;
    let places = HEAVY_WORKERS + HEAVY_QUEUE;
    assert!(heavy > WORKERS + places);
    let (answered, answers) = mpsc::channel();
    let clients: Vec<_> = (0..heavy)
        .map(|n| {
            let (request, answered) = (request.clone(), answered.clone());
            let source = lo(100 + (n / HEAVY_PER_CLIENT) as u8);
            thread::spawn(move || {
                let started = Instant::now();
                let raw = exchange(
                    source,
                    address,
                    request.as_bytes(),
                    Duration::from_secs(120),
                );
                let answer = Answer::parse(&raw.unwrap_or_default(), started.elapsed());
                answered.send(answer).unwrap();
            })
        })
        .collect();

    // The series beyond the places are refused at once, while the others
    // are held.
    let mut got = Vec::new();
    while got.len() < heavy - places {
        let answer = answers.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| {
            panic!(
                "{} series answered while all are held, {} expected at once: the workers wait behind held series",
                got.len(),
                heavy - places
            )
        });
        assert_eq!(answer.status, 503, "{}", answer.head);
        assert_eq!(answer.header("Retry-After"), Some("1"), "{}", answer.head);
        got.push(answer);
    }
    // Light requests are answered meanwhile.
    for path in ["/", "/api/live", "/healthz", "/metrics"] {
        let request =
            format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        let started = Instant::now();
        let raw = exchange(lo(99), address, request.as_bytes(), Duration::from_secs(30))
            .unwrap_or_else(|e| panic!("{path} not answered while series are held: {e}"));
        let answer = Answer::parse(&raw, started.elapsed());
        assert!(
            matches!(answer.status, 200 | 503),
            "{path}: {}",
            answer.head
        );
        assert!(
            answer.header("Retry-After").is_none(),
            "{path}: {}",
            answer.head
        );
    }
    release.send(()).unwrap();
    holder.join().unwrap();
    for client in clients {
        client.join().unwrap();
    }
    got.extend(answers.try_iter());
    assert_eq!(got.len(), heavy);
    let ok = got.iter().filter(|a| a.status == 200).count();
    let busy = got
        .iter()
        .filter(|a| a.status == 503 && a.header("Retry-After") == Some("1"))
        .count();
    // One more may be refused if the lane took none before the queue filled.
    assert_eq!(
        ok + busy,
        heavy,
        "{:?}",
        got.iter().map(|a| &a.head).collect::<Vec<_>>()
    );
    assert!(ok >= places - HEAVY_WORKERS, "only {ok} series answered");
    server.stop();
}

/// The daemon bounds glibc's malloc arenas (`rrd::bound_malloc`): 48
/// connections answered at once, each on a thread of its own, used to
/// leave an arena per thread (up to 8 per core), each keeping what it
/// freed. Counted in `/proc/PID/maps` as glibc lays them out on 64-bit
/// Linux: every arena but the main one lives in heaps of 64 MiB, mapped
/// at a multiple of 64 MiB, read-write from the start and reserved
/// (no access) for the rest.
#[test]
#[cfg(all(target_env = "gnu", target_pointer_width = "64"))]
fn many_connections_leave_at_most_the_bounded_malloc_arenas() {
    let mut web = Web::start("arenas", "");
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..48u8)
        .map(|n| {
            let (address, stop) = (web.address, stop.clone());
            thread::spawn(move || {
                let mut answered = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let Ok(stream) = http::connect_from(lo(60 + n / 16), address) else {
                        thread::sleep(Duration::from_millis(50));
                        continue;
                    };
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let mut stream = std::io::BufReader::new(stream);
                    while !stop.load(Ordering::Relaxed)
                        && http::get_keep_alive(&mut stream, "/api/live").is_ok()
                    {
                        answered += 1;
                    }
                }
                answered
            })
        })
        .collect();
    let started = Instant::now();
    let mut heaps = 0;
    while started.elapsed() < Duration::from_secs(4) {
        heaps = heaps.max(malloc_heaps(web.pid()));
        thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    let answered: Vec<u64> = clients.into_iter().map(|c| c.join().unwrap()).collect();
    heaps = heaps.max(malloc_heaps(web.pid()));
    println!("answered per connection {answered:?}; malloc heaps besides the main arena: {heaps}");
    assert!(
        answered.iter().all(|&a| a > 0),
        "every connection was answered: {answered:?}"
    );
    let bound = usize::try_from(mt_trafmon::rrd::MALLOC_ARENAS - 1).unwrap();
    assert!(
        heaps <= bound,
        "{heaps} malloc heaps besides the main arena, more than {bound}"
    );
    web.assert_unharmed();
}

/// The heaps of glibc's arenas other than the main one in `/proc/PID/maps`
/// (see the test above): at a multiple of 64 MiB, read-write up to some
/// point within the next 64 MiB, and from there no access up to the 64 MiB
/// (a heap grown to all 64 MiB would be missed; these stay far smaller).
/// The kernel may merge a heap's two ends with mappings next to them, so
/// only the boundary inside it is looked at.
#[cfg(all(target_env = "gnu", target_pointer_width = "64"))]
fn malloc_heaps(pid: u32) -> usize {
    const HEAP: u64 = 64 << 20;
    let maps = std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default();
    let regions: Vec<(u64, u64, &str)> = maps
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (range, perms) = (fields.next()?, fields.next()?);
            let inode = fields.nth(2)?;
            // Anonymous: no inode and no name.
            if inode != "0" || fields.next().is_some() {
                return None;
            }
            let (lo, hi) = range.split_once('-')?;
            let lo = u64::from_str_radix(lo, 16).ok()?;
            let hi = u64::from_str_radix(hi, 16).ok()?;
            Some((lo, hi, perms))
        })
        .collect();
    regions
        .iter()
        .enumerate()
        .filter(|&(i, &(lo, hi, perms))| {
            // The last multiple of 64 MiB below the read-write part's end.
            let heap = (hi - 1) / HEAP * HEAP;
            let reserved = match regions.get(i + 1) {
                Some(&(next, end, "---p")) => next == hi && end >= heap + HEAP,
                _ => false,
            };
            perms == "rw-p" && heap >= lo && reserved
        })
        .count()
}

//! The real `mt-trafmon` binary's web server, over TCP on loopback, while it
//! collects from the simulator: the JSON routes with live data, the
//! security headers on every answer, HEAD, the limits of the patched
//! tiny_http (oversized request line and header, connections per client
//! while another client is still answered, idle connections closed after
//! the timeout), and the "Copy rrdtool command"
//! text run through the real `rrdtool graph` against the daemon's file.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod support;

use mt_trafmon::sim::{Options, Simulator};
use support::{Killed, TestDir, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");

fn start(dir: &TestDir, sim: &Simulator) -> (Killed, SocketAddr) {
    let port = free_port();
    let config = dir.path("mt-trafmon.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\nprofile = \"compact\"\n\
             [[router]]\nname = \"sim\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"reader\"\npassword = \"secret\"\n\
             [[router.interface]]\nname = \"ether1\"\nlabel = \"WAN\"\n\
             [web]\nlisten = \"127.0.0.1\"\nport = {port}\ntitle = \"Test's <page>\"\n",
            dir.0.display().to_string(),
            sim.addr().port()
        ),
    )
    .unwrap();
    let child = Command::new(BIN)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    (Killed(child), SocketAddr::from(([127, 0, 0, 1], port)))
}

/// Sends `request` on a new connection and reads the whole answer (the
/// request asks the server to close).
fn raw(address: SocketAddr, request: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let _ = stream.write_all(request);
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer).into_owned()
}

fn get(address: SocketAddr, path: &str) -> (u16, String, String) {
    let answer = raw(
        address,
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_string(), body.to_string())
}

fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn routes_headers_and_limits_of_the_real_server() {
    let dir = TestDir::new("web");
    let sim = Simulator::start(Options::default()).unwrap();
    let (_daemon, address) = start(&dir, &sim);
    wait_until(Duration::from_secs(15), "fresh samples", || {
        TcpStream::connect(address).is_ok() && get(address, "/healthz").0 == 200
    });
    // Left idle until the end: the server closes it after its timeout.
    let mut idle_since_start = TcpStream::connect(address).unwrap();
    let opened = Instant::now();

    let (status, head, body) = get(address, "/api/live");
    assert_eq!(status, 200);
    let live: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(live["interfaces"][0]["id"], "sim/ether1");
    assert!(live["interfaces"][0]["rx"].as_f64().unwrap() > 0.0);
    assert!(head.contains("Cache-Control: no-store"));
    for path in ["/", "/app.js", "/api/interfaces", "/nope", "/healthz"] {
        let (_, head, _) = get(address, path);
        for header in [
            "Content-Security-Policy: default-src 'none'; script-src 'self'; style-src 'self'",
            "X-Content-Type-Options: nosniff",
            "X-Frame-Options: DENY",
            "Referrer-Policy: no-referrer",
        ] {
            assert!(head.contains(header), "{path}: {header} in {head}");
        }
        assert!(!head.contains("unsafe-inline"));
    }
    let (_, _, body) = get(address, "/api/interfaces");
    let list: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(list["title"], "Test's <page>", "the title travels as JSON");

    let head_only = raw(
        address,
        b"HEAD / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    );
    let get_page = get(address, "/");
    assert!(head_only.starts_with("HTTP/1.1 200"), "{head_only}");
    assert!(
        head_only.ends_with("\r\n\r\n"),
        "HEAD has no body: {head_only:?}"
    );
    assert!(head_only.contains(&format!("Content-Length: {}", get_page.2.len())));

    let post = raw(
        address,
        b"POST /setup HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert!(post.starts_with("HTTP/1.1 405"), "{post}");
    assert!(post.contains("Allow: GET, HEAD"));
    let garbage = raw(
        address,
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    );
    assert!(
        garbage.is_empty() || garbage.starts_with("HTTP/1.1 400"),
        "{garbage:?}"
    );
    let bad = get(address, "/api/series?start=abc&end=1");
    assert_eq!(bad.0, 400, "malformed value: 400, not a dropped connection");

    let long_url = format!(
        "GET /{} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        "a".repeat(9000)
    );
    assert!(raw(address, long_url.as_bytes()).starts_with("HTTP/1.1 414"));
    let big_header = format!(
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
        "b".repeat(17_000)
    );
    assert!(raw(address, big_header.as_bytes()).starts_with("HTTP/1.1 431"));
    let many: String = (0..101).map(|i| format!("X-{i}: y\r\n")).collect();
    let many_headers = format!("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n{many}\r\n");
    assert!(raw(address, many_headers.as_bytes()).starts_with("HTTP/1.1 431"));
    // An endless header line is cut at the limit, not buffered: the
    // writes fail (connection closed) or stall (nobody reads) long before
    // 64 MiB, which fit in no socket buffer.
    let mut endless = TcpStream::connect(address).unwrap();
    endless
        .set_write_timeout(Some(Duration::from_secs(2)))
        .unwrap();
    endless.write_all(b"GET / HTTP/1.1\r\nX-Endless: ").unwrap();
    let chunk = vec![b'z'; 65536];
    let mut sent = 0;
    while sent < 64 << 20 && endless.write_all(&chunk).is_ok() {
        sent += chunk.len();
    }
    assert!(
        sent < 64 << 20,
        "the server stopped reading after its limit ({sent} bytes sent)"
    );

    // One client's idle connections beyond its share are closed at once;
    // another client (127.0.0.2, also loopback) is still answered.
    let idle: Vec<TcpStream> = (0..40)
        .map(|_| TcpStream::connect(address).unwrap())
        .collect();
    let closed = idle
        .iter()
        .filter(|stream| {
            stream
                .set_read_timeout(Some(Duration::from_millis(300)))
                .unwrap();
            matches!((&**stream).read(&mut [0u8; 16]), Ok(0))
        })
        .count();
    assert!(closed >= 40 - 32, "{closed} of 40 idle connections closed");
    let mut other = support::http::connect_from(support::http::lo(2), address).unwrap();
    other
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    other
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    other.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    drop(idle);

    // The idle connection is closed by the server after 10 s without a byte.
    idle_since_start
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    assert_eq!(idle_since_start.read(&mut [0u8; 1]).unwrap(), 0, "closed");
    let closed_after = opened.elapsed();
    assert!(
        closed_after >= Duration::from_secs(9) && closed_after < Duration::from_secs(14),
        "closed after {closed_after:?}"
    );

    // The copied command draws the view with the real rrdtool.
    let (_, _, body) = get(address, "/api/rrdtool?range=5m&style=mirror&smooth=1");
    let command: serde_json::Value = serde_json::from_str(&body).unwrap();
    let command = command["command"].as_str().unwrap();
    let output = Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(&dir.0)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{command}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let png = std::fs::read(dir.path("output.png")).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "rrdtool drew the graph");
}

//! Web reads never starve the collector (hostile input, issue 10 item 5):
//! the real binary collects one interface with `source =
//! "monitor-traffic"` and one with counters from the simulator, into files
//! pre-filled with three days of history, while keep-alive connections ask
//! `/api/series` for the three days in 10,000 points as fast as answers
//! come: four connections for a while, then 64 (from several loopback
//! addresses, within the per-client cap). During each flood every second
//! must be written known (the 1 s archive, read back with `rrdtool`), no
//! gap may be backfilled (the counters' collector logs each backfill), and
//! `/healthz` must answer 200 throughout. Every series is answered, `200`,
//! or `503` when the server's heavy lane is busy (its queue holds 16).
//!
//! Run with `cargo test --release --test web_flood`: a debug build answers
//! a 10,000-point series about twenty times slower (0.6 s against 30 ms on
//! a loaded two-core machine), so the flood would measure the debug build.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod support;

use mt_trafmon::rrd;
use mt_trafmon::sim::{Options, Simulator};
use mt_trafmon::store::{self, Profile};
use support::{Killed, TestDir, free_port, rrdtool};

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");
/// How long each flood lasts.
const FLOOD: Duration = Duration::from_secs(30);
/// Days of history in the files, and asked for by every request.
const DAYS: i64 = 3;

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A connection from `from` (a loopback address) to the daemon on `port`.
fn connect(from: Ipv4Addr, port: u16) -> rustix::io::Result<TcpStream> {
    use rustix::net::{AddressFamily, SocketType, ipproto};
    let socket = rustix::net::socket(AddressFamily::INET, SocketType::STREAM, Some(ipproto::TCP))?;
    rustix::net::bind(&socket, &SocketAddr::new(IpAddr::V4(from), 0))?;
    rustix::net::connect(&socket, &SocketAddr::from(([127, 0, 0, 1], port)))?;
    let stream = TcpStream::from(socket);
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    Ok(stream)
}

/// Sends a GET on a kept-alive connection and reads the answer whole
/// (with a length, or chunked as tiny_http sends large bodies): status and
/// body, or what went wrong.
fn exchange(reader: &mut BufReader<TcpStream>, path: &str) -> Result<(u16, Vec<u8>), String> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    let io = |what: &str| {
        let what = what.to_string();
        move |e: std::io::Error| format!("{what}: {e}")
    };
    reader
        .get_mut()
        .write_all(request.as_bytes())
        .map_err(io("sending"))?;
    let mut line = String::new();
    reader.read_line(&mut line).map_err(io("status line"))?;
    let status = line
        .get(9..12)
        .and_then(|s| s.parse().ok())
        .ok_or(format!("status line {line:?}"))?;
    let mut length = 0;
    let mut chunked = false;
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(io("header"))?;
        if line == "\r\n" {
            break;
        }
        let (name, value) = line.split_once(':').ok_or(format!("header {line:?}"))?;
        if name.eq_ignore_ascii_case("content-length") {
            length = value
                .trim()
                .parse()
                .map_err(|_| format!("length {value:?}"))?;
        }
        chunked |= name.eq_ignore_ascii_case("transfer-encoding")
            && value.trim().eq_ignore_ascii_case("chunked");
    }
    let mut body = Vec::new();
    if !chunked {
        body.resize(length, 0);
        reader.read_exact(&mut body).map_err(io("body"))?;
        return Ok((status, body));
    }
    loop {
        line.clear();
        reader.read_line(&mut line).map_err(io("chunk size"))?;
        let size =
            usize::from_str_radix(line.trim(), 16).map_err(|_| format!("chunk size {line:?}"))?;
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).map_err(io("chunk"))?;
        line.clear();
        reader.read_line(&mut line).map_err(io("chunk end"))?;
        if size == 0 {
            return Ok((status, body));
        }
    }
}

/// `/healthz` on a connection of its own.
fn healthz(port: u16) -> Option<u16> {
    let mut reader = BufReader::new(connect(Ipv4Addr::new(127, 0, 0, 9), port).ok()?);
    exchange(&mut reader, "/healthz")
        .ok()
        .map(|(status, _)| status)
}

/// Creates `path` (compact) starting `DAYS` before now and writes the
/// simulator's traffic for `interface` for every second up to now.
fn prefill(path: &Path, sim: &Simulator, interface: &str) {
    let end = now().floor() as i64 - 1;
    let start = end - DAYS * 86_400;
    store::create(path, Profile::Compact, start).unwrap();
    let mut second = start + 1;
    while second <= end {
        let last = (second + 9_999).min(end);
        let lines: Vec<String> = (second..=last)
            .map(|s| {
                let (rx, tx) = sim.second_bytes(interface, s - 1).unwrap();
                rrd::update_line(s as f64, Some(rx as f64 * 8.0), Some(tx as f64 * 8.0))
            })
            .collect();
        rrd::update(path, &lines).unwrap();
        second = last + 1;
    }
}

/// Seconds ending in (from, to] that the 1 s archive of `path` holds as
/// unknown.
fn unknown_seconds(path: &Path, from: i64, to: i64) -> Vec<i64> {
    let rows = support::fetch_seconds(path, from, to);
    assert_eq!(rows.len() as i64, to - from, "one row per second: {rows:?}");
    rows.into_iter()
        .filter(|(_, rx, tx)| rx.is_nan() || tx.is_nan())
        .map(|(time, _, _)| time)
        .collect()
}

fn last_update(path: &Path) -> f64 {
    rrdtool(&["last", path.to_str().unwrap()])
        .trim()
        .parse()
        .unwrap()
}

/// Floods `/api/series` from `connections` keep-alive connections for
/// [`FLOOD`], probing `/healthz` once a second; returns the series
/// answered, those refused as busy, and the `/healthz` statuses (0: no
/// answer).
fn flood(port: u16, connections: usize, paths: &[String]) -> (u64, u64, Vec<u16>) {
    let stop = Arc::new(AtomicBool::new(false));
    let answered = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(AtomicU64::new(0));
    let clients: Vec<_> = (0..connections)
        .map(|n| {
            let (stop, answered, busy) = (stop.clone(), answered.clone(), busy.clone());
            let paths = paths.to_vec();
            // 16 connections per address, under the per-client cap.
            let from = Ipv4Addr::new(127, 0, 0, 2 + (n / 16) as u8);
            thread::spawn(move || {
                let mut reader = BufReader::new(connect(from, port).expect("connected"));
                let mut k = n;
                while !stop.load(Ordering::Relaxed) {
                    let (status, body) = exchange(&mut reader, &paths[k % paths.len()])
                        .unwrap_or_else(|e| panic!("connection {n}, request {k}: {e}"));
                    let text = String::from_utf8_lossy(&body);
                    match status {
                        200 => answered.fetch_add(1, Ordering::Relaxed),
                        503 if text.contains("busy") => busy.fetch_add(1, Ordering::Relaxed),
                        _ => panic!("connection {n}, request {k}: {status} {text}"),
                    };
                    k += 1;
                }
            })
        })
        .collect();
    let started = Instant::now();
    let mut health = Vec::new();
    while started.elapsed() < FLOOD {
        let asked = Instant::now();
        health.push(healthz(port).unwrap_or(0));
        thread::sleep(Duration::from_secs(1).saturating_sub(asked.elapsed()));
    }
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.join().unwrap();
    }
    (
        answered.load(Ordering::Relaxed),
        busy.load(Ordering::Relaxed),
        health,
    )
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "needs the release build: cargo test --release --test web_flood"
)]
fn series_floods_never_starve_the_collector() {
    let dir = TestDir::new("web-flood");
    let sim = Simulator::start(Options::default()).unwrap();
    let port = free_port();
    let monitored = dir.path("mt-ether1.rrd");
    let counted = dir.path("ct-ether2.rrd");
    prefill(&monitored, &sim, "ether1");
    prefill(&counted, &sim, "ether2");
    let router = |name: &str, source: &str, interface: &str, rrd: &Path| {
        format!(
            "[[router]]\nname = \"{name}\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"reader\"\npassword = \"secret\"\nsource = \"{source}\"\n\n[[router.interface]]\nname = \"{interface}\"\nrrd = {:?}\n\n",
            sim.addr().port(),
            rrd.display().to_string()
        )
    };
    let config = dir.path("mt-trafmon.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\nprofile = \"compact\"\n\n{}{}[web]\nlisten = \"127.0.0.1\"\nport = {port}\n",
            dir.0.display().to_string(),
            router("mt", "monitor-traffic", "ether1", &monitored),
            router("ct", "counters", "ether2", &counted),
        ),
    )
    .unwrap();
    let log = dir.path("daemon.log");
    let _daemon = Killed(
        Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::from(std::fs::File::create(&log).unwrap()))
            .spawn()
            .unwrap(),
    );
    let started = Instant::now();
    while healthz(port) != Some(200) || last_update(&monitored) < now() - 2.0 {
        assert!(started.elapsed() < Duration::from_secs(30), "no samples");
        thread::sleep(Duration::from_millis(200));
    }
    // Settled: both collectors write every second.
    thread::sleep(Duration::from_secs(3));

    let end = now().floor() as i64;
    let paths: Vec<String> = ["mt/ether1", "ct/ether2"]
        .iter()
        .map(|id| {
            format!(
                "/api/series?iface={id}&start={}&end={end}&points=10000",
                end - DAYS * 86_400
            )
        })
        .collect();
    let backfills = || {
        std::fs::read_to_string(&log)
            .unwrap()
            .matches("backfilled")
            .count()
    };
    for connections in [4, 64] {
        let backfilled = backfills();
        let from = now().ceil() as i64;
        let (answered, busy, health) = flood(port, connections, &paths);
        let to = now().floor() as i64;
        eprintln!(
            "{connections} connections: {answered} series answered ({busy} refused as busy) in {} s",
            to - from
        );
        assert!(answered > 0);
        // The seconds of the flood reach the files.
        let started = Instant::now();
        while last_update(&monitored) < (to + 2) as f64 || last_update(&counted) < (to + 2) as f64 {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "no writes after the flood"
            );
            thread::sleep(Duration::from_millis(200));
        }
        for path in [&monitored, &counted] {
            let unknown = unknown_seconds(path, from, to);
            assert!(
                unknown.is_empty(),
                "{connections} connections: {} of {} s unknown in {}: {unknown:?}",
                unknown.len(),
                to - from,
                path.display()
            );
        }
        assert_eq!(
            backfills(),
            backfilled,
            "{connections} connections: gaps backfilled during the flood:\n{}",
            std::fs::read_to_string(&log).unwrap()
        );
        assert!(
            health.iter().all(|&s| s == 200),
            "{connections} connections: /healthz answered {health:?}"
        );
    }
}

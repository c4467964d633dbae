//! The hostile-input measurement of issue 10, run by
//! `scripts/measure-hostile.sh` (a measurement, not a test: it asserts
//! nothing and prints a table). It starts the given `mt-trafmon` binary
//! against the in-process simulator, with three days of the simulator's
//! traffic pre-filled in a compact file, then runs each attack for a
//! while on loopback and prints: what was sent, the latency of another
//! client (127.0.0.2) asking for `/api/live` ten times a second, the
//! daemon's resident memory before and at its peak, and the seconds the
//! collector stored unknown (NaN rows of the 1 s archive, read with the
//! `rrdtool` CLI) or backfilled (the daemon's "backfilled" log lines)
//! during the attack.
//!
//! `measure_hostile BINARY [SECONDS] [SOURCE] [ONLY]`: seconds per attack
//! (default 15), source `counters` (default) or `monitor-traffic`, and
//! only the attacks whose name contains ONLY.

use std::io::BufReader;
use std::net::{IpAddr, SocketAddr};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[path = "../tests/support/http.rs"]
#[allow(dead_code)]
mod http;

use http::{Rng, Tally, connect_from, exchange, get_from, get_keep_alive, lo, rss_kib};
use mt_trafmon::config::Interface;
use mt_trafmon::sim::{Options, Simulator};

/// Stops the attack threads once set; counts what they sent.
struct Attack {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicU64>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Attack {
    fn new() -> Attack {
        Attack {
            stop: Arc::new(AtomicBool::new(false)),
            sent: Arc::new(AtomicU64::new(0)),
            threads: Vec::new(),
        }
    }

    /// Runs `step` in a loop on a thread of its own until stopped; `step`
    /// returns how many requests it sent.
    fn spawn(&mut self, mut step: impl FnMut(&AtomicBool) -> u64 + Send + 'static) {
        let (stop, sent) = (self.stop.clone(), self.sent.clone());
        self.threads.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                sent.fetch_add(step(&stop), Ordering::Relaxed);
            }
        }));
    }

    fn stop(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads {
            let _ = thread.join();
        }
        self.sent.load(Ordering::Relaxed)
    }
}

/// Sends `request` on new connections from `source`, as fast as answered.
fn repeat(attack: &mut Attack, source: IpAddr, address: SocketAddr, request: &'static [u8]) {
    attack.spawn(move |_| {
        let _ = exchange(source, address, request, Duration::from_secs(3));
        1
    });
}

/// GETs `path` on one keep-alive connection from `source`, reading every
/// answer, as fast as answered (a new connection when one ends).
fn keep_alive(attack: &mut Attack, source: IpAddr, address: SocketAddr, path: String) {
    attack.spawn(move |stop| {
        let Ok(stream) = connect_from(source, address) else {
            thread::sleep(Duration::from_millis(100));
            return 0;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut stream = BufReader::new(stream);
        let mut sent = 0;
        while !stop.load(Ordering::Relaxed) && get_keep_alive(&mut stream, &path).is_ok() {
            sent += 1;
        }
        sent
    });
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// Starts an attack's threads against an address.
type Start = fn(SocketAddr) -> Attack;

/// The attacks, by name.
fn attacks() -> Vec<(&'static str, Start)> {
    vec![
        ("huge Content-Length (2^63), 4 addresses", |address| {
            let mut attack = Attack::new();
            for n in 10..14 {
                repeat(
                    &mut attack,
                    lo(n),
                    address,
                    b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 9223372036854775808\r\n\r\n",
                );
            }
            attack
        }),
        ("HTTP/2.0 request lines, 4 addresses", |address| {
            let mut attack = Attack::new();
            for n in 10..14 {
                repeat(
                    &mut attack,
                    lo(n),
                    address,
                    b"GET / HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n",
                );
            }
            attack
        }),
        ("pipelined /healthz, 8 connections not reading", |address| {
            let mut attack = Attack::new();
            for n in 20..28 {
                attack.spawn(move |stop| {
                    http::pipelined(
                        lo(n),
                        address,
                        "/healthz",
                        100_000,
                        Duration::from_secs(2),
                        stop,
                    )
                });
            }
            attack
        }),
        ("slowloris, 8 addresses x 32 connections", |address| {
            let attack = Attack::new();
            let tally = Arc::new(Tally::default());
            let slow = http::slowloris(
                (30..38).map(lo).collect(),
                32,
                address,
                Duration::from_secs(1),
                attack.stop.clone(),
                tally.clone(),
            );
            let sent = attack.sent.clone();
            let mut attack = attack;
            attack.threads.push(thread::spawn(move || {
                let _ = slow.join();
                sent.store(tally.sent.load(Ordering::Relaxed), Ordering::Relaxed);
            }));
            attack
        }),
        ("random and mutated requests, 4 addresses", |address| {
            let mut attack = Attack::new();
            for n in 40..44u8 {
                let mut rng = Rng::new(0x5eed_2026 + u64::from(n));
                attack.spawn(move |_| {
                    let request = http::random_request(&mut rng);
                    let _ = exchange(lo(n), address, &request, Duration::from_secs(15));
                    1
                });
            }
            attack
        }),
        ("/api/live, 8 keep-alive", |address| {
            let mut attack = Attack::new();
            for n in 70..78 {
                keep_alive(&mut attack, lo(n), address, "/api/live".into());
            }
            attack
        }),
        ("3-day series, 10,000 points, 4 keep-alive", |address| {
            let mut attack = Attack::new();
            for n in 50..54 {
                keep_alive(&mut attack, lo(n), address, series_path());
            }
            attack
        }),
        ("3-day series, 10,000 points, 64 keep-alive", |address| {
            let mut attack = Attack::new();
            for n in 0..64u8 {
                keep_alive(&mut attack, lo(60 + n / 16), address, series_path());
            }
            attack
        }),
        (
            "3-day series, 10,000 points, 64 connections not reading",
            |address| {
                let mut attack = Attack::new();
                for n in 0..64u8 {
                    let path = series_path();
                    attack.spawn(move |stop| {
                        http::pipelined(
                            lo(80 + n / 16),
                            address,
                            &path,
                            100,
                            Duration::from_secs(2),
                            stop,
                        )
                    });
                }
                attack
            },
        ),
    ]
}

fn series_path() -> String {
    let end = now() as i64;
    format!(
        "/api/series?iface=sim/ether1&start={}&end={end}&points=10000",
        end - 3 * 86400
    )
}

/// The daemon, started on a free port with its log in `dir`.
fn start(
    binary: &str,
    dir: &std::path::Path,
    sim: &Simulator,
    source: &str,
) -> (Child, SocketAddr) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = dir.join("mt-trafmon.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\nprofile = \"compact\"\n\
             [[router]]\nname = \"sim\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"reader\"\npassword = \"secret\"\nsource = \"{source}\"\n\
             [[router.interface]]\nname = \"ether1\"\n\
             [web]\nlisten = \"127.0.0.1\"\nport = {port}\n",
            dir.display().to_string(),
            sim.addr().port()
        ),
    )
    .expect("write the config");
    let log = std::fs::File::create(dir.join("daemon.log")).expect("create the log");
    let child = Command::new(binary)
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("start the daemon");
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
}

/// The 1 s rows ending in (from, to] that are unknown.
fn unknown_seconds(rrd: &std::path::Path, from: i64, to: i64) -> usize {
    let output = Command::new("rrdtool")
        .args(["fetch", &rrd.to_string_lossy(), "AVERAGE", "-r", "1"])
        .args(["-s", &from.to_string(), "-e", &to.to_string()])
        .env_remove("RRDCACHED_ADDRESS")
        .output()
        .expect("run rrdtool");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter(|(t, _)| t.trim().parse::<i64>().is_ok_and(|t| t > from && t <= to))
        .filter(|(_, v)| v.contains("nan"))
        .count()
}

/// Seconds backfilled according to the log lines after byte `offset`.
fn backfilled_seconds(log: &str, offset: usize) -> f64 {
    log.get(offset..)
        .unwrap_or("")
        .lines()
        .filter_map(|l| {
            l.split_once("backfilled ")?
                .1
                .split(' ')
                .next()?
                .parse::<f64>()
                .ok()
        })
        .sum()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let binary = args
        .get(1)
        .expect("usage: measure_hostile BINARY [SECONDS] [SOURCE]");
    let seconds: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(15);
    let source = args.get(3).map_or("counters", String::as_str);
    let only = args.get(4).map_or("", String::as_str);
    let dir = std::env::temp_dir().join(format!("mt-trafmon-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the directory");
    let sim = Simulator::start(Options::default()).expect("start the simulator");
    let rrd = dir.join("sim-ether1.rrd");
    let interface = Interface {
        name: "ether1".into(),
        label: "ether1".into(),
        rrd: rrd.clone(),
        billing: Default::default(),
    };
    mt_trafmon::demo::prefill(&sim, &interface, now()).expect("pre-fill three days");
    let (mut daemon, address) = start(binary, &dir, &sim, source);
    let started = Instant::now();
    while !get_from(lo(2), address, "/healthz").is_ok_and(|a| a.status == 200) {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no fresh samples"
        );
        thread::sleep(Duration::from_millis(200));
    }
    let pid = daemon.id();
    println!(
        "{} s per attack, source = \"{source}\"; another client: GET /api/live from 127.0.0.2 every 100 ms, new connection each",
        seconds
    );
    println!(
        "| attack | sent | other client: answered | min / median / p95 / max ms | RSS before / peak | unknown s | backfilled s |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let mut failures = Vec::new();
    let mut notes = Vec::new();
    for (name, run) in attacks().into_iter().filter(|(n, _)| n.contains(only)) {
        thread::sleep(Duration::from_secs(3));
        let before = rss_kib(pid).unwrap_or(0);
        let offset = std::fs::read_to_string(dir.join("daemon.log")).map_or(0, |l| l.len());
        let from = now() as i64;
        let attack = run(address);
        let probe_stop = Arc::new(AtomicBool::new(false));
        let probe = {
            let stop = probe_stop.clone();
            thread::spawn(move || {
                let (mut times, mut failed) = (Vec::new(), Vec::new());
                while !stop.load(Ordering::Relaxed) {
                    let started = Instant::now();
                    match get_from(lo(2), address, "/api/live") {
                        Ok(a) if a.status == 200 => times.push(a.took.as_secs_f64() * 1000.0),
                        Ok(a) => failed.push(format!("status {} after {:?}", a.status, a.took)),
                        Err(e) => failed.push(format!("{e} after {:?}", started.elapsed())),
                    }
                    thread::sleep(Duration::from_millis(100));
                }
                (times, failed)
            })
        };
        let mut peak = before;
        let until = Instant::now() + Duration::from_secs(seconds);
        while Instant::now() < until {
            peak = peak.max(rss_kib(pid).unwrap_or(0));
            thread::sleep(Duration::from_millis(100));
        }
        probe_stop.store(true, Ordering::Relaxed);
        let (mut times, failed) = probe.join().expect("the probe");
        let answered = times.len();
        let asked = answered + failed.len();
        failures.extend(failed.into_iter().map(|f| format!("{name}: {f}")));
        let sent = attack.stop();
        let to = now() as i64;
        let alive = matches!(daemon.try_wait(), Ok(None));
        // Let the collector write the last seconds of the attack.
        thread::sleep(Duration::from_secs(3));
        let log = std::fs::read_to_string(dir.join("daemon.log")).unwrap_or_default();
        let logged: Vec<&str> = log
            .get(offset..)
            .unwrap_or("")
            .lines()
            .filter(|l| !l.contains(" INFO ") || l.contains("backfilled"))
            .take(3)
            .collect();
        notes.extend(logged.iter().map(|l| format!("{name}: logged: {l}")));
        times.sort_by(f64::total_cmp);
        println!(
            "| {name}{} | {sent} | {} of {} | {:.1} / {:.1} / {:.1} / {:.1} | {:.1} / {:.1} MB | {} | {:.0} |",
            if alive { "" } else { " (daemon ended)" },
            answered,
            asked,
            percentile(&times, 0.0),
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            percentile(&times, 1.0),
            before as f64 / 1024.0,
            peak as f64 / 1024.0,
            unknown_seconds(&rrd, from, to),
            backfilled_seconds(&log, offset) + 0.0,
        );
        if !alive {
            break;
        }
    }
    for failure in &failures {
        println!("another client not answered: {failure}");
    }
    for note in &notes {
        println!("{note}");
    }
    let _ = daemon.kill();
    let _ = daemon.wait();
    drop(sim);
    let _ = std::fs::remove_dir_all(&dir);
}

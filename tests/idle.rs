//! An idle daemon sleeps: the real binary collecting one interface from
//! the simulator, with its web server, is watched through
//! `/proc/PID/task/*/status` for a few seconds; apart from the collector
//! thread (woken by the second and by the router's reply), no thread may
//! wake up: not the main thread (it waits for signals and config saves in
//! one `poll`), not the web workers (blocked on the request queue), not
//! the resolver (it sleeps a minute), not tiny_http's threads. Then a
//! config save applies within a second and SIGTERM stops it within two,
//! with exit status 0.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod support;

use mt_trafmon::sim::{Options, Simulator};
use support::{Killed, TestDir, free_port, terminate};

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");
/// How long the threads are watched.
const WINDOW: Duration = Duration::from_secs(5);

/// Status and body of a GET, `None` if nothing answers.
fn get(port: u16, path: &str) -> Option<(u16, String)> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&address, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(3))).ok()?;
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let status = answer.get(9..12)?.parse().ok()?;
    let body = answer.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    Some((status, body.to_string()))
}

fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) -> Duration {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(50));
    }
    started.elapsed()
}

/// Each thread of `pid`: its id, name and voluntary context switches
/// (times it blocked, so times it was woken again).
fn threads(pid: u32) -> HashMap<String, (String, u64)> {
    let mut out = HashMap::new();
    for task in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let task = task.unwrap().path();
        let (Ok(name), Ok(status)) = (
            std::fs::read_to_string(task.join("comm")),
            std::fs::read_to_string(task.join("status")),
        ) else {
            continue; // ended meanwhile
        };
        let switches = status
            .lines()
            .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("a voluntary_ctxt_switches line");
        let id = task.file_name().unwrap().to_string_lossy().into_owned();
        out.insert(id, (name.trim().to_string(), switches));
    }
    out
}

fn config(dir: &TestDir, sim: &Simulator, port: u16, title: &str) -> String {
    format!(
        "[storage]\ndata_dir = {:?}\nprofile = \"compact\"\n\n[[router]]\nname = \"sim\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"reader\"\npassword = \"secret\"\n\n[[router.interface]]\nname = \"ether1\"\n\n[web]\nlisten = \"127.0.0.1\"\nport = {port}\ntitle = \"{title}\"\n",
        dir.0.display().to_string(),
        sim.addr().port()
    )
}

#[test]
fn an_idle_daemon_wakes_only_its_collector() {
    let dir = TestDir::new("idle");
    let sim = Simulator::start(Options::default()).unwrap();
    let port = free_port();
    let path = dir.path("mt-trafmon.toml");
    std::fs::write(&path, config(&dir, &sim, port, "One")).unwrap();
    let mut daemon = Killed(
        Command::new(BIN)
            .arg("--config")
            .arg(&path)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let pid = daemon.0.id();
    wait_until(Duration::from_secs(30), "samples", || {
        get(port, "/healthz").is_some_and(|(s, _)| s == 200)
    });
    // The file's creation and the cache warming are over by now.
    thread::sleep(Duration::from_secs(2));

    let before = threads(pid);
    thread::sleep(WINDOW);
    let after = threads(pid);
    let mut woken = Vec::new();
    let mut watched = Vec::new();
    for (id, (name, switches)) in &after {
        let Some((_, earlier)) = before.get(id) else {
            continue;
        };
        let per_second = (switches - earlier) as f64 / WINDOW.as_secs_f64();
        eprintln!("{name:<16} {id:>7} {per_second:6.2} wakeups/s");
        if name.starts_with("collect ") {
            continue;
        }
        watched.push(name.as_str());
        if switches - earlier > 1 {
            woken.push(format!("{name} ({id}): {} times", switches - earlier));
        }
    }
    // The threads that live as long as the daemon were all watched (the
    // connection threads of the task pool may end with their connection).
    for name in [
        "mt-trafmon",
        "web 0",
        "web 1",
        "web 2",
        "web 3",
        "web heavy 0",
        "web resolve",
        "web learn",
    ] {
        assert!(watched.contains(&name), "{name} not watched: {watched:?}");
    }
    assert!(woken.is_empty(), "woken while idle: {woken:?}");

    // A save applies within a second.
    let temporary = dir.path("new.toml");
    std::fs::write(&temporary, config(&dir, &sim, port, "Two")).unwrap();
    std::fs::rename(&temporary, &path).unwrap();
    let took = wait_until(Duration::from_secs(5), "the new title", || {
        get(port, "/api/interfaces").is_some_and(|(_, body)| body.contains("\"Two\""))
    });
    assert!(took < Duration::from_secs(1), "reload took {took:?}");

    let started = Instant::now();
    terminate(&daemon.0);
    let status = loop {
        if let Some(status) = daemon.0.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no stop");
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(status.code(), Some(0));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "stopped in {:?}",
        started.elapsed()
    );
}

//! Helpers shared by the integration tests: a temporary directory per test,
//! the `rrdtool` CLI, a file's bytes in the page cache, the original's
//! `rrdtool create` arguments, a child process killed on drop, a free
//! loopback port, and HTTP clients ([`http`], plain and hostile). Each test
//! file uses a part of them.

#![allow(dead_code)]

pub mod http;

use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

/// The original's `rrdtool create` arguments (docs/original.md, section 1),
/// written out here rather than taken from `store`, so that a wrong profile
/// in the code cannot pass its own test.
pub const ORIGINAL_DEFINITIONS: [&str; 8] = [
    "DS:rx:GAUGE:3:0:U",
    "DS:tx:GAUGE:3:0:U",
    "RRA:AVERAGE:0.5:1:31557600",
    "RRA:AVERAGE:0.5:10:15778800",
    "RRA:AVERAGE:0.5:60:2629800",
    "RRA:MAX:0.5:60:2629800",
    "RRA:AVERAGE:0.5:300:1051920",
    "RRA:MAX:0.5:300:1051920",
];

/// A directory of its own under the system's temporary directory, removed
/// when dropped (also when the test fails).
pub struct TestDir(pub PathBuf);

impl TestDir {
    /// A new, empty directory whose name contains `name`, the process id and
    /// the time, so that concurrent tests and runs never share one.
    pub fn new(name: &str) -> TestDir {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!(
            "mt-trafmon-test-{name}-{}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir).expect("create the test directory");
        TestDir(dir)
    }

    /// A path inside the directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TestDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The 1 s rows of an RRD file for the seconds ending in (from, to], read
/// with `rrdtool fetch -r 1`: (end of the second, rx, tx) in bit/s, NaN
/// where unknown.
pub fn fetch_seconds(path: &std::path::Path, from: i64, to: i64) -> Vec<(i64, f64, f64)> {
    fetch_rows(path, 1, from, to)
}

/// The AVERAGE rows of `resolution` seconds ending in (from, to], read
/// with `rrdtool fetch`: (end of the row, rx, tx), NaN where unknown.
pub fn fetch_rows(
    path: &std::path::Path,
    resolution: u32,
    from: i64,
    to: i64,
) -> Vec<(i64, f64, f64)> {
    let text = rrdtool(&[
        "fetch",
        path.to_str().unwrap(),
        "AVERAGE",
        "-r",
        &resolution.to_string(),
        "-s",
        &from.to_string(),
        "-e",
        &to.to_string(),
    ]);
    text.lines()
        .filter_map(|line| {
            let (time, values) = line.split_once(':')?;
            let time: i64 = time.trim().parse().ok()?;
            let mut values = values
                .split_whitespace()
                .map(|v| v.parse::<f64>().unwrap_or(f64::NAN));
            Some((time, values.next()?, values.next()?))
        })
        .filter(|(time, _, _)| *time > from && *time <= to)
        .collect()
}

/// Sends SIGTERM to a child process.
pub fn terminate(child: &std::process::Child) {
    let pid = rustix::process::Pid::from_raw(child.id() as i32).expect("a child has a pid");
    rustix::process::kill_process(pid, rustix::process::Signal::TERM).expect("send SIGTERM");
}

/// Runs Debian's `rrdtool` (never through rrdcached) and returns its
/// standard output; a failure fails the test. librrd's file lock is
/// non-blocking, so a read that meets a daemon's write in progress fails
/// with "could not lock RRD": that is tried again, for up to two seconds.
pub fn rrdtool(args: &[&str]) -> String {
    let mut attempts = 0;
    loop {
        let output = Command::new("rrdtool")
            .args(args)
            .env_remove("RRDCACHED_ADDRESS")
            .output()
            .expect("run rrdtool (Debian package rrdtool, installed by scripts/deps.sh)");
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() && stderr.contains("could not lock RRD") && attempts < 100 {
            attempts += 1;
            std::thread::sleep(std::time::Duration::from_millis(20));
            continue;
        }
        assert!(
            output.status.success(),
            "rrdtool {args:?}: {}{stderr}",
            String::from_utf8_lossy(&output.stdout)
        );
        return String::from_utf8(output.stdout).expect("rrdtool prints UTF-8");
    }
}

/// A child process (the daemon) killed when dropped, also when the test
/// fails.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// `GET path` from a web server on 127.0.0.1:`port`: the status and the
/// body; status 0 when nothing answers (a 5 s read timeout).
pub fn http_get(port: u16, path: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, body.to_string())
}

/// Bytes of `path` in the page cache, by util-linux's `fincore`.
pub fn cached_bytes(path: &std::path::Path) -> u64 {
    let output = Command::new("fincore")
        .args(["--bytes", "--noheadings", "--output", "RES"])
        .arg(path)
        .output()
        .expect("run fincore (util-linux)");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .unwrap()
}

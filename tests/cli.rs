//! The `mt-trafmon` binary as a user runs it: `--version`, usage errors and
//! their exit status, and `--demo` printing rates read from the built-in
//! simulated router.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");

#[test]
fn version_and_usage_errors() {
    let out = Command::new(BIN).arg("--version").output().unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("mt-trafmon {}\n", env!("CARGO_PKG_VERSION"))
    );
    let out = Command::new(BIN).arg("-v").output().unwrap();
    assert!(out.status.success());

    let out = Command::new(BIN).arg("--bogus").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--bogus"));

    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("--demo"));

    let out = Command::new(BIN).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--demo"));
}

#[test]
fn demo_prints_rates_from_the_simulated_router() {
    let mut child = Command::new(BIN)
        .arg("--demo")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (send, receive) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if send.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut rows = 0;
    while rows < 2 {
        let Ok(line) = receive.recv_timeout(Duration::from_secs(10)) else {
            child.kill().unwrap();
            panic!("demo printed no rate row in time; output so far: {lines:#?}");
        };
        // Rate rows start with a UTC time, hh:mm:ss.
        if line.as_bytes().get(2) == Some(&b':') && line.contains("bit/s") {
            rows += 1;
        }
        lines.push(line);
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let text = lines.join("\n");
    assert!(text.contains("simulated router on 127.0.0.1:"), "{text}");
    assert!(text.contains("RouterOS 7"), "{text}");
    assert!(
        text.contains("ether3") && text.contains("disabled"),
        "{text}"
    );
    assert!(text.contains("ether1 rx / tx"), "{text}");
    // The busy WAN port moves megabits.
    let last = lines.last().unwrap();
    assert!(last.contains("Mbit/s"), "{last}");
}

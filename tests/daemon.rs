//! The real `mt-trafmon` binary collecting from the simulator on loopback,
//! checked afterwards with the stock `rrdtool` CLI: exact volume where
//! continuity is provable (steady, after a dropped session, after garbage),
//! unknown seconds where it is not (counter reset, reboot), held samples
//! under a shifted wall clock, clean stops, and refusals (foreign layout,
//! bad config).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod support;

use mt_trafmon::sim::{Fault, Options, Simulator};
use support::{ORIGINAL_DEFINITIONS, TestDir, rrdtool};

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// A running daemon; killed on drop if still running.
struct Daemon {
    child: Child,
}

impl Daemon {
    fn start(config: &Path, env: &[(&str, &Path)]) -> Daemon {
        let mut command = Command::new(BIN);
        command
            .arg("--config")
            .arg(config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (key, value) in env {
            command.env(key, value);
        }
        Daemon {
            child: command.spawn().unwrap(),
        }
    }

    /// Sends SIGTERM and returns the exit status, the time it took and
    /// everything the daemon logged.
    fn stop(mut self) -> (Option<i32>, Duration, String) {
        let started = Instant::now();
        support::terminate(&self.child);
        let code = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "daemon did not stop"
            );
            thread::sleep(Duration::from_millis(20));
        };
        let mut log = String::new();
        self.child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut log)
            .unwrap();
        // Hermetic: the test configs disable the web server, which would
        // otherwise listen on port 8080 of every interface.
        assert!(
            !log.contains("web: "),
            "a test daemon served the web: {log}"
        );
        (code, started.elapsed(), log)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn write_config(dir: &Path, sim: &Simulator, interfaces: &[&str], extra_router: &str) -> PathBuf {
    let mut text = format!(
        "[storage]\ndata_dir = {:?}\nprofile = \"compact\"\n\n[[router]]\nname = \"sim\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"reader\"\npassword = \"secret\"\ntimeout = 1.5\n{extra_router}\n",
        dir.display().to_string(),
        sim.addr().port()
    );
    for name in interfaces {
        text.push_str(&format!("\n[[router.interface]]\nname = \"{name}\"\n"));
    }
    // No web server: these tests are about the files, and a server would
    // listen on port 8080 of every interface.
    text.push_str("\n[web]\nenabled = false\n");
    let path = dir.join("mt-trafmon.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn rrd_path(dir: &Path, interface: &str) -> PathBuf {
    dir.join(format!("sim-{interface}.rrd"))
}

fn rrd_last(path: &Path) -> i64 {
    rrdtool(&["last", path.to_str().unwrap()])
        .trim()
        .parse()
        .unwrap()
}

/// The 1 s rows of the file for seconds ending in (from, to]: (time, rx, tx).
fn fetch_seconds(path: &Path, from: i64, to: i64) -> Vec<(i64, f64, f64)> {
    let text = rrdtool(&[
        "fetch",
        path.to_str().unwrap(),
        "AVERAGE",
        "-r",
        "1",
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

/// Waits until `ready` holds, up to `limit`.
fn wait_until(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// The simulator's bytes (rx, tx) over the whole seconds of rows ending in
/// (from, to]: row T holds second T-1.
fn truth(sim: &Simulator, interface: &str, from: i64, to: i64) -> (f64, f64) {
    (from + 1..=to)
        .map(|t| sim.second_bytes(interface, t - 1).unwrap())
        .fold((0.0, 0.0), |(rx, tx), (r, t)| {
            (rx + r as f64, tx + t as f64)
        })
}

/// Bytes the file's 1 s rows account for in (from, to], and how many rows
/// were unknown.
fn stored(path: &Path, from: i64, to: i64) -> (f64, f64, usize) {
    let rows = fetch_seconds(path, from, to);
    assert_eq!(rows.len() as i64, to - from, "one row per second");
    let unknown = rows.iter().filter(|(_, rx, _)| rx.is_nan()).count();
    let (rx, tx) = rows
        .iter()
        .filter(|(_, rx, tx)| !rx.is_nan() && !tx.is_nan())
        .fold((0.0, 0.0), |(a, b), (_, rx, tx)| {
            (a + rx / 8.0, b + tx / 8.0)
        });
    (rx, tx, unknown)
}

/// Checks the known bytes of the file over (from, to] against the
/// simulator's. The collector stamps each rate at the reply's arrival, a
/// little after the whole second (a few ms; more on a loaded machine), so
/// the bytes of the seconds next to each edge of the window mix across it:
/// up to half a second of them per edge is allowed, plus 0.1 % of the
/// total. A second lost or misplaced inside the window still fails.
fn assert_volume(path: &Path, sim: &Simulator, interface: &str, from: i64, to: i64) {
    let (rx, tx, _) = stored(path, from, to);
    let (true_rx, true_tx) = truth(sim, interface, from, to);
    let second = |t: i64| sim.second_bytes(interface, t).unwrap();
    let edge = |pick: fn((u64, u64)) -> u64| {
        0.5 * (pick(second(from - 1)).max(pick(second(from)))
            + pick(second(to - 1)).max(pick(second(to)))) as f64
    };
    for (what, stored, truth, edge) in [
        ("rx", rx, true_rx, edge(|b| b.0)),
        ("tx", tx, true_tx, edge(|b| b.1)),
    ] {
        let allowed = truth * 0.001 + edge;
        assert!(
            (stored - truth).abs() <= allowed,
            "{interface} {what} over ({from}, {to}]: stored {stored}, truth {truth}, allowed difference {allowed}"
        );
    }
}

/// Waits until the file's last update is at or past `time`.
fn wait_for_last(path: &Path, time: f64) {
    wait_until(Duration::from_secs(20), "the RRD file to catch up", || {
        path.exists() && rrd_last(path) as f64 >= time
    });
}

#[test]
fn steady_collection_and_a_dropped_session_keep_every_byte() {
    let dir = TestDir::new("steady");
    let sim = Simulator::start(Options::default()).unwrap();
    let config = write_config(&dir.0, &sim, &["ether1", "ether2"], "");
    let daemon = Daemon::start(&config, &[]);
    let wan = rrd_path(&dir.0, "ether1");
    let lan = rrd_path(&dir.0, "ether2");
    wait_for_last(&wan, now() - 1.0);
    let from = now().ceil() as i64 + 1;

    thread::sleep(Duration::from_secs(3));
    // A network blip: every session closes, and for a few seconds new ones
    // are closed at once; the counters run on.
    sim.set_fault(Fault::DropAfter(0));
    sim.drop_sessions();
    thread::sleep(Duration::from_secs(5));
    sim.set_fault(Fault::None);
    // Garbage ends another session; continuity is still provable.
    thread::sleep(Duration::from_secs(3));
    sim.set_fault(Fault::Garbage);
    thread::sleep(Duration::from_millis(1500));
    sim.set_fault(Fault::None);
    thread::sleep(Duration::from_secs(3));
    let to = now().floor() as i64 - 1;
    wait_for_last(&wan, to as f64 + 1.0);
    wait_for_last(&lan, to as f64 + 1.0);
    let (code, took, log) = daemon.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(took < Duration::from_secs(2), "stopped in {took:?}");

    for (path, name) in [(&wan, "ether1"), (&lan, "ether2")] {
        let (_, _, unknown) = stored(path, from, to);
        assert_eq!(unknown, 0, "{name}: no unknown second\n{log}");
        assert_volume(path, &sim, name, from, to);
    }
    assert!(log.contains("backfilled"), "{log}");
}

#[test]
fn counter_resets_and_reboots_leave_unknown_seconds_and_no_crash() {
    let dir = TestDir::new("reset");
    let sim = Simulator::start(Options::default()).unwrap();
    let config = write_config(&dir.0, &sim, &["ether1"], "");
    let daemon = Daemon::start(&config, &[]);
    let wan = rrd_path(&dir.0, "ether1");
    wait_for_last(&wan, now() - 1.0);
    thread::sleep(Duration::from_secs(2));
    let reset_at = now();
    sim.reset_counters();
    thread::sleep(Duration::from_secs(3));
    let reboot_at = now();
    sim.reboot();
    // The session drops, the collector waits a second and reconnects.
    thread::sleep(Duration::from_secs(7));
    let to = now().floor() as i64 - 1;
    wait_for_last(&wan, to as f64 + 1.0);
    let (code, _, log) = daemon.stop();
    assert_eq!(code, Some(0));
    assert!(log.contains("counter went down"), "{log}");
    assert!(log.contains("rebooted"), "{log}");

    let rows = fetch_seconds(&wan, reset_at as i64 - 3, to);
    let unknown_near = |at: f64| {
        rows.iter()
            .any(|(t, rx, _)| rx.is_nan() && (*t as f64 - at).abs() <= 3.0)
    };
    assert!(
        unknown_near(reset_at),
        "a reset leaves an unknown second: {rows:?}"
    );
    assert!(
        unknown_near(reboot_at),
        "a reboot leaves unknown seconds: {rows:?}"
    );
    // The last seconds are known and right again.
    let (_, _, unknown) = stored(&wan, to - 2, to);
    assert_eq!(
        unknown, 0,
        "{rows:?}
{log}"
    );
    assert_volume(&wan, &sim, "ether1", to - 2, to);
}

#[test]
fn a_wall_clock_behind_the_file_holds_samples_until_it_is_stepped_right() {
    let dir = TestDir::new("clock");
    let sim = Simulator::start(Options::default()).unwrap();
    let config = write_config(&dir.0, &sim, &["ether1"], "");
    let wan = rrd_path(&dir.0, "ether1");
    let daemon = Daemon::start(&config, &[]);
    wait_for_last(&wan, now() - 1.0);
    thread::sleep(Duration::from_secs(2));
    let (code, _, _) = daemon.stop();
    assert_eq!(code, Some(0));
    let before = rrd_last(&wan);

    // A Pi boots with its clock ten minutes behind; NTP steps it right later.
    let shift = dir.0.join("shift");
    std::fs::write(&shift, "-600").unwrap();
    let daemon = Daemon::start(&config, &[("MT_TRAFMON_CLOCK_SHIFT_FILE", &shift)]);
    let held_from = now().ceil() as i64 + 1;
    thread::sleep(Duration::from_secs(4));
    assert_eq!(
        rrd_last(&wan),
        before,
        "nothing is written at or before the last update"
    );
    std::fs::write(&shift, "0").unwrap();
    thread::sleep(Duration::from_secs(3));
    let to = now().floor() as i64 - 1;
    wait_for_last(&wan, to as f64 + 1.0);
    let (code, _, log) = daemon.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(log.contains("stepped"), "{log}");
    // The samples taken while the clock was wrong are in the file, at the
    // right time.
    let (_, _, unknown) = stored(&wan, held_from, to);
    assert_eq!(unknown, 0, "{log}");
    assert_volume(&wan, &sim, "ether1", held_from, to);
}

#[test]
fn a_file_made_by_stock_rrdtool_with_the_original_layout_is_updated() {
    let dir = TestDir::new("stock");
    let sim = Simulator::start(Options::default()).unwrap();
    let config = write_config(&dir.0, &sim, &["ether2"], "");
    let path = rrd_path(&dir.0, "ether2");
    let start = (now() as i64 - 100).to_string();
    let mut args = vec![
        "create",
        path.to_str().unwrap(),
        "--start",
        &start,
        "--step",
        "1",
    ];
    args.extend(ORIGINAL_DEFINITIONS);
    rrdtool(&args);
    let size = std::fs::metadata(&path).unwrap().len();
    assert!(size > 875_000_000, "{size}");
    let daemon = Daemon::start(&config, &[]);
    wait_for_last(&path, now() - 1.0);
    let from = now().ceil() as i64;
    thread::sleep(Duration::from_secs(3));
    let to = now().floor() as i64 - 1;
    wait_for_last(&path, to as f64 + 1.0);
    let (code, _, log) = daemon.stop();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(
        std::fs::metadata(&path).unwrap().len(),
        size,
        "never recreated or resized"
    );
    let (_, _, unknown) = stored(&path, from, to);
    assert_eq!(unknown, 0);
    assert_volume(&path, &sim, "ether2", from, to);
}

#[test]
fn a_foreign_layout_is_refused_and_left_untouched() {
    let dir = TestDir::new("foreign");
    let sim = Simulator::start(Options::default()).unwrap();
    let config = write_config(&dir.0, &sim, &["ether1"], "");
    let path = rrd_path(&dir.0, "ether1");
    rrdtool(&[
        "create",
        path.to_str().unwrap(),
        "--start",
        "1000000000",
        "--step",
        "300",
        "DS:in:COUNTER:600:0:U",
        "DS:out:COUNTER:600:0:U",
        "RRA:AVERAGE:0.5:1:10",
    ]);
    let before = std::fs::read(&path).unwrap();
    let daemon = Daemon::start(&config, &[]);
    thread::sleep(Duration::from_secs(3));
    let (code, _, log) = daemon.stop();
    assert_eq!(code, Some(0));
    assert!(
        log.contains("is not an mt-trafmon RRD file")
            && log.contains("step 300 s")
            && log.contains("in COUNTER"),
        "{log}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn monitor_traffic_as_the_source() {
    let dir = TestDir::new("monitor");
    let sim = Simulator::start(Options::default()).unwrap();
    let config = write_config(&dir.0, &sim, &["ether1"], "source = \"monitor-traffic\"");
    let wan = rrd_path(&dir.0, "ether1");
    let daemon = Daemon::start(&config, &[]);
    wait_for_last(&wan, now() - 1.0);
    thread::sleep(Duration::from_secs(3));
    let to = now().floor() as i64 - 1;
    wait_for_last(&wan, to as f64 + 1.0);
    let (code, _, log) = daemon.stop();
    assert_eq!(code, Some(0), "{log}");
    // The router's rates are written as they come, a second late by nature:
    // known values of the right size.
    let rows = fetch_seconds(&wan, to - 2, to);
    assert!(rows.iter().all(|(_, rx, _)| *rx > 1e6), "{rows:?}");
}

#[test]
fn bad_configs_are_refused_with_the_key_and_line() {
    let dir = TestDir::new("config");
    let path = dir.0.join("bad.toml");
    std::fs::write(&path, "[[router]]\nhost = \"127.0.0.1\"\nusr = \"x\"\n").unwrap();
    let out = Command::new(BIN)
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("usr") && stderr.contains("line 3"),
        "{stderr}"
    );

    let out = Command::new(BIN)
        .arg("--config")
        .arg(dir.0.join("missing.toml"))
        .output()
        .unwrap();
    // No file and no terminal for the wizard: a status of its own.
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("missing.toml") && stderr.contains("mt-trafmon -s"),
        "{stderr}"
    );
}

#[test]
fn a_stalled_router_is_left_and_its_gap_backfilled() {
    let dir = TestDir::new("stall");
    let sim = Simulator::start(Options::default()).unwrap();
    let config = write_config(&dir.0, &sim, &["ether1"], "");
    let wan = rrd_path(&dir.0, "ether1");
    let daemon = Daemon::start(&config, &[]);
    wait_for_last(&wan, now() - 1.0);
    let from = now().ceil() as i64 + 1;
    thread::sleep(Duration::from_secs(2));
    // The router stops answering (the session stays open): the collector's
    // 1.5 s timeout ends the session, and new ones stall too.
    sim.set_fault(Fault::Silent);
    thread::sleep(Duration::from_secs(5));
    sim.set_fault(Fault::None);
    thread::sleep(Duration::from_secs(8));
    let to = now().floor() as i64 - 1;
    wait_for_last(&wan, to as f64 + 1.0);
    let (code, took, log) = daemon.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(took < Duration::from_secs(2), "stopped in {took:?}");
    assert!(log.contains("did not answer within 1.5 s"), "{log}");
    assert!(log.contains("backfilled"), "{log}");
    let (_, _, unknown) = stored(&wan, from, to);
    assert_eq!(unknown, 0, "{log}");
    assert_volume(&wan, &sim, "ether1", from, to);
}

#[test]
fn a_vanished_file_is_recreated_without_dropping_the_session_or_the_samples() {
    let dir = TestDir::new("vanish");
    let sim = Simulator::start(Options::default()).unwrap();
    let config = write_config(&dir.0, &sim, &["ether2"], "");
    let path = rrd_path(&dir.0, "ether2");
    let daemon = Daemon::start(&config, &[]);
    wait_for_last(&path, now() - 1.0);
    thread::sleep(Duration::from_secs(1));
    std::fs::remove_file(&path).unwrap();
    let from = now().ceil() as i64 + 1;
    // The next write fails, the file is looked at again 10 s later and
    // re-created; the samples taken meanwhile are held and written into it.
    thread::sleep(Duration::from_secs(13));
    let to = now().floor() as i64 - 1;
    wait_for_last(&path, to as f64 + 1.0);
    let (code, _, log) = daemon.stop();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(
        log.matches("connected to").count(),
        1,
        "the session was kept: {log}"
    );
    assert!(log.contains("trying again every 10 s"), "{log}");
    let (_, _, unknown) = stored(&path, from, to);
    assert_eq!(unknown, 0, "{log}");
    assert_volume(&path, &sim, "ether2", from, to);
}

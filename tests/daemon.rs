//! The real `mt-trafmon` binary collecting from the simulator on loopback,
//! checked afterwards with the stock `rrdtool` CLI: exact volume where
//! continuity is provable (steady, after a dropped session, after garbage),
//! unknown seconds where it is not (counter reset, reboot), held samples
//! under a shifted wall clock, clean stops, and refusals (foreign layout,
//! bad config). Faults injected at known times (a reset during a burst,
//! interfaces removed, re-created and renamed, trap storms, slow replies,
//! a reboot, a refused `/system/resource`) are checked second by second
//! against what the simulator answered, with the log (each problem once)
//! and the health endpoints (failing files in words, no resolved error);
//! so are restarts timed to read first about a second after the file's
//! last update.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

mod support;

use mt_trafmon::sim::{Fault, Options, Simulator};
use support::{ORIGINAL_DEFINITIONS, TestDir, cached_bytes, fetch_seconds, rrdtool};

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
        // Hermetic: the test configs disable the web server (which would
        // otherwise listen on port 8080 of every interface) or put it on a
        // free port of 127.0.0.1.
        assert!(
            log.lines()
                .filter(|l| l.contains("web: serving"))
                .all(|l| l.contains("web: serving http://127.0.0.1:")),
            "a test daemon served the web beyond loopback: {log}"
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
    write_config_with(
        dir,
        sim,
        interfaces,
        &format!("timeout = 1.5\n{extra_router}"),
        // No web server: these tests are about the files, and a server
        // would listen on port 8080 of every interface.
        "enabled = false\n",
    )
}

/// A config with these lines in its `[[router]]` and `[web]` sections.
fn write_config_with(
    dir: &Path,
    sim: &Simulator,
    interfaces: &[&str],
    router_lines: &str,
    web_lines: &str,
) -> PathBuf {
    let mut text = format!(
        "[storage]\ndata_dir = {:?}\nprofile = \"compact\"\n\n[web]\n{web_lines}\n[[router]]\nname = \"sim\"\nhost = \"127.0.0.1\"\nport = {}\nuser = \"reader\"\npassword = \"secret\"\n{router_lines}\n",
        dir.display().to_string(),
        sim.addr().port()
    );
    for name in interfaces {
        text.push_str(&format!("\n[[router.interface]]\nname = \"{name}\"\n"));
    }
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
    assert!(log.contains("backfilling"), "{log}");
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
    assert!(log.contains("backfilling"), "{log}");
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

/// What the collector measured of `name`, from the simulator's answers:
/// the spans between consecutive counter rows, with their received bit/s,
/// or `None` across a reset, reboot or re-creation (another id or epoch).
fn measured(sim: &Simulator, name: &str) -> Vec<(f64, f64, Option<f64>)> {
    sim.answers(name)
        .windows(2)
        .map(|pair| {
            let (a, b) = (&pair[0], &pair[1]);
            let continuous = a.id == b.id && a.epoch == b.epoch && b.rx >= a.rx;
            let rate = continuous.then(|| (b.rx - a.rx) as f64 * 8.0 / (b.at - a.at));
            (a.at, b.at, rate)
        })
        .collect()
}

/// Checks every second of `path` ending in (from, to] against what the
/// collector measured of `name` (see `measured`): a second more than 55 %
/// measured must be known and hold the average rate of its measured part
/// (within 2 %: the collector stamps a reply when it arrives, a little
/// after the simulator read its counters); one less than 45 % measured
/// must be unknown. Seconds ending in a `slow` window are left out: there
/// replies took seconds to arrive, and the collector stamps a reading when
/// its reply arrives, so its rates lag the simulator's by that delay.
/// Returns the number of unknown seconds.
fn assert_as_measured(
    path: &Path,
    sim: &Simulator,
    name: &str,
    (from, to): (i64, i64),
    slow: Option<(f64, f64)>,
) -> usize {
    assert_spans(path, name, &measured(sim, name), (from, to), slow)
}

/// [`assert_as_measured`] with the measured spans given.
fn assert_spans(
    path: &Path,
    name: &str,
    spans: &[(f64, f64, Option<f64>)],
    (from, to): (i64, i64),
    slow: Option<(f64, f64)>,
) -> usize {
    let rows = fetch_seconds(path, from, to);
    assert_eq!(rows.len() as i64, to - from, "one row per second");
    let mut report = String::new();
    let mut wrong = 0;
    for (end, stored, _) in &rows {
        let end = *end as f64;
        let (mut known, mut bits) = (0.0, 0.0);
        for (a, b, rate) in spans {
            let overlap = b.min(end) - a.max(end - 1.0);
            if let (Some(rate), true) = (rate, overlap > 0.0) {
                known += overlap;
                bits += rate * overlap;
            }
        }
        let ok = if slow.is_some_and(|(a, b)| end > a && end <= b) {
            true
        } else if known > 0.55 {
            let want = bits / known;
            (stored - want).abs() <= want * 0.02 + 100.0
        } else if known < 0.45 {
            stored.is_nan()
        } else {
            true
        };
        if !ok {
            wrong += 1;
        }
        report.push_str(&format!(
            "{name} second ending {end}: measured {known:.3}, stored {stored:.0}, measured rate {:.0}{}\n",
            bits / known,
            if ok { "" } else { "   <-- wrong" }
        ));
    }
    assert_eq!(
        wrong, 0,
        "{wrong} seconds differ from what was measured:\n{report}"
    );
    rows.iter().filter(|(_, rx, _)| rx.is_nan()).count()
}

/// The longest time between two consecutive answers for `name` in (from,
/// to) (simulator clock).
fn longest_silence(sim: &Simulator, name: &str, from: f64, to: f64) -> f64 {
    let times: Vec<f64> = sim
        .answers(name)
        .iter()
        .map(|a| a.at)
        .filter(|t| *t > from && *t < to)
        .collect();
    times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max)
}

/// Sleeps until wall time `at`.
fn sleep_until(at: f64) {
    let left = at - now();
    if left > 0.0 {
        thread::sleep(Duration::from_secs_f64(left));
    }
}

/// A second in [from, to) whose traffic on `name` differs most from the
/// second before it (the simulator's traffic is a pure function of time).
fn burst_edge(sim: &Simulator, name: &str, from: i64, to: i64) -> i64 {
    let rx = |k: i64| sim.second_bytes(name, k).unwrap().0 as f64;
    (from..to)
        .max_by(|a, b| {
            let jump = |k: i64| (rx(k) - rx(k - 1)).abs() / rx(k).max(1.0);
            jump(*a).total_cmp(&jump(*b))
        })
        .unwrap()
}

#[test]
fn faults_leave_exactly_what_was_measured_and_are_logged_once() {
    let dir = TestDir::new("faults");
    let sim = Simulator::start(Options::default()).unwrap();
    let names = ["ether1", "ether2", "bridge1", "wlan1"];
    let config = write_config_with(&dir.0, &sim, &names, "timeout = 5\n", "enabled = false\n");
    let daemon = Daemon::start(&config, &[]);
    let paths: Vec<PathBuf> = names.iter().map(|n| rrd_path(&dir.0, n)).collect();
    for path in &paths {
        wait_for_last(path, now() - 1.0);
    }
    let from = now().ceil() as i64 + 1;

    // A counter reset in the middle of the second where ether1's traffic
    // jumps most within the next 12 s.
    let edge = burst_edge(&sim, "ether1", from + 2, from + 12);
    sleep_until(edge as f64 + 0.5);
    sim.reset_counters();
    thread::sleep(Duration::from_secs(2));

    // wlan1 is deleted and re-created, ether2 renamed away and back; the
    // other interfaces go on meanwhile.
    let quiet_from = now();
    assert!(sim.remove_interface("wlan1"));
    assert!(sim.rename_interface("ether2", "lan"));
    thread::sleep(Duration::from_secs(5));
    assert!(sim.recreate_interface("wlan1"));
    assert!(sim.rename_interface("lan", "ether2"));
    let quiet_to = now();
    thread::sleep(Duration::from_secs(2));

    // A storm of traps: every command refused (with two traps, as RouterOS
    // refuses an unknown command), the session kept.
    sim.set_fault(Fault::Traps(2));
    thread::sleep(Duration::from_secs(3));
    sim.set_fault(Fault::None);
    thread::sleep(Duration::from_secs(2));

    // Replies taking about 2.5 s (five sentences, 0.5 s each).
    let slow_from = now();
    sim.set_fault(Fault::Slow(Duration::from_millis(500)));
    thread::sleep(Duration::from_secs(8));
    sim.set_fault(Fault::None);
    thread::sleep(Duration::from_secs(3));
    let slow = (slow_from, now());

    // A reboot: the session drops, the counters start from zero.
    sim.reboot();
    thread::sleep(Duration::from_secs(6));
    let to = now().floor() as i64 - 2;
    for path in &paths {
        wait_for_last(path, to as f64 + 1.0);
    }
    let (code, _, log) = daemon.stop();
    assert_eq!(code, Some(0), "{log}");

    let mut unknown = Vec::new();
    for (name, path) in names.iter().zip(&paths) {
        unknown.push(assert_as_measured(path, &sim, name, (from, to), Some(slow)));
        // While replies were slow, the volume is still what was counted,
        // but for the delay at each edge of the window.
        let (a, b) = (slow.0.floor() as i64 - 3, slow.1.ceil() as i64 + 3);
        let (rx, _, _) = stored(path, a, b);
        let counted: f64 = measured(&sim, name)
            .iter()
            .filter_map(|(x, y, rate)| {
                let overlap = y.min(b as f64) - x.max(a as f64);
                rate.filter(|_| overlap > 0.0).map(|r| r * overlap / 8.0)
            })
            .sum();
        let edge = 6.0
            * sim
                .second_bytes(name, b)
                .unwrap()
                .0
                .max(sim.second_bytes(name, a).unwrap().0) as f64;
        assert!(
            (rx - counted).abs() <= edge,
            "{name}: {rx} B stored, {counted} B counted while replies were slow"
        );
    }
    // The reset costs one second per interface, the reboot a few more.
    assert!(
        unknown[0] >= 2 && unknown[0] <= 8,
        "ether1: {unknown:?} unknown seconds\n{log}"
    );
    // The others were read every second while wlan1 and ether2 were away.
    for name in ["ether1", "bridge1"] {
        let silence = longest_silence(&sim, name, quiet_from, quiet_to);
        assert!(
            silence < 1.6,
            "{name}: {silence} s without a reading\n{log}"
        );
    }
    // No reconnection but after the reboot.
    assert_eq!(sim.logins(), 2, "{log}");
    let count = |text: &str| log.lines().filter(|line| line.contains(text)).count();
    assert_eq!(count("connected to"), 1, "{log}");
    assert_eq!(count("does not list the interface wlan1"), 1, "{log}");
    assert_eq!(count("does not list the interface ether2"), 1, "{log}");
    assert_eq!(count("lists the interface again"), 2, "{log}");
    assert_eq!(count("sim/wlan1: the interface was re-created"), 1, "{log}");
    assert_eq!(count("simulated trap storm"), 1, "{log}");
    assert_eq!(count("reading from"), 2, "trap storm and reboot end\n{log}");
    assert_eq!(count("given up"), 0, "{log}");
    for name in names {
        let backfills = count(&format!("sim/{name}: backfilling"));
        assert!(backfills <= 3, "{name}: {backfills} backfill lines\n{log}");
    }
}

#[test]
fn restarts_write_the_second_after_the_last_write_as_measured() {
    // The daemon is stopped just after a write and started again so that
    // its first reading comes about a second after the file's last update
    // (the launch is timed by the previous start's delay to its first
    // reading). The second right after the last update is then measured
    // for less than half or not at all, and must be unknown, not filled by
    // librrd from the next line's rate; one measured for more than half
    // holds its own rate. Every second of the file is checked against what
    // the simulator answered.
    let dir = TestDir::new("restart");
    let sim = Simulator::start(Options::default()).unwrap();
    let config = write_config(&dir.0, &sim, &["ether1"], "");
    let path = rrd_path(&dir.0, "ether1");
    let mut daemon = Daemon::start(&config, &[]);
    wait_for_last(&path, now() - 1.0);
    let from = now().ceil() as i64 + 1;
    let mut delay = 0.15;
    // Per restart: its first reading after the file's last update, and
    // when it was launched.
    let mut after = Vec::new();
    let mut launches = Vec::new();
    let mut logs = String::new();
    for _ in 0..8 {
        thread::sleep(Duration::from_secs(2));
        let written = rrd_last(&path);
        wait_until(Duration::from_secs(10), "a write", || {
            rrd_last(&path) > written
        });
        let (code, _, log) = daemon.stop();
        assert_eq!(code, Some(0), "{log}");
        logs.push_str(&log);
        let last = rrd_last(&path) as f64;
        sleep_until(last + 1.0 - delay);
        let launched = now();
        launches.push(launched);
        daemon = Daemon::start(&config, &[]);
        let mut first = None;
        wait_until(Duration::from_secs(10), "the first reading", || {
            first = sim
                .answers("ether1")
                .iter()
                .map(|a| a.at)
                .find(|at| *at > launched);
            first.is_some()
        });
        let first = first.unwrap();
        delay = first - launched;
        after.push(first - last);
        if after.iter().filter(|a| **a > 0.6 && **a < 1.45).count() >= 3 {
            break;
        }
    }
    thread::sleep(Duration::from_secs(2));
    let to = now().floor() as i64 - 1;
    wait_for_last(&path, to as f64 + 1.0);
    let (code, _, log) = daemon.stop();
    assert_eq!(code, Some(0), "{log}");
    logs.push_str(&log);
    // Without the fix, librrd filled the second after the last update from
    // the next line's rate whenever the first reading came 0.55 to 1.5 s
    // after it.
    assert!(
        after.iter().any(|a| *a > 0.6 && *a < 1.45),
        "no restart read first 0.6 to 1.45 s after the last update: {after:?}"
    );
    // A new process measures from its own first reading on.
    let spans: Vec<_> = measured(&sim, "ether1")
        .into_iter()
        .filter(|(a, b, _)| !launches.iter().any(|l| a < l && l < b))
        .collect();
    let unknown = assert_spans(&path, "ether1", &spans, (from, to), None);
    // Each restart that read first more than 0.6 s after the last update
    // left that second unknown.
    let late = after.iter().filter(|a| **a > 0.6).count();
    assert!(
        unknown >= late,
        "{unknown} unknown seconds, {after:?}\n{logs}"
    );
}

#[test]
fn monitor_traffic_interfaces_are_independent_and_need_no_uptime() {
    let dir = TestDir::new("monitor-missing");
    let sim = Simulator::start(Options::default()).unwrap();
    // A user whose group may not read /system/resource.
    sim.deny("/system/resource/print");
    let config = write_config(
        &dir.0,
        &sim,
        &["ether1", "ether2"],
        "source = \"monitor-traffic\"",
    );
    let wan = rrd_path(&dir.0, "ether1");
    let lan = rrd_path(&dir.0, "ether2");
    let daemon = Daemon::start(&config, &[]);
    wait_for_last(&wan, now() - 1.0);
    wait_for_last(&lan, now() - 1.0);
    let from = now().ceil() as i64 + 1;
    thread::sleep(Duration::from_secs(2));
    assert!(sim.remove_interface("ether2"));
    let removed = now();
    thread::sleep(Duration::from_secs(5));
    assert!(sim.recreate_interface("ether2"));
    let back = now();
    thread::sleep(Duration::from_secs(3));
    let to = now().floor() as i64 - 2;
    wait_for_last(&wan, to as f64 + 1.0);
    let (code, _, log) = daemon.stop();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(sim.logins(), 1, "no reconnection\n{log}");
    let (_, _, unknown) = stored(&wan, from, to);
    assert_eq!(unknown, 0, "ether1 keeps every second\n{log}");
    // ether2 is unknown while it was away (give or take its edges).
    let rows = fetch_seconds(&lan, from, to);
    let unknown: Vec<i64> = rows
        .iter()
        .filter(|(_, rx, _)| rx.is_nan())
        .map(|(t, _, _)| *t)
        .collect();
    assert!(
        unknown.len() >= 3
            && unknown
                .iter()
                .all(|t| *t as f64 > removed && *t as f64 <= back + 2.0),
        "{unknown:?} between {removed} and {back}\n{log}"
    );
    assert_eq!(
        log.matches("does not list the interface ether2").count(),
        1,
        "{log}"
    );
    assert!(
        !log.contains("uptime"),
        "monitor-traffic does not ask for it\n{log}"
    );
}

#[test]
fn counters_without_the_uptime_are_collected_and_the_loss_is_said() {
    let dir = TestDir::new("no-uptime");
    let sim = Simulator::start(Options::default()).unwrap();
    sim.deny("/system/resource/print");
    let config = write_config(&dir.0, &sim, &["ether1"], "");
    let wan = rrd_path(&dir.0, "ether1");
    let daemon = Daemon::start(&config, &[]);
    wait_for_last(&wan, now() - 1.0);
    let from = now().ceil() as i64 + 1;
    thread::sleep(Duration::from_secs(2));
    sim.drop_sessions();
    thread::sleep(Duration::from_secs(4));
    let to = now().floor() as i64 - 2;
    wait_for_last(&wan, to as f64 + 1.0);
    let (code, _, log) = daemon.stop();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(
        assert_as_measured(&wan, &sim, "ether1", (from, to), None),
        0,
        "{log}"
    );
    assert_eq!(
        log.matches("cannot read the router's uptime").count(),
        1,
        "said once, not per session\n{log}"
    );
    assert!(
        log.contains("a reboot is noticed only when a counter goes down"),
        "{log}"
    );
}

/// `GET path` from the daemon's web server: status and body.
fn http_get(port: u16, path: &str) -> (u16, String) {
    use std::io::Write;
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return (0, String::new());
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
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

#[test]
fn health_shows_failing_files_in_words_and_no_resolved_error() {
    let dir = TestDir::new("health");
    let sim = Simulator::start(Options::default()).unwrap();
    let port = support::free_port();
    let config = write_config_with(
        &dir.0,
        &sim,
        &["ether1", "ether2"],
        "timeout = 8\n",
        &format!("listen = \"127.0.0.1\"\nport = {port}\n"),
    );
    // ether2's file has a layout the collector refuses.
    rrdtool(&[
        "create",
        rrd_path(&dir.0, "ether2").to_str().unwrap(),
        "--step",
        "300",
        "DS:in:COUNTER:600:0:U",
        "RRA:AVERAGE:0.5:1:10",
    ]);
    let daemon = Daemon::start(&config, &[]);
    let wan = rrd_path(&dir.0, "ether1");
    wait_for_last(&wan, now() - 1.0);
    let live = |key: &str| -> serde_json::Value {
        let (status, body) = http_get(port, "/api/live");
        assert_eq!(status, 200, "{body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        json["interfaces"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == key)
            .cloned()
            .unwrap()
    };
    // Fresh samples, but nothing stored for ether2: failing, in words.
    let (status, body) = http_get(port, "/healthz");
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("sim/ether2: not stored (file foreign layout: ") && !body.contains("ether1"),
        "{body}"
    );
    let ether2 = live("sim/ether2");
    assert_eq!(ether2["state"], "error", "{ether2}");
    assert_eq!(ether2["file"], "failed", "{ether2}");
    let (_, interfaces) = http_get(port, "/api/interfaces");
    assert!(interfaces.contains("file foreign layout"), "{interfaces}");

    // Sessions dropped for a few seconds, then back: the error goes.
    sim.set_fault(Fault::DropAfter(0));
    sim.drop_sessions();
    wait_until(Duration::from_secs(10), "the drop to show", || {
        live("sim/ether1")["error"]
            .as_str()
            .is_some_and(|e| e.contains("closed"))
    });
    sim.set_fault(Fault::None);
    wait_until(Duration::from_secs(15), "the error to go", || {
        let ether1 = live("sim/ether1");
        ether1["state"] == "ok" && ether1["error"].is_null()
    });
    // A stall: the router stops answering; within the 8 s timeout there is
    // no new error, and the old one must not come back.
    sim.set_fault(Fault::Silent);
    thread::sleep(Duration::from_millis(6500));
    let ether1 = live("sim/ether1");
    sim.set_fault(Fault::None);
    let (code, _, log) = daemon.stop();
    assert_eq!(code, Some(0), "{log}");
    assert_eq!(ether1["state"], "stale", "{ether1}");
    assert!(
        ether1["error"].is_null(),
        "a resolved error shown: {ether1}"
    );
}

#[test]
fn a_new_file_leaves_the_page_cache_so_updates_dirty_small_pages() {
    let dir = TestDir::new("page-cache");
    let sim = Simulator::start(Options::default()).unwrap();
    let config = write_config(&dir.0, &sim, &["ether2"], "");
    let path = rrd_path(&dir.0, "ether2");
    let daemon = Daemon::start(&config, &[]);
    wait_for_last(&path, now() - 1.0);
    // librrd has just written all 33 MiB of it through the page cache; the
    // collector flushes it and drops the cached pages, and later updates
    // bring back only the few pages they touch.
    wait_until(
        Duration::from_secs(30),
        "the page cache to be dropped",
        || cached_bytes(&path) < 1 << 20,
    );
    thread::sleep(Duration::from_secs(3));
    let after = cached_bytes(&path);
    let (code, _, log) = daemon.stop();
    assert_eq!(code, Some(0), "{log}");
    assert!(after < 1 << 20, "{after} bytes cached after 3 s of updates");
    assert!(rrd_last(&path) as f64 >= now() - 10.0, "still written");
}

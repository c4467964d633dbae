//! The tracker's update lines written by librrd and read back with the
//! stock `rrdtool fetch` from the 1 s archive: the file must hold exactly
//! what was measured. Each test drives a [`Tracker`] with readings of a
//! known traffic model (counters at chosen times, resets in between),
//! writes every plan with `rrd::update`, and checks every second of the
//! file against the measured spans: a second is known when more than half
//! of it lies in spans whose counters prove their bytes, and then holds the
//! average rate of those spans over its measured part; otherwise it is
//! unknown. Restarts take a new tracker on the existing file as
//! `store::open` reports it, also after another program's update at a
//! fraction of a second.

use std::path::Path;

mod support;

use mt_trafmon::collector::tracker::{Reading, Tracker, Value};
use mt_trafmon::{rrd, store};
use support::TestDir;

/// Wall minus monotonic time: whole, so that whole monotonic seconds are
/// whole wall seconds.
const OFFSET: f64 = 1_700_000_000.0;
/// The router's boot time on the monotonic axis (no reboot in these tests).
const BOOT: f64 = -5000.0;

/// Bytes received in monotonic second `[k, k + 1)`: a step pattern that
/// changes by up to a factor of eleven from one second to the next, like a
/// burst starting and ending, so that a second stored with its neighbour's
/// rate shows.
fn second_bytes(k: i64) -> u64 {
    1_000_000 * (1 + (k * 7).rem_euclid(11) as u64)
}

/// The bytes counted from time 0 to `t`: every whole second, plus the
/// elapsed share of the current one (traffic is even within a second).
fn cumulative(t: f64) -> f64 {
    let k = t.floor() as i64;
    (0..k).map(|j| second_bytes(j) as f64).sum::<f64>() + (t - k as f64) * second_bytes(k) as f64
}

/// A router's received-byte counter at `t`: zero at the last reset before
/// `t`, else a large base.
fn counter(t: f64, resets: &[f64]) -> u64 {
    let since = resets
        .iter()
        .copied()
        .filter(|r| *r <= t)
        .fold(None, |a: Option<f64>, r| Some(a.map_or(r, |a| a.max(r))));
    match since {
        Some(r) => (cumulative(t) - cumulative(r)).round() as u64,
        None => 5_000_000_000_000 + cumulative(t).round() as u64,
    }
}

/// One measured span: (from, to] in monotonic seconds, its rate in bit/s
/// or `None` when a reset lies inside it.
type Span = (f64, f64, Option<f64>);

/// Feeds readings at `times` into a tracker writing to a new file, and
/// returns the spans the readings measured.
fn run(path: &Path, times: &[f64], resets: &[f64]) -> Vec<Span> {
    let start = (times[0] + OFFSET).floor() as i64 - 5;
    let definitions: Vec<String> = [
        "DS:rx:GAUGE:3:0:U",
        "DS:tx:GAUGE:3:0:U",
        "RRA:AVERAGE:0.5:1:2000",
    ]
    .iter()
    .map(|d| d.to_string())
    .collect();
    rrd::create(path, 1, start, true, &definitions).unwrap();
    restart(path, times, resets)
}

/// Feeds readings at `times` into a new tracker (a restart) writing to the
/// existing file as `store::open` reports it, and returns the spans the
/// readings measured.
fn restart(path: &Path, times: &[f64], resets: &[f64]) -> Vec<Span> {
    let mut tracker = Tracker::new();
    tracker.file_ready(store::open(path).unwrap());
    let mut spans = Vec::new();
    for (i, &t) in times.iter().enumerate() {
        let bytes = counter(t, resets);
        tracker.observe(Reading {
            mono: t,
            wall: t + OFFSET,
            boot: Some(BOOT),
            id: Some("*1".into()),
            value: Value::Counters {
                rx_bytes: bytes,
                tx_bytes: bytes / 4,
            },
        });
        if i > 0 {
            let from = times[i - 1];
            let reset = resets.iter().any(|r| *r > from && *r <= t);
            let rate = (!reset).then(|| (bytes - counter(from, resets)) as f64 * 8.0 / (t - from));
            spans.push((from, t, rate));
        }
        let plan = tracker.plan(OFFSET, 3600);
        let lines: Vec<String> = plan
            .lines
            .iter()
            .map(|l| rrd::update_line(l.at, l.rx, l.tx))
            .collect();
        rrd::update(path, &lines).unwrap();
        tracker.written(&plan);
    }
    spans
}

/// What the second `(end - 1, end]` (monotonic) must hold: its measured
/// share and, when over half, the average rate over that share.
fn expected(spans: &[Span], end: f64) -> (f64, Option<f64>) {
    let (mut known, mut bits) = (0.0, 0.0);
    for &(from, to, rate) in spans {
        let overlap = to.min(end) - from.max(end - 1.0);
        if let (Some(rate), true) = (rate, overlap > 0.0) {
            known += overlap;
            bits += rate * overlap;
        }
    }
    (known, (known > 0.5).then(|| bits / known))
}

/// Checks every second between the first and the last reading.
fn check(path: &Path, times: &[f64], spans: &[Span]) {
    let first = times[0].ceil() as i64;
    let last = times[times.len() - 1].floor() as i64;
    let rows: Vec<(i64, f64)> =
        support::fetch_seconds(path, first + OFFSET as i64, last + OFFSET as i64)
            .into_iter()
            .map(|(time, rx, _)| (time, rx))
            .collect();
    assert_eq!(rows.len() as i64, last - first, "{rows:?}");
    let mut report = String::new();
    let mut wrong = 0;
    for (time, stored) in rows {
        let end = (time - OFFSET as i64) as f64;
        let (share, want) = expected(spans, end);
        let ok = match want {
            Some(want) => (stored - want).abs() <= want * 1e-6,
            None => stored.is_nan(),
        };
        if !ok {
            wrong += 1;
        }
        report.push_str(&format!(
            "second ending {end}: measured {share:.3}, stored {stored}, expected {want:?}{}\n",
            if ok { "" } else { "   <-- wrong" }
        ));
    }
    assert_eq!(
        wrong, 0,
        "{wrong} seconds differ from what was measured:\n{report}"
    );
}

#[test]
fn a_counter_reset_leaves_exactly_the_unmeasured_second_unknown() {
    let dir = TestDir::new("tracker-reset");
    let path = dir.path("reset.rrd");
    // Replies a few milliseconds after each whole second, as on an idle
    // machine; the counters are reset half-way between two readings.
    let times: Vec<f64> = (100..=130).map(|k| k as f64 + 0.005).collect();
    let resets = [115.5];
    let spans = run(&path, &times, &resets);
    check(&path, &times, &spans);
}

#[test]
fn slow_replies_and_several_resets_follow_the_same_rule() {
    let dir = TestDir::new("tracker-slow");
    let path = dir.path("slow.rrd");
    // Replies 0.7 s after the second, with jitter; two resets, one right
    // after the other.
    let times: Vec<f64> = (100..=140)
        .map(|k| k as f64 + 0.7 + (k % 3) as f64 * 0.05)
        .collect();
    let resets = [110.2, 111.9, 125.75];
    let spans = run(&path, &times, &resets);
    check(&path, &times, &spans);
}

#[test]
fn a_gap_backfilled_and_a_gap_left_unknown() {
    let dir = TestDir::new("tracker-gap");
    let path = dir.path("gap.rrd");
    // Readings stop for 6.4 s twice (a dropped session): the first gap's
    // counters prove continuity, the second holds a reset.
    let mut times: Vec<f64> = (100..=110).map(|k| k as f64 + 0.02).collect();
    times.extend((0..=10).map(|k| 116.42 + k as f64));
    times.extend((0..=10).map(|k| 132.9 + k as f64));
    let resets = [130.0];
    let spans = run(&path, &times, &resets);
    check(&path, &times, &spans);
}

#[test]
fn a_restart_writes_the_seconds_after_the_last_update_as_measured() {
    // Three runs on one file, each with a new tracker on the file as
    // `store::open` reports it. The first writes up to 110. The second's
    // first reading comes 0.3 s after that: the second ending at 111 was
    // measured for 0.7 s and holds that part's rate, not the next second's.
    // The third's comes 0.8 s after the second's last write (120): the
    // second ending at 121 was measured for 0.2 s and is unknown, not
    // filled from the next line.
    let dir = TestDir::new("tracker-restart");
    let path = dir.path("restart.rrd");
    let first: Vec<f64> = (100..=110).map(|k| k as f64).collect();
    let second: Vec<f64> = std::iter::once(110.3)
        .chain((111..120).map(|k| k as f64 + 0.002))
        .chain([120.0])
        .collect();
    let third: Vec<f64> = std::iter::once(120.8)
        .chain((121..=130).map(|k| k as f64 + 0.002))
        .collect();
    let mut spans = run(&path, &first, &[]);
    spans.extend(restart(&path, &second, &[]));
    spans.extend(restart(&path, &third, &[]));
    let times: Vec<f64> = [first, second, third].concat();
    check(&path, &times, &spans);
}

#[test]
fn after_another_programs_update_at_a_fraction_only_its_second_keeps_its_value() {
    // Another program (stock rrdtool with `N`, as the original did) last
    // updated the file at 110.4; librrd reports 110. The collector's
    // readings start at 112.5: the seconds ending at 112 and 113 are not
    // measured enough and must be unknown. librrd fills the second that
    // holds 110.4 from that update's known part, and would fill every
    // second of an unknown run shorter than its heartbeat (3 s) with it.
    let dir = TestDir::new("tracker-foreign");
    let path = dir.path("foreign.rrd");
    let definitions: Vec<String> = [
        "DS:rx:GAUGE:3:0:U",
        "DS:tx:GAUGE:3:0:U",
        "RRA:AVERAGE:0.5:1:2000",
    ]
    .iter()
    .map(|d| d.to_string())
    .collect();
    let at = |t: f64| t + OFFSET;
    rrd::create(&path, 1, at(100.0) as i64, true, &definitions).unwrap();
    let mut lines: Vec<String> = (101..=110)
        .map(|k| rrd::update_line(at(k as f64), Some(5000.0), Some(500.0)))
        .collect();
    lines.push(rrd::update_line(at(110.4), Some(7000.0), Some(700.0)));
    rrd::update(&path, &lines).unwrap();
    let times: Vec<f64> = std::iter::once(112.5)
        .chain((113..=120).map(|k| k as f64 + 0.002))
        .collect();
    let spans = restart(&path, &times, &[]);
    let rows = support::fetch_seconds(&path, at(109.0) as i64, at(113.0) as i64);
    let rx: Vec<f64> = rows.iter().map(|r| r.1).collect();
    assert_eq!(rx[..2], [5000.0, 7000.0], "{rows:?}");
    assert!(rx[2..].iter().all(|v| v.is_nan()), "{rows:?}");
    check(&path, &times, &spans);
}

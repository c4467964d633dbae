//! The cache of the query module (the map of unknown time and the days)
//! against real RRD files (static librrd): `query::series_cached` must
//! answer as `query::series` does, follow the file as it is updated, and
//! start over when the file at the path is replaced by another one, even
//! with the same layout and a later last update. Learning a file that is
//! not in the page cache reads it in large requests, not a page at a time.

use std::path::Path;

mod support;

use mt_trafmon::query::{self, Cache, Request, Series};
use mt_trafmon::rrd;
use support::{TestDir, cached_bytes};

/// 2025-11-26 00:00:00 UTC, a multiple of a day.
const DAY0: i64 = 1_764_115_200;
const DAY: i64 = 86_400;

/// A file of 300 s steps: 300 s rows for two days, hourly averages and
/// maxima for 30 days.
fn create(path: &Path, start: i64) {
    let definitions: Vec<String> = [
        "DS:rx:GAUGE:600:0:U",
        "DS:tx:GAUGE:600:0:U",
        "RRA:AVERAGE:0.5:1:576",
        "RRA:AVERAGE:0.5:12:720",
        "RRA:MAX:0.5:12:720",
    ]
    .iter()
    .map(|d| d.to_string())
    .collect();
    rrd::create(path, 300, start, false, &definitions).unwrap();
}

/// One update every 300 s in `(from, to]`, with rates from `seed` and an
/// unknown hour now and then.
fn fill(path: &Path, from: i64, to: i64, seed: i64) {
    let lines: Vec<String> = (from / 300 + 1..=to / 300)
        .map(|b| {
            let rx = (b % 97 >= 12).then(|| (1000 + (b * 7919 + seed).rem_euclid(1009)) as f64);
            let tx = Some((200 + (b * 104_729 + seed).rem_euclid(307)) as f64);
            rrd::update_line((b * 300) as f64, rx, tx)
        })
        .collect();
    rrd::update(path, &lines).unwrap();
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// The plain answer and the cached one, which must agree.
fn both(cache: &mut Cache, path: &Path, start: i64, end: i64, points: u32) -> Series {
    let request = Request { start, end, points };
    let plain = query::series(path, &request).unwrap();
    let cached = query::series_cached(cache, path, &request).unwrap();
    assert_eq!(
        (cached.start, cached.end, cached.step, cached.points.len()),
        (plain.start, plain.end, plain.step, plain.points.len())
    );
    let (a, b) = (&cached.summary, &plain.summary);
    assert_eq!(
        (
            a.known, a.rx_known, a.tx_known, a.rx_peak, a.tx_peak, a.exact
        ),
        (
            b.known, b.rx_known, b.tx_known, b.rx_peak, b.tx_peak, b.exact
        )
    );
    assert!(close(a.rx_bytes, b.rx_bytes));
    assert!(close(a.tx_bytes, b.tx_bytes));
    for (a, b) in cached.points.iter().zip(&plain.points) {
        assert_eq!(
            (a.time, a.rx_peak, a.tx_peak, a.rx_known, a.tx_known),
            (b.time, b.rx_peak, b.tx_peak, b.rx_known, b.tx_known)
        );
        for (x, y) in [(a.rx, b.rx), (a.tx, b.tx)] {
            assert!(x.is_some() == y.is_some() && close(x.unwrap_or(0.0), y.unwrap_or(0.0)));
        }
    }
    plain
}

#[test]
fn cached_series_follow_the_file_and_its_replacement() {
    let dir = TestDir::new("query-cache");
    let path = dir.0.join("ether1.rrd");
    let start = DAY0 - 40 * DAY;
    create(&path, start);
    let mut last = DAY0 - 15 * DAY + 1500;
    fill(&path, start, last, 0);
    let mut cache = Cache::new();
    let series = both(&mut cache, &path, last - 35 * DAY + 123, last - 7, 10);
    assert_eq!(series.step, 7 * DAY as u64);
    // Thirty days of hourly rows, less the margin's row: 29 whole days.
    assert_eq!(cache.days(), (last - 30 * DAY) / DAY + 1..last / DAY);
    // Later, with the oldest days wrapped out.
    for more in [600, DAY, 5 * DAY + 300] {
        fill(&path, last, last + more, 0);
        last += more;
        both(&mut cache, &path, last - 35 * DAY + 123, last - 7, 10);
        assert_eq!(cache.days(), (last - 30 * DAY) / DAY + 1..last / DAY);
    }
    // Replaced by another file of the same layout and a later last update,
    // but other rates: a cache of the old file would answer wrongly.
    let other = dir.0.join("ether1.rrd.new");
    create(&other, start);
    fill(&other, start, last + 3600, 7);
    std::fs::rename(&other, &path).unwrap();
    let before = cache.days();
    both(&mut cache, &path, last - 35 * DAY + 123, last - 7, 10);
    assert_eq!(cache.days(), before);
}

/// Voluntary context switches of the calling thread so far: the times it
/// blocked, each one a wakeup later.
fn thread_waits() -> u64 {
    let status = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

#[test]
fn learning_a_file_not_in_the_page_cache_reads_it_in_large_requests() {
    // The web server's learner reads most of every file once after a
    // start, when the collector has just dropped the files' page cache.
    // librrd maps a file with MADV_RANDOM: rows not cached come in one
    // 4 KiB page fault at a time, each a wait (with 64 compact files, some
    // 12,000 wakeups a second for a minute after each start).
    let dir = TestDir::new("learn-cold");
    let path = dir.path("cold.rrd");
    let definitions: Vec<String> = [
        "DS:rx:GAUGE:3:0:U",
        "DS:tx:GAUGE:3:0:U",
        "RRA:AVERAGE:0.5:1:262144",
        "RRA:AVERAGE:0.5:60:8000",
        "RRA:MAX:0.5:60:8000",
    ]
    .iter()
    .map(|d| d.to_string())
    .collect();
    rrd::create(&path, 1, DAY0, false, &definitions).unwrap();
    let file = std::fs::File::open(&path).unwrap();
    file.sync_all().unwrap();
    rustix::fs::fadvise(&file, 0, None, rustix::fs::Advice::DontNeed).unwrap();
    let cached = cached_bytes(&path);
    assert!(
        cached < 1 << 16,
        "{cached} bytes still cached: the test needs a file system with a page cache (not tmpfs) for its temporary directory"
    );
    let pages = std::fs::metadata(&path).unwrap().len() / 4096;
    let (waits, steps) = std::thread::spawn(move || {
        let mut cache = Cache::new();
        let before = thread_waits();
        let mut steps = 0;
        while !query::learn(&mut cache, &path, 1 << 16).unwrap() {
            steps += 1;
            assert!(steps < 1000, "learning does not end");
        }
        (thread_waits() - before, steps)
    })
    .join()
    .unwrap();
    assert!(steps >= 3, "{steps} steps");
    // A wait per large request, not per page.
    assert!(
        waits < pages / 8,
        "{waits} waits learning a file of {pages} pages not in the page cache"
    );
}

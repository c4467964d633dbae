//! `cargo bench --bench query`: how fast `query::series_cached` answers on
//! a full-size Original-profile file (835 MB) holding ten years of
//! synthetic history with unknown runs. It prints figures and checks the
//! answers against plain queries and, for the last year, against a sum of
//! every 1 s row; it is a command, not a timed test.
//!
//! The file has the Original profile's six archives, but data sources with
//! a heartbeat of 600 s (`DS:rx:GAUGE:600:0:U`) instead of 3 s, so that one
//! update may cover 300 s. Reads do not depend on the heartbeat. Filling
//! ten years at 1 s would be 315 million updates; instead it is filled,
//! oldest first, with one update every 300 s up to 100 days ago, every 10 s
//! up to a day ago, and every second for the last day. An update's rate
//! fills every second since the one before, so every archive ends up known
//! over its whole retention: the 300 s archives with a new value per row
//! for ten years, the 60 s and 10 s archives with new values per row for
//! the last 100 days (one per 5 minutes before), and the 1 s archive with
//! one per second for the last day (one per 10 s or 5 minutes before).
//! Every 20 hours an unknown run of 1, 10, 299, 301, 600, 7, 45 or 3600 s
//! (in turn) starts anywhere in the hour, written as an update at its start
//! and an unknown one at its end: 4,383 runs, about 440 in the last year.
//! librrd still writes each of the 315 million 1 s rows once, as memory
//! copies; the fill time is printed.
//!
//! Then the cache is learned as the web server's learner thread does
//! (`query::learn` in steps of `LEARN_ROWS` rows), and its time, steps and
//! size printed. Then each window (5 min to 10 years, ending at the file's
//! last update, 1000 points) gets a line: the step, the resolutions used
//! (average and peak), the points, the `rrd::fetch` calls and their rows
//! with the learned cache, the first query on a new cache (nothing learned:
//! "cold ms"), the median and the largest of the timed queries with the
//! learned cache ("median ms", "max ms"), the plain `query::series` (which
//! learns the map of the window's own time, reading every 1 s row of it:
//! "plain ms"), whether the summary is exact to the second, whether the
//! peaks are true 1 s peaks, and the summary. Each answer is checked
//! against the plain one. At the end, every 1 s row of the exact part of
//! the last year is read and summed, as the original did for a year, and
//! checked against that window's summary.
//!
//! The file goes into a new directory under the system's temporary
//! directory, or under `MT_TRAFMON_BENCH_DIR` if set, and is deleted at the
//! end, unless `MT_TRAFMON_BENCH_KEEP` is set: then it is kept and reused
//! by the next run.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mt_trafmon::query::{self, Request};
use mt_trafmon::rrd;
use mt_trafmon::store::Profile;

/// Seconds in a Julian year, as the Original profile counts them.
const YEAR: i64 = 31_557_600;
const DAY: i64 = 86_400;
/// Timed runs per query (after one untimed run).
const RUNS: usize = 9;
/// Rows per learning step, as the web server's learner thread reads them.
const LEARN_ROWS: i64 = mt_trafmon::web::server::LEARN_ROWS;
/// Update lines per `rrd::update` call while filling.
const BATCH: usize = 20_000;

/// The bench file's directory; removed on drop unless it is to be kept.
struct Workspace {
    dir: PathBuf,
    created_dir: bool,
    keep: bool,
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let _ = std::fs::remove_file(self.dir.join("bench-original.rrd"));
        if self.created_dir {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --all-targets` runs this
    // too, without it, and must not write 835 MB.
    if !std::env::args().any(|arg| arg == "--bench") {
        println!("the query bench runs with `cargo bench --bench query` only");
        return;
    }
    let keep = std::env::var_os("MT_TRAFMON_BENCH_KEEP").is_some();
    let (dir, created_dir) = match std::env::var_os("MT_TRAFMON_BENCH_DIR") {
        Some(dir) => (PathBuf::from(dir), false),
        None => (
            std::env::temp_dir().join(format!("mt-trafmon-bench-{}", std::process::id())),
            true,
        ),
    };
    std::fs::create_dir_all(&dir).expect("creates the bench directory");
    let workspace = Workspace {
        dir,
        created_dir,
        keep,
    };
    let path = workspace.dir.join("bench-original.rrd");
    println!("mt-trafmon query bench: {}", path.display());

    if path.exists() && keep {
        println!("reusing the kept file (MT_TRAFMON_BENCH_KEEP)");
    } else {
        let free = free_bytes(&workspace.dir);
        let needed = Profile::Original.needed_bytes();
        println!(
            "free space: {:.1} GiB; the file needs {:.1} MiB",
            free as f64 / (1u64 << 30) as f64,
            needed as f64 / (1u64 << 20) as f64
        );
        assert!(
            free > needed + (1 << 30),
            "not enough free space in {}",
            workspace.dir.display()
        );
        fill(&path);
    }
    let size = std::fs::metadata(&path).expect("the file exists").len();
    let info = rrd::info(&path).expect("reads the header");
    let last = info.last_update;
    println!(
        "file: {size} bytes ({:.1} MiB), last update {last}",
        size as f64 / (1u64 << 20) as f64
    );

    // The map of unknown seconds and the days, learned as the web server's
    // learner thread does: steps of LEARN_ROWS rows.
    let mut learned = query::Cache::new();
    let began = Instant::now();
    let (mut steps, mut longest) = (0, Duration::ZERO);
    loop {
        let step_began = Instant::now();
        let done = query::learn(&mut learned, &path, LEARN_ROWS).expect("learns");
        longest = longest.max(step_began.elapsed());
        steps += 1;
        if done {
            break;
        }
    }
    println!(
        "learned the cache in {:.2} s: {steps} steps of {LEARN_ROWS} rows, the longest {:.1} ms; {} bytes",
        began.elapsed().as_secs_f64(),
        longest.as_secs_f64() * 1e3,
        learned.memory_bytes()
    );

    let windows = [
        ("5 min", 300),
        ("1 h", 3600),
        ("24 h", DAY),
        ("30 d", 30 * DAY),
        ("1 y", YEAR),
        ("5 y", 5 * YEAR),
        ("10 y", 10 * YEAR),
    ];
    println!();
    println!(
        "{:<6} {:>6} {:>9} {:>6} {:>7} {:>7} {:>8} {:>9} {:>8} {:>9} {:>5} {:>7} {:>12} {:>12} {:>7}",
        "window",
        "step",
        "avg/peak",
        "points",
        "fetches",
        "rows",
        "cold ms",
        "median ms",
        "max ms",
        "plain ms",
        "exact",
        "pk exact",
        "rx volume",
        "tx volume",
        "known"
    );
    let (mut slowest, mut slowest_cold) = (Duration::ZERO, Duration::ZERO);
    let mut year = None;
    for (name, seconds) in windows {
        let request = Request {
            start: last - seconds,
            end: last,
            points: 1000,
        };
        // The first request on a new cache: nothing learned yet.
        let mut fresh = query::Cache::new();
        let began = Instant::now();
        query::series_cached(&mut fresh, &path, &request).expect("queries");
        let cold = began.elapsed();
        slowest_cold = slowest_cold.max(cold);
        drop(fresh);
        // The learned cache, warm: one run through the pure function that
        // counts the fetches and their rows, then the timed ones.
        let (mut fetches, mut rows) = (0usize, 0usize);
        let series = query::compute_cached(&mut learned, &info, &request, |cf, start, end, r| {
            let fetched = rrd::fetch(&path, cf, start, end, r)?;
            fetches += 1;
            rows += fetched.rows();
            Ok(fetched)
        })
        .expect("queries");
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let began = Instant::now();
            let timed = query::series_cached(&mut learned, &path, &request).expect("queries");
            times.push(began.elapsed());
            assert_eq!(timed, series);
        }
        times.sort();
        let (median, max) = (times[RUNS / 2], times[RUNS - 1]);
        slowest = slowest.max(median);
        // The reference: the map of the window's own time, learned for
        // this one query.
        let began = Instant::now();
        let plain = query::series(&path, &request).expect("queries");
        let plain_time = began.elapsed();
        same(&series, &plain);
        if seconds == YEAR {
            year = Some(series.clone());
        }
        let resolution = |r: Option<u64>| r.map_or("-".to_string(), |r| r.to_string());
        println!(
            "{:<6} {:>6} {:>9} {:>6} {:>7} {:>7} {:>8.2} {:>9.2} {:>8.2} {:>9.0} {:>5} {:>7} {:>12} {:>12} {:>7.5}",
            name,
            human(series.step as i64),
            format!(
                "{}/{}",
                resolution(series.resolution),
                resolution(series.peak_resolution)
            ),
            series.points.len(),
            fetches,
            rows,
            cold.as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            plain_time.as_secs_f64() * 1e3,
            series.summary.exact,
            series.peak_exact && series.summary.peak_exact,
            bytes(series.summary.rx_bytes),
            bytes(series.summary.tx_bytes),
            series.summary.known
        );
    }
    println!(
        "slowest median warm: {:.2} ms (target: 20 ms); slowest first request on a new cache: {:.2} ms (target: 100 ms)",
        slowest.as_secs_f64() * 1e3,
        slowest_cold.as_secs_f64() * 1e3,
    );

    totals(&path, &info, &mut learned);

    // What the original did for a year: every 1 s row, summed; the summary
    // of the same seconds (those the map knows exactly: the 1 s archive's
    // year less its first minutes) must say the same.
    println!();
    let from = year
        .expect("a 1 y window")
        .exact_from
        .expect("exact seconds");
    let began = Instant::now();
    let mut sums = [0.0f64; 2];
    let mut known = [0i64; 2];
    let mut fetched_rows = 0;
    let mut lo = from;
    while lo < last {
        let hi = last.min(lo + query::MAX_FETCH_ROWS);
        let fetched = rrd::fetch(&path, "AVERAGE", lo, hi - 1, 1).expect("fetches");
        for i in 0..fetched.rows() {
            for ((sum, known), value) in sums.iter_mut().zip(&mut known).zip(fetched.row(i)) {
                if !value.is_nan() {
                    *sum += value / 8.0;
                    *known += 1;
                }
            }
        }
        fetched_rows += fetched.rows();
        lo = hi;
    }
    println!(
        "naive read of ({from}, {last}] at 1 s: {fetched_rows} rows in {:.0} ms; rx {} tx {}, known {} and {} s",
        began.elapsed().as_secs_f64() * 1e3,
        bytes(sums[0]),
        bytes(sums[1]),
        known[0],
        known[1]
    );
    let request = Request {
        start: from,
        end: last,
        points: 1,
    };
    let summary = query::series_cached(&mut learned, &path, &request)
        .expect("queries")
        .summary;
    println!(
        "its summary: rx {:+.3e} tx {:+.3e} relative to that, known {} and {} s, exact {}",
        summary.rx_bytes / sums[0] - 1.0,
        summary.tx_bytes / sums[1] - 1.0,
        summary.rx_known,
        summary.tx_known,
        summary.exact
    );
    assert_eq!([summary.rx_known, summary.tx_known], known);
    assert!((summary.rx_bytes / sums[0] - 1.0).abs() < 1e-9);
    assert!((summary.tx_bytes / sums[1] - 1.0).abs() < 1e-9);
    assert!(summary.exact);
    if keep {
        println!("kept {} (MT_TRAFMON_BENCH_KEEP)", path.display());
    } else {
        println!("deleting {}", path.display());
    }
    drop(workspace);
}

/// `query::totals_cached` (what `/api/totals` and its billing cycle add
/// up) for calendar periods in three zones: the 365 local days before the
/// last update's local day, and the months of the year before it. Each
/// line: the zone, the intervals, the fetches and rows with the learned
/// cache, the first call on a new cache, the median and largest of the
/// timed calls, how many intervals are exact, and whether the sum of the
/// intervals equals the series summary of the same span.
fn totals(path: &Path, info: &rrd::Info, learned: &mut query::Cache) {
    use mt_trafmon::tz::{self, Date};
    println!();
    println!(
        "{:<20} {:<7} {:>5} {:>7} {:>7} {:>8} {:>9} {:>8} {:>6} {:>10}",
        "totals zone",
        "period",
        "rows",
        "fetches",
        "rows rd",
        "cold ms",
        "median ms",
        "max ms",
        "exact",
        "= summary"
    );
    let mut slowest = Duration::ZERO;
    for name in ["Europe/Berlin", "Asia/Kolkata", "UTC"] {
        let zone = tz::load(Some(name), None).expect("the zone file is installed");
        let today = zone.date(info.last_update);
        let days: Vec<i64> = (0..=365)
            .map(|k| zone.start_of(Date::from_days(today.days() - 365 + k)))
            .collect();
        let january = Date {
            year: today.year - 1,
            month: 1,
            day: 1,
        };
        let months: Vec<i64> = (0..=12)
            .map(|m| zone.start_of(january.add_months(m, 1)))
            .collect();
        for (period, bounds) in [("days", &days), ("months", &months)] {
            let mut fresh = query::Cache::new();
            let fetch = |cf: &str, start, end, r| rrd::fetch(path, cf, start, end, r);
            let began = Instant::now();
            query::totals_cached(&mut fresh, info, bounds, fetch).expect("totals");
            let cold = began.elapsed();
            drop(fresh);
            let (mut fetches, mut rows) = (0usize, 0usize);
            let totals = query::totals_cached(learned, info, bounds, |cf, start, end, r| {
                let fetched = rrd::fetch(path, cf, start, end, r)?;
                fetches += 1;
                rows += fetched.rows();
                Ok(fetched)
            })
            .expect("totals");
            let mut times = Vec::with_capacity(RUNS);
            for _ in 0..RUNS {
                let fetch = |cf: &str, start, end, r| rrd::fetch(path, cf, start, end, r);
                let began = Instant::now();
                let timed = query::totals_cached(learned, info, bounds, fetch).expect("totals");
                times.push(began.elapsed());
                assert_eq!(timed, totals);
            }
            times.sort();
            let (median, max) = (times[RUNS / 2], times[RUNS - 1]);
            slowest = slowest.max(median);
            let request = Request {
                start: bounds[0],
                end: bounds[bounds.len() - 1],
                points: 1,
            };
            let summary = query::series_cached(learned, path, &request)
                .expect("queries")
                .summary;
            let rx: f64 = totals.iter().map(|t| t.rx_bytes).sum();
            let known: i64 = totals.iter().map(|t| t.rx_known).sum();
            let same = (rx / summary.rx_bytes - 1.0).abs() < 1e-9 && known == summary.rx_known;
            assert!(same, "{name} {period}: {rx} {known} against {summary:?}");
            println!(
                "{:<20} {:<7} {:>5} {:>7} {:>7} {:>8.2} {:>9.2} {:>8.2} {:>6} {:>10}",
                name,
                period,
                totals.len(),
                fetches,
                rows,
                cold.as_secs_f64() * 1e3,
                median.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3,
                totals.iter().filter(|t| t.exact).count(),
                same
            );
        }
    }
    println!(
        "slowest median warm totals: {:.2} ms (target: 20 ms)",
        slowest.as_secs_f64() * 1e3
    );
}

/// Checks that a cached series is the plain one, but for the last bits of
/// sums added in another order (1e-9 relative).
fn same(cached: &query::Series, plain: &query::Series) {
    let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0);
    let close_option = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => close(a, b),
        (a, b) => a.is_none() && b.is_none(),
    };
    assert_eq!(
        (cached.start, cached.end, cached.step, cached.points.len()),
        (plain.start, plain.end, plain.step, plain.points.len())
    );
    assert_eq!(
        (cached.resolution, cached.peak_resolution, cached.peak_exact),
        (plain.resolution, plain.peak_resolution, plain.peak_exact)
    );
    let (a, b) = (&cached.summary, &plain.summary);
    assert!(close(a.rx_bytes, b.rx_bytes), "{a:?} {b:?}");
    assert!(close(a.tx_bytes, b.tx_bytes), "{a:?} {b:?}");
    assert_eq!(
        (a.rx_known, a.tx_known, a.rx_peak, a.tx_peak),
        (b.rx_known, b.tx_known, b.rx_peak, b.tx_peak)
    );
    for (a, b) in cached.points.iter().zip(&plain.points) {
        assert_eq!(
            (a.time, a.rx_peak, a.tx_peak, a.rx_known, a.tx_known),
            (b.time, b.rx_peak, b.tx_peak, b.rx_known, b.tx_known)
        );
        assert!(
            close_option(a.rx, b.rx) && close_option(a.tx, b.tx),
            "{a:?} {b:?}"
        );
    }
}

/// Creates the bench file and fills ten years of history (see the header).
fn fill(path: &Path) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs() as i64;
    // Ten Julian years back, a little more, on a 300 s boundary.
    let start = (now - 10 * YEAR - 600) / 300 * 300;
    let mut definitions = vec![
        "DS:rx:GAUGE:600:0:U".to_string(),
        "DS:tx:GAUGE:600:0:U".to_string(),
    ];
    definitions.extend(Profile::Original.archives().iter().map(|a| a.to_string()));
    let began = Instant::now();
    rrd::create(path, 1, start, false, &definitions).expect("creates the file");
    println!(
        "created in {:.1} s: {}",
        began.elapsed().as_secs_f64(),
        definitions.join(" ")
    );

    let phases = [
        ("every 300 s", 300, now - 100 * DAY),
        ("every 10 s", 10, now - DAY),
        ("every 1 s", 1, now),
    ];
    let mut time = start;
    let mut lines = Vec::with_capacity(BATCH);
    let mut gaps = unknown_runs(start, now - 600).peekable();
    let (mut runs, mut unknown) = (0u64, 0i64);
    let filling = Instant::now();
    for (name, interval, until) in phases {
        let began = Instant::now();
        let mut count = 0u64;
        while time < until {
            // The next time on this phase's grid.
            let next = (time / interval + 1) * interval;
            if next > until {
                break;
            }
            match gaps.peek() {
                Some(&(a, b)) if a < next => {
                    // (time, a] known, (a, b] unknown, then back to the grid.
                    if a > time {
                        let (rx, tx) = rates(a);
                        lines.push(rrd::update_line(a as f64, Some(rx), Some(tx)));
                    }
                    lines.push(rrd::update_line(b as f64, None, None));
                    gaps.next();
                    runs += 1;
                    unknown += b - a.max(time);
                    time = b;
                    count += 2;
                }
                _ => {
                    let (rx, tx) = rates(next);
                    lines.push(rrd::update_line(next as f64, Some(rx), Some(tx)));
                    time = next;
                    count += 1;
                }
            }
            if lines.len() >= BATCH {
                rrd::update(path, &lines).expect("fills");
                lines.clear();
            }
        }
        rrd::update(path, &lines).expect("fills");
        lines.clear();
        println!(
            "filled {name:<12} up to {time}: {count:>9} updates in {:.1} s",
            began.elapsed().as_secs_f64()
        );
    }
    println!(
        "fill took {:.1} s in all; {runs} unknown runs, {unknown} unknown seconds",
        filling.elapsed().as_secs_f64()
    );
}

/// The unknown runs `(a, b]` of the bench file, oldest first: one every
/// 20 hours, starting anywhere in the hour after that, of 1, 10, 299, 301,
/// 600, 7, 45 and 3600 seconds in turn, so that they fall at every
/// alignment to the 10 s, 60 s and 300 s rows; none after `until`.
fn unknown_runs(start: i64, until: i64) -> impl Iterator<Item = (i64, i64)> {
    const LENGTHS: [i64; 8] = [1, 10, 299, 301, 600, 7, 45, 3600];
    (0i64..)
        .map(move |k| {
            let a = start + 50_000 + k * 72_000 + (k * 7_919 + k * k * 104_729).rem_euclid(3600);
            (a, a + LENGTHS[k as usize % LENGTHS.len()])
        })
        .take_while(move |&(_, b)| b <= until)
}

/// Synthetic rates (bit/s) for the period ending at `time`: a daily rhythm
/// (lowest at 04:00 UTC), changing noise, and a burst now and then.
fn rates(time: i64) -> (f64, f64) {
    let day = (time.rem_euclid(DAY) as f64 - 4.0 * 3600.0) / DAY as f64;
    let rhythm = 0.55 - 0.45 * (2.0 * std::f64::consts::PI * day).cos();
    let noise = |salt: i64| {
        let mut x = (time as u64) ^ (salt as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        x ^= x >> 33;
        x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        x ^= x >> 33;
        (x % 10_000) as f64 / 10_000.0
    };
    let burst = if noise(3) > 0.995 { 3.0 } else { 1.0 };
    let rx = 40e6 * rhythm * (0.8 + 0.4 * noise(1)) * burst;
    let tx = 4e6 * rhythm * (0.8 + 0.4 * noise(2)) * burst;
    (rx.round(), tx.round())
}

/// Bytes available to this process on the file system of `dir`.
fn free_bytes(dir: &Path) -> u64 {
    let stat = rustix::fs::statvfs(dir).expect("statvfs");
    stat.f_bavail.saturating_mul(stat.f_frsize)
}

/// A step as a short duration.
fn human(seconds: i64) -> String {
    match seconds {
        s if s % DAY == 0 => format!("{} d", s / DAY),
        s if s % 3600 == 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

/// Bytes with an SI prefix.
fn bytes(value: f64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut value = value;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.2} {}", units[unit])
}

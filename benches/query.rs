//! `cargo bench --bench query`: how fast `query::series` answers on a
//! full-size Original-profile file (835 MB) holding ten years of synthetic
//! history. It prints figures and checks only that the queries succeed; it
//! is a command, not a timed test.
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
//! one per second for the last day (one per 10 s or 5 minutes before). librrd
//! still writes each of the 315 million 1 s rows once, as memory copies;
//! the fill time is printed.
//!
//! Then each window (5 min to 10 years, ending at the file's last update,
//! 1000 points, with volume and peaks) is queried a few times with a warm
//! page cache, and a line printed: the step, the resolutions used (average
//! and peak), the points, the `rrd::fetch` calls and their rows, the time
//! spent in `rrd::fetch` in one run ("fetch ms"), the time of the same
//! query replayed from the rows kept from that run ("own ms": this crate's
//! share), and the median and largest time of `query::series` ("median
//! ms", "max ms"); then the same query through `query::series_cached`:
//! the first call with a new day cache, which builds it for steps of whole
//! days ("cold ms"), and the median of the next calls ("warm ms"), each
//! checked against the plain answer. For comparison, the naive read the
//! original made for a year (31.6 million 1 s rows) is timed at the end.
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
        "{:<6} {:>7} {:>10} {:>6} {:>7} {:>7} {:>8} {:>8} {:>9} {:>8} {:>8} {:>8} {:>8} {:>12} {:>12} {:>6}",
        "window",
        "step",
        "avg/peak",
        "points",
        "fetches",
        "rows",
        "fetch ms",
        "own ms",
        "median ms",
        "max ms",
        "cold ms",
        "warm ms",
        "exact pk",
        "rx volume",
        "tx volume",
        "known"
    );
    let mut slowest = Duration::ZERO;
    let (mut slowest_cached, mut cache_bytes) = (Duration::ZERO, 0);
    for (name, seconds) in windows {
        let request = Request {
            start: last - seconds,
            end: last,
            points: 1000,
        };
        // A warm-up; one run through the pure function that counts the
        // fetches, their rows and the time spent in them; one that keeps
        // the rows, so that replaying them times this crate's share alone.
        query::series(&path, &request).expect("queries");
        let (mut fetches, mut rows, mut in_fetch) = (0usize, 0usize, Duration::ZERO);
        let series = query::compute(&info, &request, |cf, start, end, resolution| {
            let began = Instant::now();
            let fetched = rrd::fetch(&path, cf, start, end, resolution)?;
            in_fetch += began.elapsed();
            fetches += 1;
            rows += fetched.rows();
            Ok(fetched)
        })
        .expect("queries");
        let mut kept = Vec::with_capacity(fetches);
        query::compute(&info, &request, |cf, start, end, resolution| {
            let fetched = rrd::fetch(&path, cf, start, end, resolution)?;
            kept.push(fetched.clone());
            Ok(fetched)
        })
        .expect("queries");
        let mut replays = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let mut answers = kept.clone().into_iter();
            let began = Instant::now();
            let replayed = query::compute(&info, &request, |_, _, _, _| {
                Ok(answers.next().expect("as many fetches as before"))
            })
            .expect("replays");
            replays.push(began.elapsed());
            assert_eq!(replayed, series);
        }
        replays.sort();
        drop(kept);
        let mut times = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let began = Instant::now();
            let timed = query::series(&path, &request).expect("queries");
            times.push(began.elapsed());
            assert_eq!(timed.points.len(), series.points.len());
        }
        times.sort();
        let (median, max) = (times[RUNS / 2], times[RUNS - 1]);
        slowest = slowest.max(median);
        // The day cache: the first call with a new cache builds it (for
        // steps of whole days), the next ones find it warm.
        let mut cache = query::Cache::new();
        let began = Instant::now();
        let cached = query::series_cached(&mut cache, &path, &request).expect("queries");
        let cold = began.elapsed();
        same(&cached, &series);
        let mut warm = Vec::with_capacity(RUNS);
        for _ in 0..RUNS {
            let began = Instant::now();
            let cached = query::series_cached(&mut cache, &path, &request).expect("queries");
            warm.push(began.elapsed());
            same(&cached, &series);
        }
        warm.sort();
        slowest_cached = slowest_cached.max(warm[RUNS / 2]);
        cache_bytes = cache_bytes.max(cache.memory_bytes());
        let resolution = |r: Option<u64>| r.map_or("-".to_string(), |r| r.to_string());
        println!(
            "{:<6} {:>7} {:>10} {:>6} {:>7} {:>7} {:>8.2} {:>8.2} {:>9.2} {:>8.2} {:>8.2} {:>8.2} {:>8} {:>12} {:>12} {:>6.4}",
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
            in_fetch.as_secs_f64() * 1e3,
            replays[RUNS / 2].as_secs_f64() * 1e3,
            median.as_secs_f64() * 1e3,
            max.as_secs_f64() * 1e3,
            cold.as_secs_f64() * 1e3,
            warm[RUNS / 2].as_secs_f64() * 1e3,
            series.peak_exact,
            bytes(series.volume.rx_bytes),
            bytes(series.volume.tx_bytes),
            series.volume.known
        );
    }
    println!(
        "slowest median: {:.2} ms plain, {:.2} ms cached and warm (target: under 20 ms each); \
         largest day cache {} bytes",
        slowest.as_secs_f64() * 1e3,
        slowest_cached.as_secs_f64() * 1e3,
        cache_bytes
    );

    // What the original did for a year: every 1 s row, summed.
    println!();
    let began = Instant::now();
    let fetched = rrd::fetch(&path, "AVERAGE", last - YEAR, last, 1).expect("fetches a year");
    let fetch_time = began.elapsed();
    let mut sums = [0.0f64; 2];
    for i in 0..fetched.rows() {
        for (sum, value) in sums.iter_mut().zip(fetched.row(i)) {
            if !value.is_nan() {
                *sum += value / 8.0;
            }
        }
    }
    println!(
        "naive 1 y read at 1 s (as the original): {} rows fetched in {:.0} ms, summed in {:.0} ms more; rx {} tx {}",
        fetched.rows(),
        fetch_time.as_secs_f64() * 1e3,
        (began.elapsed() - fetch_time).as_secs_f64() * 1e3,
        bytes(sums[0]),
        bytes(sums[1])
    );
    drop(fetched);
    if keep {
        println!("kept {} (MT_TRAFMON_BENCH_KEEP)", path.display());
    } else {
        println!("deleting {}", path.display());
    }
    drop(workspace);
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
    assert!(close(cached.volume.rx_bytes, plain.volume.rx_bytes));
    assert!(close(cached.volume.tx_bytes, plain.volume.tx_bytes));
    assert_eq!(cached.volume.known, plain.volume.known);
    for (a, b) in cached.points.iter().zip(&plain.points) {
        assert_eq!(
            (a.time, a.rx_peak, a.tx_peak),
            (b.time, b.rx_peak, b.tx_peak)
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
    let filling = Instant::now();
    for (name, interval, until) in phases {
        let began = Instant::now();
        let mut count = 0u64;
        // Continue on this phase's grid.
        time = time / interval * interval;
        while time + interval <= until {
            time += interval;
            let (rx, tx) = rates(time);
            lines.push(rrd::update_line(time as f64, Some(rx), Some(tx)));
            count += 1;
            if lines.len() == BATCH {
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
    println!("fill took {:.1} s in all", filling.elapsed().as_secs_f64());
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

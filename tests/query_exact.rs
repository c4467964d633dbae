//! The query module against a file written by stock `rrdtool` (Debian's
//! CLI) from a known traffic model with unknown runs of 1, 10, 299, 301
//! and 600 s at every alignment to the 10 s, 60 s and 300 s rows: the
//! volume, average, peak and known seconds of any window `(start, end]`,
//! and of each point, must be those of the model's seconds, exactly, where
//! the 1 s archive holds them; older, those of the 10 s rows librrd kept.

use std::path::Path;

mod support;

use mt_trafmon::query::{self, Cache, Request, Series};
use support::{TestDir, rrdtool};

/// The file's start, a multiple of an hour (2025-11-01 00:00:00 UTC).
const T0: i64 = 1_761_955_200;
/// Periods of an hour, each with one run of every length.
const PERIODS: i64 = 300;
/// Where each length's runs start in their period, before the period's
/// offset: the offsets 0 to 299 then put each length at every position in
/// the 300 s rows (100 ≡ 400 and 0 ≡ 1500 modulo 300).
const RUNS: [(i64, i64); 5] = [(0, 1), (400, 10), (800, 299), (1500, 301), (2200, 600)];
/// The model's last second: a known hour after the last period.
const LAST: i64 = T0 + 3600 * (PERIODS + 2);
/// The 1 s archive's rows: ten days, less than the model's 12.6, so that
/// its first days are held by the 10 s rows (and coarser) only.
const ONE_SECOND_ROWS: i64 = 864_000;

/// The unknown runs `(a, b]`, oldest first, and whether only `tx` is
/// unknown (every seventh period).
fn runs() -> Vec<(i64, i64, bool)> {
    let mut runs = Vec::new();
    for p in 0..PERIODS {
        let base = T0 + 3600 * (p + 1) + p;
        for (at, length) in RUNS {
            runs.push((base + at, base + at + length, p % 7 == 3));
        }
    }
    runs
}

fn hash(x: i64, salt: u64) -> u64 {
    let mut x = (x as u64) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x
}

/// The rates (bit/s, whole numbers) of the stretch of traffic ending at
/// `t`.
fn rates(t: i64) -> (f64, f64) {
    let rx = 1_000_000 + hash(t, 1) % 900_000_000;
    let tx = 100_000 + hash(t, 2) % 90_000_000;
    (rx as f64, tx as f64)
}

/// The model: per second `s` (the row stamped `s`, index `s - T0 - 1`),
/// rx and tx or unknown; and the `rrdtool update` arguments that write it:
/// stretches of 1 to 7 s at one rate, and the runs.
fn model() -> (Vec<[Option<f64>; 2]>, Vec<String>) {
    let mut seconds = vec![[None; 2]; (LAST - T0) as usize];
    let mut lines = Vec::new();
    let mut t = T0;
    let mut set = |from: i64, to: i64, value: [Option<f64>; 2]| {
        for s in from + 1..=to {
            seconds[(s - T0 - 1) as usize] = value;
        }
    };
    let mut runs = runs().into_iter().peekable();
    while t < LAST {
        let next_run = runs.peek().map_or(LAST, |r| r.0);
        if t == next_run {
            let (a, b, tx_only) = runs.next().unwrap();
            if !tx_only {
                set(a, b, [None, None]);
                lines.push(format!("{b}:U:U"));
                t = b;
                continue;
            }
            // rx goes on in stretches (one update over more than the
            // heartbeat would make both unknown).
            while t < b {
                let end = (t + 1 + (hash(t, 3) % 7) as i64).min(b);
                let rx = rates(end).0;
                set(t, end, [Some(rx), None]);
                lines.push(format!("{end}:{rx}:U"));
                t = end;
            }
            continue;
        }
        let end = (t + 1 + (hash(t, 3) % 7) as i64).min(next_run);
        let (rx, tx) = rates(end);
        set(t, end, [Some(rx), Some(tx)]);
        lines.push(format!("{end}:{rx}:{tx}"));
        t = end;
    }
    (seconds, lines)
}

/// The model's seconds with prefix sums, for any window's figures.
struct Reference {
    seconds: Vec<[Option<f64>; 2]>,
    /// Σ value and known seconds of the seconds before index `i`.
    sums: Vec<[(f64, i64); 2]>,
}

/// A window's figures per direction: bits, known seconds, largest value.
type Figures = [(f64, i64, Option<f64>); 2];

impl Reference {
    fn new(seconds: Vec<[Option<f64>; 2]>) -> Reference {
        let mut sums = vec![[(0.0, 0); 2]];
        for second in &seconds {
            let mut next = *sums.last().unwrap();
            for (ds, value) in second.iter().enumerate() {
                if let Some(v) = value {
                    next[ds].0 += v;
                    next[ds].1 += 1;
                }
            }
            sums.push(next);
        }
        Reference { seconds, sums }
    }

    /// The figures of the seconds `(from, to]` (nothing known outside the
    /// model).
    fn window(&self, from: i64, to: i64) -> Figures {
        let index = |t: i64| (t - T0).clamp(0, self.seconds.len() as i64) as usize;
        let (a, b) = (index(from), index(to));
        let mut out = [(0.0, 0, None); 2];
        for (ds, out) in out.iter_mut().enumerate() {
            out.0 = self.sums[b][ds].0 - self.sums[a][ds].0;
            out.1 = self.sums[b][ds].1 - self.sums[a][ds].1;
            out.2 = self.seconds[a..b]
                .iter()
                .filter_map(|s| s[ds])
                .reduce(f64::max);
        }
        out
    }

    /// The figures librrd's 10 s rows keep of `(from, to]` (multiples of
    /// 10): a row is known, for all its 10 s, at the average of its known
    /// seconds when at most 5 of them are unknown.
    fn ten_second_rows(&self, from: i64, to: i64) -> Figures {
        let mut out = [(0.0, 0, None); 2];
        for row in (from / 10 + 1)..=(to / 10) {
            let [(sum_rx, known_rx, _), (sum_tx, known_tx, _)] =
                self.window(row * 10 - 10, row * 10);
            for (ds, (sum, known)) in [(sum_rx, known_rx), (sum_tx, known_tx)]
                .into_iter()
                .enumerate()
            {
                if known >= 5 {
                    out[ds].0 += sum / known as f64 * 10.0;
                    out[ds].1 += 10;
                }
            }
        }
        out
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Checks the summary of `series` for `(start, end]` against `expected`,
/// and each point wholly after `exact_from` against the model; returns what
/// is wrong.
fn check(
    reference: &Reference,
    series: &Series,
    start: i64,
    end: i64,
    exact_from: i64,
) -> Vec<String> {
    let mut wrong = Vec::new();
    let what = format!("({start}, {end}] in steps of {}", series.step);
    let expected = reference.window(start, end);
    let s = &series.summary;
    let got = [
        (s.rx_bytes * 8.0, s.rx_known, s.rx_peak, s.rx_avg),
        (s.tx_bytes * 8.0, s.tx_known, s.tx_peak, s.tx_avg),
    ];
    for (ds, name) in ["rx", "tx"].into_iter().enumerate() {
        let (bits, known, peak, average) = got[ds];
        let (e_bits, e_known, e_peak) = expected[ds];
        let e_average = (e_known > 0).then(|| e_bits / e_known as f64);
        if !close(bits, e_bits)
            || known != e_known
            || peak != e_peak
            || average.is_some() != e_average.is_some()
            || !close(average.unwrap_or(0.0), e_average.unwrap_or(0.0))
        {
            wrong.push(format!(
                "{what}: {name} bits {bits} known {known} peak {peak:?} average {average:?}, \
                 expected {e_bits} {e_known} {e_peak:?} {e_average:?}"
            ));
        }
    }
    if !s.exact {
        wrong.push(format!("{what}: not said to be exact"));
    }
    let step = series.step as i64;
    for point in series.points.iter().filter(|p| p.time >= exact_from) {
        let expected = reference.window(point.time, point.time + step);
        let got = [
            (point.rx, point.rx_known, point.rx_peak),
            (point.tx, point.tx_known, point.tx_peak),
        ];
        for (ds, (average, known, peak)) in got.into_iter().enumerate() {
            let (bits, e_known, e_peak) = expected[ds];
            let e_average = (e_known > 0).then(|| bits / e_known as f64);
            let same_average = match (average, e_average) {
                (Some(a), Some(b)) => close(a, b),
                (a, b) => a.is_none() && b.is_none(),
            };
            if !same_average || known != e_known || peak != e_peak {
                wrong.push(format!(
                    "{what}: point {} ds {ds}: {average:?} {known} {peak:?}, expected {e_average:?} {e_known} {e_peak:?}",
                    point.time
                ));
            }
        }
    }
    wrong
}

fn write_file(path: &Path, lines: &[String]) {
    let path = path.to_str().unwrap();
    let rows = ONE_SECOND_ROWS.to_string();
    rrdtool(&[
        "create",
        path,
        "--start",
        &T0.to_string(),
        "--step",
        "1",
        "DS:rx:GAUGE:10:0:U",
        "DS:tx:GAUGE:10:0:U",
        &format!("RRA:AVERAGE:0.5:1:{rows}"),
        "RRA:AVERAGE:0.5:10:172800",
        "RRA:AVERAGE:0.5:60:43200",
        "RRA:MAX:0.5:60:43200",
        "RRA:AVERAGE:0.5:300:17280",
        "RRA:MAX:0.5:300:17280",
    ]);
    for batch in lines.chunks(20_000) {
        let mut args = vec!["update", path];
        args.extend(batch.iter().map(String::as_str));
        rrdtool(&args);
    }
}

/// A pseudo-random number below `modulo`, from `seed`.
fn next(seed: &mut u64, modulo: i64) -> i64 {
    *seed = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    ((*seed >> 33) % modulo.max(1) as u64) as i64
}

#[test]
fn windows_are_exact_around_unknown_runs_in_a_stock_rrdtool_file() {
    let dir = TestDir::new("query-exact");
    let path = dir.path("model.rrd");
    let (seconds, lines) = model();
    write_file(&path, &lines);
    let reference = Reference::new(seconds);
    let last = mt_trafmon::rrd::info(&path).unwrap().last_update;
    assert_eq!(last, LAST);

    let mut cache = Cache::new();
    let mut steps = 0;
    while !query::learn(&mut cache, &path, 1 << 16).unwrap() {
        steps += 1;
        assert!(steps < 10_000);
    }
    // The 1 s rows, but for the margin kept from the oldest, from a 300 s
    // boundary on.
    let exact_from = (LAST - ONE_SECOND_ROWS + 60 + 299) / 300 * 300;
    let series = |start: i64, end: i64, points: u32, cache: &mut Cache| {
        let request = Request { start, end, points };
        query::series_cached(cache, &path, &request).unwrap()
    };
    let mut wrong = Vec::new();

    // Around every run: every length at every alignment.
    for (a, b, _) in runs() {
        if a - 400 < exact_from {
            continue;
        }
        for (start, end, points) in [(a - 307, b + 307, 1), (a - 1, b + 1, 3), (a, b, 2)] {
            let got = series(start, end, points, &mut cache);
            wrong.extend(check(&reference, &got, start, end, exact_from));
        }
    }
    // Arbitrary windows, through the learned cache and without it.
    let mut seed = 17;
    for i in 0..80 {
        let start = exact_from + next(&mut seed, LAST - exact_from);
        let length = match i % 3 {
            0 => 1 + next(&mut seed, 3600),
            1 => 1 + next(&mut seed, 86_400),
            _ => 1 + next(&mut seed, LAST - exact_from),
        };
        let end = (start + length).min(LAST + 600);
        let points = 1 + next(&mut seed, 1500) as u32;
        let cached = series(start, end, points, &mut cache);
        wrong.extend(check(&reference, &cached, start, end, exact_from));
        assert_eq!(cached.exact_from, Some(exact_from.max(cached.start)));
        if i % 4 == 0 {
            let plain = query::series(&path, &Request { start, end, points }).unwrap();
            wrong.extend(check(&reference, &plain, start, end, exact_from));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} wrong, the first ones:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(20)].join("\n")
    );

    // Older, the 10 s rows decide what is known: exactly as many seconds as
    // their known rows hold, and the volume at their averages (not exact:
    // a known row may hide up to 5 unknown seconds).
    for _ in 0..20 {
        let start = T0 + 10 * next(&mut seed, (exact_from - T0) / 10);
        let end = (start + 10 + 10 * next(&mut seed, 20_000)).min(exact_from - 600);
        if start >= end {
            continue;
        }
        let got = series(start, end, 1 + next(&mut seed, 500) as u32, &mut cache);
        let expected = reference.ten_second_rows(start, end);
        let s = &got.summary;
        let what = format!("({start}, {end}]");
        assert_eq!(
            (s.rx_known, s.tx_known),
            (expected[0].1, expected[1].1),
            "{what}"
        );
        let (bits, e_bits) = (s.rx_bytes * 8.0, expected[0].0);
        assert!(
            (bits - e_bits).abs() <= 2e-3 * e_bits + 1.0,
            "{what}: {bits} against {e_bits}"
        );
        assert!(!s.exact, "{what}");
    }
}

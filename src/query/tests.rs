//! Tests of the query rules on synthetic files: a fake fetch answers as
//! librrd 1.7.2 does (its archive choice, its rounding, and rows
//! consolidated from 1 s values with the archive's xff), so every expected
//! figure is computed from the 1 s values directly.

use std::cell::RefCell;

use super::cache::DAY;
use super::map::{MAX_ENTRIES, MAX_RUNS};
use super::*;
use crate::store::Profile;

/// 2025-11-26 00:00:00 UTC, a multiple of a day.
const DAY0: i64 = 1_764_115_200;

/// The 1 s values (rx, tx) of the rows stamped `T`, in bit/s.
type Values = dyn Fn(i64) -> [Option<f64>; 2];

/// A synthetic RRD file: a layout whose rows are consolidated on demand
/// from 1 s values, and the fetches it answered.
struct Fake<'a> {
    info: rrd::Info,
    values: &'a Values,
    calls: RefCell<Vec<Call>>,
    /// The values are constant over aligned blocks of this many seconds
    /// (known or unknown as a whole), so that rows spanning whole blocks
    /// are consolidated block by block: the same rows, much faster.
    block: i64,
    /// ... but only up to this time; rows ending after it are consolidated
    /// second by second.
    blocks_until: i64,
}

/// One answered fetch: the archive and the rows `(start, end]`.
#[derive(Clone, Debug, PartialEq)]
struct Call {
    cf: String,
    resolution: u64,
    start: i64,
    end: i64,
}

impl Fake<'_> {
    /// `rrd_fetch_fn` of librrd 1.7.2, answering from consolidated 1 s values.
    fn fetch(
        &self,
        cf: &str,
        start: i64,
        end: i64,
        resolution: u64,
    ) -> Result<rrd::Fetched, rrd::Error> {
        const SWAPPABLE: [&str; 4] = ["AVERAGE", "MIN", "MAX", "LAST"];
        let last = self.info.last_update;
        let mut full: Option<(usize, u64)> = None;
        let mut partial: Option<(usize, i64, u64)> = None;
        for (i, archive) in self.info.archives.iter().enumerate() {
            let candidate = archive.cf == cf
                || (archive.pdp_per_row == 1
                    && SWAPPABLE.contains(&cf)
                    && SWAPPABLE.contains(&archive.cf.as_str()));
            if !candidate {
                continue;
            }
            let r = archive.pdp_per_row * self.info.step;
            let cal_end = last - last % r as i64;
            let cal_start = cal_end - (archive.rows * r) as i64;
            let diff = resolution.abs_diff(r);
            if cal_start <= start {
                if full.is_none_or(|(_, best)| diff < best) {
                    full = Some((i, diff));
                }
            } else {
                let matched = (end - start) - (cal_start - start);
                if partial.is_none_or(|(_, m, d)| m < matched || (m == matched && diff < d)) {
                    partial = Some((i, matched, diff));
                }
            }
        }
        let Some(chosen) = full.map(|f| f.0).or(partial.map(|p| p.0)) else {
            return Err(missing_file_error());
        };
        let archive = &self.info.archives[chosen];
        let r = (archive.pdp_per_row * self.info.step) as i64;
        let start = start - start % r;
        let end = end + r - end % r;
        let cal_end = last - last % r;
        let oldest = cal_end - (archive.rows as i64 - 1) * r;
        let mut values = Vec::new();
        let mut time = start + r;
        while time <= end {
            if time < oldest || time > cal_end {
                values.extend([f64::NAN, f64::NAN]);
            } else {
                values.extend(self.consolidate(archive, r, time));
            }
            time += r;
        }
        self.calls.borrow_mut().push(Call {
            cf: archive.cf.clone(),
            resolution: r as u64,
            start,
            end,
        });
        Ok(rrd::Fetched {
            start,
            end,
            step: r as u64,
            names: vec!["rx".into(), "tx".into()],
            values,
        })
    }

    /// The row stamped `time`: the average or max of its known seconds, or
    /// unknown when more than `xff` of them are unknown.
    fn consolidate(&self, archive: &rrd::Archive, r: i64, time: i64) -> [f64; 2] {
        let mut row = [f64::NAN; 2];
        for (ds, value) in row.iter_mut().enumerate() {
            // Each stride lies within one block.
            let stride = match time <= self.blocks_until {
                true => gcd(r, self.block.max(1)),
                false => 1,
            };
            let known: Vec<f64> = (time - r + stride..=time)
                .step_by(stride as usize)
                .filter_map(|t| (self.values)(t)[ds])
                .collect();
            let unknown = (r - known.len() as i64 * stride) as f64;
            if known.is_empty() || unknown > archive.xff * r as f64 {
                continue;
            }
            *value = match archive.cf.as_str() {
                "MAX" => known.iter().cloned().fold(f64::MIN, f64::max),
                _ => known.iter().sum::<f64>() / known.len() as f64,
            };
        }
        row
    }

    fn query(&self, start: i64, end: i64, points: u32) -> Result<Series, Error> {
        let request = Request { start, end, points };
        compute(&self.info, &request, |cf, start, end, resolution| {
            self.fetch(cf, start, end, resolution)
        })
    }

    /// [`Fake::query`], forgetting the fetches that learned the map: the
    /// calls are then the query's own.
    fn query_mapped(&self, start: i64, end: i64, points: u32) -> Result<Series, Error> {
        let request = Request { start, end, points };
        let query = Query::new(&self.info, &request)?;
        let mut fetch = |cf: &str, start, end, resolution| self.fetch(cf, start, end, resolution);
        let mut map = Map::default();
        query.learn(&mut map, &mut fetch)?;
        self.calls.borrow_mut().clear();
        let (totals, exact) = query.gather(&map, None, &mut fetch)?;
        Ok(query.answer(&self.info, &request, &totals, exact))
    }

    /// The answered fetches as (CF, resolution, rows), in order.
    fn calls(&self) -> Vec<(String, u64, i64)> {
        self.calls
            .borrow()
            .iter()
            .map(|c| {
                (
                    c.cf.clone(),
                    c.resolution,
                    (c.end - c.start) / c.resolution as i64,
                )
            })
            .collect()
    }
}

fn gcd(a: i64, b: i64) -> i64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn fake<'a>(archives: &[&str], last: i64, values: &'a Values) -> Fake<'a> {
    let archives = archives
        .iter()
        .map(|definition| {
            let fields: Vec<&str> = definition.split(':').collect();
            rrd::Archive {
                cf: fields[1].to_string(),
                xff: fields[2].parse().unwrap(),
                pdp_per_row: fields[3].parse().unwrap(),
                rows: fields[4].parse().unwrap(),
            }
        })
        .collect();
    let source = |name: &str| rrd::DataSource {
        name: name.into(),
        kind: "GAUGE".into(),
        heartbeat: 3,
        min: Some(0.0),
        max: None,
    };
    Fake {
        info: rrd::Info {
            step: 1,
            last_update: last,
            data_sources: vec![source("rx"), source("tx")],
            archives,
        },
        values,
        calls: RefCell::new(Vec::new()),
        block: 1,
        blocks_until: i64::MAX,
    }
}

/// A librrd error, the real thing: fetching from a file that does not exist.
fn missing_file_error() -> rrd::Error {
    match rrd::fetch(
        Path::new("/nonexistent/mt-trafmon-query-test.rrd"),
        "AVERAGE",
        0,
        1,
        1,
    ) {
        Err(error) => error,
        Ok(_) => panic!("a missing file was fetched"),
    }
}

/// Integer-valued 1 s rates that change every second, so that sums are
/// exact and a wrong row shows.
fn wave(t: i64) -> [Option<f64>; 2] {
    [
        Some(1000.0 + (t * 7919).rem_euclid(1009) as f64),
        Some(200.0 + (t * 104_729).rem_euclid(307) as f64),
    ]
}

/// Over the rows stamped in `(from, to]`: Σ value (bits, one second each),
/// known seconds, and the largest value, per data source.
fn truth(values: &Values, from: i64, to: i64) -> [(f64, i64, Option<f64>); 2] {
    let mut out = [(0.0, 0, None); 2];
    for t in from + 1..=to {
        for (ds, value) in values(t).into_iter().enumerate() {
            if let Some(v) = value {
                let (sum, known, max) = &mut out[ds];
                *sum += v;
                *known += 1;
                *max = Some(max.map_or(v, |m: f64| m.max(v)));
            }
        }
    }
    out
}

/// `values` up to the last update `last`, unknown after it.
fn until(last: i64, values: &Values) -> impl Fn(i64) -> [Option<f64>; 2] + '_ {
    move |t| if t > last { [None, None] } else { values(t) }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

fn close_option(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => close(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// Every point's averages, peaks and known seconds against the 1 s values.
fn check_points(values: &Values, series: &Series) {
    check_points_from(values, series, i64::MIN);
}

/// [`check_points`] for the points that start at `from` or later.
fn check_points_from(values: &Values, series: &Series, from: i64) {
    let step = series.step as i64;
    for point in series.points.iter().filter(|p| p.time >= from) {
        let truth = truth(values, point.time, point.time + step);
        let mean = |ds: usize| {
            let (sum, known, _) = truth[ds];
            (known > 0).then(|| sum / known as f64)
        };
        let got = [point.rx, point.tx, point.rx_peak, point.tx_peak];
        let expected = [mean(0), mean(1), truth[0].2, truth[1].2];
        for (got, expected) in got.iter().zip(expected) {
            assert!(
                close_option(*got, expected),
                "point {} (step {step}): got {got:?}, expected {expected:?}",
                point.time
            );
        }
        assert_eq!(
            (point.rx_known, point.tx_known),
            (truth[0].1, truth[1].1),
            "point {} (step {step})",
            point.time
        );
    }
}

/// The window's summary against the 1 s values of `(start, end]`.
fn check_summary(values: &Values, series: &Series, start: i64, end: i64) {
    let truth = truth(values, start, end);
    let summary = &series.summary;
    let what = format!("window {start}..{end} (step {})", series.step);
    assert!(
        close(summary.rx_bytes, truth[0].0 / 8.0),
        "{what}: {summary:?}"
    );
    assert!(
        close(summary.tx_bytes, truth[1].0 / 8.0),
        "{what}: {summary:?}"
    );
    assert_eq!(
        (summary.rx_known, summary.tx_known),
        (truth[0].1, truth[1].1),
        "{what}"
    );
    let mean = |(sum, known, _): (f64, i64, Option<f64>)| (known > 0).then(|| sum / known as f64);
    assert!(
        close_option(summary.rx_avg, mean(truth[0])),
        "{what}: {summary:?}"
    );
    assert!(
        close_option(summary.tx_avg, mean(truth[1])),
        "{what}: {summary:?}"
    );
    assert_eq!(
        (summary.rx_peak, summary.tx_peak),
        (truth[0].2, truth[1].2),
        "{what}"
    );
    let known = truth[0].1.min(truth[1].1) as f64 / (end - start) as f64;
    assert_eq!(summary.known, known, "{what}");
}

#[test]
fn steps_come_from_the_ladder() {
    let check = |window: i64, points: u32, resolution: i64, expected: i64| {
        assert_eq!(
            choose_step(window, points, resolution),
            expected,
            "{window} s in {points} points at {resolution} s"
        );
    };
    check(300, 1000, 1, 1);
    check(300, 10_000, 1, 1);
    check(3600, 1000, 1, 5);
    check(3600, 100, 1, 60);
    check(3600, 1000, 10, 10);
    check(10_800, 1000, 10, 30); // 10.8 s: 15 is not a multiple of 10
    check(86_400, 1000, 1, 120);
    check(1000, 1000, 60, 60);
    check(2_592_000, 1000, 1, 3600);
    check(31_557_600, 1000, 1, 43_200);
    check(157_788_000, 1000, 10, 172_800);
    check(315_576_000, 1000, 300, 604_800);
    check(315_576_000, 100, 300, 8 * 604_800);
    check(86_400 * 3, 1, 1, 604_800);
    check(LATEST_TIME, 1, 1, 604_800 << 19);
    // A resolution that divides no ladder step: plain multiples of it.
    check(3, 1, 7, 7);
    check(100, 10, 7, 14);
    // A resolution that divides the ladder only far up: still its multiple.
    check(10, 1, 3600, 3600);
}

#[test]
fn bad_requests_are_refused_before_any_fetch() {
    let file = fake(Profile::Compact.archives(), DAY0, &wave);
    let check = |start: i64, end: i64, points: u32, expected: Error, message: &str| {
        assert_eq!(file.query(start, end, points), Err(expected));
        let request = Request { start, end, points };
        assert_eq!(request.check().unwrap_err().to_string(), message);
    };
    check(
        DAY0,
        DAY0,
        100,
        Error::Window {
            start: DAY0,
            end: DAY0,
        },
        "the window 1764115200..1764115200 is empty: its start must be before its end",
    );
    check(
        DAY0,
        DAY0 - 1,
        100,
        Error::Window {
            start: DAY0,
            end: DAY0 - 1,
        },
        "the window 1764115200..1764115199 is empty: its start must be before its end",
    );
    check(
        DAY0,
        DAY0 + 60,
        0,
        Error::Points { points: 0 },
        "0 points asked for: a series has 1 to 10000",
    );
    check(
        DAY0,
        DAY0 + 60,
        10_001,
        Error::Points { points: 10_001 },
        "10001 points asked for: a series has 1 to 10000",
    );
    check(
        -1,
        DAY0,
        100,
        Error::BeforeEpoch { start: -1 },
        "the window starts at -1, before 1970-01-01 (Unix time 0)",
    );
    check(
        i64::MIN,
        i64::MAX,
        100,
        Error::BeforeEpoch { start: i64::MIN },
        "the window starts at -9223372036854775808, before 1970-01-01 (Unix time 0)",
    );
    check(
        0,
        LATEST_TIME + 1,
        100,
        Error::TooLate {
            end: LATEST_TIME + 1,
        },
        "the window ends at 253402300800, after 9999-12-31 (Unix time 253402300799)",
    );
    assert!(file.calls().is_empty());
    // The thin shell checks the request before it opens the file.
    let missing = Path::new("/nonexistent/mt-trafmon-query-test.rrd");
    let bad = Request {
        start: 5,
        end: 5,
        points: 1,
    };
    assert_eq!(
        series(missing, &bad),
        Err(Error::Window { start: 5, end: 5 })
    );
    let good = Request {
        start: 5,
        end: 6,
        points: 1,
    };
    assert!(matches!(series(missing, &good), Err(Error::Rrd(_))));
}

#[test]
fn averages_come_from_the_coarsest_archive_that_fits_the_step() {
    let last = DAY0 + 1234;
    let file = fake(Profile::Compact.archives(), last, &wave);
    // 5 h in 50 points: 360 s, so a step of 600 s; the 60 s rows fit it, the
    // 3600 s rows do not.
    let series = file.query_mapped(DAY0 - 6 * 3600, DAY0 - 3600, 50).unwrap();
    assert_eq!(
        (series.start, series.end, series.step),
        (DAY0 - 6 * 3600, DAY0 - 3600, 600)
    );
    assert_eq!(series.points.len(), 30);
    assert_eq!(series.resolution, Some(60));
    assert_eq!(series.peak_resolution, Some(60));
    assert!(series.peak_exact);
    assert_eq!(series.last_update, last);
    check_points(&wave, &series);
    // The points read 60 s rows; the window is aligned, so its summary is
    // the points' and reads nothing more.
    assert_eq!(
        file.calls(),
        [
            ("AVERAGE".to_string(), 60, 300),
            ("MAX".to_string(), 60, 300),
        ]
    );
    check_summary(&wave, &series, DAY0 - 6 * 3600, DAY0 - 3600);
    assert_eq!(series.summary.known, 1.0);
    assert!(series.summary.exact && series.summary.peak_exact);
}

#[test]
fn a_window_older_than_the_1_s_archive_is_read_at_10_s() {
    let last = DAY0;
    let file = fake(Profile::Compact.archives(), last, &wave);
    // Ten days ago: the 1 s archive keeps 8 days, the 10 s archive 31.
    let start = DAY0 - 10 * 86_400 + 3;
    let series = file.query(start, start + 3600, 1000).unwrap();
    // 3.6 s per point would be 5 s, but the rows there are 10 s wide.
    assert_eq!(series.step, 10);
    assert_eq!((series.start, series.end), (start - 3, start + 3600 + 7));
    assert_eq!(series.points.len(), 361);
    assert_eq!(series.resolution, Some(10));
    // No MAX archive fits 10 s and the 1 s rows are gone: the peaks are the
    // 10 s averages, and say so.
    assert_eq!(series.peak_resolution, Some(10));
    assert!(!series.peak_exact);
    let step = 10;
    for point in &series.points {
        let expected = truth(&wave, point.time, point.time + step);
        assert!(close(point.rx.unwrap(), expected[0].0 / 10.0));
        assert_eq!(point.rx_peak, point.rx);
        assert_eq!(point.tx_peak, point.tx);
    }
    // The window's edges fall inside 10 s rows, which are counted pro rata
    // (7 of the first row's 10 s, 3 of the last one's).
    let first = truth(&wave, start - 3, start + 7);
    let middle = truth(&wave, start + 7, start + 3597);
    let last_row = truth(&wave, start + 3597, start + 3607);
    let expected_rx = (first[0].0 * 0.7 + middle[0].0 + last_row[0].0 * 0.3) / 8.0;
    assert!(close(series.summary.rx_bytes, expected_rx));
    assert_eq!(series.summary.known, 1.0);
    assert!(
        file.calls()
            .iter()
            .all(|(_, resolution, _)| *resolution >= 10)
    );
    // Not exact to the second there, and the window's peak comes from
    // averages at its edges.
    assert!(!series.summary.exact && !series.summary.peak_exact);
    assert!(series.exact_from.is_none());
}

#[test]
fn points_average_their_known_seconds_and_say_how_many() {
    // Unknown: the 30 s after DAY0 - 605 (so the 10 s rows stamped DAY0 - 590
    // and DAY0 - 580 are unknown, and those stamped DAY0 - 600 and DAY0 - 570
    // miss 5 s each, which their xff allows), and the single seconds
    // DAY0 - 301 and DAY0 - 298.
    let values = |t: i64| {
        if (DAY0 - 605 < t && t <= DAY0 - 575) || t == DAY0 - 301 || t == DAY0 - 298 {
            [None, None]
        } else {
            wave(t)
        }
    };
    let file = fake(Profile::Compact.archives(), DAY0, &values);
    // Steps of 30 s from the 10 s rows where they are whole, from the 1 s
    // rows where they are not.
    let series = file.query(DAY0 - 900, DAY0, 30).unwrap();
    assert_eq!((series.step, series.resolution), (30, Some(10)));
    check_points(&values, &series);
    check_summary(&values, &series, DAY0 - 900, DAY0);
    let point = |time: i64| *series.points.iter().find(|p| p.time == time).unwrap();
    // 25 of the 30 s known: their average, not that of the three 10 s rows
    // (one of which stands for 5 unknown seconds).
    let [(sum, known, _), _] = truth(&values, DAY0 - 630, DAY0 - 600);
    assert_eq!((point(DAY0 - 630).rx_known, known), (25, 25));
    assert!(close(point(DAY0 - 630).rx.unwrap(), sum / 25.0));
    // 5 of 30 known: still a point, which says how little of it is known.
    let few = point(DAY0 - 600);
    assert_eq!((few.rx_known, few.tx_known), (5, 5));
    assert!(few.rx.is_some() && few.rx_peak.is_some());
    // Steps of 1 s: a missing second is a gap, never 0.
    let fine = file.query(DAY0 - 310, DAY0 - 290, 20).unwrap();
    assert_eq!((fine.step, fine.resolution), (1, Some(1)));
    let gaps: Vec<(i64, i64)> = fine
        .points
        .iter()
        .filter(|p| p.rx.is_none())
        .map(|p| (p.time, p.rx_known))
        .collect();
    assert_eq!(gaps, [(DAY0 - 302, 0), (DAY0 - 299, 0)]);
    check_points(&values, &fine);
    // 2 s steps, one of them half unknown.
    let half = file.query(DAY0 - 304, DAY0 - 296, 4).unwrap();
    assert_eq!(half.step, 2);
    let known: Vec<i64> = half.points.iter().map(|p| p.rx_known).collect();
    assert_eq!(known, [2, 1, 1, 2]);
    check_points(&values, &half);
    check_summary(&values, &half, DAY0 - 304, DAY0 - 296);
}

#[test]
fn peaks_come_from_1_s_rows_below_a_minute_and_from_max_rows_above() {
    let last = DAY0 + 1234;
    let file = fake(Profile::Compact.archives(), last, &wave);
    // 1 h in 120 points: 30 s steps; no MAX archive fits, the 1 s rows do.
    let series = file.query_mapped(DAY0 - 3600, DAY0, 120).unwrap();
    assert_eq!(
        (series.step, series.resolution, series.peak_resolution),
        (30, Some(10), Some(1))
    );
    assert!(series.peak_exact);
    check_points(&wave, &series);
    check_summary(&wave, &series, DAY0 - 3600, DAY0);
    assert_eq!(
        file.calls(),
        [
            ("AVERAGE".to_string(), 1, 3600),
            ("AVERAGE".to_string(), 10, 360),
        ]
    );
    // 6 h in 100 points: 300 s steps; the 60 s MAX rows (5 a point).
    let series = file.query_mapped(DAY0 - 6 * 3600, DAY0, 100).unwrap();
    assert_eq!(
        (series.step, series.resolution, series.peak_resolution),
        (300, Some(60), Some(60))
    );
    check_points(&wave, &series);
    check_summary(&wave, &series, DAY0 - 6 * 3600, DAY0);
    assert_eq!(
        file.calls(),
        [
            ("AVERAGE".to_string(), 60, 360),
            ("MAX".to_string(), 60, 360),
        ]
    );
}

#[test]
fn the_newest_point_takes_its_tail_from_finer_rows() {
    // The last update 47 min 14 s into the hour: hourly points; the hour in
    // progress comes from 60 s rows up to 47 min, then 10 s and 1 s rows.
    let last = DAY0 + 2834;
    let values = until(last, &wave);
    let file = fake(Profile::Compact.archives(), last, &values);
    let series = file.query_mapped(DAY0 - 10 * 3600, last, 11).unwrap();
    assert_eq!((series.step, series.points.len()), (3600, 11));
    assert_eq!(
        (series.resolution, series.peak_resolution),
        (Some(3600), Some(3600))
    );
    let newest = series.points.last().unwrap();
    assert_eq!(newest.time, DAY0);
    let expected = truth(&values, DAY0, last);
    assert!(close(newest.rx.unwrap(), expected[0].0 / 2834.0));
    assert_eq!(newest.rx_peak, expected[0].2);
    check_points(&values, &series);
    // Each archive is fetched once: the hourly ones for the points and the
    // volume, the finer ones for the tail (1 s rows: 14 for the peak, which
    // has no 10 s MAX archive to use).
    assert_eq!(
        file.calls(),
        [
            ("AVERAGE".to_string(), 1, 14),
            ("AVERAGE".to_string(), 10, 1),
            ("AVERAGE".to_string(), 60, 47),
            ("MAX".to_string(), 60, 47),
            ("AVERAGE".to_string(), 3600, 10),
            ("MAX".to_string(), 3600, 10),
        ]
    );
    check_summary(&values, &series, DAY0 - 10 * 3600, last);
    assert_eq!(series.summary.known, 1.0);
    // Known: the newest point's 2834 s of 3600 (the rest is the future).
    assert_eq!((newest.rx_known, newest.tx_known), (2834, 2834));
}

#[test]
fn volume_takes_coarse_rows_in_the_middle_and_fine_rows_at_the_edges() {
    let last = DAY0 + 86_400;
    let file = fake(Profile::Compact.archives(), last, &wave);
    // From 12 min 34 s before 07:00 to 18 min 31 s after 09:00.
    let start = DAY0 + 7 * 3600 - 754;
    let end = DAY0 + 9 * 3600 + 1111;
    let series = file.query_mapped(start, end, 1).unwrap();
    assert_eq!(series.step, 10_800);
    let expected = truth(&wave, start, end);
    assert_eq!(expected[0].1, end - start);
    assert!(
        close(series.summary.rx_bytes, expected[0].0 / 8.0),
        "{} vs {}",
        series.summary.rx_bytes,
        expected[0].0 / 8.0
    );
    assert!(close(series.summary.tx_bytes, expected[1].0 / 8.0));
    assert_eq!(series.summary.known, 1.0);
    check_summary(&wave, &series, start, end);
    // Two hourly rows in the middle (07:00 to 09:00, within the points'
    // six); minutes 47 to 59 and 0 to 17, fetched together with the 120
    // between them; the 10 s rows of 46:30-47:00 and 18:00-18:30, also
    // together; the 1 s rows of 46:26-46:30 and 18:30-18:31, too far apart
    // to be fetched together. For the window's peak, the same from the
    // MAX rows, and the 1 s rows of 46:26-47:00 and 18:00-18:31.
    assert_eq!(
        file.calls(),
        [
            ("AVERAGE".to_string(), 1, 34),
            ("AVERAGE".to_string(), 1, 31),
            ("AVERAGE".to_string(), 10, 906),
            ("AVERAGE".to_string(), 60, 150),
            ("MAX".to_string(), 60, 150),
            ("AVERAGE".to_string(), 3600, 6),
            ("MAX".to_string(), 3600, 6),
        ]
    );
}

#[test]
fn known_share_counts_unknown_rows_and_the_future() {
    // Two unknown minutes in the window, which runs 600 s past the last
    // update.
    let values = |t: i64| {
        if (DAY0 - 1020 < t && t <= DAY0 - 900) || t > DAY0 {
            [None, None]
        } else {
            wave(t)
        }
    };
    let file = fake(Profile::Compact.archives(), DAY0, &values);
    let series = file.query(DAY0 - 1800, DAY0 + 600, 240).unwrap();
    assert_eq!(series.step, 10);
    let expected = truth(&values, DAY0 - 1800, DAY0);
    assert_eq!(expected[0].1, 1680);
    assert!(close(series.summary.rx_bytes, expected[0].0 / 8.0));
    assert!(close(series.summary.known, 1680.0 / 2400.0));
    assert!(
        series
            .points
            .iter()
            .filter(|p| p.time >= DAY0)
            .all(|p| p.rx.is_none() && p.rx_peak.is_none() && p.rx_known == 0)
    );
    check_points(&values, &series);
    check_summary(&values, &series, DAY0 - 1800, DAY0 + 600);
    assert!(series.summary.exact);
    assert!(series.exact_from.is_some_and(|t| t <= DAY0 - 1800));
    // A window wholly in the future: every point a gap, nothing known, and
    // no fetch at all.
    file.calls.borrow_mut().clear();
    let future = file.query(DAY0 + 60, DAY0 + 3600, 60).unwrap();
    assert!(
        future
            .points
            .iter()
            .all(|p| p.rx.is_none() && p.tx_peak.is_none())
    );
    assert_eq!((future.summary.rx_bytes, future.summary.known), (0.0, 0.0));
    assert_eq!((future.resolution, future.peak_resolution), (None, None));
    assert!(file.calls().is_empty());
}

#[test]
fn a_coarse_row_with_unknown_seconds_counts_only_its_known_seconds() {
    // 20 of the 60 seconds of the minute ending at DAY0 - 600 are unknown:
    // the 60 s row stays known (xff 0.5) and holds the average of the 40,
    // and so does the hourly row around it. Neither stands in for its 60
    // or 3600 seconds: the map knows the minute is not whole.
    let values = |t: i64| {
        if DAY0 - 660 < t && t <= DAY0 - 640 {
            [None, None]
        } else {
            wave(t)
        }
    };
    let file = fake(Profile::Compact.archives(), DAY0, &values);
    let series = file.query(DAY0 - 660, DAY0 - 600, 1).unwrap();
    assert_eq!((series.step, series.resolution), (60, Some(60)));
    let known = truth(&values, DAY0 - 660, DAY0 - 600);
    assert_eq!(known[0].1, 40);
    let average = known[0].0 / 40.0;
    assert!(close(series.points[0].rx.unwrap(), average));
    assert_eq!(series.points[0].rx_known, 40);
    assert!(close(series.summary.rx_bytes, average * 40.0 / 8.0));
    assert!(close(series.summary.known, 40.0 / 60.0));
    check_summary(&values, &series, DAY0 - 660, DAY0 - 600);
    // Hours and a day around it, whatever the step and the window's edges.
    for (start, end, points) in [
        (DAY0 - 3600, DAY0, 1),
        (DAY0 - 7200, DAY0, 2),
        (DAY0 - 86_400, DAY0, 24),
        (DAY0 - 86_400 + 17, DAY0 - 5, 7),
        (DAY0 - 655, DAY0 - 600, 1),
    ] {
        let series = file.query(start, end, points).unwrap();
        check_points(&values, &series);
        check_summary(&values, &series, start, end);
    }
}

#[test]
fn original_files_serve_old_years_from_five_minute_rows() {
    // A constant rate, so that rows of any width are cheap to check.
    let flat = |_: i64| [Some(8000.0), Some(800.0)];
    let file = fake(Profile::Original.archives(), DAY0, &flat);
    // Nine years ago, a day: only the 300 s archives reach back so far.
    let start = DAY0 - 9 * 365 * 86_400;
    let series = file.query(start, start + 86_400, 1000).unwrap();
    assert_eq!(
        (series.step, series.resolution, series.peak_resolution),
        (300, Some(300), Some(300))
    );
    assert!(series.peak_exact);
    assert!(
        series
            .points
            .iter()
            .all(|p| p.rx == Some(8000.0) && p.tx_peak == Some(800.0))
    );
    assert_eq!(series.summary.rx_bytes, 86_400.0 * 1000.0);
    assert_eq!(series.summary.known, 1.0);
    // Two years ago at 10 s steps: 10 s averages, and peaks from them.
    let start = DAY0 - 2 * 365 * 86_400;
    let series = file.query(start, start + 3600, 360).unwrap();
    assert_eq!(
        (series.step, series.resolution, series.peak_exact),
        (10, Some(10), false)
    );
    // Twelve years ago: older than every archive.
    let start = DAY0 - 12 * 365 * 86_400;
    let series = file.query(start, start + 86_400, 100).unwrap();
    assert!(series.points.iter().all(|p| p.rx.is_none()));
    assert_eq!(series.summary.known, 0.0);
    assert_eq!(series.resolution, None);
}

#[test]
fn odd_files_and_odd_answers_are_errors_not_panics() {
    let flat = |_: i64| [Some(1.0), Some(2.0)];
    // No AVERAGE archive.
    let file = fake(&["RRA:MAX:0.5:60:100"], DAY0, &flat);
    assert_eq!(
        file.query(DAY0 - 60, DAY0, 10),
        Err(Error::Layout("it has no AVERAGE archive".to_string()))
    );
    // Archives librrd would refuse, and a last update before 1970.
    let mut file = fake(
        &[
            "RRA:AVERAGE:0.5:0:100",
            "RRA:AVERAGE:0.5:1:0",
            "RRA:LAST:0.5:1:10",
            "RRA:AVERAGE:0.5:10:10",
        ],
        -5,
        &flat,
    );
    let series = file.query(0, 100, 10).unwrap();
    assert!(series.points.iter().all(|p| p.rx.is_none()));
    file.info.archives[0].pdp_per_row = u64::MAX;
    file.info.archives[1].rows = u64::MAX;
    file.info.last_update = i64::MAX;
    // Now a 1 s archive reaches back to 1970: too many rows to read.
    assert_eq!(
        file.query(0, LATEST_TIME, MAX_POINTS),
        Err(Error::Layout(
            "the window needs 253402300803 rows of its archives, more than 4000000: \
             its archives are too fine for so long a window"
                .to_string()
        ))
    );
    assert!(file.calls().is_empty());
    // A failing fetch, rows of another width, a missing data source.
    let info = fake(Profile::Compact.archives(), DAY0, &flat).info;
    let request = Request {
        start: DAY0 - 60,
        end: DAY0,
        points: 60,
    };
    let failed = compute(&info, &request, |_, _, _, _| Err(missing_file_error()));
    assert_eq!(failed, Err(Error::Rrd(missing_file_error())));
    let answer = |step: u64, names: Vec<String>| {
        move |_: &str, start: i64, end: i64, _: u64| {
            Ok(rrd::Fetched {
                start,
                end: end + 1,
                step,
                values: vec![1.0; ((end + 1 - start) as usize / step as usize) * names.len()],
                names: names.clone(),
            })
        }
    };
    let wrong_step = compute(&info, &request, answer(10, vec!["rx".into(), "tx".into()]));
    assert_eq!(
        wrong_step.unwrap_err().to_string(),
        // (The first fetch learns the map of the hour around the window.)
        format!(
            "librrd answered unexpectedly: asked for AVERAGE rows of 1 s stamped {}..={}, got rows of 10 s stamped {}..={} (was the file replaced meanwhile? try again)",
            DAY0 - 3599,
            DAY0,
            DAY0 - 3590,
            DAY0
        )
    );
    let no_tx = compute(&info, &request, answer(1, vec!["rx".into(), "in".into()]));
    assert_eq!(
        no_tx,
        Err(Error::Layout(
            "it has no data source \"tx\" (it has [\"rx\", \"in\"])".to_string()
        ))
    );
    // Rows missing from an answer are unknown, not a panic.
    let short = compute(&info, &request, |_, start, end, step| {
        Ok(rrd::Fetched {
            start,
            end: end + 1,
            step,
            names: vec!["tx".into(), "rx".into()],
            values: vec![3.0, 4.0, 5.0],
        })
    })
    .unwrap();
    assert_eq!(
        (short.points[0].tx, short.points[0].rx),
        (Some(3.0), Some(4.0))
    );
    assert_eq!((short.points[1].tx, short.points[1].rx), (None, None));
}

#[test]
fn any_window_gives_a_sane_answer() {
    // A small layout, so that windows of every kind cross its archives.
    let archives = [
        "RRA:AVERAGE:0.5:1:600",
        "RRA:AVERAGE:0.5:10:360",
        "RRA:AVERAGE:0.5:60:240",
        "RRA:MAX:0.5:60:240",
        "RRA:AVERAGE:0.5:300:200",
        "RRA:MAX:0.5:300:200",
    ];
    let flat = |t: i64| {
        if t % 97 == 0 {
            [None, Some(5.0)]
        } else {
            [Some(800.0), Some(5.0)]
        }
    };
    let last = DAY0 + 777;
    let file = fake(&archives, last, &flat);
    let mut seed = 12_345u64;
    let mut next = |modulo: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % modulo
    };
    for _ in 0..300 {
        let start = last - next(80_000) as i64;
        let end = start + 1 + next(20_000) as i64;
        let points = 1 + next(2000) as u32;
        let series = file.query_mapped(start, end, points).unwrap();
        let step = series.step as i64;
        assert!(
            series.points.len() <= points as usize + 1,
            "{start} {end} {points}"
        );
        assert_eq!(
            series.points.len() as i64,
            (series.end - series.start) / step
        );
        assert!(series.start <= start && end <= series.end);
        assert!((0.0..=1.0).contains(&series.summary.known));
        for point in &series.points {
            assert!(point.rx.is_none_or(|v| v == 800.0), "{point:?}");
            assert!(point.tx.is_none_or(|v| v == 5.0), "{point:?}");
            assert!(point.rx_peak.is_none_or(|v| v == 800.0), "{point:?}");
        }
        // Never more than a couple of fetches per archive.
        let calls = file.calls.borrow().len();
        assert!(
            calls <= 10,
            "{calls} fetches for {start}..{end} in {points}"
        );
        file.calls.borrow_mut().clear();
    }
}

#[test]
fn long_spans_are_fetched_in_parts() {
    // 40 h in 10,000 points: 15 s steps, each one 10 s row and five 1 s
    // rows for the average, fifteen 1 s rows for the peak; so all 144,000
    // 1 s rows are read, in parts, and points straddle the parts.
    let file = fake(Profile::Compact.archives(), DAY0, &wave);
    let series = file.query_mapped(DAY0 - 40 * 3600, DAY0, 10_000).unwrap();
    assert_eq!(
        (series.step, series.resolution, series.peak_resolution),
        (15, Some(10), Some(1))
    );
    assert_eq!(series.points.len(), 9600);
    check_points(&wave, &series);
    let ones: Vec<i64> = file
        .calls()
        .into_iter()
        .filter(|(cf, resolution, _)| cf == "AVERAGE" && *resolution == 1)
        .map(|(_, _, rows)| rows)
        .collect();
    assert_eq!(ones.iter().sum::<i64>(), 144_000);
    assert_eq!(ones.len() as i64, 144_000 / MAX_FETCH_ROWS + 1);
    assert!(
        ones[..ones.len() - 1]
            .iter()
            .all(|&rows| rows == MAX_FETCH_ROWS)
    );
    // The parts' boundaries fall inside points.
    assert_ne!(MAX_FETCH_ROWS % 15, 0);
    let expected = truth(&wave, DAY0 - 40 * 3600, DAY0);
    assert!(close(series.summary.rx_bytes, expected[0].0 / 8.0));
}

// Exactness: the map of unknown seconds (`map.rs`).

/// A small layout with the Original profile's resolutions: 1 s rows for
/// 20,000 s, 10 s for about 2 days, 60 s and 300 s averages and maxima for
/// about 7 and 17 days.
const SMALL: [&str; 6] = [
    "RRA:AVERAGE:0.5:1:20000",
    "RRA:AVERAGE:0.5:10:20000",
    "RRA:AVERAGE:0.5:60:10000",
    "RRA:MAX:0.5:60:10000",
    "RRA:AVERAGE:0.5:300:5000",
    "RRA:MAX:0.5:300:5000",
];

/// `wave` with unknown runs of 1, 10, 299, 301 and 600 s in turn, one per
/// 1500 s, each starting 37 s further into the 300 s rows than the one
/// before (so over 300 runs at every alignment to the 10, 60 and 300 s
/// rows); every seventh run only `tx` is unknown.
fn holes(t: i64) -> [Option<f64>; 2] {
    let k = (t - 1).div_euclid(1500);
    let at = (t - 1).rem_euclid(1500);
    let offset = (k * 37).rem_euclid(300);
    let length = [1, 10, 299, 301, 600][k.rem_euclid(5) as usize];
    let [rx, tx] = wave(t);
    match (offset..offset + length).contains(&at) {
        false => [rx, tx],
        true if k.rem_euclid(7) == 3 => [rx, None],
        true => [None, None],
    }
}

/// Random windows `(start, end]` within `span` seconds before `last`, in
/// 1 to 1500 points.
fn random_windows(seed: u64, count: usize, last: i64, span: i64) -> Vec<(i64, i64, u32)> {
    let mut seed = seed;
    let mut next = |modulo: i64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((seed >> 33) % modulo.max(1) as u64) as i64
    };
    (0..count)
        .map(|_| {
            let start = last - 1 - next(span);
            let length = match next(3) {
                0 => 1 + next(900),
                1 => 1 + next(20_000),
                _ => 1 + next(span),
            };
            let end = (start + length).min(last + next(700));
            let end = end.max(start + 1);
            (start, end, 1 + next(1500) as u32)
        })
        .collect()
}

/// Learns the whole map (and the days) of `file` into `cache`, in steps.
fn learn_all(file: &Fake, cache: &mut Cache) -> usize {
    let mut steps = 1;
    while !learn_with(
        cache,
        &file.info,
        |cf, start, end, resolution| file.fetch(cf, start, end, resolution),
        1 << 15,
    )
    .unwrap()
    {
        steps += 1;
        assert!(steps < 10_000, "learning does not end");
    }
    steps
}

#[test]
fn every_window_is_exact_to_the_second_around_unknown_runs() {
    let last = DAY0 + 4567;
    let values = until(last, &holes);
    let file = fake(&SMALL, last, &values);
    let mut cache = Cache::new();
    learn_all(&file, &mut cache);
    // The 1 s rows (with the margin, aligned to 300 s) are exact.
    let exact_from = ceil_to(last - 20_000 + 60, 300);
    for (start, end, points) in random_windows(5, 60, last, last - exact_from) {
        let plain = file.query(start, end, points).unwrap();
        check_points_from(&values, &plain, exact_from);
        check_summary(&values, &plain, start, end);
        assert!(plain.summary.exact, "{start}..{end}");
        assert!(plain.summary.peak_exact && plain.peak_exact);
        let cached = file.query_cached(&mut cache, start, end, points).unwrap();
        assert_eq!(cached.exact_from, Some(exact_from.max(cached.start)));
        check_points_from(&values, &cached, exact_from);
        check_summary(&values, &cached, start, end);
    }
    // Each alignment of each length, one window per run: the run and the
    // minutes around it, in 1 and 7 points.
    for k in (last - 18_000) / 1500..(last - 1000) / 1500 {
        let run = k * 1500 + (k * 37).rem_euclid(300);
        for (start, end, points) in [(run - 307, run + 913, 1), (run - 60, run + 700, 7)] {
            let series = file.query_cached(&mut cache, start, end, points).unwrap();
            check_points_from(&values, &series, exact_from);
            check_summary(&values, &series, start, end);
        }
    }
}

#[test]
fn older_than_the_1_s_archive_the_finest_rows_decide() {
    // The runs of `holes`, two days back: only 10 s rows (and coarser) hold
    // them. A 10 s row librrd kept counts as 10 known seconds; an unknown
    // one as 10 unknown seconds. Coarse rows stand in for their seconds
    // only where all their 10 s rows are known. Since a known 10 s row may
    // hide up to 5 unknown seconds, which count at an average (the 10 s
    // row's, or a coarse row's), the volume is close to the truth but not
    // exact; the known time is exactly what the 10 s rows say.
    let last = DAY0 + 4567;
    let file = fake(&SMALL, last, &holes);
    let rows = |t: i64| {
        // The 10 s row stamped `ceil(t, 10)`, as librrd keeps it.
        let end = ceil_to(t, 10);
        let mut row = [None; 2];
        for (ds, value) in row.iter_mut().enumerate() {
            let known: Vec<f64> = (end - 9..=end).filter_map(|s| holes(s)[ds]).collect();
            if known.len() >= 5 {
                *value = Some(known.iter().sum::<f64>() / known.len() as f64);
            }
        }
        row
    };
    let mut cache = Cache::new();
    learn_all(&file, &mut cache);
    let old = last - 20_000;
    for (start, end, points) in random_windows(9, 16, old - 2000, 100_000) {
        // Whole 10 s rows only: the edges of a window there are pro rata.
        let (start, end) = (floor_to(start, 10), ceil_to(end, 10).min(floor_to(old, 10)));
        if start >= end {
            continue;
        }
        for series in [
            file.query(start, end, points).unwrap(),
            file.query_cached(&mut cache, start, end, points).unwrap(),
        ] {
            let what = format!("{start}..{end} in {points}");
            let expected = truth(&rows, start, end);
            let summary = &series.summary;
            let near = |a: f64, b: f64| (a - b).abs() <= 2e-3 * b.abs().max(1.0);
            assert!(
                near(summary.rx_bytes, expected[0].0 / 8.0),
                "{what}: {summary:?}"
            );
            assert!(
                near(summary.tx_bytes, expected[1].0 / 8.0),
                "{what}: {summary:?}"
            );
            let known = (summary.rx_known, summary.tx_known);
            assert_eq!(known, (expected[0].1, expected[1].1), "{what}");
            assert!(!summary.exact && series.exact_from.is_none(), "{what}");
            let step = series.step as i64;
            for point in &series.points {
                let expected = truth(&rows, point.time, point.time + step);
                let known = (point.rx_known, point.tx_known);
                assert_eq!(known, (expected[0].1, expected[1].1), "{what}: {point:?}");
            }
        }
    }
}

#[test]
fn the_map_is_learned_newest_first_and_says_what_is_exact() {
    // 1 s rows for 300,000 s: more than a query learns on its own.
    let archives = [
        "RRA:AVERAGE:0.5:1:300000",
        "RRA:AVERAGE:0.5:10:60000",
        "RRA:AVERAGE:0.5:60:20000",
        "RRA:MAX:0.5:60:20000",
        "RRA:AVERAGE:0.5:300:5000",
        "RRA:MAX:0.5:300:5000",
    ];
    let last = DAY0 + 4567;
    let values = until(last, &holes);
    let file = fake(&archives, last, &values);
    let exact_start = ceil_to(last - 300_000 + 60, 300);
    // The first query on a new cache learns the newest rows within its
    // budget: enough for the last day, exact; not for older windows, which
    // say so.
    let mut cache = Cache::new();
    let series = file.query_cached(&mut cache, last - DAY, last, 60).unwrap();
    assert!(series.summary.exact);
    assert_eq!(series.exact_from, Some(series.start));
    check_summary(&values, &series, last - DAY, last);
    let (old_start, old_end) = (exact_start + 1000, exact_start + 9000);
    let old = file
        .query_cached(&mut cache, old_start, old_end, 30)
        .unwrap();
    assert!(!old.summary.exact && old.exact_from.is_none());
    // Learning in steps: the exact part grows backwards, then the coarser
    // levels are learned.
    let mut fetch = |cf: &str, start, end, resolution| file.fetch(cf, start, end, resolution);
    let mut reach = cache.map.exact().unwrap().0;
    let mut steps = 0;
    while !learn_with(&mut cache, &file.info, &mut fetch, 10_000).unwrap() {
        let from = cache.map.exact().unwrap().0;
        assert!(from <= reach, "step {steps}: from {from}");
        steps += u32::from(from < reach);
        reach = from;
    }
    assert!(steps >= 3, "{steps} steps");
    assert_eq!(cache.map.exact().unwrap().0, exact_start);
    let old = file
        .query_cached(&mut cache, old_start, old_end, 30)
        .unwrap();
    assert!(old.summary.exact);
    check_summary(&values, &old, old_start, old_end);
    check_points(&values, &old);
}

/// `wave`, unknown every 7th second from 40,000 s before DAY0 on: more
/// runs than a level keeps.
fn dense(t: i64) -> [Option<f64>; 2] {
    if t % 7 == 0 && DAY0 - 40_000 < t {
        [None, None]
    } else {
        wave(t)
    }
}

#[test]
fn the_map_follows_the_file_and_stays_within_its_memory_bound() {
    let archives = [
        "RRA:AVERAGE:0.5:1:60000",
        "RRA:AVERAGE:0.5:60:2000",
        "RRA:MAX:0.5:60:2000",
    ];
    let file = fake(&archives, DAY0, &dense);
    let mut cache = Cache::new();
    learn_all(&file, &mut cache);
    let levels = cache.map.summary();
    let (unit, lo, hi, runs, entries) = levels[0];
    assert_eq!((unit, hi), (1, DAY0));
    assert!(runs <= MAX_RUNS && entries <= MAX_ENTRIES, "{levels:?}");
    // It stopped going back where the bound was reached: the newest runs
    // are kept, and what it knows is exact.
    assert!(lo > DAY0 - 40_000 && lo < DAY0 - 20_000, "{levels:?}");
    let series = file.query_cached(&mut cache, lo, DAY0, 50).unwrap();
    assert!(series.summary.exact);
    check_summary(&dense, &series, lo, DAY0);
    check_points_from(&dense, &series, lo);
    assert!(
        cache.memory_bytes() < 1_200_000,
        "{} bytes",
        cache.memory_bytes()
    );
    // The file grows: the newest runs are learned and the oldest dropped.
    for later in [DAY0 + 1, DAY0 + 300, DAY0 + 5000] {
        let values = until(later, &dense);
        let file = fake(&archives, later, &values);
        let series = file
            .query_cached(&mut cache, later - 3000, later, 30)
            .unwrap();
        check_summary(&values, &series, later - 3000, later);
        check_points(&values, &series);
        let (_, lo_now, hi_now, runs, _) = cache.map.summary()[0];
        assert_eq!(hi_now, later);
        assert!(runs <= MAX_RUNS);
        assert!(lo_now > lo || later - DAY0 < 7 * 60, "{lo_now} {lo}");
    }
}

// The day cache (`cache.rs`): the same answers as `compute`, kept up to date.

/// Integer rates constant over each 300 s row of the Original profile's
/// coarse archives, with whole unknown blocks now and then, so that every
/// row's value × seconds is an integer and every sum exact in any order.
fn blocky(t: i64) -> [Option<f64>; 2] {
    let b = (t + 299).div_euclid(300);
    let rx = (b % 37 != 0).then(|| 1000.0 + (b * 7919).rem_euclid(1009) as f64);
    let tx =
        (b % 53 != 5 && (b / 288) % 101 != 7).then(|| 200.0 + (b * 104_729).rem_euclid(307) as f64);
    [rx, tx]
}

/// Another file's rates, to catch days served from a stale cache.
fn blocky_other(t: i64) -> [Option<f64>; 2] {
    let [rx, tx] = blocky(t);
    [rx.map(|v| v + 17.0), tx.map(|v| v * 2.0)]
}

/// `blocky` up to three days before DAY0, `holes` after: unknown runs of
/// every kind where the fine archives hold the seconds.
fn ragged(t: i64) -> [Option<f64>; 2] {
    if t <= DAY0 - 3 * DAY {
        blocky(t)
    } else {
        holes(t)
    }
}

fn block_fake<'a>(archives: &[&str], last: i64, values: &'a Values) -> Fake<'a> {
    let mut file = fake(archives, last, values);
    file.block = 300;
    file.blocks_until = DAY0 - 3 * DAY;
    file
}

/// The Original profile's archives, with the fine ones shortened (1 s rows
/// for 2 days, 10 s for 10, 60 s for 60), so that learning them is quick.
const SHORT_ORIGINAL: [&str; 6] = [
    "RRA:AVERAGE:0.5:1:172800",
    "RRA:AVERAGE:0.5:10:86400",
    "RRA:AVERAGE:0.5:60:86400",
    "RRA:MAX:0.5:60:86400",
    "RRA:AVERAGE:0.5:300:1051920",
    "RRA:MAX:0.5:300:1051920",
];

/// The Compact profile's archives, with the fine ones shortened the same
/// way (1 s rows for 2 days, 10 s for 8, 60 s for 40).
const SHORT_COMPACT: [&str; 6] = [
    "RRA:AVERAGE:0.5:1:172800",
    "RRA:AVERAGE:0.5:10:69120",
    "RRA:AVERAGE:0.5:60:57600",
    "RRA:MAX:0.5:60:57600",
    "RRA:AVERAGE:0.5:3600:87840",
    "RRA:MAX:0.5:3600:87840",
];

impl Fake<'_> {
    fn query_cached(
        &self,
        cache: &mut Cache,
        start: i64,
        end: i64,
        points: u32,
    ) -> Result<Series, Error> {
        let request = Request { start, end, points };
        compute_cached(cache, &self.info, &request, |cf, start, end, resolution| {
            self.fetch(cf, start, end, resolution)
        })
    }

    /// The rows fetched since the last call of this, in all.
    fn take_rows(&self) -> i64 {
        let rows = self.calls().iter().map(|c| c.2).sum();
        self.calls.borrow_mut().clear();
        rows
    }
}

/// Equal series; with `exact` false, sums within 1e-9 relative.
fn assert_same(got: &Series, expected: &Series, exact: bool, what: &str) {
    if exact {
        assert_eq!(got, expected, "{what}");
        return;
    }
    let strip = |s: &Series| Series {
        points: Vec::new(),
        summary: Summary {
            rx_bytes: 0.0,
            tx_bytes: 0.0,
            rx_avg: None,
            tx_avg: None,
            ..s.summary
        },
        ..s.clone()
    };
    assert_eq!(strip(got), strip(expected), "{what}");
    let (a, b) = (&got.summary, &expected.summary);
    assert!(close(a.rx_bytes, b.rx_bytes), "{what}");
    assert!(close(a.tx_bytes, b.tx_bytes), "{what}");
    assert!(
        close_option(a.rx_avg, b.rx_avg) && close_option(a.tx_avg, b.tx_avg),
        "{what}"
    );
    assert_eq!(got.points.len(), expected.points.len(), "{what}");
    for (a, b) in got.points.iter().zip(&expected.points) {
        assert_eq!(
            (a.time, a.rx_peak, a.tx_peak, a.rx_known, a.tx_known),
            (b.time, b.rx_peak, b.tx_peak, b.rx_known, b.tx_known),
            "{what}"
        );
        assert!(
            close_option(a.rx, b.rx) && close_option(a.tx, b.tx),
            "{what}: {a:?} {b:?}"
        );
    }
}

/// Random windows over ten years and more against `compute`, with `cache`
/// learned first.
fn compare_random_windows(file: &Fake, cache: &mut Cache, exact: bool, count: usize, seed: u64) {
    const YEAR: i64 = 31_557_600;
    learn_all(file, cache);
    file.take_rows();
    let last = file.info.last_update;
    let mut seed = seed;
    let mut next = |modulo: u64| {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (seed >> 33) % modulo
    };
    let mut used = 0;
    for i in 0..count {
        let length = match i % 4 {
            0 => 5 * YEAR,
            1 => 10 * YEAR,
            2 => 11 * YEAR + next(YEAR as u64) as i64,
            _ => 2 * DAY + next(10 * YEAR as u64) as i64,
        };
        let end = last + 3600 - next(400 * DAY as u64) as i64;
        let start = (end - length).max(0);
        let points = 1 + next(1500) as u32;
        let what = format!("window {start}..{end} in {points}");
        let plain = file.query(start, end, points).unwrap();
        let plain_rows = file.take_rows();
        let cached = file.query_cached(cache, start, end, points).unwrap();
        let cached_rows = file.take_rows();
        assert_same(&cached, &plain, exact, &what);
        if plain.step % DAY as u64 == 0 && length > 30 * DAY {
            // Whole days came from memory.
            assert!(
                cached_rows * 4 < plain_rows,
                "{what}: {cached_rows} rows against {plain_rows}"
            );
            used += 1;
        }
    }
    assert!(
        used * 3 >= count,
        "the cache served only {used} of {count} windows"
    );
}

#[test]
fn cached_answers_equal_plain_ones_on_original_files() {
    let file = block_fake(&SHORT_ORIGINAL, DAY0 + 12_345, &ragged);
    let mut cache = Cache::new();
    compare_random_windows(&file, &mut cache, false, 8, 7);
    // 1,051,920 rows of 300 s, 3,652.5 days, ending 12,300 s into the day
    // of DAY0: the oldest row's day is cut, the 3,652 before DAY0 are held.
    assert_eq!(cache.days(), DAY0 / DAY - 3652..DAY0 / DAY);
    // Exact where the 1 s rows are, with whole days from memory too.
    for (start, end, points) in [(DAY0 - DAY, DAY0, 1), (DAY0 - DAY - 777, DAY0 + 12_000, 1)] {
        let series = file.query_cached(&mut cache, start, end, points).unwrap();
        assert_eq!(series.step % DAY as u64, 0);
        let values = until(file.info.last_update, &ragged);
        check_summary(&values, &series, start, end);
        assert!(series.summary.exact);
    }
}

#[test]
fn cached_answers_equal_plain_ones_on_compact_files() {
    let file = block_fake(&SHORT_COMPACT, DAY0 + 4321, &ragged);
    let mut cache = Cache::new();
    compare_random_windows(&file, &mut cache, false, 12, 99);
    assert!(cache.days().count() > 3600);
}

#[test]
fn short_steps_never_touch_the_days() {
    let file = block_fake(&SHORT_ORIGINAL, DAY0, &blocky);
    let mut cache = Cache::new();
    for (window, points) in [
        (300, 300),
        (86_400, 1000),
        (30 * DAY, 1000),
        (365 * DAY, 1000),
    ] {
        let plain = file.query(DAY0 - window, DAY0, points).unwrap();
        let cached = file
            .query_cached(&mut cache, DAY0 - window, DAY0, points)
            .unwrap();
        assert_eq!(cached, plain);
        assert!(plain.step % DAY as u64 != 0);
    }
    assert!(cache.days().is_empty());
}

#[test]
fn the_cache_follows_the_last_update_and_drops_wrapped_days() {
    // A small layout: 300 s rows for 20 days. (The 60 s rows reach as far
    // back, so that no held day straddles the edge of what a level of the
    // map covers: such days are read from rows every time.)
    let archives = [
        "RRA:AVERAGE:0.5:1:7200",
        "RRA:AVERAGE:0.5:60:28800",
        "RRA:MAX:0.5:60:28800",
        "RRA:AVERAGE:0.5:300:5760",
        "RRA:MAX:0.5:300:5760",
    ];
    let window = |file: &Fake| {
        (
            file.info.last_update - 40 * DAY + 777,
            file.info.last_update - 5,
        )
    };
    let mut cache = Cache::new();
    let mut last = DAY0 + 5000;
    let file = block_fake(&archives, last, &blocky);
    let (start, end) = window(&file);
    let first = file.query_cached(&mut cache, start, end, 10).unwrap();
    assert_eq!(first.step, 7 * DAY as u64);
    assert_eq!(first, file.query(start, end, 10).unwrap());
    // The oldest held day starts after the oldest row and its margin.
    assert_eq!(cache.days(), (DAY0 - 20 * DAY) / DAY + 1..DAY0 / DAY);
    file.take_rows();
    for advance in [1000, DAY, 3 * DAY + 17, 30 * DAY] {
        last += advance;
        let file = block_fake(&archives, last, &blocky);
        let (start, end) = window(&file);
        let plain = file.query(start, end, 10).unwrap();
        file.take_rows();
        // One call with a short step extends no day.
        file.query_cached(&mut cache, end - 3600, end, 10).unwrap();
        file.take_rows();
        let days_before = cache.days();
        let cached = file.query_cached(&mut cache, start, end, 10).unwrap();
        assert_eq!(cached, plain, "after {advance} s more");
        let days = cache.days();
        assert_eq!(days.end, last.div_euclid(DAY), "after {advance} s more");
        assert_eq!(days.start, (last - 20 * DAY).div_euclid(DAY) + 1);
        let new_days = (days.end - days_before.end).min(days.end - days.start);
        // Of the 300 s archives: the new days' rows (288 of each archive a
        // day), and the window's edges (less than a day at each end): no
        // more. (The finer rows are the map's, which learns the time the
        // 1 s and 60 s archives moved on to, and the edges'.)
        let rows: i64 = file
            .calls()
            .iter()
            .filter(|c| c.1 == 300)
            .map(|c| c.2)
            .sum();
        file.take_rows();
        assert!(
            rows <= (new_days + 2) * 2 * 288,
            "{rows} rows of 300 s fetched for {new_days} new days"
        );
    }
    // Backwards (a file restored from a backup, other rates): rebuilt.
    let file = block_fake(&archives, last - 2 * DAY, &blocky_other);
    let (start, end) = window(&file);
    let cached = file.query_cached(&mut cache, start, end, 10).unwrap();
    assert_eq!(cached, file.query(start, end, 10).unwrap());
    assert_eq!(cache.days().end, (last - 2 * DAY).div_euclid(DAY));
    // Another layout, later (other rates again): rebuilt.
    let mut other = archives.to_vec();
    other[0] = "RRA:AVERAGE:0.5:1:3600";
    let file = block_fake(&other, last + 10, &blocky);
    let (start, end) = window(&file);
    let cached = file.query_cached(&mut cache, start, end, 10).unwrap();
    assert_eq!(cached, file.query(start, end, 10).unwrap());
}

#[test]
fn the_cache_stays_within_its_memory_bound() {
    // An archive of hourly rows for 30 years: only the newest MAX_DAYS days.
    let archives = [
        "RRA:AVERAGE:0.5:1:600",
        "RRA:AVERAGE:0.5:3600:262980",
        "RRA:MAX:0.5:3600:262980",
    ];
    let flat = |_: i64| [Some(8.0), Some(16.0)];
    let file = block_fake(&archives, DAY0, &flat);
    let mut cache = Cache::new();
    let start = DAY0 - 40 * 365 * DAY;
    let cached = file.query_cached(&mut cache, start, DAY0, 100).unwrap();
    assert_same(
        &cached,
        &file.query(start, DAY0, 100).unwrap(),
        true,
        "30 years",
    );
    assert_eq!(cache.days().count(), cache::MAX_DAYS);
    assert_eq!(cache.days().end, DAY0 / DAY);
    let bytes = cache.memory_bytes();
    assert!(bytes <= 240_000, "{bytes} bytes");
    // Ten years of 300 s rows, and the map of the finer ones.
    let file = block_fake(&SHORT_ORIGINAL, DAY0, &ragged);
    let mut cache = Cache::new();
    learn_all(&file, &mut cache);
    let bytes = cache.memory_bytes();
    assert!((200_000..=1_000_000).contains(&bytes), "{bytes} bytes");
}

#[test]
fn cached_peaks_count_the_max_rows_own_known_seconds() {
    // A MAX archive more tolerant of unknown seconds than the AVERAGE one,
    // so that their rows' known seconds differ.
    let archives = [
        "RRA:AVERAGE:0.5:1:600",
        "RRA:AVERAGE:0.5:3600:20000",
        "RRA:MAX:0.9:3600:20000",
    ];
    let sparse = |t: i64| {
        let b = (t + 299).div_euclid(300);
        let rx = (b % 12 < 4).then(|| 1000.0 + (b * 7919).rem_euclid(1009) as f64);
        [rx, Some(5.0)]
    };
    let file = block_fake(&archives, DAY0 + 999, &sparse);
    let mut cache = Cache::new();
    compare_random_windows(&file, &mut cache, false, 12, 3);
}

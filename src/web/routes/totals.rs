//! The accounting routes: `/api/totals` (calendar periods in the local
//! time zone, the billing cycle and its quota), `/api/stats` (95th
//! percentiles, seconds above a rate) and the CSV forms of `/api/totals`
//! and `/api/series`. Shapes are in README.md, "URLs and JSON endpoints";
//! the sums come from [`query::totals_file`] and [`query::stats_file`].

use std::fmt::Write as _;
use std::sync::PoisonError;

use serde::Serialize;

use super::{Body, Params, Reply, no_file};
use crate::config::{Billing, Direction};
use crate::query::{self, Total};
use crate::tz::{self, Date, Zone};
use crate::web::{Served, State};

/// Whether `format` asks for CSV (`csv`), JSON (absent or `json`) or is
/// malformed (a 400).
pub(super) fn wants_csv(params: &Params) -> Result<bool, Reply> {
    match params.get("format") {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(other) => Err(Reply::error(
            400,
            format!("format={other:?}: json (the default) or csv"),
        )),
    }
}

/// A CSV answer, offered as a download named `name`.
fn csv(name: &str, text: String) -> Reply {
    Reply {
        status: 200,
        content_type: "text/csv; charset=utf-8",
        body: Body::Owned(text.into_bytes()),
        headers: vec![(
            "Content-Disposition",
            format!("attachment; filename=\"{name}\""),
        )],
        cache: "no-store",
    }
}

/// An interface id as part of a file name.
fn file_part(id: &str) -> String {
    crate::config::file_name_part(&id.replace('/', "-"))
}

/// The calendar period asked for.
#[derive(Clone, Copy, PartialEq)]
enum Period {
    Hours,
    Days,
    Months,
    Years,
}

impl Period {
    fn name(self) -> &'static str {
        match self {
            Period::Hours => "hours",
            Period::Days => "days",
            Period::Months => "months",
            Period::Years => "years",
        }
    }
}

#[derive(Serialize)]
struct Row {
    start: i64,
    end: i64,
    label: String,
    rx_bytes: i64,
    tx_bytes: i64,
    known_seconds: i64,
    seconds: i64,
    exact: bool,
}

#[derive(Serialize)]
struct Sum {
    rx_bytes: i64,
    tx_bytes: i64,
    known_seconds: i64,
    seconds: i64,
    exact: bool,
}

#[derive(Serialize)]
struct QuotaJson {
    bytes: u64,
    direction: &'static str,
    used: i64,
    remaining: i64,
    projected: i64,
    reached_at: Option<i64>,
    reached: bool,
}

#[derive(Serialize)]
struct Cycle {
    billing_day: u8,
    start: i64,
    end: i64,
    rx_bytes: i64,
    tx_bytes: i64,
    known_seconds: i64,
    seconds: i64,
    quota: Option<QuotaJson>,
}

#[derive(Serialize)]
struct TotalsJson<'a> {
    iface: &'a str,
    timezone: &'a str,
    utc_offset_note: Option<&'a str>,
    period: &'static str,
    now: f64,
    first: i64,
    last_update: i64,
    rows: Vec<Row>,
    total: Sum,
    cycle: Cycle,
}

/// The intervals of `period` around `at` in `zone`: their bounds (one more
/// than intervals) and labels. `first` and `now` bound the years.
fn period_bounds(
    zone: &Zone,
    period: Period,
    at: i64,
    first: i64,
    now: i64,
) -> (Vec<i64>, Vec<String>) {
    let date = zone.date(at);
    let mut bounds = Vec::new();
    let mut labels = Vec::new();
    match period {
        Period::Hours => {
            bounds = zone.hours(date);
            for &t in &bounds[..bounds.len() - 1] {
                let local = zone.iso(t);
                labels.push(local.get(11..16).unwrap_or_default().to_string());
            }
        }
        Period::Days => {
            let month = Date { day: 1, ..date };
            for d in 1..=tz::days_in_month(date.year, date.month) {
                let day = Date { day: d, ..month };
                bounds.push(zone.start_of(day));
                labels.push(format!("{:04}-{:02}-{:02}", day.year, day.month, d));
            }
            bounds.push(zone.start_of(month.add_months(1, 1)));
        }
        Period::Months => {
            let january = Date {
                year: date.year,
                month: 1,
                day: 1,
            };
            for m in 0..=12 {
                let month = january.add_months(m, 1);
                bounds.push(zone.start_of(month));
                if m < 12 {
                    labels.push(format!("{:04}-{:02}", month.year, month.month));
                }
            }
        }
        Period::Years => {
            let (from, to) = (zone.date(first).year, zone.date(now.max(first)).year);
            // Bounded by the range of valid times anyway; at most 1024.
            let from = from.max(to - query::MAX_INTERVALS as i64 + 1);
            for year in from..=to + 1 {
                bounds.push(zone.start_of(Date {
                    year,
                    month: 1,
                    day: 1,
                }));
                if year <= to {
                    labels.push(format!("{year:04}"));
                }
            }
        }
    }
    (bounds, labels)
}

/// The billing cycle holding `at`: from `day` of its month (or the month
/// before) to `day` of the next month.
fn cycle_bounds(zone: &Zone, billing: Billing, at: i64) -> Vec<i64> {
    let date = zone.date(at);
    let start = match date.day >= billing.day {
        true => date.add_months(0, billing.day),
        false => date.add_months(-1, billing.day),
    };
    let end = start.add_months(1, billing.day);
    let mut bounds = Vec::new();
    let mut day = start;
    while day <= end {
        bounds.push(zone.start_of(day));
        day = day.next_day();
    }
    bounds
}

/// Whole bytes of a sum of bits ÷ 8. The bits are rounded first: rates
/// of whole bit/s make whole bits, which a point's average × its known
/// seconds gives back only up to the last bits of a float, and a half
/// byte must round the same way as the exact sum.
fn whole(bytes: f64) -> i64 {
    ((bytes * 8.0).round() / 8.0).round() as i64
}

pub(super) fn totals(state: &State, params: &Params) -> Result<Reply, Reply> {
    let served = params.interface(state)?;
    let period = match params.get("period") {
        Some("hours") => Period::Hours,
        Some("days") | None => Period::Days,
        Some("months") => Period::Months,
        Some("years") => Period::Years,
        Some(other) => {
            return Err(Reply::error(
                400,
                format!("period={other:?}: hours, days, months or years"),
            ));
        }
    };
    let csv_wanted = wants_csv(params)?;
    let now_f = state.clock.now().wall;
    let now = now_f.floor() as i64;
    let at = params.int("at")?.unwrap_or(now);
    if !(0..=query::LATEST_TIME - 400 * 86_400).contains(&at) {
        return Err(Reply::error(
            400,
            format!("at={at} is out of range (Unix seconds from 0 to 9998-11-26)"),
        ));
    }
    if !served.rrd.exists() {
        return Err(no_file(served));
    }
    let (zone, note) = &state.zone;
    let mut rows_bounds = Vec::new();
    let mut labels = Vec::new();
    let mut cycle = Vec::new();
    let result = state.files.reading(&served.rrd, || {
        let mut cache = served.cache.lock().unwrap_or_else(PoisonError::into_inner);
        query::totals_file(&mut cache, &served.rrd, |info| {
            let first = query::first_second(info);
            (rows_bounds, labels) = period_bounds(zone, period, at, first, now);
            cycle = cycle_bounds(zone, served.billing, at);
            let mut all: Vec<i64> = rows_bounds.iter().chain(&cycle).copied().collect();
            all.sort_unstable();
            all.dedup();
            all
        })
    });
    let (info, bounds, totals) = result.map_err(|e| match e {
        query::Error::Rrd(_) | query::Error::Answer(_) => Reply::error(503, e.to_string()),
        _ => Reply::error(500, e.to_string()),
    })?;
    let first = query::first_second(&info);
    // The sum of the elementary intervals in (from, to].
    let sum = |from: i64, to: i64| -> (Total, Vec<(i64, Total)>) {
        let mut sum = Total {
            exact: true,
            ..Total::default()
        };
        let mut parts = Vec::new();
        for (w, t) in bounds.windows(2).zip(&totals) {
            if w[0] >= from && w[1] <= to {
                sum.rx_bytes += t.rx_bytes;
                sum.tx_bytes += t.tx_bytes;
                sum.rx_known += t.rx_known;
                sum.tx_known += t.tx_known;
                sum.exact &= t.exact;
                parts.push((w[1], *t));
            }
        }
        (sum, parts)
    };
    let seconds = |from: i64, to: i64| (to.min(now) - from.max(first)).max(0);
    let rows: Vec<Row> = rows_bounds
        .windows(2)
        .zip(labels)
        .map(|(w, label)| {
            let (t, _) = sum(w[0], w[1]);
            Row {
                start: w[0],
                end: w[1],
                label,
                rx_bytes: whole(t.rx_bytes),
                tx_bytes: whole(t.tx_bytes),
                known_seconds: t.rx_known.min(t.tx_known),
                seconds: seconds(w[0], w[1]),
                exact: t.exact,
            }
        })
        .collect();
    let total = Sum {
        rx_bytes: rows.iter().map(|r| r.rx_bytes).sum(),
        tx_bytes: rows.iter().map(|r| r.tx_bytes).sum(),
        known_seconds: rows.iter().map(|r| r.known_seconds).sum(),
        seconds: rows.iter().map(|r| r.seconds).sum(),
        exact: rows.iter().all(|r| r.exact),
    };
    if csv_wanted {
        let mut text = String::from(
            "start_utc,start_local,end_local,rx_bytes,tx_bytes,total_bytes,known_seconds,seconds\n",
        );
        for r in &rows {
            let _ = writeln!(
                text,
                "{},{},{},{},{},{},{},{}",
                tz::iso(r.start, 0),
                zone.iso(r.start),
                zone.iso(r.end),
                r.rx_bytes,
                r.tx_bytes,
                r.rx_bytes + r.tx_bytes,
                r.known_seconds,
                r.seconds
            );
        }
        let name = format!(
            "{}-{}-{}.csv",
            file_part(&served.id),
            period.name(),
            zone.iso(at).get(..10).unwrap_or_default()
        );
        return Ok(csv(&name, text));
    }
    let (c_start, c_end) = (cycle[0], cycle[cycle.len() - 1]);
    let (c, days) = sum(c_start, c_end);
    let quota = served
        .billing
        .quota
        .map(|q| quota(q.bytes, q.direction, &days, (c_start, c_end), now));
    let body = TotalsJson {
        iface: &served.id,
        timezone: &zone.name,
        utc_offset_note: note.as_deref(),
        period: period.name(),
        now: now_f,
        first,
        last_update: info.last_update,
        rows,
        total,
        cycle: Cycle {
            billing_day: served.billing.day,
            start: c_start,
            end: c_end,
            rx_bytes: whole(c.rx_bytes),
            tx_bytes: whole(c.tx_bytes),
            known_seconds: c.rx_known.min(c.tx_known),
            seconds: seconds(c_start, c_end),
            quota,
        },
    };
    Ok(Reply::json(200, &body))
}

/// The quota of a cycle `(start, end]` whose days (their ends and totals)
/// are `days`, at `now`: used, remaining, the projection at the cycle's end
/// from its rate so far (bytes per known second, over the cycle's seconds
/// up to now), and when the quota is (or would be) reached: the end of the
/// local day in which it was, or the projected time.
fn quota(
    bytes: u64,
    direction: Direction,
    days: &[(i64, Total)],
    (start, end): (i64, i64),
    now: i64,
) -> QuotaJson {
    let counted = |t: &Total| match direction {
        Direction::Both => t.rx_bytes + t.tx_bytes,
        Direction::Rx => t.rx_bytes,
        Direction::Tx => t.tx_bytes,
    };
    let quota = bytes as f64;
    let mut used = 0.0;
    let mut reached_at = None;
    for (day_end, t) in days {
        used += counted(t);
        if used >= quota && reached_at.is_none() {
            reached_at = Some(*day_end);
        }
    }
    let known: i64 = days
        .iter()
        .map(|(_, t)| match direction {
            Direction::Rx => t.rx_known,
            Direction::Tx => t.tx_known,
            Direction::Both => t.rx_known.min(t.tx_known),
        })
        .sum();
    let elapsed = (now.min(end) - start).max(0);
    // Bytes per second of the cycle so far, unknown seconds taken at the
    // known seconds' rate.
    let rate = match known > 0 {
        true => used / known as f64,
        false => 0.0,
    };
    let left = (end - now.max(start)).max(0) as f64;
    let projected = used + rate * left;
    let reached = used >= quota;
    if !reached {
        reached_at = (rate > 0.0 && elapsed > 0)
            .then(|| now.max(start) + ((quota - used) / rate).ceil() as i64)
            .filter(|&t| t <= end);
    }
    QuotaJson {
        bytes,
        direction: direction.name(),
        used: whole(used),
        remaining: whole((quota - used).max(0.0)),
        projected: whole(projected),
        reached_at,
        reached,
    }
}

#[derive(Serialize)]
struct PercentilesJson {
    rx: i64,
    tx: i64,
    max: i64,
    samples: usize,
    known_samples: usize,
    step: i64,
}

impl From<query::Percentiles> for PercentilesJson {
    fn from(p: query::Percentiles) -> PercentilesJson {
        PercentilesJson {
            rx: p.rx.round() as i64,
            tx: p.tx.round() as i64,
            max: p.max.round() as i64,
            samples: p.samples,
            known_samples: p.known_samples,
            step: p.step,
        }
    }
}

#[derive(Serialize)]
struct AboveJson {
    rate: f64,
    rx_seconds: i64,
    tx_seconds: i64,
    either_seconds: i64,
    resolution: i64,
}

#[derive(Serialize)]
struct StatsJson<'a> {
    iface: &'a str,
    start: i64,
    end: i64,
    p95: Option<PercentilesJson>,
    p95_why: Option<String>,
    p95_1s: Option<PercentilesJson>,
    above: Option<AboveJson>,
}

pub(super) fn stats(state: &State, params: &Params) -> Result<Reply, Reply> {
    let served = params.interface(state)?;
    let (Some(start), Some(end)) = (params.int("start")?, params.int("end")?) else {
        return Err(Reply::error(
            400,
            "start and end (Unix seconds) are required",
        ));
    };
    let above = match params.get("above") {
        None => None,
        Some(text) => Some(
            text.parse::<f64>()
                .ok()
                .filter(|r| r.is_finite() && *r >= 0.0)
                .ok_or_else(|| {
                    Reply::error(
                        400,
                        format!("above={text:?} is not a rate in bit/s (0 or more)"),
                    )
                })?,
        ),
    };
    query::Request {
        start,
        end,
        points: 1,
    }
    .check()
    .map_err(|e| Reply::error(400, e.to_string()))?;
    if !served.rrd.exists() {
        return Err(no_file(served));
    }
    let result = state.files.reading(&served.rrd, || {
        let mut cache = served.cache.lock().unwrap_or_else(PoisonError::into_inner);
        query::stats_file(&mut cache, &served.rrd, (start, end), above)
    });
    let stats = result.map_err(|e| match e {
        query::Error::Rrd(_) | query::Error::Answer(_) => Reply::error(503, e.to_string()),
        _ => Reply::error(500, e.to_string()),
    })?;
    let body = StatsJson {
        iface: &served.id,
        start,
        end,
        p95: stats.p95.map(Into::into),
        p95_why: stats.p95_why,
        p95_1s: stats.p95_1s.map(Into::into),
        above: stats.above.map(|a| AboveJson {
            rate: a.rate,
            rx_seconds: a.rx_seconds,
            tx_seconds: a.tx_seconds,
            either_seconds: a.either_seconds,
            resolution: a.resolution,
        }),
    };
    Ok(Reply::json(200, &body))
}

/// `/api/series?…&format=csv`: one line per point (its end), unknown
/// values empty.
pub(super) fn series_csv(
    state: &State,
    served: &Served,
    step: u64,
    points: &[&query::Point],
) -> Reply {
    let zone = &state.zone.0;
    let mut text = String::from(
        "time_utc,time_local,unix,rx_bit_per_s,tx_bit_per_s,rx_peak_bit_per_s,tx_peak_bit_per_s,known_seconds\n",
    );
    let value = |v: Option<f64>| super::rounded(v).map_or(String::new(), |v| v.to_string());
    for p in points {
        let end = p.time + step as i64;
        // At a 1 s step the peaks are the values themselves.
        let (rx_peak, tx_peak) = match step > 1 {
            true => (p.rx_peak, p.tx_peak),
            false => (p.rx, p.tx),
        };
        let _ = writeln!(
            text,
            "{},{},{end},{},{},{},{},{}",
            tz::iso(end, 0),
            zone.iso(end),
            value(p.rx),
            value(p.tx),
            value(rx_peak),
            value(tx_peak),
            p.rx_known.min(p.tx_known)
        );
    }
    let first = points.first().map_or(0, |p| p.time);
    csv(&format!("{}-{first}.csv", file_part(&served.id)), text)
}

//! The accounting routes: `/api/totals` (calendar periods in the local
//! time zone, the billing cycle and its quota), `/api/stats` (95th
//! percentiles, seconds above a rate) and the CSV forms of `/api/totals`
//! and `/api/series`. Shapes are in README.md, "URLs and JSON endpoints";
//! the sums come from [`query::totals_file`] and [`query::stats_file`].

use std::sync::PoisonError;

use super::{
    Body, NULL, Params, Reply, Value, end_array, fields, int_or_null, no_file, object, push_object,
    query_error,
};
use crate::config::{Billing, Direction};
use crate::query::{self, Total};
use crate::tz::{self, Date, Zone};
use crate::web::{Served, State};

/// Whether `format` asks for CSV (`csv`), JSON (absent or `json`) or is
/// malformed (a 400).
// Not inlined: LTO inlined this module's handlers and their helpers into
// `route` and the binary was 1,984 B larger (x86_64, measured).
#[inline(never)]
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

/// A CSV answer (`text` its lines), offered as a download named `name`.
fn csv(name: &str, text: Vec<u8>) -> Reply {
    Reply {
        status: 200,
        content_type: "text/csv; charset=utf-8",
        body: Body::Owned(text),
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

/// One row of the totals.
struct Row {
    start: i64,
    end: i64,
    rx_bytes: i64,
    tx_bytes: i64,
    known_seconds: i64,
    seconds: i64,
    exact: bool,
}

impl Row {
    /// Its bytes and seconds, as in `rows`, `total` and `cycle`.
    fn sums(&self) -> [(&'static str, Value<'static>); 4] {
        [
            ("rx_bytes", Value::Int(self.rx_bytes)),
            ("tx_bytes", Value::Int(self.tx_bytes)),
            ("known_seconds", Value::Int(self.known_seconds)),
            ("seconds", Value::Int(self.seconds)),
        ]
    }
}

impl Period {
    /// The bytes of a row's label in the local ISO 8601 time of its start
    /// (`2026-12-05T14:00:00+01:00`): `14:00`, `2026-12-05`, `2026-12`,
    /// `2026`.
    fn label(self) -> std::ops::Range<usize> {
        match self {
            Period::Hours => 11..16,
            Period::Days => 0..10,
            Period::Months => 0..7,
            Period::Years => 0..4,
        }
    }
}

/// The instants the local dates `from` to `to` (inclusive) start, a day
/// apart, or `months` apart.
fn starts(zone: &Zone, mut from: Date, to: Date, months: i64) -> Vec<i64> {
    let mut bounds = Vec::new();
    while from <= to {
        bounds.push(zone.start_of(from));
        from = match months {
            0 => from.next_day(),
            _ => from.add_months(months, 1),
        };
    }
    bounds
}

/// The bounds of the intervals of `period` around `at` in `zone` (one
/// more than intervals). `first` and `now` bound the years.
#[inline(never)] // See wants_csv.
fn period_bounds(zone: &Zone, period: Period, at: i64, first: i64, now: i64) -> Vec<i64> {
    let date = zone.date(at);
    let month = Date { day: 1, ..date };
    let january = Date { month: 1, ..month };
    match period {
        Period::Hours => zone.hours(date),
        Period::Days => starts(zone, month, month.add_months(1, 1), 0),
        Period::Months => starts(zone, january, january.add_months(12, 1), 1),
        Period::Years => {
            let (from, to) = (zone.date(first).year, zone.date(now.max(first)).year);
            // Bounded by the range of valid times anyway; at most 1024.
            let from = from.max(to - query::MAX_INTERVALS as i64 + 1);
            let year = |year| Date { year, ..january };
            starts(zone, year(from), year(to + 1), 12)
        }
    }
}

/// The billing cycle holding `at`, its days' bounds: from `day` of its
/// month (or the month before) to `day` of the next month.
fn cycle_bounds(zone: &Zone, billing: Billing, at: i64) -> Vec<i64> {
    let date = zone.date(at);
    let start = match date.day >= billing.day {
        true => date.add_months(0, billing.day),
        false => date.add_months(-1, billing.day),
    };
    starts(zone, start, start.add_months(1, billing.day), 0)
}

/// Whole bytes of a sum of bits ÷ 8. The bits are rounded first: rates
/// of whole bit/s make whole bits, which a point's average × its known
/// seconds gives back only up to the last bits of a float, and a half
/// byte must round the same way as the exact sum.
fn whole(bytes: f64) -> i64 {
    ((bytes * 8.0).round() / 8.0).round() as i64
}

#[inline(never)] // See wants_csv.
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
    let mut cycle = Vec::new();
    let result = state.files.reading(&served.rrd, || {
        let mut cache = served.cache.lock().unwrap_or_else(PoisonError::into_inner);
        query::totals_file(&mut cache, &served.rrd, |info| {
            let first = query::first_second(info);
            rows_bounds = period_bounds(zone, period, at, first, now);
            cycle = cycle_bounds(zone, served.billing, at);
            let mut all: Vec<i64> = rows_bounds.iter().chain(&cycle).copied().collect();
            crate::order::sort_dedup(&mut all);
            all
        })
    });
    let (info, bounds, totals) = result.map_err(query_error)?;
    let first = query::first_second(&info);
    // The elementary intervals in (from, to] (their ends and totals), and
    // their sum as a row.
    let sum = |from: i64, to: i64| -> (Row, Vec<(i64, Total)>) {
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
        let row = Row {
            start: from,
            end: to,
            rx_bytes: whole(sum.rx_bytes),
            tx_bytes: whole(sum.tx_bytes),
            known_seconds: sum.rx_known.min(sum.tx_known),
            seconds: (to.min(now) - from.max(first)).max(0),
            exact: sum.exact,
        };
        (row, parts)
    };
    let rows: Vec<Row> = rows_bounds.windows(2).map(|w| sum(w[0], w[1]).0).collect();
    let mut out = Vec::new();
    if csv_wanted {
        out.extend_from_slice(
            b"start_utc,start_local,end_local,rx_bytes,tx_bytes,total_bytes,known_seconds,seconds\n",
        );
        for r in &rows {
            let [rx, tx, known, seconds] = r.sums();
            let times = [tz::iso(r.start, 0), zone.iso(r.start), zone.iso(r.end)];
            let line = [
                ("", Value::Text(&times[0])),
                ("", Value::Text(&times[1])),
                ("", Value::Text(&times[2])),
                rx,
                tx,
                ("", Value::Int(r.rx_bytes + r.tx_bytes)),
                known,
                seconds,
            ];
            fields(&mut out, &line, true);
        }
        let name = format!(
            "{}-{}-{}.csv",
            file_part(&served.id),
            period.name(),
            zone.iso(at).get(..10).unwrap_or_default()
        );
        return Ok(csv(&name, out));
    }
    for r in &rows {
        let local = zone.iso(r.start);
        let [rx, tx, known, seconds] = r.sums();
        let row = [
            ("start", Value::Int(r.start)),
            ("end", Value::Int(r.end)),
            (
                "label",
                Value::Text(local.get(period.label()).unwrap_or_default()),
            ),
            rx,
            tx,
            known,
            seconds,
            ("exact", Value::Bool(r.exact)),
        ];
        push_object(&mut out, &row);
    }
    end_array(&mut out);
    let total = Row {
        rx_bytes: rows.iter().map(|r| r.rx_bytes).sum(),
        tx_bytes: rows.iter().map(|r| r.tx_bytes).sum(),
        known_seconds: rows.iter().map(|r| r.known_seconds).sum(),
        seconds: rows.iter().map(|r| r.seconds).sum(),
        exact: rows.iter().all(|r| r.exact),
        ..rows[0]
    };
    let [rx, tx, known, seconds] = total.sums();
    let total = object(&[rx, tx, known, seconds, ("exact", Value::Bool(total.exact))]);
    let (c, days) = sum(cycle[0], cycle[cycle.len() - 1]);
    let quota = served
        .billing
        .quota
        .map(|q| quota(q.bytes, q.direction, &days, (c.start, c.end), now));
    let [rx, tx, known, seconds] = c.sums();
    let cycle = object(&[
        ("billing_day", Value::Int(served.billing.day.into())),
        ("start", Value::Int(c.start)),
        ("end", Value::Int(c.end)),
        rx,
        tx,
        known,
        seconds,
        ("quota", quota.as_deref().map_or(NULL, Value::Json)),
    ]);
    let body = object(&[
        ("iface", Value::Text(&served.id)),
        ("timezone", Value::Text(&zone.name)),
        ("utc_offset_note", note.as_deref().map_or(NULL, Value::Text)),
        ("period", Value::Text(period.name())),
        ("now", Value::Float(now_f)),
        ("first", Value::Int(first)),
        ("last_update", Value::Int(info.last_update)),
        ("rows", Value::Json(&out)),
        ("total", Value::Json(&total)),
        ("cycle", Value::Json(&cycle)),
    ]);
    Ok(Reply::json_bytes(200, body))
}

/// The quota of a cycle `(start, end]` whose days (their ends and totals)
/// are `days`, at `now`: used, remaining, the projection at the cycle's end
/// from its rate so far (bytes per known second, over the cycle's seconds
/// up to now), and when the quota is (or would be) reached: the end of the
/// local day in which it was, or the projected time.
#[inline(never)] // See wants_csv.
fn quota(
    bytes: u64,
    direction: Direction,
    days: &[(i64, Total)],
    (start, end): (i64, i64),
    now: i64,
) -> Vec<u8> {
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
    object(&[
        ("bytes", Value::Int(bytes as i64)),
        ("direction", Value::Text(direction.name())),
        ("used", Value::Int(whole(used))),
        ("remaining", Value::Int(whole((quota - used).max(0.0)))),
        ("projected", Value::Int(whole(projected))),
        ("reached_at", int_or_null(reached_at)),
        ("reached", Value::Bool(reached)),
    ])
}

/// A percentile's JSON (whole bit/s).
fn percentiles(p: query::Percentiles) -> Vec<u8> {
    object(&[
        ("rx", Value::Int(p.rx.round() as i64)),
        ("tx", Value::Int(p.tx.round() as i64)),
        ("max", Value::Int(p.max.round() as i64)),
        ("samples", Value::Int(p.samples as i64)),
        ("known_samples", Value::Int(p.known_samples as i64)),
        ("step", Value::Int(p.step)),
    ])
}

#[inline(never)] // See wants_csv.
pub(super) fn stats(state: &State, params: &Params) -> Result<Reply, Reply> {
    let served = params.interface(state)?;
    let (start, end) = params.window()?;
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
    let stats = result.map_err(query_error)?;
    let [p95, p95_1s] = [stats.p95, stats.p95_1s].map(|p| p.map(percentiles));
    let above = stats.above.map(|a| {
        object(&[
            ("rate", Value::Float(a.rate)),
            ("rx_seconds", Value::Int(a.rx_seconds)),
            ("tx_seconds", Value::Int(a.tx_seconds)),
            ("either_seconds", Value::Int(a.either_seconds)),
            ("resolution", Value::Int(a.resolution)),
        ])
    });
    fn json_or_null(v: &Option<Vec<u8>>) -> Value<'_> {
        v.as_deref().map_or(NULL, Value::Json)
    }
    Ok(Reply::json_bytes(
        200,
        object(&[
            ("iface", Value::Text(&served.id)),
            ("start", Value::Int(start)),
            ("end", Value::Int(end)),
            ("p95", json_or_null(&p95)),
            (
                "p95_why",
                stats.p95_why.as_deref().map_or(NULL, Value::Text),
            ),
            ("p95_1s", json_or_null(&p95_1s)),
            ("above", json_or_null(&above)),
        ]),
    ))
}

/// `/api/series?…&format=csv`: one line per point (its end), unknown
/// values empty.
#[inline(never)] // See wants_csv.
pub(super) fn series_csv(
    state: &State,
    served: &Served,
    step: u64,
    points: &[&query::Point],
) -> Reply {
    let zone = &state.zone.0;
    let mut out = b"time_utc,time_local,unix,rx_bit_per_s,tx_bit_per_s,rx_peak_bit_per_s,tx_peak_bit_per_s,known_seconds\n".to_vec();
    let value = |v: Option<f64>| super::rounded(v).map_or(Value::Text(""), Value::Int);
    for p in points {
        let end = p.time + step as i64;
        // At a 1 s step the peaks are the values themselves.
        let (rx_peak, tx_peak) = match step > 1 {
            true => (p.rx_peak, p.tx_peak),
            false => (p.rx, p.tx),
        };
        let (utc, local) = (tz::iso(end, 0), zone.iso(end));
        let line = [
            Value::Text(&utc),
            Value::Text(&local),
            Value::Int(end),
            value(p.rx),
            value(p.tx),
            value(rx_peak),
            value(tx_peak),
            Value::Int(p.rx_known.min(p.tx_known)),
        ]
        .map(|v| ("", v));
        fields(&mut out, &line, true);
    }
    let first = points.first().map_or(0, |p| p.time);
    csv(&format!("{}-{first}.csv", file_part(&served.id)), out)
}

//! `/api/totals`, `/api/stats` and the CSV forms against files written by
//! stock `rrdtool` (Debian's CLI) from a known traffic model: local days
//! across both DST changes of Europe/Berlin (23 and 25 hours), a month, a
//! billing cycle starting on the 28th across February with its quota,
//! unknown seconds (reported, not counted), the 95th percentile against
//! the same 5-minute averages read back with `rrdtool fetch` and against
//! the model, and malformed parameters. The routes are called directly
//! ([`route`]) with a fixed clock.

use std::net::IpAddr;
use std::path::Path;
use std::sync::Arc;

mod support;

use mt_trafmon::collector::{Clock, Now};
use mt_trafmon::config;
use mt_trafmon::files::Files;
use mt_trafmon::query;
use mt_trafmon::tz::{self, Date, Zone};
use mt_trafmon::web::State;
use mt_trafmon::web::routes::{Reply, Req, route};
use serde_json::Value;
use support::{TestDir, rrdtool};

const DAY: i64 = 86_400;

fn day(year: i64, month: u8, d: u8) -> i64 {
    Date {
        year,
        month,
        day: d,
    }
    .days()
        * DAY
}

fn hash(x: i64, salt: u64) -> u64 {
    let mut x = (x as u64) ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    x
}

/// The model: stretches `(from, to]` at one rate per direction (bit/s,
/// whole numbers) or unknown, oldest first, with prefix sums.
struct Model {
    t0: i64,
    /// (end, rx, tx) of each stretch.
    stretches: Vec<(i64, Option<f64>, Option<f64>)>,
    /// Σ bits and known seconds per direction before stretch `i`.
    sums: Vec<[(f64, i64); 2]>,
}

impl Model {
    /// Stretches of 300 s aligned to 300 s (every 41st pair unknown) up to
    /// `split`, then of 1 to 7 s with unknown runs of 1, 299, 301 and
    /// 3600 s every few hours, to `end`.
    fn new(t0: i64, split: i64, end: i64) -> Model {
        let mut stretches = Vec::new();
        let rate = |t: i64| {
            (
                (1_000_000 + hash(t, 1) % 900_000_000) as f64,
                (100_000 + hash(t, 2) % 90_000_000) as f64,
            )
        };
        let mut t = t0;
        while t < split {
            let next = (t + 300).min(split);
            match (t / 300) % 41 {
                0 | 1 => stretches.push((next, None, None)),
                _ => {
                    let (rx, tx) = rate(next);
                    stretches.push((next, Some(rx), Some(tx)));
                }
            }
            t = next;
        }
        let runs = [1, 299, 301, 3600];
        let mut n = 0;
        while t < end {
            // A run every 5 h 3 min, so that runs fall at every hour.
            if t % 18_180 < 7 && t > split {
                let length = runs[n % runs.len()];
                n += 1;
                let next = (t + length).min(end);
                stretches.push((next, None, None));
                t = next;
                continue;
            }
            let next = (t + 1 + (hash(t, 3) % 7) as i64).min(end);
            let (rx, tx) = rate(next);
            stretches.push((next, Some(rx), Some(tx)));
            t = next;
        }
        let mut sums = vec![[(0.0, 0); 2]];
        let mut from = t0;
        for &(to, rx, tx) in &stretches {
            let mut next = *sums.last().unwrap();
            for (ds, v) in [rx, tx].into_iter().enumerate() {
                if let Some(v) = v {
                    next[ds].0 += v * (to - from) as f64;
                    next[ds].1 += to - from;
                }
            }
            sums.push(next);
            from = to;
        }
        Model {
            t0,
            stretches,
            sums,
        }
    }

    /// Σ bits and known seconds per direction of `(t0, t]`.
    fn upto(&self, t: i64) -> [(f64, i64); 2] {
        let k = self.stretches.partition_point(|s| s.0 <= t);
        let mut out = self.sums[k];
        let from = if k == 0 {
            self.t0
        } else {
            self.stretches[k - 1].0
        };
        if let Some(&(_, rx, tx)) = self.stretches.get(k) {
            let seconds = (t - from).max(0);
            for (ds, v) in [rx, tx].into_iter().enumerate() {
                if let Some(v) = v {
                    out[ds].0 += v * seconds as f64;
                    out[ds].1 += seconds;
                }
            }
        }
        out
    }

    /// Bytes and known seconds per direction of `(a, b]`.
    fn window(&self, a: i64, b: i64) -> [(f64, i64); 2] {
        let (x, y) = (self.upto(a), self.upto(b));
        [0, 1].map(|ds| ((y[ds].0 - x[ds].0) / 8.0, y[ds].1 - x[ds].1))
    }

    /// The `rrdtool update` arguments.
    fn lines(&self) -> Vec<String> {
        let value = |v: Option<f64>| v.map_or("U".to_string(), |v| v.to_string());
        self.stretches
            .iter()
            .map(|&(t, rx, tx)| format!("{t}:{}:{}", value(rx), value(tx)))
            .collect()
    }
}

/// Writes `model` with stock rrdtool: 1 s rows for `seconds`, 10 s, 60 s
/// and 300 s rows (and MAX) for all of it.
fn write(path: &Path, model: &Model, end: i64, seconds: i64) {
    let path = path.to_str().unwrap();
    let span = end - model.t0;
    rrdtool(&[
        "create",
        path,
        "--start",
        &model.t0.to_string(),
        "--step",
        "1",
        "DS:rx:GAUGE:600:0:U",
        "DS:tx:GAUGE:600:0:U",
        &format!("RRA:AVERAGE:0.5:1:{seconds}"),
        &format!("RRA:AVERAGE:0.5:10:{}", span / 10 + 10),
        &format!("RRA:AVERAGE:0.5:60:{}", span / 60 + 10),
        &format!("RRA:MAX:0.5:60:{}", span / 60 + 10),
        &format!("RRA:AVERAGE:0.5:300:{}", span / 300 + 10),
        &format!("RRA:MAX:0.5:300:{}", span / 300 + 10),
    ]);
    for batch in model.lines().chunks(20_000) {
        let mut args = vec!["update", path];
        args.extend(batch.iter().map(String::as_str));
        rrdtool(&args);
    }
}

struct Fixed(f64);

impl Clock for Fixed {
    fn now(&self) -> Now {
        Now {
            mono: 0.0,
            wall: self.0,
        }
    }
}

/// The web state for the file at `rrd`, its map of unknown seconds
/// learned (as the daemon's background learner does).
fn state(rrd: &Path, extra: &str, web: &str, now: i64) -> State {
    let text = format!(
        "[[router]]\nname = \"r\"\nhost = \"127.0.0.1\"\nuser = \"u\"\npassword = \"p\"\n\
         [[router.interface]]\nname = \"wan\"\nrrd = {rrd:?}\n{extra}\n[web]\n{web}\n"
    );
    let config = config::parse(&text, Path::new("test.toml")).unwrap();
    let state = State::new(
        &config,
        &[],
        Files::new(),
        Arc::new(Fixed(now as f64)),
        None,
    );
    let mut cache = state.interfaces[0].cache.lock().unwrap();
    while !query::learn(&mut cache, rrd, 1 << 22).unwrap() {}
    drop(cache);
    state
}

fn get(state: &State, url: &str) -> Reply {
    route(
        state,
        &Req {
            method: "GET",
            url,
            peer: IpAddr::from([127, 0, 0, 1]),
            host: Some("127.0.0.1"),
            forwarded_for: None,
            accept_encoding: None,
            if_none_match: None,
            setup: Default::default(),
        },
    )
}

fn json(reply: &Reply) -> Value {
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(reply.body.bytes())
    );
    serde_json::from_slice(reply.body.bytes()).unwrap()
}

/// Checks every row of a totals answer against the model; returns the
/// rows.
fn check_rows(model: &Model, answer: &Value, now: i64) -> Vec<Value> {
    let rows = answer["rows"].as_array().unwrap().clone();
    for row in &rows {
        let (a, b) = (row["start"].as_i64().unwrap(), row["end"].as_i64().unwrap());
        let [(rx, rx_known), (tx, tx_known)] = model.window(a, b);
        let label = &row["label"];
        assert_eq!(
            row["rx_bytes"].as_i64().unwrap(),
            rx.round() as i64,
            "{label} rx"
        );
        assert_eq!(
            row["tx_bytes"].as_i64().unwrap(),
            tx.round() as i64,
            "{label} tx"
        );
        assert_eq!(
            row["known_seconds"],
            rx_known.min(tx_known),
            "{label} known"
        );
        let first = answer["first"].as_i64().unwrap();
        assert_eq!(
            row["seconds"],
            (b.min(now) - a.max(first)).max(0),
            "{label}"
        );
    }
    rows
}

#[test]
fn berlin_days_months_and_a_billing_cycle_across_february() {
    let dir = TestDir::new("totals");
    let path = dir.path("a.rrd");
    let (t0, end) = (day(2026, 1, 20), day(2026, 4, 5));
    let split = end - 10 * DAY;
    let model = Model::new(t0, split, end);
    write(&path, &model, end, 11 * DAY);
    let now = end + 3600;
    let state = state(
        &path,
        "billing_day = 28\nquota = \"150 TB\"",
        "timezone = \"Europe/Berlin\"",
        now,
    );
    assert_eq!(state.zone.0.name, "Europe/Berlin");

    // March 2026: the 29th has 23 hours; days partly unknown are reported.
    let march = json(&get(
        &state,
        "/api/totals?iface=r/wan&period=days&at=1773000000",
    ));
    let rows = check_rows(&model, &march, now);
    assert_eq!(march["first"], t0 - 3000);
    assert_eq!(rows.len(), 31);
    assert_eq!(rows[28]["label"], "2026-03-29");
    assert_eq!(
        rows[28]["end"].as_i64().unwrap() - rows[28]["start"].as_i64().unwrap(),
        23 * 3600
    );
    assert_eq!(rows[0]["start"], day(2026, 3, 1) - 3600);
    // Days in the 1 s archive (from 2026-03-25) are exact to the second,
    // older ones to the 10 s rows.
    for row in &rows {
        let exact = row["start"].as_i64().unwrap() >= end - 11 * DAY + 60;
        assert_eq!(row["exact"], exact, "{}", row["label"]);
    }
    let unknown: i64 = rows
        .iter()
        .map(|r| r["seconds"].as_i64().unwrap() - r["known_seconds"].as_i64().unwrap())
        .sum();
    assert!(unknown > 3600, "{unknown}");
    // The total is the sum of the rows.
    let rx: i64 = rows.iter().map(|r| r["rx_bytes"].as_i64().unwrap()).sum();
    assert_eq!(march["total"]["rx_bytes"], rx);

    // The hours of 2026-03-29: 23 of them, exact.
    let hours = json(&get(
        &state,
        &format!(
            "/api/totals?iface=r/wan&period=hours&at={}",
            day(2026, 3, 29) + 7200
        ),
    ));
    let rows = check_rows(&model, &hours, now);
    assert_eq!(rows.len(), 23);
    assert_eq!(rows[2]["label"], "03:00");

    // Months of 2026 (after now: nothing, not counted as seconds).
    let months = json(&get(&state, "/api/totals?iface=r/wan&period=months"));
    let rows = check_rows(&model, &months, now);
    assert_eq!(rows.len(), 12);
    assert_eq!(rows[1]["label"], "2026-02");
    assert_eq!(rows[5]["seconds"], 0);
    let years = json(&get(&state, "/api/totals?iface=r/wan&period=years"));
    check_rows(&model, &years, now);

    // The billing cycle from 2026-01-28 to 2026-02-28 (Berlin midnight),
    // and its quota, at a time in it.
    let at = day(2026, 2, 20);
    let answer = json(&get(
        &state,
        &format!("/api/totals?iface=r/wan&period=days&at={at}"),
    ));
    let cycle = &answer["cycle"];
    let (start, stop) = (day(2026, 1, 28) - 3600, day(2026, 2, 28) - 3600);
    assert_eq!(
        (cycle["start"].as_i64(), cycle["end"].as_i64()),
        (Some(start), Some(stop))
    );
    let [(rx, rx_known), (tx, tx_known)] = model.window(start, stop);
    assert_eq!(cycle["rx_bytes"].as_i64().unwrap(), rx.round() as i64);
    assert_eq!(cycle["tx_bytes"].as_i64().unwrap(), tx.round() as i64);
    assert_eq!(cycle["known_seconds"], rx_known.min(tx_known));
    assert_eq!(cycle["billing_day"], 28);
    // The cycle holding now (2026-03-28 to 2026-04-28), its quota projected
    // from its rate so far.
    let now_cycle = &months["cycle"];
    let (start, stop) = (day(2026, 3, 28) - 3600, day(2026, 4, 28) - 7200);
    assert_eq!(
        (now_cycle["start"].as_i64(), now_cycle["end"].as_i64()),
        (Some(start), Some(stop))
    );
    let [(rx, rx_known), (tx, tx_known)] = model.window(start, stop);
    let quota = &now_cycle["quota"];
    let used = rx + tx;
    assert_eq!(quota["used"].as_i64().unwrap(), used.round() as i64);
    assert_eq!(
        quota["remaining"].as_i64().unwrap(),
        (150e12 - used).round() as i64
    );
    let rate = used / rx_known.min(tx_known) as f64;
    let projected = used + rate * (stop - now) as f64;
    assert!((quota["projected"].as_f64().unwrap() - projected).abs() <= 1.0);
    assert_eq!(quota["reached"], false);
    let reached = now + ((150e12 - used) / rate).ceil() as i64;
    match reached <= stop {
        true => assert_eq!(quota["reached_at"], reached),
        false => assert_eq!(quota["reached_at"], Value::Null),
    }
    // A small quota is reached, on the day its sum crosses it.
    let small = state_with_quota(&path, now);
    let answer = json(&get(&small, "/api/totals?iface=r/wan&period=days"));
    let quota = &answer["cycle"]["quota"];
    assert_eq!(quota["reached"], true);
    assert_eq!(quota["remaining"], 0);
    let reached_at = quota["reached_at"].as_i64().unwrap();
    let used_by = |t: i64| {
        let [(rx, _), _] = model.window(answer["cycle"]["start"].as_i64().unwrap(), t);
        rx
    };
    assert!(used_by(reached_at) >= 1e12 && used_by(reached_at - DAY) < 1e12);

    // CSV of a table: header, one line per row, local times with offsets.
    let reply = get(
        &state,
        "/api/totals?iface=r/wan&period=days&at=1773000000&format=csv",
    );
    assert_eq!(reply.status, 200);
    assert_eq!(reply.content_type, "text/csv; charset=utf-8");
    let disposition = &reply
        .headers
        .iter()
        .find(|h| h.0 == "Content-Disposition")
        .unwrap()
        .1;
    assert_eq!(
        disposition,
        "attachment; filename=\"r-wan-days-2026-03-08.csv\""
    );
    let text = String::from_utf8(reply.body.bytes().to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "start_utc,start_local,end_local,rx_bytes,tx_bytes,total_bytes,known_seconds,seconds"
    );
    assert_eq!(lines.len(), 32);
    assert!(
        lines[29].starts_with(
            "2026-03-28T23:00:00+00:00,2026-03-29T00:00:00+01:00,2026-03-30T00:00:00+02:00,"
        ),
        "{}",
        lines[29]
    );
    let march_rows = march["rows"].as_array().unwrap();
    for (line, row) in lines[1..].iter().zip(march_rows) {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 8);
        assert_eq!(fields[3], row["rx_bytes"].to_string());
        let sum = row["rx_bytes"].as_i64().unwrap() + row["tx_bytes"].as_i64().unwrap();
        assert_eq!(fields[5], sum.to_string());
    }

    // The 95th percentile of the 5-minute averages of a day in the 1 s
    // archive and of one older: against `rrdtool fetch`'s 300 s rows and
    // against the model.
    for (a, b) in [
        (day(2026, 3, 30), day(2026, 3, 31)),
        (day(2026, 2, 3), day(2026, 2, 10) + 150),
    ] {
        let answer = json(&get(
            &state,
            &format!("/api/stats?iface=r/wan&start={a}&end={b}&above=500000000"),
        ));
        let p95 = &answer["p95"];
        let rows = support::fetch_rows(&path, 300, a - a % 300, b - b % 300);
        let mut rx: Vec<f64> = rows
            .iter()
            .filter(|r| !r.1.is_nan() && !r.2.is_nan())
            .map(|r| r.1)
            .collect();
        let mut max: Vec<f64> = rows
            .iter()
            .filter(|r| !r.1.is_nan() && !r.2.is_nan())
            .map(|r| r.1.max(r.2))
            .collect();
        assert_eq!(p95["samples"], rows.len());
        assert_eq!(p95["known_samples"], rx.len());
        let rank = |v: &mut Vec<f64>| {
            v.sort_by(f64::total_cmp);
            v[(v.len() * 95).div_ceil(100) - 1].round() as i64
        };
        assert_eq!(p95["rx"], rank(&mut rx), "{a}");
        assert_eq!(p95["max"], rank(&mut max), "{a}");
        // From the model: each slot's average over its known seconds.
        let mut model_rx: Vec<f64> = (0..rows.len() as i64)
            .map(|i| a - a % 300 + 300 * i)
            .filter_map(|s| {
                let [(rx, known), (_, tx_known)] = model.window(s, s + 300);
                (known > 150 && tx_known > 150).then(|| rx * 8.0 / known as f64)
            })
            .collect();
        assert_eq!(p95["rx"], rank(&mut model_rx));
        let above = &answer["above"];
        if b - a <= DAY {
            assert_eq!(above["resolution"], 1);
            // Seconds above 500 Mbit/s from the model.
            let mut seconds = 0;
            let mut from = t0;
            for &(to, rx, _) in &model.stretches {
                if rx.is_some_and(|r| r > 5e8) {
                    seconds += (to.min(b) - from.max(a)).max(0);
                }
                from = to;
            }
            assert_eq!(above["rx_seconds"], seconds);
            assert!(answer["p95_1s"]["samples"].as_i64().unwrap() == DAY);
        } else {
            assert_eq!(answer["p95_1s"], Value::Null);
        }
    }
}

fn state_with_quota(path: &Path, now: i64) -> State {
    state(
        path,
        "quota = \"1 TB\"\nquota_direction = \"rx\"\nbilling_day = 1",
        "timezone = \"Europe/Berlin\"",
        now,
    )
}

#[test]
fn the_25_hour_day_of_october_and_other_zones() {
    let dir = TestDir::new("totals-october");
    let path = dir.path("b.rrd");
    let (t0, end) = (day(2026, 10, 22), day(2026, 10, 28));
    let model = Model::new(t0, t0, end);
    write(&path, &model, end, 7 * DAY);
    let now = end;
    let state = state(&path, "", "timezone = \"Europe/Berlin\"", now);
    let answer = json(&get(
        &state,
        &format!(
            "/api/totals?iface=r/wan&period=hours&at={}",
            day(2026, 10, 25)
        ),
    ));
    let rows = check_rows(&model, &answer, now);
    assert_eq!(rows.len(), 25);
    assert_eq!(rows[2]["label"], "02:00");
    assert_eq!(rows[3]["label"], "02:00");
    assert!(rows.iter().all(|r| r["exact"] == true));
    let days = json(&get(
        &state,
        &format!(
            "/api/totals?iface=r/wan&period=days&at={}",
            day(2026, 10, 25)
        ),
    ));
    let rows = check_rows(&model, &days, now);
    assert_eq!(
        rows[24]["end"].as_i64().unwrap() - rows[24]["start"].as_i64().unwrap(),
        25 * 3600
    );
    // Half-hour zones: local days start at :30 UTC, still exact.
    for zone in ["Asia/Kolkata", "Australia/Lord_Howe", "America/New_York"] {
        let state = self::state(&path, "", &format!("timezone = {zone:?}"), now);
        let answer = json(&get(
            &state,
            &format!(
                "/api/totals?iface=r/wan&period=days&at={}",
                day(2026, 10, 25)
            ),
        ));
        assert_eq!(answer["timezone"], zone);
        let rows = check_rows(&model, &answer, now);
        let inside: Vec<_> = rows
            .iter()
            .filter(|r| {
                r["start"].as_i64().unwrap() > t0 + 60 && r["seconds"].as_i64().unwrap() > 0
            })
            .collect();
        assert!(
            inside.len() >= 4 && inside.iter().all(|r| r["exact"] == true),
            "{zone}"
        );
    }
    // The series as CSV.
    let reply = get(
        &state,
        &format!(
            "/api/series?iface=r/wan&start={}&end={}&points=10&format=csv",
            end - 600,
            end
        ),
    );
    assert_eq!(reply.status, 200);
    let text = String::from_utf8(reply.body.bytes().to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "time_utc,time_local,unix,rx_bit_per_s,tx_bit_per_s,rx_peak_bit_per_s,tx_peak_bit_per_s,known_seconds"
    );
    assert_eq!(lines.len(), 11);
    let last = format!("2026-10-28T00:00:00+00:00,2026-10-28T01:00:00+01:00,{end},");
    assert!(lines[10].starts_with(&last), "{}", lines[10]);
    for line in &lines[1..] {
        let fields: Vec<&str> = line.split(',').collect();
        assert_eq!(fields.len(), 8, "{line}");
        let t: i64 = fields[2].parse().unwrap();
        let [(rx, known), (_, tx_known)] = model.window(t - 60, t);
        assert_eq!(fields[7], known.min(tx_known).to_string());
        match known > 0 {
            true => {
                let got: f64 = fields[3].parse().unwrap();
                assert!((got - rx * 8.0 / known as f64).abs() <= 1.0, "{line}");
            }
            false => assert_eq!(fields[3], ""),
        }
    }
}

#[test]
fn malformed_parameters_are_400_and_the_zone_falls_back_to_utc() {
    let dir = TestDir::new("totals-bad");
    let path = dir.path("c.rrd");
    let model = Model::new(day(2026, 1, 1), day(2026, 1, 1), day(2026, 1, 1) + 3600);
    write(&path, &model, day(2026, 1, 1) + 3600, 4000);
    let state = state(&path, "", "", day(2026, 1, 1) + 3600);
    for url in [
        "/api/totals?period=weeks",
        "/api/totals?at=x",
        "/api/totals?at=-5",
        "/api/totals?at=253402300799",
        "/api/totals?format=xml",
        "/api/series?start=1&end=100&format=pdf",
        "/api/stats?start=1",
        "/api/stats?start=10&end=5",
        "/api/stats?start=1&end=100&above=-1",
        "/api/stats?start=1&end=100&above=NaN",
        "/api/stats?start=1&end=100&above=fast",
    ] {
        let reply = get(&state, url);
        assert_eq!(reply.status, 400, "{url}");
        assert!(json_error(&reply).len() > 10, "{url}");
    }
    assert_eq!(get(&state, "/api/totals?iface=nope/x").status, 404);
    let t = day(2026, 1, 1);
    let short = json(&get(
        &state,
        &format!("/api/stats?start={}&end={}", t + 10, t + 250),
    ));
    assert_eq!(short["p95"], Value::Null);
    assert!(
        short["p95_why"].as_str().unwrap().contains("5-minute"),
        "{short}"
    );
    // A zone that cannot be read: rejected by the config check when it is
    // not a name, UTC with a note when it is a name without a file.
    let text = "[[router]]\nhost = \"h\"\nuser = \"u\"\n[[router.interface]]\nname = \"a\"\n[web]\ntimezone = \"Europe/../x\"\n";
    let error = config::parse(text, Path::new("t.toml"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("web.timezone"), "{error}");
    for (keys, says) in [
        ("billing_day = 29", "billing_day"),
        ("billing_day = 0", "billing_day"),
        ("quota = \"5 GiBs\"", "quota"),
        ("quota = \"0 GB\"", "quota"),
        ("quota_direction = \"up\"", "quota_direction"),
    ] {
        let text = format!(
            "[[router]]\nhost = \"h\"\nuser = \"u\"\n[[router.interface]]\nname = \"a\"\n{keys}\n"
        );
        let error = config::parse(&text, Path::new("t.toml"))
            .unwrap_err()
            .to_string();
        assert!(error.contains(says), "{keys}: {error}");
    }
    // Router-level keys are the default of its interfaces.
    let text = "[[router]]\nhost = \"h\"\nuser = \"u\"\nbilling_day = 15\nquota = \"1.5 TiB\"\n\
                [[router.interface]]\nname = \"a\"\n\
                [[router.interface]]\nname = \"b\"\nbilling_day = 3\nquota = \"500 GB\"\nquota_direction = \"tx\"\n";
    let parsed = config::parse(text, Path::new("t.toml")).unwrap();
    let billing: Vec<config::Billing> = parsed.routers[0]
        .interfaces
        .iter()
        .map(|i| i.billing)
        .collect();
    let quota = |bytes, direction| Some(config::Quota { bytes, direction });
    assert_eq!(billing[0].day, 15);
    assert_eq!(
        billing[0].quota,
        quota(1_649_267_441_664, config::Direction::Both)
    );
    assert_eq!(billing[1].day, 3);
    assert_eq!(
        billing[1].quota,
        quota(500_000_000_000, config::Direction::Tx)
    );
    assert_eq!(config::parse_volume("800"), Ok(800));
    assert!(config::parse_volume("-1 GB").is_err());
    assert!(config::parse_volume("1e30 PB").is_err());
    let missing = self::state(&path, "", "timezone = \"No/Such_Place\"", day(2026, 1, 1));
    let answer = json(&get(&missing, "/api/totals?period=hours"));
    assert_eq!(answer["timezone"], "UTC");
    assert!(
        answer["utc_offset_note"]
            .as_str()
            .unwrap()
            .contains("No/Such_Place")
    );
    assert_eq!(answer["rows"].as_array().unwrap().len(), 24);
    assert_eq!(tz::iso(0, 0), "1970-01-01T00:00:00+00:00");
    let _ = Zone::utc();
}

#[test]
fn hourly_rows_in_a_half_hour_zone_are_split_pro_rata_and_not_exact() {
    // 1 s rows for the last 2,000 s only, then hourly rows: Kolkata's days
    // start at :30 UTC, which no archive holding them splits. At a constant
    // rate the pro-rata split is right, and the rows say they are not
    // exact.
    let dir = TestDir::new("totals-hourly");
    let path = dir.path("d.rrd");
    let (t0, end) = (day(2026, 6, 1), day(2026, 6, 6));
    let path_text = path.to_str().unwrap();
    rrdtool(&[
        "create",
        path_text,
        "--start",
        &t0.to_string(),
        "--step",
        "1",
        "DS:rx:GAUGE:600:0:U",
        "DS:tx:GAUGE:600:0:U",
        "RRA:AVERAGE:0.5:1:2000",
        "RRA:AVERAGE:0.5:3600:200",
    ]);
    let lines: Vec<String> = (1..=(end - t0) / 300)
        .map(|k| format!("{}:8000000:800000", t0 + 300 * k))
        .collect();
    let mut args = vec!["update", path_text];
    args.extend(lines.iter().map(String::as_str));
    rrdtool(&args);
    let state = state(&path, "", "timezone = \"Asia/Kolkata\"", end);
    let answer = json(&get(
        &state,
        &format!("/api/totals?iface=r/wan&period=days&at={}", t0 + DAY),
    ));
    let rows = answer["rows"].as_array().unwrap();
    let inside: Vec<&Value> = rows
        .iter()
        .filter(|r| r["start"].as_i64().unwrap() >= t0 && r["end"].as_i64().unwrap() <= end - 3600)
        .collect();
    assert_eq!(inside.len(), 4);
    for row in inside {
        assert_eq!(row["exact"], false, "{row}");
        assert_eq!(row["known_seconds"], DAY, "{row}");
        assert_eq!(row["rx_bytes"], DAY * 1_000_000, "{row}");
        assert_eq!(row["tx_bytes"], DAY * 100_000, "{row}");
    }
}

fn json_error(reply: &Reply) -> String {
    let value: Value = serde_json::from_slice(reply.body.bytes()).unwrap();
    value["error"].as_str().unwrap_or_default().to_string()
}

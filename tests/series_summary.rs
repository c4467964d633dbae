//! The window summary of `/api/series` from the real binary (web only,
//! `-w`) on a file written by stock `rrdtool` from a known traffic model:
//! the summary's peak, volume, average and known time cover exactly the
//! requested `(start, end]`, including the newest, partly filled point and
//! nothing of the points' widening to the step.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

mod support;

use support::{Killed, TestDir, free_port, rrdtool};

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");
/// A multiple of 8 weeks (4,838,400 s, a step of the ladder), hence of a
/// week, a day and 12 h: 2025-10-23 00:00:00 UTC.
const B: i64 = 364 * 4_838_400;
const DAY: i64 = 86_400;
/// The file's last update: three days into the week and into the 8 weeks
/// that start at `B`.
const LAST: i64 = B + 3 * DAY;
/// The model's data start here, 40 days before `B`, on a whole hour.
const FIRST: i64 = B - 40 * DAY;
/// The 12 h step of the 20-day window of 50 points below.
const HALF_DAY: i64 = 43_200;
/// The start of the window whose first point is widened: 5 h into a 12 h
/// point.
const WIDENED_START: i64 = B - 20 * DAY + 5 * 3600;

/// The model's rates (rx, tx) in bit/s over the minute `(t - 60, t]`, `t`
/// a multiple of 60 in `(FIRST, LAST]`: 30 to 40 Mbit/s, and three bursts.
fn minute(t: i64) -> (f64, f64) {
    let rx = match t {
        // The newest week's and the newest 8 weeks' peak, a day after B.
        _ if t == B + DAY + 600 => 900e6,
        // Just before the widened window's start, in its first point.
        _ if t == B - 20 * DAY + 600 => 700e6,
        _ => 30e6 + (t / 60 * 7919).rem_euclid(1000) as f64 * 1e4,
    };
    (rx, (rx / 10.0).round())
}

/// Over the seconds of `(from, to]`: bytes, known seconds and the largest
/// rate, per direction.
fn reference(from: i64, to: i64) -> [(f64, i64, Option<f64>); 2] {
    let mut out = [(0.0, 0, None); 2];
    for second in from + 1..=to {
        if second <= FIRST || second > LAST {
            continue;
        }
        let (rx, tx) = minute((second + 59).div_euclid(60) * 60);
        for (ds, value) in [rx, tx].into_iter().enumerate() {
            let (bytes, known, peak) = &mut out[ds];
            *bytes += value / 8.0;
            *known += 1;
            *peak = Some(peak.map_or(value, |p: f64| p.max(value)));
        }
    }
    out
}

/// Writes the model into a new file with stock `rrdtool`: 1 s rows for
/// two days, 10 s for ten, 60 s averages and maxima for 60 days, hourly
/// ones for eleven years.
fn write_file(path: &str) {
    rrdtool(&[
        "create",
        path,
        "--start",
        &FIRST.to_string(),
        "--step",
        "1",
        "DS:rx:GAUGE:120:0:U",
        "DS:tx:GAUGE:120:0:U",
        "RRA:AVERAGE:0.5:1:172800",
        "RRA:AVERAGE:0.5:10:86400",
        "RRA:AVERAGE:0.5:60:86400",
        "RRA:MAX:0.5:60:86400",
        "RRA:AVERAGE:0.5:3600:96432",
        "RRA:MAX:0.5:3600:96432",
    ]);
    let lines: Vec<String> = (FIRST / 60 + 1..=LAST / 60)
        .map(|m| {
            let (rx, tx) = minute(m * 60);
            format!("{}:{rx}:{tx}", m * 60)
        })
        .collect();
    for batch in lines.chunks(5000) {
        let mut args = vec!["update", path];
        args.extend(batch.iter().map(String::as_str));
        rrdtool(&args);
    }
}

fn get(address: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, body.to_string())
}

#[test]
fn the_summary_covers_exactly_the_window() {
    let dir = TestDir::new("series-summary");
    let rrd = dir.path("wan.rrd");
    write_file(rrd.to_str().unwrap());
    let port = free_port();
    let config = dir.path("mt-trafmon.toml");
    std::fs::write(
        &config,
        format!(
            "[[router]]\nname = \"home\"\nhost = \"127.0.0.1\"\nuser = \"u\"\npassword = \"p\"\n\
             [[router.interface]]\nname = \"ether1\"\nrrd = {:?}\n\
             [web]\nlisten = \"127.0.0.1\"\nport = {port}\n",
            rrd.display().to_string()
        ),
    )
    .unwrap();
    let child = Command::new(BIN)
        .arg("-w")
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _daemon = Killed(child);
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let began = Instant::now();
    while TcpStream::connect(address).is_err() {
        assert!(began.elapsed() < Duration::from_secs(30), "no server");
        std::thread::sleep(Duration::from_millis(50));
    }

    let year = 31_557_600;
    let windows = [
        // Ten years in weeks: the newest week, 3 of its 7 days known, holds
        // the peak.
        ("10 y in weeks", LAST - 10 * year, LAST, 1000, 604_800),
        // One point over 30 days: 8-week steps, the newest of the two
        // points has 3 of its 56 days known and holds the peak.
        ("30 d in one point", LAST - 30 * DAY, LAST, 1, 4_838_400),
        // 12 h steps; the first point starts 5 h before the window, and a
        // burst there is not the window's.
        (
            "20 d, widened first point",
            WIDENED_START,
            B - 3600,
            50,
            HALF_DAY,
        ),
    ];
    // Every window is checked before the test fails, so that it says all
    // that is wrong.
    let mut wrong = Vec::new();
    for (name, start, end, points, step) in windows {
        let (status, body) = get(
            address,
            &format!("/api/series?start={start}&end={end}&points={points}"),
        );
        assert_eq!(status, 200, "{name}: {body}");
        let json: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(json["step"], step, "{name}");
        let summary = &json["summary"];
        let expected = reference(start, end);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * b.abs();
        for (ds, name_ds) in ["rx", "tx"].into_iter().enumerate() {
            let (bytes, known, peak) = expected[ds];
            let got = summary[format!("{name_ds}_peak")].as_f64();
            if got != peak {
                wrong.push(format!("{name}: {name_ds} peak {got:?}, expected {peak:?}"));
            }
            let got = summary[format!("{name_ds}_bytes")].as_f64().unwrap();
            if !close(got, bytes) {
                wrong.push(format!("{name}: {name_ds} bytes {got}, expected {bytes}"));
            }
            let got = summary[format!("{name_ds}_avg")].as_f64().unwrap();
            let average = bytes * 8.0 / known as f64;
            if !close(got, average) {
                wrong.push(format!(
                    "{name}: {name_ds} average {got}, expected {average}"
                ));
            }
        }
        let got = summary["known"].as_f64().unwrap();
        let known = expected[0].1 as f64 / (end - start) as f64;
        if (got - known).abs() > 1e-12 {
            wrong.push(format!("{name}: known {got}, expected {known}"));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

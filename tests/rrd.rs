//! `mt_trafmon::rrd` against real files, cross-checked with Debian's full
//! `rrdtool` CLI (`rrdtool info`, `fetch`, `last`, `dump`, `create`,
//! `update`): what the module writes, the CLI reads identically, and the
//! other way round. Also: librrd's errors, calls from several threads, a
//! file in the original's full layout, and that the binaries link librrd
//! statically (with the glib shim; glib and pcre2 are not linked at all). Every test works in its own directory under
//! the system's temp directory and removes it at the end.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;

mod support;

use mt_trafmon::rrd::{self, Archive, DataSource, Fetched, update_line};
use support::{ORIGINAL_DEFINITIONS, TestDir, rrdtool};

/// 2025-11-26 00:00:00 UTC: a multiple of every archive width used here.
const S: i64 = 1_764_115_200;

/// A small file like the product's: step 1, rx/tx GAUGE bit/s.
fn small_definitions() -> Vec<String> {
    [
        "DS:rx:GAUGE:3:0:U",
        "DS:tx:GAUGE:3:0:U",
        "RRA:AVERAGE:0.5:1:60",
        "RRA:AVERAGE:0.5:5:24",
        "RRA:MAX:0.5:5:24",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// `rrdtool info` as key → value, strings without their quotes.
fn cli_info(path: &Path) -> BTreeMap<String, String> {
    rrdtool(&["info", path_str(path)])
        .lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(k, v)| (k.to_string(), v.trim_matches('"').to_string()))
        .collect()
}

/// `rrdtool fetch` as the same `Fetched` shape: start is the first printed
/// row's time minus the step.
fn cli_fetch(path: &Path, cf: &str, start: i64, end: i64, resolution: u64) -> Fetched {
    let (start, end, resolution) = (start.to_string(), end.to_string(), resolution.to_string());
    let text = rrdtool(&[
        "fetch",
        path_str(path),
        cf,
        "-s",
        &start,
        "-e",
        &end,
        "-r",
        &resolution,
    ]);
    let mut lines = text.lines();
    let names: Vec<String> = lines
        .next()
        .expect("a header line")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    let mut times = Vec::new();
    let mut values = Vec::new();
    for line in lines.filter(|l| l.contains(':')) {
        let (time, rest) = line.split_once(':').expect("a row");
        times.push(time.trim().parse::<i64>().expect("a row time"));
        for v in rest.split_whitespace() {
            values.push(match v.contains("nan") {
                true => f64::NAN,
                false => v.parse::<f64>().expect("a value"),
            });
        }
    }
    assert!(
        times.len() >= 2,
        "rrdtool fetch printed too few rows:\n{text}"
    );
    let step = (times[1] - times[0]) as u64;
    Fetched {
        start: times[0] - step as i64,
        end: *times.last().expect("rows"),
        step,
        names,
        values,
    }
}

/// Equal, or both unknown; the CLI prints 11 significant digits.
fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-9 * a.abs().max(1.0)
}

fn assert_same_rows(ours: &Fetched, cli: &Fetched) {
    assert_eq!(
        (ours.start, ours.end, ours.step, &ours.names),
        (cli.start, cli.end, cli.step, &cli.names),
        "window, step and names"
    );
    assert_eq!(ours.values.len(), cli.values.len(), "number of values");
    for (i, (a, b)) in ours.values.iter().zip(&cli.values).enumerate() {
        assert!(
            same(*a, *b),
            "row {} value {}: ours {a}, rrdtool {b}",
            i / ours.names.len(),
            i % ours.names.len()
        );
    }
}

/// Creates the small file with its initial last update at `S`.
fn create_small(path: &Path) {
    rrd::create(path, 1, S, true, &small_definitions()).expect("create the small file");
}

/// Updates with sub-second times, in one call: rx 100 at S+0.5, 200 at
/// S+1.25, 400 at S+2.75, then 10·k at S+k+0.5 for k = 3..=20. tx is known
/// except at S+1.25.
fn fractional_updates() -> Vec<String> {
    let mut updates = vec![
        update_line(S as f64 + 0.5, Some(100.0), Some(1000.0)),
        update_line(S as f64 + 1.25, Some(200.0), None),
        update_line(S as f64 + 2.75, Some(400.0), Some(3000.0)),
    ];
    for k in 3..=20 {
        let at = (S + k) as f64 + 0.5;
        updates.push(update_line(
            at,
            Some(10.0 * k as f64),
            Some(1000.0 + k as f64),
        ));
    }
    updates
}

#[test]
fn info_matches_the_definitions_and_rrdtool_info() {
    let dir = TestDir::new("info");
    let file = dir.path("small.rrd");
    create_small(&file);

    let info = rrd::info(&file).expect("info");
    assert_eq!(info.step, 1);
    assert_eq!(info.last_update, S);
    let gauge = |name: &str| DataSource {
        name: name.to_string(),
        kind: "GAUGE".to_string(),
        heartbeat: 3,
        min: Some(0.0),
        max: None,
    };
    assert_eq!(info.data_sources, [gauge("rx"), gauge("tx")]);
    let archive = |cf: &str, pdp_per_row, rows| Archive {
        cf: cf.to_string(),
        pdp_per_row,
        rows,
        xff: 0.5,
    };
    assert_eq!(
        info.archives,
        [
            archive("AVERAGE", 1, 60),
            archive("AVERAGE", 5, 24),
            archive("MAX", 5, 24)
        ]
    );

    let cli = cli_info(&file);
    let number = |key: &str| -> f64 {
        cli[key]
            .parse()
            .unwrap_or_else(|_| panic!("{key} = {}", cli[key]))
    };
    assert_eq!(number("step"), info.step as f64);
    assert_eq!(number("last_update"), info.last_update as f64);
    for (index, ds) in info.data_sources.iter().enumerate() {
        let key = |field: &str| format!("ds[{}].{field}", ds.name);
        assert_eq!(number(&key("index")), index as f64);
        assert_eq!(cli[&key("type")], ds.kind);
        assert_eq!(number(&key("minimal_heartbeat")), ds.heartbeat as f64);
        assert!(same(number(&key("min")), ds.min.unwrap_or(f64::NAN)));
        assert!(same(number(&key("max")), ds.max.unwrap_or(f64::NAN)));
    }
    for (i, a) in info.archives.iter().enumerate() {
        let key = |field: &str| format!("rra[{i}].{field}");
        assert_eq!(cli[&key("cf")], a.cf);
        assert_eq!(number(&key("rows")), a.rows as f64);
        assert_eq!(number(&key("pdp_per_row")), a.pdp_per_row as f64);
        assert!(same(number(&key("xff")), a.xff));
    }
    assert!(
        !cli.contains_key("rra[3].cf"),
        "rrdtool sees three archives"
    );
}

#[test]
fn fractional_updates_fetch_the_same_as_rrdtool_fetch() {
    let dir = TestDir::new("fetch");
    let file = dir.path("small.rrd");
    create_small(&file);
    rrd::update(&file, &fractional_updates()).expect("update");

    // AVERAGE at 1 s. A GAUGE value holds from the previous update to its
    // own time, so each row is the time-weighted mean of what overlaps it.
    let average = rrd::fetch(&file, "AVERAGE", S, S + 20, 1).expect("fetch AVERAGE");
    assert_eq!((average.start, average.end, average.step), (S, S + 21, 1));
    assert_eq!(average.names, ["rx", "tx"]);
    assert_eq!(average.rows(), 21);
    let rx = |i: usize| average.row(i)[0];
    assert_eq!(rx(0), 0.5 * 100.0 + 0.5 * 200.0, "(S, S+1]");
    assert_eq!(rx(1), 0.25 * 200.0 + 0.75 * 400.0, "(S+1, S+2]");
    assert_eq!(rx(2), 0.75 * 400.0 + 0.25 * 30.0, "(S+2, S+3]");
    for k in 4..=20 {
        assert_eq!(rx(k - 1), 10.0 * k as f64 - 5.0, "(S+{}, S+{k}]", k - 1);
        assert_eq!(average.row_time(k - 1), S + k as i64);
    }
    assert!(rx(20).is_nan(), "(S+20, S+21] is not complete yet");
    assert_same_rows(&average, &cli_fetch(&file, "AVERAGE", S, S + 20, 1));

    // 5 s rows from the AVERAGE and MAX archives of width 5.
    let average5 = rrd::fetch(&file, "AVERAGE", S, S + 20, 5).expect("fetch AVERAGE 5 s");
    assert_eq!(
        (average5.start, average5.end, average5.step),
        (S, S + 25, 5)
    );
    assert_eq!(
        average5.row(0)[0],
        (150.0 + 350.0 + 307.5 + 35.0 + 45.0) / 5.0
    );
    assert_same_rows(&average5, &cli_fetch(&file, "AVERAGE", S, S + 20, 5));

    let max = rrd::fetch(&file, "MAX", S, S + 20, 5).expect("fetch MAX");
    assert_eq!((max.start, max.end, max.step), (S, S + 25, 5));
    let max_rx: Vec<f64> = (0..4).map(|i| max.row(i)[0]).collect();
    assert_eq!(max_rx, [350.0, 95.0, 145.0, 195.0]);
    assert!(max.row(4)[0].is_nan());
    assert_same_rows(&max, &cli_fetch(&file, "MAX", S, S + 20, 5));
}

#[test]
fn fetch_chooses_archives_and_rounds_like_librrd_documents() {
    let dir = TestDir::new("choose");
    let file = dir.path("small.rrd");
    create_small(&file);
    rrd::update(&file, &fractional_updates()).expect("update");
    // The last update is S+20.5: the 1 s archive (60 rows) reaches back to
    // S-40, the 5 s archives (24 rows) to S-100.
    let check = |cf: &str, start: i64, end: i64, resolution: u64, expected: (i64, i64, u64)| {
        let ours = rrd::fetch(&file, cf, start, end, resolution).expect("fetch");
        assert_eq!(
            (ours.start, ours.end, ours.step),
            expected,
            "{cf} {start}..{end} at {resolution}"
        );
        assert_eq!(
            ours.rows() as i64,
            (ours.end - ours.start) / ours.step as i64
        );
        // The CLI refuses resolution 0; 1 chooses the same archive here.
        let cli = cli_fetch(&file, cf, start, end, resolution.max(1));
        assert_same_rows(&ours, &cli);
        ours
    };
    // Start rounds down, end moves to the next multiple strictly after it.
    check("AVERAGE", S + 3, S + 7, 5, (S, S + 10, 5));
    check("AVERAGE", S + 5, S + 10, 5, (S + 5, S + 15, 5));
    // Resolution 0: the finest archive that covers the start.
    check("AVERAGE", S, S + 10, 0, (S, S + 11, 1));
    // MAX at 1 s comes from the AVERAGE archive of width 1.
    let max = check("MAX", S, S + 10, 1, (S, S + 11, 1));
    let average = rrd::fetch(&file, "AVERAGE", S, S + 10, 1).expect("fetch");
    assert_same_rows(&max, &average);
    // Before S-40 the 1 s archive does not cover the start: the 5 s one
    // does, and wins although its step is further from the wish.
    check("AVERAGE", S - 50, S + 10, 1, (S - 50, S + 15, 5));
    check("AVERAGE", S - 40, S + 10, 1, (S - 40, S + 11, 1));

    let unknown = rrd::fetch(&file, "FOO", S, S + 10, 1).expect_err("unknown CF");
    assert_eq!(unknown.message(), "unknown consolidation function 'FOO'");
    let missing = rrd::fetch(&file, "HWPREDICT", S, S + 10, 1).expect_err("no such archive");
    assert_eq!(
        missing.message(),
        "the RRD does not contain an RRA matching the chosen CF"
    );
    let backwards = rrd::fetch(&file, "AVERAGE", S + 10, S, 1).expect_err("end before start");
    assert!(backwards.message().contains("start <= end"), "{backwards}");
}

#[test]
fn read_ahead_names_the_bytes_of_the_rows_fetch_reads() {
    let dir = TestDir::new("read-ahead");
    let file = dir.path("small.rrd");
    create_small(&file);
    // 300 s of known values: every archive has wrapped round its ring
    // (librrd starts each at a random row).
    let lines: Vec<String> = (1..=300)
        .map(|k| update_line((S + k) as f64, Some(k as f64), Some(1000.0 + k as f64)))
        .collect();
    rrd::update(&file, &lines).expect("update");
    let bytes = fs::read(&file).expect("read the file");
    let info = cli_info(&file);
    let mut split = false;
    let mut check = |cf: &str, start: i64, end: i64, resolution: u64| {
        let ranges = rrd::read_ahead(&file, cf, start, end, resolution).expect("read ahead");
        split |= ranges.len() == 2;
        let advised: Vec<f64> = ranges
            .iter()
            .flat_map(|r| bytes[r.start as usize..r.end as usize].chunks_exact(8))
            .map(|b| f64::from_ne_bytes(b.try_into().unwrap()))
            .collect();
        // The rows fetch returns from the archive itself (the others, before
        // its oldest or after its newest row, are unknown).
        let fetched = rrd::fetch(&file, cf, start, end, resolution).expect("fetch");
        let held: Vec<f64> = fetched
            .values
            .iter()
            .copied()
            .filter(|v| !v.is_nan())
            .collect();
        assert!(!held.is_empty(), "{cf} {start}..{end} at {resolution}");
        assert_eq!(advised, held, "{cf} {start}..{end} at {resolution}");
    };
    // Windows of ten rows at every offset over each archive, and the whole
    // of each; the 1 s archive holds (S+240, S+300], the 5 s ones (S+180,
    // S+300].
    for start in S + 230..S + 300 {
        check("AVERAGE", start, start + 10, 1);
    }
    for start in (S + 160..S + 300).step_by(5) {
        check("AVERAGE", start, start + 50, 5);
        check("MAX", start, start + 50, 5);
    }
    check("AVERAGE", S, S + 400, 1);
    check("MAX", S, S + 400, 5);
    // A window before the 1 s archive's oldest row: the 5 s one answers.
    check("AVERAGE", S + 200, S + 260, 1);
    let wrapped = (0..3).any(|i| {
        let rows: u64 = info[&format!("rra[{i}].rows")].parse().unwrap();
        info[&format!("rra[{i}].cur_row")] != (rows - 1).to_string()
    });
    assert_eq!(split, wrapped, "a window across the end of a ring");
}

#[test]
fn last_matches_rrdtool_last() {
    let dir = TestDir::new("last");
    let file = dir.path("small.rrd");
    create_small(&file);
    assert_eq!(rrd::last(&file), Ok(S));
    rrd::update(&file, &fractional_updates()).expect("update");
    let last = rrd::last(&file).expect("last");
    assert_eq!(last, S + 20, "whole seconds of S+20.5");
    assert_eq!(rrdtool(&["last", path_str(&file)]).trim(), last.to_string());
    assert_eq!(rrd::info(&file).expect("info").last_update, last);
}

#[test]
fn an_update_not_after_the_last_one_is_refused_and_changes_nothing() {
    let dir = TestDir::new("past");
    let file = dir.path("small.rrd");
    create_small(&file);
    rrd::update(&file, &[update_line(S as f64 + 5.5, Some(1.0), Some(2.0))]).expect("update");
    let before = fs::read(&file).expect("read the file");

    for at in [S as f64 + 5.5, S as f64 + 5.4, S as f64 + 3.0, S as f64] {
        let line = update_line(at, Some(7.0), Some(8.0));
        let e = rrd::update(&file, &[line]).expect_err("not after the last update");
        assert!(
            e.message().contains(&format!(
                "illegal attempt to update using time {} when last update time is {} \
                 (minimum one second step)",
                at.floor(),
                S + 5
            )),
            "{e}"
        );
        assert!(
            e.to_string()
                .starts_with(&format!("rrd update of {} failed: ", file.display())),
            "{e}"
        );
        assert!(
            fs::read(&file).expect("read the file") == before,
            "file changed by {at}"
        );
    }

    // Microseconds count: 2 µs later is later (1 µs may not be, because
    // librrd truncates the parsed fraction; see rrd::update_line).
    rrd::update(&file, &["1764115205.500002:3:4".to_string()]).expect("2 µs later");
    let e = rrd::update(&file, &["1764115205.500002:3:4".to_string()]).expect_err("same time");
    assert!(e.message().contains("illegal attempt"), "{e}");

    // A batch stops at its first refused update; the ones before it stay.
    let batch = [
        update_line(S as f64 + 6.5, Some(5.0), Some(6.0)),
        update_line(S as f64 + 6.0, Some(5.0), Some(6.0)),
        update_line(S as f64 + 7.5, Some(5.0), Some(6.0)),
    ];
    rrd::update(&file, &batch).expect_err("the second is in the past");
    assert_eq!(rrd::last(&file), Ok(S + 6));
}

#[test]
fn missing_files_are_errors() {
    let dir = TestDir::new("missing");
    let file = dir.path("absent.rrd");
    let e = rrd::fetch(&file, "AVERAGE", S, S + 10, 1).expect_err("fetch");
    assert!(e.message().contains("No such file or directory"), "{e}");
    assert!(
        e.to_string()
            .starts_with(&format!("rrd fetch of {} failed: ", file.display())),
        "{e}"
    );
    let e = rrd::info(&file).expect_err("info");
    assert!(e.message().contains("No such file or directory"), "{e}");
    let e = rrd::last(&file).expect_err("last");
    assert!(e.message().contains("No such file or directory"), "{e}");
    let e = rrd::update(&file, &[update_line(S as f64, None, None)]).expect_err("update");
    assert!(e.message().contains("No such file or directory"), "{e}");
    assert!(!file.exists());
}

#[test]
fn create_with_no_overwrite_keeps_an_existing_file() {
    let dir = TestDir::new("overwrite");
    let file = dir.path("small.rrd");
    create_small(&file);
    rrd::update(&file, &fractional_updates()).expect("update");
    let before = fs::read(&file).expect("read the file");

    let e = rrd::create(&file, 1, S + 100, true, &small_definitions()).expect_err("exists");
    assert_eq!(
        e.message(),
        format!("creating '{}': File exists", file.display())
    );
    assert!(fs::read(&file).expect("read the file") == before);

    // Without no_overwrite the file is replaced.
    rrd::create(&file, 1, S + 100, false, &small_definitions()).expect("replace");
    assert_eq!(rrd::last(&file), Ok(S + 100));
}

#[test]
fn invalid_definitions_are_errors_that_say_what_is_wrong() {
    let dir = TestDir::new("invalid");
    let file = dir.path("bad.rrd");
    let check = |bad: &str, expected: &str| {
        let mut definitions = small_definitions();
        definitions.insert(1, bad.to_string());
        let e = rrd::create(&file, 1, S, true, &definitions).expect_err(bad);
        assert!(e.message().contains(expected), "{bad}: {e}");
        assert!(
            e.to_string()
                .starts_with(&format!("rrd create of {} failed: ", file.display())),
            "{e}"
        );
        assert!(!file.exists(), "{bad} left a file");
    };
    check("DS:bw:GAUG:3:0:U", "invalid DS type specified (GAUG)");
    check("DS:bad name:GAUGE:3:0:U", "invalid DS format");
    check(
        "DS:bw:GAUGE:3:5:1",
        "min must be less than max in DS definition",
    );
    check("DS:rx:GAUGE:3:0:U", "Duplicate DS name: rx");
    check("RRA:AVERAGE:2:1:10", "Invalid xff");
    check("BOGUS", "can't parse argument 'BOGUS'");
}

#[test]
fn nul_bytes_and_clock_relative_times_are_refused_before_librrd() {
    let dir = TestDir::new("refused");
    let file = dir.path("small.rrd");
    create_small(&file);
    let nul = dir.path("a\0b.rrd");
    let e = rrd::create(&nul, 1, S, true, &small_definitions()).expect_err("create");
    assert_eq!(e.message(), "the path contains a NUL byte");
    let e = rrd::update(&nul, &[update_line(S as f64 + 1.0, None, None)]).expect_err("update");
    assert_eq!(e.message(), "the path contains a NUL byte");
    assert!(rrd::info(&nul).is_err());
    assert!(rrd::last(&nul).is_err());
    assert!(rrd::fetch(&nul, "AVERAGE", S, S + 1, 1).is_err());
    let e = rrd::fetch(&file, "AVER\0AGE", S, S + 1, 1).expect_err("cf");
    assert_eq!(
        e.message(),
        "the consolidation function contains a NUL byte"
    );
    let e = rrd::create(&file, 1, S, false, &["DS:rx\0".to_string()]).expect_err("definition");
    assert_eq!(e.message(), "an argument contains a NUL byte");
    let e = rrd::update(&file, &[format!("{}:1:2\0", S + 1)]).expect_err("update string");
    assert_eq!(e.message(), "an argument contains a NUL byte");

    for line in ["N:1:2", "-1:1:2", "now:1:2", "1764115300@1:2"] {
        let e = rrd::update(&file, &[line.to_string()]).expect_err(line);
        assert!(e.message().contains("the time must be Unix seconds"), "{e}");
    }
    let e = rrd::create(&dir.path("zero.rrd"), 1, 0, true, &small_definitions())
        .expect_err("start 0 would mean now-10 to librrd");
    assert!(e.message().contains("not a Unix time"), "{e}");
    assert_eq!(rrd::last(&file), Ok(S), "nothing was written");
    assert!(
        rrd::update(&file, &[]).is_ok(),
        "an empty batch does nothing"
    );
}

#[test]
fn four_threads_on_four_files_at_once() {
    let dir = TestDir::new("threads");
    let files: Vec<PathBuf> = (0..4).map(|i| dir.path(&format!("t{i}.rrd"))).collect();
    let workers: Vec<_> = files
        .iter()
        .cloned()
        .enumerate()
        .map(|(n, file)| {
            thread::spawn(move || {
                create_small(&file);
                let value = |k: i64| (1000 * n as i64 + k) as f64;
                for k in 1..=300 {
                    let at = (S + k) as f64 + 0.25;
                    rrd::update(&file, &[update_line(at, Some(value(k)), Some(1.0))])
                        .expect("update");
                    if k % 50 == 0 {
                        assert_eq!(rrd::last(&file), Ok(S + k));
                        assert_eq!(rrd::info(&file).expect("info").last_update, S + k);
                        // This thread's own error, not another thread's.
                        let e = rrd::update(&file, &[update_line(S as f64, None, None)])
                            .expect_err("past");
                        assert!(e.message().contains(&*file.to_string_lossy()), "{e}");
                        assert!(e.message().contains(&format!("{}", S + k)), "{e}");
                    }
                }
                let fetched = rrd::fetch(&file, "AVERAGE", S + 250, S + 299, 1).expect("fetch");
                for i in 0..fetched.rows() - 1 {
                    // With value(k) written at S+k+0.25, row (S+t-1, S+t]
                    // is a quarter value(t-1) and three quarters value(t).
                    let t = fetched.row_time(i) - S;
                    let expected = 0.25 * value(t - 1) + 0.75 * value(t);
                    assert_eq!(fetched.row(i)[0], expected, "thread {n} row {t}");
                }
                fetched
            })
        })
        .collect();
    for (worker, file) in workers.into_iter().zip(&files) {
        let fetched = worker.join().expect("the worker thread succeeds");
        assert_same_rows(&fetched, &cli_fetch(file, "AVERAGE", S + 250, S + 299, 1));
    }
}

#[test]
fn files_written_here_and_by_rrdtool_dump_identically() {
    let dir = TestDir::new("dump");
    let ours = dir.path("ours.rrd");
    let theirs = dir.path("theirs.rrd");
    create_small(&ours);
    let mut create = vec![
        "create".to_string(),
        path_str(&theirs).to_string(),
        "--start".to_string(),
        S.to_string(),
        "--step".to_string(),
        "1".to_string(),
    ];
    create.extend(small_definitions());
    rrdtool(&create.iter().map(String::as_str).collect::<Vec<_>>());

    let updates = fractional_updates();
    rrd::update(&ours, &updates).expect("update");
    let mut update = vec!["update", path_str(&theirs)];
    update.extend(updates.iter().map(String::as_str));
    rrdtool(&update);

    let dump = |file: &Path| rrdtool(&["dump", path_str(file)]);
    let (a, b) = (dump(&ours), dump(&theirs));
    assert!(a.contains("<lastupdate>1764115220</lastupdate>"), "{a}");
    assert!(a == b, "dumps differ:\n{a}\n----\n{b}");
}

/// Checks that `ours` (made by `rrd::create`) is the file stock `rrdtool
/// create` made as `theirs` with the same arguments: the same `rrdtool
/// info` but for the name and each archive's current row, and the same
/// bytes but for those rows (`rra_ptr`: one C `long` per archive right
/// before the data), which librrd draws at random for every new file
/// (`rrd_select_initial_row`); `rrdtool dump` prints the same either way.
/// The data is compared in full, a MiB at a time.
fn assert_same_new_file(ours: &Path, theirs: &Path) {
    let (mut a, mut b) = (cli_info(ours), cli_info(theirs));
    let archives = a.keys().filter(|k| k.ends_with("].cf")).count();
    for i in 0..archives {
        for info in [&mut a, &mut b] {
            let row: u64 = info
                .remove(&format!("rra[{i}].cur_row"))
                .unwrap()
                .parse()
                .unwrap();
            let rows: u64 = info[&format!("rra[{i}].rows")].parse().unwrap();
            assert!(row < rows, "archive {i}: current row {row} of {rows}");
        }
    }
    a.remove("filename");
    b.remove("filename");
    assert_eq!(a, b, "rrdtool info differs");
    let header: u64 = a["header_size"].parse().unwrap();
    let pointers = header - archives as u64 * std::mem::size_of::<std::ffi::c_ulong>() as u64;
    let size = fs::metadata(ours).unwrap().len();
    assert_eq!(size, fs::metadata(theirs).unwrap().len());
    let (mut a, mut b) = (
        fs::File::open(ours).unwrap(),
        fs::File::open(theirs).unwrap(),
    );
    let (mut x, mut y) = (vec![0u8; 1 << 20], vec![0u8; 1 << 20]);
    let mut offset = 0u64;
    while offset < size {
        let n = (size - offset).min(1 << 20) as usize;
        a.read_exact(&mut x[..n]).unwrap();
        b.read_exact(&mut y[..n]).unwrap();
        if x[..n] == y[..n] {
            offset += n as u64;
            continue;
        }
        for (i, (p, q)) in x[..n].iter().zip(&y[..n]).enumerate() {
            let at = offset + i as u64;
            assert!(
                p == q || (pointers..header).contains(&at),
                "byte {at} differs ({p} vs {q}); the header is {header} bytes"
            );
        }
        offset += n as u64;
    }
}

/// `rrdtool create`'s arguments for `file` with start `S` and step 1.
fn stock_create(file: &Path, definitions: &[&str]) {
    let start = S.to_string();
    let mut args = vec!["create", path_str(file), "--start", &start, "--step", "1"];
    args.extend(definitions);
    rrdtool(&args);
}

/// The patched librrd (it writes the rows from a small buffer instead of
/// the whole file in memory) makes the files stock librrd makes: a small
/// one and the compact profile's here, the original's in the next test.
#[test]
fn new_files_are_the_files_rrdtool_create_writes() {
    let dir = TestDir::new("same");
    let compact = mt_trafmon::store::Profile::Compact.definitions();
    for (name, definitions) in [("small", small_definitions()), ("compact", compact)] {
        let (ours, theirs) = (
            dir.path(&format!("{name}-ours.rrd")),
            dir.path(&format!("{name}-theirs.rrd")),
        );
        rrd::create(&ours, 1, S, true, &definitions).expect("create");
        stock_create(
            &theirs,
            &definitions.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        assert_same_new_file(&ours, &theirs);
        fs::remove_file(&ours).unwrap();
        fs::remove_file(&theirs).unwrap();
    }
}

/// The one test with full-size files: the original's exact layout, made by
/// the stock CLI and by `rrd::create` (835 MB each, written out in full, a
/// few seconds), the same file; the stock one is read and updated here.
#[test]
fn a_file_in_the_original_layout_from_rrdtool_create_is_read_and_updated() {
    let dir = TestDir::new("original");
    let file = dir.path("traffic.rrd");
    stock_create(&file, &ORIGINAL_DEFINITIONS);
    let size = fs::metadata(&file).expect("the file exists").len();
    assert!(size > 875_000_000, "{size} bytes");
    let ours = dir.path("ours.rrd");
    let definitions: Vec<String> = ORIGINAL_DEFINITIONS.iter().map(|d| d.to_string()).collect();
    rrd::create(&ours, 1, S, true, &definitions).expect("create");
    assert_same_new_file(&ours, &file);
    fs::remove_file(&ours).unwrap();

    let info = rrd::info(&file).expect("info");
    assert_eq!((info.step, info.last_update), (1, S));
    let names: Vec<&str> = info.data_sources.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["rx", "tx"]);
    let archives: Vec<(&str, u64, u64, f64)> = info
        .archives
        .iter()
        .map(|a| (a.cf.as_str(), a.pdp_per_row, a.rows, a.xff))
        .collect();
    assert_eq!(
        archives,
        [
            ("AVERAGE", 1, 31_557_600, 0.5),
            ("AVERAGE", 10, 15_778_800, 0.5),
            ("AVERAGE", 60, 2_629_800, 0.5),
            ("MAX", 60, 2_629_800, 0.5),
            ("AVERAGE", 300, 1_051_920, 0.5),
            ("MAX", 300, 1_051_920, 0.5),
        ]
    );

    let updates: Vec<String> = (1..=4)
        .map(|k| update_line((S + k) as f64, Some(1e9 + k as f64), Some(2.5e6 * k as f64)))
        .collect();
    rrd::update(&file, &updates).expect("update");
    let cli = cli_fetch(&file, "AVERAGE", S, S + 4, 1);
    assert_eq!(cli.start, S);
    for k in 1..=4 {
        let row = cli.row(k - 1);
        assert_eq!(cli.row_time(k - 1), S + k as i64);
        assert!(same(row[0], 1e9 + k as f64), "rx at S+{k}: {row:?}");
        assert!(same(row[1], 2.5e6 * k as f64), "tx at S+{k}: {row:?}");
    }
    let ours = rrd::fetch(&file, "AVERAGE", S, S + 4, 1).expect("fetch");
    assert_same_rows(&ours, &cli);
}

/// librrd (and the glib shim) are in the binaries, not loaded at run time: only
/// the C runtime remains dynamic. Checked for the daemon and for this test
/// binary, which calls librrd.
#[test]
fn binaries_need_only_the_c_runtime() {
    let binaries = [
        PathBuf::from(env!("CARGO_BIN_EXE_mt-trafmon")),
        std::env::current_exe().expect("the test binary"),
    ];
    for binary in binaries {
        let output = Command::new("ldd").arg(&binary).output().expect("run ldd");
        assert!(output.status.success(), "ldd {}", binary.display());
        let text = String::from_utf8_lossy(&output.stdout);
        for bad in ["librrd", "libglib", "libpcre"] {
            assert!(
                !text.contains(bad),
                "{} needs {bad}:\n{text}",
                binary.display()
            );
        }
        for line in text.lines() {
            let name = line.split_whitespace().next().unwrap_or_default();
            let name = name.rsplit('/').next().unwrap_or_default();
            let allowed = [
                "linux-vdso.so",
                "libc.so",
                "libm.so",
                "libgcc_s.so",
                "ld-linux",
            ];
            assert!(
                allowed.iter().any(|a| name.starts_with(a)),
                "{} needs {name}:\n{text}",
                binary.display()
            );
        }
    }
}

/// `rrdtool dump` of a file.
fn dump(file: &Path) -> String {
    rrdtool(&["dump", path_str(file)])
}

#[test]
fn an_updater_writes_what_update_writes() {
    let dir = TestDir::new("updater-same");
    let (kept, plain) = (dir.path("kept.rrd"), dir.path("plain.rrd"));
    create_small(&kept);
    create_small(&plain);
    let updates = fractional_updates();
    let mut updater = rrd::Updater::new(&kept).expect("an updater");
    // One line at a time (the collector's seconds), then two at once, with
    // a refused one between: each call as `update` does it.
    let (single, batch) = updates.split_at(updates.len() - 2);
    for line in single {
        updater.update(std::slice::from_ref(line)).expect("updater");
        rrd::update(&plain, std::slice::from_ref(line)).expect("update");
    }
    let past = [single[0].clone()];
    let (a, b) = (
        updater.update(&past).expect_err("in the past"),
        rrd::update(&plain, &past).expect_err("in the past"),
    );
    assert_eq!(a.message(), b.message().replace("plain.rrd", "kept.rrd"));
    updater.release();
    updater.update(batch).expect("updater, opened again");
    rrd::update(&plain, batch).expect("update");
    updater.update(&[]).expect("nothing to write");
    drop(updater);
    assert!(dump(&kept).contains("<lastupdate>1764115220</lastupdate>"));
    assert_eq!(dump(&kept), dump(&plain));
}

#[test]
fn an_updater_follows_the_path() {
    let dir = TestDir::new("updater-path");
    let (file, old, new) = (dir.path("a.rrd"), dir.path("old.rrd"), dir.path("new.rrd"));
    create_small(&file);
    let mut updater = rrd::Updater::new(&file).expect("an updater");
    let line = |k: i64| vec![update_line((S + k) as f64, Some(k as f64), Some(1.0))];
    updater.update(&line(1)).expect("first");
    // Replaced by a rename: the next update goes to the new file, not to
    // the one still open (kept here under another name).
    fs::hard_link(&file, &old).unwrap();
    create_small(&new);
    fs::rename(&new, &file).unwrap();
    updater.update(&line(2)).expect("to the new file");
    assert_eq!((rrd::last(&file), rrd::last(&old)), (Ok(S + 2), Ok(S + 1)));
    // Rewritten in place with another size: opened again.
    fs::copy(&old, &file).unwrap();
    fs::OpenOptions::new()
        .append(true)
        .open(&file)
        .and_then(|mut f| std::io::Write::write_all(&mut f, &[0; 8]))
        .unwrap();
    updater.update(&line(3)).expect("to the longer file");
    assert_eq!(rrd::last(&file), Ok(S + 3));
    // Gone: the error of `update`; back: written again.
    fs::remove_file(&file).unwrap();
    let e = updater.update(&line(4)).expect_err("no file");
    assert_eq!(e.kind(), rrd::ErrorKind::NotFound, "{e}");
    let same = rrd::update(&file, &line(4)).expect_err("no file");
    assert_eq!(e, same);
    fs::rename(&old, &file).unwrap();
    updater.update(&line(5)).expect("back");
    assert_eq!(rrd::last(&file), Ok(S + 5));
}

#[test]
fn an_updater_takes_librrds_lock_for_each_update_only() {
    let dir = TestDir::new("updater-lock");
    let file = dir.path("a.rrd");
    create_small(&file);
    let mut updater = rrd::Updater::new(&file).expect("an updater");
    let line = |k: i64| vec![update_line((S + k) as f64, Some(k as f64), Some(1.0))];
    updater.update(&line(1)).expect("first");
    // Between updates the file is not locked: stock rrdtool writes it.
    rrdtool(&["update", path_str(&file), &format!("{}:2:2", S + 2)]);
    // Another process holds librrd's lock (fcntl, whole file): refused at
    // once, as `update` is, and written once it is gone.
    let mut holder = Command::new("python3")
        .args([
            "-c",
            "import fcntl, sys, time\nf = open(sys.argv[1], 'r+')\nfcntl.lockf(f, fcntl.LOCK_EX)\nprint('locked', flush=True)\nsys.stdin.read()",
            path_str(&file),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3");
    let mut said = [0u8; 6];
    holder.stdout.take().unwrap().read_exact(&mut said).unwrap();
    assert_eq!(&said, b"locked");
    let e = updater.update(&line(3)).expect_err("locked");
    assert_eq!(e.kind(), rrd::ErrorKind::Locked, "{e}");
    assert_eq!(
        rrd::update(&file, &line(3)).map_err(|e| e.kind()),
        Err(rrd::ErrorKind::Locked)
    );
    drop(holder.stdin.take());
    holder.wait().unwrap();
    updater.update(&line(3)).expect("unlocked");
    assert_eq!(rrd::last(&file), Ok(S + 3));
}

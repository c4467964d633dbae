//! The glib shim (`scripts/glibshim.c`), which stands in for glib and pcre2
//! in the static librrd, against Debian's `rrdtool`, which uses the real
//! glib: files created and updated through the shim are the same as the
//! CLI's (`rrdtool dump` for each DS definition of a table of accepted
//! ones, and for a file in the compact profile's layout after updates with
//! fractions and unknowns); definitions that librrd's regex must
//! refuse give the CLI's message; and the binaries really contain the shim,
//! not glib. Every test works in its own directory under the system's temp
//! directory.

use std::path::Path;
use std::process::Command;

mod support;

use mt_trafmon::rrd::{self, update_line};
use mt_trafmon::store::Profile;
use support::{TestDir, rrdtool};

/// 2025-11-26 00:00:00 UTC.
const S: i64 = 1_764_115_200;

fn path_str(path: &Path) -> &str {
    path.to_str().expect("test paths are UTF-8")
}

/// `rrdtool create FILE --start S --step 1 DEFINITIONS…` with its outcome:
/// Ok, or the message after "ERROR: ".
fn cli_create(file: &Path, definitions: &[String]) -> Result<(), String> {
    let output = Command::new("rrdtool")
        .args([
            "create",
            path_str(file),
            "--start",
            &S.to_string(),
            "--step",
            "1",
        ])
        .args(definitions)
        .env_remove("RRDCACHED_ADDRESS")
        .output()
        .expect("run rrdtool (Debian package rrdtool, installed by scripts/deps.sh)");
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(stderr.trim().trim_start_matches("ERROR: ").to_string())
}

/// Each definition goes through librrd's DS regex (the shim's g_regex_*):
/// names at and over the 19-character limit, every DS type, CDEF
/// expressions, mapped names with and without an index, and strings the
/// pattern must not match.
#[test]
fn data_source_definitions_parse_as_with_the_real_glib() {
    let dir = TestDir::new("glibshim-ds");
    let cases = [
        "DS:tx:GAUGE:3:0:U",
        "DS:a-b_C9:COUNTER:600:U:U",
        "DS:n234567890123456789:DERIVE:1:0:100",
        "DS:n2345678901234567890:GAUGE:1:U:U",
        "DS:x:DCOUNTER:1:U:U",
        "DS:y:DDERIVE:10:-5:5",
        "DS:z:ABSOLUTE:2:U:U",
        "DS:c:COMPUTE:rx,8,*",
        "DS:m=rx:GAUGE:3:0:U",
        "DS:m=rx[2]:GAUGE:3:0:U",
        "DS:n:GAUGE:1:U:U:extra:colons",
        "DS:bad name:GAUGE:3:0:U",
        "DS:x:gauge:1:U:U",
        "DS:a=:GAUGE:1:2:3",
        "DS:a[1]:GAUGE:1:U:U",
        "DS::GAUGE:1",
        "DS:",
        "DS:n:GAUG:1:U:U",
        "DS:rx:GAUGE:3:0:U",
    ];
    let mut accepted = 0;
    for (i, case) in cases.iter().enumerate() {
        let definitions: Vec<String> = ["DS:rx:GAUGE:3:0:U", case, "RRA:AVERAGE:0.5:1:10"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let ours = dir.path(&format!("ours-{i}.rrd"));
        let theirs = dir.path(&format!("theirs-{i}.rrd"));
        let ours_result =
            rrd::create(&ours, 1, S, true, &definitions).map_err(|e| e.message().to_string());
        let theirs_result = cli_create(&theirs, &definitions);
        assert_eq!(ours_result, theirs_result, "{case}");
        if ours_result.is_ok() {
            accepted += 1;
            let (a, b) = (
                rrdtool(&["dump", path_str(&ours)]),
                rrdtool(&["dump", path_str(&theirs)]),
            );
            assert!(a == b, "{case}: dumps differ:\n{a}\n----\n{b}");
        }
    }
    // Both outcomes occurred, so the comparison means something.
    assert!((6..cases.len()).contains(&accepted), "{accepted} accepted");
}

/// The product's own layout (the compact profile's data sources and
/// archives, with at most 700 rows each, so that the dumps stay small),
/// created and then updated (fractional times, unknown values, a gap) by
/// both: the dumps are identical. (The files themselves are not: librrd
/// starts each archive at a random row.)
#[test]
fn a_file_updated_here_dumps_like_the_one_rrdtool_writes() {
    let dir = TestDir::new("glibshim-compact");
    let ours = dir.path("ours.rrd");
    let theirs = dir.path("theirs.rrd");
    let definitions: Vec<String> = Profile::Compact
        .definitions()
        .into_iter()
        .map(|d| match d.rsplit_once(':') {
            Some((head, rows)) if d.starts_with("RRA:") => {
                let rows: u64 = rows.parse().expect("rows");
                format!("{head}:{}", rows.min(700))
            }
            _ => d,
        })
        .collect();
    rrd::create(&ours, 1, S, true, &definitions).expect("create through the shim");
    cli_create(&theirs, &definitions).expect("rrdtool create");

    let updates: Vec<String> = (1..=4000)
        .filter(|k| !(200..230).contains(k))
        .map(|k| {
            let at = S as f64 + k as f64 + 0.25 * (k % 4) as f64;
            let rx = (k % 7 != 0).then_some(1e6 * k as f64);
            let tx = (k % 11 != 0).then_some(12_345.5 * k as f64);
            update_line(at, rx, tx)
        })
        .collect();
    for chunk in updates.chunks(100) {
        rrd::update(&ours, chunk).expect("update through the shim's librrd");
        let mut args = vec!["update", path_str(&theirs)];
        args.extend(chunk.iter().map(String::as_str));
        rrdtool(&args);
    }
    let (a, b) = (
        rrdtool(&["dump", path_str(&ours)]),
        rrdtool(&["dump", path_str(&theirs)]),
    );
    assert!(a.contains("<lastupdate>1764119200</lastupdate>"), "{a}");
    assert!(a == b, "dumps differ:\n{a}\n----\n{b}");
}

/// The binaries define librrd's glib functions (from the shim) and carry
/// nothing else of glib or pcre2. Checked on this test binary, which links
/// the same librrd as the daemon and keeps its symbol table in both
/// profiles (the release profile strips debug info only; Cargo.toml).
#[test]
fn the_shim_is_linked_and_glib_is_not() {
    let binary = std::env::current_exe().expect("the test binary");
    let output = Command::new("nm")
        .arg("--defined-only")
        .arg(&binary)
        .output()
        .expect("run nm (binutils)");
    assert!(output.status.success(), "nm {}", binary.display());
    let symbols = String::from_utf8_lossy(&output.stdout);
    let defined: Vec<&str> = symbols
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .collect();
    for shim in ["g_regex_new", "g_regex_match", "g_match_info_fetch_pos"] {
        assert!(defined.contains(&shim), "{shim} is missing");
    }
    for glib in [
        "g_malloc",
        "g_hash_table_new",
        "g_error_free",
        "pcre2_compile_8",
    ] {
        assert!(
            !defined.contains(&glib),
            "{glib} is linked: glib or pcre2 came in"
        );
    }
}

//! Tests of the TZif reader and the local calendar, with the zone files of
//! this machine and hand-made bytes.

use super::*;

fn zone(name: &str) -> Zone {
    let bytes = std::fs::read(Path::new(ZONEINFO).join(name)).expect("zone file installed");
    Zone::parse(name, &bytes).expect("parses")
}

fn date(year: i64, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

/// The length of each local day of `month` in hours (fractions kept).
fn day_hours(zone: &Zone, year: i64, month: u8) -> Vec<f64> {
    (1..=days_in_month(year, month))
        .map(|d| {
            let day = date(year, month, d);
            (zone.start_of(day.next_day()) - zone.start_of(day)) as f64 / 3600.0
        })
        .collect()
}

#[test]
fn berlin_has_23_and_25_hour_days_in_2026_and_far_past_the_table() {
    let berlin = zone("Europe/Berlin");
    // 2026-03-29 (last Sunday of March) and 2026-10-25.
    assert_eq!(berlin.start_of(date(2026, 3, 29)), 1_774_738_800); // 23:00 UTC
    assert_eq!(berlin.start_of(date(2026, 3, 30)), 1_774_821_600); // 22:00 UTC
    let march = day_hours(&berlin, 2026, 3);
    assert_eq!(march[28], 23.0);
    assert!(march.iter().enumerate().all(|(i, h)| i == 28 || *h == 24.0));
    let october = day_hours(&berlin, 2026, 10);
    assert_eq!(october[24], 25.0);
    assert_eq!(berlin.hours(date(2026, 3, 29)).len(), 24); // 23 hours + end
    assert_eq!(berlin.hours(date(2026, 10, 25)).len(), 26);
    // Far beyond the file's transitions, from the footer rule.
    assert_eq!(
        day_hours(&berlin, 2300, 3)[31 - 7..]
            .iter()
            .filter(|h| **h == 23.0)
            .count(),
        1
    );
    assert_eq!(berlin.offset(0), 3600);
    assert_eq!(berlin.iso(1_774_821_600), "2026-03-30T00:00:00+02:00");
}

#[test]
fn new_york_lord_howe_and_kolkata() {
    let ny = zone("America/New_York");
    assert_eq!(day_hours(&ny, 2026, 3)[7], 23.0); // 2026-03-08
    assert_eq!(day_hours(&ny, 2026, 11)[0], 25.0); // 2026-11-01
    assert_eq!(ny.offset(1_780_000_000), -4 * 3600);
    let lh = zone("Australia/Lord_Howe");
    // Half-hour changes: first Sunday of April and of October 2026.
    assert_eq!(day_hours(&lh, 2026, 4)[4], 24.5);
    assert_eq!(day_hours(&lh, 2026, 10)[3], 23.5);
    assert_eq!(lh.offset(1_780_000_000), 10 * 3600 + 1800);
    let hours = lh.hours(date(2026, 10, 4));
    assert_eq!(*hours.last().unwrap() - hours[0], 23 * 3600 + 1800);
    let kolkata = zone("Asia/Kolkata");
    assert_eq!(kolkata.offset(1_780_000_000), 5 * 3600 + 1800);
    assert_eq!(kolkata.start_of(date(2026, 12, 5)) % 3600, 1800);
    assert!(day_hours(&kolkata, 2026, 6).iter().all(|h| *h == 24.0));
    assert_eq!(kolkata.iso(0), "1970-01-01T05:30:00+05:30");
}

#[test]
fn the_zone_agrees_with_its_own_rule_and_the_files_transitions() {
    // Every hour of 1970..2040 in Berlin: the offset is that of the table
    // or the rule, and next_change finds each change exactly once.
    for name in [
        "Europe/Berlin",
        "America/New_York",
        "Australia/Lord_Howe",
        "Asia/Kolkata",
    ] {
        let z = zone(name);
        let mut t = 0;
        let mut changes = 0;
        while let Some(next) = z.next_change(t) {
            if next > 2_208_988_800 {
                break;
            }
            assert!(next > t);
            assert_ne!(z.offset(next - 1), z.offset(next), "{name} {next}");
            assert_eq!(z.offset(t), z.offset(next - 1));
            t = next;
            changes += 1;
        }
        assert!(changes < 400, "{name} {changes}");
    }
}

#[test]
fn calendar_arithmetic() {
    for days in [-800_000, -1, 0, 1, 59, 365, 11_016, 20_000, 2_932_896] {
        assert_eq!(Date::from_days(days).days(), days);
    }
    assert_eq!(date(2024, 2, 29).next_day(), date(2024, 3, 1));
    assert_eq!(date(2026, 1, 28).add_months(1, 28), date(2026, 2, 28));
    assert_eq!(date(2026, 1, 31).add_months(-1, 31), date(2025, 12, 31));
    assert_eq!(date(2026, 3, 28).add_months(-14, 28), date(2025, 1, 28));
    assert_eq!(iso(-3600, -16_200), "1969-12-31T18:30:00-04:30");
}

#[test]
fn posix_rules_alone() {
    let z = Zone::from_rule("CET-1CEST,M3.5.0,M10.5.0/3").unwrap();
    let berlin = zone("Europe/Berlin");
    for t in (1_700_000_000..1_900_000_000).step_by(3_599) {
        assert_eq!(z.offset(t), berlin.offset(t), "{t}");
    }
    // Southern hemisphere, Julian days, quoted names, negative times.
    let s = Zone::from_rule("<-03>3<-02>,M3.5.0/-2,M10.5.0/-1").unwrap();
    assert_eq!(s.offset(1_780_000_000), -2 * 3600); // May
    assert_eq!(s.offset(1_800_000_000), -3 * 3600); // January
    let sydney = Zone::from_rule("AEST-10AEDT,M10.1.0,M4.1.0/3").unwrap();
    let file = zone("Australia/Sydney");
    for t in (1_700_000_000..1_900_000_000).step_by(3_599) {
        assert_eq!(sydney.offset(t), file.offset(t), "{t}");
    }
    assert!(Zone::from_rule("EST5EDT").is_ok());
    assert!(Zone::from_rule("IST-5:30").is_ok());
    let j = Zone::from_rule("AAA0BBB,J60/0,J300/0").unwrap();
    assert_eq!(
        j.start_of(date(2024, 3, 1)),
        date(2024, 3, 1).days() * 86_400
    );
    for bad in [
        "",
        "X1",
        "CET",
        "CET-1CEST,M13.1.0,M10.5.0",
        "CET-1CEST,M3.5.0",
        "CET-99",
    ] {
        assert!(Zone::from_rule(bad).is_err(), "{bad:?}");
    }
}

/// A version-2 TZif file with the given transitions and offsets.
fn tzif(transitions: &[(i64, u8)], offsets: &[i32], footer: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let head = |out: &mut Vec<u8>, time: usize, types: usize, chars: usize| {
        out.extend_from_slice(b"TZif2");
        out.extend_from_slice(&[0; 15]);
        for n in [0, 0, 0, time, types, chars] {
            out.extend_from_slice(&(n as u32).to_be_bytes());
        }
    };
    head(&mut out, 0, 1, 4);
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0, b'U', b'T', b'C', 0]);
    head(&mut out, transitions.len(), offsets.len(), 4);
    for (at, _) in transitions {
        out.extend_from_slice(&at.to_be_bytes());
    }
    out.extend(transitions.iter().map(|(_, i)| *i));
    for o in offsets {
        out.extend_from_slice(&o.to_be_bytes());
        out.extend_from_slice(&[0, 0]);
    }
    out.extend_from_slice(b"ABC\0");
    out.extend_from_slice(format!("\n{footer}\n").as_bytes());
    out
}

#[test]
fn hand_made_files_and_malformed_ones() {
    let good = tzif(&[(1000, 1), (2000, 0)], &[0, 1800], "UTC0");
    let z = Zone::parse("Test", &good).unwrap();
    assert_eq!(
        (
            z.offset(999),
            z.offset(1000),
            z.offset(2000),
            z.offset(3000)
        ),
        (0, 1800, 0, 0)
    );
    assert_eq!(z.next_change(0), Some(1000));
    assert_eq!(z.next_change(1000), Some(2000));
    assert_eq!(z.next_change(2000), None);
    // A local time skipped by a change starts at the change.
    assert_eq!(z.instant(1200), 1000);

    let mut cases: Vec<(Vec<u8>, &str)> = vec![
        (b"TZif".to_vec(), "ends early"),
        (b"NOPE".to_vec(), "TZif"),
        (tzif(&[(2000, 0), (1000, 0)], &[0], ""), "out of order"),
        (tzif(&[(1000, 3)], &[0], ""), "type 3"),
        (tzif(&[], &[100_000], ""), "offset"),
        (tzif(&[], &[0], "nonsense rule"), "footer"),
        (tzif(&[], &[], ""), "types"),
    ];
    let mut v1 = good.clone();
    v1[4] = 0;
    cases.push((v1, "version 1"));
    let mut no_footer = good.clone();
    no_footer.truncate(good.len() - 6);
    cases.push((no_footer, "footer"));
    let mut huge_count = good.clone();
    huge_count[20 + 12..20 + 16].copy_from_slice(&u32::MAX.to_be_bytes());
    cases.push((huge_count, "count"));
    cases.push((vec![b'T'; MAX_FILE_BYTES + 1], "bytes"));
    for (bytes, says) in cases {
        let error = Zone::parse("x", &bytes).unwrap_err().to_string();
        assert!(error.contains(says), "{error:?} should say {says:?}");
    }
    // Every truncation and every single-byte change of a real file: an
    // answer or an error, never a panic.
    let real = std::fs::read(Path::new(ZONEINFO).join("Europe/Berlin")).unwrap();
    for n in 0..real.len() {
        let _ = Zone::parse("x", &real[..n]);
        let mut changed = real.clone();
        changed[n] ^= 0xA5;
        if let Ok(z) = Zone::parse("x", &changed) {
            let _ = z.hours(date(2026, 3, 29));
            let _ = z.start_of(date(2038, 10, 31));
        }
    }
}

#[test]
fn names_and_loading() {
    assert!(valid_name("Europe/Berlin"));
    assert!(valid_name("Etc/GMT+5"));
    for bad in [
        "",
        "up/../x",
        "Europe//Berlin",
        "Europe/.hidden",
        "a b",
        "/abs",
    ] {
        assert!(!valid_name(bad), "{bad:?}");
        assert!(matches!(load(Some(bad), None), Err(Error::Name(_))));
    }
    assert_eq!(
        load(Some("Asia/Kolkata"), None).unwrap().name,
        "Asia/Kolkata"
    );
    assert!(
        load(Some("No/Such_Zone"), None)
            .unwrap_err()
            .to_string()
            .contains("cannot read")
    );
    assert_eq!(
        load(None, Some(":America/New_York")).unwrap().offset(0),
        -5 * 3600
    );
    assert_eq!(load(None, Some("<+0330>-3:30")).unwrap().offset(0), 12_600);
    let path = format!("{ZONEINFO}/Australia/Lord_Howe");
    assert_eq!(load(None, Some(&path)).unwrap().name, "Australia/Lord_Howe");
}

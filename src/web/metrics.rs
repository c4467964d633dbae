//! `/metrics`: the Prometheus text exposition format (version 0.0.4), for a
//! central Prometheus or VictoriaMetrics that scrapes many machines.
//! [`render`] is pure: it writes each metric family once (`# HELP`,
//! `# TYPE`, then its samples, only when it has some) from what the route
//! handler gathered per interface ([`Seen`]).
//!
//! Label values come from the config (router and interface names may hold
//! anything), so [`label_value`] escapes backslash, double quote and line
//! feed as the format asks; everything else passes as UTF-8.
//!
//! With `source = "monitor-traffic"` the router gives rates only: no
//! `mt_trafmon_interface_bytes_total` is written for it. A counter made up
//! by the daemon would restart with it and lose the bytes of every gap
//! without Prometheus being able to tell; the exact volume of those files
//! is in `/api/series`.

use std::fmt::Write as _;

use crate::health::{Entry, Sample};

/// The `Content-Type` of the answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// One interface as `/metrics` shows it.
#[derive(Clone, Copy, Debug)]
pub struct Seen<'a> {
    /// The router's name from the config.
    pub router: &'a str,
    /// The interface's name on the router.
    pub interface: &'a str,
    /// The latest sample: the collector's, or in web-only mode the file's
    /// last row.
    pub sample: Option<Sample>,
    /// The collector's entry (one snapshot, so that the counters and the
    /// sample's time belong together); `None` in web-only mode.
    pub entry: Option<&'a Entry>,
}

/// A metric family: its name, type and help text.
struct Family {
    name: &'static str,
    kind: &'static str,
    help: &'static str,
}

const BUILD_INFO: Family = Family {
    name: "mt_trafmon_build_info",
    kind: "gauge",
    help: "The running mt-trafmon's version (always 1).",
};
const BYTES: Family = Family {
    name: "mt_trafmon_interface_bytes_total",
    kind: "counter",
    help: "The router's own 64-bit byte counter of the interface, as last read (source = counters only).",
};
const RATE: Family = Family {
    name: "mt_trafmon_interface_bytes_per_second",
    kind: "gauge",
    help: "The interface's rate over the last measured second, in bytes per second (times 8 for bit/s).",
};
const SAMPLE_TIME: Family = Family {
    name: "mt_trafmon_interface_last_sample_timestamp_seconds",
    kind: "gauge",
    help: "When the latest sample was taken (Unix time).",
};
const UNKNOWN: Family = Family {
    name: "mt_trafmon_interface_unknown_seconds_total",
    kind: "counter",
    help: "Seconds written to the interface's file as unknown, or given up, since the daemon started.",
};
const BACKFILLED: Family = Family {
    name: "mt_trafmon_interface_backfilled_seconds_total",
    kind: "counter",
    help: "Seconds of gaps filled in from the byte counters since the daemon started.",
};
const WRITE_ERRORS: Family = Family {
    name: "mt_trafmon_interface_rrd_write_errors_total",
    kind: "counter",
    help: "Failed writes of the interface's RRD file since the daemon started.",
};
const CONNECTED: Family = Family {
    name: "mt_trafmon_router_connected",
    kind: "gauge",
    help: "Whether the collector has a working session with the router (1) or not (0).",
};
const RECONNECTS: Family = Family {
    name: "mt_trafmon_router_reconnects_total",
    kind: "counter",
    help: "Sessions with the router opened again after the first, since the daemon started.",
};

/// The whole answer for `version` and the interfaces in config order.
pub fn render(version: &str, seen: &[Seen]) -> String {
    let mut out = String::new();
    family(&mut out, &BUILD_INFO, |f| {
        sample(f, &BUILD_INFO, &[("version", version)], 1.0);
    });
    let directions = |out: &mut String, f: &Family, s: &Seen, (rx, tx): (f64, f64)| {
        for (direction, value) in [("rx", rx), ("tx", tx)] {
            let labels = [
                ("router", s.router),
                ("interface", s.interface),
                ("direction", direction),
            ];
            sample(out, f, &labels, value);
        }
    };
    family(&mut out, &BYTES, |f| {
        for s in seen {
            if let Some((rx, tx)) = s.entry.and_then(|e| e.counters) {
                directions(f, &BYTES, s, (rx as f64, tx as f64));
            }
        }
    });
    family(&mut out, &RATE, |f| {
        for s in seen {
            if let Some(x) = s.sample {
                directions(f, &RATE, s, (x.rx_bps / 8.0, x.tx_bps / 8.0));
            }
        }
    });
    let per_interface = |out: &mut String, family_: &Family, value: fn(&Seen) -> Option<f64>| {
        family(out, family_, |f| {
            for s in seen {
                if let Some(value) = value(s) {
                    let labels = [("router", s.router), ("interface", s.interface)];
                    sample(f, family_, &labels, value);
                }
            }
        });
    };
    per_interface(&mut out, &SAMPLE_TIME, |s| s.sample.map(|x| x.at));
    per_interface(&mut out, &UNKNOWN, |s| s.entry.map(|e| e.seconds_lost));
    per_interface(&mut out, &BACKFILLED, |s| {
        s.entry.map(|e| e.seconds_backfilled)
    });
    per_interface(&mut out, &WRITE_ERRORS, |s| {
        s.entry.map(|e| e.write_errors as f64)
    });
    // Every entry of a router carries its session state: the router's
    // first interface speaks for it.
    let routers: Vec<&Entry> = seen
        .iter()
        .enumerate()
        .filter(|(i, s)| !seen[..*i].iter().any(|o| o.router == s.router))
        .filter_map(|(_, s)| s.entry)
        .collect();
    let per_router = |out: &mut String, family_: &Family, value: fn(&Entry) -> f64| {
        family(out, family_, |f| {
            for entry in &routers {
                sample(f, family_, &[("router", &entry.router)], value(entry));
            }
        });
    };
    per_router(&mut out, &CONNECTED, |e| f64::from(u8::from(e.connected)));
    per_router(&mut out, &RECONNECTS, |e| e.reconnects as f64);
    out
}

/// Writes the family's samples that `write` produces, after its `# HELP`
/// and `# TYPE` lines; nothing when it produces none.
fn family(out: &mut String, family: &Family, write: impl FnOnce(&mut String)) {
    let mut samples = String::new();
    write(&mut samples);
    if !samples.is_empty() {
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help);
        let _ = writeln!(out, "# TYPE {} {}", family.name, family.kind);
        out.push_str(&samples);
    }
}

/// One sample line, `name{label="value",…} value`; a value that is not a
/// finite number (an unknown rate read from a file) is left out.
fn sample(out: &mut String, family: &Family, labels: &[(&str, &str)], value: f64) {
    if !value.is_finite() {
        return;
    }
    out.push_str(family.name);
    for (i, (name, text)) in labels.iter().enumerate() {
        out.push(if i == 0 { '{' } else { ',' });
        let _ = write!(out, "{name}=\"{}\"", label_value(text));
    }
    if !labels.is_empty() {
        out.push('}');
    }
    // The shortest decimal that reads back as the same number, never with
    // an exponent: a form the format accepts.
    let _ = writeln!(out, " {}", crate::text::shortest(value));
}

/// A label value with backslash, double quote and line feed escaped.
fn label_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(router: &str, name: &str) -> Entry {
        Entry {
            router: router.into(),
            name: name.into(),
            connected: true,
            last_sample: Some(Sample {
                at: 1_800_000_000.25,
                rx_bps: 8_000_000.5,
                tx_bps: 0.0,
            }),
            counters: Some((u64::MAX, 12_345)),
            seconds_backfilled: 3.0,
            seconds_lost: 2.5,
            write_errors: 4,
            reconnects: 7,
            ..Entry::default()
        }
    }

    fn seen<'a>(entry: &'a Entry) -> Seen<'a> {
        Seen {
            router: &entry.router,
            interface: &entry.name,
            sample: entry.last_sample,
            entry: Some(entry),
        }
    }

    #[test]
    fn every_family_once_with_help_and_type() {
        let first = entry("gw", "ether1");
        let second = Entry {
            counters: None,
            last_sample: None,
            ..entry("gw", "ether2")
        };
        let text = render("1.2.3", &[seen(&first), seen(&second)]);
        let expected = "\
# HELP mt_trafmon_build_info The running mt-trafmon's version (always 1).
# TYPE mt_trafmon_build_info gauge
mt_trafmon_build_info{version=\"1.2.3\"} 1
# HELP mt_trafmon_interface_bytes_total The router's own 64-bit byte counter of the interface, as last read (source = counters only).
# TYPE mt_trafmon_interface_bytes_total counter
mt_trafmon_interface_bytes_total{router=\"gw\",interface=\"ether1\",direction=\"rx\"} 18446744073709552000
mt_trafmon_interface_bytes_total{router=\"gw\",interface=\"ether1\",direction=\"tx\"} 12345
# HELP mt_trafmon_interface_bytes_per_second The interface's rate over the last measured second, in bytes per second (times 8 for bit/s).
# TYPE mt_trafmon_interface_bytes_per_second gauge
mt_trafmon_interface_bytes_per_second{router=\"gw\",interface=\"ether1\",direction=\"rx\"} 1000000.0625
mt_trafmon_interface_bytes_per_second{router=\"gw\",interface=\"ether1\",direction=\"tx\"} 0
# HELP mt_trafmon_interface_last_sample_timestamp_seconds When the latest sample was taken (Unix time).
# TYPE mt_trafmon_interface_last_sample_timestamp_seconds gauge
mt_trafmon_interface_last_sample_timestamp_seconds{router=\"gw\",interface=\"ether1\"} 1800000000.25
# HELP mt_trafmon_interface_unknown_seconds_total Seconds written to the interface's file as unknown, or given up, since the daemon started.
# TYPE mt_trafmon_interface_unknown_seconds_total counter
mt_trafmon_interface_unknown_seconds_total{router=\"gw\",interface=\"ether1\"} 2.5
mt_trafmon_interface_unknown_seconds_total{router=\"gw\",interface=\"ether2\"} 2.5
# HELP mt_trafmon_interface_backfilled_seconds_total Seconds of gaps filled in from the byte counters since the daemon started.
# TYPE mt_trafmon_interface_backfilled_seconds_total counter
mt_trafmon_interface_backfilled_seconds_total{router=\"gw\",interface=\"ether1\"} 3
mt_trafmon_interface_backfilled_seconds_total{router=\"gw\",interface=\"ether2\"} 3
# HELP mt_trafmon_interface_rrd_write_errors_total Failed writes of the interface's RRD file since the daemon started.
# TYPE mt_trafmon_interface_rrd_write_errors_total counter
mt_trafmon_interface_rrd_write_errors_total{router=\"gw\",interface=\"ether1\"} 4
mt_trafmon_interface_rrd_write_errors_total{router=\"gw\",interface=\"ether2\"} 4
# HELP mt_trafmon_router_connected Whether the collector has a working session with the router (1) or not (0).
# TYPE mt_trafmon_router_connected gauge
mt_trafmon_router_connected{router=\"gw\"} 1
# HELP mt_trafmon_router_reconnects_total Sessions with the router opened again after the first, since the daemon started.
# TYPE mt_trafmon_router_reconnects_total counter
mt_trafmon_router_reconnects_total{router=\"gw\"} 7
";
        assert_eq!(text, expected);
    }

    #[test]
    fn one_line_per_router_and_web_only_has_no_collector_metrics() {
        let a = entry("a", "ether1");
        let b = Entry {
            connected: false,
            ..entry("b", "ether1")
        };
        let a2 = entry("a", "ether2");
        let text = render("0", &[seen(&a), seen(&b), seen(&a2)]);
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("mt_trafmon_router_connected"))
            .collect();
        assert_eq!(
            lines,
            [
                "mt_trafmon_router_connected{router=\"a\"} 1",
                "mt_trafmon_router_connected{router=\"b\"} 0"
            ]
        );
        // Web-only: the file's last row, nothing the collector knows.
        let sample = Sample {
            at: 5.0,
            rx_bps: f64::NAN,
            tx_bps: 1.0,
        };
        let web_only = Seen {
            router: "a",
            interface: "ether1",
            sample: Some(sample),
            entry: None,
        };
        let text = render("0", &[web_only]);
        let names: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("# TYPE"))
            .map(|l| l.split(' ').nth(2).unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "mt_trafmon_build_info",
                "mt_trafmon_interface_bytes_per_second",
                "mt_trafmon_interface_last_sample_timestamp_seconds"
            ]
        );
        // The file's unknown rate is left out, the known one is there.
        assert!(!text.contains("direction=\"rx\""), "{text}");
        assert!(text.contains("direction=\"tx\"} 0.125\n"), "{text}");
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value("plain ether1"), "plain ether1");
        assert_eq!(
            label_value("a\\b\"c\nd\re\u{e9}"),
            "a\\\\b\\\"c\\nd\re\u{e9}"
        );
        let odd = entry("lab \"1\"\\\n", "vlan\n10");
        let text = render("v\"1", &[seen(&odd)]);
        assert!(text.contains("{version=\"v\\\"1\"} 1\n"), "{text}");
        assert!(
            text.contains("mt_trafmon_router_connected{router=\"lab \\\"1\\\"\\\\\\n\"} 1\n"),
            "{text}"
        );
        // Every line is a comment or one sample: no raw line feed slipped in.
        for line in text.lines() {
            assert!(
                line.starts_with("# ") || line.starts_with("mt_trafmon_"),
                "{line:?}"
            );
        }
    }

    #[test]
    fn numbers_read_back_exactly() {
        let a = entry("gw", "ether1");
        for v in [0.0, 0.1, 1e-300, 1_800_000_000.123_456, 9.007e15, 1e300] {
            let mut out = String::new();
            sample(&mut out, &RATE, &[], v);
            let text = out.strip_prefix("mt_trafmon_interface_bytes_per_second ");
            let read = text.and_then(|t| t.strip_suffix('\n')?.parse::<f64>().ok());
            assert_eq!(read, Some(v), "{out}");
        }
        let text = render("0", &[seen(&a)]);
        assert!(
            text.contains("} 18446744073709552000\n"),
            "u64::MAX: {text}"
        );
    }
}

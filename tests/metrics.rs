//! `/metrics` of the real daemon collecting from the simulator on loopback:
//! the byte counters are exactly a row the simulator answered, and read
//! together with the sample's time; a dropped session counts as a
//! reconnect, a failed write of a file as a write error; a router name
//! with quotes, a backslash and a line feed is escaped. (The format itself
//! is checked against Prometheus's own parser by scripts/test-prometheus.sh.)

use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod support;

use mt_trafmon::sim::{Options, Simulator};
use support::{Killed, TestDir, http_get};

const BIN: &str = env!("CARGO_BIN_EXE_mt-trafmon");
/// The router's name in the config (TOML escapes): `lab "1" \`, a line
/// feed, `é`; and as a label value (the format's escapes, `é` as it is).
const ROUTER_TOML: &str = r#"lab \"1\" \\ \n \u00e9"#;
const ROUTER_LABEL: &str = r#"lab \"1\" \\ \n é"#;

/// The value of the sample line that starts with `prefix` (name and
/// labels), if there is one.
fn value(text: &str, prefix: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(prefix)?.strip_prefix(' ')?.parse().ok())
}

fn labels(interface: &str, direction: Option<&str>) -> String {
    match direction {
        Some(d) => {
            format!("{{router=\"{ROUTER_LABEL}\",interface=\"{interface}\",direction=\"{d}\"}}")
        }
        None => format!("{{router=\"{ROUTER_LABEL}\",interface=\"{interface}\"}}"),
    }
}

/// Polls `/metrics` until `ready` holds for it (at most 20 s); returns it.
fn wait_for(port: u16, what: &str, ready: impl Fn(&str) -> bool) -> String {
    let started = Instant::now();
    loop {
        let (status, text) = http_get(port, "/metrics");
        if status == 200 && ready(&text) {
            return text;
        }
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "waiting for {what}; last answer {status}:\n{text}"
        );
        thread::sleep(Duration::from_millis(100));
    }
}

fn write_config(dir: &Path, sim: &Simulator, port: u16) -> std::path::PathBuf {
    let text = format!(
        "[storage]\ndata_dir = {dir:?}\nprofile = \"compact\"\n\n\
         [web]\nlisten = \"127.0.0.1\"\nport = {port}\n\n\
         [[router]]\nname = \"{ROUTER_TOML}\"\nhost = \"127.0.0.1\"\nport = {}\n\
         user = \"reader\"\npassword = \"secret\"\ntimeout = 1.5\n\n\
         [[router.interface]]\nname = \"ether1\"\nrrd = {:?}\n\n\
         [[router.interface]]\nname = \"ether2\"\nrrd = {:?}\n",
        sim.addr().port(),
        dir.join("ether1.rrd"),
        dir.join("ether2.rrd"),
    );
    let path = dir.join("mt-trafmon.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn counters_reconnects_and_write_errors_as_they_happened() {
    let dir = TestDir::new("metrics");
    let sim = Simulator::start(Options::default()).unwrap();
    let port = support::free_port();
    let config = write_config(&dir.0, &sim, port);
    let _daemon = Killed(
        Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let rx = format!(
        "mt_trafmon_interface_bytes_total{}",
        labels("ether1", Some("rx"))
    );
    let tx = format!(
        "mt_trafmon_interface_bytes_total{}",
        labels("ether1", Some("tx"))
    );
    let at = format!(
        "mt_trafmon_interface_last_sample_timestamp_seconds{}",
        labels("ether1", None)
    );
    let text = wait_for(port, "ether1's counters and sample", |t| {
        value(t, &rx).is_some() && value(t, &at).is_some()
    });
    // The counters are a row the simulator answered, the one read when the
    // sample was taken (the sample's time is the reply's arrival).
    let (got_rx, got_tx, got_at) = (
        value(&text, &rx).unwrap(),
        value(&text, &tx).unwrap(),
        value(&text, &at).unwrap(),
    );
    let answers = sim.answers("ether1");
    let row = answers
        .iter()
        .find(|a| a.rx as f64 == got_rx && a.tx as f64 == got_tx)
        .unwrap_or_else(|| panic!("{got_rx} {got_tx} not answered:\n{text}"));
    let later = answers.iter().find(|a| a.at > row.at && a.at <= got_at);
    assert!(
        row.at <= got_at && later.is_none(),
        "answered at {}, sample at {got_at}, another answer at {:?}",
        row.at,
        later.map(|a| a.at)
    );
    let connected = format!("mt_trafmon_router_connected{{router=\"{ROUTER_LABEL}\"}}");
    let reconnects = format!("mt_trafmon_router_reconnects_total{{router=\"{ROUTER_LABEL}\"}}");
    assert_eq!(value(&text, &connected), Some(1.0), "{text}");
    assert_eq!(value(&text, &reconnects), Some(0.0), "{text}");
    for family in ["bytes_total", "bytes_per_second", "rrd_write_errors_total"] {
        let help = format!("# HELP mt_trafmon_interface_{family} ");
        assert_eq!(text.matches(&help).count(), 1, "{family}:\n{text}");
    }

    sim.drop_sessions();
    wait_for(port, "a reconnect", |t| {
        value(t, &reconnects) == Some(1.0) && value(t, &connected) == Some(1.0)
    });

    let errors = format!(
        "mt_trafmon_interface_rrd_write_errors_total{}",
        labels("ether2", None)
    );
    let text = wait_for(port, "ether2's file", |t| value(t, &errors) == Some(0.0));
    assert!(value(&text, &errors.replace("ether2", "ether1")) == Some(0.0));
    std::fs::remove_file(dir.0.join("ether2.rrd")).unwrap();
    let text = wait_for(port, "a failed write of ether2", |t| {
        value(t, &errors) == Some(1.0)
    });
    assert_eq!(
        value(&text, &errors.replace("ether2", "ether1")),
        Some(0.0),
        "{text}"
    );
}

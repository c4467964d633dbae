//! `mt-trafmon --demo`: the real daemon against the built-in simulated
//! router on 127.0.0.1, with no config and no real router. It monitors two
//! of the simulator's interfaces into a temporary directory with the
//! compact profile, pre-fills a few days of the simulator's traffic so long
//! ranges have something to show, and prints each interface's rates once a
//! second until it is stopped (SIGINT/SIGTERM); then it removes the
//! directory. It serves the graph page on 127.0.0.1 meanwhile, on port
//! 8080 unless `--port` names another (0: any free one), and prints the
//! address it got.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::acl::AllowList;
use crate::collector::SystemClock;
use crate::config::{self, Config, Interface, Router, Source, Storage, Theme, Web};
use crate::daemon::{self, Daemon, Parts, signals::Signals};
use crate::health::Entry;
use crate::rrd;
use crate::sim::{self, Simulator};
use crate::stop::Stop;
use crate::store::{self, Profile};

/// The simulator's interfaces the demo monitors: the busy WAN and the quiet
/// LAN port.
pub const INTERFACES: [&str; 2] = ["ether1", "ether2"];
/// Days of history written before the collector starts.
pub const HISTORY_DAYS: i64 = 3;

/// Runs the demo, serving the page on `port` of 127.0.0.1, until SIGINT or
/// SIGTERM. Returns once it has stopped, or
/// a message for the log if it could not start; the temporary directory is
/// removed either way.
pub fn run(port: u16) -> Result<(), String> {
    // Before any thread starts, as the daemon does: see `rrd::bound_malloc`.
    crate::rrd::bound_malloc();
    let stop = Signals::install()
        .and_then(Signals::into_stop)
        .map_err(|e| format!("cannot install the SIGINT/SIGTERM handlers: {e}"))?;
    let simulator = Simulator::start(sim::Options::default())
        .map_err(|e| format!("cannot start the simulated router: {e}"))?;
    let directory = std::env::temp_dir().join(format!("mt-trafmon-demo-{}", std::process::id()));
    let result = run_in(&stop, &simulator, &directory, port);
    let _ = std::fs::remove_dir_all(&directory);
    result
}

/// The demo with its files in `directory`, until `stop` is set; returns
/// once the daemon has stopped and no longer writes there.
fn run_in(stop: &Stop, simulator: &Simulator, directory: &Path, port: u16) -> Result<(), String> {
    let config = demo_config(simulator.addr(), directory, port);
    println!(
        "simulated router on {}; RRD files in {}",
        simulator.addr(),
        directory.display()
    );
    let now = unix_now();
    for interface in &config.routers[0].interfaces {
        prefill(simulator, interface, now)
            .map_err(|e| format!("cannot pre-fill the demo history: {e}"))?;
    }
    println!(
        "pre-filled {HISTORY_DAYS} days of history for {}",
        INTERFACES.join(", ")
    );
    let parts = Parts {
        collect: true,
        serve: true,
    };
    let daemon = Daemon::start(config, parts, Arc::new(SystemClock::new(None)), None)
        .map_err(|e| format!("cannot start the collector: {e}"))?;
    let Some(server) = daemon.server() else {
        daemon.stop(daemon::PATIENCE);
        return Err(format!(
            "cannot serve the page on 127.0.0.1:{port} (is another program using the port?); \
             choose another with --port N, or --port 0 for any free one"
        ));
    };
    println!(
        "open http://{}/ in a browser; Ctrl-C stops the demo",
        server.address()
    );
    let header: Vec<String> = INTERFACES
        .iter()
        .map(|n| format!("{:>28}", format!("{n} rx / tx")))
        .collect();
    println!("{:<10} {}", "time (UTC)", header.join(" "));
    let mut printed_at = 0.0;
    while !stop.sleep(Duration::from_millis(100)) {
        let health = daemon.collectors().snapshot();
        let Some(line) = live_line(&health, printed_at) else {
            continue;
        };
        printed_at = line.0;
        println!("{}", line.1);
        // A closed stdout (e.g. `| head`) ends the demo.
        if std::io::stdout().flush().is_err() {
            break;
        }
    }
    daemon.stop(daemon::PATIENCE);
    Ok(())
}

/// The configuration the demo runs: the simulator's admin user, the two
/// interfaces, compact files in `directory`, the page on `port` of
/// 127.0.0.1.
pub fn demo_config(router: SocketAddr, directory: &Path, port: u16) -> Config {
    let interfaces = INTERFACES
        .iter()
        .map(|name| Interface {
            name: name.to_string(),
            label: name.to_string(),
            rrd: directory.join(format!("demo-{}.rrd", config::file_name_part(name))),
            billing: config::Billing::default(),
        })
        .collect();
    Config {
        storage: Storage {
            data_dir: directory.to_path_buf(),
            profile: Profile::Compact,
        },
        routers: vec![Router {
            name: "demo".into(),
            host: router.ip().to_string(),
            port: router.port(),
            user: "admin".into(),
            password: "secret".into(),
            source: Source::Counters,
            timeout: Duration::from_secs_f64(config::DEFAULT_TIMEOUT),
            interfaces,
        }],
        web: Web {
            enabled: true,
            listen: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port,
            title: "mt-trafmon demo".into(),
            theme: Theme::Dark,
            allow: AllowList::default_private(),
            trusted_proxies: AllowList::default(),
            hostnames: Vec::new(),
            // No config file to edit.
            settings: false,
            admin_password: None,
            timezone: None,
        },
    }
}

/// Creates the interface's file starting [`HISTORY_DAYS`] before `now` and
/// writes the simulator's traffic for every second up to the last whole
/// one, in chunks.
pub fn prefill(simulator: &Simulator, interface: &Interface, now: f64) -> Result<(), String> {
    let end = now.floor() as i64 - 1;
    let start = end - HISTORY_DAYS * 86400;
    store::create(&interface.rrd, Profile::Compact, start).map_err(|e| e.to_string())?;
    let mut second = start + 1;
    while second <= end {
        let chunk_end = (second + 9999).min(end);
        let lines: Vec<String> = (second..=chunk_end)
            .filter_map(|s| {
                let (rx, tx) = simulator.second_bytes(&interface.name, s - 1)?;
                Some(rrd::update_line(
                    s as f64,
                    Some(rx as f64 * 8.0),
                    Some(tx as f64 * 8.0),
                ))
            })
            .collect();
        rrd::update(&interface.rrd, &lines).map_err(|e| e.to_string())?;
        second = chunk_end + 1;
    }
    Ok(())
}

/// The line to print for the newest sample, if it is newer than
/// `printed_at`: its time and the text.
fn live_line(health: &[Entry], printed_at: f64) -> Option<(f64, String)> {
    let at = health
        .iter()
        .filter_map(|i| i.last_sample.map(|s| s.at))
        .fold(f64::NAN, f64::max);
    if at.is_nan() || at <= printed_at {
        return None;
    }
    let cells: Vec<String> = health
        .iter()
        .map(|i| {
            let text = match i.last_sample {
                Some(s) => format!("{} / {}", si_bits(s.rx_bps), si_bits(s.tx_bps)),
                None => "-".to_string(),
            };
            format!("{text:>28}")
        })
        .collect();
    Some((at, format!("{:<10} {}", clock_utc(at), cells.join(" "))))
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// A rate with an SI prefix: `12.3 Mbit/s`.
pub fn si_bits(bps: f64) -> String {
    let mut value = bps;
    let mut prefix = "";
    for next in ["k", "M", "G", "T"] {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        prefix = next;
    }
    format!("{} {prefix}bit/s", crate::text::fixed(value, 1))
}

/// `hh:mm:ss` of a Unix time, in UTC.
fn clock_utc(at: f64) -> String {
    let seconds = at as u64 % 86400;
    format!(
        "{:02}:{:02}:{:02}",
        seconds / 3600,
        seconds / 60 % 60,
        seconds % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::health::Sample;

    #[test]
    fn units_and_clock() {
        assert_eq!(si_bits(999.0), "999.0 bit/s");
        assert_eq!(si_bits(12_345_678.0), "12.3 Mbit/s");
        assert_eq!(clock_utc(86400.0 + 3723.5), "01:02:03");
    }

    #[test]
    fn the_demo_config_is_valid_and_local() {
        let config = demo_config("127.0.0.1:4000".parse().unwrap(), Path::new("/tmp/d"), 0);
        let router = &config.routers[0];
        assert_eq!((router.host.as_str(), router.port), ("127.0.0.1", 4000));
        assert_eq!(
            router.interfaces[1].rrd,
            Path::new("/tmp/d/demo-ether2.rrd")
        );
        assert_eq!(config.storage.profile, Profile::Compact);
        assert_eq!(
            (config.web.listen, config.web.port),
            (IpAddr::V4(Ipv4Addr::LOCALHOST), 0)
        );
    }

    #[test]
    fn live_lines_only_for_new_samples() {
        let sample = |at| Sample {
            at,
            rx_bps: 2e6,
            tx_bps: 3e3,
        };
        let mut health = vec![Entry::default(), Entry::default()];
        assert_eq!(live_line(&health, 0.0), None);
        health[0].last_sample = Some(sample(100.5));
        let (at, text) = live_line(&health, 0.0).unwrap();
        assert_eq!(at, 100.5);
        assert!(
            text.starts_with("00:01:40") && text.contains("2.0 Mbit/s / 3.0 kbit/s"),
            "{text}"
        );
        assert!(text.trim_end().ends_with('-'));
        assert_eq!(live_line(&health, 100.5), None);
    }
}

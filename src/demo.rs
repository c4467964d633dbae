//! `mt-trafmon --demo`: the built-in simulated router on 127.0.0.1 and a
//! client reading it once a second, printing each running interface's
//! rate from its byte counters. Later the full daemon (collector, RRD
//! files, web pages) runs here against the same simulated router.
//!
//! The loop is shell code (it sleeps and reads the clock); the pacing and
//! the arithmetic are plain functions with tests.

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::routeros::client::{self, Client, Counters};
use crate::sim::{self, Simulator};

/// Runs until the process is stopped, or returns the error that ended it.
pub fn run() -> Result<(), client::Error> {
    let simulator =
        Simulator::start(sim::Options::default()).map_err(|source| client::Error::Io {
            addr: "127.0.0.1".to_string(),
            source,
        })?;
    let addr = simulator.addr();
    let mut client = Client::connect(
        &addr.ip().to_string(),
        addr.port(),
        client::Options::default(),
    )?;
    client.login("admin", "secret")?;
    let resource = client.resource()?;
    println!(
        "simulated router on {addr}: RouterOS {} on {}",
        resource.version, resource.board_name
    );
    let interfaces = client.interfaces()?;
    for interface in &interfaces {
        let state = match (interface.disabled, interface.running) {
            (true, _) => "disabled",
            (false, true) => "running",
            (false, false) => "down",
        };
        println!("  {:<10} {:<8} {state}", interface.name, interface.kind);
    }
    let names: Vec<&str> = interfaces
        .iter()
        .filter(|i| i.running && !i.disabled)
        .map(|i| i.name.as_str())
        .collect();
    let header: Vec<String> = names
        .iter()
        .map(|n| format!("{:>28}", format!("{n} rx / tx")))
        .collect();
    println!("{:<10} {}", "time (UTC)", header.join(" "));
    let mut previous: Option<(f64, Vec<Counters>)> = None;
    loop {
        std::thread::sleep(until_next_second(now()));
        let counters = client.counters(&names)?;
        let at = now();
        if let Some((before, old)) = &previous {
            let cells: Vec<String> = old
                .iter()
                .zip(&counters)
                .map(|(a, b)| {
                    let rx = rate_bps(a.rx_bytes, b.rx_bytes, at - before);
                    let tx = rate_bps(a.tx_bytes, b.tx_bytes, at - before);
                    format!("{:>28}", format!("{} / {}", si_bits(rx), si_bits(tx)))
                })
                .collect();
            println!("{:<10} {}", clock_utc(at), cells.join(" "));
            // A closed stdout (e.g. `| head`) ends the demo quietly.
            if std::io::stdout().flush().is_err() {
                return Ok(());
            }
        }
        previous = Some((at, counters));
    }
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// How long to sleep from `now` (Unix seconds) to the next whole second.
pub fn until_next_second(now: f64) -> Duration {
    let fraction = now.rem_euclid(1.0);
    Duration::from_secs_f64((1.0 - fraction).clamp(0.0, 1.0))
}

/// Bits per second between two readings of a byte counter taken `seconds`
/// apart; `None` when the counter went down (a reset or reboot) or no time
/// passed.
pub fn rate_bps(before: u64, after: u64, seconds: f64) -> Option<f64> {
    let bytes = after.checked_sub(before)?;
    (seconds > 0.0).then(|| bytes as f64 * 8.0 / seconds)
}

/// A rate with an SI prefix: `12.3 Mbit/s`; `-` when unknown.
pub fn si_bits(bps: Option<f64>) -> String {
    let Some(mut value) = bps else {
        return "-".to_string();
    };
    let mut prefix = "";
    for next in ["k", "M", "G", "T"] {
        if value < 1000.0 {
            break;
        }
        value /= 1000.0;
        prefix = next;
    }
    format!("{value:.1} {prefix}bit/s")
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

    #[test]
    fn pacing() {
        assert_eq!(until_next_second(100.0), Duration::from_secs(1));
        assert!((until_next_second(100.75).as_secs_f64() - 0.25).abs() < 1e-9);
        assert!(until_next_second(-0.25).as_secs_f64() > 0.0);
    }

    #[test]
    fn rates_and_units() {
        assert_eq!(rate_bps(1000, 2000, 1.0), Some(8000.0));
        assert_eq!(rate_bps(1000, 2000, 2.0), Some(4000.0));
        assert_eq!(rate_bps(2000, 1000, 1.0), None, "counter reset");
        assert_eq!(rate_bps(1000, 1000, 0.0), None);
        assert_eq!(si_bits(Some(999.0)), "999.0 bit/s");
        assert_eq!(si_bits(Some(12_345_678.0)), "12.3 Mbit/s");
        assert_eq!(si_bits(None), "-");
        assert_eq!(clock_utc(86400.0 + 3723.5), "01:02:03");
    }
}
